//! Debug mode, introspection, the seeded scheduler, deadlock detection, the
//! unhandled-panic policy and graceful cancellation, through the public API.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eddy_core::Clock;
use eddy_executor::{
    Builder, DeadlockAction, DeadlockCheck, DebugEvent, DebugOptions, Executor, Flavor,
    TaskBuilder, TaskState, ThreadPark, UnhandledPanic, all_tasks, current_task, spawn, yield_now,
};
use proptest::prelude::*;

/// A clock that moves only when a test moves it.
struct TestClock(Mutex<Instant>);

impl TestClock {
    fn new() -> Arc<TestClock> {
        #[allow(clippy::disallowed_methods)] // only a starting point; never read again
        let start = Instant::now();
        Arc::new(TestClock(Mutex::new(start)))
    }
    fn advance(&self, d: Duration) {
        *self.0.lock().unwrap() += d;
    }
}

impl Clock for TestClock {
    fn now(&self) -> Instant {
        *self.0.lock().unwrap()
    }
}

type Events = Arc<Mutex<Vec<DebugEvent>>>;

fn debug_executor(flavor: Flavor, opts: DebugOptions) -> (Executor, Events) {
    let events: Events = Arc::default();
    let e = events.clone();
    let ex = Builder::new(flavor)
        .worker_threads(2)
        .debug(opts)
        .on_debug_event(move |ev| e.lock().unwrap().push(ev.clone()))
        .build(ThreadPark::default())
        .unwrap();
    (ex, events)
}

fn count(events: &Events, pred: impl Fn(&DebugEvent) -> bool) -> usize {
    events.lock().unwrap().iter().filter(|e| pred(e)).count()
}

#[test]
fn slow_poll_is_reported_with_name_location_and_exact_duration() {
    let clock = TestClock::new();
    let (ex, events) = debug_executor(
        Flavor::CurrentThread,
        DebugOptions::new()
            .clock(clock.clone())
            .watchdog(false)
            .slow_poll(Duration::from_millis(100)),
    );
    let c = clock.clone();
    let line = line!() + 4;
    ex.block_on(async move {
        TaskBuilder::new()
            .name("cruncher")
            .spawn(async move {
                c.advance(Duration::from_millis(250)); // "work" for 250 ms
                yield_now().await;
                c.advance(Duration::from_millis(10)); // a fast poll
            })
            .await
            .unwrap();
    });
    let ev = events.lock().unwrap();
    let slow: Vec<_> = ev
        .iter()
        .filter_map(|e| match e {
            DebugEvent::SlowPoll { task, duration } => Some((task.clone(), *duration)),
            _ => None,
        })
        .collect();
    assert_eq!(slow.len(), 1, "{ev:?}");
    assert_eq!(slow[0].1, Duration::from_millis(250));
    assert_eq!(slow[0].0.name.as_deref(), Some("cruncher"));
    assert_eq!(slow[0].0.location.unwrap().line(), line);
    let text = DebugEvent::SlowPoll {
        task: slow[0].0.clone(),
        duration: slow[0].1,
    }
    .to_string();
    assert!(text.contains("cruncher") && text.contains("250"), "{text}");
}

#[test]
fn watchdog_catches_a_task_blocking_the_thread_while_it_blocks() {
    for flavor in [Flavor::CurrentThread, Flavor::MultiThread] {
        let (ex, events) = debug_executor(
            flavor,
            DebugOptions::new().slow_poll(Duration::from_millis(40)),
        );
        let seen_while_blocked = Arc::new(AtomicBool::new(false));
        let (e, s) = (events.clone(), seen_while_blocked.clone());
        ex.block_on(async move {
            TaskBuilder::new()
                .name("sleepy")
                .spawn(async move {
                    // Blocks the worker; the watchdog must notice before the
                    // poll returns. Real time is the point of this test.
                    for _ in 0..200 {
                        #[allow(clippy::disallowed_methods)]
                        std::thread::sleep(Duration::from_millis(10));
                        if count(&e, |e| matches!(e, DebugEvent::Blocking { .. })) > 0 {
                            s.store(true, Ordering::SeqCst);
                            break;
                        }
                    }
                })
                .await
                .unwrap();
        });
        assert!(seen_while_blocked.load(Ordering::SeqCst), "{flavor:?}");
        // The slow-poll report is made after the poll returns, and on the
        // multi-threaded flavour the awaiter may resume first: wait for it
        // (generously; a loaded CI machine may be slow).
        for _ in 0..500 {
            if count(&events, |e| matches!(e, DebugEvent::SlowPoll { .. })) > 0 {
                break;
            }
            #[allow(clippy::disallowed_methods)] // waiting for another thread's report
            std::thread::sleep(Duration::from_millis(10));
        }
        let ev = events.lock().unwrap();
        let blocking = ev
            .iter()
            .find_map(|e| match e {
                DebugEvent::Blocking { task, .. } => Some(task.clone()),
                _ => None,
            })
            .unwrap();
        assert_eq!(blocking.name.as_deref(), Some("sleepy"));
        // One report per stuck poll, and the poll's end is a slow poll.
        assert_eq!(
            ev.iter()
                .filter(|e| matches!(e, DebugEvent::Blocking { .. }))
                .count(),
            1
        );
        assert!(ev.iter().any(|e| matches!(e, DebugEvent::SlowPoll { .. })));
    }
}

#[test]
fn lost_panics_are_reported_once_and_retrieved_ones_are_not() {
    for flavor in [Flavor::CurrentThread, Flavor::MultiThread] {
        let (ex, events) = debug_executor(flavor, DebugOptions::new().watchdog(false));
        ex.block_on(async {
            // Dropped before it ran.
            drop(
                TaskBuilder::new()
                    .name("dropped-early")
                    .spawn(async { panic!("early") }),
            );
            // Awaited: retrieved.
            let awaited = spawn(async { panic!("seen") });
            assert!(awaited.await.unwrap_err().is_panic());
            // Finished, then dropped without a look.
            let late = TaskBuilder::new()
                .name("dropped-late")
                .spawn(async { panic!("late") });
            while !late.is_finished() {
                yield_now().await;
            }
            drop(late);
            // Succeeded, dropped: nothing to report.
            drop(spawn(async { 1 }));
            for _ in 0..10 {
                yield_now().await;
            }
        });
        drop(ex);
        let ev = events.lock().unwrap();
        let mut lost: Vec<_> = ev
            .iter()
            .filter_map(|e| match e {
                DebugEvent::LostResult { task, message } => Some((
                    task.name.as_deref().unwrap_or("").to_owned(),
                    message.clone(),
                )),
                _ => None,
            })
            .collect();
        lost.sort();
        assert_eq!(
            lost,
            [
                ("dropped-early".to_owned(), "early".to_owned()),
                ("dropped-late".to_owned(), "late".to_owned())
            ],
            "{flavor:?}: {ev:?}"
        );
    }
}

#[test]
fn pending_tasks_are_listed_at_shutdown() {
    let (ex, events) = debug_executor(Flavor::CurrentThread, DebugOptions::new().watchdog(false));
    ex.block_on(async {
        TaskBuilder::new()
            .name("forever")
            .spawn(std::future::pending::<()>())
            .detach();
        spawn(async {}).await.unwrap();
    });
    drop(ex);
    let ev = events.lock().unwrap();
    let pending: Vec<_> = ev
        .iter()
        .filter_map(|e| match e {
            DebugEvent::PendingAtShutdown { tasks } => Some(tasks.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].tasks().len(), 1);
    assert_eq!(pending[0].tasks()[0].name.as_deref(), Some("forever"));
    assert!(pending[0].to_string().contains("forever"));
}

#[test]
fn task_table_tracks_states_and_polls() {
    let (ex, _events) = debug_executor(Flavor::CurrentThread, DebugOptions::new().watchdog(false));
    ex.block_on(async {
        let me = spawn(async { current_task().unwrap() }).await.unwrap();
        assert_eq!(me.state, TaskState::Running);
        assert_eq!(me.polls, 0, "the running poll is not counted until it ends");

        let idle = TaskBuilder::new()
            .name("idle")
            .spawn(std::future::pending::<()>());
        let find = |id| all_tasks().into_iter().find(|t| t.id == id).unwrap();
        assert_eq!(find(idle.id()).state, TaskState::Scheduled);
        yield_now().await;
        let info = find(idle.id());
        assert_eq!((info.state, info.polls), (TaskState::Idle, 1));
        let yielder = spawn(async {
            for _ in 0..3 {
                yield_now().await;
            }
        });
        let id = yielder.id();
        yielder.await.unwrap();
        assert!(
            all_tasks().iter().all(|t| t.id != id),
            "finished tasks leave"
        );
        idle.cancel();
        assert!(idle.await.unwrap_err().is_cancelled());
        assert!(all_tasks().is_empty());
        let h = eddy_executor::Handle::current();
        assert!(h.polls().unwrap() >= 7);
    });
}

#[test]
fn without_debug_mode_tasks_are_listed_by_id_only() {
    let ex = Executor::current_thread(ThreadPark::default());
    ex.block_on(async {
        let t = TaskBuilder::new()
            .name("x")
            .spawn(std::future::pending::<()>());
        let all = all_tasks();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].id, t.id());
        assert_eq!(all[0].name, None);
        assert_eq!(all[0].state, TaskState::Untracked);
        let me = spawn(async { current_task().map(|i| (i.id, i.state)) });
        let id = me.id();
        assert_eq!(me.await.unwrap(), Some((id, TaskState::Running)));
    });
}

fn order_for_seed(seed: u64) -> Vec<u32> {
    let ex = Builder::new(Flavor::CurrentThread)
        .seed(seed)
        .build(ThreadPark::default())
        .unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    ex.block_on(async {
        let tasks: Vec<_> = (0..6u32)
            .map(|i| {
                let log = log.clone();
                spawn(async move {
                    for step in 0..3 {
                        log.lock().unwrap().push(i * 10 + step);
                        yield_now().await;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    let v = log.lock().unwrap().clone();
    drop(ex);
    v
}

#[test]
fn a_seed_replays_its_schedule_and_seeds_differ() {
    for seed in [0, 1, 42, u64::MAX] {
        assert_eq!(order_for_seed(seed), order_for_seed(seed));
    }
    let distinct: std::collections::HashSet<_> = (0..10).map(order_for_seed).collect();
    assert!(
        distinct.len() >= 5,
        "only {} distinct orders",
        distinct.len()
    );
}

#[test]
fn deadlock_panics_with_the_task_table() {
    let ex = Builder::new(Flavor::CurrentThread)
        .debug(DebugOptions::new().watchdog(false))
        .deadlock_check(
            DeadlockCheck::new(|| true, DeadlockAction::Panic).grace(Duration::from_millis(20)),
        )
        .on_debug_event(|_| {})
        .build(ThreadPark::default())
        .unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ex.block_on(async {
            let (tx, rx) = std::sync::mpsc::channel::<eddy_executor::Task<()>>();
            // Two tasks each waiting for the other: a classic deadlock.
            let a = TaskBuilder::new().name("waits-for-b").spawn(async move {
                let b: eddy_executor::Task<()> = rx.recv().unwrap();
                b.await.unwrap();
            });
            let b = TaskBuilder::new()
                .name("waits-for-a")
                .spawn(async move { a.await.unwrap() });
            // Hand b's handle over before a first runs (so its recv succeeds).
            tx.send(b).unwrap();
            std::future::pending::<()>().await
        })
    }));
    let msg = r
        .unwrap_err()
        .downcast::<String>()
        .map(|s| *s)
        .unwrap_or_default();
    assert!(msg.contains("deadlock"), "{msg}");
    assert!(
        msg.contains("waits-for-a") && msg.contains("waits-for-b"),
        "{msg}"
    );
}

/// Set from another thread; wakes whoever waits.
#[derive(Default)]
struct Flag(Mutex<(bool, Option<std::task::Waker>)>);

impl Flag {
    fn set(&self) {
        let mut g = self.0.lock().unwrap();
        g.0 = true;
        if let Some(w) = g.1.take() {
            w.wake();
        }
    }
    async fn wait(&self) {
        std::future::poll_fn(|cx| {
            let mut g = self.0.lock().unwrap();
            if g.0 {
                std::task::Poll::Ready(())
            } else {
                g.1 = Some(cx.waker().clone());
                std::task::Poll::Pending
            }
        })
        .await
    }
}

#[test]
fn deadlock_check_waits_out_the_grace_for_outside_wake_ups() {
    let reports = Arc::new(Mutex::new(0));
    let r = reports.clone();
    let ex = Builder::new(Flavor::CurrentThread)
        .deadlock_check(
            DeadlockCheck::new(|| true, DeadlockAction::Report).grace(Duration::from_secs(10)),
        )
        .on_debug_event(move |_| *r.lock().unwrap() += 1)
        .build(ThreadPark::default())
        .unwrap();
    let flag = Arc::new(Flag::default());
    let f = flag.clone();
    let t = std::thread::spawn(move || {
        // A thread the probe cannot see wakes the loop well within the grace.
        #[allow(clippy::disallowed_methods)]
        std::thread::sleep(Duration::from_millis(30));
        f.set();
    });
    ex.block_on(flag.wait());
    t.join().unwrap();
    assert_eq!(*reports.lock().unwrap(), 0);
}

/// Multi-threaded: workers busy between polls (tasks yielding to each
/// other) or stuck in one long poll are not idle, whatever the probe says;
/// an outside wake-up within the grace is not a deadlock either.
#[test]
fn multi_thread_busy_workers_are_not_deadlocked() {
    for workers in [2, 4] {
        let ex = Builder::new(Flavor::MultiThread)
            .worker_threads(workers)
            .deadlock_check(
                DeadlockCheck::new(|| true, DeadlockAction::Panic).grace(Duration::from_millis(20)),
            )
            .build(ThreadPark::default())
            .unwrap();
        ex.block_on(async {
            let yielders: Vec<_> = (0..workers)
                .map(|_| {
                    spawn(async {
                        for _ in 0..20_000 {
                            yield_now().await;
                        }
                    })
                })
                .collect();
            let stuck = spawn(async {
                #[allow(clippy::disallowed_methods)] // one poll far longer than the grace
                std::thread::sleep(Duration::from_millis(150));
            });
            for y in yielders {
                y.await.unwrap();
            }
            stuck.await.unwrap();
        });
        let flag = Arc::new(Flag::default());
        let f = flag.clone();
        let t = std::thread::spawn(move || {
            #[allow(clippy::disallowed_methods)]
            std::thread::sleep(Duration::from_millis(5));
            f.set();
        });
        ex.block_on(ex.handle().spawn(async move { flag.wait().await }))
            .unwrap();
        t.join().unwrap();
    }
}

/// Multi-threaded: while the probe says something outside can still wake
/// a task, an all-idle runtime is not deadlocked; once it says nothing can,
/// it is.
#[test]
fn multi_thread_deadlock_follows_the_probe() {
    let outside = Arc::new(AtomicBool::new(true));
    let o = outside.clone();
    let ex = Builder::new(Flavor::MultiThread)
        .worker_threads(2)
        .deadlock_check(
            DeadlockCheck::new(move || !o.load(Ordering::SeqCst), DeadlockAction::Panic)
                .grace(Duration::from_millis(20)),
        )
        .build(ThreadPark::default())
        .unwrap();
    let flag = Arc::new(Flag::default());
    let (f, o) = (flag.clone(), outside.clone());
    let t = std::thread::spawn(move || {
        // Many graces long, but announced through the probe.
        #[allow(clippy::disallowed_methods)]
        std::thread::sleep(Duration::from_millis(200));
        f.set();
        o.store(false, Ordering::SeqCst);
    });
    let waiter = flag.clone();
    ex.block_on(ex.handle().spawn(async move { waiter.wait().await }))
        .unwrap();
    t.join().unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ex.block_on(async { spawn(std::future::pending::<()>()).await })
    }));
    let msg = r
        .unwrap_err()
        .downcast::<String>()
        .map(|s| *s)
        .unwrap_or_default();
    // Without debug mode the table lists tasks by id only.
    assert!(
        msg.contains("deadlock") && msg.contains("1 live task"),
        "{msg}"
    );
}

#[test]
fn unhandled_panic_policies() {
    // Log: reported, runtime carries on.
    let logged = Arc::new(Mutex::new(Vec::new()));
    let l = logged.clone();
    let ex = Builder::new(Flavor::CurrentThread)
        .unhandled_panic(UnhandledPanic::Log)
        .on_debug_event(move |e| l.lock().unwrap().push(e.to_string()))
        .build(ThreadPark::default())
        .unwrap();
    let out = ex.block_on(async {
        let t = spawn(async { panic!("oops") });
        assert!(t.await.unwrap_err().is_panic());
        5
    });
    assert_eq!(out, 5);
    assert_eq!(logged.lock().unwrap().len(), 1);
    assert!(logged.lock().unwrap()[0].contains("oops"));

    // Shutdown: block_on panics on both flavours, even while the main future
    // waits for something else.
    for flavor in [Flavor::CurrentThread, Flavor::MultiThread] {
        let ex = Builder::new(flavor)
            .worker_threads(2)
            .unhandled_panic(UnhandledPanic::ShutdownRuntime)
            .on_debug_event(|_| {})
            .build(ThreadPark::default())
            .unwrap();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            ex.block_on(async {
                spawn(async { panic!("fatal") }).detach();
                std::future::pending::<()>().await
            })
        }));
        let msg = r.unwrap_err().downcast::<String>().map(|s| *s).unwrap();
        assert!(
            msg.contains("fatal") && msg.contains("ShutdownRuntime"),
            "{msg}"
        );
        // Later calls refuse too: the runtime is shut.
        let again =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ex.block_on(async {})));
        assert!(again.is_err());
    }
}

#[test]
fn close_and_request_cancel_all_make_a_graceful_shutdown() {
    let ex = Executor::current_thread(ThreadPark::default());
    let h = ex.handle();
    let cleaned = Arc::new(AtomicBool::new(false));
    let c = cleaned.clone();
    let polite = h.spawn(async move {
        eddy_executor::cancel_requested().await;
        yield_now().await; // asynchronous cleanup
        c.store(true, Ordering::SeqCst);
    });
    let stubborn = h.spawn(std::future::pending::<()>());
    ex.block_on(async {
        yield_now().await;
        h.close();
        assert!(h.spawn(async {}).await.unwrap_err().is_cancelled());
        h.request_cancel_all();
        polite.await.unwrap();
        assert!(!stubborn.is_finished());
    });
    assert!(cleaned.load(Ordering::SeqCst));
    assert_eq!(h.stats().alive, 1);
    drop(ex);
    assert_eq!(h.stats().alive, 0);
}

/// What happens to one task's handle in the model test.
#[derive(Debug, Clone, Copy)]
enum HandleFate {
    DropAtOnce,
    DropWhenFinished,
    Await,
    Keep,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Lost-result reports against a model: a task's panic is reported
    /// exactly when the task panicked and its handle went away without
    /// returning the outcome, whatever the schedule.
    #[test]
    fn lost_results_match_the_model(
        tasks in prop::collection::vec(
            (any::<bool>(), 0u8..3, prop_oneof![
                Just(HandleFate::DropAtOnce),
                Just(HandleFate::DropWhenFinished),
                Just(HandleFate::Await),
                Just(HandleFate::Keep),
            ]),
            1..12,
        ),
        seed: u64,
    ) {
        let events: Events = Arc::default();
        let e = events.clone();
        let ex = Builder::new(Flavor::CurrentThread)
            .seed(seed)
            .debug(DebugOptions::new().watchdog(false))
            .on_debug_event(move |ev| e.lock().unwrap().push(ev.clone()))
            .build(ThreadPark::default())
            .unwrap();
        let expected: std::collections::BTreeSet<String> = tasks
            .iter()
            .enumerate()
            .filter(|(_, (panics, _, fate))| {
                *panics && matches!(fate, HandleFate::DropAtOnce | HandleFate::DropWhenFinished)
            })
            .map(|(i, _)| format!("t{i}"))
            .collect();
        let mut kept = Vec::new();
        ex.block_on(async {
            let mut handles = Vec::new();
            for (i, (panics, yields, fate)) in tasks.iter().copied().enumerate() {
                let t = TaskBuilder::new().name(format!("t{i}")).spawn(async move {
                    for _ in 0..yields {
                        yield_now().await;
                    }
                    if panics {
                        panic!("p{i}");
                    }
                });
                match fate {
                    HandleFate::DropAtOnce => drop(t),
                    _ => handles.push((t, fate)),
                }
            }
            for (t, fate) in handles {
                match fate {
                    HandleFate::Await => {
                        let _ = t.await;
                    }
                    HandleFate::DropWhenFinished => {
                        while !t.is_finished() {
                            yield_now().await;
                        }
                        drop(t);
                    }
                    _ => kept.push(t),
                }
            }
            // Every task ends (none waits forever); let them all finish.
            while eddy_executor::Handle::current().stats().alive > 0 {
                yield_now().await;
            }
        });
        let got: std::collections::BTreeSet<String> = events
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                DebugEvent::LostResult { task, .. } => task.name.as_deref().map(String::from),
                _ => None,
            })
            .collect();
        prop_assert_eq!(got, expected);
        drop(kept);
    }
}
