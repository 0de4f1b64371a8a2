//! The per-thread worker context: the thread-locals that say which executor
//! this thread runs, its local run queue, and async-task's schedule function
//! that routes a woken task to it.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Wake;
use std::thread::Thread;

use async_task::ScheduleInfo;
use eddy_core::{TaskId, Unpark};

use super::shared::{Flavor, Runnable, Shared};

/// async-task's schedule function for every eddy task.
pub(crate) fn schedule(runnable: Runnable, info: ScheduleInfo) {
    runnable
        .metadata()
        .shared
        .hooks
        .on_schedule(runnable.metadata().id);
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
pub(crate) struct WorkerCtx {
    pub(crate) shared: Arc<Shared>,
    pub(crate) index: usize,
    /// This worker's own run queue, touched only by its thread. On the
    /// multi-threaded flavour, part of it moves to the stealable queue when
    /// another worker asks for work (see `share_if_wanted`).
    pub(crate) local: RefCell<VecDeque<Runnable>>,
    pub(crate) lifo: Cell<Option<Runnable>>,
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
    pub(crate) fn share_if_wanted(&self) {
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

pub(crate) struct RunningGuard(bool);

impl RunningGuard {
    pub(crate) fn enter() -> RunningGuard {
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
    pub(crate) static WORKER: RefCell<Option<Rc<WorkerCtx>>> = const { RefCell::new(None) };
}

/// Makes `ctx` this thread's worker context until dropped, leaving the
/// current handle alone: a [`LocalSet`](crate::LocalSet) running its tasks
/// (its wake-ups from this thread then go to its own queue, and its tasks
/// leave its registry from inside their last poll).
pub(crate) struct WorkerSwap(Option<Rc<WorkerCtx>>);

impl WorkerSwap {
    pub(crate) fn enter(ctx: Rc<WorkerCtx>) -> WorkerSwap {
        WorkerSwap(WORKER.with(|w| w.borrow_mut().replace(ctx)))
    }
}

impl Drop for WorkerSwap {
    fn drop(&mut self) {
        let prev = self.0.take();
        let _ = WORKER.try_with(|w| *w.borrow_mut() = prev);
    }
}

/// The executor whose worker context this thread is in: while a task runs,
/// the executor (or [`LocalSet`](crate::LocalSet)) it belongs to.
pub(crate) fn worker_shared() -> Option<Arc<Shared>> {
    WORKER
        .try_with(|w| w.borrow().as_ref().map(|c| c.shared.clone()))
        .ok()
        .flatten()
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

pub(crate) fn with_worker<R>(shared: &Shared, f: impl FnOnce(Option<&WorkerCtx>) -> R) -> R {
    WORKER.with(|w| {
        let w = w.borrow();
        let ctx = w
            .as_deref()
            .filter(|c| std::ptr::eq(Arc::as_ptr(&c.shared), shared));
        f(ctx)
    })
}

/// Wakes the thread inside `block_on` when the main future is woken.
pub(crate) struct MainWaker {
    pub(crate) woken: AtomicBool,
    /// The driver's unparker (current-thread flavour) or the blocked
    /// thread's handle (multi-threaded flavour, where `block_on` parks the
    /// calling thread and the workers own the driver).
    pub(crate) unpark: MainUnpark,
}

pub(crate) enum MainUnpark {
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
