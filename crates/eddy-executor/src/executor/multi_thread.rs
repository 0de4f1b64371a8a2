//! The multi-threaded flavour: worker threads, finding and stealing work,
//! parking, and `block_on` on a thread that is not a worker.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering, fence};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use concurrent_queue::ConcurrentQueue;

use super::context::{MainUnpark, MainWaker, RunningGuard, WorkerCtx};
use super::handle::{EnterGuard, Handle, WorkerGuard};
use super::shared::{Runnable, Shared};
use crate::hooks::IdleSince;
use crate::lock::lock;
use crate::task::run_task;

/// Capacity of each worker's stealable queue; overflow goes to the injector.
pub(crate) const LOCAL_QUEUE_CAPACITY: usize = 256;

/// How many times in a row a worker may run the task in its LIFO slot before
/// the slot's task must go through the queue like everyone else.
const MAX_LIFO_POLLS: u32 = 3;

/// Rounds of looking for work before a multi-threaded worker goes to sleep:
/// waking a sleeping thread costs ~19 µs on a small VM, a round of looking a
/// few hundred nanoseconds.
const SPIN_ROUNDS: u32 = 32;

/// Runs tasks until the executor shuts down: the body of every multi-threaded
/// worker thread.
pub(crate) fn worker_main(shared: Arc<Shared>, index: usize) {
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
        // A fairness point skips the LIFO slot (its task goes to the back of
        // the local queue below), or the injector-first look it owes would
        // wait a whole interval more whenever the tick lands on a LIFO poll.
        let next = if lifo_polls < MAX_LIFO_POLLS && !check {
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
    shared.hooks.on_worker_sleep();
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

/// `Executor::block_on` for the multi-threaded flavour: the workers run the
/// tasks while this thread polls `fut` and sleeps on its thread parker.
pub(crate) fn block_on<F: Future>(shared: &Arc<Shared>, fut: F) -> F::Output {
    let _enter = EnterGuard::enter(Handle {
        shared: shared.clone(),
    });
    let _running = RunningGuard::enter();
    let waker = Arc::new(MainWaker {
        woken: AtomicBool::new(true),
        unpark: MainUnpark::Thread(thread::current()),
    });
    let w = Waker::from(waker.clone());
    let mut cx = Context::from_waker(&w);
    let mut fut = pin!(fut);
    let _abort = shared.hooks.abort_watch();
    // Deadlock detection: every worker asleep with nothing queued, and this
    // future not woken (read in that order: see `DeadlockWatch::park_main`).
    let idle = || {
        shared.num_sleeping.load(Ordering::SeqCst) == shared.workers.len()
            && !has_work(shared)
            && !waker.woken.load(Ordering::SeqCst)
    };
    let mut since = IdleSince::default();
    loop {
        shared.hooks.check_abort();
        if waker.woken.swap(false, Ordering::AcqRel) {
            since = IdleSince::default();
            if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                return v;
            }
        } else {
            shared
                .hooks
                .park_main(&mut since, &idle, &|| shared.task_infos());
        }
    }
}
