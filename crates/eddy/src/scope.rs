//! Structured concurrency: gather, task groups, timeouts, cancel scopes,
//! shields, graceful cancellation, async generators and resources whose
//! cleanup is awaited.
//!
//! Everything here is [`eddy_scope`], with the current runtime bound in:
//! [`TaskGroup::new`], [`task_group`], [`shield`], [`cancel_with_grace`] and
//! [`with_resource`] spawn on the runtime running the calling thread.
//!
//! # Which cancellation to use when
//!
//! * **Drop** (`task.cancel()`, a timeout firing, a group cancelling a child
//!   without grace): the future stops at its current `.await` and its `Drop`
//!   impls run, exactly once. Instant and always effective. Use it when
//!   cleanup is synchronous: closing a socket, releasing a lock, updating a
//!   counter. This is the default.
//! * **Graceful** ([`cancel_with_grace`], a group child spawned with
//!   [`ChildBuilder::grace`]): the task is asked to finish
//!   ([`cancelled`]`().await` resolves inside it), may *await* its cleanup,
//!   and is dropped only if it overruns the grace period. Use it when
//!   cleanup must await: flushing a write buffer, a protocol goodbye,
//!   committing or rolling back a transaction.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//!
//! async fn risky() -> Result<(), String> {
//!     eddy::sleep(Duration::from_millis(100)).await;
//!     Err("Something went wrong".into())
//! }
//!
//! eddy::run(async {
//!     let result = eddy::task_group(|tg| async move {
//!         tg.spawn(risky());
//!         tg.spawn(eddy::sleep(Duration::from_secs(1)));
//!     })
//!     .await;
//!     let eg = result.unwrap_err();
//!     assert_eq!(eg.len(), 1);
//!     println!("Errors: {eg}");
//! });
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use eddy_core::Spawn;
pub use eddy_scope::*;

use crate::{Handle, JoinError, Task};

/// The current runtime's executor as a [`Spawn`].
///
/// # Panics
///
/// Outside a runtime.
#[track_caller]
fn current_spawner() -> Arc<dyn Spawn> {
    Arc::new(Handle::current().executor().clone())
}

/// Lets the group layer see (and show a cancelled group's body) the
/// runtime's graceful-cancellation request.
fn install_cancel_hooks() {
    eddy_scope::set_cancel_probe(eddy_executor::is_cancel_requested);
    eddy_scope::set_cancel_marker(eddy_executor::with_cancel_requested);
}

/// A [`TaskGroup`](eddy_scope::TaskGroup) on the current runtime; see
/// [`eddy_scope::TaskGroup`] for the rules. Derefs to
/// [`TaskGroupHandle`] for `spawn`, `start`, `cancel` and friends.
///
/// # Example
///
/// ```
/// use std::time::Duration;
///
/// eddy::run(async {
///     let tg = eddy::TaskGroup::new();
///     let a = tg.builder().name("a").spawn(async {
///         eddy::sleep(Duration::from_millis(20)).await;
///         Ok::<_, String>(1)
///     });
///     let b = tg.spawn(async { Ok::<_, String>(2) });
///     tg.join().await.unwrap();
///     assert_eq!(a.await.unwrap() + b.await.unwrap(), 3);
/// });
/// ```
pub struct TaskGroup(eddy_scope::TaskGroup);

impl TaskGroup {
    /// A group spawning on the current runtime.
    ///
    /// # Panics
    ///
    /// Outside a runtime; see [`TaskGroup::try_new`].
    #[track_caller]
    #[allow(clippy::new_without_default)] // needs a runtime: not a plain default
    pub fn new() -> TaskGroup {
        TaskGroup(eddy_scope::TaskGroup::new_in(current_spawner()))
    }

    /// A group spawning on the current runtime, or `None` outside one.
    ///
    /// ```
    /// assert!(eddy::TaskGroup::try_new().is_none());
    /// eddy::run(async { assert!(eddy::TaskGroup::try_new().is_some()) });
    /// ```
    pub fn try_new() -> Option<TaskGroup> {
        let h = Handle::try_current()?;
        Some(TaskGroup(eddy_scope::TaskGroup::new_in(Arc::new(
            h.executor().clone(),
        ))))
    }

    /// A group spawning on `handle`'s runtime.
    ///
    /// ```
    /// let rt = eddy::Builder::current_thread().build().unwrap();
    /// let tg = eddy::TaskGroup::new_on(&rt.handle());
    /// let t = tg.spawn(async { Ok::<_, String>(1) });
    /// rt.block_on(async move {
    ///     tg.join().await.unwrap();
    ///     assert_eq!(t.await, Ok(1));
    /// });
    /// ```
    pub fn new_on(handle: &Handle) -> TaskGroup {
        TaskGroup(eddy_scope::TaskGroup::new_in(Arc::new(
            handle.executor().clone(),
        )))
    }

    /// The group's grace period: the default of its children, and the
    /// body's under [`run`](TaskGroup::run); see
    /// [`eddy_scope::TaskGroup::with_grace`].
    ///
    /// ```
    /// # eddy::run(async {
    /// let tg = eddy::TaskGroup::new().with_grace(std::time::Duration::from_secs(1));
    /// # tg.join().await.unwrap();
    /// # });
    /// ```
    pub fn with_grace(self, grace: Duration) -> TaskGroup {
        TaskGroup(self.0.with_grace(grace))
    }

    /// Runs `body` in this group and waits for it and every child: the
    /// same as [`task_group`], on a group set up first, for example with a
    /// grace period: `eddy::TaskGroup::new().with_grace(d).run(body)`. When a
    /// child fails or the group is cancelled, the body is then asked to
    /// finish ([`cancelled`]`()` and `tg.cancelled()` resolve inside it) and
    /// dropped only if it has not returned when the grace runs out.
    ///
    /// # Errors
    ///
    /// A [`GroupError`] with every failure when the body or a child failed.
    ///
    /// # Cancellation
    ///
    /// Dropping the future drops the body and cancels every child (without
    /// grace).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// eddy::run(async {
    ///     let out = eddy::TaskGroup::new()
    ///         .with_grace(Duration::from_secs(1))
    ///         .run(|tg| async move {
    ///             tg.spawn(async { Err::<(), _>("boom") });
    ///             eddy::cancelled().await; // a child failed: the body is asked to finish
    ///             eddy::sleep(Duration::from_millis(5)).await; // awaited cleanup
    ///         })
    ///         .await;
    ///     assert_eq!(out.unwrap_err().len(), 1);
    /// });
    /// ```
    pub async fn run<B, Fut>(
        self,
        body: B,
    ) -> Result<Option<<Fut::Output as ChildOutput>::Ok>, GroupError>
    where
        B: FnOnce(TaskGroupHandle) -> Fut,
        Fut: Future,
        Fut::Output: ChildOutput,
    {
        install_cancel_hooks();
        self.0.run(body).await
    }

    /// A cloneable handle for spawning from elsewhere (children included).
    ///
    /// ```
    /// # eddy::run(async {
    /// let tg = eddy::TaskGroup::new();
    /// let h = tg.handle();
    /// tg.spawn(async move { h.spawn(async {}); });
    /// tg.join().await.unwrap();
    /// # });
    /// ```
    pub fn handle(&self) -> TaskGroupHandle {
        self.0.handle()
    }

    /// Waits for every child; see [`eddy_scope::TaskGroup::join`].
    ///
    /// # Errors
    ///
    /// A [`GroupError`] with every failure if a child failed.
    ///
    /// # Cancellation
    ///
    /// Dropping the future cancels every child still running.
    pub fn join(self) -> Join {
        self.0.join()
    }

    /// The layer's group.
    pub fn into_inner(self) -> eddy_scope::TaskGroup {
        self.0
    }
}

impl std::ops::Deref for TaskGroup {
    type Target = TaskGroupHandle;

    fn deref(&self) -> &TaskGroupHandle {
        &self.0
    }
}

impl fmt::Debug for TaskGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// `async with asyncio.TaskGroup() as tg:` on the current runtime; see
/// [`eddy_scope::task_group_in`] for the result and the rules.
///
/// # Panics
///
/// When first polled outside a runtime.
///
/// # Errors
///
/// A [`GroupError`] with every failure when the body or a child failed.
///
/// # Cancellation
///
/// Dropping the future drops the body and cancels every child. When the
/// task running the group is cancelled gracefully
/// ([`cancel_with_grace`], `Task::request_cancel`), the request is passed
/// on to the children (each with its grace period); the body sees it
/// itself through [`cancelled`] / [`is_cancel_requested`].
///
/// When a child fails or the group is cancelled, the body is cancelled
/// like the children: dropped at once here (no grace period); for a
/// graceful cancellation of the body, where [`cancelled`] resolves inside
/// it and it may await its cleanup, give the group a grace period:
/// `eddy::TaskGroup::new().with_grace(d).run(body)`.
///
/// # Example
///
/// ```
/// use std::time::Duration;
///
/// eddy::run(async {
///     let out = eddy::task_group(|tg| async move {
///         let a = tg.spawn(async { eddy::sleep(Duration::from_millis(5)).await; Ok::<_, String>(2) });
///         let b = tg.spawn(async { Ok::<_, String>(3) });
///         Ok::<_, eddy::ChildError>(a.await? * b.await?)
///     })
///     .await;
///     assert_eq!(out.unwrap(), Some(6));
/// });
/// ```
pub async fn task_group<B, Fut>(
    body: B,
) -> Result<Option<<Fut::Output as ChildOutput>::Ok>, GroupError>
where
    B: FnOnce(TaskGroupHandle) -> Fut,
    Fut: Future,
    Fut::Output: ChildOutput,
{
    install_cancel_hooks();
    task_group_in(current_spawner(), body).await
}

/// Runs `future` as its own task so that cancelling whoever awaits it does
/// not cancel it (asyncio's `shield`); see [`eddy_scope::shield_in`].
///
/// # Panics
///
/// Outside a runtime, or when it has shut down.
///
/// ```
/// use std::time::Duration;
///
/// eddy::run(async {
///     let save = eddy::shield(async { eddy::sleep(Duration::from_millis(20)).await; "saved" });
///     let id = save.id();
///     // Give up waiting: the save itself carries on.
///     assert!(eddy::timeout(Duration::from_millis(5), save).await.is_err());
///     # let _ = id;
/// });
/// ```
#[track_caller]
pub fn shield<F>(future: F) -> Shielded<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match shield_in(&*current_spawner(), future) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    }
}

/// Graceful cancellation of a [`Task`]: asks it to finish
/// ([`cancelled`]`().await` resolves inside it), waits up to `grace`, then
/// cancels it hard if it is still running. Returns how it ended, with its
/// output if it finished in time.
///
/// # Errors
///
/// `Err(JoinError::Cancelled)` if the grace ran out, `Err(JoinError::Panicked)`
/// if it panicked.
///
/// # Cancellation
///
/// Dropping the future drops the task handle (the task, already asked to
/// finish, keeps running detached).
///
/// # Example
///
/// ```
/// use std::time::Duration;
///
/// eddy::run(async {
///     let task = eddy::spawn(async {
///         eddy::cancelled().await;
///         eddy::sleep(Duration::from_millis(5)).await; // flush, say goodbye...
///         "closed cleanly"
///     });
///     eddy::yield_now().await;
///     let out = eddy::cancel_with_grace(task, Duration::from_secs(1)).await;
///     assert_eq!(out.unwrap(), "closed cleanly");
///
///     let stubborn = eddy::spawn(eddy::sleep(Duration::from_secs(60)));
///     let out = eddy::cancel_with_grace(stubborn, Duration::from_millis(10)).await;
///     assert!(matches!(out, Err(eddy::JoinError::Cancelled)));
/// });
/// ```
pub async fn cancel_with_grace<T>(mut task: Task<T>, grace: Duration) -> Result<T, JoinError> {
    task.request_cancel();
    if let Ok(r) = eddy_scope::timeout(grace, &mut task).await {
        return r;
    }
    task.cancel();
    task.await
}

/// Resolves once the current task has been asked to finish early
/// (graceful cancellation, see [`cancel_with_grace`]); never outside a task.
/// The same as [`crate::task::cancel_requested`].
///
/// ```
/// eddy::run(async {
///     let t = eddy::spawn(async { eddy::cancelled().await; "stopping" });
///     t.request_cancel();
///     assert_eq!(t.await.unwrap(), "stopping");
/// });
/// ```
pub fn cancelled() -> eddy_executor::CancelRequested {
    eddy_executor::cancel_requested()
}

/// `true` once the current task has been asked to finish early. The same
/// as [`crate::task::is_cancel_requested`].
///
/// ```
/// eddy::run(async { assert!(!eddy::is_cancel_requested()) });
/// ```
pub fn is_cancel_requested() -> bool {
    eddy_executor::is_cancel_requested()
}

/// A value whose release is awaited, released by a task on the current
/// runtime if it is dropped unreleased; see [`eddy_scope::Resource`].
///
/// # Panics
///
/// Outside a runtime.
///
/// ```
/// eddy::run(async {
///     let file = eddy::resource(String::from("buffered"), |s| async move {
///         eddy::yield_now().await; // an awaited flush
///         drop(s);
///     });
///     assert_eq!(file.len(), 8);
///     file.release().await;
/// });
/// ```
#[track_caller]
pub fn resource<R, F, Fut>(value: R, release: F) -> Resource<R>
where
    R: Send + 'static,
    F: FnOnce(R) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Resource::new_in(current_spawner(), value, release)
}

/// Acquire, use, release on the current runtime: the Rust form of
/// `async with acquire() as r:`; see [`eddy_scope::with_resource_in`].
///
/// # Panics
///
/// When first polled outside a runtime.
///
/// # Errors
///
/// The acquire step's error.
///
/// # Cancellation
///
/// If dropped after acquiring, the release still runs, as its own task.
///
/// ```
/// eddy::run(async {
///     let n = eddy::with_resource(
///         async { Ok::<_, std::io::Error>(vec![1, 2, 3]) },
///         |v| async move { drop(v) },
///         |v| Box::pin(async move { v.iter().sum::<i32>() }),
///     )
///     .await
///     .unwrap();
///     assert_eq!(n, 6);
/// });
/// ```
pub async fn with_resource<R, E, T, A, Rel, RelFut, B>(
    acquire: A,
    release: Rel,
    body: B,
) -> Result<T, E>
where
    R: Send + 'static,
    A: Future<Output = Result<R, E>>,
    Rel: FnOnce(R) -> RelFut + Send + 'static,
    RelFut: Future<Output = ()> + Send + 'static,
    B: for<'a> FnOnce(&'a mut R) -> Pin<Box<dyn Future<Output = T> + Send + 'a>>,
{
    with_resource_in(current_spawner(), acquire, release, body).await
}
