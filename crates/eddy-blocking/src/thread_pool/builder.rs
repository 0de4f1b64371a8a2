//! Configuring a pool: [`ThreadPoolBuilder`] and the defaults.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{Control, GLOBAL, PoolHandle, Shared, ThreadPool, Waiters};

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
    pub(super) name: String,
    pub(super) max_threads: usize,
    pub(super) idle_timeout: Duration,
    pub(super) queue_capacity: usize,
    pub(super) stack_size: Option<usize>,
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
