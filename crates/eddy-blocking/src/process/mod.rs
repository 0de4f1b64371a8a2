//! A process pool for CPU-bound work: asyncio's `ProcessPoolExecutor`.
//!
//! Threads share one address space, so a thread pool is the right place for
//! blocking *I/O*, but CPU-bound jobs in Rust can also crash, leak or hog
//! memory. A [`ProcessPool`] runs them in separate worker processes started
//! from the current executable: a job that segfaults takes only its worker
//! with it, a job that runs too long is killed, and the pool carries on.
//!
//! # The model
//!
//! * A job is a plain function `fn(I) -> O` with serde input and output,
//!   declared as a [`ProcessJob`] `static` with a unique name.
//! * Every program that uses a pool calls [`worker_main_if_child`] first
//!   thing in `main`, with a [`Registry`] of its jobs. In the parent the call
//!   returns at once; in a process the pool started (marked by an
//!   environment variable) it serves jobs and exits, never returning.
//! * [`ProcessPool::run`] encodes the input with postcard, sends it down the
//!   worker's stdin as a length-prefixed frame, and resolves to the decoded
//!   output, or to a [`PoolError`] that says exactly what went wrong.
//! * Each worker has a manager thread in the parent that feeds it one job at
//!   a time, enforces timeouts, notices deaths, reaps every child (no
//!   zombies) and starts replacements.
//!
//! # Example
//!
//! ```
//! use eddy_blocking::process::{PoolError, ProcessJob, ProcessPool, Registry, worker_main_if_child};
//!
//! fn cpu_intensive(n: u64) -> u64 {
//!     (0..n).map(|i| i * i).sum()
//! }
//! static CPU_INTENSIVE: ProcessJob<u64, u64> = ProcessJob::new("cpu_intensive", cpu_intensive);
//!
//! fn main() {
//!     // In a worker this serves jobs and exits; in the parent it returns.
//!     worker_main_if_child(&Registry::new().register(&CPU_INTENSIVE));
//!
//!     let pool = ProcessPool::new(2);
//!     let (a, b) = futures_lite::future::block_on(async {
//!         let a = pool.run(&CPU_INTENSIVE, 1_000);
//!         let b = pool.run(&CPU_INTENSIVE, 2_000);
//!         (a.await, b.await)
//!     });
//!     assert_eq!(a.unwrap(), cpu_intensive(1_000));
//!     assert_eq!(b.unwrap(), cpu_intensive(2_000));
//!
//!     // Many inputs, at most 4 in flight, results in input order.
//!     let squares = futures_lite::future::block_on(pool.map(&CPU_INTENSIVE, [1, 2, 3], 4));
//!     let squares: Result<Vec<u64>, PoolError> = squares.into_iter().collect();
//!     assert_eq!(squares.unwrap(), vec![0, 1, 5]);
//! }
//! ```
//!
//! # Failures
//!
//! | what happens in the worker | the awaiter gets | the worker |
//! |---|---|---|
//! | the job panics (unwinding) | [`PoolError::Panicked`] | keeps serving |
//! | abort, signal, `exit(n)` | [`PoolError::WorkerDied`] with the [`Exit`] | replaced |
//! | over its timeout | [`PoolError::Timeout`] | killed, replaced |
//! | the awaiter is dropped | nothing (it left) | killed, replaced |
//! | unknown job name | [`PoolError::UnknownJob`] | keeps serving |
//! | input that fails to decode | [`PoolError::BadInput`] | keeps serving |
//! | output over the frame limit | [`PoolError::OutputTooLarge`] | keeps serving |

mod pool;
mod registry;
mod wire;

use std::fmt;
use std::time::Duration;

pub use pool::{Map, ProcessPool, ProcessPoolBuilder, Run};
pub use registry::{ProcessJob, Registry, is_worker, worker_main_if_child};

/// Default largest frame between the pool and a worker: 64 MiB.
pub const DEFAULT_MAX_FRAME: usize = 64 << 20;

/// How a worker process ended.
///
/// ```
/// use eddy_blocking::process::Exit;
///
/// assert_eq!(Exit::Code(3).to_string(), "exited with code 3");
/// assert_eq!(Exit::Signal(11).to_string(), "killed by signal 11 (SIGSEGV)");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this status code.
    Code(i32),
    /// A signal killed it.
    Signal(i32),
    /// Its status could not be read.
    Unknown,
}

impl Exit {
    /// The conventional name of a signal (`SIGSEGV` for 11), if known.
    ///
    /// ```
    /// assert_eq!(eddy_blocking::process::Exit::Signal(9).signal_name(), Some("SIGKILL"));
    /// assert_eq!(eddy_blocking::process::Exit::Code(0).signal_name(), None);
    /// ```
    pub fn signal_name(&self) -> Option<&'static str> {
        let Exit::Signal(s) = self else { return None };
        Some(match s {
            1 => "SIGHUP",
            2 => "SIGINT",
            3 => "SIGQUIT",
            4 => "SIGILL",
            5 => "SIGTRAP",
            6 => "SIGABRT",
            7 => "SIGBUS",
            8 => "SIGFPE",
            9 => "SIGKILL",
            11 => "SIGSEGV",
            13 => "SIGPIPE",
            14 => "SIGALRM",
            15 => "SIGTERM",
            _ => return None,
        })
    }
}

impl From<std::process::ExitStatus> for Exit {
    fn from(s: std::process::ExitStatus) -> Exit {
        use std::os::unix::process::ExitStatusExt;
        match (s.code(), s.signal()) {
            (Some(c), _) => Exit::Code(c),
            (None, Some(sig)) => Exit::Signal(sig),
            _ => Exit::Unknown,
        }
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exit::Code(c) => write!(f, "exited with code {c}"),
            Exit::Signal(s) => match self.signal_name() {
                Some(n) => write!(f, "killed by signal {s} ({n})"),
                None => write!(f, "killed by signal {s}"),
            },
            Exit::Unknown => f.write_str("ended with an unknown status"),
        }
    }
}

/// Why a process-pool job produced no output.
///
/// ```
/// use eddy_blocking::process::{Exit, PoolError};
///
/// let e = PoolError::WorkerDied { pid: 42, exit: Exit::Signal(6) };
/// assert_eq!(e.to_string(), "worker process 42 died while running the job: killed by signal 6 (SIGABRT)");
/// assert!(e.is_worker_death());
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum PoolError {
    /// The job panicked in the worker (which survives); the panic message
    /// if it was a string.
    Panicked(Option<String>),
    /// The worker process died while running the job; it has been replaced.
    WorkerDied {
        /// The dead worker's pid.
        pid: u32,
        /// How it ended.
        exit: Exit,
    },
    /// The job ran past its time limit; its worker was killed and replaced.
    Timeout(Duration),
    /// The worker's registry has no job with this name.
    UnknownJob(String),
    /// The worker could not decode the input as the job's input type.
    BadInput(String),
    /// The output could not be encoded (in the worker) or decoded (here).
    BadOutput(String),
    /// The input could not be encoded.
    Encode(String),
    /// The encoded input is over the frame limit; it was not sent.
    InputTooLarge {
        /// Encoded size in bytes.
        size: u64,
        /// The frame limit.
        limit: u64,
    },
    /// The encoded output is over the frame limit; the worker did not send it.
    OutputTooLarge {
        /// Encoded size in bytes.
        size: u64,
        /// The frame limit.
        limit: u64,
    },
    /// The worker broke the protocol (for example a malformed frame); it
    /// was killed and replaced.
    Protocol(String),
    /// A worker process could not be started.
    Spawn(std::io::Error),
    /// The pool's initializer failed in a new worker.
    Initializer(Box<PoolError>),
    /// The pool was dropped before the job finished.
    ShutDown,
}

impl PoolError {
    /// `true` for [`PoolError::WorkerDied`].
    ///
    /// ```
    /// assert!(!eddy_blocking::process::PoolError::ShutDown.is_worker_death());
    /// ```
    pub fn is_worker_death(&self) -> bool {
        matches!(self, PoolError::WorkerDied { .. })
    }
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolError::Panicked(Some(m)) => write!(f, "job panicked in the worker: {m}"),
            PoolError::Panicked(None) => f.write_str("job panicked in the worker"),
            PoolError::WorkerDied { pid, exit } => {
                write!(f, "worker process {pid} died while running the job: {exit}")
            }
            PoolError::Timeout(d) => write!(f, "job timed out after {d:?}; its worker was killed"),
            PoolError::UnknownJob(n) => write!(f, "no job named {n:?} is registered in the worker"),
            PoolError::BadInput(m) => write!(f, "the worker could not decode the job's input: {m}"),
            PoolError::BadOutput(m) => write!(f, "the job's output could not be transferred: {m}"),
            PoolError::Encode(m) => write!(f, "the job's input could not be encoded: {m}"),
            PoolError::InputTooLarge { size, limit } => {
                write!(
                    f,
                    "the job's input is {size} bytes, over the frame limit of {limit}"
                )
            }
            PoolError::OutputTooLarge { size, limit } => {
                write!(
                    f,
                    "the job's output is {size} bytes, over the frame limit of {limit}"
                )
            }
            PoolError::Protocol(m) => write!(f, "the worker broke the protocol: {m}"),
            PoolError::Spawn(e) => write!(f, "could not start a worker process: {e}"),
            PoolError::Initializer(e) => write!(f, "the worker initializer failed: {e}"),
            PoolError::ShutDown => f.write_str("the process pool shut down"),
        }
    }
}

impl std::error::Error for PoolError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PoolError::Spawn(e) => Some(e),
            PoolError::Initializer(e) => Some(&**e),
            _ => None,
        }
    }
}
