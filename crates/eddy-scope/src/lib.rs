//! Structured concurrency for eddy: gather, task groups, timeouts, cancel
//! scopes, shields, graceful cancellation, async generators and resources
//! with awaited cleanup.
//!
//! This crate is one layer of the eddy runtime. It knows no executor: it
//! starts tasks through [`eddy_core::Spawn`] and measures time with
//! `eddy-timer`'s timer handle, so it works on any executor that implements
//! the seam (and on fakes in tests). The `eddy` facade re-exports it with the
//! current runtime bound in (`eddy::task_group`, `eddy::timeout`, ...).
//!
//! # The model
//!
//! There are two ways to run things concurrently, and this crate offers both:
//!
//! * **Inside the current task**, by polling several futures from one
//!   future: [`gather!`], [`try_gather!`], [`gather_all`],
//!   [`try_gather_all`], [`gather_settled`], [`as_completed`], [`wait`],
//!   [`select`], [`race`], [`map_concurrent`]. No task is spawned; the
//!   futures interleave at their `.await` points (asyncio's concurrency, on
//!   one thread), and cancelling means dropping: when the combinator is
//!   dropped, so is every input still running. `gather!` allocates nothing;
//!   the iterator forms give each input its own waker, so a wake-up polls
//!   only the input that was woken.
//! * **As real tasks**, with a [`TaskGroup`]: children are spawned through
//!   the `Spawn` seam, run in parallel on a multi-threaded runtime, are
//!   visible as tasks (ids, names), and never outlive their group. A failing
//!   child cancels its siblings and the group's body; the group returns a
//!   [`GroupError`] with every failure (asyncio's `ExceptionGroup`).
//!
//! # Cancellation: by drop, or graceful
//!
//! A Rust future is cancelled by dropping it: it stops at its current
//! `.await`, and its `Drop` impls (the `finally` blocks) run, exactly once.
//! That is the default everywhere here, and the right choice when cleanup is
//! synchronous. asyncio also lets a task *await* during cleanup (it catches
//! `CancelledError`); eddy's form of that is graceful cancellation: a task
//! is first asked to finish (`eddy::cancelled().await` resolves inside it),
//! given a grace period, and dropped only if it has not finished by then.
//! [`cancel_with_grace`] does this for one task; a task group does it for
//! children spawned with a grace ([`ChildBuilder::grace`],
//! [`TaskGroup::with_grace`]) and, with the group's grace, for its body
//! ([`TaskGroup::run`]; the body sees the request through
//! [`TaskGroupHandle::cancelled`], and `eddy::cancelled()` under the
//! facade).
//!
//! Timeouts report [`Elapsed`], cancel scopes report [`Interrupted`], task
//! handles report `JoinError::Cancelled` or [`ChildError::Cancelled`]: a
//! timeout is never mistaken for a cancellation. Cancelling a finished task
//! does nothing.
//!
//! # Timeouts
//!
//! [`timeout`] / [`timeout_at`] race a future against a deadline on the
//! runtime's timer (manual in tests); [`wait_for`] is asyncio's stricter
//! form, which cancels the tasks the future awaits and waits until they
//! have finished before reporting [`Elapsed`]. The deadline of a
//! [`Timeout`] can be moved while it runs; a [`CancelScope`] can also be
//! cancelled from outside, and [`move_on_after`] / [`fail_after`] are trio's
//! shorthands.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! async fn fetch(url: &str, ms: u64) -> String {
//!     eddy::sleep(Duration::from_millis(ms)).await;
//!     format!("Got {url}")
//! }
//!
//! eddy::run(async {
//!     // Concurrent inside this task, results in input order.
//!     let (a, b) = eddy_scope::gather!(fetch("url1", 20), fetch("url2", 10)).await;
//!     assert_eq!((a.as_str(), b.as_str()), ("Got url1", "Got url2"));
//!
//!     // A timeout that fires.
//!     assert!(eddy_scope::timeout(Duration::from_millis(5), fetch("slow", 1000)).await.is_err());
//!
//!     // Real tasks in a group.
//!     let spawner = Arc::new(eddy::Handle::current().executor().clone());
//!     let out = eddy_scope::task_group_in(spawner, |tg| async move {
//!         let a = tg.spawn(async { Ok::<_, String>(fetch("a", 5).await) });
//!         let b = tg.spawn(async { Ok::<_, String>(fetch("b", 5).await) });
//!         Ok::<_, String>(format!("{} {}", a.await.unwrap(), b.await.unwrap()))
//!     })
//!     .await;
//!     assert_eq!(out.unwrap().unwrap(), "Got a Got b");
//! });
//! ```
#![forbid(unsafe_code)]

mod cancel_scope;
mod error;
mod gather;
mod generator;
mod group;
mod map;
mod oneshot;
mod probe;
mod resource;
mod set;
mod shield;
#[cfg(test)]
mod test_util;
mod timeout;
mod wait;
mod wait_for;

pub use cancel_scope::{
    CancelScope, Interrupted, MoveOn, Scoped, deadline_in, fail_after, fail_at, move_on_after,
    move_on_at,
};
pub use error::{
    BoxError, CaughtPanic, ChildFailure, ChildOutput, Failure, FailureKind, GroupError,
};
pub use gather::{
    GatherAll, GatherSettled, TryGatherAll, gather_all, gather_settled, try_gather_all,
};
pub use generator::{AsyncGen, TryAsyncGen, YieldItem, Yielder, async_gen, try_async_gen};
pub use group::{
    Cancelled, ChildBuilder, ChildError, GroupSpawnError, GroupTask, Join, Ready, Start,
    StartError, TaskGroup, TaskGroupHandle, task_group_in,
};
pub use map::{map_concurrent, try_map_concurrent};
pub use probe::{set_cancel_marker, set_cancel_probe};
pub use resource::{Resource, with_resource_in};
pub use shield::{Shielded, cancel_with_grace, shield_in};
pub use timeout::{Elapsed, Timeout, timeout, timeout_at, try_timeout};
pub use wait::{
    AsCompleted, Either, Select, WaitMode, Waited, as_completed, race, race_all, select, wait,
};
pub use wait_for::{WaitFor, wait_for};

/// Used by the `gather!` and `try_gather!` macros; not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::gather::*;
}
