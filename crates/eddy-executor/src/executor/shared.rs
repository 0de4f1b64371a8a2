//! The state every worker and task of one executor shares: run queues, the
//! registry of live tasks, sleeping workers, counters.

use std::collections::HashMap;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering, fence};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};
use std::thread::Thread;

use concurrent_queue::ConcurrentQueue;
use eddy_core::{Park, SpinGuard, SpinLock, TaskId, TaskMeta, Unpark};
use slab::Slab;

use crate::hooks::Hooks;
use crate::info::TaskInfo;
use crate::lock::lock;

/// Which kind of executor to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// asyncio's model: every task runs on the thread that calls
    /// [`Executor::block_on`](crate::Executor::block_on). `!Send` futures can be spawned with
    /// [`spawn_local`](crate::spawn_local).
    CurrentThread,
    /// A pool of worker threads, each with its own run queue, sharing a global
    /// injector queue and stealing from each other when idle. `!Send`
    /// futures run in a [`LocalSet`](crate::LocalSet).
    MultiThread,
}

/// Counters kept by the executor, readable through [`Handle::stats`].
#[derive(Default)]
pub(crate) struct Stats {
    pub(crate) steals: AtomicU64,
    pub(crate) parks: AtomicU64,
    pub(crate) drop_panics: AtomicU64,
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

pub(crate) struct WorkerShared {
    /// Tasks other workers may steal (multi-threaded flavour only).
    pub(crate) stealable: ConcurrentQueue<Runnable>,
    pub(crate) thread: OnceLock<Thread>,
    /// A wake-up for this worker that it has not consumed yet.
    pub(crate) token: AtomicBool,
    /// Set while this worker is (about to be) blocked in the driver.
    pub(crate) in_driver: AtomicBool,
    /// Set by `notify_one`, which counted this worker as searching.
    pub(crate) notified: AtomicBool,
}

/// Every task whose future is alive, by key: its id and a waker.
pub(crate) struct Registry {
    pub(crate) tasks: Slab<(TaskId, Waker)>,
    /// Woken when the last task leaves (see [`Handle::all_finished`]).
    pub(crate) idle_waiters: Vec<Waker>,
    /// Tasks spawned so far (kept here: the lock is held on spawn anyway).
    pub(crate) spawned: u64,
    /// Cancel flags a [`CancelHandle`](crate::CancelHandle) set, by registry
    /// key: the task's next run moves them into its header (a cancel handle
    /// cannot reach the header: it lives in the task's allocation, which the
    /// handle does not keep alive). The entry stays until the task leaves,
    /// so a second request is known not to be new.
    pub(crate) remote_flags: HashMap<u32, RemoteFlags>,
    /// Entries of `remote_flags` with flags not yet moved into a header.
    pub(crate) remote_undelivered: usize,
    /// Futures waiting for a task to be gone (see [`Shared::poll_exit`]):
    /// key, id, a token naming the waiter, its waker.
    pub(crate) exit_waiters: Vec<(u32, TaskId, u64, Waker)>,
    pub(crate) next_exit_token: u64,
}

/// What cancel handles asked of one task (see `Registry::remote_flags`).
#[derive(Clone, Copy)]
pub(crate) struct RemoteFlags {
    id: TaskId,
    set: u8,
    delivered: u8,
}

pub(crate) struct Shared {
    pub(crate) flavor: Flavor,
    /// Tasks scheduled from outside the workers.
    pub(crate) injector: ConcurrentQueue<Runnable>,
    pub(crate) workers: Box<[WorkerShared]>,
    /// Every task whose future is alive, by registry key: its id and a waker,
    /// so shutdown can cancel idle tasks and `Task::cancel` can wake them.
    /// Locked twice per task (spawn, exit) and from every thread that
    /// spawns or finishes tasks: a spin lock, whose unlock is a plain store
    /// and whose waiters never sleep in the kernel (see `eddy_core::SpinLock`
    /// for the measurement). Hold it only for slab-sized work: nothing
    /// that wakes a task or runs user code (the task's own waker is
    /// dropped after unlocking in `unregister`: it can be the task's last
    /// reference, and freeing the task drops its output).
    pub(crate) registry: SpinLock<Registry>,
    pub(crate) driver: Mutex<Box<dyn Park>>,
    pub(crate) driver_unpark: Arc<dyn Unpark>,
    pub(crate) sleepers: Mutex<Vec<usize>>,
    pub(crate) num_sleeping: AtomicUsize,
    pub(crate) num_searching: AtomicUsize,
    /// Workers must exit.
    pub(crate) shutdown: AtomicBool,
    /// No new work: every task is cancelled as soon as it is scheduled.
    pub(crate) closing: AtomicBool,
    /// [`Handle::request_cancel_all`] was called: every task sees
    /// `is_cancel_requested()`.
    pub(crate) cancel_all_requested: AtomicBool,
    /// `registry.remote_flags` is not empty: read before every run, so the
    /// registry lock is taken only while a cancel handle has news.
    pub(crate) remote_pending: AtomicBool,
    pub(crate) event_interval: u32,
    pub(crate) lifo_slot: bool,
    pub(crate) stats: Stats,
    /// Debug mode, seeded scheduling, deadlock detection, panic policy.
    pub(crate) hooks: Hooks,
}

/// What every task carries in its allocation (async-task's metadata slot).
///
/// Kept to 40 bytes: every idle task pays for it ([`TaskMeta`] is two
/// words: its name is boxed because few tasks have one).
pub(crate) struct Header {
    pub(crate) id: TaskId,
    pub(crate) meta: TaskMeta,
    /// This task's slot in the executor's registry of live tasks.
    pub(crate) key: u32,
    /// [`CANCEL`] and [`CANCEL_REQUESTED`] bits, set by the handle and read by
    /// the worker before each run.
    pub(crate) flags: AtomicU8,
    pub(crate) shared: Arc<Shared>,
}

impl Header {
    pub(crate) fn new(
        id: TaskId,
        meta: TaskMeta,
        key: usize,
        cancelled: bool,
        shared: Arc<Shared>,
    ) -> Header {
        Header {
            id,
            meta,
            // A registry of 2^32 live tasks would need hundreds of GiB; a key
            // past that would only make this task unreachable by `cancel`.
            key: u32::try_from(key).unwrap_or(u32::MAX),
            flags: AtomicU8::new(if cancelled { CANCEL } else { 0 }),
            shared,
        }
    }

    pub(crate) fn name(&self) -> Option<&str> {
        self.meta.name()
    }

    pub(crate) fn location(&self) -> &'static Location<'static> {
        self.meta.location()
    }
}

pub(crate) type Runnable = async_task::Runnable<Header>;

/// Header flag: drop the future instead of polling it.
pub(crate) const CANCEL: u8 = 1;
/// Header flag: the task has been asked to finish early (graceful cancel).
pub(crate) const CANCEL_REQUESTED: u8 = 2;
/// Header flag: the task's handle has been polled (someone awaits it); kept
/// here rather than in the handle so that `Task` stays one word.
pub(crate) const AWAITED: u8 = 4;

impl Shared {
    /// The state of a new executor with `workers` workers (1 for the
    /// current-thread flavour), each with a stealable queue of
    /// `stealable_capacity`, parking on `driver`. Also the state behind a
    /// [`LocalSet`](crate::LocalSet), whose "driver" wakes whoever awaits it.
    pub(crate) fn new(
        flavor: Flavor,
        workers: usize,
        stealable_capacity: usize,
        driver: Box<dyn Park>,
        event_interval: u32,
        lifo_slot: bool,
        hooks: Hooks,
    ) -> Shared {
        let driver_unpark = driver.unparker();
        Shared {
            flavor,
            injector: ConcurrentQueue::unbounded(),
            workers: (0..workers)
                .map(|_| WorkerShared {
                    stealable: ConcurrentQueue::bounded(stealable_capacity),
                    thread: OnceLock::new(),
                    token: AtomicBool::new(false),
                    in_driver: AtomicBool::new(false),
                    notified: AtomicBool::new(false),
                })
                .collect(),
            registry: SpinLock::new(Registry {
                tasks: Slab::new(),
                idle_waiters: Vec::new(),
                spawned: 0,
                remote_flags: HashMap::new(),
                remote_undelivered: 0,
                exit_waiters: Vec::new(),
                next_exit_token: 0,
            }),
            driver: Mutex::new(driver),
            driver_unpark,
            sleepers: Mutex::new(Vec::with_capacity(workers)),
            num_sleeping: AtomicUsize::new(0),
            num_searching: AtomicUsize::new(0),
            shutdown: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            cancel_all_requested: AtomicBool::new(false),
            remote_pending: AtomicBool::new(false),
            event_interval,
            lifo_slot,
            stats: Stats::default(),
            hooks,
        }
    }
}

impl Shared {
    /// Removes the task `id` from the registry (a no-op if it has left
    /// already); `false` if it was not there.
    pub(crate) fn unregister(&self, key: u32, id: TaskId) -> bool {
        let mut reg = self.registry.lock();
        let k = key as usize;
        if !matches!(reg.tasks.get(k), Some((i, _)) if *i == id) {
            return false;
        }
        let (_, waker) = reg.tasks.remove(k);
        if reg.remote_flags.is_empty() && reg.exit_waiters.is_empty() && reg.idle_waiters.is_empty()
        {
            // The common case: nobody waits on this task or on the last one.
            drop(reg);
            drop(waker);
            return true;
        }
        self.unregister_waited(reg, key, waker);
        true
    }

    /// The rest of [`Shared::unregister`] when a cancel handle, an exit
    /// waiter or an idle waiter may be waiting: kept out of line so that the
    /// common path stays small.
    #[cold]
    fn unregister_waited(&self, mut reg: SpinGuard<'_, Registry>, key: u32, waker: Waker) {
        if let Some(r) = reg.remote_flags.remove(&key) {
            if r.set != r.delivered {
                reg.remote_undelivered -= 1;
                self.remote_pending
                    .store(reg.remote_undelivered > 0, Ordering::Release);
            }
        }
        let mut exited = Vec::new();
        let mut i = 0;
        while i < reg.exit_waiters.len() {
            if reg.exit_waiters[i].0 == key {
                exited.push(reg.exit_waiters.swap_remove(i).3);
            } else {
                i += 1;
            }
        }
        if reg.tasks.is_empty() && !reg.idle_waiters.is_empty() {
            exited.append(&mut reg.idle_waiters);
        }
        drop(reg);
        drop(waker);
        // Exit and idle waiters hold wakers from anywhere (a `wait_for`, an
        // `all_finished` in user code): one that panics must not unwind into
        // the task that is finishing.
        for w in exited {
            eddy_core::wake_contained(w);
        }
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
        let mut reg = self.registry.lock();
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
        self.registry.lock().exit_waiters.retain(|w| w.2 != token);
    }

    /// Sets `flag` for the task `id` from a cancel handle. `false` when the
    /// task is gone or a cancel handle had already set the flag.
    pub(crate) fn set_remote_flag(&self, key: u32, id: TaskId, flag: u8) -> bool {
        let mut reg = self.registry.lock();
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
        let mut reg = self.registry.lock();
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
        matches!(self.registry.lock().tasks.get(key as usize), Some((i, _)) if *i == id)
    }

    /// Wakes the task registered under `key`, if it is still the task `id`
    /// (the slot may have been reused after it finished).
    pub(crate) fn wake_task(&self, key: u32, id: TaskId) {
        let waker = self
            .registry
            .lock()
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
    pub(crate) fn wake_all_tasks(&self) {
        let wakers: Vec<Waker> = self
            .registry
            .lock()
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

    /// Pushes a task scheduled from a thread that is not one of this
    /// executor's workers (or a local task woken away from home).
    pub(crate) fn push_remote(&self, runnable: Runnable) {
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
    pub(crate) fn notify_one(&self) {
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

    pub(crate) fn unpark_worker(&self, idx: usize) {
        let w = &self.workers[idx];
        w.token.store(true, Ordering::SeqCst);
        if w.in_driver.load(Ordering::SeqCst) {
            self.driver_unpark.unpark();
        }
        if let Some(t) = w.thread.get() {
            t.unpark();
        }
    }

    pub(crate) fn unpark_all(&self) {
        lock(&self.sleepers).clear();
        self.num_sleeping.store(0, Ordering::SeqCst);
        for idx in 0..self.workers.len() {
            self.unpark_worker(idx);
        }
    }

    pub(crate) fn stats(&self) -> ExecutorStats {
        let (spawned, alive) = {
            let reg = self.registry.lock();
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

    /// Every live task: from the debug side table when there is one, from
    /// the registry (ids only) otherwise.
    pub(crate) fn task_infos(&self) -> Vec<TaskInfo> {
        match self.hooks.snapshot() {
            Some(tasks) => tasks,
            None => self
                .registry
                .lock()
                .tasks
                .iter()
                .map(|(_, (id, _))| TaskInfo::untracked(*id))
                .collect(),
        }
    }
}

/// Resolves once a task is gone. Holds no reference to the task itself, so
/// it does not depend on the task's output type (it is what a dropped,
/// awaited handle offers to [`eddy_core::abandon`]).
pub(crate) struct ExitWait {
    shared: Arc<Shared>,
    key: u32,
    id: TaskId,
    token: Option<u64>,
}

impl ExitWait {
    pub(crate) fn new(shared: Arc<Shared>, key: u32, id: TaskId) -> ExitWait {
        ExitWait {
            shared,
            key,
            id,
            token: None,
        }
    }
}

impl Future for ExitWait {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        this.shared
            .poll_exit(this.key, this.id, &mut this.token, cx)
    }
}

impl Drop for ExitWait {
    fn drop(&mut self) {
        if let Some(t) = self.token.take() {
            self.shared.forget_exit(t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Header;

    /// Every idle task pays for the header; keep it from growing by accident.
    #[test]
    fn header_stays_small() {
        assert!(
            std::mem::size_of::<Header>() <= 40,
            "{}",
            std::mem::size_of::<Header>()
        );
    }
}
