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

    /// Drops every future still in the set (their destructors run, a panic
    /// in one is caught and dropped), then resumes the panic `p` one of
    /// them raised: the gathers propagate a panic only after the other
    /// inputs are gone, as their docs say.
    pub(crate) fn drop_all_and_resume(&mut self, p: Panic) -> ! {
        let rest = std::mem::replace(self, FutureSet::new());
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(rest)));
        std::panic::resume_unwind(p.into_payload())
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;
    use std::sync::atomic::AtomicUsize;

    /// A future completed by the test: `ready` is flipped by hand and the
    /// stored waker is woken, like a timer or socket would.
    #[derive(Default)]
    struct Gate {
        ready: AtomicBool,
        waker: Mutex<Option<Waker>>,
        polls: AtomicUsize,
    }

    struct Gated(Arc<Gate>, usize);

    impl Future for Gated {
        type Output = usize;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
            self.0.polls.fetch_add(1, Ordering::SeqCst);
            if self.0.ready.load(Ordering::SeqCst) {
                Poll::Ready(self.1)
            } else {
                *lock(&self.0.waker) = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }

    struct CountWake(AtomicUsize);
    impl Wake for CountWake {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Push,
        Complete(usize),
        Remove(usize),
        Poll,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            Just(Op::Push),
            (0usize..16).prop_map(Op::Complete),
            (0usize..16).prop_map(Op::Remove),
            Just(Op::Poll),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Random pushes, completions, removals and polls against a model:
        /// the set yields exactly the completed, not-yet-yielded members,
        /// only ever polls a member again after it was woken, and wakes its
        /// owner whenever a member is woken.
        #[test]
        fn future_set_matches_model(ops in prop::collection::vec(op(), 1..60)) {
            let mut set = FutureSet::new();
            let mut gates: Vec<Arc<Gate>> = Vec::new();
            // Model: members in the set, and which of them are complete.
            let mut live: BTreeSet<usize> = BTreeSet::new();
            let mut complete: BTreeSet<usize> = BTreeSet::new();
            // Members woken (or new) since they were last polled.
            let mut woken: BTreeSet<usize> = BTreeSet::new();
            let owner = Arc::new(CountWake(AtomicUsize::new(0)));
            let waker = Waker::from(owner.clone());
            let mut cx = Context::from_waker(&waker);
            for op in ops {
                match op {
                    Op::Push => {
                        let g = Arc::new(Gate::default());
                        let idx = set.push(Gated(g.clone(), gates.len()));
                        prop_assert_eq!(idx, gates.len());
                        live.insert(idx);
                        woken.insert(idx);
                        gates.push(g);
                    }
                    Op::Complete(i) => {
                        if let Some(g) = gates.get(i) {
                            g.ready.store(true, Ordering::SeqCst);
                            let before = owner.0.load(Ordering::SeqCst);
                            let w = lock(&g.waker).take();
                            let had_waker = w.is_some();
                            if let Some(w) = w { w.wake(); }
                            if had_waker {
                                woken.insert(i);
                            }
                            if live.contains(&i) {
                                complete.insert(i);
                                if had_waker {
                                    prop_assert!(owner.0.load(Ordering::SeqCst) > before, "owner not woken");
                                }
                            }
                        }
                    }
                    Op::Remove(i) => {
                        let removed = set.remove(i).is_some();
                        prop_assert_eq!(removed, live.remove(&i));
                        complete.remove(&i);
                    }
                    Op::Poll => {
                        let polls_before: Vec<usize> =
                            gates.iter().map(|g| g.polls.load(Ordering::SeqCst)).collect();
                        let mut yielded = BTreeSet::new();
                        loop {
                            match set.poll_next(&mut cx) {
                                Poll::Ready(Some((i, Ok(v)))) => {
                                    prop_assert_eq!(i, v);
                                    prop_assert!(complete.remove(&i), "yielded {} which is not complete", i);
                                    live.remove(&i);
                                    yielded.insert(i);
                                }
                                Poll::Ready(Some((_, Err(_)))) => prop_assert!(false, "no member panics"),
                                Poll::Ready(None) => {
                                    prop_assert!(live.is_empty());
                                    break;
                                }
                                Poll::Pending => break,
                            }
                        }
                        prop_assert!(complete.is_empty(), "completed members not yielded: {:?}", complete);
                        // Exactly the woken members still in the set were
                        // polled, once each.
                        for (i, g) in gates.iter().enumerate() {
                            let polled = g.polls.load(Ordering::SeqCst) - polls_before[i];
                            let expect = usize::from(woken.contains(&i) && (live.contains(&i) || yielded.contains(&i)));
                            prop_assert_eq!(polled, expect, "member {} polled {} times", i, polled);
                        }
                        woken.clear();
                    }
                }
                prop_assert_eq!(set.live(), live.len());
                prop_assert_eq!(set.live_indices().collect::<BTreeSet<_>>(), live.clone());
            }
        }
    }
}
