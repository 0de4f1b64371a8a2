//! Debug mode, the unhandled-panic policy and deadlock detection:
//! everything the executor does beyond running tasks.
//!
//! The machinery lives here; the executor reaches it only through
//! `hooks::Hooks`, whose fast paths test plain `Option`s and `bool`s fixed
//! at build time, so an executor without debug mode does no extra atomic
//! operation, allocation or time read per spawn, wake or poll.
//! Nothing here knows the executor's types: what a check needs from the
//! executor (its driver, its unparker, its list of tasks) is passed in.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::thread::{self, JoinHandle, Thread};
use std::time::{Duration, Instant};

use eddy_core::{Clock, Park, TaskId, TaskMeta, Unpark};

use crate::info::{TaskDump, TaskInfo, TaskState};
use crate::lock::lock;
use crate::outcome::ErrOutput;

/// Default slow-poll threshold, like asyncio's `slow_callback_duration`.
pub const DEFAULT_SLOW_POLL: Duration = Duration::from_millis(100);

/// How long the loop waits, once nothing seems able to wake any task, before
/// calling it a deadlock (by default).
pub const DEFAULT_DEADLOCK_GRACE: Duration = Duration::from_millis(500);

pub(crate) type Reporter = Arc<dyn Fn(&DebugEvent) + Send + Sync>;
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

/// Options for debug mode; see [`Builder::debug`](crate::Builder::debug).
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

/// Deadlock detection; see
/// [`Builder::deadlock_check`](crate::Builder::deadlock_check).
///
/// The executor knows its tasks but not what else could wake them, so the
/// caller supplies a probe that answers "can nothing outside the executor
/// wake a task?": no timer armed, no I/O source registered, no blocking job
/// running or queued.
///
/// * Current-thread flavour: when the loop is about to wait with no task
///   ready, the main future not woken and the probe saying `true`, it waits
///   at most the grace period; if nothing happened meanwhile and the probe
///   still says `true`, that is a deadlock.
/// * Multi-threaded flavour: the `block_on` thread, while its future waits,
///   parks for at most the grace period at a time instead of for good, and
///   looks each time it wakes. A deadlock is every worker asleep, no task
///   queued, the main future not woken and the probe saying `true`, seen at
///   two looks at least the grace period apart with no worker going to
///   sleep in between (so none ran a task meanwhile). Workers pay one
///   counter increment per sleep, and only with detection on.
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
    /// A task returned a `Result::Err` and its handle was dropped without
    /// anyone looking at the outcome: asyncio's "Task exception was never
    /// retrieved", for errors returned rather than panics.
    ///
    /// The executor cannot require `E: Debug` of every task, so `error` is
    /// the error's `Debug` text only for the common output types
    /// `Result<(), E>` with `E` one of `std::io::Error`,
    /// `Box<dyn Error + Send + Sync>` (or `+ Send`, or neither), `String`,
    /// `&'static str` and [`JoinError`](eddy_core::JoinError); for any
    /// other `Result` it is `None` and `output_type` names the type.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use eddy_executor::{Builder, DebugEvent, DebugOptions, Flavor, ThreadPark};
    ///
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let s = seen.clone();
    /// let ex = Builder::new(Flavor::CurrentThread)
    ///     .debug(DebugOptions::new())
    ///     .on_debug_event(move |e| s.lock().unwrap().push(e.clone()))
    ///     .build(ThreadPark::default())
    ///     .unwrap();
    /// ex.block_on(async {
    ///     eddy_executor::spawn(async { Err::<(), _>(std::io::Error::other("disk full")) }).detach();
    ///     eddy_executor::yield_now().await;
    /// });
    /// let seen = seen.lock().unwrap();
    /// assert!(seen.iter().any(|e| matches!(
    ///     e,
    ///     DebugEvent::LostError { error: Some(text), .. } if text.contains("disk full")
    /// )));
    /// ```
    LostError {
        /// The task.
        task: TaskInfo,
        /// The task's output type, e.g. `core::result::Result<u32, app::Error>`.
        output_type: &'static str,
        /// The error's `Debug` text, where the output type allows it.
        error: Option<String>,
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
            DebugEvent::LostError {
                task,
                error: Some(error),
                ..
            } => write!(
                f,
                "task error was never retrieved: {task} returned Err({error}) and its handle was dropped"
            ),
            DebugEvent::LostError {
                task,
                output_type,
                error: None,
            } => write!(
                f,
                "task error was never retrieved: {task} returned an Err value ({output_type}) \
                 and its handle was dropped"
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

pub(crate) fn stderr_reporter(e: &DebugEvent) {
    eprintln!("eddy: {e}");
}

/// The [`UnhandledPanic`] policy, and the abort it may trigger.
pub(crate) struct PanicPolicy {
    unhandled_panic: UnhandledPanic,
    /// `unhandled_panic == ShutdownRuntime`, as a plain bool for the loops.
    pub(crate) abort_on_panic: bool,
    reporter: Reporter,
    /// The panic that shut the runtime down, once there is one.
    aborted: Mutex<Option<String>>,
    abort_flag: AtomicBool,
    /// Threads inside a multi-threaded `block_on`, to wake on an abort.
    main_threads: Mutex<Vec<Thread>>,
}

impl PanicPolicy {
    pub(crate) fn new(unhandled_panic: UnhandledPanic, reporter: Reporter) -> PanicPolicy {
        PanicPolicy {
            unhandled_panic,
            abort_on_panic: unhandled_panic == UnhandledPanic::ShutdownRuntime,
            reporter,
            aborted: Mutex::new(None),
            abort_flag: AtomicBool::new(false),
            main_threads: Mutex::new(Vec::new()),
        }
    }
}

/// Deadlock detection as configured, and whether the current deadlock has
/// been reported already.
pub(crate) struct DeadlockWatch {
    check: DeadlockCheck,
    reported: AtomicBool,
    reporter: Reporter,
    /// Times a multi-threaded worker went to sleep: unchanged between two
    /// looks that both saw every worker asleep means none ran a task.
    sleeps: AtomicU64,
}

impl DeadlockWatch {
    pub(crate) fn new(check: DeadlockCheck, reporter: Reporter) -> DeadlockWatch {
        DeadlockWatch {
            check,
            reported: AtomicBool::new(false),
            reporter,
            sleeps: AtomicU64::new(0),
        }
    }
}

/// What the multi-threaded `block_on` thread remembers between two looks
/// for a deadlock: since when everything has looked idle, and the workers'
/// sleep count then.
#[derive(Default)]
pub(crate) struct IdleSince(Option<(Instant, u64)>);

/// How one poll of a task ended, as debug mode and the panic policy see it.
pub(crate) enum PollEnd {
    /// The task is still pending.
    Pending,
    /// The task finished (returned, or was cancelled); with its output
    /// when that was an `Err` (looked at in debug mode only).
    Finished(Option<ErrOutput>),
    /// The task panicked, with this message.
    Panicked(String),
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
    /// Tasks that panicked or returned an `Err` while their handle was
    /// still held and has not returned the outcome yet: the report to make
    /// if the handle goes away without doing so.
    failed: HashMap<TaskId, DebugEvent>,
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
    pub(crate) fn new(o: DebugOptions, reporter: Reporter) -> DebugState {
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

    pub(crate) fn poll_started(&self, id: TaskId) -> Instant {
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

    /// Closes one poll, which ended as `end` says; returns the task's info
    /// when it panicked.
    pub(crate) fn poll_ended(&self, id: TaskId, start: Instant, end: PollEnd) -> Option<TaskInfo> {
        let finished = !matches!(end, PollEnd::Pending);
        let duration = self.clock.now().saturating_duration_since(start);
        let mut events = Vec::new();
        let mut panicked_info = None;
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
                if finished {
                    close = Some((e.info(id), e.detached, e.observed));
                }
            }
            if let Some((info, detached, observed)) = close {
                t.live.remove(&id);
                let lost = match end {
                    PollEnd::Pending | PollEnd::Finished(None) => None,
                    PollEnd::Panicked(message) => {
                        panicked_info = Some(info.clone());
                        Some(DebugEvent::LostResult {
                            task: info,
                            message,
                        })
                    }
                    PollEnd::Finished(Some(e)) => Some(DebugEvent::LostError {
                        task: info,
                        output_type: e.type_name,
                        error: e.debug,
                    }),
                };
                if let Some(lost) = lost {
                    if detached {
                        events.push(lost);
                    } else if !observed {
                        t.failed.insert(id, lost);
                    }
                }
            }
        }
        for e in &events {
            (self.reporter)(e);
        }
        panicked_info
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
        if let Some(event) = lost {
            (self.reporter)(&event);
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

    /// Starts the blocking watchdog, if the options want one.
    pub(crate) fn start_watchdog(self: &Arc<Self>) {
        if !self.watchdog_on {
            return;
        }
        let weak: Weak<DebugState> = Arc::downgrade(self);
        let period = self.slow_poll / 2;
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
            *lock(&self.watchdog) = Some(h);
        }
    }

    /// Called when the executor shuts down, before its tasks are cancelled:
    /// stops the watchdog and lists the tasks still pending.
    pub(crate) fn shut_down(&self) {
        self.stop.store(true, Ordering::Release);
        if let Some(h) = lock(&self.watchdog).take() {
            h.thread().unpark();
            let _ = h.join();
        }
        let pending = self.snapshot();
        if !pending.is_empty() {
            (self.reporter)(&DebugEvent::PendingAtShutdown {
                tasks: TaskDump::new(pending),
            });
        }
    }
}

impl PanicPolicy {
    /// A task panicked: act as the policy says. `unpark` wakes the
    /// executor's driver, so that a loop parked there sees the abort.
    pub(crate) fn on_panic(&self, unpark: &dyn Unpark, task: TaskInfo, message: String) {
        match self.unhandled_panic {
            UnhandledPanic::Ignore => {}
            UnhandledPanic::Log => (self.reporter)(&DebugEvent::TaskPanicked { task, message }),
            UnhandledPanic::ShutdownRuntime => {
                let text = format!("{task} panicked: {message}");
                (self.reporter)(&DebugEvent::TaskPanicked { task, message });
                lock(&self.aborted).get_or_insert(text);
                self.abort_flag.store(true, Ordering::SeqCst);
                unpark.unpark();
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
    fn register_main_thread(&self) {
        lock(&self.main_threads).push(thread::current());
    }

    fn unregister_main_thread(&self) {
        let me = thread::current().id();
        lock(&self.main_threads).retain(|t| t.id() != me);
    }
}

impl DeadlockWatch {
    /// Called by the current-thread loop when it is about to wait with
    /// nothing to do: `driver` is the executor's driver (waited on for the
    /// grace period), `has_work` says whether work appeared meanwhile,
    /// `tasks` lists the live tasks for the report. Returns `true` if work
    /// appeared (the caller should loop again instead of waiting).
    #[cold]
    pub(crate) fn idle_check(
        &self,
        driver: &Mutex<Box<dyn Park>>,
        has_work: &dyn Fn() -> bool,
        tasks: &dyn Fn() -> Vec<TaskInfo>,
    ) -> bool {
        let check = &self.check;
        if !(check.probe)() {
            self.reported.store(false, Ordering::Relaxed);
            return false;
        }
        let _ = lock(driver).park(Some(check.grace));
        if has_work() || !(check.probe)() {
            self.reported.store(false, Ordering::Relaxed);
            return true;
        }
        self.deadlocked(tasks);
        false
    }
}

impl DeadlockWatch {
    /// A multi-threaded worker is about to announce itself asleep (called
    /// before it joins the sleepers, so that a look that sees it asleep
    /// also sees the count it added).
    #[inline]
    pub(crate) fn note_worker_sleep(&self) {
        self.sleeps.fetch_add(1, Ordering::SeqCst);
    }

    /// The multi-threaded `block_on` thread's wait while its future is
    /// pending: parks for at most the grace period, after a look for a
    /// deadlock. `idle` says whether every worker is asleep, nothing is
    /// queued and the main future has not been woken (it must read the
    /// sleepers before this reads the sleep count); `tasks` lists the live
    /// tasks for the report. Panics with the report under
    /// [`DeadlockAction::Panic`].
    #[cold]
    pub(crate) fn park_main(
        &self,
        since: &mut IdleSince,
        idle: &dyn Fn() -> bool,
        tasks: &dyn Fn() -> Vec<TaskInfo>,
    ) {
        let grace = self.check.grace;
        let quiet = idle() && (self.check.probe)();
        let sleeps = self.sleeps.load(Ordering::SeqCst);
        if !quiet {
            since.0 = None;
            self.reported.store(false, Ordering::Relaxed);
            thread::park_timeout(grace);
            return;
        }
        let now = RealClock.now();
        let wait = match since.0 {
            Some((start, seen)) if seen == sleeps => {
                let idle_for = now.saturating_duration_since(start);
                if idle_for < grace {
                    grace - idle_for
                } else {
                    // Re-read last: the main future may have been woken
                    // while the report was being decided.
                    if idle() {
                        self.deadlocked(tasks);
                    }
                    grace
                }
            }
            _ => {
                // Something ran since the last look: a deadlock found from
                // here on is a new one, to be reported again.
                since.0 = Some((now, sleeps));
                self.reported.store(false, Ordering::Relaxed);
                grace
            }
        };
        thread::park_timeout(wait);
    }

    /// Acts on a deadlock found: panics, or reports it once.
    fn deadlocked(&self, tasks: &dyn Fn() -> Vec<TaskInfo>) {
        let event = DebugEvent::Deadlock {
            tasks: TaskDump::new(tasks()),
        };
        match self.check.action {
            DeadlockAction::Panic => panic!("eddy: {event}"),
            DeadlockAction::Report => {
                if !self.reported.swap(true, Ordering::Relaxed) {
                    (self.reporter)(&event);
                }
            }
        }
    }
}

/// Keeps a multi-threaded `block_on` thread registered for abort wake-ups
/// while it waits (only under [`UnhandledPanic::ShutdownRuntime`]).
pub(crate) struct AbortWatch<'a>(Option<&'a PanicPolicy>);

impl AbortWatch<'_> {
    pub(crate) fn enter(policy: &PanicPolicy) -> AbortWatch<'_> {
        if policy.abort_on_panic {
            policy.register_main_thread();
            AbortWatch(Some(policy))
        } else {
            AbortWatch(None)
        }
    }
}

impl Drop for AbortWatch<'_> {
    fn drop(&mut self) {
        if let Some(policy) = self.0 {
            policy.unregister_main_thread();
        }
    }
}
