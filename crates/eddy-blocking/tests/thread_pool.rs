//! Thread pool behaviour: results, panics, elasticity, cancellation,
//! backpressure and shutdown.
#![allow(clippy::disallowed_methods)] // tests wait on real time with generous bounds

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use eddy_blocking::{BlockingError, Job, ThreadPool, run_in_executor};
use futures_lite::future::block_on;

/// Waits (yielding) until `cond` holds, failing the test after 5 s.
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn poll_once<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    Pin::new(f).poll(&mut cx)
}

#[test]
fn many_jobs_return_their_results() {
    let pool = ThreadPool::builder().max_threads(8).build();
    let futs: Vec<_> = (0..2000u64).map(|i| pool.unblock(move || i * 2)).collect();
    let got: Vec<u64> = block_on(async {
        let mut v = Vec::new();
        for f in futs {
            v.push(f.await.unwrap());
        }
        v
    });
    assert_eq!(got, (0..2000u64).map(|i| i * 2).collect::<Vec<_>>());
    assert!(pool.threads_started() >= 1 && pool.threads_started() <= 8);
    assert!(pool.shutdown(Duration::from_secs(5)).is_clean());
}

#[test]
fn panic_becomes_typed_error_and_pool_keeps_serving() {
    let pool = ThreadPool::builder().max_threads(1).build();
    let err = block_on(pool.unblock(|| -> () { panic!("kaboom") })).unwrap_err();
    match err {
        BlockingError::Panicked(p) => assert_eq!(p.message(), Some("kaboom")),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(block_on(pool.unblock(|| 5)).unwrap(), 5);
}

#[test]
fn threads_grow_on_demand_and_shrink_when_idle() {
    let pool = ThreadPool::builder()
        .max_threads(4)
        .idle_timeout(Duration::from_millis(30))
        .build();
    let barrier = Arc::new(Barrier::new(5));
    let futs: Vec<_> = (0..4)
        .map(|_| {
            let b = barrier.clone();
            pool.unblock(move || {
                b.wait();
            })
        })
        .collect();
    // All four jobs block together, so the pool must have grown to four.
    barrier.wait();
    assert_eq!(pool.thread_count(), 4);
    for f in futs {
        block_on(f).unwrap();
    }
    eventually("idle threads to exit", || pool.thread_count() == 0);
    // And it grows again.
    assert_eq!(block_on(pool.unblock(|| 1)).unwrap(), 1);
    assert!(pool.thread_count() >= 1);
}

#[test]
fn never_exceeds_max_threads() {
    let pool = ThreadPool::builder().max_threads(3).build();
    let live = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let futs: Vec<_> = (0..60)
        .map(|_| {
            let (live, peak) = (live.clone(), peak.clone());
            pool.unblock(move || {
                let n = live.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(n, Ordering::SeqCst);
                std::thread::sleep(Duration::from_micros(200));
                live.fetch_sub(1, Ordering::SeqCst);
            })
        })
        .collect();
    for f in futs {
        block_on(f).unwrap();
    }
    assert!(peak.load(Ordering::SeqCst) <= 3);
    assert!(pool.threads_started() <= 3);
}

#[test]
fn cancelled_queued_job_never_starts() {
    let pool = ThreadPool::builder().max_threads(1).build();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let blocker = pool.unblock(move || {
        started_tx.send(()).unwrap();
        release_rx.recv().unwrap();
    });
    started_rx.recv().unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let mut queued = pool.unblock(move || r.store(true, Ordering::SeqCst));
    assert!(poll_once(&mut queued).is_pending());
    drop(queued);
    release_tx.send(()).unwrap();
    block_on(blocker).unwrap();
    // A job queued after the cancelled one runs, so the cancelled one was
    // dequeued and skipped by then.
    block_on(pool.unblock(|| ())).unwrap();
    assert!(!ran.load(Ordering::SeqCst));
}

#[test]
fn dropping_the_await_sets_the_token_of_a_running_job() {
    let pool = ThreadPool::builder().build();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let (saw_tx, saw_rx) = mpsc::channel::<u32>();
    let mut fut = pool.unblock_cancellable(move |token| {
        started_tx.send(()).unwrap();
        let mut spins = 0u32;
        while !token.is_cancelled() {
            spins = spins.wrapping_add(1);
            std::thread::yield_now();
        }
        saw_tx.send(spins).unwrap();
    });
    assert!(poll_once(&mut fut).is_pending());
    started_rx.recv().unwrap();
    drop(fut);
    saw_rx
        .recv_timeout(Duration::from_secs(5))
        .expect("token was set");
}

#[test]
fn backpressure_bounds_the_queue() {
    let pool = ThreadPool::builder()
        .max_threads(1)
        .queue_capacity(4)
        .build();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let mut blocker = pool.unblock(move || {
        started_tx.send(()).unwrap();
        release_rx.recv().unwrap();
    });
    assert!(poll_once(&mut blocker).is_pending());
    started_rx.recv().unwrap();
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut futs: Vec<_> = (0..50)
        .map(|i| {
            let o = order.clone();
            pool.unblock(move || o.lock().unwrap().push(i))
        })
        .collect();
    for f in &mut futs {
        assert!(poll_once(f).is_pending());
    }
    // Only `capacity` jobs are queued; the rest wait in their futures.
    assert_eq!(pool.queued(), 4);
    release_tx.send(()).unwrap();
    block_on(async {
        blocker.await.unwrap();
        for f in futs {
            f.await.unwrap();
        }
    });
    let order = order.lock().unwrap();
    assert_eq!(order.len(), 50);
    assert_eq!(pool.threads_started(), 1);
}

#[test]
fn dropping_a_waiting_submitter_passes_the_wakeup_on() {
    let pool = ThreadPool::builder()
        .max_threads(1)
        .queue_capacity(1)
        .build();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let mut blocker = pool.unblock(move || {
        started_tx.send(()).unwrap();
        release_rx.recv().unwrap();
    });
    assert!(poll_once(&mut blocker).is_pending());
    started_rx.recv().unwrap();
    let mut queued = pool.unblock(|| 1);
    let mut a = pool.unblock(|| 2);
    let b = pool.unblock(|| 3);
    assert!(poll_once(&mut queued).is_pending());
    assert!(poll_once(&mut a).is_pending());
    release_tx.send(()).unwrap();
    drop(a);
    assert_eq!(block_on(b).unwrap(), 3);
    assert_eq!(block_on(queued).unwrap(), 1);
}

#[test]
fn shutdown_waits_then_reports_what_it_left() {
    let pool = ThreadPool::builder().max_threads(1).build();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let running = pool.unblock_cancellable(move |token| {
        started_tx.send(()).unwrap();
        while !token.is_cancelled() {
            std::thread::sleep(Duration::from_millis(1));
        }
        "stopped"
    });
    started_rx.recv().unwrap();
    let queued = pool.unblock(|| "never");
    let report = pool.shutdown(Duration::from_millis(50));
    assert_eq!(report.still_running.len(), 1);
    assert_eq!(report.never_started, 1);
    assert!(
        report.still_running[0]
            .location
            .file()
            .ends_with("thread_pool.rs")
    );
    assert!(matches!(block_on(queued), Err(BlockingError::ShutDown)));
    // The running job saw its token and finished.
    assert_eq!(block_on(running).unwrap(), "stopped");
    assert!(matches!(
        block_on(pool.unblock(|| ())),
        Err(BlockingError::ShutDown)
    ));
}

#[test]
fn shutdown_within_grace_runs_queued_jobs() {
    let pool = ThreadPool::builder().max_threads(1).build();
    let futs: Vec<_> = (0..20).map(|i| pool.unblock(move || i)).collect();
    let report = pool.shutdown(Duration::from_secs(5));
    assert!(report.is_clean(), "{report}");
    let total: i32 = futs.into_iter().map(|f| block_on(f).unwrap()).sum();
    assert_eq!(total, (0..20).sum());
    eventually("threads to exit", || pool.thread_count() == 0);
}

#[test]
fn executor_that_drops_jobs_fails_them() {
    let drop_it = |job: Job| drop(job);
    assert!(matches!(
        block_on(run_in_executor(&drop_it, || 1)),
        Err(BlockingError::NotRun)
    ));
}

#[test]
fn thread_pool_is_an_executor() {
    let pool = ThreadPool::builder().max_threads(2).build();
    let futs: Vec<_> = (0..100)
        .map(|i| run_in_executor(&pool, move || i + 1))
        .collect();
    let s: i32 = futs.into_iter().map(|f| block_on(f).unwrap()).sum();
    assert_eq!(s, (1..=100).sum());
}

#[test]
fn awaiting_from_another_thread_wakes() {
    let pool = ThreadPool::builder().build();
    let fut = pool.unblock(|| {
        std::thread::sleep(Duration::from_millis(20));
        99
    });
    let h = std::thread::spawn(move || block_on(fut).unwrap());
    assert_eq!(h.join().unwrap(), 99);
}
