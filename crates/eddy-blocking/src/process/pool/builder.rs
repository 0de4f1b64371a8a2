//! Configuring a process pool: [`ProcessPoolBuilder`].

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use super::worker::Manager;
use super::{ProcessPool, Shared, Task, lock};
use crate::process::registry::ProcessJob;
use crate::process::wire::{self, ENVELOPE};
use crate::process::{DEFAULT_MAX_FRAME, PoolError};

/// Configures a [`ProcessPool`].
///
/// ```no_run
/// use std::time::Duration;
/// use eddy_blocking::process::ProcessPool;
///
/// let pool = ProcessPool::builder()
///     .workers(4)
///     .max_tasks_per_child(1000)
///     .job_timeout(Duration::from_secs(30))
///     .build();
/// ```
#[derive(Debug, Clone)]
pub struct ProcessPoolBuilder {
    pub(super) workers: usize,
    pub(super) program: Option<PathBuf>,
    pub(super) args: Vec<OsString>,
    pub(super) max_tasks_per_child: Option<u64>,
    pub(super) job_timeout: Option<Duration>,
    pub(super) max_frame: usize,
    pub(super) initializer: Option<(&'static str, Vec<u8>)>,
}

impl Default for ProcessPoolBuilder {
    fn default() -> Self {
        ProcessPoolBuilder {
            workers: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            program: None,
            args: Vec::new(),
            max_tasks_per_child: None,
            job_timeout: None,
            max_frame: DEFAULT_MAX_FRAME,
            initializer: None,
        }
    }
}

impl ProcessPoolBuilder {
    /// Number of worker processes (at least 1; default: the number of CPUs).
    ///
    /// ```
    /// use eddy_blocking::process::{ProcessJob, ProcessPool, Registry, worker_main_if_child};
    /// static PID: ProcessJob<(), u32> = ProcessJob::new("pid", |()| std::process::id());
    /// worker_main_if_child(&Registry::new().register(&PID));
    ///
    /// let pool = ProcessPool::builder().workers(3).build();
    /// assert_eq!(pool.workers(), 3);
    /// let pid = futures_lite::future::block_on(pool.run(&PID, ())).unwrap();
    /// assert_ne!(pid, std::process::id());
    /// ```
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n.max(1);
        self
    }

    /// The worker program (default: [`std::env::current_exe`]). It must
    /// call [`worker_main_if_child`](crate::process::worker_main_if_child) with a
    /// registry holding the jobs this pool runs.
    ///
    /// ```
    /// use eddy_blocking::process::{PoolError, ProcessJob, ProcessPool};
    /// static NOP: ProcessJob<(), ()> = ProcessJob::new("nop", |()| ());
    ///
    /// let pool = ProcessPool::builder().workers(1).program("/no/such/worker").build();
    /// let err = futures_lite::future::block_on(pool.run(&NOP, ())).unwrap_err();
    /// assert!(matches!(err, PoolError::Spawn(_)));
    /// ```
    pub fn program(mut self, path: impl Into<PathBuf>) -> Self {
        self.program = Some(path.into());
        self
    }

    /// Extra command-line arguments for each worker.
    ///
    /// ```
    /// use eddy_blocking::process::{ProcessJob, ProcessPool, Registry, worker_main_if_child};
    /// static ARGS: ProcessJob<(), Vec<String>> = ProcessJob::new("args", |()| std::env::args().skip(1).collect());
    /// worker_main_if_child(&Registry::new().register(&ARGS));
    ///
    /// let pool = ProcessPool::builder().workers(1).arg("--worker-flag").build();
    /// let args = futures_lite::future::block_on(pool.run(&ARGS, ())).unwrap();
    /// assert_eq!(args, vec!["--worker-flag".to_string()]);
    /// ```
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Replace a worker after it has run this many jobs (Python's
    /// `max_tasks_per_child`): bounds leaks in job code.
    ///
    /// ```
    /// use eddy_blocking::process::{ProcessJob, ProcessPool, Registry, worker_main_if_child};
    /// static PID: ProcessJob<(), u32> = ProcessJob::new("pid", |()| std::process::id());
    /// worker_main_if_child(&Registry::new().register(&PID));
    ///
    /// let pool = ProcessPool::builder().workers(1).max_tasks_per_child(1).build();
    /// let a = futures_lite::future::block_on(pool.run(&PID, ())).unwrap();
    /// let b = futures_lite::future::block_on(pool.run(&PID, ())).unwrap();
    /// assert_ne!(a, b, "each job got a fresh worker");
    /// ```
    pub fn max_tasks_per_child(mut self, n: u64) -> Self {
        self.max_tasks_per_child = Some(n.max(1));
        self
    }

    /// Default time limit per job; a job over it has its worker killed and
    /// replaced, and fails with [`PoolError::Timeout`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use eddy_blocking::process::{PoolError, ProcessJob, ProcessPool, Registry, worker_main_if_child};
    /// static FOREVER: ProcessJob<(), ()> = ProcessJob::new("forever", |()| loop {
    ///     std::hint::spin_loop()
    /// });
    /// worker_main_if_child(&Registry::new().register(&FOREVER));
    ///
    /// let pool = ProcessPool::builder().workers(1).job_timeout(Duration::from_millis(50)).build();
    /// let err = futures_lite::future::block_on(pool.run(&FOREVER, ())).unwrap_err();
    /// assert!(matches!(err, PoolError::Timeout(_)));
    /// ```
    pub fn job_timeout(mut self, d: Duration) -> Self {
        self.job_timeout = Some(d);
        self
    }

    /// Largest frame (request or response) in bytes; default
    /// [`DEFAULT_MAX_FRAME`]. Bigger inputs fail with
    /// [`PoolError::InputTooLarge`], bigger outputs with
    /// [`PoolError::OutputTooLarge`].
    ///
    /// ```
    /// use eddy_blocking::process::{PoolError, ProcessJob, ProcessPool};
    /// static LEN: ProcessJob<Vec<u8>, usize> = ProcessJob::new("len", |v| v.len());
    ///
    /// // Rejected before anything is sent, so no worker is needed here.
    /// let pool = ProcessPool::builder().workers(1).program("/no/such/worker").max_frame(1024).build();
    /// let err = futures_lite::future::block_on(pool.run(&LEN, vec![0; 4096])).unwrap_err();
    /// assert!(matches!(err, PoolError::InputTooLarge { limit: 1024, .. }));
    /// ```
    pub fn max_frame(mut self, bytes: usize) -> Self {
        self.max_frame = bytes.clamp(ENVELOPE * 2, u32::MAX as usize);
        self
    }

    /// A job each worker runs once when it starts, before any other job
    /// (Python's `initializer`/`initargs`). Its output is discarded; if it
    /// fails, the job that needed the worker fails with
    /// [`PoolError::Initializer`].
    ///
    /// # Errors
    ///
    /// [`PoolError::Encode`] if `arg` cannot be serialized.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use eddy_blocking::process::{ProcessJob, ProcessPool, Registry, worker_main_if_child};
    ///
    /// static SCALE: AtomicU64 = AtomicU64::new(1);
    /// static INIT: ProcessJob<u64, ()> = ProcessJob::new("init", |s| SCALE.store(s, Ordering::SeqCst));
    /// static SCALED: ProcessJob<u64, u64> = ProcessJob::new("scaled", |x| x * SCALE.load(Ordering::SeqCst));
    /// worker_main_if_child(&Registry::new().register(&INIT).register(&SCALED));
    ///
    /// let pool = ProcessPool::builder().workers(1).initializer(&INIT, &10).unwrap().build();
    /// assert_eq!(futures_lite::future::block_on(pool.run(&SCALED, 4)).unwrap(), 40);
    /// ```
    pub fn initializer<A: Serialize, R>(
        mut self,
        job: &'static ProcessJob<A, R>,
        arg: &A,
    ) -> Result<Self, PoolError> {
        let bytes = postcard::to_stdvec(arg).map_err(|e| PoolError::Encode(e.to_string()))?;
        self.initializer = Some((job.name(), bytes));
        Ok(self)
    }

    /// Starts the pool: one manager thread per worker, each of which starts
    /// its worker process at once.
    ///
    /// Starting cannot fail here: a worker that cannot be started makes the
    /// jobs sent to it fail with [`PoolError::Spawn`].
    ///
    /// ```
    /// use eddy_blocking::process::{ProcessJob, ProcessPool, Registry, worker_main_if_child};
    /// static NEG: ProcessJob<i64, i64> = ProcessJob::new("neg", |x| -x);
    /// worker_main_if_child(&Registry::new().register(&NEG));
    ///
    /// let pool = ProcessPool::builder().workers(1).build();
    /// assert_eq!(futures_lite::future::block_on(pool.run(&NEG, 5)).unwrap(), -5);
    /// ```
    pub fn build(self) -> ProcessPool {
        let (tx, rx) = crossbeam_channel::unbounded::<Task>();
        let (stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(0);
        let (done_tx, done_rx) = crossbeam_channel::bounded::<()>(0);
        let shared = Arc::new(Shared {
            config: self,
            pids: Mutex::new(Vec::new()),
            started: AtomicU64::new(0),
            next_id: AtomicU64::new(wire::HELLO_ID + 1),
        });
        lock(&shared.pids).resize(shared.config.workers, None);
        // A program that builds a pool inside a worker did not call
        // `worker_main_if_child` first; starting workers from it would
        // recurse without end, so such a pool starts none.
        let nested = crate::process::is_worker();
        let managers = (0..shared.config.workers)
            .map(|i| {
                let done = done_tx.clone();
                let m = Manager {
                    shared: Arc::clone(&shared),
                    index: i,
                    tasks: rx.clone(),
                    stop: stop_rx.clone(),
                    proc: None,
                    healthy: !nested,
                    nested,
                };
                std::thread::Builder::new()
                    .name(format!("eddy-process-{i}"))
                    .spawn(move || {
                        m.run();
                        drop(done);
                    })
            })
            .filter_map(Result::ok)
            .collect();
        ProcessPool {
            tx: Some(tx),
            stop: Some(stop_tx),
            done: done_rx,
            managers,
            shared,
        }
    }
}
