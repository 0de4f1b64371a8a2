//! An async mutex: [`Mutex`] and the [`Lock`] alias.

use std::cell::UnsafeCell;
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::semaphore::{AcquireState, RawSemaphore, TryAcquireError};

/// An async mutual-exclusion lock protecting a `T`, handed out first-in
/// first-out.
///
/// Built on the same engine as [`Semaphore`](crate::Semaphore) with one
/// permit: an uncontended `lock` + unlock is one compare-and-swap each way.
/// The guard is held across `.await` points (unlike `std::sync::Mutex`'s).
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use eddy_sync::Mutex;
///
/// let counter = Arc::new(Mutex::new(0));
/// let threads: Vec<_> = (0..4)
///     .map(|_| {
///         let counter = counter.clone();
///         std::thread::spawn(move || {
///             futures_lite::future::block_on(async {
///                 for _ in 0..100 {
///                     *counter.lock().await += 1;
///                 }
///             })
///         })
///     })
///     .collect();
/// for t in threads {
///     t.join().unwrap();
/// }
/// assert_eq!(*counter.try_lock().unwrap(), 400);
/// ```
pub struct Mutex<T: ?Sized> {
    sem: RawSemaphore,
    data: UnsafeCell<T>,
}

/// asyncio's `Lock`: a [`Mutex`] that protects nothing but the critical
/// section itself.
///
/// ```
/// futures_lite::future::block_on(async {
///     let lock = eddy_sync::Lock::new(());
///     let _guard = lock.lock().await;
///     assert!(lock.is_locked());
/// });
/// ```
pub type Lock = Mutex<()>;

// SAFETY: the mutex hands out at most one guard at a time (one permit), so it
// is `Sync` whenever moving a `T` between threads is allowed; `T: Sync` is not
// needed because no two threads ever see `&T` at once.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

/// The lock was not free (returned by [`Mutex::try_lock`]).
///
/// ```
/// let m = eddy_sync::Mutex::new(1);
/// let _g = m.try_lock().unwrap();
/// assert_eq!(m.try_lock().unwrap_err().to_string(), "mutex is locked");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TryLockError(());

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("mutex is locked")
    }
}

impl std::error::Error for TryLockError {}

impl<T> Mutex<T> {
    /// Creates an unlocked mutex holding `value`.
    ///
    /// ```
    /// static M: eddy_sync::Mutex<Vec<u8>> = eddy_sync::Mutex::new(Vec::new());
    /// assert!(!M.is_locked());
    /// ```
    pub const fn new(value: T) -> Self {
        Mutex {
            sem: RawSemaphore::new(1),
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the mutex, returning the value.
    ///
    /// ```
    /// assert_eq!(eddy_sync::Mutex::new(5).into_inner(), 5);
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Waits for the lock.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe and fair: a waiter keeps its FIFO place until served or
    /// dropped; if it is dropped after the lock was handed to it but before
    /// it observed that, the lock passes to the next waiter. Dropping the
    /// returned guard (including when the task holding it is cancelled)
    /// unlocks.
    ///
    /// ```
    /// futures_lite::future::block_on(async {
    ///     let m = eddy_sync::Mutex::new(1);
    ///     *m.lock().await += 1;
    ///     assert_eq!(*m.lock().await, 2);
    /// });
    /// ```
    pub fn lock(&self) -> LockFuture<'_, T> {
        LockFuture {
            mutex: self,
            st: AcquireState::new(1),
        }
    }

    /// Takes the lock if it is free and nobody is queued.
    ///
    /// # Errors
    ///
    /// [`TryLockError`] if it is held or others are waiting for it.
    ///
    /// ```
    /// let m = eddy_sync::Mutex::new(());
    /// let g = m.try_lock().unwrap();
    /// assert!(m.try_lock().is_err());
    /// drop(g);
    /// assert!(m.try_lock().is_ok());
    /// ```
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        match self.sem.try_acquire(1) {
            Ok(()) => Ok(MutexGuard { mutex: self }),
            Err(TryAcquireError::NoPermits | TryAcquireError::Closed) => Err(TryLockError(())),
        }
    }

    /// Waits for the lock and returns a guard that keeps the `Arc` alive, so
    /// it can be moved into another task or thread. Cancel safety as
    /// [`lock`](Self::lock).
    ///
    /// ```
    /// use std::sync::Arc;
    /// futures_lite::future::block_on(async {
    ///     let m = Arc::new(eddy_sync::Mutex::new(0));
    ///     let mut g = m.clone().lock_owned().await;
    ///     std::thread::spawn(move || *g += 1).join().unwrap();
    ///     assert_eq!(*m.lock().await, 1);
    /// });
    /// ```
    pub fn lock_owned(self: Arc<Self>) -> LockOwnedFuture<T> {
        LockOwnedFuture {
            mutex: Some(self),
            st: AcquireState::new(1),
        }
    }

    /// Owned flavour of [`try_lock`](Self::try_lock).
    ///
    /// # Errors
    ///
    /// [`TryLockError`] if it is held or others are waiting for it.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let m = Arc::new(eddy_sync::Mutex::new(()));
    /// let _g = m.clone().try_lock_owned().unwrap();
    /// assert!(m.clone().try_lock_owned().is_err());
    /// ```
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        match self.sem.try_acquire(1) {
            Ok(()) => Ok(OwnedMutexGuard { mutex: self }),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// Whether someone holds the lock right now (asyncio's `locked()`).
    ///
    /// ```
    /// let m = eddy_sync::Mutex::new(());
    /// let g = m.try_lock().unwrap();
    /// assert!(m.is_locked());
    /// drop(g);
    /// assert!(!m.is_locked());
    /// ```
    pub fn is_locked(&self) -> bool {
        self.sem.available() == 0
    }

    /// Mutable access without locking: `&mut self` proves no guard exists.
    ///
    /// ```
    /// let mut m = eddy_sync::Mutex::new(1);
    /// *m.get_mut() = 2;
    /// assert_eq!(m.into_inner(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    fn unlock(&self) {
        self.sem.release(1);
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Self {
        Mutex::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Ok(g) => d.field("data", &&*g),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// Future returned by [`Mutex::lock`]. Dropping it gives up its place in
/// the queue (and passes on the lock if it had already been handed over).
#[must_use = "futures do nothing unless polled"]
pub struct LockFuture<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    st: AcquireState,
}

impl<'a, T: ?Sized> Future for LockFuture<'a, T> {
    type Output = MutexGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let mutex = this.mutex;
        match mutex.sem.poll_acquire(&mut this.st, cx) {
            Poll::Pending => Poll::Pending,
            // A mutex's semaphore is never closed.
            Poll::Ready(_) => Poll::Ready(MutexGuard { mutex }),
        }
    }
}

impl<T: ?Sized> Drop for LockFuture<'_, T> {
    fn drop(&mut self) {
        self.mutex.sem.drop_acquire(&mut self.st);
    }
}

impl<T: ?Sized> fmt::Debug for LockFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockFuture").finish_non_exhaustive()
    }
}

/// Future returned by [`Mutex::lock_owned`]; cancel safe like
/// [`LockFuture`].
#[must_use = "futures do nothing unless polled"]
pub struct LockOwnedFuture<T: ?Sized> {
    mutex: Option<Arc<Mutex<T>>>,
    st: AcquireState,
}

impl<T: ?Sized> Future for LockOwnedFuture<T> {
    type Output = OwnedMutexGuard<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let mutex = this
            .mutex
            .as_ref()
            .expect("LockOwnedFuture polled after completion");
        match mutex.sem.poll_acquire(&mut this.st, cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(_) => Poll::Ready(OwnedMutexGuard {
                mutex: this.mutex.take().expect("checked above"),
            }),
        }
    }
}

impl<T: ?Sized> Drop for LockOwnedFuture<T> {
    fn drop(&mut self) {
        if let Some(m) = &self.mutex {
            m.sem.drop_acquire(&mut self.st);
        }
    }
}

impl<T: ?Sized> fmt::Debug for LockOwnedFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockOwnedFuture").finish_non_exhaustive()
    }
}

/// Access to a [`Mutex`]'s value; unlocks when dropped.
///
/// ```
/// futures_lite::future::block_on(async {
///     let m = eddy_sync::Mutex::new(vec![1]);
///     m.lock().await.push(2);
///     assert_eq!(*m.lock().await, [1, 2]);
/// });
/// ```
#[must_use = "dropping a guard unlocks at once"]
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// The mutex this guard locks (used by [`Condition`](crate::Condition)).
    ///
    /// ```
    /// let m = eddy_sync::Mutex::new(());
    /// let g = m.try_lock().unwrap();
    /// assert!(std::ptr::eq(eddy_sync::MutexGuard::mutex(&g), &m));
    /// ```
    pub fn mutex(this: &Self) -> &'a Mutex<T> {
        this.mutex
    }
}

// SAFETY: a guard is a `&mut T` in disguise: sharing it across threads shares
// `&T`, which needs `T: Sync` (and `T: Send` as for the mutex itself).
unsafe impl<T: ?Sized + Send + Sync> Sync for MutexGuard<'_, T> {}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the mutex's only permit, so no other
        // reference to the data exists while it lives.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this access unique.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.mutex.unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Like [`MutexGuard`] but owning an `Arc` of the mutex (`'static`, so it
/// can move into a spawned task).
///
/// ```
/// use std::sync::Arc;
/// let m = Arc::new(eddy_sync::Mutex::new(1));
/// let g = m.clone().try_lock_owned().unwrap();
/// assert_eq!(*g, 1);
/// ```
#[must_use = "dropping a guard unlocks at once"]
pub struct OwnedMutexGuard<T: ?Sized> {
    mutex: Arc<Mutex<T>>,
}

impl<T: ?Sized> OwnedMutexGuard<T> {
    /// The mutex this guard locks.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let m = Arc::new(eddy_sync::Mutex::new(()));
    /// let g = m.clone().try_lock_owned().unwrap();
    /// assert!(Arc::ptr_eq(eddy_sync::OwnedMutexGuard::mutex(&g), &m));
    /// ```
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.mutex
    }
}

// SAFETY: as for `MutexGuard`.
unsafe impl<T: ?Sized + Send + Sync> Sync for OwnedMutexGuard<T> {}

impl<T: ?Sized> Deref for OwnedMutexGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the mutex's only permit.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T: ?Sized> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the mutex's only permit; `&mut self` makes
        // this access unique.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T: ?Sized> Drop for OwnedMutexGuard<T> {
    fn drop(&mut self) {
        self.mutex.unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// The lock of a mutex that lives inside an `Arc<C>` (reached by
/// `project`), held together with that `Arc`. The crate-private base of
/// owned guards on types that embed a mutex, such as
/// [`OwnedConditionGuard`](crate::OwnedConditionGuard): the mutex's
/// invariant (whoever holds the permit may touch the data) stays in this
/// file.
pub(crate) struct ArcGuard<C: ?Sized, T: ?Sized> {
    owner: Arc<C>,
    project: fn(&C) -> &Mutex<T>,
}

impl<C: ?Sized, T: ?Sized> ArcGuard<C, T> {
    /// Takes the lock if it is free and nobody is queued.
    pub(crate) fn try_lock(
        owner: Arc<C>,
        project: fn(&C) -> &Mutex<T>,
    ) -> Result<Self, TryLockError> {
        match project(&owner).sem.try_acquire(1) {
            Ok(()) => Ok(ArcGuard { owner, project }),
            Err(_) => Err(TryLockError(())),
        }
    }

    pub(crate) fn owner(&self) -> &Arc<C> {
        &self.owner
    }

    fn mutex(&self) -> &Mutex<T> {
        (self.project)(&self.owner)
    }
}

// SAFETY: moving the guard moves `&mut T` access (`T: Send`) and an
// `Arc<C>` (`C: Send + Sync`); spelled out so that no `C` can make the guard
// `Send` for a `T` that is not.
unsafe impl<C: ?Sized + Send + Sync, T: ?Sized + Send> Send for ArcGuard<C, T> {}
// SAFETY: as for `MutexGuard`: sharing the guard shares `&T`.
unsafe impl<C: ?Sized + Send + Sync, T: ?Sized + Send + Sync> Sync for ArcGuard<C, T> {}

impl<C: ?Sized, T: ?Sized> Deref for ArcGuard<C, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: an `ArcGuard` exists only while it holds the mutex's only
        // permit (taken in `try_lock` or `ArcLockFuture::poll`).
        unsafe { &*self.mutex().data.get() }
    }
}

impl<C: ?Sized, T: ?Sized> DerefMut for ArcGuard<C, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this access unique.
        unsafe { &mut *self.mutex().data.get() }
    }
}

impl<C: ?Sized, T: ?Sized> Drop for ArcGuard<C, T> {
    fn drop(&mut self) {
        self.mutex().unlock();
    }
}

/// Waits for the lock behind an [`ArcGuard`]; cancel safe like
/// [`LockFuture`].
pub(crate) struct ArcLockFuture<C: ?Sized, T: ?Sized> {
    owner: Option<Arc<C>>,
    project: fn(&C) -> &Mutex<T>,
    st: AcquireState,
}

impl<C: ?Sized, T: ?Sized> ArcLockFuture<C, T> {
    pub(crate) fn new(owner: Arc<C>, project: fn(&C) -> &Mutex<T>) -> Self {
        ArcLockFuture {
            owner: Some(owner),
            project,
            st: AcquireState::new(1),
        }
    }
}

impl<C: ?Sized, T: ?Sized> Future for ArcLockFuture<C, T> {
    type Output = ArcGuard<C, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let owner = this
            .owner
            .as_ref()
            .expect("lock future polled after completion");
        match (this.project)(owner).sem.poll_acquire(&mut this.st, cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(_) => Poll::Ready(ArcGuard {
                owner: this.owner.take().expect("checked above"),
                project: this.project,
            }),
        }
    }
}

impl<C: ?Sized, T: ?Sized> Drop for ArcLockFuture<C, T> {
    fn drop(&mut self) {
        if let Some(owner) = &self.owner {
            (self.project)(owner).sem.drop_acquire(&mut self.st);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{CountingWaker, poll_once};

    #[test]
    fn dropping_guard_of_cancelled_holder_unlocks() {
        let m = Mutex::new(0);
        let w = CountingWaker::new();
        // A "task" that takes the lock then waits on something forever.
        let mut task = Box::pin(async {
            let _g = m.lock().await;
            std::future::pending::<()>().await;
        });
        assert!(poll_once(&mut task, &w.waker()).is_pending());
        assert!(m.is_locked());
        let mut waiter = Box::pin(m.lock());
        assert!(poll_once(&mut waiter, &w.waker()).is_pending());
        drop(task); // cancellation
        assert_eq!(w.count(), 1);
        assert!(poll_once(&mut waiter, &w.waker()).is_ready());
    }

    #[test]
    fn dropped_waiter_that_was_handed_the_lock_passes_it_on() {
        let m = Mutex::new(());
        let g = m.try_lock().unwrap();
        let w = CountingWaker::new();
        let mut a = Box::pin(m.lock());
        let mut b = Box::pin(m.lock());
        assert!(poll_once(&mut a, &w.waker()).is_pending());
        assert!(poll_once(&mut b, &w.waker()).is_pending());
        drop(g);
        drop(a);
        assert!(poll_once(&mut b, &w.waker()).is_ready());
    }
}
