//! Introspection: which tasks are alive, what each is doing, and a readable
//! table of them (asyncio's `all_tasks()` / `current_task()`, tokio-console's
//! task list).
//!
//! Only the task ids are always known: the executor keeps a registry of live
//! tasks for cancellation anyway. Names, spawn locations, states, poll counts
//! and poll times are recorded in a side table that exists only in debug mode
//! ([`Builder::debug`](crate::Builder::debug)), so that an executor without
//! debug mode pays nothing for them.

use std::fmt;
use std::panic::Location;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use eddy_core::TaskId;

use crate::executor::{Handle, Shared, lock};
use crate::task::current_task_id;

/// What a live task is doing.
///
/// ```
/// assert_eq!(eddy_executor::TaskState::Idle.to_string(), "idle");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TaskState {
    /// Waiting for a wake-up (suspended at an `.await`).
    Idle,
    /// Woken and waiting in a run queue.
    Scheduled,
    /// Being polled on a worker right now.
    Running,
    /// The executor is not in debug mode, so it does not track states.
    Untracked,
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TaskState::Idle => "idle",
            TaskState::Scheduled => "scheduled",
            TaskState::Running => "running",
            TaskState::Untracked => "?",
        })
    }
}

/// A snapshot of one live task.
///
/// Outside debug mode only [`id`](TaskInfo::id) is known: `name` and
/// `location` are `None`, `state` is [`TaskState::Untracked`], and the poll
/// figures are zero.
///
/// ```
/// let ex = eddy_executor::Builder::new(eddy_executor::Flavor::CurrentThread)
///     .debug(eddy_executor::DebugOptions::new())
///     .build(eddy_executor::ThreadPark::default())
///     .unwrap();
/// ex.block_on(async {
///     let t = eddy_executor::TaskBuilder::new().name("sleeper").spawn(std::future::pending::<()>());
///     eddy_executor::yield_now().await;
///     let info = eddy_executor::all_tasks().into_iter().find(|i| i.id == t.id()).unwrap();
///     assert_eq!(info.name.as_deref(), Some("sleeper"));
///     assert_eq!(info.state, eddy_executor::TaskState::Idle);
///     assert_eq!(info.polls, 1);
///     println!("{info}");
/// });
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TaskInfo {
    /// The task's id.
    pub id: TaskId,
    /// The task's name, if it has one (debug mode only).
    pub name: Option<Arc<str>>,
    /// Where the task was spawned (debug mode only).
    pub location: Option<&'static Location<'static>>,
    /// What the task is doing.
    pub state: TaskState,
    /// How many times the task has been polled (debug mode only).
    pub polls: u64,
    /// Total time spent inside the task's polls (debug mode only).
    pub poll_time: Duration,
}

impl TaskInfo {
    pub(crate) fn untracked(id: TaskId) -> TaskInfo {
        TaskInfo {
            id,
            name: None,
            location: None,
            state: TaskState::Untracked,
            polls: 0,
            poll_time: Duration::ZERO,
        }
    }
}

impl fmt::Display for TaskInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {}", self.id.as_u64())?;
        if let Some(n) = &self.name {
            write!(f, " {n:?}")?;
        }
        if let Some(l) = self.location {
            write!(f, " (spawned at {l})")?;
        }
        Ok(())
    }
}

/// A table of live tasks, printed by its `Display` implementation: one row
/// per task with its id, state, poll count, total poll time, name and spawn
/// location.
///
/// ```
/// # let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
/// ex.block_on(async {
///     let t = eddy_executor::spawn(std::future::pending::<()>());
///     let dump = eddy_executor::Handle::current().dump();
///     assert_eq!(dump.tasks().len(), 1);
///     assert!(dump.to_string().contains(&t.id().as_u64().to_string()));
/// });
/// ```
#[derive(Debug, Clone, Default)]
pub struct TaskDump {
    tasks: Vec<TaskInfo>,
}

impl TaskDump {
    /// A dump of the given tasks (sorted by id).
    ///
    /// ```
    /// let d = eddy_executor::TaskDump::new(Vec::new());
    /// assert!(d.is_empty());
    /// ```
    pub fn new(mut tasks: Vec<TaskInfo>) -> TaskDump {
        tasks.sort_by_key(|t| t.id);
        TaskDump { tasks }
    }

    /// The tasks in the dump, by id.
    ///
    /// ```
    /// assert!(eddy_executor::TaskDump::default().tasks().is_empty());
    /// ```
    pub fn tasks(&self) -> &[TaskInfo] {
        &self.tasks
    }

    /// `true` when no task is listed.
    ///
    /// ```
    /// assert!(eddy_executor::TaskDump::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Takes the tasks out of the dump.
    ///
    /// ```
    /// assert!(eddy_executor::TaskDump::default().into_tasks().is_empty());
    /// ```
    pub fn into_tasks(self) -> Vec<TaskInfo> {
        self.tasks
    }
}

impl fmt::Display for TaskDump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:>8}  {:<9}  {:>7}  {:>11}  {:<20}  spawned at",
            "id", "state", "polls", "poll time", "name"
        )?;
        for t in &self.tasks {
            let name = t.name.as_deref().unwrap_or("-");
            let loc = t.location.map_or_else(|| "-".to_owned(), |l| l.to_string());
            writeln!(
                f,
                "{:>8}  {:<9}  {:>7}  {:>11}  {:<20}  {}",
                t.id.as_u64(),
                t.state.to_string(),
                t.polls,
                format!("{:.3?}", t.poll_time),
                name,
                loc
            )?;
        }
        write!(
            f,
            "({} live task{})",
            self.tasks.len(),
            plural(self.tasks.len())
        )
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

impl Shared {
    /// Every live task: from the debug side table when there is one, from
    /// the registry (ids only) otherwise.
    pub(crate) fn task_infos(&self) -> Vec<TaskInfo> {
        match &self.ext.debug {
            Some(d) => d.snapshot(),
            None => lock(&self.registry)
                .tasks
                .iter()
                .map(|(_, (id, _))| TaskInfo::untracked(*id))
                .collect(),
        }
    }
}

impl Handle {
    /// A snapshot of every live task of this executor (asyncio's
    /// `all_tasks(loop)`). Full details in debug mode, ids otherwise (see
    /// [`TaskInfo`]).
    ///
    /// ```
    /// let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// let h = ex.handle();
    /// let t = h.spawn(std::future::pending::<()>());
    /// assert_eq!(h.tasks().len(), 1);
    /// assert_eq!(h.tasks()[0].id, t.id());
    /// ```
    pub fn tasks(&self) -> Vec<TaskInfo> {
        let mut v = self.shared.task_infos();
        v.sort_by_key(|t| t.id);
        v
    }

    /// A printable table of every live task; see [`TaskDump`].
    ///
    /// ```
    /// let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// assert!(ex.handle().dump().is_empty());
    /// ```
    pub fn dump(&self) -> TaskDump {
        TaskDump::new(self.shared.task_infos())
    }

    /// `true` when the executor was built in debug mode.
    ///
    /// ```
    /// let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// assert!(!ex.handle().is_debug());
    /// ```
    pub fn is_debug(&self) -> bool {
        self.shared.ext.debug.is_some()
    }

    /// Task polls so far, counted in debug mode only (`None` otherwise:
    /// counting every poll would cost the hot path an atomic).
    ///
    /// ```
    /// let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// assert_eq!(ex.handle().polls(), None);
    /// ```
    pub fn polls(&self) -> Option<u64> {
        self.shared
            .ext
            .debug
            .as_ref()
            .map(|d| d.polls.load(Ordering::Relaxed))
    }

    /// Stops accepting new tasks: from now on a spawned task is cancelled
    /// before it first runs, and [`Spawn::spawn_boxed`](eddy_core::Spawn)
    /// fails. Tasks already alive keep running. The first phase of a
    /// graceful shutdown.
    ///
    /// ```
    /// let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// let h = ex.handle();
    /// h.close();
    /// let t = h.spawn(async { 1 });
    /// assert!(ex.block_on(t).unwrap_err().is_cancelled());
    /// ```
    pub fn close(&self) {
        self.shared.closing.store(true, Ordering::SeqCst);
    }
}

/// Every live task of the current executor (asyncio's `all_tasks()`); empty
/// outside an executor. See [`Handle::tasks`].
///
/// ```
/// assert!(eddy_executor::all_tasks().is_empty());
/// # let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
/// ex.block_on(async {
///     let _t = eddy_executor::spawn(std::future::pending::<()>());
///     assert_eq!(eddy_executor::all_tasks().len(), 1);
/// });
/// ```
pub fn all_tasks() -> Vec<TaskInfo> {
    Handle::try_current().map_or_else(Vec::new, |h| h.tasks())
}

/// The task being polled on this thread (asyncio's `current_task()`), or
/// `None` outside a task. In debug mode the info carries the name, spawn
/// location and poll figures; otherwise only the id (see [`TaskInfo`]).
///
/// ```
/// # let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
/// ex.block_on(async {
///     assert!(eddy_executor::current_task().is_none()); // block_on's future is not a task
///     let t = eddy_executor::spawn(async { eddy_executor::current_task().map(|i| i.id) });
///     let id = t.id();
///     assert_eq!(t.await.unwrap(), Some(id));
/// });
/// ```
pub fn current_task() -> Option<TaskInfo> {
    let id = current_task_id()?;
    let info =
        Handle::try_current().and_then(|h| h.shared.ext.debug.as_ref().and_then(|d| d.info(id)));
    Some(info.unwrap_or_else(|| TaskInfo {
        state: TaskState::Running,
        ..TaskInfo::untracked(id)
    }))
}
