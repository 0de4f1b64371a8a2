//! Multi-producer, single-consumer channels, bounded and unbounded.
//!
//! Close semantics (tokio's): when every sender is dropped, or the receiver
//! calls [`Receiver::close`], the receiver first drains what is buffered and
//! then sees the end (`None`). A send on a closed channel fails and hands the
//! value back. The receiver is a `Stream`.
//!
//! ```
//! use futures_lite::StreamExt;
//! futures_lite::future::block_on(async {
//!     let (tx, rx) = eddy_sync::mpsc::channel(2);
//!     let producers: Vec<_> = (0..3)
//!         .map(|i| {
//!             let tx = tx.clone();
//!             std::thread::spawn(move || futures_lite::future::block_on(tx.send(i)).unwrap())
//!         })
//!         .collect();
//!     drop(tx);
//!     let mut got: Vec<i32> = rx.collect().await;
//!     got.sort();
//!     assert_eq!(got, [0, 1, 2]);
//!     for p in producers {
//!         p.join().unwrap();
//!     }
//! });
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use futures_lite::Stream;

use crate::waitlist::{Key, WaitList, WakeList, lock};

struct State<T> {
    buf: VecDeque<T>,
    senders: usize,
    rx_closed: bool,
    rx_waker: Option<Waker>,
    /// Senders waiting for room (bounded only).
    send_waiters: WaitList<()>,
    /// Tasks in `Sender::closed`.
    close_waiters: WaitList<()>,
}

struct Chan<T> {
    /// `usize::MAX` for unbounded.
    cap: usize,
    state: Mutex<State<T>>,
}

impl<T> Chan<T> {
    fn new(cap: usize) -> Arc<Self> {
        Arc::new(Chan {
            cap,
            state: Mutex::new(State {
                buf: VecDeque::new(),
                senders: 1,
                rx_closed: false,
                rx_waker: None,
                send_waiters: WaitList::new(),
                close_waiters: WaitList::new(),
            }),
        })
    }

    /// Pushes if there is room. The receiver's waker is moved to `wakes`.
    fn try_push(
        &self,
        s: &mut State<T>,
        value: T,
        wakes: &mut WakeList,
    ) -> Result<(), TrySendError<T>> {
        if s.rx_closed {
            return Err(TrySendError::Closed(value));
        }
        if s.buf.len() >= self.cap {
            return Err(TrySendError::Full(value));
        }
        s.buf.push_back(value);
        if let Some(w) = s.rx_waker.take() {
            wakes.push(w);
        }
        Ok(())
    }

    fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let mut wakes = WakeList::new();
        let r = self.try_push(&mut lock(&self.state), value, &mut wakes);
        wakes.wake_all();
        r
    }

    fn add_sender(&self) {
        lock(&self.state).senders += 1;
    }

    fn drop_sender(&self) {
        let waker;
        {
            let mut s = lock(&self.state);
            s.senders -= 1;
            if s.senders != 0 {
                return;
            }
            waker = s.rx_waker.take();
        }
        if let Some(w) = waker {
            w.wake();
        }
    }

    fn is_closed(&self) -> bool {
        lock(&self.state).rx_closed
    }

    fn close(&self) {
        let mut wakes = WakeList::new();
        {
            let mut s = lock(&self.state);
            s.rx_closed = true;
            if let Some(w) = s.rx_waker.take() {
                wakes.push(w);
            }
            s.send_waiters.notify_all((), &mut wakes);
            s.close_waiters.notify_all((), &mut wakes);
        }
        wakes.wake_all();
    }

    fn poll_closed(&self, key: &mut Option<Key>, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = lock(&self.state);
        if let Some(k) = *key {
            if s.close_waiters.is_notified(k) {
                s.close_waiters.remove(k);
                *key = None;
                return Poll::Ready(());
            }
            s.close_waiters.set_waker(k, cx.waker());
            return Poll::Pending;
        }
        if s.rx_closed {
            return Poll::Ready(());
        }
        *key = Some(s.close_waiters.push_back((), Some(cx.waker().clone())));
        Poll::Pending
    }

    fn drop_closed_waiter(&self, key: &mut Option<Key>) {
        if let Some(k) = key.take() {
            lock(&self.state).close_waiters.remove(k);
        }
    }
}

/// Creates a bounded channel holding at most `capacity` messages; `send`
/// waits while it is full. A `capacity` of 0 is treated as 1.
///
/// ```
/// let (tx, mut rx) = eddy_sync::mpsc::channel(1);
/// tx.try_send(1).unwrap();
/// assert!(tx.try_send(2).is_err());
/// assert_eq!(rx.try_recv(), Ok(1));
/// ```
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let chan = Chan::new(capacity.max(1));
    (Sender { chan: chan.clone() }, Receiver { chan })
}

/// Creates an unbounded channel: sending never waits.
///
/// ```
/// let (tx, mut rx) = eddy_sync::mpsc::unbounded_channel();
/// for i in 0..1000 {
///     tx.send(i).unwrap();
/// }
/// assert_eq!(rx.len(), 1000);
/// ```
pub fn unbounded_channel<T>() -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    let chan = Chan::new(usize::MAX);
    (UnboundedSender { chan: chan.clone() }, Receiver { chan })
}

/// The sending half of a bounded channel; clone it for more producers.
pub struct Sender<T> {
    chan: Arc<Chan<T>>,
}

/// The sending half of an unbounded channel.
pub struct UnboundedSender<T> {
    chan: Arc<Chan<T>>,
}

/// The receiving half (of either flavour). A `Stream` of messages.
pub struct Receiver<T> {
    chan: Arc<Chan<T>>,
}

/// The receiving half of an unbounded channel (the same type as
/// [`Receiver`]).
///
/// ```
/// let (_tx, rx): (_, eddy_sync::mpsc::UnboundedReceiver<u8>) =
///     eddy_sync::mpsc::unbounded_channel();
/// assert!(rx.is_empty());
/// ```
pub type UnboundedReceiver<T> = Receiver<T>;

/// The channel is closed; holds the value that was not sent.
///
/// ```
/// let (tx, rx) = eddy_sync::mpsc::unbounded_channel();
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
        f.write_str("channel closed")
    }
}

impl<T> std::error::Error for SendError<T> {}

/// Why [`Sender::try_send`] failed; holds the value.
///
/// ```
/// use eddy_sync::mpsc::{channel, TrySendError};
/// let (tx, _rx) = channel(1);
/// tx.try_send(1).unwrap();
/// assert!(matches!(tx.try_send(2), Err(TrySendError::Full(2))));
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// No room right now.
    Full(T),
    /// The receiver is closed or gone.
    Closed(T),
}

impl<T> TrySendError<T> {
    /// The value that was not sent.
    ///
    /// ```
    /// assert_eq!(eddy_sync::mpsc::TrySendError::Closed(4).into_inner(), 4);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(t) | TrySendError::Closed(t) => t,
        }
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("channel full"),
            TrySendError::Closed(_) => f.write_str("channel closed"),
        }
    }
}

impl<T> std::error::Error for TrySendError<T> {}

/// Why [`Receiver::try_recv`] returned nothing.
///
/// ```
/// use eddy_sync::mpsc::{channel, TryRecvError};
/// let (tx, mut rx) = channel::<u8>(1);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// drop(tx);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing buffered, but senders remain.
    Empty,
    /// Nothing buffered and no message can arrive any more.
    Disconnected,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("channel empty"),
            TryRecvError::Disconnected => f.write_str("channel disconnected"),
        }
    }
}

impl std::error::Error for TryRecvError {}

impl<T> Sender<T> {
    /// Sends `value`, waiting while the channel is full.
    ///
    /// # Cancel safety
    ///
    /// If the future is dropped before completing, the value was not sent
    /// and is dropped with the future; the channel is unchanged. A dropped
    /// sender that had been woken for free room passes the wake-up on.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if the receiver is closed or gone (also
    /// if that happens while waiting).
    ///
    /// ```
    /// futures_lite::future::block_on(async {
    ///     let (tx, mut rx) = eddy_sync::mpsc::channel(1);
    ///     tx.send("a").await.unwrap();
    ///     assert_eq!(rx.recv().await, Some("a"));
    /// });
    /// ```
    pub fn send(&self, value: T) -> Send<'_, T> {
        Send {
            chan: &self.chan,
            value: Some(value),
            key: None,
        }
    }

    /// Sends without waiting.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] or [`TrySendError::Closed`], with the value.
    ///
    /// ```
    /// let (tx, _rx) = eddy_sync::mpsc::channel(1);
    /// assert!(tx.try_send(1).is_ok());
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.chan.try_send(value)
    }

    /// Whether the receiver is closed or gone.
    ///
    /// ```
    /// let (tx, rx) = eddy_sync::mpsc::channel::<u8>(1);
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Waits until the receiver is closed or dropped. Cancel safe (it only
    /// observes).
    ///
    /// ```
    /// let (tx, rx) = eddy_sync::mpsc::channel::<u8>(1);
    /// drop(rx);
    /// futures_lite::future::block_on(tx.closed());
    /// ```
    pub fn closed(&self) -> Closed<'_, T> {
        Closed {
            chan: &self.chan,
            key: None,
        }
    }

    /// The channel's capacity.
    ///
    /// ```
    /// let (tx, _rx) = eddy_sync::mpsc::channel::<u8>(8);
    /// assert_eq!(tx.max_capacity(), 8);
    /// ```
    pub fn max_capacity(&self) -> usize {
        self.chan.cap
    }
}

impl<T> UnboundedSender<T> {
    /// Sends `value` at once.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if the receiver is closed or gone.
    ///
    /// ```
    /// let (tx, mut rx) = eddy_sync::mpsc::unbounded_channel();
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.chan
            .try_send(value)
            .map_err(|e| SendError(e.into_inner()))
    }

    /// Whether the receiver is closed or gone.
    ///
    /// ```
    /// let (tx, mut rx) = eddy_sync::mpsc::unbounded_channel::<u8>();
    /// rx.close();
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Waits until the receiver is closed or dropped. Cancel safe.
    ///
    /// ```
    /// let (tx, rx) = eddy_sync::mpsc::unbounded_channel::<u8>();
    /// drop(rx);
    /// futures_lite::future::block_on(tx.closed());
    /// ```
    pub fn closed(&self) -> Closed<'_, T> {
        Closed {
            chan: &self.chan,
            key: None,
        }
    }
}

macro_rules! sender_common {
    ($ty:ident) => {
        impl<T> Clone for $ty<T> {
            fn clone(&self) -> Self {
                self.chan.add_sender();
                $ty {
                    chan: self.chan.clone(),
                }
            }
        }

        impl<T> Drop for $ty<T> {
            fn drop(&mut self) {
                self.chan.drop_sender();
            }
        }

        impl<T> fmt::Debug for $ty<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(concat!("mpsc::", stringify!($ty)))
                    .field("closed", &self.is_closed())
                    .finish()
            }
        }
    };
}

sender_common!(Sender);
sender_common!(UnboundedSender);

impl<T> Receiver<T> {
    /// Receives the next message; `None` once the channel is closed (all
    /// senders gone, or [`close`](Self::close) called) and drained.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a message leaves the channel only in the poll that
    /// returns it, so dropping the future loses nothing.
    ///
    /// ```
    /// futures_lite::future::block_on(async {
    ///     let (tx, mut rx) = eddy_sync::mpsc::unbounded_channel();
    ///     tx.send(1).unwrap();
    ///     drop(tx);
    ///     assert_eq!(rx.recv().await, Some(1));
    ///     assert_eq!(rx.recv().await, None);
    /// });
    /// ```
    pub fn recv(&mut self) -> Recv<'_, T> {
        Recv { rx: self }
    }

    /// Poll form of [`recv`](Self::recv).
    ///
    /// ```
    /// use std::task::{Context, Poll, Waker};
    /// let (tx, mut rx) = eddy_sync::mpsc::unbounded_channel();
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert!(rx.poll_recv(&mut cx).is_pending());
    /// tx.send(5).unwrap();
    /// assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Some(5)));
    /// ```
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut wakes = WakeList::new();
        let r = {
            let mut s = lock(&self.chan.state);
            match s.buf.pop_front() {
                Some(v) => {
                    s.send_waiters.notify_front((), &mut wakes);
                    Poll::Ready(Some(v))
                }
                None if s.senders == 0 || s.rx_closed => Poll::Ready(None),
                None => {
                    match &s.rx_waker {
                        Some(w) if w.will_wake(cx.waker()) => {}
                        _ => s.rx_waker = Some(cx.waker().clone()),
                    }
                    Poll::Pending
                }
            }
        };
        wakes.wake_all();
        r
    }

    /// Receives without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] if nothing is buffered but senders remain,
    /// [`TryRecvError::Disconnected`] if nothing can arrive any more.
    ///
    /// ```
    /// let (tx, mut rx) = eddy_sync::mpsc::channel(1);
    /// tx.try_send(9).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(9));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut wakes = WakeList::new();
        let r = {
            let mut s = lock(&self.chan.state);
            match s.buf.pop_front() {
                Some(v) => {
                    s.send_waiters.notify_front((), &mut wakes);
                    Ok(v)
                }
                None if s.senders == 0 || s.rx_closed => Err(TryRecvError::Disconnected),
                None => Err(TryRecvError::Empty),
            }
        };
        wakes.wake_all();
        r
    }

    /// Closes the channel from the receiving side: sends fail from now on
    /// (waiting senders wake with their value back), and buffered messages
    /// can still be received, after which `recv` returns `None`.
    ///
    /// ```
    /// let (tx, mut rx) = eddy_sync::mpsc::channel(2);
    /// tx.try_send(1).unwrap();
    /// rx.close();
    /// assert!(tx.try_send(2).is_err());
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert!(rx.try_recv().is_err());
    /// ```
    pub fn close(&mut self) {
        self.chan.close();
    }

    /// Messages buffered now.
    ///
    /// ```
    /// let (tx, rx) = eddy_sync::mpsc::channel(2);
    /// tx.try_send(()).unwrap();
    /// assert_eq!(rx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        lock(&self.chan.state).buf.len()
    }

    /// Whether nothing is buffered.
    ///
    /// ```
    /// let (_tx, rx) = eddy_sync::mpsc::channel::<u8>(2);
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.chan.close();
        // Drop undelivered messages now rather than when the last sender
        // goes, outside the lock (their destructors are user code).
        let items = std::mem::take(&mut lock(&self.chan.state).buf);
        drop(items);
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::Receiver")
            .field("len", &self.len())
            .finish()
    }
}

impl<T> Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().poll_recv(cx)
    }
}

/// Future returned by [`Receiver::recv`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Recv<'a, T> {
    rx: &'a mut Receiver<T>,
}

impl<T> Future for Recv<'_, T> {
    type Output = Option<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.rx.poll_recv(cx)
    }
}

/// Future returned by [`Sender::send`].
#[must_use = "futures do nothing unless polled"]
pub struct Send<'a, T> {
    chan: &'a Chan<T>,
    value: Option<T>,
    key: Option<Key>,
}

impl<T> Unpin for Send<'_, T> {}

impl<T> fmt::Debug for Send<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Send").finish_non_exhaustive()
    }
}

impl<T> Future for Send<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let chan = this.chan;
        let mut wakes = WakeList::new();
        let r = {
            let mut s = lock(&chan.state);
            if let Some(k) = this.key {
                if !s.send_waiters.is_notified(k) {
                    s.send_waiters.set_waker(k, cx.waker());
                    return Poll::Pending;
                }
                s.send_waiters.remove(k);
                this.key = None;
            }
            let value = this.value.take().expect("Send polled after completion");
            match chan.try_push(&mut s, value, &mut wakes) {
                Ok(()) => {
                    if s.buf.len() < chan.cap {
                        // Room remains: keep the chain of waiting senders moving.
                        s.send_waiters.notify_front((), &mut wakes);
                    }
                    Poll::Ready(Ok(()))
                }
                Err(TrySendError::Closed(v)) => Poll::Ready(Err(SendError(v))),
                Err(TrySendError::Full(v)) => {
                    this.value = Some(v);
                    this.key = Some(s.send_waiters.push_back((), Some(cx.waker().clone())));
                    Poll::Pending
                }
            }
        };
        wakes.wake_all();
        r
    }
}

impl<T> Drop for Send<'_, T> {
    fn drop(&mut self) {
        let Some(k) = self.key.take() else { return };
        let mut wakes = WakeList::new();
        {
            let mut s = lock(&self.chan.state);
            if s.send_waiters.remove(k).is_some() {
                s.send_waiters.notify_front((), &mut wakes);
            }
        }
        wakes.wake_all();
    }
}

/// Future returned by `closed()` on a sender.
#[must_use = "futures do nothing unless polled"]
pub struct Closed<'a, T> {
    chan: &'a Chan<T>,
    key: Option<Key>,
}

impl<T> fmt::Debug for Closed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Closed").finish_non_exhaustive()
    }
}

impl<T> Future for Closed<'_, T> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        this.chan.poll_closed(&mut this.key, cx)
    }
}

impl<T> Drop for Closed<'_, T> {
    fn drop(&mut self) {
        self.chan.drop_closed_waiter(&mut self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{CountingWaker, poll_once};

    #[test]
    fn close_returns_value_to_waiting_sender_and_drains() {
        let (tx, mut rx) = channel(1);
        let w = CountingWaker::new();
        tx.try_send(1).unwrap();
        let mut s = Box::pin(tx.send(2));
        assert!(poll_once(&mut s, &w.waker()).is_pending());
        rx.close();
        assert!(matches!(
            poll_once(&mut s, &w.waker()),
            Poll::Ready(Err(SendError(2)))
        ));
        assert_eq!(rx.try_recv(), Ok(1));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    }

    #[test]
    fn dropped_woken_sender_passes_room_on() {
        let (tx, mut rx) = channel(1);
        let (wa, wb) = (CountingWaker::new(), CountingWaker::new());
        tx.try_send(0).unwrap();
        let mut a = Box::pin(tx.send(1));
        let mut b = Box::pin(tx.send(2));
        assert!(poll_once(&mut a, &wa.waker()).is_pending());
        assert!(poll_once(&mut b, &wb.waker()).is_pending());
        assert_eq!(rx.try_recv(), Ok(0));
        assert_eq!((wa.count(), wb.count()), (1, 0));
        drop(a);
        assert_eq!(wb.count(), 1);
        assert!(poll_once(&mut b, &wb.waker()).is_ready());
        assert_eq!(rx.try_recv(), Ok(2));
    }
}
