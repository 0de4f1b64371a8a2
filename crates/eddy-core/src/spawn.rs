use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::{JoinError, TaskId, TaskMeta};

/// A boxed, sendable future with no output: what [`Spawn`] runs.
pub type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A type-erased handle to a task started through [`Spawn`].
pub type DynTask = Box<dyn TaskControl>;

/// Control over a running task, without knowing its executor.
///
/// Dropping the handle detaches the task: it keeps running.
pub trait TaskControl: Send + Sync + Unpin + 'static {
    /// The task's id.
    fn id(&self) -> TaskId;

    /// Requests cancellation: the task's future is dropped at its next
    /// suspension point. Cancelling a finished task does nothing.
    fn cancel(&mut self);

    /// Asks the task to finish early without dropping it: the task can see
    /// the request and run asynchronous cleanup before returning (the
    /// graceful half of asyncio's cancellation). A task that never looks is
    /// unaffected; follow up with [`cancel`](TaskControl::cancel) after a
    /// grace period.
    fn request_cancel(&mut self);

    /// `true` once the task has completed, panicked or been cancelled.
    fn is_finished(&self) -> bool;

    /// Polls for the task's end: `Ok(())` when its future returned, otherwise
    /// why it did not.
    fn poll_join(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), JoinError>>;
}

impl Future for dyn TaskControl {
    type Output = Result<(), JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().poll_join(cx)
    }
}

/// Starts tasks without knowing the executor behind it.
///
/// Task groups, `gather` over tasks and the blocking pool's completion hooks
/// use this seam; tests can implement it with a fake that runs futures on a
/// local pool.
///
/// # Example
///
/// ```
/// use std::future::Future;
/// use std::pin::Pin;
/// use std::sync::{Arc, Mutex};
/// use std::task::{Context, Poll};
/// use eddy_core::{BoxFuture, DynTask, JoinError, Spawn, SpawnError, TaskControl, TaskId, TaskMeta};
///
/// /// A spawner that runs each future to completion immediately.
/// struct Inline;
///
/// struct Done(TaskId);
/// impl TaskControl for Done {
///     fn id(&self) -> TaskId { self.0 }
///     fn cancel(&mut self) {}
///     fn request_cancel(&mut self) {}
///     fn is_finished(&self) -> bool { true }
///     fn poll_join(&mut self, _: &mut Context<'_>) -> Poll<Result<(), JoinError>> {
///         Poll::Ready(Ok(()))
///     }
/// }
///
/// impl Spawn for Inline {
///     fn spawn_boxed(&self, fut: BoxFuture, _meta: TaskMeta) -> Result<DynTask, SpawnError> {
///         futures_lite::future::block_on(fut);
///         Ok(Box::new(Done(TaskId::next())))
///     }
/// }
///
/// let hits = Arc::new(Mutex::new(0));
/// let h = hits.clone();
/// let task = Inline
///     .spawn_boxed(Box::pin(async move { *h.lock().unwrap() += 1 }), TaskMeta::here())
///     .unwrap();
/// assert!(task.is_finished());
/// assert_eq!(*hits.lock().unwrap(), 1);
/// ```
pub trait Spawn: Send + Sync {
    /// Starts `future` as a new task described by `meta`.
    ///
    /// # Errors
    ///
    /// [`SpawnError`] when the executor has shut down and accepts no new work.
    fn spawn_boxed(&self, future: BoxFuture, meta: TaskMeta) -> Result<DynTask, SpawnError>;
}

/// A task could not be started because its executor has shut down.
///
/// ```
/// assert_eq!(eddy_core::SpawnError.to_string(), "the executor has shut down");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpawnError;

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the executor has shut down")
    }
}

impl std::error::Error for SpawnError {}
