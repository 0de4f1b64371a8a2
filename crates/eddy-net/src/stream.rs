//! asyncio-style streams: [`open_connection`], [`start_server`],
//! [`StreamReader`], [`StreamWriter`], [`Server`].

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_io::{AsyncBufRead, AsyncRead};
use futures_lite::io::BufReader;
use futures_lite::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

use super::addr::ToSocketAddrs;
use super::tcp::{OwnedReadHalf, OwnedWriteHalf, TcpListener, TcpStream};
use eddy_core::{DynTask, Spawn, TaskMeta};

/// Opens a TCP connection and returns its buffered reader and writer, like
/// `asyncio.open_connection(host, port)`.
///
/// # Errors
///
/// As [`TcpStream::connect`].
///
/// # Example
///
/// ```
/// use eddy_net::{open_connection, start_server};
///
/// eddy::run(async {
///     let server = start_server("127.0.0.1:0", |mut reader, mut writer| async move {
///         let line = reader.readline().await.unwrap_or_default();
///         writer.write(&line);
///         let _ = writer.drain().await;
///     })
///     .await?;
///     let (mut reader, mut writer) = open_connection(server.local_addr()).await?;
///     writer.write(b"hello\n");
///     writer.drain().await?;
///     assert_eq!(reader.readline().await?, b"hello\n");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn open_connection<A: ToSocketAddrs>(
    addr: A,
) -> io::Result<(StreamReader, StreamWriter)> {
    Ok(into_streams(TcpStream::connect(addr).await?))
}

fn into_streams(stream: TcpStream) -> (StreamReader, StreamWriter) {
    let (r, w) = stream.into_split();
    (
        StreamReader {
            inner: BufReader::new(r),
        },
        StreamWriter {
            inner: w,
            buf: Vec::new(),
        },
    )
}

/// Binds `addr` and serves each connection with `handler` in its own task,
/// like `asyncio.start_server(handler, host, port)`.
///
/// Listening starts before this returns (so clients may connect at once).
/// Connections are accepted by a background task; accept errors are
/// survived (descriptor exhaustion backs off, see
/// [`TcpListener::accept`]). Each handler runs as its own task: a handler
/// that panics or returns ends only its connection.
///
/// The tasks are spawned on the executor running the calling thread, found
/// through the [spawn hook](crate::hooks::set_spawn_hook) (the `eddy`
/// facade installs it); [`start_server_with`] takes the executor as an
/// argument instead.
///
/// # Errors
///
/// As [`TcpListener::bind`].
///
/// # Panics
///
/// Outside an eddy runtime (the accept loop is spawned).
///
/// # Example
///
/// See [`open_connection`].
///
/// ```
/// eddy::run(async {
///     let server = eddy_net::start_server("127.0.0.1:0", |_r, _w| async {}).await?;
///     assert!(server.local_addr().ip().is_loopback());
///     server.close(); // stop accepting
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn start_server<A, F, Fut>(addr: A, handler: F) -> io::Result<Server>
where
    A: ToSocketAddrs,
    F: Fn(StreamReader, StreamWriter) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(spawner) = crate::hooks::current_spawner() else {
        panic!(
            "`start_server` needs an executor: call it inside an eddy runtime, or use `start_server_with`"
        );
    };
    start_server_with(spawner, addr, handler).await
}

/// [`start_server`] on the executor `spawner` (any [`Spawn`]): the accept
/// loop and every connection's handler are spawned through it. With it this
/// crate serves connections without the `eddy` facade.
///
/// # Errors
///
/// As [`TcpListener::bind`], or `Other` if `spawner` refuses the accept
/// loop (its executor has shut down).
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use eddy_core::Spawn;
///
/// eddy::run(async {
///     let spawner: Arc<dyn Spawn> = Arc::new(eddy::Handle::current().executor().clone());
///     let server = eddy_net::start_server_with(spawner, "127.0.0.1:0", |_r, mut w| async move {
///         w.write(b"hi");
///         let _ = w.close().await;
///     })
///     .await?;
///     let (mut r, _w) = eddy_net::open_connection(server.local_addr()).await?;
///     assert_eq!(r.read_to_end().await?, b"hi");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn start_server_with<A, F, Fut>(
    spawner: Arc<dyn Spawn>,
    addr: A,
    handler: F,
) -> io::Result<Server>
where
    A: ToSocketAddrs,
    F: Fn(StreamReader, StreamWriter) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind(addr).await?;
    let local_addr = listener.local_addr()?;
    let handler = Arc::new(handler);
    let conn_spawner = spawner.clone();
    let accept_loop = async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let (r, w) = into_streams(stream);
                    // Dropping the handle detaches the task; a refused spawn
                    // (executor shutting down) drops the connection.
                    let _ = conn_spawner.spawn_boxed(Box::pin(handler(r, w)), TaskMeta::here());
                }
                // Errors other than the ones `accept` absorbs are not
                // expected on a listening socket; pause instead of spinning
                // (and stop, if there is no timer to pause with).
                Err(_) => match crate::time::pause(Duration::from_millis(100)) {
                    Some(sleep) => sleep.await,
                    None => return,
                },
            }
        }
    };
    let task = spawner
        .spawn_boxed(Box::pin(accept_loop), TaskMeta::here())
        .map_err(io::Error::other)?;
    Ok(Server {
        local_addr,
        task: Some(task),
    })
}

/// A running server from [`start_server`].
///
/// Dropping it, or [`close`](Server::close), stops accepting connections
/// and closes the listening socket; connections already accepted keep
/// running in their own tasks (as with asyncio's `Server.close()`).
///
/// # Example
///
/// ```
/// eddy::run(async {
///     let server = eddy_net::start_server("127.0.0.1:0", |_r, mut w| async move {
///         w.write(b"hi");
///         let _ = w.close().await;
///     })
///     .await?;
///     let (mut r, _w) = eddy_net::open_connection(server.local_addr()).await?;
///     assert_eq!(r.read_to_end().await?, b"hi");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Server {
    local_addr: SocketAddr,
    task: Option<DynTask>,
}

impl Server {
    /// The address the server listens on.
    ///
    /// # Example
    ///
    /// See [`Server`].
    ///
    /// ```
    /// eddy::run(async {
    ///     let s = eddy_net::start_server(("127.0.0.1", 0), |_r, _w| async {}).await?;
    ///     assert_ne!(s.local_addr().port(), 0);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting and closes the listening socket.
    ///
    /// # Example
    ///
    /// ```
    /// eddy::run(async {
    ///     let s = eddy_net::start_server("127.0.0.1:0", |_r, _w| async {}).await?;
    ///     let addr = s.local_addr();
    ///     s.close();
    ///     eddy::sleep(std::time::Duration::from_millis(10)).await;
    ///     assert!(eddy_net::TcpStream::connect(addr).await.is_err());
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn close(mut self) {
        self.stop();
    }

    /// Serves until the task awaiting this is cancelled (asyncio's
    /// `serve_forever`). Cancelling the wait closes the server.
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// eddy::run(async {
    ///     let s = eddy_net::start_server("127.0.0.1:0", |_r, _w| async {}).await?;
    ///     let served = futures_lite::future::or(
    ///         async { s.serve_forever().await; "stopped" },
    ///         async { eddy::sleep(Duration::from_millis(5)).await; "timed out" },
    ///     )
    ///     .await;
    ///     assert_eq!(served, "timed out");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn serve_forever(self) {
        // The accept loop never ends by itself; dropping `self` (when this
        // future is dropped) cancels it.
        let _server = self;
        std::future::pending::<()>().await;
    }

    fn stop(&mut self) {
        if let Some(mut task) = self.task.take() {
            task.cancel();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

/// The reading side of a connection from [`open_connection`] or
/// [`start_server`], buffered, with asyncio's `StreamReader` methods. Also
/// implements `AsyncRead` and `AsyncBufRead`.
///
/// Every method is cancel safe in the sense that matters for a buffered
/// reader: bytes already read stay in the buffer, except that a cancelled
/// [`readline`](StreamReader::readline), [`readuntil`](StreamReader::readuntil)
/// or [`readexactly`](StreamReader::readexactly) loses the partial line it
/// had collected.
///
/// # Example
///
/// See [`open_connection`].
///
/// ```
/// eddy::run(async {
///     let server = eddy_net::start_server("127.0.0.1:0", |_r, mut w| async move {
///         w.write(b"a\nbc|rest");
///         let _ = w.close().await;
///     })
///     .await?;
///     let (mut r, _w) = eddy_net::open_connection(server.local_addr()).await?;
///     assert_eq!(r.readline().await?, b"a\n");
///     assert_eq!(r.readuntil(b"|").await?, b"bc|");
///     assert_eq!(r.readexactly(2).await?, b"re");
///     assert_eq!(r.read(100).await?, b"st");
///     assert_eq!(r.read(100).await?, b""); // EOF
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct StreamReader {
    inner: BufReader<OwnedReadHalf>,
}

impl StreamReader {
    /// Reads up to `n` bytes (fewer if that is what is available); empty at
    /// EOF.
    ///
    /// # Errors
    ///
    /// The socket read failed (e.g. `ConnectionReset`).
    ///
    /// # Example
    ///
    /// See [`StreamReader`].
    ///
    /// ```
    /// # eddy::run(async {
    /// # let s = eddy_net::start_server("127.0.0.1:0", |_r, mut w| async move { w.write(b"xyz"); let _ = w.close().await; }).await?;
    /// let (mut r, _w) = eddy_net::open_connection(s.local_addr()).await?;
    /// let got = r.read(2).await?;
    /// assert!(!got.is_empty() && got.len() <= 2);
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn read(&mut self, n: usize) -> io::Result<Vec<u8>> {
        let mut out = vec![0; n];
        let got = self.inner.read(&mut out).await?;
        out.truncate(got);
        Ok(out)
    }

    /// Reads everything until EOF (asyncio's `read(-1)`).
    ///
    /// # Errors
    ///
    /// The socket read failed.
    ///
    /// # Example
    ///
    /// See [`Server`].
    ///
    /// ```
    /// # eddy::run(async {
    /// # let s = eddy_net::start_server("127.0.0.1:0", |_r, mut w| async move { w.write(b"all"); let _ = w.close().await; }).await?;
    /// let (mut r, _w) = eddy_net::open_connection(s.local_addr()).await?;
    /// assert_eq!(r.read_to_end().await?, b"all");
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn read_to_end(&mut self) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        self.inner.read_to_end(&mut out).await?;
        Ok(out)
    }

    /// Reads one line, up to and including `\n`; at EOF, whatever was left
    /// (empty if nothing).
    ///
    /// # Errors
    ///
    /// The socket read failed.
    ///
    /// # Example
    ///
    /// See [`StreamReader`].
    ///
    /// ```
    /// # eddy::run(async {
    /// # let s = eddy_net::start_server("127.0.0.1:0", |_r, mut w| async move { w.write(b"l1\nl2"); let _ = w.close().await; }).await?;
    /// let (mut r, _w) = eddy_net::open_connection(s.local_addr()).await?;
    /// assert_eq!(r.readline().await?, b"l1\n");
    /// assert_eq!(r.readline().await?, b"l2");
    /// assert_eq!(r.readline().await?, b"");
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn readline(&mut self) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        self.inner.read_until(b'\n', &mut out).await?;
        Ok(out)
    }

    /// Reads up to and including `separator` (one or more bytes).
    ///
    /// # Errors
    ///
    /// `UnexpectedEof` if the stream ends first (the partial data is
    /// dropped), `InvalidInput` for an empty separator, or the socket read
    /// failed.
    ///
    /// # Example
    ///
    /// See [`StreamReader`].
    ///
    /// ```
    /// # eddy::run(async {
    /// # let s = eddy_net::start_server("127.0.0.1:0", |_r, mut w| async move { w.write(b"k: v\r\n\r\nbody"); let _ = w.close().await; }).await?;
    /// let (mut r, _w) = eddy_net::open_connection(s.local_addr()).await?;
    /// assert_eq!(r.readuntil(b"\r\n\r\n").await?, b"k: v\r\n\r\n");
    /// assert!(r.readuntil(b"\n").await.is_err()); // "body" has no newline
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn readuntil(&mut self, separator: &[u8]) -> io::Result<Vec<u8>> {
        let Some(&last) = separator.last() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "empty separator",
            ));
        };
        let mut out = Vec::new();
        loop {
            let n = self.inner.read_until(last, &mut out).await?;
            if out.ends_with(separator) {
                return Ok(out);
            }
            if n == 0 || !out.ends_with(&[last]) {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "stream ended before the separator",
                ));
            }
        }
    }

    /// Reads exactly `n` bytes.
    ///
    /// # Errors
    ///
    /// `UnexpectedEof` if the stream ends first (asyncio's
    /// `IncompleteReadError`), or the socket read failed.
    ///
    /// # Example
    ///
    /// See [`StreamReader`].
    ///
    /// ```
    /// # eddy::run(async {
    /// # let s = eddy_net::start_server("127.0.0.1:0", |_r, mut w| async move { w.write(b"abc"); let _ = w.close().await; }).await?;
    /// let (mut r, _w) = eddy_net::open_connection(s.local_addr()).await?;
    /// assert_eq!(r.readexactly(2).await?, b"ab");
    /// assert_eq!(r.readexactly(2).await.unwrap_err().kind(), std::io::ErrorKind::UnexpectedEof);
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn readexactly(&mut self, n: usize) -> io::Result<Vec<u8>> {
        let mut out = vec![0; n];
        self.inner.read_exact(&mut out).await?;
        Ok(out)
    }
}

impl AsyncRead for StreamReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncBufRead for StreamReader {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        Pin::new(&mut self.get_mut().inner).poll_fill_buf(cx)
    }

    fn consume(mut self: Pin<&mut Self>, amt: usize) {
        Pin::new(&mut self.inner).consume(amt);
    }
}

impl fmt::Debug for StreamReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamReader")
            .field("stream", self.inner.get_ref())
            .finish_non_exhaustive()
    }
}

/// The writing side of a connection from [`open_connection`] or
/// [`start_server`], with asyncio's `StreamWriter` methods:
/// [`write`](StreamWriter::write) buffers, [`drain`](StreamWriter::drain)
/// sends the buffer.
///
/// Dropping it shuts down the write direction (buffered data not drained
/// is discarded).
///
/// # Example
///
/// See [`open_connection`].
///
/// ```
/// eddy::run(async {
///     let s = eddy_net::start_server("127.0.0.1:0", |mut r, _w| async move {
///         assert_eq!(r.read_to_end().await.unwrap(), b"one two");
///     })
///     .await?;
///     let (_r, mut w) = eddy_net::open_connection(s.local_addr()).await?;
///     w.write(b"one ");
///     w.write(b"two");
///     w.write_eof().await?; // drains, then EOF
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct StreamWriter {
    inner: OwnedWriteHalf,
    buf: Vec<u8>,
}

impl StreamWriter {
    /// Appends `data` to the send buffer; nothing is sent until
    /// [`drain`](StreamWriter::drain).
    ///
    /// # Example
    ///
    /// See [`StreamWriter`].
    ///
    /// ```
    /// # eddy::run(async {
    /// # let s = eddy_net::start_server("127.0.0.1:0", |_r, _w| async {}).await?;
    /// let (_r, mut w) = eddy_net::open_connection(s.local_addr()).await?;
    /// w.write(b"queued");
    /// w.drain().await?;
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn write(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Sends everything buffered, waiting while the socket is full.
    ///
    /// Cancel safety: if cancelled, the part already sent is removed from
    /// the buffer and the rest stays for the next `drain`.
    ///
    /// # Errors
    ///
    /// The socket write failed (e.g. `BrokenPipe`, `ConnectionReset`).
    ///
    /// # Example
    ///
    /// See [`write`](StreamWriter::write).
    ///
    /// ```
    /// # eddy::run(async {
    /// # let s = eddy_net::start_server("127.0.0.1:0", |_r, _w| async {}).await?;
    /// let (_r, mut w) = eddy_net::open_connection(s.local_addr()).await?;
    /// w.drain().await?; // nothing to send: returns at once
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn drain(&mut self) -> io::Result<()> {
        while !self.buf.is_empty() {
            let n = self.inner.write(&self.buf).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            self.buf.drain(..n);
        }
        Ok(())
    }

    /// Drains, then shuts down the write direction: the peer reads EOF,
    /// and this connection can still be read.
    ///
    /// # Errors
    ///
    /// As [`drain`](StreamWriter::drain), or `shutdown(2)` failed.
    ///
    /// # Example
    ///
    /// See [`StreamWriter`].
    ///
    /// ```
    /// # eddy::run(async {
    /// # let s = eddy_net::start_server("127.0.0.1:0", |_r, _w| async {}).await?;
    /// let (_r, mut w) = eddy_net::open_connection(s.local_addr()).await?;
    /// w.write_eof().await?;
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn write_eof(&mut self) -> io::Result<()> {
        self.drain().await?;
        self.inner.close().await
    }

    /// Drains, then closes the connection in both directions (asyncio's
    /// `close()` followed by `wait_closed()`).
    ///
    /// # Errors
    ///
    /// As [`drain`](StreamWriter::drain); the connection is shut down
    /// either way.
    ///
    /// # Example
    ///
    /// See [`Server`].
    ///
    /// ```
    /// # eddy::run(async {
    /// # let s = eddy_net::start_server("127.0.0.1:0", |_r, _w| async {}).await?;
    /// let (_r, mut w) = eddy_net::open_connection(s.local_addr()).await?;
    /// w.write(b"last words");
    /// w.close().await?;
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn close(mut self) -> io::Result<()> {
        let drained = self.drain().await;
        match self.inner.inner.get_ref().shutdown(Shutdown::Both) {
            Err(e) if e.kind() != io::ErrorKind::NotConnected && drained.is_ok() => Err(e),
            _ => drained,
        }
    }

    /// The peer's address (asyncio's `get_extra_info("peername")`).
    ///
    /// # Errors
    ///
    /// `getpeername(2)` failed.
    ///
    /// # Example
    ///
    /// ```
    /// # eddy::run(async {
    /// # let s = eddy_net::start_server("127.0.0.1:0", |_r, _w| async {}).await?;
    /// let (_r, w) = eddy_net::open_connection(s.local_addr()).await?;
    /// assert_eq!(w.peer_addr()?, s.local_addr());
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.inner.get_ref().peer_addr()
    }

    /// The bytes buffered and not yet drained.
    ///
    /// # Example
    ///
    /// ```
    /// # eddy::run(async {
    /// # let s = eddy_net::start_server("127.0.0.1:0", |_r, _w| async {}).await?;
    /// let (_r, mut w) = eddy_net::open_connection(s.local_addr()).await?;
    /// w.write(b"abc");
    /// assert_eq!(w.buffered(), 3);
    /// w.drain().await?;
    /// assert_eq!(w.buffered(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }
}

impl fmt::Debug for StreamWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamWriter")
            .field("stream", &self.inner)
            .field("buffered", &self.buf.len())
            .finish()
    }
}
