//! A single-value channel that keeps only the latest value (tokio's
//! `watch`).
//!
//! Receivers read the current value with [`Receiver::borrow`] and wait for
//! the next change with [`Receiver::changed`]; intermediate values may be
//! skipped. Each receiver remembers the version it last saw.
//!
//! ```
//! futures_lite::future::block_on(async {
//!     let (tx, mut rx) = eddy_sync::watch::channel("idle");
//!     tx.send("busy").unwrap();
//!     rx.changed().await.unwrap();
//!     assert_eq!(*rx.borrow_and_update(), "busy");
//! });
//! ```

use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
use std::task::{Context, Poll};

use futures_lite::Stream;

use crate::waitlist::{Key, WaitList, WakeList, lock};

struct State {
    sender_alive: bool,
    receivers: usize,
    waiters: WaitList<()>,
    /// Tasks in `Sender::closed`.
    close_waiters: WaitList<()>,
}

struct Shared<T> {
    value: RwLock<T>,
    /// Bumped (under the value's write lock) on every send.
    version: AtomicU64,
    state: Mutex<State>,
}

/// Creates a watch channel holding `init`.
///
/// ```
/// let (_tx, rx) = eddy_sync::watch::channel(1);
/// assert_eq!(*rx.borrow(), 1);
/// ```
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        value: RwLock::new(init),
        version: AtomicU64::new(0),
        state: Mutex::new(State {
            sender_alive: true,
            receivers: 1,
            waiters: WaitList::new(),
            close_waiters: WaitList::new(),
        }),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver {
            shared,
            seen: 0,
            key: None,
        },
    )
}

/// The sending half (one per channel).
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// A receiving half; clone it for more.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    seen: u64,
    key: Option<Key>,
}

/// A read lock on the current value; keep it short (it blocks `send`).
///
/// ```
/// let (_tx, rx) = eddy_sync::watch::channel(vec![1, 2]);
/// let r: eddy_sync::watch::Ref<'_, Vec<i32>> = rx.borrow();
/// assert_eq!(r.len(), 2);
/// ```
pub struct Ref<'a, T> {
    guard: RwLockReadGuard<'a, T>,
}

impl<T> Deref for Ref<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// No receiver exists; holds the value.
///
/// ```
/// let (tx, rx) = eddy_sync::watch::channel(0);
/// drop(rx);
/// assert_eq!(tx.send(1).unwrap_err().0, 1);
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SendError<T>(pub T);

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no watch receivers")
    }
}

impl<T> std::error::Error for SendError<T> {}

/// The sender is gone; no change can come any more.
///
/// ```
/// let (tx, mut rx) = eddy_sync::watch::channel(0);
/// drop(tx);
/// assert!(futures_lite::future::block_on(rx.changed()).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvError(());

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("watch sender dropped")
    }
}

impl std::error::Error for RecvError {}

fn notify_all(state: &Mutex<State>) {
    let mut wakes = WakeList::new();
    lock(state).waiters.notify_all((), &mut wakes);
    wakes.wake_all();
}

impl<T> Sender<T> {
    /// Replaces the value and notifies receivers.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value (and nothing changes) if there is no
    /// receiver; see [`send_replace`](Self::send_replace) to store anyway.
    ///
    /// ```
    /// let (tx, rx) = eddy_sync::watch::channel(0);
    /// tx.send(5).unwrap();
    /// assert_eq!(*rx.borrow(), 5);
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if lock(&self.shared.state).receivers == 0 {
            return Err(SendError(value));
        }
        self.send_replace(value);
        Ok(())
    }

    /// Replaces the value even with no receivers; returns the old value.
    ///
    /// ```
    /// let (tx, _rx) = eddy_sync::watch::channel(1);
    /// assert_eq!(tx.send_replace(2), 1);
    /// ```
    pub fn send_replace(&self, value: T) -> T {
        let old = {
            let mut v = self.shared.value.write().unwrap_or_else(|e| e.into_inner());
            self.shared.version.fetch_add(1, Ordering::AcqRel);
            std::mem::replace(&mut *v, value)
        };
        notify_all(&self.shared.state);
        old
    }

    /// Modifies the value in place and notifies receivers.
    ///
    /// ```
    /// let (tx, rx) = eddy_sync::watch::channel(vec![1]);
    /// tx.send_modify(|v| v.push(2));
    /// assert_eq!(*rx.borrow(), [1, 2]);
    /// ```
    pub fn send_modify<F: FnOnce(&mut T)>(&self, modify: F) {
        {
            let mut v = self.shared.value.write().unwrap_or_else(|e| e.into_inner());
            modify(&mut v);
            self.shared.version.fetch_add(1, Ordering::AcqRel);
        }
        notify_all(&self.shared.state);
    }

    /// The current value.
    ///
    /// ```
    /// let (tx, _rx) = eddy_sync::watch::channel(3);
    /// assert_eq!(*tx.borrow(), 3);
    /// ```
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            guard: self.shared.value.read().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// A new receiver that has seen the current value.
    ///
    /// ```
    /// let (tx, rx) = eddy_sync::watch::channel(0);
    /// drop(rx);
    /// let rx = tx.subscribe();
    /// assert_eq!(tx.receiver_count(), 1);
    /// assert!(!rx.has_changed().unwrap());
    /// ```
    pub fn subscribe(&self) -> Receiver<T> {
        lock(&self.shared.state).receivers += 1;
        let seen = self.shared.version.load(Ordering::Acquire);
        Receiver {
            shared: self.shared.clone(),
            seen,
            key: None,
        }
    }

    /// Number of live receivers.
    ///
    /// ```
    /// let (tx, rx) = eddy_sync::watch::channel(0);
    /// let _rx2 = rx.clone();
    /// assert_eq!(tx.receiver_count(), 2);
    /// ```
    pub fn receiver_count(&self) -> usize {
        lock(&self.shared.state).receivers
    }

    /// Whether every receiver is gone.
    ///
    /// ```
    /// let (tx, rx) = eddy_sync::watch::channel(0);
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.receiver_count() == 0
    }

    /// Waits until every receiver is gone. Cancel safe (it only observes).
    ///
    /// ```
    /// let (tx, rx) = eddy_sync::watch::channel(0);
    /// drop(rx);
    /// futures_lite::future::block_on(tx.closed());
    /// ```
    pub async fn closed(&self) {
        struct Waiter<'a, T> {
            shared: &'a Shared<T>,
            key: Option<Key>,
        }
        impl<T> Drop for Waiter<'_, T> {
            fn drop(&mut self) {
                if let Some(k) = self.key.take() {
                    lock(&self.shared.state).close_waiters.remove(k);
                }
            }
        }
        let mut w = Waiter {
            shared: &self.shared,
            key: None,
        };
        std::future::poll_fn(|cx| {
            let mut s = lock(&w.shared.state);
            if let Some(k) = w.key.take() {
                s.close_waiters.remove(k);
            }
            if s.receivers == 0 {
                Poll::Ready(())
            } else {
                w.key = Some(s.close_waiters.push_back((), Some(cx.waker().clone())));
                Poll::Pending
            }
        })
        .await
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut wakes = WakeList::new();
        {
            let mut s = lock(&self.shared.state);
            s.sender_alive = false;
            s.waiters.notify_all((), &mut wakes);
        }
        wakes.wake_all();
    }
}

impl<T: fmt::Debug> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Sender")
            .field("value", &*self.borrow())
            .finish()
    }
}

impl<T> Receiver<T> {
    /// The current value (does not mark it seen).
    ///
    /// ```
    /// let (tx, rx) = eddy_sync::watch::channel(0);
    /// tx.send(1).unwrap();
    /// assert_eq!(*rx.borrow(), 1);
    /// assert!(rx.has_changed().unwrap());
    /// ```
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            guard: self.shared.value.read().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// The current value, marking it seen.
    ///
    /// ```
    /// let (tx, mut rx) = eddy_sync::watch::channel(0);
    /// tx.send(1).unwrap();
    /// assert_eq!(*rx.borrow_and_update(), 1);
    /// assert!(!rx.has_changed().unwrap());
    /// ```
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        let guard = self.shared.value.read().unwrap_or_else(|e| e.into_inner());
        // The version only moves under the write lock, so this matches the
        // value we hold.
        self.seen = self.shared.version.load(Ordering::Acquire);
        Ref { guard }
    }

    /// Whether a value newer than the last seen one was sent.
    ///
    /// # Errors
    ///
    /// [`RecvError`] if the sender is gone.
    ///
    /// ```
    /// let (tx, rx) = eddy_sync::watch::channel(0);
    /// assert!(!rx.has_changed().unwrap());
    /// tx.send(1).unwrap();
    /// assert!(rx.has_changed().unwrap());
    /// ```
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        if !lock(&self.shared.state).sender_alive {
            return Err(RecvError(()));
        }
        Ok(self.shared.version.load(Ordering::Acquire) != self.seen)
    }

    /// Marks the current value seen.
    ///
    /// ```
    /// let (tx, mut rx) = eddy_sync::watch::channel(0);
    /// tx.send(1).unwrap();
    /// rx.mark_unchanged();
    /// assert!(!rx.has_changed().unwrap());
    /// ```
    pub fn mark_unchanged(&mut self) {
        self.seen = self.shared.version.load(Ordering::Acquire);
    }

    /// Poll form of [`changed`](Self::changed).
    ///
    /// ```
    /// use std::task::{Context, Waker};
    /// let (tx, mut rx) = eddy_sync::watch::channel(0);
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert!(rx.poll_changed(&mut cx).is_pending());
    /// tx.send(1).unwrap();
    /// assert!(rx.poll_changed(&mut cx).is_ready());
    /// ```
    pub fn poll_changed(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), RecvError>> {
        let shared = self.shared.clone();
        let mut s = lock(&shared.state);
        if let Some(k) = self.key.take() {
            s.waiters.remove(k);
        }
        // Read under the state lock: a send bumps the version before it takes
        // this lock to notify, so either we see the bump or it sees us.
        let version = shared.version.load(Ordering::Acquire);
        if version != self.seen {
            self.seen = version;
            return Poll::Ready(Ok(()));
        }
        if !s.sender_alive {
            return Poll::Ready(Err(RecvError(())));
        }
        self.key = Some(s.waiters.push_back((), Some(cx.waker().clone())));
        Poll::Pending
    }

    /// Waits for a value newer than the last seen one, and marks it seen.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the seen version only moves in the poll that returns, so
    /// a dropped `changed` loses no change.
    ///
    /// # Errors
    ///
    /// [`RecvError`] if the sender is gone and nothing newer was sent.
    ///
    /// ```
    /// let (tx, mut rx) = eddy_sync::watch::channel(0);
    /// let t = std::thread::spawn(move || tx.send(1).unwrap());
    /// futures_lite::future::block_on(rx.changed()).unwrap();
    /// assert_eq!(*rx.borrow(), 1);
    /// t.join().unwrap();
    /// ```
    pub fn changed(&mut self) -> Changed<'_, T> {
        Changed { rx: self }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        lock(&self.shared.state).receivers += 1;
        Receiver {
            shared: self.shared.clone(),
            seen: self.seen,
            key: None,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut wakes = WakeList::new();
        {
            let mut s = lock(&self.shared.state);
            if let Some(k) = self.key.take() {
                s.waiters.remove(k);
            }
            s.receivers -= 1;
            if s.receivers == 0 {
                s.close_waiters.notify_all((), &mut wakes);
            }
        }
        wakes.wake_all();
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Receiver")
            .field("seen", &self.seen)
            .finish()
    }
}

/// Yields a clone of the value after each change; ends when the sender is
/// gone.
///
/// ```
/// use futures_lite::StreamExt;
/// futures_lite::future::block_on(async {
///     let (tx, mut rx) = eddy_sync::watch::channel(0);
///     tx.send(1).unwrap();
///     assert_eq!(rx.next().await, Some(1));
///     drop(tx);
///     assert_eq!(rx.next().await, None);
/// });
/// ```
impl<T: Clone> Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        match this.poll_changed(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(_)) => Poll::Ready(None),
            Poll::Ready(Ok(())) => Poll::Ready(Some(this.borrow_and_update().clone())),
        }
    }
}

/// Future returned by [`Receiver::changed`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Changed<'a, T> {
    rx: &'a mut Receiver<T>,
}

impl<T> Future for Changed<'_, T> {
    type Output = Result<(), RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.rx.poll_changed(cx)
    }
}
