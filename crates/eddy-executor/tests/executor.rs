//! Executor behaviour through the public API, with `ThreadPark` or a fake
//! `Park` in place of the reactor.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use eddy_core::{JoinError, Park, Unpark};
use eddy_executor::{Builder, Executor, Flavor, Handle, ThreadPark, spawn, spawn_local, yield_now};

/// Counts drops, so tests can prove a future was dropped exactly once.
struct DropCounter(Arc<AtomicUsize>);
impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn multi(workers: usize) -> Executor {
    Builder::new(Flavor::MultiThread)
        .worker_threads(workers)
        .build(ThreadPark::default())
        .unwrap()
}

fn both() -> Vec<Executor> {
    vec![Executor::current_thread(ThreadPark::default()), multi(2)]
}

#[test]
fn spawn_and_await_many() {
    for ex in both() {
        let sum = ex.block_on(async {
            let tasks: Vec<_> = (0..1000u64).map(|i| spawn(async move { i })).collect();
            let mut sum = 0;
            for t in tasks {
                sum += t.await.unwrap();
            }
            sum
        });
        assert_eq!(sum, 999 * 1000 / 2);
    }
}

#[test]
fn cancel_drops_future_once_and_reports_cancelled() {
    for ex in both() {
        let drops = Arc::new(AtomicUsize::new(0));
        let d = drops.clone();
        ex.block_on(async move {
            let guard = DropCounter(d.clone());
            let t = spawn(async move {
                let _g = guard;
                std::future::pending::<()>().await;
            });
            yield_now().await;
            t.cancel();
            t.cancel(); // twice is the same as once
            let r = t.await;
            assert!(matches!(r, Err(JoinError::Cancelled)), "{r:?}");
            // The destructor ran before the awaiter was resumed.
            assert_eq!(d.load(Ordering::SeqCst), 1);
        });
        drop(ex);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    }
}

#[test]
fn cancel_before_first_poll() {
    for ex in both() {
        let polled = Arc::new(AtomicBool::new(false));
        let p = polled.clone();
        let r = ex.block_on(async move {
            let t = spawn(async move { p.store(true, Ordering::SeqCst) });
            t.cancel();
            t.await
        });
        if ex.flavor() == Flavor::CurrentThread {
            // Nothing ran between spawn and cancel: the future never started.
            assert!(r.unwrap_err().is_cancelled());
            assert!(!polled.load(Ordering::SeqCst));
        } else {
            // A worker may have run the task before `cancel`; either way the
            // outcome says truthfully what happened.
            match r {
                Ok(()) => assert!(polled.load(Ordering::SeqCst)),
                Err(e) => {
                    assert!(e.is_cancelled());
                    assert!(!polled.load(Ordering::SeqCst));
                }
            }
        }
    }
}

#[test]
fn cancelling_a_finished_task_keeps_its_output() {
    for ex in both() {
        let r = ex.block_on(async {
            let t = spawn(async { 7 });
            while !t.is_finished() {
                yield_now().await;
            }
            t.cancel();
            t.await
        });
        assert_eq!(r.unwrap(), 7);
    }
}

#[test]
fn panic_is_isolated_and_reported() {
    for ex in both() {
        ex.block_on(async {
            let bad = spawn(async { panic!("boom") });
            let good = spawn(async { 1 });
            let err = bad.await.unwrap_err();
            assert!(err.is_panic());
            assert_eq!(err.into_panic().unwrap().message(), Some("boom"));
            assert_eq!(good.await.unwrap(), 1);
        });
        // The executor still works afterwards.
        assert_eq!(ex.block_on(async { spawn(async { 2 }).await.unwrap() }), 2);
    }
}

#[test]
fn panic_in_destructor_is_caught() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("drop boom");
        }
    }
    for ex in both() {
        ex.block_on(async {
            // Completed task whose future panics when dropped.
            let t = spawn(async {
                let _p = PanicOnDrop;
                1
            });
            assert!(t.await.unwrap_err().is_panic());
            // Cancelled task whose future panics when dropped.
            let t = spawn(async {
                let _p = PanicOnDrop;
                std::future::pending::<()>().await
            });
            yield_now().await;
            t.cancel();
            assert!(t.await.is_err());
            assert_eq!(spawn(async { 3 }).await.unwrap(), 3);
        });
    }
}

#[test]
fn block_on_inside_block_on_is_rejected() {
    let ex = Executor::current_thread(ThreadPark::default());
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ex.block_on(async {
            let inner = Executor::current_thread(ThreadPark::default());
            inner.block_on(async {});
        })
    }));
    let msg = r.unwrap_err();
    let msg = msg
        .downcast_ref::<&str>()
        .copied()
        .map(String::from)
        .or_else(|| msg.downcast_ref::<String>().cloned());
    assert!(msg.unwrap().contains("inside a running eddy runtime"));
}

#[test]
#[allow(clippy::async_yields_async)] // the block hands a task handle out to be awaited later
fn leftover_tasks_are_cancelled_on_drop() {
    for ex in both() {
        let drops = Arc::new(AtomicUsize::new(0));
        let d = drops.clone();
        let handle = ex.block_on(async move {
            for _ in 0..50 {
                let g = DropCounter(d.clone());
                spawn(async move {
                    let _g = g;
                    std::future::pending::<()>().await;
                })
                .detach();
            }
            // Leave one waiting on a "reactor" that never fires.
            let g = DropCounter(d.clone());
            let t = spawn(async move {
                let _g = g;
                std::future::pending::<()>().await;
            });
            yield_now().await;
            t
        });
        assert_eq!(
            ex.handle().stats().alive,
            51,
            "{:?} drops={}",
            ex.flavor(),
            drops.load(Ordering::SeqCst)
        );
        drop(ex);
        assert_eq!(drops.load(Ordering::SeqCst), 51);
        // The handle of a task cancelled at shutdown resolves to Cancelled.
        assert!(
            futures_lite::future::block_on(handle)
                .unwrap_err()
                .is_cancelled()
        );
    }
}

#[test]
fn detached_tasks_keep_running() {
    for ex in both() {
        let done = Arc::new(AtomicUsize::new(0));
        let d = done.clone();
        ex.block_on(async move {
            for _ in 0..10 {
                let d = d.clone();
                drop(spawn(async move {
                    yield_now().await;
                    d.fetch_add(1, Ordering::SeqCst);
                }));
            }
            while d.load(Ordering::SeqCst) < 10 {
                yield_now().await;
            }
        });
        assert_eq!(done.load(Ordering::SeqCst), 10);
    }
}

#[test]
fn multi_thread_uses_every_worker() {
    let ex = multi(2);
    let threads = Arc::new(Mutex::new(HashSet::new()));
    let t2 = threads.clone();
    ex.block_on(async move {
        let tasks: Vec<_> = (0..200)
            .map(|_| {
                let t = t2.clone();
                spawn(async move {
                    // Busy long enough that one worker cannot drain the queue
                    // alone (real time: this test is about threads, not timers).
                    #[allow(clippy::disallowed_methods)]
                    let start = std::time::Instant::now();
                    while start.elapsed() < Duration::from_micros(200) {
                        std::hint::spin_loop();
                    }
                    t.lock().unwrap().insert(std::thread::current().id());
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert_eq!(threads.lock().unwrap().len(), 2);
}

#[test]
fn wake_from_another_thread() {
    for ex in both() {
        let out = ex.block_on(async {
            let t = spawn(async {
                let (tx, rx) = std::sync::mpsc::channel::<Waker>();
                let slot: Arc<Mutex<bool>> = Arc::default();
                let s = slot.clone();
                let waker_thread = std::thread::spawn(move || {
                    let w = rx.recv().unwrap();
                    *s.lock().unwrap() = true;
                    w.wake();
                });
                let mut tx = Some(tx);
                std::future::poll_fn(move |cx| {
                    if *slot.lock().unwrap() {
                        return Poll::Ready(());
                    }
                    if let Some(tx) = tx.take() {
                        tx.send(cx.waker().clone()).unwrap();
                    }
                    Poll::Pending
                })
                .await;
                waker_thread.join().unwrap();
                "woken"
            });
            t.await.unwrap()
        });
        assert_eq!(out, "woken");
    }
}

#[test]
fn spawn_local_runs_non_send_futures() {
    let ex = Executor::current_thread(ThreadPark::default());
    let n = ex.block_on(async {
        let rc = std::rc::Rc::new(std::cell::Cell::new(0));
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let rc = rc.clone();
                spawn_local(async move {
                    yield_now().await;
                    rc.set(rc.get() + 1);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        rc.get()
    });
    assert_eq!(n, 10);
}

#[test]
fn spawn_local_on_multi_thread_is_an_error() {
    let ex = multi(2);
    let e = ex.block_on(async {
        eddy_executor::try_spawn_local_with(eddy_core::TaskMeta::here(), async {}).unwrap_err()
    });
    assert_eq!(e, eddy_executor::SpawnLocalError::NotCurrentThread);
    assert_eq!(
        eddy_executor::try_spawn_local_with(eddy_core::TaskMeta::here(), async {}).unwrap_err(),
        eddy_executor::SpawnLocalError::NoRuntime
    );
}

#[test]
fn yield_now_interleaves_tasks_in_order() {
    let ex = Executor::current_thread(ThreadPark::default());
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    ex.block_on(async move {
        let tasks: Vec<_> = (0..3)
            .map(|i| {
                let l = l.clone();
                spawn(async move {
                    for step in 0..3 {
                        l.lock().unwrap().push((step, i));
                        yield_now().await;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    let log = log.lock().unwrap();
    let mut sorted = log.clone();
    sorted.sort();
    assert_eq!(
        *log, sorted,
        "round-robin: every task does step n before any does step n+1"
    );
}

/// A `Park` that never blocks and counts non-blocking polls, standing in for a
/// reactor whose "timer" becomes due after a number of polls.
struct FakeDriver {
    zero_polls: Arc<AtomicUsize>,
    due_after: usize,
    waker: Arc<Mutex<Option<Waker>>>,
}

impl Park for FakeDriver {
    fn park(&mut self, timeout: Option<Duration>) -> std::io::Result<()> {
        if timeout == Some(Duration::ZERO) {
            let n = self.zero_polls.fetch_add(1, Ordering::SeqCst) + 1;
            if n >= self.due_after {
                if let Some(w) = self.waker.lock().unwrap().take() {
                    w.wake();
                }
            }
        }
        Ok(())
    }
    fn unparker(&self) -> Arc<dyn Unpark> {
        Arc::new(|| {})
    }
}

#[test]
fn busy_task_does_not_starve_the_driver() {
    let zero_polls = Arc::new(AtomicUsize::new(0));
    let waker: Arc<Mutex<Option<Waker>>> = Arc::default();
    let driver = FakeDriver {
        zero_polls: zero_polls.clone(),
        due_after: 3,
        waker: waker.clone(),
    };
    let ex = Builder::new(Flavor::CurrentThread)
        .event_interval(61)
        .build(driver)
        .unwrap();
    let fired = Arc::new(AtomicBool::new(false));
    let f = fired.clone();
    ex.block_on(async move {
        // An always-ready task.
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let busy = spawn(async move {
            while !s.load(Ordering::SeqCst) {
                yield_now().await;
            }
        });
        // A "timer" that only the driver can fire.
        struct WaitDriver(Arc<Mutex<Option<Waker>>>, bool);
        impl Future for WaitDriver {
            type Output = ();
            fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
                if self.1 && self.0.lock().unwrap().is_none() {
                    return Poll::Ready(());
                }
                self.1 = true;
                *self.0.lock().unwrap() = Some(cx.waker().clone());
                Poll::Pending
            }
        }
        WaitDriver(waker, false).await;
        f.store(true, Ordering::SeqCst);
        stop.store(true, Ordering::SeqCst);
        busy.await.unwrap();
    });
    assert!(fired.load(Ordering::SeqCst));
    assert!(zero_polls.load(Ordering::SeqCst) >= 3);
}

#[test]
fn handle_spawns_from_other_threads() {
    for ex in both() {
        let h = ex.handle();
        let tasks: Vec<_> = (0..4)
            .map(|i| {
                let h = h.clone();
                std::thread::spawn(move || h.spawn(async move { i * 10 }))
                    .join()
                    .unwrap()
            })
            .collect();
        let out: Vec<i32> = ex.block_on(async move {
            let mut v = Vec::new();
            for t in tasks {
                v.push(t.await.unwrap());
            }
            v
        });
        assert_eq!(out, vec![0, 10, 20, 30]);
    }
}

#[test]
fn spawn_after_shutdown_is_cancelled() {
    let ex = Executor::current_thread(ThreadPark::default());
    let h = ex.handle();
    drop(ex);
    let t = h.spawn(async { 1 });
    // Nobody will run it; it was cancelled on spawn.
    use eddy_core::Spawn;
    assert!(
        h.spawn_boxed(Box::pin(async {}), eddy_core::TaskMeta::here())
            .is_err()
    );
    drop(t);
}

#[test]
fn task_ids_names_and_locations() {
    let ex = Executor::current_thread(ThreadPark::default());
    ex.block_on(async {
        let a = eddy_executor::TaskBuilder::new()
            .name("alpha")
            .spawn(async {});
        let b = spawn(async {});
        assert_eq!(a.name(), Some("alpha"));
        assert_eq!(b.name(), None);
        assert!(a.id() < b.id());
        assert!(a.location().file().ends_with("executor.rs"));
        assert!(Handle::current().stats().spawned >= 2);
    });
}

#[test]
fn tasks_are_send_and_sync_where_they_should_be() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<eddy_executor::Task<u32>>();
    assert_send_sync::<Handle>();
    assert_send_sync::<eddy_executor::YieldNow>();
}

#[test]
fn eager_tasks_run_inside_spawn_until_they_wait() {
    for ex in both() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = log.clone();
        ex.block_on(async move {
            let outer = spawn(async move {
                let l2 = l.clone();
                let t = eddy_executor::TaskBuilder::new()
                    .eager(true)
                    .spawn(async move {
                        l2.lock().unwrap().push("eager: before first wait");
                        // The spawner sees its own task id again after the nested run.
                        yield_now().await;
                        l2.lock().unwrap().push("eager: after yield");
                        7
                    });
                l.lock().unwrap().push("spawner: spawn returned");
                assert!(eddy_executor::current_task_id().is_some());
                t.await.unwrap()
            });
            assert_eq!(outer.await.unwrap(), 7);
        });
        let log = log.lock().unwrap();
        assert_eq!(log[0], "eager: before first wait");
        assert_eq!(log[1], "spawner: spawn returned");
        assert_eq!(log[2], "eager: after yield");
    }
}

#[test]
fn eager_spawn_keeps_the_spawners_task_id() {
    let ex = Executor::current_thread(ThreadPark::default());
    ex.block_on(async {
        let outer = spawn(async {
            let me = eddy_executor::current_task_id();
            let inner = eddy_executor::TaskBuilder::new()
                .eager(true)
                .spawn(async { eddy_executor::current_task_id() });
            let inner_id = inner.id();
            assert_eq!(eddy_executor::current_task_id(), me);
            assert_eq!(inner.await.unwrap(), Some(inner_id));
        });
        outer.await.unwrap();
    });
}

/// Runs `f` on its own thread and fails the test if it does not return
/// within `secs` (a lost wake-up shows up as a hang, not as a wrong value).
fn within_secs<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    let _ = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs))
        .unwrap_or_else(|_| panic!("no result after {secs}s: a wake-up was lost"))
}

/// Two tasks taking turns through a shared counter: each waits for its turn,
/// passes it on and wakes the other, like the two ends of a one-connection
/// echo.
struct Turns {
    state: Mutex<(u64, [Option<Waker>; 2])>,
}

impl Turns {
    async fn play(self: Arc<Self>, side: usize, rounds: u64) {
        for _ in 0..rounds {
            std::future::poll_fn(|cx| {
                let mut s = self.state.lock().unwrap();
                if s.0 % 2 == side as u64 {
                    s.0 += 1;
                    let other = s.1[1 - side].take();
                    drop(s);
                    if let Some(w) = other {
                        w.wake();
                    }
                    Poll::Ready(())
                } else {
                    s.1[side] = Some(cx.waker().clone());
                    Poll::Pending
                }
            })
            .await;
        }
    }
}

#[test]
fn ping_pong_pairs_complete_on_multi_thread_while_workers_come_and_go() {
    // Pairs of tasks hand a turn back and forth while bursts of yielding
    // tasks make the other worker wake up, share, run out of work and sleep
    // again; every pair must finish (a lost wake-up would hang).
    const ROUNDS: u64 = 20_000;
    let turns = within_secs(60, || {
        let ex = multi(2);
        ex.block_on(async {
            let pairs: Vec<_> = (0..3)
                .map(|_| {
                    let t = Arc::new(Turns {
                        state: Mutex::new((0, [None, None])),
                    });
                    (
                        t.clone(),
                        spawn(t.clone().play(0, ROUNDS)),
                        spawn(t.play(1, ROUNDS)),
                    )
                })
                .collect();
            for _ in 0..50 {
                let burst: Vec<_> = (0..32)
                    .map(|_| {
                        spawn(async {
                            for _ in 0..4 {
                                yield_now().await;
                            }
                        })
                    })
                    .collect();
                for b in burst {
                    b.await.unwrap();
                }
            }
            let mut total = Vec::new();
            for (t, a, b) in pairs {
                a.await.unwrap();
                b.await.unwrap();
                total.push(t.state.lock().unwrap().0);
            }
            total
        })
    });
    assert_eq!(turns, vec![2 * ROUNDS; 3]);
}

#[test]
fn wakes_from_another_thread_reach_idle_workers_every_time() {
    // Between two wake-ups both workers run out of work and sleep (a worker
    // alone awake parks without spinning), so each wake must go through a
    // sleeper's unpark.
    const ROUNDS: usize = 2_000;
    let seen = within_secs(60, || {
        let ex = multi(2);
        let (to_outside, from_task) = std::sync::mpsc::channel::<Waker>();
        let released = Arc::new(AtomicUsize::new(0));
        let r = released.clone();
        let outside = std::thread::spawn(move || {
            for _ in 0..ROUNDS {
                let w = from_task.recv().unwrap();
                r.fetch_add(1, Ordering::SeqCst);
                w.wake();
            }
        });
        let seen = ex.block_on(async move {
            spawn(async move {
                let mut seen = 0;
                for i in 0..ROUNDS {
                    let mut asked = false;
                    std::future::poll_fn(|cx| {
                        if released.load(Ordering::SeqCst) > i {
                            return Poll::Ready(());
                        }
                        if !asked {
                            asked = true;
                            to_outside.send(cx.waker().clone()).unwrap();
                        }
                        Poll::Pending
                    })
                    .await;
                    seen += 1;
                }
                seen
            })
            .await
            .unwrap()
        });
        outside.join().unwrap();
        seen
    });
    assert_eq!(seen, ROUNDS);
}
