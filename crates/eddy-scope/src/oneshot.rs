//! A one-value handoff between a child task and whoever awaits it.

use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use crate::set::lock;

enum State<T> {
    Empty(Option<Waker>),
    Full(T),
    /// The sender went away without a value.
    Closed,
    /// The value was taken.
    Taken,
}

pub(crate) struct Shared<T>(Mutex<State<T>>);

/// Sends at most one value; dropping it unsent closes the channel.
pub(crate) struct Sender<T> {
    shared: Option<Arc<Shared<T>>>,
}

pub(crate) struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

/// What a receiver sees.
pub(crate) enum Recv<T> {
    Value(T),
    /// The sender was dropped without sending.
    Closed,
    /// The value was already taken by an earlier poll.
    Taken,
}

pub(crate) fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared(Mutex::new(State::Empty(None))));
    (
        Sender {
            shared: Some(shared.clone()),
        },
        Receiver { shared },
    )
}

impl<T> Sender<T> {
    pub(crate) fn send(mut self, value: T) {
        if let Some(s) = self.shared.take() {
            finish(&s, State::Full(value));
        }
    }
}

fn finish<T>(s: &Shared<T>, new: State<T>) {
    let old = std::mem::replace(&mut *lock(&s.0), new);
    // Wake (and drop the old state) outside the lock.
    if let State::Empty(Some(w)) = old {
        w.wake();
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if let Some(s) = self.shared.take() {
            finish(&s, State::Closed);
        }
    }
}

impl<T> Receiver<T> {
    pub(crate) fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Recv<T>> {
        let mut st = lock(&self.shared.0);
        match &mut *st {
            State::Empty(w) => {
                if !w.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    *w = Some(cx.waker().clone());
                }
                Poll::Pending
            }
            State::Closed => Poll::Ready(Recv::Closed),
            State::Taken => Poll::Ready(Recv::Taken),
            State::Full(_) => match std::mem::replace(&mut *st, State::Taken) {
                State::Full(v) => Poll::Ready(Recv::Value(v)),
                _ => Poll::Ready(Recv::Taken),
            },
        }
    }

    /// `true` once a value was sent or the sender is gone.
    pub(crate) fn is_finished(&self) -> bool {
        !matches!(&*lock(&self.shared.0), State::Empty(_))
    }
}
