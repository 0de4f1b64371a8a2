//! Deterministic testing: a runtime on virtual time with a seeded,
//! replayable schedule.
//!
//! [`run`] is [`eddy::run`](crate::run) for tests:
//!
//! * **Virtual time.** Timers run on a [`ManualClock`] that jumps straight
//!   to the next timer whenever every task is idle (trio's autojump clock,
//!   tokio's paused time). An hour of sleeps takes milliseconds, and a
//!   timeout fires at exactly its deadline, so time-based tests are exact
//!   and fast.
//! * **A seeded schedule.** The order in which ready tasks run is drawn
//!   from a seed. [`run`] takes the seed from `EDDY_SEED` or picks a fresh
//!   one, and if the test panics it prints
//!   `eddy::test: failed with seed N; replay with EDDY_SEED=N`. Run the test
//!   again with that variable and the same interleaving happens again.
//!   [`check_seeds`] runs a body under many seeds, to find rare
//!   interleavings in the first place.
//! * **Deadlocks fail the test** instead of hanging it: when every task is
//!   waiting and no timer, I/O source or blocking job is left to wake one,
//!   the runtime panics with the task table.
//! * **Debug mode** is on: the task table names tasks and their spawn
//!   locations, and panics nobody retrieved are reported.
//!
//! Work done on other threads (the blocking pool, I/O) finishes in real
//! time; the seed fixes the order of what is ready, not when outside work
//! completes, so exact replay needs a test that keeps its work on the
//! runtime (timers, channels, tasks).
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//!
//! eddy::test::run(async {
//!     let start = eddy::time::TimerHandle::current().now();
//!     // Exactly one hour passes, in virtual time.
//!     eddy::sleep(Duration::from_secs(3600)).await;
//!     let waited = eddy::time::TimerHandle::current().now() - start;
//!     assert_eq!(waited, Duration::from_secs(3600));
//!
//!     // Timeouts are exact too.
//!     let slow = eddy::sleep(Duration::from_millis(1001));
//!     assert!(eddy::timeout(Duration::from_secs(1), slow).await.is_err());
//! });
//! ```

use std::collections::hash_map::RandomState;
use std::future::Future;
use std::hash::BuildHasher;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::time::Duration;

use eddy_executor::DeadlockAction;

use crate::Runtime;
use crate::time::ManualClock;

/// Runs `fut` on a fresh test runtime (see the [module docs](self)) with the
/// seed from `EDDY_SEED`, or a fresh one.
///
/// # Panics
///
/// If `fut` panics (after printing the seed to replay it), if the runtime
/// finds a deadlock, or if the runtime cannot be created.
///
/// ```
/// let out = eddy::test::run(async {
///     let a = eddy::spawn(async { 1 });
///     let b = eddy::spawn(async { 2 });
///     a.await.unwrap() + b.await.unwrap()
/// });
/// assert_eq!(out, 3);
/// ```
#[track_caller]
pub fn run<F: Future>(fut: F) -> F::Output {
    Builder::new().run(fut)
}

/// The seed `EDDY_SEED` asks for, if it is set and a number.
///
/// ```
/// // In a test run without the variable:
/// if std::env::var_os("EDDY_SEED").is_none() {
///     assert_eq!(eddy::test::seed_from_env(), None);
/// }
/// ```
pub fn seed_from_env() -> Option<u64> {
    std::env::var("EDDY_SEED").ok()?.trim().parse().ok()
}

/// A fresh seed, different on every call (from the standard library's
/// per-process random hash keys; no clock is read).
///
/// ```
/// assert_ne!(eddy::test::random_seed(), eddy::test::random_seed());
/// ```
pub fn random_seed() -> u64 {
    RandomState::new().hash_one(0u8)
}

/// Runs `body` once per seed, under `n` seeds (`0..n`), or only under
/// `EDDY_SEED` when it is set. The body builds its runtime with the seed
/// it is given (`test::Builder::new().seed(seed)`).
///
/// # Panics
///
/// When the body panics under some seed: the panic names the seed and how
/// to replay it, `failed with seed N; replay with EDDY_SEED=N`, followed
/// by the body's own message.
///
/// ```
/// use std::sync::{Arc, Mutex};
///
/// eddy::test::check_seeds(20, |seed| {
///     eddy::test::Builder::new().seed(seed).run(async {
///         let log = Arc::new(Mutex::new(Vec::new()));
///         let tasks: Vec<_> = (0..3)
///             .map(|i| {
///                 let log = log.clone();
///                 eddy::spawn(async move { log.lock().unwrap().push(i) })
///             })
///             .collect();
///         for t in tasks {
///             t.await.unwrap();
///         }
///         // Holds under every seed: all three ran, in some order.
///         assert_eq!(log.lock().unwrap().len(), 3);
///     })
/// });
/// ```
#[track_caller]
pub fn check_seeds(n: u64, body: impl Fn(u64)) {
    let seeds: Vec<u64> = match seed_from_env() {
        Some(s) => vec![s],
        None => (0..n).collect(),
    };
    for seed in seeds {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| body(seed))) {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "<non-string panic>".to_owned());
            panic!("failed with seed {seed}; replay with EDDY_SEED={seed}: {msg}");
        }
    }
}

/// Configures a test runtime; see the [module docs](self).
///
/// ```
/// use std::time::Duration;
///
/// let b = eddy::test::Builder::new().seed(7);
/// let clock = b.clock();
/// let start = clock.now();
/// b.run(async { eddy::sleep(Duration::from_secs(90)).await });
/// assert_eq!(clock.now() - start, Duration::from_secs(90));
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    seed: Option<u64>,
    clock: ManualClock,
    debug: bool,
    deadlock_grace: Duration,
    #[cfg(feature = "tracing")]
    trace_tasks: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// A test runtime: current-thread, virtual time, seed from `EDDY_SEED`
    /// or fresh, debug mode on, deadlocks panic after 500 ms of real time
    /// with nothing able to wake a task.
    ///
    /// ```
    /// let _ = eddy::test::Builder::new();
    /// ```
    pub fn new() -> Builder {
        Builder {
            seed: None,
            clock: ManualClock::new(),
            debug: true,
            deadlock_grace: eddy_executor::DEFAULT_DEADLOCK_GRACE,
            #[cfg(feature = "tracing")]
            trace_tasks: false,
        }
    }

    /// Uses `seed` for the schedule (overrides `EDDY_SEED`).
    ///
    /// ```
    /// let _ = eddy::test::Builder::new().seed(3);
    /// ```
    pub fn seed(mut self, seed: u64) -> Builder {
        self.seed = Some(seed);
        self
    }

    /// Turns debug mode off (it is on by default in tests).
    ///
    /// ```
    /// let rt = eddy::test::Builder::new().debug(false).build().unwrap();
    /// assert!(!rt.handle().is_debug());
    /// ```
    pub fn debug(mut self, on: bool) -> Builder {
        self.debug = on;
        self
    }

    /// Gives every task a `tracing` span, as
    /// [`Builder::trace_tasks`](crate::Builder::trace_tasks) does (off by
    /// default).
    ///
    /// ```
    /// let out = eddy::test::Builder::new().trace_tasks(true).run(async {
    ///     eddy::spawn(async { tracing::info!("inside the task's span") }).await
    /// });
    /// assert!(out.is_ok());
    /// ```
    #[cfg(feature = "tracing")]
    pub fn trace_tasks(mut self, on: bool) -> Builder {
        self.trace_tasks = on;
        self
    }

    /// How long (real time) the runtime waits for an outside wake-up before
    /// calling an all-idle state a deadlock.
    ///
    /// ```
    /// let _ = eddy::test::Builder::new().deadlock_grace(std::time::Duration::from_secs(2));
    /// ```
    pub fn deadlock_grace(mut self, grace: Duration) -> Builder {
        self.deadlock_grace = grace;
        self
    }

    /// The virtual clock the runtime's timers will run on.
    ///
    /// ```
    /// let b = eddy::test::Builder::new();
    /// let t0 = b.clock().now();
    /// b.clock().advance(std::time::Duration::from_secs(1));
    /// assert_eq!(b.clock().now() - t0, std::time::Duration::from_secs(1));
    /// ```
    pub fn clock(&self) -> ManualClock {
        self.clock.clone()
    }

    /// The seed this builder will use: the one given, else `EDDY_SEED`, else
    /// a fresh one (fixed from the first call on).
    ///
    /// ```
    /// assert_eq!(eddy::test::Builder::new().seed(9).resolved_seed(), 9);
    /// ```
    pub fn resolved_seed(&mut self) -> u64 {
        *self
            .seed
            .get_or_insert_with(|| seed_from_env().unwrap_or_else(random_seed))
    }

    /// Builds the runtime, to drive it by hand.
    ///
    /// # Errors
    ///
    /// If the reactor cannot be created.
    ///
    /// ```
    /// let rt = eddy::test::Builder::new().seed(1).build().unwrap();
    /// assert_eq!(rt.block_on(async { 5 }), 5);
    /// ```
    pub fn build(mut self) -> io::Result<Runtime> {
        let seed = self.resolved_seed();
        let builder = crate::Builder::current_thread()
            .manual_clock(self.clock.clone(), true)
            .seed(seed)
            .debug(self.debug)
            .deadlock_detection(DeadlockAction::Panic, self.deadlock_grace);
        #[cfg(feature = "tracing")]
        let builder = builder.trace_tasks(self.trace_tasks);
        builder.build()
    }

    /// Runs `fut` on a runtime from this builder; on a panic, prints the
    /// seed and how to replay it, then lets the panic continue.
    ///
    /// # Panics
    ///
    /// If `fut` panics, on a deadlock, or if the runtime cannot be created.
    ///
    /// ```
    /// assert_eq!(eddy::test::Builder::new().seed(5).run(async { 2 + 2 }), 4);
    /// ```
    #[track_caller]
    pub fn run<F: Future>(mut self, fut: F) -> F::Output {
        let seed = self.resolved_seed();
        let rt = match self.build() {
            Ok(rt) => rt,
            Err(e) => panic!("could not start the eddy test runtime: {e}"),
        };
        match catch_unwind(AssertUnwindSafe(|| rt.block_on(fut))) {
            Ok(v) => v,
            Err(payload) => {
                eprintln!("eddy::test: failed with seed {seed}; replay with EDDY_SEED={seed}");
                drop(rt);
                resume_unwind(payload)
            }
        }
    }
}
