//! The timer store: a hierarchical timing wheel over a slab.
//!
//! Time is counted in ticks of [`RESOLUTION`] since the driver's base instant.
//! Six levels of 64 slots cover 64^6 ticks (about 2.2 years at 1 ms); a
//! deadline further out parks in the top level and is re-filed whenever its
//! slot comes round. Each timer lives in a slab entry that is also a node of
//! an intrusive doubly linked list (one list per slot), so insert and cancel
//! are O(1) with no allocation beyond amortised slab growth. One bitmap per
//! level finds the next non-empty slot with a rotate and a
//! `trailing_zeros`.
//!
//! Invariant (as in tokio's wheel): an entry at level `L` has a deadline in
//! the same 64^(L+1)-tick block as `elapsed` but in a later 64^L-tick block, so
//! every entry in a lower level is due before every entry in a higher one.
//! Entries whose deadline is at or before `elapsed` (inserted late, or found
//! due while a slot is processed) sit in the `pending` list and are handed out
//! by [`Wheel::fire_expired`].
//!
//! Every list (slots and `pending`) is FIFO: insert appends at the tail (one
//! `tails` array beside `heads`, no per-timer cost), and processing a slot
//! walks it front to back, re-filing relative to the slot's start. So timers
//! with equal deadlines, which always share a list, fire in insertion order,
//! as in asyncio and trio.

use std::task::Waker;
use std::time::Duration;

/// The store's resolution: deadlines are rounded up to a whole tick.
pub(crate) const RESOLUTION: Duration = Duration::from_millis(1);

const LEVELS: usize = 6;
const SLOT_BITS: u32 = 6;
const SLOTS: usize = 1 << SLOT_BITS;
const SLOT_MASK: u64 = SLOTS as u64 - 1;
/// Ticks covered by the whole wheel.
const HORIZON: u64 = 1 << (SLOT_BITS * LEVELS as u32);
const NIL: u32 = u32::MAX;
/// List id of the pending (due) list; wheel slots use `level * 64 + slot`.
const PENDING: u16 = (LEVELS * SLOTS) as u16;

/// Identifies one timer. The generation makes a key stale as soon as its timer
/// fires or is cancelled, so a stale key can never touch a later occupant of
/// the same slab slot (barring 2^32 reuses of one slot while the key is held).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key {
    index: u32,
    generation: u32,
}

struct Entry {
    when: u64,
    /// `Some` while the entry holds a live timer.
    waker: Option<Waker>,
    generation: u32,
    next: u32,
    prev: u32,
    list: u16,
}

pub(crate) struct Wheel {
    entries: Vec<Entry>,
    free: u32,
    len: usize,
    /// Every slot whose range ends at or before `elapsed` has been processed.
    elapsed: u64,
    heads: [u32; LEVELS * SLOTS + 1],
    /// Last entry of each list: every list is FIFO, so timers with equal
    /// deadlines fire in the order they were inserted.
    tails: [u32; LEVELS * SLOTS + 1],
    occupied: [u64; LEVELS],
}

impl Wheel {
    pub(crate) fn new() -> Wheel {
        Wheel {
            entries: Vec::new(),
            free: NIL,
            len: 0,
            elapsed: 0,
            heads: [NIL; LEVELS * SLOTS + 1],
            tails: [NIL; LEVELS * SLOTS + 1],
            occupied: [0; LEVELS],
        }
    }

    /// Number of live timers.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The last tick the store has processed: every deadline at or before it
    /// has passed.
    pub(crate) fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Adds a timer due at tick `when`.
    pub(crate) fn insert(&mut self, when: u64, waker: Waker) -> Key {
        let index = if self.free != NIL {
            let index = self.free;
            let e = &mut self.entries[index as usize];
            self.free = e.next;
            e.when = when;
            e.waker = Some(waker);
            index
        } else {
            let index = u32::try_from(self.entries.len())
                .ok()
                .filter(|&i| i != NIL)
                .expect("more than 2^32 - 1 live timers");
            self.entries.push(Entry {
                when,
                waker: Some(waker),
                generation: 0,
                next: NIL,
                prev: NIL,
                list: 0,
            });
            index
        };
        self.len += 1;
        let list = self.list_for(when);
        self.link(index, list);
        Key {
            index,
            generation: self.entries[index as usize].generation,
        }
    }

    fn live(&self, key: Key) -> bool {
        self.entries
            .get(key.index as usize)
            .is_some_and(|e| e.generation == key.generation && e.waker.is_some())
    }

    /// Removes a live timer, returning its waker; `None` for a stale key.
    pub(crate) fn cancel(&mut self, key: Key) -> Option<Waker> {
        if !self.live(key) {
            return None;
        }
        self.unlink(key.index);
        self.release(key.index)
    }

    /// If the timer is still live, makes sure it will wake `waker` and returns
    /// `true`; `false` means it has fired (or been cancelled).
    pub(crate) fn poll_entry(&mut self, key: Key, waker: &Waker) -> bool {
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

    /// Moves a live timer to tick `when`, keeping its waker and key. Returns
    /// `false` (and does nothing) for a stale key.
    pub(crate) fn reschedule(&mut self, key: Key, when: u64) -> bool {
        if !self.live(key) {
            return false;
        }
        self.unlink(key.index);
        self.entries[key.index as usize].when = when;
        let list = self.list_for(when);
        self.link(key.index, list);
        true
    }

    /// A lower bound on the earliest deadline (exact unless the earliest timer
    /// sits in a coarse level): when the driver must wake to make progress.
    pub(crate) fn next_expiration(&self) -> Option<u64> {
        if self.heads[PENDING as usize] != NIL {
            return Some(self.elapsed);
        }
        self.next_slot().map(|(_, deadline)| deadline)
    }

    /// The exact earliest deadline among live timers.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        if self.heads[PENDING as usize] != NIL {
            return self.min_when(PENDING);
        }
        let (list, deadline) = self.next_slot()?;
        if (list as usize) < SLOTS {
            // A level-0 slot holds exactly one tick.
            Some(deadline)
        } else if (list as usize) < (LEVELS - 1) * SLOTS {
            self.min_when(list)
        } else {
            // Timers beyond the horizon share top-level slots out of order
            // with nearer ones, so scan the whole (rarely used) top level.
            let top = (LEVELS - 1) * SLOTS;
            (0..SLOTS)
                .filter_map(|s| self.min_when((top + s) as u16))
                .min()
        }
    }

    /// Hands out wakers of timers due at or before tick `now`, at most
    /// `limit` of them, in deadline order, equal deadlines in insertion order.
    /// Returns `true` if more due timers remain.
    pub(crate) fn fire_expired(&mut self, now: u64, out: &mut Vec<Waker>, limit: usize) -> bool {
        self.advance(now);
        let mut taken = 0;
        while taken < limit {
            let index = self.heads[PENDING as usize];
            if index == NIL {
                return false;
            }
            self.unlink(index);
            if let Some(w) = self.release(index) {
                out.push(w);
            }
            taken += 1;
        }
        self.heads[PENDING as usize] != NIL
    }

    /// Processes every slot whose deadline is at or before `now`, in deadline
    /// order. Each slot's entries are re-filed relative to the slot's start:
    /// those due exactly then are appended to `pending`, the others cascade to
    /// a lower level (or, beyond the horizon, back to the top). Lists are FIFO
    /// and re-filing walks a list front to back, so entries keep their
    /// insertion order all the way down, and `pending` receives timers in
    /// (deadline, insertion) order even when `now` jumps far ahead.
    fn advance(&mut self, now: u64) {
        while let Some((list, deadline)) = self.next_slot() {
            if deadline > now {
                break;
            }
            let mut index = self.take_list(list);
            self.elapsed = deadline;
            while index != NIL {
                let e = &self.entries[index as usize];
                let next = e.next;
                let target = self.list_for(e.when);
                self.link(index, target);
                index = next;
            }
        }
        if now > self.elapsed {
            self.elapsed = now;
        }
    }

    /// The earliest non-empty wheel slot and the tick at which it starts.
    fn next_slot(&self) -> Option<(u16, u64)> {
        for level in 0..LEVELS {
            let occupied = self.occupied[level];
            if occupied == 0 {
                continue;
            }
            let shift = level as u32 * SLOT_BITS;
            // Search from the slot after the one holding `elapsed`: that slot
            // has started, so anything filed in it (only far-future timers
            // wrapping the top level) is due one rotation later, after every
            // other slot of this rotation.
            let from = (((self.elapsed >> shift) + 1) & SLOT_MASK) as u32;
            let slot = (occupied.rotate_right(from).trailing_zeros() + from) % SLOTS as u32;
            let level_range = 1u64 << (shift + SLOT_BITS);
            let level_start = self.elapsed & !(level_range - 1);
            let mut deadline = level_start + (u64::from(slot) << shift);
            if deadline <= self.elapsed {
                // Only far-future timers (beyond the horizon) wrap round the
                // top level; their slot comes up in the next rotation.
                deadline += level_range;
            }
            return Some(((level * SLOTS) as u16 + slot as u16, deadline));
        }
        None
    }

    fn list_for(&self, when: u64) -> u16 {
        if when <= self.elapsed {
            return PENDING;
        }
        let masked = ((self.elapsed ^ when) | SLOT_MASK).min(HORIZON - 1);
        let level = (63 - masked.leading_zeros()) / SLOT_BITS;
        let slot = (when >> (level * SLOT_BITS)) & SLOT_MASK;
        (level as usize * SLOTS) as u16 + slot as u16
    }

    fn min_when(&self, list: u16) -> Option<u64> {
        let mut index = self.heads[list as usize];
        let mut min = None;
        while index != NIL {
            let e = &self.entries[index as usize];
            min = Some(min.map_or(e.when, |m: u64| m.min(e.when)));
            index = e.next;
        }
        min
    }

    fn take_list(&mut self, list: u16) -> u32 {
        let head = std::mem::replace(&mut self.heads[list as usize], NIL);
        self.tails[list as usize] = NIL;
        if list != PENDING {
            self.occupied[list as usize / SLOTS] &= !(1 << (list as usize % SLOTS));
        }
        head
    }

    /// Appends `index` to `list` (every list is FIFO).
    fn link(&mut self, index: u32, list: u16) {
        let tail = self.tails[list as usize];
        let e = &mut self.entries[index as usize];
        e.list = list;
        e.prev = tail;
        e.next = NIL;
        if tail == NIL {
            self.heads[list as usize] = index;
            if list != PENDING {
                self.occupied[list as usize / SLOTS] |= 1 << (list as usize % SLOTS);
            }
        } else {
            self.entries[tail as usize].next = index;
        }
        self.tails[list as usize] = index;
    }

    fn unlink(&mut self, index: u32) {
        let e = &self.entries[index as usize];
        let (prev, next, list) = (e.prev, e.next, e.list);
        if prev == NIL {
            self.heads[list as usize] = next;
            if next == NIL && list != PENDING {
                self.occupied[list as usize / SLOTS] &= !(1 << (list as usize % SLOTS));
            }
        } else {
            self.entries[prev as usize].next = next;
        }
        if next == NIL {
            self.tails[list as usize] = prev;
        } else {
            self.entries[next as usize].prev = prev;
        }
    }

    fn release(&mut self, index: u32) -> Option<Waker> {
        let e = &mut self.entries[index as usize];
        e.generation = e.generation.wrapping_add(1);
        let waker = e.waker.take();
        e.next = self.free;
        self.free = index;
        self.len -= 1;
        waker
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{CountingWaker, model_check};

    #[test]
    fn fires_in_order_and_never_early() {
        let mut w = Wheel::new();
        let (waker, hits) = CountingWaker::create();
        let a = w.insert(5, waker.clone());
        let b = w.insert(70, waker.clone());
        let c = w.insert(5000, waker.clone());
        assert_eq!(w.next_deadline(), Some(5));
        let mut out = Vec::new();
        assert!(!w.fire_expired(4, &mut out, usize::MAX));
        assert!(out.is_empty());
        w.fire_expired(5, &mut out, usize::MAX);
        assert_eq!(out.len(), 1);
        assert_eq!(w.next_deadline(), Some(70));
        assert!(w.cancel(a).is_none(), "fired key is stale");
        assert!(w.cancel(b).is_some());
        assert_eq!(w.next_deadline(), Some(5000));
        out.clear();
        w.fire_expired(4999, &mut out, usize::MAX);
        assert!(out.is_empty());
        assert_eq!(w.next_deadline(), Some(5000));
        w.fire_expired(5000, &mut out, usize::MAX);
        assert_eq!(out.len(), 1);
        assert!(!w.poll_entry(c, &waker));
        assert_eq!(w.len(), 0);
        drop(out);
        assert_eq!(hits.get(), 0, "the store never wakes by itself");
    }

    #[test]
    fn stale_cancel_does_not_touch_new_occupant() {
        let mut w = Wheel::new();
        let (waker, _) = CountingWaker::create();
        let a = w.insert(10, waker.clone());
        assert!(w.cancel(a).is_some());
        let b = w.insert(20, waker.clone());
        assert_eq!(a.index, b.index, "slot reused");
        assert!(w.cancel(a).is_none());
        assert_eq!(w.len(), 1);
        assert!(w.cancel(b).is_some());
    }

    #[test]
    fn far_future_and_batches() {
        let mut w = Wheel::new();
        let (waker, _) = CountingWaker::create();
        let far = HORIZON * 3 + 17;
        w.insert(far, waker.clone());
        for t in 1..=10 {
            w.insert(t, waker.clone());
        }
        let mut out = Vec::new();
        assert!(w.fire_expired(10, &mut out, 4));
        assert_eq!(out.len(), 4);
        assert!(!w.fire_expired(10, &mut out, 100));
        assert_eq!(out.len(), 10);
        assert_eq!(w.next_deadline(), Some(far));
        w.fire_expired(far - 1, &mut out, usize::MAX);
        assert_eq!(out.len(), 10);
        w.fire_expired(far, &mut out, usize::MAX);
        assert_eq!(out.len(), 11);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(192))]
        #[test]
        fn wheel_matches_model(ops in crate::test_util::ops_strategy()) {
            model_check::<Wheel>(&ops, true)?;
        }

        #[test]
        fn equal_deadlines_fire_fifo(ops in crate::test_util::fifo_ops_strategy()) {
            model_check::<Wheel>(&ops, true)?;
        }
    }
}
