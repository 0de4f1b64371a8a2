//! The pool threads: starting them, handing them jobs, idle timeout and
//! exit.

use std::sync::atomic::{Ordering, fence};
use std::sync::{Arc, Mutex};

use crossbeam_channel::{TryRecvError, TrySendError};

use super::{Shared, Slot, lock};
use crate::job::{BlockingError, Job};

/// How many `try_recv` rounds an idle thread spins (with `spin_loop`) and
/// then yields before it blocks. Waking a blocked thread costs ~19 µs on the
/// reference machine; a caller that awaits one job at a time submits its next
/// job within a wake-up of the previous result, so the spin must outlast one
/// wake-up. Yielding keeps the spin cheap for the other threads on the core.
const SPIN_ROUNDS: u32 = 64;
const YIELD_ROUNDS: u32 = 200;

impl Shared {
    pub(super) fn try_push(self: &Arc<Self>, job: Job) -> Result<(), Job> {
        if self.closed.load(Ordering::Acquire) {
            job.abandon(BlockingError::ShutDown);
            return Ok(());
        }
        match self.tx.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(job)) => return Err(job),
            Err(TrySendError::Disconnected(job)) => {
                job.abandon(BlockingError::ShutDown);
                return Ok(());
            }
        }
        // Pairs with the fence in an exiting thread: either it sees our job
        // in the queue, or we see it gone from `threads`/`idle`.
        fence(Ordering::SeqCst);
        if self.tx.len() > self.idle.load(Ordering::SeqCst) {
            self.spawn_thread();
        }
        if self.closed.load(Ordering::Acquire) {
            // Raced with a shutdown that may already have drained the queue.
            self.drain(|| BlockingError::ShutDown);
        }
        Ok(())
    }

    pub(super) fn spawn_thread(self: &Arc<Self>) {
        let mut control = lock(&self.control);
        let Some(exit_tx) = control.exit_tx.clone() else {
            return;
        };
        let mut n = self.threads.load(Ordering::SeqCst);
        loop {
            if n >= self.config.max_threads {
                return;
            }
            match self
                .threads
                .compare_exchange(n, n + 1, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => break,
                Err(m) => n = m,
            }
        }
        control.next_thread += 1;
        let name = format!("{}-{}", self.config.name, control.next_thread);
        let slot = Arc::new(Slot {
            name: name.clone(),
            current: Mutex::new(None),
        });
        control.slots.push(Arc::clone(&slot));
        drop(control);
        let shared = Arc::clone(self);
        let mut b = std::thread::Builder::new().name(name);
        if let Some(s) = self.config.stack_size {
            b = b.stack_size(s);
        }
        let spawned = b.spawn(move || {
            worker(&shared, &slot);
            lock(&shared.control)
                .slots
                .retain(|s| !Arc::ptr_eq(s, &slot));
            drop(exit_tx);
        });
        match spawned {
            Ok(_) => {
                self.spawned_total.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                // Out of threads: the queued job waits for a running thread.
                // If none is left, fail what is queued rather than hang.
                let left = self.threads.fetch_sub(1, Ordering::SeqCst) - 1;
                lock(&self.control).slots.pop();
                if left == 0 {
                    self.drain(|| BlockingError::NotRun);
                }
            }
        }
    }

    /// Fails every queued job with `err()`; returns how many there were.
    pub(super) fn drain(&self, err: fn() -> BlockingError) -> usize {
        let mut n = 0;
        while let Ok(job) = self.rx.try_recv() {
            job.abandon(err());
            n += 1;
        }
        n
    }

    pub(super) fn close(&self) {
        let mut control = lock(&self.control);
        self.closed.store(true, Ordering::Release);
        control.stop_tx = None;
        control.exit_tx = None;
    }

    fn after_recv(&self) {
        if self.waiting.load(Ordering::SeqCst) > 0 {
            let w = self.lock_waiters().pop();
            if let Some(w) = w {
                w.wake();
            }
        }
    }

    /// Waits for a job; `None` means this thread should exit.
    fn next_job(&self) -> Option<Job> {
        if let Ok(j) = self.rx.try_recv() {
            return Some(j);
        }
        self.idle.fetch_add(1, Ordering::SeqCst);
        if !self.closed.load(Ordering::Acquire) {
            for i in 0..SPIN_ROUNDS + YIELD_ROUNDS {
                if let Ok(j) = self.rx.try_recv() {
                    self.idle.fetch_sub(1, Ordering::SeqCst);
                    return Some(j);
                }
                if i < SPIN_ROUNDS {
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
            }
        }
        crossbeam_channel::select! {
            recv(self.rx) -> msg => {
                self.idle.fetch_sub(1, Ordering::SeqCst);
                msg.ok()
            }
            recv(self.stop_rx) -> _ => {
                // Closed: finish what is queued, then leave.
                self.idle.fetch_sub(1, Ordering::SeqCst);
                match self.rx.try_recv() {
                    Ok(j) => Some(j),
                    Err(_) => {
                        self.threads.fetch_sub(1, Ordering::SeqCst);
                        None
                    }
                }
            }
            default(self.config.idle_timeout) => {
                self.idle.fetch_sub(1, Ordering::SeqCst);
                self.threads.fetch_sub(1, Ordering::SeqCst);
                fence(Ordering::SeqCst);
                match self.rx.try_recv() {
                    Ok(j) => {
                        // A job slipped in as we were leaving: stay.
                        self.threads.fetch_add(1, Ordering::SeqCst);
                        Some(j)
                    }
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => None,
                }
            }
        }
    }
}

fn worker(shared: &Shared, slot: &Slot) {
    while let Some(job) = shared.next_job() {
        shared.after_recv();
        if let Some(j) = job.shared() {
            *lock(&slot.current) = Some(j);
        }
        job.run();
        *lock(&slot.current) = None;
    }
}
