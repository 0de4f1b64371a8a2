//! `TaskGroup`: asyncio 3.11's task group (trio's nursery) over any
//! [`Spawn`].

use std::fmt;
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use eddy_core::{DynTask, Spawn, TaskId, TaskMeta};
use eddy_timer::{Sleep, TimerHandle};
use pin_project_lite::pin_project;
use slab::Slab;

use crate::error::{CaughtPanic, ChildOutput, Failure, FailureKind, GroupError};
use crate::oneshot::{self, Recv};
use crate::set::lock;
use crate::timeout::deadline_after;

/// Why a child's handle gives no value.
///
/// ```
/// # eddy::run(async {
/// # let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
/// use eddy_scope::ChildError;
///
/// let tg = eddy_scope::TaskGroup::new_in(spawner);
/// let failed = tg.spawn(async { Err::<(), _>("boom") });
/// let cancelled = tg.spawn(std::future::pending::<()>());
/// assert!(tg.join().await.is_err()); // the error itself is in the GroupError
/// assert_eq!(failed.await, Err(ChildError::Failed));
/// assert_eq!(cancelled.await, Err(ChildError::Cancelled));
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChildError {
    /// The child was cancelled (by the group, by its handle, or because it
    /// was spawned into a group that was already cancelling).
    Cancelled,
    /// The child returned `Err` or panicked; the failure itself is in the
    /// group's [`GroupError`].
    Failed,
    /// The handle was awaited again after it had returned its outcome.
    AlreadyTaken,
}

impl fmt::Display for ChildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChildError::Cancelled => "task group child was cancelled",
            ChildError::Failed => {
                "task group child failed (its error is in the group's GroupError)"
            }
            ChildError::AlreadyTaken => "task group child's outcome was already taken",
        })
    }
}

impl std::error::Error for ChildError {}

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
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupSpawnError {
    /// The group has been joined (all children finished) or dropped: like
    /// spawning into an `async with TaskGroup()` block that has exited.
    Closed,
    /// The executor has shut down.
    Shutdown,
}

impl fmt::Display for GroupSpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GroupSpawnError::Closed => "the task group has finished and accepts no new tasks",
            GroupSpawnError::Shutdown => "the executor has shut down",
        })
    }
}

impl std::error::Error for GroupSpawnError {}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Cause {
    /// A child or the body failed.
    Failure,
    /// [`TaskGroupHandle::cancel`].
    Manual,
    /// The group was dropped before it was joined.
    Dropped,
}

struct Child {
    seq: u64,
    task: Option<DynTask>,
    grace: Duration,
    /// `request_cancel` was sent (or is owed once the handle arrives).
    requested: bool,
    /// `cancel` was sent (or is owed once the handle arrives).
    hard: bool,
    /// When a graceful cancellation turns hard.
    hard_at: Option<Instant>,
}

impl Child {
    fn cancel_hard(&mut self) {
        if !self.hard {
            self.hard = true;
            if let Some(t) = &mut self.task {
                t.cancel();
            }
        }
    }
}

struct State {
    children: Slab<Child>,
    failures: Vec<Failure>,
    cancel: Option<Cause>,
    closed: bool,
    waker: Option<Waker>,
    next_seq: u64,
    /// Default grace period of new children.
    grace: Duration,
}

impl State {
    fn wake(&mut self) -> Option<Waker> {
        self.waker.take()
    }

    /// Starts cancelling every child: children without grace are cancelled
    /// at once, the others are asked to finish and get `grace` to do so.
    fn cancel_all(&mut self, cause: Cause, now: Option<Instant>) {
        if self.cancel.is_some() {
            return;
        }
        self.cancel = Some(cause);
        let hard_now = cause == Cause::Dropped;
        for (_, c) in self.children.iter_mut() {
            cancel_child(c, hard_now, now);
        }
    }
}

fn cancel_child(c: &mut Child, hard_now: bool, now: Option<Instant>) {
    match now {
        Some(now) if !hard_now && !c.grace.is_zero() => {
            if !c.requested {
                c.requested = true;
                c.hard_at = Some(deadline_after(now, c.grace));
                if let Some(t) = &mut c.task {
                    t.request_cancel();
                }
            }
        }
        _ => c.cancel_hard(),
    }
}

struct Shared {
    state: Mutex<State>,
    spawner: Arc<dyn Spawn>,
    timer: Option<TimerHandle>,
}

impl Shared {
    fn now(&self) -> Option<Instant> {
        self.timer.as_ref().map(TimerHandle::now)
    }

    fn record(&self, failure: Failure) {
        let now = self.now();
        let waker = {
            let mut st = lock(&self.state);
            st.failures.push(failure);
            st.cancel_all(Cause::Failure, now);
            st.wake()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// A task group: children run as real tasks (in parallel on a multi-threaded
/// runtime), and none outlives the group.
///
/// This is asyncio 3.11's `TaskGroup` and trio's nursery. Its rules:
///
/// * [`join`](TaskGroup::join) waits for every child, including children
///   spawned while it waits (children may spawn siblings through a
///   [`TaskGroupHandle`]).
/// * When a child fails (returns `Err` or panics), every other child is
///   cancelled, their cleanup runs, and `join` returns a [`GroupError`]
///   holding every failure, including errors children returned while being
///   cancelled. In the [`task_group_in`] form the body's pending await is
///   cancelled too.
/// * [`cancel`](TaskGroupHandle::cancel) ends the group early without an
///   error (asyncio 3.15's `TaskGroup.cancel()`).
/// * No child outlives the group: dropping an unjoined group (for example
///   because the task awaiting it was cancelled) cancels every child.
///
/// # Cancelling children: hard or graceful
///
/// By default a child is cancelled by dropping its future at its next
/// suspension point (its `Drop` impls run; this is instant and always
/// works). A child that needs to *await* its cleanup (flush a buffer, send a
/// goodbye) is given a grace period with [`ChildBuilder::grace`] or
/// [`TaskGroup::with_grace`]: it is first asked to finish (inside it,
/// `eddy::cancelled().await` resolves and `eddy::is_cancel_requested()` turns
/// true), and is dropped only if it is still running when the grace period
/// runs out. `join` waits for that. Dropping the group skips the grace:
/// a destructor cannot wait.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use eddy_scope::TaskGroup;
///
/// eddy::run(async {
///     let spawner = Arc::new(eddy::Handle::current().executor().clone());
///     let tg = TaskGroup::new_in(spawner);
///     let a = tg.spawn(async { eddy::sleep(Duration::from_millis(20)).await; Ok::<_, String>(1) });
///     let b = tg.spawn(async { eddy::sleep(Duration::from_millis(10)).await; Ok::<_, String>(2) });
///     tg.join().await.unwrap();
///     assert_eq!(a.await.unwrap() + b.await.unwrap(), 3);
/// });
/// ```
pub struct TaskGroup {
    handle: TaskGroupHandle,
}

/// A cloneable handle to a [`TaskGroup`]: spawn into it, start children,
/// cancel it. Pass it to children so they can spawn siblings.
///
/// A handle does not keep the group's children alive: when the group is
/// joined or dropped, spawning through the handle fails with
/// [`GroupSpawnError::Closed`].
///
/// ```
/// let total = eddy::run(eddy::task_group(|tg: eddy_scope::TaskGroupHandle| async move {
///     let inner = tg.clone();
///     let parent = tg.spawn(async move {
///         let sibling = inner.spawn(async { Ok::<_, String>(20) }); // spawned by a child
///         Ok::<_, eddy_scope::ChildError>(sibling.await? + 1)
///     });
///     parent.await
/// }));
/// assert_eq!(total.unwrap(), Some(21));
/// ```
#[derive(Clone)]
pub struct TaskGroupHandle {
    shared: Arc<Shared>,
}

impl TaskGroup {
    /// A group whose children are spawned with `spawner`. Grace periods
    /// are measured on the current thread's timer, if there is one (without a
    /// timer, cancellation is always hard).
    ///
    /// ```
    /// # eddy::run(async {
    /// let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
    /// let tg = eddy_scope::TaskGroup::new_in(spawner);
    /// assert_eq!(tg.len(), 0);
    /// tg.join().await.unwrap();
    /// # });
    /// ```
    pub fn new_in(spawner: Arc<dyn Spawn>) -> TaskGroup {
        TaskGroup {
            handle: TaskGroupHandle {
                shared: Arc::new(Shared {
                    state: Mutex::new(State {
                        children: Slab::new(),
                        failures: Vec::new(),
                        cancel: None,
                        closed: false,
                        waker: None,
                        next_seq: 0,
                        grace: Duration::ZERO,
                    }),
                    spawner,
                    timer: TimerHandle::try_current().ok(),
                }),
            },
        }
    }

    /// The default grace period of this group's children (see the type's
    /// docs); zero, the default, means hard cancellation.
    ///
    /// ```
    /// use std::time::Duration;
    /// # eddy::run(async {
    /// # let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
    /// let tg = eddy_scope::TaskGroup::new_in(spawner).with_grace(Duration::from_secs(1));
    /// let child = tg.spawn(async {
    ///     eddy::task::cancel_requested().await;
    ///     eddy::sleep(Duration::from_millis(5)).await; // awaited cleanup
    ///     Ok::<_, String>("cleaned up")
    /// });
    /// tg.cancel();
    /// tg.join().await.unwrap();
    /// assert_eq!(child.await, Ok("cleaned up"));
    /// # });
    /// ```
    pub fn with_grace(self, grace: Duration) -> TaskGroup {
        lock(&self.handle.shared.state).grace = grace;
        self
    }

    /// A cloneable handle for spawning from elsewhere (children included).
    ///
    /// ```
    /// # eddy::run(async {
    /// # let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
    /// let tg = eddy_scope::TaskGroup::new_in(spawner);
    /// let h = tg.handle();
    /// tg.spawn(async move {
    ///     h.spawn(async { /* a sibling */ });
    /// });
    /// tg.join().await.unwrap();
    /// # });
    /// ```
    pub fn handle(&self) -> TaskGroupHandle {
        self.handle.clone()
    }

    /// Waits for every child to finish.
    ///
    /// # Errors
    ///
    /// A [`GroupError`] with every failure if a child failed. Ending the
    /// group with [`cancel`](TaskGroupHandle::cancel) is not an error.
    ///
    /// # Cancellation
    ///
    /// Dropping the future drops the group, which cancels every child still
    /// running (without grace).
    ///
    /// ```
    /// # eddy::run(async {
    /// # let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
    /// let tg = eddy_scope::TaskGroup::new_in(spawner.clone());
    /// tg.spawn(async { Ok::<_, String>(1) });
    /// tg.join().await.unwrap(); // every child succeeded
    ///
    /// let tg = eddy_scope::TaskGroup::new_in(spawner);
    /// tg.spawn(async { Err::<(), _>("boom") });
    /// assert_eq!(tg.join().await.unwrap_err().len(), 1);
    /// # });
    /// ```
    pub fn join(self) -> Join {
        Join {
            group: self,
            sleep: None,
        }
    }
}

impl std::ops::Deref for TaskGroup {
    type Target = TaskGroupHandle;

    fn deref(&self) -> &TaskGroupHandle {
        &self.handle
    }
}

impl Drop for TaskGroup {
    fn drop(&mut self) {
        let shared = &self.handle.shared;
        let mut st = lock(&shared.state);
        if !st.closed {
            st.closed = true;
            st.cancel_all(Cause::Dropped, None);
            // A group cancelled with grace and then dropped: no more waiting.
            for (_, c) in st.children.iter_mut() {
                c.cancel_hard();
            }
        }
    }
}

impl fmt::Debug for TaskGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.handle.fmt(f)
    }
}

impl TaskGroupHandle {
    /// Spawns `future` as a child; see [`try_spawn`](Self::try_spawn).
    ///
    /// # Panics
    ///
    /// When the group is closed or the executor has shut down.
    ///
    /// ```
    /// # eddy::run(async {
    /// # let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
    /// let tg = eddy_scope::TaskGroup::new_in(spawner);
    /// let t = tg.spawn(async { Ok::<_, std::io::Error>(5) });
    /// tg.join().await.unwrap();
    /// assert_eq!(t.await, Ok(5));
    /// # });
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> GroupTask<<F::Output as ChildOutput>::Ok>
    where
        F: Future + Send + 'static,
        F::Output: ChildOutput,
        <F::Output as ChildOutput>::Ok: Send + 'static,
    {
        match self.try_spawn(future) {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        }
    }

    /// Spawns `future` as a child task.
    ///
    /// The child fails the group if its output is `Err` or it panics. When
    /// the group is already cancelling, the child is not started and its
    /// handle reports [`ChildError::Cancelled`] (asyncio's behaviour).
    ///
    /// # Errors
    ///
    /// [`GroupSpawnError::Closed`] after the group was joined or dropped,
    /// [`GroupSpawnError::Shutdown`] when the executor has shut down.
    ///
    /// ```
    /// # eddy::run(async {
    /// # let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
    /// let tg = eddy_scope::TaskGroup::new_in(spawner);
    /// let h = tg.handle();
    /// tg.join().await.unwrap();
    /// assert_eq!(h.try_spawn(async {}).unwrap_err(), eddy_scope::GroupSpawnError::Closed);
    /// # });
    /// ```
    #[track_caller]
    pub fn try_spawn<F>(
        &self,
        future: F,
    ) -> Result<GroupTask<<F::Output as ChildOutput>::Ok>, GroupSpawnError>
    where
        F: Future + Send + 'static,
        F::Output: ChildOutput,
        <F::Output as ChildOutput>::Ok: Send + 'static,
    {
        self.builder().try_spawn(future)
    }

    /// Options for the next child: its name and grace period.
    ///
    /// ```
    /// # eddy::run(async {
    /// # let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
    /// let tg = eddy_scope::TaskGroup::new_in(spawner);
    /// let t = tg.builder().name("fetch").spawn(async {});
    /// assert_eq!(t.name(), Some("fetch"));
    /// tg.join().await.unwrap();
    /// # });
    /// ```
    #[track_caller]
    pub fn builder(&self) -> ChildBuilder<'_> {
        ChildBuilder {
            group: self,
            meta: TaskMeta::here(),
            grace: None,
        }
    }

    /// Ends the group early without an error (asyncio 3.15's
    /// `TaskGroup.cancel()`): every child is cancelled and, in the
    /// [`task_group_in`] form, so is the body's pending await. Failures that
    /// happened before, or that children report while being cancelled, are
    /// still returned. Cancelling twice, or after a failure, does nothing.
    ///
    /// ```
    /// # eddy::run(async {
    /// # let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
    /// let tg = eddy_scope::TaskGroup::new_in(spawner);
    /// let server = tg.spawn(std::future::pending::<()>());
    /// tg.cancel();
    /// tg.join().await.unwrap(); // not an error
    /// assert_eq!(server.await, Err(eddy_scope::ChildError::Cancelled));
    /// # });
    /// ```
    pub fn cancel(&self) {
        let now = self.shared.now();
        let waker = {
            let mut st = lock(&self.shared.state);
            st.cancel_all(Cause::Manual, now);
            st.wake()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// `true` once the group is cancelling its children (after a failure or
    /// [`cancel`](Self::cancel)).
    ///
    /// ```
    /// # eddy::run(async {
    /// # let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
    /// let tg = eddy_scope::TaskGroup::new_in(spawner);
    /// tg.spawn(std::future::pending::<()>());
    /// assert!(!tg.is_cancelling());
    /// tg.cancel();
    /// assert!(tg.is_cancelling());
    /// tg.join().await.unwrap();
    /// # });
    /// ```
    pub fn is_cancelling(&self) -> bool {
        lock(&self.shared.state).cancel.is_some()
    }

    /// Number of children still running.
    ///
    /// ```
    /// # eddy::run(async {
    /// # let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
    /// let tg = eddy_scope::TaskGroup::new_in(spawner);
    /// tg.spawn(std::future::pending::<()>());
    /// tg.spawn(std::future::pending::<()>());
    /// assert_eq!(tg.len(), 2);
    /// tg.cancel();
    /// tg.join().await.unwrap();
    /// # });
    /// ```
    pub fn len(&self) -> usize {
        lock(&self.shared.state).children.len()
    }

    /// `true` when no child is running.
    ///
    /// ```
    /// # eddy::run(async {
    /// # let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
    /// let tg = eddy_scope::TaskGroup::new_in(spawner);
    /// assert!(tg.is_empty());
    /// tg.spawn(std::future::pending::<()>());
    /// assert!(!tg.is_empty());
    /// tg.cancel();
    /// tg.join().await.unwrap();
    /// # });
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Starts a child and waits until it signals that it is ready (trio's
    /// `nursery.start`): `f` receives a [`Ready`] to send a value through
    /// (an address it bound, say) once its setup is done; `start` returns
    /// that value while the child keeps running in the group.
    ///
    /// # Errors
    ///
    /// [`StartError::Spawn`] if the child cannot be spawned;
    /// [`StartError::Exited`] if it finished, failed or was cancelled before
    /// signalling (a failure is also reported to the group).
    ///
    /// # Cancellation
    ///
    /// Dropping the future does not stop the child: it belongs to the group.
    ///
    /// ```
    /// use std::time::Duration;
    /// # eddy::run(async {
    /// # let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
    /// let tg = eddy_scope::TaskGroup::new_in(spawner);
    /// let port = tg
    ///     .start(|ready| async move {
    ///         eddy::sleep(Duration::from_millis(5)).await; // bind, listen...
    ///         ready.send(8080u16);
    ///         eddy::sleep(Duration::from_millis(5)).await; // serve
    ///     })
    ///     .await
    ///     .unwrap();
    /// assert_eq!(port, 8080);
    /// tg.join().await.unwrap();
    /// # });
    /// ```
    #[track_caller]
    pub fn start<V, F, Fut>(&self, f: F) -> Start<V>
    where
        V: Send + 'static,
        F: FnOnce(Ready<V>) -> Fut,
        Fut: Future + Send + 'static,
        Fut::Output: ChildOutput,
        <Fut::Output as ChildOutput>::Ok: Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let spawned = self.try_spawn(f(Ready { tx }));
        Start {
            rx,
            error: spawned.err().map(StartError::Spawn),
        }
    }
}

impl fmt::Debug for TaskGroupHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = lock(&self.shared.state);
        f.debug_struct("TaskGroup")
            .field("children", &st.children.len())
            .field("failures", &st.failures.len())
            .field("cancelling", &st.cancel.is_some())
            .field("closed", &st.closed)
            .finish()
    }
}

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
    group: &'a TaskGroupHandle,
    meta: TaskMeta,
    grace: Option<Duration>,
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
    /// [`TaskGroup`]'s docs); overrides the group's default.
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

    /// Spawns the child.
    ///
    /// # Panics
    ///
    /// As [`TaskGroupHandle::spawn`].
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
        match self.try_spawn(future) {
            Ok(t) => t,
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
                // asyncio: a group that is shutting down starts nothing new.
                drop(st);
                drop(tx);
                return Ok(GroupTask {
                    rx,
                    id: None,
                    name,
                    link: None,
                });
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
            Err(kind) => {
                if let Some(tx) = tx {
                    tx.send(Err(ChildError::Failed));
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
                None
            };
            (task, waker)
        };
        drop(task);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// A handle to one child of a task group.
///
/// Awaiting it gives the child's value, or why there is none: the child's
/// *failure* belongs to the group (it is in the [`GroupError`]); the handle
/// only says [`ChildError::Failed`]. Dropping the handle does nothing: the
/// child stays in the group.
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
    rx: oneshot::Receiver<Result<T, ChildError>>,
    id: Option<TaskId>,
    name: Option<Arc<str>>,
    link: Option<(Arc<Shared>, usize, u64)>,
}

impl<T> GroupTask<T> {
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
    /// [`TaskGroup`]'s docs.
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

/// Future returned by [`TaskGroup::join`].
///
/// ```
/// # eddy::run(async {
/// # let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
/// let tg = eddy_scope::TaskGroup::new_in(spawner);
/// tg.spawn(async { eddy::yield_now().await });
/// let join: eddy_scope::Join = tg.join();
/// assert!(join.await.is_ok());
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Join {
    group: TaskGroup,
    /// Sleeps until the next grace period runs out.
    sleep: Option<Pin<Box<Sleep>>>,
}

impl Join {
    fn poll_children(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), GroupError>> {
        let shared = &self.group.handle.shared;
        loop {
            let now = shared.now();
            let next = {
                let mut st = lock(&shared.state);
                if !st.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    st.waker = Some(cx.waker().clone());
                }
                if st.children.is_empty() {
                    st.closed = true;
                    let failures = std::mem::take(&mut st.failures);
                    return Poll::Ready(if failures.is_empty() {
                        Ok(())
                    } else {
                        Err(GroupError { failures })
                    });
                }
                let mut next: Option<Instant> = None;
                for (_, c) in st.children.iter_mut() {
                    match (c.hard_at, now) {
                        (Some(at), Some(now)) if !c.hard && at <= now => c.cancel_hard(),
                        (Some(at), _) if !c.hard => next = Some(next.map_or(at, |n| n.min(at))),
                        _ => {}
                    }
                }
                next
            };
            let (Some(at), Some(timer)) = (next, shared.timer.as_ref()) else {
                return Poll::Pending;
            };
            let sleep = self
                .sleep
                .get_or_insert_with(|| Box::pin(Sleep::new_in(timer, at)));
            if sleep.deadline() != at {
                sleep.as_mut().reset(at);
            }
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
    }
}

impl Future for Join {
    type Output = Result<(), GroupError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().poll_children(cx)
    }
}

impl fmt::Debug for Join {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join").field("group", &self.group).finish()
    }
}

/// Runs `body` with a fresh task group and waits for it and every child:
/// the Rust form of `async with asyncio.TaskGroup() as tg:`.
///
/// `body` gets a [`TaskGroupHandle`] to spawn with. The result is:
///
/// * `Ok(Some(value))`: the body returned `value` (or `Ok(value)`) and
///   every child succeeded;
/// * `Ok(None)`: the group was ended with
///   [`cancel`](TaskGroupHandle::cancel) before the body returned (the
///   body's pending await was cancelled);
/// * `Err(GroupError)`: the body or a child failed (returned `Err` or
///   panicked). Every other child and the body's pending await were
///   cancelled and reaped first; every failure is in the error.
///
/// # Cancellation
///
/// Dropping the future (for example when the enclosing task is cancelled,
/// or under a timeout) drops the body and cancels every child: no child
/// outlives the group. Nested groups follow: an inner group dropped with its
/// parent cancels its own children.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// #[derive(Debug)]
/// struct ValueError(&'static str);
/// impl std::fmt::Display for ValueError {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.0) }
/// }
/// impl std::error::Error for ValueError {}
///
/// async fn risky() -> Result<(), ValueError> {
///     eddy::sleep(Duration::from_millis(100)).await;
///     Err(ValueError("Something went wrong"))
/// }
///
/// eddy::run(async {
///     let spawner = Arc::new(eddy::Handle::current().executor().clone());
///     let result = eddy_scope::task_group_in(spawner, |tg| async move {
///         tg.spawn(risky());
///         tg.spawn(eddy::sleep(Duration::from_secs(1))); // cancelled when risky fails
///     })
///     .await;
///     let eg = result.unwrap_err();
///     let (value_errors, rest) = eg.split::<ValueError>();
///     println!("Errors: {value_errors:?}");
///     assert_eq!(value_errors.len(), 1);
///     assert!(rest.is_none());
/// });
/// ```
pub async fn task_group_in<B, Fut>(
    spawner: Arc<dyn Spawn>,
    body: B,
) -> Result<Option<<Fut::Output as ChildOutput>::Ok>, GroupError>
where
    B: FnOnce(TaskGroupHandle) -> Fut,
    Fut: Future,
    Fut::Output: ChildOutput,
{
    let group = TaskGroup::new_in(spawner);
    run_body(group, body).await
}

pub(crate) async fn run_body<B, Fut>(
    group: TaskGroup,
    body: B,
) -> Result<Option<<Fut::Output as ChildOutput>::Ok>, GroupError>
where
    B: FnOnce(TaskGroupHandle) -> Fut,
    Fut: Future,
    Fut::Output: ChildOutput,
{
    let handle = group.handle();
    let shared = handle.shared.clone();
    let mut body = pin!(Some(body(handle)));
    let mut out = None;
    let mut join = group.join();
    let mut forwarded = false;
    poll_fn(|cx| {
        if !forwarded && crate::probe::outer_cancel_requested() {
            // The task running this group was asked to finish: pass the
            // request on to the children (each within its grace). The body
            // sees the request itself and decides what to do.
            forwarded = true;
            let now = shared.now();
            let mut st = lock(&shared.state);
            for (_, c) in st.children.iter_mut() {
                cancel_child(c, false, now);
            }
        }
        if let Some(b) = body.as_mut().as_pin_mut() {
            let polled = if lock(&shared.state).cancel.is_some() {
                None
            } else {
                Some(catch_unwind(AssertUnwindSafe(|| b.poll(cx))))
            };
            let failure = match polled {
                Some(Ok(Poll::Pending)) => {
                    // Be woken if a child fails while the body waits.
                    let mut st = lock(&shared.state);
                    if st.cancel.is_none() {
                        if !st.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                            st.waker = Some(cx.waker().clone());
                        }
                        return Poll::Pending;
                    }
                    None
                }
                Some(Ok(Poll::Ready(v))) => match v.into_result() {
                    Ok(v) => {
                        out = Some(v);
                        None
                    }
                    Err(e) => Some(FailureKind::Error(e)),
                },
                Some(Err(payload)) => Some(FailureKind::Panic(CaughtPanic::new(payload))),
                // The group is cancelling: cancel the body's pending await.
                None => None,
            };
            // Done with the body either way; drop it before recording a
            // failure so its cleanup runs first.
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| body.set(None))) {
                shared.record(Failure {
                    task: None,
                    child: None,
                    name: None,
                    kind: FailureKind::Panic(CaughtPanic::new(payload)),
                });
            }
            if let Some(kind) = failure {
                shared.record(Failure {
                    task: None,
                    child: None,
                    name: None,
                    kind,
                });
            }
        }
        join.poll_children(cx)
    })
    .await?;
    Ok(out)
}

/// The sending half given to a child started with
/// [`TaskGroupHandle::start`]: call [`send`](Ready::send) when set up.
/// Dropping it unsent makes `start` fail with [`StartError::Exited`].
///
/// ```
/// # eddy::run(async {
/// # let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
/// use eddy_scope::{Ready, StartError};
///
/// let tg = eddy_scope::TaskGroup::new_in(spawner);
/// let up = tg.start(|ready: Ready<u16>| async move { ready.send(8080) }).await;
/// assert_eq!(up, Ok(8080));
/// // Dropped without sending: the start fails.
/// let gave_up = tg.start(|ready: Ready<u16>| async move { drop(ready) }).await;
/// assert_eq!(gave_up, Err(StartError::Exited));
/// tg.join().await.unwrap();
/// # });
/// ```
pub struct Ready<V> {
    tx: oneshot::Sender<V>,
}

impl<V> Ready<V> {
    /// Signals readiness with `value`; `start` returns it.
    ///
    /// ```
    /// # eddy::run(async {
    /// # let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
    /// let tg = eddy_scope::TaskGroup::new_in(spawner);
    /// let addr = tg.start(|ready| async move { ready.send("127.0.0.1:8080") }).await;
    /// assert_eq!(addr.unwrap(), "127.0.0.1:8080");
    /// tg.join().await.unwrap();
    /// # });
    /// ```
    pub fn send(self, value: V) {
        self.tx.send(value);
    }
}

impl<V> fmt::Debug for Ready<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ready").finish_non_exhaustive()
    }
}

/// Why [`TaskGroupHandle::start`] did not get a ready signal.
///
/// ```
/// # eddy::run(async {
/// # let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
/// use eddy_scope::{GroupSpawnError, Ready, StartError};
///
/// let tg = eddy_scope::TaskGroup::new_in(spawner);
/// let handle = tg.handle();
/// let exited = tg.start(|_ready: Ready<()>| async {}).await;
/// assert_eq!(exited, Err(StartError::Exited));
/// tg.join().await.unwrap();
/// let closed = handle.start(|_ready: Ready<()>| async {}).await;
/// assert_eq!(closed, Err(StartError::Spawn(GroupSpawnError::Closed)));
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StartError {
    /// The child could not be spawned.
    Spawn(GroupSpawnError),
    /// The child finished, failed or was cancelled before signalling.
    Exited,
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Spawn(e) => write!(f, "could not start the child: {e}"),
            StartError::Exited => f.write_str("the child exited before signalling it was ready"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Spawn(e) => Some(e),
            StartError::Exited => None,
        }
    }
}

/// Future returned by [`TaskGroupHandle::start`].
///
/// ```
/// # eddy::run(async {
/// # let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
/// let tg = eddy_scope::TaskGroup::new_in(spawner);
/// let start: eddy_scope::Start<&str> = tg.start(|ready| async move { ready.send("listening") });
/// assert_eq!(start.await, Ok("listening"));
/// tg.join().await.unwrap();
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Start<V> {
    rx: oneshot::Receiver<V>,
    error: Option<StartError>,
}

impl<V> Future for Start<V> {
    type Output = Result<V, StartError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Some(e) = this.error {
            return Poll::Ready(Err(e));
        }
        this.rx.poll_recv(cx).map(|r| match r {
            Recv::Value(v) => Ok(v),
            Recv::Closed | Recv::Taken => Err(StartError::Exited),
        })
    }
}

impl<V> fmt::Debug for Start<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Start").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{FakePool, Gate};
    use futures_lite::future;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct CountDrop(Arc<AtomicUsize>);
    impl Drop for CountDrop {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Everything through the `Spawn` seam, on a fake executor that runs
    /// only when told to: no runtime, no timer, no threads.
    #[test]
    fn failure_cancels_siblings_on_a_fake_spawner() {
        let pool = FakePool::default();
        let tg = TaskGroup::new_in(Arc::new(pool.clone()));
        let drops = Arc::new(AtomicUsize::new(0));
        let (fail, never) = (Gate::default(), Gate::default());
        let f = fail.clone();
        let ok = tg.spawn(async { Ok::<_, String>(1) });
        let failing = tg.spawn(async move {
            f.await;
            Err::<(), _>("boom")
        });
        for _ in 0..3 {
            let (d, n) = (CountDrop(drops.clone()), never.clone());
            tg.spawn(async move {
                let _d = d;
                n.await;
            });
        }
        let mut join = Box::pin(tg.join());
        assert_eq!(pool.run_until_stalled(), 5);
        assert!(future::block_on(future::poll_once(&mut join)).is_none());
        assert_eq!(future::block_on(ok), Ok(1));

        fail.open();
        pool.run_until_stalled();
        assert_eq!(drops.load(Ordering::SeqCst), 3, "siblings dropped");
        assert_eq!(pool.queued(), 0);
        let eg = future::block_on(future::poll_once(&mut join))
            .expect("joined")
            .unwrap_err();
        assert_eq!(eg.len(), 1);
        assert!(eg.to_string().contains("boom"), "{eg}");
        assert_eq!(future::block_on(failing), Err(ChildError::Failed));
    }

    #[test]
    fn dropping_the_group_cancels_children_on_a_fake_spawner() {
        let pool = FakePool::default();
        let tg = TaskGroup::new_in(Arc::new(pool.clone()));
        let drops = Arc::new(AtomicUsize::new(0));
        let d = CountDrop(drops.clone());
        let child = tg.spawn(async move {
            let _d = d;
            std::future::pending::<()>().await;
        });
        pool.run_until_stalled();
        let h = tg.handle();
        drop(tg);
        pool.run_until_stalled();
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        assert_eq!(future::block_on(child), Err(ChildError::Cancelled));
        assert_eq!(h.try_spawn(async {}).unwrap_err(), GroupSpawnError::Closed);
        assert!(h.is_empty());
    }
}
