//! [`GroupTask`], the handle to one child, and [`ChildError`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use eddy_core::TaskId;

use super::{Child, GroupSpawnError, Shared};
use crate::error::ChildFailure;
use crate::oneshot::{self, Recv};
use crate::set::lock;

/// Why a child's handle gives no value.
///
/// ```
/// # eddy::run(async {
/// # let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
/// use eddy_scope::{ChildError, GroupSpawnError};
///
/// let tg = eddy_scope::TaskGroup::new_in(spawner);
/// let failed = tg.spawn(async { Err::<(), _>("boom") });
/// let cancelled = tg.spawn(std::future::pending::<()>());
/// assert!(tg.join().await.is_err()); // "boom" is in the GroupError...
/// let Err(ChildError::Failed(failure)) = failed.await else { unreachable!() };
/// assert_eq!(failure.to_string(), "boom"); // ...and the handle gives it too
/// assert_eq!(cancelled.await, Err(ChildError::Cancelled));
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ChildError {
    /// The child was cancelled: by the group (a sibling failed, the group
    /// was cancelled or dropped), by its handle, or it returned a
    /// cancellation error itself (a sibling's `ChildError::Cancelled` passed
    /// on with `?`, asyncio's re-raised `CancelledError`). A
    /// cancelled child is not a failure of the group.
    Cancelled,
    /// The child returned `Err` or panicked: its own error or panic
    /// (asyncio's `await task` re-raising the task's exception). The same
    /// failure is in the group's [`GroupError`](crate::GroupError).
    Failed(ChildFailure),
    /// The child was never started: the handle came from
    /// [`TaskGroupHandle::spawn`](crate::TaskGroupHandle::spawn) on a group
    /// that was already cancelling
    /// ([`GroupSpawnError::Cancelling`](crate::GroupSpawnError::Cancelling)).
    NotStarted(GroupSpawnError),
    /// The handle was awaited again after it had returned its outcome.
    AlreadyTaken,
}

impl ChildError {
    /// `true` for [`ChildError::Cancelled`].
    ///
    /// ```
    /// assert!(eddy_scope::ChildError::Cancelled.is_cancelled());
    /// assert!(!eddy_scope::ChildError::AlreadyTaken.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self, ChildError::Cancelled)
    }

    /// The child's own failure, for [`ChildError::Failed`].
    ///
    /// ```
    /// # eddy::run(async {
    /// let tg = eddy::TaskGroup::new();
    /// let t = tg.spawn(async { Err::<(), _>("boom") });
    /// let _ = tg.join().await;
    /// let e = t.await.unwrap_err();
    /// assert_eq!(e.failure().unwrap().to_string(), "boom");
    /// assert!(eddy_scope::ChildError::Cancelled.failure().is_none());
    /// # });
    /// ```
    pub fn failure(&self) -> Option<&ChildFailure> {
        match self {
            ChildError::Failed(f) => Some(f),
            _ => None,
        }
    }
}

impl fmt::Display for ChildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChildError::Cancelled => f.write_str("task group child was cancelled"),
            ChildError::Failed(e) => write!(f, "task group child failed: {e}"),
            ChildError::NotStarted(e) => write!(f, "task group child was not started: {e}"),
            ChildError::AlreadyTaken => f.write_str("task group child's outcome was already taken"),
        }
    }
}

impl std::error::Error for ChildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ChildError::Failed(e) => Some(e),
            ChildError::NotStarted(e) => Some(e),
            ChildError::Cancelled | ChildError::AlreadyTaken => None,
        }
    }
}

/// A handle to one child of a task group.
///
/// Awaiting it gives the child's value, or why there is none: the child's
/// own error or panic ([`ChildError::Failed`], the same failure the group's
/// [`GroupError`](crate::GroupError) holds), [`ChildError::Cancelled`], or
/// [`ChildError::NotStarted`]. Dropping the handle does nothing: the child
/// stays in the group.
///
/// Awaiting a handle again after it returned gives
/// `Err(ChildError::AlreadyTaken)`.
///
/// ```
/// # eddy::run(async {
/// # let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
/// let tg = eddy_scope::TaskGroup::new_in(spawner);
/// let t: eddy_scope::GroupTask<u32> = tg.spawn(async { Ok::<_, String>(7) });
/// tg.join().await.unwrap();
/// assert_eq!(t.await, Ok(7));
/// # });
/// ```
pub struct GroupTask<T> {
    pub(super) rx: oneshot::Receiver<Result<T, ChildError>>,
    pub(super) id: Option<TaskId>,
    pub(super) name: Option<Arc<str>>,
    pub(super) link: Option<(Arc<Shared>, usize, u64)>,
}

impl<T> GroupTask<T> {
    /// A handle that resolves at once to `ChildError::NotStarted(e)`.
    pub(super) fn not_started(name: Option<Arc<str>>, e: GroupSpawnError) -> GroupTask<T> {
        let (tx, rx) = oneshot::channel();
        tx.send(Err(ChildError::NotStarted(e)));
        GroupTask {
            rx,
            id: None,
            name,
            link: None,
        }
    }

    /// The child's task id (`None` if it was never started because the
    /// group was already cancelling).
    ///
    /// ```
    /// # eddy::run(async {
    /// # let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
    /// let tg = eddy_scope::TaskGroup::new_in(spawner);
    /// let t = tg.spawn(async { Ok::<_, String>(eddy::task::current_task_id()) });
    /// let id = t.id();
    /// tg.join().await.unwrap();
    /// assert_eq!(t.await.unwrap(), id);
    /// # });
    /// ```
    pub fn id(&self) -> Option<TaskId> {
        self.id
    }

    /// The child's name, if it was given one.
    ///
    /// ```
    /// # eddy::run(async {
    /// # let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
    /// let tg = eddy_scope::TaskGroup::new_in(spawner);
    /// let named = tg.builder().name("fetch").spawn(async {});
    /// let unnamed = tg.spawn(async {});
    /// assert_eq!(named.name(), Some("fetch"));
    /// assert_eq!(unnamed.name(), None);
    /// tg.join().await.unwrap();
    /// # });
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// `true` once the child has finished.
    ///
    /// ```
    /// # eddy::run(async {
    /// # let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
    /// let tg = eddy_scope::TaskGroup::new_in(spawner);
    /// let t = tg.spawn(std::future::pending::<()>());
    /// assert!(!t.is_finished());
    /// t.cancel();
    /// tg.join().await.unwrap();
    /// assert!(t.is_finished());
    /// # });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.rx.is_finished()
    }

    /// Cancels this child only (hard). The group does not count a cancelled
    /// child as a failure. Cancelling a finished child does nothing.
    ///
    /// ```
    /// # eddy::run(async {
    /// # let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
    /// let tg = eddy_scope::TaskGroup::new_in(spawner);
    /// let t = tg.spawn(std::future::pending::<()>());
    /// t.cancel();
    /// t.cancel(); // twice is once
    /// tg.join().await.unwrap();
    /// assert_eq!(t.await, Err(eddy_scope::ChildError::Cancelled));
    /// # });
    /// ```
    pub fn cancel(&self) {
        self.with_child(Child::cancel_hard);
    }

    /// Asks this child to finish (graceful cancellation); see
    /// [`TaskGroup`](crate::TaskGroup)'s docs.
    ///
    /// ```
    /// # eddy::run(async {
    /// # let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
    /// let tg = eddy_scope::TaskGroup::new_in(spawner);
    /// let t = tg.spawn(async {
    ///     eddy::task::cancel_requested().await;
    ///     Ok::<_, String>("stopped cleanly")
    /// });
    /// t.request_cancel();
    /// tg.join().await.unwrap();
    /// assert_eq!(t.await, Ok("stopped cleanly"));
    /// # });
    /// ```
    pub fn request_cancel(&self) {
        self.with_child(|c| {
            if !c.requested {
                c.requested = true;
                if let Some(t) = &mut c.task {
                    t.request_cancel();
                }
            }
        });
    }

    fn with_child(&self, f: impl FnOnce(&mut Child)) {
        if let Some((shared, key, seq)) = &self.link {
            let mut st = lock(&shared.state);
            if let Some(c) = st.children.get_mut(*key).filter(|c| c.seq == *seq) {
                f(c);
            }
        }
    }
}

impl<T> Future for GroupTask<T> {
    type Output = Result<T, ChildError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.rx.poll_recv(cx).map(|r| match r {
            Recv::Value(v) => v,
            Recv::Closed => Err(ChildError::Cancelled),
            Recv::Taken => Err(ChildError::AlreadyTaken),
        })
    }
}

impl<T> fmt::Debug for GroupTask<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupTask")
            .field("id", &self.id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}
