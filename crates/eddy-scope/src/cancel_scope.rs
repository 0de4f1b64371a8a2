//! `CancelScope` (trio's cancel scopes), `move_on_after`, `fail_after`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use eddy_timer::{Sleep, TimerHandle};
use pin_project_lite::pin_project;

use crate::set::lock;
use crate::timeout::{Elapsed, Timeout, deadline_after, timeout, timeout_at};

/// Why a [`CancelScope`] stopped its future.
///
/// ```
/// use std::time::Duration;
/// use eddy_scope::{CancelScope, Interrupted};
///
/// eddy::run(async {
///     let timer = eddy_timer::TimerHandle::current();
///     let late = CancelScope::with_deadline(timer.now() + Duration::from_millis(1));
///     assert_eq!(late.run(std::future::pending::<()>()).await, Err(Interrupted::Elapsed));
///     let stopped = CancelScope::new();
///     stopped.cancel();
///     assert_eq!(stopped.run(async {}).await, Err(Interrupted::Cancelled));
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Interrupted {
    /// [`CancelScope::cancel`] was called.
    Cancelled,
    /// The scope's deadline passed.
    Elapsed,
}

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Interrupted::Cancelled => "the cancel scope was cancelled",
            Interrupted::Elapsed => "the cancel scope's deadline has elapsed",
        })
    }
}

impl std::error::Error for Interrupted {}

impl From<Elapsed> for Interrupted {
    fn from(_: Elapsed) -> Interrupted {
        Interrupted::Elapsed
    }
}

struct ScopeState {
    cancelled: bool,
    deadline: Option<Instant>,
    /// Bumped on every change so running scopes notice.
    version: u64,
    wakers: Vec<Waker>,
}

/// A region of code that can be cancelled from outside, or by a deadline
/// that can be moved while it runs (trio's `CancelScope`, asyncio's
/// `Timeout` with `reschedule`).
///
/// Clone the scope to hand a canceller to another task; [`run`](Self::run)
/// the work inside it. Cancelling drops the work's future at once (its
/// destructors run) and the run returns `Err(Interrupted::Cancelled)`; a
/// deadline gives `Err(Interrupted::Elapsed)`, so the two are never
/// confused. Cancelling before the run starts means the work never runs.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use eddy_scope::{CancelScope, Interrupted};
///
/// eddy::run(async {
///     let scope = CancelScope::new();
///     let canceller = scope.clone();
///     eddy::spawn(async move {
///         eddy::sleep(Duration::from_millis(5)).await;
///         canceller.cancel();
///     });
///     let r = scope.run(eddy::sleep(Duration::from_secs(10))).await;
///     assert_eq!(r, Err(Interrupted::Cancelled));
///     assert!(scope.is_cancelled());
/// });
/// ```
#[derive(Clone)]
pub struct CancelScope {
    state: Arc<Mutex<ScopeState>>,
}

impl Default for CancelScope {
    fn default() -> Self {
        CancelScope::new()
    }
}

impl CancelScope {
    /// A scope with no deadline.
    ///
    /// ```
    /// let scope = eddy_scope::CancelScope::new();
    /// assert!(!scope.is_cancelled());
    /// assert_eq!(scope.deadline(), None);
    /// assert_eq!(eddy::run(scope.run(async { 1 })), Ok(1));
    /// ```
    pub fn new() -> CancelScope {
        CancelScope {
            state: Arc::new(Mutex::new(ScopeState {
                cancelled: false,
                deadline: None,
                version: 0,
                wakers: Vec::new(),
            })),
        }
    }

    /// A scope that interrupts its work at `deadline`.
    ///
    /// ```
    /// use std::time::Duration;
    /// eddy::run(async {
    ///     let now = eddy_timer::TimerHandle::current().now();
    ///     let scope = eddy_scope::CancelScope::with_deadline(now + Duration::from_millis(5));
    ///     let r = scope.run(std::future::pending::<()>()).await;
    ///     assert_eq!(r, Err(eddy_scope::Interrupted::Elapsed));
    /// });
    /// ```
    pub fn with_deadline(deadline: Instant) -> CancelScope {
        let s = CancelScope::new();
        s.set_deadline(Some(deadline));
        s
    }

    /// Cancels the scope: its work is dropped at once, now or when it
    /// starts. Cancelling twice is the same as once.
    ///
    /// ```
    /// use eddy_scope::{CancelScope, Interrupted};
    ///
    /// let scope = CancelScope::new();
    /// scope.cancel();
    /// scope.cancel(); // twice is once
    /// // Work started in a cancelled scope is dropped without running.
    /// assert_eq!(eddy::run(scope.run(async { 1 })), Err(Interrupted::Cancelled));
    /// ```
    pub fn cancel(&self) {
        self.update(|s| s.cancelled = true);
    }

    /// `true` once [`cancel`](Self::cancel) was called.
    ///
    /// ```
    /// let scope = eddy_scope::CancelScope::new();
    /// let other = scope.clone();
    /// assert!(!scope.is_cancelled());
    /// other.cancel(); // clones share one scope
    /// assert!(scope.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        lock(&self.state).cancelled
    }

    /// The deadline, if any.
    ///
    /// ```
    /// use std::time::Duration;
    /// eddy::run(async {
    ///     let at = eddy_timer::TimerHandle::current().now() + Duration::from_secs(1);
    ///     let scope = eddy_scope::CancelScope::with_deadline(at);
    ///     assert_eq!(scope.deadline(), Some(at));
    ///     scope.set_deadline(None);
    ///     assert_eq!(scope.deadline(), None);
    /// });
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        lock(&self.state).deadline
    }

    /// Moves (or removes, with `None`) the deadline, also while the work
    /// runs (asyncio's `Timeout.reschedule`).
    ///
    /// ```
    /// use std::time::Duration;
    /// eddy::run(async {
    ///     let timer = eddy_timer::TimerHandle::current();
    ///     let scope = eddy_scope::CancelScope::with_deadline(timer.now() + Duration::from_millis(1));
    ///     let s = scope.clone();
    ///     let r = scope
    ///         .run(async move {
    ///             s.set_deadline(None); // this work may take its time
    ///             eddy::sleep(Duration::from_millis(10)).await;
    ///             "finished"
    ///         })
    ///         .await;
    ///     assert_eq!(r, Ok("finished"));
    /// });
    /// ```
    pub fn set_deadline(&self, deadline: Option<Instant>) {
        self.update(|s| s.deadline = deadline);
    }

    fn update(&self, f: impl FnOnce(&mut ScopeState)) {
        let wakers = {
            let mut st = lock(&self.state);
            f(&mut st);
            st.version += 1;
            std::mem::take(&mut st.wakers)
        };
        for w in wakers {
            w.wake();
        }
    }

    /// Runs `future` inside the scope.
    ///
    /// Deadlines are measured on the timer of the thread that calls `run`;
    /// outside a runtime a deadline is not enforced (cancellation still is).
    ///
    /// # Cancellation
    ///
    /// Dropping the returned future drops `future`.
    ///
    /// ```
    /// eddy::run(async {
    ///     let scope = eddy_scope::CancelScope::new();
    ///     // Work that finishes in time gives its output.
    ///     assert_eq!(scope.run(async { 6 * 7 }).await, Ok(42));
    /// });
    /// ```
    pub fn run<F: Future>(&self, future: F) -> Scoped<F> {
        Scoped {
            future: Some(future),
            scope: self.clone(),
            timer: TimerHandle::try_current().ok(),
            sleep: None,
            seen: u64::MAX,
        }
    }
}

impl fmt::Debug for CancelScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = lock(&self.state);
        f.debug_struct("CancelScope")
            .field("cancelled", &st.cancelled)
            .field("deadline", &st.deadline)
            .finish()
    }
}

pin_project! {
    /// Future returned by [`CancelScope::run`].
    ///
    /// ```
    /// eddy::run(async {
    ///     let scope = eddy_scope::CancelScope::new();
    ///     let work: eddy_scope::Scoped<_> = scope.run(async { "done" });
    ///     assert_eq!(work.await, Ok("done"));
    /// });
    /// ```
    #[must_use = "futures do nothing unless awaited"]
    pub struct Scoped<F> {
        #[pin]
        future: Option<F>,
        scope: CancelScope,
        timer: Option<TimerHandle>,
        sleep: Option<Sleep>,
        seen: u64,
    }
}

impl<F: Future> Future for Scoped<F> {
    type Output = Result<F::Output, Interrupted>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let (cancelled, deadline, version) = {
            let mut st = lock(&this.scope.state);
            if !st.wakers.iter().any(|w| w.will_wake(cx.waker())) {
                st.wakers.push(cx.waker().clone());
            }
            (st.cancelled, st.deadline, st.version)
        };
        if cancelled {
            this.future.set(None);
            return Poll::Ready(Err(Interrupted::Cancelled));
        }
        let Some(fut) = this.future.as_mut().as_pin_mut() else {
            // Polled after completion.
            return Poll::Ready(Err(Interrupted::Cancelled));
        };
        if let Poll::Ready(v) = fut.poll(cx) {
            this.future.set(None);
            return Poll::Ready(Ok(v));
        }
        if *this.seen != version {
            *this.seen = version;
            match (deadline, this.timer.as_ref()) {
                (Some(d), Some(t)) => match this.sleep.as_mut() {
                    Some(s) => Pin::new(s).reset(d),
                    None => *this.sleep = Some(Sleep::new_in(t, d)),
                },
                _ => *this.sleep = None,
            }
        }
        if let Some(s) = this.sleep.as_mut() {
            if Pin::new(s).poll(cx).is_ready() {
                this.future.set(None);
                return Poll::Ready(Err(Interrupted::Elapsed));
            }
        }
        Poll::Pending
    }
}

impl<F> fmt::Debug for Scoped<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scoped")
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// Runs `future` for at most `duration` and gives up quietly: `Some(output)`
/// or `None` (trio's `move_on_after`).
///
/// # Panics
///
/// Outside an eddy runtime.
///
/// # Cancellation
///
/// When the time is up, `future` is dropped. Dropping the returned future
/// drops `future`.
///
/// ```
/// use std::time::Duration;
/// eddy::run(async {
///     let r = eddy_scope::move_on_after(Duration::from_millis(5), std::future::pending::<()>()).await;
///     assert_eq!(r, None);
/// });
/// ```
#[track_caller]
pub fn move_on_after<F: Future>(duration: Duration, future: F) -> MoveOn<F> {
    MoveOn {
        inner: timeout(duration, future),
    }
}

/// [`move_on_after`] with an absolute deadline (trio's `move_on_at`).
///
/// # Panics
///
/// Outside an eddy runtime.
///
/// ```
/// use std::time::Duration;
/// eddy::run(async {
///     let at = eddy_timer::TimerHandle::current().now() + Duration::from_secs(1);
///     assert_eq!(eddy_scope::move_on_at(at, async { 3 }).await, Some(3));
/// });
/// ```
#[track_caller]
pub fn move_on_at<F: Future>(deadline: Instant, future: F) -> MoveOn<F> {
    MoveOn {
        inner: timeout_at(deadline, future),
    }
}

pin_project! {
    /// Future returned by [`move_on_after`] and [`move_on_at`].
    ///
    /// ```
    /// use std::time::Duration;
    /// eddy::run(async {
    ///     let quick: eddy_scope::MoveOn<_> = eddy_scope::move_on_after(Duration::from_secs(1), async { 1 });
    ///     assert_eq!(quick.await, Some(1));
    ///     let slow = eddy_scope::move_on_after(Duration::from_millis(1), std::future::pending::<()>());
    ///     assert_eq!(slow.await, None);
    /// });
    /// ```
    #[must_use = "futures do nothing unless awaited"]
    #[derive(Debug)]
    pub struct MoveOn<F> {
        #[pin]
        inner: Timeout<F>,
    }
}

impl<F: Future> Future for MoveOn<F> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx).map(Result::ok)
    }
}

/// Runs `future` for at most `duration` or fails with [`Elapsed`] (trio's
/// `fail_after`; the same as [`timeout`]).
///
/// # Panics
///
/// Outside an eddy runtime.
///
/// ```
/// use std::time::Duration;
/// eddy::run(async {
///     let r = eddy_scope::fail_after(Duration::from_millis(5), std::future::pending::<()>()).await;
///     assert!(r.is_err());
/// });
/// ```
#[track_caller]
pub fn fail_after<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    timeout(duration, future)
}

/// [`fail_after`] with an absolute deadline (trio's `fail_at`).
///
/// # Panics
///
/// Outside an eddy runtime.
///
/// ```
/// use std::time::Duration;
/// eddy::run(async {
///     let at = eddy_timer::TimerHandle::current().now() + Duration::from_millis(5);
///     assert!(eddy_scope::fail_at(at, std::future::pending::<()>()).await.is_err());
/// });
/// ```
#[track_caller]
pub fn fail_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    timeout_at(deadline, future)
}

/// `now + duration` on the current timer, for building scope deadlines.
///
/// # Panics
///
/// Outside an eddy runtime.
///
/// ```
/// use std::time::Duration;
/// eddy::run(async {
///     let d = eddy_scope::deadline_in(Duration::from_secs(1));
///     assert!(d > eddy_timer::TimerHandle::current().now());
/// });
/// ```
#[track_caller]
pub fn deadline_in(duration: Duration) -> Instant {
    match TimerHandle::try_current() {
        Ok(h) => deadline_after(h.now(), duration),
        Err(e) => panic!("{e}"),
    }
}
