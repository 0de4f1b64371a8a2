//! Counting semaphores: [`Semaphore`] and [`BoundedSemaphore`].
//!
//! `raw` holds the engine shared with the locks; this file the unbounded
//! semaphore and its futures, `permit` its guards, `bounded` the
//! `BoundedSemaphore` family.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

mod bounded;
mod permit;
mod raw;
#[cfg(test)]
mod tests;

pub use bounded::{
    BoundExceeded, BoundedAcquire, BoundedAcquireOwned, BoundedSemaphore, BoundedSemaphorePermit,
    OwnedBoundedSemaphorePermit,
};
pub use permit::{OwnedSemaphorePermit, SemaphorePermit};
pub(crate) use raw::{AcquireState, RawSemaphore};

/// The semaphore was closed while (or before) acquiring.
///
/// ```
/// let sem = eddy_sync::Semaphore::new(0);
/// sem.close();
/// let err = futures_lite::future::block_on(sem.acquire()).unwrap_err();
/// assert_eq!(err.to_string(), "semaphore closed");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcquireError(());

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore closed")
    }
}

impl std::error::Error for AcquireError {}

/// Why a `try_acquire` failed.
///
/// ```
/// use eddy_sync::{Semaphore, TryAcquireError};
/// let sem = Semaphore::new(0);
/// assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
/// sem.close();
/// assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::Closed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryAcquireError {
    /// The semaphore is closed.
    Closed,
    /// Not enough free permits right now (or others are queued first).
    NoPermits,
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::Closed => f.write_str("semaphore closed"),
            TryAcquireError::NoPermits => f.write_str("no permits available"),
        }
    }
}

impl std::error::Error for TryAcquireError {}

/// A counting semaphore (asyncio's `Semaphore`), with waiters served first-in
/// first-out.
///
/// [`acquire`](Self::acquire) returns an RAII [`SemaphorePermit`] that gives
/// its permits back when dropped. A waiter asking for many permits blocks
/// those behind it until it is served, so large requests cannot starve.
///
/// # Example
///
/// ```
/// use eddy_sync::Semaphore;
/// futures_lite::future::block_on(async {
///     let sem = Semaphore::new(2);
///     let a = sem.acquire().await.unwrap();
///     let _b = sem.acquire().await.unwrap();
///     assert!(sem.try_acquire().is_err());
///     drop(a);
///     assert_eq!(sem.available_permits(), 1);
/// });
/// ```
pub struct Semaphore {
    raw: RawSemaphore,
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("available_permits", &self.available_permits())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Semaphore {
    /// The largest number of permits a semaphore can hold
    /// (`usize::MAX >> 3`, as in tokio).
    ///
    /// ```
    /// assert!(eddy_sync::Semaphore::MAX_PERMITS >= u32::MAX as usize);
    /// ```
    pub const MAX_PERMITS: usize = usize::MAX >> 3;

    /// Creates a semaphore with `permits` free permits.
    ///
    /// # Panics
    ///
    /// If `permits > Semaphore::MAX_PERMITS`.
    ///
    /// ```
    /// static LIMIT: eddy_sync::Semaphore = eddy_sync::Semaphore::new(8);
    /// assert_eq!(LIMIT.available_permits(), 8);
    /// ```
    pub const fn new(permits: usize) -> Self {
        Semaphore {
            raw: RawSemaphore::new(permits),
        }
    }

    /// Free permits right now.
    ///
    /// ```
    /// assert_eq!(eddy_sync::Semaphore::new(3).available_permits(), 3);
    /// ```
    pub fn available_permits(&self) -> usize {
        self.raw.available()
    }

    /// Adds `n` permits, serving queued waiters first.
    ///
    /// # Panics
    ///
    /// If the free count would exceed [`Semaphore::MAX_PERMITS`].
    ///
    /// ```
    /// let sem = eddy_sync::Semaphore::new(0);
    /// sem.add_permits(2);
    /// assert_eq!(sem.available_permits(), 2);
    /// ```
    pub fn add_permits(&self, n: usize) {
        self.raw.release(n);
    }

    /// Waits for one permit.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, and fair: the waiter keeps its place in the FIFO until it
    /// is served or dropped. If the future is dropped after permits were
    /// assigned to it but before it observed them, they are given to the
    /// next waiter (nothing is lost).
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if the semaphore is closed.
    ///
    /// ```
    /// futures_lite::future::block_on(async {
    ///     let sem = eddy_sync::Semaphore::new(1);
    ///     let permit = sem.acquire().await.unwrap();
    ///     assert_eq!(permit.num_permits(), 1);
    /// });
    /// ```
    pub fn acquire(&self) -> Acquire<'_> {
        self.acquire_many(1)
    }

    /// Waits for `n` permits at once. Same cancel safety as
    /// [`acquire`](Self::acquire); `n == 0` completes at once.
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if the semaphore is closed.
    ///
    /// ```
    /// futures_lite::future::block_on(async {
    ///     let sem = eddy_sync::Semaphore::new(5);
    ///     let p = sem.acquire_many(3).await.unwrap();
    ///     assert_eq!(sem.available_permits(), 2);
    ///     drop(p);
    ///     assert_eq!(sem.available_permits(), 5);
    /// });
    /// ```
    pub fn acquire_many(&self, n: u32) -> Acquire<'_> {
        Acquire {
            sem: self,
            st: AcquireState::new(n as usize),
        }
    }

    /// Takes one permit without waiting.
    ///
    /// # Errors
    ///
    /// [`TryAcquireError::NoPermits`] if none is free or others are queued;
    /// [`TryAcquireError::Closed`] if closed.
    ///
    /// ```
    /// let sem = eddy_sync::Semaphore::new(1);
    /// let p = sem.try_acquire().unwrap();
    /// assert!(sem.try_acquire().is_err());
    /// drop(p);
    /// ```
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits without waiting.
    ///
    /// # Errors
    ///
    /// As [`try_acquire`](Self::try_acquire).
    ///
    /// ```
    /// let sem = eddy_sync::Semaphore::new(2);
    /// assert!(sem.try_acquire_many(3).is_err());
    /// assert_eq!(sem.try_acquire_many(2).unwrap().num_permits(), 2);
    /// ```
    pub fn try_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.raw.try_acquire(n as usize)?;
        Ok(SemaphorePermit {
            sem: self,
            n: n as usize,
        })
    }

    /// Waits for one permit, returning a permit that owns an `Arc` of the
    /// semaphore (so it can move into a spawned task). Cancel safety as
    /// [`acquire`](Self::acquire).
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if the semaphore is closed.
    ///
    /// ```
    /// use std::sync::Arc;
    /// futures_lite::future::block_on(async {
    ///     let sem = Arc::new(eddy_sync::Semaphore::new(1));
    ///     let permit = sem.clone().acquire_owned().await.unwrap();
    ///     std::thread::spawn(move || drop(permit)).join().unwrap();
    ///     assert_eq!(sem.available_permits(), 1);
    /// });
    /// ```
    pub fn acquire_owned(self: Arc<Self>) -> AcquireOwned {
        self.acquire_many_owned(1)
    }

    /// Owned flavour of [`acquire_many`](Self::acquire_many).
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if the semaphore is closed.
    ///
    /// ```
    /// use std::sync::Arc;
    /// futures_lite::future::block_on(async {
    ///     let sem = Arc::new(eddy_sync::Semaphore::new(4));
    ///     let p = sem.clone().acquire_many_owned(4).await.unwrap();
    ///     assert_eq!(p.num_permits(), 4);
    /// });
    /// ```
    pub fn acquire_many_owned(self: Arc<Self>, n: u32) -> AcquireOwned {
        AcquireOwned {
            sem: Some(self),
            st: AcquireState::new(n as usize),
        }
    }

    /// Owned flavour of [`try_acquire`](Self::try_acquire).
    ///
    /// # Errors
    ///
    /// As [`try_acquire`](Self::try_acquire).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(eddy_sync::Semaphore::new(1));
    /// let p = sem.clone().try_acquire_owned().unwrap();
    /// assert!(sem.clone().try_acquire_owned().is_err());
    /// drop(p);
    /// ```
    pub fn try_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.raw.try_acquire(1)?;
        Ok(OwnedSemaphorePermit { sem: self, n: 1 })
    }

    /// Closes the semaphore: queued and future acquires fail with
    /// [`AcquireError`]. Permits already held stay valid, and dropping them
    /// still returns them.
    ///
    /// ```
    /// let sem = eddy_sync::Semaphore::new(1);
    /// sem.close();
    /// assert!(sem.is_closed());
    /// assert!(sem.try_acquire().is_err());
    /// ```
    pub fn close(&self) {
        self.raw.close();
    }

    /// Whether [`close`](Self::close) was called.
    ///
    /// ```
    /// assert!(!eddy_sync::Semaphore::new(1).is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.raw.is_closed()
    }

    /// Whether [`acquire`](Self::acquire) would have to wait rather than
    /// return a permit at once (asyncio's `locked()`): no permit is free,
    /// or other tasks are already queued (they are served first, so even a
    /// free permit is theirs), or the semaphore is closed.
    ///
    /// A snapshot: another thread may change it right after.
    ///
    /// ```
    /// use std::task::{Context, Waker};
    /// let sem = eddy_sync::Semaphore::new(1);
    /// assert!(!sem.locked());
    /// let held = sem.try_acquire().unwrap();
    /// assert!(sem.locked());
    /// drop(held);
    /// // One permit free, but a waiter for two is queued ahead.
    /// let mut big = Box::pin(sem.acquire_many(2));
    /// assert!(big.as_mut().poll(&mut Context::from_waker(Waker::noop())).is_pending());
    /// assert_eq!(sem.available_permits(), 1);
    /// assert!(sem.locked());
    /// ```
    pub fn locked(&self) -> bool {
        self.raw.locked()
    }

    /// How many tasks are queued in an acquire, waiting for permits.
    ///
    /// A waiter counts from its first poll that had to wait until it is
    /// served (permits assigned), dropped, or the semaphore is closed.
    ///
    /// ```
    /// use std::task::{Context, Waker};
    /// let sem = eddy_sync::Semaphore::new(0);
    /// let mut a = Box::pin(sem.acquire());
    /// assert!(a.as_mut().poll(&mut Context::from_waker(Waker::noop())).is_pending());
    /// assert_eq!(sem.waiters(), 1);
    /// sem.add_permits(1); // served: no longer waiting
    /// assert_eq!(sem.waiters(), 0);
    /// ```
    pub fn waiters(&self) -> usize {
        self.raw.waiters()
    }
}

/// Future returned by [`Semaphore::acquire`] and
/// [`Semaphore::acquire_many`].
///
/// Dropping it gives up its place in the queue (and passes on any permits
/// already assigned to it).
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Acquire<'a> {
    sem: &'a Semaphore,
    st: AcquireState,
}

impl<'a> Future for Acquire<'a> {
    type Output = Result<SemaphorePermit<'a>, AcquireError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let sem = this.sem;
        sem.raw
            .poll_acquire(&mut this.st, cx)
            .map(|r| r.map(|()| SemaphorePermit { sem, n: this.st.n }))
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        self.sem.raw.drop_acquire(&mut self.st);
    }
}

/// Future returned by [`Semaphore::acquire_owned`]; cancel safe like
/// [`Acquire`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct AcquireOwned {
    sem: Option<Arc<Semaphore>>,
    st: AcquireState,
}

impl Future for AcquireOwned {
    type Output = Result<OwnedSemaphorePermit, AcquireError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let sem = this
            .sem
            .as_ref()
            .expect("AcquireOwned polled after completion");
        match sem.raw.poll_acquire(&mut this.st, cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Ready(Ok(())) => {
                let sem = this.sem.take().expect("checked above");
                Poll::Ready(Ok(OwnedSemaphorePermit { sem, n: this.st.n }))
            }
        }
    }
}

impl Drop for AcquireOwned {
    fn drop(&mut self) {
        if let Some(sem) = &self.sem {
            sem.raw.drop_acquire(&mut self.st);
        }
    }
}
