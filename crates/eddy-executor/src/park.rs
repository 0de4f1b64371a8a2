use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use eddy_core::{Park, Unpark};

/// A [`Park`] with no I/O and no timers: it blocks the thread until unparked
/// or until the timeout.
///
/// Useful to run an executor alone (tests, examples, CPU-only work). The
/// runtime uses the reactor and timer driver instead.
///
/// # Example
///
/// ```
/// use eddy_core::Park;
/// use std::time::Duration;
///
/// let mut park = eddy_executor::ThreadPark::default();
/// park.unparker().unpark();
/// park.park(None).unwrap(); // returns at once: the unpark was remembered
/// park.park(Some(Duration::from_millis(1))).unwrap(); // times out
/// ```
#[derive(Default)]
pub struct ThreadPark {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    notified: Mutex<bool>,
    cvar: Condvar,
    /// Lets `unpark` skip the lock when nobody is parked or already notified.
    parked: AtomicBool,
}

impl std::fmt::Debug for ThreadPark {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadPark").finish_non_exhaustive()
    }
}

impl Park for ThreadPark {
    fn park(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let inner = &*self.inner;
        let mut notified = inner
            .notified
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !*notified && timeout != Some(Duration::ZERO) {
            inner.parked.store(true, Ordering::SeqCst);
            notified = match timeout {
                Some(t) => {
                    inner
                        .cvar
                        .wait_timeout(notified, t)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
                None => inner
                    .cvar
                    .wait(notified)
                    .unwrap_or_else(PoisonError::into_inner),
            };
            inner.parked.store(false, Ordering::SeqCst);
        }
        *notified = false;
        Ok(())
    }

    fn unparker(&self) -> Arc<dyn Unpark> {
        let inner = self.inner.clone();
        Arc::new(move || {
            let mut n = inner
                .notified
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            *n = true;
            if inner.parked.load(Ordering::SeqCst) {
                inner.cvar.notify_one();
            }
        })
    }
}
