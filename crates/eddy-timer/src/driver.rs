use std::fmt;
use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::Waker;
use std::time::{Duration, Instant};

use eddy_core::{Clock, Park, Unpark};

use crate::handle::{NOT_PARKED, Shared, earliest};
use crate::{ManualClock, TimerHandle};

/// How many wakers are taken out of the store per lock: bounds how long an
/// insert from another thread can wait behind a big expiry, and keeps the
/// driver's buffer small.
const FIRE_BATCH: usize = 64;

/// A [`Park`] that adds timers to another `Park`.
///
/// `park(timeout)` asks the store for the next deadline, parks the inner
/// `Park` (usually the reactor) for at most `min(timeout, deadline - now)`
/// (`Some(ZERO)` if a timer is already due), then wakes every timer whose
/// deadline has passed. Wakers are woken after the store's lock is released.
///
/// Exactly one thread parks a given driver at a time (`park` takes
/// `&mut self`); timers can be created, polled and dropped on any thread
/// through [`TimerHandle`]s. If the driver is dropped, timers that have not
/// fired never will.
///
/// # Waking a parked driver from another thread
///
/// While parked, the driver publishes the tick at which it will wake anyway.
/// A timer inserted from another thread with an earlier deadline calls the
/// inner `Park`'s unparker; any other insert (same thread, or a later
/// deadline, or the driver not parked) makes no system call. Both sides
/// touch that value under the store's lock, so an insert is either seen by
/// the driver before it parks or sees the published target.
///
/// # Manual clocks
///
/// Built with [`TimerDriver::new_manual`], the driver never blocks on real
/// time for a timer deadline (manual time does not pass by itself): a due
/// timer makes the inner park non-blocking, other timers leave the caller's
/// timeout unchanged. With [`set_auto_advance`](TimerDriver::set_auto_advance)
/// on, a park that is allowed to block instead polls the inner `Park` without
/// blocking and then jumps the clock to the next deadline (or to
/// now + timeout, whichever is first) and fires it: a test runtime whose
/// executor parks only when idle then runs timer-heavy code instantly and
/// deterministically.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use eddy_core::{Park, Unpark};
/// use eddy_timer::{ManualClock, Sleep, TimerDriver};
/// use futures_lite::future;
///
/// /// Never blocks; stands in for the reactor.
/// struct NoPark;
/// impl Park for NoPark {
///     fn park(&mut self, _: Option<Duration>) -> std::io::Result<()> { Ok(()) }
///     fn unparker(&self) -> Arc<dyn Unpark> { Arc::new(|| {}) }
/// }
///
/// let clock = ManualClock::new();
/// let (mut driver, handle) = TimerDriver::new_manual(NoPark, clock.clone());
/// driver.set_auto_advance(true);
///
/// let t0 = clock.now();
/// let mut s = Sleep::new_in(&handle, t0 + Duration::from_secs(3600));
/// assert!(future::block_on(future::poll_once(&mut s)).is_none());
/// driver.park(None).unwrap(); // idle: time jumps to the deadline
/// assert!(future::block_on(future::poll_once(&mut s)).is_some());
/// assert_eq!(clock.now(), t0 + Duration::from_secs(3600));
/// ```
pub struct TimerDriver<P: Park> {
    inner: P,
    handle: TimerHandle,
    manual: Option<ManualClock>,
    auto_advance: bool,
    wakers: Vec<Waker>,
}

impl<P: Park> TimerDriver<P> {
    /// A driver over `inner` reading time from `clock`, treated as a real
    /// clock (deadlines shorten the inner park's timeout). Returns the driver
    /// and a handle for creating timers.
    ///
    /// Tick 0 of the store is `clock.now()` at this call.
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
    /// let (driver, handle) = TimerDriver::new(NoPark, Arc::new(SystemClock));
    /// assert_eq!(handle.timer_count(), 0);
    /// # drop(driver);
    /// ```
    pub fn new(inner: P, clock: Arc<dyn Clock>) -> (TimerDriver<P>, TimerHandle) {
        Self::build(inner, clock, None, 1)
    }

    /// Like [`new`](TimerDriver::new), with the timer store split into
    /// `shards` independently locked parts (rounded up to a power of two,
    /// at least 1 and at most 64): for a multi-threaded runtime, one per worker, so workers
    /// registering timers at the same moment do not wait for each other's
    /// lock or bounce its cache line.
    ///
    /// A timer registers in the shard of the thread that first polls it.
    /// The driver fires all shards, each in deadline order with equal
    /// deadlines in insertion order (a timer is inserted on its first
    /// poll); between timers in *different* shards that are due on the same
    /// tick, the order is the shards' order. Timers first polled on one
    /// thread share a shard, so their order is the same as with one shard.
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
    /// use eddy_timer::{ManualClock, Sleep, TimerDriver};
    /// use futures_lite::future;
    ///
    /// let clock = ManualClock::new();
    /// let (mut driver, handle) = TimerDriver::new_sharded(NoPark, Arc::new(clock.clone()), 4);
    /// let deadline = clock.now() + Duration::from_millis(5);
    /// // One timer registered on another thread, one on this one.
    /// let h = handle.clone();
    /// let mut there = std::thread::spawn(move || {
    ///     let mut s = Sleep::new_in(&h, deadline);
    ///     assert!(future::block_on(future::poll_once(&mut s)).is_none());
    ///     s
    /// })
    /// .join()
    /// .unwrap();
    /// let mut here = Sleep::new_in(&handle, deadline);
    /// assert!(future::block_on(future::poll_once(&mut here)).is_none());
    /// assert_eq!(handle.timer_count(), 2);
    ///
    /// clock.advance(Duration::from_millis(5));
    /// assert_eq!(driver.fire_expired(), 2);
    /// assert!(future::block_on(future::poll_once(&mut there)).is_some());
    /// assert!(future::block_on(future::poll_once(&mut here)).is_some());
    /// ```
    pub fn new_sharded(
        inner: P,
        clock: Arc<dyn Clock>,
        shards: usize,
    ) -> (TimerDriver<P>, TimerHandle) {
        Self::build(inner, clock, None, shards)
    }

    /// A driver over `inner` on a manual clock: deadlines never make the
    /// inner park block on real time. Auto-advance starts off.
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
    /// let (driver, handle) = TimerDriver::new_manual(NoPark, clock.clone());
    /// assert_eq!(handle.now(), clock.now());
    /// assert!(!driver.auto_advance());
    /// ```
    pub fn new_manual(inner: P, clock: ManualClock) -> (TimerDriver<P>, TimerHandle) {
        // One shard: auto-advance jumps to the earliest deadline, which
        // must be read in one snapshot with the inserts it races.
        Self::build(inner, Arc::new(clock.clone()), Some(clock), 1)
    }

    fn build(
        inner: P,
        clock: Arc<dyn Clock>,
        manual: Option<ManualClock>,
        shards: usize,
    ) -> (TimerDriver<P>, TimerHandle) {
        let unpark = inner.unparker();
        if let Some(m) = &manual {
            m.watch(&unpark);
        }
        let shared = Arc::new(Shared::new(shards, clock, unpark));
        let handle = TimerHandle::from_shared(shared);
        let driver = TimerDriver {
            inner,
            handle: handle.clone(),
            manual,
            auto_advance: false,
            wakers: Vec::with_capacity(FIRE_BATCH),
        };
        (driver, handle)
    }

    /// Turns auto-advance on or off. Only a driver built with
    /// [`new_manual`](TimerDriver::new_manual) can auto-advance; on a real
    /// clock this is ignored.
    ///
    /// Auto-advance assumes the caller parks only when it has nothing else to
    /// do (an executor's idle park): every such park moves time forward to
    /// the next timer. Work that completes in real time outside the runtime
    /// (a blocking-pool job, a thread) does not hold time back.
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
    /// use eddy_timer::{ManualClock, SystemClock, TimerDriver};
    ///
    /// let (mut manual, _) = TimerDriver::new_manual(NoPark, ManualClock::new());
    /// manual.set_auto_advance(true);
    /// assert!(manual.auto_advance());
    /// let (mut real, _) = TimerDriver::new(NoPark, Arc::new(SystemClock));
    /// real.set_auto_advance(true);
    /// assert!(!real.auto_advance());
    /// ```
    pub fn set_auto_advance(&mut self, on: bool) {
        self.auto_advance = on && self.manual.is_some();
    }

    /// Whether auto-advance is on.
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
    /// let (d, _) = eddy_timer::TimerDriver::new_manual(NoPark, eddy_timer::ManualClock::new());
    /// assert!(!d.auto_advance());
    /// ```
    pub fn auto_advance(&self) -> bool {
        self.auto_advance
    }

    /// The handle for creating timers on this driver.
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
    /// let (d, _) = eddy_timer::TimerDriver::new_manual(NoPark, eddy_timer::ManualClock::new());
    /// let _guard = d.handle().enter();
    /// ```
    pub fn handle(&self) -> &TimerHandle {
        &self.handle
    }

    /// The wrapped `Park`.
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
    /// let (d, _) = eddy_timer::TimerDriver::new_manual(NoPark, eddy_timer::ManualClock::new());
    /// let _inner: &NoPark = d.inner();
    /// ```
    pub fn inner(&self) -> &P {
        &self.inner
    }

    /// The wrapped `Park`, mutably.
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
    /// let (mut d, _) = eddy_timer::TimerDriver::new_manual(NoPark, eddy_timer::ManualClock::new());
    /// let _inner: &mut NoPark = d.inner_mut();
    /// ```
    pub fn inner_mut(&mut self) -> &mut P {
        &mut self.inner
    }

    /// Wakes every timer whose deadline has passed, without parking. Returns
    /// how many were woken.
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
    /// use eddy_timer::{ManualClock, Sleep, TimerDriver};
    /// use futures_lite::future;
    ///
    /// let clock = ManualClock::new();
    /// let (mut driver, handle) = TimerDriver::new_manual(NoPark, clock.clone());
    /// let mut s = Sleep::new_in(&handle, clock.now() + Duration::from_millis(2));
    /// assert!(future::block_on(future::poll_once(&mut s)).is_none());
    /// assert_eq!(driver.fire_expired(), 0);
    /// clock.advance(Duration::from_millis(2));
    /// assert_eq!(driver.fire_expired(), 1);
    /// ```
    pub fn fire_expired(&mut self) -> usize {
        let shared = &*self.handle.shared;
        let now = shared.tick_floor(shared.clock.now());
        let mut fired = 0;
        for shard in &shared.shards {
            loop {
                let more = shard
                    .store
                    .lock()
                    .fire_expired(now, &mut self.wakers, FIRE_BATCH);
                fired += self.wakers.len();
                for waker in self.wakers.drain(..) {
                    // A user-made waker that panics must not cost the rest of
                    // the batch their wake-up, nor unwind into the worker.
                    eddy_core::wake_contained(waker);
                }
                if !more {
                    break;
                }
            }
        }
        fired
    }

    /// Decides the inner timeout and publishes the wake-up target, under the
    /// store's lock. Returns the timeout and, when auto-advancing, the latest
    /// instant the clock may jump to.
    fn plan(&self, timeout: Option<Duration>) -> (Option<Duration>, Option<Instant>) {
        let shared = &*self.handle.shared;
        let now = shared.clock.now();
        let now_tick = shared.tick_floor(now);
        shared.with_all_locked(
            None,
            |min, w| earliest(min, w.next_expiration()),
            |next| self.plan_locked(timeout, now, now_tick, next),
        )
    }

    /// [`plan`](Self::plan) once every shard is locked and `next` (the
    /// earliest slot with a timer, over all shards) is known.
    fn plan_locked(
        &self,
        timeout: Option<Duration>,
        now: Instant,
        now_tick: u64,
        next: Option<u64>,
    ) -> (Option<Duration>, Option<Instant>) {
        let shared = &*self.handle.shared;
        let due = next.is_some_and(|t| t <= now_tick);
        let (inner_timeout, target, jump_limit) = if due || timeout == Some(Duration::ZERO) {
            (Some(Duration::ZERO), NOT_PARKED, None)
        } else if self.manual.is_some() {
            if self.auto_advance && next.is_some() {
                let limit = timeout.and_then(|t| now.checked_add(t));
                (
                    Some(Duration::ZERO),
                    NOT_PARKED,
                    Some(limit.unwrap_or(far_instant(now))),
                )
            } else {
                // Manual time does not pass while we block: only an insert
                // that is already due (by manual time) needs to wake us.
                (timeout, now_tick + 1, None)
            }
        } else {
            // A deadline too far out to be an `Instant` is as good as none.
            let timer_wait = next
                .and_then(|t| shared.instant_of(t))
                .map(|at| at.saturating_duration_since(now));
            let wait = match (timeout, timer_wait) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let target = match wait {
                None => u64::MAX,
                Some(w) => now
                    .checked_add(w)
                    .map_or(u64::MAX, |at| shared.tick_floor(at)),
            };
            (wait, target.max(1), None)
        };
        shared.wake_target.store(target, Ordering::Relaxed);
        (inner_timeout, jump_limit)
    }
}

fn far_instant(now: Instant) -> Instant {
    now.checked_add(Duration::from_secs(86_400 * 365 * 100))
        .unwrap_or(now)
}

impl<P: Park> Park for TimerDriver<P> {
    fn park(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let (inner_timeout, jump_limit) = self.plan(timeout);
        let result = self.inner.park(inner_timeout);
        let shared = &*self.handle.shared;
        // No lock needed (and none taken: with shards it would be one per
        // shard on every park). An insert that reads the old target only
        // unparks us spuriously, which makes the next park return at once;
        // one that reads `NOT_PARKED` skips an unpark we do not need, since
        // we are awake and `plan` re-reads every shard before blocking. And
        // `plan`'s next store, made under every shard's lock, is what any
        // later insert (under its shard's lock) reads.
        shared.wake_target.store(NOT_PARKED, Ordering::Relaxed);
        if let (Some(limit), Some(clock)) = (jump_limit, &self.manual) {
            let next = shared.fold_shards(None, |min, w| earliest(min, w.next_deadline()));
            if let Some(at) = next.and_then(|t| shared.instant_of(t)) {
                // The driver moves its own clock: no need to wake itself
                // (other drivers on the clock are woken).
                clock.set_from_driver(at.min(limit), &shared.unpark);
            }
        }
        self.fire_expired();
        result
    }

    fn unparker(&self) -> Arc<dyn Unpark> {
        self.handle.shared.unpark.clone()
    }
}

impl<P: Park> fmt::Debug for TimerDriver<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerDriver")
            .field("manual", &self.manual.is_some())
            .field("auto_advance", &self.auto_advance)
            .field("timers", &self.handle.timer_count())
            .finish_non_exhaustive()
    }
}
