//! hyper's runtime hooks on eddy: [`EddyExecutor`] and [`EddyTimer`].

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use eddy_executor::Handle;
use eddy_timer::{Sleep, TimerHandle};

/// Spawns hyper's background futures (HTTP/2 streams, client connection
/// tasks, graceful-shutdown watchers) as eddy tasks.
///
/// It holds the runtime's handle, so it can be made inside the runtime and
/// moved anywhere; the tasks run on that runtime, in parallel on a
/// multi-thread one. Spawned tasks are detached: hyper tracks their ends
/// itself. If the runtime has shut down, the future is dropped unrun.
///
/// ```
/// use hyper::rt::Executor;
///
/// eddy::run(async {
///     let exec = eddy_hyper::EddyExecutor::current();
///     let (tx, rx) = eddy::sync::oneshot::channel();
///     exec.execute(async move { tx.send(5).unwrap() });
///     assert_eq!(rx.await.unwrap(), 5);
/// });
/// ```
#[derive(Clone, Debug)]
pub struct EddyExecutor {
    handle: Handle,
}

impl EddyExecutor {
    /// An executor for the runtime running the current thread.
    ///
    /// # Panics
    ///
    /// Outside an eddy runtime; see [`EddyExecutor::new`].
    ///
    /// ```
    /// eddy::run(async { let _ = eddy_hyper::EddyExecutor::current(); });
    /// ```
    #[track_caller]
    pub fn current() -> EddyExecutor {
        EddyExecutor {
            handle: Handle::current(),
        }
    }

    /// An executor for the runtime behind `handle`.
    ///
    /// ```
    /// let rt = eddy::Builder::current_thread().build().unwrap();
    /// let exec = rt.block_on(async { eddy_hyper::EddyExecutor::new(eddy_executor::Handle::current()) });
    /// # drop(exec);
    /// ```
    pub fn new(handle: Handle) -> EddyExecutor {
        EddyExecutor { handle }
    }
}

impl<F> hyper::rt::Executor<F> for EddyExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, fut: F) {
        self.handle.spawn(fut).detach();
    }
}

/// hyper's timer on eddy's: header-read, keep-alive and HTTP/2 ping timeouts
/// sleep on the runtime's clock (virtual in `eddy::test`), and `now()` reads
/// that clock.
///
/// ```
/// use hyper::rt::Timer;
/// use std::time::Duration;
///
/// eddy::test::run(async {
///     let timer = eddy_hyper::EddyTimer::current();
///     let start = timer.now();
///     timer.sleep(Duration::from_secs(30)).await; // virtual: no real wait
///     assert_eq!(timer.now() - start, Duration::from_secs(30));
/// });
/// ```
#[derive(Clone, Debug)]
pub struct EddyTimer {
    handle: TimerHandle,
}

impl EddyTimer {
    /// The timer of the runtime running the current thread.
    ///
    /// # Panics
    ///
    /// Outside an eddy runtime; see [`EddyTimer::new`].
    ///
    /// ```
    /// eddy::run(async { let _ = eddy_hyper::EddyTimer::current(); });
    /// ```
    #[track_caller]
    pub fn current() -> EddyTimer {
        EddyTimer {
            handle: TimerHandle::current(),
        }
    }

    /// The timer behind `handle`.
    ///
    /// ```
    /// eddy::run(async {
    ///     let _ = eddy_hyper::EddyTimer::new(eddy::time::TimerHandle::current());
    /// });
    /// ```
    pub fn new(handle: TimerHandle) -> EddyTimer {
        EddyTimer { handle }
    }
}

impl hyper::rt::Timer for EddyTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        let deadline = self
            .handle
            .now()
            .checked_add(duration)
            // "Never", as eddy's own `sleep(Duration::MAX)`.
            .unwrap_or_else(|| self.handle.now() + Duration::from_secs(86_400 * 365 * 30));
        self.sleep_until(deadline)
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(EddySleep(Sleep::new_in(&self.handle, deadline)))
    }

    fn now(&self) -> Instant {
        self.handle.now()
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        // Keep the registration (and its allocation) when it is ours.
        match sleep.as_mut().downcast_mut_pin::<EddySleep>() {
            Some(ours) => Pin::new(&mut ours.get_mut().0).reset(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

/// The sleep [`EddyTimer`] hands to hyper: an eddy [`Sleep`].
///
/// ```
/// use hyper::rt::Timer;
/// eddy::test::run(async {
///     let timer = eddy_hyper::EddyTimer::current();
///     let mut s = timer.sleep(std::time::Duration::from_millis(5));
///     assert!(s.as_mut().downcast_mut_pin::<eddy_hyper::EddySleep>().is_some());
///     s.await;
/// });
/// ```
#[derive(Debug)]
pub struct EddySleep(Sleep);

impl Future for EddySleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.get_mut().0).poll(cx)
    }
}

impl hyper::rt::Sleep for EddySleep {}
