//! Counting semaphores: [`Semaphore`] and [`BoundedSemaphore`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use crate::waitlist::{Key, WaitList, WakeList, lock};

const CLOSED: usize = 1;
const WAITERS: usize = 2;
const SHIFT: u32 = 2;
/// Marks a waiter woken by [`RawSemaphore::close`] rather than by a grant.
const CLOSED_GRANT: usize = usize::MAX;

/// The engine shared by `Semaphore`, `Mutex`, `RwLock` and `CapacityLimiter`.
///
/// `state` packs the free permits (`<< SHIFT`) with two flags. While
/// `WAITERS` is clear, permits are taken by lock-free CAS (the uncontended
/// fast path: one CAS to acquire, one `fetch_add` to release). While it is
/// set, permits are only *taken* under the `waiters` lock, which is how
/// first-in first-out order is kept: a newcomer sees `WAITERS` and queues
/// behind the existing waiters instead of barging in. Releases may still add
/// permits lock-free; a releaser that saw `WAITERS` then runs the grant loop
/// under the lock. `WAITERS` is set iff the list holds a queued waiter; both
/// change together under the lock.
pub(crate) struct RawSemaphore {
    state: AtomicUsize,
    waiters: Mutex<WaitList<usize>>,
}

/// Per-future acquisition state, kept inline in the future (no allocation).
#[derive(Debug)]
pub(crate) struct AcquireState {
    n: usize,
    key: Option<Key>,
}

impl AcquireState {
    pub(crate) fn new(n: usize) -> Self {
        AcquireState { n, key: None }
    }
}

impl RawSemaphore {
    pub(crate) const fn new(permits: usize) -> Self {
        assert!(
            permits <= Semaphore::MAX_PERMITS,
            "permit count exceeds Semaphore::MAX_PERMITS"
        );
        RawSemaphore {
            state: AtomicUsize::new(permits << SHIFT),
            waiters: Mutex::new(WaitList::new()),
        }
    }

    pub(crate) fn available(&self) -> usize {
        self.state.load(Ordering::Acquire) >> SHIFT
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.state.load(Ordering::Acquire) & CLOSED != 0
    }

    pub(crate) fn try_acquire(&self, n: usize) -> Result<(), TryAcquireError> {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & CLOSED != 0 {
                return Err(TryAcquireError::Closed);
            }
            if n == 0 {
                return Ok(());
            }
            if s & WAITERS != 0 || (s >> SHIFT) < n {
                return Err(TryAcquireError::NoPermits);
            }
            match self.state.compare_exchange_weak(
                s,
                s - (n << SHIFT),
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(()),
                Err(actual) => s = actual,
            }
        }
    }

    pub(crate) fn poll_acquire(
        &self,
        st: &mut AcquireState,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), AcquireError>> {
        if let Some(key) = st.key {
            let mut list = lock(&self.waiters);
            if list.is_notified(key) {
                st.key = None;
                let data = list.remove(key);
                return Poll::Ready(match data {
                    Some(CLOSED_GRANT) => Err(AcquireError(())),
                    _ => Ok(()),
                });
            }
            list.set_waker(key, cx.waker());
            return Poll::Pending;
        }
        match self.try_acquire(st.n) {
            Ok(()) => return Poll::Ready(Ok(())),
            Err(TryAcquireError::Closed) => return Poll::Ready(Err(AcquireError(()))),
            Err(TryAcquireError::NoPermits) => {}
        }
        let mut list = lock(&self.waiters);
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            if s & CLOSED != 0 {
                return Poll::Ready(Err(AcquireError(())));
            }
            if s & WAITERS != 0 {
                break;
            }
            let (new, taken) = if (s >> SHIFT) >= st.n {
                (s - (st.n << SHIFT), true)
            } else {
                (s | WAITERS, false)
            };
            match self
                .state
                .compare_exchange(s, new, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) if taken => return Poll::Ready(Ok(())),
                Ok(_) => break,
                Err(actual) => s = actual,
            }
        }
        st.key = Some(list.push_back(st.n, Some(cx.waker().clone())));
        Poll::Pending
    }

    /// Called from a waiting future's `Drop`.
    pub(crate) fn drop_acquire(&self, st: &mut AcquireState) {
        let Some(key) = st.key.take() else { return };
        let mut wakes = WakeList::new();
        {
            let mut list = lock(&self.waiters);
            match list.remove(key) {
                // Granted but never observed: give the permits back so the
                // next waiter gets them.
                Some(n) if n != CLOSED_GRANT => self.release_locked(&mut list, n, &mut wakes),
                Some(_) => {}
                // Still queued: leaving may unblock whoever was behind us.
                None => self.grant_locked(&mut list, &mut wakes),
            }
        }
        wakes.wake_all();
    }

    fn release_locked(&self, list: &mut WaitList<usize>, n: usize, wakes: &mut WakeList) {
        let prev = self.state.fetch_add(n << SHIFT, Ordering::AcqRel);
        debug_assert!((prev >> SHIFT) + n <= Semaphore::MAX_PERMITS);
        self.grant_locked(list, wakes);
    }

    fn grant_locked(&self, list: &mut WaitList<usize>, wakes: &mut WakeList) {
        loop {
            let Some(&need) = list.front() else {
                self.state.fetch_and(!WAITERS, Ordering::AcqRel);
                return;
            };
            let s = self.state.load(Ordering::Acquire);
            if s & CLOSED != 0 || (s >> SHIFT) < need {
                return;
            }
            self.state.fetch_sub(need << SHIFT, Ordering::AcqRel);
            list.notify_front(need, wakes);
        }
    }

    /// Unbounded release: one `fetch_add` when nobody waits. Adding while
    /// `WAITERS` is set (without the lock) is safe because the releaser then
    /// takes the lock and runs the grant loop itself: whichever of it and a
    /// concurrent lock holder runs `grant_locked` last sees the permits.
    pub(crate) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        assert!(
            n <= Semaphore::MAX_PERMITS,
            "semaphore permit count would exceed Semaphore::MAX_PERMITS"
        );
        // `MAX_PERMITS << SHIFT` leaves the top bit free, so this cannot wrap
        // before the check below catches it.
        let prev = self.state.fetch_add(n << SHIFT, Ordering::AcqRel);
        if (prev >> SHIFT) + n > Semaphore::MAX_PERMITS {
            self.state.fetch_sub(n << SHIFT, Ordering::AcqRel);
            panic!("semaphore permit count would exceed Semaphore::MAX_PERMITS");
        }
        if prev & WAITERS == 0 {
            return;
        }
        let mut wakes = WakeList::new();
        {
            let mut list = lock(&self.waiters);
            self.grant_locked(&mut list, &mut wakes);
        }
        wakes.wake_all();
    }

    pub(crate) fn close(&self) {
        self.state.fetch_or(CLOSED, Ordering::AcqRel);
        let mut wakes = WakeList::new();
        {
            let mut list = lock(&self.waiters);
            list.notify_all(CLOSED_GRANT, &mut wakes);
            self.state.fetch_and(!WAITERS, Ordering::AcqRel);
        }
        wakes.wake_all();
    }

    #[cfg(test)]
    pub(crate) fn waiters(&self) -> usize {
        lock(&self.waiters).len()
    }
}

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

/// Permits borrowed from a [`Semaphore`]; returned when dropped.
///
/// ```
/// let sem = eddy_sync::Semaphore::new(1);
/// {
///     let _p = sem.try_acquire().unwrap();
///     assert_eq!(sem.available_permits(), 0);
/// }
/// assert_eq!(sem.available_permits(), 1);
/// ```
#[must_use = "dropping a permit releases it at once"]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    n: usize,
}

impl SemaphorePermit<'_> {
    /// How many permits this guard holds.
    ///
    /// ```
    /// let sem = eddy_sync::Semaphore::new(3);
    /// assert_eq!(sem.try_acquire_many(2).unwrap().num_permits(), 2);
    /// ```
    pub fn num_permits(&self) -> usize {
        self.n
    }

    /// Keeps the permits out of the semaphore for good (they are not
    /// returned on drop).
    ///
    /// ```
    /// let sem = eddy_sync::Semaphore::new(2);
    /// sem.try_acquire().unwrap().forget();
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn forget(mut self) {
        self.n = 0;
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("permits", &self.n)
            .finish()
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        self.sem.raw.release(self.n);
    }
}

/// Permits owned together with an `Arc` of their [`Semaphore`]; returned
/// when dropped.
///
/// ```
/// use std::sync::Arc;
/// let sem = Arc::new(eddy_sync::Semaphore::new(1));
/// let p = sem.clone().try_acquire_owned().unwrap();
/// assert_eq!(p.num_permits(), 1);
/// drop(p);
/// assert_eq!(sem.available_permits(), 1);
/// ```
#[must_use = "dropping a permit releases it at once"]
pub struct OwnedSemaphorePermit {
    sem: Arc<Semaphore>,
    n: usize,
}

impl OwnedSemaphorePermit {
    /// How many permits this guard holds.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(eddy_sync::Semaphore::new(1));
    /// assert_eq!(sem.try_acquire_owned().unwrap().num_permits(), 1);
    /// ```
    pub fn num_permits(&self) -> usize {
        self.n
    }

    /// The semaphore the permits came from.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(eddy_sync::Semaphore::new(1));
    /// let p = sem.clone().try_acquire_owned().unwrap();
    /// assert!(Arc::ptr_eq(p.semaphore(), &sem));
    /// ```
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.sem
    }

    /// Keeps the permits out of the semaphore for good.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(eddy_sync::Semaphore::new(1));
    /// sem.clone().try_acquire_owned().unwrap().forget();
    /// assert_eq!(sem.available_permits(), 0);
    /// ```
    pub fn forget(mut self) {
        self.n = 0;
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit")
            .field("permits", &self.n)
            .finish()
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        self.sem.raw.release(self.n);
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{CountingWaker, poll_once};

    #[test]
    fn fifo_order_and_large_request_not_starved() {
        let sem = Semaphore::new(1);
        let held = sem.try_acquire().unwrap();
        let w = CountingWaker::new();
        let mut big = Box::pin(sem.acquire_many(2));
        let mut small = Box::pin(sem.acquire());
        assert!(poll_once(&mut big, &w.waker()).is_pending());
        assert!(poll_once(&mut small, &w.waker()).is_pending());
        drop(held);
        // One permit free, but `big` is first and needs two: `small` waits.
        assert!(poll_once(&mut small, &w.waker()).is_pending());
        assert!(sem.try_acquire().is_err(), "newcomers must not barge");
        sem.add_permits(1);
        let p = match poll_once(&mut big, &w.waker()) {
            Poll::Ready(Ok(p)) => p,
            other => panic!("big not served: {other:?}"),
        };
        drop(p);
        assert!(poll_once(&mut small, &w.waker()).is_ready());
    }

    #[test]
    fn dropped_granted_waiter_passes_permit_on() {
        let sem = Semaphore::new(0);
        let w = CountingWaker::new();
        let mut a = Box::pin(sem.acquire());
        let mut b = Box::pin(sem.acquire());
        assert!(poll_once(&mut a, &w.waker()).is_pending());
        assert!(poll_once(&mut b, &w.waker()).is_pending());
        sem.add_permits(1);
        assert_eq!(w.count(), 1);
        drop(a);
        assert_eq!(w.count(), 2, "b must be woken with a's permit");
        assert!(poll_once(&mut b, &w.waker()).is_ready());
        assert_eq!(sem.raw.waiters(), 0);
    }

    #[test]
    fn bounded_release_cannot_exceed_bound_while_permits_are_held() {
        let sem = BoundedSemaphore::new(2);
        let held = sem.try_acquire().unwrap();
        // One permit is held (not forgotten): releasing "for" it is refused,
        // so the holder's drop cannot later push the count to 3.
        assert!(sem.release(1).is_err());
        drop(held);
        assert_eq!(sem.available_permits(), 2);
        let a = sem.try_acquire().unwrap();
        let b = sem.try_acquire().unwrap();
        a.forget();
        b.forget();
        assert_eq!(sem.release(2), Ok(()));
        assert_eq!(sem.available_permits(), 2);
        assert!(sem.release(1).is_err());
    }

    #[test]
    fn close_wakes_waiters_with_error() {
        let sem = Semaphore::new(0);
        let w = CountingWaker::new();
        let mut a = Box::pin(sem.acquire());
        assert!(poll_once(&mut a, &w.waker()).is_pending());
        sem.close();
        assert!(matches!(poll_once(&mut a, &w.waker()), Poll::Ready(Err(_))));
    }
}
