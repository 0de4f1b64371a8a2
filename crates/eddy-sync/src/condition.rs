//! asyncio's `Condition`, bound to its lock.

use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::{Arc, Mutex as StdMutex};
use std::task::{Context, Poll};

use crate::mutex::{ArcGuard, ArcLockFuture, LockFuture, Mutex, MutexGuard, TryLockError};
use crate::waitlist::{Key, WaitList, WakeList, lock};

/// A condition variable that owns its lock (asyncio's `Condition`).
///
/// The protected value lives in the condition's [`Mutex`]; take it with
/// [`lock`](Self::lock), then [`wait`](Self::wait) gives the lock up until
/// notified and takes it back before returning. Waiters are woken in FIFO
/// order. Notifications are not stored: `notify` wakes only tasks already
/// waiting (a waiter registers before it releases the lock, so a change made
/// under the lock and followed by `notify` is never missed).
///
/// To hand the lock to a spawned task, put the condition in an `Arc` and
/// use the owned flavours: [`lock_owned`](Self::lock_owned) returns an
/// [`OwnedConditionGuard`] (`'static`), and
/// [`wait_owned`](Self::wait_owned) / [`wait_for_owned`](Self::wait_for_owned)
/// take and give back such a guard.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// let cond = Arc::new(eddy_sync::Condition::new(Vec::<u32>::new()));
/// let consumer = {
///     let cond = cond.clone();
///     std::thread::spawn(move || {
///         futures_lite::future::block_on(async {
///             let guard = cond.lock().await;
///             let mut guard = cond.wait_for(guard, |items| !items.is_empty()).await;
///             guard.pop()
///         })
///     })
/// };
/// futures_lite::future::block_on(async {
///     cond.lock().await.push(7);
///     cond.notify_all();
/// });
/// assert_eq!(consumer.join().unwrap(), Some(7));
/// ```
pub struct Condition<T: ?Sized> {
    waiters: StdMutex<WaitList<()>>,
    mutex: Mutex<T>,
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Condition<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("mutex", &&self.mutex)
            .finish()
    }
}

impl<T: Default> Default for Condition<T> {
    fn default() -> Self {
        Condition::new(T::default())
    }
}

impl<T> Condition<T> {
    /// A condition whose lock protects `value`.
    ///
    /// ```
    /// let c = eddy_sync::Condition::new(0u8);
    /// assert!(!c.mutex().is_locked());
    /// ```
    pub const fn new(value: T) -> Self {
        Condition {
            waiters: StdMutex::new(WaitList::new()),
            mutex: Mutex::new(value),
        }
    }

    /// Consumes the condition, returning the value.
    ///
    /// ```
    /// assert_eq!(eddy_sync::Condition::new(4).into_inner(), 4);
    /// ```
    pub fn into_inner(self) -> T {
        self.mutex.into_inner()
    }
}

impl<T: ?Sized> Condition<T> {
    /// The underlying lock.
    ///
    /// ```
    /// let c = eddy_sync::Condition::new(());
    /// let _g = c.mutex().try_lock().unwrap();
    /// ```
    pub fn mutex(&self) -> &Mutex<T> {
        &self.mutex
    }

    /// Waits for the lock; same as `self.mutex().lock()`, with the same cancel
    /// safety (see [`Mutex::lock`]).
    ///
    /// ```
    /// futures_lite::future::block_on(async {
    ///     let c = eddy_sync::Condition::new(1);
    ///     assert_eq!(*c.lock().await, 1);
    /// });
    /// ```
    pub fn lock(&self) -> LockFuture<'_, T> {
        self.mutex.lock()
    }

    /// Releases the lock, waits until notified, then re-acquires the lock.
    ///
    /// Wake-ups may be spurious in the sense that the state may have changed
    /// again by the time the lock is re-acquired; loop on a predicate or use
    /// [`wait_for`](Self::wait_for).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it is notified just leaves the list. If it
    /// is dropped after a notification reached it (while waiting, or while
    /// re-acquiring the lock), the notification is passed on to the next
    /// waiter, so `notify(1)` is never swallowed by a cancelled task. The
    /// lock is not held on return from a dropped future (the guard passed in
    /// was already released).
    ///
    /// # Panics
    ///
    /// If `guard` belongs to a different mutex than this condition's.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let c = Arc::new(eddy_sync::Condition::new(false));
    /// let c2 = c.clone();
    /// let t = std::thread::spawn(move || futures_lite::future::block_on(async {
    ///     let mut g = c2.lock().await;
    ///     while !*g {
    ///         g = c2.wait(g).await;
    ///     }
    /// }));
    /// futures_lite::future::block_on(async {
    ///     *c.lock().await = true;
    ///     c.notify(1);
    /// });
    /// t.join().unwrap();
    /// ```
    pub async fn wait<'a>(&'a self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        assert!(
            std::ptr::eq(MutexGuard::mutex(&guard), &self.mutex),
            "Condition::wait called with a guard of another mutex"
        );
        // Registered before the lock is released, so a notify made under
        // the lock after our predicate check cannot slip past us.
        let notified = self.register();
        drop(guard);
        notified.await;
        // From here the notification is ours; if we are dropped before we
        // hold the lock again, hand it to someone else.
        let mut pass_on = PassOn {
            cond: self,
            armed: true,
        };
        let guard = self.mutex.lock().await;
        pass_on.armed = false;
        guard
    }

    fn register(&self) -> Notified<'_, T> {
        Notified {
            cond: self,
            key: Some(lock(&self.waiters).push_back((), None)),
        }
    }

    /// Waits until `predicate` returns `true` for the protected value
    /// (checked first, then after each notification, always under the lock).
    /// Cancel safety as [`wait`](Self::wait).
    ///
    /// # Panics
    ///
    /// If `guard` belongs to a different mutex than this condition's.
    ///
    /// ```
    /// futures_lite::future::block_on(async {
    ///     let c = eddy_sync::Condition::new(3);
    ///     let g = c.lock().await;
    ///     let g = c.wait_for(g, |n| *n == 3).await; // already true
    ///     assert_eq!(*g, 3);
    /// });
    /// ```
    pub async fn wait_for<'a, F>(
        &'a self,
        mut guard: MutexGuard<'a, T>,
        mut predicate: F,
    ) -> MutexGuard<'a, T>
    where
        F: FnMut(&mut T) -> bool,
    {
        while !predicate(&mut guard) {
            guard = self.wait(guard).await;
        }
        guard
    }

    /// Waits for the lock and returns a guard that owns an `Arc` of the
    /// condition (`'static`, so it can move into a spawned task or thread).
    ///
    /// # Cancel safety
    ///
    /// As [`Mutex::lock`]: fair, and a dropped future that had been handed
    /// the lock passes it on. Dropping the guard unlocks.
    ///
    /// ```
    /// use std::sync::Arc;
    /// futures_lite::future::block_on(async {
    ///     let c = Arc::new(eddy_sync::Condition::new(0));
    ///     let mut g = c.clone().lock_owned().await;
    ///     std::thread::spawn(move || *g += 1).join().unwrap();
    ///     assert_eq!(*c.lock().await, 1);
    /// });
    /// ```
    pub fn lock_owned(self: Arc<Self>) -> ConditionLockOwnedFuture<T> {
        ConditionLockOwnedFuture {
            inner: ArcLockFuture::new(self, Condition::mutex),
        }
    }

    /// Owned flavour of `self.mutex().try_lock()`.
    ///
    /// # Errors
    ///
    /// [`TryLockError`] if the lock is held or others are waiting for it.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let c = Arc::new(eddy_sync::Condition::new(()));
    /// let g = c.clone().try_lock_owned().unwrap();
    /// assert!(c.clone().try_lock_owned().is_err());
    /// drop(g);
    /// assert!(c.try_lock_owned().is_ok());
    /// ```
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedConditionGuard<T>, TryLockError> {
        Ok(OwnedConditionGuard {
            inner: ArcGuard::try_lock(self, Condition::mutex)?,
        })
    }

    /// [`wait`](Self::wait) for an owned guard: releases the lock, waits
    /// until notified, re-acquires the lock and returns a new owned guard.
    ///
    /// An associated function (`Condition::wait_owned(guard)`): the guard
    /// already knows its condition, and the future borrows nothing, so it
    /// can be moved into a spawned task along with the guard.
    ///
    /// # Cancel safety
    ///
    /// As [`wait`](Self::wait): a notification that reached a dropped future
    /// is passed on to the next waiter, and the lock is not held once the
    /// future is dropped (if it is dropped before its first poll, dropping
    /// the guard it holds unlocks).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use eddy_sync::Condition;
    /// let c = Arc::new(Condition::new(false));
    /// let waiter = {
    ///     let c = c.clone();
    ///     std::thread::spawn(move || futures_lite::future::block_on(async move {
    ///         let mut g = c.lock_owned().await;
    ///         while !*g {
    ///             g = Condition::wait_owned(g).await;
    ///         }
    ///     }))
    /// };
    /// futures_lite::future::block_on(async {
    ///     *c.lock().await = true;
    ///     c.notify_all();
    /// });
    /// waiter.join().unwrap();
    /// ```
    pub async fn wait_owned(guard: OwnedConditionGuard<T>) -> OwnedConditionGuard<T> {
        let cond = Arc::clone(OwnedConditionGuard::condition(&guard));
        let notified = cond.register();
        drop(guard);
        notified.await;
        let mut pass_on = PassOn {
            cond: &cond,
            armed: true,
        };
        let guard = Arc::clone(&cond).lock_owned().await;
        pass_on.armed = false;
        guard
    }

    /// [`wait_for`](Self::wait_for) for an owned guard: waits until
    /// `predicate` returns `true` for the protected value (checked first,
    /// then after each notification, always under the lock). Cancel safety
    /// as [`wait_owned`](Self::wait_owned).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use eddy_sync::Condition;
    /// let c = Arc::new(Condition::new(Vec::<u32>::new()));
    /// let consumer = {
    ///     let c = c.clone();
    ///     std::thread::spawn(move || futures_lite::future::block_on(async move {
    ///         let g = c.lock_owned().await;
    ///         let mut g = Condition::wait_for_owned(g, |v| !v.is_empty()).await;
    ///         g.pop()
    ///     }))
    /// };
    /// futures_lite::future::block_on(async {
    ///     c.lock().await.push(9);
    ///     c.notify(1);
    /// });
    /// assert_eq!(consumer.join().unwrap(), Some(9));
    /// ```
    pub async fn wait_for_owned<F>(
        mut guard: OwnedConditionGuard<T>,
        mut predicate: F,
    ) -> OwnedConditionGuard<T>
    where
        F: FnMut(&mut T) -> bool,
    {
        while !predicate(&mut guard) {
            guard = Condition::wait_owned(guard).await;
        }
        guard
    }

    /// Wakes up to `n` waiters, oldest first. Returns how many were woken.
    ///
    /// ```
    /// let c = eddy_sync::Condition::new(());
    /// assert_eq!(c.notify(1), 0); // nobody waiting: nothing is stored
    /// ```
    pub fn notify(&self, n: usize) -> usize {
        let mut wakes = WakeList::new();
        let mut woken = 0;
        {
            let mut list = lock(&self.waiters);
            while woken < n && list.notify_front((), &mut wakes) {
                woken += 1;
            }
        }
        wakes.wake_all();
        woken
    }

    /// Wakes every waiter. Returns how many were woken.
    ///
    /// ```
    /// let c = eddy_sync::Condition::new(());
    /// assert_eq!(c.notify_all(), 0);
    /// ```
    pub fn notify_all(&self) -> usize {
        let mut wakes = WakeList::new();
        let n = lock(&self.waiters).notify_all((), &mut wakes);
        wakes.wake_all();
        n
    }
}

/// Future returned by [`Condition::lock_owned`]; cancel safe like
/// [`Mutex::lock`] (dropping it gives up its place in the queue, and passes
/// the lock on if it had already been handed over).
#[must_use = "futures do nothing unless polled"]
pub struct ConditionLockOwnedFuture<T: ?Sized> {
    inner: ArcLockFuture<Condition<T>, T>,
}

impl<T: ?Sized> Future for ConditionLockOwnedFuture<T> {
    type Output = OwnedConditionGuard<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.inner)
            .poll(cx)
            .map(|inner| OwnedConditionGuard { inner })
    }
}

impl<T: ?Sized> fmt::Debug for ConditionLockOwnedFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConditionLockOwnedFuture")
            .finish_non_exhaustive()
    }
}

/// The lock of a [`Condition`], held together with an `Arc` of the
/// condition (`'static`, so it can move into a spawned task); unlocks when
/// dropped, including when the task holding it is cancelled.
///
/// Pass it to [`Condition::wait_owned`] / [`Condition::wait_for_owned`].
///
/// ```
/// use std::sync::Arc;
/// let c = Arc::new(eddy_sync::Condition::new(1));
/// let mut g = c.clone().try_lock_owned().unwrap();
/// *g += 1;
/// assert!(c.mutex().is_locked());
/// drop(g);
/// assert_eq!(*c.mutex().try_lock().unwrap(), 2);
/// ```
#[must_use = "dropping a guard unlocks at once"]
pub struct OwnedConditionGuard<T: ?Sized> {
    inner: ArcGuard<Condition<T>, T>,
}

impl<T: ?Sized> OwnedConditionGuard<T> {
    /// The condition whose lock this guard holds.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use eddy_sync::{Condition, OwnedConditionGuard};
    /// let c = Arc::new(Condition::new(()));
    /// let g = c.clone().try_lock_owned().unwrap();
    /// assert!(Arc::ptr_eq(OwnedConditionGuard::condition(&g), &c));
    /// ```
    pub fn condition(this: &Self) -> &Arc<Condition<T>> {
        this.inner.owner()
    }
}

impl<T: ?Sized> Deref for OwnedConditionGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: ?Sized> DerefMut for OwnedConditionGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedConditionGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

struct PassOn<'a, T: ?Sized> {
    cond: &'a Condition<T>,
    armed: bool,
}

impl<T: ?Sized> Drop for PassOn<'_, T> {
    fn drop(&mut self) {
        if self.armed {
            self.cond.notify(1);
        }
    }
}

struct Notified<'a, T: ?Sized> {
    cond: &'a Condition<T>,
    key: Option<Key>,
}

impl<T: ?Sized> Future for Notified<'_, T> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(key) = self.key else {
            return Poll::Ready(());
        };
        let mut list = lock(&self.cond.waiters);
        if list.is_notified(key) {
            list.remove(key);
            drop(list);
            self.key = None;
            Poll::Ready(())
        } else {
            list.set_waker(key, cx.waker());
            Poll::Pending
        }
    }
}

impl<T: ?Sized> Drop for Notified<'_, T> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        let mut wakes = WakeList::new();
        {
            let mut list = lock(&self.cond.waiters);
            if list.remove(key).is_some() {
                list.notify_front((), &mut wakes);
            }
        }
        wakes.wake_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{CountingWaker, poll_once};

    #[test]
    fn notify_all_wakes_every_waiter() {
        let c = Condition::new(0);
        let w = CountingWaker::new();
        let mut waiters: Vec<_> = (0..5)
            .map(|_| {
                Box::pin(async {
                    let g = c.lock().await;
                    drop(c.wait(g).await);
                })
            })
            .collect();
        for f in &mut waiters {
            assert!(poll_once(f, &w.waker()).is_pending());
        }
        assert_eq!(c.notify_all(), 5);
        for f in &mut waiters {
            assert!(poll_once(f, &w.waker()).is_ready());
        }
    }

    #[test]
    fn cancelled_notified_waiter_passes_notification_on() {
        let c = Condition::new(());
        let w = CountingWaker::new();
        let mk = || {
            Box::pin(async {
                let g = c.lock().await;
                drop(c.wait(g).await);
            })
        };
        let mut a = mk();
        let mut b = mk();
        assert!(poll_once(&mut a, &w.waker()).is_pending());
        assert!(poll_once(&mut b, &w.waker()).is_pending());
        assert_eq!(c.notify(1), 1);
        drop(a);
        assert!(poll_once(&mut b, &w.waker()).is_ready());
    }

    #[test]
    fn cancelled_while_relocking_passes_notification_on() {
        let c = Condition::new(());
        let w = CountingWaker::new();
        let mk = || {
            Box::pin(async {
                let g = c.lock().await;
                drop(c.wait(g).await);
            })
        };
        let mut a = mk();
        let mut b = mk();
        assert!(poll_once(&mut a, &w.waker()).is_pending());
        assert!(poll_once(&mut b, &w.waker()).is_pending());
        let held = c.mutex().try_lock().unwrap();
        c.notify(1);
        // `a` consumes the notification and queues for the lock...
        assert!(poll_once(&mut a, &w.waker()).is_pending());
        // ...then is cancelled: `b` must get the notification instead.
        drop(a);
        drop(held);
        assert!(poll_once(&mut b, &w.waker()).is_ready());
    }

    #[test]
    fn cancelled_owned_waiter_passes_notification_on() {
        let c = Arc::new(Condition::new(()));
        let w = CountingWaker::new();
        let mut owned = Box::pin({
            let c = c.clone();
            async move {
                let g = c.lock_owned().await;
                drop(Condition::wait_owned(g).await);
            }
        });
        let mut borrowed = Box::pin(async {
            let g = c.lock().await;
            drop(c.wait(g).await);
        });
        assert!(poll_once(&mut owned, &w.waker()).is_pending());
        assert!(poll_once(&mut borrowed, &w.waker()).is_pending());
        assert!(!c.mutex().is_locked(), "waiting gives the lock up");
        assert_eq!(c.notify(1), 1);
        drop(owned);
        assert!(poll_once(&mut borrowed, &w.waker()).is_ready());
    }

    #[test]
    fn owned_wait_dropped_before_polling_unlocks() {
        let c = Arc::new(Condition::new(0));
        let g = c.clone().try_lock_owned().unwrap();
        let fut = Condition::wait_owned(g);
        assert!(c.mutex().is_locked());
        drop(fut);
        assert!(!c.mutex().is_locked());
    }

    #[test]
    fn owned_lock_future_handed_the_lock_passes_it_on() {
        let c = Arc::new(Condition::new(()));
        let w = CountingWaker::new();
        let held = c.clone().try_lock_owned().unwrap();
        let mut a = Box::pin(c.clone().lock_owned());
        let mut b = Box::pin(c.clone().lock_owned());
        assert!(poll_once(&mut a, &w.waker()).is_pending());
        assert!(poll_once(&mut b, &w.waker()).is_pending());
        drop(held); // handed to `a`...
        drop(a); // ...which is cancelled before it sees it
        let g = match poll_once(&mut b, &w.waker()) {
            Poll::Ready(g) => g,
            Poll::Pending => panic!("the lock was lost"),
        };
        assert!(Arc::ptr_eq(OwnedConditionGuard::condition(&g), &c));
    }

    #[test]
    fn owned_guard_moves_through_a_wait_on_another_thread() {
        let c = Arc::new(Condition::new(Vec::new()));
        let g = futures_lite::future::block_on(c.clone().lock_owned());
        let t = std::thread::spawn(move || {
            futures_lite::future::block_on(async move {
                let mut g = Condition::wait_for_owned(g, |v: &mut Vec<u32>| v.len() == 2).await;
                g.push(3);
            })
        });
        for i in 1..=2 {
            let mut g = futures_lite::future::block_on(c.lock());
            g.push(i);
            drop(g);
            c.notify_all();
        }
        // Each notify may land before the waiter registers again; keep
        // notifying until it has finished (no timing assumption).
        while !t.is_finished() {
            c.notify_all();
            std::thread::yield_now();
        }
        t.join().unwrap();
        assert_eq!(*c.mutex().try_lock().unwrap(), [1, 2, 3]);
    }
}
