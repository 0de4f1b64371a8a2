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

#[test]
fn locked_and_waiters_follow_the_queue() {
    let sem = Semaphore::new(1);
    let w = CountingWaker::new();
    assert!(!sem.locked());
    let held = sem.try_acquire().unwrap();
    assert!(sem.locked(), "no permit free");
    let mut a = Box::pin(sem.acquire());
    let mut b = Box::pin(sem.acquire());
    assert!(poll_once(&mut a, &w.waker()).is_pending());
    assert_eq!(sem.waiters(), 1);
    assert!(poll_once(&mut b, &w.waker()).is_pending());
    assert_eq!(sem.waiters(), 2);
    drop(b); // cancelled while queued
    assert_eq!(sem.waiters(), 1);
    drop(held); // granted to `a` before it polls again
    assert_eq!(sem.waiters(), 0);
    assert!(sem.locked(), "the freed permit went to `a`");
    let p = match poll_once(&mut a, &w.waker()) {
        Poll::Ready(Ok(p)) => p,
        other => panic!("a not served: {other:?}"),
    };
    drop(p);
    assert!(!sem.locked());
}

#[test]
fn queued_waiter_locks_even_with_free_permits() {
    let sem = Semaphore::new(1);
    let w = CountingWaker::new();
    let mut big = Box::pin(sem.acquire_many(2));
    assert!(poll_once(&mut big, &w.waker()).is_pending());
    assert_eq!(sem.available_permits(), 1);
    assert!(sem.locked(), "FIFO: the free permit is reserved for `big`");
    drop(big);
    assert!(!sem.locked());
}

#[test]
fn closing_locks_and_empties_the_queue() {
    let sem = BoundedSemaphore::new(1);
    let w = CountingWaker::new();
    let held = sem.try_acquire().unwrap();
    let mut a = Box::pin(sem.acquire());
    assert!(poll_once(&mut a, &w.waker()).is_pending());
    assert_eq!(sem.waiters(), 1);
    drop(held);
    assert_eq!(sem.waiters(), 0);
    drop(a); // the granted permit goes back
    assert!(!sem.locked());
    sem.close();
    assert!(sem.locked(), "a closed semaphore cannot be acquired");
    assert_eq!(sem.waiters(), 0);
}

#[test]
fn owned_bounded_permit_travels_to_another_thread() {
    let sem = Arc::new(BoundedSemaphore::new(1));
    let held = sem.clone().try_acquire_owned().unwrap();
    // A waiter in another thread: counted while it waits, served when the
    // permit is dropped there.
    let waiter = {
        let sem = sem.clone();
        std::thread::spawn(move || futures_lite::future::block_on(sem.acquire_owned()))
    };
    while sem.waiters() == 0 {
        std::thread::yield_now();
    }
    assert!(sem.locked());
    std::thread::spawn(move || drop(held)).join().unwrap();
    let got = waiter.join().unwrap().unwrap();
    assert_eq!(got.num_permits(), 1);
    assert!(Arc::ptr_eq(got.semaphore(), &sem));
    assert_eq!(sem.available_permits(), 0);
    got.forget();
    assert_eq!(sem.release(1), Ok(()));
    assert_eq!(sem.available_permits(), 1);
    assert!(sem.release(1).is_err(), "the bound still holds");
}

#[test]
fn dropped_granted_owned_bounded_waiter_passes_permits_on() {
    let sem = Arc::new(BoundedSemaphore::new(2));
    let w = CountingWaker::new();
    let held = sem.clone().acquire_many_owned(2);
    let mut held = Box::pin(held);
    let held = match poll_once(&mut held, &w.waker()) {
        Poll::Ready(Ok(p)) => p,
        other => panic!("uncontended acquire waited: {other:?}"),
    };
    let mut a = Box::pin(sem.clone().acquire_many_owned(2));
    let mut b = Box::pin(sem.clone().acquire_owned());
    assert!(poll_once(&mut a, &w.waker()).is_pending());
    assert!(poll_once(&mut b, &w.waker()).is_pending());
    assert_eq!(sem.waiters(), 2);
    drop(held);
    assert_eq!(sem.waiters(), 1, "`a` was served, `b` waits behind it");
    drop(a);
    assert_eq!(sem.waiters(), 0, "`a`'s permits went to `b`");
    let p = match poll_once(&mut b, &w.waker()) {
        Poll::Ready(Ok(p)) => p,
        other => panic!("b not served: {other:?}"),
    };
    assert_eq!(sem.available_permits(), 1);
    drop(p);
    assert_eq!(sem.available_permits(), 2);
}
