use std::cell::{Cell, RefCell};
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use eddy_core::{Clock, SpinGuard, SpinLock, Unpark};

use crate::TimerError;
use crate::wheel::{RESOLUTION, Wheel};

/// `wake_target` value meaning "the driver is not blocked": it re-reads the
/// store before it next blocks, so no insert needs to wake it.
pub(crate) const NOT_PARKED: u64 = 0;

/// The most shards a store is split into (a shard index fits a `u8`).
pub(crate) const MAX_SHARDS: usize = 64;

/// One lock's worth of the timer store. Aligned to a cache line so two
/// shards' locks never share one: the point of shards is that threads
/// registering timers at the same time do not contend.
#[repr(align(64))]
pub(crate) struct Shard {
    pub(crate) store: SpinLock<Wheel>,
}

/// State shared by a timer driver and every handle and timer future on it.
pub(crate) struct Shared {
    /// The timer store, split into a power of two of shards (one unless
    /// built with [`TimerDriver::new_sharded`](crate::TimerDriver::new_sharded)).
    /// A timer registers in the shard of the thread that first polls it,
    /// and stays there; the driver fires every shard.
    pub(crate) shards: Box<[Shard]>,
    pub(crate) clock: Arc<dyn Clock>,
    /// Tick 0: the clock's time when the driver was built.
    pub(crate) base: Instant,
    /// The tick at which the parked driver will wake anyway; inserts due
    /// earlier must unpark it. `plan` writes it with *every* shard's lock
    /// held and inserts read it under one, so a plain relaxed atomic is
    /// enough; the reset to [`NOT_PARKED`] after a park takes no lock (why:
    /// in `TimerDriver::park`).
    pub(crate) wake_target: AtomicU64,
    pub(crate) unpark: Arc<dyn Unpark>,
}

thread_local! {
    /// This thread's shard number, taken from a global counter the first
    /// time the thread registers a timer; a store with `n` shards uses it
    /// modulo `n`. Threads that start registering timers one after another
    /// (a runtime's busy workers) thus get different shards; two threads
    /// that do land on one shard only share its lock.
    static THREAD_SHARD: Cell<usize> = const { Cell::new(usize::MAX) };
}

fn thread_shard() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    THREAD_SHARD
        .try_with(|s| {
            let mut v = s.get();
            if v == usize::MAX {
                v = NEXT.fetch_add(1, Ordering::Relaxed);
                s.set(v);
            }
            v
        })
        .unwrap_or(0)
}

/// Tests: makes this thread register in shard `n` (modulo the count).
#[cfg(test)]
pub(crate) fn set_thread_shard(n: usize) {
    THREAD_SHARD.with(|s| s.set(n));
}

impl Shared {
    pub(crate) fn new(shards: usize, clock: Arc<dyn Clock>, unpark: Arc<dyn Unpark>) -> Shared {
        let n = shards.clamp(1, MAX_SHARDS).next_power_of_two();
        Shared {
            shards: (0..n)
                .map(|_| Shard {
                    store: SpinLock::new(Wheel::new()),
                })
                .collect(),
            base: clock.now(),
            clock,
            wake_target: AtomicU64::new(NOT_PARKED),
            unpark,
        }
    }

    #[inline]
    pub(crate) fn lock(&self, shard: u8) -> SpinGuard<'_, Wheel> {
        self.shards[usize::from(shard)].store.lock()
    }

    /// The shard a timer first polled on this thread registers in.
    #[inline]
    pub(crate) fn shard_here(&self) -> u8 {
        if self.shards.len() == 1 {
            return 0;
        }
        // At most `MAX_SHARDS`, so the index fits.
        (thread_shard() & (self.shards.len() - 1)) as u8
    }

    /// Locks every shard in index order (the one order all multi-shard
    /// lockers use, so they cannot deadlock), folds `visit` over them, and
    /// runs `f` on the result while all are still held. No allocation: one
    /// stack frame per shard.
    pub(crate) fn with_all_locked<A, R>(
        &self,
        init: A,
        visit: impl Fn(A, &Wheel) -> A,
        f: impl FnOnce(A) -> R,
    ) -> R {
        fn go<A, R, V: Fn(A, &Wheel) -> A, F: FnOnce(A) -> R>(
            shards: &[Shard],
            acc: A,
            visit: &V,
            f: F,
        ) -> R {
            match shards.split_first() {
                None => f(acc),
                Some((first, rest)) => {
                    let guard = first.store.lock();
                    let acc = visit(acc, &guard);
                    // `guard` is released after the shards after it.
                    go(rest, acc, visit, f)
                }
            }
        }
        go(&self.shards, init, &visit, f)
    }

    /// Folds `visit` over the shards, locking each in turn (never two at
    /// once): for reads that need no snapshot across shards.
    pub(crate) fn fold_shards<A>(&self, init: A, visit: impl Fn(A, &Wheel) -> A) -> A {
        self.shards
            .iter()
            .fold(init, |acc, s| visit(acc, &s.store.lock()))
    }

    /// The tick a deadline is filed under: rounded up, so a timer never fires
    /// before its deadline.
    pub(crate) fn tick_ceil(&self, deadline: Instant) -> u64 {
        deadline
            .checked_duration_since(self.base)
            .map_or(0, ceil_ticks)
    }

    /// The last whole tick that has passed at `now`.
    pub(crate) fn tick_floor(&self, now: Instant) -> u64 {
        now.checked_duration_since(self.base).map_or(0, floor_ticks)
    }

    /// The instant a tick starts, `None` if it is not representable.
    pub(crate) fn instant_of(&self, tick: u64) -> Option<Instant> {
        self.base.checked_add(Duration::from_millis(tick))
    }

    /// After inserting or moving a timer to `tick` (under the lock): does the
    /// parked driver need a wake-up?
    pub(crate) fn needs_unpark(&self, tick: u64) -> bool {
        tick < self.wake_target.load(Ordering::Relaxed)
    }
}

/// The earlier of two optional ticks.
pub(crate) fn earliest(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

// The resolution is 1 ms; these avoid u128 division on the insert path.
const _: () = assert!(RESOLUTION.as_nanos() == 1_000_000);

pub(crate) fn ceil_ticks(d: Duration) -> u64 {
    let sub = d.subsec_nanos();
    d.as_secs()
        .saturating_mul(1000)
        .saturating_add(u64::from(sub / 1_000_000))
        .saturating_add(u64::from(sub % 1_000_000 != 0))
}

pub(crate) fn floor_ticks(d: Duration) -> u64 {
    d.as_secs()
        .saturating_mul(1000)
        .saturating_add(u64::from(d.subsec_millis()))
}

thread_local! {
    static CURRENT: RefCell<Option<TimerHandle>> = const { RefCell::new(None) };
}

/// A handle to a timer driver: creates timers, reads its clock.
///
/// Cheap to clone (one `Arc`), `Send + Sync`. Timer futures hold one, so they
/// keep working when moved between threads; they are fired by whichever thread
/// runs the [`TimerDriver`](crate::TimerDriver)'s `park`.
///
/// The free functions [`sleep`](crate::sleep), [`sleep_until`](crate::sleep_until)
/// and [`interval`](crate::interval) use the handle made current on this thread
/// by [`TimerHandle::enter`]; a runtime enters its handle on each of its threads.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use eddy_timer::{ManualClock, TimerDriver, TimerHandle};
/// # use eddy_core::{Park, Unpark};
/// # struct NoPark;
/// # impl Park for NoPark {
/// #     fn park(&mut self, _: Option<Duration>) -> std::io::Result<()> { Ok(()) }
/// #     fn unparker(&self) -> Arc<dyn Unpark> { Arc::new(|| {}) }
/// # }
///
/// let clock = ManualClock::new();
/// let (_driver, handle) = TimerDriver::new(NoPark, Arc::new(clock.clone()));
/// let _guard = handle.enter();
/// let current = TimerHandle::current();
/// assert_eq!(current.now(), clock.now());
/// ```
#[derive(Clone)]
pub struct TimerHandle {
    pub(crate) shared: Arc<Shared>,
}

impl TimerHandle {
    pub(crate) fn from_shared(shared: Arc<Shared>) -> TimerHandle {
        TimerHandle { shared }
    }

    /// The handle entered on this thread.
    ///
    /// # Panics
    ///
    /// If no handle is entered on this thread, i.e. when called from outside
    /// an eddy runtime. [`TimerHandle::try_current`] returns an error instead.
    ///
    /// ```should_panic
    /// // Not inside a runtime: panics with a message saying so.
    /// let _ = eddy_timer::TimerHandle::current();
    /// ```
    #[track_caller]
    pub fn current() -> TimerHandle {
        match TimerHandle::try_current() {
            Ok(handle) => handle,
            Err(e) => panic!("{e}"),
        }
    }

    /// The handle entered on this thread, if any.
    ///
    /// # Errors
    ///
    /// [`TimerError::NoRuntime`] when called from outside an eddy runtime.
    ///
    /// ```
    /// use eddy_timer::{TimerError, TimerHandle};
    /// assert_eq!(TimerHandle::try_current().err(), Some(TimerError::NoRuntime));
    /// ```
    pub fn try_current() -> Result<TimerHandle, TimerError> {
        CURRENT
            .try_with(|c| c.borrow().clone())
            .ok()
            .flatten()
            .ok_or(TimerError::NoRuntime)
    }

    /// Makes this handle the current one on this thread until the guard drops.
    ///
    /// Enters nest: dropping the guard restores whatever was current before.
    /// Guards must be dropped in reverse order of creation (they are not
    /// `Send`, so they stay on their thread).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Duration;
    /// # use eddy_core::{Park, Unpark};
    /// # struct NoPark;
    /// # impl Park for NoPark {
    /// #     fn park(&mut self, _: Option<Duration>) -> std::io::Result<()> { Ok(()) }
    /// #     fn unparker(&self) -> Arc<dyn Unpark> { Arc::new(|| {}) }
    /// # }
    /// use eddy_timer::{ManualClock, TimerDriver, TimerHandle};
    ///
    /// let (_d, handle) = TimerDriver::new(NoPark, Arc::new(ManualClock::new()));
    /// {
    ///     let _guard = handle.enter();
    ///     assert!(TimerHandle::try_current().is_ok());
    /// }
    /// assert!(TimerHandle::try_current().is_err());
    /// ```
    pub fn enter(&self) -> EnterGuard {
        let prev = CURRENT.with(|c| c.borrow_mut().replace(self.clone()));
        EnterGuard {
            prev,
            _not_send: PhantomData,
        }
    }

    /// The current time on this driver's clock.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Duration;
    /// # use eddy_core::{Park, Unpark};
    /// # struct NoPark;
    /// # impl Park for NoPark {
    /// #     fn park(&mut self, _: Option<Duration>) -> std::io::Result<()> { Ok(()) }
    /// #     fn unparker(&self) -> Arc<dyn Unpark> { Arc::new(|| {}) }
    /// # }
    /// use eddy_timer::{ManualClock, TimerDriver};
    ///
    /// let clock = ManualClock::new();
    /// let (_d, handle) = TimerDriver::new(NoPark, Arc::new(clock.clone()));
    /// clock.advance(Duration::from_secs(1));
    /// assert_eq!(handle.now(), clock.now());
    /// ```
    pub fn now(&self) -> Instant {
        self.shared.clock.now()
    }

    /// The driver's clock.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Duration;
    /// # use eddy_core::{Park, Unpark};
    /// # struct NoPark;
    /// # impl Park for NoPark {
    /// #     fn park(&mut self, _: Option<Duration>) -> std::io::Result<()> { Ok(()) }
    /// #     fn unparker(&self) -> Arc<dyn Unpark> { Arc::new(|| {}) }
    /// # }
    /// use eddy_timer::{SystemClock, TimerDriver};
    ///
    /// let (_d, handle) = TimerDriver::new(NoPark, Arc::new(SystemClock));
    /// let clock = handle.clock();
    /// assert!(clock.now() >= handle.now() - Duration::from_secs(1));
    /// ```
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.shared.clock.clone()
    }

    /// The earliest deadline among registered timers, rounded up to the
    /// store's 1 ms resolution (so it is the instant the timer actually
    /// becomes due), or `None` if no timer is registered.
    ///
    /// A test runtime on a [`ManualClock`](crate::ManualClock) can jump time
    /// with `clock.set(handle.next_deadline()?)` when it is idle and then park
    /// the driver to fire the timer.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Duration;
    /// # use std::future::Future;
    /// # use std::task::{Context, Waker};
    /// # use eddy_core::{Park, Unpark};
    /// # struct NoPark;
    /// # impl Park for NoPark {
    /// #     fn park(&mut self, _: Option<Duration>) -> std::io::Result<()> { Ok(()) }
    /// #     fn unparker(&self) -> Arc<dyn Unpark> { Arc::new(|| {}) }
    /// # }
    /// use eddy_timer::{ManualClock, Sleep, TimerDriver};
    ///
    /// let clock = ManualClock::new();
    /// let (_d, handle) = TimerDriver::new(NoPark, Arc::new(clock.clone()));
    /// assert_eq!(handle.next_deadline(), None);
    ///
    /// let mut sleep = Sleep::new_in(&handle, clock.now() + Duration::from_millis(5));
    /// // Timers register lazily, on their first poll.
    /// let _ = std::pin::Pin::new(&mut sleep).poll(&mut Context::from_waker(Waker::noop()));
    /// assert!(handle.next_deadline().unwrap() >= clock.now() + Duration::from_millis(5));
    /// ```
    pub fn next_deadline(&self) -> Option<Instant> {
        let tick = self
            .shared
            .fold_shards(None, |min, w| earliest(min, w.next_deadline()))?;
        self.shared.instant_of(tick)
    }

    /// How many timers are registered (diagnostics).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Duration;
    /// # use eddy_core::{Park, Unpark};
    /// # struct NoPark;
    /// # impl Park for NoPark {
    /// #     fn park(&mut self, _: Option<Duration>) -> std::io::Result<()> { Ok(()) }
    /// #     fn unparker(&self) -> Arc<dyn Unpark> { Arc::new(|| {}) }
    /// # }
    /// use eddy_timer::{ManualClock, TimerDriver};
    ///
    /// let (_d, handle) = TimerDriver::new(NoPark, Arc::new(ManualClock::new()));
    /// assert_eq!(handle.timer_count(), 0);
    /// ```
    pub fn timer_count(&self) -> usize {
        self.shared.fold_shards(0, |n, w| n + w.len())
    }
}

impl fmt::Debug for TimerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerHandle")
            .field("base", &self.shared.base)
            .finish_non_exhaustive()
    }
}

/// Restores the previously current timer handle when dropped.
///
/// Returned by [`TimerHandle::enter`]. Not `Send`: it must be dropped on the
/// thread that created it.
///
/// ```
/// # use std::sync::Arc;
/// # use std::time::Duration;
/// # use eddy_core::{Park, Unpark};
/// # struct NoPark;
/// # impl Park for NoPark {
/// #     fn park(&mut self, _: Option<Duration>) -> std::io::Result<()> { Ok(()) }
/// #     fn unparker(&self) -> Arc<dyn Unpark> { Arc::new(|| {}) }
/// # }
/// use eddy_timer::{ManualClock, TimerDriver, TimerHandle};
///
/// let (_d1, outer) = TimerDriver::new(NoPark, Arc::new(ManualClock::new()));
/// let (_d2, inner) = TimerDriver::new(NoPark, Arc::new(ManualClock::new()));
/// let _g1 = outer.enter();
/// {
///     let _g2 = inner.enter();
///     assert_eq!(TimerHandle::current().timer_count(), 0);
/// }
/// // Back to `outer`.
/// assert!(TimerHandle::try_current().is_ok());
/// ```
#[must_use = "the handle stays current only while the guard is alive"]
pub struct EnterGuard {
    prev: Option<TimerHandle>,
    _not_send: PhantomData<*const ()>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        // During thread teardown the slot may already be gone; nothing to restore then.
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = prev);
    }
}

impl fmt::Debug for EnterGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnterGuard").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding() {
        assert_eq!(ceil_ticks(Duration::ZERO), 0);
        assert_eq!(ceil_ticks(Duration::from_nanos(1)), 1);
        assert_eq!(ceil_ticks(Duration::from_millis(7)), 7);
        assert_eq!(ceil_ticks(Duration::from_micros(7001)), 8);
        assert_eq!(floor_ticks(Duration::from_micros(7999)), 7);
        assert_eq!(ceil_ticks(Duration::MAX), u64::MAX);
    }
}
