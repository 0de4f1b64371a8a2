//! Unit tests of the queues.

use super::*;
use crate::test_util::{CountingWaker, poll_once};

#[test]
fn join_returns_only_after_every_task_done() {
    let q = Queue::new(0);
    let w = CountingWaker::new();
    q.try_put(1).unwrap();
    q.try_put(2).unwrap();
    let mut j = Box::pin(q.join());
    assert!(poll_once(&mut j, &w.waker()).is_pending());
    q.try_get().unwrap();
    q.task_done().unwrap();
    assert!(poll_once(&mut j, &w.waker()).is_pending());
    q.try_get().unwrap();
    q.task_done().unwrap();
    assert_eq!(w.count(), 1);
    assert!(poll_once(&mut j, &w.waker()).is_ready());
}

#[test]
fn shutdown_wakes_getters_and_putters_with_errors() {
    let q = Queue::new(1);
    let w = CountingWaker::new();
    let mut g = Box::pin(q.get());
    assert!(poll_once(&mut g, &w.waker()).is_pending());
    q.try_put(1).unwrap();
    let mut p = Box::pin(q.put(2));
    assert!(poll_once(&mut p, &w.waker()).is_pending());
    q.shutdown_immediate();
    // `g` was woken by the put, but the item was discarded.
    assert_eq!(
        poll_once(&mut g, &w.waker()),
        Poll::Ready(Err(QueueShutdown(())))
    );
    assert_eq!(
        poll_once(&mut p, &w.waker()),
        Poll::Ready(Err(QueueShutdown(2)))
    );
}

#[test]
fn dropped_woken_getter_passes_item_wakeup_on() {
    let q = Queue::new(0);
    let wa = CountingWaker::new();
    let wb = CountingWaker::new();
    let mut a = Box::pin(q.get());
    let mut b = Box::pin(q.get());
    assert!(poll_once(&mut a, &wa.waker()).is_pending());
    assert!(poll_once(&mut b, &wb.waker()).is_pending());
    q.try_put(7).unwrap();
    assert_eq!((wa.count(), wb.count()), (1, 0));
    drop(a);
    assert_eq!(wb.count(), 1);
    assert_eq!(poll_once(&mut b, &wb.waker()), Poll::Ready(Ok(7)));
}
