//! asyncio's cancellation edges through the facade, on both flavours:
//! self-cancellation, destructors that panic while a task is cancelled,
//! `cancel()`'s answer, cancel handles, `wait_for` on tasks, and a cancelled
//! host task that waits for its group's children.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use eddy::time::ManualClock;
use eddy::{Builder, CancelHandle, JoinError, Runtime, sleep, spawn, yield_now};

struct DropCounter(Arc<AtomicUsize>);
impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Cleanup that takes a while: on the multi-threaded flavour it runs on
/// another worker, so an awaiter that did not wait for it would see `done`
/// still false. The sleep only widens that window; nothing here asserts
/// how long anything took.
struct SlowCleanup(Arc<AtomicBool>);
impl Drop for SlowCleanup {
    // A blocking destructor on purpose: it is the slow cleanup under test.
    #[allow(clippy::disallowed_methods)]
    fn drop(&mut self) {
        std::thread::sleep(Duration::from_millis(20));
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A deadline that passes, and a sleep that never ends within a test.
const SHORT: Duration = Duration::from_millis(20);
const LONG: Duration = Duration::from_secs(3600);

/// Current-thread on virtual time (an auto-advancing manual clock: `SHORT`
/// and `LONG` pass at once when every task is idle), and multi-thread on
/// the real clock (it has no auto-advance), where only `SHORT` ever passes.
/// No test asserts how long anything took.
fn both_flavours() -> [Runtime; 2] {
    [
        Builder::current_thread()
            .manual_clock(ManualClock::new(), true)
            .build()
            .unwrap(),
        Builder::multi_thread().worker_threads(2).build().unwrap(),
    ]
}

#[test]
fn a_task_that_cancels_itself_and_returns_ends_cancelled() {
    for rt in both_flavours() {
        rt.block_on(async {
            let t = spawn(async {
                assert!(CancelHandle::current().unwrap().cancel());
                "returned without suspending"
            });
            assert!(matches!(t.await, Err(JoinError::Cancelled)));

            // Suspending after the request: dropped there, the rest never runs.
            let after = Arc::new(AtomicBool::new(false));
            let a = after.clone();
            let t = spawn(async move {
                CancelHandle::current().unwrap().cancel();
                yield_now().await;
                a.store(true, Ordering::SeqCst);
            });
            assert!(t.await.unwrap_err().is_cancelled());
            assert!(!after.load(Ordering::SeqCst));
        });
    }
}

#[test]
fn a_destructor_that_panics_during_cancellation_is_reported_as_a_panic() {
    struct PanicsOnDrop;
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            panic!("cleanup failed");
        }
    }
    for rt in both_flavours() {
        rt.block_on(async {
            let started = Arc::new(AtomicBool::new(false));
            let s = started.clone();
            let t = spawn(async move {
                let _p = PanicsOnDrop;
                s.store(true, Ordering::SeqCst);
                std::future::pending::<()>().await;
            });
            while !started.load(Ordering::SeqCst) {
                yield_now().await;
            }
            t.cancel();
            let err = t.await.unwrap_err();
            let panic = err.into_panic().expect("a panic, not Cancelled");
            assert_eq!(panic.message(), Some("cleanup failed"));
            // The runtime carries on.
            assert_eq!(spawn(async { 2 }).await.unwrap(), 2);
        });
    }
}

#[test]
fn cancel_says_whether_the_request_was_new() {
    for rt in both_flavours() {
        rt.block_on(async {
            let drops = Arc::new(AtomicUsize::new(0));
            let d = DropCounter(drops.clone());
            let t = spawn(async move {
                let _d = d;
                std::future::pending::<()>().await;
            });
            assert!(t.cancel());
            assert!(!t.cancel());
            assert!(t.await.unwrap_err().is_cancelled());
            assert_eq!(drops.load(Ordering::SeqCst), 1);

            let done = spawn(async { 5 });
            while !done.is_finished() {
                yield_now().await;
            }
            assert!(!done.cancel());
            assert_eq!(done.await.unwrap(), 5);
        });
    }
}

#[test]
fn a_cancel_handle_cancels_from_another_task_and_another_thread() {
    for rt in both_flavours() {
        rt.block_on(async {
            let drops = Arc::new(AtomicUsize::new(0));
            let d = DropCounter(drops.clone());
            let t = spawn(async move {
                let _d = d;
                sleep(LONG).await;
            });
            let h = t.cancel_handle();
            assert_eq!(h.id(), t.id());
            let h2 = h.clone();
            // From a plain thread: the handle is Send + Sync.
            let asked = std::thread::spawn(move || h2.cancel()).join().unwrap();
            assert!(asked);
            assert!(!h.cancel());
            assert!(t.await.unwrap_err().is_cancelled());
            assert_eq!(drops.load(Ordering::SeqCst), 1);
            assert!(h.is_finished());
            assert!(!h.cancel());

            // The graceful half, from another task.
            let t = spawn(async {
                eddy::task::cancel_requested().await;
                "cleaned up"
            });
            let h = t.cancel_handle();
            spawn(async move { assert!(h.request_cancel()) })
                .await
                .unwrap();
            assert_eq!(t.await.unwrap(), "cleaned up");
        });
    }
}

#[test]
fn wait_for_cancels_the_task_and_waits_until_it_has_finished() {
    for rt in both_flavours() {
        rt.block_on(async {
            let done = Arc::new(AtomicBool::new(false));
            let guard = SlowCleanup(done.clone());
            let t = spawn(async move {
                let _guard = guard;
                sleep(LONG).await;
            });
            let h = t.cancel_handle();
            let r = eddy::wait_for(t, SHORT).await;
            assert!(r.is_err(), "the deadline came first");
            assert!(
                done.load(Ordering::SeqCst),
                "Elapsed came before the cleanup"
            );
            assert!(h.is_finished());
        });
    }
}

#[test]
fn wait_for_gives_the_result_when_the_task_finishes_in_time() {
    for rt in both_flavours() {
        rt.block_on(async {
            let t = spawn(async {
                sleep(Duration::from_millis(1)).await;
                9
            });
            assert_eq!(eddy::wait_for(t, LONG).await.unwrap().unwrap(), 9);
            // Finished before the (zero) deadline is checked: the result wins.
            let t = spawn(async { 3 });
            while !t.is_finished() {
                yield_now().await;
            }
            assert_eq!(eddy::wait_for(t, Duration::ZERO).await.unwrap().unwrap(), 3);
        });
    }
}

#[test]
fn wait_for_cancels_awaited_tasks_inside_the_future_but_not_unawaited_ones() {
    for rt in both_flavours() {
        rt.block_on(async {
            let awaited_done = Arc::new(AtomicBool::new(false));
            let guard = SlowCleanup(awaited_done.clone());
            let awaited = spawn(async move {
                let _guard = guard;
                sleep(LONG).await;
            });
            let go = Arc::new(eddy::sync::Event::new());
            let g = go.clone();
            let bystander = spawn(async move {
                g.wait().await;
                "bystander finished"
            });
            let by = bystander.cancel_handle();
            let r = eddy::wait_for(
                async move {
                    let _not_awaited = bystander;
                    awaited.await
                },
                SHORT,
            )
            .await;
            assert!(r.is_err());
            assert!(awaited_done.load(Ordering::SeqCst));
            // Only dropped (detached), not cancelled: it runs to the end.
            assert!(!by.is_finished());
            go.set();
            while !by.is_finished() {
                yield_now().await;
            }
        });
    }
}

#[test]
fn a_cancelled_caller_of_wait_for_cancels_the_task_and_finishes_after_it() {
    for rt in both_flavours() {
        rt.block_on(async {
            let done = Arc::new(AtomicBool::new(false));
            let guard = SlowCleanup(done.clone());
            let inner = spawn(async move {
                let _guard = guard;
                sleep(LONG).await;
            });
            let inner_h = inner.cancel_handle();
            let caller = spawn(async move {
                let _ = eddy::wait_for(inner, LONG).await;
            });
            // Let the caller start awaiting.
            sleep(SHORT).await;
            caller.cancel();
            assert!(caller.await.unwrap_err().is_cancelled());
            assert!(
                done.load(Ordering::SeqCst),
                "the caller finished before the task it awaited"
            );
            assert!(inner_h.is_finished());
        });
    }
}

#[test]
fn a_cancelled_host_finishes_only_after_its_groups_children() {
    for rt in both_flavours() {
        rt.block_on(async {
            let flags: Vec<Arc<AtomicBool>> =
                (0..3).map(|_| Arc::new(AtomicBool::new(false))).collect();
            let started = Arc::new(AtomicUsize::new(0));
            let (f, s) = (flags.clone(), started.clone());
            let host = spawn(async move {
                eddy::task_group(|tg| {
                    for flag in &f {
                        let guard = SlowCleanup(flag.clone());
                        let s = s.clone();
                        tg.spawn(async move {
                            let _guard = guard;
                            s.fetch_add(1, Ordering::SeqCst);
                            sleep(LONG).await;
                        });
                    }
                    async { std::future::pending::<()>().await }
                })
                .await
            });
            while started.load(Ordering::SeqCst) < 3 {
                sleep(Duration::from_millis(1)).await;
            }
            host.cancel();
            assert!(host.await.unwrap_err().is_cancelled());
            for (i, flag) in flags.iter().enumerate() {
                assert!(flag.load(Ordering::SeqCst), "child {i} outlived its host");
            }
        });
    }
}

#[test]
fn shutdown_does_not_wait_forever_for_a_draining_host() {
    for rt in both_flavours() {
        let started = Arc::new(AtomicBool::new(false));
        let s = started.clone();
        let drops = Arc::new(AtomicUsize::new(0));
        let d = drops.clone();
        rt.block_on(async move {
            spawn(async move {
                eddy::task_group(|tg| {
                    let d = DropCounter(d);
                    tg.spawn(async move {
                        let _d = d;
                        sleep(LONG).await;
                    });
                    s.store(true, Ordering::SeqCst);
                    async { std::future::pending::<()>().await }
                })
                .await
            })
            .detach();
            while !started.load(Ordering::SeqCst) {
                yield_now().await;
            }
        });
        drop(rt);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    }
}
