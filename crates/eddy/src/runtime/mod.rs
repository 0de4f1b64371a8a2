//! The runtime: an executor whose idle park is the timer driver wrapped
//! around the reactor.
//!
//! [`Builder`] (in `builder.rs`) configures and wires the layers;
//! [`Runtime`] and [`Handle`] are here; shutdown and its
//! [`ShutdownSummary`] are in `shutdown.rs`.

use std::fmt;
use std::future::Future;

use std::time::Duration;

use eddy_blocking::ThreadPool;
use eddy_core::TaskMeta;
use eddy_executor::{Executor, TaskDump};
use eddy_reactor::ReactorHandle;
use eddy_timer::TimerHandle;

use crate::Task;
use crate::debug::{DumpOnSignal, RuntimeMetrics};

mod builder;
mod shutdown;

pub use builder::Builder;
pub use shutdown::ShutdownSummary;

/// An eddy runtime: event loop (executor), timers and I/O reactor.
///
/// Dropping the runtime shuts it down: worker threads stop, every task still
/// alive is cancelled (its destructors run), and the reactor closes.
///
/// # Example
///
/// ```
/// use std::time::Duration;
///
/// let rt = eddy::Builder::current_thread().build().unwrap();
/// let out = rt.block_on(async {
///     let t = eddy::spawn(async {
///         eddy::sleep(Duration::from_millis(5)).await;
///         "slept"
///     });
///     t.await.unwrap()
/// });
/// assert_eq!(out, "slept");
/// ```
pub struct Runtime {
    executor: Option<Executor>,
    timer: TimerHandle,
    reactor: ReactorHandle,
    pool: ThreadPool,
    shutdown_grace: Duration,
    blocking_shutdown_grace: Duration,
    _dump_signal: Option<DumpOnSignal>,
}

impl Runtime {
    fn executor(&self) -> &Executor {
        // `executor` is `None` only during `Drop`.
        self.executor.as_ref().expect("runtime used during drop")
    }

    /// Runs `fut` to completion on the current thread, with the runtime's
    /// tasks, timers and I/O running meanwhile.
    ///
    /// # Panics
    ///
    /// When called from inside a running eddy runtime (see [`crate::run`]),
    /// or if `fut` panics.
    ///
    /// ```
    /// let rt = eddy::Builder::multi_thread().worker_threads(2).build().unwrap();
    /// let sum = rt.block_on(async {
    ///     let a = eddy::spawn(async { 20 });
    ///     let b = eddy::spawn(async { 22 });
    ///     a.await.unwrap() + b.await.unwrap()
    /// });
    /// assert_eq!(sum, 42);
    /// ```
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        let _r = self.reactor.enter();
        let _t = self.timer.enter();
        let _p = self.pool.enter();
        self.executor().block_on(fut)
    }

    /// A handle to spawn onto this runtime and reach its timers from anywhere.
    ///
    /// ```
    /// let rt = eddy::Builder::current_thread().build().unwrap();
    /// let h = rt.handle();
    /// let t = std::thread::spawn(move || h.spawn(async { 3 })).join().unwrap();
    /// assert_eq!(rt.block_on(t).unwrap(), 3);
    /// ```
    pub fn handle(&self) -> Handle {
        Handle {
            executor: self.executor().handle(),
            timer: self.timer.clone(),
            reactor: self.reactor.clone(),
            pool: self.pool.clone(),
        }
    }

    /// Spawns a task onto the runtime.
    ///
    /// ```
    /// let rt = eddy::Builder::current_thread().build().unwrap();
    /// let t = rt.spawn(async { 9 });
    /// assert_eq!(rt.block_on(t).unwrap(), 9);
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, fut: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.executor().handle().spawn_with(TaskMeta::here(), fut)
    }
}

/// Lets [`LocalSet::block_on`](crate::LocalSet::block_on) take a runtime:
/// `local.block_on(&rt, fut)` is `rt.block_on(local.run_until(fut))`.
///
/// ```
/// use std::rc::Rc;
///
/// let rt = eddy::Builder::multi_thread().worker_threads(2).build().unwrap();
/// let local = eddy::LocalSet::new();
/// let v = local.block_on(&rt, async {
///     let rc = Rc::new(2);
///     eddy::spawn_local(async move { *rc + 1 }).await.unwrap()
/// });
/// assert_eq!(v, 3);
/// ```
impl eddy_executor::BlockOn for Runtime {
    fn block_on<F: Future>(&self, fut: F) -> F::Output {
        Runtime::block_on(self, fut)
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("executor", &self.executor)
            .finish_non_exhaustive()
    }
}

/// A cheap, cloneable, `Send + Sync` reference to a runtime.
///
/// # Example
///
/// ```
/// # let rt = eddy::Builder::current_thread().build().unwrap();
/// rt.block_on(async {
///     let h = eddy::Handle::current();
///     assert_eq!(h.spawn(async { 1 }).await.unwrap(), 1);
/// });
/// ```
#[derive(Clone)]
pub struct Handle {
    executor: eddy_executor::Handle,
    timer: TimerHandle,
    reactor: ReactorHandle,
    pool: ThreadPool,
}

impl Handle {
    /// The handle of the runtime running the current thread.
    ///
    /// # Panics
    ///
    /// Outside a runtime; see [`Handle::try_current`].
    ///
    /// ```
    /// eddy::run(async {
    ///     let h = eddy::Handle::current();
    ///     assert_eq!(h.worker_count(), 1);
    /// });
    /// ```
    #[track_caller]
    pub fn current() -> Handle {
        match Handle::try_current() {
            Some(h) => h,
            None => panic!(
                "there is no eddy runtime on this thread: call this from inside \
                 `eddy::run`, a task, or `Runtime::block_on`"
            ),
        }
    }

    /// The handle of the runtime running the current thread, if any.
    ///
    /// ```
    /// assert!(eddy::Handle::try_current().is_none());
    /// eddy::run(async { assert!(eddy::Handle::try_current().is_some()) });
    /// ```
    pub fn try_current() -> Option<Handle> {
        Some(Handle {
            executor: eddy_executor::Handle::try_current()?,
            timer: TimerHandle::try_current().ok()?,
            reactor: ReactorHandle::try_current()?,
            pool: ThreadPool::try_current()?,
        })
    }

    /// Spawns a task onto the runtime.
    ///
    /// ```
    /// let rt = eddy::Builder::current_thread().build().unwrap();
    /// let h = rt.handle();
    /// let t = h.spawn(async { "spawned through a handle" });
    /// assert_eq!(rt.block_on(t).unwrap(), "spawned through a handle");
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, fut: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.executor.spawn_with(TaskMeta::here(), fut)
    }

    /// The runtime's blocking thread pool.
    ///
    /// ```
    /// # let rt = eddy::Builder::current_thread().build().unwrap();
    /// let pool = rt.handle().blocking_pool().clone();
    /// assert_eq!(rt.block_on(pool.unblock(|| 7)).unwrap(), 7);
    /// ```
    pub fn blocking_pool(&self) -> &ThreadPool {
        &self.pool
    }

    /// Makes this runtime current on this thread until the guard is dropped,
    /// so that `eddy::spawn`, `eddy::sleep` and `Async::new` work on a thread
    /// the runtime does not own.
    ///
    /// ```
    /// let rt = eddy::Builder::current_thread().build().unwrap();
    /// let h = rt.handle();
    /// let task = std::thread::spawn(move || {
    ///     let _g = h.enter();
    ///     eddy::spawn(async { 5 })
    /// })
    /// .join()
    /// .unwrap();
    /// assert_eq!(rt.block_on(task).unwrap(), 5);
    /// ```
    pub fn enter(&self) -> EnterGuard {
        EnterGuard {
            _reactor: self.reactor.enter(),
            _timer: self.timer.enter(),
            _executor: self.executor.enter(),
            _pool: self.pool.enter(),
        }
    }

    /// A snapshot of the runtime's counters: tasks, polls (debug mode),
    /// steals, driver parks, timers, I/O sources, blocking pool.
    ///
    /// ```
    /// # let rt = eddy::Builder::current_thread().build().unwrap();
    /// let m = rt.handle().metrics();
    /// assert_eq!((m.workers, m.tasks_alive, m.timers_armed), (1, 0, 0));
    /// ```
    pub fn metrics(&self) -> RuntimeMetrics {
        let s = self.executor.stats();
        RuntimeMetrics {
            workers: self.executor.worker_count(),
            tasks_spawned: s.spawned,
            tasks_alive: s.alive,
            polls: self.executor.polls(),
            steals: s.steals,
            driver_parks: s.parks,
            timers_armed: self.timer.timer_count(),
            io_sources: self.reactor.source_count(),
            blocking_threads: self.pool.thread_count(),
            blocking_idle_threads: self.pool.idle_count(),
            blocking_queue_depth: self.pool.queued(),
        }
    }

    /// A table of every live task (full details in debug mode, ids
    /// otherwise); print it with `{}`.
    ///
    /// ```
    /// # let rt = eddy::Builder::current_thread().debug(true).build().unwrap();
    /// let h = rt.handle();
    /// let _t = eddy::TaskBuilder::new().name("worker").spawn_on(h.executor(), std::future::pending::<()>());
    /// assert!(h.dump().to_string().contains("worker"));
    /// ```
    pub fn dump(&self) -> TaskDump {
        self.executor.dump()
    }

    /// `true` when the runtime runs in debug mode.
    ///
    /// ```
    /// # let rt = eddy::Builder::current_thread().debug(false).build().unwrap();
    /// assert!(!rt.handle().is_debug());
    /// ```
    pub fn is_debug(&self) -> bool {
        self.executor.is_debug()
    }

    /// The executor's handle (spawning, statistics).
    ///
    /// ```
    /// # let rt = eddy::Builder::current_thread().build().unwrap();
    /// assert_eq!(rt.handle().executor().stats().alive, 0);
    /// ```
    pub fn executor(&self) -> &eddy_executor::Handle {
        &self.executor
    }

    /// The timer handle (clock, pending timers).
    ///
    /// ```
    /// # let rt = eddy::Builder::current_thread().build().unwrap();
    /// assert_eq!(rt.handle().timer().timer_count(), 0);
    /// ```
    pub fn timer(&self) -> &TimerHandle {
        &self.timer
    }

    /// The reactor handle (I/O registration).
    ///
    /// ```
    /// # let rt = eddy::Builder::current_thread().build().unwrap();
    /// assert_eq!(rt.handle().reactor().source_count(), 0);
    /// ```
    pub fn reactor(&self) -> &ReactorHandle {
        &self.reactor
    }

    /// Number of worker threads (1 for the current-thread flavour).
    ///
    /// ```
    /// # let rt = eddy::Builder::current_thread().build().unwrap();
    /// assert_eq!(rt.handle().worker_count(), 1);
    /// ```
    pub fn worker_count(&self) -> usize {
        self.executor.worker_count()
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("executor", &self.executor)
            .finish_non_exhaustive()
    }
}

/// Returned by [`Handle::enter`]; leaves the runtime's context when dropped.
#[must_use = "the runtime is current only while the guard lives"]
pub struct EnterGuard {
    _reactor: eddy_reactor::EnterGuard,
    _timer: eddy_timer::EnterGuard,
    _executor: eddy_executor::EnterGuard,
    _pool: eddy_blocking::EnterGuard,
}

impl fmt::Debug for EnterGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnterGuard").finish_non_exhaustive()
    }
}
