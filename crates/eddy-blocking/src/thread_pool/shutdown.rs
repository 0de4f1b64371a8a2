//! Shutting a pool down: [`ThreadPool::shutdown`] and its report.

use std::fmt;
use std::panic::Location;
use std::time::Duration;

use super::{ThreadPool, lock};
use crate::job::BlockingError;

impl ThreadPool {
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
    /// [`CancelToken`]: crate::CancelToken
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
