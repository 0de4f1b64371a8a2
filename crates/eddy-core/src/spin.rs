//! [`SpinLock`]: the one hand-written lock of the workspace.

use std::cell::UnsafeCell;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};

/// A test-and-test-and-set spin lock that yields: the lock of eddy's two
/// hottest internal structures, the timer store (eddy-timer) and the
/// executor's task registry (eddy-executor). Both are contended only by a
/// runtime's own threads; a lock that any number of user threads may
/// contend (eddy-sync's primitives) is better served by `std`'s mutex,
/// whose waiters sleep.
///
/// Why not `std::sync::Mutex`: every timer takes its lock twice (register
/// on first poll, cancel on drop) and every task takes the registry's twice
/// (spawn, exit), and on this project's machines an atomic read-modify-write
/// costs ~5–7 ns. `std`'s futex mutex spends two of them per critical
/// section (a CAS to lock, an `xchg` to unlock so it can see sleeping
/// waiters); this lock unlocks with a plain release store. Under contention
/// `std`'s waiters sleep in the kernel and every unlock that finds one makes
/// a `futex` wake call; with critical sections this short (a slab update)
/// that costs more than the wait: measured on `spawn_many_block_on` on two
/// workers (the spawning thread and both workers on the registry), 250–268
/// → 203–209 ns per task.
///
/// Contenders spin briefly and then yield the CPU; they never sleep in the
/// kernel, so an unlock never needs a system call. Hold it only for short,
/// non-blocking sections.
///
/// ```
/// let lock = eddy_core::SpinLock::new(Vec::new());
/// lock.lock().push(1);
/// assert_eq!(*lock.lock(), [1]);
/// ```
pub struct SpinLock<T> {
    locked: AtomicBool,
    data: UnsafeCell<T>,
}

// SAFETY: the lock hands out access to `data` to one thread at a time (the
// `locked` flag is acquired before and released after every access), so
// sharing the lock is as safe as sending the `T` between threads.
unsafe impl<T: Send> Sync for SpinLock<T> {}

impl<T> SpinLock<T> {
    /// An unlocked lock around `data`.
    ///
    /// ```
    /// static COUNT: eddy_core::SpinLock<u64> = eddy_core::SpinLock::new(0);
    /// *COUNT.lock() += 1;
    /// assert_eq!(*COUNT.lock(), 1);
    /// ```
    pub const fn new(data: T) -> SpinLock<T> {
        SpinLock {
            locked: AtomicBool::new(false),
            data: UnsafeCell::new(data),
        }
    }

    /// Locks, spinning and then yielding the thread while another holds it.
    /// The guard unlocks when dropped (also when a panic unwinds through
    /// it: the lock does not poison).
    ///
    /// ```
    /// let lock = eddy_core::SpinLock::new(0);
    /// {
    ///     let mut g = lock.lock();
    ///     *g += 1;
    /// } // unlocked here
    /// assert_eq!(*lock.lock(), 1);
    /// ```
    #[inline]
    pub fn lock(&self) -> SpinGuard<'_, T> {
        if self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
        SpinGuard {
            lock: self,
            _not_send: PhantomData,
        }
    }

    #[cold]
    fn lock_contended(&self) {
        let mut spins = 0u32;
        loop {
            // Wait read-only so the line stays shared while the owner works.
            while self.locked.load(Ordering::Relaxed) {
                if spins < 64 {
                    spins += 1;
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
            }
            if self
                .locked
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        }
    }
}

/// Access to a [`SpinLock`]'s data; unlocks when dropped.
///
/// Neither `Send` nor `Sync` (the raw-pointer marker): a guard is used and
/// dropped where it was taken, so `T` never needs to be `Sync`.
///
/// ```
/// let lock = eddy_core::SpinLock::new(String::from("a"));
/// let mut guard: eddy_core::SpinGuard<'_, String> = lock.lock();
/// guard.push('b');
/// assert_eq!(&*guard, "ab");
/// ```
pub struct SpinGuard<'a, T> {
    lock: &'a SpinLock<T>,
    _not_send: PhantomData<*mut T>,
}

impl<T> Deref for SpinGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: a guard exists only while `locked` is held by this thread,
        // so no other reference to `data` is live.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> DerefMut for SpinGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only reference
        // obtained through this guard.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T> Drop for SpinGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn excludes_across_threads() {
        let lock = Arc::new(SpinLock::new(0u64));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let lock = lock.clone();
                std::thread::spawn(move || {
                    for _ in 0..20_000 {
                        *lock.lock() += 1;
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*lock.lock(), 80_000);
    }
}
