//! Readiness guards: tokio's `AsyncFd` protocol for custom I/O types.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::fd::AsFd;

use crate::async_io::Async;
use crate::source::Direction;

/// Proof that a source was reported ready, from
/// [`Async::read_ready`] or [`Async::write_ready`].
///
/// Readiness is a hint: the operation may still report `WouldBlock`. Run it
/// through [`try_io`](ReadyGuard::try_io), which clears the readiness the
/// guard stands for when, and only when, the operation says `WouldBlock`.
/// The next `read_ready().await` then waits for the reactor instead of
/// returning at once, so a loop over the guard cannot spin. An event that
/// arrives while the operation runs is not lost: the clear only applies to
/// the readiness sampled when the guard was made.
///
/// Dropping the guard keeps the readiness (tokio's `retain_ready`): nothing
/// proved it stale.
///
/// ```
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
/// use eddy_reactor::{Async, Reactor};
/// use futures_lite::future::block_on;
///
/// /// Reads once from a custom type, the way a hand-written
/// /// `AsyncRead` impl would.
/// async fn read_some(io: &Async<UnixStream>, buf: &mut [u8]) -> std::io::Result<usize> {
///     loop {
///         let guard = io.read_ready().await?;
///         match guard.try_io(|s| (&*s).read(buf)) {
///             Ok(result) => return result,
///             Err(_would_block) => continue, // readiness cleared: the next wait parks
///         }
///     }
/// }
///
/// let reactor = Reactor::new()?;
/// let (a, mut b) = UnixStream::pair()?;
/// let a = Async::with_handle(a, &reactor.handle())?;
/// b.write_all(b"hey")?;
/// let mut buf = [0; 8];
/// let n = block_on(read_some(&a, &mut buf))?;
/// assert_eq!(&buf[..n], b"hey");
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "a readiness guard does nothing unless an operation runs through it"]
pub struct ReadyGuard<'a, T: AsFd> {
    io: &'a Async<T>,
    dir: Direction,
    tick: u64,
}

/// The operation run by [`ReadyGuard::try_io`] reported `WouldBlock`: the
/// readiness has been cleared; wait for it again.
///
/// ```
/// let e = eddy_reactor::TryIoError::default();
/// assert!(e.to_string().contains("would block"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TryIoError(());

impl fmt::Display for TryIoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the operation would block; readiness cleared")
    }
}

impl std::error::Error for TryIoError {}

impl<'a, T: AsFd> ReadyGuard<'a, T> {
    /// Runs the non-blocking operation `op` on the inner I/O object.
    ///
    /// # Errors
    ///
    /// `Err(TryIoError)` when `op` reported `WouldBlock`: readiness is
    /// cleared and the guard is used up; await readiness again. Any other
    /// result of `op`, error or not, comes back in `Ok` and leaves readiness
    /// as it was.
    ///
    /// ```
    /// use std::io::Read;
    /// use std::os::unix::net::UnixStream;
    /// use eddy_reactor::{Async, Reactor};
    /// use futures_lite::future::{block_on, poll_once};
    ///
    /// let reactor = Reactor::new()?;
    /// let (a, _b) = UnixStream::pair()?;
    /// let a = Async::with_handle(a, &reactor.handle())?;
    /// // A new source is assumed ready; the read proves otherwise.
    /// let guard = block_on(a.read_ready())?;
    /// assert!(guard.try_io(|s| (&*s).read(&mut [0; 4])).is_err());
    /// // Now the wait parks instead of returning at once.
    /// assert!(block_on(poll_once(a.read_ready())).is_none());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_io<R>(
        self,
        op: impl FnOnce(&'a T) -> io::Result<R>,
    ) -> Result<io::Result<R>, TryIoError> {
        match op(self.io.get_ref()) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.io.source.clear(self.dir, self.tick);
                Err(TryIoError(()))
            }
            res => Ok(res),
        }
    }

    /// Clears the readiness this guard stands for, for an operation run
    /// outside [`try_io`](ReadyGuard::try_io) that reported `WouldBlock`.
    ///
    /// ```
    /// use std::os::unix::net::UnixStream;
    /// use eddy_reactor::{Async, Reactor};
    /// use futures_lite::future::{block_on, poll_once};
    ///
    /// let reactor = Reactor::new()?;
    /// let (a, _b) = UnixStream::pair()?;
    /// let a = Async::with_handle(a, &reactor.handle())?;
    /// block_on(a.read_ready())?.clear_ready();
    /// assert!(block_on(poll_once(a.read_ready())).is_none());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn clear_ready(self) {
        self.io.source.clear(self.dir, self.tick);
    }

    /// The inner I/O object.
    ///
    /// ```
    /// use std::os::unix::net::UnixStream;
    /// use eddy_reactor::{Async, Reactor};
    /// use futures_lite::future::block_on;
    ///
    /// let reactor = Reactor::new()?;
    /// let (a, _b) = UnixStream::pair()?;
    /// let a = Async::with_handle(a, &reactor.handle())?;
    /// let guard = block_on(a.write_ready())?;
    /// assert!(guard.get_ref().peer_addr().is_ok());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn get_ref(&self) -> &'a T {
        self.io.get_ref()
    }
}

impl<T: AsFd> fmt::Debug for ReadyGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadyGuard")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl<T: AsFd> Async<T> {
    /// Waits until the source may be readable and returns a guard that runs
    /// an operation and clears readiness only on `WouldBlock` (tokio's
    /// `AsyncFd::readable`). The safe way to build a custom I/O type's read
    /// side on `Async`; see [`ReadyGuard`].
    ///
    /// Cancel safe: dropping the future loses nothing.
    ///
    /// # Errors
    ///
    /// [`ReactorError::Shutdown`](crate::ReactorError::Shutdown) if the
    /// reactor was dropped.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::os::unix::net::UnixStream;
    /// use eddy_reactor::{Async, Reactor};
    /// use futures_lite::future::block_on;
    ///
    /// let reactor = Reactor::new()?;
    /// let (a, mut b) = UnixStream::pair()?;
    /// let a = Async::with_handle(a, &reactor.handle())?;
    /// b.write_all(b"x")?;
    /// let mut buf = [0; 1];
    /// let n = block_on(a.read_ready())?.try_io(|s| (&*s).read(&mut buf)).unwrap()?;
    /// assert_eq!(n, 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn read_ready(&self) -> io::Result<ReadyGuard<'_, T>> {
        self.ready(Direction::Read).await
    }

    /// Waits until the source may be writable; the write side of
    /// [`read_ready`](Async::read_ready).
    ///
    /// # Errors
    ///
    /// [`ReactorError::Shutdown`](crate::ReactorError::Shutdown) if the
    /// reactor was dropped.
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
    /// let n = block_on(a.write_ready())?.try_io(|s| (&*s).write(b"hi")).unwrap()?;
    /// assert_eq!(n, 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn write_ready(&self) -> io::Result<ReadyGuard<'_, T>> {
        self.ready(Direction::Write).await
    }

    async fn ready(&self, dir: Direction) -> io::Result<ReadyGuard<'_, T>> {
        let tick = poll_fn(|cx| self.poll_ready(dir, cx)).await?;
        Ok(ReadyGuard {
            io: self,
            dir,
            tick,
        })
    }
}
