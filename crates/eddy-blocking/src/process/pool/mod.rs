//! The parent side: worker processes, one manager thread each.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt;
use std::future::Future;
use std::io::{BufReader, BufWriter};
use std::marker::PhantomData;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, select};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::registry::ProcessJob;
use super::wire::{self, ENVELOPE, RemoteError, Request, Response};
use super::{DEFAULT_MAX_FRAME, Exit, PoolError};
use crate::oneshot;

/// One request waiting for a worker.
struct Task {
    job: &'static str,
    input: Vec<u8>,
    timeout: Option<Duration>,
    reply: oneshot::Sender<Result<Vec<u8>, PoolError>>,
    /// Disconnects when the awaiter is dropped.
    cancel: Receiver<()>,
}

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
    workers: usize,
    program: Option<PathBuf>,
    args: Vec<OsString>,
    max_tasks_per_child: Option<u64>,
    job_timeout: Option<Duration>,
    max_frame: usize,
    initializer: Option<(&'static str, Vec<u8>)>,
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
    /// call [`worker_main_if_child`](super::worker_main_if_child) with a
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
        let nested = super::is_worker();
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

struct Shared {
    config: ProcessPoolBuilder,
    pids: Mutex<Vec<Option<u32>>>,
    started: AtomicU64,
    next_id: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A pool of worker processes for CPU-bound jobs (asyncio's
/// `ProcessPoolExecutor`).
///
/// Jobs are [`ProcessJob`]s: plain functions with serde input and output,
/// looked up by name in the worker's [`Registry`](super::Registry). Each
/// worker runs one job at a time; jobs wait in an unbounded queue (use
/// [`ProcessPool::map`] for bounded in-flight work over many inputs).
///
/// A worker that dies (panic with `panic = "abort"`, abort, signal, exit)
/// fails only the job it was running, with [`PoolError::WorkerDied`]
/// saying how it died, and is replaced at once. Every child is reaped.
///
/// Dropping the pool kills its workers (running jobs fail with
/// [`PoolError::ShutDown`]), reaps them and joins the manager threads, so
/// no process outlives the pool.
///
/// See the [module documentation](super) for a complete example.
pub struct ProcessPool {
    tx: Option<Sender<Task>>,
    stop: Option<Sender<()>>,
    /// Disconnects when every manager thread has finished.
    done: Receiver<()>,
    managers: Vec<JoinHandle<()>>,
    shared: Arc<Shared>,
}

impl ProcessPool {
    /// A pool with `n` workers running the current executable.
    ///
    /// ```
    /// use eddy_blocking::process::{ProcessJob, ProcessPool, Registry, worker_main_if_child};
    /// static UPPER: ProcessJob<String, String> = ProcessJob::new("upper", |s: String| s.to_uppercase());
    /// worker_main_if_child(&Registry::new().register(&UPPER));
    ///
    /// let pool = ProcessPool::new(2);
    /// let s = futures_lite::future::block_on(pool.run(&UPPER, "eddy".to_string())).unwrap();
    /// assert_eq!(s, "EDDY");
    /// ```
    pub fn new(n: usize) -> ProcessPool {
        ProcessPool::builder().workers(n).build()
    }

    /// A builder with the defaults: one worker per CPU, the current
    /// executable, no timeout, no recycling.
    ///
    /// ```
    /// let b = eddy_blocking::process::ProcessPool::builder().workers(2);
    /// assert!(format!("{b:?}").contains("workers: 2"));
    /// ```
    pub fn builder() -> ProcessPoolBuilder {
        ProcessPoolBuilder::default()
    }

    /// Runs `job` with `input` in a worker and awaits its output.
    ///
    /// # Errors
    ///
    /// Every failure is a [`PoolError`]: the job panicked, its worker died
    /// (exit code or signal), it timed out, the job is not registered in the
    /// worker, the input or output failed to encode or decode or is over the
    /// frame limit, the worker could not be started, or the pool shut down.
    ///
    /// # Cancellation
    ///
    /// Dropping the future before it resolves cancels the job: if it is
    /// still queued it never starts; if it is running, its worker is killed
    /// (so it stops eating a core) and replaced.
    ///
    /// # Example
    ///
    /// ```
    /// use eddy_blocking::process::{PoolError, ProcessJob, ProcessPool, Registry, worker_main_if_child};
    /// static DIV: ProcessJob<(u32, u32), u32> = ProcessJob::new("div", |(a, b)| a / b);
    /// worker_main_if_child(&Registry::new().register(&DIV));
    ///
    /// let pool = ProcessPool::new(1);
    /// futures_lite::future::block_on(async {
    ///     assert_eq!(pool.run(&DIV, (10, 2)).await.unwrap(), 5);
    ///     // Division by zero panics in the worker: a typed error here.
    ///     assert!(matches!(pool.run(&DIV, (1, 0)).await, Err(PoolError::Panicked(_))));
    /// });
    /// ```
    pub fn run<I, O>(&self, job: &'static ProcessJob<I, O>, input: I) -> Run<O>
    where
        I: Serialize,
        O: DeserializeOwned,
    {
        self.submit(job, &input, self.shared.config.job_timeout)
    }

    /// Like [`ProcessPool::run`] with a time limit for this job (overrides
    /// the builder's [`job_timeout`](ProcessPoolBuilder::job_timeout)). The
    /// clock starts when a worker takes the job. A job over its limit has
    /// its worker killed and replaced and fails with [`PoolError::Timeout`].
    ///
    /// # Errors
    ///
    /// As [`ProcessPool::run`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use eddy_blocking::process::{PoolError, ProcessJob, ProcessPool, Registry, worker_main_if_child};
    /// static SPIN: ProcessJob<(), ()> = ProcessJob::new("spin", |()| loop {
    ///     std::hint::spin_loop()
    /// });
    /// worker_main_if_child(&Registry::new().register(&SPIN));
    ///
    /// let pool = ProcessPool::new(1);
    /// let r = futures_lite::future::block_on(pool.run_with_timeout(&SPIN, (), Duration::from_millis(50)));
    /// assert!(matches!(r, Err(PoolError::Timeout(_))));
    /// ```
    pub fn run_with_timeout<I, O>(
        &self,
        job: &'static ProcessJob<I, O>,
        input: I,
        timeout: Duration,
    ) -> Run<O>
    where
        I: Serialize,
        O: DeserializeOwned,
    {
        self.submit(job, &input, Some(timeout))
    }

    fn submit<I: Serialize, O>(
        &self,
        job: &'static ProcessJob<I, O>,
        input: &I,
        timeout: Option<Duration>,
    ) -> Run<O> {
        let (reply_tx, reply_rx) = oneshot::channel();
        let (cancel_tx, cancel_rx) = crossbeam_channel::bounded(0);
        let run = Run {
            reply: reply_rx,
            _cancel: cancel_tx,
            early: None,
            _out: PhantomData,
        };
        let input = match postcard::to_stdvec(input) {
            Ok(b) => b,
            Err(e) => return run.fail(PoolError::Encode(e.to_string())),
        };
        let limit = self.shared.config.max_frame;
        if input.len() + job.name().len() + ENVELOPE > limit {
            return run.fail(PoolError::InputTooLarge {
                size: input.len() as u64,
                limit: limit as u64,
            });
        }
        let task = Task {
            job: job.name(),
            input,
            timeout,
            reply: reply_tx,
            cancel: cancel_rx,
        };
        match &self.tx {
            Some(tx) if tx.send(task).is_ok() => run,
            _ => run.fail(PoolError::ShutDown),
        }
    }

    /// Runs `job` over every input with at most `max_in_flight` jobs
    /// submitted at once (at least 1), and resolves to the results in input
    /// order. Inputs are encoded as they are submitted, so memory stays
    /// bounded however long the input iterator is.
    ///
    /// # Cancellation
    ///
    /// Dropping the future cancels the jobs in flight (killing the workers
    /// running them) and submits no more.
    ///
    /// ```
    /// use eddy_blocking::process::{ProcessJob, ProcessPool, Registry, worker_main_if_child};
    /// static SQUARE: ProcessJob<u64, u64> = ProcessJob::new("square", |x| x * x);
    /// worker_main_if_child(&Registry::new().register(&SQUARE));
    ///
    /// let pool = ProcessPool::new(2);
    /// let out = futures_lite::future::block_on(pool.map(&SQUARE, 1..=5, 4));
    /// let out: Vec<u64> = out.into_iter().map(Result::unwrap).collect();
    /// assert_eq!(out, vec![1, 4, 9, 16, 25]);
    /// ```
    pub fn map<I, O, It>(
        &self,
        job: &'static ProcessJob<I, O>,
        inputs: It,
        max_in_flight: usize,
    ) -> Map<'_, I, O, It::IntoIter>
    where
        I: Serialize,
        O: DeserializeOwned,
        It: IntoIterator<Item = I>,
    {
        Map {
            pool: self,
            job,
            inputs: inputs.into_iter(),
            max_in_flight: max_in_flight.max(1),
            in_flight: VecDeque::new(),
            results: Vec::new(),
            next_index: 0,
            exhausted: false,
        }
    }

    /// Number of worker processes the pool keeps.
    ///
    /// ```
    /// let pool = eddy_blocking::process::ProcessPool::builder().workers(2).program("/no/such/worker").build();
    /// assert_eq!(pool.workers(), 2);
    /// ```
    pub fn workers(&self) -> usize {
        self.shared.config.workers
    }

    /// Pids of the worker processes alive now (a worker being replaced is
    /// missing for a moment).
    ///
    /// ```
    /// use eddy_blocking::process::{ProcessJob, ProcessPool, Registry, worker_main_if_child};
    /// static PID: ProcessJob<(), u32> = ProcessJob::new("pid", |()| std::process::id());
    /// worker_main_if_child(&Registry::new().register(&PID));
    ///
    /// let pool = ProcessPool::new(1);
    /// let pid = futures_lite::future::block_on(pool.run(&PID, ())).unwrap();
    /// assert_eq!(pool.worker_pids(), vec![pid]);
    /// ```
    pub fn worker_pids(&self) -> Vec<u32> {
        lock(&self.shared.pids).iter().flatten().copied().collect()
    }

    /// Worker processes started over the pool's life (initial ones and
    /// replacements).
    ///
    /// ```
    /// use eddy_blocking::process::{ProcessJob, ProcessPool, Registry, worker_main_if_child};
    /// static EXIT: ProcessJob<i32, ()> = ProcessJob::new("exit", |c| std::process::exit(c));
    /// static NOP: ProcessJob<(), ()> = ProcessJob::new("nop", |()| ());
    /// worker_main_if_child(&Registry::new().register(&EXIT).register(&NOP));
    ///
    /// let pool = ProcessPool::new(1);
    /// futures_lite::future::block_on(async {
    ///     assert!(pool.run(&EXIT, 7).await.unwrap_err().is_worker_death());
    ///     pool.run(&NOP, ()).await.unwrap(); // served by the replacement
    /// });
    /// assert_eq!(pool.workers_started(), 2);
    /// ```
    pub fn workers_started(&self) -> u64 {
        self.shared.started.load(Ordering::Relaxed)
    }
}

impl ProcessPool {
    /// Stops taking jobs, lets the queued and running ones finish for up to
    /// `grace`, then kills what is left (those jobs fail with
    /// [`PoolError::ShutDown`]) and reaps every worker, like leaving
    /// Python's `with ProcessPoolExecutor()` block. Returns `true` when
    /// every job finished within `grace`.
    ///
    /// Blocks the current thread for at most `grace` plus the time to kill
    /// and reap the workers.
    ///
    /// ```
    /// use std::time::Duration;
    /// use eddy_blocking::process::{ProcessJob, ProcessPool, Registry, worker_main_if_child};
    /// static DOUBLE: ProcessJob<u32, u32> = ProcessJob::new("double", |x| 2 * x);
    /// worker_main_if_child(&Registry::new().register(&DOUBLE));
    ///
    /// let pool = ProcessPool::new(1);
    /// let runs: Vec<_> = (0..4).map(|i| pool.run(&DOUBLE, i)).collect();
    /// assert!(pool.shutdown(Duration::from_secs(10)));
    /// // Jobs queued before the shutdown still ran.
    /// for (i, r) in runs.into_iter().enumerate() {
    ///     assert_eq!(futures_lite::future::block_on(r).unwrap(), 2 * i as u32);
    /// }
    /// ```
    pub fn shutdown(mut self, grace: Duration) -> bool {
        // Closing the queue lets each manager drain it and then exit.
        self.tx = None;
        let finished = matches!(
            self.done.recv_timeout(grace),
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) | Ok(())
        );
        drop(self); // kills whatever is still running, reaps, joins
        finished
    }
}

impl Drop for ProcessPool {
    fn drop(&mut self) {
        self.tx = None;
        self.stop = None;
        for m in self.managers.drain(..) {
            let _ = m.join();
        }
    }
}

impl fmt::Debug for ProcessPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessPool")
            .field("workers", &self.workers())
            .field("pids", &self.worker_pids())
            .finish()
    }
}

/// The future of one process-pool job; see [`ProcessPool::run`].
#[must_use = "dropping a Run cancels its job"]
pub struct Run<O> {
    reply: oneshot::Receiver<Result<Vec<u8>, PoolError>>,
    _cancel: Sender<()>,
    early: Option<PoolError>,
    _out: PhantomData<fn() -> O>,
}

impl<O> Run<O> {
    fn fail(mut self, e: PoolError) -> Run<O> {
        self.early = Some(e);
        self
    }
}

impl<O: DeserializeOwned> Future for Run<O> {
    type Output = Result<O, PoolError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Some(e) = this.early.take() {
            return Poll::Ready(Err(e));
        }
        match Pin::new(&mut this.reply).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(oneshot::Closed)) => Poll::Ready(Err(PoolError::ShutDown)),
            Poll::Ready(Ok(Err(e))) => Poll::Ready(Err(e)),
            Poll::Ready(Ok(Ok(bytes))) => Poll::Ready(
                postcard::from_bytes(&bytes).map_err(|e| PoolError::BadOutput(e.to_string())),
            ),
        }
    }
}

impl<O> fmt::Debug for Run<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Run")
    }
}

/// The future of [`ProcessPool::map`].
#[must_use = "futures do nothing unless awaited"]
pub struct Map<'a, I: 'static, O: 'static, It> {
    pool: &'a ProcessPool,
    job: &'static ProcessJob<I, O>,
    inputs: It,
    max_in_flight: usize,
    in_flight: VecDeque<(usize, Run<O>)>,
    results: Vec<Option<Result<O, PoolError>>>,
    next_index: usize,
    exhausted: bool,
}

// Nothing in a `Map` is pinned structurally: results and runs are moved
// freely, so it is `Unpin` whatever the output type.
impl<I, O, It: Unpin> Unpin for Map<'_, I, O, It> {}

impl<I, O, It> Future for Map<'_, I, O, It>
where
    I: Serialize,
    O: DeserializeOwned,
    It: Iterator<Item = I> + Unpin,
{
    type Output = Vec<Result<O, PoolError>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            while !this.exhausted && this.in_flight.len() < this.max_in_flight {
                let Some(input) = this.inputs.next() else {
                    this.exhausted = true;
                    break;
                };
                let i = this.next_index;
                this.next_index += 1;
                this.results.push(None);
                this.in_flight
                    .push_back((i, this.pool.run(this.job, input)));
            }
            let before = this.in_flight.len();
            let mut k = 0;
            while k < this.in_flight.len() {
                let (i, run) = &mut this.in_flight[k];
                match Pin::new(run).poll(cx) {
                    Poll::Ready(r) => {
                        this.results[*i] = Some(r);
                        this.in_flight.remove(k);
                    }
                    Poll::Pending => k += 1,
                }
            }
            if this.in_flight.is_empty() && this.exhausted {
                let results = std::mem::take(&mut this.results);
                return Poll::Ready(
                    results
                        .into_iter()
                        .map(|r| r.unwrap_or(Err(PoolError::ShutDown)))
                        .collect(),
                );
            }
            if this.in_flight.len() == before && !this.in_flight.is_empty() {
                return Poll::Pending;
            }
        }
    }
}

impl<I, O, It> fmt::Debug for Map<'_, I, O, It> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Map")
            .field("in_flight", &self.in_flight.len())
            .finish()
    }
}

/// A live worker process.
struct Proc {
    child: Child,
    stdin: BufWriter<ChildStdin>,
    frames: Receiver<Result<Vec<u8>, String>>,
    done: u64,
}

struct Manager {
    shared: Arc<Shared>,
    index: usize,
    tasks: Receiver<Task>,
    stop: Receiver<()>,
    proc: Option<Proc>,
    /// The last start succeeded: replace a dead worker at once. After a
    /// failed start, wait for a job to ask again (no respawn loops).
    healthy: bool,
    /// This process is itself a worker; never start workers from it.
    nested: bool,
}

/// How long a new worker may take to say hello.
const START_TIMEOUT: Duration = Duration::from_secs(30);

enum Outcome {
    Reply(Result<Vec<u8>, PoolError>),
    /// The awaiter left; the worker was killed.
    Cancelled,
    Stop,
}

impl Manager {
    fn run(mut self) {
        loop {
            if self.proc.is_none() && self.healthy {
                // Start (or replace) the worker now, so it is warm for the
                // next job. A failure is reported to the job that needs it.
                let _ = self.ensure_proc();
            }
            let never = crossbeam_channel::never();
            let frames = self.proc.as_ref().map_or(&never, |p| &p.frames);
            select! {
                recv(self.tasks) -> t => match t {
                    Ok(task) => {
                        if self.handle(task) {
                            break;
                        }
                    }
                    Err(_) => break,
                },
                recv(self.stop) -> _ => break,
                recv(frames) -> _ => {
                    // An idle worker died or spoke out of turn: replace it.
                    self.kill_and_reap();
                }
            }
        }
        self.kill_and_reap();
    }

    fn ensure_proc(&mut self) -> Result<(), PoolError> {
        if self.proc.is_some() {
            return Ok(());
        }
        if self.nested {
            return Err(PoolError::Spawn(std::io::Error::other(
                "a process pool cannot start workers from inside a worker: call \
                 worker_main_if_child at the start of main",
            )));
        }
        let r = self.start();
        self.healthy = r.is_ok();
        r
    }

    fn start(&mut self) -> Result<(), PoolError> {
        let shared = Arc::clone(&self.shared);
        let cfg = &shared.config;
        let program = match &cfg.program {
            Some(p) => p.clone(),
            None => std::env::current_exe().map_err(PoolError::Spawn)?,
        };
        let mut child = Command::new(program)
            .args(&cfg.args)
            .env(wire::ENV_WORKER, "1")
            .env(wire::ENV_PARENT, std::process::id().to_string())
            .env(wire::ENV_MAX_FRAME, cfg.max_frame.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(PoolError::Spawn)?;
        self.shared.started.fetch_add(1, Ordering::Relaxed);
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(PoolError::Spawn(std::io::Error::other(
                "worker pipes missing",
            )));
        };
        let (ftx, frx) = crossbeam_channel::unbounded();
        let max = cfg.max_frame;
        let reader = std::thread::Builder::new()
            .name(format!("eddy-process-{}-reader", self.index))
            .spawn(move || {
                let mut r = BufReader::new(stdout);
                loop {
                    match wire::read_frame(&mut r, max) {
                        Ok(Some(f)) => {
                            if ftx.send(Ok(f)).is_err() {
                                return;
                            }
                        }
                        Ok(None) => return,
                        Err(e) => {
                            let _ = ftx.send(Err(e.to_string()));
                            return;
                        }
                    }
                }
            });
        if let Err(e) = reader {
            let _ = child.kill();
            let _ = child.wait();
            return Err(PoolError::Spawn(e));
        }
        let pid = child.id();
        lock(&self.shared.pids)[self.index] = Some(pid);
        self.proc = Some(Proc {
            child,
            stdin: BufWriter::new(stdin),
            frames: frx,
            done: 0,
        });
        self.await_hello(pid)?;
        if let Some((name, arg)) = cfg.initializer.clone() {
            let (_keep, never_cancel) = crossbeam_channel::bounded(0);
            match self.exchange(name, &arg, None, &never_cancel) {
                Outcome::Reply(Ok(_)) => {}
                Outcome::Reply(Err(e)) => {
                    self.kill_and_reap();
                    return Err(PoolError::Initializer(Box::new(e)));
                }
                Outcome::Cancelled | Outcome::Stop => {
                    self.kill_and_reap();
                    return Err(PoolError::ShutDown);
                }
            }
        }
        Ok(())
    }

    /// Waits for a new worker's hello frame.
    fn await_hello(&mut self, pid: u32) -> Result<(), PoolError> {
        let Some(p) = &self.proc else {
            return Err(PoolError::ShutDown);
        };
        let frames = p.frames.clone();
        let hello = select! {
            recv(frames) -> f => f,
            recv(self.stop) -> _ => {
                self.kill_and_reap();
                return Err(PoolError::ShutDown);
            }
            recv(crossbeam_channel::after(START_TIMEOUT)) -> _ => {
                self.kill_and_reap();
                return Err(PoolError::Spawn(std::io::Error::other(format!(
                    "worker process {pid} did not start within {START_TIMEOUT:?}"
                ))));
            }
        };
        let ok = match hello {
            Ok(Ok(body)) => matches!(
                postcard::from_bytes::<Response>(&body),
                Ok(Response {
                    id: wire::HELLO_ID,
                    result: Ok(_)
                })
            ),
            _ => false,
        };
        if ok {
            return Ok(());
        }
        let exit = self.kill_and_reap().map_or(Exit::Unknown, Exit::from);
        Err(PoolError::Spawn(std::io::Error::other(format!(
            "worker process {pid} {exit} before it was ready: does the program call \
             eddy_blocking::process::worker_main_if_child at the start of main?"
        ))))
    }

    /// Runs one task; `true` means the pool is stopping.
    fn handle(&mut self, task: Task) -> bool {
        if matches!(
            task.cancel.try_recv(),
            Err(crossbeam_channel::TryRecvError::Disconnected)
        ) {
            return false; // cancelled while queued: never starts
        }
        if let Err(e) = self.ensure_proc() {
            task.reply.send(Err(e));
            return false;
        }
        let outcome = self.exchange(task.job, &task.input, task.timeout, &task.cancel);
        let stop = matches!(outcome, Outcome::Stop);
        match outcome {
            Outcome::Reply(r) => task.reply.send(r),
            Outcome::Cancelled => {}
            Outcome::Stop => task.reply.send(Err(PoolError::ShutDown)),
        }
        if let (Some(p), Some(max)) = (&mut self.proc, self.shared.config.max_tasks_per_child) {
            p.done += 1;
            if p.done >= max {
                self.retire();
            }
        }
        stop
    }

    /// Sends one request to the worker and waits for the answer, a timeout,
    /// a cancellation or a stop. Kills the worker on anything but an answer.
    fn exchange(
        &mut self,
        job: &str,
        input: &[u8],
        timeout: Option<Duration>,
        cancel: &Receiver<()>,
    ) -> Outcome {
        let Some(p) = &mut self.proc else {
            return Outcome::Reply(Err(PoolError::ShutDown));
        };
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let req = match postcard::to_stdvec(&Request { id, job, input }) {
            Ok(r) => r,
            Err(e) => return Outcome::Reply(Err(PoolError::Encode(e.to_string()))),
        };
        if wire::write_frame(&mut p.stdin, &req).is_err() {
            // The worker is gone; its exit status says how.
            return Outcome::Reply(Err(self.died()));
        }
        let deadline = timeout.map_or_else(crossbeam_channel::never, crossbeam_channel::after);
        let frames = p.frames.clone();
        select! {
            recv(frames) -> f => match f {
                Ok(Ok(body)) => match postcard::from_bytes::<Response>(&body) {
                    Ok(resp) if resp.id == id => Outcome::Reply(resp.result.map_err(PoolError::from)),
                    Ok(_) => {
                        self.kill_and_reap();
                        Outcome::Reply(Err(PoolError::Protocol("response to another request".into())))
                    }
                    Err(e) => {
                        self.kill_and_reap();
                        Outcome::Reply(Err(PoolError::Protocol(e.to_string())))
                    }
                },
                Ok(Err(msg)) => {
                    self.kill_and_reap();
                    Outcome::Reply(Err(PoolError::Protocol(msg)))
                }
                Err(_) => Outcome::Reply(Err(self.died())),
            },
            recv(cancel) -> _ => {
                self.kill_and_reap();
                Outcome::Cancelled
            }
            recv(deadline) -> _ => {
                self.kill_and_reap();
                Outcome::Reply(Err(PoolError::Timeout(timeout.unwrap_or_default())))
            }
            recv(self.stop) -> _ => {
                self.kill_and_reap();
                Outcome::Stop
            }
        }
    }

    /// The worker closed its pipe: reap it and say how it ended.
    fn died(&mut self) -> PoolError {
        let pid = self.proc.as_ref().map_or(0, |p| p.child.id());
        match self.kill_and_reap() {
            Some(status) => PoolError::WorkerDied {
                pid,
                exit: Exit::from(status),
            },
            None => PoolError::WorkerDied {
                pid,
                exit: Exit::Unknown,
            },
        }
    }

    /// Lets a worker that reached `max_tasks_per_child` exit on its own.
    fn retire(&mut self) {
        if let Some(mut p) = self.proc.take() {
            lock(&self.shared.pids)[self.index] = None;
            drop(p.stdin); // end of input: the worker exits
            // A worker that ignores the end of input is killed after a grace.
            let exited = matches!(
                p.frames.recv_timeout(Duration::from_secs(2)),
                Err(crossbeam_channel::RecvTimeoutError::Disconnected)
            );
            if !exited {
                let _ = p.child.kill();
            }
            let _ = p.child.wait();
        }
    }

    /// Kills the worker (a no-op if it already exited) and reaps it.
    fn kill_and_reap(&mut self) -> Option<ExitStatus> {
        let mut p = self.proc.take()?;
        lock(&self.shared.pids)[self.index] = None;
        // `Child::kill` does not signal a child that was already reaped, so
        // a recycled pid is never hit; a zombie ignores the signal and keeps
        // its real exit status.
        let _ = p.child.kill();
        let status = p.child.wait().ok();
        // The reader thread ends by itself at end of stream; it is not
        // joined, in case a grandchild still holds the pipe open.
        status
    }
}

impl From<RemoteError> for PoolError {
    fn from(e: RemoteError) -> PoolError {
        match e {
            RemoteError::UnknownJob(n) => PoolError::UnknownJob(n),
            RemoteError::BadInput(m) => PoolError::BadInput(m),
            RemoteError::BadOutput(m) => PoolError::BadOutput(m),
            RemoteError::Panicked(m) => PoolError::Panicked(m),
            RemoteError::OutputTooLarge { size, limit } => {
                PoolError::OutputTooLarge { size, limit }
            }
        }
    }
}
