//! How a task group cancels its body and its children, what spawning into
//! a shutting-down group does, and what a child's handle reports: asyncio
//! 3.12+'s `TaskGroup` semantics, through the public API, on the virtual
//! clock (every duration below is exact).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use eddy::sleep;
use eddy_scope::{ChildError, FailureKind, GroupSpawnError, StartError};

mod common;
use common::*;

// --- the body is cancelled like a child -------------------------------------------

#[test]
fn the_body_awaits_its_cleanup_after_a_child_fails_and_its_error_joins_the_group() {
    let (rt, clock) = virtual_time();
    let start = clock.now();
    let drops = Drops::default();
    let d = drops.clone();
    let out = rt.block_on(async move {
        eddy::TaskGroup::new()
            .with_grace(ms(50))
            .run(move |tg| async move {
                let _finally = d.guard();
                tg.builder().name("risky").spawn(async {
                    sleep(ms(10)).await;
                    Err::<(), _>(ValueError("child"))
                });
                tg.cancelled().await;
                assert!(tg.is_cancelling());
                sleep(ms(5)).await; // awaited cleanup, like `except CancelledError`
                Err::<(), _>(KeyError(1))
            })
            .await
    });
    let eg = out.unwrap_err();
    assert_eq!(eg.len(), 2, "{eg}");
    assert_eq!(eg.failures()[0].name(), Some("risky"));
    assert!(!eg.failures()[0].is_body());
    assert!(eg.failures()[1].is_body());
    assert_eq!(eg.find::<KeyError>(), Some(&KeyError(1)));
    assert_eq!(eg.find::<ValueError>(), Some(&ValueError("child")));
    assert_eq!(drops.count(), 1, "the body finished, its finally ran once");
    assert_eq!(
        clock.now() - start,
        ms(15),
        "failure at 10 + 5 ms of cleanup"
    );
}

#[test]
fn the_body_sees_eddy_cancelled_when_the_group_is_cancelled() {
    let (rt, clock) = virtual_time();
    let start = clock.now();
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    rt.block_on(async move {
        let out = eddy::TaskGroup::new()
            .with_grace(ms(100))
            .run(move |tg| async move {
                let stopper = tg.clone();
                tg.spawn(async move {
                    sleep(ms(20)).await;
                    stopper.cancel();
                });
                assert!(!eddy::is_cancel_requested());
                eddy::cancelled().await; // the runtime's own signal fires in the body
                assert!(eddy::is_cancel_requested());
                l.lock().unwrap().push("asked");
                sleep(ms(5)).await;
                l.lock().unwrap().push("cleaned up");
                Ok::<_, ValueError>("closed cleanly")
            })
            .await;
        // A body that handles the request and returns gives its value.
        assert_eq!(out.unwrap(), Some("closed cleanly"));
        // The request was the body's, not the hosting task's.
        assert!(!eddy::is_cancel_requested());
    });
    assert_eq!(*log.lock().unwrap(), ["asked", "cleaned up"]);
    assert_eq!(clock.now() - start, ms(25));
}

#[test]
fn a_body_that_ignores_the_request_is_dropped_when_the_grace_runs_out() {
    let (rt, clock) = virtual_time();
    let start = clock.now();
    let drops = Drops::default();
    let d = drops.clone();
    let out = rt.block_on(async move {
        eddy::TaskGroup::new()
            .with_grace(ms(30))
            .run(move |tg| async move {
                let _finally = d.guard();
                tg.spawn(async {
                    sleep(ms(10)).await;
                    Err::<(), _>(ValueError("child"))
                });
                // Never looks at the request.
                std::future::pending::<()>().await;
                Ok::<_, ValueError>("unreachable")
            })
            .await
    });
    let eg = out.unwrap_err();
    assert_eq!(eg.len(), 1);
    assert!(!eg.failures()[0].is_body());
    assert_eq!(drops.count(), 1, "dropped exactly once");
    assert_eq!(
        clock.now() - start,
        ms(40),
        "failure at 10 + 30 ms of grace"
    );

    // Cancelled (not failed) and dropped: `Ok(None)`.
    let (rt, clock) = virtual_time();
    let start = clock.now();
    let drops = Drops::default();
    let d = drops.clone();
    let out = rt.block_on(async move {
        eddy::TaskGroup::new()
            .with_grace(ms(30))
            .run(move |tg| async move {
                let _finally = d.guard();
                tg.cancel();
                sleep(ms(10_000)).await;
                Ok::<_, ValueError>("unreachable")
            })
            .await
    });
    assert_eq!(out.unwrap(), None);
    assert_eq!(drops.count(), 1);
    assert_eq!(clock.now() - start, ms(30));
}

#[test]
fn a_child_its_handle_asked_is_still_dropped_when_the_groups_grace_runs_out() {
    // The handle's request sets no deadline; the group's cancellation later
    // must still bound the child's life by its grace, or `join` would wait
    // for a child that ignores requests forever.
    let (rt, clock) = virtual_time();
    let start = clock.now();
    let drops = Drops::default();
    let d = drops.clone();
    rt.block_on(async move {
        let tg = eddy::TaskGroup::new().with_grace(ms(30));
        let g = d.guard();
        let stubborn = tg.spawn(async move {
            let _g = g;
            // Never looks at the request.
            sleep(ms(10_000)).await;
        });
        sleep(ms(5)).await;
        stubborn.request_cancel();
        sleep(ms(5)).await;
        tg.cancel();
        tg.join().await.unwrap();
        assert_eq!(stubborn.await, Err(ChildError::Cancelled));
    });
    assert_eq!(drops.count(), 1, "dropped exactly once");
    assert_eq!(
        clock.now() - start,
        ms(40),
        "cancelled at 10 + 30 ms of grace"
    );
}

#[test]
fn without_a_grace_period_the_body_is_dropped_at_once() {
    let (rt, clock) = virtual_time();
    let start = clock.now();
    let drops = Drops::default();
    let d = drops.clone();
    let out = rt.block_on(eddy::task_group(move |tg| async move {
        let _finally = d.guard();
        tg.spawn(async {
            sleep(ms(10)).await;
            Err::<(), _>(ValueError("child"))
        });
        eddy::cancelled().await; // never seen: the body is dropped at the failure
        sleep(ms(5)).await;
        Err::<(), _>(KeyError(1))
    }));
    let eg = out.unwrap_err();
    assert_eq!(eg.len(), 1);
    assert!(eg.find::<KeyError>().is_none());
    assert_eq!(drops.count(), 1);
    assert_eq!(clock.now() - start, ms(10));
}

#[test]
fn the_groups_grace_covers_the_body_and_children_keep_their_own() {
    let (rt, clock) = virtual_time();
    let start = clock.now();
    let drops = Drops::default();
    let d = drops.clone();
    let when = Arc::new(Mutex::new(Vec::new()));
    let w = when.clone();
    let out = rt.block_on(async move {
        let origin = eddy::Handle::current().timer().now();
        eddy::TaskGroup::new()
            .with_grace(ms(100))
            .run(move |tg| async move {
                // Its own, shorter grace; ignores the request: dropped at 10 + 5.
                let g = d.guard();
                tg.builder().grace(ms(5)).spawn(async move {
                    let _g = g;
                    sleep(ms(10_000)).await;
                });
                // The group's grace: awaits 40 ms of cleanup.
                let w2 = w.clone();
                tg.spawn(async move {
                    eddy::cancelled().await;
                    sleep(ms(40)).await;
                    w2.lock()
                        .unwrap()
                        .push(("child", eddy::Handle::current().timer().now() - origin));
                });
                tg.spawn(async {
                    sleep(ms(10)).await;
                    Err::<(), _>(ValueError("child"))
                });
                tg.cancelled().await;
                sleep(ms(60)).await;
                w.lock()
                    .unwrap()
                    .push(("body", eddy::Handle::current().timer().now() - origin));
            })
            .await
    });
    assert_eq!(out.unwrap_err().len(), 1);
    assert_eq!(drops.count(), 1);
    assert_eq!(*when.lock().unwrap(), [("child", ms(50)), ("body", ms(70))]);
    assert_eq!(clock.now() - start, ms(70));
}

#[test]
fn a_nested_group_in_a_cancelled_body_is_asked_too() {
    let (rt, clock) = virtual_time();
    let start = clock.now();
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    let out = rt.block_on(async move {
        eddy::TaskGroup::new()
            .with_grace(ms(100))
            .run(move |tg| async move {
                let stopper = tg.clone();
                tg.spawn(async move {
                    sleep(ms(10)).await;
                    stopper.cancel();
                });
                eddy::TaskGroup::new()
                    .with_grace(ms(100))
                    .run(move |inner| async move {
                        let l2 = l.clone();
                        inner.spawn(async move {
                            eddy::cancelled().await;
                            sleep(ms(5)).await;
                            l2.lock().unwrap().push("inner child");
                        });
                        eddy::cancelled().await;
                        l.lock().unwrap().push("inner body");
                    })
                    .await
                    .map(|_| ())
            })
            .await
    });
    assert!(out.is_ok(), "{out:?}");
    assert_eq!(*log.lock().unwrap(), ["inner body", "inner child"]);
    assert_eq!(clock.now() - start, ms(15));
}

// --- spawning into a shutting-down group --------------------------------------------

#[test]
fn spawning_into_a_failing_group_is_an_error_and_starts_nothing() {
    let (rt, _clock) = virtual_time();
    let drops = Drops::default();
    let d = drops.clone();
    let out = rt.block_on(async move {
        eddy::TaskGroup::new()
            .with_grace(ms(100))
            .run(move |tg| async move {
                // A sibling that tries to spawn while it is being cancelled.
                let h = tg.clone();
                let d2 = d.clone();
                let sibling = tg.spawn(async move {
                    eddy::cancelled().await;
                    let g = d2.guard();
                    let r = h.try_spawn(async move {
                        let _g = g;
                    });
                    Ok::<_, ValueError>(r.map(|_| ()).unwrap_err())
                });
                tg.spawn(async {
                    sleep(ms(10)).await;
                    Err::<(), _>(ValueError("child"))
                });
                tg.cancelled().await;
                let g = d.guard();
                let refused = tg.try_spawn(async move {
                    let _g = g;
                });
                assert_eq!(refused.unwrap_err(), GroupSpawnError::Cancelling);
                let late = tg
                    .builder()
                    .name("late")
                    .spawn(async { Ok::<_, ValueError>(1) });
                assert_eq!((late.id(), late.name()), (None, Some("late")));
                assert!(late.is_finished());
                assert_eq!(
                    late.await,
                    Err(ChildError::NotStarted(GroupSpawnError::Cancelling))
                );
                let started = tg.start(|ready| async move { ready.send(()) }).await;
                assert_eq!(started, Err(StartError::Spawn(GroupSpawnError::Cancelling)));
                assert_eq!(sibling.await, Ok(GroupSpawnError::Cancelling));
            })
            .await
    });
    let eg = out.unwrap_err();
    assert_eq!(eg.len(), 1, "refused spawns add no failure: {eg}");
    assert_eq!(drops.count(), 2, "each refused future dropped exactly once");
}

#[test]
fn spawning_into_a_closed_group_is_an_error() {
    let (rt, _clock) = virtual_time();
    rt.block_on(async {
        let tg = eddy::TaskGroup::new();
        let h = tg.handle();
        tg.join().await.unwrap();
        assert_eq!(h.try_spawn(async {}).unwrap_err(), GroupSpawnError::Closed);
        let tg = eddy::TaskGroup::new();
        let h = tg.handle();
        drop(tg);
        assert_eq!(h.try_spawn(async {}).unwrap_err(), GroupSpawnError::Closed);
    });
}

// --- what a child's handle reports ---------------------------------------------------

#[test]
fn a_failed_childs_handle_gives_its_own_error_or_panic() {
    let (rt, _clock) = virtual_time();
    rt.block_on(async {
        let tg = eddy::TaskGroup::new().with_grace(ms(10));
        let failed = tg.spawn(async {
            sleep(ms(1)).await;
            Err::<u32, _>(ValueError("own"))
        });
        let panicked = tg.spawn(async {
            eddy::cancelled().await;
            if eddy::Handle::try_current().is_some() {
                panic!("cleanup panicked");
            }
        });
        let eg = tg.join().await.unwrap_err();
        assert_eq!(eg.len(), 2);

        let Err(ChildError::Failed(own)) = failed.await else {
            panic!("expected the child's failure");
        };
        assert_eq!(own.downcast_ref::<ValueError>(), Some(&ValueError("own")));
        assert_eq!(own.to_string(), "ValueError: own");
        // The very error the group holds, not a copy.
        let in_group = eg.failures()[0].error().unwrap();
        assert!(std::ptr::addr_eq(own.error().unwrap(), in_group));

        let err = panicked.await.unwrap_err();
        let caught = err.failure().and_then(|f| f.panic()).unwrap();
        assert_eq!(caught.message(), Some("cleanup panicked"));
        assert!(matches!(eg.failures()[1].kind(), FailureKind::Panic(_)));
        // `?` in a caller: the handle's error is an Error with the child's as source.
        let source = std::error::Error::source(&err).unwrap();
        assert_eq!(source.to_string(), "panicked: cleanup panicked");

        // While the outcome is kept the error is shared: `split` leaves it;
        // once dropped, `split` moves it out.
        let (moved, rest) = eg.split::<ValueError>();
        assert!(moved.is_empty());
        let rest = rest.unwrap();
        drop(own);
        let (moved, rest) = rest.split::<ValueError>();
        assert_eq!(moved, [ValueError("own")]);
        assert_eq!(rest.unwrap().len(), 1);
    });
}

#[test]
fn cancelled_children_are_not_failures() {
    let (rt, _clock) = virtual_time();
    let drops = Drops::default();
    let d = drops.clone();
    rt.block_on(async move {
        let tg = eddy::TaskGroup::new();
        // Cancelled (hard) by its own handle.
        let g = d.guard();
        let stopped = tg.spawn(async move {
            let _g = g;
            sleep(ms(10_000)).await;
        });
        // Asked by its handle; handles it and returns.
        let polite = tg.spawn(async {
            eddy::cancelled().await;
            Ok::<_, ValueError>("stopped")
        });
        // Awaits the cancelled sibling with `?`: a re-raised cancellation.
        let h = tg.handle();
        let follower = tg.spawn(async move {
            sleep(ms(1)).await;
            let never = h.spawn(std::future::pending::<()>());
            never.cancel();
            never.await?;
            Ok::<_, ChildError>(())
        });
        sleep(ms(5)).await;
        stopped.cancel();
        polite.request_cancel();
        tg.join().await.unwrap();
        assert_eq!(stopped.await, Err(ChildError::Cancelled));
        assert_eq!(polite.await, Ok("stopped"));
        assert_eq!(follower.await, Err(ChildError::Cancelled));
    });
    assert_eq!(drops.count(), 1);

    // The group's own cancellation: a cancelled group is not an error, and
    // a body that passes on a cancellation with `?` is cancelled too.
    let (rt, _clock) = virtual_time();
    let out = rt.block_on(async {
        eddy::TaskGroup::new()
            .with_grace(ms(50))
            .run(|tg| async move {
                let child = tg.spawn(std::future::pending::<()>());
                tg.cancel();
                child.await?;
                Ok::<_, ChildError>("unreachable")
            })
            .await
    });
    assert_eq!(out.unwrap(), None);
}

// --- no child outlives the group -----------------------------------------------------

#[test]
fn dropping_a_group_with_grace_cancels_the_body_and_every_child_without_waiting() {
    let (rt, clock) = virtual_time();
    let start = clock.now();
    let drops = Drops::default();
    let d = drops.clone();
    rt.block_on(async move {
        let r = eddy::timeout(
            ms(20),
            eddy::TaskGroup::new()
                .with_grace(ms(1000))
                .run(move |tg| async move {
                    for _ in 0..3 {
                        let g = d.guard();
                        tg.spawn(async move {
                            let _g = g;
                            eddy::cancelled().await;
                            sleep(ms(500)).await; // would-be cleanup: not waited for
                        });
                    }
                    let _finally = d.guard();
                    sleep(ms(10_000)).await;
                }),
        )
        .await;
        assert!(r.is_err());
        // Hard cancels are delivered when the children are next scheduled.
        sleep(ms(1)).await;
        assert_eq!(eddy::Handle::current().executor().stats().alive, 0);
    });
    assert_eq!(drops.count(), 4, "body and children dropped exactly once");
    assert_eq!(clock.now() - start, ms(21), "no grace waited for");
}

#[test]
fn a_failure_shared_with_a_handle_can_still_be_taken_apart() {
    use std::panic::{AssertUnwindSafe, catch_unwind};

    let (rt, _clock) = virtual_time();
    rt.block_on(async {
        let tg = eddy::TaskGroup::new();
        let failed = tg.spawn(async { Err::<(), _>(ValueError("kept")) });
        let eg = tg.join().await.unwrap_err();
        // The handle's outcome still shares the error: `into_kind` hands it
        // back behind a ChildFailure that reaches it.
        let kind = eg.into_failures().remove(0).into_kind();
        let FailureKind::Error(boxed) = kind else {
            panic!("an error, not a panic");
        };
        let shared = boxed.downcast_ref::<eddy_scope::ChildFailure>().unwrap();
        assert_eq!(
            shared.downcast_ref::<ValueError>(),
            Some(&ValueError("kept"))
        );
        let Err(ChildError::Failed(own)) = failed.await else {
            panic!("expected the child's failure");
        };
        assert_eq!(&own, shared, "the same failure");

        // A shared panic is still re-raised with its payload.
        let tg = eddy::TaskGroup::new();
        let panicked = tg.spawn(async {
            if eddy::Handle::try_current().is_some() {
                panic!("boom");
            }
        });
        let eg = tg.join().await.unwrap_err();
        let payload = catch_unwind(AssertUnwindSafe(|| eg.resume_panic())).unwrap_err();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
        let err = panicked.await.unwrap_err();
        assert_eq!(
            err.failure()
                .and_then(|f| f.panic())
                .and_then(|p| p.message()),
            Some("boom"),
            "the handle keeps the message"
        );
    });
}

#[test]
fn the_body_cleans_up_on_the_multi_threaded_runtime() {
    let rt = eddy::Builder::multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let drops = Drops::default();
    let d = drops.clone();
    let out = rt.block_on(async move {
        eddy::TaskGroup::new()
            .with_grace(Duration::from_secs(60))
            .run(move |tg| async move {
                for _ in 0..8 {
                    let g = d.guard();
                    tg.spawn(async move {
                        let _g = g;
                        eddy::cancelled().await;
                        eddy::yield_now().await; // awaited cleanup
                    });
                }
                tg.spawn(async {
                    eddy::yield_now().await;
                    Err::<(), _>(ValueError("stop"))
                });
                let _finally = d.guard();
                eddy::cancelled().await;
                eddy::yield_now().await;
                Err::<(), _>(KeyError(2))
            })
            .await
    });
    let eg = out.unwrap_err();
    assert_eq!(eg.len(), 2, "{eg}");
    assert!(eg.failures().iter().any(|f| f.is_body()));
    assert_eq!(drops.count(), 9, "every child and the body finished once");
}
