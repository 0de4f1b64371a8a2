//! The one door from the executor core to its optional machinery: debug
//! mode, the unhandled-panic policy, deadlock detection and seeded
//! scheduling (all in `debug.rs` and `seeded.rs`), and the user's
//! [`TaskHooks`].
//!
//! Every hook point of the core is a method here, so this file is the list
//! of them. Each is a test of an `Option` or a `bool` fixed at build time,
//! inlined into the core; only when the feature is on does it call into
//! `debug.rs`. An executor without debug mode pays one branch per hook.
//!
//! The seam runs one way by layering, not through a trait object: `Hooks`
//! holds debug.rs's concrete types, so a hook is a static call, and debug.rs
//! sees none of the core's types (what it needs is passed in), so the two
//! cannot import each other.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use eddy_core::{Park, TaskId, TaskMeta, Unpark};

/// Kept by the multi-threaded `block_on` between two waits.
pub(crate) use crate::debug::IdleSince;
/// How a poll ended, for [`Hooks::after_poll`].
pub(crate) use crate::debug::PollEnd;
use crate::debug::{
    AbortWatch, DeadlockCheck, DeadlockWatch, DebugOptions, DebugState, PanicPolicy, Reporter,
    UnhandledPanic, stderr_reporter,
};
use crate::info::TaskInfo;
use crate::seeded::SeededRng;
use crate::task_hooks::TaskHooks;

/// What [`Builder`](crate::Builder) collects for [`Hooks`].
#[derive(Default)]
pub(crate) struct BuildExtras {
    pub(crate) debug: Option<DebugOptions>,
    pub(crate) reporter: Option<Reporter>,
    pub(crate) seed: Option<u64>,
    pub(crate) deadlock: Option<DeadlockCheck>,
    pub(crate) unhandled_panic: UnhandledPanic,
    pub(crate) task_hooks: Option<Arc<dyn TaskHooks>>,
}

/// The executor's optional machinery, one field of `Shared`.
pub(crate) struct Hooks {
    debug: Option<Arc<DebugState>>,
    seeded: Option<SeededRng>,
    deadlock: Option<DeadlockWatch>,
    panics: PanicPolicy,
    /// The user's [`TaskHooks`], if any.
    task: Option<Arc<dyn TaskHooks>>,
    /// Debug mode or task hooks: whether a poll calls
    /// [`Hooks::before_poll`] and `after_poll` at all.
    per_poll: bool,
}

impl Hooks {
    pub(crate) fn new(extras: BuildExtras) -> Hooks {
        let reporter = extras
            .reporter
            .unwrap_or_else(|| Arc::new(stderr_reporter) as Reporter);
        let debug = extras
            .debug
            .map(|o| Arc::new(DebugState::new(o, reporter.clone())));
        let per_poll = debug.is_some() || extras.task_hooks.is_some();
        Hooks {
            per_poll,
            debug,
            seeded: extras.seed.map(SeededRng::new),
            deadlock: extras
                .deadlock
                .map(|c| DeadlockWatch::new(c, reporter.clone())),
            panics: PanicPolicy::new(extras.unhandled_panic, reporter),
            task: extras.task_hooks,
        }
    }

    /// The executor is built: starts debug mode's watchdog, if it wants one.
    pub(crate) fn start(&self) {
        if let Some(d) = &self.debug {
            d.start_watchdog();
        }
    }

    /// The executor shuts down, before its tasks are cancelled: stops the
    /// watchdog and reports the tasks still pending.
    pub(crate) fn on_shutdown(&self) {
        if let Some(d) = &self.debug {
            d.shut_down();
        }
    }

    #[inline]
    pub(crate) fn on_spawn(&self, id: TaskId, meta: &TaskMeta) {
        if let Some(d) = &self.debug {
            d.on_spawn(id, meta);
        }
        if let Some(h) = &self.task {
            contained(|| h.on_spawn(id, meta));
        }
    }

    #[inline]
    pub(crate) fn on_schedule(&self, id: TaskId) {
        if let Some(d) = &self.debug {
            d.on_schedule(id);
        }
    }

    /// Whether polls call [`Hooks::before_poll`] and the after-poll hooks
    /// (debug mode or task hooks); fixed at build time.
    #[inline]
    pub(crate) fn per_poll(&self) -> bool {
        self.per_poll
    }

    /// Before a poll, when [`Hooks::per_poll`]. Returns the start time in
    /// debug mode.
    #[cold]
    pub(crate) fn before_poll(&self, id: TaskId) -> Option<Instant> {
        if let Some(h) = &self.task {
            contained(|| h.before_poll(id));
        }
        self.debug.as_ref().map(|d| d.poll_started(id))
    }

    /// After a poll, when [`Hooks::per_poll`] (or it panicked): the user's
    /// [`TaskHooks`]; `ended` if the poll ended the task.
    pub(crate) fn after_any_poll(&self, id: TaskId, ended: bool) {
        if let Some(h) = &self.task {
            contained(|| h.after_poll(id));
            if ended {
                contained(|| h.on_terminate(id));
            }
        }
    }

    /// After a poll that was timed (`start`, debug mode) or that ended in a
    /// panic, which ended as `end` says. `unpark` wakes the executor's
    /// driver for the panic policy's abort.
    #[cold]
    pub(crate) fn after_poll(
        &self,
        unpark: &dyn Unpark,
        id: TaskId,
        start: Option<Instant>,
        end: PollEnd,
    ) {
        let message = match &end {
            PollEnd::Panicked(m) => Some(m.clone()),
            _ => None,
        };
        let info = match (&self.debug, start) {
            (Some(d), Some(s)) => d.poll_ended(id, s, end),
            _ => None,
        };
        if let Some(message) = message {
            let task = info.unwrap_or_else(|| TaskInfo::untracked(id));
            self.panics.on_panic(unpark, task, message);
        }
    }

    /// A task's handle returned its outcome.
    #[inline]
    pub(crate) fn on_handle_observed(&self, id: TaskId) {
        if let Some(d) = &self.debug {
            d.on_handle_observed(id);
        }
    }

    /// A task's handle went away: it may lose a panic nobody looked at.
    #[inline]
    pub(crate) fn on_handle_dropped(&self, id: TaskId) {
        if let Some(d) = &self.debug {
            d.on_handle_dropped(id);
        }
    }

    /// Panics out of `block_on` if a task panic shut the runtime down.
    #[inline]
    pub(crate) fn check_abort(&self) {
        if self.panics.abort_on_panic {
            self.panics.check_abort();
        }
    }

    /// Keeps a multi-threaded `block_on` thread woken by an abort while the
    /// guard lives.
    pub(crate) fn abort_watch(&self) -> AbortWatch<'_> {
        AbortWatch::enter(&self.panics)
    }

    /// The next task of the current-thread loop: the front of the queue, or
    /// a seeded pick.
    #[inline]
    pub(crate) fn pop_ready<T>(&self, queue: &mut VecDeque<T>) -> Option<T> {
        match &self.seeded {
            None => queue.pop_front(),
            Some(rng) => rng.pop(queue),
        }
    }

    /// Whether the current-thread loop should call [`Hooks::idle_check`]
    /// before it waits.
    #[inline]
    pub(crate) fn checks_deadlock(&self) -> bool {
        self.deadlock.is_some()
    }

    /// Deadlock detection, before the current-thread loop waits with
    /// nothing to do; see `DeadlockWatch::idle_check`. `true` if work
    /// appeared.
    #[cold]
    pub(crate) fn idle_check(
        &self,
        driver: &Mutex<Box<dyn Park>>,
        has_work: &dyn Fn() -> bool,
        tasks: &dyn Fn() -> Vec<TaskInfo>,
    ) -> bool {
        match &self.deadlock {
            Some(w) => w.idle_check(driver, has_work, tasks),
            None => false,
        }
    }

    /// A multi-threaded worker is about to announce itself asleep.
    #[inline]
    pub(crate) fn on_worker_sleep(&self) {
        if let Some(w) = &self.deadlock {
            w.note_worker_sleep();
        }
    }

    /// The multi-threaded `block_on` thread waits for its future: parks for
    /// good without deadlock detection, for at most the grace period after
    /// a look for a deadlock with it; see `DeadlockWatch::park_main`.
    #[inline]
    pub(crate) fn park_main(
        &self,
        since: &mut IdleSince,
        idle: &dyn Fn() -> bool,
        tasks: &dyn Fn() -> Vec<TaskInfo>,
    ) {
        match &self.deadlock {
            Some(w) => w.park_main(since, idle, tasks),
            None => std::thread::park(),
        }
    }

    pub(crate) fn is_debug(&self) -> bool {
        self.debug.is_some()
    }

    /// Task polls so far, counted in debug mode only.
    pub(crate) fn polls(&self) -> Option<u64> {
        self.debug.as_ref().map(|d| d.polls.load(Ordering::Relaxed))
    }

    /// Debug mode's record of every live task.
    pub(crate) fn snapshot(&self) -> Option<Vec<TaskInfo>> {
        self.debug.as_ref().map(|d| d.snapshot())
    }

    /// Debug mode's record of the task `id`.
    pub(crate) fn task_info(&self, id: TaskId) -> Option<TaskInfo> {
        self.debug.as_ref().and_then(|d| d.info(id))
    }
}

/// Runs a user hook; a panic in it is the hook's problem, not the task's or
/// the executor's (the panic hook has printed it already).
fn contained(f: impl FnOnce()) {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
}
