//! The seams between eddy's layers.
//!
//! eddy is built as a stack of small crates: a reactor (I/O readiness), a timer
//! layer, an executor, sync primitives, structured concurrency and a blocking
//! pool. None of them imports a sibling. They meet through the few traits in
//! this crate, and the facade crate `eddy` wires concrete implementations
//! together:
//!
//! * [`Park`] / [`Unpark`]: what an executor does when it has no work. The
//!   reactor is the innermost `Park`; the timer driver is a `Park` that wraps
//!   another `Park`. An executor's tests use a fake `Park`.
//! * [`Clock`]: where time comes from. Real runs read a monotonic clock; tests
//!   read a manual clock that only moves when told to.
//! * [`Spawn`]: how a higher layer (a task group, the blocking pool) starts a
//!   task without knowing which executor runs it.
//! * [`abandon`]: how a destructor that cannot await (a task group dropped
//!   with children still cleaning up) hands what is left to the code dropping
//!   it, so a cancelled task finishes only after its children have.
//!
//! It also holds the vocabulary every layer shares: [`TaskId`], [`TaskMeta`],
//! [`JoinError`] and [`Panic`].
//!
//! It contains no runtime code. Its one piece of shared machinery is
//! [`SpinLock`], the lock of the timer store and of the executor's task
//! registry, and the only `unsafe` in it (one module, `spin`).
//!
//! # Example: a fake `Park` for tests
//!
//! ```
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use std::sync::Arc;
//! use std::time::Duration;
//! use eddy_core::{Park, Unpark};
//!
//! /// Counts how often the executor went idle and never blocks.
//! struct CountingPark(Arc<AtomicUsize>);
//!
//! impl Park for CountingPark {
//!     fn park(&mut self, _timeout: Option<Duration>) -> std::io::Result<()> {
//!         self.0.fetch_add(1, Ordering::Relaxed);
//!         Ok(())
//!     }
//!     fn unparker(&self) -> Arc<dyn Unpark> {
//!         Arc::new(|| {})
//!     }
//! }
//!
//! let parks = Arc::new(AtomicUsize::new(0));
//! let mut park = CountingPark(parks.clone());
//! park.park(None).unwrap();
//! assert_eq!(parks.load(Ordering::Relaxed), 1);
//! ```
#![deny(unsafe_code)]

pub mod abandon;
mod clock;
mod park;
mod spawn;
#[allow(unsafe_code)]
mod spin;
mod task;
mod wake;

pub use clock::Clock;
pub use park::{Park, Unpark};
pub use spawn::{BoxFuture, DynTask, Spawn, SpawnError, TaskControl};
pub use spin::{SpinGuard, SpinLock};
pub use task::{JoinError, Panic, TaskId, TaskMeta};
pub use wake::wake_contained;
