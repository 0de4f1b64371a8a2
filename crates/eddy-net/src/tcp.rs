//! TCP: [`TcpListener`], [`TcpStream`] and the stream's halves.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, BorrowedFd};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};
use futures_lite::Stream;
use socket2::{Domain, Protocol, SockRef, Socket, Type};

use super::addr::{ToSocketAddrs, each_addr};
use super::time::{pause, with_timeout};
use eddy_reactor::Async;

/// How many connections may wait in the kernel's accept queue.
const BACKLOG: i32 = 1024;

/// A TCP socket listening for connections, like the socket behind
/// `asyncio.start_server`.
///
/// Dropping it stops listening: the socket is deregistered from the reactor
/// and closed. Connections already accepted are unaffected.
///
/// # Example
///
/// ```
/// use eddy_net::{TcpListener, TcpStream};
/// use futures_lite::StreamExt;
///
/// eddy::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let addr = listener.local_addr()?;
///     let _a = TcpStream::connect(addr).await?;
///     let _b = TcpStream::connect(addr).await?;
///     // Connections as a stream: take the two waiting ones.
///     let accepted: Vec<_> = listener.incoming().take(2).try_collect().await?;
///     assert_eq!(accepted.len(), 2);
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpListener {
    inner: Async<std::net::TcpListener>,
}

impl TcpListener {
    /// Binds to `addr` and starts listening. With several addresses (a host
    /// name resolving to several), the first that binds wins.
    ///
    /// `SO_REUSEADDR` is set, so a server can restart on its port while old
    /// connections linger in `TIME_WAIT`; the accept queue holds 1024
    /// connections. Port 0 picks a free port: see
    /// [`local_addr`](TcpListener::local_addr).
    ///
    /// # Errors
    ///
    /// Resolution failed, or no address could be bound (the last error), or
    /// no eddy reactor is running on this thread.
    ///
    /// # Example
    ///
    /// ```
    /// eddy::run(async {
    ///     let l = eddy_net::TcpListener::bind(("127.0.0.1", 0)).await?;
    ///     assert_ne!(l.local_addr()?.port(), 0);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        each_addr(addr, |a| async move { TcpListener::bind_addr(a) }).await
    }

    fn bind_addr(addr: SocketAddr) -> io::Result<TcpListener> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_reuse_address(true)?;
        socket.bind(&addr.into())?;
        socket.listen(BACKLOG)?;
        TcpListener::from_std(socket.into())
    }

    /// Wraps a listening std socket (switching it to non-blocking mode).
    ///
    /// # Errors
    ///
    /// No eddy reactor is running on this thread, or registration failed.
    ///
    /// # Example
    ///
    /// ```
    /// eddy::run(async {
    ///     let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    ///     let l = eddy_net::TcpListener::from_std(std_listener)?;
    ///     # drop(l);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener {
            inner: Async::new(listener)?,
        })
    }

    /// Deregisters the listener and returns the std socket (still
    /// non-blocking).
    ///
    /// # Errors
    ///
    /// Removing it from the reactor failed.
    ///
    /// # Example
    ///
    /// ```
    /// eddy::run(async {
    ///     let l = eddy_net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let std_listener = l.into_std()?;
    ///     assert!(std_listener.local_addr()?.ip().is_loopback());
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        self.inner.into_inner()
    }

    /// Waits for a connection and returns it with the peer's address.
    ///
    /// When the process (or system) is out of file descriptors or memory
    /// (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`), the pending connection
    /// stays queued and `accept` sleeps, 1 ms at first and doubling up to
    /// 1 s, before retrying: it neither spins nor fails, and recovers once
    /// descriptors are freed. (The sleep needs a timer, as in any eddy
    /// runtime; with the reactor alone, no timer entered, the error is
    /// returned instead.) A connection that was aborted before it could
    /// be accepted is skipped.
    ///
    /// Cancel safe: if the future is dropped, no connection is lost (an
    /// unaccepted one stays in the kernel's queue).
    ///
    /// # Errors
    ///
    /// Other `accept(2)` errors, or the reactor shut down.
    ///
    /// # Example
    ///
    /// ```
    /// use eddy_net::{TcpListener, TcpStream};
    ///
    /// eddy::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (server_side, peer) = listener.accept().await?;
    ///     assert_eq!(peer, client.local_addr()?);
    ///     assert_eq!(server_side.peer_addr()?, peer);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, addr) = accept_with_backoff(&self.inner, accept_nonblocking).await?;
        let inner = Async::new_nonblocking(stream)?.byte_stream();
        Ok((TcpStream { inner }, addr))
    }

    /// The connections as a [`Stream`] (never ending; each item is what
    /// [`accept`](TcpListener::accept) returns, without the address).
    ///
    /// The stream borrows the listener. It is allocated once, when created;
    /// each accept reuses that allocation.
    ///
    /// # Example
    ///
    /// ```
    /// use eddy_net::{TcpListener, TcpStream};
    /// use futures_lite::StreamExt;
    ///
    /// eddy::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let mut incoming = listener.incoming();
    ///     let conn = incoming.next().await.unwrap()?;
    ///     assert_eq!(conn.peer_addr()?, client.local_addr()?);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming(Box::pin(futures_lite::stream::unfold(
            self,
            |l| async move { Some((l.accept().await.map(|(s, _)| s), l)) },
        )))
    }

    /// The address the listener is bound to.
    ///
    /// # Errors
    ///
    /// `getsockname(2)` failed.
    ///
    /// # Example
    ///
    /// ```
    /// eddy::run(async {
    ///     let l = eddy_net::TcpListener::bind("127.0.0.1:0").await?;
    ///     assert!(l.local_addr()?.ip().is_loopback());
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }
}

impl AsFd for TcpListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TcpListener")
            .field(self.inner.get_ref())
            .finish()
    }
}

/// Whether an accept error means "out of descriptors or memory": the
/// connection stays queued and waiting (not retrying at once) is the fix.
fn is_resource_exhaustion(e: &io::Error) -> bool {
    use rustix::io::Errno;
    [Errno::MFILE, Errno::NFILE, Errno::NOBUFS, Errno::NOMEM]
        .iter()
        .any(|n| e.raw_os_error() == Some(n.raw_os_error()))
}

/// `accept4(SOCK_NONBLOCK | SOCK_CLOEXEC)`: the connection comes out
/// non-blocking, one `ioctl` fewer per connection than `accept` + switching.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn accept_nonblocking(
    listener: &std::net::TcpListener,
) -> io::Result<(std::net::TcpStream, SocketAddr)> {
    use rustix::net::{SocketFlags, acceptfrom_with};
    let (fd, addr) = acceptfrom_with(listener, SocketFlags::NONBLOCK | SocketFlags::CLOEXEC)?;
    let addr = addr
        .and_then(|a| SocketAddr::try_from(a).ok())
        .ok_or_else(|| io::Error::other("accept returned no IP peer address"))?;
    Ok((std::net::TcpStream::from(fd), addr))
}

/// Elsewhere: `accept`, then non-blocking mode.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn accept_nonblocking(
    listener: &std::net::TcpListener,
) -> io::Result<(std::net::TcpStream, SocketAddr)> {
    let (stream, addr) = listener.accept()?;
    stream.set_nonblocking(true)?;
    Ok((stream, addr))
}

/// A stream socket created non-blocking (`SOCK_NONBLOCK` where the
/// platform has it, saving the mode-switch syscalls); shared by TCP and Unix
/// connects.
pub(crate) fn nonblocking_stream_socket(
    domain: Domain,
    protocol: Option<Protocol>,
) -> io::Result<Socket> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    return Socket::new(domain, Type::STREAM.nonblocking(), protocol);
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let socket = Socket::new(domain, Type::STREAM, protocol)?;
        socket.set_nonblocking(true)?;
        Ok(socket)
    }
}

const BACKOFF_START: Duration = Duration::from_millis(1);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// `accept` with the policy [`TcpListener::accept`] documents, shared by the
/// Unix listener.
pub(crate) async fn accept_with_backoff<T: AsFd, R>(
    io: &Async<T>,
    mut op: impl FnMut(&T) -> io::Result<R>,
) -> io::Result<R> {
    let mut backoff = BACKOFF_START;
    loop {
        match io.read_with(&mut op).await {
            Ok(r) => return Ok(r),
            Err(e) if is_resource_exhaustion(&e) => {
                // Readiness is left set (this was not `WouldBlock`), so the
                // retry after the sleep tries `accept` again at once.
                let Some(sleep) = pause(backoff) else {
                    return Err(e);
                };
                sleep.await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::ConnectionReset
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(e),
        }
    }
}

/// A TCP connection, like the transport behind asyncio's
/// `StreamReader`/`StreamWriter`.
///
/// Implements [`futures_io::AsyncRead`] and [`futures_io::AsyncWrite`] (also
/// for `&TcpStream`, so one task can read while another writes). Writes go
/// straight to the socket: there is no buffer to flush. `close()` (from
/// `AsyncWriteExt`) shuts down the write direction, so the peer reads EOF.
///
/// Dropping it deregisters the socket from the reactor and closes it.
///
/// # Example
///
/// ```
/// use eddy_net::{TcpListener, TcpStream};
/// use futures_lite::{AsyncReadExt, AsyncWriteExt};
///
/// eddy::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
///     let (mut server, _) = listener.accept().await?;
///     client.write_all(b"bye").await?;
///     client.close().await?; // half-close: the server reads to EOF
///     let mut got = String::new();
///     server.read_to_string(&mut got).await?;
///     assert_eq!(got, "bye");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpStream {
    pub(crate) inner: Async<std::net::TcpStream>,
}

impl TcpStream {
    /// Connects to `addr`, trying each resolved address in turn.
    ///
    /// Cancel safe: dropping the future abandons the attempt and closes the
    /// half-open socket.
    ///
    /// # Errors
    ///
    /// Resolution failed, or every address refused or failed (the last
    /// error is returned), or no eddy reactor is running on this thread.
    ///
    /// # Example
    ///
    /// ```
    /// eddy::run(async {
    ///     let l = eddy_net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let s = eddy_net::TcpStream::connect(l.local_addr()?).await?;
    ///     assert_eq!(s.peer_addr()?, l.local_addr()?);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        each_addr(addr, TcpStream::connect_addr).await
    }

    /// Like [`connect`](TcpStream::connect), giving up after `timeout`
    /// (covering resolution and every attempt).
    ///
    /// # Errors
    ///
    /// As [`connect`](TcpStream::connect), or an error of kind `TimedOut`.
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// eddy::run(async {
    ///     let l = eddy_net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let s = eddy_net::TcpStream::connect_timeout(l.local_addr()?, Duration::from_secs(5)).await?;
    ///     # drop(s);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn connect_timeout<A: ToSocketAddrs>(
        addr: A,
        timeout: Duration,
    ) -> io::Result<TcpStream> {
        with_timeout(TcpStream::connect(addr), timeout, "connect timed out").await
    }

    async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let socket = nonblocking_stream_socket(Domain::for_address(addr), Some(Protocol::TCP))?;
        connect_started(socket.connect(&addr.into()))?;
        let stream = Async::new_nonblocking(std::net::TcpStream::from(socket))?.byte_stream();
        stream
            .write_with(|s| finish_connect(s.take_error(), s.peer_addr()))
            .await?;
        Ok(TcpStream { inner: stream })
    }

    /// Wraps a connected std socket (switching it to non-blocking mode).
    ///
    /// # Errors
    ///
    /// No eddy reactor is running on this thread, or registration failed.
    ///
    /// # Example
    ///
    /// ```
    /// eddy::run(async {
    ///     let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    ///     let s = eddy_net::TcpStream::from_std(std::net::TcpStream::connect(l.local_addr()?)?)?;
    ///     # drop(s);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            inner: Async::new(stream)?.byte_stream(),
        })
    }

    /// Deregisters the stream and returns the std socket (still
    /// non-blocking).
    ///
    /// # Errors
    ///
    /// Removing it from the reactor failed.
    ///
    /// # Example
    ///
    /// ```
    /// eddy::run(async {
    ///     let l = eddy_net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let s = eddy_net::TcpStream::connect(l.local_addr()?).await?.into_std()?;
    ///     assert_eq!(s.peer_addr()?, l.local_addr()?);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        self.inner.into_inner()
    }

    /// The local address of the connection.
    ///
    /// # Errors
    ///
    /// `getsockname(2)` failed.
    ///
    /// # Example
    ///
    /// ```
    /// eddy::run(async {
    ///     let l = eddy_net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let s = eddy_net::TcpStream::connect(l.local_addr()?).await?;
    ///     assert!(s.local_addr()?.ip().is_loopback());
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// The peer's address (asyncio's `get_extra_info("peername")`).
    ///
    /// # Errors
    ///
    /// `NotConnected` once the connection is gone, or `getpeername(2)`
    /// failed.
    ///
    /// # Example
    ///
    /// ```
    /// eddy::run(async {
    ///     let l = eddy_net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let s = eddy_net::TcpStream::connect(l.local_addr()?).await?;
    ///     assert_eq!(s.peer_addr()?, l.local_addr()?);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// Whether `TCP_NODELAY` is set (Nagle's algorithm off).
    ///
    /// # Errors
    ///
    /// `getsockopt(2)` failed.
    ///
    /// # Example
    ///
    /// ```
    /// eddy::run(async {
    ///     let l = eddy_net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let s = eddy_net::TcpStream::connect(l.local_addr()?).await?;
    ///     s.set_nodelay(true)?;
    ///     assert!(s.nodelay()?);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.get_ref().nodelay()
    }

    /// Sets `TCP_NODELAY`: small writes go out at once instead of being
    /// coalesced (lower latency for request/response protocols).
    ///
    /// # Errors
    ///
    /// `setsockopt(2)` failed.
    ///
    /// # Example
    ///
    /// See [`nodelay`](TcpStream::nodelay).
    ///
    /// ```
    /// # eddy::run(async {
    /// # let l = eddy_net::TcpListener::bind("127.0.0.1:0").await?;
    /// let s = eddy_net::TcpStream::connect(l.local_addr()?).await?;
    /// s.set_nodelay(false)?;
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.get_ref().set_nodelay(nodelay)
    }

    /// The `SO_LINGER` setting.
    ///
    /// # Errors
    ///
    /// `getsockopt(2)` failed.
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    /// # eddy::run(async {
    /// # let l = eddy_net::TcpListener::bind("127.0.0.1:0").await?;
    /// let s = eddy_net::TcpStream::connect(l.local_addr()?).await?;
    /// s.set_linger(Some(Duration::ZERO))?;
    /// assert_eq!(s.linger()?, Some(Duration::ZERO));
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        SockRef::from(self.inner.get_ref()).linger()
    }

    /// Sets `SO_LINGER`. `Some(Duration::ZERO)` makes dropping the stream
    /// reset the connection (the peer gets `ConnectionReset`) instead of
    /// closing it gracefully. The reset itself never blocks: eddy sockets
    /// are non-blocking.
    ///
    /// # Errors
    ///
    /// `setsockopt(2)` failed.
    ///
    /// # Example
    ///
    /// See [`linger`](TcpStream::linger).
    ///
    /// ```
    /// # eddy::run(async {
    /// # let l = eddy_net::TcpListener::bind("127.0.0.1:0").await?;
    /// let s = eddy_net::TcpStream::connect(l.local_addr()?).await?;
    /// s.set_linger(None)?;
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        SockRef::from(self.inner.get_ref()).set_linger(linger)
    }

    /// The IP time-to-live of outgoing packets.
    ///
    /// # Errors
    ///
    /// `getsockopt(2)` failed.
    ///
    /// # Example
    ///
    /// ```
    /// # eddy::run(async {
    /// # let l = eddy_net::TcpListener::bind("127.0.0.1:0").await?;
    /// let s = eddy_net::TcpStream::connect(l.local_addr()?).await?;
    /// s.set_ttl(42)?;
    /// assert_eq!(s.ttl()?, 42);
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.inner.get_ref().ttl()
    }

    /// Sets the IP time-to-live; see [`ttl`](TcpStream::ttl).
    ///
    /// # Errors
    ///
    /// `setsockopt(2)` failed.
    ///
    /// # Example
    ///
    /// ```
    /// # eddy::run(async {
    /// # let l = eddy_net::TcpListener::bind("127.0.0.1:0").await?;
    /// let s = eddy_net::TcpStream::connect(l.local_addr()?).await?;
    /// s.set_ttl(64)?;
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.inner.get_ref().set_ttl(ttl)
    }

    /// Shuts down the read, write or both directions (asyncio's
    /// `write_eof()` is `shutdown(Shutdown::Write)`): after a write
    /// shutdown the peer reads EOF, while this side can still read.
    ///
    /// # Errors
    ///
    /// `shutdown(2)` failed, e.g. `NotConnected`.
    ///
    /// # Example
    ///
    /// ```
    /// use eddy_net::{Shutdown, TcpListener, TcpStream};
    /// use futures_lite::AsyncReadExt;
    ///
    /// eddy::run(async {
    ///     let l = TcpListener::bind("127.0.0.1:0").await?;
    ///     let c = TcpStream::connect(l.local_addr()?).await?;
    ///     let (mut s, _) = l.accept().await?;
    ///     c.shutdown(Shutdown::Write)?;
    ///     assert_eq!(s.read(&mut [0; 8]).await?, 0); // EOF
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.get_ref().shutdown(how)
    }

    /// Receives data without removing it from the queue; waits until some
    /// is available. Returns 0 at EOF.
    ///
    /// Cancel safe.
    ///
    /// # Errors
    ///
    /// `recv(2)` failed, e.g. `ConnectionReset`.
    ///
    /// # Example
    ///
    /// ```
    /// use futures_lite::{AsyncReadExt, AsyncWriteExt};
    ///
    /// eddy::run(async {
    ///     let l = eddy_net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let mut c = eddy_net::TcpStream::connect(l.local_addr()?).await?;
    ///     let (mut s, _) = l.accept().await?;
    ///     c.write_all(b"abc").await?;
    ///     let mut buf = [0; 3];
    ///     let n = s.peek(&mut buf).await?;
    ///     assert_eq!(&buf[..n], &b"abc"[..n]);
    ///     s.read_exact(&mut buf).await?; // still there
    ///     assert_eq!(&buf, b"abc");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_with(|s| s.peek(buf)).await
    }

    /// Waits until the stream may be readable. Cancel safe.
    ///
    /// # Errors
    ///
    /// The reactor shut down.
    ///
    /// # Example
    ///
    /// ```
    /// use futures_lite::AsyncWriteExt;
    ///
    /// eddy::run(async {
    ///     let l = eddy_net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let mut c = eddy_net::TcpStream::connect(l.local_addr()?).await?;
    ///     let (s, _) = l.accept().await?;
    ///     c.write_all(b"x").await?;
    ///     s.readable().await?;
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn readable(&self) -> io::Result<()> {
        self.inner.readable().await
    }

    /// Waits until the stream may be writable. Cancel safe.
    ///
    /// # Errors
    ///
    /// The reactor shut down.
    ///
    /// # Example
    ///
    /// ```
    /// eddy::run(async {
    ///     let l = eddy_net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let c = eddy_net::TcpStream::connect(l.local_addr()?).await?;
    ///     c.writable().await?;
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn writable(&self) -> io::Result<()> {
        self.inner.writable().await
    }

    /// Borrows the stream as a read half and a write half, usable
    /// concurrently (e.g. joined in one task). No allocation.
    ///
    /// # Example
    ///
    /// ```
    /// use futures_lite::{future, io};
    ///
    /// eddy::run(async {
    ///     let l = eddy_net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let mut c = eddy_net::TcpStream::connect(l.local_addr()?).await?;
    ///     let (mut s, _) = l.accept().await?;
    ///     // An echo server in one task: copy the read half into the write half.
    ///     let echo = eddy::spawn(async move {
    ///         let (r, mut w) = s.split();
    ///         io::copy(r, &mut w).await
    ///     });
    ///     use futures_lite::{AsyncReadExt, AsyncWriteExt};
    ///     c.write_all(b"ping").await?;
    ///     c.close().await?;
    ///     let mut back = Vec::new();
    ///     c.read_to_end(&mut back).await?;
    ///     assert_eq!(back, b"ping");
    ///     assert_eq!(echo.await.unwrap()?, 4);
    ///     # let _ = future::ready(());
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        (ReadHalf(&self.inner), WriteHalf(&self.inner))
    }

    /// Splits the stream into halves that can move to different tasks.
    /// One allocation (the shared socket).
    ///
    /// # Example
    ///
    /// ```
    /// use futures_lite::{AsyncReadExt, AsyncWriteExt};
    ///
    /// eddy::run(async {
    ///     let l = eddy_net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let c = eddy_net::TcpStream::connect(l.local_addr()?).await?;
    ///     let (mut s, _) = l.accept().await?;
    ///     let (mut r, mut w) = c.into_split();
    ///     let writer = eddy::spawn(async move { w.write_all(b"hi").await });
    ///     writer.await.unwrap()?; // `w` dropped: write side shut down
    ///     let mut got = Vec::new();
    ///     s.read_to_end(&mut got).await?;
    ///     assert_eq!(got, b"hi");
    ///     s.write_all(b"yo").await?;
    ///     let mut back = [0; 2];
    ///     r.read_exact(&mut back).await?;
    ///     assert_eq!(&back, b"yo");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        let inner = std::sync::Arc::new(self.inner);
        (
            OwnedReadHalf(inner.clone()),
            OwnedWriteHalf {
                inner,
                shutdown_on_drop: true,
            },
        )
    }
}

/// Treats "connection in progress" as the normal start of a non-blocking
/// connect.
pub(crate) fn connect_started(r: io::Result<()>) -> io::Result<()> {
    match r {
        // `EAGAIN` is not "in progress": for TCP it means no local port is
        // free, for Unix sockets a full accept queue; both are failures.
        Err(e) if e.raw_os_error() != Some(rustix::io::Errno::INPROGRESS.raw_os_error()) => Err(e),
        _ => Ok(()),
    }
}

/// After writability: the connect failed (`SO_ERROR`), succeeded (there is a
/// peer), or is still in progress (`WouldBlock`, so the task waits again).
pub(crate) fn finish_connect<A>(
    err: io::Result<Option<io::Error>>,
    peer: io::Result<A>,
) -> io::Result<()> {
    if let Some(e) = err? {
        return Err(e);
    }
    match peer {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Err(io::ErrorKind::WouldBlock.into()),
        Err(e) => Err(e),
    }
}

impl AsFd for TcpStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TcpStream")
            .field(self.inner.get_ref())
            .finish()
    }
}

macro_rules! stream_io {
    ($stream:ty) => {
        impl AsyncRead for $stream {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut &self.inner).poll_read(cx, buf)
            }

            fn poll_read_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &mut [IoSliceMut<'_>],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut &self.inner).poll_read_vectored(cx, bufs)
            }
        }

        impl AsyncWrite for $stream {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut &self.inner).poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut &self.inner).poll_write_vectored(cx, bufs)
            }

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                // Sockets have no user-space buffer to flush.
                Poll::Ready(Ok(()))
            }

            fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(crate::halves::shutdown_write(self.inner.get_ref()))
            }
        }
    };
}
pub(crate) use stream_io;

stream_io!(TcpStream);
stream_io!(&TcpStream);

crate::halves::stream_halves!(
    TcpStream,
    std::net::TcpStream,
    "```
use futures_lite::{AsyncReadExt, AsyncWriteExt};

eddy::run(async {
    let l = eddy_net::TcpListener::bind(\"127.0.0.1:0\").await?;
    let c = eddy_net::TcpStream::connect(l.local_addr()?).await?;
    let (mut s, _) = l.accept().await?;
    let (mut r, w) = c.into_split();
    s.write_all(b\"x\").await?;
    let mut b = [0; 1];
    r.read_exact(&mut b).await?;
    let c: eddy_net::TcpStream = r.reunite(w).expect(\"same stream\");
    # drop(c);
    Ok::<(), std::io::Error>(())
})?;
# Ok::<(), std::io::Error>(())
```"
);

/// The connections of a [`TcpListener`], from
/// [`incoming`](TcpListener::incoming). Never ends.
///
/// # Example
///
/// See [`TcpListener::incoming`].
///
/// ```
/// use futures_lite::StreamExt;
///
/// eddy::run(async {
///     let l = eddy_net::TcpListener::bind("127.0.0.1:0").await?;
///     let mut incoming: eddy_net::tcp::Incoming<'_> = l.incoming();
///     let _c = eddy_net::TcpStream::connect(l.local_addr()?).await?;
///     assert!(incoming.next().await.unwrap().is_ok());
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Incoming<'a>(Pin<Box<dyn Stream<Item = io::Result<TcpStream>> + Send + 'a>>);

impl Stream for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.as_mut().poll_next(cx)
    }
}

impl fmt::Debug for Incoming<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Incoming").finish_non_exhaustive()
    }
}
