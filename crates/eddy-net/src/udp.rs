//! UDP: [`UdpSocket`].

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, BorrowedFd};

use super::addr::{ToSocketAddrs, each_addr, to_addrs};
use eddy_reactor::Async;

/// A UDP socket, like asyncio's datagram endpoints.
///
/// Each `send`/`recv` is one datagram. `&self` methods, so one socket can
/// be shared (e.g. in an `Arc`) between a sending and a receiving task.
/// Dropping it deregisters the socket from the reactor and closes it.
///
/// # Example
///
/// ```
/// use eddy_net::UdpSocket;
///
/// eddy::run(async {
///     let a = UdpSocket::bind("127.0.0.1:0").await?;
///     let b = UdpSocket::bind("127.0.0.1:0").await?;
///     a.send_to(b"ping", b.local_addr()?).await?;
///     let mut buf = [0; 16];
///     let (n, from) = b.recv_from(&mut buf).await?;
///     assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr()?));
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UdpSocket {
    inner: Async<std::net::UdpSocket>,
}

impl UdpSocket {
    /// Binds a socket to `addr` (port 0 picks a free port).
    ///
    /// # Errors
    ///
    /// Resolution or `bind(2)` failed, or no eddy reactor is running on
    /// this thread.
    ///
    /// # Example
    ///
    /// ```
    /// eddy::run(async {
    ///     let s = eddy_net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     assert_ne!(s.local_addr()?.port(), 0);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        each_addr(addr, |a| async move {
            UdpSocket::from_std(std::net::UdpSocket::bind(a)?)
        })
        .await
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
    ///     let s = eddy_net::UdpSocket::from_std(std::net::UdpSocket::bind("127.0.0.1:0")?)?;
    ///     # drop(s);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            inner: Async::new(socket)?,
        })
    }

    /// The address the socket is bound to.
    ///
    /// # Errors
    ///
    /// `getsockname(2)` failed.
    ///
    /// # Example
    ///
    /// ```
    /// eddy::run(async {
    ///     let s = eddy_net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     assert!(s.local_addr()?.ip().is_loopback());
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// The address the socket is connected to.
    ///
    /// # Errors
    ///
    /// `NotConnected` if [`connect`](UdpSocket::connect) was not called.
    ///
    /// # Example
    ///
    /// ```
    /// eddy::run(async {
    ///     let s = eddy_net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     assert!(s.peer_addr().is_err());
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// Sets the default destination for [`send`](UdpSocket::send) and
    /// filters [`recv`](UdpSocket::recv) to datagrams from it.
    ///
    /// # Errors
    ///
    /// Resolution or `connect(2)` failed.
    ///
    /// # Example
    ///
    /// ```
    /// eddy::run(async {
    ///     let a = eddy_net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = eddy_net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     a.connect(b.local_addr()?).await?;
    ///     b.connect(a.local_addr()?).await?;
    ///     a.send(b"hi").await?;
    ///     let mut buf = [0; 8];
    ///     let n = b.recv(&mut buf).await?;
    ///     assert_eq!(&buf[..n], b"hi");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        let s = self.inner.get_ref();
        each_addr(addr, |a| async move { s.connect(a) }).await
    }

    /// Sends one datagram to the connected peer; returns the bytes sent.
    /// Cancel safe: nothing is sent unless it completes.
    ///
    /// # Errors
    ///
    /// `send(2)` failed (e.g. not connected, or `ConnectionRefused` from a
    /// previous datagram's ICMP error).
    ///
    /// # Example
    ///
    /// See [`connect`](UdpSocket::connect).
    ///
    /// ```
    /// # eddy::run(async {
    /// let s = eddy_net::UdpSocket::bind("127.0.0.1:0").await?;
    /// assert!(s.send(b"nowhere").await.is_err()); // not connected
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write_with(|s| s.send(buf)).await
    }

    /// Receives one datagram from the connected peer. Cancel safe.
    ///
    /// # Errors
    ///
    /// `recv(2)` failed.
    ///
    /// # Example
    ///
    /// See [`connect`](UdpSocket::connect).
    ///
    /// ```
    /// # eddy::run(async {
    /// let a = eddy_net::UdpSocket::bind("127.0.0.1:0").await?;
    /// a.connect(a.local_addr()?).await?; // talk to ourselves
    /// a.send(b"me").await?;
    /// let mut buf = [0; 2];
    /// assert_eq!(a.recv(&mut buf).await?, 2);
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_with(|s| s.recv(buf)).await
    }

    /// Sends one datagram to `target` (the first address it resolves to).
    /// Cancel safe.
    ///
    /// # Errors
    ///
    /// Resolution or `sendto(2)` failed.
    ///
    /// # Example
    ///
    /// See [`UdpSocket`].
    ///
    /// ```
    /// # eddy::run(async {
    /// let s = eddy_net::UdpSocket::bind("127.0.0.1:0").await?;
    /// assert_eq!(s.send_to(b"abc", s.local_addr()?).await?, 3);
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], target: A) -> io::Result<usize> {
        let addr =
            to_addrs(target).await?.into_iter().next().ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "no address to send to")
            })?;
        self.inner.write_with(|s| s.send_to(buf, addr)).await
    }

    /// Receives one datagram and its sender's address. Cancel safe.
    ///
    /// # Errors
    ///
    /// `recvfrom(2)` failed.
    ///
    /// # Example
    ///
    /// See [`UdpSocket`].
    ///
    /// ```
    /// # eddy::run(async {
    /// let s = eddy_net::UdpSocket::bind("127.0.0.1:0").await?;
    /// s.send_to(b"abc", s.local_addr()?).await?;
    /// let mut buf = [0; 3];
    /// let (n, from) = s.recv_from(&mut buf).await?;
    /// assert_eq!((n, from), (3, s.local_addr()?));
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.read_with(|s| s.recv_from(buf)).await
    }

    /// Like [`recv_from`](UdpSocket::recv_from), leaving the datagram queued.
    ///
    /// # Errors
    ///
    /// `recvfrom(2)` failed.
    ///
    /// # Example
    ///
    /// ```
    /// # eddy::run(async {
    /// let s = eddy_net::UdpSocket::bind("127.0.0.1:0").await?;
    /// s.send_to(b"abc", s.local_addr()?).await?;
    /// let mut buf = [0; 3];
    /// assert_eq!(s.peek_from(&mut buf).await?.0, 3);
    /// assert_eq!(s.recv_from(&mut buf).await?.0, 3); // still there
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.read_with(|s| s.peek_from(buf)).await
    }

    /// Whether `SO_BROADCAST` is set.
    ///
    /// # Errors
    ///
    /// `getsockopt(2)` failed.
    ///
    /// # Example
    ///
    /// ```
    /// # eddy::run(async {
    /// let s = eddy_net::UdpSocket::bind("127.0.0.1:0").await?;
    /// s.set_broadcast(true)?;
    /// assert!(s.broadcast()?);
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn broadcast(&self) -> io::Result<bool> {
        self.inner.get_ref().broadcast()
    }

    /// Sets `SO_BROADCAST` (sending to broadcast addresses).
    ///
    /// # Errors
    ///
    /// `setsockopt(2)` failed.
    ///
    /// # Example
    ///
    /// See [`broadcast`](UdpSocket::broadcast).
    ///
    /// ```
    /// # eddy::run(async {
    /// let s = eddy_net::UdpSocket::bind("127.0.0.1:0").await?;
    /// s.set_broadcast(false)?;
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.inner.get_ref().set_broadcast(on)
    }
}

impl AsFd for UdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("UdpSocket")
            .field(self.inner.get_ref())
            .finish()
    }
}
