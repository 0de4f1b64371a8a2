//! eddy's I/O reactor: readiness events from [`polling`] v3, [`Async<T>`]
//! for non-blocking I/O objects, and the innermost [`Park`](eddy_core::Park)
//! of an eddy runtime.
//!
//! # The model
//!
//! A [`Reactor`] owns one `polling::Poller` and a registry of sources. Wrapping
//! an fd-backed object in [`Async`] switches it to non-blocking mode and
//! registers it. I/O is *readiness based*: an operation is simply attempted;
//! when the OS says `WouldBlock`, the task records its waker with the source
//! and returns `Pending`. When the executor runs out of work it calls
//! [`Park::park`](eddy_core::Park::park) on the reactor, which makes one
//! `Poller::wait`, marks the sources that became ready and wakes their tasks
//! (after releasing every lock). Each source keeps one readiness bit per
//! direction; several tasks may wait on the same direction (one inline waker
//! slot, overflow in a reused `Vec`, so waiting does not allocate).
//!
//! **Edge-triggered.** Sources are registered once, for both directions, with
//! `PollMode::Edge`. Unlike oneshot mode, nothing has to be re-armed with an
//! extra `epoll_ctl` after every event, so a read that waits costs exactly the
//! operation plus its share of the wait. The price of edge mode is that an
//! edge must never be dropped: readiness is cleared only after an operation
//! reported `WouldBlock`, and only if no event was dispatched for that source
//! since the task sampled the source's event *tick*. An edge that arrives
//! between the sample and the `WouldBlock` therefore keeps the bit set and the
//! operation is retried. New sources start out "ready", so the first operation
//! is attempted without waiting for the reactor. On platforms whose backend
//! lacks edge mode (`Poller::supports_edge` is false, e.g. illumos event
//! ports) sources are registered oneshot instead and re-armed, for the
//! directions that have waiters, each time a task starts waiting.
//!
//! **Custom I/O types.** Code that runs its own operations on an `Async<T>`
//! must clear readiness on `WouldBlock` too, or its next wait returns at
//! once and the loop spins. [`Async::read_with`] / [`Async::write_with`] do
//! it for one operation; for a hand-written `AsyncRead`/`AsyncWrite` impl,
//! [`Async::read_ready`] / [`Async::write_ready`] return a [`ReadyGuard`]
//! whose [`try_io`](ReadyGuard::try_io) clears exactly the readiness the
//! guard was made from, and only on `WouldBlock` (tokio's `AsyncFd`
//! protocol).
//!
//! **When a short read may clear readiness.** A `WouldBlock` always proves
//! the bit stale. On a byte stream a *short* read (fewer bytes than the
//! buffer) also proves the receive queue empty of *data*, and clearing the
//! bit there saves the final `read` that would only say `EAGAIN`: one
//! syscall per message in a request–response exchange. It does not prove
//! that the next read would block, though: at end of stream the next read
//! returns 0 (or a pending error such as `ECONNRESET`), and the edge that
//! announced the close may be the very edge that announced the data. epoll
//! keeps a registered fd on its ready list at most once, so the data's
//! wake-up (`sk_data_ready`) and the close's (`sk_state_change`, after
//! `unix_release_sock` or a TCP FIN) merge into one item when both land
//! before `epoll_wait` collects it; it is reported once (edge-triggered, not
//! re-queued), and nothing happens on the socket afterwards to raise another
//! edge. A reader that cleared readiness after the short read of the last
//! bytes would wait forever for the EOF (measured: the burst stress test in
//! `tests/tests/runtime.rs` and the Python asyncio interop test stalled
//! with such a clear; `data_and_close_can_share_one_edge_with_eof_left_for_the_next_read`
//! pins the kernel's behaviour down).
//!
//! The flags of a collected event, however, are computed when `epoll_wait`
//! collects it, and anything that happens later queues a new edge. So on
//! Linux in edge mode sources are registered with `EPOLLRDHUP` (by hand:
//! polling cannot ask for it), and an event that carries `EPOLLRDHUP`,
//! `EPOLLHUP` or `EPOLLERR` sets a *read closed* bit beside the readable
//! bit. A short read clears readability only if that bit is clear (and no
//! event arrived since the tick was sampled); a `WouldBlock` clears both.
//! tokio does the same with mio's sticky "read closed" readiness. Only
//! sources declared with [`Async::byte_stream`] take this path (eddy's TCP
//! and Unix streams and child pipes): a terminal in canonical mode or a
//! `SOCK_SEQPACKET` socket stops reads short while more is queued. On other
//! platforms and in oneshot mode the close is not visible apart from data,
//! and only `WouldBlock` clears.
//!
//! **Unpark only when parked.** The reactor's [`Unpark`](eddy_core::Unpark)
//! calls `Poller::notify` (an eventfd round trip, about 1.6 µs here) only when
//! the reactor is really blocked in `wait` and nobody notified it yet. The
//! park state is one atomic byte: `PARKED` is set before the wait and cleared
//! after it, and unparks `fetch_or` a `NOTIFIED` bit. An unpark that finds the
//! reactor idle or dispatching just leaves the bit as a token, which the next
//! park consumes by returning at once. Every transition is a sequentially
//! consistent read-modify-write on that byte, so an unpark either sees
//! `PARKED` (and notifies; polling keeps the notification until the next
//! wait, so it cannot be lost even if the wait has not started yet) or is seen
//! by the parker's own RMW (and the parker does not block).
//!
//! **Zero-timeout fast path.** Executors check for I/O without blocking every
//! few dozen tasks for fairness. `park(Some(Duration::ZERO))` with no
//! registered source returns without any syscall. With sources, on Linux in
//! edge mode it makes one `epoll_wait` with a zero timeout; where the wait is
//! polling's (five syscalls), it first asks whether the epoll fd is readable
//! with one `poll(2)` (Linux/Android) and only then collects events.
//!
//! On Linux in edge mode the reactor waits with a single `epoll_wait` on the
//! poller's own epoll fd and unparks through an eventfd of its own,
//! registered like a source: polling's `wait` costs five syscalls per call
//! (it re-arms a timerfd and its notifier every time), which made a
//! one-connection echo 1.3–1.5 × tokio's round trip. Registration
//! (`add`/`modify`/`delete`) stays with polling; other platforms and the
//! oneshot fallback use polling's `wait`.
//!
//! This crate is Unix-only. Its `unsafe` blocks are the two `Poller::add`
//! calls, whose contract (delete before close) `Async<T>` upholds by
//! deregistering in `Drop` before dropping the object it owns, and the
//! reactor's eventfd by being closed only after the epoll instance.
//!
//! # Example
//!
//! A reader task waits on one thread while another thread drives the reactor.
//!
//! ```
//! use std::os::unix::net::UnixStream;
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicBool, Ordering};
//! use std::time::Duration;
//! use eddy_core::Park;
//! use eddy_reactor::{Async, Reactor};
//! use futures_lite::{future::block_on, AsyncReadExt, AsyncWriteExt};
//!
//! let mut reactor = Reactor::new()?;
//! let handle = reactor.handle();
//! let unpark = reactor.unparker();
//! let done = Arc::new(AtomicBool::new(false));
//!
//! // The "runtime" thread: park until events, dispatch, repeat.
//! let driver = {
//!     let done = done.clone();
//!     std::thread::spawn(move || {
//!         while !done.load(Ordering::Acquire) {
//!             reactor.park(Some(Duration::from_millis(100))).unwrap();
//!         }
//!     })
//! };
//!
//! let _guard = handle.enter();
//! let (a, b) = UnixStream::pair()?;
//! let (mut a, mut b) = (Async::new(a)?, Async::new(b)?);
//! let echoed = block_on(async {
//!     let writer = async {
//!         a.write_all(b"ping").await?;
//!         let mut buf = [0; 4];
//!         a.read_exact(&mut buf).await?;
//!         Ok::<_, std::io::Error>(buf)
//!     };
//!     let echo = async {
//!         let mut buf = [0; 4];
//!         b.read_exact(&mut buf).await?;
//!         b.write_all(&buf).await
//!     };
//!     let (buf, echoed) = futures_lite::future::zip(writer, echo).await;
//!     echoed.and(buf)
//! })?;
//! assert_eq!(&echoed, b"ping");
//!
//! done.store(true, Ordering::Release);
//! unpark.unpark();
//! driver.join().unwrap();
//! # Ok::<(), std::io::Error>(())
//! ```
#![deny(unsafe_code)]

#[cfg(unix)]
mod async_io;
mod error;
mod guard;
#[cfg(unix)]
mod reactor;
#[cfg(unix)]
mod source;

#[cfg(unix)]
pub use async_io::Async;
pub use error::ReactorError;
pub use guard::{ReadyGuard, TryIoError};
#[cfg(unix)]
pub use reactor::{EnterGuard, Reactor, ReactorHandle};

#[cfg(all(test, unix))]
mod tests;
