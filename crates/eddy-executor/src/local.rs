//! [`LocalSet`]: `!Send` tasks pinned to one thread, on either flavour.
//!
//! A set is a small executor of its own without a thread: a [`Shared`] of
//! the current-thread flavour (registry, injector, cancel flags: all of the
//! executor's task machinery) whose "driver" never parks and whose unparker
//! wakes whoever awaits the set. Its tasks run only inside a poll of the set
//! ([`LocalSet::run_until`], or the set itself as a future), on the set's
//! thread, with the set's worker context entered: a wake-up from that thread
//! goes to the set's local queue, one from any other thread to its injector
//! and then to the awaiter's waker.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering, fence};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use eddy_core::{Park, TaskMeta, Unpark};
use pin_project_lite::pin_project;

use crate::executor::context::{RunningGuard, WorkerCtx, WorkerSwap};
use crate::executor::handle::LocalSetGuard;
use crate::executor::shared::{Flavor, Shared};
use crate::executor::{DEFAULT_EVENT_INTERVAL, Executor};
use crate::hooks::{BuildExtras, Hooks};
use crate::lock::lock;
use crate::task::{Task, run_task_eagerly, with_saved_run_state};

/// A set of `!Send` tasks that run on one thread, on either flavour: tokio's
/// `LocalSet`.
///
/// The multi-threaded runtime moves tasks between workers, so it cannot run
/// a future that holds an `Rc` or a `RefCell` borrow across an `.await`.
/// A `LocalSet` can: its tasks run only while the set is polled, on the
/// thread that polls it (the set itself is `!Send`, so that is always the
/// thread that made it), and a task woken from another thread (a channel
/// sender, a timer on a worker, I/O) is sent back to the set's queue, never
/// run elsewhere. Meanwhile `Send` tasks spawned with
/// [`spawn`](crate::spawn) still go to the runtime's workers.
///
/// * [`LocalSet::spawn_local`] adds a task; it runs the next time the set is
///   polled.
/// * [`LocalSet::run_until`] polls a future and runs the set's tasks until
///   that future completes. While the set is polled, the free function
///   [`spawn_local`](crate::spawn_local) (and [`try_spawn_local_with`],
///   [`TaskBuilder::spawn_local`]) spawns onto it, on any flavour.
/// * [`LocalSet::block_on`] is `ex.block_on(set.run_until(fut))`.
/// * The set is itself a future: awaiting it runs its tasks until none is
///   left.
///
/// Dropping the set cancels every task still in it: their futures are
/// dropped, once each, on the set's thread, and their handles resolve to
/// [`JoinError::Cancelled`](eddy_core::JoinError). Cancellation, panics
/// ([`JoinError::Panicked`](eddy_core::JoinError); the set carries on),
/// [`Task::cancel_handle`] and [`Task::is_finished`] work as for any task.
/// The set keeps its own registry, so its tasks are not counted in the
/// runtime's [`stats`](crate::Handle::stats) nor listed by
/// [`all_tasks`](crate::all_tasks), and the runtime's shutdown does not
/// reach them (the set's drop does).
///
/// Named after tokio's type, which does the same job: a tokio user
/// reaching for `!Send` tasks on a multi-threaded runtime looks for
/// `LocalSet`. (tokio's newer `LocalRuntime` is a whole current-thread
/// runtime; eddy's [`Flavor::CurrentThread`] is that already.)
///
/// [`try_spawn_local_with`]: crate::try_spawn_local_with
/// [`TaskBuilder::spawn_local`]: crate::TaskBuilder::spawn_local
///
/// # Example
///
/// ```
/// use std::cell::RefCell;
/// use std::rc::Rc;
/// use eddy_executor::{Builder, Flavor, LocalSet, ThreadPark};
///
/// let ex = Builder::new(Flavor::MultiThread).worker_threads(2).build(ThreadPark::default())?;
/// let local = LocalSet::new();
/// let log = Rc::new(RefCell::new(Vec::new()));
/// let out = local.block_on(&ex, async {
///     let l = log.clone();
///     let a = eddy_executor::spawn_local(async move { l.borrow_mut().push("local") });
///     let parallel = eddy_executor::spawn(async { "on a worker" });
///     a.await.unwrap();
///     parallel.await.unwrap()
/// });
/// assert_eq!(out, "on a worker");
/// assert_eq!(*log.borrow(), ["local"]);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct LocalSet {
    shared: Arc<Shared>,
    wake: Arc<SetWake>,
    /// The set's worker context (its local run queue), entered while it
    /// runs its tasks. Also what makes the set `!Send`.
    ctx: Rc<WorkerCtx>,
}

/// How the set's tasks reach whoever awaits the set.
struct SetWake {
    /// Set while the set is being polled: a task scheduled meanwhile is run
    /// by that poll (it checks its queues once more before returning), so
    /// the awaiter need not be woken.
    polling: AtomicBool,
    /// The waker of whoever polled the set last; taken by the first wake.
    waker: Mutex<Option<Waker>>,
}

impl Unpark for SetWake {
    /// A task of the set was scheduled from outside its poll (another
    /// thread, or this one between polls): wake the awaiter.
    fn unpark(&self) {
        // Pairs with the fence in `LocalSet::poll_set`: either that poll sees
        // the task just queued, or this sees `polling` cleared.
        fence(Ordering::SeqCst);
        if self.polling.load(Ordering::SeqCst) {
            return;
        }
        let waker = lock(&self.waker).take();
        if let Some(w) = waker {
            // The awaiter's waker is foreign code; the scheduling thread may
            // be a task finishing, which must not unwind.
            eddy_core::wake_contained(w);
        }
    }
}

/// The set's stand-in for a driver: it never blocks (whoever awaits the set
/// blocks, in its own executor), and unparking it wakes that awaiter.
struct SetPark(Arc<SetWake>);

impl Park for SetPark {
    fn park(&mut self, _timeout: Option<Duration>) -> std::io::Result<()> {
        Ok(())
    }

    fn unparker(&self) -> Arc<dyn Unpark> {
        self.0.clone()
    }
}

/// Restores `SetWake::polling` when a poll of the set ends, also if the
/// future it polls panics.
struct Polling<'a> {
    wake: &'a SetWake,
    prev: bool,
}

impl Drop for Polling<'_> {
    fn drop(&mut self) {
        self.wake.polling.store(self.prev, Ordering::SeqCst);
    }
}

impl LocalSet {
    /// An empty set. It needs no runtime until it is polled.
    ///
    /// ```
    /// let local = eddy_executor::LocalSet::new();
    /// # drop(local);
    /// ```
    pub fn new() -> LocalSet {
        let wake = Arc::new(SetWake {
            polling: AtomicBool::new(false),
            waker: Mutex::new(None),
        });
        let shared = Arc::new(Shared::new(
            Flavor::CurrentThread,
            1,
            1,
            Box::new(SetPark(wake.clone())),
            DEFAULT_EVENT_INTERVAL,
            false,
            Hooks::new(BuildExtras::default()),
        ));
        let ctx = Rc::new(WorkerCtx {
            shared: shared.clone(),
            index: 0,
            local: RefCell::new(VecDeque::new()),
            lifo: Cell::new(None),
        });
        LocalSet { shared, wake, ctx }
    }

    /// Spawns a `!Send` task onto the set. It runs the next time the set is
    /// polled (by [`run_until`](LocalSet::run_until), or awaiting the set),
    /// on the set's thread. Works outside a runtime too.
    ///
    /// ```
    /// use std::rc::Rc;
    ///
    /// let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// let local = eddy_executor::LocalSet::new();
    /// let rc = Rc::new(7);
    /// let t = local.spawn_local(async move { *rc * 6 });
    /// assert_eq!(local.block_on(&ex, t).unwrap(), 42);
    /// ```
    #[track_caller]
    pub fn spawn_local<F>(&self, fut: F) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.shared.spawn_local_inner(fut, TaskMeta::here(), false)
    }

    /// Spawns a `!Send` task described by `meta` (name and spawn location)
    /// onto the set.
    ///
    /// ```
    /// let local = eddy_executor::LocalSet::new();
    /// let t = local.spawn_local_with(eddy_core::TaskMeta::here().with_name("ui"), async {});
    /// assert_eq!(t.name(), Some("ui"));
    /// ```
    pub fn spawn_local_with<F>(&self, meta: TaskMeta, fut: F) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.shared.spawn_local_inner(fut, meta, false)
    }

    /// A future that polls `fut` and runs the set's tasks until `fut`
    /// completes. Tasks still pending then stay in the set: the next poll of
    /// the set runs them, dropping the set cancels them.
    ///
    /// Await it where a `!Send` future may be awaited: in
    /// [`Executor::block_on`] (either flavour), in a task of another
    /// `LocalSet`, or in a current-thread [`spawn_local`](crate::spawn_local)
    /// task. Inside `fut` and the set's tasks,
    /// [`spawn_local`](crate::spawn_local) spawns onto this set.
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    /// use eddy_executor::{Builder, Flavor, LocalSet, ThreadPark};
    ///
    /// let ex = Builder::new(Flavor::MultiThread).worker_threads(2).build(ThreadPark::default())?;
    /// let local = LocalSet::new();
    /// let hits = ex.block_on(local.run_until(async {
    ///     let hits = Rc::new(Cell::new(0));
    ///     let tasks: Vec<_> = (0..3)
    ///         .map(|_| {
    ///             let h = hits.clone();
    ///             eddy_executor::spawn_local(async move { h.set(h.get() + 1) })
    ///         })
    ///         .collect();
    ///     for t in tasks {
    ///         t.await.unwrap();
    ///     }
    ///     hits.get()
    /// }));
    /// assert_eq!(hits, 3);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn run_until<F: Future>(&self, fut: F) -> RunUntil<'_, F> {
        RunUntil { set: self, fut }
    }

    /// Runs `fut` on `rt`'s thread with the set's tasks, until `fut`
    /// completes: `rt.block_on(self.run_until(fut))`. `rt` is an
    /// [`Executor`], or the facade's `eddy::Runtime`.
    ///
    /// # Panics
    ///
    /// Like `rt.block_on`: inside a running eddy runtime, or if `fut`
    /// panics.
    ///
    /// ```
    /// let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// let local = eddy_executor::LocalSet::new();
    /// let v = local.block_on(&ex, async {
    ///     eddy_executor::spawn_local(async { std::rc::Rc::new(5) }).await.unwrap()
    /// });
    /// assert_eq!(*v, 5);
    /// ```
    pub fn block_on<R: BlockOn, F: Future>(&self, rt: &R, fut: F) -> F::Output {
        rt.block_on(self.run_until(fut))
    }

    /// Polls the set: `first` (the future of `run_until`), then up to an
    /// event interval of ready tasks.
    fn poll_set<R>(
        &self,
        cx: &mut Context<'_>,
        first: impl FnOnce(&mut Context<'_>) -> Poll<R>,
    ) -> Poll<R> {
        {
            let mut w = lock(&self.wake.waker);
            match &mut *w {
                Some(old) => old.clone_from(cx.waker()),
                None => *w = Some(cx.waker().clone()),
            }
        }
        let polling = Polling {
            wake: &self.wake,
            prev: self.wake.polling.swap(true, Ordering::SeqCst),
        };
        let _set = LocalSetGuard::enter(self.shared.clone());
        if let Poll::Ready(v) = first(cx) {
            return Poll::Ready(v);
        }
        let busy = self.run_ready();
        let outer = polling.prev;
        drop(polling);
        if !outer {
            // Pairs with the fence in `SetWake::unpark`.
            fence(Ordering::SeqCst);
        }
        if busy || !self.shared.injector.is_empty() || !self.ctx.local.borrow().is_empty() {
            // More to do: yield to the awaiter's executor, and come back.
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }

    /// Runs ready tasks, at most an event interval of them; `true` if it
    /// stopped for the budget rather than for want of work.
    fn run_ready(&self) -> bool {
        let _worker = WorkerSwap::enter(self.ctx.clone());
        // Runs nest here only through `run_task_eagerly`, which saves the
        // outer state; a nested `Executor::block_on` would not.
        let _running = RunningGuard::enter();
        let shared = &*self.shared;
        if !shared.injector.is_empty() {
            let mut local = self.ctx.local.borrow_mut();
            while let Ok(r) = shared.injector.pop() {
                local.push_back(r);
            }
        }
        for _ in 0..shared.event_interval {
            let next = self.ctx.local.borrow_mut().pop_front();
            match next {
                Some(r) => run_task_eagerly(shared, r),
                None => return false,
            }
        }
        true
    }

    /// `true` while a task of the set is alive.
    fn has_tasks(&self) -> bool {
        !self.shared.registry.lock().tasks.is_empty()
    }
}

impl Default for LocalSet {
    /// Same as [`LocalSet::new`].
    ///
    /// ```
    /// let local = eddy_executor::LocalSet::default();
    /// # drop(local);
    /// ```
    fn default() -> LocalSet {
        LocalSet::new()
    }
}

impl Future for LocalSet {
    type Output = ();

    /// Runs the set's tasks until none is left.
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    ///
    /// let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// let local = eddy_executor::LocalSet::new();
    /// let done = Rc::new(Cell::new(false));
    /// let d = done.clone();
    /// local.spawn_local(async move {
    ///     eddy_executor::yield_now().await;
    ///     d.set(true);
    /// });
    /// ex.block_on(local);
    /// assert!(done.get());
    /// ```
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &*self;
        let out = this.poll_set(cx, |_| Poll::Pending);
        if out.is_pending() && !this.has_tasks() {
            return Poll::Ready(());
        }
        out
    }
}

impl Drop for LocalSet {
    /// Cancels every task still in the set, on this thread: each future is
    /// dropped once, and each handle resolves to `Cancelled`.
    fn drop(&mut self) {
        let _worker = WorkerSwap::enter(self.ctx.clone());
        let _set = LocalSetGuard::enter(self.shared.clone());
        // The set may be dropped inside a task's poll: keep its run state.
        with_saved_run_state(|| self.shared.drain());
        // The set's state can outlive the set (a waker of one of its tasks
        // held elsewhere keeps it alive): let go of the awaiter's waker now.
        drop(lock(&self.wake.waker).take());
    }
}

impl fmt::Debug for LocalSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalSet")
            .field("tasks", &self.shared.registry.lock().tasks.len())
            .finish_non_exhaustive()
    }
}

pin_project! {
    /// Future returned by [`LocalSet::run_until`]: polls its future and
    /// runs the set's tasks, until the future completes.
    ///
    /// ```
    /// let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// let local = eddy_executor::LocalSet::new();
    /// let run: eddy_executor::RunUntil<'_, _> = local.run_until(async { 1 });
    /// assert_eq!(ex.block_on(run), 1);
    /// ```
    #[must_use = "futures do nothing unless awaited"]
    pub struct RunUntil<'a, F> {
        set: &'a LocalSet,
        #[pin]
        fut: F,
    }
}

impl<F: Future> Future for RunUntil<'_, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let fut = this.fut;
        this.set.poll_set(cx, |cx| fut.poll(cx))
    }
}

impl<F> fmt::Debug for RunUntil<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunUntil").finish_non_exhaustive()
    }
}

/// Something that runs a future to completion on the calling thread: an
/// [`Executor`], or the facade's `eddy::Runtime`. What
/// [`LocalSet::block_on`] takes.
///
/// ```
/// use eddy_executor::BlockOn;
///
/// fn twice<R: BlockOn>(rt: &R) -> u32 {
///     rt.block_on(async { 2 }) + rt.block_on(async { 2 })
/// }
/// let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
/// assert_eq!(twice(&ex), 4);
/// ```
pub trait BlockOn {
    /// Runs `fut` to completion on the calling thread.
    fn block_on<F: Future>(&self, fut: F) -> F::Output;
}

impl BlockOn for Executor {
    fn block_on<F: Future>(&self, fut: F) -> F::Output {
        Executor::block_on(self, fut)
    }
}
