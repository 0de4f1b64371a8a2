//! asyncio's `Event`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use crate::waitlist::{Key, WaitList, WakeList, lock};

/// A flag tasks can wait on (asyncio's `Event`).
///
/// [`set`](Self::set) wakes every current waiter and lets future waits
/// return at once until [`clear`](Self::clear) is called. A waiter that was
/// woken by `set` completes even if the event is cleared before it runs
/// (as in asyncio).
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// let ev = Arc::new(eddy_sync::Event::new());
/// let ev2 = ev.clone();
/// let t = std::thread::spawn(move || futures_lite::future::block_on(ev2.wait()));
/// ev.set();
/// t.join().unwrap();
/// assert!(ev.is_set());
/// ```
pub struct Event {
    flag: AtomicBool,
    waiters: Mutex<WaitList<()>>,
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("is_set", &self.is_set())
            .finish()
    }
}

impl Default for Event {
    fn default() -> Self {
        Event::new()
    }
}

impl Event {
    /// A new, unset event.
    ///
    /// ```
    /// static READY: eddy_sync::Event = eddy_sync::Event::new();
    /// assert!(!READY.is_set());
    /// ```
    pub const fn new() -> Self {
        Event {
            flag: AtomicBool::new(false),
            waiters: Mutex::new(WaitList::new()),
        }
    }

    /// Whether the event is set.
    ///
    /// ```
    /// let ev = eddy_sync::Event::new();
    /// ev.set();
    /// assert!(ev.is_set());
    /// ```
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::Acquire)
    }

    /// Sets the flag and wakes every waiter.
    ///
    /// ```
    /// let ev = eddy_sync::Event::new();
    /// ev.set();
    /// futures_lite::future::block_on(ev.wait()); // returns at once
    /// ```
    pub fn set(&self) {
        if self.flag.swap(true, Ordering::AcqRel) {
            return;
        }
        let mut wakes = WakeList::new();
        lock(&self.waiters).notify_all((), &mut wakes);
        wakes.wake_all();
    }

    /// Clears the flag; later waits block until the next [`set`](Self::set).
    ///
    /// ```
    /// let ev = eddy_sync::Event::new();
    /// ev.set();
    /// ev.clear();
    /// assert!(!ev.is_set());
    /// ```
    pub fn clear(&self) {
        self.flag.store(false, Ordering::Release);
    }

    /// Waits until the event is set; returns at once if it already is.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe. `set` wakes every waiter, so a dropped waiter has nothing
    /// to pass on; dropping it just leaves the list.
    ///
    /// ```
    /// let ev = eddy_sync::Event::new();
    /// ev.set();
    /// futures_lite::future::block_on(ev.wait());
    /// ```
    pub fn wait(&self) -> EventWait<'_> {
        EventWait {
            event: self,
            key: None,
        }
    }
}

/// Future returned by [`Event::wait`].
#[must_use = "futures do nothing unless polled"]
pub struct EventWait<'a> {
    event: &'a Event,
    key: Option<Key>,
}

impl fmt::Debug for EventWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventWait").finish_non_exhaustive()
    }
}

impl Future for EventWait<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let ev = self.event;
        match self.key {
            None => {
                if ev.is_set() {
                    return Poll::Ready(());
                }
                let mut list = lock(&ev.waiters);
                // `set` stores the flag before taking this lock, so checking
                // again under it closes the race with a concurrent `set`.
                if ev.is_set() {
                    return Poll::Ready(());
                }
                self.key = Some(list.push_back((), Some(cx.waker().clone())));
                Poll::Pending
            }
            Some(key) => {
                let mut list = lock(&ev.waiters);
                if list.is_notified(key) {
                    list.remove(key);
                    drop(list);
                    self.key = None;
                    return Poll::Ready(());
                }
                list.set_waker(key, cx.waker());
                Poll::Pending
            }
        }
    }
}

impl Drop for EventWait<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            lock(&self.event.waiters).remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{CountingWaker, poll_once};

    #[test]
    fn woken_waiter_completes_even_if_cleared() {
        let ev = Event::new();
        let w = CountingWaker::new();
        let mut a = Box::pin(ev.wait());
        let mut b = Box::pin(ev.wait());
        assert!(poll_once(&mut a, &w.waker()).is_pending());
        assert!(poll_once(&mut b, &w.waker()).is_pending());
        ev.set();
        ev.clear();
        assert_eq!(w.count(), 2);
        assert!(poll_once(&mut a, &w.waker()).is_ready());
        assert!(poll_once(&mut b, &w.waker()).is_ready());
        let mut c = Box::pin(ev.wait());
        assert!(poll_once(&mut c, &w.waker()).is_pending());
    }
}
