//! Helpers for the unit tests: a waker that counts wake-ups, and polling a
//! future exactly once by hand.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};

#[derive(Clone, Default)]
pub(crate) struct CountingWaker(Arc<Counter>);

#[derive(Default)]
pub(crate) struct Counter(AtomicUsize);

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl CountingWaker {
    pub(crate) fn new() -> Self {
        Self::default()
    }
    pub(crate) fn waker(&self) -> Waker {
        Waker::from(self.0.clone())
    }
    pub(crate) fn count(&self) -> usize {
        self.0.0.load(Ordering::SeqCst)
    }
}

pub(crate) fn poll_once<F: Future + ?Sized>(f: &mut Pin<Box<F>>, waker: &Waker) -> Poll<F::Output> {
    f.as_mut().poll(&mut Context::from_waker(waker))
}
