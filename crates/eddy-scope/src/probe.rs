//! The one thing this layer needs from an executor that the `Spawn` seam
//! does not carry: "has the task being polled been asked to finish?"
//! (graceful cancellation). The runtime installs it; without it the answer
//! is always no.

use std::sync::OnceLock;

static PROBE: OnceLock<fn() -> bool> = OnceLock::new();

/// Tells this layer how to ask whether the task being polled has been asked
/// to finish (graceful cancellation), so a [`task_group_in`](crate::task_group_in)
/// can pass the request on to its children. The `eddy` facade installs
/// `eddy_executor::is_cancel_requested`; only the first call has an effect.
///
/// ```
/// fn never() -> bool { false }
/// eddy_scope::set_cancel_probe(never);
/// ```
pub fn set_cancel_probe(probe: fn() -> bool) {
    let _ = PROBE.set(probe);
}

pub(crate) fn outer_cancel_requested() -> bool {
    PROBE.get().is_some_and(|p| p())
}

/// Runs `f` as if the task being polled had been asked to finish.
type Marker = fn(&mut dyn FnMut());

static MARKER: OnceLock<Marker> = OnceLock::new();

/// Tells this layer how to run a poll as if the task being polled had been
/// asked to finish, so that a group's body that is being cancelled
/// gracefully sees the request through the runtime's own
/// `cancelled()` / `is_cancel_requested()` (not only through
/// [`TaskGroupHandle::cancelled`](crate::TaskGroupHandle::cancelled)). The
/// `eddy` facade installs `eddy_executor::with_cancel_requested`; only the
/// first call has an effect. Without it, the body sees the group's request
/// through the group's handle only.
///
/// ```
/// fn plain(f: &mut dyn FnMut()) { f() }
/// eddy_scope::set_cancel_marker(plain);
/// ```
pub fn set_cancel_marker(marker: Marker) {
    let _ = MARKER.set(marker);
}

/// Polls with the current task marked as asked to finish (if a marker is
/// installed).
pub(crate) fn as_cancel_requested<T>(f: &mut dyn FnMut() -> T) -> T {
    let Some(marker) = MARKER.get() else {
        return f();
    };
    let mut out = None;
    marker(&mut || out = Some(f()));
    match out {
        Some(out) => out,
        // A marker that did not run the poll: run it plainly.
        None => f(),
    }
}
