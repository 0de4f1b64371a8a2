//! What a snapshot of a task says: [`TaskState`], [`TaskInfo`] and the
//! printable [`TaskDump`]. Plain data, so that debug mode's reports and the
//! introspection API can share it without depending on each other.

use std::fmt;
use std::panic::Location;
use std::sync::Arc;
use std::time::Duration;

use eddy_core::TaskId;

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
