//! Work a destructor leaves behind, handed to whoever is dropping it.
//!
//! A destructor cannot await. When a task group is dropped with children
//! still running, it can cancel them, but not wait until their cleanup has
//! run. asyncio and trio do wait: a cancelled host task finishes only after
//! its children have. This module lets the code that *drops* a future (the
//! executor cancelling a task, `wait_for` giving up on its inner future)
//! collect what the destructors could not wait for, and then wait for it
//! itself:
//!
//! - The dropper calls [`collect_abandoned`] around the drop.
//! - A destructor with something left to wait for calls [`offer_abandoned`]
//!   with a future that resolves when it is done. With no collector on the
//!   thread, the offer is refused and the destructor carries on as before
//!   (the work continues detached).
//!
//! [`AbandonMode::CancelAwaited`] asks for more: task handles that were being
//! awaited and are dropped unfinished cancel their task and offer its exit,
//! as awaiting a task in asyncio ties the task to its awaiter's
//! cancellation. `wait_for` uses it; an executor cancelling a task does not
//! (a dropped handle detaches its task, as in tokio).
//!
//! ```
//! use eddy_core::abandon::{collect_abandoned, offer_abandoned, AbandonMode};
//!
//! struct Leaves;
//! impl Drop for Leaves {
//!     fn drop(&mut self) {
//!         // "My cleanup is still running: wait for this."
//!         let _ = offer_abandoned(Box::pin(async {}));
//!     }
//! }
//!
//! let left = collect_abandoned(AbandonMode::Wait, || drop(Leaves));
//! assert_eq!(left.len(), 1);
//! // No collector: the offer comes back.
//! assert!(offer_abandoned(Box::pin(async {})).is_err());
//! ```

use std::cell::RefCell;

use crate::BoxFuture;

/// What [`collect_abandoned`] collects.
///
/// ```
/// use eddy_core::abandon::{abandon_mode, collect_abandoned, AbandonMode};
///
/// let mut seen = None;
/// collect_abandoned(AbandonMode::CancelAwaited, || seen = abandon_mode());
/// assert_eq!(seen, Some(AbandonMode::CancelAwaited));
/// assert_eq!(abandon_mode(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbandonMode {
    /// Only what destructors offer of their own accord (a task group's
    /// children).
    Wait,
    /// Also the tasks whose handles were being awaited: they are cancelled
    /// and their exit is collected.
    CancelAwaited,
}

struct Collector {
    mode: AbandonMode,
    left: Vec<BoxFuture>,
}

thread_local! {
    static COLLECTOR: RefCell<Option<Collector>> = const { RefCell::new(None) };
}

/// Runs `f` (typically a drop) and returns the futures that destructors
/// running inside it offered with [`offer_abandoned`]. The caller should
/// poll them to completion before it reports that the dropped work is gone.
///
/// Calls nest: an inner collector collects on its own and restores the
/// outer one afterwards, also if `f` panics.
///
/// ```
/// use eddy_core::abandon::{collect_abandoned, offer_abandoned, AbandonMode};
///
/// let outer = collect_abandoned(AbandonMode::Wait, || {
///     let inner = collect_abandoned(AbandonMode::Wait, || {
///         assert!(offer_abandoned(Box::pin(async {})).is_ok());
///     });
///     assert_eq!(inner.len(), 1);
/// });
/// assert!(outer.is_empty());
/// ```
pub fn collect_abandoned(mode: AbandonMode, f: impl FnOnce()) -> Vec<BoxFuture> {
    /// Puts the outer collector back if `f` unwinds.
    struct Restore(Option<Option<Collector>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            if let Some(outer) = self.0.take() {
                let _ = COLLECTOR.try_with(|c| *c.borrow_mut() = outer);
            }
        }
    }
    let mine = Collector {
        mode,
        left: Vec::new(),
    };
    let Ok(outer) = COLLECTOR.try_with(|c| c.borrow_mut().replace(mine)) else {
        // The thread is being torn down: nobody could wait anyway.
        f();
        return Vec::new();
    };
    let mut restore = Restore(Some(outer));
    f();
    let outer = restore.0.take().flatten();
    COLLECTOR
        .try_with(|c| std::mem::replace(&mut *c.borrow_mut(), outer))
        .ok()
        .flatten()
        .map(|m| m.left)
        .unwrap_or_default()
}

/// Hands `fut` to the collector running on this thread, if any: it will be
/// polled to completion by whoever is dropping the caller. Without a
/// collector, `fut` comes back in `Err` and the caller decides (usually:
/// let the work go on detached).
///
/// ```
/// use eddy_core::abandon::{collect_abandoned, offer_abandoned, AbandonMode};
///
/// assert!(offer_abandoned(Box::pin(async {})).is_err());
/// let left = collect_abandoned(AbandonMode::Wait, || {
///     assert!(offer_abandoned(Box::pin(async {})).is_ok());
/// });
/// assert_eq!(left.len(), 1);
/// ```
pub fn offer_abandoned(fut: BoxFuture) -> Result<(), BoxFuture> {
    let mut fut = Some(fut);
    let taken = COLLECTOR
        .try_with(|c| match c.try_borrow_mut() {
            Ok(mut c) => match c.as_mut() {
                Some(c) => {
                    c.left.extend(fut.take());
                    true
                }
                None => false,
            },
            Err(_) => false,
        })
        .unwrap_or(false);
    match fut {
        Some(f) if !taken => Err(f),
        _ => Ok(()),
    }
}

/// The mode of the collector running on this thread, if any.
///
/// ```
/// assert_eq!(eddy_core::abandon::abandon_mode(), None);
/// ```
pub fn abandon_mode() -> Option<AbandonMode> {
    COLLECTOR
        .try_with(|c| c.try_borrow().ok().and_then(|c| c.as_ref().map(|c| c.mode)))
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_drop_restores_the_outer_collector() {
        let outer = collect_abandoned(AbandonMode::Wait, || {
            let r = std::panic::catch_unwind(|| {
                collect_abandoned(AbandonMode::CancelAwaited, || panic!("in drop"))
            });
            assert!(r.is_err());
            assert_eq!(abandon_mode(), Some(AbandonMode::Wait));
            assert!(offer_abandoned(Box::pin(async {})).is_ok());
        });
        assert_eq!(outer.len(), 1);
        assert_eq!(abandon_mode(), None);
    }
}
