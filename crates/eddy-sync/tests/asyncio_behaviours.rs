//! The asyncio behaviours users rely on, checked across threads.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::thread;

use eddy_sync::{Condition, Event, Lock, Queue};
use futures_lite::future::{block_on, poll_once};

#[test]
fn cancelling_a_task_that_holds_the_lock_releases_it() {
    let lock = Arc::new(Lock::new(()));
    let mut holder = Box::pin({
        let lock = lock.clone();
        async move {
            let _g = lock.lock().await;
            std::future::pending::<()>().await;
        }
    });
    assert!(
        holder
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
            .is_pending()
    );
    assert!(lock.is_locked());
    let waiter = {
        let lock = lock.clone();
        thread::spawn(move || block_on(async { drop(lock.lock().await) }))
    };
    drop(holder); // cancellation
    waiter.join().unwrap();
    assert!(!lock.is_locked());
}

#[test]
fn notify_all_wakes_every_waiter() {
    const N: usize = 4;
    let cond = Arc::new(Condition::new((0usize, false)));
    let handles: Vec<_> = (0..N)
        .map(|_| {
            let cond = cond.clone();
            thread::spawn(move || {
                block_on(async {
                    let mut g = cond.lock().await;
                    g.0 += 1; // "I am about to wait"
                    let g = cond.wait_for(g, |s| s.1).await;
                    assert!(g.1);
                })
            })
        })
        .collect();
    // Wait until every thread is inside `wait` (it registers before it
    // releases the lock, so seeing the count under the lock is enough).
    loop {
        let g = block_on(cond.lock());
        if g.0 == N {
            break;
        }
        drop(g);
        thread::yield_now();
    }
    let mut g = block_on(cond.lock());
    g.1 = true;
    drop(g);
    assert_eq!(cond.notify_all(), N);
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn event_wait_on_a_set_event_returns_at_once() {
    let ev = Event::new();
    ev.set();
    let mut w = Box::pin(ev.wait());
    assert_eq!(
        w.as_mut().poll(&mut Context::from_waker(Waker::noop())),
        Poll::Ready(())
    );
    // And across threads, a waiter started before `set` finishes after it.
    let ev = Arc::new(Event::new());
    let t = {
        let ev = ev.clone();
        thread::spawn(move || block_on(ev.wait()))
    };
    ev.set();
    t.join().unwrap();
}

#[test]
fn join_returns_only_after_every_task_done() {
    const N: usize = 50;
    let q = Arc::new(Queue::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    for i in 0..N {
        q.try_put(i).unwrap();
    }
    let worker = {
        let (q, done) = (q.clone(), done.clone());
        thread::spawn(move || {
            block_on(async {
                for _ in 0..N {
                    q.get().await.unwrap();
                    done.fetch_add(1, Ordering::SeqCst);
                    q.task_done().unwrap();
                }
            })
        })
    };
    block_on(q.join());
    assert_eq!(
        done.load(Ordering::SeqCst),
        N,
        "join returned before every task_done"
    );
    worker.join().unwrap();
    // Nothing pending: join is immediate.
    assert!(block_on(poll_once(q.join())).is_some());
}
