//! `timeout`, `timeout_at` and the reschedulable [`Timeout`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use eddy_timer::{Sleep, TimerError, TimerHandle};
use pin_project_lite::pin_project;

/// The deadline of a [`timeout`] passed before its future completed.
///
/// This is asyncio's `TimeoutError`. It is a different type from a task's
/// `JoinError::Cancelled`, so a timeout can never be mistaken for a
/// cancellation (or the other way round).
///
/// ```
/// assert_eq!(eddy_scope::Elapsed::new().to_string(), "deadline has elapsed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Elapsed(());

impl Elapsed {
    /// An `Elapsed` error; for code that forwards timeouts of its own.
    ///
    /// ```
    /// use eddy_scope::Elapsed;
    ///
    /// fn check(budget_left: u32) -> Result<(), Elapsed> {
    ///     if budget_left == 0 { Err(Elapsed::new()) } else { Ok(()) }
    /// }
    /// assert_eq!(check(0), Err(Elapsed::default()));
    /// assert!(check(1).is_ok());
    /// ```
    pub fn new() -> Elapsed {
        Elapsed(())
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(_: Elapsed) -> std::io::Error {
        std::io::ErrorKind::TimedOut.into()
    }
}

pin_project! {
    /// Future returned by [`timeout`] and [`timeout_at`]: the
    /// inner future raced against a deadline (asyncio's `asyncio.Timeout`).
    ///
    /// The inner future is polled first on every wake-up, so a future that
    /// is ready by the time the deadline is checked wins, even with a zero or
    /// past deadline. A pending future with a past deadline gets
    /// `Err(Elapsed)` on the first poll: the deadline is never "missed".
    ///
    /// The deadline can be moved while the future runs with
    /// [`reschedule`](Timeout::reschedule) (asyncio's `Timeout.reschedule`).
    ///
    /// # Cancellation
    ///
    /// Dropping a `Timeout` drops the inner future (its destructors run) and
    /// unregisters the timer. When the deadline fires, the inner future is
    /// dropped at once, before `Err(Elapsed)` is returned: whatever it was
    /// awaiting has been cancelled by then.
    ///
    /// ```
    /// use std::time::Duration;
    /// eddy::run(async {
    ///     let fast: eddy_scope::Timeout<_> = eddy_scope::timeout(Duration::from_secs(1), async { 3 });
    ///     assert_eq!(fast.await, Ok(3));
    ///     let slow = eddy_scope::timeout(Duration::from_millis(1), std::future::pending::<()>());
    ///     assert_eq!(slow.await, Err(eddy_scope::Elapsed::new()));
    /// });
    /// ```
    #[must_use = "futures do nothing unless awaited"]
    pub struct Timeout<F> {
        // `None` once the deadline fired: the future is dropped then, not
        // when the `Timeout` is, so nothing it held outlives the deadline.
        #[pin]
        future: Option<F>,
        #[pin]
        sleep: Sleep,
    }
}

impl<F> Timeout<F> {
    /// Races `future` against `deadline` on the timer behind `handle`: the
    /// form for code that holds a [`TimerHandle`] instead of running inside a
    /// runtime.
    ///
    /// ```
    /// use std::time::Duration;
    /// use eddy_scope::Timeout;
    /// use eddy_timer::TimerHandle;
    ///
    /// eddy::run(async {
    ///     let timer = TimerHandle::current();
    ///     let deadline = timer.now() + Duration::from_millis(5);
    ///     let out = Timeout::new_in(&timer, deadline, std::future::pending::<()>()).await;
    ///     assert!(out.is_err());
    /// });
    /// ```
    pub fn new_in(handle: &TimerHandle, deadline: Instant, future: F) -> Timeout<F> {
        Timeout {
            future: Some(future),
            sleep: Sleep::new_in(handle, deadline),
        }
    }

    /// The current deadline.
    ///
    /// ```
    /// use std::time::Duration;
    /// eddy::run(async {
    ///     let now = eddy_timer::TimerHandle::current().now();
    ///     let t = eddy_scope::timeout(Duration::from_secs(2), async {});
    ///     assert!(t.deadline() >= now + Duration::from_secs(2));
    /// });
    /// ```
    pub fn deadline(&self) -> Instant {
        self.sleep.deadline()
    }

    /// `true` once the deadline has passed (whether or not the future has
    /// been polled since), like asyncio's `Timeout.expired()`.
    ///
    /// ```
    /// use std::time::Duration;
    /// eddy::run(async {
    ///     let t = eddy_scope::timeout(Duration::ZERO, async {});
    ///     assert!(t.is_elapsed());
    /// });
    /// ```
    pub fn is_elapsed(&self) -> bool {
        self.sleep.is_elapsed()
    }

    /// Moves the deadline, earlier or later (asyncio's
    /// `Timeout.reschedule`). Takes effect at once: an earlier deadline
    /// re-arms the timer, a deadline already passed makes the next poll
    /// return `Err(Elapsed)` unless the future is ready. Once the deadline
    /// has fired the inner future is gone, so rescheduling then changes
    /// nothing: every later poll is `Err(Elapsed)`.
    ///
    /// ```
    /// use std::pin::pin;
    /// use std::time::Duration;
    /// use futures_lite::future;
    ///
    /// eddy::run(async {
    ///     let timer = eddy_timer::TimerHandle::current();
    ///     let mut t = pin!(eddy_scope::timeout(Duration::from_millis(1), async {
    ///         eddy::sleep(Duration::from_millis(20)).await;
    ///         "done"
    ///     }));
    ///     assert!(future::poll_once(t.as_mut()).await.is_none());
    ///     // Give it more time before the first deadline fires.
    ///     t.as_mut().reschedule(timer.now() + Duration::from_secs(1));
    ///     assert_eq!(t.await, Ok("done"));
    /// });
    /// ```
    pub fn reschedule(self: Pin<&mut Self>, deadline: Instant) {
        self.project().sleep.reset(deadline);
    }

    /// The inner future, by reference: `None` once the deadline has fired
    /// and dropped it.
    ///
    /// ```
    /// use std::time::Duration;
    /// eddy::run(async {
    ///     let inner = eddy::sleep(Duration::from_millis(1));
    ///     let wake_at = inner.deadline();
    ///     let t = eddy_scope::timeout(Duration::from_secs(1), inner);
    ///     assert_eq!(t.get_ref().map(|s| s.deadline()), Some(wake_at));
    ///     assert!(t.await.is_ok());
    /// });
    /// ```
    pub fn get_ref(&self) -> Option<&F> {
        self.future.as_ref()
    }

    /// Stops the race and gives the inner future back: `None` once the
    /// deadline has fired and dropped it.
    ///
    /// ```
    /// use std::time::Duration;
    /// eddy::run(async {
    ///     let t = eddy_scope::timeout(Duration::from_secs(1), async { 5 });
    ///     assert_eq!(t.into_inner().unwrap().await, 5);
    /// });
    /// ```
    pub fn into_inner(self) -> Option<F> {
        self.future
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let Some(future) = this.future.as_mut().as_pin_mut() else {
            // Polled again after the deadline fired (a rescheduled or
            // re-polled `Timeout`): the future is gone, so is its chance.
            return Poll::Ready(Err(Elapsed(())));
        };
        if let Poll::Ready(v) = future.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        match this.sleep.poll(cx) {
            Poll::Ready(()) => {
                // Dropped in place, before `Err` is returned: whatever the
                // future was awaiting is cancelled by the time the caller
                // hears of the deadline, as asyncio's timeout cancels its
                // inner task.
                this.future.set(None);
                Poll::Ready(Err(Elapsed(())))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("deadline", &self.sleep.deadline())
            .finish_non_exhaustive()
    }
}

/// Runs `future` for at most `duration`: `Ok(output)` if it completes in
/// time, `Err(Elapsed)` otherwise (asyncio's `async with asyncio.timeout(d)`).
///
/// The inner future is dropped when the deadline fires; a task handle inside
/// it is dropped too, which detaches its task (as in tokio). To cancel an
/// awaited task with the deadline and wait until it has finished, as asyncio
/// does, use [`wait_for`](crate::wait_for).
///
/// A zero duration still returns the output of a future that is ready on its
/// first poll.
///
/// # Panics
///
/// Outside an eddy runtime (no timer on this thread); [`try_timeout`] returns
/// an error instead.
///
/// # Cancellation
///
/// When the deadline fires the inner future is dropped (its destructors run)
/// before `Err(Elapsed)` is returned. Dropping the `Timeout` drops the inner
/// future too.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use eddy_scope::{Elapsed, timeout};
///
/// async fn slow_operation() -> &'static str {
///     eddy::sleep(Duration::from_secs(10)).await;
///     "result"
/// }
///
/// eddy::run(async {
///     match timeout(Duration::from_millis(20), slow_operation()).await {
///         Ok(r) => println!("{r}"),
///         Err(Elapsed { .. }) => println!("Timed out!"),
///     }
///     assert_eq!(timeout(Duration::ZERO, async { 1 }).await, Ok(1));
/// });
/// ```
#[track_caller]
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    match try_timeout(duration, future) {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    }
}

/// [`timeout`] with an absolute deadline (asyncio's `timeout_at`).
///
/// # Panics
///
/// Outside an eddy runtime; see [`Timeout::new_in`] for an explicit timer.
///
/// ```
/// use std::time::Duration;
/// eddy::run(async {
///     let now = eddy_timer::TimerHandle::current().now();
///     let past = now - Duration::from_secs(1);
///     // A past deadline: a ready future still wins, a pending one elapses.
///     assert_eq!(eddy_scope::timeout_at(past, async { 7 }).await, Ok(7));
///     assert!(eddy_scope::timeout_at(past, std::future::pending::<()>()).await.is_err());
/// });
/// ```
#[track_caller]
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    match TimerHandle::try_current() {
        Ok(h) => Timeout::new_in(&h, deadline, future),
        Err(e) => panic!("{e}"),
    }
}

/// [`timeout`], returning an error instead of panicking outside a runtime.
///
/// # Errors
///
/// [`TimerError::NoRuntime`] when no timer is entered on this thread.
///
/// ```
/// use std::time::Duration;
/// assert!(eddy_scope::try_timeout(Duration::from_secs(1), async {}).is_err());
/// eddy::run(async {
///     let t = eddy_scope::try_timeout(Duration::from_secs(1), async { 2 }).unwrap();
///     assert_eq!(t.await, Ok(2));
/// });
/// ```
pub fn try_timeout<F: Future>(duration: Duration, future: F) -> Result<Timeout<F>, TimerError> {
    let h = TimerHandle::try_current()?;
    let deadline = deadline_after(h.now(), duration);
    Ok(Timeout::new_in(&h, deadline, future))
}

/// Stands in for "no deadline" where a duration overflows `Instant`: about
/// 30 years, far beyond any real deadline.
pub(crate) const FAR: Duration = Duration::from_secs(86400 * 365 * 30);

/// `now + d`, saturating at [`FAR`] from now.
pub(crate) fn deadline_after(now: Instant, d: Duration) -> Instant {
    now.checked_add(d.min(FAR)).unwrap_or(now)
}
