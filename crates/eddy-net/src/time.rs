//! The timer is optional: sleeps and timeouts on the timer entered on the
//! calling thread, with a defined answer when there is none (the reactor
//! used alone).

use std::future::Future;
use std::io;
use std::time::Duration;

use eddy_timer::{Sleep, TimerHandle};

/// A sleep of `d` on the timer entered on this thread, or `None` when there
/// is none (the reactor used alone).
pub(crate) fn pause(d: Duration) -> Option<Sleep> {
    let timer = TimerHandle::try_current().ok()?;
    let now = timer.now();
    // A duration too large to add is "never" (about 30 years, as `sleep`).
    let deadline = now
        .checked_add(d)
        .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365 * 30));
    Some(Sleep::new_in(&timer, deadline))
}

/// Runs `fut`, failing with `TimedOut` after `timeout`; fails at once with
/// `Other` if no timer is entered on this thread (a timeout needs one).
pub(crate) async fn with_timeout<T>(
    fut: impl Future<Output = io::Result<T>>,
    timeout: Duration,
    what: &'static str,
) -> io::Result<T> {
    let Some(sleep) = pause(timeout) else {
        return Err(io::Error::other(format!(
            "{what}: a timeout needs a timer ({})",
            eddy_timer::TimerError::NoRuntime
        )));
    };
    futures_lite::future::or(fut, async {
        sleep.await;
        Err(io::Error::new(io::ErrorKind::TimedOut, what))
    })
    .await
}
