//! Debug mode, the unhandled-panic policy, deadlock detection and the
//! graceful-shutdown flag: everything the executor does beyond running tasks.
//!
//! All of it hangs off [`Ext`], one field of the executor's shared state. The
//! hot paths test plain `Option`s and `bool`s fixed at build time, so an
//! executor without debug mode does no extra atomic operation, allocation or
//! time read per spawn, wake or poll.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::thread::{self, JoinHandle, Thread};
use std::time::{Duration, Instant};

use eddy_core::{Clock, TaskId, TaskMeta};

use crate::executor::{Builder, Shared, lock};
use crate::introspect::{TaskDump, TaskInfo, TaskState};
use crate::seeded::SeededRng;
use crate::task::{OUTCOME_PANICKED, take_panic_message};

/// Default slow-poll threshold, like asyncio's `slow_callback_duration`.
pub const DEFAULT_SLOW_POLL: Duration = Duration::from_millis(100);

/// How long the loop waits, once nothing seems able to wake any task, before
/// calling it a deadlock (by default).
pub const DEFAULT_DEADLOCK_GRACE: Duration = Duration::from_millis(500);

type Reporter = Arc<dyn Fn(&DebugEvent) + Send + Sync>;
type Probe = Arc<dyn Fn() -> bool + Send + Sync>;

/// The real monotonic clock debug mode measures polls with by default.
struct RealClock;

impl Clock for RealClock {
    fn now(&self) -> Instant {
        // Poll durations are real CPU time spent on a worker, even when the
        // runtime's timers run on a manual clock; the executor cannot depend on
        // eddy-timer's SystemClock (layer rule), so it reads the OS clock here.
        #[allow(clippy::disallowed_methods)]
        Instant::now()
    }
}

/// Options for debug mode; see [`Builder::debug`].
///
/// ```
/// use std::time::Duration;
/// let opts = eddy_executor::DebugOptions::new().slow_poll(Duration::from_millis(20)).watchdog(false);
/// # drop(opts);
/// ```
#[derive(Clone)]
pub struct DebugOptions {
    slow_poll: Duration,
    clock: Arc<dyn Clock>,
    watchdog: bool,
}

impl DebugOptions {
    /// Defaults: a [`DEFAULT_SLOW_POLL`] threshold, the real monotonic clock,
    /// and the blocking watchdog on.
    ///
    /// ```
    /// let _ = eddy_executor::DebugOptions::new();
    /// ```
    pub fn new() -> DebugOptions {
        DebugOptions {
            slow_poll: DEFAULT_SLOW_POLL,
            clock: Arc::new(RealClock),
            watchdog: true,
        }
    }

    /// A single poll at least this long is reported as slow, and a worker
    /// stuck in one poll this long is reported as blocked.
    ///
    /// ```
    /// let _ = eddy_executor::DebugOptions::new().slow_poll(std::time::Duration::from_millis(10));
    /// ```
    pub fn slow_poll(mut self, threshold: Duration) -> DebugOptions {
        self.slow_poll = threshold.max(Duration::from_micros(1));
        self
    }

    /// The clock poll durations are measured with (tests can pass a manual
    /// clock to make slow-poll reports exact).
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use std::time::Instant;
    /// struct Fixed(Instant);
    /// impl eddy_core::Clock for Fixed {
    ///     fn now(&self) -> Instant { self.0 }
    /// }
    /// # #[allow(clippy::disallowed_methods)]
    /// let _ = eddy_executor::DebugOptions::new().clock(Arc::new(Fixed(Instant::now())));
    /// ```
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> DebugOptions {
        self.clock = clock;
        self
    }

    /// Whether a watchdog thread looks for workers stuck in a poll (on by
    /// default). It wakes every half threshold and reads one timestamp per
    /// running task.
    ///
    /// ```
    /// let _ = eddy_executor::DebugOptions::new().watchdog(false);
    /// ```
    pub fn watchdog(mut self, on: bool) -> DebugOptions {
        self.watchdog = on;
        self
    }
}

impl Default for DebugOptions {
    fn default() -> Self {
        DebugOptions::new()
    }
}

impl fmt::Debug for DebugOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DebugOptions")
            .field("slow_poll", &self.slow_poll)
            .field("watchdog", &self.watchdog)
            .finish_non_exhaustive()
    }
}

/// What to do when a task panics (the panic is always caught, and the
/// task's handle always reports it as [`JoinError::Panicked`](eddy_core::JoinError)).
///
/// The policy acts when the panic happens, whether or not anyone will await
/// the task, like tokio's `unhandled_panic`.
///
/// ```
/// let b = eddy_executor::Builder::new(eddy_executor::Flavor::CurrentThread)
///     .unhandled_panic(eddy_executor::UnhandledPanic::Log);
/// # drop(b);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum UnhandledPanic {
    /// Carry on; only the task's handle learns of the panic (the default).
    #[default]
    Ignore,
    /// Report the panic as a [`DebugEvent::TaskPanicked`] and carry on.
    Log,
    /// Report it, then shut the runtime down: `block_on` panics with the
    /// task's panic message (now if it is running, at its next call
    /// otherwise), and dropping the executor cancels every other task.
    ShutdownRuntime,
}

/// What deadlock detection does once it has found one.
///
/// ```
/// assert_ne!(eddy_executor::DeadlockAction::Report, eddy_executor::DeadlockAction::Panic);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeadlockAction {
    /// Report a [`DebugEvent::Deadlock`] once, then wait as before (the
    /// program hangs, but says why).
    Report,
    /// Panic out of `block_on` with the report (for tests).
    Panic,
}

/// Deadlock detection for the current-thread flavour; see
/// [`Builder::deadlock_check`].
///
/// The executor knows its tasks but not what else could wake them, so the
/// caller supplies a probe that answers "can nothing outside the executor
/// wake a task?": no timer armed, no I/O source registered, no blocking job
/// running or queued. When the loop is about to wait with no task ready,
/// the main future not woken and the probe saying `true`, it waits at most
/// the grace period; if nothing happened meanwhile and the probe still says
/// `true`, that is a deadlock.
///
/// Threads the probe cannot see (a raw `std::thread` holding a channel
/// sender) can make this a false alarm if they take longer than the grace
/// period; use the blocking pool for such work, or a longer grace.
///
/// ```
/// use eddy_executor::{Builder, DeadlockAction, DeadlockCheck, Flavor, ThreadPark};
/// use std::time::Duration;
///
/// let ex = Builder::new(Flavor::CurrentThread)
///     .deadlock_check(DeadlockCheck::new(|| true, DeadlockAction::Panic).grace(Duration::from_millis(10)))
///     .build(ThreadPark::default())
///     .unwrap();
/// let deadlocked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
///     ex.block_on(std::future::pending::<()>())
/// }));
/// assert!(deadlocked.is_err());
/// ```
#[derive(Clone)]
pub struct DeadlockCheck {
    probe: Probe,
    grace: Duration,
    action: DeadlockAction,
}

impl DeadlockCheck {
    /// Detection with `probe` (see the type's docs), acting with `action`
    /// after [`DEFAULT_DEADLOCK_GRACE`].
    ///
    /// ```
    /// let _ = eddy_executor::DeadlockCheck::new(|| true, eddy_executor::DeadlockAction::Report);
    /// ```
    pub fn new(
        probe: impl Fn() -> bool + Send + Sync + 'static,
        action: DeadlockAction,
    ) -> DeadlockCheck {
        DeadlockCheck {
            probe: Arc::new(probe),
            grace: DEFAULT_DEADLOCK_GRACE,
            action,
        }
    }

    /// How long to wait, in real time, for an outside wake-up before
    /// calling it a deadlock.
    ///
    /// ```
    /// let c = eddy_executor::DeadlockCheck::new(|| true, eddy_executor::DeadlockAction::Report)
    ///     .grace(std::time::Duration::from_secs(2));
    /// # drop(c);
    /// ```
    pub fn grace(mut self, grace: Duration) -> DeadlockCheck {
        self.grace = grace;
        self
    }
}

impl fmt::Debug for DeadlockCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeadlockCheck")
            .field("grace", &self.grace)
            .field("action", &self.action)
            .finish_non_exhaustive()
    }
}

/// Something debug mode (or the panic policy, or deadlock detection) has to
/// say. Its `Display` form is the report printed by default.
///
/// ```
/// let e = eddy_executor::DebugEvent::PendingAtShutdown { tasks: eddy_executor::TaskDump::default() };
/// assert!(e.to_string().contains("pending"));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum DebugEvent {
    /// One poll of `task` took `duration` (at least the threshold).
    SlowPoll {
        /// The task.
        task: TaskInfo,
        /// How long the poll took.
        duration: Duration,
    },
    /// The watchdog found a worker stuck in one poll of `task`, still
    /// running: something in it blocks the thread.
    Blocking {
        /// The task.
        task: TaskInfo,
        /// The name of the stuck worker thread.
        thread: Option<String>,
        /// How long the poll had been running when noticed.
        running_for: Duration,
    },
    /// A task panicked and its handle was dropped without anyone looking
    /// at the outcome (asyncio's "Task exception was never retrieved").
    LostResult {
        /// The task.
        task: TaskInfo,
        /// The panic message.
        message: String,
    },
    /// A task panicked and the [`UnhandledPanic`] policy says to report it.
    TaskPanicked {
        /// The task.
        task: TaskInfo,
        /// The panic message.
        message: String,
    },
    /// Tasks still alive when the executor shut down (they are cancelled
    /// next; asyncio's "Task was destroyed but it is pending!").
    PendingAtShutdown {
        /// The tasks.
        tasks: TaskDump,
    },
    /// Every task is waiting and nothing can wake any of them.
    Deadlock {
        /// Every live task.
        tasks: TaskDump,
    },
    /// The task table, asked for from outside (a signal, in the facade).
    Dump {
        /// Every live task.
        tasks: TaskDump,
    },
}

impl fmt::Display for DebugEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DebugEvent::SlowPoll { task, duration } => {
                write!(f, "slow poll: {task} took {duration:.3?} in one poll")
            }
            DebugEvent::Blocking {
                task,
                thread,
                running_for,
            } => write!(
                f,
                "blocking the loop: {task} has been running for {running_for:.3?} \
                 without yielding on worker {}; use unblock() for blocking work",
                thread.as_deref().unwrap_or("<unnamed>")
            ),
            DebugEvent::LostResult { task, message } => write!(
                f,
                "task panic was never retrieved: {task} panicked ({message}) and its handle was dropped"
            ),
            DebugEvent::TaskPanicked { task, message } => {
                write!(f, "task panicked: {task}: {message}")
            }
            DebugEvent::PendingAtShutdown { tasks } => write!(
                f,
                "runtime shut down with {} task{} still pending (cancelling them):\n{tasks}",
                tasks.tasks().len(),
                if tasks.tasks().len() == 1 { "" } else { "s" }
            ),
            DebugEvent::Dump { tasks } => write!(f, "task dump:\n{tasks}"),
            DebugEvent::Deadlock { tasks } => write!(
                f,
                "deadlock: every task is waiting and no timer, I/O source or blocking job \
                 can wake any of them:\n{tasks}"
            ),
        }
    }
}

fn stderr_reporter(e: &DebugEvent) {
    eprintln!("eddy: {e}");
}

/// What [`Builder`] collects for [`Ext`].
#[derive(Default)]
pub(crate) struct BuildExtras {
    debug: Option<DebugOptions>,
    reporter: Option<Reporter>,
    seed: Option<u64>,
    deadlock: Option<DeadlockCheck>,
    unhandled_panic: UnhandledPanic,
}

impl Builder {
    /// Turns debug mode on: the executor tracks every task (name, spawn
    /// location, state, polls, poll time; see [`all_tasks`](crate::all_tasks)),
    /// reports slow polls and workers stuck in a poll, tasks whose panic
    /// nobody retrieved, and tasks still pending at shutdown. Reports go to
    /// [`on_debug_event`](Builder::on_debug_event) (stderr by default).
    ///
    /// Without it, none of this costs anything.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use eddy_executor::{Builder, DebugEvent, DebugOptions, Flavor, ThreadPark};
    ///
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let s = seen.clone();
    /// let ex = Builder::new(Flavor::CurrentThread)
    ///     .debug(DebugOptions::new())
    ///     .on_debug_event(move |e| s.lock().unwrap().push(e.to_string()))
    ///     .build(ThreadPark::default())
    ///     .unwrap();
    /// ex.block_on(async {
    ///     drop(eddy_executor::spawn(async { panic!("boom") }));
    ///     eddy_executor::yield_now().await;
    /// });
    /// assert!(seen.lock().unwrap().iter().any(|r| r.contains("never retrieved")));
    /// ```
    pub fn debug(mut self, options: DebugOptions) -> Builder {
        self.extras.debug = Some(options);
        self
    }

    /// Where debug reports (and panic-policy and deadlock reports) go;
    /// stderr by default.
    ///
    /// ```
    /// let b = eddy_executor::Builder::new(eddy_executor::Flavor::CurrentThread)
    ///     .on_debug_event(|e| eprintln!("[my app] {e}"));
    /// # drop(b);
    /// ```
    pub fn on_debug_event(
        mut self,
        report: impl Fn(&DebugEvent) + Send + Sync + 'static,
    ) -> Builder {
        self.extras.reporter = Some(Arc::new(report));
        self
    }

    /// Runs ready tasks in an order drawn from `seed` instead of first in,
    /// first out (current-thread flavour only; the multi-threaded flavour
    /// ignores it). The same program with the same seed runs its tasks in
    /// the same order, so a rare interleaving, once found, can be replayed.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use eddy_executor::{Builder, Flavor, ThreadPark};
    ///
    /// let order = |seed| {
    ///     let ex = Builder::new(Flavor::CurrentThread).seed(seed).build(ThreadPark::default()).unwrap();
    ///     let log = Arc::new(Mutex::new(Vec::new()));
    ///     ex.block_on(async {
    ///         let tasks: Vec<_> = (0..8)
    ///             .map(|i| {
    ///                 let log = log.clone();
    ///                 eddy_executor::spawn(async move { log.lock().unwrap().push(i) })
    ///             })
    ///             .collect();
    ///         for t in tasks {
    ///             t.await.unwrap();
    ///         }
    ///     });
    ///     let v = log.lock().unwrap().clone();
    ///     v
    /// };
    /// assert_eq!(order(7), order(7));
    /// ```
    pub fn seed(mut self, seed: u64) -> Builder {
        self.extras.seed = Some(seed);
        self
    }

    /// Detects deadlocks on the current-thread flavour (see
    /// [`DeadlockCheck`]); the multi-threaded flavour ignores it.
    ///
    /// ```
    /// let b = eddy_executor::Builder::new(eddy_executor::Flavor::CurrentThread).deadlock_check(
    ///     eddy_executor::DeadlockCheck::new(|| true, eddy_executor::DeadlockAction::Report),
    /// );
    /// # drop(b);
    /// ```
    pub fn deadlock_check(mut self, check: DeadlockCheck) -> Builder {
        self.extras.deadlock = Some(check);
        self
    }

    /// What to do when a task panics; see [`UnhandledPanic`].
    ///
    /// ```
    /// use eddy_executor::{Builder, Flavor, ThreadPark, UnhandledPanic};
    ///
    /// let ex = Builder::new(Flavor::CurrentThread)
    ///     .unhandled_panic(UnhandledPanic::ShutdownRuntime)
    ///     .on_debug_event(|_| {})
    ///     .build(ThreadPark::default())
    ///     .unwrap();
    /// let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
    ///     ex.block_on(async {
    ///         let _t = eddy_executor::spawn(async { panic!("boom") });
    ///         std::future::pending::<()>().await
    ///     })
    /// }));
    /// assert!(r.is_err());
    /// ```
    pub fn unhandled_panic(mut self, policy: UnhandledPanic) -> Builder {
        self.extras.unhandled_panic = policy;
        self
    }
}

/// The executor's optional machinery, one field of `Shared`.
pub(crate) struct Ext {
    pub(crate) debug: Option<Arc<DebugState>>,
    pub(crate) seeded: Option<SeededRng>,
    pub(crate) deadlock: Option<DeadlockCheck>,
    deadlock_reported: AtomicBool,
    unhandled_panic: UnhandledPanic,
    /// `unhandled_panic == ShutdownRuntime`, as a plain bool for the loops.
    pub(crate) abort_on_panic: bool,
    reporter: Reporter,
    /// The panic that shut the runtime down, once there is one.
    aborted: Mutex<Option<String>>,
    pub(crate) abort_flag: AtomicBool,
    /// Threads inside a multi-threaded `block_on`, to wake on an abort.
    main_threads: Mutex<Vec<Thread>>,
}

impl BuildExtras {
    pub(crate) fn into_ext(self) -> Ext {
        let reporter = self
            .reporter
            .unwrap_or_else(|| Arc::new(stderr_reporter) as Reporter);
        let debug = self
            .debug
            .map(|o| Arc::new(DebugState::new(o, reporter.clone())));
        Ext {
            debug,
            seeded: self.seed.map(SeededRng::new),
            deadlock: self.deadlock,
            deadlock_reported: AtomicBool::new(false),
            unhandled_panic: self.unhandled_panic,
            abort_on_panic: self.unhandled_panic == UnhandledPanic::ShutdownRuntime,
            reporter,
            aborted: Mutex::new(None),
            abort_flag: AtomicBool::new(false),
            main_threads: Mutex::new(Vec::new()),
        }
    }
}

/// Per-task record in debug mode.
struct Entry {
    meta: TaskMeta,
    state: TaskState,
    /// Woken while running: goes back to `Scheduled`, not `Idle`, after the poll.
    rescheduled: bool,
    polls: u64,
    poll_time: Duration,
    poll_started: Option<Instant>,
    thread: Option<Thread>,
    blocking_reported: bool,
    /// The handle was dropped (or detached) before the task finished.
    detached: bool,
    /// The handle returned the outcome before the task's record was closed.
    observed: bool,
}

impl Entry {
    fn info(&self, id: TaskId) -> TaskInfo {
        TaskInfo {
            id,
            name: self.meta.name_arc(),
            location: Some(self.meta.location()),
            state: self.state,
            polls: self.polls,
            poll_time: self.poll_time,
        }
    }
}

#[derive(Default)]
struct Tables {
    live: HashMap<TaskId, Entry>,
    /// Tasks that panicked while their handle was still held and has not
    /// returned the outcome yet.
    failed: HashMap<TaskId, (TaskInfo, String)>,
}

pub(crate) struct DebugState {
    slow_poll: Duration,
    clock: Arc<dyn Clock>,
    watchdog_on: bool,
    reporter: Reporter,
    tables: Mutex<Tables>,
    pub(crate) polls: AtomicU64,
    stop: AtomicBool,
    watchdog: Mutex<Option<JoinHandle<()>>>,
}

impl DebugState {
    fn new(o: DebugOptions, reporter: Reporter) -> DebugState {
        DebugState {
            slow_poll: o.slow_poll,
            clock: o.clock,
            watchdog_on: o.watchdog,
            reporter,
            tables: Mutex::new(Tables::default()),
            polls: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            watchdog: Mutex::new(None),
        }
    }

    pub(crate) fn snapshot(&self) -> Vec<TaskInfo> {
        lock(&self.tables)
            .live
            .iter()
            .map(|(id, e)| e.info(*id))
            .collect()
    }

    pub(crate) fn info(&self, id: TaskId) -> Option<TaskInfo> {
        lock(&self.tables).live.get(&id).map(|e| e.info(id))
    }

    pub(crate) fn on_spawn(&self, id: TaskId, meta: &TaskMeta) {
        lock(&self.tables).live.insert(
            id,
            Entry {
                meta: meta.clone(),
                state: TaskState::Scheduled,
                rescheduled: false,
                polls: 0,
                poll_time: Duration::ZERO,
                poll_started: None,
                thread: None,
                blocking_reported: false,
                detached: false,
                observed: false,
            },
        );
    }

    pub(crate) fn on_schedule(&self, id: TaskId) {
        if let Some(e) = lock(&self.tables).live.get_mut(&id) {
            if e.state == TaskState::Running {
                e.rescheduled = true;
            } else {
                e.state = TaskState::Scheduled;
            }
        }
    }

    fn poll_started(&self, id: TaskId) -> Instant {
        self.polls.fetch_add(1, Ordering::Relaxed);
        let now = self.clock.now();
        if let Some(e) = lock(&self.tables).live.get_mut(&id) {
            e.state = TaskState::Running;
            e.poll_started = Some(now);
            e.blocking_reported = false;
            // Tasks move between workers: the watchdog must name this one.
            e.thread = Some(thread::current());
        }
        now
    }

    /// Closes one poll; returns the task's info when it panicked.
    fn poll_ended(
        &self,
        id: TaskId,
        start: Instant,
        outcome: u8,
        panic_msg: Option<&str>,
    ) -> Option<TaskInfo> {
        let duration = self.clock.now().saturating_duration_since(start);
        let mut events = Vec::new();
        let mut panicked = None;
        {
            let mut t = lock(&self.tables);
            let mut close = None;
            if let Some(e) = t.live.get_mut(&id) {
                e.polls += 1;
                e.poll_time += duration;
                e.poll_started = None;
                e.state = if e.rescheduled {
                    TaskState::Scheduled
                } else {
                    TaskState::Idle
                };
                e.rescheduled = false;
                if duration >= self.slow_poll {
                    events.push(DebugEvent::SlowPoll {
                        task: e.info(id),
                        duration,
                    });
                }
                if outcome != 0 {
                    close = Some((e.info(id), e.detached, e.observed));
                }
            }
            if let Some((info, detached, observed)) = close {
                t.live.remove(&id);
                if outcome == OUTCOME_PANICKED {
                    let message = panic_msg.unwrap_or("<non-string panic>").to_owned();
                    panicked = Some(info.clone());
                    if detached {
                        events.push(DebugEvent::LostResult {
                            task: info,
                            message,
                        });
                    } else if !observed {
                        t.failed.insert(id, (info, message));
                    }
                }
            }
        }
        for e in &events {
            (self.reporter)(e);
        }
        panicked
    }

    pub(crate) fn on_handle_observed(&self, id: TaskId) {
        let mut t = lock(&self.tables);
        if t.failed.remove(&id).is_none() {
            if let Some(e) = t.live.get_mut(&id) {
                e.observed = true;
            }
        }
    }

    pub(crate) fn on_handle_dropped(&self, id: TaskId) {
        let lost = {
            let mut t = lock(&self.tables);
            match t.failed.remove(&id) {
                Some(f) => Some(f),
                None => {
                    if let Some(e) = t.live.get_mut(&id) {
                        if !e.observed {
                            e.detached = true;
                        }
                    }
                    None
                }
            }
        };
        if let Some((task, message)) = lost {
            (self.reporter)(&DebugEvent::LostResult { task, message });
        }
    }

    /// One watchdog round: reports each poll running past the threshold once.
    fn watch(&self) {
        let now = self.clock.now();
        let mut events = Vec::new();
        for (id, e) in lock(&self.tables).live.iter_mut() {
            if let Some(start) = e.poll_started {
                let running_for = now.saturating_duration_since(start);
                if running_for >= self.slow_poll && !e.blocking_reported {
                    e.blocking_reported = true;
                    events.push(DebugEvent::Blocking {
                        task: e.info(*id),
                        thread: e.thread.as_ref().and_then(|t| t.name().map(String::from)),
                        running_for,
                    });
                }
            }
        }
        for e in &events {
            (self.reporter)(e);
        }
    }
}

/// Starts the blocking watchdog, if debug mode wants one.
pub(crate) fn start(shared: &Arc<Shared>) {
    let Some(d) = &shared.ext.debug else { return };
    if !d.watchdog_on {
        return;
    }
    let weak: Weak<DebugState> = Arc::downgrade(d);
    let period = d.slow_poll / 2;
    let spawned = thread::Builder::new()
        .name("eddy-watchdog".into())
        .spawn(move || {
            loop {
                let Some(d) = weak.upgrade() else { return };
                if d.stop.load(Ordering::Acquire) {
                    return;
                }
                d.watch();
                drop(d);
                thread::park_timeout(period);
            }
        });
    // Without a watchdog thread debug mode still reports slow polls when
    // they end; failing to start one is not worth failing the build.
    if let Ok(h) = spawned {
        *lock(&d.watchdog) = Some(h);
    }
}

/// The debug half of `run_task`: before the poll. Returns the start time.
#[inline]
pub(crate) fn before_poll(shared: &Shared, id: TaskId) -> Option<Instant> {
    shared.ext.debug.as_ref().map(|d| d.poll_started(id))
}

/// After a poll that was timed (debug mode) or that ended in a panic.
#[cold]
pub(crate) fn after_poll(shared: &Shared, id: TaskId, start: Option<Instant>, outcome: u8) {
    let message = if outcome == OUTCOME_PANICKED {
        take_panic_message()
    } else {
        None
    };
    let info = match (&shared.ext.debug, start) {
        (Some(d), Some(s)) => d.poll_ended(id, s, outcome, message.as_deref()),
        _ => None,
    };
    if outcome == OUTCOME_PANICKED {
        let task = info.unwrap_or_else(|| TaskInfo::untracked(id));
        shared.ext.on_panic(
            shared,
            task,
            message.unwrap_or_else(|| "<non-string panic>".into()),
        );
    }
}

impl Ext {
    fn on_panic(&self, shared: &Shared, task: TaskInfo, message: String) {
        match self.unhandled_panic {
            UnhandledPanic::Ignore => {}
            UnhandledPanic::Log => (self.reporter)(&DebugEvent::TaskPanicked { task, message }),
            UnhandledPanic::ShutdownRuntime => {
                let text = format!("{task} panicked: {message}");
                (self.reporter)(&DebugEvent::TaskPanicked { task, message });
                lock(&self.aborted).get_or_insert(text);
                self.abort_flag.store(true, Ordering::SeqCst);
                shared.driver_unpark.unpark();
                for t in lock(&self.main_threads).iter() {
                    t.unpark();
                }
            }
        }
    }

    /// Panics out of `block_on` if a task panic shut the runtime down.
    pub(crate) fn check_abort(&self) {
        if self.abort_flag.load(Ordering::Acquire) {
            let msg = lock(&self.aborted).clone().unwrap_or_default();
            panic!(
                "eddy: a task panicked and the runtime is configured to shut down \
                 on unhandled panics (UnhandledPanic::ShutdownRuntime): {msg}"
            );
        }
    }

    /// Registers a multi-threaded `block_on` thread to be woken by an abort.
    pub(crate) fn register_main_thread(&self) {
        lock(&self.main_threads).push(thread::current());
    }

    pub(crate) fn unregister_main_thread(&self) {
        let me = thread::current().id();
        lock(&self.main_threads).retain(|t| t.id() != me);
    }
}

/// Called by the current-thread loop when it is about to wait with nothing
/// to do. Returns `true` if work appeared (the caller should loop again
/// instead of waiting).
#[cold]
pub(crate) fn idle_check(shared: &Shared, has_work: &dyn Fn() -> bool) -> bool {
    let Some(check) = &shared.ext.deadlock else {
        return false;
    };
    if !(check.probe)() {
        shared.ext.deadlock_reported.store(false, Ordering::Relaxed);
        return false;
    }
    let _ = lock(&shared.driver).park(Some(check.grace));
    if has_work() || !(check.probe)() {
        shared.ext.deadlock_reported.store(false, Ordering::Relaxed);
        return true;
    }
    let event = DebugEvent::Deadlock {
        tasks: TaskDump::new(shared.task_infos()),
    };
    match check.action {
        DeadlockAction::Panic => panic!("eddy: {event}"),
        DeadlockAction::Report => {
            if !shared.ext.deadlock_reported.swap(true, Ordering::Relaxed) {
                (shared.ext.reporter)(&event);
            }
        }
    }
    false
}

/// Called when the executor shuts down, before its tasks are cancelled:
/// stops the watchdog and lists the tasks still pending.
pub(crate) fn on_shutdown(shared: &Shared) {
    let Some(d) = &shared.ext.debug else { return };
    d.stop.store(true, Ordering::Release);
    if let Some(h) = lock(&d.watchdog).take() {
        h.thread().unpark();
        let _ = h.join();
    }
    let pending = d.snapshot();
    if !pending.is_empty() {
        (d.reporter)(&DebugEvent::PendingAtShutdown {
            tasks: TaskDump::new(pending),
        });
    }
}

/// Keeps a multi-threaded `block_on` thread registered for abort wake-ups
/// while it waits (only under [`UnhandledPanic::ShutdownRuntime`]).
pub(crate) struct AbortWatch<'a>(Option<&'a Ext>);

impl AbortWatch<'_> {
    pub(crate) fn enter(ext: &Ext) -> AbortWatch<'_> {
        if ext.abort_on_panic {
            ext.register_main_thread();
            AbortWatch(Some(ext))
        } else {
            AbortWatch(None)
        }
    }
}

impl Drop for AbortWatch<'_> {
    fn drop(&mut self) {
        if let Some(ext) = self.0 {
            ext.unregister_main_thread();
        }
    }
}
