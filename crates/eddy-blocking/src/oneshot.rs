//! A one-value channel whose receiver is a future: one `Arc` per use, works
//! under any executor (completion goes through the stored `Waker`).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

struct State<T> {
    value: Option<T>,
    waker: Option<Waker>,
    sender_gone: bool,
}

struct Shared<T>(Mutex<State<T>>);

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // No user code runs under the lock; poisoning carries no information.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub(crate) struct Sender<T>(Option<Arc<Shared<T>>>);
pub(crate) struct Receiver<T>(Arc<Shared<T>>);

/// The sender was dropped without sending.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Closed;

pub(crate) fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let s = Arc::new(Shared(Mutex::new(State {
        value: None,
        waker: None,
        sender_gone: false,
    })));
    (Sender(Some(Arc::clone(&s))), Receiver(s))
}

impl<T> Sender<T> {
    pub(crate) fn send(mut self, value: T) {
        if let Some(s) = self.0.take() {
            let waker = {
                let mut st = s.lock();
                st.value = Some(value);
                st.sender_gone = true;
                st.waker.take()
            };
            if let Some(w) = waker {
                w.wake();
            }
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if let Some(s) = self.0.take() {
            let waker = {
                let mut st = s.lock();
                st.sender_gone = true;
                st.waker.take()
            };
            if let Some(w) = waker {
                w.wake();
            }
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, Closed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut st = self.0.lock();
        if let Some(v) = st.value.take() {
            return Poll::Ready(Ok(v));
        }
        if st.sender_gone {
            return Poll::Ready(Err(Closed));
        }
        match &st.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => st.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::future::block_on;

    #[test]
    fn send_then_receive() {
        let (tx, rx) = channel();
        tx.send(5);
        assert_eq!(block_on(rx), Ok(5));
    }

    #[test]
    fn dropped_sender_closes() {
        let (tx, rx) = channel::<u8>();
        drop(tx);
        assert_eq!(block_on(rx), Err(Closed));
    }

    #[test]
    fn wakes_across_threads() {
        let (tx, rx) = channel();
        let t = std::thread::spawn(move || tx.send("hi"));
        assert_eq!(block_on(rx), Ok("hi"));
        t.join().unwrap();
    }
}
