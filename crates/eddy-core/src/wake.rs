//! Waking a waker that may belong to user code.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::task::Waker;

/// Wakes `waker`, containing a panic in its `wake`: returns `false` if it
/// panicked (the panic hook has printed the message by then).
///
/// A driver that fires many wakers in a loop (timers, I/O readiness) calls
/// this so that one user-made waker that panics cannot unwind into the
/// worker loop and cost every other waiter its wake-up. Wakers made by the
/// executor never panic; the guard is for custom ones. It costs nothing
/// unless `wake` actually panics.
///
/// ```
/// use std::sync::Arc;
/// use std::task::{Wake, Waker};
///
/// struct Explodes;
/// impl Wake for Explodes {
///     fn wake(self: Arc<Self>) {
///         panic!("wake exploded");
///     }
/// }
///
/// assert!(!eddy_core::wake_contained(Waker::from(Arc::new(Explodes))));
/// assert!(eddy_core::wake_contained(Waker::noop().clone()));
/// ```
pub fn wake_contained(waker: Waker) -> bool {
    catch_unwind(AssertUnwindSafe(|| waker.wake())).is_ok()
}
