//! Heap bytes, counted: the bench binary's global allocator is the system
//! allocator plus a live-byte counter that the `idle_task_heap` row turns on.
//!
//! `idle_task_memory` reads the resident set, which is what a server's
//! operator sees but depends on the allocator's chunk rounding and on which
//! pages happen to be touched. This counts what the runtimes *ask* for (the
//! `Layout` sizes of live allocations), so it is the same under any
//! allocator and tells a runtime's own layout apart from malloc's.
//!
//! Counting is off unless a row turns it on, and the row runs in a child
//! process of its own: the speed rows pay one relaxed load of a flag per
//! allocation (read-mostly, so it stays in every core's cache), the same for
//! every runtime.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};

/// The system allocator, counting live bytes while [`COUNTING`] is set.
pub struct Counting;

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Whether allocations are counted now.
static COUNTING: AtomicBool = AtomicBool::new(false);
/// Bytes allocated minus bytes freed while counting (a free of a block from
/// before counting began subtracts too, so only differences mean anything).
static LIVE: AtomicIsize = AtomicIsize::new(0);

fn add(bytes: usize) {
    if COUNTING.load(Ordering::Relaxed) {
        LIVE.fetch_add(bytes as isize, Ordering::Relaxed);
    }
}

fn sub(bytes: usize) {
    if COUNTING.load(Ordering::Relaxed) {
        LIVE.fetch_sub(bytes as isize, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged, so `System`'s guarantees are ours; the counter is bookkeeping
// on the side and never touches the memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `alloc`'s contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            add(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `alloc_zeroed`'s contract.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            add(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is; `ptr` came from this allocator (that is,
        // from `System`) with `layout`, as the caller guarantees.
        unsafe { System.dealloc(ptr, layout) };
        sub(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `realloc`'s contract.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // On failure the old block stays allocated: nothing changes.
            sub(layout.size());
            add(new_size);
        }
        p
    }
}

/// Starts (or stops) counting.
pub fn set_counting(on: bool) {
    COUNTING.store(on, Ordering::SeqCst);
}

/// Live bytes counted so far (see [`LIVE`]: compare two readings).
pub fn live_bytes() -> isize {
    LIVE.load(Ordering::SeqCst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_what_is_live_while_on() {
        // Other test threads allocate and free meanwhile, which can blur one
        // reading: a counter that works passes within a few tries, one that
        // counts nothing never does.
        let ok = (0..10).any(|_| {
            set_counting(true);
            let before = live_bytes();
            let v: Vec<u64> = Vec::with_capacity(100_000);
            let during = live_bytes();
            drop(v);
            let after = live_bytes();
            set_counting(false);
            during - before == 800_000 && during - after == 800_000
        });
        assert!(ok);
    }
}
