use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Yields to the executor once, letting other ready tasks run
/// (asyncio's `await asyncio.sleep(0)`).
///
/// The task goes to the back of the run queue, not to the LIFO slot, so a
/// yielding loop cannot monopolise a worker.
///
/// # Example
///
/// ```
/// # let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
/// # ex.block_on(async {
/// let other = eddy_executor::spawn(async { 1 });
/// eddy_executor::yield_now().await; // `other` runs here
/// assert!(other.is_finished());
/// # });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// Future returned by [`yield_now`].
///
/// Cancel-safe: dropping it has no effect.
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
