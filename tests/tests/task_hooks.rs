//! `Builder::task_hooks`: spawn, poll and terminate callbacks on both
//! flavours, for tasks that finish, panic and are cancelled; a hook that
//! panics harms neither its task nor the runtime.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eddy::{TaskHooks, TaskId, TaskMeta};

#[derive(Default)]
struct Life {
    spawned: u32,
    before: u32,
    after: u32,
    terminated: u32,
    name: Option<String>,
}

#[derive(Default)]
struct Record {
    tasks: Mutex<HashMap<TaskId, Life>>,
    /// Panic in every hook of tasks with this name.
    explode_for: Option<&'static str>,
}

impl Record {
    fn with(&self, id: TaskId, f: impl FnOnce(&mut Life)) {
        let explode = {
            let mut tasks = self.tasks.lock().unwrap();
            let life = tasks.entry(id).or_default();
            f(life);
            self.explode_for.is_some() && life.name.as_deref() == self.explode_for
        };
        if explode {
            panic!("a hook that panics");
        }
    }
}

impl TaskHooks for Record {
    fn on_spawn(&self, id: TaskId, meta: &TaskMeta) {
        let name = meta.name().map(str::to_string);
        self.with(id, |l| {
            l.spawned += 1;
            l.name = name;
        });
    }
    fn before_poll(&self, id: TaskId) {
        self.with(id, |l| {
            assert_eq!(l.before, l.after, "polls of one task do not overlap");
            l.before += 1;
        });
    }
    fn after_poll(&self, id: TaskId) {
        self.with(id, |l| l.after += 1);
    }
    fn on_terminate(&self, id: TaskId) {
        self.with(id, |l| l.terminated += 1);
    }
}

fn flavours() -> [eddy::Builder; 2] {
    [
        eddy::Builder::current_thread(),
        eddy::Builder::multi_thread().worker_threads(2),
    ]
}

#[test]
fn every_task_is_spawned_polled_and_terminated_exactly_once() {
    for builder in flavours() {
        let record = Arc::new(Record::default());
        let rt = builder
            .task_hooks(record.clone())
            .on_debug_event(|_| {})
            .build()
            .unwrap();
        rt.block_on(async {
            let done = eddy::TaskBuilder::new().name("done").spawn(async {
                eddy::yield_now().await;
                eddy::sleep(Duration::from_millis(1)).await;
            });
            let panics = eddy::TaskBuilder::new()
                .name("panics")
                .spawn(async { panic!("boom") });
            let cancelled = eddy::TaskBuilder::new()
                .name("cancelled")
                .spawn(std::future::pending::<()>());
            eddy::yield_now().await;
            cancelled.cancel();
            done.await.unwrap();
            assert!(panics.await.unwrap_err().is_panic());
            assert!(cancelled.await.unwrap_err().is_cancelled());
        });
        drop(rt);
        let tasks = record.tasks.lock().unwrap();
        let by_name = |n: &str| {
            tasks
                .values()
                .find(|l| l.name.as_deref() == Some(n))
                .unwrap_or_else(|| panic!("no task {n}"))
        };
        let done = by_name("done");
        assert!(done.before >= 3, "three polls at least: {}", done.before);
        for n in ["done", "panics", "cancelled"] {
            let l = by_name(n);
            assert_eq!(l.spawned, 1, "{n}");
            assert_eq!(l.before, l.after, "{n}");
            assert_eq!(l.terminated, 1, "{n}");
        }
    }
}

#[test]
fn a_panicking_hook_harms_neither_its_task_nor_the_runtime() {
    for builder in flavours() {
        let record = Arc::new(Record {
            explode_for: Some("victim"),
            ..Record::default()
        });
        let rt = builder.task_hooks(record.clone()).build().unwrap();
        let out = rt.block_on(async {
            let victim = eddy::TaskBuilder::new().name("victim").spawn(async {
                eddy::yield_now().await;
                7
            });
            let bystander = eddy::spawn(async { 8 });
            (victim.await.unwrap(), bystander.await.unwrap())
        });
        assert_eq!(out, (7, 8));
        // The runtime still runs tasks.
        assert_eq!(
            rt.block_on(async { eddy::spawn(async { 9 }).await.unwrap() }),
            9
        );
        // On the multi-threaded flavour `on_terminate` runs on the worker
        // after the awaiter may already have the output (here after two
        // hook panics, each capturing a backtrace): shutting the runtime
        // down joins the workers, so every hook call has returned.
        drop(rt);
        let tasks = record.tasks.lock().unwrap();
        let victim = tasks
            .values()
            .find(|l| l.name.as_deref() == Some("victim"))
            .unwrap();
        assert_eq!(victim.terminated, 1);
    }
}
