use std::io;
use std::sync::Arc;
use std::time::Duration;

/// What an executor does when it has run out of ready tasks.
///
/// `park` blocks the calling thread until one of:
///
/// * an [`Unpark`] handle obtained from [`Park::unparker`] is called,
/// * an event the implementation is responsible for (I/O readiness, an expired
///   timer) has been dispatched, which wakes the tasks waiting on it,
/// * `timeout` has elapsed. `Some(Duration::ZERO)` polls for events without
///   blocking; `None` waits without limit.
///
/// Implementations stack: the reactor is the innermost `Park`, and the timer
/// driver is a `Park` that wraps another `Park`, shortening its timeout to the
/// next deadline and firing expired timers after it returns.
///
/// Spurious returns are allowed; callers re-check their queues after every
/// return.
///
/// # Errors
///
/// An error from the underlying wait (for example `epoll_wait` failing) is
/// returned as is; the executor reports it and may retry.
///
/// # Example
///
/// ```
/// use std::sync::{Arc, Condvar, Mutex};
/// use std::time::Duration;
/// use eddy_core::{Park, Unpark};
///
/// /// A `Park` on a condition variable: no I/O, no timers, just sleep and wake.
/// #[derive(Default)]
/// struct CondvarPark(Arc<(Mutex<bool>, Condvar)>);
///
/// impl Park for CondvarPark {
///     fn park(&mut self, timeout: Option<Duration>) -> std::io::Result<()> {
///         let (lock, cvar) = &*self.0;
///         let mut notified = lock.lock().unwrap();
///         if !*notified {
///             notified = match timeout {
///                 Some(t) => cvar.wait_timeout(notified, t).unwrap().0,
///                 None => cvar.wait(notified).unwrap(),
///             };
///         }
///         *notified = false;
///         Ok(())
///     }
///     fn unparker(&self) -> Arc<dyn Unpark> {
///         let pair = self.0.clone();
///         Arc::new(move || {
///             *pair.0.lock().unwrap() = true;
///             pair.1.notify_one();
///         })
///     }
/// }
///
/// let mut park = CondvarPark::default();
/// let unpark = park.unparker();
/// unpark.unpark(); // a token: the next park returns at once
/// park.park(None).unwrap();
/// ```
pub trait Park: Send {
    /// Blocks until unparked, until events were dispatched, or until `timeout`.
    fn park(&mut self, timeout: Option<Duration>) -> io::Result<()>;

    /// A handle that wakes this `Park` from any thread.
    ///
    /// An unpark that arrives while nobody is parked is remembered: the next
    /// `park` returns at once.
    fn unparker(&self) -> Arc<dyn Unpark>;
}

/// Wakes a [`Park`] from any thread.
///
/// Cheap to call when the parked side is not actually blocked: good
/// implementations skip the system call in that case.
///
/// Any `Fn() + Send + Sync` closure is an `Unpark`.
///
/// # Example
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
/// use eddy_core::Unpark;
///
/// let woken = Arc::new(AtomicBool::new(false));
/// let flag = woken.clone();
/// let unpark: Arc<dyn Unpark> = Arc::new(move || flag.store(true, Ordering::Release));
/// unpark.unpark();
/// assert!(woken.load(Ordering::Acquire));
/// ```
pub trait Unpark: Send + Sync + 'static {
    /// Wakes the parked thread, or makes its next `park` return at once.
    fn unpark(&self);
}

impl<F: Fn() + Send + Sync + 'static> Unpark for F {
    fn unpark(&self) {
        self()
    }
}
