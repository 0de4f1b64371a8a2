//! Unit tests of the semaphore family.

use super::*;
use crate::test_util::{CountingWaker, poll_once};

#[test]
fn fifo_order_and_large_request_not_starved() {
    let sem = Semaphore::new(1);
    let held = sem.try_acquire().unwrap();
    let w = CountingWaker::new();
    let mut big = Box::pin(sem.acquire_many(2));
    let mut small = Box::pin(sem.acquire());
    assert!(poll_once(&mut big, &w.waker()).is_pending());
    assert!(poll_once(&mut small, &w.waker()).is_pending());
    drop(held);
    // One permit free, but `big` is first and needs two: `small` waits.
    assert!(poll_once(&mut small, &w.waker()).is_pending());
    assert!(sem.try_acquire().is_err(), "newcomers must not barge");
    sem.add_permits(1);
    let p = match poll_once(&mut big, &w.waker()) {
        Poll::Ready(Ok(p)) => p,
        other => panic!("big not served: {other:?}"),
    };
    drop(p);
    assert!(poll_once(&mut small, &w.waker()).is_ready());
}

#[test]
fn dropped_granted_waiter_passes_permit_on() {
    let sem = Semaphore::new(0);
    let w = CountingWaker::new();
    let mut a = Box::pin(sem.acquire());
    let mut b = Box::pin(sem.acquire());
    assert!(poll_once(&mut a, &w.waker()).is_pending());
    assert!(poll_once(&mut b, &w.waker()).is_pending());
    sem.add_permits(1);
    assert_eq!(w.count(), 1);
    drop(a);
    assert_eq!(w.count(), 2, "b must be woken with a's permit");
    assert!(poll_once(&mut b, &w.waker()).is_ready());
    assert_eq!(sem.raw.waiters(), 0);
}

#[test]
fn bounded_release_cannot_exceed_bound_while_permits_are_held() {
    let sem = BoundedSemaphore::new(2);
    let held = sem.try_acquire().unwrap();
    // One permit is held (not forgotten): releasing "for" it is refused,
    // so the holder's drop cannot later push the count to 3.
    assert!(sem.release(1).is_err());
    drop(held);
    assert_eq!(sem.available_permits(), 2);
    let a = sem.try_acquire().unwrap();
    let b = sem.try_acquire().unwrap();
    a.forget();
    b.forget();
    assert_eq!(sem.release(2), Ok(()));
    assert_eq!(sem.available_permits(), 2);
    assert!(sem.release(1).is_err());
}

#[test]
fn close_wakes_waiters_with_error() {
    let sem = Semaphore::new(0);
    let w = CountingWaker::new();
    let mut a = Box::pin(sem.acquire());
    assert!(poll_once(&mut a, &w.waker()).is_pending());
    sem.close();
    assert!(matches!(poll_once(&mut a, &w.waker()), Poll::Ready(Err(_))));
}
