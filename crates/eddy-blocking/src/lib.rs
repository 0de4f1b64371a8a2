//! eddy's blocking layer.
#![forbid(unsafe_code)]

mod job;
mod oneshot;
pub mod process;
mod thread_pool;

pub use job::{BlockingError, CancelToken, Cancelled, Job};
pub use thread_pool::{
    DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_THREADS, DEFAULT_QUEUE_CAPACITY, EnterGuard, Executor,
    LeftBehind, ShutdownReport, ThreadPool, ThreadPoolBuilder, Unblock, run_in_executor,
    run_in_executor_cancellable, to_thread, unblock, unblock_cancellable,
};
