//! The elastic thread pool for blocking calls.
//!
//! This module holds [`ThreadPool`] itself, the free functions ([`unblock`],
//! [`run_in_executor`], ...) and the pool's shared state. The rest lives in
//! submodules: `builder` (configuration and defaults), `unblock` (the
//! [`Unblock`] future and the wait for queue space), `worker` (the pool
//! threads and their idle timeout) and `shutdown` ([`ThreadPool::shutdown`]
//! and its [`ShutdownReport`]).

use std::cell::RefCell;
use std::fmt;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use crossbeam_channel::{Receiver, Sender};

use crate::job::{CancelToken, Job, Plain, RunJob, WithToken, Work, new_job};

mod builder;
mod shutdown;
mod unblock;
mod worker;

pub use builder::{
    DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_THREADS, DEFAULT_QUEUE_CAPACITY, ThreadPoolBuilder,
};
pub use shutdown::{LeftBehind, ShutdownReport};
pub use unblock::Unblock;
use unblock::{PendingSend, Waiters};

/// Runs blocking closures somewhere else: the small trait behind
/// [`run_in_executor`], so any executor of closures fits (asyncio's
/// `loop.run_in_executor(pool, f)`).
///
/// Implementations must eventually call [`Job::run`] on a thread that may
/// block, or drop the job (its awaiter then gets [`BlockingError::NotRun`]).
/// Closures `Fn(Job)` implement it, and so does [`ThreadPool`].
///
/// [`BlockingError::NotRun`]: crate::BlockingError::NotRun
///
/// # Example
///
/// ```
/// use eddy_blocking::{Executor, Job, run_in_executor};
///
/// /// Runs every job inline, on the thread that submits it.
/// struct Inline;
/// impl Executor for Inline {
///     fn execute(&self, job: Job) {
///         job.run();
///     }
/// }
///
/// let v = futures_lite::future::block_on(run_in_executor(&Inline, || "done")).unwrap();
/// assert_eq!(v, "done");
/// ```
pub trait Executor: Send + Sync {
    /// Takes a job to run.
    fn execute(&self, job: Job);
}

impl<F: Fn(Job) + Send + Sync> Executor for F {
    fn execute(&self, job: Job) {
        self(job)
    }
}

/// Runs `f` on `executor` and returns a future of its result.
///
/// The job is handed over immediately. See [`Unblock`] for cancellation.
///
/// ```
/// use eddy_blocking::{ThreadPool, run_in_executor};
///
/// let pool = ThreadPool::builder().max_threads(2).build();
/// let v = futures_lite::future::block_on(run_in_executor(&pool, || 1 + 1)).unwrap();
/// assert_eq!(v, 2);
/// ```
#[track_caller]
pub fn run_in_executor<E, F, T>(executor: &E, f: F) -> Unblock<T>
where
    E: Executor + ?Sized,
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let (job, handle) = new_job(Plain(f), Location::caller());
    executor.execute(job);
    Unblock::ready(handle)
}

/// Like [`run_in_executor`], for a closure that takes a [`CancelToken`].
///
/// ```
/// use eddy_blocking::run_in_executor_cancellable;
///
/// let exec = |job: eddy_blocking::Job| job.run();
/// let v = futures_lite::future::block_on(run_in_executor_cancellable(&exec, |t| t.is_cancelled()));
/// assert_eq!(v.unwrap(), false);
/// ```
#[track_caller]
pub fn run_in_executor_cancellable<E, F, T>(executor: &E, f: F) -> Unblock<T>
where
    E: Executor + ?Sized,
    F: FnOnce(&CancelToken) -> T + Send + 'static,
    T: Send + 'static,
{
    let (job, handle) = new_job(WithToken(f), Location::caller());
    executor.execute(job);
    Unblock::ready(handle)
}

/// Runs a blocking closure on the current thread pool and awaits its result
/// (tokio's `spawn_blocking`, smol's `unblock`, asyncio's
/// `loop.run_in_executor`).
///
/// The job is queued **at once**, when `unblock` is called, as
/// `run_in_executor` schedules it before anything awaits its future; the
/// future only waits for the result. For asyncio's `to_thread`, which
/// starts nothing until awaited, see [`to_thread`](crate::to_thread).
///
/// The pool is the one [entered](ThreadPool::enter) on this thread, else the
/// process-wide [`ThreadPool::global`].
///
/// ```
/// let text = futures_lite::future::block_on(eddy_blocking::unblock(|| {
///     std::fs::read_to_string("/proc/self/status").unwrap_or_default()
/// }))
/// .unwrap();
/// assert!(text.contains("Name") || text.is_empty());
/// ```
#[track_caller]
pub fn unblock<F, T>(f: F) -> Unblock<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let location = Location::caller();
    with_current(|pool| pool.submit(Plain(f), location))
}

/// Runs a blocking closure that checks a [`CancelToken`] on the current
/// pool. The token is set when the returned future is dropped (cancelled or
/// timed out) and when a shutdown gives up on the job; a job still queued
/// at that point never starts.
///
/// ```
/// use std::time::Duration;
///
/// let steps = futures_lite::future::block_on(eddy_blocking::unblock_cancellable(|token| {
///     let mut steps = 0;
///     while !token.is_cancelled() && steps < 3 {
///         steps += 1;
///     }
///     steps
/// }))
/// .unwrap();
/// assert_eq!(steps, 3);
/// ```
#[track_caller]
pub fn unblock_cancellable<F, T>(f: F) -> Unblock<T>
where
    F: FnOnce(&CancelToken) -> T + Send + 'static,
    T: Send + 'static,
{
    let location = Location::caller();
    with_current(|pool| pool.submit(WithToken(f), location))
}

thread_local! {
    static CURRENT: RefCell<Option<ThreadPool>> = const { RefCell::new(None) };
}

fn with_current<R>(f: impl FnOnce(&ThreadPool) -> R) -> R {
    let mut f = Some(f);
    let r = CURRENT.with(|c| {
        c.borrow()
            .as_ref()
            .map(|p| (f.take().expect("called once"))(p))
    });
    match r {
        Some(r) => r,
        None => (f.take().expect("not called yet"))(ThreadPool::global()),
    }
}

static GLOBAL: OnceLock<ThreadPool> = OnceLock::new();

/// An elastic pool of named threads for blocking calls.
///
/// Threads start when jobs are waiting and no thread is idle, up to
/// [`ThreadPoolBuilder::max_threads`]; a thread idle for
/// [`ThreadPoolBuilder::idle_timeout`] exits. Jobs wait in a bounded queue.
/// Clones share the pool. When the last clone is dropped the pool closes:
/// queued jobs still run, then the threads exit (call
/// [`ThreadPool::shutdown`] to wait with a grace period and get a report).
///
/// # Example
///
/// ```
/// use eddy_blocking::ThreadPool;
///
/// let pool = ThreadPool::builder().max_threads(4).build();
/// let sum = futures_lite::future::block_on(async {
///     let a = pool.unblock(|| (1..=10).sum::<u32>());
///     let b = pool.unblock(|| (11..=20).sum::<u32>());
///     a.await.unwrap() + b.await.unwrap()
/// });
/// assert_eq!(sum, 210);
/// let report = pool.shutdown(std::time::Duration::from_secs(1));
/// assert!(report.is_clean());
/// ```
#[derive(Clone)]
pub struct ThreadPool {
    handle: Arc<PoolHandle>,
}

/// Closes the pool when the last user handle goes; threads hold `Shared`.
struct PoolHandle(Arc<Shared>);

impl Drop for PoolHandle {
    fn drop(&mut self) {
        self.0.close();
    }
}

struct Shared {
    tx: Sender<Job>,
    rx: Receiver<Job>,
    /// Disconnected (its sender dropped) once the pool closes.
    stop_rx: Receiver<()>,
    /// Disconnected once every thread has exited after close.
    exit_rx: Receiver<()>,
    threads: AtomicUsize,
    idle: AtomicUsize,
    closed: AtomicBool,
    /// Number of submitters waiting for queue space (avoids the lock).
    waiting: AtomicUsize,
    waiters: Mutex<Waiters>,
    control: Mutex<Control>,
    spawned_total: AtomicU64,
    config: ThreadPoolBuilder,
}

struct Control {
    stop_tx: Option<Sender<()>>,
    exit_tx: Option<Sender<()>>,
    slots: Vec<Arc<Slot>>,
    next_thread: u64,
}

/// What one thread is running, for the shutdown report.
struct Slot {
    name: String,
    current: Mutex<Option<Arc<dyn RunJob>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Pool state stays consistent across a panic (user code never runs
    // under these locks), so poisoning carries no information.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl ThreadPool {
    /// A builder with the defaults: up to [`DEFAULT_MAX_THREADS`] threads
    /// named `eddy-blocking-{n}`, [`DEFAULT_IDLE_TIMEOUT`] and
    /// [`DEFAULT_QUEUE_CAPACITY`].
    ///
    /// ```
    /// let pool = eddy_blocking::ThreadPool::builder().build();
    /// assert_eq!(pool.max_threads(), eddy_blocking::DEFAULT_MAX_THREADS);
    /// ```
    pub fn builder() -> ThreadPoolBuilder {
        ThreadPoolBuilder::default()
    }

    /// The process-wide pool used by [`unblock`] when no pool is
    /// [entered](ThreadPool::enter). Created with the defaults on first use
    /// unless [`ThreadPoolBuilder::build_global`] ran first.
    ///
    /// ```
    /// let pool = eddy_blocking::ThreadPool::global();
    /// assert!(pool.max_threads() >= 1);
    /// ```
    pub fn global() -> &'static ThreadPool {
        GLOBAL.get_or_init(|| ThreadPool::builder().build())
    }

    /// Makes this pool the one [`unblock`] uses on the current thread until
    /// the guard is dropped. The runtime enters its pool on its threads.
    ///
    /// ```
    /// let pool = eddy_blocking::ThreadPool::builder().name("entered").build();
    /// let _guard = pool.enter();
    /// let name = futures_lite::future::block_on(eddy_blocking::unblock(|| {
    ///     std::thread::current().name().unwrap().to_owned()
    /// }))
    /// .unwrap();
    /// assert!(name.starts_with("entered-"));
    /// ```
    pub fn enter(&self) -> EnterGuard {
        let prev = CURRENT.with(|c| c.borrow_mut().replace(self.clone()));
        EnterGuard { prev }
    }

    /// The pool entered on this thread with [`ThreadPool::enter`], if any
    /// (the free functions use it, or the global pool when there is none).
    ///
    /// ```
    /// let pool = eddy_blocking::ThreadPool::builder().build();
    /// assert!(eddy_blocking::ThreadPool::try_current().is_none());
    /// let _g = pool.enter();
    /// assert!(eddy_blocking::ThreadPool::try_current().is_some());
    /// ```
    pub fn try_current() -> Option<ThreadPool> {
        CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
    }

    /// Runs `f` on this pool and awaits its result.
    ///
    /// If the queue is full, the returned future first waits for space (in
    /// FIFO order with other waiting submitters), then waits for the result.
    /// See [`Unblock`] for cancellation.
    ///
    /// ```
    /// let pool = eddy_blocking::ThreadPool::builder().build();
    /// let v = futures_lite::future::block_on(pool.unblock(|| "hi")).unwrap();
    /// assert_eq!(v, "hi");
    /// ```
    #[track_caller]
    pub fn unblock<F, T>(&self, f: F) -> Unblock<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.submit(Plain(f), Location::caller())
    }

    /// Runs a closure that receives a [`CancelToken`]; see
    /// [`unblock_cancellable`].
    ///
    /// ```
    /// let pool = eddy_blocking::ThreadPool::builder().build();
    /// let r = futures_lite::future::block_on(pool.unblock_cancellable(|t| t.check()));
    /// assert!(r.unwrap().is_ok());
    /// ```
    #[track_caller]
    pub fn unblock_cancellable<F, T>(&self, f: F) -> Unblock<T>
    where
        F: FnOnce(&CancelToken) -> T + Send + 'static,
        T: Send + 'static,
    {
        self.submit(WithToken(f), Location::caller())
    }

    pub(crate) fn submit<W: Work>(
        &self,
        work: W,
        location: &'static Location<'static>,
    ) -> Unblock<W::Output> {
        let (job, handle) = new_job(work, location);
        let shared = &self.handle.0;
        let pending = match shared.try_push(job) {
            Ok(()) => None,
            Err(job) => Some(PendingSend {
                pool: Arc::clone(shared),
                job: Some(job),
                waiter: None,
            }),
        };
        Unblock { handle, pending }
    }

    /// Threads alive now (running a job or idle).
    ///
    /// ```
    /// let pool = eddy_blocking::ThreadPool::builder().build();
    /// futures_lite::future::block_on(pool.unblock(|| ())).unwrap();
    /// assert!(pool.thread_count() >= 1);
    /// ```
    pub fn thread_count(&self) -> usize {
        self.handle.0.threads.load(Ordering::SeqCst)
    }

    /// Threads alive now that are waiting for a job.
    ///
    /// ```
    /// let pool = eddy_blocking::ThreadPool::builder().build();
    /// assert_eq!(pool.idle_count(), 0);
    /// ```
    pub fn idle_count(&self) -> usize {
        self.handle.0.idle.load(Ordering::SeqCst)
    }

    /// Jobs waiting in the queue.
    ///
    /// ```
    /// assert_eq!(eddy_blocking::ThreadPool::builder().build().queued(), 0);
    /// ```
    pub fn queued(&self) -> usize {
        self.handle.0.tx.len()
    }

    /// Threads started over the pool's life.
    ///
    /// ```
    /// assert_eq!(eddy_blocking::ThreadPool::builder().build().threads_started(), 0);
    /// ```
    pub fn threads_started(&self) -> u64 {
        self.handle.0.spawned_total.load(Ordering::Relaxed)
    }

    /// The configured maximum number of threads.
    ///
    /// ```
    /// assert_eq!(eddy_blocking::ThreadPool::builder().max_threads(3).build().max_threads(), 3);
    /// ```
    pub fn max_threads(&self) -> usize {
        self.handle.0.config.max_threads
    }

    /// The configured queue capacity.
    ///
    /// ```
    /// assert_eq!(eddy_blocking::ThreadPool::builder().queue_capacity(9).build().queue_capacity(), 9);
    /// ```
    pub fn queue_capacity(&self) -> usize {
        self.handle.0.config.queue_capacity
    }
}

impl Executor for ThreadPool {
    /// Queues the job. Unlike [`ThreadPool::unblock`] this cannot wait
    /// asynchronously, so when the queue is full it blocks the calling
    /// thread until there is space.
    fn execute(&self, job: Job) {
        self.handle.0.push_blocking(job);
    }
}

impl fmt::Debug for ThreadPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadPool")
            .field("name", &self.handle.0.config.name)
            .field("threads", &self.thread_count())
            .field("idle", &self.idle_count())
            .field("queued", &self.queued())
            .finish()
    }
}

/// Restores the previously entered pool when dropped; see
/// [`ThreadPool::enter`].
///
/// ```
/// use eddy_blocking::ThreadPool;
///
/// let pool = ThreadPool::builder().build();
/// let guard = pool.enter();
/// assert!(ThreadPool::try_current().is_some());
/// drop(guard); // the previous pool (here: none) is back
/// assert!(ThreadPool::try_current().is_none());
/// ```
#[must_use = "the pool is entered only while the guard lives"]
pub struct EnterGuard {
    prev: Option<ThreadPool>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        CURRENT.with(|c| *c.borrow_mut() = prev);
    }
}

impl fmt::Debug for EnterGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EnterGuard")
    }
}
