//! `shield` and `cancel_with_grace`.

use std::fmt;
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use eddy_core::{DynTask, JoinError, Panic, Spawn, SpawnError, TaskControl, TaskId, TaskMeta};
use eddy_timer::TimerHandle;
use pin_project_lite::pin_project;

use crate::oneshot::{self, Recv};
use crate::timeout::{Timeout, deadline_after};

pin_project! {
    struct Carry<F: Future> {
        #[pin]
        fut: F,
        tx: Option<oneshot::Sender<Result<F::Output, Panic>>>,
    }
}

impl<F: Future> Future for Carry<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        let out = match catch_unwind(AssertUnwindSafe(|| this.fut.poll(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(v)) => Ok(v),
            Err(p) => Err(Panic::new(p)),
        };
        if let Some(tx) = this.tx.take() {
            tx.send(out);
        }
        Poll::Ready(())
    }
}

/// A task started by [`shield_in`]: awaiting it gives the output, dropping
/// it (or the future awaiting it) leaves the task running.
///
/// ```
/// eddy::run(async {
///     let spawner = eddy::Handle::current().executor().clone();
///     let task: eddy_scope::Shielded<i32> = eddy_scope::shield_in(&spawner, async { 5 }).unwrap();
///     assert_eq!(task.await.unwrap(), 5);
/// });
/// ```
pub struct Shielded<T> {
    task: DynTask,
    rx: oneshot::Receiver<Result<T, Panic>>,
}

/// Protects `future` from the cancellation of whoever awaits it (asyncio's
/// `asyncio.shield`): it runs as its own task, so dropping the returned
/// handle (because a [`timeout`](crate::timeout) fired, a task group was
/// cancelled, or the awaiting task was cancelled) does not stop it.
///
/// # Errors
///
/// [`SpawnError`] when the executor has shut down.
///
/// # Example
///
/// ```
/// use std::sync::{Arc, atomic::{AtomicBool, Ordering}};
/// use std::time::Duration;
///
/// eddy::run(async {
///     let spawner = Arc::new(eddy::Handle::current().executor().clone());
///     let saved = Arc::new(AtomicBool::new(false));
///     let s = saved.clone();
///     let save = eddy_scope::shield_in(&*spawner, async move {
///         eddy::sleep(Duration::from_millis(20)).await;
///         s.store(true, Ordering::SeqCst);
///     })
///     .unwrap();
///     // The timeout gives up on waiting, but the save carries on.
///     assert!(eddy_scope::timeout(Duration::from_millis(5), save).await.is_err());
///     eddy::sleep(Duration::from_millis(30)).await;
///     assert!(saved.load(Ordering::SeqCst));
/// });
/// ```
#[track_caller]
pub fn shield_in<F>(spawner: &dyn Spawn, future: F) -> Result<Shielded<F::Output>, SpawnError>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    let task = spawner.spawn_boxed(
        Box::pin(Carry {
            fut: future,
            tx: Some(tx),
        }),
        TaskMeta::here(),
    )?;
    Ok(Shielded { task, rx })
}

impl<T> Shielded<T> {
    /// The shielded task's id.
    ///
    /// ```
    /// eddy::run(async {
    ///     let spawner = eddy::Handle::current().executor().clone();
    ///     let task = eddy_scope::shield_in(&spawner, async { eddy::task::current_task_id() }).unwrap();
    ///     let id = task.id();
    ///     assert_eq!(task.await.unwrap(), Some(id));
    /// });
    /// ```
    pub fn id(&self) -> TaskId {
        self.task.id()
    }

    /// `true` once the task has finished.
    ///
    /// ```
    /// eddy::run(async {
    ///     let spawner = eddy::Handle::current().executor().clone();
    ///     let task = eddy_scope::shield_in(&spawner, async { 1 + 1 }).unwrap();
    ///     for _ in 0..100 {
    ///         if task.is_finished() { break; }
    ///         eddy::yield_now().await;
    ///     }
    ///     assert!(task.is_finished());
    ///     assert_eq!(task.await.unwrap(), 2);
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Cancels the shielded task explicitly (the shield protects it only
    /// from its awaiter going away).
    ///
    /// ```
    /// eddy::run(async {
    ///     let spawner = eddy::Handle::current().executor().clone();
    ///     let mut task = eddy_scope::shield_in(&spawner, std::future::pending::<()>()).unwrap();
    ///     task.cancel();
    ///     assert!(task.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn cancel(&mut self) {
        self.task.cancel();
    }
}

impl<T> Future for Shielded<T> {
    type Output = Result<T, JoinError>;

    /// Gives `Err(JoinError::Cancelled)` if polled again after it returned.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.rx.poll_recv(cx).map(|r| match r {
            Recv::Value(Ok(v)) => Ok(v),
            Recv::Value(Err(p)) => Err(JoinError::Panicked(p)),
            Recv::Closed | Recv::Taken => Err(JoinError::Cancelled),
        })
    }
}

impl<T> fmt::Debug for Shielded<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shielded")
            .field("id", &self.task.id())
            .finish_non_exhaustive()
    }
}

/// Graceful cancellation of a task: asks it to finish (inside it,
/// `eddy::cancelled().await` resolves), waits up to `grace` for it to do so,
/// then cancels it hard (drops its future) if it is still running. Returns
/// how the task ended.
///
/// Use the hard `cancel()` when the task holds no state that needs awaited
/// cleanup (its `Drop` impls are enough); use this when it must, say, flush
/// or say goodbye over the network, and bound how long that may take.
///
/// Without a timer on this thread the grace period cannot be measured and
/// the task is cancelled hard at once.
///
/// # Errors
///
/// `Err(JoinError::Cancelled)` if the grace ran out (or the task stopped
/// because of the request by being cancelled), `Err(JoinError::Panicked)`
/// if it panicked.
///
/// # Cancellation
///
/// Dropping the future stops the waiting, not the task (which has been
/// asked to finish).
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use eddy_core::TaskControl;
///
/// eddy::run(async {
///     let spawner = eddy::Handle::current().executor().clone();
///     let mut task = eddy_core::Spawn::spawn_boxed(&spawner, Box::pin(async {
///         eddy::task::cancel_requested().await;
///         eddy::sleep(Duration::from_millis(5)).await; // async cleanup
///     }), eddy_core::TaskMeta::here()).unwrap();
///     eddy::task::yield_now().await;
///     let out = eddy_scope::cancel_with_grace(&mut *task, Duration::from_secs(1)).await;
///     assert!(out.is_ok()); // finished within its grace
/// });
/// ```
pub async fn cancel_with_grace<C>(task: &mut C, grace: Duration) -> Result<(), JoinError>
where
    C: TaskControl + ?Sized,
{
    task.request_cancel();
    if let Ok(h) = TimerHandle::try_current() {
        let deadline = deadline_after(h.now(), grace);
        let join = poll_fn(|cx| task.poll_join(cx));
        if let Ok(r) = Timeout::new_in(&h, deadline, join).await {
            return r;
        }
    }
    task.cancel();
    poll_fn(|cx| task.poll_join(cx)).await
}

/// Any `Arc<dyn Spawn>`-like spawner can start shielded tasks.
impl<T> Shielded<T> {
    /// [`shield_in`] with a shared spawner.
    ///
    /// # Errors
    ///
    /// [`SpawnError`] when the executor has shut down.
    ///
    /// ```
    /// # eddy::run(async {
    /// let spawner: std::sync::Arc<dyn eddy_core::Spawn> =
    ///     std::sync::Arc::new(eddy::Handle::current().executor().clone());
    /// let t = eddy_scope::Shielded::spawn(&spawner, async { 4 }).unwrap();
    /// assert_eq!(t.await.unwrap(), 4);
    /// # });
    /// ```
    #[track_caller]
    pub fn spawn<F>(spawner: &Arc<dyn Spawn>, future: F) -> Result<Shielded<T>, SpawnError>
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        shield_in(&**spawner, future)
    }
}
