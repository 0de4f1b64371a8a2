//! asyncio's `Condition`, bound to its lock.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex as StdMutex;
use std::task::{Context, Poll};

use crate::mutex::{LockFuture, Mutex, MutexGuard};
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
        let key = lock(&self.waiters).push_back((), None);
        let mut notified = Notified {
            cond: self,
            key: Some(key),
        };
        drop(guard);
        (&mut notified).await;
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
}
