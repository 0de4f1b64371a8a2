//! Multi-threaded stress tests: plain std threads, each driving its futures
//! with `futures_lite::future::block_on`, so nothing here depends on an
//! executor. Counts are bounded to keep the suite quick on two cores.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use eddy_sync::{Barrier, Mutex, Queue, RwLock, Semaphore, mpsc};
use futures_lite::future::{block_on, poll_once, yield_now};

const THREADS: usize = 4;

#[test]
fn mutex_keeps_counter_exact() {
    const M: usize = 2_000;
    let m = Arc::new(Mutex::new(0usize));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let m = m.clone();
            thread::spawn(move || {
                block_on(async {
                    for i in 0..M {
                        if (t + i) % 3 == 0 {
                            let mut g = m.clone().lock_owned().await;
                            *g += 1;
                        } else {
                            let mut g = m.lock().await;
                            let v = *g;
                            // Give others a chance to interleave while held.
                            if i % 64 == 0 {
                                yield_now().await;
                            }
                            *g = v + 1;
                        }
                    }
                })
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(*m.try_lock().unwrap(), THREADS * M);
}

#[test]
fn semaphore_never_admits_more_than_k() {
    const K: usize = 3;
    const M: usize = 1_000;
    let sem = Arc::new(Semaphore::new(K));
    let inside = Arc::new(AtomicUsize::new(0));
    let max_seen = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..THREADS * 2)
        .map(|t| {
            let (sem, inside, max_seen) = (sem.clone(), inside.clone(), max_seen.clone());
            thread::spawn(move || {
                block_on(async {
                    for i in 0..M {
                        // Some acquisitions are cancelled after one poll,
                        // under contention: nothing may leak.
                        if (t + i) % 5 == 0 {
                            let _ = poll_once(sem.acquire()).await;
                            continue;
                        }
                        let _p = sem.acquire().await.unwrap();
                        let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        max_seen.fetch_max(now, Ordering::SeqCst);
                        if i % 16 == 0 {
                            yield_now().await;
                        }
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert!(
        max_seen.load(Ordering::SeqCst) <= K,
        "more than {K} holders at once"
    );
    assert_eq!(sem.available_permits(), K, "a permit leaked");
}

#[test]
fn bounded_queue_many_producers_many_consumers_exactly_once() {
    const PER: usize = 2_000;
    let q = Arc::new(Queue::new(8));
    let producers: Vec<_> = (0..THREADS)
        .map(|p| {
            let q = q.clone();
            thread::spawn(move || {
                block_on(async {
                    for i in 0..PER {
                        q.put(p * PER + i).await.unwrap();
                    }
                })
            })
        })
        .collect();
    let consumers: Vec<_> = (0..THREADS)
        .map(|_| {
            let q = q.clone();
            thread::spawn(move || {
                block_on(async {
                    let mut got = Vec::new();
                    while let Ok(v) = q.get().await {
                        got.push(v);
                        q.task_done().unwrap();
                    }
                    got
                })
            })
        })
        .collect();
    for p in producers {
        p.join().unwrap();
    }
    block_on(q.join());
    q.shutdown();
    let mut seen = HashSet::new();
    for c in consumers {
        for v in c.join().unwrap() {
            assert!(seen.insert(v), "item {v} delivered twice");
        }
    }
    assert_eq!(seen.len(), THREADS * PER, "items lost");
}

#[test]
fn bounded_mpsc_delivers_every_item_once_in_per_producer_order() {
    const PER: usize = 5_000;
    let (tx, mut rx) = mpsc::channel(4);
    let producers: Vec<_> = (0..THREADS)
        .map(|p| {
            let tx = tx.clone();
            thread::spawn(move || {
                block_on(async {
                    for i in 0..PER {
                        tx.send((p, i)).await.unwrap();
                    }
                })
            })
        })
        .collect();
    drop(tx);
    let mut next = [0usize; THREADS];
    block_on(async {
        while let Some((p, i)) = rx.recv().await {
            assert_eq!(i, next[p], "producer {p} out of order");
            next[p] += 1;
        }
    });
    for p in producers {
        p.join().unwrap();
    }
    assert!(next.iter().all(|&n| n == PER));
}

#[test]
fn rwlock_writers_see_consistent_state() {
    const M: usize = 500;
    // Invariant: both halves are always equal outside a write.
    let l = Arc::new(RwLock::new((0usize, 0usize)));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let l = l.clone();
            thread::spawn(move || {
                block_on(async {
                    for i in 0..M {
                        if (t + i) % 4 == 0 {
                            let mut g = l.write().await;
                            g.0 += 1;
                            yield_now().await;
                            g.1 += 1;
                        } else {
                            let g = l.read().await;
                            assert_eq!(g.0, g.1, "reader saw a half-done write");
                        }
                    }
                })
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let g = l.try_read().unwrap();
    assert_eq!((g.0, g.1), (M, M));
}

#[test]
fn barrier_one_leader_per_round_across_threads() {
    const ROUNDS: usize = 200;
    let b = Arc::new(Barrier::new(THREADS));
    let leaders = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let (b, leaders) = (b.clone(), leaders.clone());
            thread::spawn(move || {
                block_on(async {
                    for _ in 0..ROUNDS {
                        if b.wait().await.unwrap().is_leader() {
                            leaders.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                })
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(leaders.load(Ordering::SeqCst), ROUNDS);
}

#[test]
fn watch_receivers_see_monotonic_values_and_the_last_one() {
    const N: u64 = 2_000;
    let (tx, rx) = eddy_sync::watch::channel(0u64);
    let readers: Vec<_> = (0..THREADS)
        .map(|_| {
            let mut rx = rx.clone();
            thread::spawn(move || {
                block_on(async {
                    let mut last = 0;
                    while rx.changed().await.is_ok() {
                        let v = *rx.borrow_and_update();
                        assert!(v >= last, "watch went backwards");
                        last = v;
                    }
                    // The sender is gone: the final value is visible.
                    *rx.borrow()
                })
            })
        })
        .collect();
    drop(rx);
    for i in 1..=N {
        tx.send_replace(i);
    }
    drop(tx);
    for r in readers {
        assert_eq!(r.join().unwrap(), N);
    }
}

#[test]
fn broadcast_every_receiver_gets_every_message_or_a_lag_count() {
    const N: u64 = 3_000;
    let (tx, rx) = eddy_sync::broadcast::channel::<u64>(16);
    let readers: Vec<_> = (0..THREADS)
        .map(|_| {
            let mut rx = rx.resubscribe();
            thread::spawn(move || {
                block_on(async {
                    // Received + skipped must account for every message.
                    let (mut got, mut skipped, mut last) = (0u64, 0u64, None);
                    loop {
                        match rx.recv().await {
                            Ok(v) => {
                                assert!(last.is_none_or(|l| v > l), "out of order");
                                last = Some(v);
                                got += 1;
                            }
                            Err(eddy_sync::broadcast::RecvError::Lagged(n)) => skipped += n,
                            Err(eddy_sync::broadcast::RecvError::Closed) => break,
                        }
                    }
                    got + skipped
                })
            })
        })
        .collect();
    drop(rx);
    for i in 0..N {
        tx.send(i).unwrap();
        if i % 64 == 0 {
            thread::yield_now();
        }
    }
    drop(tx);
    for r in readers {
        assert_eq!(r.join().unwrap(), N);
    }
}

#[test]
fn capacity_limiter_bounds_concurrency_across_threads() {
    const K: usize = 2;
    const M: usize = 500;
    let lim = Arc::new(eddy_sync::CapacityLimiter::new(K));
    let inside = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let (lim, inside) = (lim.clone(), inside.clone());
            thread::spawn(move || {
                let me = eddy_core::TaskId::next();
                block_on(async {
                    for i in 0..M {
                        let token = lim.acquire_on_behalf_of(me).await.unwrap();
                        assert!(inside.fetch_add(1, Ordering::SeqCst) < K);
                        if i % 8 == 0 {
                            yield_now().await;
                        }
                        inside.fetch_sub(1, Ordering::SeqCst);
                        drop(token);
                    }
                })
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert!(lim.borrowers().is_empty());
    assert_eq!(lim.available_tokens(), K);
}
