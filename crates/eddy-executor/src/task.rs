//! Tasks: the per-task header, the future wrapper that catches panics and
//! honours cancellation, and the `Task<T>` handle.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, Location, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use eddy_core::{JoinError, Panic, TaskControl, TaskId, TaskMeta};
use pin_project_lite::pin_project;

use crate::executor::Shared;

/// What every task carries in its allocation (async-task's metadata slot).
pub(crate) struct Header {
    pub(crate) id: TaskId,
    pub(crate) meta: TaskMeta,
    /// Set by [`Task::cancel`]; read by the worker before each run.
    pub(crate) cancel: AtomicBool,
    /// This task's slot in the executor's registry of live tasks.
    pub(crate) key: usize,
    pub(crate) shared: Arc<Shared>,
}

pub(crate) type Runnable = async_task::Runnable<Header>;

thread_local! {
    /// Set by the worker around `Runnable::run` when the task is to be
    /// cancelled instead of polled. Passing it through a thread-local keeps the
    /// flag out of the future (which cannot see its own header).
    static CANCEL_RUN: Cell<bool> = const { Cell::new(false) };
}

/// Runs `runnable`: polls it, or drops its future if cancellation was requested
/// (or `force_cancel`, used when the executor shuts down).
///
/// Tasks are never cancelled by dropping a `Runnable`: that would make
/// async-task's handle panic when awaited. Instead the task completes with
/// `Err(JoinError::Cancelled)` after its future has been dropped, so the
/// awaiter observes the destructors' effects.
pub(crate) fn run_task(runnable: Runnable, force_cancel: bool) {
    if force_cancel || runnable.metadata().cancel.load(Ordering::Relaxed) {
        CANCEL_RUN.with(|c| c.set(true));
        runnable.run();
        CANCEL_RUN.with(|c| c.set(false));
    } else {
        runnable.run();
    }
}

pin_project! {
    #[project = StageProj]
    #[project_replace = StageReplace]
    enum Stage<F> {
        Running { #[pin] fut: F },
        Done,
    }
}

pin_project! {
    /// The future async-task actually runs: the user's future plus panic
    /// capture, cancellation and registry bookkeeping.
    pub(crate) struct TaskFuture<F> {
        #[pin]
        stage: Stage<F>,
        shared: Arc<Shared>,
        key: usize,
    }

    impl<F> PinnedDrop for TaskFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            // A destructor that panics must not unwind into the executor.
            if catch_unwind(AssertUnwindSafe(|| {
                this.stage.project_replace(Stage::Done);
            }))
            .is_err()
            {
                this.shared.note_drop_panic();
            }
            this.shared.unregister(*this.key);
        }
    }
}

impl<F> TaskFuture<F> {
    pub(crate) fn new(fut: F, shared: Arc<Shared>, key: usize) -> Self {
        TaskFuture {
            stage: Stage::Running { fut },
            shared,
            key,
        }
    }
}

impl<F: Future> Future for TaskFuture<F> {
    type Output = Result<F::Output, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let mut out = if CANCEL_RUN.with(Cell::get) {
            Err(JoinError::Cancelled)
        } else {
            let polled = match this.stage.as_mut().project() {
                StageProj::Running { fut } => catch_unwind(AssertUnwindSafe(|| fut.poll(cx))),
                // async-task never polls a completed future; stay inert if it did.
                StageProj::Done => return Poll::Pending,
            };
            match polled {
                Ok(Poll::Pending) => return Poll::Pending,
                Ok(Poll::Ready(v)) => Ok(v),
                Err(payload) => Err(JoinError::Panicked(Panic::new(payload))),
            }
        };
        // Drop the future here rather than inside async-task: its destructors
        // (the `finally` blocks) then run before the awaiter is woken, and a
        // panic in one of them is caught and reported.
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| {
            this.stage.project_replace(Stage::Done);
        })) {
            if out.is_ok() {
                out = Err(JoinError::Panicked(Panic::new(payload)));
            }
        }
        Poll::Ready(out)
    }
}

/// A handle to a spawned task.
///
/// Awaiting it gives the task's output, or a [`JoinError`] saying whether the
/// task was cancelled or panicked.
///
/// # Dropping a handle detaches the task
///
/// A dropped `Task` does **not** cancel its task: the task keeps running to
/// completion and its output is discarded, as with tokio's `JoinHandle` and
/// asyncio's `create_task`. This avoids asyncio's "keep a reference to your
/// task" pitfall (an unreferenced asyncio task may be garbage-collected
/// mid-flight); an eddy task is owned by its executor until it finishes. Call
/// [`Task::cancel`] to stop it.
///
/// # Example
///
/// ```
/// use eddy_executor::Executor;
///
/// let ex = Executor::current_thread(eddy_executor::ThreadPark::default());
/// let out = ex.block_on(async {
///     let task = eddy_executor::spawn(async { 6 * 7 });
///     task.await
/// });
/// assert_eq!(out.unwrap(), 42);
/// ```
pub struct Task<T> {
    inner: Option<async_task::Task<Result<T, JoinError>, Header>>,
}

impl<T> Task<T> {
    pub(crate) fn new(inner: async_task::Task<Result<T, JoinError>, Header>) -> Self {
        Task { inner: Some(inner) }
    }

    fn header(&self) -> &Header {
        // `inner` is `None` only inside `detach` and `Drop`.
        self.inner
            .as_ref()
            .map(|t| t.metadata())
            .expect("task handle used after detach")
    }

    /// The task's id.
    ///
    /// ```
    /// # let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// # ex.block_on(async {
    /// let a = eddy_executor::spawn(async {});
    /// let b = eddy_executor::spawn(async {});
    /// assert!(a.id() < b.id());
    /// # });
    /// ```
    pub fn id(&self) -> TaskId {
        self.header().id
    }

    /// The task's name, if it was given one.
    ///
    /// ```
    /// # let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// # ex.block_on(async {
    /// let t = eddy_executor::TaskBuilder::new().name("fetch").spawn(async {});
    /// assert_eq!(t.name(), Some("fetch"));
    /// # });
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.header().meta.name()
    }

    /// Where the task was spawned.
    ///
    /// ```
    /// # let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// # ex.block_on(async {
    /// let (t, line) = (eddy_executor::spawn(async {}), line!());
    /// assert_eq!(t.location().line(), line);
    /// # });
    /// ```
    pub fn location(&self) -> &'static Location<'static> {
        self.header().meta.location()
    }

    /// `true` once the task has finished: returned, panicked or been cancelled.
    ///
    /// ```
    /// # let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// # ex.block_on(async {
    /// let t = eddy_executor::spawn(async {});
    /// assert!(!t.is_finished()); // not run yet: the spawner has not yielded
    /// eddy_executor::yield_now().await;
    /// assert!(t.is_finished());
    /// # });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.inner.as_ref().is_some_and(|t| t.is_finished())
    }

    /// Requests cancellation, like asyncio's `Task.cancel()`.
    ///
    /// The task's future is dropped the next time the executor would have
    /// polled it (at its current suspension point, or right after its current
    /// poll if it is running on another thread), so its destructors run exactly
    /// once. Awaiting the handle afterwards gives `Err(JoinError::Cancelled)`,
    /// and only resolves once those destructors have run.
    ///
    /// Cancelling a task that has already finished does nothing: awaiting it
    /// still gives its output. Cancelling twice is the same as once.
    ///
    /// ```
    /// use eddy_core::JoinError;
    ///
    /// # let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// # ex.block_on(async {
    /// let t = eddy_executor::spawn(std::future::pending::<()>());
    /// t.cancel();
    /// assert!(matches!(t.await, Err(JoinError::Cancelled)));
    /// # });
    /// ```
    pub fn cancel(&self) {
        let header = self.header();
        if !header.cancel.swap(true, Ordering::AcqRel) {
            header.shared.wake_task(header.key, header.id);
        }
    }

    /// Lets the task run on without a handle. Same as dropping the handle.
    ///
    /// ```
    /// # let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// # ex.block_on(async {
    /// eddy_executor::spawn(async { /* runs to completion on its own */ }).detach();
    /// # });
    /// ```
    pub fn detach(mut self) {
        if let Some(t) = self.inner.take() {
            t.detach();
        }
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        if let Some(t) = self.inner.take() {
            t.detach();
        }
    }
}

impl<T> Future for Task<T> {
    type Output = Result<T, JoinError>;

    /// # Panics
    ///
    /// Polling again after the handle has returned `Ready` panics, as for any
    /// future that is polled after completion.
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.inner.as_mut() {
            Some(t) => Pin::new(t).poll(cx),
            None => Poll::Ready(Err(JoinError::Cancelled)),
        }
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Task");
        if let Some(t) = &self.inner {
            let h = t.metadata();
            d.field("id", &h.id)
                .field("name", &h.meta.name())
                .field("finished", &t.is_finished());
        }
        d.finish()
    }
}

impl TaskControl for Task<()> {
    fn id(&self) -> TaskId {
        Task::id(self)
    }

    fn cancel(&mut self) {
        Task::cancel(self)
    }

    fn is_finished(&self) -> bool {
        Task::is_finished(self)
    }

    fn poll_join(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), JoinError>> {
        Pin::new(self).poll(cx)
    }
}
