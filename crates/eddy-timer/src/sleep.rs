use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::TimerHandle;
use crate::wheel::Key;

/// Waits until `duration` has elapsed on the current runtime's clock.
///
/// The deadline is fixed when `sleep` is called (now + `duration`), not when
/// the future is first polled. Nothing is registered until the first poll.
/// Deadlines round up to the timer's 1 ms resolution, so the sleep never ends
/// early.
///
/// Like `asyncio.sleep`, awaiting a sleep always suspends the task at least
/// once: `sleep(Duration::ZERO)` is `asyncio.sleep(0)` (the first poll wakes
/// the task and returns `Pending`, the second is ready, so every other ready
/// task runs in between; [`yield_now`](https://docs.rs/eddy/latest/eddy/fn.yield_now.html)
/// in the facade does the same). [`sleep_until`] with a past deadline
/// suspends once the same way. [`Sleep::new_in`] and [`Sleep::reset`] are
/// the low-level forms for timeouts and intervals: they are ready on the
/// first poll when the deadline has passed.
///
/// `sleep` reads the clock once, here. Its first poll does not read it again
/// (that read was a quarter of the create/poll/drop cost): it compares the
/// deadline with the time the timer driver last processed. So a `sleep(d)`
/// first polled after its deadline yields once if the driver has already
/// seen that time, and otherwise completes on the driver's next turn (which
/// then does not block).
///
/// # Cancellation
///
/// Cancel-safe: dropping the `Sleep` unregisters it in O(1); nothing else is
/// lost.
///
/// # Panics
///
/// If called from outside an eddy runtime (no [`TimerHandle`] entered on this
/// thread). For a non-panicking path use [`TimerHandle::try_current`] and
/// [`Sleep::new_in`].
///
/// # Example
///
/// ```
/// # use std::sync::Arc;
/// # use std::time::Duration;
/// # use eddy_core::{Park, Unpark};
/// # struct NoPark;
/// # impl Park for NoPark {
/// #     fn park(&mut self, _: Option<Duration>) -> std::io::Result<()> { Ok(()) }
/// #     fn unparker(&self) -> Arc<dyn Unpark> { Arc::new(|| {}) }
/// # }
/// use eddy_core::Park as _;
/// use eddy_timer::{ManualClock, TimerDriver, sleep};
/// use futures_lite::future;
///
/// let clock = ManualClock::new();
/// let (mut driver, handle) = TimerDriver::new(NoPark, Arc::new(clock.clone()));
/// let _guard = handle.enter();
///
/// let mut nap = sleep(Duration::from_millis(10));
/// assert!(future::block_on(future::poll_once(&mut nap)).is_none());
/// clock.advance(Duration::from_millis(10));
/// driver.park(Some(Duration::ZERO)).unwrap(); // fires due timers
/// future::block_on(nap);
/// ```
#[track_caller]
pub fn sleep(duration: Duration) -> Sleep {
    let handle = TimerHandle::current();
    let now = handle.now();
    // A duration too large to add is "never": park it at the far edge.
    let deadline = now.checked_add(duration).unwrap_or_else(|| far_future(now));
    let state = if duration.is_zero() {
        State::Yield
    } else {
        State::Fresh
    };
    Sleep {
        handle,
        deadline,
        state,
    }
}

/// Waits until `deadline` on the current runtime's clock.
///
/// Like [`sleep`], but with an absolute deadline. A deadline at or before now
/// suspends once (as `asyncio.sleep` with a zero or negative delay) and is
/// ready on the next poll, without registering a timer.
///
/// # Panics
///
/// If called from outside an eddy runtime; see [`sleep`].
///
/// # Example
///
/// ```
/// # use std::sync::Arc;
/// # use std::time::Duration;
/// # use eddy_core::{Park, Unpark};
/// # struct NoPark;
/// # impl Park for NoPark {
/// #     fn park(&mut self, _: Option<Duration>) -> std::io::Result<()> { Ok(()) }
/// #     fn unparker(&self) -> Arc<dyn Unpark> { Arc::new(|| {}) }
/// # }
/// use eddy_timer::{ManualClock, TimerDriver, sleep_until};
///
/// let clock = ManualClock::new();
/// let (_driver, handle) = TimerDriver::new(NoPark, Arc::new(clock.clone()));
/// let _guard = handle.enter();
/// // Already past: suspends once (the task is woken at once), then ready.
/// let mut past = sleep_until(clock.now());
/// assert!(futures_lite::future::block_on(futures_lite::future::poll_once(&mut past)).is_none());
/// assert!(futures_lite::future::block_on(futures_lite::future::poll_once(&mut past)).is_some());
/// ```
#[track_caller]
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        handle: TimerHandle::current(),
        deadline,
        state: State::Until,
    }
}

fn far_future(now: Instant) -> Instant {
    // About 30 years: beyond any real wait, and representable on every platform.
    now + Duration::from_secs(86_400 * 365 * 30)
}

/// A future that completes at a deadline; see [`sleep`] and [`sleep_until`].
///
/// Registers with the timer on its first poll (one slab slot, no allocation
/// beyond amortised growth, no system call), updates its waker in place when
/// re-polled from another task, and unregisters in O(1) when dropped.
/// `Unpin`, `Send` and `Sync`.
///
/// # Example
///
/// ```
/// # use std::sync::Arc;
/// # use std::time::Duration;
/// # use eddy_core::{Park, Unpark};
/// # struct NoPark;
/// # impl Park for NoPark {
/// #     fn park(&mut self, _: Option<Duration>) -> std::io::Result<()> { Ok(()) }
/// #     fn unparker(&self) -> Arc<dyn Unpark> { Arc::new(|| {}) }
/// # }
/// use eddy_timer::{ManualClock, Sleep, TimerDriver};
///
/// let clock = ManualClock::new();
/// let (_driver, handle) = TimerDriver::new(NoPark, Arc::new(clock.clone()));
/// let sleep = Sleep::new_in(&handle, clock.now() + Duration::from_secs(1));
/// assert!(!sleep.is_elapsed());
/// clock.advance(Duration::from_secs(1));
/// assert!(sleep.is_elapsed());
/// futures_lite::future::block_on(sleep);
/// ```
pub struct Sleep {
    handle: TimerHandle,
    deadline: Instant,
    state: State,
}

#[derive(Clone, Copy)]
enum State {
    /// Not registered with the store (never polled, or reset since); ready
    /// at once when late (`Sleep::new_in`, `reset`).
    Idle,
    /// Like `Idle`, but suspends once when late (`sleep_until`, as asyncio's
    /// sleep always yields to the loop).
    Until,
    /// Like `Idle`, but the deadline was computed from a clock read when the
    /// sleep was made (`sleep(d)`, d > 0), so the first poll skips a second
    /// read (about a quarter of the create/poll/drop cost) and tests the
    /// deadline against the time the driver last processed instead. Suspends
    /// once when late.
    Fresh,
    /// Due, but not yet suspended: the next poll wakes the task and returns
    /// `Pending` once (`sleep(Duration::ZERO)` is `asyncio.sleep(0)`).
    Yield,
    /// In the store, in shard `shard`.
    Registered {
        key: Key,
        shard: u8,
    },
    Elapsed,
}

impl Sleep {
    /// A sleep until `deadline` on the timer behind `handle`.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Duration;
    /// # use eddy_core::{Park, Unpark};
    /// # struct NoPark;
    /// # impl Park for NoPark {
    /// #     fn park(&mut self, _: Option<Duration>) -> std::io::Result<()> { Ok(()) }
    /// #     fn unparker(&self) -> Arc<dyn Unpark> { Arc::new(|| {}) }
    /// # }
    /// use eddy_timer::{ManualClock, Sleep, TimerDriver};
    ///
    /// let (_driver, handle) = TimerDriver::new(NoPark, Arc::new(ManualClock::new()));
    /// let at = handle.now() + Duration::from_millis(3);
    /// assert_eq!(Sleep::new_in(&handle, at).deadline(), at);
    /// ```
    pub fn new_in(handle: &TimerHandle, deadline: Instant) -> Sleep {
        Sleep::new_owned(handle.clone(), deadline)
    }

    fn new_owned(handle: TimerHandle, deadline: Instant) -> Sleep {
        Sleep {
            handle,
            deadline,
            state: State::Idle,
        }
    }

    /// The instant this sleep completes at (before rounding up to the timer
    /// resolution).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Duration;
    /// # use eddy_core::{Park, Unpark};
    /// # struct NoPark;
    /// # impl Park for NoPark {
    /// #     fn park(&mut self, _: Option<Duration>) -> std::io::Result<()> { Ok(()) }
    /// #     fn unparker(&self) -> Arc<dyn Unpark> { Arc::new(|| {}) }
    /// # }
    /// use eddy_timer::{ManualClock, TimerDriver};
    ///
    /// let clock = ManualClock::new();
    /// let (_driver, handle) = TimerDriver::new(NoPark, Arc::new(clock.clone()));
    /// let _g = handle.enter();
    /// let s = eddy_timer::sleep(Duration::from_secs(2));
    /// assert_eq!(s.deadline(), clock.now() + Duration::from_secs(2));
    /// ```
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    pub(crate) fn handle_now(&self) -> Instant {
        self.handle.now()
    }

    /// `true` once the deadline has passed on the timer's clock.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Duration;
    /// # use eddy_core::{Park, Unpark};
    /// # struct NoPark;
    /// # impl Park for NoPark {
    /// #     fn park(&mut self, _: Option<Duration>) -> std::io::Result<()> { Ok(()) }
    /// #     fn unparker(&self) -> Arc<dyn Unpark> { Arc::new(|| {}) }
    /// # }
    /// use eddy_timer::{ManualClock, Sleep, TimerDriver};
    ///
    /// let clock = ManualClock::new();
    /// let (_driver, handle) = TimerDriver::new(NoPark, Arc::new(clock.clone()));
    /// let s = Sleep::new_in(&handle, clock.now() + Duration::from_millis(1));
    /// assert!(!s.is_elapsed());
    /// clock.advance(Duration::from_millis(1));
    /// assert!(s.is_elapsed());
    /// ```
    pub fn is_elapsed(&self) -> bool {
        matches!(self.state, State::Elapsed) || self.handle.now() >= self.deadline
    }

    /// Moves the deadline to `deadline`, earlier or later, keeping the sleep's
    /// registration and waker if it has one. A sleep that already completed
    /// becomes pending again if the new deadline is in the future.
    ///
    /// If the new deadline has already passed, a registered waker is woken so
    /// the owning task polls again and sees the sleep ready.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Duration;
    /// # use eddy_core::{Park, Unpark};
    /// # struct NoPark;
    /// # impl Park for NoPark {
    /// #     fn park(&mut self, _: Option<Duration>) -> std::io::Result<()> { Ok(()) }
    /// #     fn unparker(&self) -> Arc<dyn Unpark> { Arc::new(|| {}) }
    /// # }
    /// use std::pin::Pin;
    /// use eddy_timer::{ManualClock, Sleep, TimerDriver};
    /// use futures_lite::future;
    ///
    /// let clock = ManualClock::new();
    /// let (_driver, handle) = TimerDriver::new(NoPark, Arc::new(clock.clone()));
    /// let mut s = Sleep::new_in(&handle, clock.now() + Duration::from_secs(60));
    /// assert!(future::block_on(future::poll_once(&mut s)).is_none());
    /// Pin::new(&mut s).reset(clock.now());
    /// assert!(future::block_on(future::poll_once(&mut s)).is_some());
    /// ```
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let this = self.get_mut();
        this.deadline = deadline;
        if let State::Registered { key, shard } = this.state {
            let shared = &this.handle.shared;
            if deadline > shared.clock.now() {
                let tick = shared.tick_ceil(deadline);
                let (moved, unpark) = {
                    let mut store = shared.lock(shard);
                    let moved = store.reschedule(key, tick);
                    (moved, moved && shared.needs_unpark(tick))
                };
                if unpark {
                    shared.unpark.unpark();
                }
                if moved {
                    return;
                }
            } else {
                let waker = shared.lock(shard).cancel(key);
                if let Some(waker) = waker {
                    waker.wake();
                }
            }
        }
        this.state = State::Idle;
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let shared = &this.handle.shared;
        match this.state {
            State::Elapsed => Poll::Ready(()),
            State::Yield => {
                this.state = State::Elapsed;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            State::Registered { key, shard } => {
                if shared.lock(shard).poll_entry(key, cx.waker()) {
                    Poll::Pending
                } else {
                    // Only the driver removes a timer we still hold a key
                    // for, and it does so exactly when the deadline passed.
                    this.state = State::Elapsed;
                    Poll::Ready(())
                }
            }
            State::Idle | State::Until | State::Fresh => {
                let fresh = matches!(this.state, State::Fresh);
                let yields = !matches!(this.state, State::Idle);
                // Late: ready at once, or (asyncio's rule for `sleep`)
                // suspended once with an immediate wake-up.
                let late = |cx: &mut Context<'_>| {
                    if yields {
                        cx.waker().wake_by_ref();
                        Poll::Pending
                    } else {
                        Poll::Ready(())
                    }
                };
                if !fresh && this.deadline <= shared.clock.now() {
                    this.state = State::Elapsed;
                    return late(cx);
                }
                let tick = shared.tick_ceil(this.deadline);
                let shard = shared.shard_here();
                let (key, unpark) = {
                    let mut store = shared.lock(shard);
                    if fresh && tick <= store.elapsed() {
                        drop(store);
                        this.state = State::Elapsed;
                        return late(cx);
                    }
                    let key = store.insert(tick, cx.waker().clone());
                    (key, shared.needs_unpark(tick))
                };
                if unpark {
                    shared.unpark.unpark();
                }
                this.state = State::Registered { key, shard };
                Poll::Pending
            }
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let State::Registered { key, shard } = self.state {
            // Bind the waker so it drops after the lock is released: dropping a
            // waker can run arbitrary executor code.
            let waker = self.handle.shared.lock(shard).cancel(key);
            drop(waker);
        }
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Idle | State::Until | State::Fresh => "idle",
            State::Yield => "yield",
            State::Registered { .. } => "registered",
            State::Elapsed => "elapsed",
        };
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("state", &state)
            .finish()
    }
}
