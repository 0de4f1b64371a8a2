//! Debug mode and introspection: asyncio's `PYTHONASYNCIODEBUG=1` and
//! `all_tasks()`, tokio-console's task list, built in.
//!
//! Turn debug mode on with [`Builder::debug`](crate::Builder::debug) or by
//! setting the environment variable `EDDY_DEBUG=1`. The runtime then:
//!
//! * keeps a table of every live task: id, name, spawn location, state
//!   (idle, scheduled, running), poll count and total poll time
//!   ([`all_tasks`], [`current_task`], [`dump`]);
//! * reports any single poll longer than the slow-poll threshold (100 ms by
//!   default, like asyncio's `slow_callback_duration`) with the task's id,
//!   name, spawn location and duration;
//! * runs a watchdog that notices a worker stuck in one poll past the
//!   threshold *while it is still stuck* (a `std::thread::sleep` or a
//!   blocking read in a task), and says which task it is;
//! * reports a task that panicked, or returned a `Result::Err`, whose
//!   handle was dropped without anyone looking at the outcome (asyncio's
//!   "Task exception was never retrieved"), and lists the tasks still
//!   pending when the runtime shuts down;
//! * reports a deadlock (every task waiting, and no timer, I/O source or
//!   blocking job left that could wake one) with the task table, instead of
//!   hanging silently, on either flavour.
//!
//! Reports are [`DebugEvent`]s. They go to
//! [`Builder::on_debug_event`](crate::Builder::on_debug_event) if set; else,
//! with the `log` feature, to the `log` crate (target `eddy::debug`, level
//! warn); else to stderr.
//!
//! Without debug mode none of this costs anything: the executor tests a flag
//! fixed at build time and does no extra atomic operation, allocation or
//! time read per spawn, wake or poll. [`all_tasks`] then still lists the live
//! tasks, by id only.
//!
//! # Example
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use std::time::Duration;
//!
//! let reports = Arc::new(Mutex::new(Vec::new()));
//! let r = reports.clone();
//! let rt = eddy::Builder::current_thread()
//!     .debug(true)
//!     .slow_poll_threshold(Duration::from_millis(20))
//!     .on_debug_event(move |e| r.lock().unwrap().push(e.to_string()))
//!     .build()
//!     .unwrap();
//! rt.block_on(async {
//!     let t = eddy::TaskBuilder::new().name("blocker").spawn(async {
//!         // The pitfall: a blocking sleep inside a task.
//!         # #[allow(clippy::disallowed_methods)]
//!         std::thread::sleep(Duration::from_millis(60));
//!     });
//!     t.await.unwrap();
//!     for task in eddy::all_tasks() {
//!         println!("{task}");
//!     }
//! });
//! assert!(reports.lock().unwrap().iter().any(|r| r.contains("blocker")));
//! ```

use std::fmt;
use std::io::{self, Read};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::thread;

pub use eddy_executor::{
    DEFAULT_DEADLOCK_GRACE, DEFAULT_SLOW_POLL, DeadlockAction, DebugEvent, TaskDump, TaskInfo,
    TaskState, UnhandledPanic, all_tasks, current_task,
};

use crate::signal::SignalKind;

pub(crate) type Reporter = Arc<dyn Fn(&DebugEvent) + Send + Sync>;

/// A table of every live task of the current runtime (see [`TaskDump`]);
/// empty outside a runtime.
///
/// ```
/// let rt = eddy::Builder::current_thread().debug(true).build().unwrap();
/// rt.block_on(async {
///     let _t = eddy::TaskBuilder::new().name("idle").spawn(std::future::pending::<()>());
///     eddy::yield_now().await;
///     let table = eddy::debug::dump().to_string();
///     assert!(table.contains("idle"));
///     println!("{table}");
/// });
/// ```
pub fn dump() -> TaskDump {
    eddy_executor::Handle::try_current().map_or_else(TaskDump::default, |h| h.dump())
}

/// `true` when the environment asks for debug mode (`EDDY_DEBUG` set to
/// anything but empty or `0`).
///
/// ```
/// // Whatever the environment says, the answer is a plain bool.
/// let _on: bool = eddy::debug::env_debug();
/// ```
pub fn env_debug() -> bool {
    std::env::var_os("EDDY_DEBUG").is_some_and(|v| !v.is_empty() && v != "0")
}

/// Where reports go when the user did not say: `tracing`, `log` or stderr.
pub(crate) fn default_reporter() -> Reporter {
    Arc::new(|e: &DebugEvent| {
        #[cfg(feature = "tracing")]
        trace_event(e);
        #[cfg(all(feature = "log", not(feature = "tracing")))]
        log::warn!(target: "eddy::debug", "{e}");
        #[cfg(not(any(feature = "log", feature = "tracing")))]
        eprintln!("eddy: {e}");
    })
}

/// A debug report as a `tracing` event: a warning (an error for a deadlock)
/// with the report kind and, where one task is concerned, its id and name as
/// fields, so subscribers can filter and index them.
#[cfg(feature = "tracing")]
fn trace_event(e: &DebugEvent) {
    let task = match e {
        DebugEvent::SlowPoll { task, .. }
        | DebugEvent::Blocking { task, .. }
        | DebugEvent::LostResult { task, .. }
        | DebugEvent::LostError { task, .. }
        | DebugEvent::TaskPanicked { task, .. } => Some(task),
        _ => None,
    };
    let kind = event_kind(e);
    let id = task.map(|t| t.id.as_u64());
    let name = task.and_then(|t| t.name.as_deref());
    if matches!(e, DebugEvent::Deadlock { .. }) {
        tracing::error!(target: "eddy::debug", kind, task.id = id, task.name = name, "{e}");
    } else {
        tracing::warn!(target: "eddy::debug", kind, task.id = id, task.name = name, "{e}");
    }
}

/// The `kind` field of a report's `tracing` event.
#[cfg(feature = "tracing")]
fn event_kind(e: &DebugEvent) -> &'static str {
    match e {
        DebugEvent::SlowPoll { .. } => "slow_poll",
        DebugEvent::Blocking { .. } => "blocking",
        DebugEvent::LostResult { .. } => "lost_result",
        DebugEvent::LostError { .. } => "lost_error",
        DebugEvent::TaskPanicked { .. } => "task_panicked",
        DebugEvent::PendingAtShutdown { .. } => "pending_at_shutdown",
        DebugEvent::Deadlock { .. } => "deadlock",
        DebugEvent::Dump { .. } => "dump",
        _ => "other",
    }
}

/// [`Builder::trace_tasks`](crate::Builder::trace_tasks): one `tracing`
/// span per task, entered for each poll.
#[cfg(feature = "tracing")]
#[derive(Default)]
pub(crate) struct TaskSpans {
    spans: std::sync::Mutex<std::collections::HashMap<eddy_core::TaskId, tracing::Span>>,
}

#[cfg(feature = "tracing")]
thread_local! {
    /// The spans this thread's running polls entered, innermost last (runs
    /// nest when a task starts eagerly inside another's poll).
    static ENTERED: std::cell::RefCell<Vec<Option<tracing::span::EnteredSpan>>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

#[cfg(feature = "tracing")]
impl TaskSpans {
    fn spans(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<eddy_core::TaskId, tracing::Span>>
    {
        self.spans.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(feature = "tracing")]
impl eddy_executor::TaskHooks for TaskSpans {
    fn on_spawn(&self, task: eddy_core::TaskId, meta: &eddy_core::TaskMeta) {
        let span = tracing::info_span!(
            target: "eddy::task",
            "task",
            task.id = task.as_u64(),
            task.name = meta.name(),
            spawn.location = %meta.location(),
        );
        if !span.is_disabled() {
            self.spans().insert(task, span);
        }
    }

    fn before_poll(&self, task: eddy_core::TaskId) {
        let span = self.spans().get(&task).cloned();
        ENTERED.with(|e| e.borrow_mut().push(span.map(tracing::Span::entered)));
    }

    fn after_poll(&self, _: eddy_core::TaskId) {
        // Popped (and so exited) outside the borrow: exiting calls the
        // subscriber, which may log, which must not find ENTERED borrowed.
        let entered = ENTERED.with(|e| e.borrow_mut().pop());
        drop(entered);
    }

    fn on_terminate(&self, task: eddy_core::TaskId) {
        let span = self.spans().remove(&task);
        drop(span);
    }
}

/// Two [`TaskHooks`](eddy_executor::TaskHooks), the first called first.
#[cfg(feature = "tracing")]
pub(crate) struct BothHooks(
    pub(crate) Arc<dyn eddy_executor::TaskHooks>,
    pub(crate) Arc<dyn eddy_executor::TaskHooks>,
);

#[cfg(feature = "tracing")]
impl eddy_executor::TaskHooks for BothHooks {
    fn on_spawn(&self, task: eddy_core::TaskId, meta: &eddy_core::TaskMeta) {
        contained(|| self.0.on_spawn(task, meta));
        contained(|| self.1.on_spawn(task, meta));
    }
    fn before_poll(&self, task: eddy_core::TaskId) {
        contained(|| self.0.before_poll(task));
        contained(|| self.1.before_poll(task));
    }
    fn after_poll(&self, task: eddy_core::TaskId) {
        contained(|| self.1.after_poll(task));
        contained(|| self.0.after_poll(task));
    }
    fn on_terminate(&self, task: eddy_core::TaskId) {
        contained(|| self.1.on_terminate(task));
        contained(|| self.0.on_terminate(task));
    }
}

/// A panic in the user's hooks must not skip ours (the span stack would
/// lose its balance); the executor contains the outer call the same way.
#[cfg(feature = "tracing")]
fn contained(f: impl FnOnce()) {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
}

/// Prints the task table each time a signal arrives, from a thread of its
/// own (so it works even when every worker is stuck). Unregistered when the
/// runtime is dropped.
pub(crate) struct DumpOnSignal {
    id: signal_hook::SigId,
    thread: Option<thread::JoinHandle<()>>,
}

impl DumpOnSignal {
    pub(crate) fn start(
        kind: SignalKind,
        handle: eddy_executor::Handle,
        report: Reporter,
    ) -> io::Result<DumpOnSignal> {
        let sig = kind.as_raw();
        if signal_hook::consts::FORBIDDEN.contains(&sig) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{kind} cannot be caught"),
            ));
        }
        let (mut read, write) = UnixStream::pair()?;
        // The handler owns `write` and closes it when unregistered, which
        // ends the thread's read with end-of-file.
        let id = signal_hook::low_level::pipe::register(sig, write)?;
        let spawned = thread::Builder::new()
            .name("eddy-dump-on-signal".into())
            .spawn(move || {
                let mut buf = [0u8; 16];
                while matches!(read.read(&mut buf), Ok(n) if n > 0) {
                    report(&DebugEvent::Dump {
                        tasks: handle.dump(),
                    });
                }
            });
        match spawned {
            Ok(t) => Ok(DumpOnSignal {
                id,
                thread: Some(t),
            }),
            Err(e) => {
                signal_hook::low_level::unregister(id);
                Err(e)
            }
        }
    }
}

impl Drop for DumpOnSignal {
    fn drop(&mut self) {
        signal_hook::low_level::unregister(self.id);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl fmt::Debug for DumpOnSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DumpOnSignal").finish_non_exhaustive()
    }
}

/// A snapshot of a runtime's counters, from [`Handle::metrics`](crate::Handle::metrics).
///
/// ```
/// let rt = eddy::Builder::current_thread().build().unwrap();
/// let m = rt.block_on(async {
///     eddy::spawn(async {}).await.unwrap();
///     eddy::Handle::current().metrics()
/// });
/// assert_eq!(m.tasks_spawned, 1);
/// assert_eq!(m.tasks_alive, 0);
/// assert_eq!(m.polls, None); // counted in debug mode only
/// println!("{m}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuntimeMetrics {
    /// Worker threads (1 for the current-thread flavour).
    pub workers: usize,
    /// Tasks spawned since the runtime was built.
    pub tasks_spawned: u64,
    /// Tasks alive now.
    pub tasks_alive: usize,
    /// Task polls so far; `None` outside debug mode (counting them would
    /// cost every poll an atomic operation).
    pub polls: Option<u64>,
    /// Tasks taken from another worker's queue.
    pub steals: u64,
    /// Times a worker blocked in the driver (reactor and timers) or on its
    /// parker: each one ends with a wake-up.
    pub driver_parks: u64,
    /// Timers armed now.
    pub timers_armed: usize,
    /// I/O sources registered with the reactor now.
    pub io_sources: usize,
    /// Blocking-pool threads alive now.
    pub blocking_threads: usize,
    /// Blocking-pool threads waiting for a job.
    pub blocking_idle_threads: usize,
    /// Blocking jobs waiting for a thread.
    pub blocking_queue_depth: usize,
}

impl fmt::Display for RuntimeMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "workers {}, tasks spawned {} alive {}, polls {}, steals {}, driver parks {}, \
             timers {}, I/O sources {}, blocking threads {} (idle {}) queue {}",
            self.workers,
            self.tasks_spawned,
            self.tasks_alive,
            self.polls.map_or_else(|| "-".to_owned(), |p| p.to_string()),
            self.steals,
            self.driver_parks,
            self.timers_armed,
            self.io_sources,
            self.blocking_threads,
            self.blocking_idle_threads,
            self.blocking_queue_depth
        )
    }
}
