//! The parent side: worker processes, one manager thread each.
//!
//! This module holds [`ProcessPool`] and the state it shares with its
//! manager threads; `builder` configures a pool, `run` has the futures of
//! its jobs and `worker` the manager threads that start, feed, reap and
//! replace the worker processes.

use std::collections::VecDeque;
use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::PoolError;
use super::registry::ProcessJob;
use super::wire::ENVELOPE;
use crate::oneshot;

mod builder;
mod run;
mod worker;

pub use builder::ProcessPoolBuilder;
pub use run::{Map, Run};

/// One request waiting for a worker.
struct Task {
    job: &'static str,
    input: Vec<u8>,
    timeout: Option<Duration>,
    reply: oneshot::Sender<Result<Vec<u8>, PoolError>>,
    /// Disconnects when the awaiter is dropped.
    cancel: Receiver<()>,
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
