use std::fmt;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use eddy_core::Clock;

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
/// Moving the clock does not by itself wake a parked timer driver. A test
/// runtime either calls the driver's `park` afterwards (the usual case: the
/// test runtime is the thread that moves the clock), or enables
/// [`TimerDriver::set_auto_advance`](crate::TimerDriver::set_auto_advance) so
/// the driver jumps the clock to the next deadline whenever it parks, or calls
/// the driver's unparker after moving the clock from another thread.
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
        let target = match instant.checked_duration_since(self.inner.base) {
            Some(d) => u64::try_from(d.as_nanos()).unwrap_or(u64::MAX),
            None => return false,
        };
        let prev = self.inner.offset.fetch_max(target, Ordering::AcqRel);
        prev < target
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
    fn advance_saturates() {
        let a = ManualClock::new();
        a.advance(Duration::MAX);
        let t = a.now();
        a.advance(Duration::from_secs(1));
        assert_eq!(a.now(), t);
    }
}
