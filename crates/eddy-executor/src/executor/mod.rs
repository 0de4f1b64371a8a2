//! The executor: run queues, workers, parking and shutdown.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::Location;
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering, fence};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, JoinHandle, Thread};
use std::time::Duration;

use async_task::{ScheduleInfo, WithInfo};
use concurrent_queue::ConcurrentQueue;
use eddy_core::{BoxFuture, DynTask, JoinError, Park, Spawn, SpawnError, TaskId, TaskMeta, Unpark};
use slab::Slab;

use crate::debug::{BuildExtras, Ext};
use crate::task::{CachePadded, Header, Runnable, Task, TaskFuture, run_task, run_task_eagerly};

/// How many tasks a worker runs between two non-blocking checks of the driver
/// (I/O and timers) and of the remote queue. tokio uses the same number; it is
/// prime so that it does not resonate with task patterns that repeat every
/// power of two. Lower values cost more `Park::park(Some(0))` calls on busy
/// loops; higher values let an always-ready task delay I/O and timers longer.
pub const DEFAULT_EVENT_INTERVAL: u32 = 61;

/// Capacity of each worker's stealable queue; overflow goes to the injector.
const LOCAL_QUEUE_CAPACITY: usize = 256;

/// How many times in a row a worker may run the task in its LIFO slot before
/// the slot's task must go through the queue like everyone else.
const MAX_LIFO_POLLS: u32 = 3;

/// Rounds of looking for work before a multi-threaded worker goes to sleep:
/// waking a sleeping thread costs ~19 µs on a small VM, a round of looking a
/// few hundred nanoseconds.
const SPIN_ROUNDS: u32 = 32;

/// Which kind of executor to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// asyncio's model: every task runs on the thread that calls
    /// [`Executor::block_on`]. `!Send` futures can be spawned with
    /// [`spawn_local`](crate::spawn_local).
    CurrentThread,
    /// A pool of worker threads, each with its own run queue, sharing a global
    /// injector queue and stealing from each other when idle.
    MultiThread,
}

type ThreadWrapper = Arc<dyn Fn(&mut dyn FnMut()) + Send + Sync>;

/// Configures and builds an [`Executor`].
///
/// # Example
///
/// ```
/// use eddy_executor::{Builder, Flavor, ThreadPark};
///
/// let ex = Builder::new(Flavor::MultiThread)
///     .worker_threads(2)
///     .thread_name("my-worker")
///     .build(ThreadPark::default())
///     .unwrap();
/// assert_eq!(ex.block_on(async { eddy_executor::spawn(async { 1 + 1 }).await }).unwrap(), 2);
/// ```
pub struct Builder {
    flavor: Flavor,
    workers: usize,
    thread_name: Arc<str>,
    event_interval: u32,
    wrap_thread: Option<ThreadWrapper>,
    lifo_slot: bool,
    /// Debug mode, seed, deadlock check, panic policy (see debug.rs).
    pub(crate) extras: BuildExtras,
}

impl Builder {
    /// A builder for the given flavour, with defaults: one worker per CPU for
    /// the multi-threaded flavour, threads named `eddy-worker-N`, an event
    /// interval of [`DEFAULT_EVENT_INTERVAL`].
    ///
    /// ```
    /// let ex = eddy_executor::Builder::new(eddy_executor::Flavor::CurrentThread)
    ///     .build(eddy_executor::ThreadPark::default())
    ///     .unwrap();
    /// assert_eq!(ex.flavor(), eddy_executor::Flavor::CurrentThread);
    /// ```
    pub fn new(flavor: Flavor) -> Builder {
        let cpus = thread::available_parallelism().map_or(1, |n| n.get());
        Builder {
            flavor,
            workers: cpus,
            thread_name: Arc::from("eddy-worker"),
            event_interval: DEFAULT_EVENT_INTERVAL,
            wrap_thread: None,
            lifo_slot: true,
            extras: BuildExtras::default(),
        }
    }

    /// Number of worker threads of the multi-threaded flavour (at least 1).
    /// Ignored by the current-thread flavour.
    ///
    /// ```
    /// let b = eddy_executor::Builder::new(eddy_executor::Flavor::MultiThread).worker_threads(4);
    /// # drop(b);
    /// ```
    pub fn worker_threads(mut self, n: usize) -> Builder {
        self.workers = n.max(1);
        self
    }

    /// Prefix of worker thread names; workers are named `{prefix}-{index}`.
    ///
    /// ```
    /// let b = eddy_executor::Builder::new(eddy_executor::Flavor::MultiThread).thread_name("io");
    /// # drop(b);
    /// ```
    pub fn thread_name(mut self, prefix: impl Into<Arc<str>>) -> Builder {
        self.thread_name = prefix.into();
        self
    }

    /// How many tasks run between two non-blocking driver checks; see
    /// [`DEFAULT_EVENT_INTERVAL`]. Values below 1 are raised to 1.
    ///
    /// ```
    /// let b = eddy_executor::Builder::new(eddy_executor::Flavor::CurrentThread).event_interval(31);
    /// # drop(b);
    /// ```
    pub fn event_interval(mut self, ticks: u32) -> Builder {
        self.event_interval = ticks.max(1);
        self
    }

    /// Whether a multi-threaded worker runs the task it just woke next (a
    /// "LIFO slot", good for message passing). On by default.
    ///
    /// ```
    /// let b = eddy_executor::Builder::new(eddy_executor::Flavor::MultiThread).lifo_slot(false);
    /// # drop(b);
    /// ```
    pub fn lifo_slot(mut self, on: bool) -> Builder {
        self.lifo_slot = on;
        self
    }

    /// Runs each worker thread's body inside `wrap`, which must call the body
    /// exactly once. The facade uses this to enter the reactor's and timer's
    /// thread-local contexts on every worker.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let started = Arc::new(AtomicUsize::new(0));
    /// let s = started.clone();
    /// let ex = eddy_executor::Builder::new(eddy_executor::Flavor::MultiThread)
    ///     .worker_threads(2)
    ///     .wrap_thread(move |body| {
    ///         s.fetch_add(1, Ordering::SeqCst);
    ///         body()
    ///     })
    ///     .build(eddy_executor::ThreadPark::default())
    ///     .unwrap();
    /// ex.block_on(async {});
    /// drop(ex);
    /// assert_eq!(started.load(Ordering::SeqCst), 2);
    /// ```
    pub fn wrap_thread(
        mut self,
        wrap: impl Fn(&mut dyn FnMut()) + Send + Sync + 'static,
    ) -> Builder {
        self.wrap_thread = Some(Arc::new(wrap));
        self
    }

    /// Builds the executor around `driver`, the [`Park`] its workers block on
    /// when idle (the reactor wrapped in the timer driver, in the facade).
    ///
    /// # Errors
    ///
    /// An error if a worker thread cannot be spawned.
    ///
    /// ```
    /// use eddy_executor::{Builder, Flavor, ThreadPark};
    /// let ex = Builder::new(Flavor::MultiThread).worker_threads(2).build(ThreadPark::default())?;
    /// assert_eq!(ex.handle().worker_count(), 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn build(self, driver: impl Park + 'static) -> std::io::Result<Executor> {
        let workers = match self.flavor {
            Flavor::CurrentThread => 1,
            Flavor::MultiThread => self.workers,
        };
        let driver_unpark = driver.unparker();
        let shared = Arc::new(Shared {
            flavor: self.flavor,
            injector: ConcurrentQueue::unbounded(),
            workers: (0..workers)
                .map(|_| WorkerShared {
                    stealable: ConcurrentQueue::bounded(LOCAL_QUEUE_CAPACITY),
                    thread: OnceLock::new(),
                    token: AtomicBool::new(false),
                    in_driver: AtomicBool::new(false),
                    notified: AtomicBool::new(false),
                })
                .collect(),
            registry: Mutex::new(Registry {
                tasks: Slab::new(),
                idle_waiters: Vec::new(),
                spawned: 0,
                remote_flags: HashMap::new(),
                remote_undelivered: 0,
                exit_waiters: Vec::new(),
                next_exit_token: 0,
            }),
            driver: Mutex::new(Box::new(driver)),
            driver_unpark,
            sleepers: Mutex::new(Vec::with_capacity(workers)),
            num_sleeping: AtomicUsize::new(0),
            num_searching: AtomicUsize::new(0),
            shutdown: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            cancel_all_requested: AtomicBool::new(false),
            remote_pending: AtomicBool::new(false),
            event_interval: self.event_interval,
            lifo_slot: self.lifo_slot && workers > 1,
            stats: Stats::default(),
            ext: self.extras.into_ext(),
        });
        crate::debug::start(&shared);
        let mut threads = Vec::new();
        if self.flavor == Flavor::MultiThread {
            for index in 0..workers {
                let worker_shared = shared.clone();
                let wrap = self.wrap_thread.clone();
                let handle = thread::Builder::new()
                    .name(format!("{}-{index}", self.thread_name))
                    .spawn(move || {
                        let mut body = Some(move || worker_main(worker_shared, index));
                        let mut run = || {
                            if let Some(body) = body.take() {
                                body()
                            }
                        };
                        match wrap {
                            Some(wrap) => wrap(&mut run),
                            None => run(),
                        }
                    });
                match handle {
                    Ok(h) => threads.push(h),
                    Err(e) => {
                        let ex = Executor {
                            shared: shared.clone(),
                            threads,
                            _not_send: PhantomData,
                        };
                        drop(ex);
                        return Err(e);
                    }
                }
            }
        }
        Ok(Executor {
            shared,
            threads,
            _not_send: PhantomData,
        })
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("flavor", &self.flavor)
            .field("workers", &self.workers)
            .field("thread_name", &self.thread_name)
            .field("event_interval", &self.event_interval)
            .finish_non_exhaustive()
    }
}

/// Counters kept by the executor, readable through [`Handle::stats`].
#[derive(Default)]
pub(crate) struct Stats {
    steals: AtomicU64,
    parks: AtomicU64,
    drop_panics: AtomicU64,
}

/// A snapshot of an executor's counters.
///
/// ```
/// # let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
/// let stats = ex.block_on(async {
///     eddy_executor::spawn(async {}).await.unwrap();
///     eddy_executor::Handle::current().stats()
/// });
/// assert_eq!(stats.spawned, 1);
/// assert_eq!(stats.alive, 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExecutorStats {
    /// Tasks spawned since the executor was built.
    pub spawned: u64,
    /// Tasks whose future has not been dropped yet.
    pub alive: usize,
    /// Tasks a worker took from another worker's queue.
    pub steals: u64,
    /// Times a worker blocked in the driver or on its thread parker.
    pub parks: u64,
    /// Task destructors that panicked (the panic was caught).
    pub drop_panics: u64,
}

struct WorkerShared {
    /// Tasks other workers may steal (multi-threaded flavour only).
    stealable: ConcurrentQueue<Runnable>,
    thread: OnceLock<Thread>,
    /// A wake-up for this worker that it has not consumed yet.
    token: AtomicBool,
    /// Set while this worker is (about to be) blocked in the driver.
    in_driver: AtomicBool,
    /// Set by `notify_one`, which counted this worker as searching.
    notified: AtomicBool,
}

/// Every task whose future is alive, by key: its id and a waker.
pub(crate) struct Registry {
    pub(crate) tasks: Slab<(TaskId, Waker)>,
    /// Woken when the last task leaves (see [`Handle::all_finished`]).
    idle_waiters: Vec<Waker>,
    /// Tasks spawned so far (kept here: the lock is held on spawn anyway).
    spawned: u64,
    /// Cancel flags a [`CancelHandle`](crate::CancelHandle) set, by registry
    /// key: the task's next run moves them into its header (a cancel handle
    /// cannot reach the header: it lives in the task's allocation, which the
    /// handle does not keep alive). The entry stays until the task leaves,
    /// so a second request is known not to be new.
    remote_flags: HashMap<u32, RemoteFlags>,
    /// Entries of `remote_flags` with flags not yet moved into a header.
    remote_undelivered: usize,
    /// Futures waiting for a task to be gone (see [`Shared::poll_exit`]):
    /// key, id, a token naming the waiter, its waker.
    exit_waiters: Vec<(u32, TaskId, u64, Waker)>,
    next_exit_token: u64,
}

/// What cancel handles asked of one task (see `Registry::remote_flags`).
#[derive(Clone, Copy)]
struct RemoteFlags {
    id: TaskId,
    set: u8,
    delivered: u8,
}

pub(crate) struct Shared {
    flavor: Flavor,
    /// Tasks scheduled from outside the workers.
    injector: ConcurrentQueue<Runnable>,
    workers: Box<[WorkerShared]>,
    /// Every task whose future is alive, by registry key: its id and a waker,
    /// so shutdown can cancel idle tasks and `Task::cancel` can wake them.
    pub(crate) registry: Mutex<Registry>,
    pub(crate) driver: Mutex<Box<dyn Park>>,
    pub(crate) driver_unpark: Arc<dyn Unpark>,
    sleepers: Mutex<Vec<usize>>,
    num_sleeping: AtomicUsize,
    num_searching: AtomicUsize,
    /// Workers must exit.
    shutdown: AtomicBool,
    /// No new work: every task is cancelled as soon as it is scheduled.
    pub(crate) closing: AtomicBool,
    /// [`Handle::request_cancel_all`] was called: every task sees
    /// `is_cancel_requested()`.
    pub(crate) cancel_all_requested: AtomicBool,
    /// `registry.remote_flags` is not empty: read before every run, so the
    /// registry lock is taken only while a cancel handle has news.
    pub(crate) remote_pending: AtomicBool,
    event_interval: u32,
    lifo_slot: bool,
    stats: Stats,
    /// Debug mode, seeded scheduling, deadlock detection, panic policy.
    pub(crate) ext: Ext,
}

pub(crate) fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // No code holding these locks can panic in a way that leaves the data
    // inconsistent (slab and vec operations), so poisoning carries no meaning.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// Removes the task `id` from the registry (a no-op if it has left
    /// already); `false` if it was not there.
    pub(crate) fn unregister(&self, key: u32, id: TaskId) -> bool {
        let mut reg = lock(&self.registry);
        let k = key as usize;
        if !matches!(reg.tasks.get(k), Some((i, _)) if *i == id) {
            return false;
        }
        reg.tasks.remove(k);
        if !reg.remote_flags.is_empty() {
            if let Some(r) = reg.remote_flags.remove(&key) {
                if r.set != r.delivered {
                    reg.remote_undelivered -= 1;
                    self.remote_pending
                        .store(reg.remote_undelivered > 0, Ordering::Release);
                }
            }
        }
        let mut exited = Vec::new();
        if !reg.exit_waiters.is_empty() {
            let mut i = 0;
            while i < reg.exit_waiters.len() {
                if reg.exit_waiters[i].0 == key {
                    exited.push(reg.exit_waiters.swap_remove(i).3);
                } else {
                    i += 1;
                }
            }
        }
        if reg.tasks.is_empty() && !reg.idle_waiters.is_empty() {
            exited.append(&mut reg.idle_waiters);
        }
        drop(reg);
        for w in exited {
            w.wake();
        }
        true
    }

    /// Ready once the task `id` (registered under `key`) is gone: its future
    /// dropped and its outcome stored. `token` names the waiter so that a
    /// re-poll replaces its waker; [`Shared::forget_exit`] removes it.
    pub(crate) fn poll_exit(
        &self,
        key: u32,
        id: TaskId,
        token: &mut Option<u64>,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        let mut reg = lock(&self.registry);
        if !matches!(reg.tasks.get(key as usize), Some((i, _)) if *i == id) {
            if let Some(t) = token.take() {
                reg.exit_waiters.retain(|w| w.2 != t);
            }
            return Poll::Ready(());
        }
        match *token {
            Some(t) => {
                if let Some(w) = reg.exit_waiters.iter_mut().find(|w| w.2 == t) {
                    w.3.clone_from(cx.waker());
                } else {
                    reg.exit_waiters.push((key, id, t, cx.waker().clone()));
                }
            }
            None => {
                let t = reg.next_exit_token;
                reg.next_exit_token += 1;
                *token = Some(t);
                reg.exit_waiters.push((key, id, t, cx.waker().clone()));
            }
        }
        Poll::Pending
    }

    /// Drops the waiter `token` registered by [`Shared::poll_exit`].
    pub(crate) fn forget_exit(&self, token: u64) {
        lock(&self.registry).exit_waiters.retain(|w| w.2 != token);
    }

    /// Sets `flag` for the task `id` from a cancel handle. `false` when the
    /// task is gone or a cancel handle had already set the flag.
    pub(crate) fn set_remote_flag(&self, key: u32, id: TaskId, flag: u8) -> bool {
        let mut reg = lock(&self.registry);
        let waker = match reg.tasks.get(key as usize) {
            Some((i, w)) if *i == id => w.clone(),
            _ => return false,
        };
        let fresh = RemoteFlags {
            id,
            set: 0,
            delivered: 0,
        };
        let entry = reg.remote_flags.entry(key).or_insert(fresh);
        if entry.id != id {
            // Left over from an earlier task in this slot (cannot happen
            // while `unregister` removes entries; kept for safety).
            *entry = fresh;
        }
        let new = entry.set & flag == 0;
        if !new {
            return false;
        }
        let was_pending = entry.set != entry.delivered;
        entry.set |= flag;
        if !was_pending {
            reg.remote_undelivered += 1;
        }
        self.remote_pending.store(true, Ordering::Release);
        drop(reg);
        waker.wake();
        true
    }

    /// Takes the flags cancel handles set for the task `id`.
    pub(crate) fn take_remote_flags(&self, key: u32, id: TaskId) -> u8 {
        let mut reg = lock(&self.registry);
        let flags = match reg.remote_flags.get_mut(&key) {
            Some(r) if r.id == id && r.set != r.delivered => {
                let f = r.set & !r.delivered;
                r.delivered = r.set;
                f
            }
            _ => return 0,
        };
        reg.remote_undelivered -= 1;
        self.remote_pending
            .store(reg.remote_undelivered > 0, Ordering::Release);
        flags
    }

    /// `true` while the task `id` is registered under `key`.
    pub(crate) fn is_alive(&self, key: u32, id: TaskId) -> bool {
        matches!(lock(&self.registry).tasks.get(key as usize), Some((i, _)) if *i == id)
    }

    /// Wakes the task registered under `key`, if it is still the task `id`
    /// (the slot may have been reused after it finished).
    pub(crate) fn wake_task(&self, key: u32, id: TaskId) {
        let waker = lock(&self.registry)
            .tasks
            .get(key as usize)
            .filter(|(i, _)| *i == id)
            .map(|(_, w)| w.clone());
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Wakes every live task once (shutdown, cancel-all). The wakers are
    /// cloned out first: waking schedules, and must not hold the registry.
    fn wake_all_tasks(&self) {
        let wakers: Vec<Waker> = lock(&self.registry)
            .tasks
            .iter()
            .map(|(_, (_, w))| w.clone())
            .collect();
        for w in wakers {
            w.wake();
        }
    }

    pub(crate) fn note_drop_panics(&self, n: u32) {
        self.stats
            .drop_panics
            .fetch_add(u64::from(n), Ordering::Relaxed);
    }

    fn spawn_local_inner<F>(
        self: &Arc<Self>,
        fut: F,
        meta: TaskMeta,
        eager: bool,
    ) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        // `spawn_local` checks on every poll and drop that the task stays on
        // this thread; the executor guarantees it by routing local tasks home.
        self.spawn_with(fut, meta, eager, |builder, future| {
            builder.spawn_local(move |_| future, WithInfo(schedule))
        })
    }

    fn spawn_send<F>(self: &Arc<Self>, fut: F, meta: TaskMeta, eager: bool) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        if self.flavor == Flavor::MultiThread {
            return self.spawn_with(fut, meta, eager, |builder, future| {
                builder.spawn(move |_| CachePadded::new(future), WithInfo(schedule))
            });
        }
        self.spawn_with(fut, meta, eager, |builder, future| {
            builder.spawn(move |_| future, WithInfo(schedule))
        })
    }

    /// Registers a new task and schedules it; `make` is async-task's `spawn`
    /// or `spawn_local`, whichever the future's `Send`-ness allows.
    fn spawn_with<F>(
        self: &Arc<Self>,
        fut: F,
        meta: TaskMeta,
        eager: bool,
        make: impl FnOnce(
            async_task::Builder<Header>,
            TaskFuture<F>,
        ) -> (
            Runnable,
            async_task::Task<Result<F::Output, JoinError>, Header>,
        ),
    ) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let id = TaskId::next();
        if let Some(d) = &self.ext.debug {
            d.on_spawn(id, &meta);
        }
        let closing = self.closing.load(Ordering::Acquire);
        let mut reg = lock(&self.registry);
        reg.spawned += 1;
        let entry = reg.tasks.vacant_entry();
        let header = Header::new(id, meta, entry.key(), closing, self.clone());
        let (runnable, task) = make(
            async_task::Builder::new().metadata(header),
            TaskFuture::new(fut),
        );
        entry.insert((id, runnable.waker()));
        drop(reg);
        if eager && with_worker(self, |ctx| ctx.is_some()) {
            run_task_eagerly(self, runnable);
        } else {
            runnable.schedule();
        }
        Task::new(task)
    }

    /// Pushes a task scheduled from a thread that is not one of this
    /// executor's workers (or a local task woken away from home).
    fn push_remote(&self, runnable: Runnable) {
        if let Err(e) = self.injector.push(runnable) {
            // The injector is never closed; keep the task rather than lose it.
            let _ = e.into_inner();
        }
        match self.flavor {
            Flavor::CurrentThread => self.driver_unpark.unpark(),
            Flavor::MultiThread => self.notify_one(),
        }
    }

    /// Wakes one sleeping worker, unless one is already looking for work.
    fn notify_one(&self) {
        fence(Ordering::SeqCst);
        if self.num_sleeping.load(Ordering::SeqCst) == 0
            || self.num_searching.load(Ordering::SeqCst) > 0
        {
            return;
        }
        let idx = lock(&self.sleepers).pop();
        if let Some(idx) = idx {
            self.num_sleeping.fetch_sub(1, Ordering::SeqCst);
            self.num_searching.fetch_add(1, Ordering::SeqCst);
            self.workers[idx].notified.store(true, Ordering::SeqCst);
            self.unpark_worker(idx);
        }
    }

    fn unpark_worker(&self, idx: usize) {
        let w = &self.workers[idx];
        w.token.store(true, Ordering::SeqCst);
        if w.in_driver.load(Ordering::SeqCst) {
            self.driver_unpark.unpark();
        }
        if let Some(t) = w.thread.get() {
            t.unpark();
        }
    }

    fn unpark_all(&self) {
        lock(&self.sleepers).clear();
        self.num_sleeping.store(0, Ordering::SeqCst);
        for idx in 0..self.workers.len() {
            self.unpark_worker(idx);
        }
    }

    fn stats(&self) -> ExecutorStats {
        let (spawned, alive) = {
            let reg = lock(&self.registry);
            (reg.spawned, reg.tasks.len())
        };
        ExecutorStats {
            spawned,
            alive,
            steals: self.stats.steals.load(Ordering::Relaxed),
            parks: self.stats.parks.load(Ordering::Relaxed),
            drop_panics: self.stats.drop_panics.load(Ordering::Relaxed),
        }
    }

    /// Cancels every live task and drops every queued one. Runs on the thread
    /// that owns the executor, after the workers have exited.
    fn drain(&self) {
        self.closing.store(true, Ordering::SeqCst);
        loop {
            self.wake_all_tasks();
            let mut ran = false;
            let mut queued: Vec<Runnable> = Vec::new();
            while let Ok(r) = self.injector.pop() {
                queued.push(r);
            }
            for w in self.workers.iter() {
                while let Ok(r) = w.stealable.pop() {
                    queued.push(r);
                }
            }
            with_worker(self, |ctx| {
                if let Some(ctx) = ctx {
                    queued.extend(ctx.local.borrow_mut().drain(..));
                    queued.extend(ctx.lifo.take());
                }
            });
            for r in queued {
                ran = true;
                run_task(self, r, true);
            }
            if !ran && lock(&self.registry).tasks.is_empty() {
                break;
            }
            if !ran {
                // Live tasks whose wake-up has not reached a queue yet (a waker
                // being called on another thread). Give it a moment.
                thread::yield_now();
            }
        }
    }
}

/// async-task's schedule function for every eddy task.
fn schedule(runnable: Runnable, info: ScheduleInfo) {
    if let Some(d) = &runnable.metadata().shared.ext.debug {
        d.on_schedule(runnable.metadata().id);
    }
    let shared_ptr = Arc::as_ptr(&runnable.metadata().shared);
    let mut runnable = Some(runnable);
    let _ = WORKER.try_with(|w| {
        if let Some(ctx) = w.borrow().as_ref() {
            if Arc::as_ptr(&ctx.shared) == shared_ptr {
                if let Some(r) = runnable.take() {
                    ctx.push_local(r, info.woken_while_running);
                }
            }
        }
    });
    if let Some(r) = runnable {
        let shared = r.metadata().shared.clone();
        shared.push_remote(r);
    }
}

/// The per-thread state of a worker (the only worker, for the current-thread
/// flavour, which is the thread inside `block_on`).
struct WorkerCtx {
    shared: Arc<Shared>,
    index: usize,
    /// This worker's own run queue, touched only by its thread. On the
    /// multi-threaded flavour, part of it moves to the stealable queue when
    /// another worker asks for work (see `share_if_wanted`).
    local: RefCell<VecDeque<Runnable>>,
    lifo: Cell<Option<Runnable>>,
}

impl Drop for WorkerCtx {
    /// Tasks still queued when a worker context ends (a `block_on` that
    /// returned with work pending, a worker thread exiting) move to the
    /// injector: the next `block_on` runs them, or the shutdown drain cancels
    /// them. Dropping a queued `Runnable` here would cancel it silently.
    fn drop(&mut self) {
        let leftovers = self.local.get_mut().drain(..).chain(self.lifo.take());
        for r in leftovers {
            if let Err(e) = self.shared.injector.push(r) {
                // The injector is never closed; keep the task alive regardless.
                std::mem::forget(e.into_inner());
            }
        }
    }
}

impl WorkerCtx {
    fn push_local(&self, r: Runnable, yielded: bool) {
        match self.shared.flavor {
            Flavor::CurrentThread => self.local.borrow_mut().push_back(r),
            Flavor::MultiThread => {
                let r = if self.shared.lifo_slot && !yielded {
                    match self.lifo.replace(Some(r)) {
                        Some(prev) => prev,
                        None => return,
                    }
                } else {
                    r
                };
                // Sharing is checked by the worker loop before each poll.
                self.local.borrow_mut().push_back(r);
            }
        }
    }

    /// Work requesting instead of work stealing from the hot queue: a
    /// worker's own run queue is a plain `VecDeque` (no atomic per push or
    /// pop), and only when another worker is idle or looking for work does
    /// the owner move the older half of it to its stealable queue and wake a
    /// sleeper. Checking costs two relaxed loads of rarely written counters.
    #[inline]
    fn share_if_wanted(&self) {
        let s = &*self.shared;
        if s.num_sleeping.load(Ordering::Relaxed) == 0
            && s.num_searching.load(Ordering::Relaxed) == 0
        {
            return;
        }
        // Nothing to share with one task or none queued, which is the
        // common case while the other workers sleep.
        if self.local.borrow().len() < 2 {
            return;
        }
        self.share();
    }

    #[cold]
    fn share(&self) {
        let s = &*self.shared;
        let mut local = self.local.borrow_mut();
        let n = local.len() / 2;
        if n == 0 {
            return;
        }
        let q = &s.workers[self.index].stealable;
        for r in local.drain(..n) {
            if let Err(e) = q.push(r) {
                let _ = s.injector.push(e.into_inner());
            }
        }
        drop(local);
        s.notify_one();
    }
}

/// `true` on a thread that is running an executor: a worker thread, or a
/// thread inside `block_on`. Blocking on a future there would stall the
/// executor, so `block_on` refuses.
///
/// ```
/// assert!(!eddy_executor::is_inside_runtime());
/// let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
/// assert!(ex.block_on(async { eddy_executor::is_inside_runtime() }));
/// ```
pub fn is_inside_runtime() -> bool {
    RUNNING.try_with(Cell::get).unwrap_or(false)
}

struct RunningGuard(bool);

impl RunningGuard {
    fn enter() -> RunningGuard {
        RunningGuard(RUNNING.with(|r| r.replace(true)))
    }
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        let prev = self.0;
        let _ = RUNNING.try_with(|r| r.set(prev));
    }
}

thread_local! {
    static RUNNING: Cell<bool> = const { Cell::new(false) };
    static WORKER: RefCell<Option<Rc<WorkerCtx>>> = const { RefCell::new(None) };
    static CURRENT: RefCell<Option<Handle>> = const { RefCell::new(None) };
}

/// Unregisters the task `id` from the executor whose worker this thread is,
/// if it is registered there; `false` otherwise (no worker context: the
/// caller unregisters later).
pub(crate) fn unregister_here(key: u32, id: TaskId) -> bool {
    WORKER
        .try_with(|w| w.borrow().as_ref().map(|c| c.shared.unregister(key, id)))
        .ok()
        .flatten()
        .unwrap_or(false)
}

fn with_worker<R>(shared: &Shared, f: impl FnOnce(Option<&WorkerCtx>) -> R) -> R {
    WORKER.with(|w| {
        let w = w.borrow();
        let ctx = w
            .as_deref()
            .filter(|c| std::ptr::eq(Arc::as_ptr(&c.shared), shared));
        f(ctx)
    })
}

/// Sets the thread's worker context and current handle; restores on drop.
struct WorkerGuard {
    prev_worker: Option<Rc<WorkerCtx>>,
    prev_handle: Option<Handle>,
}

impl WorkerGuard {
    fn enter(ctx: Rc<WorkerCtx>) -> WorkerGuard {
        let handle = Handle {
            shared: ctx.shared.clone(),
        };
        let prev_worker = WORKER.with(|w| w.borrow_mut().replace(ctx));
        let prev_handle = CURRENT.with(|c| c.borrow_mut().replace(handle));
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
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = h);
    }
}

/// Runs tasks until the executor shuts down: the body of every multi-threaded
/// worker thread.
fn worker_main(shared: Arc<Shared>, index: usize) {
    let _ = shared.workers[index].thread.set(thread::current());
    let ctx = Rc::new(WorkerCtx {
        shared: shared.clone(),
        index,
        local: RefCell::new(VecDeque::new()),
        lifo: Cell::new(None),
    });
    let _guard = WorkerGuard::enter(ctx.clone());
    let _running = RunningGuard::enter();
    // Counts down to the next fairness point (a countdown, not `tick %
    // interval`: a division per poll is measurable).
    let mut until_check: u32 = shared.event_interval;
    let mut lifo_polls: u32 = 0;
    let mut searching = false;
    loop {
        if shared.shutdown.load(Ordering::Acquire) {
            break;
        }
        until_check -= 1;
        let check = until_check == 0;
        if check {
            until_check = shared.event_interval;
            maintenance(&shared);
        }
        let next = if lifo_polls < MAX_LIFO_POLLS {
            ctx.lifo.take()
        } else {
            None
        };
        let found = match next {
            Some(r) => {
                lifo_polls += 1;
                Some(r)
            }
            None => {
                lifo_polls = 0;
                if let Some(r) = ctx.lifo.take() {
                    ctx.local.borrow_mut().push_back(r);
                }
                find_work(&ctx, check)
            }
        };
        match found {
            Some(r) => {
                if searching {
                    searching = false;
                    // The last searcher to find work wakes another, so work
                    // spreads without waking everyone at once.
                    if shared.num_searching.fetch_sub(1, Ordering::SeqCst) == 1 {
                        shared.notify_one();
                    }
                }
                ctx.share_if_wanted();
                run_task(&shared, r, false);
            }
            None => {
                if searching {
                    searching = false;
                    shared.num_searching.fetch_sub(1, Ordering::SeqCst);
                }
                if spin_for_work(&shared) {
                    continue;
                }
                sleep(&shared, index);
                // A worker woken by `notify_one` was counted as searching by
                // the notifier; it stops searching once it finds work or
                // gives up.
                searching = shared.workers[index].notified.swap(false, Ordering::SeqCst);
            }
        }
    }
    // Exiting: `WorkerCtx::drop` leaves queued tasks for the drain.
}

fn maintenance(shared: &Shared) {
    if let Ok(mut driver) = shared.driver.try_lock() {
        let _ = driver.park(Some(Duration::ZERO));
    }
}

/// Looks for a task: own queue, the injector (taking a batch), then the other
/// workers' queues (taking half).
fn find_work(ctx: &WorkerCtx, injector_first: bool) -> Option<Runnable> {
    let shared = &*ctx.shared;
    // Every event_interval ticks the injector goes first, so remote wake-ups
    // cannot be starved by a worker whose own queue never empties.
    if injector_first {
        if let Some(r) = pop_nonempty(&shared.injector) {
            return Some(r);
        }
    }
    if let Some(r) = ctx.local.borrow_mut().pop_front() {
        return Some(r);
    }
    // Shared earlier but not taken: take it back.
    if let Some(r) = pop_nonempty(&shared.workers[ctx.index].stealable) {
        return Some(r);
    }
    if let Some(r) = pop_nonempty(&shared.injector) {
        let batch = (shared.injector.len() / shared.workers.len()).min(LOCAL_QUEUE_CAPACITY / 2);
        let mut local = ctx.local.borrow_mut();
        for _ in 0..batch {
            match shared.injector.pop() {
                Ok(x) => local.push_back(x),
                Err(_) => break,
            }
        }
        return Some(r);
    }
    steal(ctx)
}

/// Pops from a shared queue, looking first: an idle worker checks three
/// queues that are nearly always empty, and `ConcurrentQueue::pop` on an
/// empty queue costs a `SeqCst` fence where `is_empty` is two plain loads
/// (~280 instructions per one-connection echo round trip). A task pushed
/// just after the look is not lost: a worker re-checks `has_work` after
/// announcing itself asleep, and pushers wake sleepers.
#[inline]
fn pop_nonempty(q: &ConcurrentQueue<Runnable>) -> Option<Runnable> {
    if q.is_empty() { None } else { q.pop().ok() }
}

fn steal(ctx: &WorkerCtx) -> Option<Runnable> {
    let shared = &*ctx.shared;
    let n = shared.workers.len();
    if n < 2 {
        return None;
    }
    // Walk the workers from a random start, wrapping by comparison: a
    // division per step costs more than the look at an empty queue.
    let mut victim = fastrand_index(n);
    for _ in 0..n {
        victim += 1;
        if victim == n {
            victim = 0;
        }
        if victim == ctx.index {
            continue;
        }
        let q = &shared.workers[victim].stealable;
        if let Some(first) = pop_nonempty(q) {
            let extra = q.len() / 2;
            let mut local = ctx.local.borrow_mut();
            for _ in 0..extra {
                match q.pop() {
                    Ok(r) => local.push_back(r),
                    Err(_) => break,
                }
            }
            shared
                .stats
                .steals
                .fetch_add(1 + extra as u64, Ordering::Relaxed);
            return Some(first);
        }
    }
    None
}

/// A cheap per-thread pseudo-random index for choosing steal victims.
fn fastrand_index(n: usize) -> usize {
    thread_local! {
        static STATE: Cell<u32> = const { Cell::new(0x9E37_79B9) };
    }
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        s.set(x);
        // Maps x onto 0..n by a multiply instead of a division.
        ((u64::from(x) * n as u64) >> 32) as usize
    })
}

fn has_work(shared: &Shared) -> bool {
    !shared.injector.is_empty() || shared.workers.iter().any(|w| !w.stealable.is_empty())
}

fn spin_for_work(shared: &Shared) -> bool {
    // Spinning pays off only while another worker is awake and may share
    // work with us. With every other worker asleep, new work comes from I/O
    // and timers (which the driver delivers, and spinning does not watch) or
    // from other threads (which notify a sleeper): spinning would only delay
    // our park. On this VM a `pause` costs ~140 cycles, so the 32 rounds cost
    // ~1.5 µs each time a ping-pong's worker runs out of tasks.
    if shared.num_sleeping.load(Ordering::Relaxed) + 1 >= shared.workers.len() {
        return false;
    }
    for _ in 0..SPIN_ROUNDS {
        if has_work(shared) || shared.shutdown.load(Ordering::Acquire) {
            return true;
        }
        std::hint::spin_loop();
    }
    false
}

/// Puts a multi-threaded worker to sleep: in the driver if it is free,
/// otherwise on the thread parker.
fn sleep(shared: &Shared, index: usize) {
    let me = &shared.workers[index];
    lock(&shared.sleepers).push(index);
    shared.num_sleeping.fetch_add(1, Ordering::SeqCst);
    fence(Ordering::SeqCst);
    // Re-check after announcing: a task pushed before the announcement is seen
    // here; one pushed after it finds us in `sleepers` and wakes us.
    if has_work(shared) || shared.shutdown.load(Ordering::SeqCst) {
        remove_sleeper(shared, index);
        return;
    }
    shared.stats.parks.fetch_add(1, Ordering::Relaxed);
    if let Ok(mut driver) = shared.driver.try_lock() {
        me.in_driver.store(true, Ordering::SeqCst);
        if !me.token.swap(false, Ordering::SeqCst) {
            let _ = driver.park(None);
        }
        me.in_driver.store(false, Ordering::SeqCst);
        drop(driver);
        remove_sleeper(shared, index);
        // Leaving the driver with tasks to run: make sure another worker comes
        // to take the driver and help, instead of everyone else sleeping while
        // I/O and timers go unwatched.
        if has_work(shared) {
            shared.notify_one();
        }
    } else {
        while !me.token.swap(false, Ordering::SeqCst) && !shared.shutdown.load(Ordering::SeqCst) {
            thread::park();
        }
        remove_sleeper(shared, index);
    }
    me.token.store(false, Ordering::SeqCst);
}

fn remove_sleeper(shared: &Shared, index: usize) {
    let mut s = lock(&shared.sleepers);
    if let Some(pos) = s.iter().position(|&i| i == index) {
        s.swap_remove(pos);
        shared.num_sleeping.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Wakes the thread inside `block_on` when the main future is woken.
struct MainWaker {
    woken: AtomicBool,
    /// The driver's unparker (current-thread flavour) or the blocked
    /// thread's handle (multi-threaded flavour, where `block_on` parks the
    /// calling thread and the workers own the driver).
    unpark: MainUnpark,
}

enum MainUnpark {
    /// Unpark the driver, unless the wake comes from the `block_on` thread
    /// itself (identified by its executor's address): that thread is running,
    /// and checks the flag before it parks.
    Driver(Arc<dyn Unpark>, usize),
    Thread(Thread),
}

impl Wake for MainWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.woken.swap(true, Ordering::AcqRel) {
            match &self.unpark {
                MainUnpark::Driver(u, owner) => {
                    let on_owner = WORKER
                        .try_with(|w| {
                            w.borrow()
                                .as_ref()
                                .is_some_and(|c| Arc::as_ptr(&c.shared) as usize == *owner)
                        })
                        .unwrap_or(false);
                    if !on_owner {
                        u.unpark();
                    }
                }
                MainUnpark::Thread(t) => t.unpark(),
            }
        }
    }
}

/// An executor: runs tasks, and the `block_on` future, until it is dropped.
///
/// Dropping the executor shuts it down: worker threads exit, every task that
/// is still alive is cancelled (its future dropped, its awaiters told
/// `Cancelled`).
///
/// The executor is `!Send`: the current-thread flavour's local tasks must be
/// cancelled on the thread that ran them.
///
/// # Example
///
/// ```
/// use eddy_executor::{Executor, ThreadPark};
///
/// let ex = Executor::current_thread(ThreadPark::default());
/// let sum = ex.block_on(async {
///     let tasks: Vec<_> = (0..10).map(|i| eddy_executor::spawn(async move { i })).collect();
///     let mut sum = 0;
///     for t in tasks {
///         sum += t.await.unwrap();
///     }
///     sum
/// });
/// assert_eq!(sum, 45);
/// ```
pub struct Executor {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    _not_send: PhantomData<*const ()>,
}

impl Executor {
    /// A current-thread executor parking on `driver`.
    ///
    /// ```
    /// let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// assert_eq!(ex.block_on(async { 3 }), 3);
    /// ```
    pub fn current_thread(driver: impl Park + 'static) -> Executor {
        match Builder::new(Flavor::CurrentThread).build(driver) {
            Ok(ex) => ex,
            // The current-thread flavour spawns no thread, so cannot fail.
            Err(e) => unreachable!("current-thread executor spawns no threads: {e}"),
        }
    }

    /// A handle for spawning onto this executor from anywhere.
    ///
    /// ```
    /// let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// let handle = ex.handle();
    /// let task = handle.spawn(async { "hi" });
    /// assert_eq!(ex.block_on(task).unwrap(), "hi");
    /// ```
    pub fn handle(&self) -> Handle {
        Handle {
            shared: self.shared.clone(),
        }
    }

    /// The flavour this executor was built with.
    ///
    /// ```
    /// let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// assert_eq!(ex.flavor(), eddy_executor::Flavor::CurrentThread);
    /// ```
    pub fn flavor(&self) -> Flavor {
        self.shared.flavor
    }

    /// Runs `fut` to completion on the current thread, running spawned tasks
    /// meanwhile (on this thread for the current-thread flavour, on the worker
    /// threads for the multi-threaded one).
    ///
    /// # Panics
    ///
    /// If called from a thread that is already inside an eddy executor (a task,
    /// or another `block_on`): blocking there would stall every task of the
    /// outer executor. This mirrors asyncio's "cannot be called from a running
    /// event loop". A panic in `fut` itself propagates to the caller.
    ///
    /// ```
    /// let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// let out = ex.block_on(async {
    ///     let t = eddy_executor::spawn(async { "from a task" });
    ///     t.await.unwrap()
    /// });
    /// assert_eq!(out, "from a task");
    /// ```
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        if is_inside_runtime() {
            panic!(
                "cannot block on a future from inside a running eddy runtime: \
                 use `.await` or `spawn` instead"
            );
        }
        match self.shared.flavor {
            Flavor::CurrentThread => self.block_on_current(fut),
            Flavor::MultiThread => self.block_on_multi(fut),
        }
    }

    fn block_on_multi<F: Future>(&self, fut: F) -> F::Output {
        let _enter = EnterGuard::enter(self.handle());
        let _running = RunningGuard::enter();
        let waker = Arc::new(MainWaker {
            woken: AtomicBool::new(true),
            unpark: MainUnpark::Thread(thread::current()),
        });
        let w = Waker::from(waker.clone());
        let mut cx = Context::from_waker(&w);
        let mut fut = pin!(fut);
        let _abort = crate::debug::AbortWatch::enter(&self.shared.ext);
        loop {
            if self.shared.ext.abort_on_panic {
                self.shared.ext.check_abort();
            }
            if waker.woken.swap(false, Ordering::AcqRel) {
                if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                    return v;
                }
            } else {
                thread::park();
            }
        }
    }

    fn block_on_current<F: Future>(&self, fut: F) -> F::Output {
        let shared = &self.shared;
        let ctx = Rc::new(WorkerCtx {
            shared: shared.clone(),
            index: 0,
            local: RefCell::new(VecDeque::new()),
            lifo: Cell::new(None),
        });
        let _guard = WorkerGuard::enter(ctx.clone());
        let _running = RunningGuard::enter();
        let waker = Arc::new(MainWaker {
            woken: AtomicBool::new(true),
            unpark: MainUnpark::Driver(shared.driver_unpark.clone(), Arc::as_ptr(shared) as usize),
        });
        let w = Waker::from(waker.clone());
        let mut cx = Context::from_waker(&w);
        let mut fut = pin!(fut);
        let interval = shared.event_interval;
        let mut tick: u32 = 0;
        loop {
            if shared.ext.abort_on_panic {
                shared.ext.check_abort();
            }
            if waker.woken.load(Ordering::Acquire) && waker.woken.swap(false, Ordering::AcqRel) {
                tick += 1;
                if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                    // Tasks still queued stay queued: a later `block_on` runs
                    // them, dropping the executor cancels them.
                    return v;
                }
            }
            // Remote wake-ups join the local queue each round so they cannot
            // be starved by local ones.
            if !shared.injector.is_empty() {
                while let Ok(r) = shared.injector.pop() {
                    ctx.local.borrow_mut().push_back(r);
                }
            }
            let mut ran = false;
            while tick < interval {
                let next = match &shared.ext.seeded {
                    None => ctx.local.borrow_mut().pop_front(),
                    Some(rng) => rng.pop(&mut ctx.local.borrow_mut()),
                };
                match next {
                    Some(r) => {
                        run_task(shared, r, false);
                        ran = true;
                        tick += 1;
                    }
                    None => break,
                }
                if waker.woken.load(Ordering::Relaxed) {
                    break;
                }
            }
            if tick >= interval {
                // Busy for a whole interval: look at I/O and timers without
                // blocking, so an always-ready task cannot starve them.
                tick = 0;
                let _ = lock(&shared.driver).park(Some(Duration::ZERO));
            } else if !ran
                && !waker.woken.load(Ordering::Acquire)
                && shared.injector.is_empty()
                && ctx.local.borrow().is_empty()
            {
                tick = 0;
                let has_work = || {
                    waker.woken.load(Ordering::Acquire)
                        || !shared.injector.is_empty()
                        || !ctx.local.borrow().is_empty()
                };
                if shared.ext.deadlock.is_some() && crate::debug::idle_check(shared, &has_work) {
                    continue;
                }
                shared.stats.parks.fetch_add(1, Ordering::Relaxed);
                let _ = lock(&shared.driver).park(None);
            }
        }
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        crate::debug::on_shutdown(&self.shared);
        self.shared.shutdown.store(true, Ordering::SeqCst);
        self.shared.unpark_all();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        // Cancel leftovers on this thread, with the worker context entered so
        // that local tasks are dropped where they were spawned.
        let ctx = Rc::new(WorkerCtx {
            shared: self.shared.clone(),
            index: 0,
            local: RefCell::new(VecDeque::new()),
            lifo: Cell::new(None),
        });
        let _guard = WorkerGuard::enter(ctx);
        self.shared.drain();
    }
}

impl fmt::Debug for Executor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Executor")
            .field("flavor", &self.shared.flavor)
            .field("workers", &self.shared.workers.len())
            .finish()
    }
}

/// Makes an executor current on a thread it does not run (see
/// [`Handle::enter`]); restores the previous one when dropped.
#[must_use = "the executor is current only while the guard lives"]
pub struct EnterGuard(Option<Handle>);

impl EnterGuard {
    fn enter(handle: Handle) -> EnterGuard {
        EnterGuard(CURRENT.with(|c| c.borrow_mut().replace(handle)))
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
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = prev);
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
        CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
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

    /// Spawns a `!Send` future on the current thread's executor.
    ///
    /// # Errors
    ///
    /// [`SpawnLocalError`] if this thread is not running this executor's
    /// current-thread flavour (local tasks never move between threads).
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
        let mut reg = lock(&self.shared.registry);
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
/// ```
/// let e = eddy_executor::SpawnLocalError::NotCurrentThread;
/// assert!(e.to_string().contains("current-thread"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpawnLocalError {
    /// There is no eddy executor on this thread.
    NoRuntime,
    /// The executor is multi-threaded; local tasks need the current-thread
    /// flavour.
    NotCurrentThread,
    /// The caller is not on the thread running the executor.
    NotOnExecutorThread,
}

impl fmt::Display for SpawnLocalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SpawnLocalError::NoRuntime => "spawn_local called outside an eddy runtime",
            SpawnLocalError::NotCurrentThread => {
                "spawn_local needs the current-thread flavour (local tasks never move between threads)"
            }
            SpawnLocalError::NotOnExecutorThread => {
                "spawn_local called from a thread that is not running the executor"
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

    /// Spawns a `!Send` future on the current thread's executor.
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
        let spawned = match Handle::try_current() {
            Some(h) => h.spawn_local_opts(self.meta(loc), fut, eager),
            None => Err(SpawnLocalError::NoRuntime),
        };
        match spawned {
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
    let mut fut = Some(fut);
    let mut meta = Some(meta);
    let spawned = CURRENT
        .try_with(|c| {
            c.borrow().as_ref().and_then(|h| {
                let (fut, meta) = (fut.take()?, meta.take()?);
                Some(h.shared.spawn_send(fut, meta, eager))
            })
        })
        .ok()
        .flatten();
    match spawned {
        Some(task) => task,
        None => panic!("{NO_RUNTIME}"),
    }
}

/// Spawns a `!Send` future on the current thread's executor, or says why not.
///
/// # Errors
///
/// See [`SpawnLocalError`].
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
    match Handle::try_current() {
        Some(h) => h.spawn_local_with(meta, fut),
        None => Err(SpawnLocalError::NoRuntime),
    }
}
