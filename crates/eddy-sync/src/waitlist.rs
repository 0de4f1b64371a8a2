//! The waiter list every primitive in this crate is built on.
//!
//! A slab of slots threaded into a doubly linked FIFO by index. A waiting
//! future stores only its [`Key`] (slot index + generation), so waiting
//! allocates nothing once the slab has grown to the peak number of concurrent
//! waiters; freed slots are reused through a free list.
//!
//! A slot outlives its place in the queue: notifying a waiter unlinks it and
//! marks it notified, but the slot stays until the waiting future removes it.
//! That is what makes cancellation safe: a future dropped after being notified
//! sees `notified == true` in [`WaitList::remove`] and hands the wake-up (or
//! the permits, or the item) on to the next waiter.

use std::sync::{Mutex, MutexGuard};
use std::task::Waker;

const NIL: u32 = u32::MAX;

/// Locks a std mutex, ignoring poisoning: every critical section in this
/// crate leaves its state consistent before it can panic (user code never
/// runs under these locks).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Identifies one waiter's slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Key {
    idx: u32,
    generation: u32,
}

struct Slot<T> {
    generation: u32,
    prev: u32,
    /// Next in the queue while linked; next free slot while free.
    next: u32,
    occupied: bool,
    linked: bool,
    notified: bool,
    waker: Option<Waker>,
    data: T,
}

/// A FIFO of waiters with O(1) push, pop, and removal by key.
pub(crate) struct WaitList<T> {
    slots: Vec<Slot<T>>,
    head: u32,
    tail: u32,
    free: u32,
    linked: usize,
}

impl<T: Default> Default for WaitList<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Default> WaitList<T> {
    pub(crate) const fn new() -> Self {
        WaitList {
            slots: Vec::new(),
            head: NIL,
            tail: NIL,
            free: NIL,
            linked: 0,
        }
    }

    /// Number of waiters still queued (not yet notified).
    pub(crate) fn len(&self) -> usize {
        self.linked
    }

    fn alloc(&mut self, data: T, waker: Option<Waker>) -> u32 {
        if self.free != NIL {
            let idx = self.free;
            let s = &mut self.slots[idx as usize];
            self.free = s.next;
            s.occupied = true;
            s.notified = false;
            s.waker = waker;
            s.data = data;
            idx
        } else {
            let idx = self.slots.len() as u32;
            self.slots.push(Slot {
                generation: 0,
                prev: NIL,
                next: NIL,
                occupied: true,
                linked: false,
                notified: false,
                waker,
                data,
            });
            idx
        }
    }

    /// Queues a waiter at the back.
    pub(crate) fn push_back(&mut self, data: T, waker: Option<Waker>) -> Key {
        let idx = self.alloc(data, waker);
        let tail = self.tail;
        {
            let s = &mut self.slots[idx as usize];
            s.prev = tail;
            s.next = NIL;
            s.linked = true;
        }
        if tail == NIL {
            self.head = idx;
        } else {
            self.slots[tail as usize].next = idx;
        }
        self.tail = idx;
        self.linked += 1;
        Key {
            idx,
            generation: self.slots[idx as usize].generation,
        }
    }

    fn unlink(&mut self, idx: u32) {
        let (prev, next) = {
            let s = &mut self.slots[idx as usize];
            debug_assert!(s.linked);
            s.linked = false;
            (s.prev, s.next)
        };
        if prev == NIL {
            self.head = next;
        } else {
            self.slots[prev as usize].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.slots[next as usize].prev = prev;
        }
        self.linked -= 1;
    }

    fn slot(&self, key: Key) -> &Slot<T> {
        let s = &self.slots[key.idx as usize];
        debug_assert!(
            s.occupied && s.generation == key.generation,
            "stale wait-list key"
        );
        s
    }

    fn slot_mut(&mut self, key: Key) -> &mut Slot<T> {
        let s = &mut self.slots[key.idx as usize];
        debug_assert!(
            s.occupied && s.generation == key.generation,
            "stale wait-list key"
        );
        s
    }

    pub(crate) fn is_notified(&self, key: Key) -> bool {
        self.slot(key).notified
    }

    /// Stores the waker to use when this waiter is notified (cloning only if
    /// it changed since the last poll).
    pub(crate) fn set_waker(&mut self, key: Key, waker: &Waker) {
        let s = self.slot_mut(key);
        match &s.waker {
            Some(w) if w.will_wake(waker) => {}
            _ => s.waker = Some(waker.clone()),
        }
    }

    /// Frees the slot. Returns `Some(data)` if the waiter had been notified
    /// (the caller must pass the wake-up on), `None` if it was still queued.
    pub(crate) fn remove(&mut self, key: Key) -> Option<T> {
        let linked = self.slot(key).linked;
        if linked {
            self.unlink(key.idx);
        }
        let free = self.free;
        let s = self.slot_mut(key);
        s.occupied = false;
        s.generation = s.generation.wrapping_add(1);
        s.waker = None;
        s.next = free;
        let notified = std::mem::replace(&mut s.notified, false);
        let data = std::mem::take(&mut s.data);
        self.free = key.idx;
        notified.then_some(data)
    }

    /// The data of the first queued waiter.
    pub(crate) fn front(&self) -> Option<&T> {
        (self.head != NIL).then(|| &self.slots[self.head as usize].data)
    }

    /// Unlinks the first queued waiter, marks it notified with `data`, and
    /// collects its waker. Returns `false` if no one was waiting.
    pub(crate) fn notify_front(&mut self, data: T, wakes: &mut WakeList) -> bool {
        let idx = self.head;
        if idx == NIL {
            return false;
        }
        self.unlink(idx);
        let s = &mut self.slots[idx as usize];
        s.notified = true;
        s.data = data;
        if let Some(w) = s.waker.take() {
            wakes.push(w);
        }
        true
    }

    /// Notifies every queued waiter, each with a copy of `data`.
    pub(crate) fn notify_all(&mut self, data: T, wakes: &mut WakeList) -> usize
    where
        T: Clone,
    {
        let mut n = 0;
        while self.notify_front(data.clone(), wakes) {
            n += 1;
        }
        n
    }
}

/// Wakers collected under a lock, to be woken after it is released so a woken
/// task on another thread does not immediately contend on the lock we hold.
///
/// Nearly every operation wakes at most one waiter, so the first waker sits
/// inline and the rest go to a `Vec` that allocates only when a second waker
/// arrives (`notify_all`, a large `add_permits`). An earlier fixed array of
/// 16 `Option<Waker>`s cost ~80 instructions per use just to initialise and
/// drop, a fifth of a channel ping-pong.
pub(crate) struct WakeList {
    first: Option<Waker>,
    rest: Vec<Waker>,
}

impl WakeList {
    #[inline]
    pub(crate) fn new() -> Self {
        WakeList {
            first: None,
            rest: Vec::new(),
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, w: Waker) {
        if self.first.is_none() {
            self.first = Some(w);
        } else {
            self.rest.push(w);
        }
    }

    #[inline]
    pub(crate) fn wake_all(&mut self) {
        if let Some(w) = self.first.take() {
            w.wake();
        }
        if !self.rest.is_empty() {
            for w in self.rest.drain(..) {
                w.wake();
            }
        }
    }
}

impl Drop for WakeList {
    #[inline]
    fn drop(&mut self) {
        self.wake_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    #[derive(Debug, Clone)]
    enum Op {
        Push,
        Remove(usize),
        NotifyFront,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => Just(Op::Push),
            2 => (0usize..16).prop_map(Op::Remove),
            1 => Just(Op::NotifyFront),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn matches_model(ops in proptest::collection::vec(op(), 0..64)) {
            let mut list = WaitList::<u32>::new();
            let mut model_queue: VecDeque<u32> = VecDeque::new();
            let mut live: Vec<(Key, u32)> = Vec::new();
            let mut notified: Vec<u32> = Vec::new();
            let mut next = 1u32;
            let mut wakes = WakeList::new();
            for op in ops {
                match op {
                    Op::Push => {
                        let k = list.push_back(next, None);
                        live.push((k, next));
                        model_queue.push_back(next);
                        next += 1;
                    }
                    Op::Remove(i) => {
                        if live.is_empty() { continue; }
                        let (k, id) = live.remove(i % live.len());
                        let got = list.remove(k);
                        if let Some(pos) = notified.iter().position(|&x| x == id) {
                            notified.remove(pos);
                            prop_assert_eq!(got, Some(0));
                        } else {
                            prop_assert_eq!(got, None);
                            let pos = model_queue.iter().position(|&x| x == id).unwrap();
                            model_queue.remove(pos);
                        }
                    }
                    Op::NotifyFront => {
                        let exp = model_queue.pop_front();
                        prop_assert_eq!(list.front().copied(), exp);
                        prop_assert_eq!(list.notify_front(0, &mut wakes), exp.is_some());
                        notified.extend(exp);
                    }
                }
                prop_assert_eq!(list.len(), model_queue.len());
                for (k, id) in &live {
                    prop_assert_eq!(list.is_notified(*k), notified.contains(id));
                }
            }
            // Slots are reused: never more slots than the peak of live keys.
            prop_assert!(list.slots.len() <= next as usize);
        }
    }
}
