//! Handles onto an executor: [`Handle`], the thread-local "current
//! executor", [`TaskBuilder`] and the spawn functions built on them.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use eddy_core::{BoxFuture, DynTask, Spawn, SpawnError, TaskMeta};

use super::context::{WORKER, WorkerCtx, with_worker};
use super::shared::{ExecutorStats, Flavor, Shared};
use crate::task::Task;

/// What this thread's spawn functions target.
struct Current {
    /// The executor [`spawn`](crate::spawn) goes to.
    handle: Option<Handle>,
    /// The [`LocalSet`](crate::LocalSet) being polled on this thread, if
    /// any: [`spawn_local`](crate::spawn_local) goes there. Kept beside the
    /// handle so that `spawn_local` still reads one thread-local.
    local_set: Option<Arc<Shared>>,
}

thread_local! {
    static CURRENT: RefCell<Current> = const {
        RefCell::new(Current {
            handle: None,
            local_set: None,
        })
    };
}

/// Makes a [`LocalSet`](crate::LocalSet) the target of `spawn_local` on
/// this thread while it is polled; restores the previous one on drop.
pub(crate) struct LocalSetGuard(Option<Arc<Shared>>);

impl LocalSetGuard {
    pub(crate) fn enter(set: Arc<Shared>) -> LocalSetGuard {
        LocalSetGuard(CURRENT.with(|c| c.borrow_mut().local_set.replace(set)))
    }
}

impl Drop for LocalSetGuard {
    fn drop(&mut self) {
        let prev = self.0.take();
        let _ = CURRENT.try_with(|c| c.borrow_mut().local_set = prev);
    }
}

/// Sets the thread's worker context and current handle; restores on drop.
pub(crate) struct WorkerGuard {
    prev_worker: Option<Rc<WorkerCtx>>,
    prev_handle: Option<Handle>,
}

impl WorkerGuard {
    pub(crate) fn enter(ctx: Rc<WorkerCtx>) -> WorkerGuard {
        let handle = Handle {
            shared: ctx.shared.clone(),
        };
        let prev_worker = WORKER.with(|w| w.borrow_mut().replace(ctx));
        let prev_handle = CURRENT.with(|c| c.borrow_mut().handle.replace(handle));
        WorkerGuard {
            prev_worker,
            prev_handle,
        }
    }
}

impl Drop for WorkerGuard {
    fn drop(&mut self) {
        let w = self.prev_worker.take();
        let h = self.prev_handle.take();
        let _ = WORKER.try_with(|c| *c.borrow_mut() = w);
        let _ = CURRENT.try_with(|c| c.borrow_mut().handle = h);
    }
}

/// Makes an executor current on a thread it does not run (see
/// [`Handle::enter`]); restores the previous one when dropped.
#[must_use = "the executor is current only while the guard lives"]
pub struct EnterGuard(Option<Handle>);

impl EnterGuard {
    pub(crate) fn enter(handle: Handle) -> EnterGuard {
        EnterGuard(CURRENT.with(|c| c.borrow_mut().handle.replace(handle)))
    }
}

impl fmt::Debug for EnterGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnterGuard").finish_non_exhaustive()
    }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let prev = self.0.take();
        let _ = CURRENT.try_with(|c| c.borrow_mut().handle = prev);
    }
}

/// A cheap, cloneable, `Send + Sync` reference to an executor, for spawning
/// from anywhere.
///
/// # Example
///
/// ```
/// let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
/// let handle = ex.handle();
/// let from_thread = std::thread::spawn(move || handle.spawn(async { 5 })).join().unwrap();
/// assert_eq!(ex.block_on(from_thread).unwrap(), 5);
/// ```
#[derive(Clone)]
pub struct Handle {
    pub(crate) shared: Arc<Shared>,
}

impl Handle {
    /// The handle of the executor running the current thread.
    ///
    /// # Panics
    ///
    /// When called outside an executor; see [`Handle::try_current`].
    ///
    /// ```
    /// # let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// ex.block_on(async {
    ///     let h = eddy_executor::Handle::current();
    ///     h.spawn(async {}).await.unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn current() -> Handle {
        match Handle::try_current() {
            Some(h) => h,
            None => panic!("{NO_RUNTIME}"),
        }
    }

    /// The handle of the executor running the current thread, if any.
    ///
    /// ```
    /// assert!(eddy_executor::Handle::try_current().is_none());
    /// ```
    pub fn try_current() -> Option<Handle> {
        CURRENT
            .try_with(|c| c.borrow().handle.clone())
            .ok()
            .flatten()
    }

    /// Spawns a task.
    ///
    /// If the executor has shut down, the task is cancelled at once: awaiting
    /// it gives `Err(JoinError::Cancelled)`.
    ///
    /// ```
    /// let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// let t = ex.handle().spawn(async { 1 });
    /// assert_eq!(ex.block_on(t).unwrap(), 1);
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, fut: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.shared.spawn_send(fut, TaskMeta::here(), false)
    }

    /// Spawns a task described by `meta` (name and spawn location).
    ///
    /// ```
    /// let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// let t = ex.handle().spawn_with(eddy_core::TaskMeta::here().with_name("x"), async {});
    /// assert_eq!(t.name(), Some("x"));
    /// ```
    pub fn spawn_with<F>(&self, meta: TaskMeta, fut: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.shared.spawn_send(fut, meta, false)
    }

    /// Spawns a `!Send` future on this executor, which must be the
    /// current-thread flavour running on this thread. This names the
    /// executor, so it ignores a [`LocalSet`](crate::LocalSet) being polled
    /// here; [`spawn_local`](crate::spawn_local) and
    /// [`try_spawn_local_with`] go to the set.
    ///
    /// # Errors
    ///
    /// [`SpawnLocalError`] if this thread is not running this executor's
    /// current-thread flavour (local tasks never move between threads). On
    /// the multi-threaded flavour, run local tasks in a
    /// [`LocalSet`](crate::LocalSet).
    ///
    /// ```
    /// use std::rc::Rc;
    /// let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// ex.block_on(async {
    ///     let h = eddy_executor::Handle::current();
    ///     let rc = Rc::new(3);
    ///     let t = h.spawn_local_with(eddy_core::TaskMeta::here(), async move { *rc }).unwrap();
    ///     assert_eq!(t.await.unwrap(), 3);
    /// });
    /// ```
    pub fn spawn_local_with<F>(
        &self,
        meta: TaskMeta,
        fut: F,
    ) -> Result<Task<F::Output>, SpawnLocalError>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.spawn_local_opts(meta, fut, false)
    }

    fn spawn_local_opts<F>(
        &self,
        meta: TaskMeta,
        fut: F,
        eager: bool,
    ) -> Result<Task<F::Output>, SpawnLocalError>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        if self.shared.flavor != Flavor::CurrentThread {
            return Err(SpawnLocalError::NotCurrentThread);
        }
        if !with_worker(&self.shared, |ctx| ctx.is_some()) {
            return Err(SpawnLocalError::NotOnExecutorThread);
        }
        Ok(self.shared.spawn_local_inner(fut, meta, eager))
    }

    /// Makes this executor current on this thread (so [`spawn`](crate::spawn)
    /// works there) until the guard is dropped.
    ///
    /// ```
    /// let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// let h = ex.handle();
    /// let t = std::thread::spawn(move || {
    ///     let _g = h.enter();
    ///     eddy_executor::spawn(async { 4 })
    /// })
    /// .join()
    /// .unwrap();
    /// assert_eq!(ex.block_on(t).unwrap(), 4);
    /// ```
    pub fn enter(&self) -> EnterGuard {
        EnterGuard::enter(self.clone())
    }

    /// Asks every live task to finish early (the graceful half of
    /// cancellation; see [`Task::request_cancel`]): from now on
    /// [`is_cancel_requested`](crate::is_cancel_requested) is `true` in every
    /// task of this executor and [`cancel_requested`](crate::cancel_requested)
    /// resolves. Every task is woken once so it can notice. Used by a
    /// graceful shutdown: request, wait for [`Handle::all_finished`] up to a
    /// grace period, then drop the executor (which cancels the rest hard).
    ///
    /// ```
    /// let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// let h = ex.handle();
    /// let t = h.spawn(async {
    ///     eddy_executor::cancel_requested().await;
    ///     "cleaned up"
    /// });
    /// ex.block_on(async {
    ///     eddy_executor::yield_now().await;
    ///     h.request_cancel_all();
    ///     h.all_finished().await;
    /// });
    /// assert_eq!(ex.block_on(t).unwrap(), "cleaned up");
    /// ```
    pub fn request_cancel_all(&self) {
        self.shared
            .cancel_all_requested
            .store(true, Ordering::SeqCst);
        self.shared.wake_all_tasks();
    }

    /// Resolves once no task of this executor is alive (every future has
    /// completed or been dropped). Resolves at once if there are none.
    ///
    /// Cancel-safe; dropping it has no effect.
    ///
    /// ```
    /// let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// let h = ex.handle();
    /// ex.block_on(async {
    ///     h.spawn(async { eddy_executor::yield_now().await }).detach();
    ///     h.all_finished().await;
    ///     assert_eq!(h.stats().alive, 0);
    /// });
    /// ```
    pub fn all_finished(&self) -> AllFinished {
        AllFinished {
            shared: self.shared.clone(),
        }
    }

    /// A snapshot of this executor's counters.
    ///
    /// ```
    /// let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// assert_eq!(ex.handle().stats().alive, 0);
    /// ```
    pub fn stats(&self) -> ExecutorStats {
        self.shared.stats()
    }

    /// The flavour of the executor.
    ///
    /// ```
    /// let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// assert_eq!(ex.handle().flavor(), eddy_executor::Flavor::CurrentThread);
    /// ```
    pub fn flavor(&self) -> Flavor {
        self.shared.flavor
    }

    /// Number of worker threads (1 for the current-thread flavour).
    ///
    /// ```
    /// let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// assert_eq!(ex.handle().worker_count(), 1);
    /// ```
    pub fn worker_count(&self) -> usize {
        self.shared.workers.len()
    }

    /// `true` once the executor has begun shutting down.
    ///
    /// ```
    /// let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// let h = ex.handle();
    /// drop(ex);
    /// assert!(h.is_shut_down());
    /// ```
    pub fn is_shut_down(&self) -> bool {
        self.shared.shutdown.load(Ordering::Acquire)
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("flavor", &self.shared.flavor)
            .finish_non_exhaustive()
    }
}

impl Spawn for Handle {
    fn spawn_boxed(&self, future: BoxFuture, meta: TaskMeta) -> Result<DynTask, SpawnError> {
        if self.shared.closing.load(Ordering::Acquire) || self.is_shut_down() {
            return Err(SpawnError);
        }
        Ok(Box::new(self.shared.spawn_send(future, meta, false)))
    }
}

/// Future returned by [`Handle::all_finished`].
#[must_use = "futures do nothing unless awaited"]
pub struct AllFinished {
    shared: Arc<Shared>,
}

impl fmt::Debug for AllFinished {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AllFinished").finish_non_exhaustive()
    }
}

impl Future for AllFinished {
    type Output = ();

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut reg = self.shared.registry.lock();
        if reg.tasks.is_empty() {
            return Poll::Ready(());
        }
        if !reg.idle_waiters.iter().any(|w| w.will_wake(cx.waker())) {
            reg.idle_waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// Why a `!Send` task could not be spawned.
///
/// Local tasks never move between threads, so outside a
/// [`LocalSet`](crate::LocalSet) they need the current-thread flavour. On
/// the multi-threaded flavour, make a `LocalSet` and spawn them inside it
/// (`local.run_until(fut)`, `local.spawn_local(fut)`); the messages say so.
///
/// ```
/// let e = eddy_executor::SpawnLocalError::NotCurrentThread;
/// assert!(e.to_string().contains("current-thread"));
/// assert!(e.to_string().contains("LocalSet"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpawnLocalError {
    /// There is no eddy executor on this thread, and no
    /// [`LocalSet`](crate::LocalSet) is being polled here.
    NoRuntime,
    /// The executor is multi-threaded and no [`LocalSet`](crate::LocalSet)
    /// is being polled on this thread; local tasks need the current-thread
    /// flavour or a `LocalSet`.
    NotCurrentThread,
    /// The caller is not on the thread running the executor (and not inside
    /// a [`LocalSet`](crate::LocalSet)).
    NotOnExecutorThread,
}

impl fmt::Display for SpawnLocalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SpawnLocalError::NoRuntime => {
                "spawn_local called outside an eddy runtime and outside a LocalSet: \
                 spawn with `LocalSet::spawn_local`, or from inside `LocalSet::run_until`"
            }
            SpawnLocalError::NotCurrentThread => {
                "spawn_local outside a LocalSet needs the current-thread flavour (local tasks \
                 never move between threads): on the multi-threaded runtime, run local tasks \
                 in a `LocalSet` (`local.run_until(fut)`, `local.spawn_local(fut)`)"
            }
            SpawnLocalError::NotOnExecutorThread => {
                "spawn_local called from a thread that is not running the executor: \
                 run local tasks there in a `LocalSet`"
            }
        })
    }
}

impl std::error::Error for SpawnLocalError {}

/// Options for spawning a task: its name.
///
/// ```
/// # let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
/// # ex.block_on(async {
/// let t = eddy_executor::TaskBuilder::new().name("worker").spawn(async { 1 });
/// assert_eq!(t.name(), Some("worker"));
/// assert_eq!(t.await.unwrap(), 1);
/// # });
/// ```
#[derive(Debug, Default, Clone)]
pub struct TaskBuilder {
    name: Option<Arc<str>>,
    eager: bool,
}

impl TaskBuilder {
    /// A builder for an unnamed task.
    ///
    /// ```
    /// let b = eddy_executor::TaskBuilder::new();
    /// # drop(b);
    /// ```
    pub fn new() -> TaskBuilder {
        TaskBuilder::default()
    }

    /// Names the task.
    ///
    /// ```
    /// # let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// # ex.block_on(async {
    /// let t = eddy_executor::TaskBuilder::new().name("indexer").spawn(async {});
    /// assert_eq!(t.name(), Some("indexer"));
    /// # });
    /// ```
    pub fn name(mut self, name: impl Into<Arc<str>>) -> TaskBuilder {
        self.name = Some(name.into());
        self
    }

    /// Starts the task eagerly (asyncio's eager task factory): `spawn` polls
    /// it at once, on the caller's thread, until its first suspension, so a
    /// task that can finish without waiting is done when `spawn` returns and
    /// costs no trip through the run queue. Applies when spawning from a
    /// thread that runs the executor (inside a task or `block_on`'s
    /// current-thread loop); elsewhere the task is scheduled as usual.
    ///
    /// ```
    /// # let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// # ex.block_on(async {
    /// let t = eddy_executor::spawn(async {
    ///     let inner = eddy_executor::TaskBuilder::new().eager(true).spawn(async { 5 });
    ///     assert!(inner.is_finished()); // ran inside spawn
    ///     inner.await.unwrap()
    /// });
    /// assert_eq!(t.await.unwrap(), 5);
    /// # });
    /// ```
    pub fn eager(mut self, eager: bool) -> TaskBuilder {
        self.eager = eager;
        self
    }

    #[track_caller]
    fn meta(self, location: &'static Location<'static>) -> TaskMeta {
        let meta = TaskMeta::at(location);
        match self.name {
            Some(n) => meta.with_name(n),
            None => meta,
        }
    }

    /// Spawns on the current executor.
    ///
    /// # Panics
    ///
    /// Outside an executor, like [`spawn`](crate::spawn).
    ///
    /// ```
    /// # let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// # ex.block_on(async {
    /// let t = eddy_executor::TaskBuilder::new().name("job").spawn(async { 2 });
    /// assert_eq!(t.await.unwrap(), 2);
    /// # });
    /// ```
    #[track_caller]
    pub fn spawn<F>(self, fut: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let loc = Location::caller();
        let eager = self.eager;
        spawn_on_current(fut, self.meta(loc), eager)
    }

    /// Spawns on the given executor.
    ///
    /// ```
    /// let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// let t = eddy_executor::TaskBuilder::new().name("n").spawn_on(&ex.handle(), async { 2 });
    /// assert_eq!(ex.block_on(t).unwrap(), 2);
    /// ```
    #[track_caller]
    pub fn spawn_on<F>(self, handle: &Handle, fut: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let loc = Location::caller();
        let eager = self.eager;
        handle.shared.spawn_send(fut, self.meta(loc), eager)
    }

    /// Spawns a `!Send` future on the [`LocalSet`](crate::LocalSet) being
    /// polled on this thread, or else on the current thread's executor.
    ///
    /// # Panics
    ///
    /// Like [`spawn_local`](crate::spawn_local).
    ///
    /// ```
    /// # let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// # ex.block_on(async {
    /// let t = eddy_executor::TaskBuilder::new().name("local").spawn_local(async { std::rc::Rc::new(1) });
    /// assert_eq!(*t.await.unwrap(), 1);
    /// # });
    /// ```
    #[track_caller]
    pub fn spawn_local<F>(self, fut: F) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let loc = Location::caller();
        let eager = self.eager;
        match spawn_local_on_current(self.meta(loc), fut, eager) {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        }
    }
}

const NO_RUNTIME: &str = "there is no eddy runtime on this thread: call this from inside \
     `eddy::run`, a task, or `Runtime::block_on`";

/// Spawns on the current thread's executor, borrowing its handle from the
/// thread-local rather than cloning it (a clone and drop are two atomic
/// operations on every spawn).
///
/// # Panics
///
/// Outside an executor, with the same message as [`Handle::current`].
#[track_caller]
pub(crate) fn spawn_on_current<F>(fut: F, meta: TaskMeta, eager: bool) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    // The future and its metadata move into the closure (no `Option` to
    // take them out of: each extra copy of a spawn's arguments through the
    // stack showed in profiles of `spawn_many`).
    let spawned = CURRENT.try_with(move |c| {
        let current = c.borrow();
        let h = current.handle.as_ref()?;
        Some(h.shared.spawn_send(fut, meta, eager))
    });
    match spawned {
        Ok(Some(task)) => task,
        _ => panic!("{NO_RUNTIME}"),
    }
}

/// Spawns a `!Send` future on the [`LocalSet`](crate::LocalSet) being
/// polled on this thread (on any flavour), or else on the current thread's
/// current-thread executor; or says why not.
///
/// # Errors
///
/// See [`SpawnLocalError`]: outside a `LocalSet`, on the multi-threaded
/// flavour, [`SpawnLocalError::NotCurrentThread`].
///
/// ```
/// let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
/// ex.block_on(async {
///     let rc = std::rc::Rc::new(1);
///     let t = eddy_executor::try_spawn_local_with(eddy_core::TaskMeta::here(), async move { *rc })
///         .unwrap();
///     assert_eq!(t.await.unwrap(), 1);
/// });
/// // Outside a runtime: an error, not a panic.
/// assert!(eddy_executor::try_spawn_local_with(eddy_core::TaskMeta::here(), async {}).is_err());
/// ```
pub fn try_spawn_local_with<F>(meta: TaskMeta, fut: F) -> Result<Task<F::Output>, SpawnLocalError>
where
    F: Future + 'static,
    F::Output: 'static,
{
    spawn_local_on_current(meta, fut, false)
}

/// Where `spawn_local` sends a task from this thread.
enum LocalTarget {
    Set(Arc<Shared>),
    Executor(Handle),
}

/// Spawns a `!Send` future on this thread's [`LocalSet`](crate::LocalSet)
/// if one is being polled, else on the current executor. One read of the
/// thread-local `spawn_local` always read.
fn spawn_local_on_current<F>(
    meta: TaskMeta,
    fut: F,
    eager: bool,
) -> Result<Task<F::Output>, SpawnLocalError>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let target = CURRENT
        .try_with(|c| {
            let c = c.borrow();
            match (&c.local_set, &c.handle) {
                (Some(set), _) => Some(LocalTarget::Set(set.clone())),
                (None, Some(h)) => Some(LocalTarget::Executor(h.clone())),
                (None, None) => None,
            }
        })
        .ok()
        .flatten();
    match target {
        Some(LocalTarget::Set(set)) => Ok(set.spawn_local_inner(fut, meta, eager)),
        Some(LocalTarget::Executor(h)) => h.spawn_local_opts(meta, fut, eager),
        None => Err(SpawnLocalError::NoRuntime),
    }
}
