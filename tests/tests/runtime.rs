//! The runtime through the facade's public API: run/spawn/await, sleeps on the
//! manual clock, cancellation, panics, nesting, shutdown, multi-threading,
//! I/O readiness and fairness.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eddy::time::ManualClock;
use eddy::{Builder, JoinError, RunError, Runtime, sleep, spawn, yield_now};
use futures_lite::{AsyncReadExt, AsyncWriteExt};

struct DropCounter(Arc<AtomicUsize>);
impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// eddy's test runtime: a manual clock that jumps to the next timer
/// whenever every task is idle, ready tasks in an order drawn from `seed`,
/// and deadlocks failing the test instead of hanging it.
fn virtual_time_seeded(seed: u64) -> (Runtime, ManualClock) {
    let b = eddy::test::Builder::new().seed(seed);
    let clock = b.clock();
    (b.build().unwrap(), clock)
}

/// [`virtual_time_seeded`] with `EDDY_SEED`, else seed 0.
fn virtual_time() -> (Runtime, ManualClock) {
    virtual_time_seeded(eddy::test::seed_from_env().unwrap_or(0))
}

fn both_flavours() -> [Runtime; 2] {
    [
        Builder::current_thread().build().unwrap(),
        Builder::multi_thread().worker_threads(2).build().unwrap(),
    ]
}

#[test]
fn run_spawn_await() {
    let out = eddy::run(async {
        let a = spawn(async { 1 });
        let b = spawn(async { 2 });
        a.await.unwrap() + b.await.unwrap()
    });
    assert_eq!(out, 3);
}

#[test]
fn sleeps_complete_in_deadline_order_and_overlap() {
    // Timers decide the order, whatever order ready tasks run in.
    eddy::test::check_seeds(16, sleeps_in_deadline_order);
}

fn sleeps_in_deadline_order(seed: u64) {
    let (rt, clock) = virtual_time_seeded(seed);
    let order = Arc::new(Mutex::new(Vec::new()));
    let o = order.clone();
    let start = clock.now();
    rt.block_on(async move {
        let tasks: Vec<_> = [30u64, 10, 20]
            .into_iter()
            .map(|ms| {
                let o = o.clone();
                spawn(async move {
                    sleep(Duration::from_millis(ms)).await;
                    o.lock().unwrap().push(ms);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert_eq!(*order.lock().unwrap(), vec![10, 20, 30]);
    // Concurrent: the whole thing took max(30, 10, 20) of virtual time, not the sum.
    let took = clock.now() - start;
    assert!(
        took >= Duration::from_millis(30) && took < Duration::from_millis(35),
        "{took:?}"
    );
}

#[test]
fn sequential_sleeps_add_up() {
    let (rt, clock) = virtual_time();
    let start = clock.now();
    rt.block_on(async {
        for ms in [10u64, 20, 30] {
            sleep(Duration::from_millis(ms)).await;
        }
    });
    let took = clock.now() - start;
    assert!(
        took >= Duration::from_millis(60) && took < Duration::from_millis(65),
        "{took:?}"
    );
}

#[test]
fn an_hour_of_sleeps_takes_no_real_time() {
    let (rt, clock) = virtual_time();
    let start = clock.now();
    rt.block_on(async {
        let tasks: Vec<_> = (1..=60u64)
            .map(|m| spawn(async move { sleep(Duration::from_secs(60 * m)).await }))
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert!(clock.now() - start >= Duration::from_secs(3600));
}

#[test]
fn cancelling_a_sleeping_task_runs_its_destructor_once() {
    let (rt, _clock) = virtual_time();
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    rt.block_on(async move {
        let g = DropCounter(d.clone());
        let task = spawn(async move {
            let _g = g;
            sleep(Duration::from_secs(10)).await;
            "finished"
        });
        sleep(Duration::from_secs(1)).await;
        task.cancel();
        assert!(matches!(task.await, Err(JoinError::Cancelled)));
        assert_eq!(d.load(Ordering::SeqCst), 1);
    });
    drop(rt);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn a_panicking_task_does_not_stop_the_runtime() {
    for rt in both_flavours() {
        rt.block_on(async {
            let bad = spawn(async {
                sleep(Duration::from_millis(1)).await;
                panic!("Something went wrong")
            });
            let good = spawn(async {
                sleep(Duration::from_millis(2)).await;
                "ok"
            });
            let err = bad.await.unwrap_err();
            assert_eq!(
                err.into_panic().unwrap().message(),
                Some("Something went wrong")
            );
            assert_eq!(good.await.unwrap(), "ok");
        });
    }
}

#[test]
fn run_inside_run_is_rejected_clearly() {
    let err = eddy::run(async { eddy::try_run(async {}).unwrap_err() });
    assert!(matches!(err, RunError::NestedRuntime));
    assert!(
        err.to_string()
            .contains("cannot be called from a running event loop")
    );
    // The panicking form says the same.
    let p = std::panic::catch_unwind(|| eddy::run(async { eddy::run(async {}) })).unwrap_err();
    let msg = p.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        msg.contains("cannot be called from a running event loop"),
        "{msg}"
    );
    // And inside a multi-threaded task.
    let rt = Builder::multi_thread().worker_threads(2).build().unwrap();
    let err = rt.block_on(async {
        spawn(async { eddy::try_run(async {}).is_err() })
            .await
            .unwrap()
    });
    assert!(err);
}

#[test]
fn leftover_tasks_are_cancelled_when_run_returns() {
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    let finished = Arc::new(AtomicBool::new(false));
    let f = finished.clone();
    eddy::run(async move {
        for _ in 0..10 {
            let g = DropCounter(d.clone());
            let f = f.clone();
            spawn(async move {
                let _g = g;
                sleep(Duration::from_secs(3600)).await;
                f.store(true, Ordering::SeqCst);
            })
            .detach();
        }
        yield_now().await;
    });
    assert_eq!(drops.load(Ordering::SeqCst), 10);
    assert!(!finished.load(Ordering::SeqCst));
}

#[test]
fn multi_thread_runs_tasks_on_every_worker() {
    let rt = Builder::multi_thread().worker_threads(2).build().unwrap();
    let threads = Arc::new(Mutex::new(HashSet::new()));
    let t = threads.clone();
    let n = rt.block_on(async move {
        let tasks: Vec<_> = (0..400u64)
            .map(|i| {
                let t = t.clone();
                spawn(async move {
                    // Sleeps and yields force tasks through the driver and the
                    // queues; the busy part gives the idle worker time to steal.
                    sleep(Duration::from_millis(1 + i % 3)).await;
                    let mut x = 0u64;
                    for j in 0..20_000u64 {
                        x = std::hint::black_box(x.wrapping_add(j));
                    }
                    yield_now().await;
                    t.lock().unwrap().insert(std::thread::current().id());
                    x
                })
            })
            .collect();
        let mut n = 0;
        for task in tasks {
            task.await.unwrap();
            n += 1;
        }
        n
    });
    assert_eq!(n, 400);
    assert_eq!(threads.lock().unwrap().len(), 2);
}

#[test]
fn io_readiness_wakes_a_task() {
    for rt in both_flavours() {
        rt.block_on(async {
            let (a, mut b) = UnixStream::pair().unwrap();
            let mut a = eddy::Async::new(a).unwrap();
            let reader = spawn(async move {
                let mut buf = [0u8; 5];
                a.read_exact(&mut buf).await.unwrap();
                a.write_all(b"pong!").await.unwrap();
                buf
            });
            // Write from a plain thread, while the reader is parked on the reactor.
            let writer = std::thread::spawn(move || {
                b.write_all(b"ping!").unwrap();
                let mut reply = [0u8; 5];
                b.read_exact(&mut reply).unwrap();
                reply
            });
            assert_eq!(&reader.await.unwrap(), b"ping!");
            assert_eq!(&writer.join().unwrap(), b"pong!");
        });
    }
}

#[test]
fn a_blocked_runtime_is_woken_from_another_thread() {
    for rt in both_flavours() {
        let handle = rt.handle();
        let slot: Arc<Mutex<(bool, Option<std::task::Waker>)>> = Arc::default();
        let s = slot.clone();
        // A plain thread waits a little (so the runtime is surely blocked in
        // the reactor with nothing to do), then spawns onto it; that task
        // wakes the main future. Nothing else could wake the runtime.
        let spawner = std::thread::spawn(move || {
            let (_keep, never) = std::sync::mpsc::channel::<()>();
            let _ = never.recv_timeout(Duration::from_millis(20));
            handle
                .spawn(async move {
                    let mut s = s.lock().unwrap();
                    s.0 = true;
                    if let Some(w) = s.1.take() {
                        w.wake();
                    }
                })
                .detach();
        });
        let woken = std::future::poll_fn(move |cx| {
            let mut s = slot.lock().unwrap();
            if s.0 {
                std::task::Poll::Ready(true)
            } else {
                s.1 = Some(cx.waker().clone());
                std::task::Poll::Pending
            }
        });
        // A watchdog so that a lost wake-up fails the test instead of hanging it.
        let out = rt.block_on(futures_lite::future::or(woken, async {
            sleep(Duration::from_secs(20)).await;
            false
        }));
        spawner.join().unwrap();
        assert!(
            out,
            "the runtime was not woken by a spawn from another thread"
        );
    }
}

#[test]
fn a_busy_task_does_not_starve_a_timer() {
    for rt in [
        Builder::current_thread().build().unwrap(),
        Builder::multi_thread().worker_threads(1).build().unwrap(),
    ] {
        rt.block_on(async {
            let stop = Arc::new(AtomicBool::new(false));
            let s = stop.clone();
            let busy = spawn(async move {
                let mut spins = 0u64;
                while !s.load(Ordering::SeqCst) {
                    yield_now().await;
                    spins += 1;
                }
                spins
            });
            let timer = spawn(async {
                sleep(Duration::from_millis(20)).await;
            });
            timer.await.unwrap();
            stop.store(true, Ordering::SeqCst);
            assert!(busy.await.unwrap() > 0);
        });
    }
}

#[test]
fn interval_ticks_on_virtual_time() {
    let (rt, clock) = virtual_time();
    let start = clock.now();
    let ticks = rt.block_on(async {
        let mut iv = eddy::interval(Duration::from_secs(1));
        let mut ticks = Vec::new();
        for _ in 0..4 {
            ticks.push(iv.tick().await);
        }
        ticks
    });
    let offsets: Vec<u64> = ticks.iter().map(|t| (*t - start).as_secs()).collect();
    assert_eq!(offsets, vec![0, 1, 2, 3]);
}

mod auto_traits {
    use static_assertions::{assert_impl_all, assert_not_impl_any};

    assert_impl_all!(eddy::Task<u8>: Send, Sync, Unpin);
    assert_impl_all!(eddy::Handle: Send, Sync, Clone);
    assert_impl_all!(eddy::Sleep: Send, Sync);
    assert_impl_all!(eddy::Interval: Send, Sync);
    assert_impl_all!(eddy::YieldNow: Send, Sync);
    assert_impl_all!(eddy::JoinError: Send);
    assert_impl_all!(eddy::Async<std::os::unix::net::UnixStream>: Send, Sync);
    assert_impl_all!(eddy::time::TimerHandle: Send, Sync);
    assert_impl_all!(eddy::io::ReactorHandle: Send, Sync);
    // A runtime owns its current-thread tasks' thread: it must stay put.
    assert_not_impl_any!(eddy::Runtime: Send, Sync);
    // Context guards restore a thread-local: they must not move threads.
    assert_not_impl_any!(eddy::EnterGuard: Send);
    // A task holding an Rc is not Send, so its handle's output decides.
    assert_not_impl_any!(eddy::Task<std::rc::Rc<u8>>: Send);
}

#[test]
fn shutdown_asks_first_then_cancels_hard_after_the_grace() {
    let clock = ManualClock::new();
    let rt = Builder::current_thread()
        .manual_clock(clock.clone(), true)
        .shutdown_grace(Duration::from_secs(5))
        .build()
        .unwrap();
    let cleaned = Arc::new(AtomicBool::new(false));
    let stubborn_drops = Arc::new(AtomicUsize::new(0));
    let (c, d) = (cleaned.clone(), stubborn_drops.clone());
    let start = clock.now();
    rt.block_on(async move {
        // Listens: cleans up with an await, then returns.
        spawn(async move {
            eddy::cancelled().await;
            sleep(Duration::from_secs(1)).await;
            c.store(true, Ordering::SeqCst);
        })
        .detach();
        // Ignores the request: dropped when the grace runs out.
        let g = DropCounter(d);
        spawn(async move {
            let _g = g;
            sleep(Duration::from_secs(3600)).await;
        })
        .detach();
        yield_now().await;
    });
    drop(rt);
    assert!(
        cleaned.load(Ordering::SeqCst),
        "the listening task finished its async cleanup"
    );
    assert_eq!(stubborn_drops.load(Ordering::SeqCst), 1);
    let waited = clock.now() - start;
    assert!(
        waited >= Duration::from_secs(5) && waited < Duration::from_secs(6),
        "{waited:?}"
    );
}

#[test]
fn shutdown_without_grace_cancels_at_once() {
    let clock = ManualClock::new();
    let rt = Builder::current_thread()
        .manual_clock(clock.clone(), true)
        .build()
        .unwrap();
    let cleaned = Arc::new(AtomicBool::new(false));
    let c = cleaned.clone();
    let start = clock.now();
    rt.block_on(async move {
        spawn(async move {
            eddy::cancelled().await;
            c.store(true, Ordering::SeqCst);
        })
        .detach();
        yield_now().await;
    });
    drop(rt);
    assert!(!cleaned.load(Ordering::SeqCst));
    assert_eq!(clock.now(), start);
}

#[test]
fn bursts_into_a_large_read_buffer_all_arrive() {
    // Reads shorter than the buffer are the normal case for a stream socket;
    // data that arrives after one must still wake the reader. Stream many
    // odd-sized bursts from a plain thread into a reader with a large
    // buffer, under a watchdog. (This test caught an attempt to clear
    // readiness after short reads: the last short read consumed the edge
    // that also announced the writer's close, so the reader never saw EOF;
    // see "Why only `WouldBlock` clears readiness" in eddy-reactor's docs.)
    for rt in both_flavours() {
        let total: usize = rt.block_on(async {
            let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
            let a = eddy::net::UnixStream::from_std(a).unwrap();
            let writer = std::thread::spawn(move || {
                let mut sent = 0usize;
                for i in 0..2000usize {
                    let chunk = vec![(i % 251) as u8; 1 + (i * 7919) % 3000];
                    b.write_all(&chunk).unwrap();
                    sent += chunk.len();
                    if i % 64 == 0 {
                        std::thread::yield_now();
                    }
                }
                sent
            });
            let reader = spawn(async move {
                let mut a = a;
                let mut buf = vec![0u8; 64 * 1024];
                let mut got = 0usize;
                loop {
                    let n = a.read(&mut buf).await.unwrap();
                    if n == 0 {
                        return got;
                    }
                    got += n;
                }
            });
            let watchdog = async {
                sleep(Duration::from_secs(30)).await;
                panic!("reader stalled: a wake-up was lost");
            };
            let got = futures_lite::future::or(async { reader.await.unwrap() }, watchdog).await;
            assert_eq!(got, writer.join().unwrap());
            got
        });
        assert!(total > 1_000_000);
    }
}

#[test]
fn sleepers_with_equal_deadlines_wake_in_creation_order() {
    // asyncio and trio: equal deadlines fire first-in first-out. No seed: a
    // seeded test runtime shuffles ready tasks on purpose; on the plain
    // runtime (a FIFO run queue) wake order is run order.
    let clock = ManualClock::new();
    let rt = Builder::current_thread()
        .manual_clock(clock.clone(), true)
        .build()
        .unwrap();
    rt.block_on(async {
        let order = Arc::new(Mutex::new(Vec::new()));
        let at = eddy::Handle::current().timer().now() + Duration::from_secs(65);
        let mut tasks = Vec::new();
        for id in 0..6 {
            let order = order.clone();
            // Register in id order: each task's first poll sets its timer.
            tasks.push(spawn(async move {
                eddy::time::sleep_until(at).await;
                order.lock().unwrap().push(id);
            }));
            yield_now().await;
        }
        tasks.remove(2).cancel();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), [0, 1, 3, 4, 5]);
    });
}

#[test]
fn sleep_zero_lets_other_ready_tasks_run() {
    eddy::test::run(async {
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let other = spawn(async move { r.store(true, Ordering::SeqCst) });
        // Like `await asyncio.sleep(0)`: suspends once, the other task runs.
        sleep(Duration::ZERO).await;
        assert!(ran.load(Ordering::SeqCst));
        other.await.unwrap();
    });
}

#[test]
fn to_thread_starts_when_awaited_and_unblock_at_once() {
    for rt in both_flavours() {
        rt.block_on(async {
            let ran = Arc::new(AtomicBool::new(false));
            let r = ran.clone();
            let lazy = eddy::to_thread(move || r.store(true, Ordering::SeqCst));
            for _ in 0..20 {
                yield_now().await;
            }
            assert!(!lazy.is_started());
            assert!(
                !ran.load(Ordering::SeqCst),
                "to_thread ran before it was awaited"
            );
            lazy.await.unwrap();
            assert!(ran.load(Ordering::SeqCst));

            // Dropped unawaited: the closure is dropped, never run.
            let drops = Arc::new(AtomicUsize::new(0));
            let d = DropCounter(drops.clone());
            let r = ran.clone();
            r.store(false, Ordering::SeqCst);
            drop(eddy::to_thread(move || {
                let _d = d;
                r.store(true, Ordering::SeqCst);
            }));
            assert_eq!(drops.load(Ordering::SeqCst), 1);
            assert!(!ran.load(Ordering::SeqCst));

            // `unblock` is eager, as `run_in_executor`: the job runs even
            // though its future is never polled (it is kept, not dropped).
            let (tx, rx) = std::sync::mpsc::channel();
            let eager = eddy::unblock(move || tx.send(()).unwrap());
            rx.recv_timeout(Duration::from_secs(30))
                .expect("unblock's job did not start on its own");
            eager.await.unwrap();
        });
    }
}

#[test]
fn the_multi_thread_flavour_refuses_what_it_cannot_honour() {
    let e = Builder::multi_thread().seed(1).build().unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    let e = Builder::multi_thread()
        .manual_clock(ManualClock::new(), true)
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
}

/// A manual clock moved from another thread wakes the runtime's parked
/// timer driver, on either flavour: the sleeper fires without any real wait
/// and without auto-advance (before, the multi-threaded driver slept on).
#[test]
fn a_manual_clock_moved_from_another_thread_fires_due_timers() {
    for multi in [false, true] {
        let clock = ManualClock::new();
        let builder = if multi {
            Builder::multi_thread().worker_threads(2)
        } else {
            Builder::current_thread()
        };
        let builder = builder.manual_clock(clock.clone(), false);
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = builder.build().unwrap();
            let slept = rt.block_on(async {
                let (started_tx, started_rx) = std::sync::mpsc::channel();
                let mover = clock.clone();
                let reader = clock.clone();
                // Deadline fixed at creation: an early advance still counts.
                let nap = sleep(Duration::from_secs(3600));
                let sleeper = spawn(async move {
                    let t0 = reader.now();
                    started_tx.send(()).unwrap();
                    nap.await;
                    reader.now() - t0
                });
                std::thread::spawn(move || {
                    started_rx.recv().unwrap();
                    mover.advance(Duration::from_secs(3600));
                });
                sleeper.await.unwrap()
            });
            done_tx.send(slept).unwrap();
        });
        let slept = done_rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("multi={multi}: the sleeper never woke"));
        assert!(
            slept >= Duration::from_secs(3600) - Duration::from_secs(1),
            "{slept:?}"
        );
    }
}
