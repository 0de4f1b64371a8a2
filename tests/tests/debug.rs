//! Debug mode, introspection, the test runtime (virtual time, seeds,
//! deadlocks) and graceful shutdown, through the facade.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eddy::debug::{DeadlockAction, DebugEvent, TaskState, UnhandledPanic};
use eddy::{Builder, TaskBuilder, sleep, spawn, yield_now};

type Events = Arc<Mutex<Vec<DebugEvent>>>;

fn recorder() -> (Events, impl Fn(&DebugEvent) + Send + Sync + 'static) {
    let events: Events = Arc::default();
    let e = events.clone();
    (events, move |ev: &DebugEvent| {
        e.lock().unwrap().push(ev.clone())
    })
}

fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

/// Run by `eddy_debug_env_turns_debug_mode_on` in a child process.
#[test]
#[ignore = "run as a child process with EDDY_DEBUG set"]
fn child_reports_debug_mode() {
    let rt = Builder::current_thread().build().unwrap();
    assert!(rt.handle().is_debug());
    // An explicit choice beats the environment.
    assert!(
        !Builder::current_thread()
            .debug(false)
            .build()
            .unwrap()
            .handle()
            .is_debug()
    );
}

#[test]
fn eddy_debug_env_turns_debug_mode_on() {
    let run = |value: Option<&str>| {
        let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
        cmd.args([
            "--exact",
            "child_reports_debug_mode",
            "--ignored",
            "--quiet",
        ]);
        match value {
            Some(v) => cmd.env("EDDY_DEBUG", v),
            None => cmd.env_remove("EDDY_DEBUG"),
        };
        cmd.output().unwrap().status.success()
    };
    assert!(run(Some("1")));
    assert!(!run(None));
    assert!(!run(Some("0")));
}

#[test]
fn multi_thread_watchdog_names_the_blocking_task() {
    let (events, rec) = recorder();
    let rt = Builder::multi_thread()
        .worker_threads(2)
        .debug(true)
        .slow_poll_threshold(Duration::from_millis(30))
        .on_debug_event(rec)
        .build()
        .unwrap();
    let e = events.clone();
    rt.block_on(async move {
        TaskBuilder::new()
            .name("reads-a-file-synchronously")
            .spawn(async move {
                for _ in 0..300 {
                    // The pitfall on purpose: real blocking inside a task.
                    #[allow(clippy::disallowed_methods)]
                    std::thread::sleep(Duration::from_millis(10));
                    if e.lock()
                        .unwrap()
                        .iter()
                        .any(|e| matches!(e, DebugEvent::Blocking { .. }))
                    {
                        break;
                    }
                }
            })
            .await
            .unwrap();
    });
    let ev = events.lock().unwrap();
    let text: Vec<String> = ev.iter().map(ToString::to_string).collect();
    assert!(
        text.iter()
            .any(|t| t.contains("blocking the loop") && t.contains("reads-a-file-synchronously")),
        "{text:#?}"
    );
}

#[test]
fn debug_mode_reports_a_deadlock_with_the_task_table_then_recovers() {
    let (events, rec) = recorder();
    let rt = Builder::current_thread()
        .debug(true)
        .deadlock_detection(DeadlockAction::Report, Duration::from_millis(20))
        .on_debug_event(rec)
        .build()
        .unwrap();
    let (tx, rx) = eddy::sync::oneshot::channel::<u32>();
    let seen = events.clone();
    // A thread the runtime cannot see: it answers only after the report,
    // so the report is a (deliberate) false alarm the runtime survives.
    let helper = std::thread::spawn(move || {
        for _ in 0..1000 {
            if seen
                .lock()
                .unwrap()
                .iter()
                .any(|e| matches!(e, DebugEvent::Deadlock { .. }))
            {
                break;
            }
            std::thread::park_timeout(Duration::from_millis(5));
        }
        tx.send(7).unwrap();
    });
    let got = rt.block_on(async {
        let t = TaskBuilder::new()
            .name("waits-for-reply")
            .spawn(async move { rx.await.unwrap() });
        t.await.unwrap()
    });
    helper.join().unwrap();
    assert_eq!(got, 7);
    let ev = events.lock().unwrap();
    let reports: Vec<String> = ev
        .iter()
        .filter(|e| matches!(e, DebugEvent::Deadlock { .. }))
        .map(ToString::to_string)
        .collect();
    assert_eq!(reports.len(), 1);
    assert!(reports[0].contains("waits-for-reply"), "{}", reports[0]);
}

#[test]
fn sleeping_and_blocking_work_are_not_deadlocks() {
    let (events, rec) = recorder();
    let rt = Builder::current_thread()
        .debug(true)
        .deadlock_detection(DeadlockAction::Panic, Duration::from_millis(5))
        .on_debug_event(rec)
        .build()
        .unwrap();
    rt.block_on(async {
        sleep(Duration::from_millis(30)).await;
        let n = eddy::unblock(|| {
            #[allow(clippy::disallowed_methods)] // a blocking job longer than the grace
            std::thread::sleep(Duration::from_millis(30));
            3
        })
        .await
        .unwrap();
        assert_eq!(n, 3);
    });
    assert!(
        !events
            .lock()
            .unwrap()
            .iter()
            .any(|e| matches!(e, DebugEvent::Deadlock { .. }))
    );
}

#[test]
fn test_runtime_fails_a_deadlocked_test_with_the_table() {
    let r = std::panic::catch_unwind(|| {
        eddy::test::Builder::new()
            .deadlock_grace(Duration::from_millis(20))
            .run(async {
                let lock = Arc::new(eddy::sync::Mutex::new(()));
                let guard = lock.lock().await;
                let l = lock.clone();
                let t = TaskBuilder::new().name("second-locker").spawn(async move {
                    let _g = l.lock().await;
                });
                // Waits for a task that waits for a lock we hold.
                t.await.unwrap();
                drop(guard);
            })
    });
    let msg = panic_text(r.unwrap_err());
    assert!(msg.contains("deadlock"), "{msg}");
    assert!(msg.contains("second-locker"), "{msg}");
}

#[test]
fn virtual_time_makes_timeouts_exact() {
    eddy::test::check_seeds(8, |seed| {
        let b = eddy::test::Builder::new().seed(seed);
        let clock = b.clock();
        b.run(async move {
            let start = clock.now();
            let just_in =
                eddy::timeout(Duration::from_secs(10), sleep(Duration::from_millis(9_999)));
            assert!(just_in.await.is_ok());
            let just_out = eddy::timeout(
                Duration::from_secs(10),
                sleep(Duration::from_millis(10_001)),
            );
            assert!(just_out.await.is_err());
            assert_eq!(clock.now() - start, Duration::from_millis(19_999));
        });
    });
}

#[test]
fn an_hour_of_intervals_runs_in_milliseconds() {
    let b = eddy::test::Builder::new();
    let clock = b.clock();
    let start = clock.now();
    let ticks = b.run(async {
        let mut iv = eddy::interval(Duration::from_secs(1));
        let mut n = 0;
        while n < 3600 {
            iv.tick().await;
            n += 1;
        }
        n
    });
    assert_eq!(ticks, 3600);
    assert_eq!(clock.now() - start, Duration::from_secs(3599));
}

/// A body with a race: the checker asserts the writer has not run yet,
/// which holds only in some schedules.
fn racy(seed: u64) {
    eddy::test::Builder::new().seed(seed).run(async {
        let wrote = Arc::new(AtomicBool::new(false));
        let w = wrote.clone();
        let writer = spawn(async move { w.store(true, Ordering::SeqCst) });
        let checker = spawn(async move { assert!(!wrote.load(Ordering::SeqCst), "lost the race") });
        writer.await.unwrap();
        if let Err(e) = checker.await {
            std::panic::resume_unwind(e.into_panic().unwrap().into_payload());
        }
    });
}

#[test]
fn check_seeds_finds_a_rare_interleaving_and_its_seed_replays_it() {
    let r = std::panic::catch_unwind(|| eddy::test::check_seeds(64, racy));
    let msg = panic_text(r.unwrap_err());
    assert!(msg.contains("lost the race"), "{msg}");
    let seed: u64 = msg
        .split("EDDY_SEED=")
        .nth(1)
        .and_then(|s| s.split(':').next())
        .and_then(|s| s.parse().ok())
        .unwrap();
    assert!(
        msg.starts_with(&format!("failed with seed {seed}")),
        "{msg}"
    );
    // The same seed fails the same way, every time.
    for _ in 0..3 {
        assert!(std::panic::catch_unwind(|| racy(seed)).is_err());
    }
    // And some seed passes: the schedule really depends on it.
    assert!((0..64).any(|s| std::panic::catch_unwind(|| racy(s)).is_ok()));
}

#[test]
fn graceful_shutdown_in_phases_on_virtual_time() {
    let b = eddy::test::Builder::new().seed(1);
    let clock = b.clock();
    let rt = b.build().unwrap();
    let cleaned = Arc::new(AtomicUsize::new(0));
    let c = cleaned.clone();
    rt.block_on(async move {
        TaskBuilder::new()
            .name("polite")
            .spawn(async move {
                eddy::cancelled().await;
                sleep(Duration::from_secs(2)).await; // asynchronous cleanup
                c.fetch_add(1, Ordering::SeqCst);
            })
            .detach();
        TaskBuilder::new()
            .name("stubborn")
            .spawn(sleep(Duration::from_secs(3600)))
            .detach();
        yield_now().await;
    });
    let start = clock.now();
    let summary = rt.shutdown_gracefully(Duration::from_secs(5));
    assert_eq!(cleaned.load(Ordering::SeqCst), 1);
    assert_eq!(clock.now() - start, Duration::from_secs(5));
    let names: Vec<_> = summary
        .stragglers
        .tasks()
        .iter()
        .map(|t| t.name.as_deref().unwrap_or(""))
        .collect();
    assert_eq!(names, ["stubborn"]);
    assert!(!summary.is_clean());
    assert!(summary.to_string().contains("stubborn"));
}

#[test]
fn metrics_count_tasks_timers_sources_and_blocking_threads() {
    let rt = Builder::current_thread().debug(true).build().unwrap();
    rt.block_on(async {
        let h = eddy::Handle::current();
        let sleeper = spawn(sleep(Duration::from_secs(60)));
        yield_now().await;
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        let _io = eddy::Async::new(a).unwrap();
        eddy::unblock(|| ()).await.unwrap();
        let m = h.metrics();
        assert_eq!(m.tasks_spawned, 1);
        assert_eq!(m.tasks_alive, 1);
        assert_eq!(m.timers_armed, 1);
        assert_eq!(m.io_sources, 1);
        assert!(m.blocking_threads >= 1);
        assert!(m.polls.unwrap() >= 1);
        assert!(m.to_string().contains("timers 1"));
        sleeper.cancel();
    });
}

#[test]
fn all_tasks_and_current_task_through_the_facade() {
    let rt = Builder::current_thread().debug(true).build().unwrap();
    rt.block_on(async {
        let me = TaskBuilder::new()
            .name("me")
            .spawn(async { eddy::current_task().unwrap() })
            .await
            .unwrap();
        assert_eq!(me.name.as_deref(), Some("me"));
        assert_eq!(me.state, TaskState::Running);
        let _idle = TaskBuilder::new()
            .name("idle")
            .spawn(std::future::pending::<()>());
        yield_now().await;
        let all = eddy::all_tasks();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].state, TaskState::Idle);
        assert!(eddy::debug::dump().to_string().contains("idle"));
    });
}

#[test]
fn a_signal_prints_the_task_table() {
    let (events, rec) = recorder();
    let rt = Builder::current_thread()
        .debug(true)
        .dump_on_signal(eddy::signal::SignalKind::USER2)
        .on_debug_event(rec)
        .build()
        .unwrap();
    rt.block_on(async {
        let _t = TaskBuilder::new()
            .name("visible-in-dump")
            .spawn(std::future::pending::<()>());
        yield_now().await;
        rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::USR2)
            .unwrap();
        for _ in 0..2000 {
            if events
                .lock()
                .unwrap()
                .iter()
                .any(|e| matches!(e, DebugEvent::Dump { .. }))
            {
                break;
            }
            eddy::unblock(|| std::thread::park_timeout(Duration::from_millis(1)))
                .await
                .unwrap();
        }
    });
    let ev = events.lock().unwrap();
    let dump = ev
        .iter()
        .find(|e| matches!(e, DebugEvent::Dump { .. }))
        .map(ToString::to_string)
        .unwrap();
    assert!(dump.contains("visible-in-dump"), "{dump}");
}

#[test]
fn shutdown_runtime_policy_on_both_flavours() {
    for b in [
        Builder::current_thread(),
        Builder::multi_thread().worker_threads(2),
    ] {
        let (events, rec) = recorder();
        let rt = b
            .unhandled_panic(UnhandledPanic::ShutdownRuntime)
            .on_debug_event(rec)
            .build()
            .unwrap();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rt.block_on(async {
                spawn(async { panic!("corrupted state") }).detach();
                sleep(Duration::from_secs(30)).await;
            })
        }));
        assert!(panic_text(r.unwrap_err()).contains("corrupted state"));
        assert!(
            events
                .lock()
                .unwrap()
                .iter()
                .any(|e| matches!(e, DebugEvent::TaskPanicked { .. }))
        );
    }
}

#[test]
fn graceful_shutdown_on_the_multi_threaded_flavour() {
    let rt = Builder::multi_thread().worker_threads(2).build().unwrap();
    let cleaned = Arc::new(AtomicUsize::new(0));
    for _ in 0..8 {
        let c = cleaned.clone();
        rt.spawn(async move {
            eddy::cancelled().await;
            yield_now().await;
            c.fetch_add(1, Ordering::SeqCst);
        })
        .detach();
    }
    let summary = rt.shutdown_gracefully(Duration::from_secs(10));
    assert!(summary.is_clean(), "{summary}");
    assert_eq!(cleaned.load(Ordering::SeqCst), 8);
}

/// An application error that is not one of the types whose `Debug` text
/// debug mode can print.
#[derive(Debug)]
#[allow(dead_code)] // read through `Debug` only
struct OrderRejected(u32);

fn both_flavours() -> [(&'static str, Builder); 2] {
    [
        ("current-thread", Builder::current_thread()),
        ("multi-thread", Builder::multi_thread().worker_threads(2)),
    ]
}

fn lost_errors(events: &[DebugEvent]) -> Vec<(Option<String>, &'static str, Option<String>)> {
    events
        .iter()
        .filter_map(|e| match e {
            DebugEvent::LostError {
                task,
                output_type,
                error,
            } => Some((
                task.name.as_deref().map(String::from),
                *output_type,
                error.clone(),
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn an_err_nobody_retrieves_is_reported_on_both_flavours() {
    for (flavour, builder) in both_flavours() {
        let (events, rec) = recorder();
        let rt = builder.debug(true).on_debug_event(rec).build().unwrap();
        rt.block_on(async {
            // Detached before it finishes: reported when it returns.
            TaskBuilder::new()
                .name("save-order")
                .spawn(async {
                    yield_now().await;
                    Err::<(), _>(std::io::Error::other("database is read-only"))
                })
                .detach();
            // Finished, then its handle dropped unawaited: reported at the drop.
            let t = TaskBuilder::new()
                .name("place-order")
                .spawn(async { Err::<u32, _>(OrderRejected(7)) });
            while !t.is_finished() {
                yield_now().await;
            }
            drop(t);
            eddy::Handle::current().executor().all_finished().await;
        });
        // Dropping the runtime joins its workers: every report is in.
        drop(rt);
        let ev = events.lock().unwrap();
        let mut lost = lost_errors(&ev);
        lost.sort();
        assert_eq!(lost.len(), 2, "{flavour}: {ev:#?}");
        let (name, ty, error) = &lost[0];
        assert_eq!(name.as_deref(), Some("place-order"), "{flavour}");
        assert!(ty.contains("OrderRejected"), "{flavour}: {ty}");
        assert_eq!(error, &None, "{flavour}");
        let (name, _, error) = &lost[1];
        assert_eq!(name.as_deref(), Some("save-order"), "{flavour}");
        assert!(
            error
                .as_deref()
                .is_some_and(|e| e.contains("database is read-only")),
            "{flavour}: {error:?}"
        );
        let text: Vec<String> = ev
            .iter()
            .filter(|e| matches!(e, DebugEvent::LostError { .. }))
            .map(ToString::to_string)
            .collect();
        assert!(
            text.iter().all(|t| t.contains("never retrieved")),
            "{flavour}: {text:#?}"
        );
    }
}

#[test]
fn errs_that_are_retrieved_or_not_errs_are_not_reported() {
    for (flavour, builder) in both_flavours() {
        let (events, rec) = recorder();
        let rt = builder.debug(true).on_debug_event(rec).build().unwrap();
        rt.block_on(async {
            // Awaited: the error was looked at.
            let awaited = spawn(async { Err::<(), _>(OrderRejected(1)) });
            assert!(awaited.await.unwrap().is_err());
            // Detached, but Ok, or no Result at all.
            spawn(async { Ok::<_, OrderRejected>(2) }).detach();
            spawn(async { 3 }).detach();
            eddy::Handle::current().executor().all_finished().await;
        });
        drop(rt);
        let ev = events.lock().unwrap();
        assert!(lost_errors(&ev).is_empty(), "{flavour}: {ev:#?}");
    }
    // Without debug mode nothing is looked at, so nothing is reported.
    for (flavour, builder) in both_flavours() {
        let (events, rec) = recorder();
        let rt = builder.debug(false).on_debug_event(rec).build().unwrap();
        rt.block_on(async {
            spawn(async { Err::<(), _>(OrderRejected(4)) }).detach();
            eddy::Handle::current().executor().all_finished().await;
        });
        drop(rt);
        let ev = events.lock().unwrap();
        assert!(ev.is_empty(), "{flavour}: {ev:#?}");
    }
}
