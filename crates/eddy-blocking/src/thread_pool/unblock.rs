//! The [`Unblock`] future, and waiting for space while the queue is full.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use super::{Shared, lock};
use crate::job::{BlockingError, Handle, Job};

/// The future of a blocking job's result.
///
/// Resolves to `Ok(value)`, or to a [`BlockingError`] when the closure
/// panicked or the job never ran.
///
/// # Cancellation
///
/// Dropping the future before it resolves cancels the job: a job still in
/// the queue never starts (its closure is dropped), and a running job's
/// [`CancelToken`] is set. A running closure that ignores its token runs to
/// the end and its result is dropped. Awaiting is cancel-safe in the sense
/// that nothing but this job's result is lost.
///
/// [`CancelToken`]: crate::CancelToken
///
/// ```
/// use eddy_blocking::{ThreadPool, Unblock};
///
/// let pool = ThreadPool::builder().build();
/// let sum: Unblock<u64> = pool.unblock(|| (1..=100).sum());
/// assert_eq!(futures_lite::future::block_on(sum).unwrap(), 5050);
/// ```
#[must_use = "dropping an Unblock cancels its job"]
pub struct Unblock<T> {
    pub(super) handle: Handle<T>,
    /// Set while the pool's queue was full: the job still has to be sent.
    pub(super) pending: Option<PendingSend>,
}

pub(super) struct PendingSend {
    pub(super) pool: Arc<Shared>,
    pub(super) job: Option<Job>,
    /// Our id in the pool's list of submitters waiting for space.
    pub(super) waiter: Option<u64>,
}

impl<T> Unblock<T> {
    pub(super) fn ready(handle: Handle<T>) -> Unblock<T> {
        Unblock {
            handle,
            pending: None,
        }
    }
}

impl<T> Unblock<T> {
    /// Lets the job run to its end with nobody awaiting it (its token is
    /// not set and a queued job still starts); the result is dropped.
    ///
    /// If the job is still waiting for space in a full queue, this blocks
    /// the current thread until it is queued.
    ///
    /// ```
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// eddy_blocking::unblock(move || tx.send(5).unwrap()).detach();
    /// assert_eq!(rx.recv().unwrap(), 5);
    /// ```
    pub fn detach(mut self) {
        if let Some(mut p) = self.pending.take() {
            if let Some(job) = p.job.take() {
                p.leave_queue();
                p.pool.push_blocking(job);
            }
        }
        self.handle.detach();
    }
}

impl<T> Future for Unblock<T> {
    type Output = Result<T, BlockingError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Some(p) = &mut this.pending {
            if p.poll_send(cx).is_pending() {
                return Poll::Pending;
            }
            this.pending = None;
        }
        this.handle.poll_result(cx)
    }
}

impl<T> fmt::Debug for Unblock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unblock")
            .field("queued", &self.pending.is_none())
            .finish()
    }
}

impl PendingSend {
    fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(job) = self.job.take() else {
            return Poll::Ready(());
        };
        let job = match self.pool.try_push(job) {
            Ok(()) => return self.sent(),
            Err(job) => job,
        };
        // Register, then try again: a slot freed between the two attempts
        // would otherwise wake nobody.
        {
            let mut w = self.pool.lock_waiters();
            match self.waiter {
                Some(id) if w.update(id, cx.waker()) => {}
                _ => self.waiter = Some(w.push(cx.waker().clone())),
            }
        }
        match self.pool.try_push(job) {
            Ok(()) => self.sent(),
            Err(job) => {
                self.job = Some(job);
                Poll::Pending
            }
        }
    }

    fn sent(&mut self) -> Poll<()> {
        self.leave_queue();
        Poll::Ready(())
    }

    /// Leaves the wait list; if we were already picked to use a free slot,
    /// hand that wake-up on so it is not lost.
    fn leave_queue(&mut self) {
        if let Some(id) = self.waiter.take() {
            let next = {
                let mut w = self.pool.lock_waiters();
                if w.remove(id) { None } else { w.pop() }
            };
            if let Some(n) = next {
                n.wake();
            }
        }
    }
}

impl Drop for PendingSend {
    fn drop(&mut self) {
        self.leave_queue();
        if let Some(job) = self.job.take() {
            // Never queued: the awaiter is gone too, so nobody hears this.
            job.abandon(BlockingError::NotRun);
        }
    }
}

#[derive(Default)]
pub(super) struct Waiters {
    next_id: u64,
    list: VecDeque<(u64, Waker)>,
}

impl Waiters {
    fn push(&mut self, w: Waker) -> u64 {
        self.next_id += 1;
        self.list.push_back((self.next_id, w));
        self.next_id
    }
    fn update(&mut self, id: u64, w: &Waker) -> bool {
        match self.list.iter_mut().find(|(i, _)| *i == id) {
            Some((_, old)) => {
                if !old.will_wake(w) {
                    *old = w.clone();
                }
                true
            }
            None => false,
        }
    }
    fn remove(&mut self, id: u64) -> bool {
        match self.list.iter().position(|(i, _)| *i == id) {
            Some(p) => {
                self.list.remove(p);
                true
            }
            None => false,
        }
    }
    fn pop(&mut self) -> Option<Waker> {
        self.list.pop_front().map(|(_, w)| w)
    }
}

pub(super) struct WaitersGuard<'a> {
    shared: &'a Shared,
    guard: MutexGuard<'a, Waiters>,
}

impl WaitersGuard<'_> {
    fn push(&mut self, w: Waker) -> u64 {
        self.shared.waiting.fetch_add(1, Ordering::SeqCst);
        self.guard.push(w)
    }
    fn update(&mut self, id: u64, w: &Waker) -> bool {
        self.guard.update(id, w)
    }
    fn remove(&mut self, id: u64) -> bool {
        let r = self.guard.remove(id);
        if r {
            self.shared.waiting.fetch_sub(1, Ordering::SeqCst);
        }
        r
    }
    pub(super) fn pop(&mut self) -> Option<Waker> {
        let r = self.guard.pop();
        if r.is_some() {
            self.shared.waiting.fetch_sub(1, Ordering::SeqCst);
        }
        r
    }
}

impl Shared {
    pub(super) fn lock_waiters(&self) -> WaitersGuard<'_> {
        WaitersGuard {
            shared: self,
            guard: lock(&self.waiters),
        }
    }

    /// Queues `job`, blocking the thread while the queue is full.
    pub(super) fn push_blocking(self: &Arc<Self>, job: Job) {
        let shared = self;
        let mut job = job;
        loop {
            match shared.try_push(job) {
                Ok(()) => return,
                Err(j) => job = j,
            }
            // Full: wait for a slot the blocking way.
            match shared.tx.send_timeout(job, Duration::from_millis(1)) {
                Ok(()) => {
                    if shared.tx.len() > shared.idle.load(Ordering::SeqCst) {
                        shared.spawn_thread();
                    }
                    return;
                }
                Err(e) => job = e.into_inner(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Push,
        Update(usize),
        Remove(usize),
        Pop,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            Just(Op::Push),
            (0usize..16).prop_map(Op::Update),
            (0usize..16).prop_map(Op::Remove),
            Just(Op::Pop),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        /// The submitters' wait list against a plain FIFO of ids.
        #[test]
        fn waiters_match_a_fifo_model(ops in proptest::collection::vec(op(), 1..64)) {
            let mut w = Waiters::default();
            let mut model: VecDeque<u64> = VecDeque::new();
            let mut issued: Vec<u64> = Vec::new();
            for op in ops {
                match op {
                    Op::Push => {
                        let id = w.push(Waker::noop().clone());
                        prop_assert!(!issued.contains(&id));
                        issued.push(id);
                        model.push_back(id);
                    }
                    Op::Update(i) => {
                        let Some(&id) = issued.get(i) else { continue };
                        prop_assert_eq!(w.update(id, Waker::noop()), model.contains(&id));
                    }
                    Op::Remove(i) => {
                        let Some(&id) = issued.get(i) else { continue };
                        let present = model.contains(&id);
                        prop_assert_eq!(w.remove(id), present);
                        model.retain(|&x| x != id);
                    }
                    Op::Pop => {
                        let expect = model.pop_front();
                        let got = w.list.front().map(|(id, _)| *id);
                        prop_assert_eq!(got, expect);
                        prop_assert_eq!(w.pop().is_some(), expect.is_some());
                    }
                }
                let ids: Vec<u64> = w.list.iter().map(|(id, _)| *id).collect();
                prop_assert_eq!(ids, model.iter().copied().collect::<Vec<_>>());
            }
        }
    }
}
