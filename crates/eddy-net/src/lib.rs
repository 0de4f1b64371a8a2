//! I/O on eddy's reactor: TCP, UDP and Unix-domain sockets, asyncio-style
//! streams ([`open_connection`], [`start_server`]), child processes
//! ([`process`]) and Unix signals ([`signal`]).
//!
//! This crate is one layer of the eddy runtime, the counterpart of smol's
//! `async-net`, `async-process` and `async-signal`. It needs the reactor
//! (`eddy-reactor`) and nothing else to do I/O; the `eddy` facade
//! re-exports it as `eddy::net`, `eddy::process` and `eddy::signal`.
//!
//! # The model
//!
//! * Every socket, pipe and signal stream is a thin type over the reactor's
//!   [`Async<T>`]: the descriptor is non-blocking (born so where the OS
//!   allows: `SOCK_NONBLOCK`, `accept4`) and registered once, for both
//!   directions, edge-triggered. An operation is attempted directly; only
//!   when the OS says `WouldBlock` does the task wait for the reactor, so a
//!   ready socket costs exactly its system call. Dropping the object
//!   deregisters it and then closes it: no stale wake-ups, no leaked
//!   descriptor.
//! * The reactor is found on the calling thread: a value is registered with
//!   the reactor entered there when it is created
//!   ([`ReactorHandle::enter`](eddy_reactor::ReactorHandle::enter), which
//!   every eddy runtime thread has done). Whoever drives that reactor
//!   (`Park::park` in a runtime's idle loop, or a thread of your own, see
//!   the example below) wakes the waiting tasks. No executor is needed: the
//!   futures here run under any `block_on`.
//! * Three things reach beyond the reactor, each with a fallback: back-off
//!   and timeouts ([`TcpListener::accept`] on descriptor exhaustion,
//!   [`TcpStream::connect_timeout`]) sleep on the timer entered on the
//!   thread (`eddy-timer`; without one the error is returned);
//!   [`start_server`] spawns tasks, and a dropped child is reaped by a
//!   task, through the executor the [`hooks`] find; host names are resolved
//!   off the event loop by the blocking hook (a thread of its own without
//!   one). The facade installs both hooks when it builds a runtime.
//!
//! Streams ([`TcpStream`], [`UnixStream`], child pipes) implement
//! [`futures_io::AsyncRead`] and [`futures_io::AsyncWrite`], so
//! `futures-lite`'s `AsyncReadExt`, `AsyncWriteExt`, `BufReader`,
//! `io::copy` and any crate built on `futures-io` work on them unchanged.
//! They can be split into halves that borrow the stream
//! ([`TcpStream::split`]) or own a share of it ([`TcpStream::into_split`]),
//! for one task reading while another writes. Listeners hand out
//! connections with `accept().await` or as a `Stream` (`incoming()`).
//!
//! Addresses are anything implementing [`ToSocketAddrs`]: a [`SocketAddr`],
//! `(ip, port)`, or a `"host:port"` string. A string that is already a
//! literal socket address is parsed in place; a host name is resolved off the
//! event loop (see [`lookup_host`]), so a slow DNS server never stalls other
//! tasks.
//!
//! | asyncio | eddy |
//! |---|---|
//! | `asyncio.open_connection(host, port)` | [`open_connection`]`((host, port)).await` |
//! | `asyncio.start_server(cb, host, port)` | [`start_server`]`((host, port), cb).await` |
//! | `loop.sock_accept`, `loop.create_server` | [`TcpListener::accept`], [`TcpListener::incoming`] |
//! | `asyncio.open_unix_connection(path)` | [`UnixStream::connect`] |
//! | `asyncio.create_subprocess_exec` | [`process::Command::spawn`] |
//! | `loop.add_signal_handler` | [`signal::Signals`], [`signal::ctrl_c`] |
//!
//! # Faults
//!
//! * Accepting when the process is out of descriptors (`EMFILE`, `ENFILE`,
//!   `ENOBUFS`, `ENOMEM`) does not spin: [`TcpListener::accept`] sleeps with
//!   exponential back-off (1 ms doubling to 1 s) and retries, so it recovers
//!   by itself once descriptors are freed, while every other task runs.
//! * A connection reset by the peer is an error of kind `ConnectionReset`
//!   (or `BrokenPipe` on write); a peer that shut down its write side gives
//!   EOF (`Ok(0)`) on read while writes still work.
//!
//! # Example: the reactor alone
//!
//! One thread drives the reactor; the echo runs under `futures-lite`'s
//! `block_on`, with no executor and no timer.
//!
//! ```
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicBool, Ordering};
//! use std::time::Duration;
//! use eddy_core::Park;
//! use eddy_net::{TcpListener, TcpStream};
//! use eddy_reactor::Reactor;
//! use futures_lite::{future, AsyncReadExt, AsyncWriteExt};
//!
//! let mut reactor = Reactor::new()?;
//! let handle = reactor.handle();
//! let unpark = reactor.unparker();
//! let done = Arc::new(AtomicBool::new(false));
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
//! let echoed = future::block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     let server = async {
//!         let (mut stream, _peer) = listener.accept().await?;
//!         let mut buf = [0; 5];
//!         stream.read_exact(&mut buf).await?;
//!         stream.write_all(&buf).await
//!     };
//!     let client = async {
//!         let mut client = TcpStream::connect(addr).await?;
//!         client.write_all(b"hello").await?;
//!         let mut echoed = [0; 5];
//!         client.read_exact(&mut echoed).await?;
//!         Ok::<_, std::io::Error>(echoed)
//!     };
//!     let (served, echoed) = future::zip(server, client).await;
//!     served.and(echoed)
//! })?;
//! assert_eq!(&echoed, b"hello");
//!
//! done.store(true, Ordering::Release);
//! unpark.unpark();
//! driver.join().unwrap();
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Example: on the eddy runtime
//!
//! ```
//! use eddy_net::{TcpListener, TcpStream};
//! use futures_lite::{AsyncReadExt, AsyncWriteExt};
//!
//! eddy::run(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     let server = eddy::spawn(async move {
//!         let (mut stream, _peer) = listener.accept().await?;
//!         let mut buf = [0; 5];
//!         stream.read_exact(&mut buf).await?;
//!         stream.write_all(&buf).await?;
//!         Ok::<_, std::io::Error>(())
//!     });
//!     let mut client = TcpStream::connect(addr).await?;
//!     client.write_all(b"hello").await?;
//!     let mut echoed = [0; 5];
//!     client.read_exact(&mut echoed).await?;
//!     assert_eq!(&echoed, b"hello");
//!     server.await.unwrap()
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! [`Async<T>`]: eddy_reactor::Async
#![forbid(unsafe_code)]

mod addr;
mod halves;
pub mod hooks;
pub mod process;
pub mod signal;
mod stream;
pub mod tcp;
#[cfg(test)]
mod test_reactor;
mod time;
mod udp;
pub mod unix;

pub use addr::{ToSocketAddrs, lookup_host};
pub use std::net::{Shutdown, SocketAddr};
pub use stream::{
    Server, StreamReader, StreamWriter, open_connection, start_server, start_server_with,
};
pub use tcp::{TcpListener, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixListener, UnixStream};
