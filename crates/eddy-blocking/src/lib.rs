//! eddy's blocking layer: a thread pool for blocking calls and a process
//! pool for CPU-bound work.
//!
//! An event loop runs many tasks on few threads, so one task that blocks
//! (a synchronous file read, a database driver without async support, a
//! long computation) stalls every other task on its thread. The answer,
//! as in asyncio, is to move such work elsewhere and `await` its result:
//!
//! ```text
//! Is the work I/O-bound?
//!   Yes -> is it all async-compatible?
//!            Yes -> plain async code on the runtime
//!            No  -> the thread pool:  unblock(|| blocking_io(path)).await
//!   No  -> is it CPU-bound?
//!            Yes -> the process pool: pool.run(&CPU_JOB, n).await
//! ```
//!
//! # The thread pool
//!
//! [`unblock`] runs a closure on a [`ThreadPool`] and returns a future of
//! its result; the job is submitted at once. [`to_thread`] is the lazy form,
//! like asyncio's coroutine: it submits nothing until first polled, and
//! dropped unpolled it runs nothing. The pool is *elastic*: a thread starts
//! when a job is queued and no thread is idle, up to a maximum (512 by
//! default), and a thread that has been idle for a while (10 s) exits. An
//! idle thread spins briefly before it sleeps, because waking a sleeping
//! thread costs far more than a short spin when jobs come one after another.
//! Jobs wait in a bounded queue; when it is full, submitting futures wait
//! for space (backpressure) instead of growing memory without bound.
//!
//! Each job is one allocation holding the closure, the result and the
//! awaiter's waker. Completion is signalled through the waker, so the
//! futures work under any executor.
//!
//! * A panic in the closure becomes [`BlockingError::Panicked`] for the
//!   awaiter; the pool thread survives.
//! * **Cancellation.** Blocking code cannot be interrupted, but it can
//!   cooperate: [`unblock_cancellable`] hands the closure a [`CancelToken`].
//!   Dropping the awaiting future (cancelled, timed out) sets the token, and
//!   a job still waiting in the queue never starts at all.
//! * **Shutdown.** [`ThreadPool::shutdown`] waits for queued and running
//!   jobs up to a grace period, then sets the tokens of the jobs still
//!   running and returns a [`ShutdownReport`] naming them (with the source
//!   location that submitted each): nothing is lost silently.
//! * **Any executor of closures.** [`run_in_executor`] takes anything that
//!   implements the small [`Executor`] trait, asyncio's
//!   `loop.run_in_executor(pool, f)`.
//!
//! [`fs`] builds asyncio's missing `aiofiles` on top: async `read`, `write`,
//! `metadata` and a [`fs::File`] with async reads and writes.
//!
//! ```
//! use eddy_blocking::{ThreadPool, unblock};
//!
//! fn blocking_io(path: &str) -> std::io::Result<String> {
//!     std::fs::read_to_string(path)
//! }
//!
//! let text = futures_lite::future::block_on(unblock(|| blocking_io("/proc/self/status")))
//!     .expect("the closure did not panic")
//!     .expect("readable");
//! assert!(text.contains("Pid"));
//! ```
//!
//! # The process pool
//!
//! [`process::ProcessPool`] runs CPU-bound jobs in worker processes started
//! from the current executable, which makes them as easy as asyncio's
//! `run_in_executor(ProcessPoolExecutor(), f, x)` and isolates their
//! crashes: a job that panics fails with `PoolError::Panicked` and its
//! worker keeps serving; a worker that aborts, segfaults or exits fails only
//! its own job (with its exit code or signal) and is replaced. Per-job timeouts
//! and cancelled awaits kill the worker, so an abandoned job never goes on
//! eating a core. See the [`process`] module for the model and a complete
//! example.
#![forbid(unsafe_code)]

pub mod fs;
mod job;
mod oneshot;
pub mod process;
mod thread_pool;
mod to_thread;

pub use job::{BlockingError, CancelToken, Cancelled, Job};
pub use thread_pool::{
    DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_THREADS, DEFAULT_QUEUE_CAPACITY, EnterGuard, Executor,
    LeftBehind, ShutdownReport, ThreadPool, ThreadPoolBuilder, Unblock, run_in_executor,
    run_in_executor_cancellable, unblock, unblock_cancellable,
};
pub use to_thread::{ToThread, to_thread};

#[cfg(test)]
mod tests {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}

    #[test]
    fn handles_cross_threads() {
        send_sync::<crate::ThreadPool>();
        send_sync::<crate::CancelToken>();
        send_sync::<crate::process::ProcessPool>();
        send::<crate::Unblock<Vec<u8>>>();
        send::<crate::Job>();
        send::<crate::process::Run<String>>();
        send::<crate::fs::File>();
        send_sync::<crate::Unblock<Vec<u8>>>();
    }
}
