//! [`BoundedSemaphore`]: a semaphore whose count never exceeds its initial
//! value.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use super::{Acquire, AcquireError, AcquireState, Semaphore, TryAcquireError};

/// Releasing would push a [`BoundedSemaphore`] above its initial count
/// (asyncio raises `ValueError` here): more permits were released by hand
/// than were taken and [`forget`](BoundedSemaphorePermit::forget)-ed.
///
/// ```
/// let sem = eddy_sync::BoundedSemaphore::new(1);
/// let err = sem.release(1).unwrap_err();
/// assert_eq!((err.bound, err.forgotten, err.released), (1, 0, 1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoundExceeded {
    /// The semaphore's initial (maximum) count.
    pub bound: usize,
    /// Permits taken and forgotten, which a release may hand back.
    pub forgotten: usize,
    /// Permits the release tried to add.
    pub released: usize,
}

impl fmt::Display for BoundExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "BoundedSemaphore released too many times: releasing {} with only {} forgotten \
             would exceed the bound {}",
            self.released, self.forgotten, self.bound
        )
    }
}

impl std::error::Error for BoundExceeded {}

/// A semaphore whose count can never exceed its initial value (asyncio's
/// `BoundedSemaphore`).
///
/// Permits are RAII ([`BoundedSemaphorePermit`]) and cannot over-release on
/// their own. The bound guards the manual path: a permit
/// [`forget`](BoundedSemaphorePermit::forget)-ed (asyncio's bare
/// `acquire()`) may later be handed back with [`release`](Self::release);
/// releasing more than was forgotten is the typed error [`BoundExceeded`],
/// and nothing changes.
///
/// ```
/// futures_lite::future::block_on(async {
///     let sem = eddy_sync::BoundedSemaphore::new(1);
///     sem.acquire().await.unwrap().forget();
///     sem.release(1).unwrap();
///     assert!(sem.release(1).is_err());
///     assert_eq!(sem.available_permits(), 1);
/// });
/// ```
#[derive(Debug)]
pub struct BoundedSemaphore {
    sem: Semaphore,
    bound: usize,
    /// Permits forgotten and not yet released by hand.
    forgotten: AtomicUsize,
}

impl BoundedSemaphore {
    /// Creates a semaphore with `permits` free permits, which is also its
    /// bound.
    ///
    /// # Panics
    ///
    /// If `permits > Semaphore::MAX_PERMITS`.
    ///
    /// ```
    /// let sem = eddy_sync::BoundedSemaphore::new(2);
    /// assert_eq!(sem.bound(), 2);
    /// ```
    pub const fn new(permits: usize) -> Self {
        BoundedSemaphore {
            sem: Semaphore::new(permits),
            bound: permits,
            forgotten: AtomicUsize::new(0),
        }
    }

    /// The initial (maximum) count.
    ///
    /// ```
    /// assert_eq!(eddy_sync::BoundedSemaphore::new(3).bound(), 3);
    /// ```
    pub fn bound(&self) -> usize {
        self.bound
    }

    /// Free permits right now.
    ///
    /// ```
    /// assert_eq!(eddy_sync::BoundedSemaphore::new(3).available_permits(), 3);
    /// ```
    pub fn available_permits(&self) -> usize {
        self.sem.available_permits()
    }

    /// Waits for one permit; see [`Semaphore::acquire`] (same FIFO order and
    /// cancel safety: a dropped waiter passes on permits already assigned).
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if closed.
    ///
    /// ```
    /// futures_lite::future::block_on(async {
    ///     let sem = eddy_sync::BoundedSemaphore::new(1);
    ///     let _p = sem.acquire().await.unwrap();
    ///     assert_eq!(sem.available_permits(), 0);
    /// });
    /// ```
    pub fn acquire(&self) -> BoundedAcquire<'_> {
        self.acquire_many(1)
    }

    /// Waits for `n` permits; see [`Semaphore::acquire_many`]. Cancel safety
    /// as [`acquire`](Self::acquire).
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if closed.
    ///
    /// ```
    /// futures_lite::future::block_on(async {
    ///     let sem = eddy_sync::BoundedSemaphore::new(2);
    ///     let p = sem.acquire_many(2).await.unwrap();
    ///     assert_eq!(p.num_permits(), 2);
    /// });
    /// ```
    pub fn acquire_many(&self, n: u32) -> BoundedAcquire<'_> {
        BoundedAcquire {
            sem: self,
            inner: self.sem.acquire_many(n),
        }
    }

    /// Takes one permit without waiting.
    ///
    /// # Errors
    ///
    /// As [`Semaphore::try_acquire`].
    ///
    /// ```
    /// let sem = eddy_sync::BoundedSemaphore::new(1);
    /// let _p = sem.try_acquire().unwrap();
    /// assert!(sem.try_acquire().is_err());
    /// ```
    pub fn try_acquire(&self) -> Result<BoundedSemaphorePermit<'_>, TryAcquireError> {
        self.sem.raw.try_acquire(1)?;
        Ok(BoundedSemaphorePermit { sem: self, n: 1 })
    }

    /// Hands back `n` permits that were taken and forgotten.
    ///
    /// # Errors
    ///
    /// [`BoundExceeded`] (and nothing changes) if fewer than `n` permits are
    /// forgotten, i.e. the count would exceed [`bound`](Self::bound).
    ///
    /// ```
    /// let sem = eddy_sync::BoundedSemaphore::new(2);
    /// sem.try_acquire().unwrap().forget();
    /// assert!(sem.release(2).is_err());
    /// assert!(sem.release(1).is_ok());
    /// ```
    pub fn release(&self, n: usize) -> Result<(), BoundExceeded> {
        let mut forgotten = self.forgotten.load(Ordering::Acquire);
        loop {
            if forgotten < n {
                return Err(BoundExceeded {
                    bound: self.bound,
                    forgotten,
                    released: n,
                });
            }
            match self.forgotten.compare_exchange_weak(
                forgotten,
                forgotten - n,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(actual) => forgotten = actual,
            }
        }
        self.sem.raw.release(n);
        Ok(())
    }

    /// Closes the semaphore; see [`Semaphore::close`].
    ///
    /// ```
    /// let sem = eddy_sync::BoundedSemaphore::new(1);
    /// sem.close();
    /// assert!(sem.is_closed());
    /// ```
    pub fn close(&self) {
        self.sem.close();
    }

    /// Whether it was closed.
    ///
    /// ```
    /// assert!(!eddy_sync::BoundedSemaphore::new(1).is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.sem.is_closed()
    }

    /// Whether [`acquire`](Self::acquire) would have to wait (asyncio's
    /// `locked()`); see [`Semaphore::locked`].
    ///
    /// ```
    /// let sem = eddy_sync::BoundedSemaphore::new(1);
    /// let p = sem.try_acquire().unwrap();
    /// assert!(sem.locked());
    /// drop(p);
    /// assert!(!sem.locked());
    /// ```
    pub fn locked(&self) -> bool {
        self.sem.locked()
    }

    /// How many tasks are queued in an acquire; see [`Semaphore::waiters`].
    ///
    /// ```
    /// use std::task::{Context, Waker};
    /// let sem = eddy_sync::BoundedSemaphore::new(0);
    /// let mut a = Box::pin(sem.acquire());
    /// assert!(a.as_mut().poll(&mut Context::from_waker(Waker::noop())).is_pending());
    /// assert_eq!(sem.waiters(), 1);
    /// drop(a); // a cancelled waiter leaves the queue
    /// assert_eq!(sem.waiters(), 0);
    /// ```
    pub fn waiters(&self) -> usize {
        self.sem.waiters()
    }

    /// Waits for one permit, returning a permit that owns an `Arc` of the
    /// semaphore (so it can move into a spawned task). Same FIFO order and
    /// cancel safety as [`acquire`](Self::acquire).
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if closed.
    ///
    /// ```
    /// use std::sync::Arc;
    /// futures_lite::future::block_on(async {
    ///     let sem = Arc::new(eddy_sync::BoundedSemaphore::new(1));
    ///     let permit = sem.clone().acquire_owned().await.unwrap();
    ///     std::thread::spawn(move || drop(permit)).join().unwrap();
    ///     assert_eq!(sem.available_permits(), 1);
    /// });
    /// ```
    pub fn acquire_owned(self: Arc<Self>) -> BoundedAcquireOwned {
        self.acquire_many_owned(1)
    }

    /// Owned flavour of [`acquire_many`](Self::acquire_many).
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if closed.
    ///
    /// ```
    /// use std::sync::Arc;
    /// futures_lite::future::block_on(async {
    ///     let sem = Arc::new(eddy_sync::BoundedSemaphore::new(3));
    ///     let p = sem.clone().acquire_many_owned(3).await.unwrap();
    ///     assert_eq!(p.num_permits(), 3);
    /// });
    /// ```
    pub fn acquire_many_owned(self: Arc<Self>, n: u32) -> BoundedAcquireOwned {
        BoundedAcquireOwned {
            sem: Some(self),
            st: AcquireState::new(n as usize),
        }
    }

    /// Owned flavour of [`try_acquire`](Self::try_acquire).
    ///
    /// # Errors
    ///
    /// As [`Semaphore::try_acquire`].
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(eddy_sync::BoundedSemaphore::new(1));
    /// let p = sem.clone().try_acquire_owned().unwrap();
    /// assert!(sem.clone().try_acquire_owned().is_err());
    /// drop(p);
    /// ```
    pub fn try_acquire_owned(
        self: Arc<Self>,
    ) -> Result<OwnedBoundedSemaphorePermit, TryAcquireError> {
        self.sem.raw.try_acquire(1)?;
        Ok(OwnedBoundedSemaphorePermit { sem: self, n: 1 })
    }
}

/// Future returned by [`BoundedSemaphore::acquire`]; dropping it gives up
/// its place in the queue (passing on permits already assigned to it).
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct BoundedAcquire<'a> {
    sem: &'a BoundedSemaphore,
    inner: Acquire<'a>,
}

impl<'a> Future for BoundedAcquire<'a> {
    type Output = Result<BoundedSemaphorePermit<'a>, AcquireError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let sem = self.sem;
        Pin::new(&mut self.inner).poll(cx).map(|r| {
            r.map(|p| {
                let n = p.num_permits();
                p.forget(); // ownership moves to the bounded permit
                BoundedSemaphorePermit { sem, n }
            })
        })
    }
}

/// Permits borrowed from a [`BoundedSemaphore`]; returned when dropped.
///
/// ```
/// let sem = eddy_sync::BoundedSemaphore::new(1);
/// drop(sem.try_acquire().unwrap());
/// assert_eq!(sem.available_permits(), 1);
/// ```
#[must_use = "dropping a permit releases it at once"]
pub struct BoundedSemaphorePermit<'a> {
    sem: &'a BoundedSemaphore,
    n: usize,
}

impl BoundedSemaphorePermit<'_> {
    /// How many permits this guard holds.
    ///
    /// ```
    /// let sem = eddy_sync::BoundedSemaphore::new(1);
    /// assert_eq!(sem.try_acquire().unwrap().num_permits(), 1);
    /// ```
    pub fn num_permits(&self) -> usize {
        self.n
    }

    /// Keeps the permits taken after the guard is gone; they may be handed
    /// back later with [`BoundedSemaphore::release`].
    ///
    /// ```
    /// let sem = eddy_sync::BoundedSemaphore::new(1);
    /// sem.try_acquire().unwrap().forget();
    /// assert_eq!(sem.available_permits(), 0);
    /// sem.release(1).unwrap();
    /// ```
    pub fn forget(mut self) {
        self.sem.forgotten.fetch_add(self.n, Ordering::AcqRel);
        self.n = 0;
    }
}

impl fmt::Debug for BoundedSemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedSemaphorePermit")
            .field("permits", &self.n)
            .finish()
    }
}

impl Drop for BoundedSemaphorePermit<'_> {
    fn drop(&mut self) {
        self.sem.sem.raw.release(self.n);
    }
}

/// Future returned by [`BoundedSemaphore::acquire_owned`] and
/// [`BoundedSemaphore::acquire_many_owned`]; cancel safe like
/// [`BoundedAcquire`]: dropping it gives up its place in the queue, passing
/// on permits already assigned to it.
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct BoundedAcquireOwned {
    sem: Option<Arc<BoundedSemaphore>>,
    st: AcquireState,
}

impl Future for BoundedAcquireOwned {
    type Output = Result<OwnedBoundedSemaphorePermit, AcquireError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let sem = this
            .sem
            .as_ref()
            .expect("BoundedAcquireOwned polled after completion");
        match sem.sem.raw.poll_acquire(&mut this.st, cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Ready(Ok(())) => {
                let sem = this.sem.take().expect("checked above");
                Poll::Ready(Ok(OwnedBoundedSemaphorePermit { sem, n: this.st.n }))
            }
        }
    }
}

impl Drop for BoundedAcquireOwned {
    fn drop(&mut self) {
        if let Some(sem) = &self.sem {
            sem.sem.raw.drop_acquire(&mut self.st);
        }
    }
}

/// Permits owned together with an `Arc` of their [`BoundedSemaphore`]
/// (`'static`, so they can move into a spawned task); returned when dropped.
///
/// ```
/// use std::sync::Arc;
/// let sem = Arc::new(eddy_sync::BoundedSemaphore::new(1));
/// let p = sem.clone().try_acquire_owned().unwrap();
/// assert_eq!(sem.available_permits(), 0);
/// drop(p);
/// assert_eq!(sem.available_permits(), 1);
/// ```
#[must_use = "dropping a permit releases it at once"]
pub struct OwnedBoundedSemaphorePermit {
    sem: Arc<BoundedSemaphore>,
    n: usize,
}

impl OwnedBoundedSemaphorePermit {
    /// How many permits this guard holds.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(eddy_sync::BoundedSemaphore::new(1));
    /// assert_eq!(sem.try_acquire_owned().unwrap().num_permits(), 1);
    /// ```
    pub fn num_permits(&self) -> usize {
        self.n
    }

    /// The semaphore the permits came from.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(eddy_sync::BoundedSemaphore::new(1));
    /// let p = sem.clone().try_acquire_owned().unwrap();
    /// assert!(Arc::ptr_eq(p.semaphore(), &sem));
    /// ```
    pub fn semaphore(&self) -> &Arc<BoundedSemaphore> {
        &self.sem
    }

    /// Keeps the permits taken after the guard is gone; they may be handed
    /// back later with [`BoundedSemaphore::release`].
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(eddy_sync::BoundedSemaphore::new(1));
    /// sem.clone().try_acquire_owned().unwrap().forget();
    /// assert_eq!(sem.available_permits(), 0);
    /// sem.release(1).unwrap();
    /// ```
    pub fn forget(mut self) {
        self.sem.forgotten.fetch_add(self.n, Ordering::AcqRel);
        self.n = 0;
    }
}

impl fmt::Debug for OwnedBoundedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedBoundedSemaphorePermit")
            .field("permits", &self.n)
            .finish()
    }
}

impl Drop for OwnedBoundedSemaphorePermit {
    fn drop(&mut self) {
        self.sem.sem.raw.release(self.n);
    }
}
