//! asyncio's own behaviours, as tests through the public API, with time on
//! a manual clock that jumps to the next timer whenever the runtime is idle
//! (so every duration below is exact).

use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eddy::{Builder, JoinError, sleep};
use eddy_scope::{
    ChildError, Either, Elapsed, FailureKind, GroupSpawnError, Interrupted, StartError, WaitMode,
};
use futures_lite::{FutureExt, StreamExt, future};

mod common;
use common::*;

// --- gather ------------------------------------------------------------------

#[test]
fn gather_returns_input_order_not_completion_order() {
    let (rt, clock) = virtual_time();
    let start = clock.now();
    let done = Arc::new(Mutex::new(Vec::new()));
    let d = done.clone();
    let (tuple, vec) = rt.block_on(async move {
        let job = |name: &'static str, delay: u64| {
            let d = d.clone();
            async move {
                sleep(ms(delay)).await;
                d.lock().unwrap().push(name);
                name
            }
        };
        let tuple = eddy::gather!(job("url1", 30), job("url2", 10), job("url3", 20)).await;
        let vec = eddy::gather_all([job("a", 3), job("b", 1), job("c", 2)]).await;
        (tuple, vec)
    });
    assert_eq!(tuple, ("url1", "url2", "url3"));
    assert_eq!(vec, ["a", "b", "c"]);
    assert_eq!(
        *done.lock().unwrap(),
        ["url2", "url3", "url1", "b", "c", "a"]
    );
    // Concurrent: max(30) + max(3), not the sums.
    assert_eq!(clock.now() - start, ms(33));
}

#[test]
fn gather_settled_keeps_errors_and_panics_in_place() {
    let (rt, _clock) = virtual_time();
    let out = rt.block_on(async {
        let jobs = (0..4u64).map(|i| {
            async move {
                sleep(ms(10 - i)).await;
                match i {
                    1 => Err(ValueError("bad")),
                    2 => panic!("boom"),
                    _ => Ok(i),
                }
            }
            .boxed()
        });
        eddy::gather_settled(jobs).await
    });
    assert_eq!(out.len(), 4);
    assert!(matches!(out[0], Ok(Ok(0))));
    assert!(matches!(&out[1], Ok(Err(ValueError("bad")))));
    assert_eq!(out[2].as_ref().unwrap_err().message(), Some("boom"));
    assert!(matches!(out[3], Ok(Ok(3))));
}

#[test]
fn a_panicking_input_propagates_after_the_other_inputs_are_dropped() {
    let (rt, _clock) = virtual_time();
    let drops = Drops::default();
    let d = drops.clone();
    rt.block_on(async move {
        let g = d.guard();
        let inputs: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>> = vec![
            Box::pin(async move {
                let _finally = g;
                sleep(ms(1000)).await;
            }),
            Box::pin(async {
                sleep(ms(5)).await;
                panic!("input failed");
            }),
        ];
        // Held alive past the panic: what it still owns shows in `d`.
        let mut all = pin!(std::panic::AssertUnwindSafe(eddy::gather_all(inputs)).catch_unwind());
        assert!(all.as_mut().await.is_err(), "the panic propagates");
        assert_eq!(
            d.count(),
            1,
            "the other input was dropped before the panic came out"
        );
    });
    assert_eq!(drops.count(), 1, "dropped exactly once");
}

#[test]
fn try_gather_returns_first_error_and_cancels_the_rest() {
    let (rt, clock) = virtual_time();
    let start = clock.now();
    let drops = Drops::default();
    let d = drops.clone();
    let out = rt.block_on(async move {
        let slow = |g: DropGuard| async move {
            let _g = g;
            sleep(ms(1000)).await;
            Ok::<_, ValueError>(1)
        };
        let fail = async {
            sleep(ms(10)).await;
            Err::<i32, _>(ValueError("first"))
        };
        eddy::try_gather!(slow(d.guard()), fail, slow(d.guard())).await
    });
    assert_eq!(out, Err(ValueError("first")));
    assert_eq!(drops.count(), 2, "both slow inputs were dropped");
    assert_eq!(
        clock.now() - start,
        ms(10),
        "no waiting for the slow inputs"
    );

    let out = rt.block_on(eddy::try_gather_all([30u64, 10, 20].map(|d| async move {
        sleep(ms(d)).await;
        Ok::<_, ValueError>(d)
    })));
    assert_eq!(out, Ok(vec![30, 10, 20]));
}

#[test]
fn as_completed_yields_in_completion_order() {
    let (rt, _clock) = virtual_time();
    let order: Vec<u64> = rt.block_on(
        eddy::as_completed([30u64, 10, 20, 0].map(|d| async move {
            sleep(ms(d)).await;
            d
        }))
        .collect(),
    );
    assert_eq!(order, [0, 10, 20, 30]);
}

#[test]
fn race_and_select_drop_the_loser() {
    let (rt, _clock) = virtual_time();
    let drops = Drops::default();
    let d = drops.clone();
    rt.block_on(async move {
        let g = d.guard();
        let slow = async move {
            let _g = g;
            sleep(ms(100)).await;
            "slow"
        };
        let fast = async {
            sleep(ms(1)).await;
            "fast"
        };
        assert_eq!(eddy::race(slow, fast).await, "fast");
        assert_eq!(d.count(), 1);
        let r = eddy::select(sleep(ms(5)), async { 7 }).await;
        assert_eq!(r, Either::Right(7));
        assert_eq!(eddy::race_all(Vec::<future::Ready<u8>>::new()).await, None);
    });
}

#[test]
fn map_concurrent_bounds_concurrency_and_keeps_input_order() {
    let (rt, clock) = virtual_time();
    let start = clock.now();
    let live = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (l, p) = (live.clone(), peak.clone());
    let out = rt.block_on(eddy::map_concurrent(0..20u64, 4, move |i| {
        let (l, p) = (l.clone(), p.clone());
        async move {
            let now = l.fetch_add(1, Ordering::SeqCst) + 1;
            p.fetch_max(now, Ordering::SeqCst);
            sleep(ms(10)).await;
            l.fetch_sub(1, Ordering::SeqCst);
            i * i
        }
    }));
    assert_eq!(out, (0..20).map(|i| i * i).collect::<Vec<_>>());
    assert_eq!(peak.load(Ordering::SeqCst), 4);
    assert_eq!(
        clock.now() - start,
        ms(50),
        "20 items, 4 at a time, 10 ms each"
    );
}

// --- wait ----------------------------------------------------------------------

#[test]
fn wait_first_completed() {
    let (rt, _clock) = virtual_time();
    rt.block_on(async {
        let tasks: Vec<_> = [30u64, 10, 20]
            .into_iter()
            .map(|d| {
                eddy::spawn(async move {
                    sleep(ms(d)).await;
                    d
                })
            })
            .collect();
        let w = eddy::wait(tasks, WaitMode::FirstCompleted, None).await;
        assert_eq!(w.done.len(), 1);
        assert_eq!(w.done[0].0, 1);
        assert_eq!(*w.done[0].1.as_ref().unwrap(), 10);
        let pending: Vec<usize> = w.pending.iter().map(|(i, _)| *i).collect();
        assert_eq!(pending, [0, 2]);
    });
}

#[test]
fn wait_first_error_stops_at_the_first_err() {
    let (rt, _clock) = virtual_time();
    rt.block_on(async {
        let jobs = [(10u64, false), (20, true), (30, false)].map(|(d, fail)| {
            async move {
                sleep(ms(d)).await;
                if fail { Err(d) } else { Ok(d) }
            }
            .boxed()
        });
        let w = eddy::wait(jobs, WaitMode::FirstError, None).await;
        assert_eq!(w.done.len(), 2);
        assert_eq!(w.done[1], (1, Err(20)));
        assert_eq!(w.pending.len(), 1);
        // Without errors, FirstError waits for all.
        let jobs = [1u64, 2].map(|d| {
            async move {
                sleep(ms(d)).await;
                Ok::<_, ()>(d)
            }
            .boxed()
        });
        let w = eddy::wait(jobs, WaitMode::FirstError, None).await;
        assert_eq!(w.done.len(), 2);
        assert!(w.pending.is_empty());
    });
}

#[test]
fn wait_all_completed_with_timeout_hands_back_the_pending() {
    let (rt, clock) = virtual_time();
    let start = clock.now();
    rt.block_on(async {
        let jobs = [10u64, 50, 20].map(|d| {
            async move {
                sleep(ms(d)).await;
                Ok::<_, ()>(d)
            }
            .boxed()
        });
        let w = eddy::wait(jobs, WaitMode::AllCompleted, Some(ms(25))).await;
        assert_eq!(w.done.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [0, 2]);
        assert_eq!(w.pending.len(), 1);
        // The pending input was not cancelled: it can still finish.
        let (i, f) = w.pending.into_iter().next().unwrap();
        assert_eq!(i, 1);
        assert_eq!(f.await, Ok(50));
    });
    assert_eq!(clock.now() - start, ms(50));
}

// --- timeouts --------------------------------------------------------------------

#[test]
fn a_timeout_that_fires_cancels_the_inner_await_and_reports_elapsed() {
    let (rt, clock) = virtual_time();
    let start = clock.now();
    let drops = Drops::default();
    let d = drops.clone();
    let out = rt.block_on(async move {
        let g = d.guard();
        eddy::timeout(ms(2000), async move {
            let _finally = g;
            sleep(ms(10_000)).await;
            "result"
        })
        .await
    });
    assert_eq!(out, Err(Elapsed::new()));
    assert_eq!(drops.count(), 1, "the inner future was dropped");
    assert_eq!(clock.now() - start, ms(2000));
}

#[test]
fn the_inner_future_is_dropped_when_the_deadline_fires_not_when_the_timeout_is() {
    let (rt, _clock) = virtual_time();
    let drops = Drops::default();
    let d = drops.clone();
    rt.block_on(async move {
        let g = d.guard();
        let mut t = pin!(eddy::timeout(ms(5), async move {
            let _finally = g;
            sleep(ms(1000)).await;
        }));
        assert!(t.get_ref().is_some());
        assert_eq!(t.as_mut().await, Err(Elapsed::new()));
        // The `Timeout` is still alive here; what its future held is not.
        assert_eq!(d.count(), 1, "dropped before Err was returned");
        assert!(t.get_ref().is_none());
        // Polled again (a contract breach, but it must stay inert).
        assert_eq!(
            future::poll_once(t.as_mut()).await,
            Some(Err(Elapsed::new()))
        );
    });
    assert_eq!(drops.count(), 1, "dropped exactly once");
}

#[test]
fn zero_and_past_deadlines() {
    let (rt, _clock) = virtual_time();
    rt.block_on(async {
        assert_eq!(eddy::timeout(Duration::ZERO, async { 1 }).await, Ok(1));
        assert_eq!(
            eddy::wait_for(std::future::pending::<()>(), Duration::ZERO).await,
            Err(Elapsed::new())
        );
        let past = eddy::Handle::current().timer().now() - ms(5);
        assert_eq!(eddy::timeout_at(past, async { 2 }).await, Ok(2));
        assert!(eddy::timeout_at(past, sleep(ms(1))).await.is_err());
        // Huge durations do not overflow.
        assert_eq!(eddy::timeout(Duration::MAX, async { 3 }).await, Ok(3));
    });
}

#[test]
fn timeout_reschedule_moves_the_deadline_both_ways() {
    let (rt, clock) = virtual_time();
    let start = clock.now();
    rt.block_on(async {
        let timer = eddy::Handle::current().timer().clone();
        let mut t = pin!(eddy::timeout(ms(10), sleep(ms(100))));
        assert!(future::poll_once(t.as_mut()).await.is_none());
        t.as_mut().reschedule(timer.now() + ms(200));
        assert_eq!(t.await, Ok(()));
    });
    assert_eq!(clock.now() - start, ms(100));
    let start = clock.now();
    rt.block_on(async {
        let timer = eddy::Handle::current().timer().clone();
        let mut t = pin!(eddy::timeout(ms(1000), sleep(ms(500))));
        assert!(future::poll_once(t.as_mut()).await.is_none());
        t.as_mut().reschedule(timer.now() + ms(30));
        assert_eq!(t.await, Err(Elapsed::new()));
    });
    assert_eq!(clock.now() - start, ms(30));
}

#[test]
fn move_on_after_fail_after_and_cancel_scope() {
    let (rt, clock) = virtual_time();
    let start = clock.now();
    rt.block_on(async {
        assert_eq!(eddy::move_on_after(ms(5), sleep(ms(50))).await, None);
        assert_eq!(eddy::move_on_after(ms(50), async { 1 }).await, Some(1));
        assert!(eddy::fail_after(ms(5), sleep(ms(50))).await.is_err());

        // Cancelled from outside: reported as Cancelled, not Elapsed.
        let scope = eddy::CancelScope::new();
        let s = scope.clone();
        eddy::spawn(async move {
            sleep(ms(7)).await;
            s.cancel();
            s.cancel();
        });
        assert_eq!(
            scope.run(sleep(ms(1000))).await,
            Err(Interrupted::Cancelled)
        );
        // Deadline moved later from inside the work.
        let timer = eddy::Handle::current().timer().clone();
        let scope = eddy::CancelScope::with_deadline(timer.now() + ms(1));
        let s = scope.clone();
        let r = scope
            .run(async move {
                s.set_deadline(Some(eddy::Handle::current().timer().now() + ms(20)));
                sleep(ms(10)).await;
                5
            })
            .await;
        assert_eq!(r, Ok(5));
        // A scope cancelled before it starts never runs its work.
        let scope = eddy::CancelScope::new();
        scope.cancel();
        let ran = Arc::new(AtomicUsize::new(0));
        let r2 = ran.clone();
        let r = scope
            .run(async move { r2.fetch_add(1, Ordering::SeqCst) })
            .await;
        assert_eq!(r, Err(Interrupted::Cancelled));
        assert_eq!(ran.load(Ordering::SeqCst), 0);
    });
    assert_eq!(clock.now() - start, ms(5 + 5 + 7 + 10));
}

// --- tasks: manual cancellation, shield, grace -----------------------------------

#[test]
fn cancelling_twice_and_cancelling_a_finished_task() {
    let (rt, _clock) = virtual_time();
    rt.block_on(async {
        let drops = Drops::default();
        let g = drops.guard();
        let t = eddy::spawn(async move {
            let _g = g;
            sleep(ms(10_000)).await;
        });
        sleep(ms(1)).await;
        t.cancel();
        t.cancel();
        assert!(matches!(t.await, Err(JoinError::Cancelled)));
        assert_eq!(drops.count(), 1, "destructors ran exactly once");

        let t = eddy::spawn(async { 5 });
        sleep(ms(1)).await;
        t.cancel(); // no-op on a finished task
        assert_eq!(t.await.unwrap(), 5);
    });
}

#[test]
fn awaiting_a_finished_group_task_twice_is_a_clear_error() {
    let (rt, _clock) = virtual_time();
    rt.block_on(async {
        let tg = eddy::TaskGroup::new();
        let mut t = tg.spawn(async { Ok::<_, ValueError>(1) });
        tg.join().await.unwrap();
        assert_eq!((&mut t).await, Ok(1));
        assert_eq!((&mut t).await, Err(ChildError::AlreadyTaken));
        assert!(t.is_finished());
    });
}

#[test]
fn shield_keeps_the_inner_task_running_when_the_outer_await_is_cancelled() {
    let (rt, clock) = virtual_time();
    let start = clock.now();
    let finished = Arc::new(AtomicUsize::new(0));
    let f = finished.clone();
    rt.block_on(async move {
        let f2 = f.clone();
        let outer = eddy::spawn(async move {
            eddy::shield(async move {
                sleep(ms(50)).await;
                f2.fetch_add(1, Ordering::SeqCst);
            })
            .await
        });
        sleep(ms(10)).await;
        outer.cancel();
        assert!(matches!(outer.await, Err(JoinError::Cancelled)));
        assert_eq!(f.load(Ordering::SeqCst), 0);
        sleep(ms(100)).await;
        assert_eq!(f.load(Ordering::SeqCst), 1, "the shielded work finished");
    });
    assert_eq!(clock.now() - start, ms(110));
}

#[test]
fn cancel_with_grace_lets_the_task_await_its_cleanup() {
    let (rt, clock) = virtual_time();
    let start = clock.now();
    rt.block_on(async {
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = log.clone();
        let t = eddy::spawn(async move {
            eddy::race(
                async {
                    sleep(ms(10_000)).await;
                    "finished"
                },
                async {
                    eddy::cancelled().await;
                    l.lock().unwrap().push("asked");
                    sleep(ms(20)).await; // async cleanup
                    l.lock().unwrap().push("cleaned up");
                    "stopped"
                },
            )
            .await
        });
        sleep(ms(5)).await;
        assert_eq!(
            eddy::cancel_with_grace(t, ms(100)).await.unwrap(),
            "stopped"
        );
        assert_eq!(*log.lock().unwrap(), ["asked", "cleaned up"]);

        // A task that ignores the request is dropped when the grace runs out.
        let drops = Drops::default();
        let g = drops.guard();
        let t = eddy::spawn(async move {
            let _g = g;
            sleep(ms(10_000)).await;
        });
        sleep(ms(5)).await;
        assert!(matches!(
            eddy::cancel_with_grace(t, ms(30)).await,
            Err(JoinError::Cancelled)
        ));
        assert_eq!(drops.count(), 1);
    });
    assert_eq!(clock.now() - start, ms(5 + 20 + 5 + 30));
}

// --- TaskGroup -------------------------------------------------------------------

#[test]
fn task_group_failure_cancels_siblings_and_body_and_collects_every_error() {
    let (rt, clock) = virtual_time();
    let start = clock.now();
    let drops = Drops::default();
    let d = drops.clone();
    let out = rt.block_on(eddy::task_group(move |tg| async move {
        // Fails at 100 ms.
        tg.builder().name("risky").spawn(async {
            sleep(ms(100)).await;
            Err::<(), _>(ValueError("Something went wrong"))
        });
        // A plain sibling: dropped (hard) when risky fails.
        let g = d.guard();
        let sibling = tg.spawn(async move {
            let _g = g;
            sleep(ms(1000)).await;
        });
        // A sibling with grace that fails while cleaning up: collected too.
        tg.builder().name("cleanup").grace(ms(50)).spawn(async {
            eddy::cancelled().await;
            sleep(ms(10)).await;
            Err::<(), _>(KeyError(7))
        });
        // The body's own pending await is cancelled.
        let _body_guard = d.guard();
        sleep(ms(5000)).await;
        drop(sibling);
        Ok::<_, ValueError>("unreachable")
    }));
    let eg = out.unwrap_err();
    assert_eq!(eg.len(), 2, "{eg}");
    assert_eq!(eg.failures()[0].name(), Some("risky"));
    assert!(!eg.failures()[0].is_body());
    assert!(eg.failures()[0].task_id().is_some());
    assert_eq!(eg.failures()[1].name(), Some("cleanup"));
    assert_eq!(eg.find::<KeyError>(), Some(&KeyError(7)));
    let (values, rest) = eg.split::<ValueError>();
    assert_eq!(values, [ValueError("Something went wrong")]);
    let rest = rest.unwrap();
    assert_eq!(rest.len(), 1);
    assert!(rest.contains::<KeyError>());
    assert_eq!(drops.count(), 2, "the sibling and the body were dropped");
    assert_eq!(
        clock.now() - start,
        ms(110),
        "failure at 100 + 10 ms of cleanup"
    );
}

#[test]
fn body_failure_cancels_children_and_is_reported_as_the_body() {
    let (rt, _clock) = virtual_time();
    let drops = Drops::default();
    let d = drops.clone();
    let out = rt.block_on(eddy::task_group(move |tg| async move {
        let g = d.guard();
        tg.spawn(async move {
            let _g = g;
            sleep(ms(1000)).await;
        });
        sleep(ms(10)).await;
        Err::<(), _>(ValueError("body"))
    }));
    let eg = out.unwrap_err();
    assert_eq!(eg.len(), 1);
    assert!(eg.failures()[0].is_body());
    assert_eq!(eg.find::<ValueError>(), Some(&ValueError("body")));
    assert_eq!(drops.count(), 1);
}

#[test]
fn child_and_body_panics_are_collected() {
    let (rt, _clock) = virtual_time();
    let out = rt.block_on(eddy::task_group(|tg| async move {
        tg.spawn(async {
            sleep(ms(1)).await;
            if eddy::Handle::try_current().is_some() {
                panic!("child boom");
            }
        });
        sleep(ms(100)).await;
    }));
    let eg = out.unwrap_err();
    assert_eq!(
        eg.panics().next().and_then(|p| p.message()),
        Some("child boom")
    );
    assert!(matches!(eg.failures()[0].kind(), FailureKind::Panic(_)));

    let out = rt.block_on(eddy::task_group(|_tg| async move {
        sleep(ms(1)).await;
        if eddy::Handle::try_current().is_some() {
            panic!("body boom");
        }
    }));
    let eg = out.unwrap_err();
    assert!(eg.failures()[0].is_body());
    assert_eq!(
        eg.panics().next().and_then(|p| p.message()),
        Some("body boom")
    );
}

#[test]
fn successful_group_returns_the_body_value_after_every_child() {
    let (rt, clock) = virtual_time();
    let start = clock.now();
    let out = rt.block_on(eddy::task_group(|tg| async move {
        let h = tg.clone();
        let a = tg.spawn(async move {
            // A child spawning a sibling: the group waits for it too.
            h.spawn(async { sleep(ms(300)).await });
            sleep(ms(10)).await;
            Ok::<_, ValueError>(20)
        });
        Ok::<_, ChildError>(a.await? + 1)
    }));
    assert_eq!(out.unwrap(), Some(21));
    assert_eq!(clock.now() - start, ms(300));
}

#[test]
fn group_cancel_ends_early_without_error() {
    let (rt, clock) = virtual_time();
    let start = clock.now();
    let drops = Drops::default();
    let d = drops.clone();
    let out = rt.block_on(eddy::task_group(move |tg| async move {
        let g = d.guard();
        tg.spawn(async move {
            let _g = g;
            std::future::pending::<()>().await;
        });
        let h = tg.clone();
        tg.spawn(async move {
            sleep(ms(25)).await;
            h.cancel();
        });
        let _body = d.guard();
        sleep(ms(1000)).await;
        Ok::<_, ValueError>("body finished")
    }));
    assert_eq!(out.unwrap(), None, "the body was cancelled");
    assert_eq!(drops.count(), 2);
    assert_eq!(clock.now() - start, ms(25));

    // Spawning into a cancelling group starts nothing and says so (asyncio
    // 3.12+ raises RuntimeError); into a joined one fails too.
    rt.block_on(async {
        let tg = eddy::TaskGroup::new();
        tg.cancel();
        assert_eq!(
            tg.try_spawn(async {}).unwrap_err(),
            GroupSpawnError::Cancelling
        );
        let t = tg.spawn(async {});
        assert_eq!(t.id(), None);
        assert!(t.is_finished(), "resolved at once, never pending");
        let h = tg.handle();
        tg.join().await.unwrap();
        assert_eq!(
            t.await,
            Err(ChildError::NotStarted(GroupSpawnError::Cancelling))
        );
        assert_eq!(h.try_spawn(async {}).unwrap_err(), GroupSpawnError::Closed);
    });
}

#[test]
fn no_child_outlives_the_group_when_its_task_is_cancelled() {
    let (rt, _clock) = virtual_time();
    let drops = Drops::default();
    let d = drops.clone();
    rt.block_on(async move {
        let d2 = d.clone();
        let outer = eddy::spawn(eddy::task_group(move |tg| async move {
            let g = d2.guard();
            tg.spawn(async move {
                let _g = g;
                sleep(ms(10_000)).await;
            });
            // A nested group inside a child.
            let d3 = d2.clone();
            tg.spawn(async move {
                eddy::task_group(move |inner| async move {
                    let g = d3.guard();
                    inner.spawn(async move {
                        let _g = g;
                        sleep(ms(10_000)).await;
                    });
                })
                .await
                .map(|_| ())
            });
            sleep(ms(10_000)).await;
        }));
        sleep(ms(10)).await;
        assert_eq!(d.count(), 0);
        outer.cancel();
        assert!(matches!(outer.await, Err(JoinError::Cancelled)));
        // Hard cancels are delivered when the children are next scheduled.
        sleep(ms(1)).await;
        assert_eq!(
            d.count(),
            2,
            "the child and the nested group's child were dropped"
        );
        assert_eq!(eddy::Handle::current().executor().stats().alive, 0);
    });
}

#[test]
fn a_timeout_around_a_group_cancels_it() {
    let (rt, _clock) = virtual_time();
    let drops = Drops::default();
    let d = drops.clone();
    rt.block_on(async move {
        let r = eddy::timeout(
            ms(20),
            eddy::task_group(move |tg| async move {
                for _ in 0..3 {
                    let g = d.guard();
                    tg.spawn(async move {
                        let _g = g;
                        sleep(ms(1000)).await;
                    });
                }
            }),
        )
        .await;
        assert!(r.is_err());
        sleep(ms(1)).await;
    });
    assert_eq!(drops.count(), 3);
}

#[test]
fn children_are_named_tasks() {
    let (rt, _clock) = virtual_time();
    rt.block_on(async {
        let tg = eddy::TaskGroup::new();
        let t = tg
            .builder()
            .name("fetch")
            .spawn(async { Ok::<_, ValueError>(eddy::task::current_task_id()) });
        assert_eq!(t.name(), Some("fetch"));
        let id = t.id();
        assert!(id.is_some());
        tg.join().await.unwrap();
        assert_eq!(t.await.unwrap(), id);
    });
}

#[test]
fn start_waits_for_the_ready_signal() {
    let (rt, clock) = virtual_time();
    let start = clock.now();
    rt.block_on(async {
        let tg = eddy::TaskGroup::new();
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = log.clone();
        let port = tg
            .start(move |ready| async move {
                sleep(ms(10)).await;
                l.lock().unwrap().push("listening");
                ready.send(8080);
                sleep(ms(10)).await;
                l.lock().unwrap().push("served");
            })
            .await
            .unwrap();
        assert_eq!(port, 8080);
        assert_eq!(*log.lock().unwrap(), ["listening"]);
        let r = tg.start(|_ready: eddy::scope::Ready<u16>| async {}).await;
        assert_eq!(r, Err(StartError::Exited));
        tg.join().await.unwrap();
        assert_eq!(*log.lock().unwrap(), ["listening", "served"]);
    });
    assert_eq!(clock.now() - start, ms(20));
}

#[test]
fn group_grace_period_turns_hard_when_it_runs_out() {
    let (rt, clock) = virtual_time();
    let start = clock.now();
    let drops = Drops::default();
    let d = drops.clone();
    rt.block_on(async move {
        let tg = eddy::TaskGroup::new().with_grace(ms(40));
        let g = d.guard();
        // Ignores the request: dropped at the end of the grace.
        let t = tg.spawn(async move {
            let _g = g;
            sleep(ms(10_000)).await;
        });
        tg.spawn(async {
            sleep(ms(10)).await;
            Err::<(), _>(ValueError("x"))
        });
        let eg = tg.join().await.unwrap_err();
        assert_eq!(eg.len(), 1);
        assert_eq!(t.await, Err(ChildError::Cancelled));
    });
    assert_eq!(drops.count(), 1);
    assert_eq!(clock.now() - start, ms(50));
}

// --- async generators and resources ----------------------------------------------

#[test]
fn async_generator_is_lazy_and_cleans_up_when_dropped() {
    let (rt, _clock) = virtual_time();
    let produced = Arc::new(AtomicUsize::new(0));
    let drops = Drops::default();
    let (p, d) = (produced.clone(), drops.clone());
    rt.block_on(async move {
        let mut s = pin!(eddy::async_gen(move |y| async move {
            let _finally = d.guard();
            for i in 0..100u32 {
                sleep(ms(1)).await;
                p.fetch_add(1, Ordering::SeqCst);
                y.yield_(i).await;
            }
        }));
        assert_eq!(s.next().await, Some(0));
        assert_eq!(s.next().await, Some(1));
        assert_eq!(produced.load(Ordering::SeqCst), 2, "nothing produced ahead");
    });
    assert_eq!(
        drops.count(),
        1,
        "dropping the stream ran the generator's cleanup"
    );
}

#[test]
fn resource_release_is_awaited_on_success_error_and_cancellation() {
    let (rt, _clock) = virtual_time();
    let log = Arc::new(Mutex::new(Vec::new()));
    rt.block_on(async {
        for fail in [false, true] {
            let l = log.clone();
            let out = eddy::with_resource(
                async { Ok::<_, ValueError>(l) },
                |l| async move {
                    sleep(ms(5)).await;
                    l.lock().unwrap().push("released");
                },
                move |l| {
                    Box::pin(async move {
                        l.lock().unwrap().push("used");
                        if fail { Err("oops") } else { Ok(1) }
                    })
                },
            )
            .await
            .unwrap();
            assert_eq!(out.is_err(), fail);
        }
        // Cancelled mid-use: the release still runs, as its own task.
        let l = log.clone();
        let r = eddy::timeout(
            ms(10),
            eddy::with_resource(
                async { Ok::<_, ValueError>(l) },
                |l| async move {
                    sleep(ms(5)).await;
                    l.lock().unwrap().push("released after cancel");
                },
                |_l| Box::pin(sleep(ms(1000))),
            ),
        )
        .await;
        assert!(r.is_err());
        sleep(ms(20)).await;
    });
    assert_eq!(
        *log.lock().unwrap(),
        [
            "used",
            "released",
            "used",
            "released",
            "released after cancel"
        ]
    );
}

// --- multi-threaded ----------------------------------------------------------------

#[test]
fn task_group_on_the_multi_threaded_runtime() {
    let rt = Builder::multi_thread().worker_threads(2).build().unwrap();
    let drops = Drops::default();
    let d = drops.clone();
    rt.block_on(async move {
        // Many children, all succeed, results through handles.
        let out = eddy::task_group(|tg| async move {
            let handles: Vec<_> = (0..200u64)
                .map(|i| {
                    tg.spawn(async move {
                        eddy::yield_now().await;
                        Ok::<_, ValueError>(i)
                    })
                })
                .collect();
            let mut sum = 0;
            for h in handles {
                sum += h.await?;
            }
            Ok::<_, ChildError>(sum)
        })
        .await;
        assert_eq!(out.unwrap(), Some((0..200).sum()));

        // A failure cancels siblings running on other workers.
        let out = eddy::task_group(move |tg| async move {
            for _ in 0..8 {
                let g = d.guard();
                tg.spawn(async move {
                    let _g = g;
                    sleep(Duration::from_secs(60)).await;
                });
            }
            tg.spawn(async {
                sleep(ms(5)).await;
                Err::<(), _>(ValueError("stop"))
            });
        })
        .await;
        assert_eq!(out.unwrap_err().len(), 1);
    });
    assert_eq!(
        drops.count(),
        8,
        "join returned after every sibling was reaped"
    );
}

#[test]
fn group_children_run_in_parallel_on_the_multi_threaded_runtime() {
    let rt = Builder::multi_thread().worker_threads(2).build().unwrap();
    let ok = rt.block_on(eddy::task_group(|tg| async move {
        // Each child spins until it has seen the other running at the same
        // time: only possible if they run on two threads at once.
        let arrived = Arc::new(AtomicUsize::new(0));
        for _ in 0..2 {
            let a = arrived.clone();
            tg.spawn(async move {
                a.fetch_add(1, Ordering::SeqCst);
                // Real time on purpose: this measures actual parallelism.
                #[allow(clippy::disallowed_methods)]
                let give_up = Instant::now() + Duration::from_secs(20);
                #[allow(clippy::disallowed_methods)]
                while a.load(Ordering::SeqCst) < 2 && Instant::now() < give_up {
                    std::hint::spin_loop();
                }
                if a.load(Ordering::SeqCst) == 2 {
                    Ok(())
                } else {
                    Err(ValueError("never ran in parallel"))
                }
            });
        }
    }));
    assert!(ok.is_ok(), "{ok:?}");
}

#[test]
fn a_graceful_cancel_of_the_enclosing_task_reaches_the_children() {
    let (rt, clock) = virtual_time();
    let start = clock.now();
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    rt.block_on(async move {
        let l2 = l.clone();
        let worker = eddy::spawn(eddy::task_group(move |tg| async move {
            for name in ["a", "b"] {
                let l = l2.clone();
                tg.builder().grace(ms(100)).spawn(async move {
                    eddy::cancelled().await;
                    sleep(ms(10)).await; // awaited cleanup
                    l.lock().unwrap().push(name);
                });
            }
            eddy::cancelled().await;
            l2.lock().unwrap().push("body");
        }));
        sleep(ms(5)).await;
        let out = eddy::cancel_with_grace(worker, ms(1000)).await;
        assert!(matches!(out, Ok(Ok(Some(())))), "{out:?}");
    });
    let mut got = log.lock().unwrap().clone();
    got.sort_unstable();
    assert_eq!(got, ["a", "b", "body"]);
    assert_eq!(clock.now() - start, ms(15));
}
