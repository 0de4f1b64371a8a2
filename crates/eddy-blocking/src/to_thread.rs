//! asyncio's `to_thread`: a blocking call that starts when awaited.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::job::{BlockingError, Plain};
use crate::thread_pool::{ThreadPool, Unblock};

/// Future returned by [`to_thread`].
///
/// Nothing runs until it is first polled: then `f` is queued on the pool
/// that was current when `to_thread` was called, and the future waits for
/// its result.
///
/// # Cancellation
///
/// Dropped before its first poll, it runs nothing (the closure is dropped,
/// like an asyncio coroutine that is never awaited). Dropped later, it
/// cancels the job as [`Unblock`] does: a job still queued never starts, a
/// running one runs to the end and its result is dropped.
#[must_use = "to_thread does nothing unless awaited"]
pub struct ToThread<F, T> {
    state: State<F, T>,
}

enum State<F, T> {
    NotStarted {
        f: F,
        pool: ThreadPool,
        location: &'static Location<'static>,
    },
    Started(Unblock<T>),
    /// Only while moving from `NotStarted` to `Started`.
    Moving,
}

// `F` is moved out before anything could pin it, and `Unblock` is `Unpin`:
// nothing here relies on a stable address.
impl<F, T> Unpin for ToThread<F, T> {}

impl<F, T> ToThread<F, T> {
    /// `true` once the job has been handed to the pool (the future has been
    /// polled).
    ///
    /// ```
    /// let job = eddy_blocking::to_thread(|| 1 + 1);
    /// assert!(!job.is_started());
    /// assert_eq!(futures_lite::future::block_on(job).unwrap(), 2);
    /// ```
    pub fn is_started(&self) -> bool {
        matches!(self.state, State::Started(_))
    }
}

impl<F, T> Future for ToThread<F, T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    type Output = Result<T, BlockingError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let State::NotStarted { .. } = this.state {
            let State::NotStarted { f, pool, location } =
                std::mem::replace(&mut this.state, State::Moving)
            else {
                unreachable!("matched NotStarted just above")
            };
            this.state = State::Started(pool.submit(Plain(f), location));
        }
        match &mut this.state {
            State::Started(job) => Pin::new(job).poll(cx),
            // Only if `submit` panicked in an earlier poll: the closure is
            // gone and never ran.
            _ => Poll::Ready(Err(BlockingError::NotRun)),
        }
    }
}

impl<F, T> fmt::Debug for ToThread<F, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToThread")
            .field("started", &self.is_started())
            .finish_non_exhaustive()
    }
}

/// Runs a blocking closure on a thread pool once awaited, like asyncio's
/// `asyncio.to_thread` (a coroutine: nothing happens until it is awaited).
///
/// The pool is the one [entered](ThreadPool::enter) on this thread when
/// `to_thread` is called (inside an eddy runtime: the runtime's pool), else
/// the process-wide [`ThreadPool::global`]. For the eager form, which queues
/// the job at once as `loop.run_in_executor` does, use
/// [`unblock`](crate::unblock).
///
/// # Errors
///
/// The future resolves to [`BlockingError`] when the closure panicked or the
/// job never ran (the pool shut down).
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicBool, Ordering};
///
/// let ran = Arc::new(AtomicBool::new(false));
/// let r = ran.clone();
/// let job = eddy_blocking::to_thread(move || r.store(true, Ordering::SeqCst));
/// drop(job); // never awaited: never runs
/// assert!(!ran.load(Ordering::SeqCst));
///
/// let n = futures_lite::future::block_on(eddy_blocking::to_thread(|| 7)).unwrap();
/// assert_eq!(n, 7);
/// ```
#[track_caller]
pub fn to_thread<F, T>(f: F) -> ToThread<F, T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let pool = ThreadPool::try_current().unwrap_or_else(|| ThreadPool::global().clone());
    ToThread {
        state: State::NotStarted {
            f,
            pool,
            location: Location::caller(),
        },
    }
}
