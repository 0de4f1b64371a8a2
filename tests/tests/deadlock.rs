//! Deadlock detection on the multi-threaded flavour, through the facade:
//! real deadlocks are reported (or panic out of `block_on`), and work that
//! can still wake someone (a blocking job, a timer, a socket) is not.
//!
//! Every case runs on 2 and 4 workers, with a generous grace, inside a
//! bounded wait: a detection that never comes fails the test instead of
//! hanging it.

use std::io::Write;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eddy::debug::{DeadlockAction, DebugEvent};
use eddy::{Builder, TaskBuilder};
use futures_lite::AsyncReadExt;

const GRACE: Duration = Duration::from_millis(100);
/// How long a case may take before it counts as hung.
const BOUND: Duration = Duration::from_secs(30);
const WORKERS: [usize; 2] = [2, 4];

type Events = Arc<Mutex<Vec<DebugEvent>>>;

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

/// Runs `case` on a thread of its own and waits at most [`BOUND`] for it.
fn bounded<T: Send + 'static>(case: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(case));
        let _ = tx.send(out);
    });
    match rx.recv_timeout(BOUND) {
        Ok(Ok(v)) => v,
        Ok(Err(p)) => std::panic::resume_unwind(p),
        Err(_) => panic!("the case did not finish within {BOUND:?}: detection hung"),
    }
}

fn runtime(workers: usize, action: DeadlockAction, events: &Events) -> eddy::Runtime {
    let e = events.clone();
    Builder::multi_thread()
        .worker_threads(workers)
        .debug(true)
        .deadlock_detection(action, GRACE)
        .on_debug_event(move |ev| e.lock().unwrap().push(ev.clone()))
        .build()
        .unwrap()
}

fn deadlocks(events: &Events) -> Vec<String> {
    events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, DebugEvent::Deadlock { .. }))
        .map(ToString::to_string)
        .collect()
}

/// Waits on `ev` in a task named "waits-for-an-event", from `block_on`.
async fn wait_in_a_task(ev: Arc<eddy::sync::Event>) {
    TaskBuilder::new()
        .name("waits-for-an-event")
        .spawn(async move { ev.wait().await })
        .await
        .unwrap();
}

/// Two tasks take two mutexes in opposite orders, each holding its first
/// lock until the other has taken its own; `block_on` awaits both. The
/// first task's cancel handle goes to `cancel_first`.
async fn lock_cycle(cancel_first: mpsc::Sender<eddy::CancelHandle>) -> (bool, bool) {
    let a = Arc::new(eddy::sync::Mutex::new(()));
    let b = Arc::new(eddy::sync::Mutex::new(()));
    let both = Arc::new(eddy::sync::Barrier::new(2));
    let (a1, b1, w1) = (a.clone(), b.clone(), both.clone());
    let t1 = TaskBuilder::new().name("locks-a-then-b").spawn(async move {
        let _ga = a1.lock().await;
        w1.wait().await.unwrap();
        let _gb = b1.lock().await;
    });
    let t2 = TaskBuilder::new().name("locks-b-then-a").spawn(async move {
        let _gb = b.lock().await;
        both.wait().await.unwrap();
        let _ga = a.lock().await;
    });
    let _ = cancel_first.send(t1.cancel_handle());
    (t1.await.is_ok(), t2.await.is_ok())
}

/// Calls `then` from a thread the runtime cannot see once `events` holds
/// a deadlock report.
fn after_the_report(
    events: &Events,
    then: impl FnOnce() + Send + 'static,
) -> std::thread::JoinHandle<()> {
    let events = events.clone();
    std::thread::spawn(move || {
        while deadlocks(&events).is_empty() {
            std::thread::park_timeout(Duration::from_millis(5));
        }
        then();
    })
}

#[test]
fn an_event_nobody_sets_is_reported_then_the_runtime_carries_on() {
    for workers in WORKERS {
        let reports = bounded(move || {
            let events = Events::default();
            let rt = runtime(workers, DeadlockAction::Report, &events);
            let ev = Arc::new(eddy::sync::Event::new());
            // The report is a deliberate false alarm here: a thread the
            // runtime cannot see sets the event once it is in.
            let e = ev.clone();
            let helper = after_the_report(&events, move || e.set());
            rt.block_on(wait_in_a_task(ev));
            helper.join().unwrap();
            deadlocks(&events)
        });
        assert_eq!(reports.len(), 1, "{workers} workers: {reports:#?}");
        assert!(reports[0].contains("waits-for-an-event"), "{}", reports[0]);
    }
}

#[test]
fn an_event_nobody_sets_panics_out_of_block_on() {
    for workers in WORKERS {
        let msg = bounded(move || {
            let rt = runtime(workers, DeadlockAction::Panic, &Events::default());
            let ev = Arc::new(eddy::sync::Event::new());
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                rt.block_on(wait_in_a_task(ev))
            }));
            panic_text(&*r.unwrap_err())
        });
        assert!(msg.contains("deadlock"), "{workers} workers: {msg}");
        assert!(msg.contains("waits-for-an-event"), "{msg}");
    }
}

#[test]
fn a_lock_cycle_is_reported_with_both_tasks() {
    for workers in WORKERS {
        let (reports, outcome) = bounded(move || {
            let events = Events::default();
            let rt = runtime(workers, DeadlockAction::Report, &events);
            let (tx, rx) = mpsc::channel::<eddy::CancelHandle>();
            // Breaks the cycle once reported, by cancelling one side.
            let helper = after_the_report(&events, move || {
                rx.recv().unwrap().cancel();
            });
            let outcome = rt.block_on(lock_cycle(tx));
            helper.join().unwrap();
            (deadlocks(&events), outcome)
        });
        assert_eq!(outcome, (false, true), "{workers} workers");
        assert_eq!(reports.len(), 1, "{workers} workers: {reports:#?}");
        assert!(reports[0].contains("locks-a-then-b"), "{}", reports[0]);
        assert!(reports[0].contains("locks-b-then-a"), "{}", reports[0]);
    }
}

#[test]
fn a_lock_cycle_panics_out_of_block_on() {
    for workers in WORKERS {
        let msg = bounded(move || {
            let rt = runtime(workers, DeadlockAction::Panic, &Events::default());
            let (tx, _rx) = mpsc::channel();
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                rt.block_on(lock_cycle(tx))
            }));
            panic_text(&*r.unwrap_err())
        });
        assert!(msg.contains("deadlock"), "{workers} workers: {msg}");
        assert!(msg.contains("locks-a-then-b"), "{msg}");
        assert!(msg.contains("locks-b-then-a"), "{msg}");
    }
}

/// Runs `body` under `DeadlockAction::Panic`: a false detection fails it.
fn no_deadlock<F>(workers: usize, body: impl FnOnce() -> F + Send + 'static)
where
    F: std::future::Future<Output = ()>,
{
    let events = bounded(move || {
        let events = Events::default();
        let rt = runtime(workers, DeadlockAction::Panic, &events);
        rt.block_on(body());
        drop(rt);
        deadlocks(&events)
    });
    assert!(events.is_empty(), "{workers} workers: {events:#?}");
}

#[test]
fn a_blocking_job_in_flight_is_not_a_deadlock() {
    for workers in WORKERS {
        no_deadlock(workers, || async {
            let ev = Arc::new(eddy::sync::Event::new());
            let e = ev.clone();
            let setter = eddy::spawn(async move {
                eddy::unblock(move || {
                    // Real blocking work, longer than the grace; it wakes
                    // the waiter when done.
                    #[allow(clippy::disallowed_methods)]
                    std::thread::sleep(Duration::from_millis(200));
                    e.set();
                })
                .await
                .unwrap();
            });
            wait_in_a_task(ev).await;
            setter.await.unwrap();
        });
    }
}

#[test]
fn a_pending_timer_is_not_a_deadlock() {
    for workers in WORKERS {
        no_deadlock(workers, || async {
            let ev = Arc::new(eddy::sync::Event::new());
            let e = ev.clone();
            eddy::spawn(async move {
                eddy::sleep(Duration::from_millis(300)).await;
                e.set();
            })
            .detach();
            wait_in_a_task(ev).await;
        });
    }
}

#[test]
fn a_socket_whose_peer_writes_later_is_not_a_deadlock() {
    for workers in WORKERS {
        no_deadlock(workers, || async {
            let (ours, mut theirs) = std::os::unix::net::UnixStream::pair().unwrap();
            // The peer: a thread the runtime cannot see, writing after
            // several graces.
            let peer = std::thread::spawn(move || {
                #[allow(clippy::disallowed_methods)]
                std::thread::sleep(Duration::from_millis(300));
                theirs.write_all(b"late").unwrap();
            });
            let mut ours = eddy::Async::new(ours).unwrap();
            let got = TaskBuilder::new()
                .name("reads-a-socket")
                .spawn(async move {
                    let mut buf = [0u8; 4];
                    ours.read_exact(&mut buf).await.unwrap();
                    buf
                })
                .await
                .unwrap();
            assert_eq!(&got, b"late");
            peer.join().unwrap();
        });
    }
}
