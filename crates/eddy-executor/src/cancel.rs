//! Cancelling a task without owning its handle.

use std::fmt;
use std::sync::Arc;

use eddy_core::TaskId;

use crate::executor::context::worker_shared;
use crate::executor::shared::{CANCEL, CANCEL_REQUESTED, Shared};
use crate::task::{Task, current_task_key, note_flag_on};

/// A cloneable, `Send + Sync` handle that cancels one task.
///
/// Made by [`Task::cancel_handle`](crate::Task::cancel_handle), or inside a
/// task by [`CancelHandle::current`] (asyncio's
/// `asyncio.current_task().cancel()`). It does not keep the task alive and
/// does not give its output: it only asks, like [`Task::cancel`] and
/// [`Task::request_cancel`]. Once the task is gone, every call is a no-op.
///
/// [`Task::cancel`]: crate::Task::cancel
/// [`Task::request_cancel`]: crate::Task::request_cancel
///
/// ```
/// use eddy_core::JoinError;
///
/// # let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
/// # ex.block_on(async {
/// let worker = eddy_executor::spawn(std::future::pending::<()>());
/// let stop = worker.cancel_handle();
/// let watchdog = eddy_executor::spawn(async move {
///     // ...decides the worker must go.
///     stop.cancel()
/// });
/// assert!(watchdog.await.unwrap());
/// assert!(matches!(worker.await, Err(JoinError::Cancelled)));
/// # });
/// ```
#[derive(Clone)]
pub struct CancelHandle {
    shared: Arc<Shared>,
    key: u32,
    id: TaskId,
}

impl CancelHandle {
    pub(crate) fn new(shared: Arc<Shared>, key: u32, id: TaskId) -> CancelHandle {
        CancelHandle { shared, key, id }
    }

    /// A cancel handle for the task being polled on this thread; `None`
    /// outside a task (a `block_on` future is not a task).
    ///
    /// A task that cancels itself and then returns without suspending ends
    /// cancelled, as in asyncio.
    ///
    /// ```
    /// use eddy_core::JoinError;
    /// use eddy_executor::CancelHandle;
    ///
    /// # let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// # ex.block_on(async {
    /// assert!(CancelHandle::current().is_none());
    /// let t = eddy_executor::spawn(async {
    ///     CancelHandle::current().unwrap().cancel();
    ///     "never seen"
    /// });
    /// assert!(matches!(t.await, Err(JoinError::Cancelled)));
    /// # });
    /// ```
    pub fn current() -> Option<CancelHandle> {
        let (id, key) = current_task_key()?;
        // The worker context, not the current handle: a task of a
        // `LocalSet` belongs to the set, not to the runtime around it.
        let shared = worker_shared()?;
        Some(CancelHandle::new(shared, key, id))
    }

    /// The task's id.
    ///
    /// ```
    /// # let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// # ex.block_on(async {
    /// let t = eddy_executor::spawn(async {});
    /// assert_eq!(t.cancel_handle().id(), t.id());
    /// # });
    /// ```
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// Cancels the task, as [`Task::cancel`](crate::Task::cancel) does.
    ///
    /// Returns `false` when the task is gone already or a cancel handle
    /// asked before (a cancel handle does not see requests made through the
    /// `Task` itself).
    ///
    /// ```
    /// # let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// # ex.block_on(async {
    /// let t = eddy_executor::spawn(std::future::pending::<()>());
    /// let (a, b) = (t.cancel_handle(), t.cancel_handle());
    /// assert!(a.cancel());
    /// assert!(!b.cancel()); // the same task was asked already
    /// assert!(t.await.unwrap_err().is_cancelled());
    /// assert!(!a.cancel()); // gone
    /// # });
    /// ```
    pub fn cancel(&self) -> bool {
        self.set(CANCEL)
    }

    /// Asks the task to finish early, as
    /// [`Task::request_cancel`](crate::Task::request_cancel) does. Returns
    /// whether the request was new, as for [`CancelHandle::cancel`].
    ///
    /// ```
    /// # let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// # ex.block_on(async {
    /// let t = eddy_executor::spawn(async {
    ///     eddy_executor::cancel_requested().await;
    ///     "cleaned up"
    /// });
    /// assert!(t.cancel_handle().request_cancel());
    /// assert_eq!(t.await.unwrap(), "cleaned up");
    /// # });
    /// ```
    pub fn request_cancel(&self) -> bool {
        self.set(CANCEL_REQUESTED)
    }

    /// `true` once the task is gone: its future dropped, its outcome stored.
    ///
    /// ```
    /// # let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// # ex.block_on(async {
    /// let t = eddy_executor::spawn(async {});
    /// let h = t.cancel_handle();
    /// assert!(!h.is_finished());
    /// t.await.unwrap();
    /// assert!(h.is_finished());
    /// # });
    /// ```
    pub fn is_finished(&self) -> bool {
        !self.shared.is_alive(self.key, self.id)
    }

    fn set(&self, flag: u8) -> bool {
        let new = self.shared.set_remote_flag(self.key, self.id, flag);
        if new {
            note_flag_on(self.id, flag);
        }
        new
    }
}

impl fmt::Debug for CancelHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelHandle")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

// Defined here rather than in task.rs: tasks sit below cancel handles in the
// crate's layering (see `tests/layers.rs`).
impl<T> Task<T> {
    /// A cloneable handle that cancels this task from places that do not own
    /// the `Task` (another task, a callback, a signal handler).
    ///
    /// ```
    /// use eddy_core::JoinError;
    ///
    /// # let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// # ex.block_on(async {
    /// let t = eddy_executor::spawn(std::future::pending::<()>());
    /// let h = t.cancel_handle();
    /// eddy_executor::spawn(async move { h.cancel() }).await.unwrap();
    /// assert!(matches!(t.await, Err(JoinError::Cancelled)));
    /// # });
    /// ```
    pub fn cancel_handle(&self) -> CancelHandle {
        let h = self.header();
        CancelHandle::new(h.shared.clone(), h.key, h.id)
    }
}
