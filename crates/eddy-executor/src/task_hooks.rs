//! User callbacks around each task's life: tokio's `on_task_spawn`,
//! `on_before_task_poll`, `on_after_task_poll` and `on_task_terminate`, as
//! one trait so an implementation can keep state across them (the facade's
//! `tracing` feature keeps one span per task here).

use eddy_core::{TaskId, TaskMeta};

/// Callbacks the executor calls around each task it runs, installed with
/// [`Builder::task_hooks`](crate::Builder::task_hooks).
///
/// Every method has an empty default. They run on the thread that spawns
/// or polls the task, inside the executor, so they must be quick and must
/// not block. A panic in one is caught and ignored (the panic hook still
/// prints it): the task and the executor go on. Without hooks installed
/// the executor pays one branch per poll.
///
/// Tasks of a [`LocalSet`](crate::LocalSet) are not the executor's and do not
/// call them.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use eddy_executor::{Builder, Flavor, TaskHooks, ThreadPark};
/// use eddy_core::{TaskId, TaskMeta};
///
/// #[derive(Default)]
/// struct Count { spawned: AtomicUsize, polls: AtomicUsize, ended: AtomicUsize }
///
/// impl TaskHooks for Count {
///     fn on_spawn(&self, _: TaskId, _: &TaskMeta) { self.spawned.fetch_add(1, Ordering::Relaxed); }
///     fn before_poll(&self, _: TaskId) { self.polls.fetch_add(1, Ordering::Relaxed); }
///     fn on_terminate(&self, _: TaskId) { self.ended.fetch_add(1, Ordering::Relaxed); }
/// }
///
/// let count = Arc::new(Count::default());
/// let ex = Builder::new(Flavor::CurrentThread)
///     .task_hooks(count.clone())
///     .build(ThreadPark::default())
///     .unwrap();
/// ex.block_on(async {
///     eddy_executor::spawn(async { eddy_executor::yield_now().await }).await.unwrap();
/// });
/// assert_eq!(count.spawned.load(Ordering::Relaxed), 1);
/// assert_eq!(count.polls.load(Ordering::Relaxed), 2); // one yield, two polls
/// assert_eq!(count.ended.load(Ordering::Relaxed), 1);
/// ```
pub trait TaskHooks: Send + Sync + 'static {
    /// A task was spawned (before it first runs, and even if it is born
    /// cancelled because the executor is shutting down).
    fn on_spawn(&self, task: TaskId, meta: &TaskMeta) {
        let _ = (task, meta);
    }

    /// The task is about to be polled (or, when cancelled, to have its
    /// future dropped) on this thread.
    fn before_poll(&self, task: TaskId) {
        let _ = task;
    }

    /// The poll that [`before_poll`](TaskHooks::before_poll) announced
    /// returned, whatever its outcome.
    fn after_poll(&self, task: TaskId) {
        let _ = task;
    }

    /// The task has ended (completed, panicked or cancelled), right after
    /// its last [`after_poll`](TaskHooks::after_poll). Called once per task,
    /// on the thread that ran that poll, after the task's output is stored:
    /// on the multi-threaded flavour an awaiter on another thread may see
    /// the output before this hook has run (shutting the runtime down waits
    /// for it).
    fn on_terminate(&self, task: TaskId) {
        let _ = task;
    }
}
