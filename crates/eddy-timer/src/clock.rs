use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use eddy_core::{Clock, Unpark};

/// The real, monotonic clock: [`Instant::now`].
///
/// This is the only place in eddy's layer crates that reads the system clock;
/// everything else asks a [`Clock`], so tests can substitute a [`ManualClock`].
///
/// # Example
///
/// ```
/// use eddy_core::Clock;
/// use eddy_timer::SystemClock;
///
/// let clock = SystemClock;
/// let a = clock.now();
/// let b = clock.now();
/// assert!(b >= a);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[inline]
    fn now(&self) -> Instant {
        // This is the real clock implementation: the one sanctioned read of
        // `Instant::now` that every other time read is routed through.
        #[allow(clippy::disallowed_methods)]
        Instant::now()
    }
}

/// The instant every [`ManualClock`] starts at, captured once per process so
/// manual clocks never read the system clock again.
fn manual_base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(|| SystemClock.now())
}

/// A clock that moves only when told to.
///
/// Clones share the same time: advance one and every clone (and every timer
/// driver built on it) sees the new time. The clock starts at a fixed base
/// instant captured once per process, and never goes backwards.
///
/// Moving the clock wakes every timer driver built on it (with
/// [`TimerDriver::new_manual`](crate::TimerDriver::new_manual)) that is
/// parked, so it fires what came due, whichever thread moved the clock: a
/// multi-threaded runtime's driver, parked on a worker, sees the new time at
/// once. With [`TimerDriver::set_auto_advance`](crate::TimerDriver::set_auto_advance)
/// the driver also jumps the clock to the next deadline whenever it would
/// park with nothing else to do.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use eddy_timer::ManualClock;
///
/// let clock = ManualClock::new();
/// let other = clock.clone();
/// let t0 = clock.now();
/// other.advance(Duration::from_secs(3));
/// assert_eq!(clock.now() - t0, Duration::from_secs(3));
/// ```
#[derive(Clone)]
pub struct ManualClock {
    inner: Arc<ManualInner>,
}

struct ManualInner {
    base: Instant,
    /// Nanoseconds since `base`. An atomic (not a mutex) so `now()` is a
    /// single load on the timer hot path.
    offset: AtomicU64,
    /// The unparkers of the drivers built on this clock, woken when it
    /// moves. Weak: a dropped driver must not be kept alive by its clock.
    drivers: Mutex<Vec<Weak<dyn Unpark>>>,
}

impl ManualClock {
    /// A new manual clock at the process-wide base instant.
    ///
    /// ```
    /// let a = eddy_timer::ManualClock::new();
    /// let b = eddy_timer::ManualClock::new();
    /// // Independent clocks start at the same fixed instant.
    /// assert_eq!(a.now(), b.now());
    /// ```
    pub fn new() -> ManualClock {
        ManualClock {
            inner: Arc::new(ManualInner {
                base: manual_base(),
                offset: AtomicU64::new(0),
                drivers: Mutex::new(Vec::new()),
            }),
        }
    }

    /// The clock's current time.
    ///
    /// ```
    /// let clock = eddy_timer::ManualClock::new();
    /// assert_eq!(clock.now(), clock.now());
    /// ```
    pub fn now(&self) -> Instant {
        self.inner.base + Duration::from_nanos(self.inner.offset.load(Ordering::Acquire))
    }

    /// Moves the clock forward by `d` (saturating at about 584 years past
    /// the base).
    ///
    /// ```
    /// use std::time::Duration;
    /// let clock = eddy_timer::ManualClock::new();
    /// let t0 = clock.now();
    /// clock.advance(Duration::from_millis(5));
    /// assert_eq!(clock.now(), t0 + Duration::from_millis(5));
    /// ```
    pub fn advance(&self, d: Duration) {
        let d = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        // `fetch_update` with a closure that always returns `Some` cannot fail.
        let _ = self
            .inner
            .offset
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |cur| {
                Some(cur.saturating_add(d))
            });
        if d > 0 {
            self.wake_drivers(None);
        }
    }

    /// Wakes `unpark` (a driver's) each time the clock moves, while the
    /// `Arc` lives.
    pub(crate) fn watch(&self, unpark: &Arc<dyn Unpark>) {
        let mut drivers = self.drivers();
        drivers.retain(|w| w.strong_count() > 0);
        drivers.push(Arc::downgrade(unpark));
    }

    fn drivers(&self) -> std::sync::MutexGuard<'_, Vec<Weak<dyn Unpark>>> {
        // The list stays valid whatever panicked while it was held.
        self.inner.drivers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Unparks every live driver on this clock but `except`. Called outside
    /// the lock: an unparker may take locks of its own.
    fn wake_drivers(&self, except: Option<&Arc<dyn Unpark>>) {
        let live: Vec<Arc<dyn Unpark>> = self.drivers().iter().filter_map(Weak::upgrade).collect();
        for u in live {
            if !except.is_some_and(|me| Arc::ptr_eq(me, &u)) {
                u.unpark();
            }
        }
    }

    /// Moves the clock forward to `instant`.
    ///
    /// The clock never goes backwards: if `instant` is not later than the
    /// current time, nothing changes. Returns `true` if the clock moved.
    ///
    /// ```
    /// use std::time::Duration;
    /// let clock = eddy_timer::ManualClock::new();
    /// let t0 = clock.now();
    /// assert!(clock.set(t0 + Duration::from_secs(1)));
    /// assert!(!clock.set(t0)); // backwards: ignored
    /// assert_eq!(clock.now(), t0 + Duration::from_secs(1));
    /// ```
    pub fn set(&self, instant: Instant) -> bool {
        self.set_waking(instant, None)
    }

    /// [`set`](ManualClock::set) by the driver whose unparker is `me`,
    /// which need not wake itself.
    pub(crate) fn set_from_driver(&self, instant: Instant, me: &Arc<dyn Unpark>) -> bool {
        self.set_waking(instant, Some(me))
    }

    fn set_waking(&self, instant: Instant, except: Option<&Arc<dyn Unpark>>) -> bool {
        let target = match instant.checked_duration_since(self.inner.base) {
            Some(d) => u64::try_from(d.as_nanos()).unwrap_or(u64::MAX),
            None => return false,
        };
        let prev = self.inner.offset.fetch_max(target, Ordering::AcqRel);
        let moved = prev < target;
        if moved {
            self.wake_drivers(except);
        }
        moved
    }
}

impl Default for ManualClock {
    fn default() -> ManualClock {
        ManualClock::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        ManualClock::now(self)
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let offset = Duration::from_nanos(self.inner.offset.load(Ordering::Acquire));
        f.debug_struct("ManualClock")
            .field("since_base", &offset)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_is_shared_and_monotonic() {
        let a = ManualClock::new();
        let b = a.clone();
        let t0 = a.now();
        b.advance(Duration::from_millis(10));
        assert_eq!(a.now() - t0, Duration::from_millis(10));
        assert!(!a.set(t0 + Duration::from_millis(3)));
        assert_eq!(a.now() - t0, Duration::from_millis(10));
        assert!(a.set(t0 + Duration::from_millis(30)));
        assert_eq!(b.now() - t0, Duration::from_millis(30));
        assert!(format!("{a:?}").contains("30ms"));
    }

    #[test]
    fn moving_the_clock_wakes_live_drivers_only() {
        use std::sync::atomic::AtomicUsize;
        let clock = ManualClock::new();
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        let live: Arc<dyn Unpark> = Arc::new(move || {
            h.fetch_add(1, Ordering::SeqCst);
        });
        let dead: Arc<dyn Unpark> = Arc::new(|| panic!("a dropped driver was woken"));
        clock.watch(&live);
        clock.watch(&dead);
        drop(dead);
        clock.advance(Duration::from_secs(1));
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        clock.advance(Duration::ZERO); // did not move: no wake
        assert!(!clock.set(clock.now())); // nor here
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        // The driver that moves the clock itself is not woken; others are.
        assert!(clock.set_from_driver(clock.now() + Duration::from_secs(1), &live));
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        assert!(clock.set(clock.now() + Duration::from_secs(1)));
        assert_eq!(hits.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn advance_saturates() {
        let a = ManualClock::new();
        a.advance(Duration::MAX);
        let t = a.now();
        a.advance(Duration::from_secs(1));
        assert_eq!(a.now(), t);
    }
}
