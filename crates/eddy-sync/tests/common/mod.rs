//! A hand-driven "executor" for model tests: each task is polled only when
//! its own counting waker has fired, so a lost wake-up shows up as a task
//! left pending when the model says it should have finished.
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};

#[derive(Default)]
pub struct Counter(AtomicUsize);

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

pub struct Task<F: Future> {
    pub fut: Pin<Box<F>>,
    counter: Arc<Counter>,
    seen: usize,
}

impl<F: Future> Task<F> {
    pub fn new(fut: F) -> Self {
        Task {
            fut: Box::pin(fut),
            counter: Arc::default(),
            seen: 0,
        }
    }

    /// Polls once, unconditionally (as a spawn does).
    pub fn poll(&mut self) -> Poll<F::Output> {
        self.seen = self.wakes();
        let waker = Waker::from(self.counter.clone());
        self.fut.as_mut().poll(&mut Context::from_waker(&waker))
    }

    pub fn wakes(&self) -> usize {
        self.counter.0.load(Ordering::SeqCst)
    }

    /// Whether the task was woken since its last poll.
    pub fn woken(&self) -> bool {
        self.wakes() != self.seen
    }
}

pub fn counting_waker() -> (Waker, Arc<Counter>) {
    let c = Arc::new(Counter::default());
    (Waker::from(c.clone()), c)
}

pub fn count(c: &Counter) -> usize {
    c.0.load(Ordering::SeqCst)
}
