//! A multi-producer, multi-consumer channel where every receiver sees every
//! message (tokio's `broadcast`).
//!
//! The channel keeps the last `capacity` messages. A receiver that falls
//! further behind than that skips the overwritten messages and is told how
//! many it missed with [`RecvError::Lagged`]. Messages are cloned out to each
//! receiver. When every sender is gone, receivers drain what is left and then
//! see [`RecvError::Closed`].
//!
//! ```
//! futures_lite::future::block_on(async {
//!     let (tx, mut rx1) = eddy_sync::broadcast::channel(16);
//!     let mut rx2 = tx.subscribe();
//!     tx.send(10).unwrap();
//!     assert_eq!(rx1.recv().await, Ok(10));
//!     assert_eq!(rx2.recv().await, Ok(10));
//! });
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_lite::Stream;

use crate::waitlist::{Key, WaitList, WakeList, lock};

struct State<T> {
    buf: VecDeque<T>,
    /// Position of `buf[0]` in the message sequence.
    head: u64,
    senders: usize,
    receivers: usize,
    waiters: WaitList<()>,
}

impl<T> State<T> {
    fn tail(&self) -> u64 {
        self.head + self.buf.len() as u64
    }
}

struct Shared<T> {
    cap: usize,
    state: Mutex<State<T>>,
}

/// Creates a channel keeping the last `capacity` messages (0 is treated as
/// 1), and its first receiver.
///
/// ```
/// let (tx, _rx) = eddy_sync::broadcast::channel::<u8>(4);
/// assert_eq!(tx.receiver_count(), 1);
/// ```
pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        cap: capacity.max(1),
        state: Mutex::new(State {
            buf: VecDeque::new(),
            head: 0,
            senders: 1,
            receivers: 1,
            waiters: WaitList::new(),
        }),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver {
            shared,
            next: 0,
            key: None,
        },
    )
}

/// The sending half; clone it for more producers.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// A receiving half; each has its own position. A `Stream` of
/// `Result<T, RecvError>` that ends at [`RecvError::Closed`].
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    next: u64,
    key: Option<Key>,
}

/// No receiver exists; holds the message.
///
/// ```
/// let (tx, rx) = eddy_sync::broadcast::channel(1);
/// drop(rx);
/// assert_eq!(tx.send(3).unwrap_err().0, 3);
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
        f.write_str("no broadcast receivers")
    }
}

impl<T> std::error::Error for SendError<T> {}

/// Why [`Receiver::recv`] returned no message.
///
/// ```
/// use eddy_sync::broadcast::{channel, RecvError};
/// futures_lite::future::block_on(async {
///     let (tx, mut rx) = channel(1);
///     tx.send(1).unwrap();
///     tx.send(2).unwrap(); // overwrites 1
///     assert_eq!(rx.recv().await, Err(RecvError::Lagged(1)));
///     assert_eq!(rx.recv().await, Ok(2));
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecvError {
    /// Every sender is gone and the receiver has seen everything.
    Closed,
    /// The receiver fell behind and this many messages were skipped; the
    /// next `recv` returns the oldest message still kept.
    Lagged(u64),
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvError::Closed => f.write_str("broadcast channel closed"),
            RecvError::Lagged(n) => write!(f, "broadcast receiver lagged by {n} messages"),
        }
    }
}

impl std::error::Error for RecvError {}

/// Why [`Receiver::try_recv`] returned no message.
///
/// ```
/// use eddy_sync::broadcast::{channel, TryRecvError};
/// let (_tx, mut rx) = channel::<u8>(1);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing new yet.
    Empty,
    /// Every sender is gone and the receiver has seen everything.
    Closed,
    /// Messages were skipped (see [`RecvError::Lagged`]).
    Lagged(u64),
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("broadcast channel empty"),
            TryRecvError::Closed => f.write_str("broadcast channel closed"),
            TryRecvError::Lagged(n) => write!(f, "broadcast receiver lagged by {n} messages"),
        }
    }
}

impl std::error::Error for TryRecvError {}

impl<T: Clone> Sender<T> {
    /// Sends to every current receiver; returns how many there are. Never
    /// waits: the oldest message is overwritten when the buffer is full.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if there is no receiver.
    ///
    /// ```
    /// let (tx, _rx) = eddy_sync::broadcast::channel(1);
    /// assert_eq!(tx.send(()).unwrap(), 1);
    /// ```
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        let mut wakes = WakeList::new();
        let (n, evicted) = {
            let mut s = lock(&self.shared.state);
            if s.receivers == 0 {
                return Err(SendError(value));
            }
            s.buf.push_back(value);
            let evicted = if s.buf.len() > self.shared.cap {
                s.head += 1;
                s.buf.pop_front()
            } else {
                None
            };
            s.waiters.notify_all((), &mut wakes);
            (s.receivers, evicted)
        };
        wakes.wake_all();
        drop(evicted);
        Ok(n)
    }

    /// A new receiver that sees messages sent from now on.
    ///
    /// ```
    /// let (tx, _rx) = eddy_sync::broadcast::channel::<u8>(1);
    /// let _rx2 = tx.subscribe();
    /// assert_eq!(tx.receiver_count(), 2);
    /// ```
    pub fn subscribe(&self) -> Receiver<T> {
        let mut s = lock(&self.shared.state);
        s.receivers += 1;
        Receiver {
            shared: self.shared.clone(),
            next: s.tail(),
            key: None,
        }
    }

    /// Number of live receivers.
    ///
    /// ```
    /// let (tx, rx) = eddy_sync::broadcast::channel::<u8>(1);
    /// drop(rx);
    /// assert_eq!(tx.receiver_count(), 0);
    /// ```
    pub fn receiver_count(&self) -> usize {
        lock(&self.shared.state).receivers
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        lock(&self.shared.state).senders += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut wakes = WakeList::new();
        {
            let mut s = lock(&self.shared.state);
            s.senders -= 1;
            if s.senders == 0 {
                s.waiters.notify_all((), &mut wakes);
            }
        }
        wakes.wake_all();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Sender").finish_non_exhaustive()
    }
}

impl<T: Clone> Receiver<T> {
    fn take(&mut self, s: &State<T>) -> Option<Result<T, TryRecvError>> {
        if self.next < s.head {
            let missed = s.head - self.next;
            self.next = s.head;
            return Some(Err(TryRecvError::Lagged(missed)));
        }
        if self.next < s.tail() {
            let v = s.buf[(self.next - s.head) as usize].clone();
            self.next += 1;
            return Some(Ok(v));
        }
        if s.senders == 0 {
            return Some(Err(TryRecvError::Closed));
        }
        None
    }

    /// Receives the next message without waiting.
    ///
    /// # Errors
    ///
    /// See [`TryRecvError`].
    ///
    /// ```
    /// let (tx, mut rx) = eddy_sync::broadcast::channel(2);
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let shared = self.shared.clone();
        let s = lock(&shared.state);
        self.take(&s).unwrap_or(Err(TryRecvError::Empty))
    }

    /// Poll form of [`recv`](Self::recv).
    ///
    /// ```
    /// use std::task::{Context, Poll, Waker};
    /// let (tx, mut rx) = eddy_sync::broadcast::channel(2);
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert!(rx.poll_recv(&mut cx).is_pending());
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Ok(1)));
    /// ```
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, RecvError>> {
        let shared = self.shared.clone();
        let mut s = lock(&shared.state);
        // A fresh registration per wait keeps this simple; sends wake every
        // waiter, so a receiver's place in the list does not matter.
        if let Some(k) = self.key.take() {
            s.waiters.remove(k);
        }
        match self.take(&s) {
            Some(Ok(v)) => Poll::Ready(Ok(v)),
            Some(Err(TryRecvError::Lagged(n))) => Poll::Ready(Err(RecvError::Lagged(n))),
            Some(Err(_)) => Poll::Ready(Err(RecvError::Closed)),
            None => {
                self.key = Some(s.waiters.push_back((), Some(cx.waker().clone())));
                Poll::Pending
            }
        }
    }

    /// Waits for the next message.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the receiver's position only moves in the poll that
    /// returns a message, so dropping the future loses nothing.
    ///
    /// # Errors
    ///
    /// See [`RecvError`].
    ///
    /// ```
    /// futures_lite::future::block_on(async {
    ///     let (tx, mut rx) = eddy_sync::broadcast::channel(2);
    ///     tx.send("hi").unwrap();
    ///     drop(tx);
    ///     assert_eq!(rx.recv().await, Ok("hi"));
    ///     assert!(rx.recv().await.is_err());
    /// });
    /// ```
    pub fn recv(&mut self) -> Recv<'_, T> {
        Recv { rx: self }
    }

    /// A new receiver positioned at the newest end (like subscribing again).
    ///
    /// ```
    /// let (tx, rx) = eddy_sync::broadcast::channel(2);
    /// tx.send(1).unwrap();
    /// let mut rx2 = rx.resubscribe();
    /// assert!(rx2.try_recv().is_err());
    /// ```
    pub fn resubscribe(&self) -> Receiver<T> {
        let mut s = lock(&self.shared.state);
        s.receivers += 1;
        Receiver {
            shared: self.shared.clone(),
            next: s.tail(),
            key: None,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut s = lock(&self.shared.state);
        s.receivers -= 1;
        if let Some(k) = self.key.take() {
            s.waiters.remove(k);
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Receiver")
            .field("next", &self.next)
            .finish()
    }
}

impl<T: Clone> Stream for Receiver<T> {
    type Item = Result<T, RecvError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.get_mut().poll_recv(cx) {
            Poll::Ready(Err(RecvError::Closed)) => Poll::Ready(None),
            Poll::Ready(r) => Poll::Ready(Some(r)),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Future returned by [`Receiver::recv`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Recv<'a, T> {
    rx: &'a mut Receiver<T>,
}

impl<T: Clone> Future for Recv<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.rx.poll_recv(cx)
    }
}
