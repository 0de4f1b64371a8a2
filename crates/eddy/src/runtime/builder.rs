//! [`Builder`]: what a runtime is made of, and [`Builder::build`], which
//! wires the executor, the timer driver around the reactor and the
//! blocking pool together.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use eddy_blocking::ThreadPool;
use eddy_core::Clock;
use eddy_executor::{
    DEFAULT_DEADLOCK_GRACE, DeadlockAction, DeadlockCheck, DebugEvent, DebugOptions, Flavor,
    TaskHooks, UnhandledPanic,
};
use eddy_reactor::Reactor;
use eddy_timer::{ManualClock, SystemClock, TimerDriver};

use super::Runtime;
use crate::debug::{DumpOnSignal, Reporter};
use crate::signal::SignalKind;

/// How long dropping a runtime waits for running blocking jobs by default.
pub const DEFAULT_BLOCKING_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Configures a [`Runtime`].
///
/// # Example
///
/// ```
/// let rt = eddy::Builder::multi_thread().worker_threads(2).thread_name("app").build().unwrap();
/// let answer = rt.block_on(async { eddy::spawn(async { 40 + 2 }).await.unwrap() });
/// assert_eq!(answer, 42);
/// ```
pub struct Builder {
    flavor: Flavor,
    workers: Option<usize>,
    thread_name: Arc<str>,
    event_interval: u32,
    clock: ClockChoice,
    max_blocking_threads: Option<usize>,
    blocking_idle_timeout: Option<Duration>,
    shutdown_grace: Duration,
    blocking_shutdown_grace: Duration,
    debug: Option<bool>,
    slow_poll: Duration,
    reporter: Option<Reporter>,
    unhandled_panic: UnhandledPanic,
    seed: Option<u64>,
    deadlock: Option<DeadlockAction>,
    deadlock_grace: Duration,
    dump_signal: Option<SignalKind>,
    task_hooks: Option<Arc<dyn TaskHooks>>,
    #[cfg(feature = "tracing")]
    trace_tasks: bool,
}

#[derive(Clone)]
enum ClockChoice {
    System,
    Custom(Arc<dyn Clock>),
    Manual {
        clock: ManualClock,
        auto_advance: bool,
    },
}

impl Builder {
    /// asyncio's model: one thread runs every task (the thread that calls
    /// [`Runtime::block_on`]). `!Send` tasks can be spawned with
    /// [`spawn_local`](crate::spawn_local).
    ///
    /// ```
    /// let rt = eddy::Builder::current_thread().build().unwrap();
    /// rt.block_on(async { eddy::sleep(std::time::Duration::from_millis(1)).await });
    /// ```
    pub fn current_thread() -> Builder {
        Builder::new(Flavor::CurrentThread)
    }

    /// A pool of worker threads (one per CPU by default) with work stealing:
    /// tasks run in parallel. `!Send` tasks run in a
    /// [`LocalSet`](crate::LocalSet) there.
    ///
    /// ```
    /// let rt = eddy::Builder::multi_thread().build().unwrap();
    /// assert_eq!(rt.block_on(async { eddy::spawn(async { 1 }).await.unwrap() }), 1);
    /// ```
    pub fn multi_thread() -> Builder {
        Builder::new(Flavor::MultiThread)
    }

    fn new(flavor: Flavor) -> Builder {
        Builder {
            flavor,
            workers: None,
            thread_name: Arc::from("eddy-worker"),
            event_interval: eddy_executor::DEFAULT_EVENT_INTERVAL,
            clock: ClockChoice::System,
            max_blocking_threads: None,
            blocking_idle_timeout: None,
            shutdown_grace: Duration::ZERO,
            blocking_shutdown_grace: DEFAULT_BLOCKING_SHUTDOWN_GRACE,
            debug: None,
            slow_poll: eddy_executor::DEFAULT_SLOW_POLL,
            reporter: None,
            unhandled_panic: UnhandledPanic::Ignore,
            seed: None,
            deadlock: None,
            deadlock_grace: DEFAULT_DEADLOCK_GRACE,
            dump_signal: None,
            task_hooks: None,
            #[cfg(feature = "tracing")]
            trace_tasks: false,
        }
    }

    /// Turns debug mode on or off (see [`crate::debug`]). When not called,
    /// the environment decides: `EDDY_DEBUG=1` turns it on.
    ///
    /// Debug mode tracks every task, reports slow polls, a worker stuck in a
    /// poll, panics and `Err` outputs nobody retrieved, tasks pending at
    /// shutdown and deadlocks. Off, it costs nothing.
    ///
    /// ```
    /// let rt = eddy::Builder::current_thread().debug(true).build().unwrap();
    /// assert!(rt.handle().is_debug());
    /// ```
    pub fn debug(mut self, on: bool) -> Builder {
        self.debug = Some(on);
        self
    }

    /// In debug mode, a poll at least this long is reported as slow, and a
    /// worker stuck in one poll this long is reported as blocked (default
    /// 100 ms, asyncio's `slow_callback_duration`).
    ///
    /// ```
    /// let rt = eddy::Builder::current_thread()
    ///     .debug(true)
    ///     .slow_poll_threshold(std::time::Duration::from_millis(10))
    ///     .build()
    ///     .unwrap();
    /// # drop(rt);
    /// ```
    pub fn slow_poll_threshold(mut self, threshold: Duration) -> Builder {
        self.slow_poll = threshold;
        self
    }

    /// Sends debug reports (and unhandled-panic and deadlock reports) to
    /// `report` instead of `log` or stderr.
    ///
    /// ```
    /// let rt = eddy::Builder::current_thread()
    ///     .on_debug_event(|e| eprintln!("[app] {e}"))
    ///     .build()
    ///     .unwrap();
    /// # drop(rt);
    /// ```
    pub fn on_debug_event(
        mut self,
        report: impl Fn(&DebugEvent) + Send + Sync + 'static,
    ) -> Builder {
        self.reporter = Some(Arc::new(report));
        self
    }

    /// What to do when a task panics: carry on ([`UnhandledPanic::Ignore`],
    /// the default), report it ([`UnhandledPanic::Log`]), or shut the
    /// runtime down ([`UnhandledPanic::ShutdownRuntime`]: `block_on`
    /// panics with the task's message).
    ///
    /// ```
    /// use eddy::debug::UnhandledPanic;
    ///
    /// let rt = eddy::Builder::current_thread()
    ///     .unhandled_panic(UnhandledPanic::ShutdownRuntime)
    ///     .on_debug_event(|_| {})
    ///     .build()
    ///     .unwrap();
    /// let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
    ///     rt.block_on(async {
    ///         eddy::spawn(async { panic!("bug") }).detach();
    ///         eddy::sleep(std::time::Duration::from_secs(5)).await;
    ///     })
    /// }));
    /// assert!(r.is_err());
    /// ```
    pub fn unhandled_panic(mut self, policy: UnhandledPanic) -> Builder {
        self.unhandled_panic = policy;
        self
    }

    /// Runs ready tasks in an order drawn from `seed` (current-thread
    /// flavour only): the same seed replays the same schedule. See
    /// [`mod@crate::test`] for the test runtime that prints seeds on failure.
    ///
    /// The multi-threaded flavour cannot replay a schedule (the operating
    /// system decides which worker runs when), so
    /// [`build`](Builder::build) refuses a seed there instead of ignoring
    /// it.
    ///
    /// ```
    /// let rt = eddy::Builder::current_thread().seed(42).build().unwrap();
    /// assert_eq!(rt.block_on(async { eddy::spawn(async { 1 }).await.unwrap() }), 1);
    /// ```
    pub fn seed(mut self, seed: u64) -> Builder {
        self.seed = Some(seed);
        self
    }

    /// Deadlock detection, on either flavour: when every task is waiting
    /// (on the multi-threaded flavour: every worker asleep, no task queued)
    /// and no timer, I/O source or blocking job can wake any of them, nor
    /// the `block_on` future, for `grace` (real time), report it (debug
    /// mode does this by default) or panic out of `block_on` (the test
    /// runtime does). A thread the runtime cannot see that wakes a task
    /// after `grace` would be a false alarm. The multi-threaded flavour
    /// notices within about twice `grace`: its `block_on` thread looks once
    /// per `grace` while its future waits.
    ///
    /// ```
    /// use eddy::debug::DeadlockAction;
    /// use std::time::Duration;
    ///
    /// let rt = eddy::Builder::current_thread()
    ///     .deadlock_detection(DeadlockAction::Panic, Duration::from_millis(10))
    ///     .build()
    ///     .unwrap();
    /// let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
    ///     rt.block_on(async {
    ///         let (_tx, rx) = eddy::sync::oneshot::channel::<()>();
    ///         let _ = rx.await; // the sender is never used: nothing can wake us
    ///     })
    /// }));
    /// assert!(r.is_err());
    /// ```
    pub fn deadlock_detection(mut self, action: DeadlockAction, grace: Duration) -> Builder {
        self.deadlock = Some(action);
        self.deadlock_grace = grace;
        self
    }

    /// In debug mode, prints the task table (as a [`DebugEvent::Dump`])
    /// each time the process receives `signal`, e.g. `kill -USR1 <pid>`.
    /// The signal's default action is replaced for the rest of the process
    /// (see [`crate::signal`]).
    ///
    /// ```
    /// use eddy::signal::SignalKind;
    /// let rt = eddy::Builder::current_thread()
    ///     .debug(true)
    ///     .dump_on_signal(SignalKind::USER2)
    ///     .build()
    ///     .unwrap();
    /// # drop(rt);
    /// ```
    pub fn dump_on_signal(mut self, signal: SignalKind) -> Builder {
        self.dump_signal = Some(signal);
        self
    }

    /// Calls `hooks` around every task's spawn, polls and end (tokio's
    /// `on_task_spawn`, `on_before_task_poll`, `on_after_task_poll` and
    /// `on_task_terminate`, as one [`TaskHooks`] object). Installing again
    /// replaces them. Without hooks the executor pays one branch per poll.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use eddy::{TaskHooks, TaskId};
    ///
    /// #[derive(Default)]
    /// struct Ended(AtomicUsize);
    /// impl TaskHooks for Ended {
    ///     fn on_terminate(&self, _: TaskId) { self.0.fetch_add(1, Ordering::Relaxed); }
    /// }
    ///
    /// let ended = Arc::new(Ended::default());
    /// let rt = eddy::Builder::multi_thread()
    ///     .worker_threads(2)
    ///     .task_hooks(ended.clone())
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(async {
    ///     let tasks: Vec<_> = (0..10).map(|i| eddy::spawn(async move { i })).collect();
    ///     for t in tasks {
    ///         t.await.unwrap();
    ///     }
    /// });
    /// assert_eq!(ended.0.load(Ordering::Relaxed), 10);
    /// ```
    pub fn task_hooks(mut self, hooks: Arc<dyn TaskHooks>) -> Builder {
        self.task_hooks = Some(hooks);
        self
    }

    /// One `tracing` span per task (feature `tracing`): level `INFO`, target
    /// `eddy::task`, name `task`, fields `task.id`, `task.name` and
    /// `spawn.location`. It is created when the task is spawned and entered
    /// for each of its polls, so the events a task emits carry its id and
    /// name, and subscribers see the task's life as the span's.
    ///
    /// Off by default. On, each poll costs a lock of a shared map and a
    /// span enter and exit (tasks spawned while no subscriber wants the
    /// span get none, and pay the lock only). Composes with
    /// [`task_hooks`](Builder::task_hooks).
    ///
    /// ```
    /// let rt = eddy::Builder::current_thread().trace_tasks(true).build().unwrap();
    /// rt.block_on(async {
    ///     eddy::TaskBuilder::new()
    ///         .name("worker")
    ///         .spawn(async { tracing::info!("inside the task's span") })
    ///         .await
    ///         .unwrap();
    /// });
    /// ```
    #[cfg(feature = "tracing")]
    pub fn trace_tasks(mut self, on: bool) -> Builder {
        self.trace_tasks = on;
        self
    }

    /// Number of worker threads of the multi-threaded flavour (at least 1).
    ///
    /// ```
    /// let rt = eddy::Builder::multi_thread().worker_threads(3).build().unwrap();
    /// assert_eq!(rt.handle().worker_count(), 3);
    /// ```
    pub fn worker_threads(mut self, n: usize) -> Builder {
        self.workers = Some(n.max(1));
        self
    }

    /// Prefix of worker thread names (`{prefix}-{index}`).
    ///
    /// ```
    /// let rt = eddy::Builder::multi_thread().worker_threads(1).thread_name("net").build().unwrap();
    /// let name = rt.block_on(async {
    ///     eddy::spawn(async { std::thread::current().name().map(String::from) }).await.unwrap()
    /// });
    /// assert_eq!(name.as_deref(), Some("net-0"));
    /// ```
    pub fn thread_name(mut self, prefix: impl Into<Arc<str>>) -> Builder {
        self.thread_name = prefix.into();
        self
    }

    /// How many task polls run between two non-blocking checks of I/O and
    /// timers (default [`eddy_executor::DEFAULT_EVENT_INTERVAL`], 61).
    ///
    /// ```
    /// let rt = eddy::Builder::current_thread().event_interval(31).build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn event_interval(mut self, ticks: u32) -> Builder {
        self.event_interval = ticks.max(1);
        self
    }

    /// Reads time from `clock` instead of the system's monotonic clock.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let rt = eddy::Builder::current_thread().clock(Arc::new(eddy::time::SystemClock)).build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Builder {
        self.clock = ClockChoice::Custom(clock);
        self
    }

    /// Runs timers on a manual clock that only moves when the test moves it
    /// (`clock.advance(..)`), or, with `auto_advance`, jumps straight to the
    /// next timer whenever every task is idle: an hour of sleeps runs in
    /// milliseconds and timeouts can be tested exactly.
    ///
    /// Without auto-advance, moving the clock from any thread wakes the
    /// runtime to fire what came due, on either flavour.
    ///
    /// Auto-advance is only meaningful on the current-thread flavour, where
    /// "the runtime is idle" is well defined: [`build`](Builder::build)
    /// refuses it on the multi-threaded flavour rather than ignore it.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let clock = eddy::time::ManualClock::new();
    /// let rt = eddy::Builder::current_thread().manual_clock(clock.clone(), true).build().unwrap();
    /// let start = clock.now();
    /// rt.block_on(async { eddy::sleep(Duration::from_secs(3600)).await });
    /// assert!(clock.now() - start >= Duration::from_secs(3600));
    /// ```
    pub fn manual_clock(mut self, clock: ManualClock, auto_advance: bool) -> Builder {
        self.clock = ClockChoice::Manual {
            clock,
            auto_advance,
        };
        self
    }

    /// The most threads the runtime's blocking pool ([`unblock`](crate::unblock))
    /// may start (default 512). Threads start on demand and exit when idle.
    ///
    /// ```
    /// let rt = eddy::Builder::current_thread().max_blocking_threads(4).build().unwrap();
    /// let n = rt.block_on(async { eddy::unblock(|| 2 + 2).await.unwrap() });
    /// assert_eq!(n, 4);
    /// ```
    pub fn max_blocking_threads(mut self, n: usize) -> Builder {
        self.max_blocking_threads = Some(n.max(1));
        self
    }

    /// How long an idle blocking-pool thread waits for work before exiting
    /// (default 10 s).
    ///
    /// ```
    /// let rt = eddy::Builder::current_thread()
    ///     .blocking_idle_timeout(std::time::Duration::from_secs(1))
    ///     .build()
    ///     .unwrap();
    /// # drop(rt);
    /// ```
    pub fn blocking_idle_timeout(mut self, d: Duration) -> Builder {
        self.blocking_idle_timeout = Some(d);
        self
    }

    /// How long tasks still alive at shutdown get to finish on their own
    /// (default zero).
    ///
    /// Shutting down (dropping the runtime, or the end of [`crate::run`])
    /// first asks every task to finish early, the graceful form of
    /// cancellation: inside a task, [`crate::is_cancel_requested`] turns true
    /// and [`crate::cancelled`] resolves, so it can run cleanup that awaits
    /// (asyncio's `except CancelledError: await cleanup()`). After `grace`,
    /// or as soon as every task has finished, the tasks left are cancelled
    /// hard: their futures are dropped, so only their `Drop` impls run.
    ///
    /// With the default of zero, tasks are cancelled hard at once: a task
    /// that never looks at the request would otherwise hold shutdown up for
    /// the whole grace period. The grace is measured on the runtime's clock:
    /// with a manual clock that does not auto-advance, nothing ends it but
    /// the tasks finishing.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use std::sync::Arc;
    /// use std::time::Duration;
    ///
    /// let flushed = Arc::new(AtomicBool::new(false));
    /// let f = flushed.clone();
    /// let rt = eddy::Builder::current_thread().shutdown_grace(Duration::from_secs(1)).build().unwrap();
    /// rt.block_on(async move {
    ///     eddy::spawn(async move {
    ///         eddy::cancelled().await; // shutdown asks us to stop
    ///         eddy::sleep(Duration::from_millis(10)).await; // async cleanup
    ///         f.store(true, Ordering::SeqCst);
    ///     })
    ///     .detach();
    ///     eddy::yield_now().await;
    /// });
    /// drop(rt);
    /// assert!(flushed.load(Ordering::SeqCst));
    /// ```
    pub fn shutdown_grace(mut self, d: Duration) -> Builder {
        self.shutdown_grace = d;
        self
    }

    /// How long dropping the runtime waits for blocking jobs that are still
    /// running (default 10 s). Jobs still running after that are left behind
    /// and reported on stderr; use [`Runtime::shutdown_timeout`] to get the
    /// report as a value.
    ///
    /// ```
    /// let rt = eddy::Builder::current_thread()
    ///     .blocking_shutdown_grace(std::time::Duration::from_millis(100))
    ///     .build()
    ///     .unwrap();
    /// # drop(rt);
    /// ```
    pub fn blocking_shutdown_grace(mut self, d: Duration) -> Builder {
        self.blocking_shutdown_grace = d;
        self
    }

    /// Builds the runtime: a reactor, a timer driver around it, and the
    /// executor (starting its worker threads for the multi-threaded flavour).
    ///
    /// # Errors
    ///
    /// If the reactor's poller cannot be created (for example when the
    /// process is out of file descriptors) or a worker thread cannot start;
    /// `InvalidInput` for an option the multi-threaded flavour cannot honour
    /// (a [`seed`](Builder::seed), an auto-advancing
    /// [`manual_clock`](Builder::manual_clock)), rather than ignore it.
    ///
    /// ```
    /// let rt = eddy::Builder::current_thread().build()?;
    /// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
    ///
    /// let e = eddy::Builder::multi_thread().seed(7).build().unwrap_err();
    /// assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    /// assert!(e.to_string().contains("current-thread"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn build(self) -> io::Result<Runtime> {
        if self.flavor == Flavor::MultiThread {
            let refused = if self.seed.is_some() {
                Some("a seeded, replayable schedule needs the current-thread flavour")
            } else if matches!(
                self.clock,
                ClockChoice::Manual {
                    auto_advance: true,
                    ..
                }
            ) {
                Some("an auto-advancing manual clock needs the current-thread flavour")
            } else {
                None
            };
            if let Some(why) = refused {
                return Err(io::Error::new(io::ErrorKind::InvalidInput, why));
            }
        }
        let reactor = Reactor::new()?;
        let reactor_handle = reactor.handle();
        let mut exec = eddy_executor::Builder::new(self.flavor)
            .thread_name(self.thread_name.clone())
            .event_interval(self.event_interval);
        if let Some(n) = self.workers {
            exec = exec.worker_threads(n);
        }
        // One timer shard per worker, so that workers registering timers at
        // once do not share a lock (one on the current-thread flavour).
        let shards = exec.worker_count();
        let (driver, timer_handle) = match &self.clock {
            ClockChoice::System => TimerDriver::new_sharded(reactor, Arc::new(SystemClock), shards),
            ClockChoice::Custom(c) => TimerDriver::new_sharded(reactor, c.clone(), shards),
            ClockChoice::Manual {
                clock,
                auto_advance,
            } => {
                let (mut d, h) = TimerDriver::new_manual(reactor, clock.clone());
                d.set_auto_advance(*auto_advance);
                (d, h)
            }
        };
        let mut pool = ThreadPool::builder().name(format!("{}-blocking", self.thread_name));
        if let Some(n) = self.max_blocking_threads {
            pool = pool.max_threads(n);
        }
        if let Some(d) = self.blocking_idle_timeout {
            pool = pool.idle_timeout(d);
        }
        let pool = pool.build();
        // CapacityLimiter asks "which task is this?" through a hook; the
        // executor knows. Installing it twice is harmless.
        eddy_sync::set_current_task_hook(eddy_executor::current_task_id);
        // eddy-net spawns (start_server, orphan reaping) and resolves names
        // through hooks; likewise harmless twice.
        crate::net::install_hooks();
        let (r, t, p) = (reactor_handle.clone(), timer_handle.clone(), pool.clone());
        exec = exec.wrap_thread(move |body| {
            let _r = r.enter();
            let _t = t.enter();
            let _p = p.enter();
            body()
        });
        let debug = self.debug.unwrap_or_else(crate::debug::env_debug);
        let reporter = self
            .reporter
            .clone()
            .unwrap_or_else(crate::debug::default_reporter);
        let r = reporter.clone();
        exec = exec
            .unhandled_panic(self.unhandled_panic)
            .on_debug_event(move |e| r(e));
        if debug {
            exec = exec.debug(DebugOptions::new().slow_poll(self.slow_poll));
        }
        if let Some(seed) = self.seed {
            exec = exec.seed(seed);
        }
        let hooks = self.task_hooks.clone();
        #[cfg(feature = "tracing")]
        let hooks = match (hooks, self.trace_tasks) {
            (h, false) => h,
            (None, true) => {
                Some(Arc::new(crate::debug::TaskSpans::default()) as Arc<dyn TaskHooks>)
            }
            (Some(h), true) => Some(Arc::new(crate::debug::BothHooks(
                Arc::new(crate::debug::TaskSpans::default()),
                h,
            )) as Arc<dyn TaskHooks>),
        };
        if let Some(h) = hooks {
            exec = exec.task_hooks(h);
        }
        let deadlock = self.deadlock.or(debug.then_some(DeadlockAction::Report));
        if let Some(action) = deadlock {
            let (t, r, p) = (timer_handle.clone(), reactor_handle.clone(), pool.clone());
            // Nothing outside the executor can wake a task: no timer, no I/O
            // source, no blocking job running or queued.
            let probe = move || {
                t.timer_count() == 0
                    && r.source_count() == 0
                    && p.queued() == 0
                    && p.thread_count() == p.idle_count()
            };
            exec =
                exec.deadlock_check(DeadlockCheck::new(probe, action).grace(self.deadlock_grace));
        }
        let executor = exec.build(driver)?;
        let dump_signal = match self.dump_signal {
            Some(sig) if debug => Some(DumpOnSignal::start(sig, executor.handle(), reporter)?),
            _ => None,
        };
        Ok(Runtime {
            executor: Some(executor),
            timer: timer_handle,
            reactor: reactor_handle,
            pool,
            shutdown_grace: self.shutdown_grace,
            blocking_shutdown_grace: self.blocking_shutdown_grace,
            _dump_signal: dump_signal,
        })
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("flavor", &self.flavor)
            .field("workers", &self.workers)
            .field("thread_name", &self.thread_name)
            .finish_non_exhaustive()
    }
}
