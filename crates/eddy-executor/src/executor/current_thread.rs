//! The current-thread flavour: `block_on` is the only worker, running the
//! `block_on` future and every task on the calling thread.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use super::context::{MainUnpark, MainWaker, RunningGuard, WorkerCtx};
use super::handle::WorkerGuard;
use super::shared::Shared;
use crate::lock::lock;
use crate::task::run_task;

/// `Executor::block_on` for the current-thread flavour: this thread is the
/// worker, running tasks between polls of `fut` and parking in the driver.
pub(crate) fn block_on<F: Future>(shared: &Arc<Shared>, fut: F) -> F::Output {
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
        shared.hooks.check_abort();
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
        // Once the `block_on` future is woken it waits its turn like a task
        // woken at that moment: behind the tasks already queued, not ahead
        // of them. Polling it after every task instead (a `block_on` that
        // awaits 100k handles is woken by each) cost a poll and a waker
        // swap per task: spawn_many from `block_on` 168 → 150 ns/task.
        let mut ahead_of_main: Option<usize> = None;
        while tick < interval {
            if ahead_of_main == Some(0) {
                break;
            }
            let next = shared.hooks.pop_ready(&mut ctx.local.borrow_mut());
            match next {
                Some(r) => {
                    run_task(shared, r, false);
                    ran = true;
                    tick += 1;
                }
                None => break,
            }
            match &mut ahead_of_main {
                Some(n) => *n -= 1,
                None if waker.woken.load(Ordering::Relaxed) => {
                    ahead_of_main = Some(ctx.local.borrow().len());
                }
                None => {}
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
            if shared.hooks.checks_deadlock()
                && shared
                    .hooks
                    .idle_check(&shared.driver, &has_work, &|| shared.task_infos())
            {
                continue;
            }
            shared.stats.parks.fetch_add(1, Ordering::Relaxed);
            let _ = lock(&shared.driver).park(None);
        }
    }
}
