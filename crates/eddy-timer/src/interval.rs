use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_lite::Stream;

use crate::{Sleep, TimerError, TimerHandle};

/// What an [`Interval`] does when ticks were missed because it was polled
/// late (the task was busy, or the process was suspended).
///
/// A tick counts as missed when, at the time a tick is taken, the one after
/// it is already due. The default is [`Skip`](MissedTickBehavior::Skip): it
/// keeps ticks on the original schedule (`start + n * period`) without the
/// burst of catch-up ticks that tokio's default (`Burst`) produces after a
/// stall, which is rarely what a heartbeat or a poller wants. Code that must
/// see every tick can ask for `Burst`.
///
/// # Example
///
/// ```
/// use eddy_timer::MissedTickBehavior;
/// assert_eq!(MissedTickBehavior::default(), MissedTickBehavior::Skip);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks back to back, as fast as they are polled, until
    /// the schedule has caught up.
    Burst,
    /// Start a new schedule: the next tick is one period after the late one
    /// was taken.
    Delay,
    /// Drop the missed ticks: the next tick is the first one of the original
    /// schedule that lies in the future.
    #[default]
    Skip,
}

impl MissedTickBehavior {
    /// The deadline after a tick scheduled at `scheduled` was taken at `now`.
    fn next(self, scheduled: Instant, now: Instant, period: Duration) -> Instant {
        let on_schedule = scheduled + period;
        if on_schedule > now {
            return on_schedule;
        }
        match self {
            MissedTickBehavior::Burst => on_schedule,
            MissedTickBehavior::Delay => now + period,
            MissedTickBehavior::Skip => {
                let late = (now - scheduled).as_nanos();
                let period_ns = period.as_nanos();
                let periods = late / period_ns + 1;
                let skip =
                    u32::try_from(periods).map_or(Duration::MAX, |n| period.saturating_mul(n));
                scheduled.checked_add(skip).unwrap_or(now + period)
            }
        }
    }
}

/// Ticks once per period; see [`interval`].
///
/// Implements [`Stream`] with `Item = Instant` (the scheduled time of each
/// tick). Registers with the timer lazily, on the first poll of each tick.
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
/// use eddy_timer::{ManualClock, TimerDriver, interval};
/// use futures_lite::future;
///
/// let clock = ManualClock::new();
/// let (mut driver, handle) = TimerDriver::new_manual(NoPark, clock.clone());
/// driver.set_auto_advance(true);
/// let _guard = handle.enter();
///
/// let t0 = clock.now();
/// let mut ticker = interval(Duration::from_secs(1));
/// let mut ticks = Vec::new();
/// while ticks.len() < 3 {
///     if let Some(at) = future::block_on(future::poll_once(ticker.tick())) {
///         ticks.push(at - t0);
///     } else {
///         driver.park(None).unwrap(); // idle: jump to the next tick
///     }
/// }
/// assert_eq!(ticks, [Duration::ZERO, Duration::from_secs(1), Duration::from_secs(2)]);
/// ```
pub struct Interval {
    sleep: Sleep,
    period: Duration,
    missed: MissedTickBehavior,
}

/// An interval on the current runtime's timer whose first tick completes
/// immediately and then every `period`.
///
/// # Panics
///
/// If `period` is zero, or when called from outside an eddy runtime. Use
/// [`try_interval`] or [`Interval::try_new_in`] for a `Result` instead.
///
/// ```should_panic
/// # use std::sync::Arc;
/// # use std::time::Duration;
/// # use eddy_core::{Park, Unpark};
/// # struct NoPark;
/// # impl Park for NoPark {
/// #     fn park(&mut self, _: Option<Duration>) -> std::io::Result<()> { Ok(()) }
/// #     fn unparker(&self) -> Arc<dyn Unpark> { Arc::new(|| {}) }
/// # }
/// # let (_d, handle) = eddy_timer::TimerDriver::new_manual(NoPark, eddy_timer::ManualClock::new());
/// # let _g = handle.enter();
/// let _ = eddy_timer::interval(Duration::ZERO); // panics: zero period
/// ```
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    let handle = TimerHandle::current();
    let start = handle.now();
    unwrap_interval(Interval::try_new_in(&handle, start, period))
}

/// An interval whose first tick completes at `start` and then every `period`.
///
/// # Panics
///
/// If `period` is zero, or when called from outside an eddy runtime.
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
/// # let (_d, handle) = eddy_timer::TimerDriver::new_manual(NoPark, eddy_timer::ManualClock::new());
/// # let _g = handle.enter();
/// let start = handle.now() + Duration::from_secs(5);
/// let ticker = eddy_timer::interval_at(start, Duration::from_secs(1));
/// assert_eq!(ticker.period(), Duration::from_secs(1));
/// ```
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    unwrap_interval(Interval::try_new_in(&TimerHandle::current(), start, period))
}

/// Like [`interval`], but returns errors instead of panicking.
///
/// # Errors
///
/// [`TimerError::ZeroPeriod`] if `period` is zero; [`TimerError::NoRuntime`]
/// outside an eddy runtime.
///
/// ```
/// use std::time::Duration;
/// use eddy_timer::{TimerError, try_interval};
/// assert_eq!(try_interval(Duration::from_secs(1)).err(), Some(TimerError::NoRuntime));
/// ```
pub fn try_interval(period: Duration) -> Result<Interval, TimerError> {
    let handle = TimerHandle::try_current()?;
    let start = handle.now();
    Interval::try_new_in(&handle, start, period)
}

#[track_caller]
fn unwrap_interval(r: Result<Interval, TimerError>) -> Interval {
    match r {
        Ok(i) => i,
        Err(e) => panic!("{e}"),
    }
}

impl Interval {
    /// An interval on the timer behind `handle`, first tick at `start`.
    ///
    /// # Errors
    ///
    /// [`TimerError::ZeroPeriod`] if `period` is zero.
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
    /// use eddy_timer::{Interval, ManualClock, TimerDriver, TimerError};
    ///
    /// let (_d, handle) = TimerDriver::new_manual(NoPark, ManualClock::new());
    /// let err = Interval::try_new_in(&handle, handle.now(), Duration::ZERO).err();
    /// assert_eq!(err, Some(TimerError::ZeroPeriod));
    /// ```
    pub fn try_new_in(
        handle: &TimerHandle,
        start: Instant,
        period: Duration,
    ) -> Result<Interval, TimerError> {
        if period.is_zero() {
            return Err(TimerError::ZeroPeriod);
        }
        Ok(Interval {
            sleep: Sleep::new_in(handle, start),
            period,
            missed: MissedTickBehavior::default(),
        })
    }

    /// Waits for the next tick and returns its scheduled instant.
    ///
    /// # Cancellation
    ///
    /// Cancel-safe: dropping the returned future before it completes loses
    /// no tick; the next call waits for the same one.
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
    /// # let (_d, handle) = eddy_timer::TimerDriver::new_manual(NoPark, eddy_timer::ManualClock::new());
    /// # let _g = handle.enter();
    /// let mut ticker = eddy_timer::interval(Duration::from_secs(1));
    /// let first = futures_lite::future::block_on(ticker.tick());
    /// assert_eq!(first, handle.now());
    /// ```
    pub async fn tick(&mut self) -> Instant {
        std::future::poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick: `Ready(scheduled instant)` once it is due,
    /// otherwise registers `cx`'s waker.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Duration;
    /// # use std::task::{Context, Poll, Waker};
    /// # use eddy_core::{Park, Unpark};
    /// # struct NoPark;
    /// # impl Park for NoPark {
    /// #     fn park(&mut self, _: Option<Duration>) -> std::io::Result<()> { Ok(()) }
    /// #     fn unparker(&self) -> Arc<dyn Unpark> { Arc::new(|| {}) }
    /// # }
    /// # let (_d, handle) = eddy_timer::TimerDriver::new_manual(NoPark, eddy_timer::ManualClock::new());
    /// # let _g = handle.enter();
    /// let mut ticker = eddy_timer::interval(Duration::from_secs(1));
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert!(ticker.poll_tick(&mut cx).is_ready());
    /// assert!(ticker.poll_tick(&mut cx).is_pending());
    /// ```
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if Pin::new(&mut self.sleep).poll(cx).is_pending() {
            return Poll::Pending;
        }
        let scheduled = self.sleep.deadline();
        let now = self.sleep.handle_now();
        let next = self.missed.next(scheduled, now, self.period);
        Pin::new(&mut self.sleep).reset(next);
        Poll::Ready(scheduled)
    }

    /// Restarts the schedule: the next tick is one period from now.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Duration;
    /// # use std::task::{Context, Waker};
    /// # use eddy_core::{Park, Unpark};
    /// # struct NoPark;
    /// # impl Park for NoPark {
    /// #     fn park(&mut self, _: Option<Duration>) -> std::io::Result<()> { Ok(()) }
    /// #     fn unparker(&self) -> Arc<dyn Unpark> { Arc::new(|| {}) }
    /// # }
    /// # let (_d, handle) = eddy_timer::TimerDriver::new_manual(NoPark, eddy_timer::ManualClock::new());
    /// # let _g = handle.enter();
    /// let mut ticker = eddy_timer::interval(Duration::from_secs(1));
    /// ticker.reset(); // the immediate first tick is gone
    /// assert!(ticker.poll_tick(&mut Context::from_waker(Waker::noop())).is_pending());
    /// ```
    pub fn reset(&mut self) {
        let next = self.sleep.handle_now() + self.period;
        Pin::new(&mut self.sleep).reset(next);
    }

    /// The period between ticks.
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
    /// # let (_d, handle) = eddy_timer::TimerDriver::new_manual(NoPark, eddy_timer::ManualClock::new());
    /// # let _g = handle.enter();
    /// assert_eq!(eddy_timer::interval(Duration::from_millis(5)).period(), Duration::from_millis(5));
    /// ```
    pub fn period(&self) -> Duration {
        self.period
    }

    /// The current missed-tick behaviour.
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
    /// # let (_d, handle) = eddy_timer::TimerDriver::new_manual(NoPark, eddy_timer::ManualClock::new());
    /// # let _g = handle.enter();
    /// use eddy_timer::MissedTickBehavior;
    /// let ticker = eddy_timer::interval(Duration::from_secs(1));
    /// assert_eq!(ticker.missed_tick_behavior(), MissedTickBehavior::Skip);
    /// ```
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed
    }

    /// Sets what happens when ticks are missed; see [`MissedTickBehavior`].
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
    /// # let (_d, handle) = eddy_timer::TimerDriver::new_manual(NoPark, eddy_timer::ManualClock::new());
    /// # let _g = handle.enter();
    /// use eddy_timer::MissedTickBehavior;
    /// let mut ticker = eddy_timer::interval(Duration::from_secs(1));
    /// ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
    /// assert_eq!(ticker.missed_tick_behavior(), MissedTickBehavior::Burst);
    /// ```
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed = behavior;
    }
}

impl Stream for Interval {
    type Item = Instant;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }
}

impl fmt::Debug for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interval")
            .field("next", &self.sleep.deadline())
            .field("period", &self.period)
            .field("missed_tick_behavior", &self.missed)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_tick_arithmetic() {
        let clock = crate::ManualClock::new();
        let t0 = clock.now();
        let p = Duration::from_millis(10);
        let ms = Duration::from_millis;
        // Not late enough to miss a tick: all behaviours agree.
        for b in [
            MissedTickBehavior::Burst,
            MissedTickBehavior::Delay,
            MissedTickBehavior::Skip,
        ] {
            assert_eq!(b.next(t0, t0 + ms(3), p), t0 + ms(10));
        }
        // 35 ms late: ticks at 10, 20, 30 are missed.
        assert_eq!(
            MissedTickBehavior::Burst.next(t0, t0 + ms(35), p),
            t0 + ms(10)
        );
        assert_eq!(
            MissedTickBehavior::Delay.next(t0, t0 + ms(35), p),
            t0 + ms(45)
        );
        assert_eq!(
            MissedTickBehavior::Skip.next(t0, t0 + ms(35), p),
            t0 + ms(40)
        );
        // Exactly on a later tick: Skip moves past it, it is "now", not future.
        assert_eq!(
            MissedTickBehavior::Skip.next(t0, t0 + ms(30), p),
            t0 + ms(40)
        );
    }
}
