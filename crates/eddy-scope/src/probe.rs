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
