//! The engine under `Semaphore`, `Mutex`, `RwLock` and `CapacityLimiter`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use super::{AcquireError, Semaphore, TryAcquireError};
use crate::waitlist::{Key, WaitList, WakeList, lock};

const CLOSED: usize = 1;
const WAITERS: usize = 2;
const SHIFT: u32 = 2;
/// Marks a waiter woken by [`RawSemaphore::close`] rather than by a grant.
const CLOSED_GRANT: usize = usize::MAX;

/// The engine shared by `Semaphore`, `Mutex`, `RwLock` and `CapacityLimiter`.
///
/// `state` packs the free permits (`<< SHIFT`) with two flags. While
/// `WAITERS` is clear, permits are taken by lock-free CAS (the uncontended
/// fast path: one CAS to acquire, one `fetch_add` to release). While it is
/// set, permits are only *taken* under the `waiters` lock, which is how
/// first-in first-out order is kept: a newcomer sees `WAITERS` and queues
/// behind the existing waiters instead of barging in. Releases may still add
/// permits lock-free; a releaser that saw `WAITERS` then runs the grant loop
/// under the lock. `WAITERS` is set iff the list holds a queued waiter; both
/// change together under the lock.
pub(crate) struct RawSemaphore {
    state: AtomicUsize,
    waiters: Mutex<WaitList<usize>>,
}

/// Per-future acquisition state, kept inline in the future (no allocation).
#[derive(Debug)]
pub(crate) struct AcquireState {
    pub(super) n: usize,
    key: Option<Key>,
}

impl AcquireState {
    pub(crate) fn new(n: usize) -> Self {
        AcquireState { n, key: None }
    }
}

impl RawSemaphore {
    pub(crate) const fn new(permits: usize) -> Self {
        assert!(
            permits <= Semaphore::MAX_PERMITS,
            "permit count exceeds Semaphore::MAX_PERMITS"
        );
        RawSemaphore {
            state: AtomicUsize::new(permits << SHIFT),
            waiters: Mutex::new(WaitList::new()),
        }
    }

    pub(crate) fn available(&self) -> usize {
        self.state.load(Ordering::Acquire) >> SHIFT
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.state.load(Ordering::Acquire) & CLOSED != 0
    }

    pub(crate) fn try_acquire(&self, n: usize) -> Result<(), TryAcquireError> {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & CLOSED != 0 {
                return Err(TryAcquireError::Closed);
            }
            if n == 0 {
                return Ok(());
            }
            if s & WAITERS != 0 || (s >> SHIFT) < n {
                return Err(TryAcquireError::NoPermits);
            }
            match self.state.compare_exchange_weak(
                s,
                s - (n << SHIFT),
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(()),
                Err(actual) => s = actual,
            }
        }
    }

    pub(crate) fn poll_acquire(
        &self,
        st: &mut AcquireState,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), AcquireError>> {
        if let Some(key) = st.key {
            let mut list = lock(&self.waiters);
            if list.is_notified(key) {
                st.key = None;
                let data = list.remove(key);
                return Poll::Ready(match data {
                    Some(CLOSED_GRANT) => Err(AcquireError(())),
                    _ => Ok(()),
                });
            }
            list.set_waker(key, cx.waker());
            return Poll::Pending;
        }
        match self.try_acquire(st.n) {
            Ok(()) => return Poll::Ready(Ok(())),
            Err(TryAcquireError::Closed) => return Poll::Ready(Err(AcquireError(()))),
            Err(TryAcquireError::NoPermits) => {}
        }
        let mut list = lock(&self.waiters);
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            if s & CLOSED != 0 {
                return Poll::Ready(Err(AcquireError(())));
            }
            if s & WAITERS != 0 {
                break;
            }
            let (new, taken) = if (s >> SHIFT) >= st.n {
                (s - (st.n << SHIFT), true)
            } else {
                (s | WAITERS, false)
            };
            match self
                .state
                .compare_exchange(s, new, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) if taken => return Poll::Ready(Ok(())),
                Ok(_) => break,
                Err(actual) => s = actual,
            }
        }
        st.key = Some(list.push_back(st.n, Some(cx.waker().clone())));
        Poll::Pending
    }

    /// Called from a waiting future's `Drop`.
    pub(crate) fn drop_acquire(&self, st: &mut AcquireState) {
        let Some(key) = st.key.take() else { return };
        let mut wakes = WakeList::new();
        {
            let mut list = lock(&self.waiters);
            match list.remove(key) {
                // Granted but never observed: give the permits back so the
                // next waiter gets them.
                Some(n) if n != CLOSED_GRANT => self.release_locked(&mut list, n, &mut wakes),
                Some(_) => {}
                // Still queued: leaving may unblock whoever was behind us.
                None => self.grant_locked(&mut list, &mut wakes),
            }
        }
        wakes.wake_all();
    }

    fn release_locked(&self, list: &mut WaitList<usize>, n: usize, wakes: &mut WakeList) {
        let prev = self.state.fetch_add(n << SHIFT, Ordering::AcqRel);
        debug_assert!((prev >> SHIFT) + n <= Semaphore::MAX_PERMITS);
        self.grant_locked(list, wakes);
    }

    fn grant_locked(&self, list: &mut WaitList<usize>, wakes: &mut WakeList) {
        loop {
            let Some(&need) = list.front() else {
                self.state.fetch_and(!WAITERS, Ordering::AcqRel);
                return;
            };
            let s = self.state.load(Ordering::Acquire);
            if s & CLOSED != 0 || (s >> SHIFT) < need {
                return;
            }
            self.state.fetch_sub(need << SHIFT, Ordering::AcqRel);
            list.notify_front(need, wakes);
        }
    }

    /// Unbounded release: one `fetch_add` when nobody waits. Adding while
    /// `WAITERS` is set (without the lock) is safe because the releaser then
    /// takes the lock and runs the grant loop itself: whichever of it and a
    /// concurrent lock holder runs `grant_locked` last sees the permits.
    pub(crate) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        assert!(
            n <= Semaphore::MAX_PERMITS,
            "semaphore permit count would exceed Semaphore::MAX_PERMITS"
        );
        // `MAX_PERMITS << SHIFT` leaves the top bit free, so this cannot wrap
        // before the check below catches it.
        let prev = self.state.fetch_add(n << SHIFT, Ordering::AcqRel);
        if (prev >> SHIFT) + n > Semaphore::MAX_PERMITS {
            self.state.fetch_sub(n << SHIFT, Ordering::AcqRel);
            panic!("semaphore permit count would exceed Semaphore::MAX_PERMITS");
        }
        if prev & WAITERS == 0 {
            return;
        }
        let mut wakes = WakeList::new();
        {
            let mut list = lock(&self.waiters);
            self.grant_locked(&mut list, &mut wakes);
        }
        wakes.wake_all();
    }

    pub(crate) fn close(&self) {
        self.state.fetch_or(CLOSED, Ordering::AcqRel);
        let mut wakes = WakeList::new();
        {
            let mut list = lock(&self.waiters);
            list.notify_all(CLOSED_GRANT, &mut wakes);
            self.state.fetch_and(!WAITERS, Ordering::AcqRel);
        }
        wakes.wake_all();
    }

    /// Whether acquiring one permit now would not succeed at once: none
    /// free, someone queued (FIFO forbids barging), or closed. One load:
    /// `WAITERS` mirrors "the list holds a queued waiter".
    pub(crate) fn locked(&self) -> bool {
        let s = self.state.load(Ordering::Acquire);
        s & (CLOSED | WAITERS) != 0 || s >> SHIFT == 0
    }

    /// Waiters queued and not yet served (granted ones that have not polled
    /// since are no longer waiting for anything).
    pub(crate) fn waiters(&self) -> usize {
        lock(&self.waiters).len()
    }
}
