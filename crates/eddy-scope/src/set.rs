//! A set of futures polled inside one task, each with its own waker, so a
//! wake-up polls only the futures that were woken (the engine behind
//! `gather_all`, `as_completed`, `wait` and `map_concurrent`).

use std::collections::VecDeque;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};

use eddy_core::Panic;

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of our locks leaves plain data behind; the
    // data stays consistent at every unlock point, so poisoning is ignored.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Slots woken since the owner last looked, plus the owner's waker.
#[derive(Default)]
struct Ready {
    list: Vec<usize>,
    parent: Option<Waker>,
}

struct SlotWaker {
    idx: usize,
    /// Already in the ready list (or about to be polled): a second wake is
    /// free.
    queued: AtomicBool,
    ready: Arc<Mutex<Ready>>,
}

impl Wake for SlotWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.queued.swap(true, Ordering::AcqRel) {
            let parent = {
                let mut r = lock(&self.ready);
                r.list.push(self.idx);
                r.parent.clone()
            };
            if let Some(w) = parent {
                w.wake();
            }
        }
    }
}

/// A finished member of a [`FutureSet`]: its index and output (or panic).
pub(crate) type Completion<T> = (usize, Result<T, Panic>);

struct Slot<F> {
    fut: Option<Pin<Box<F>>>,
    waker: Arc<SlotWaker>,
}

/// Futures polled by their owner; completions come out one at a time with
/// the index they were pushed at.
///
/// Costs: one allocation for the future and one for its waker per push; a
/// wake-up of one future polls only that future.
pub(crate) struct FutureSet<F> {
    slots: Vec<Slot<F>>,
    ready: Arc<Mutex<Ready>>,
    /// Woken slots taken out of `ready` but not yet polled.
    local: VecDeque<usize>,
    live: usize,
}

impl<F: Future> FutureSet<F> {
    pub(crate) fn new() -> FutureSet<F> {
        FutureSet {
            slots: Vec::new(),
            ready: Arc::new(Mutex::new(Ready::default())),
            local: VecDeque::new(),
            live: 0,
        }
    }

    /// Adds a future; it is polled on the next `poll_next`.
    pub(crate) fn push(&mut self, fut: F) -> usize {
        let idx = self.slots.len();
        self.slots.push(Slot {
            fut: Some(Box::pin(fut)),
            waker: Arc::new(SlotWaker {
                idx,
                queued: AtomicBool::new(true),
                ready: self.ready.clone(),
            }),
        });
        self.local.push_back(idx);
        self.live += 1;
        idx
    }

    /// Futures pushed and not yet completed or removed.
    pub(crate) fn live(&self) -> usize {
        self.live
    }

    /// Takes a future out without completing it.
    pub(crate) fn remove(&mut self, idx: usize) -> Option<Pin<Box<F>>> {
        let f = self.slots.get_mut(idx)?.fut.take();
        if f.is_some() {
            self.live -= 1;
        }
        f
    }

    /// Indices of the futures still in the set, in push order.
    pub(crate) fn live_indices(&self) -> impl Iterator<Item = usize> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.fut.is_some())
            .map(|(i, _)| i)
    }

    /// The next completion: `Ready(None)` when the set is empty. A panic in
    /// a future is caught and returned as `Err`; that future is dropped.
    pub(crate) fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Completion<F::Output>>> {
        if self.live == 0 {
            return Poll::Ready(None);
        }
        loop {
            if self.local.is_empty() {
                let mut r = lock(&self.ready);
                if !r.parent.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    r.parent = Some(cx.waker().clone());
                }
                if r.list.is_empty() {
                    return Poll::Pending;
                }
                self.local.extend(r.list.drain(..));
            }
            while let Some(idx) = self.local.pop_front() {
                let slot = &mut self.slots[idx];
                slot.waker.queued.store(false, Ordering::Release);
                let Some(fut) = slot.fut.as_mut() else {
                    continue;
                };
                let waker = Waker::from(slot.waker.clone());
                let mut scx = Context::from_waker(&waker);
                let out = match catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(&mut scx))) {
                    Ok(Poll::Pending) => continue,
                    Ok(Poll::Ready(v)) => Ok(v),
                    Err(payload) => Err(Panic::new(payload)),
                };
                slot.fut = None;
                self.live -= 1;
                return Poll::Ready(Some((idx, out)));
            }
        }
    }
}
