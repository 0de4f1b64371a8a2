//! [`HyperIo`]: futures-io <-> hyper I/O.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_io::{AsyncRead, AsyncWrite};

/// Bytes read per call into [`HyperIo`]'s own buffer when hyper's cursor is
/// larger: one socket read's worth.
const READ_CHUNK: usize = 16 * 1024;

/// Adapts between `futures-io` and hyper's I/O traits, in both directions.
///
/// * `HyperIo<T>` with `T: futures_io::AsyncRead + AsyncWrite` (an eddy
///   `TcpStream`, `UnixStream`, a `futures-rustls` stream) implements
///   [`hyper::rt::Read`] and [`hyper::rt::Write`]: hand it to hyper's
///   `serve_connection` or `handshake`.
/// * `HyperIo<T>` with `T: hyper::rt::Read + Write` (hyper's `Upgraded`
///   after a websocket or CONNECT upgrade) implements the `futures-io`
///   traits, so `futures-io` code (`async-tungstenite`, `futures::io::copy`)
///   can use it.
///
/// Reads go through a small buffer owned by the adapter (allocated on the
/// first read), because `futures-io` reads need initialised memory and
/// hyper hands out uninitialised memory; the copy is of the bytes read only.
/// That keeps this crate free of `unsafe`.
///
/// ```
/// eddy::run(async {
///     let listener = eddy::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let stream = eddy::net::TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
///     let io = eddy_hyper::HyperIo::new(stream);
///     assert!(io.get_ref().peer_addr().is_ok());
///     let _stream: eddy::net::TcpStream = io.into_inner();
/// });
/// ```
#[derive(Debug)]
pub struct HyperIo<T> {
    inner: T,
    buf: Vec<u8>,
}

impl<T> HyperIo<T> {
    /// Wraps `inner`.
    ///
    /// ```
    /// let io = eddy_hyper::HyperIo::new(futures_lite::io::Cursor::new(vec![1u8, 2]));
    /// assert_eq!(io.get_ref().get_ref(), &[1, 2]);
    /// ```
    pub fn new(inner: T) -> HyperIo<T> {
        HyperIo {
            inner,
            buf: Vec::new(),
        }
    }

    /// The wrapped stream.
    ///
    /// ```
    /// let io = eddy_hyper::HyperIo::new(7u8);
    /// assert_eq!(*io.get_ref(), 7);
    /// ```
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The wrapped stream, mutably.
    ///
    /// ```
    /// let mut io = eddy_hyper::HyperIo::new(7u8);
    /// *io.get_mut() += 1;
    /// assert_eq!(io.into_inner(), 8);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Unwraps the stream. Bytes hyper has not asked for yet were never read
    /// from it, so nothing is lost.
    ///
    /// ```
    /// assert_eq!(eddy_hyper::HyperIo::new("s").into_inner(), "s");
    /// ```
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: AsyncRead + Unpin> hyper::rt::Read for HyperIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut cursor: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let want = cursor.remaining().min(READ_CHUNK);
        if want == 0 {
            return Poll::Ready(Ok(()));
        }
        if this.buf.len() < want {
            this.buf.resize(want, 0);
        }
        let n = ready!(Pin::new(&mut this.inner).poll_read(cx, &mut this.buf[..want]))?;
        cursor.put_slice(&this.buf[..n]);
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> hyper::rt::Write for HyperIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }
}

/// The other direction: hyper I/O (an upgraded connection) as `futures-io`.
impl<T: hyper::rt::Read + Unpin> AsyncRead for HyperIo<HyperToFutures<T>> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut read_buf = hyper::rt::ReadBuf::new(buf);
        let inner = &mut self.get_mut().inner.0;
        ready!(Pin::new(inner).poll_read(cx, read_buf.unfilled()))?;
        Poll::Ready(Ok(read_buf.filled().len()))
    }
}

impl<T: hyper::rt::Write + Unpin> AsyncWrite for HyperIo<HyperToFutures<T>> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner.0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner.0).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner.0).poll_shutdown(cx)
    }
}

/// Marks hyper I/O to be used as `futures-io`; made by
/// [`HyperIo::from_hyper`].
#[derive(Debug)]
pub struct HyperToFutures<T>(T);

impl<T> HyperIo<HyperToFutures<T>> {
    /// Wraps hyper I/O (e.g. `hyper::upgrade::Upgraded`) so it implements
    /// `futures_io::AsyncRead`/`AsyncWrite`.
    ///
    /// ```
    /// use futures_lite::AsyncReadExt;
    ///
    /// // Any hyper I/O works; here, an eddy stream seen through hyper's traits.
    /// let hyper_side = eddy_hyper::HyperIo::new(futures_lite::io::Cursor::new(b"hi".to_vec()));
    /// let mut futures_side = eddy_hyper::HyperIo::from_hyper(hyper_side);
    /// let mut out = String::new();
    /// futures_lite::future::block_on(futures_side.read_to_string(&mut out)).unwrap();
    /// assert_eq!(out, "hi");
    /// ```
    pub fn from_hyper(io: T) -> HyperIo<HyperToFutures<T>> {
        HyperIo::new(HyperToFutures(io))
    }

    /// The hyper I/O inside.
    ///
    /// ```
    /// let io = eddy_hyper::HyperIo::from_hyper(5u8);
    /// assert_eq!(io.into_hyper(), 5);
    /// ```
    pub fn into_hyper(self) -> T {
        self.inner.0
    }
}
