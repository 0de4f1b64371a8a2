//! Unix-domain sockets: [`UnixListener`], [`UnixStream`] (and its halves),
//! [`UnixDatagram`].

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::Shutdown;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use futures_lite::Stream;
use socket2::{Domain, SockAddr};

use super::tcp::{
    accept_with_backoff, connect_started, finish_connect, nonblocking_stream_socket, stream_io,
};
use eddy_reactor::Async;

/// A Unix-domain stream socket listening for connections (asyncio's
/// `start_unix_server` socket).
///
/// Dropping it stops listening (the socket file stays on disk, as with
/// std; remove it if you want).
///
/// # Example
///
/// ```
/// use eddy_net::{UnixListener, UnixStream};
/// use futures_lite::{AsyncReadExt, AsyncWriteExt};
///
/// let dir = std::env::temp_dir().join(format!("eddy-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("listener.sock");
/// # let _ = std::fs::remove_file(&path);
/// eddy::run(async {
///     let listener = UnixListener::bind(&path)?;
///     let mut client = UnixStream::connect(&path).await?;
///     let (mut server, _) = listener.accept().await?;
///     client.write_all(b"hi").await?;
///     let mut buf = [0; 2];
///     server.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hi");
///     Ok::<(), std::io::Error>(())
/// })?;
/// std::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixListener {
    inner: Async<std::os::unix::net::UnixListener>,
}

impl UnixListener {
    /// Creates the socket file at `path` and listens on it.
    ///
    /// # Errors
    ///
    /// `bind(2)` failed (e.g. the file exists: `AddrInUse`), or no eddy
    /// reactor is running on this thread.
    ///
    /// # Example
    ///
    /// See [`UnixListener`].
    ///
    /// ```
    /// eddy::run(async {
    ///     let err = eddy_net::UnixListener::bind("/nonexistent-dir/x.sock").unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// });
    /// ```
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixListener> {
        UnixListener::from_std(std::os::unix::net::UnixListener::bind(path)?)
    }

    /// Wraps a std listener (switching it to non-blocking mode).
    ///
    /// # Errors
    ///
    /// No eddy reactor is running on this thread, or registration failed.
    ///
    /// # Example
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("eddy-doc-fs-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// eddy::run(async {
    ///     let std_l = std::os::unix::net::UnixListener::bind(&path)?;
    ///     let l = eddy_net::UnixListener::from_std(std_l)?;
    ///     # drop(l);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        Ok(UnixListener {
            inner: Async::new(listener)?,
        })
    }

    /// Waits for a connection. Same back-off on descriptor exhaustion and
    /// cancel safety as [`TcpListener::accept`](super::TcpListener::accept).
    ///
    /// # Errors
    ///
    /// Other `accept(2)` errors, or the reactor shut down.
    ///
    /// # Example
    ///
    /// See [`UnixListener`].
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("eddy-doc-acc-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// eddy::run(async {
    ///     let l = eddy_net::UnixListener::bind(&path)?;
    ///     let _c = eddy_net::UnixStream::connect(&path).await?;
    ///     let (_s, _addr) = l.accept().await?;
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (stream, addr) = accept_with_backoff(&self.inner, |l| l.accept()).await?;
        Ok((UnixStream::from_std(stream)?, addr))
    }

    /// The connections as a never-ending [`Stream`].
    ///
    /// # Example
    ///
    /// ```
    /// use futures_lite::StreamExt;
    /// # let path = std::env::temp_dir().join(format!("eddy-doc-inc-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// eddy::run(async {
    ///     let l = eddy_net::UnixListener::bind(&path)?;
    ///     let _c = eddy_net::UnixStream::connect(&path).await?;
    ///     let s = l.incoming().next().await.unwrap()?;
    ///     # drop(s);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # std::fs::remove_file(&path)?;
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
    /// # let path = std::env::temp_dir().join(format!("eddy-doc-la-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// eddy::run(async {
    ///     let l = eddy_net::UnixListener::bind(&path)?;
    ///     assert_eq!(l.local_addr()?.as_pathname(), Some(path.as_path()));
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }
}

impl AsFd for UnixListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("UnixListener")
            .field(self.inner.get_ref())
            .finish()
    }
}

/// A Unix-domain stream connection. Like [`TcpStream`](super::TcpStream):
/// `AsyncRead`/`AsyncWrite` (also on `&UnixStream`), `close()` shuts down
/// the write direction, halves via [`split`](UnixStream::split) and
/// [`into_split`](UnixStream::into_split).
///
/// # Example
///
/// ```
/// use futures_lite::{AsyncReadExt, AsyncWriteExt};
///
/// eddy::run(async {
///     let (mut a, mut b) = eddy_net::UnixStream::pair()?;
///     a.write_all(b"ping").await?;
///     a.close().await?;
///     let mut got = String::new();
///     b.read_to_string(&mut got).await?;
///     assert_eq!(got, "ping");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixStream {
    inner: Async<std::os::unix::net::UnixStream>,
}

impl UnixStream {
    /// Connects to the socket at `path`.
    ///
    /// Cancel safe: dropping the future closes the half-open socket.
    ///
    /// # Errors
    ///
    /// `connect(2)` failed: `NotFound`, `ConnectionRefused`, or
    /// `WouldBlock` when the listener's accept queue is full.
    ///
    /// # Example
    ///
    /// See [`UnixListener`].
    ///
    /// ```
    /// eddy::run(async {
    ///     let err = eddy_net::UnixStream::connect("/nonexistent-dir/x.sock").await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// });
    /// ```
    pub async fn connect<P: AsRef<Path>>(path: P) -> io::Result<UnixStream> {
        let addr = SockAddr::unix(path)?;
        let socket = nonblocking_stream_socket(Domain::UNIX, None)?;
        connect_started(socket.connect(&addr))?;
        let stream = Async::new_nonblocking(std::os::unix::net::UnixStream::from(
            std::os::fd::OwnedFd::from(socket),
        ))?
        .byte_stream();
        stream
            .write_with(|s| finish_connect(s.take_error(), s.peer_addr()))
            .await?;
        Ok(UnixStream { inner: stream })
    }

    /// A connected pair of streams (`socketpair(2)`).
    ///
    /// # Errors
    ///
    /// `socketpair(2)` failed, or no eddy reactor is running on this thread.
    ///
    /// # Example
    ///
    /// See [`UnixStream`].
    ///
    /// ```
    /// eddy::run(async {
    ///     let (a, b) = eddy_net::UnixStream::pair()?;
    ///     # drop((a, b));
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = std::os::unix::net::UnixStream::pair()?;
        Ok((UnixStream::from_std(a)?, UnixStream::from_std(b)?))
    }

    /// Wraps a connected std stream (switching it to non-blocking mode).
    ///
    /// # Errors
    ///
    /// No eddy reactor is running on this thread, or registration failed.
    ///
    /// # Example
    ///
    /// ```
    /// eddy::run(async {
    ///     let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    ///     let a = eddy_net::UnixStream::from_std(a)?;
    ///     # drop(a);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream {
            inner: Async::new(stream)?.byte_stream(),
        })
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// `getsockname(2)` failed.
    ///
    /// # Example
    ///
    /// ```
    /// eddy::run(async {
    ///     let (a, _b) = eddy_net::UnixStream::pair()?;
    ///     assert!(a.local_addr()?.is_unnamed());
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// The peer's address.
    ///
    /// # Errors
    ///
    /// `getpeername(2)` failed.
    ///
    /// # Example
    ///
    /// ```
    /// eddy::run(async {
    ///     let (a, _b) = eddy_net::UnixStream::pair()?;
    ///     assert!(a.peer_addr()?.is_unnamed());
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// Shuts down the read, write or both directions.
    ///
    /// # Errors
    ///
    /// `shutdown(2)` failed.
    ///
    /// # Example
    ///
    /// ```
    /// use futures_lite::AsyncReadExt;
    ///
    /// eddy::run(async {
    ///     let (a, mut b) = eddy_net::UnixStream::pair()?;
    ///     a.shutdown(eddy_net::Shutdown::Write)?;
    ///     assert_eq!(b.read(&mut [0; 4]).await?, 0);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.get_ref().shutdown(how)
    }

    /// Borrows the stream as a read half and a write half.
    ///
    /// # Example
    ///
    /// ```
    /// use futures_lite::{future, AsyncReadExt, AsyncWriteExt};
    ///
    /// eddy::run(async {
    ///     let (mut a, mut b) = eddy_net::UnixStream::pair()?;
    ///     let (mut r, mut w) = a.split();
    ///     let (wrote, read) = future::zip(
    ///         async { w.write_all(b"x").await },
    ///         async { b.write_all(b"y").await?; let mut c = [0; 1]; r.read_exact(&mut c).await.map(|_| c) },
    ///     ).await;
    ///     wrote?;
    ///     assert_eq!(&read?, b"y");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        (ReadHalf(&self.inner), WriteHalf(&self.inner))
    }

    /// Splits the stream into halves that can move to different tasks.
    ///
    /// # Example
    ///
    /// ```
    /// use futures_lite::AsyncReadExt;
    ///
    /// eddy::run(async {
    ///     let (a, mut b) = eddy_net::UnixStream::pair()?;
    ///     let (_r, w) = a.into_split();
    ///     drop(w); // shuts down the write side
    ///     assert_eq!(b.read(&mut [0; 4]).await?, 0);
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

impl AsFd for UnixStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("UnixStream")
            .field(self.inner.get_ref())
            .finish()
    }
}

stream_io!(UnixStream);
stream_io!(&UnixStream);

crate::halves::stream_halves!(
    UnixStream,
    std::os::unix::net::UnixStream,
    "```
use futures_lite::{AsyncReadExt, AsyncWriteExt};

eddy::run(async {
    let (a, mut b) = eddy_net::UnixStream::pair()?;
    let (mut r, w) = a.into_split();
    b.write_all(b\"x\").await?;
    let mut buf = [0; 1];
    r.read_exact(&mut buf).await?;
    let a: eddy_net::UnixStream = r.reunite(w).expect(\"same stream\");
    # drop(a);
    Ok::<(), std::io::Error>(())
})?;
# Ok::<(), std::io::Error>(())
```"
);

/// A Unix-domain datagram socket.
///
/// # Example
///
/// ```
/// eddy::run(async {
///     let (a, b) = eddy_net::UnixDatagram::pair()?;
///     a.send(b"one datagram").await?;
///     let mut buf = [0; 32];
///     let n = b.recv(&mut buf).await?;
///     assert_eq!(&buf[..n], b"one datagram");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixDatagram {
    inner: Async<std::os::unix::net::UnixDatagram>,
}

impl UnixDatagram {
    /// Creates a socket bound to the file `path`.
    ///
    /// # Errors
    ///
    /// `bind(2)` failed, or no eddy reactor is running on this thread.
    ///
    /// # Example
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("eddy-doc-dg-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// eddy::run(async {
    ///     let server = eddy_net::UnixDatagram::bind(&path)?;
    ///     let client = eddy_net::UnixDatagram::unbound()?;
    ///     client.send_to(b"hello", &path).await?;
    ///     let mut buf = [0; 8];
    ///     let (n, _from) = server.recv_from(&mut buf).await?;
    ///     assert_eq!(&buf[..n], b"hello");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(std::os::unix::net::UnixDatagram::bind(path)?)
    }

    /// Creates a socket bound to no address.
    ///
    /// # Errors
    ///
    /// `socket(2)` failed, or no eddy reactor is running on this thread.
    ///
    /// # Example
    ///
    /// See [`bind`](UnixDatagram::bind).
    ///
    /// ```
    /// eddy::run(async {
    ///     let s = eddy_net::UnixDatagram::unbound()?;
    ///     assert!(s.local_addr()?.is_unnamed());
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(std::os::unix::net::UnixDatagram::unbound()?)
    }

    /// A connected pair of datagram sockets.
    ///
    /// # Errors
    ///
    /// `socketpair(2)` failed, or no eddy reactor is running on this thread.
    ///
    /// # Example
    ///
    /// See [`UnixDatagram`].
    ///
    /// ```
    /// eddy::run(async {
    ///     let (a, b) = eddy_net::UnixDatagram::pair()?;
    ///     # drop((a, b));
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = std::os::unix::net::UnixDatagram::pair()?;
        Ok((UnixDatagram::from_std(a)?, UnixDatagram::from_std(b)?))
    }

    /// Wraps a std socket (switching it to non-blocking mode).
    ///
    /// # Errors
    ///
    /// No eddy reactor is running on this thread, or registration failed.
    ///
    /// # Example
    ///
    /// ```
    /// eddy::run(async {
    ///     let s = eddy_net::UnixDatagram::from_std(std::os::unix::net::UnixDatagram::unbound()?)?;
    ///     # drop(s);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            inner: Async::new(socket)?,
        })
    }

    /// Sets the default destination for [`send`](UnixDatagram::send).
    ///
    /// # Errors
    ///
    /// `connect(2)` failed.
    ///
    /// # Example
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("eddy-doc-dgc-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// eddy::run(async {
    ///     let server = eddy_net::UnixDatagram::bind(&path)?;
    ///     let client = eddy_net::UnixDatagram::unbound()?;
    ///     client.connect(&path)?;
    ///     client.send(b"hi").await?;
    ///     let mut buf = [0; 2];
    ///     assert_eq!(server.recv(&mut buf).await?, 2);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connect<P: AsRef<Path>>(&self, path: P) -> io::Result<()> {
        self.inner.get_ref().connect(path)
    }

    /// Sends a datagram to the connected peer. Cancel safe.
    ///
    /// # Errors
    ///
    /// `send(2)` failed.
    ///
    /// # Example
    ///
    /// See [`UnixDatagram`].
    ///
    /// ```
    /// eddy::run(async {
    ///     let (a, _b) = eddy_net::UnixDatagram::pair()?;
    ///     assert_eq!(a.send(b"abc").await?, 3);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write_with(|s| s.send(buf)).await
    }

    /// Receives a datagram from the connected peer. Cancel safe.
    ///
    /// # Errors
    ///
    /// `recv(2)` failed.
    ///
    /// # Example
    ///
    /// See [`UnixDatagram`].
    ///
    /// ```
    /// eddy::run(async {
    ///     let (a, b) = eddy_net::UnixDatagram::pair()?;
    ///     a.send(b"abc").await?;
    ///     assert_eq!(b.recv(&mut [0; 8]).await?, 3);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_with(|s| s.recv(buf)).await
    }

    /// Sends a datagram to the socket at `path`. Cancel safe.
    ///
    /// # Errors
    ///
    /// `sendto(2)` failed.
    ///
    /// # Example
    ///
    /// See [`bind`](UnixDatagram::bind).
    ///
    /// ```
    /// eddy::run(async {
    ///     let s = eddy_net::UnixDatagram::unbound()?;
    ///     assert!(s.send_to(b"x", "/nonexistent-dir/x.sock").await.is_err());
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn send_to<P: AsRef<Path>>(&self, buf: &[u8], path: P) -> io::Result<usize> {
        let path = path.as_ref();
        self.inner.write_with(|s| s.send_to(buf, path)).await
    }

    /// Receives a datagram and its sender's address. Cancel safe.
    ///
    /// # Errors
    ///
    /// `recvfrom(2)` failed.
    ///
    /// # Example
    ///
    /// See [`bind`](UnixDatagram::bind).
    ///
    /// ```
    /// eddy::run(async {
    ///     let (a, b) = eddy_net::UnixDatagram::pair()?;
    ///     a.send(b"abc").await?;
    ///     let (n, _from) = b.recv_from(&mut [0; 8]).await?;
    ///     assert_eq!(n, 3);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.read_with(|s| s.recv_from(buf)).await
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// `getsockname(2)` failed.
    ///
    /// # Example
    ///
    /// See [`unbound`](UnixDatagram::unbound).
    ///
    /// ```
    /// eddy::run(async {
    ///     let (a, _b) = eddy_net::UnixDatagram::pair()?;
    ///     assert!(a.local_addr()?.is_unnamed());
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// The connected peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected` if not connected.
    ///
    /// # Example
    ///
    /// ```
    /// eddy::run(async {
    ///     let s = eddy_net::UnixDatagram::unbound()?;
    ///     assert!(s.peer_addr().is_err());
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }
}

impl AsFd for UnixDatagram {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("UnixDatagram")
            .field(self.inner.get_ref())
            .finish()
    }
}

/// The connections of a [`UnixListener`], from
/// [`incoming`](UnixListener::incoming). Never ends.
///
/// # Example
///
/// See [`UnixListener::incoming`].
///
/// ```
/// use futures_lite::StreamExt;
/// # let path = std::env::temp_dir().join(format!("eddy-doc-inc2-{}.sock", std::process::id()));
/// # let _ = std::fs::remove_file(&path);
///
/// eddy::run(async {
///     let l = eddy_net::UnixListener::bind(&path)?;
///     let mut incoming: eddy_net::unix::Incoming<'_> = l.incoming();
///     let _c = eddy_net::UnixStream::connect(&path).await?;
///     assert!(incoming.next().await.unwrap().is_ok());
///     Ok::<(), std::io::Error>(())
/// })?;
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Incoming<'a>(Pin<Box<dyn Stream<Item = io::Result<UnixStream>> + Send + 'a>>);

impl Stream for Incoming<'_> {
    type Item = io::Result<UnixStream>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.as_mut().poll_next(cx)
    }
}

impl fmt::Debug for Incoming<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Incoming").finish_non_exhaustive()
    }
}
