//! eddy's task executor.
//!
//! Tasks are [`async-task`](https://docs.rs/async-task) tasks: one allocation
//! holds the task's state, its metadata (id, spawn location, a pointer to
//! its name: named tasks pay one more allocation for it), the future and
//! then its output. Run queues are
//! [`concurrent-queue`](https://docs.rs/concurrent-queue) queues.
//!
//! # The model
//!
//! An [`Executor`] runs tasks until it has none ready, then *parks* on the
//! [`Park`](eddy_core::Park) it was built with: in the runtime that is the
//! timer driver wrapped around the reactor, so an idle executor sleeps in one
//! `epoll_wait` until I/O is ready, a timer expires, or a task is woken from
//! another thread. The executor never knows which: it only sees tasks being
//! scheduled.
//!
//! Two flavours share that model:
//!
//! * [`Flavor::CurrentThread`]: asyncio's event loop. Every task runs on the
//!   thread inside [`Executor::block_on`]. Tasks woken on that thread go to a
//!   plain `VecDeque` (no atomics, no lock); tasks woken from other threads go
//!   through a lock-free injector queue and unpark the driver. `!Send` futures
//!   can be spawned with [`spawn_local`].
//! * [`Flavor::MultiThread`]: a worker pool. Each worker has a bounded
//!   stealable queue and a LIFO slot (the task it woke last runs next, which
//!   keeps message-passing pairs on one core); a global injector takes work
//!   from outside; idle workers steal half of a victim's queue. One idle
//!   worker at a time blocks in the driver; the others sleep on their thread
//!   parker and are woken one at a time when work appears. `!Send` futures
//!   run in a [`LocalSet`], which pins its tasks to the thread that awaits
//!   it (it works on the current-thread flavour too).
//!
//! ## Fairness
//!
//! Every [`DEFAULT_EVENT_INTERVAL`] (61) task polls a worker checks the driver
//! without blocking, so a task that is always ready cannot starve I/O or
//! timers. Tasks woken from other threads cannot be starved either: on the
//! multi-threaded flavour the same tick takes the injector first (ahead of
//! the worker's own queue and its LIFO slot); on the current-thread flavour
//! remote wake-ups join the back of the run queue on every round. The
//! number is configurable with [`Builder::event_interval`].
//!
//! ## Cancellation and shutdown
//!
//! [`Task::cancel`] marks the task and wakes it; the next time a worker would
//! poll it, the worker drops its future instead, and the task completes with
//! [`JoinError::Cancelled`](eddy_core::JoinError). Dropping an [`Executor`]
//! stops its workers and cancels every task still alive, so no future
//! outlives its executor. A panic in a task is caught: the task completes with
//! [`JoinError::Panicked`](eddy_core::JoinError) and the executor carries on.
//!
//! # Example
//!
//! ```
//! use eddy_executor::{Executor, ThreadPark, spawn};
//!
//! let ex = Executor::current_thread(ThreadPark::default());
//! let total = ex.block_on(async {
//!     let a = spawn(async { 20 });
//!     let b = spawn(async { 22 });
//!     a.await.unwrap() + b.await.unwrap()
//! });
//! assert_eq!(total, 42);
//! ```
#![forbid(unsafe_code)]

mod cancel;
mod debug;
mod executor;
mod hooks;
mod info;
mod introspect;
mod local;
mod lock;
mod outcome;
mod park;
mod seeded;
mod task;
mod task_hooks;
mod yield_now;

pub use cancel::CancelHandle;
pub use debug::{
    DEFAULT_DEADLOCK_GRACE, DEFAULT_SLOW_POLL, DeadlockAction, DeadlockCheck, DebugEvent,
    DebugOptions, UnhandledPanic,
};
pub use executor::{
    AllFinished, Builder, DEFAULT_EVENT_INTERVAL, EnterGuard, Executor, ExecutorStats, Flavor,
    Handle, SpawnLocalError, TaskBuilder, is_inside_runtime, try_spawn_local_with,
};
pub use info::{TaskDump, TaskInfo, TaskState};
pub use introspect::{all_tasks, current_task};
pub use local::{BlockOn, LocalSet, RunUntil};
pub use park::ThreadPark;
pub use task::{
    CancelRequested, Task, cancel_requested, current_task_id, is_cancel_requested,
    with_cancel_requested,
};
pub use task_hooks::TaskHooks;
pub use yield_now::{YieldNow, yield_now};

use std::future::Future;

/// Spawns a task on the current executor.
///
/// The task starts running the next time the executor picks it up; the
/// returned [`Task`] can be awaited for its output, cancelled, or dropped to
/// let it run on detached.
///
/// # Panics
///
/// When called outside an executor (see [`Handle::try_current`]).
///
/// # Example
///
/// ```
/// # let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
/// # ex.block_on(async {
/// let task = eddy_executor::spawn(async { "done" });
/// assert_eq!(task.await.unwrap(), "done");
/// # });
/// ```
#[track_caller]
pub fn spawn<F>(fut: F) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    executor::spawn_on_current(fut, eddy_core::TaskMeta::here(), false)
}

/// Spawns a `!Send` task on the [`LocalSet`] being polled on this thread,
/// or else on the current thread's current-thread executor.
///
/// Inside a `LocalSet` (its [`run_until`](LocalSet::run_until) future and
/// its tasks) the task goes to the set, on either flavour. Outside one, a
/// local task needs the current-thread flavour: it never moves between
/// threads.
///
/// # Panics
///
/// Outside a `LocalSet`, when the current thread is not running a
/// current-thread executor (on the multi-threaded flavour the message names
/// `LocalSet`, the way to run local tasks there); see
/// [`try_spawn_local_with`] for the non-panicking form, which returns the
/// [`SpawnLocalError`].
///
/// # Example
///
/// ```
/// use std::rc::Rc;
///
/// # let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
/// # ex.block_on(async {
/// let shared = Rc::new(5);
/// let s = shared.clone();
/// let task = eddy_executor::spawn_local(async move { *s * 2 });
/// assert_eq!(task.await.unwrap(), 10);
/// # });
/// ```
///
/// On the multi-threaded flavour, inside a [`LocalSet`]:
///
/// ```
/// use std::rc::Rc;
/// use eddy_executor::{Builder, Flavor, LocalSet, ThreadPark};
///
/// let ex = Builder::new(Flavor::MultiThread).worker_threads(2).build(ThreadPark::default())?;
/// let local = LocalSet::new();
/// let v = local.block_on(&ex, async {
///     let rc = Rc::new(21);
///     eddy_executor::spawn_local(async move { *rc * 2 }).await.unwrap()
/// });
/// assert_eq!(v, 42);
/// // Outside the set: the typed error, naming the alternative.
/// let e = ex.block_on(async {
///     eddy_executor::try_spawn_local_with(eddy_core::TaskMeta::here(), async {}).unwrap_err()
/// });
/// assert_eq!(e, eddy_executor::SpawnLocalError::NotCurrentThread);
/// assert!(e.to_string().contains("LocalSet"));
/// # Ok::<(), std::io::Error>(())
/// ```
#[track_caller]
pub fn spawn_local<F>(fut: F) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    match try_spawn_local_with(eddy_core::TaskMeta::here(), fut) {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    }
}
