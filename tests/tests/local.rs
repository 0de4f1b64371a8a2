//! `!Send` tasks through the facade: `LocalSet` on the multi-threaded runtime
//! (and on the current-thread one), wake-ups from other threads and timers
//! coming back to the set's thread, the typed error outside a set,
//! cancellation, panics and the set's drop.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};
use std::time::Duration;

use eddy::task::{SpawnLocalError, try_spawn_local_with};
use eddy::{Builder, CancelHandle, JoinError, LocalSet, Runtime, TaskBuilder, TaskMeta};

/// Generous: only a hang should ever hit it.
const LIMIT: Duration = Duration::from_secs(20);

fn multi() -> Runtime {
    Builder::multi_thread().worker_threads(2).build().unwrap()
}

fn current() -> Runtime {
    Builder::current_thread().build().unwrap()
}

async fn within<F: Future>(fut: F) -> F::Output {
    eddy::timeout(LIMIT, fut).await.expect("timed out")
}

/// Counts its drops and records the thread of each.
struct DropProbe {
    drops: Arc<AtomicUsize>,
    threads: Arc<Mutex<Vec<ThreadId>>>,
}

impl Drop for DropProbe {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        self.threads.lock().unwrap().push(thread::current().id());
    }
}

#[test]
fn local_tasks_share_rc_refcell_state_on_the_multi_thread_runtime() {
    let rt = multi();
    let local = LocalSet::new();
    let me = thread::current().id();
    let log = local.block_on(&rt, async {
        let log = Rc::new(RefCell::new(Vec::new()));
        let tasks: Vec<_> = (0..4)
            .map(|i| {
                let log = log.clone();
                eddy::spawn_local(async move {
                    for round in 0..3 {
                        // A borrow across no await, state across many.
                        log.borrow_mut().push((i, round, thread::current().id()));
                        eddy::yield_now().await;
                    }
                })
            })
            .collect();
        for t in tasks {
            within(t).await.unwrap();
        }
        Rc::try_unwrap(log).unwrap().into_inner()
    });
    assert_eq!(log.len(), 12);
    assert!(log.iter().all(|&(_, _, t)| t == me));
    // They interleaved: every task's first round before any task's last.
    let first_last = log.iter().position(|&(_, r, _)| r == 2).unwrap();
    assert!(
        log[..first_last]
            .iter()
            .filter(|&&(_, r, _)| r == 0)
            .count()
            == 4
    );
}

#[test]
fn a_local_task_woken_from_another_thread_runs_on_the_sets_thread() {
    let rt = multi();
    let local = LocalSet::new();
    let me = thread::current().id();
    let (seen, sender_thread) = local.block_on(&rt, async {
        let (tx, rx) = eddy::sync::oneshot::channel::<u32>();
        let task = eddy::spawn_local(async move {
            let not_send = Rc::new(Cell::new(0));
            let before = thread::current().id();
            let v = rx.await.unwrap();
            not_send.set(v);
            (before, thread::current().id(), not_send.get())
        });
        let (go, wait) = std::sync::mpsc::channel::<()>();
        let sender = thread::spawn(move || {
            // Sends once the task is suspended on the receiver.
            wait.recv().unwrap();
            tx.send(7).unwrap();
            thread::current().id()
        });
        for _ in 0..3 {
            eddy::yield_now().await;
        }
        assert!(!task.is_finished());
        go.send(()).unwrap();
        let seen = within(task).await.unwrap();
        (seen, sender.join().unwrap())
    });
    assert_ne!(sender_thread, me);
    assert_eq!(seen, (me, me, 7));
}

#[test]
fn a_local_task_woken_by_a_timer_runs_on_the_sets_thread() {
    let rt = multi();
    let local = LocalSet::new();
    let me = thread::current().id();
    let threads = local.block_on(&rt, async {
        let tasks: Vec<_> = (0..3u64)
            .map(|i| {
                eddy::spawn_local(async move {
                    let rc = Rc::new(i);
                    let before = thread::current().id();
                    eddy::sleep(Duration::from_millis(1 + i)).await;
                    (*rc, before, thread::current().id())
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(within(t).await.unwrap());
        }
        out
    });
    for (i, (n, before, after)) in threads.into_iter().enumerate() {
        assert_eq!(n, i as u64);
        assert_eq!((before, after), (me, me));
    }
}

#[test]
fn send_tasks_spawned_inside_a_set_still_run_on_the_workers() {
    let rt = multi();
    let local = LocalSet::new();
    let name = local.block_on(&rt, async {
        let local_task = eddy::spawn_local(async { thread::current().id() });
        let on_worker = eddy::spawn(async { thread::current().name().map(str::to_owned) });
        assert_eq!(within(local_task).await.unwrap(), thread::current().id());
        within(on_worker).await.unwrap()
    });
    assert!(name.unwrap().starts_with("eddy-worker"));
}

#[test]
fn spawn_local_outside_a_set_on_multi_thread_is_a_typed_error_naming_local_set() {
    let rt = multi();
    // In the block_on future and in a worker task.
    let (in_block_on, in_task) = rt.block_on(async {
        let a = try_spawn_local_with(TaskMeta::here(), async {}).unwrap_err();
        let b = eddy::spawn(async {
            try_spawn_local_with(TaskMeta::here(), async {})
                .map(drop)
                .unwrap_err()
        });
        (a, within(b).await.unwrap())
    });
    assert_eq!(in_block_on, SpawnLocalError::NotCurrentThread);
    assert_eq!(in_task, SpawnLocalError::NotCurrentThread);
    assert!(in_block_on.to_string().contains("LocalSet"));

    // The panicking form says the same, from the caller, not the runtime.
    let panic = rt.block_on(async {
        catch_unwind(AssertUnwindSafe(|| drop(eddy::spawn_local(async {})))).unwrap_err()
    });
    let msg = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap();
    assert!(msg.contains("LocalSet"), "{msg}");

    // Inside a set it works; once the set's future is done, the error is back.
    let local = LocalSet::new();
    let ok = local.block_on(&rt, async {
        try_spawn_local_with(TaskMeta::here(), async { 1 }).map(drop)
    });
    assert!(ok.is_ok());
    let after = rt.block_on(async { try_spawn_local_with(TaskMeta::here(), async {}).map(drop) });
    assert_eq!(after.unwrap_err(), SpawnLocalError::NotCurrentThread);
    // Outside any runtime: NoRuntime, also naming the way out.
    let none = try_spawn_local_with(TaskMeta::here(), async {})
        .map(drop)
        .unwrap_err();
    assert_eq!(none, SpawnLocalError::NoRuntime);
    assert!(none.to_string().contains("LocalSet"));
}

#[test]
fn dropping_a_set_drops_each_pending_task_once_on_its_thread() {
    let rt = multi();
    let me = thread::current().id();
    let drops = Arc::new(AtomicUsize::new(0));
    let threads = Arc::new(Mutex::new(Vec::new()));
    let probe = || DropProbe {
        drops: drops.clone(),
        threads: threads.clone(),
    };
    let local = LocalSet::new();
    let (tx, rx) = eddy::sync::oneshot::channel::<()>();
    let handles = local.block_on(&rt, async {
        let waiting = eddy::spawn_local({
            let p = probe();
            async move {
                let _p = p;
                let _rc = Rc::new(());
                let _ = rx.await;
            }
        });
        let sleeping = eddy::spawn_local({
            let p = probe();
            async move {
                let _p = p;
                eddy::sleep(Duration::from_secs(3600)).await;
            }
        });
        let pending = eddy::spawn_local({
            let p = probe();
            async move {
                let _p = p;
                std::future::pending::<()>().await;
            }
        });
        // Let them start and suspend.
        for _ in 0..3 {
            eddy::yield_now().await;
        }
        vec![waiting, sleeping, pending]
    });
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    assert!(handles.iter().all(|t| !t.is_finished()));
    // Never polled: spawned after the set's last run.
    let never_run = local.spawn_local({
        let p = probe();
        async move {
            let _p = p;
            let _rc = Rc::new(());
        }
    });
    drop(local);
    assert_eq!(drops.load(Ordering::SeqCst), 4);
    assert!(threads.lock().unwrap().iter().all(|&t| t == me));
    assert!(never_run.is_finished());
    // The handles report the cancellation, awaited anywhere.
    rt.block_on(async {
        assert!(matches!(within(never_run).await, Err(JoinError::Cancelled)));
        for h in handles {
            assert!(matches!(within(h).await, Err(JoinError::Cancelled)));
        }
    });
    // The sender outlived the task: sending finds the receiver gone.
    assert!(tx.send(()).is_err());
    assert_eq!(drops.load(Ordering::SeqCst), 4);
}

#[test]
fn a_panicking_local_task_reports_panicked_and_the_set_carries_on() {
    let rt = multi();
    let local = LocalSet::new();
    let (first, second, later) = local.block_on(&rt, async {
        let boom = eddy::spawn_local(async {
            let _rc = Rc::new(());
            eddy::yield_now().await;
            panic!("local boom");
        });
        let fine = eddy::spawn_local(async {
            eddy::yield_now().await;
            eddy::yield_now().await;
            "still here"
        });
        let first = within(boom).await;
        let second = within(fine).await.unwrap();
        let later = within(eddy::spawn_local(async { 3 })).await.unwrap();
        (first, second, later)
    });
    match first {
        Err(JoinError::Panicked(p)) => assert_eq!(p.message(), Some("local boom")),
        other => panic!("expected a panic, got {other:?}"),
    }
    assert_eq!((second, later), ("still here", 3));
}

#[test]
fn local_tasks_cancel_like_any_task() {
    let rt = multi();
    let local = LocalSet::new();
    let drops = Arc::new(AtomicUsize::new(0));
    let threads = Arc::new(Mutex::new(Vec::new()));
    let me = thread::current().id();
    local.block_on(&rt, async {
        // Task::cancel.
        let p = DropProbe {
            drops: drops.clone(),
            threads: threads.clone(),
        };
        let t = eddy::spawn_local(async move {
            let _p = p;
            std::future::pending::<()>().await
        });
        eddy::yield_now().await;
        assert!(!t.is_finished());
        assert!(t.cancel());
        assert!(matches!(within(t).await, Err(JoinError::Cancelled)));

        // A cancel handle used from another thread.
        let p = DropProbe {
            drops: drops.clone(),
            threads: threads.clone(),
        };
        let t = eddy::spawn_local(async move {
            let _p = p;
            let _rc = Rc::new(());
            eddy::sleep(Duration::from_secs(3600)).await
        });
        let h = t.cancel_handle();
        assert!(!h.is_finished());
        let remote = thread::spawn(move || {
            let asked = h.cancel();
            (asked, h)
        });
        assert!(matches!(within(t).await, Err(JoinError::Cancelled)));
        let (asked, h) = remote.join().unwrap();
        assert!(asked);
        assert!(h.is_finished());

        // CancelHandle::current inside a local task reaches that task.
        let t = eddy::spawn_local(async {
            eddy::yield_now().await;
            CancelHandle::current().unwrap().cancel();
            "never seen"
        });
        assert!(matches!(within(t).await, Err(JoinError::Cancelled)));

        // A finished task: is_finished, and cancel does nothing.
        let t = eddy::spawn_local(async { 5 });
        let h = t.cancel_handle();
        while !t.is_finished() {
            eddy::yield_now().await;
        }
        assert!(h.is_finished());
        assert!(!t.cancel());
        assert_eq!(within(t).await.unwrap(), 5);
    });
    assert_eq!(drops.load(Ordering::SeqCst), 2);
    assert!(threads.lock().unwrap().iter().all(|&t| t == me));
}

#[test]
fn the_set_is_a_future_that_ends_when_its_tasks_do() {
    let rt = multi();
    let local = LocalSet::new();
    let log = Rc::new(RefCell::new(Vec::new()));
    for i in 0..3 {
        let log = log.clone();
        // Spawned outside any runtime, before the set runs.
        local.spawn_local(async move {
            eddy::sleep(Duration::from_millis(i)).await;
            // Spawned from a set task: goes to the set too.
            let inner = eddy::spawn_local({
                let log = log.clone();
                async move { log.borrow_mut().push(i) }
            });
            inner.await.unwrap();
        });
    }
    rt.block_on(async { within(local).await });
    let mut got = log.borrow().clone();
    got.sort_unstable();
    assert_eq!(got, [0, 1, 2]);
}

#[test]
fn the_set_works_on_the_current_thread_flavour() {
    let rt = current();
    let local = LocalSet::new();
    let drops = Arc::new(AtomicUsize::new(0));
    let threads = Arc::new(Mutex::new(Vec::new()));
    let p = DropProbe {
        drops: drops.clone(),
        threads: threads.clone(),
    };
    let (n, name) = local.block_on(&rt, async {
        let counter = Rc::new(Cell::new(0));
        let c = counter.clone();
        let (tx, rx) = eddy::sync::oneshot::channel();
        let t = eddy::spawn_local(async move {
            c.set(c.get() + rx.await.unwrap());
            eddy::sleep(Duration::from_millis(1)).await;
            c.set(c.get() + 1);
        });
        thread::spawn(move || tx.send(41).unwrap());
        within(t).await.unwrap();
        // Left pending: it belongs to the set, not to the runtime.
        drop(eddy::spawn_local(async move {
            let _p = p;
            std::future::pending::<()>().await
        }));
        let named = TaskBuilder::new().name("in-set").spawn_local(async { 1 });
        let name = named.name().map(str::to_owned);
        within(named).await.unwrap();
        (counter.get(), name)
    });
    assert_eq!(n, 42);
    assert_eq!(name.as_deref(), Some("in-set"));
    // The runtime's block_on is done and the runtime alive; the set's drop,
    // not the runtime's, ends the pending task.
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    drop(local);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert_eq!(*threads.lock().unwrap(), [thread::current().id()]);
    drop(rt);
}

#[test]
fn a_set_awaited_inside_a_local_task_of_another_set() {
    // Nesting: an inner set driven from a task of an outer set.
    let rt = multi();
    let outer = LocalSet::new();
    let v = outer.block_on(&rt, async {
        let t = eddy::spawn_local(async {
            let inner = LocalSet::new();
            let id = eddy::task::current_task_id();
            let v = inner
                .run_until(async {
                    let rc = Rc::new(20);
                    eddy::spawn_local(async move { *rc + 1 }).await.unwrap()
                })
                .await;
            // The outer task's run state survived the inner set's runs.
            assert_eq!(eddy::task::current_task_id(), id);
            v
        });
        within(t).await.unwrap() * 2
    });
    assert_eq!(v, 42);
}
