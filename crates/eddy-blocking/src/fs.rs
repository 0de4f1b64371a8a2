//! Async file helpers on the blocking thread pool: asyncio's missing
//! `aiofiles`.
//!
//! Regular files are always "ready" to the OS, so readiness-based I/O
//! cannot make them asynchronous; like tokio and smol, each operation runs
//! on the [`ThreadPool`](crate::ThreadPool) (the [entered](crate::ThreadPool::enter)
//! one, else the global one) and the task awaits it.
//!
//! ```
//! use eddy_blocking::fs;
//!
//! let dir = std::env::temp_dir().join(format!("eddy-fs-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("hello.txt");
//! futures_lite::future::block_on(async {
//!     fs::write(&path, "hello, eddy").await?;
//!     assert_eq!(fs::read_to_string(&path).await?, "hello, eddy");
//!     assert_eq!(fs::metadata(&path).await?.len(), 11);
//!     std::io::Result::Ok(())
//! })
//! .unwrap();
//! std::fs::remove_dir_all(&dir).unwrap();
//! ```

use std::fmt;
use std::future::Future;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_lite::{AsyncRead, AsyncWrite};

use crate::{BlockingError, Unblock, unblock};

/// Size of one read or write chunk handed to the pool.
const CHUNK: usize = 64 * 1024;

impl From<BlockingError> for io::Error {
    fn from(e: BlockingError) -> io::Error {
        io::Error::other(e.to_string())
    }
}

async fn run<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    unblock(f).await?
}

/// Reads a whole file (`std::fs::read` on the pool).
///
/// # Errors
///
/// The I/O error, or an `Other` error if the pool shut down.
///
/// ```
/// let bytes = futures_lite::future::block_on(eddy_blocking::fs::read("/proc/self/stat")).unwrap();
/// assert!(!bytes.is_empty());
/// ```
pub fn read(path: impl AsRef<Path>) -> impl Future<Output = io::Result<Vec<u8>>> + Send + 'static {
    let path = path.as_ref().to_owned();
    run(move || std::fs::read(path))
}

/// Reads a whole file as UTF-8 (`std::fs::read_to_string` on the pool).
///
/// # Errors
///
/// The I/O error (`InvalidData` for bad UTF-8), or `Other` if the pool shut
/// down.
///
/// ```
/// let s = futures_lite::future::block_on(eddy_blocking::fs::read_to_string("/proc/self/status")).unwrap();
/// assert!(s.contains("Pid"));
/// ```
pub fn read_to_string(
    path: impl AsRef<Path>,
) -> impl Future<Output = io::Result<String>> + Send + 'static {
    let path = path.as_ref().to_owned();
    run(move || std::fs::read_to_string(path))
}

/// Writes a whole file, creating or truncating it (`std::fs::write` on the
/// pool).
///
/// # Errors
///
/// The I/O error, or `Other` if the pool shut down.
///
/// ```
/// let p = std::env::temp_dir().join(format!("eddy-write-doc-{}", std::process::id()));
/// futures_lite::future::block_on(eddy_blocking::fs::write(&p, b"abc")).unwrap();
/// assert_eq!(std::fs::read(&p).unwrap(), b"abc");
/// std::fs::remove_file(&p).unwrap();
/// ```
pub fn write(
    path: impl AsRef<Path>,
    contents: impl AsRef<[u8]>,
) -> impl Future<Output = io::Result<()>> + Send + 'static {
    let path = path.as_ref().to_owned();
    let contents = contents.as_ref().to_owned();
    run(move || std::fs::write(path, contents))
}

/// Reads a path's metadata, following symlinks (`std::fs::metadata` on the
/// pool).
///
/// # Errors
///
/// The I/O error (for example `NotFound`), or `Other` if the pool shut down.
///
/// ```
/// let m = futures_lite::future::block_on(eddy_blocking::fs::metadata("/proc")).unwrap();
/// assert!(m.is_dir());
/// ```
pub fn metadata(
    path: impl AsRef<Path>,
) -> impl Future<Output = io::Result<std::fs::Metadata>> + Send + 'static {
    let path = path.as_ref().to_owned();
    run(move || std::fs::metadata(path))
}

/// The blocking side of a [`File`]: the file and its chunk buffer.
struct Inner {
    file: std::fs::File,
    buf: Vec<u8>,
    /// Read-ahead: `buf[pos..]` has been read from the file but not returned.
    pos: usize,
    /// The error of the last background read or write-behind, reported by
    /// the next call.
    last_write: io::Result<()>,
}

enum State {
    Idle(Option<Box<Inner>>),
    Busy(Unblock<Box<Inner>>),
}

/// An open file with async reads and writes (`futures_lite::AsyncRead` /
/// `AsyncWrite`), each chunk running on the blocking pool.
///
/// Writes are write-behind, as in tokio: `poll_write` hands a copy of the
/// data to the pool and returns at once; an error surfaces on the next
/// call, and [`flush`](futures_lite::AsyncWriteExt::flush) waits for the
/// writes to land.
///
/// # Cancellation and drop
///
/// A pending read or write keeps running if its future is dropped; the
/// next operation on the file waits for it. Dropping the file lets an
/// in-flight write finish (it is never cancelled), but its error is lost:
/// flush before dropping.
///
/// ```
/// use futures_lite::{AsyncReadExt, AsyncWriteExt};
/// use eddy_blocking::fs::File;
///
/// let p = std::env::temp_dir().join(format!("eddy-file-doc-{}", std::process::id()));
/// futures_lite::future::block_on(async {
///     let mut f = File::create(&p).await?;
///     f.write_all(b"line one\n").await?;
///     f.flush().await?;
///     let mut s = String::new();
///     File::open(&p).await?.read_to_string(&mut s).await?;
///     assert_eq!(s, "line one\n");
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// std::fs::remove_file(&p).unwrap();
/// ```
pub struct File {
    state: State,
}

impl File {
    /// Opens a file for reading.
    ///
    /// # Errors
    ///
    /// The I/O error, or `Other` if the pool shut down.
    ///
    /// ```
    /// let f = futures_lite::future::block_on(eddy_blocking::fs::File::open("/proc/self/stat"));
    /// assert!(f.is_ok());
    /// ```
    pub fn open(path: impl AsRef<Path>) -> impl Future<Output = io::Result<File>> + Send + 'static {
        let path = path.as_ref().to_owned();
        let f = run(move || std::fs::File::open(path));
        async move { Ok(File::from_std(f.await?)) }
    }

    /// Creates (or truncates) a file for writing.
    ///
    /// # Errors
    ///
    /// The I/O error, or `Other` if the pool shut down.
    ///
    /// ```
    /// let p = std::env::temp_dir().join(format!("eddy-create-doc-{}", std::process::id()));
    /// let f = futures_lite::future::block_on(eddy_blocking::fs::File::create(&p));
    /// assert!(f.is_ok());
    /// std::fs::remove_file(&p).unwrap();
    /// ```
    pub fn create(
        path: impl AsRef<Path>,
    ) -> impl Future<Output = io::Result<File>> + Send + 'static {
        let path = path.as_ref().to_owned();
        let f = run(move || std::fs::File::create(path));
        async move { Ok(File::from_std(f.await?)) }
    }

    /// Wraps an open standard-library file.
    ///
    /// ```
    /// let std_file = std::fs::File::open("/proc/self/stat").unwrap();
    /// let _f = eddy_blocking::fs::File::from_std(std_file);
    /// ```
    pub fn from_std(file: std::fs::File) -> File {
        File {
            state: State::Idle(Some(Box::new(Inner {
                file,
                buf: Vec::new(),
                pos: 0,
                last_write: Ok(()),
            }))),
        }
    }

    /// Flushes pending writes and syncs data and metadata to disk
    /// (`std::fs::File::sync_all`).
    ///
    /// # Errors
    ///
    /// A pending write's error or the sync's.
    ///
    /// ```
    /// use futures_lite::AsyncWriteExt;
    /// let p = std::env::temp_dir().join(format!("eddy-sync-doc-{}", std::process::id()));
    /// futures_lite::future::block_on(async {
    ///     let mut f = eddy_blocking::fs::File::create(&p).await?;
    ///     f.write_all(b"x").await?;
    ///     f.sync_all().await
    /// })
    /// .unwrap();
    /// std::fs::remove_file(&p).unwrap();
    /// ```
    pub async fn sync_all(&mut self) -> io::Result<()> {
        let mut inner = futures_lite::future::poll_fn(|cx| self.poll_idle(cx)).await?;
        let done = unblock(move || {
            let r = inner.file.sync_all();
            inner.last_write = r;
            inner
        });
        self.state = State::Busy(done);
        let mut inner = futures_lite::future::poll_fn(|cx| self.poll_idle(cx)).await?;
        let r = std::mem::replace(&mut inner.last_write, Ok(()));
        self.state = State::Idle(Some(inner));
        r
    }

    /// Waits until no operation is in flight and takes the inner state.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Box<Inner>>> {
        loop {
            match &mut self.state {
                State::Idle(inner) => {
                    return Poll::Ready(
                        inner
                            .take()
                            .ok_or_else(|| io::Error::other("file lost by a panic")),
                    );
                }
                State::Busy(op) => {
                    let r = ready!(Pin::new(op).poll(cx));
                    match r {
                        Ok(inner) => self.state = State::Idle(Some(inner)),
                        Err(e) => {
                            self.state = State::Idle(None);
                            return Poll::Ready(Err(e.into()));
                        }
                    }
                }
            }
        }
    }
}

impl AsyncRead for File {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let mut inner = ready!(this.poll_idle(cx))?;
        if let Err(e) = std::mem::replace(&mut inner.last_write, Ok(())) {
            this.state = State::Idle(Some(inner));
            return Poll::Ready(Err(e));
        }
        if inner.pos < inner.buf.len() {
            let n = out.len().min(inner.buf.len() - inner.pos);
            out[..n].copy_from_slice(&inner.buf[inner.pos..inner.pos + n]);
            inner.pos += n;
            this.state = State::Idle(Some(inner));
            return Poll::Ready(Ok(n));
        }
        if inner.pos == usize::MAX {
            // The chunk just read was empty: end of file.
            inner.pos = 0;
            this.state = State::Idle(Some(inner));
            return Poll::Ready(Ok(0));
        }
        let want = out.len().min(CHUNK);
        let op = unblock(move || {
            inner.buf.resize(want, 0);
            match inner.file.read(&mut inner.buf) {
                Ok(n) => {
                    inner.buf.truncate(n);
                    inner.pos = if n == 0 { usize::MAX } else { 0 };
                }
                Err(e) => {
                    inner.buf.clear();
                    inner.pos = 0;
                    inner.last_write = Err(e);
                }
            }
            inner
        });
        this.state = State::Busy(op);
        // Poll again: the chunk may already be there, or we register.
        self.poll_read(cx, out)
    }
}

impl AsyncWrite for File {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let mut inner = ready!(this.poll_idle(cx))?;
        if let Err(e) = std::mem::replace(&mut inner.last_write, Ok(())) {
            this.state = State::Idle(Some(inner));
            return Poll::Ready(Err(e));
        }
        // Unread read-ahead means the OS position is ahead of ours.
        let rewind = if inner.pos == usize::MAX {
            0
        } else {
            inner.buf.len() - inner.pos
        };
        let n = data.len().min(CHUNK);
        inner.buf.clear();
        inner.buf.extend_from_slice(&data[..n]);
        inner.pos = inner.buf.len();
        let mut op = unblock(move || {
            let mut r = Ok(());
            if rewind > 0 {
                r = inner
                    .file
                    .seek(SeekFrom::Current(-(rewind as i64)))
                    .map(drop);
            }
            if r.is_ok() {
                r = inner.file.write_all(&inner.buf);
            }
            inner.buf.clear();
            inner.pos = 0;
            inner.last_write = r;
            inner
        });
        // Write-behind: if the job completes now, fine; otherwise it runs on
        // and the next call waits for it.
        if let Poll::Ready(r) = Pin::new(&mut op).poll(cx) {
            match r {
                Ok(mut inner) => {
                    let res = std::mem::replace(&mut inner.last_write, Ok(()));
                    this.state = State::Idle(Some(inner));
                    return Poll::Ready(res.map(|()| n));
                }
                Err(e) => {
                    this.state = State::Idle(None);
                    return Poll::Ready(Err(e.into()));
                }
            }
        }
        this.state = State::Busy(op);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let mut inner = ready!(this.poll_idle(cx))?;
        let r = std::mem::replace(&mut inner.last_write, Ok(()));
        this.state = State::Idle(Some(inner));
        Poll::Ready(r)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

impl Drop for File {
    fn drop(&mut self) {
        if let State::Busy(op) = std::mem::replace(&mut self.state, State::Idle(None)) {
            // Never cancel a write-behind: let it land.
            op.detach();
        }
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File")
            .field("busy", &matches!(self.state, State::Busy(_)))
            .finish()
    }
}
