use std::time::Instant;

/// A source of monotonic time.
///
/// Every layer reads time through a `Clock` so that tests can swap the real
/// clock for a manual one and make time-based behaviour exact. The timer crate
/// provides the monotonic clock and a manual clock; anything else that can say
/// "now" can be one too.
///
/// # Example
///
/// ```
/// use std::sync::Mutex;
/// use std::time::{Duration, Instant};
/// use eddy_core::Clock;
///
/// /// A clock that moves only when told to.
/// struct Frozen(Mutex<Instant>);
///
/// impl Clock for Frozen {
///     fn now(&self) -> Instant {
///         *self.0.lock().unwrap()
///     }
/// }
///
/// # #[allow(clippy::disallowed_methods)]
/// let clock = Frozen(Mutex::new(Instant::now()));
/// let t0 = clock.now();
/// *clock.0.lock().unwrap() += Duration::from_secs(5);
/// assert_eq!(clock.now() - t0, Duration::from_secs(5));
/// ```
pub trait Clock: Send + Sync + 'static {
    /// The current instant. Never goes backwards.
    fn now(&self) -> Instant;
}
