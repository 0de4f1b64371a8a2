//! A channel for a single value.
//!
//! [`channel`] makes a [`Sender`] / [`Receiver`] pair sharing one small
//! allocation. The receiver is a `Future` of the value (and a `Stream` of at
//! most one item).
//!
//! ```
//! let (tx, rx) = eddy_sync::oneshot::channel();
//! std::thread::spawn(move || tx.send(42).unwrap());
//! assert_eq!(futures_lite::future::block_on(rx), Ok(42));
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use futures_lite::Stream;

use crate::waitlist::lock;

struct State<T> {
    value: Option<T>,
    /// The sender is gone (sent or dropped).
    tx_done: bool,
    /// The receiver closed or was dropped.
    rx_closed: bool,
    rx_waker: Option<Waker>,
    tx_waker: Option<Waker>,
}

struct Inner<T> {
    state: Mutex<State<T>>,
}

/// Creates a one-value channel.
///
/// ```
/// let (tx, rx) = eddy_sync::oneshot::channel::<u8>();
/// drop(tx);
/// assert!(futures_lite::future::block_on(rx).is_err());
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Inner {
        state: Mutex::new(State {
            value: None,
            tx_done: false,
            rx_closed: false,
            rx_waker: None,
            tx_waker: None,
        }),
    });
    (
        Sender {
            inner: inner.clone(),
        },
        Receiver { inner },
    )
}

/// The sending half; [`send`](Self::send) consumes it.
pub struct Sender<T> {
    inner: Arc<Inner<T>>,
}

/// The receiving half; await it for the value.
///
/// # Cancel safety
///
/// Awaiting `&mut Receiver` is cancel safe: the value stays in the channel
/// until the poll that returns it, so dropping the future loses nothing.
/// Dropping the `Receiver` itself closes the channel and drops a value that
/// was sent but not received.
pub struct Receiver<T> {
    inner: Arc<Inner<T>>,
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Sender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Receiver").finish_non_exhaustive()
    }
}

/// The sender was dropped without sending (or the value was already taken).
///
/// ```
/// let (tx, rx) = eddy_sync::oneshot::channel::<()>();
/// drop(tx);
/// let e = futures_lite::future::block_on(rx).unwrap_err();
/// assert_eq!(e.to_string(), "oneshot sender dropped without sending");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvError(());

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("oneshot sender dropped without sending")
    }
}

impl std::error::Error for RecvError {}

/// Why [`Receiver::try_recv`] returned no value.
///
/// ```
/// use eddy_sync::oneshot::{channel, TryRecvError};
/// let (tx, mut rx) = channel::<u8>();
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// drop(tx);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing sent yet.
    Empty,
    /// The sender is gone without a value (or the value was taken).
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("oneshot channel is empty"),
            TryRecvError::Closed => f.write_str("oneshot channel is closed"),
        }
    }
}

impl std::error::Error for TryRecvError {}

impl<T> Sender<T> {
    /// Sends the value.
    ///
    /// # Errors
    ///
    /// Gives the value back if the receiver was dropped or closed.
    ///
    /// ```
    /// let (tx, rx) = eddy_sync::oneshot::channel();
    /// drop(rx);
    /// assert_eq!(tx.send(1), Err(1));
    /// ```
    pub fn send(self, value: T) -> Result<(), T> {
        let waker;
        {
            let mut s = lock(&self.inner.state);
            if s.rx_closed {
                return Err(value);
            }
            s.value = Some(value);
            s.tx_done = true;
            waker = s.rx_waker.take();
        }
        if let Some(w) = waker {
            w.wake();
        }
        // Our Drop sees `tx_done` and does nothing more.
        Ok(())
    }

    /// Whether the receiver was dropped or closed.
    ///
    /// ```
    /// let (tx, mut rx) = eddy_sync::oneshot::channel::<u8>();
    /// rx.close();
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        lock(&self.inner.state).rx_closed
    }

    /// Waits until the receiver is dropped or closed (e.g. to stop computing
    /// a value nobody wants).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe; it only observes.
    ///
    /// ```
    /// let (mut tx, rx) = eddy_sync::oneshot::channel::<u8>();
    /// drop(rx);
    /// futures_lite::future::block_on(tx.closed());
    /// ```
    pub async fn closed(&mut self) {
        std::future::poll_fn(|cx| self.poll_closed(cx)).await
    }

    /// Poll form of [`closed`](Self::closed).
    ///
    /// ```
    /// use std::task::{Context, Waker};
    /// let (mut tx, rx) = eddy_sync::oneshot::channel::<u8>();
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert!(tx.poll_closed(&mut cx).is_pending());
    /// drop(rx);
    /// assert!(tx.poll_closed(&mut cx).is_ready());
    /// ```
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = lock(&self.inner.state);
        if s.rx_closed {
            Poll::Ready(())
        } else {
            s.tx_waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let waker;
        {
            let mut s = lock(&self.inner.state);
            if s.tx_done {
                return;
            }
            s.tx_done = true;
            waker = s.rx_waker.take();
        }
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> Receiver<T> {
    /// Takes the value if it has been sent.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] if not sent yet; [`TryRecvError::Closed`] if
    /// the sender is gone without a value, or the value was already taken.
    ///
    /// ```
    /// let (tx, mut rx) = eddy_sync::oneshot::channel();
    /// tx.send(3).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(3));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut s = lock(&self.inner.state);
        match s.value.take() {
            Some(v) => Ok(v),
            None if s.tx_done => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Closes the channel: a later `send` fails and hands its value back. A
    /// value sent before the close can still be received.
    ///
    /// ```
    /// let (tx, mut rx) = eddy_sync::oneshot::channel();
    /// rx.close();
    /// assert_eq!(tx.send(1), Err(1));
    /// ```
    pub fn close(&mut self) {
        let waker;
        {
            let mut s = lock(&self.inner.state);
            s.rx_closed = true;
            waker = s.tx_waker.take();
        }
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut s = lock(&self.inner.state);
        match s.value.take() {
            Some(v) => Poll::Ready(Ok(v)),
            None if s.tx_done => Poll::Ready(Err(RecvError(()))),
            None => {
                match &s.rx_waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => s.rx_waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
        }
    }
}

/// The receiver as a `Stream` of at most one item: the value, then the end
/// (also the end at once if the sender was dropped without sending).
///
/// ```
/// use futures_lite::StreamExt;
/// futures_lite::future::block_on(async {
///     let (tx, rx) = eddy_sync::oneshot::channel();
///     tx.send(1).unwrap();
///     let all: Vec<i32> = rx.collect().await;
///     assert_eq!(all, [1]);
/// });
/// ```
impl<T> Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.poll(cx).map(Result::ok)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let (waker, value);
        {
            let mut s = lock(&self.inner.state);
            s.rx_closed = true;
            waker = s.tx_waker.take();
            value = s.value.take();
        }
        drop(value);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{CountingWaker, poll_once};

    #[test]
    fn dropping_the_await_keeps_the_value() {
        let (tx, mut rx) = channel();
        let w = CountingWaker::new();
        {
            let mut f = Box::pin(&mut rx);
            assert!(poll_once(&mut f, &w.waker()).is_pending());
        }
        tx.send(5).unwrap();
        assert_eq!(w.count(), 1);
        assert_eq!(rx.try_recv(), Ok(5));
    }
}
