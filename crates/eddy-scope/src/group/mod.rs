//! `TaskGroup`: asyncio 3.11's task group (trio's nursery) over any
//! [`Spawn`].

mod builder;
mod handle;
mod join;
mod start;

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::task::Waker;
use std::time::{Duration, Instant};

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
