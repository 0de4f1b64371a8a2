//! [`ChildBuilder`]: spawning one child, and the future a child runs.

use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use eddy_core::{TaskId, TaskMeta};
use pin_project_lite::pin_project;

use super::{Child, ChildError, GroupTask, Shared, TaskGroupHandle, Wakers};
use crate::error::{CaughtPanic, ChildFailure, ChildOutput, Failure, FailureKind, is_cancellation};
use crate::oneshot;
use crate::set::lock;

/// Why a child could not be spawned.
///
/// ```
/// # eddy::run(async {
/// # let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
/// use eddy_scope::GroupSpawnError;
///
/// let tg = eddy_scope::TaskGroup::new_in(spawner);
/// let handle = tg.handle();
/// tg.join().await.unwrap();
/// let e = handle.try_spawn(async {}).unwrap_err();
/// assert_eq!(e, GroupSpawnError::Closed);
/// assert_eq!(e.to_string(), "the task group has finished and accepts no new tasks");
///
/// let tg = eddy_scope::TaskGroup::new_in(handle_spawner());
/// tg.cancel();
/// assert_eq!(tg.try_spawn(async {}).unwrap_err(), GroupSpawnError::Cancelling);
/// tg.join().await.unwrap();
/// # });
/// # fn handle_spawner() -> std::sync::Arc<dyn eddy_core::Spawn> {
/// #     std::sync::Arc::new(eddy::Handle::current().executor().clone())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupSpawnError {
    /// The group is shutting down: a child or the body failed, or it was
    /// cancelled ([`TaskGroupHandle::cancel`]). asyncio 3.12+ raises
    /// `RuntimeError("TaskGroup is shutting down")` here. Children may
    /// still be finishing; nothing new starts.
    Cancelling,
    /// The group has been joined (all children finished) or dropped: like
    /// spawning into an `async with TaskGroup()` block that has exited.
    Closed,
    /// The executor has shut down.
    Shutdown,
}

impl fmt::Display for GroupSpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GroupSpawnError::Cancelling => {
                "the task group is shutting down and accepts no new tasks"
            }
            GroupSpawnError::Closed => "the task group has finished and accepts no new tasks",
            GroupSpawnError::Shutdown => "the executor has shut down",
        })
    }
}

impl std::error::Error for GroupSpawnError {}

/// Options for one child of a task group; see [`TaskGroupHandle::builder`].
///
/// ```
/// # eddy::run(async {
/// # let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
/// use std::time::Duration;
///
/// let tg = eddy_scope::TaskGroup::new_in(spawner);
/// let builder: eddy_scope::ChildBuilder<'_> = tg.builder().name("flusher");
/// let t = builder.grace(Duration::from_millis(50)).spawn(async {});
/// assert_eq!(t.name(), Some("flusher"));
/// tg.join().await.unwrap();
/// # });
/// ```
#[derive(Debug)]
pub struct ChildBuilder<'a> {
    pub(super) group: &'a TaskGroupHandle,
    pub(super) meta: TaskMeta,
    pub(super) grace: Option<Duration>,
}

impl ChildBuilder<'_> {
    /// Names the child: the name is the task's name in the executor and in
    /// failures.
    ///
    /// ```
    /// # eddy::run(async {
    /// # let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
    /// let tg = eddy_scope::TaskGroup::new_in(spawner);
    /// let t = tg.builder().name("worker-1").spawn(async { Err::<(), _>("boom") });
    /// assert_eq!(t.name(), Some("worker-1"));
    /// let err = tg.join().await.unwrap_err();
    /// assert_eq!(err.failures()[0].name(), Some("worker-1")); // also in failures
    /// # });
    /// ```
    pub fn name(mut self, name: impl Into<Arc<str>>) -> Self {
        self.meta = self.meta.with_name(name);
        self
    }

    /// How long the child may take to finish after it is asked to (see
    /// [`TaskGroup`](crate::TaskGroup)'s docs); overrides the group's default.
    ///
    /// ```
    /// use std::time::Duration;
    /// # eddy::run(async {
    /// # let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
    /// let tg = eddy_scope::TaskGroup::new_in(spawner);
    /// let child = tg.builder().grace(Duration::from_secs(1)).spawn(async {
    ///     eddy::task::cancel_requested().await;
    ///     eddy::yield_now().await; // awaited cleanup
    ///     Ok::<_, String>("flushed")
    /// });
    /// tg.cancel();
    /// tg.join().await.unwrap();
    /// assert_eq!(child.await, Ok("flushed"));
    /// # });
    /// ```
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = Some(grace);
        self
    }

    /// Spawns the child; see [`TaskGroupHandle::spawn`] for what happens
    /// when the group is cancelling.
    ///
    /// # Panics
    ///
    /// As [`TaskGroupHandle::spawn`]: when the group is closed or the
    /// executor has shut down.
    ///
    /// ```
    /// # eddy::run(async {
    /// # let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
    /// let tg = eddy_scope::TaskGroup::new_in(spawner);
    /// let t = tg.builder().name("answer").spawn(async { Ok::<_, String>(42) });
    /// tg.join().await.unwrap();
    /// assert_eq!(t.await, Ok(42));
    /// # });
    /// ```
    pub fn spawn<F>(self, future: F) -> GroupTask<<F::Output as ChildOutput>::Ok>
    where
        F: Future + Send + 'static,
        F::Output: ChildOutput,
        <F::Output as ChildOutput>::Ok: Send + 'static,
    {
        let name = self.meta.name_arc();
        match self.try_spawn(future) {
            Ok(t) => t,
            Err(e @ GroupSpawnError::Cancelling) => GroupTask::not_started(name, e),
            Err(e) => panic!("{e}"),
        }
    }

    /// Spawns the child.
    ///
    /// # Errors
    ///
    /// As [`TaskGroupHandle::try_spawn`].
    ///
    /// ```
    /// # eddy::run(async {
    /// # let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
    /// let tg = eddy_scope::TaskGroup::new_in(spawner);
    /// let h = tg.handle();
    /// let t = h.builder().name("early").try_spawn(async {}).unwrap();
    /// tg.join().await.unwrap();
    /// assert_eq!(t.await, Ok(()));
    /// let late = h.builder().name("late").try_spawn(async {});
    /// assert_eq!(late.unwrap_err(), eddy_scope::GroupSpawnError::Closed);
    /// # });
    /// ```
    pub fn try_spawn<F>(
        self,
        future: F,
    ) -> Result<GroupTask<<F::Output as ChildOutput>::Ok>, GroupSpawnError>
    where
        F: Future + Send + 'static,
        F::Output: ChildOutput,
        <F::Output as ChildOutput>::Ok: Send + 'static,
    {
        let shared = &self.group.shared;
        let (tx, rx) = oneshot::channel();
        let name = self.meta.name_arc();
        let (key, seq) = {
            let mut st = lock(&shared.state);
            let grace = self.grace.unwrap_or(st.grace);
            if st.closed {
                return Err(GroupSpawnError::Closed);
            }
            if st.cancel.is_some() {
                // asyncio 3.12+: a group that is shutting down starts nothing new.
                return Err(GroupSpawnError::Cancelling);
            }
            let seq = st.next_seq;
            st.next_seq += 1;
            let key = st.children.insert(Child {
                seq,
                task: None,
                grace,
                requested: false,
                hard: false,
                hard_at: None,
            });
            (key, seq)
        };
        let child = ChildFuture {
            stage: Stage::Running { fut: future },
            guard: Guard {
                shared: shared.clone(),
                key,
                seq,
                name: name.clone(),
                tx: Some(tx),
            },
        };
        // Spawn without the lock: a failed spawn drops the child, whose guard
        // takes the lock.
        let task = shared
            .spawner
            .spawn_boxed(Box::pin(child), self.meta)
            .map_err(|_| GroupSpawnError::Shutdown)?;
        let id = task.id();
        let leftover = {
            let mut st = lock(&shared.state);
            match st.children.get_mut(key) {
                Some(c) if c.seq == seq => {
                    let mut task = task;
                    if c.hard {
                        task.cancel();
                    } else if c.requested {
                        task.request_cancel();
                    }
                    c.task = Some(task);
                    None
                }
                // Already finished, maybe before its id was known: fill it in.
                _ => {
                    for f in st.failures.iter_mut() {
                        if f.child == Some(seq) && f.task.is_none() {
                            f.task = Some(id);
                        }
                    }
                    Some(task)
                }
            }
        };
        drop(leftover);
        Ok(GroupTask {
            rx,
            id: Some(id),
            name,
            link: Some((shared.clone(), key, seq)),
        })
    }
}

pin_project! {
    #[project = StageProj]
    enum Stage<F> {
        Running { #[pin] fut: F },
        Done,
    }
}

pin_project! {
    /// The future a child task runs: the user's future, panic capture and
    /// the bookkeeping that reports the outcome to the group. Fields drop in
    /// order, so the user's future is gone before the guard tells the group
    /// the child has finished.
    struct ChildFuture<F, T> {
        #[pin]
        stage: Stage<F>,
        guard: Guard<T>,
    }
}

struct Guard<T> {
    shared: Arc<Shared>,
    key: usize,
    seq: u64,
    name: Option<Arc<str>>,
    /// `None` once the outcome was sent; dropping it unsent means cancelled.
    tx: Option<oneshot::Sender<Result<T, ChildError>>>,
}

impl<F> Future for ChildFuture<F, <F::Output as ChildOutput>::Ok>
where
    F: Future,
    F::Output: ChildOutput,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        let polled = match this.stage.as_mut().project() {
            StageProj::Running { fut } => catch_unwind(AssertUnwindSafe(|| fut.poll(cx))),
            StageProj::Done => return Poll::Ready(()),
        };
        let outcome = match polled {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(out)) => out.into_result().map_err(FailureKind::Error),
            Err(payload) => Err(FailureKind::Panic(CaughtPanic::new(payload))),
        };
        // Drop the finished future now so its cleanup is done before anyone
        // hears about the outcome; a panicking destructor is a failure too.
        let dropped = catch_unwind(AssertUnwindSafe(|| this.stage.set(Stage::Done)));
        let outcome = match (outcome, dropped) {
            (Ok(_), Err(payload)) => Err(FailureKind::Panic(CaughtPanic::new(payload))),
            (o, _) => o,
        };
        let guard = this.guard;
        let tx = guard.tx.take();
        match outcome {
            Ok(v) => {
                if let Some(tx) = tx {
                    tx.send(Ok(v));
                }
            }
            // A re-raised cancellation: cancelled, not failed (the unsent
            // outcome tells the handle so).
            Err(kind) if is_cancellation(&kind) => drop(tx),
            Err(kind) => {
                let kind = Arc::new(kind);
                if let Some(tx) = tx {
                    tx.send(Err(ChildError::Failed(ChildFailure { kind: kind.clone() })));
                }
                guard.shared.record(Failure {
                    task: current_id(&guard.shared, guard.key, guard.seq),
                    child: Some(guard.seq),
                    name: guard.name.clone(),
                    kind,
                });
            }
        }
        Poll::Ready(())
    }
}

fn current_id(shared: &Shared, key: usize, seq: u64) -> Option<TaskId> {
    let st = lock(&shared.state);
    st.children
        .get(key)
        .filter(|c| c.seq == seq)
        .and_then(|c| c.task.as_ref().map(|t| t.id()))
}

impl<T> Drop for Guard<T> {
    fn drop(&mut self) {
        // An unsent outcome tells the handle "cancelled" when `tx` drops.
        let (task, waker) = {
            let mut st = lock(&self.shared.state);
            let task = match st.children.get(self.key) {
                Some(c) if c.seq == self.seq => st.children.remove(self.key).task,
                _ => None,
            };
            let waker = if st.children.is_empty() {
                st.wake()
            } else {
                Wakers(Vec::new())
            };
            (task, waker)
        };
        drop(task);
        waker.wake();
    }
}
