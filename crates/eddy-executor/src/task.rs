//! Tasks: the per-task header, the future wrapper that catches panics and
//! honours cancellation, and the `Task<T>` handle.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::mem::MaybeUninit;
use std::panic::{AssertUnwindSafe, Location, catch_unwind};
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Instant;

use eddy_core::abandon::{self, AbandonMode};
use eddy_core::{JoinError, Panic, TaskControl, TaskId};
use pin_project_lite::pin_project;

use crate::executor::context::unregister_here;
use crate::executor::shared::{
    AWAITED, CANCEL, CANCEL_REQUESTED, ExitWait, Header, Runnable, Shared,
};
use crate::hooks::PollEnd;
use crate::outcome::{ErrOutput, err_output};

/// How a poll ended the task (`RunState::completed`); 0 means it did not.
pub(crate) const OUTCOME_OK: u8 = 1;
pub(crate) const OUTCOME_CANCELLED: u8 = 2;
pub(crate) const OUTCOME_PANICKED: u8 = 3;
/// Or-ed into an outcome: the task left the registry from inside its last
/// poll (see `finish`).
const UNREGISTERED: u8 = 0x80;

/// What the worker tells the task it is about to poll, through a thread-local
/// (the future cannot see its own header). One `Cell` per field, so the hot
/// path writes and reads single words instead of copying a struct.
struct RunState {
    task: Cell<Option<TaskId>>,
    /// The running task's registry key (for `CancelHandle::current`).
    key: Cell<u32>,
    /// Drop the future instead of polling it.
    cancel: Cell<bool>,
    /// The executor is shutting down: a cancelled task stops waiting for
    /// what its destructors left behind.
    shutdown: Cell<bool>,
    /// The running task cancelled itself during this poll: if it returns
    /// without suspending, it ends cancelled (asyncio's rule).
    self_cancel: Cell<bool>,
    /// [`Task::request_cancel`] was called.
    cancel_requested: Cell<bool>,
    /// Depth of [`with_cancel_requested`] calls on this thread: while
    /// non-zero the code being polled (task or `block_on` future) is asked
    /// to finish.
    forced_cancel: Cell<u32>,
    /// Set by `TaskFuture` when it returns `Ready` (an `OUTCOME_*`): the
    /// worker then removes the task from the registry (the future cannot
    /// reach the executor).
    completed: Cell<u8>,
    /// Destructor panics caught that no outcome could report.
    drop_panics: Cell<u32>,
}

/// What a task's last poll leaves for the reports (cold: a panic, or an
/// `Err` in debug mode). Kept out of [`RunState`] because these fields own
/// heap data: a thread-local with drop glue is registered for destruction
/// and checked on every access, and `RUN` is read several times per poll.
struct RunReport {
    /// The message of the panic that ended the task, for reports.
    panic_msg: RefCell<Option<String>>,
    /// The `Err` output that ended the task, in debug mode, for reports.
    err_output: RefCell<Option<ErrOutput>>,
}

thread_local! {
    static RUN: RunState = const {
        RunState {
            task: Cell::new(None),
            key: Cell::new(0),
            cancel: Cell::new(false),
            shutdown: Cell::new(false),
            self_cancel: Cell::new(false),
            cancel_requested: Cell::new(false),
            forced_cancel: Cell::new(0),
            completed: Cell::new(0),
            drop_panics: Cell::new(0),
        }
    };
    static REPORT: RunReport = const {
        RunReport {
            panic_msg: RefCell::new(None),
            err_output: RefCell::new(None),
        }
    };
}

/// Runs `runnable`: polls it, or drops its future if cancellation was requested
/// (or `force_cancel`, used when the executor shuts down).
///
/// Tasks are never cancelled by dropping a `Runnable`: that would make
/// async-task's handle panic when awaited. Instead the task completes with
/// `Err(JoinError::Cancelled)` after its future has been dropped, so the
/// awaiter observes the destructors' effects.
///
/// `shared` is the executor the task belongs to (tasks only ever run on their
/// own executor's threads). Runs never nest on one thread (`block_on` refuses
/// to run inside a task), so the state needs no save and restore.
pub(crate) fn run_task(shared: &Shared, runnable: Runnable, force_cancel: bool) {
    let header = runnable.metadata();
    let key = header.key;
    let id = header.id;
    let mut flags = header.flags.load(Ordering::Acquire);
    if shared.remote_pending.load(Ordering::Acquire) {
        let remote = shared.take_remote_flags(key, id);
        if remote != 0 {
            flags |= remote;
            header.flags.fetch_or(remote, Ordering::AcqRel);
        }
    }
    // One test on the fast path: debug mode or task hooks.
    let per_poll = shared.hooks.per_poll();
    let started = if per_poll {
        shared.hooks.before_poll(id)
    } else {
        None
    };
    let (mut completed, drop_panics) = RUN.with(|r| {
        r.task.set(Some(id));
        r.key.set(key);
        r.cancel.set(force_cancel || flags & CANCEL != 0);
        r.shutdown.set(force_cancel);
        r.self_cancel.set(false);
        r.cancel_requested.set(
            flags & CANCEL_REQUESTED != 0 || shared.cancel_all_requested.load(Ordering::Relaxed),
        );
        runnable.run();
        r.task.set(None);
        (r.completed.replace(0), r.drop_panics.replace(0))
    });
    if drop_panics > 0 {
        shared.note_drop_panics(drop_panics);
    }
    if completed & UNREGISTERED != 0 {
        completed &= !UNREGISTERED;
    } else if completed != 0 {
        shared.unregister(key, id);
    }
    if per_poll || completed == OUTCOME_PANICKED {
        after_poll(shared, id, started, completed);
    }
}

/// After a poll with debug mode or task hooks on, or that ended in a panic.
#[cold]
fn after_poll(shared: &Shared, id: TaskId, started: Option<Instant>, outcome: u8) {
    if started.is_some() || outcome == OUTCOME_PANICKED {
        report_poll(shared, id, started, outcome);
    }
    shared.hooks.after_any_poll(id, outcome != 0);
}

/// A poll that was timed (debug mode) or that ended in a panic: to debug
/// mode and the panic policy.
fn report_poll(shared: &Shared, id: TaskId, started: Option<Instant>, outcome: u8) {
    if outcome == 0 {
        // Only a poll that ends the task notes its output.
        shared
            .hooks
            .after_poll(&*shared.driver_unpark, id, started, PollEnd::Pending);
        return;
    }
    // Taken whatever the outcome: a destructor that panicked after the
    // output was looked at turned the `Err` into a panic.
    let err = REPORT.try_with(|r| r.err_output.take()).ok().flatten();
    let end = match outcome {
        OUTCOME_PANICKED => {
            PollEnd::Panicked(take_panic_message().unwrap_or_else(|| "<non-string panic>".into()))
        }
        OUTCOME_OK => PollEnd::Finished(err),
        _ => PollEnd::Finished(None),
    };
    shared
        .hooks
        .after_poll(&*shared.driver_unpark, id, started, end);
}

/// The message of the panic that just ended a task on this thread.
fn take_panic_message() -> Option<String> {
    REPORT.try_with(|r| r.panic_msg.take()).ok().flatten()
}

/// Runs a freshly spawned task inside the spawner's poll (eager start), or
/// a [`LocalSet`](crate::LocalSet)'s task inside whatever polls the set.
/// The outer run state is saved around it: these are the places runs nest.
pub(crate) fn run_task_eagerly(shared: &Shared, runnable: Runnable) {
    with_saved_run_state(|| run_task(shared, runnable, false));
}

/// Runs `f`, which runs tasks, with this thread's run state saved around it
/// (see [`run_task_eagerly`]; also a `LocalSet` cancelling its tasks when
/// it is dropped inside a task).
pub(crate) fn with_saved_run_state(f: impl FnOnce()) {
    let saved = RUN.with(|r| {
        (
            r.task.get(),
            (r.key.get(), r.shutdown.get(), r.self_cancel.get()),
            r.cancel.get(),
            r.cancel_requested.get(),
            r.completed.replace(0),
            r.drop_panics.replace(0),
            // The eager task is not the code its spawner marked.
            r.forced_cancel.replace(0),
        )
    });
    f();
    RUN.with(|r| {
        r.task.set(saved.0);
        r.key.set(saved.1.0);
        r.shutdown.set(saved.1.1);
        r.self_cancel.set(saved.1.2);
        r.cancel.set(saved.2);
        r.cancel_requested.set(saved.3);
        r.completed.set(saved.4);
        r.drop_panics.set(saved.5);
        r.forced_cancel.set(saved.6);
    });
}

fn note_drop_panic() {
    let _ = RUN.try_with(|r| r.drop_panics.set(r.drop_panics.get() + 1));
}

/// A cancel flag was just set on the task `id`: if that is the task being
/// polled on this thread, let it see so at once.
pub(crate) fn note_flag_on(id: TaskId, flag: u8) {
    let _ = RUN.try_with(|r| {
        if r.task.get() == Some(id) {
            if flag & CANCEL != 0 {
                r.self_cancel.set(true);
            }
            if flag & CANCEL_REQUESTED != 0 {
                r.cancel_requested.set(true);
            }
        }
    });
}

/// The running task's id and registry key.
pub(crate) fn current_task_key() -> Option<(TaskId, u32)> {
    RUN.try_with(|r| r.task.get().map(|id| (id, r.key.get())))
        .ok()
        .flatten()
}

/// The id of the task being polled on this thread, if any (asyncio's
/// `current_task()`).
///
/// ```
/// # let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
/// # ex.block_on(async {
/// assert_eq!(eddy_executor::current_task_id(), None); // the block_on future is not a task
/// let t = eddy_executor::spawn(async { eddy_executor::current_task_id() });
/// let id = t.id();
/// assert_eq!(t.await.unwrap(), Some(id));
/// # });
/// ```
pub fn current_task_id() -> Option<TaskId> {
    RUN.try_with(|r| r.task.get()).ok().flatten()
}

/// `true` when the current task has been asked to finish early with
/// [`Task::request_cancel`]. Outside a task, `false`.
///
/// A task that wants asynchronous cleanup checks this (or awaits
/// [`cancel_requested`]) and returns on its own; a task that never checks
/// is unaffected until a hard [`Task::cancel`].
///
/// ```
/// # let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
/// # ex.block_on(async {
/// let t = eddy_executor::spawn(async {
///     while !eddy_executor::is_cancel_requested() {
///         eddy_executor::yield_now().await;
///     }
///     "cleaned up"
/// });
/// t.request_cancel();
/// assert_eq!(t.await.unwrap(), "cleaned up");
/// # });
/// ```
pub fn is_cancel_requested() -> bool {
    RUN.try_with(|r| {
        r.forced_cancel.get() > 0 || (r.task.get().is_some() && r.cancel_requested.get())
    })
    .unwrap_or(false)
}

/// Runs `f` with [`is_cancel_requested`] true (and [`cancel_requested`]
/// resolving) on this thread, as if the task being polled (or the
/// `block_on` future) had been asked to finish; the previous answer is
/// restored afterwards, also if `f` panics. A task started eagerly inside
/// `f` is not affected.
///
/// This is how a structured-concurrency scope that is being cancelled
/// gracefully (a task group's body, for one) lets the code it polls see the
/// request through the usual functions, without the whole task being asked.
///
/// ```
/// # let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
/// # ex.block_on(async {
/// let t = eddy_executor::spawn(async {
///     let mut inside = false;
///     eddy_executor::with_cancel_requested(&mut || inside = eddy_executor::is_cancel_requested());
///     (inside, eddy_executor::is_cancel_requested())
/// });
/// assert_eq!(t.await.unwrap(), (true, false));
/// // The block_on future too.
/// let mut inside = false;
/// eddy_executor::with_cancel_requested(&mut || inside = eddy_executor::is_cancel_requested());
/// assert!(inside && !eddy_executor::is_cancel_requested());
/// # });
/// ```
pub fn with_cancel_requested(f: &mut dyn FnMut()) {
    struct Restore;
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = RUN.try_with(|r| r.forced_cancel.set(r.forced_cancel.get() - 1));
        }
    }
    if RUN
        .try_with(|r| r.forced_cancel.set(r.forced_cancel.get() + 1))
        .is_err()
    {
        // The thread is being torn down: nothing to mark.
        return f();
    }
    let _restore = Restore;
    f();
}

/// Resolves once the current task has been asked to finish early with
/// [`Task::request_cancel`]. Never resolves outside a task.
///
/// Typical use: race it against the task's work, then clean up with
/// `.await`s before returning.
///
/// ```
/// use futures_lite::future;
///
/// # let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
/// # ex.block_on(async {
/// let t = eddy_executor::spawn(async {
///     let work = future::pending::<&str>();
///     let out = future::or(work, async {
///         eddy_executor::cancel_requested().await;
///         "stopped early, cleanup awaited"
///     })
///     .await;
///     out
/// });
/// eddy_executor::yield_now().await;
/// t.request_cancel();
/// assert_eq!(t.await.unwrap(), "stopped early, cleanup awaited");
/// # });
/// ```
pub fn cancel_requested() -> CancelRequested {
    CancelRequested { _private: () }
}

/// Future returned by [`cancel_requested`].
///
/// Cancel-safe: dropping it has no effect. It needs no waker of its own: the
/// request wakes the whole task, which polls this future again.
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct CancelRequested {
    _private: (),
}

impl Future for CancelRequested {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if is_cancel_requested() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

pin_project! {
    #[project = StageProj]
    #[project_replace = StageReplace]
    enum Stage<F> {
        Running { #[pin] fut: F },
        /// Running in debug mode: an `Err` output is noted for the
        /// lost-error report (a variant rather than a flag, so that tasks
        /// pay no byte for it).
        Watched { #[pin] fut: F },
        Done,
    }
}

pin_project! {
    /// A task's future on the multi-threaded flavour, followed by a cold
    /// pad that keeps two tasks' hot words off one cache line.
    ///
    /// Tasks spawned in a row sit side by side on the heap, and once they
    /// run on different workers, every poll and wake of one would bounce the
    /// line it shares with its neighbour between cores (async-task's state
    /// word is at the start of an allocation, the future's state at its
    /// end). The pad is the last thing in the allocation and never touched,
    /// so the line a task shares with the next one holds only the pad.
    /// Aligning the allocation to 64 bytes instead does the same job, but
    /// glibc's `memalign` more than doubled the memory per task (164 → 363
    /// bytes, two workers); the pad costs its 64 bytes (164 → 206).
    /// `yield_many` on two workers: 47 → 34 ns per yield, where one worker
    /// takes 57 (a 112-byte pad: 32 ns for 251 bytes per task). The
    /// current-thread flavour has no second core to share with and does
    /// without.
    #[repr(C)]
    pub(crate) struct CachePadded<F> {
        #[pin]
        inner: F,
        pad: MaybeUninit<[u8; 64]>,
    }
}

impl<F> CachePadded<F> {
    pub(crate) fn new(inner: F) -> CachePadded<F> {
        CachePadded {
            inner,
            pad: MaybeUninit::uninit(),
        }
    }
}

impl<F: Future> Future for CachePadded<F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.project().inner.poll(cx)
    }
}

pin_project! {
    /// The future async-task actually runs: the user's future plus panic
    /// capture and cancellation.
    pub(crate) struct TaskFuture<F> {
        #[pin]
        stage: Stage<F>,
    }

    impl<F> PinnedDrop for TaskFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            // Normally the future is already gone (dropped in `poll`); this
            // covers any other path. A destructor that panics must not
            // unwind into the executor.
            let this = this.project();
            if catch_unwind(AssertUnwindSafe(|| {
                this.stage.project_replace(Stage::Done);
            }))
            .is_err()
            {
                note_drop_panic();
            }
        }
    }
}

impl<F> TaskFuture<F> {
    /// `watched` in debug mode: see `Stage::Watched`.
    pub(crate) fn new(fut: F, watched: bool) -> Self {
        TaskFuture {
            stage: if watched {
                Stage::Watched { fut }
            } else {
                Stage::Running { fut }
            },
        }
    }
}

/// Debug mode: notes a task's output if it is an `Err`, for `after_poll`.
#[cold]
fn note_output<T: 'static>(v: &T) {
    if let Some(e) = err_output(v) {
        let _ = REPORT.try_with(|r| r.err_output.replace(Some(e)));
    }
}

/// A task that ended early (cancelled or panicked) whose destructors left
/// work behind ([`eddy_core::abandon`]): a task group's children still
/// running their cleanup. The task's outcome waits until they are done, so
/// no child outlives the task that hosted its group.
struct Drain {
    left: Vec<eddy_core::BoxFuture>,
    err: JoinError,
}

/// The drains in progress, by task. Kept outside the task: a `Draining`
/// stage in `TaskFuture` would grow every task by a word (an empty future's
/// stage went from 1 to 16 bytes) for something few tasks ever do. The
/// task's stage is `Done` meanwhile; async-task polls a `Done` stage only
/// while the task drains.
static DRAINS: Mutex<Option<HashMap<TaskId, Drain>>> = Mutex::new(None);

fn drains() -> std::sync::MutexGuard<'static, Option<HashMap<TaskId, Drain>>> {
    DRAINS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Polls the drain of the running task `id`, if it has one: `None` when it
/// has none, `Some(Pending)` while it goes on, `Some(Ready(err))` when done
/// (or given up on at shutdown).
fn poll_drain(id: Option<TaskId>, shutdown: bool, cx: &mut Context<'_>) -> Option<Poll<JoinError>> {
    let id = id?;
    let mut drain = drains().as_mut()?.remove(&id)?;
    // Shutdown stops the wait: every task is being cancelled, and what is
    // left may belong to one that will never run again.
    if shutdown || poll_left(&mut drain.left, cx) {
        return Some(Poll::Ready(drain.err));
    }
    drains().get_or_insert_with(HashMap::new).insert(id, drain);
    Some(Poll::Pending)
}

fn record_panic(payload: Box<dyn std::any::Any + Send>) -> JoinError {
    let panic = Panic::new(payload);
    let msg = panic.message().unwrap_or("<non-string panic>").to_owned();
    let _ = REPORT.try_with(|r| r.panic_msg.replace(Some(msg)));
    JoinError::Panicked(panic)
}

fn finish<T>(out: Result<T, JoinError>) -> Poll<Result<T, JoinError>> {
    let outcome = match &out {
        Ok(_) => OUTCOME_OK,
        Err(JoinError::Panicked(_)) => OUTCOME_PANICKED,
        Err(_) => OUTCOME_CANCELLED,
    };
    let _ = RUN.try_with(|r| {
        // Leave the registry before async-task stores the output and wakes
        // the awaiter: whoever sees the output then also sees the task gone
        // (`CancelHandle::is_finished`, the exit a `wait_for` waits for).
        let early = r
            .task
            .get()
            .is_some_and(|id| unregister_here(r.key.get(), id));
        r.completed.set(if early {
            outcome | UNREGISTERED
        } else {
            outcome
        });
    });
    Poll::Ready(out)
}

/// Polls what a dropped future left behind; `true` once all of it is done.
/// A panic in one of them ends that one only: the task's outcome stands.
fn poll_left(left: &mut Vec<eddy_core::BoxFuture>, cx: &mut Context<'_>) -> bool {
    left.retain_mut(|f| {
        matches!(
            catch_unwind(AssertUnwindSafe(|| f.as_mut().poll(cx))),
            Ok(Poll::Pending)
        )
    });
    left.is_empty()
}

/// One poll of the user's future, its panic caught: `None` while it is
/// pending. `watched` (debug mode) looks at the output for an `Err`.
#[inline]
fn poll_user<F: Future>(
    fut: Pin<&mut F>,
    cx: &mut Context<'_>,
    watched: bool,
) -> Option<Result<F::Output, JoinError>>
where
    F::Output: 'static,
{
    match catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
        Ok(Poll::Pending) => None,
        Ok(Poll::Ready(v)) if RUN.with(|r| r.self_cancel.get()) => {
            // asyncio: a task that cancels itself and returns without
            // suspending again ends cancelled.
            if catch_unwind(AssertUnwindSafe(|| drop(v))).is_err() {
                note_drop_panic();
            }
            Some(Err(JoinError::Cancelled))
        }
        Ok(Poll::Ready(v)) => {
            if watched {
                note_output(&v);
            }
            Some(Ok(v))
        }
        Err(payload) => Some(Err(record_panic(payload))),
    }
}

impl<F: Future> Future for TaskFuture<F>
where
    F::Output: 'static,
{
    type Output = Result<F::Output, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let (cancel, shutdown) = RUN.with(|r| (r.cancel.get(), r.shutdown.get()));
        let out = match this.stage.as_mut().project() {
            // Only a draining task's `Done` stage is polled (async-task never
            // polls a completed task); stay inert otherwise.
            StageProj::Done => {
                return match poll_drain(current_task_id(), shutdown, cx) {
                    Some(Poll::Ready(err)) => finish(Err(err)),
                    _ => Poll::Pending,
                };
            }
            StageProj::Running { .. } | StageProj::Watched { .. } if cancel => {
                Err(JoinError::Cancelled)
            }
            StageProj::Running { fut } => match poll_user(fut, cx, false) {
                Some(out) => out,
                None => return Poll::Pending,
            },
            StageProj::Watched { fut } => match poll_user(fut, cx, true) {
                Some(out) => out,
                None => return Poll::Pending,
            },
        };
        // Drop the future here rather than inside async-task: its destructors
        // (the `finally` blocks) then run before the awaiter is woken, and a
        // panic in one of them is caught and reported.
        let Err(mut err) = out else {
            // A future that returned has dropped its locals already.
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| {
                this.stage.project_replace(Stage::Done);
            })) {
                return finish(Err(record_panic(payload)));
            }
            return finish(out);
        };
        let mut dropped = Ok(());
        let left = abandon::collect_abandoned(AbandonMode::Wait, || {
            dropped = catch_unwind(AssertUnwindSafe(|| {
                this.stage.as_mut().project_replace(Stage::Done);
            }));
        });
        if let Err(payload) = dropped {
            if err.is_cancelled() {
                // asyncio and trio surface an error raised while a task is
                // being cancelled: the panic wins over `Cancelled`.
                err = record_panic(payload);
            } else {
                note_drop_panic();
            }
        }
        if left.is_empty() || shutdown {
            return finish(Err(err));
        }
        let mut drain = Drain { left, err };
        if poll_left(&mut drain.left, cx) {
            return finish(Err(drain.err));
        }
        match current_task_id() {
            Some(id) => {
                drains().get_or_insert_with(HashMap::new).insert(id, drain);
                Poll::Pending
            }
            // Not polled as a task (cannot happen: only workers run tasks);
            // nobody could find the drain again, so do not wait.
            None => finish(Err(drain.err)),
        }
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
/// One exception, asked for explicitly: a handle that was being awaited
/// and is dropped because `eddy::wait_for` gave up on its awaiter (see
/// [`eddy_core::abandon::AbandonMode::CancelAwaited`]) cancels its task, and
/// `wait_for` waits until the task is gone, as asyncio does.
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

    pub(crate) fn header(&self) -> &Header {
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
        self.header().name()
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
        self.header().location()
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
    /// Returns whether the request was new: `false` when the task had
    /// already finished or had been cancelled before (asyncio's `cancel()`
    /// returns `False` on a finished task). A task that cancels itself (with
    /// its own handle or a [`CancelHandle`](crate::CancelHandle)) and then returns without
    /// suspending ends cancelled, as in asyncio; if it suspends, it is
    /// dropped at that suspension point.
    ///
    /// ```
    /// use eddy_core::JoinError;
    ///
    /// # let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// # ex.block_on(async {
    /// let t = eddy_executor::spawn(std::future::pending::<()>());
    /// assert!(t.cancel());
    /// assert!(!t.cancel()); // already asked
    /// assert!(matches!(t.await, Err(JoinError::Cancelled)));
    ///
    /// let done = eddy_executor::spawn(async { 1 });
    /// eddy_executor::yield_now().await;
    /// assert!(!done.cancel()); // finished: nothing to cancel
    /// assert_eq!(done.await.unwrap(), 1);
    /// # });
    /// ```
    pub fn cancel(&self) -> bool {
        self.set_flag(CANCEL)
    }

    /// Asks the task to finish early, without dropping it: inside the task,
    /// [`is_cancel_requested`] turns `true` and [`cancel_requested`]
    /// resolves, so the task can run asynchronous cleanup (awaits included)
    /// and return. This is the graceful half of asyncio's cancellation,
    /// where `CancelledError` lets a task clean up with awaits; the hard half
    /// is [`Task::cancel`]. Combine them with a grace period: request, wait a
    /// while, then cancel.
    ///
    /// A task that never checks is unaffected. Requesting twice is the same
    /// as once; requesting on a finished task does nothing.
    ///
    /// ```
    /// # let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// # ex.block_on(async {
    /// let t = eddy_executor::spawn(async {
    ///     eddy_executor::cancel_requested().await;
    ///     "graceful"
    /// });
    /// t.request_cancel();
    /// assert_eq!(t.await.unwrap(), "graceful");
    /// # });
    /// ```
    pub fn request_cancel(&self) {
        self.set_flag(CANCEL_REQUESTED);
    }

    fn set_flag(&self, flag: u8) -> bool {
        if self.is_finished() {
            return false;
        }
        let header = self.header();
        let new = header.flags.fetch_or(flag, Ordering::AcqRel) & flag == 0;
        if new {
            note_flag_on(header.id, flag);
            header.shared.wake_task(header.key, header.id);
        }
        new
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
            debug_handle_dropped(t.metadata());
            t.detach();
        }
    }
}

/// Debug mode: a handle going away may lose a panic nobody looked at.
fn debug_handle_dropped(header: &Header) {
    header.shared.hooks.on_handle_dropped(header.id);
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        if let Some(t) = self.inner.take() {
            let h = t.metadata();
            // AWAITED: polled at least once, someone awaits the task.
            if h.flags.load(Ordering::Relaxed) & AWAITED != 0
                && !t.is_finished()
                && abandon::abandon_mode() == Some(AbandonMode::CancelAwaited)
            {
                // The awaiter is being given up on (`wait_for` timed out or
                // was cancelled): asyncio cancels the awaited task with it,
                // and the awaiter waits until the task is gone.
                if h.flags.fetch_or(CANCEL, Ordering::AcqRel) & CANCEL == 0 {
                    h.shared.wake_task(h.key, h.id);
                }
                let exit = ExitWait::new(h.shared.clone(), h.key, h.id);
                let _ = abandon::offer_abandoned(Box::pin(exit));
            }
            debug_handle_dropped(h);
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
            Some(t) => {
                let flags = &t.metadata().flags;
                if flags.load(Ordering::Relaxed) & AWAITED == 0 {
                    flags.fetch_or(AWAITED, Ordering::Relaxed);
                }
                let out = Pin::new(&mut *t).poll(cx);
                if out.is_ready() {
                    let header = t.metadata();
                    header.shared.hooks.on_handle_observed(header.id);
                }
                out
            }
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
                .field("name", &h.name())
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
        Task::cancel(self);
    }

    fn request_cancel(&mut self) {
        Task::request_cancel(self)
    }

    fn is_finished(&self) -> bool {
        Task::is_finished(self)
    }

    fn poll_join(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), JoinError>> {
        Pin::new(self).poll(cx)
    }
}

#[cfg(test)]
mod tests {
    /// The pad must end the future (async-task puts the future last in the
    /// allocation, so the pad ends the task) and span a whole cache line.
    #[test]
    fn the_cache_pad_is_last_and_a_line_long() {
        fn check<F>() {
            let off = std::mem::offset_of!(super::CachePadded<F>, pad);
            assert!(off >= std::mem::size_of::<F>());
            assert!(std::mem::size_of::<super::CachePadded<F>>() - off >= 64);
        }
        check::<u8>();
        check::<[u64; 5]>();
        check::<super::TaskFuture<std::future::Pending<()>>>();
    }

    /// Every task pays for `TaskFuture`'s stage: it must add nothing to a
    /// future with a niche, and one byte to an empty one (no stage that
    /// only a few tasks need, such as draining, may live here).
    #[test]
    fn the_stage_adds_at_most_a_tag() {
        use std::mem::size_of;
        // Handles sit in user collections (100k in `spawn_many`).
        assert_eq!(size_of::<super::Task<()>>(), size_of::<usize>());
        assert!(size_of::<super::TaskFuture<std::future::Pending<()>>>() <= 1);
        assert!(
            size_of::<super::TaskFuture<std::future::Ready<u64>>>()
                <= size_of::<std::future::Ready<u64>>() + 8
        );
    }
}
