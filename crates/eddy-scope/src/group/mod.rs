//! `TaskGroup`: asyncio's task group (3.12+ semantics; trio's nursery) over
//! any [`Spawn`].

mod builder;
mod handle;
mod join;
mod start;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use eddy_core::abandon;
use eddy_core::{DynTask, Spawn, TaskMeta};
use eddy_timer::TimerHandle;
use slab::Slab;

use crate::error::{ChildOutput, Failure};
use crate::oneshot;
use crate::set::lock;
use crate::timeout::deadline_after;

pub use builder::{ChildBuilder, GroupSpawnError};
pub use handle::{ChildError, GroupTask};
pub use join::{Join, task_group_in};
pub use start::{Ready, Start, StartError};

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
    /// Wakers of [`Cancelled`] futures, woken when cancelling starts.
    cancel_wakers: Slab<Waker>,
    next_seq: u64,
    /// Default grace period of new children.
    grace: Duration,
}

impl State {
    /// The wakers to wake (after unlocking) once something changed: the
    /// joiner's, and once cancelling, every [`Cancelled`] future's.
    fn wake(&mut self) -> Wakers {
        let mut wakers: Vec<Waker> = self.waker.take().into_iter().collect();
        if self.cancel.is_some() {
            wakers.extend(self.cancel_wakers.drain());
        }
        Wakers(wakers)
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

/// Wakers taken under the group's lock, woken once it is released.
#[must_use]
struct Wakers(Vec<Waker>);

impl Wakers {
    fn wake(self) {
        for w in self.0 {
            w.wake();
        }
    }
}

fn cancel_child(c: &mut Child, hard_now: bool, now: Option<Instant>) {
    match now {
        Some(now) if !hard_now && !c.grace.is_zero() => {
            // A child its handle already asked (`GroupTask::request_cancel`,
            // which sets no deadline) still gets the group's: it is not
            // asked twice, but it is dropped when its grace runs out.
            if c.hard_at.is_none() {
                c.hard_at = Some(deadline_after(now, c.grace));
            }
            if !c.requested {
                c.requested = true;
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
        waker.wake();
    }
}

/// A task group: children run as real tasks (in parallel on a multi-threaded
/// runtime), and none outlives the group.
///
/// This is asyncio's `TaskGroup` (3.12+ semantics) and trio's nursery. Its
/// rules:
///
/// * [`join`](TaskGroup::join) waits for every child, including children
///   spawned while it waits (children may spawn siblings through a
///   [`TaskGroupHandle`]).
/// * When a child fails (returns `Err` or panics), every other child is
///   cancelled, their cleanup runs, and `join` returns a [`GroupError`](crate::GroupError)
///   holding every failure, including errors children returned while being
///   cancelled. In the [`task_group_in`] / [`run`](TaskGroup::run) form the
///   body is cancelled too, like a child (see below), and its own failure
///   joins the others.
/// * A cancelled child is not a failure: its handle says
///   [`ChildError::Cancelled`]. A failed child's handle gives its own error
///   or panic ([`ChildError::Failed`]), shared with the [`GroupError`](crate::GroupError).
/// * [`cancel`](TaskGroupHandle::cancel) ends the group early without an
///   error (asyncio 3.15's `TaskGroup.cancel()`).
/// * Once the group is shutting down (a failure or `cancel`), it starts
///   nothing new: [`try_spawn`](TaskGroupHandle::try_spawn) fails with
///   [`GroupSpawnError::Cancelling`] (asyncio 3.12+ raises `RuntimeError`).
/// * No child outlives the group: dropping an unjoined group (for example
///   because the task awaiting it was cancelled) cancels every child.
///
/// # Cancelling children and the body: hard or graceful
///
/// By default a child (and the body) is cancelled by dropping its future at
/// its next suspension point (its `Drop` impls run; this is instant and
/// always works). A child that needs to *await* its cleanup (flush a buffer,
/// send a goodbye) is given a grace period with [`ChildBuilder::grace`], or
/// the whole group one with [`TaskGroup::with_grace`]: it is first asked to
/// finish (inside it, `eddy::cancelled().await` resolves and
/// `eddy::is_cancel_requested()` turns true), and is dropped only if it is
/// still running when the grace period runs out. The group's grace also
/// covers the body of [`run`](TaskGroup::run): it sees the request through
/// [`TaskGroupHandle::cancelled`] / [`TaskGroupHandle::is_cancelling`] (and,
/// under the `eddy` facade, `eddy::cancelled()`), may await its cleanup and
/// return or fail, and is dropped when the grace runs out, whether or not
/// it looked. `join` waits for all that. Dropping the group skips the grace:
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
                        cancel_wakers: Slab::new(),
                        next_seq: 0,
                        grace: Duration::ZERO,
                    }),
                    spawner,
                    timer: TimerHandle::try_current().ok(),
                }),
            },
        }
    }

    /// The group's grace period (see the type's docs): the default of its
    /// children (a child's own [`ChildBuilder::grace`] overrides it) and the
    /// body's under [`run`](TaskGroup::run). Zero, the default, means hard
    /// cancellation (drop).
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
    /// A [`GroupError`](crate::GroupError) with every failure if a child failed. Ending the
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
        let (wakers, running) = {
            let mut st = lock(&shared.state);
            if st.closed {
                return;
            }
            st.closed = true;
            st.cancel_all(Cause::Dropped, None);
            // A group cancelled with grace and then dropped: no more waiting.
            for (_, c) in st.children.iter_mut() {
                c.cancel_hard();
            }
            let running: Vec<DynTask> = if abandon::abandon_mode().is_some() {
                st.children
                    .iter_mut()
                    .filter_map(|(_, c)| c.task.take())
                    .collect()
            } else {
                Vec::new()
            };
            (st.wake(), running)
        };
        wakers.wake();
        // Every child still running has been cancelled; each is gone once
        // its executor has dropped its future. Whoever is dropping the
        // group (the executor cancelling the host task, `wait_for` giving
        // up) waits for that, so no child outlives the task that hosted its
        // group. Without a collector the children finish on their own.
        if !running.is_empty() {
            let _ = abandon::offer_abandoned(Box::pin(JoinChildren(running)));
        }
    }
}

/// Resolves once every task in it has finished (whatever its outcome).
struct JoinChildren(Vec<DynTask>);

impl Future for JoinChildren {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.retain_mut(|t| t.poll_join(cx).is_pending());
        if self.0.is_empty() {
            Poll::Ready(())
        } else {
            Poll::Pending
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
    /// When the group is already shutting down (a child or the body failed,
    /// or it was cancelled), nothing is started and the handle returned
    /// resolves at once to
    /// `Err(ChildError::NotStarted(GroupSpawnError::Cancelling))`: asyncio
    /// raises `RuntimeError` there, but a child that spawns a sibling while
    /// it is itself being cancelled must not turn the group's cancellation
    /// into a panic. Use [`try_spawn`](Self::try_spawn) to get the error at
    /// once.
    ///
    /// # Panics
    ///
    /// When the group is closed (joined or dropped) or the executor has shut
    /// down.
    ///
    /// ```
    /// # eddy::run(async {
    /// # let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
    /// use eddy_scope::{ChildError, GroupSpawnError};
    ///
    /// let tg = eddy_scope::TaskGroup::new_in(spawner);
    /// let t = tg.spawn(async { Ok::<_, std::io::Error>(5) });
    /// tg.cancel();
    /// let late = tg.spawn(async { Ok::<_, std::io::Error>(6) });
    /// assert_eq!(late.id(), None);
    /// tg.join().await.unwrap();
    /// assert!(matches!(t.await, Ok(5) | Err(ChildError::Cancelled)));
    /// assert_eq!(late.await, Err(ChildError::NotStarted(GroupSpawnError::Cancelling)));
    /// # });
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> GroupTask<<F::Output as ChildOutput>::Ok>
    where
        F: Future + Send + 'static,
        F::Output: ChildOutput,
        <F::Output as ChildOutput>::Ok: Send + 'static,
    {
        self.builder().spawn(future)
    }

    /// Spawns `future` as a child task.
    ///
    /// The child fails the group if its output is `Err` or it panics (a
    /// returned cancellation error, [`ChildError::Cancelled`], counts as
    /// cancelled instead). A group keeps
    /// accepting children until it is shutting down: children spawned while
    /// [`join`](TaskGroup::join) waits are waited for too.
    ///
    /// # Errors
    ///
    /// [`GroupSpawnError::Cancelling`] once the group is shutting down (a
    /// failure or [`cancel`](Self::cancel); asyncio 3.12+ raises
    /// `RuntimeError` there), [`GroupSpawnError::Closed`] after the group was
    /// joined or dropped, [`GroupSpawnError::Shutdown`] when the executor has
    /// shut down. Nothing is started in each case.
    ///
    /// ```
    /// # eddy::run(async {
    /// # let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
    /// use eddy_scope::GroupSpawnError;
    ///
    /// let tg = eddy_scope::TaskGroup::new_in(spawner);
    /// let h = tg.handle();
    /// tg.spawn(async { Err::<(), _>("boom") });
    /// eddy::yield_now().await; // the child fails: the group is shutting down
    /// assert_eq!(h.try_spawn(async {}).unwrap_err(), GroupSpawnError::Cancelling);
    /// assert!(tg.join().await.is_err());
    /// assert_eq!(h.try_spawn(async {}).unwrap_err(), GroupSpawnError::Closed);
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
        waker.wake();
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

    /// Resolves once the group is shutting down: a child or the body
    /// failed, the group was [`cancel`](Self::cancel)led, or it was dropped.
    ///
    /// This is how the body of [`task_group_in`] (and `eddy::task_group`)
    /// sees the group's cancellation request when the group has a grace
    /// period ([`TaskGroup::with_grace`]): the body is not dropped at once
    /// but polled on, so it can `await` its cleanup and return (or fail:
    /// its error joins the [`GroupError`](crate::GroupError), marked
    /// [`is_body`](crate::Failure::is_body)). Inside `eddy::task_group` the
    /// runtime's `eddy::cancelled()` / `eddy::is_cancel_requested()` turn
    /// true in the body as well. Children can await it too.
    ///
    /// # Cancellation
    ///
    /// Cancel-safe: dropping the future has no effect on the group.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// eddy::run(async {
    ///     let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
    ///     let tg = eddy_scope::TaskGroup::new_in(spawner).with_grace(Duration::from_secs(1));
    ///     let out = tg
    ///         .run(|tg| async move {
    ///             tg.spawn(async { Err::<(), _>("boom") });
    ///             tg.cancelled().await; // a child failed
    ///             eddy::sleep(Duration::from_millis(5)).await; // awaited cleanup
    ///             Err::<(), _>("body cleanup failed too")
    ///         })
    ///         .await;
    ///     let eg = out.unwrap_err();
    ///     assert_eq!(eg.len(), 2);
    ///     assert!(eg.failures()[1].is_body());
    /// });
    /// ```
    pub fn cancelled(&self) -> Cancelled {
        Cancelled {
            shared: self.shared.clone(),
            key: None,
        }
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

/// Future returned by [`TaskGroupHandle::cancelled`].
///
/// ```
/// # eddy::run(async {
/// # let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
/// let tg = eddy_scope::TaskGroup::new_in(spawner);
/// let cancelled: eddy_scope::Cancelled = tg.cancelled();
/// tg.cancel();
/// cancelled.await;
/// tg.join().await.unwrap();
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Cancelled {
    shared: Arc<Shared>,
    key: Option<usize>,
}

impl Future for Cancelled {
    type Output = ();

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let mut st = lock(&this.shared.state);
        if st.cancel.is_some() {
            // Cancelling drained the wakers: the key is gone.
            this.key = None;
            return Poll::Ready(());
        }
        match this.key.and_then(|k| st.cancel_wakers.get_mut(k)) {
            Some(w) if w.will_wake(cx.waker()) => {}
            Some(w) => w.clone_from(cx.waker()),
            None => this.key = Some(st.cancel_wakers.insert(cx.waker().clone())),
        }
        Poll::Pending
    }
}

impl Drop for Cancelled {
    fn drop(&mut self) {
        if let Some(k) = self.key {
            let mut st = lock(&self.shared.state);
            // Once cancelling, the wakers were drained and the key is stale.
            if st.cancel.is_none() {
                st.cancel_wakers.try_remove(k);
            }
        }
    }
}

impl fmt::Debug for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cancelled").finish_non_exhaustive()
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
        let Err(ChildError::Failed(own)) = future::block_on(failing) else {
            panic!("the failed child's handle gives its failure");
        };
        assert_eq!(own.to_string(), "boom");
        assert!(
            Arc::ptr_eq(&own.kind, &eg.failures()[0].kind),
            "shared, not copied"
        );
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
