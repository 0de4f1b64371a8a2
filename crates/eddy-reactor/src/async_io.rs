//! `Async<T>`: a non-blocking I/O object registered with a reactor.

use std::fmt;
use std::future::{Future, poll_fn};
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use polling::PollMode;

use crate::ReactorError;
use crate::reactor::ReactorHandle;
use crate::source::{Direction, Source};

/// An I/O object in non-blocking mode, registered with a reactor.
///
/// `Async<T>` owns `T` (a socket, pipe, or anything else with a file
/// descriptor), switches it to non-blocking mode and registers it with the
/// reactor. Operations are attempted directly; when one reports
/// `WouldBlock`, the task waits for the reactor to report readiness and tries
/// again. With edge-triggered polling this costs no syscall besides the
/// operation itself.
///
/// Reads and writes go through [`read_with`](Async::read_with) /
/// [`write_with`](Async::write_with) (any non-blocking operation, e.g. `accept`
/// or `recv_from`), or through [`futures_io::AsyncRead`] /
/// [`futures_io::AsyncWrite`] when `T: Read` / `T: Write` (also implemented
/// for `&Async<T>` when `&T` is `Read` / `Write`, so one task can read while
/// another writes).
///
/// Dropping it deregisters the source from the reactor, then closes `T`.
///
/// # Example
///
/// ```
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
/// use eddy_reactor::{Async, Reactor};
/// use futures_lite::future::block_on;
///
/// let reactor = Reactor::new()?;
/// let _guard = reactor.handle().enter();
/// let (a, b) = UnixStream::pair()?;
/// let (a, b) = (Async::new(a)?, Async::new(b)?);
///
/// // The peer has room, so the write succeeds at once; the data is then
/// // readable at once: neither call waits for the reactor.
/// block_on(a.write_with(|mut s| s.write(b"hi")))?;
/// let mut buf = [0; 2];
/// let n = block_on(b.read_with(|mut s| s.read(&mut buf)))?;
/// assert_eq!(&buf[..n], b"hi");
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Async<T: AsFd> {
    pub(crate) source: Arc<Source>,
    handle: ReactorHandle,
    /// `None` only after `into_inner` moved it out (then `Drop` has no work).
    io: Option<T>,
    /// Set by [`Async::byte_stream`] when the reactor reports closes: a read
    /// through `AsyncRead` shorter than its buffer then clears readability.
    short_read_clears: bool,
}

// `Async` never pins `T`: it hands out `&mut T` freely.
impl<T: AsFd> Unpin for Async<T> {}

impl<T: AsFd> Async<T> {
    /// Puts `io` in non-blocking mode and registers it with the reactor that is
    /// current on this thread.
    ///
    /// # Errors
    ///
    /// [`ReactorError::NoReactor`] (as an `io::Error` of kind `NotFound`) if
    /// no reactor is entered on this thread, [`ReactorError::Shutdown`] if it
    /// was dropped, or the error from setting non-blocking mode or registering
    /// with the poller.
    ///
    /// # Example
    ///
    /// ```
    /// use std::net::TcpListener;
    /// use eddy_reactor::{Async, Reactor};
    ///
    /// let reactor = Reactor::new()?;
    /// let _guard = reactor.handle().enter();
    /// let listener = Async::new(TcpListener::bind("127.0.0.1:0")?)?;
    /// assert_eq!(reactor.source_count(), 1);
    /// # drop(listener);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(io: T) -> io::Result<Async<T>> {
        let handle = ReactorHandle::try_current().ok_or(ReactorError::NoReactor)?;
        Async::with_handle(io, &handle)
    }

    /// Like [`Async::new`], but registers with the reactor behind `handle`.
    ///
    /// # Errors
    ///
    /// As [`Async::new`], except that no current reactor is needed.
    ///
    /// # Example
    ///
    /// ```
    /// use std::os::unix::net::UnixStream;
    /// use eddy_reactor::{Async, Reactor};
    ///
    /// let reactor = Reactor::new()?;
    /// let (a, _b) = UnixStream::pair()?;
    /// let a = Async::with_handle(a, &reactor.handle())?;
    /// # drop(a);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn with_handle(io: T, handle: &ReactorHandle) -> io::Result<Async<T>> {
        rustix::io::ioctl_fionbio(io.as_fd(), true)?;
        Async::register(io, handle)
    }

    /// Like [`Async::new`], for an object that is already in non-blocking
    /// mode (a socket made with `SOCK_NONBLOCK`, or accepted by `accept4`
    /// with it): registers it without the `ioctl` that switches the mode.
    ///
    /// If `io` is in fact blocking, nothing unsafe happens, but an operation
    /// that finds nothing to do blocks the calling thread (and the tasks of
    /// its executor) instead of returning `WouldBlock`.
    ///
    /// # Errors
    ///
    /// As [`Async::new`].
    ///
    /// # Example
    ///
    /// ```
    /// use std::net::TcpListener;
    /// use eddy_reactor::{Async, Reactor};
    ///
    /// let reactor = Reactor::new()?;
    /// let _guard = reactor.handle().enter();
    /// let listener = TcpListener::bind("127.0.0.1:0")?;
    /// listener.set_nonblocking(true)?;
    /// let listener = Async::new_nonblocking(listener)?;
    /// assert_eq!(reactor.source_count(), 1);
    /// # drop(listener);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new_nonblocking(io: T) -> io::Result<Async<T>> {
        let handle = ReactorHandle::try_current().ok_or(ReactorError::NoReactor)?;
        Async::register(io, &handle)
    }

    fn register(io: T, handle: &ReactorHandle) -> io::Result<Async<T>> {
        let source = handle.inner.register(io.as_fd())?;
        Ok(Async {
            source,
            handle: handle.clone(),
            io: Some(io),
            short_read_clears: false,
        })
    }

    /// Declares that `T` is a byte stream (a TCP or Unix stream socket, a
    /// pipe), which lets reads through [`futures_io::AsyncRead`] skip a
    /// syscall.
    ///
    /// On a byte stream, a read that returns fewer bytes than the buffer
    /// holds has emptied the receive queue, so the next read would only
    /// report `WouldBlock`. After such a read the source is marked not
    /// readable at once, and the next read waits for the reactor instead of
    /// making that `read` call: a request–response exchange costs one
    /// syscall less per message. The reactor must report a peer's close
    /// apart from plain readability for this to be safe (see the crate
    /// docs, "When a short read may clear readiness"); where it cannot
    /// (platforms other than Linux and Android, oneshot mode), this does
    /// nothing.
    ///
    /// Do not declare a source whose reads may stop short while more is
    /// queued, such as a terminal in canonical mode (one line per read) or a
    /// `SOCK_SEQPACKET` socket (one record per read): the rest would wait for
    /// an edge that never comes. Reads through [`Async::read_with`] are never
    /// affected.
    ///
    /// # Example
    ///
    /// ```
    /// use std::io::Write;
    /// use std::os::unix::net::UnixStream;
    /// use eddy_reactor::{Async, Reactor};
    /// use futures_lite::{AsyncReadExt, future::block_on};
    ///
    /// use eddy_core::Park;
    ///
    /// let mut reactor = Reactor::new()?;
    /// let _guard = reactor.handle().enter();
    /// let (a, mut b) = UnixStream::pair()?;
    /// let mut a = Async::new(a)?.byte_stream();
    /// b.write_all(b"hello")?;
    /// drop(b);
    /// // Data and close reach the reactor as one event.
    /// reactor.park(Some(std::time::Duration::from_secs(1)))?;
    /// let mut buf = [0; 64];
    /// // A short read of all there was: the event also reported the close,
    /// // so readiness stays and the EOF is read without waiting.
    /// assert_eq!(block_on(a.read(&mut buf))?, 5);
    /// assert_eq!(block_on(a.read(&mut buf))?, 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn byte_stream(mut self) -> Async<T> {
        self.short_read_clears = self.handle.inner.sees_closes();
        self
    }

    /// The inner I/O object.
    ///
    /// # Example
    ///
    /// ```
    /// use std::net::TcpListener;
    /// use eddy_reactor::{Async, Reactor};
    ///
    /// let reactor = Reactor::new()?;
    /// let l = Async::with_handle(TcpListener::bind("127.0.0.1:0")?, &reactor.handle())?;
    /// assert!(l.get_ref().local_addr()?.port() != 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn get_ref(&self) -> &T {
        match &self.io {
            Some(io) => io,
            // `io` is only taken by `into_inner`, which consumes `self`.
            None => unreachable!("Async used after into_inner"),
        }
    }

    /// The inner I/O object, mutably. Do not switch it back to blocking mode.
    ///
    /// # Example
    ///
    /// ```
    /// use std::os::unix::net::UnixStream;
    /// use eddy_reactor::{Async, Reactor};
    ///
    /// let reactor = Reactor::new()?;
    /// let (a, _b) = UnixStream::pair()?;
    /// let mut a = Async::with_handle(a, &reactor.handle())?;
    /// let _stream: &mut UnixStream = a.get_mut();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        match &mut self.io {
            Some(io) => io,
            None => unreachable!("Async used after into_inner"),
        }
    }

    /// Deregisters the source and returns the I/O object, still in
    /// non-blocking mode.
    ///
    /// # Errors
    ///
    /// Removing the fd from the poller failed. The source is deregistered
    /// from the reactor either way; the object is dropped with the error.
    ///
    /// # Example
    ///
    /// ```
    /// use std::os::unix::net::UnixStream;
    /// use eddy_reactor::{Async, Reactor};
    ///
    /// let reactor = Reactor::new()?;
    /// let (a, _b) = UnixStream::pair()?;
    /// let a = Async::with_handle(a, &reactor.handle())?;
    /// let a: UnixStream = a.into_inner()?;
    /// assert_eq!(reactor.source_count(), 0);
    /// # drop(a);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_inner(mut self) -> io::Result<T> {
        let io = self
            .io
            .take()
            .ok_or_else(|| io::Error::other("Async already taken apart"))?;
        self.handle.inner.deregister(&self.source, io.as_fd())?;
        Ok(io)
    }

    fn fd(&self) -> BorrowedFd<'_> {
        self.get_ref().as_fd()
    }

    /// Polls for readiness in `dir`; `Ready(Ok(tick))` when ready.
    pub(crate) fn poll_ready(&self, dir: Direction, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let inner = &self.handle.inner;
        let rearm = |read: bool, write: bool| inner.rearm(self.source.key, self.fd(), read, write);
        let rearm: Option<&dyn Fn(bool, bool)> = if inner.mode == PollMode::Edge {
            None
        } else {
            Some(&rearm)
        };
        self.source
            .poll_ready(dir, cx, || inner.is_shutdown(), rearm)
            .map(|r| r.map_err(|()| ReactorError::Shutdown.into()))
    }

    /// Runs `op` until it stops reporting `WouldBlock`, waiting for `dir`
    /// readiness in between.
    fn poll_io<R>(
        &self,
        dir: Direction,
        cx: &mut Context<'_>,
        op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io_ticked(dir, cx, op).map_ok(|(r, _)| r)
    }

    /// [`Async::poll_io`], also returning the event tick sampled before the
    /// operation that succeeded (for a clear that depends on its result).
    fn poll_io_ticked<R>(
        &self,
        dir: Direction,
        cx: &mut Context<'_>,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<(R, u64)>> {
        loop {
            let tick = match self.poll_ready(dir, cx) {
                Poll::Ready(Ok(tick)) => tick,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            };
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.source.clear(dir, tick),
                res => return Poll::Ready(res.map(|r| (r, tick))),
            }
        }
    }

    /// Polls whether the source may be readable.
    ///
    /// `Ready(Ok(()))` means an operation is worth trying; it can still
    /// report `WouldBlock` (readiness is a hint), after which the
    /// `*_with` methods clear it. Otherwise the task's waker is registered
    /// and woken when the reactor sees the source become readable. Several
    /// tasks may wait at once; each is woken.
    ///
    /// # Errors
    ///
    /// [`ReactorError::Shutdown`] if the reactor was dropped.
    ///
    /// # Example
    ///
    /// ```
    /// use std::os::unix::net::UnixStream;
    /// use eddy_reactor::{Async, Reactor};
    /// use futures_lite::future::{block_on, poll_fn};
    ///
    /// let reactor = Reactor::new()?;
    /// let (a, _b) = UnixStream::pair()?;
    /// let a = Async::with_handle(a, &reactor.handle())?;
    /// // Freshly registered sources are assumed ready until an operation says otherwise.
    /// block_on(poll_fn(|cx| a.poll_readable(cx)))?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_ready(Direction::Read, cx).map(|r| r.map(drop))
    }

    /// Polls whether the source may be writable; see
    /// [`poll_readable`](Async::poll_readable).
    ///
    /// # Errors
    ///
    /// [`ReactorError::Shutdown`] if the reactor was dropped.
    ///
    /// # Example
    ///
    /// ```
    /// use std::os::unix::net::UnixStream;
    /// use eddy_reactor::{Async, Reactor};
    /// use futures_lite::future::{block_on, poll_fn};
    ///
    /// let reactor = Reactor::new()?;
    /// let (a, _b) = UnixStream::pair()?;
    /// let a = Async::with_handle(a, &reactor.handle())?;
    /// block_on(poll_fn(|cx| a.poll_writable(cx)))?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_ready(Direction::Write, cx).map(|r| r.map(drop))
    }

    /// Waits until the source may be readable (see
    /// [`poll_readable`](Async::poll_readable)).
    ///
    /// Readiness is a hint that only the `*_with` methods clear (when the
    /// operation they run reports `WouldBlock`). So do not loop "operation on
    /// `get_ref()`, `WouldBlock`, `readable().await`": nothing clears the
    /// readiness, `readable()` returns at once and the loop spins. Run the
    /// operation inside [`read_with`](Async::read_with) instead, which
    /// clears readiness without losing an edge that arrives meanwhile, or
    /// through the guard of [`read_ready`](Async::read_ready).
    ///
    /// Cancel safe: dropping the future loses nothing; at worst its task gets
    /// one spurious wake-up later.
    ///
    /// # Errors
    ///
    /// [`ReactorError::Shutdown`] if the reactor was dropped.
    ///
    /// # Example
    ///
    /// ```
    /// use std::io::Write;
    /// use std::os::unix::net::UnixStream;
    /// use eddy_reactor::{Async, Reactor};
    /// use futures_lite::future::block_on;
    ///
    /// let reactor = Reactor::new()?;
    /// let (a, mut b) = UnixStream::pair()?;
    /// let a = Async::with_handle(a, &reactor.handle())?;
    /// b.write_all(b"x")?;
    /// block_on(a.readable())?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn readable(&self) -> impl Future<Output = io::Result<()>> + '_ {
        poll_fn(|cx| self.poll_readable(cx))
    }

    /// Waits until the source may be writable. Cancel safe, like
    /// [`readable`](Async::readable), and with the same caveat: run
    /// operations inside [`write_with`](Async::write_with), not in a loop
    /// around `writable()`.
    ///
    /// # Errors
    ///
    /// [`ReactorError::Shutdown`] if the reactor was dropped.
    ///
    /// # Example
    ///
    /// ```
    /// use std::os::unix::net::UnixStream;
    /// use eddy_reactor::{Async, Reactor};
    /// use futures_lite::future::block_on;
    ///
    /// let reactor = Reactor::new()?;
    /// let (a, _b) = UnixStream::pair()?;
    /// let a = Async::with_handle(a, &reactor.handle())?;
    /// block_on(a.writable())?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn writable(&self) -> impl Future<Output = io::Result<()>> + '_ {
        poll_fn(|cx| self.poll_writable(cx))
    }

    /// Runs the non-blocking read-side operation `op` until it does not
    /// report `WouldBlock`, waiting for readability in between, and returns
    /// its result.
    ///
    /// `op` is attempted at once if the source may be readable. A
    /// `WouldBlock` clears the readiness (unless an event arrived meanwhile)
    /// and the task waits for the next readable event. Any other result,
    /// `Ok` or `Err`, is returned.
    ///
    /// Cancel safe as long as `op` is: dropping the future between attempts
    /// loses nothing.
    ///
    /// # Errors
    ///
    /// Whatever `op` returns, or [`ReactorError::Shutdown`] if the reactor
    /// was dropped while waiting.
    ///
    /// # Example
    ///
    /// ```
    /// use std::net::{TcpListener, TcpStream};
    /// use eddy_reactor::{Async, Reactor};
    /// use futures_lite::future::block_on;
    ///
    /// let reactor = Reactor::new()?;
    /// let listener = Async::with_handle(TcpListener::bind("127.0.0.1:0")?, &reactor.handle())?;
    /// let _client = TcpStream::connect(listener.get_ref().local_addr()?)?;
    /// // The connection is already queued, so no reactor turn is needed.
    /// let (_stream, _addr) = block_on(listener.read_with(|l| l.accept()))?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn read_with<R>(&self, op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        let mut op = op;
        poll_fn(|cx| self.poll_io(Direction::Read, cx, || op(self.get_ref()))).await
    }

    /// Like [`read_with`](Async::read_with), with `&mut T`.
    ///
    /// # Errors
    ///
    /// Whatever `op` returns, or [`ReactorError::Shutdown`].
    ///
    /// # Example
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::os::unix::net::UnixStream;
    /// use eddy_reactor::{Async, Reactor};
    /// use futures_lite::future::block_on;
    ///
    /// let reactor = Reactor::new()?;
    /// let (a, mut b) = UnixStream::pair()?;
    /// let mut a = Async::with_handle(a, &reactor.handle())?;
    /// b.write_all(b"ok")?;
    /// let mut buf = [0; 2];
    /// block_on(a.read_with_mut(|s| s.read_exact(&mut buf)))?;
    /// assert_eq!(&buf, b"ok");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn read_with_mut<R>(
        &mut self,
        op: impl FnMut(&mut T) -> io::Result<R>,
    ) -> io::Result<R> {
        let mut op = op;
        poll_fn(|cx| self.poll_io_mut(Direction::Read, cx, &mut op)).await
    }

    /// Runs the non-blocking write-side operation `op` until it does not
    /// report `WouldBlock`, waiting for writability in between. See
    /// [`read_with`](Async::read_with) for the protocol and cancel safety.
    ///
    /// # Errors
    ///
    /// Whatever `op` returns, or [`ReactorError::Shutdown`].
    ///
    /// # Example
    ///
    /// ```
    /// use std::io::Write;
    /// use std::os::unix::net::UnixStream;
    /// use eddy_reactor::{Async, Reactor};
    /// use futures_lite::future::block_on;
    ///
    /// let reactor = Reactor::new()?;
    /// let (a, _b) = UnixStream::pair()?;
    /// let a = Async::with_handle(a, &reactor.handle())?;
    /// let n = block_on(a.write_with(|mut s| s.write(b"hello")))?;
    /// assert_eq!(n, 5);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn write_with<R>(&self, op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        let mut op = op;
        poll_fn(|cx| self.poll_io(Direction::Write, cx, || op(self.get_ref()))).await
    }

    /// Like [`write_with`](Async::write_with), with `&mut T`.
    ///
    /// # Errors
    ///
    /// Whatever `op` returns, or [`ReactorError::Shutdown`].
    ///
    /// # Example
    ///
    /// ```
    /// use std::io::Write;
    /// use std::os::unix::net::UnixStream;
    /// use eddy_reactor::{Async, Reactor};
    /// use futures_lite::future::block_on;
    ///
    /// let reactor = Reactor::new()?;
    /// let (a, _b) = UnixStream::pair()?;
    /// let mut a = Async::with_handle(a, &reactor.handle())?;
    /// block_on(a.write_with_mut(|s| s.write_all(b"hello")))?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn write_with_mut<R>(
        &mut self,
        op: impl FnMut(&mut T) -> io::Result<R>,
    ) -> io::Result<R> {
        let mut op = op;
        poll_fn(|cx| self.poll_io_mut(Direction::Write, cx, &mut op)).await
    }

    /// A read through `AsyncRead` of up to `want` bytes: [`Async::poll_io`]
    /// plus the short-read clear of [`Async::byte_stream`].
    fn poll_read_io(
        &self,
        cx: &mut Context<'_>,
        want: usize,
        op: impl FnMut() -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        self.poll_io_ticked(Direction::Read, cx, op)
            .map_ok(|(n, tick)| self.after_read(n, want, tick))
    }

    /// As [`Async::poll_read_io`], with `&mut T`.
    fn poll_read_io_mut(
        &mut self,
        cx: &mut Context<'_>,
        want: usize,
        op: &mut impl FnMut(&mut T) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        self.poll_io_mut_ticked(Direction::Read, cx, op)
            .map_ok(|(n, tick)| self.after_read(n, want, tick))
    }

    /// Returns `n`, first clearing readability if the read emptied the
    /// queue. A zero-byte read is an EOF, which stays readable; a full one
    /// says nothing about what is left.
    fn after_read(&self, n: usize, want: usize, tick: u64) -> usize {
        if self.short_read_clears && n > 0 && n < want {
            self.source.clear_drained(tick);
        }
        n
    }

    fn poll_io_mut<R>(
        &mut self,
        dir: Direction,
        cx: &mut Context<'_>,
        op: &mut impl FnMut(&mut T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io_mut_ticked(dir, cx, op).map_ok(|(r, _)| r)
    }

    /// [`Async::poll_io_ticked`] with `&mut T`.
    fn poll_io_mut_ticked<R>(
        &mut self,
        dir: Direction,
        cx: &mut Context<'_>,
        op: &mut impl FnMut(&mut T) -> io::Result<R>,
    ) -> Poll<io::Result<(R, u64)>> {
        loop {
            let tick = match self.poll_ready(dir, cx) {
                Poll::Ready(Ok(tick)) => tick,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            };
            match op(self.get_mut()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.source.clear(dir, tick),
                res => return Poll::Ready(res.map(|r| (r, tick))),
            }
        }
    }
}

impl<T: AsFd> Drop for Async<T> {
    fn drop(&mut self) {
        if let Some(io) = self.io.take() {
            // Must happen before `io` is closed (polling's `add` contract);
            // an error here only means the fd was already gone from the poller.
            let _ = self.handle.inner.deregister(&self.source, io.as_fd());
            drop(io);
        }
    }
}

impl<T: AsFd> AsFd for Async<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd()
    }
}

impl<T: AsFd + fmt::Debug> fmt::Debug for Async<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Async")
            .field("io", &self.io)
            .finish_non_exhaustive()
    }
}

impl<T: AsFd + Read> AsyncRead for Async<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let want = buf.len();
        self.get_mut()
            .poll_read_io_mut(cx, want, &mut |io| io.read(buf))
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        let want = bufs.iter().map(|b| b.len()).sum();
        self.get_mut()
            .poll_read_io_mut(cx, want, &mut |io| io.read_vectored(bufs))
    }
}

impl<T: AsFd> AsyncRead for &Async<T>
where
    for<'a> &'a T: Read,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = *self;
        this.poll_read_io(cx, buf.len(), || this.get_ref().read(buf))
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = *self;
        let want = bufs.iter().map(|b| b.len()).sum();
        this.poll_read_io(cx, want, || this.get_ref().read_vectored(bufs))
    }
}

/// `poll_close` only flushes: closing the write half of a socket is
/// type-specific (`shutdown(Write)` through `get_ref`); the fd is closed when
/// the `Async` is dropped.
impl<T: AsFd + Write> AsyncWrite for Async<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_io_mut(Direction::Write, cx, &mut |io| io.write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_io_mut(Direction::Write, cx, &mut |io| io.write_vectored(bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut()
            .poll_io_mut(Direction::Write, cx, &mut |io| io.flush())
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

/// As for `Async<T>`, `poll_close` only flushes.
impl<T: AsFd> AsyncWrite for &Async<T>
where
    for<'a> &'a T: Write,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = *self;
        this.poll_io(Direction::Write, cx, || this.get_ref().write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = *self;
        this.poll_io(Direction::Write, cx, || this.get_ref().write_vectored(bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = *self;
        this.poll_io(Direction::Write, cx, || this.get_ref().flush())
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}
