//! The alternative store the wheel was measured against: a binary min-heap of
//! `(deadline, slab index)` with back-pointers from the slab, so cancel removes
//! the heap node in O(log n) instead of leaving a tombstone (lazy deletion
//! would let create-and-drop workloads grow the heap without bound).
//!
//! Kept (test-only) so the comparison in the crate docs can be re-run with
//! `cargo test --release -p eddy-timer -- --ignored --nocapture bench`.

use std::task::Waker;

const NIL: u32 = u32::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HeapKey {
    index: u32,
    generation: u32,
}

struct Entry {
    waker: Option<Waker>,
    generation: u32,
    /// Position in `heap` while live; next free index while free.
    pos: u32,
}

pub(crate) struct HeapStore {
    entries: Vec<Entry>,
    heap: Vec<(u64, u32)>,
    free: u32,
    elapsed: u64,
}

impl HeapStore {
    pub(crate) fn new() -> HeapStore {
        HeapStore {
            entries: Vec::new(),
            heap: Vec::new(),
            free: NIL,
            elapsed: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    pub(crate) fn insert(&mut self, when: u64, waker: Waker) -> HeapKey {
        let pos = self.heap.len() as u32;
        let index = if self.free != NIL {
            let index = self.free;
            let e = &mut self.entries[index as usize];
            self.free = e.pos;
            e.waker = Some(waker);
            e.pos = pos;
            index
        } else {
            self.entries.push(Entry {
                waker: Some(waker),
                generation: 0,
                pos,
            });
            (self.entries.len() - 1) as u32
        };
        self.heap.push((when, index));
        self.sift_up(pos as usize);
        HeapKey {
            index,
            generation: self.entries[index as usize].generation,
        }
    }

    fn live(&self, key: HeapKey) -> bool {
        self.entries
            .get(key.index as usize)
            .is_some_and(|e| e.generation == key.generation && e.waker.is_some())
    }

    pub(crate) fn cancel(&mut self, key: HeapKey) -> Option<Waker> {
        if !self.live(key) {
            return None;
        }
        let pos = self.entries[key.index as usize].pos as usize;
        self.remove_at(pos);
        self.release(key.index)
    }

    pub(crate) fn poll_entry(&mut self, key: HeapKey, waker: &Waker) -> bool {
        if !self.live(key) {
            return false;
        }
        let slot = &mut self.entries[key.index as usize].waker;
        match slot {
            Some(w) if w.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
        true
    }

    pub(crate) fn reschedule(&mut self, key: HeapKey, when: u64) -> bool {
        if !self.live(key) {
            return false;
        }
        let pos = self.entries[key.index as usize].pos as usize;
        self.heap[pos].0 = when;
        self.sift_up(pos);
        let pos = self.entries[key.index as usize].pos as usize;
        self.sift_down(pos);
        true
    }

    pub(crate) fn elapsed(&self) -> u64 {
        self.elapsed
    }

    pub(crate) fn next_expiration(&self) -> Option<u64> {
        self.next_deadline()
    }

    pub(crate) fn next_deadline(&self) -> Option<u64> {
        self.heap.first().map(|&(when, _)| when)
    }

    pub(crate) fn fire_expired(&mut self, now: u64, out: &mut Vec<Waker>, limit: usize) -> bool {
        self.elapsed = self.elapsed.max(now);
        let mut taken = 0;
        while let Some(&(when, index)) = self.heap.first() {
            if when > now {
                return false;
            }
            if taken == limit {
                return true;
            }
            self.remove_at(0);
            if let Some(w) = self.release(index) {
                out.push(w);
            }
            taken += 1;
        }
        false
    }

    fn release(&mut self, index: u32) -> Option<Waker> {
        let e = &mut self.entries[index as usize];
        e.generation = e.generation.wrapping_add(1);
        e.pos = self.free;
        self.free = index;
        e.waker.take()
    }

    fn remove_at(&mut self, pos: usize) {
        let last = self.heap.len() - 1;
        self.heap.swap(pos, last);
        self.heap.pop();
        if pos < last {
            let index = self.heap[pos].1;
            self.sift_up(pos);
            if self.entries[index as usize].pos as usize == pos {
                self.sift_down(pos);
            }
        }
    }

    fn sift_up(&mut self, mut pos: usize) {
        let item = self.heap[pos];
        while pos > 0 {
            let parent = (pos - 1) / 2;
            if self.heap[parent].0 <= item.0 {
                break;
            }
            self.heap[pos] = self.heap[parent];
            self.entries[self.heap[pos].1 as usize].pos = pos as u32;
            pos = parent;
        }
        self.heap[pos] = item;
        self.entries[item.1 as usize].pos = pos as u32;
    }

    fn sift_down(&mut self, mut pos: usize) {
        let item = self.heap[pos];
        let len = self.heap.len();
        loop {
            let left = 2 * pos + 1;
            if left >= len {
                break;
            }
            let right = left + 1;
            let child = if right < len && self.heap[right].0 < self.heap[left].0 {
                right
            } else {
                left
            };
            if self.heap[child].0 >= item.0 {
                break;
            }
            self.heap[pos] = self.heap[child];
            self.entries[self.heap[pos].1 as usize].pos = pos as u32;
            pos = child;
        }
        self.heap[pos] = item;
        self.entries[item.1 as usize].pos = pos as u32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::model_check;

    #[test]
    fn stand_in_api() {
        let mut h = HeapStore::new();
        let k = h.insert(7, std::task::Waker::noop().clone());
        assert_eq!(h.next_expiration(), Some(7));
        let mut out = Vec::new();
        assert!(!h.fire_expired(5, &mut out, 8));
        assert_eq!(h.elapsed(), 5);
        assert!(h.reschedule(k, 3));
        h.fire_expired(5, &mut out, 8);
        assert_eq!((out.len(), h.len()), (1, 0));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(96))]
        #[test]
        fn heap_matches_model(ops in crate::test_util::ops_strategy()) {
            model_check::<HeapStore>(&ops, false)?;
        }
    }
}
