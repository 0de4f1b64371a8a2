//! The elastic thread pool for blocking calls.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering, fence};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TryRecvError, TrySendError};

use crate::job::{
    BlockingError, CancelToken, Handle, Job, Plain, RunJob, WithToken, Work, new_job,
};

/// Default upper bound on pool threads (tokio's default too).
///
/// ```
/// let pool = eddy_blocking::ThreadPool::builder().build();
/// assert_eq!(pool.max_threads(), eddy_blocking::DEFAULT_MAX_THREADS);
/// ```
pub const DEFAULT_MAX_THREADS: usize = 512;
/// Default time an idle pool thread waits for work before it exits.
///
/// ```
/// use eddy_blocking::{DEFAULT_IDLE_TIMEOUT, ThreadPool};
///
/// // Idle threads of a bursty service may linger longer than the default.
/// let pool = ThreadPool::builder().idle_timeout(DEFAULT_IDLE_TIMEOUT * 6).build();
/// let v = futures_lite::future::block_on(pool.unblock(|| 1)).unwrap();
/// assert_eq!(v, 1);
/// ```
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default number of jobs that may wait in the queue before submitters wait.
///
/// ```
/// let pool = eddy_blocking::ThreadPool::builder().build();
/// assert_eq!(pool.queue_capacity(), eddy_blocking::DEFAULT_QUEUE_CAPACITY);
/// ```
pub const DEFAULT_QUEUE_CAPACITY: usize = 1 << 16;

/// How many `try_recv` rounds an idle thread spins (with `spin_loop`) and
/// then yields before it blocks. Waking a blocked thread costs ~19 µs on the
/// reference machine; a caller that awaits one job at a time submits its next
/// job within a wake-up of the previous result, so the spin must outlast one
/// wake-up. Yielding keeps the spin cheap for the other threads on the core.
const SPIN_ROUNDS: u32 = 64;
const YIELD_ROUNDS: u32 = 200;

/// Runs blocking closures somewhere else: the small trait behind
/// [`run_in_executor`], so any executor of closures fits (asyncio's
/// `loop.run_in_executor(pool, f)`).
///
/// Implementations must eventually call [`Job::run`] on a thread that may
/// block, or drop the job (its awaiter then gets [`BlockingError::NotRun`]).
/// Closures `Fn(Job)` implement it, and so does [`ThreadPool`].
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

/// The future of a blocking job's result.
///
/// Resolves to `Ok(value)`, or to a [`BlockingError`] when the closure
/// panicked or the job never ran.
///
/// # Cancellation
///
/// Dropping the future before it resolves cancels the job: a job still in
/// the queue never starts (its closure is dropped), and a running job's
/// [`CancelToken`] is set. A running closure that ignores its token runs to
/// the end and its result is dropped. Awaiting is cancel-safe in the sense
/// that nothing but this job's result is lost.
///
/// ```
/// use eddy_blocking::{ThreadPool, Unblock};
///
/// let pool = ThreadPool::builder().build();
/// let sum: Unblock<u64> = pool.unblock(|| (1..=100).sum());
/// assert_eq!(futures_lite::future::block_on(sum).unwrap(), 5050);
/// ```
#[must_use = "dropping an Unblock cancels its job"]
pub struct Unblock<T> {
    handle: Handle<T>,
    /// Set while the pool's queue was full: the job still has to be sent.
    pending: Option<PendingSend>,
}

struct PendingSend {
    pool: Arc<Shared>,
    job: Option<Job>,
    /// Our id in the pool's list of submitters waiting for space.
    waiter: Option<u64>,
}

impl<T> Unblock<T> {
    fn ready(handle: Handle<T>) -> Unblock<T> {
        Unblock {
            handle,
            pending: None,
        }
    }
}

impl<T> Unblock<T> {
    /// Lets the job run to its end with nobody awaiting it (its token is
    /// not set and a queued job still starts); the result is dropped.
    ///
    /// If the job is still waiting for space in a full queue, this blocks
    /// the current thread until it is queued.
    ///
    /// ```
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// eddy_blocking::unblock(move || tx.send(5).unwrap()).detach();
    /// assert_eq!(rx.recv().unwrap(), 5);
    /// ```
    pub fn detach(mut self) {
        if let Some(mut p) = self.pending.take() {
            if let Some(job) = p.job.take() {
                p.leave_queue();
                p.pool.push_blocking(job);
            }
        }
        self.handle.detach();
    }
}

impl<T> Future for Unblock<T> {
    type Output = Result<T, BlockingError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Some(p) = &mut this.pending {
            if p.poll_send(cx).is_pending() {
                return Poll::Pending;
            }
            this.pending = None;
        }
        this.handle.poll_result(cx)
    }
}

impl<T> fmt::Debug for Unblock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unblock")
            .field("queued", &self.pending.is_none())
            .finish()
    }
}

impl PendingSend {
    fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(job) = self.job.take() else {
            return Poll::Ready(());
        };
        let job = match self.pool.try_push(job) {
            Ok(()) => return self.sent(),
            Err(job) => job,
        };
        // Register, then try again: a slot freed between the two attempts
        // would otherwise wake nobody.
        {
            let mut w = self.pool.lock_waiters();
            match self.waiter {
                Some(id) if w.update(id, cx.waker()) => {}
                _ => self.waiter = Some(w.push(cx.waker().clone())),
            }
        }
        match self.pool.try_push(job) {
            Ok(()) => self.sent(),
            Err(job) => {
                self.job = Some(job);
                Poll::Pending
            }
        }
    }

    fn sent(&mut self) -> Poll<()> {
        self.leave_queue();
        Poll::Ready(())
    }

    /// Leaves the wait list; if we were already picked to use a free slot,
    /// hand that wake-up on so it is not lost.
    fn leave_queue(&mut self) {
        if let Some(id) = self.waiter.take() {
            let next = {
                let mut w = self.pool.lock_waiters();
                if w.remove(id) { None } else { w.pop() }
            };
            if let Some(n) = next {
                n.wake();
            }
        }
    }
}

impl Drop for PendingSend {
    fn drop(&mut self) {
        self.leave_queue();
        if let Some(job) = self.job.take() {
            // Never queued: the awaiter is gone too, so nobody hears this.
            job.abandon(BlockingError::NotRun);
        }
    }
}

#[derive(Default)]
struct Waiters {
    next_id: u64,
    list: VecDeque<(u64, Waker)>,
}

impl Waiters {
    fn push(&mut self, w: Waker) -> u64 {
        self.next_id += 1;
        self.list.push_back((self.next_id, w));
        self.next_id
    }
    fn update(&mut self, id: u64, w: &Waker) -> bool {
        match self.list.iter_mut().find(|(i, _)| *i == id) {
            Some((_, old)) => {
                if !old.will_wake(w) {
                    *old = w.clone();
                }
                true
            }
            None => false,
        }
    }
    fn remove(&mut self, id: u64) -> bool {
        match self.list.iter().position(|(i, _)| *i == id) {
            Some(p) => {
                self.list.remove(p);
                true
            }
            None => false,
        }
    }
    fn pop(&mut self) -> Option<Waker> {
        self.list.pop_front().map(|(_, w)| w)
    }
}

/// Configures a [`ThreadPool`].
///
/// ```
/// use std::time::Duration;
/// use eddy_blocking::ThreadPool;
///
/// let pool = ThreadPool::builder()
///     .name("db")
///     .max_threads(8)
///     .idle_timeout(Duration::from_secs(2))
///     .queue_capacity(1024)
///     .build();
/// assert_eq!(pool.max_threads(), 8);
/// ```
#[derive(Debug, Clone)]
pub struct ThreadPoolBuilder {
    name: String,
    max_threads: usize,
    idle_timeout: Duration,
    queue_capacity: usize,
    stack_size: Option<usize>,
}

impl Default for ThreadPoolBuilder {
    fn default() -> Self {
        ThreadPoolBuilder {
            name: "eddy-blocking".into(),
            max_threads: DEFAULT_MAX_THREADS,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            stack_size: None,
        }
    }
}

impl ThreadPoolBuilder {
    /// Thread name prefix; threads are called `{name}-{n}`.
    ///
    /// ```
    /// let pool = eddy_blocking::ThreadPool::builder().name("io").build();
    /// let name = futures_lite::future::block_on(
    ///     pool.unblock(|| std::thread::current().name().unwrap().to_owned()),
    /// )
    /// .unwrap();
    /// assert!(name.starts_with("io-"));
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Most threads alive at once (at least 1). Threads start on demand.
    ///
    /// ```
    /// let pool = eddy_blocking::ThreadPool::builder().max_threads(0).build();
    /// assert_eq!(pool.max_threads(), 1);
    /// ```
    pub fn max_threads(mut self, n: usize) -> Self {
        self.max_threads = n.max(1);
        self
    }

    /// How long an idle thread waits for a job before it exits.
    ///
    /// ```
    /// let b = eddy_blocking::ThreadPool::builder().idle_timeout(std::time::Duration::from_millis(50));
    /// drop(b.build());
    /// ```
    pub fn idle_timeout(mut self, d: Duration) -> Self {
        self.idle_timeout = d;
        self
    }

    /// How many jobs may wait in the queue (at least 1). Beyond that,
    /// [`ThreadPool::unblock`] futures wait for space before queueing: the
    /// backpressure that bounds memory when jobs arrive faster than threads
    /// finish them.
    ///
    /// ```
    /// let pool = eddy_blocking::ThreadPool::builder().queue_capacity(4).build();
    /// assert_eq!(pool.queue_capacity(), 4);
    /// ```
    pub fn queue_capacity(mut self, n: usize) -> Self {
        self.queue_capacity = n.max(1);
        self
    }

    /// Stack size of pool threads, in bytes (the platform default otherwise).
    ///
    /// ```
    /// let pool = eddy_blocking::ThreadPool::builder().stack_size(256 * 1024).build();
    /// assert_eq!(futures_lite::future::block_on(pool.unblock(|| 1)).unwrap(), 1);
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Builds the pool. No thread starts until the first job.
    ///
    /// ```
    /// let pool = eddy_blocking::ThreadPool::builder().build();
    /// assert_eq!(pool.thread_count(), 0);
    /// ```
    pub fn build(self) -> ThreadPool {
        let (tx, rx) = crossbeam_channel::bounded(self.queue_capacity);
        let (stop_tx, stop_rx) = crossbeam_channel::bounded(0);
        let (exit_tx, exit_rx) = crossbeam_channel::bounded(0);
        let shared = Arc::new(Shared {
            tx,
            rx,
            stop_rx,
            exit_rx,
            threads: AtomicUsize::new(0),
            idle: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            waiting: AtomicUsize::new(0),
            waiters: Mutex::new(Waiters::default()),
            control: Mutex::new(Control {
                stop_tx: Some(stop_tx),
                exit_tx: Some(exit_tx),
                slots: Vec::new(),
                next_thread: 0,
            }),
            spawned_total: AtomicU64::new(0),
            config: self,
        });
        ThreadPool {
            handle: Arc::new(PoolHandle(shared)),
        }
    }

    /// Builds the pool and installs it as the process-wide
    /// [`ThreadPool::global`].
    ///
    /// # Errors
    ///
    /// Gives the pool back if the global pool was already set or used.
    ///
    /// ```
    /// let pool = eddy_blocking::ThreadPool::builder().max_threads(4).build_global();
    /// // In a doc test nothing used the global pool before, so this works.
    /// assert!(pool.is_ok());
    /// assert_eq!(eddy_blocking::ThreadPool::global().max_threads(), 4);
    /// ```
    pub fn build_global(self) -> Result<(), ThreadPool> {
        let pool = self.build();
        let mut slot = Some(pool);
        GLOBAL.get_or_init(|| slot.take().expect("taken once"));
        match slot {
            None => Ok(()),
            Some(p) => Err(p),
        }
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

impl Shared {
    fn lock_waiters(&self) -> WaitersGuard<'_> {
        WaitersGuard {
            shared: self,
            guard: lock(&self.waiters),
        }
    }

    fn try_push(self: &Arc<Self>, job: Job) -> Result<(), Job> {
        if self.closed.load(Ordering::Acquire) {
            job.abandon(BlockingError::ShutDown);
            return Ok(());
        }
        match self.tx.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(job)) => return Err(job),
            Err(TrySendError::Disconnected(job)) => {
                job.abandon(BlockingError::ShutDown);
                return Ok(());
            }
        }
        // Pairs with the fence in an exiting thread: either it sees our job
        // in the queue, or we see it gone from `threads`/`idle`.
        fence(Ordering::SeqCst);
        if self.tx.len() > self.idle.load(Ordering::SeqCst) {
            self.spawn_thread();
        }
        if self.closed.load(Ordering::Acquire) {
            // Raced with a shutdown that may already have drained the queue.
            self.drain(|| BlockingError::ShutDown);
        }
        Ok(())
    }

    fn spawn_thread(self: &Arc<Self>) {
        let mut control = lock(&self.control);
        let Some(exit_tx) = control.exit_tx.clone() else {
            return;
        };
        let mut n = self.threads.load(Ordering::SeqCst);
        loop {
            if n >= self.config.max_threads {
                return;
            }
            match self
                .threads
                .compare_exchange(n, n + 1, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => break,
                Err(m) => n = m,
            }
        }
        control.next_thread += 1;
        let name = format!("{}-{}", self.config.name, control.next_thread);
        let slot = Arc::new(Slot {
            name: name.clone(),
            current: Mutex::new(None),
        });
        control.slots.push(Arc::clone(&slot));
        drop(control);
        let shared = Arc::clone(self);
        let mut b = std::thread::Builder::new().name(name);
        if let Some(s) = self.config.stack_size {
            b = b.stack_size(s);
        }
        let spawned = b.spawn(move || {
            worker(&shared, &slot);
            lock(&shared.control)
                .slots
                .retain(|s| !Arc::ptr_eq(s, &slot));
            drop(exit_tx);
        });
        match spawned {
            Ok(_) => {
                self.spawned_total.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                // Out of threads: the queued job waits for a running thread.
                // If none is left, fail what is queued rather than hang.
                let left = self.threads.fetch_sub(1, Ordering::SeqCst) - 1;
                lock(&self.control).slots.pop();
                if left == 0 {
                    self.drain(|| BlockingError::NotRun);
                }
            }
        }
    }

    /// Fails every queued job with `err()`; returns how many there were.
    fn drain(&self, err: fn() -> BlockingError) -> usize {
        let mut n = 0;
        while let Ok(job) = self.rx.try_recv() {
            job.abandon(err());
            n += 1;
        }
        n
    }

    fn close(&self) {
        let mut control = lock(&self.control);
        self.closed.store(true, Ordering::Release);
        control.stop_tx = None;
        control.exit_tx = None;
    }

    fn after_recv(&self) {
        if self.waiting.load(Ordering::SeqCst) > 0 {
            let w = self.lock_waiters().pop();
            if let Some(w) = w {
                w.wake();
            }
        }
    }

    /// Waits for a job; `None` means this thread should exit.
    fn next_job(&self) -> Option<Job> {
        if let Ok(j) = self.rx.try_recv() {
            return Some(j);
        }
        self.idle.fetch_add(1, Ordering::SeqCst);
        if !self.closed.load(Ordering::Acquire) {
            for i in 0..SPIN_ROUNDS + YIELD_ROUNDS {
                if let Ok(j) = self.rx.try_recv() {
                    self.idle.fetch_sub(1, Ordering::SeqCst);
                    return Some(j);
                }
                if i < SPIN_ROUNDS {
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
            }
        }
        crossbeam_channel::select! {
            recv(self.rx) -> msg => {
                self.idle.fetch_sub(1, Ordering::SeqCst);
                msg.ok()
            }
            recv(self.stop_rx) -> _ => {
                // Closed: finish what is queued, then leave.
                self.idle.fetch_sub(1, Ordering::SeqCst);
                match self.rx.try_recv() {
                    Ok(j) => Some(j),
                    Err(_) => {
                        self.threads.fetch_sub(1, Ordering::SeqCst);
                        None
                    }
                }
            }
            default(self.config.idle_timeout) => {
                self.idle.fetch_sub(1, Ordering::SeqCst);
                self.threads.fetch_sub(1, Ordering::SeqCst);
                fence(Ordering::SeqCst);
                match self.rx.try_recv() {
                    Ok(j) => {
                        // A job slipped in as we were leaving: stay.
                        self.threads.fetch_add(1, Ordering::SeqCst);
                        Some(j)
                    }
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => None,
                }
            }
        }
    }
}

struct WaitersGuard<'a> {
    shared: &'a Shared,
    guard: MutexGuard<'a, Waiters>,
}

impl WaitersGuard<'_> {
    fn push(&mut self, w: Waker) -> u64 {
        self.shared.waiting.fetch_add(1, Ordering::SeqCst);
        self.guard.push(w)
    }
    fn update(&mut self, id: u64, w: &Waker) -> bool {
        self.guard.update(id, w)
    }
    fn remove(&mut self, id: u64) -> bool {
        let r = self.guard.remove(id);
        if r {
            self.shared.waiting.fetch_sub(1, Ordering::SeqCst);
        }
        r
    }
    fn pop(&mut self) -> Option<Waker> {
        let r = self.guard.pop();
        if r.is_some() {
            self.shared.waiting.fetch_sub(1, Ordering::SeqCst);
        }
        r
    }
}

fn worker(shared: &Shared, slot: &Slot) {
    while let Some(job) = shared.next_job() {
        shared.after_recv();
        if let Some(j) = job.shared() {
            *lock(&slot.current) = Some(j);
        }
        job.run();
        *lock(&slot.current) = None;
    }
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

    /// Closes the pool and waits up to `grace` for queued and running jobs
    /// to finish; then reports what it left behind.
    ///
    /// After `grace`, jobs still queued never start (their awaiters get
    /// [`BlockingError::ShutDown`]) and running jobs have their
    /// [`CancelToken`] set; their threads are detached and finish on their
    /// own. New submissions fail with [`BlockingError::ShutDown`]. The call
    /// blocks the current thread for at most `grace` (plus the time to drain
    /// the queue). Shutting down a closed pool reports what is left now.
    ///
    /// ```
    /// use std::time::Duration;
    /// use eddy_blocking::{BlockingError, ThreadPool};
    ///
    /// let pool = ThreadPool::builder().build();
    /// futures_lite::future::block_on(pool.unblock(|| ())).unwrap();
    /// let report = pool.shutdown(Duration::from_secs(1));
    /// assert!(report.is_clean());
    /// let late = futures_lite::future::block_on(pool.unblock(|| ()));
    /// assert!(matches!(late, Err(BlockingError::ShutDown)));
    /// ```
    pub fn shutdown(&self, grace: Duration) -> ShutdownReport {
        let shared = &self.handle.0;
        shared.close();
        let all_exited = matches!(
            shared.exit_rx.recv_timeout(grace),
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) | Ok(())
        );
        let never_started = shared.drain(|| BlockingError::ShutDown);
        let mut still_running = Vec::new();
        if !all_exited {
            let slots = lock(&shared.control).slots.clone();
            for slot in slots {
                if let Some(job) = lock(&slot.current).as_ref() {
                    job.cancel();
                    still_running.push(LeftBehind {
                        thread: slot.name.clone(),
                        location: job.location(),
                    });
                }
            }
        }
        ShutdownReport {
            still_running,
            never_started,
        }
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

impl Shared {
    /// Queues `job`, blocking the thread while the queue is full.
    fn push_blocking(self: &Arc<Self>, job: Job) {
        let shared = self;
        let mut job = job;
        loop {
            match shared.try_push(job) {
                Ok(()) => return,
                Err(j) => job = j,
            }
            // Full: wait for a slot the blocking way.
            match shared.tx.send_timeout(job, Duration::from_millis(1)) {
                Ok(()) => {
                    if shared.tx.len() > shared.idle.load(Ordering::SeqCst) {
                        shared.spawn_thread();
                    }
                    return;
                }
                Err(e) => job = e.into_inner(),
            }
        }
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

/// A job a shutdown gave up waiting for.
///
/// ```
/// use std::time::Duration;
///
/// let pool = eddy_blocking::ThreadPool::builder().name("stuck").build();
/// let (started_tx, started) = std::sync::mpsc::channel::<()>();
/// let (tx, rx) = std::sync::mpsc::channel::<()>();
/// let job = pool.unblock(move || {
///     started_tx.send(()).unwrap();
///     rx.recv().ok()
/// });
/// started.recv().unwrap();
/// let report = pool.shutdown(Duration::from_millis(5));
/// let left = &report.still_running[0];
/// assert!(left.thread.starts_with("stuck-"));
/// assert_eq!(left.location.file(), file!()); // where `unblock` was called
/// tx.send(()).unwrap();
/// drop(job);
/// ```
#[derive(Debug, Clone)]
pub struct LeftBehind {
    /// The pool thread running it.
    pub thread: String,
    /// Where the job was submitted.
    pub location: &'static Location<'static>,
}

/// What [`ThreadPool::shutdown`] left behind: nothing is lost silently.
///
/// ```
/// use std::time::Duration;
/// use eddy_blocking::ThreadPool;
///
/// let pool = ThreadPool::builder().build();
/// let (started_tx, started) = std::sync::mpsc::channel::<()>();
/// let (tx, rx) = std::sync::mpsc::channel::<()>();
/// let stuck = pool.unblock(move || {
///     started_tx.send(()).unwrap();
///     rx.recv().ok()
/// });
/// started.recv().unwrap();
/// let report = pool.shutdown(Duration::from_millis(20));
/// assert_eq!(report.still_running.len(), 1);
/// assert!(!report.is_clean());
/// assert!(report.to_string().contains("still running"));
/// tx.send(()).unwrap();
/// drop(stuck);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ShutdownReport {
    /// Jobs still running when the grace period ended; their tokens are set.
    pub still_running: Vec<LeftBehind>,
    /// Jobs still queued when the grace period ended; they never start.
    pub never_started: usize,
}

impl ShutdownReport {
    /// `true` when every job finished within the grace period.
    ///
    /// ```
    /// assert!(eddy_blocking::ShutdownReport::default().is_clean());
    /// ```
    pub fn is_clean(&self) -> bool {
        self.still_running.is_empty() && self.never_started == 0
    }
}

impl fmt::Display for ShutdownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_clean() {
            return f.write_str("blocking pool shut down cleanly");
        }
        write!(
            f,
            "blocking pool shut down with {} job(s) still running and {} never started",
            self.still_running.len(),
            self.never_started
        )?;
        for l in &self.still_running {
            write!(f, "\n  on {}: submitted at {}", l.thread, l.location)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    #[derive(Debug, Clone)]
    enum Op {
        Push,
        Update(usize),
        Remove(usize),
        Pop,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            Just(Op::Push),
            (0usize..16).prop_map(Op::Update),
            (0usize..16).prop_map(Op::Remove),
            Just(Op::Pop),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        /// The submitters' wait list against a plain FIFO of ids.
        #[test]
        fn waiters_match_a_fifo_model(ops in proptest::collection::vec(op(), 1..64)) {
            let mut w = Waiters::default();
            let mut model: VecDeque<u64> = VecDeque::new();
            let mut issued: Vec<u64> = Vec::new();
            for op in ops {
                match op {
                    Op::Push => {
                        let id = w.push(Waker::noop().clone());
                        prop_assert!(!issued.contains(&id));
                        issued.push(id);
                        model.push_back(id);
                    }
                    Op::Update(i) => {
                        let Some(&id) = issued.get(i) else { continue };
                        prop_assert_eq!(w.update(id, Waker::noop()), model.contains(&id));
                    }
                    Op::Remove(i) => {
                        let Some(&id) = issued.get(i) else { continue };
                        let present = model.contains(&id);
                        prop_assert_eq!(w.remove(id), present);
                        model.retain(|&x| x != id);
                    }
                    Op::Pop => {
                        let expect = model.pop_front();
                        let got = w.list.front().map(|(id, _)| *id);
                        prop_assert_eq!(got, expect);
                        prop_assert_eq!(w.pop().is_some(), expect.is_some());
                    }
                }
                let ids: Vec<u64> = w.list.iter().map(|(id, _)| *id).collect();
                prop_assert_eq!(ids, model.iter().copied().collect::<Vec<_>>());
            }
        }
    }
}
