//! asyncio's `wait_for`: a deadline that cancels what it waits for and waits
//! until the cancellation is done.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use eddy_core::BoxFuture;
use eddy_core::abandon::{self, AbandonMode};
use eddy_timer::{Sleep, TimerHandle};
use pin_project_lite::pin_project;

use crate::timeout::{Elapsed, deadline_after};

pin_project! {
    /// Future returned by [`wait_for`].
    ///
    /// # Cancellation
    ///
    /// Dropping a `WaitFor` (its caller was cancelled) gives up on the inner
    /// future the same way the deadline does: the tasks it was awaiting are
    /// cancelled. If the `WaitFor` is dropped by an eddy task being
    /// cancelled, that task finishes only after those tasks have; dropped
    /// anywhere else, they are cancelled without anyone waiting.
    #[must_use = "futures do nothing unless awaited"]
    pub struct WaitFor<F> {
        #[pin]
        future: Option<F>,
        #[pin]
        sleep: Sleep,
        // What giving up on `future` left to wait for: the exits of the
        // tasks it was awaiting.
        left: Vec<BoxFuture>,
    }

    impl<F> PinnedDrop for WaitFor<F> {
        fn drop(this: Pin<&mut Self>) {
            let mut this = this.project();
            let mut left = std::mem::take(this.left);
            if this.future.is_some() {
                left.extend(abandon::collect_abandoned(AbandonMode::CancelAwaited, || {
                    this.future.set(None)
                }));
            }
            // Whoever is dropping us waits, if it can.
            for f in left {
                let _ = abandon::offer_abandoned(f);
            }
        }
    }
}

impl<F> WaitFor<F> {
    /// [`wait_for`] on the timer behind `handle`, with an absolute deadline.
    ///
    /// ```
    /// use std::time::Duration;
    /// eddy::run(async {
    ///     let timer = eddy_timer::TimerHandle::current();
    ///     let deadline = timer.now() + Duration::from_millis(5);
    ///     let out = eddy_scope::WaitFor::new_in(&timer, deadline, std::future::pending::<()>()).await;
    ///     assert!(out.is_err());
    /// });
    /// ```
    pub fn new_in(handle: &TimerHandle, deadline: Instant, future: F) -> WaitFor<F> {
        WaitFor {
            future: Some(future),
            sleep: Sleep::new_in(handle, deadline),
            left: Vec::new(),
        }
    }

    /// The deadline.
    ///
    /// ```
    /// use std::time::Duration;
    /// eddy::run(async {
    ///     let now = eddy_timer::TimerHandle::current().now();
    ///     let w = eddy_scope::wait_for(async {}, Duration::from_secs(2));
    ///     assert!(w.deadline() >= now + Duration::from_secs(2));
    /// });
    /// ```
    pub fn deadline(&self) -> Instant {
        self.sleep.deadline()
    }
}

impl<F: Future> Future for WaitFor<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if let Some(fut) = this.future.as_mut().as_pin_mut() {
            // The inner future first: work that completes at the deadline
            // wins over it.
            if let Poll::Ready(v) = fut.poll(cx) {
                this.future.set(None);
                return Poll::Ready(Ok(v));
            }
            if this.sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            let mut future = this.future;
            *this.left =
                abandon::collect_abandoned(AbandonMode::CancelAwaited, || future.set(None));
        }
        this.left.retain_mut(|f| f.as_mut().poll(cx).is_pending());
        if this.left.is_empty() {
            Poll::Ready(Err(Elapsed::new()))
        } else {
            Poll::Pending
        }
    }
}

impl<F> fmt::Debug for WaitFor<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitFor")
            .field("deadline", &self.sleep.deadline())
            .field(
                "cancelling",
                &(self.future.is_none() && !self.left.is_empty()),
            )
            .finish_non_exhaustive()
    }
}

/// Waits for `future` for at most `duration`, as asyncio's
/// `asyncio.wait_for(aw, timeout)`: `Ok(output)` if it completes in time,
/// `Err(Elapsed)` otherwise.
///
/// Unlike [`timeout`](crate::timeout), giving up *cancels what the future
/// was awaiting and waits for it*: when the deadline fires, every task whose
/// handle the future was awaiting (the future may be a task handle itself)
/// is cancelled, and `Err(Elapsed)` comes only once those tasks have
/// finished (their destructors run, their own task groups drained). If the
/// caller is cancelled instead, the same tasks are cancelled, and a caller
/// that is an eddy task finishes only after them. A future that completes
/// at the deadline wins: its output is returned. A task handle the future
/// holds but has not awaited yet is only dropped (detached), as in asyncio,
/// where only the awaited task is cancelled.
///
/// A zero duration still returns the output of a future that is ready on
/// its first poll.
///
/// # Panics
///
/// Outside an eddy runtime (no timer on this thread); see
/// [`WaitFor::new_in`] for an explicit timer.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::time::Duration;
///
/// eddy::run(async {
///     let cleaned = Arc::new(AtomicBool::new(false));
///     struct Cleanup(Arc<AtomicBool>);
///     impl Drop for Cleanup {
///         fn drop(&mut self) {
///             self.0.store(true, Ordering::SeqCst);
///         }
///     }
///     let guard = Cleanup(cleaned.clone());
///     let task = eddy::spawn(async move {
///         let _guard = guard;
///         eddy::sleep(Duration::from_secs(60)).await;
///     });
///     let r = eddy_scope::wait_for(task, Duration::from_millis(5)).await;
///     assert!(r.is_err());
///     // The task was cancelled and has finished cancelling.
///     assert!(cleaned.load(Ordering::SeqCst));
/// });
/// ```
#[track_caller]
pub fn wait_for<F: Future>(future: F, duration: Duration) -> WaitFor<F> {
    match TimerHandle::try_current() {
        Ok(h) => {
            let deadline = deadline_after(h.now(), duration);
            WaitFor::new_in(&h, deadline, future)
        }
        Err(e) => panic!("{e}"),
    }
}
