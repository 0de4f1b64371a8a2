//! Clocks, timers and the timer driver for eddy.
//!
//! This crate is one layer of the eddy runtime. It knows nothing about
//! executors or I/O: it meets them through [`eddy_core::Park`] and
//! [`eddy_core::Clock`].
//!
//! # The model
//!
//! * A [`Clock`](eddy_core::Clock) says what time it is. [`SystemClock`] is
//!   the monotonic clock (the only place the system clock is read);
//!   [`ManualClock`] moves only when told to, for deterministic tests.
//! * The **timer store** holds registered deadlines with the waker to call
//!   when each passes. It is a hierarchical timing wheel (6 levels × 64 slots
//!   at 1 ms resolution, one occupancy bitmap per level) over a slab: insert
//!   and cancel are O(1), allocate nothing beyond amortised slab growth and
//!   make no system call. Keys carry a generation, so cancelling a timer that
//!   already fired can never remove another timer that reused its slot.
//!   [`TimerDriver::new_sharded`] splits the store into independently locked
//!   shards (a multi-threaded runtime asks for one per worker; the count is
//!   rounded up to a power of two, at most 64): a timer registers in the
//!   shard of the thread that first polls it (threads are numbered in the
//!   order they first touch a timer, process-wide, modulo the shard count),
//!   so workers creating timers at once mostly do not wait on one lock, and
//!   the driver fires every shard.
//! * The [`TimerDriver`] is a [`Park`](eddy_core::Park) that wraps another
//!   `Park` (the reactor in a real runtime, a fake in tests). Its `park`
//!   shortens the inner park's timeout to the next deadline, then fires every
//!   expired timer, waking wakers only after the store's lock is released.
//!   A timer registered (or [`reset`](Sleep::reset)) from another thread
//!   with a deadline earlier than the one the driver sleeps until unparks
//!   it, and so does moving a [`ManualClock`] it runs on; nothing else does.
//! * A [`TimerHandle`] (`Clone + Send + Sync`) creates timers. A runtime
//!   makes it current on each of its threads with [`TimerHandle::enter`], so
//!   [`sleep`], [`sleep_until`] and [`interval`] find it.
//! * [`Sleep`] and [`Interval`] are the futures. They register on their first
//!   poll, update their waker in place when moved to another task, and
//!   unregister in O(1) on drop.
//!
//! # Resolution
//!
//! Deadlines round **up** to whole milliseconds since the driver was built,
//! and a timer fires when the driver sees the clock past that rounded
//! deadline, so a `Sleep` never completes before its deadline and may
//! complete up to about 1 ms (plus scheduling delay) after it. A `Sleep`
//! built for an instant at or before now ([`Sleep::new_in`], or one
//! [`reset`](Sleep::reset) to it) completes on the first poll without
//! registering; `sleep(Duration::ZERO)` and `sleep_until` a past instant
//! wake themselves once and complete on the next poll, so they always
//! suspend (asyncio's `sleep(0)`); a `sleep(d)` whose deadline passed
//! before its first poll but after the driver's last turn registers and
//! fires on the next turn (see [`sleep`]). One that passes between
//! registration and the next driver turn fires on that turn, which then
//! does not block.
//!
//! # Store choice (measured)
//!
//! Both candidates were measured in release mode on the project's 2-vCPU
//! machine (`cargo test --release -p eddy-timer -- --ignored --nocapture bench`;
//! the heap is kept, test-only, in `src/heap.rs`). Store rows time the store
//! alone with a real `Arc` waker clone per insert; `Sleep` rows time the whole
//! future (thread-local handle, clock read, lock, store, waker).
//!
//! | workload | slab-indexed binary heap | timing wheel |
//! |---|---:|---:|
//! | store insert + cancel, no other timers | 30.8 ns | 27.2 ns |
//! | store insert + cancel, 10k other live timers | 45.4 ns | 27.0 ns |
//! | store: 100k timers of 1–50 ms, insert all, fire tick by tick | 131 ns/timer | 62 ns/timer |
//! | `Sleep` create + poll once + drop, `SystemClock` (std `Mutex`) | 98 ns | 98 ns |
//! | 100k `Sleep`s of 1–50 ms on a `ManualClock`: create, poll, fire, poll (std `Mutex`) | 224 ns/timer | 165 ns/timer |
//!
//! The wheel wins wherever the store matters: O(1) insert and cancel that do
//! not slow down with many live timers, and cheap bulk expiry (one bitmap
//! scan and a list splice per millisecond instead of a sift-down per timer).
//! Its cost is that the earliest deadline is only known to slot precision in
//! the coarse levels; the driver wakes at the slot start and re-files (at
//! most one extra wake-up per level for a long sleep), and
//! [`TimerHandle::next_deadline`] scans that one slot to be exact.
//!
//! On the create/poll/drop path the atomics dominate (handle `Arc`, waker,
//! lock). Two changes took it from 130 ns to the current figures:
//! `sleep(d)` reads the clock once instead of twice (−25 ns), and the store's
//! lock is a small spin lock whose unlock is a plain release store instead of
//! `std::sync::Mutex`'s `xchg` (−12 ns; [`eddy_core::SpinLock`], shared
//! with the executor's task registry). Now: **~85 ns** with `SystemClock`, ~60 ns with a
//! `ManualClock`, ~148 ns/timer for the 100k-sleep run.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use eddy_core::{Park, Unpark};
//! use eddy_timer::{ManualClock, TimerDriver, sleep};
//! use futures_lite::future;
//!
//! /// Stands in for the reactor: never blocks.
//! struct NoPark;
//! impl Park for NoPark {
//!     fn park(&mut self, _: Option<Duration>) -> std::io::Result<()> { Ok(()) }
//!     fn unparker(&self) -> Arc<dyn Unpark> { Arc::new(|| {}) }
//! }
//!
//! let clock = ManualClock::new();
//! let (mut driver, handle) = TimerDriver::new_manual(NoPark, clock.clone());
//! let _guard = handle.enter();
//!
//! let mut a = sleep(Duration::from_millis(20));
//! let mut b = sleep(Duration::from_millis(10));
//! assert!(future::block_on(future::poll_once(&mut a)).is_none());
//! assert!(future::block_on(future::poll_once(&mut b)).is_none());
//! assert_eq!(handle.timer_count(), 2);
//!
//! clock.advance(Duration::from_millis(10));
//! driver.park(None).unwrap(); // b is due: does not block, fires b
//! assert!(future::block_on(future::poll_once(&mut b)).is_some());
//! assert!(future::block_on(future::poll_once(&mut a)).is_none());
//! drop(a); // unregisters
//! assert_eq!(handle.timer_count(), 0);
//! ```
#![forbid(unsafe_code)]

mod clock;
mod driver;
mod handle;
mod interval;
mod sleep;
mod wheel;

#[cfg(test)]
mod bench;
#[cfg(test)]
mod heap;
#[cfg(test)]
mod test_util;
#[cfg(test)]
mod tests;

use std::fmt;

pub use clock::{ManualClock, SystemClock};
pub use driver::TimerDriver;
pub use handle::{EnterGuard, TimerHandle};
pub use interval::{Interval, MissedTickBehavior, interval, interval_at, try_interval};
pub use sleep::{Sleep, sleep, sleep_until};

/// Why a timer could not be created.
///
/// # Example
///
/// ```
/// use eddy_timer::TimerError;
/// assert!(TimerError::NoRuntime.to_string().contains("inside an eddy runtime"));
/// assert_eq!(TimerError::ZeroPeriod.to_string(), "an interval's period must be non-zero");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerError {
    /// No [`TimerHandle`] is entered on this thread: the call was made from
    /// outside an eddy runtime.
    NoRuntime,
    /// An [`Interval`] was asked for with a zero period.
    ZeroPeriod,
}

impl fmt::Display for TimerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimerError::NoRuntime => f.write_str(
                "no timer on this thread: timers must be created from inside an eddy runtime \
                 (or after `TimerHandle::enter`)",
            ),
            TimerError::ZeroPeriod => f.write_str("an interval's period must be non-zero"),
        }
    }
}

impl std::error::Error for TimerError {}
