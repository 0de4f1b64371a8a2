//! Waiting for a group: [`Join`] and [`task_group_in`].

use std::fmt;
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use eddy_core::Spawn;
use eddy_timer::Sleep;

use super::{TaskGroup, TaskGroupHandle, cancel_child};
use crate::error::{CaughtPanic, ChildOutput, Failure, FailureKind, GroupError};
use crate::set::lock;

/// Future returned by [`TaskGroup::join`].
///
/// ```
/// # eddy::run(async {
/// # let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
/// let tg = eddy_scope::TaskGroup::new_in(spawner);
/// tg.spawn(async { eddy::yield_now().await });
/// let join: eddy_scope::Join = tg.join();
/// assert!(join.await.is_ok());
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Join {
    pub(super) group: TaskGroup,
    /// Sleeps until the next grace period runs out.
    pub(super) sleep: Option<Pin<Box<Sleep>>>,
}

impl Join {
    fn poll_children(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), GroupError>> {
        let shared = &self.group.handle.shared;
        loop {
            let now = shared.now();
            let next = {
                let mut st = lock(&shared.state);
                if !st.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    st.waker = Some(cx.waker().clone());
                }
                if st.children.is_empty() {
                    st.closed = true;
                    let failures = std::mem::take(&mut st.failures);
                    return Poll::Ready(if failures.is_empty() {
                        Ok(())
                    } else {
                        Err(GroupError { failures })
                    });
                }
                let mut next: Option<Instant> = None;
                for (_, c) in st.children.iter_mut() {
                    match (c.hard_at, now) {
                        (Some(at), Some(now)) if !c.hard && at <= now => c.cancel_hard(),
                        (Some(at), _) if !c.hard => next = Some(next.map_or(at, |n| n.min(at))),
                        _ => {}
                    }
                }
                next
            };
            let (Some(at), Some(timer)) = (next, shared.timer.as_ref()) else {
                return Poll::Pending;
            };
            let sleep = self
                .sleep
                .get_or_insert_with(|| Box::pin(Sleep::new_in(timer, at)));
            if sleep.deadline() != at {
                sleep.as_mut().reset(at);
            }
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
    }
}

impl Future for Join {
    type Output = Result<(), GroupError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().poll_children(cx)
    }
}

impl fmt::Debug for Join {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join").field("group", &self.group).finish()
    }
}

/// Runs `body` with a fresh task group and waits for it and every child:
/// the Rust form of `async with asyncio.TaskGroup() as tg:`.
///
/// `body` gets a [`TaskGroupHandle`] to spawn with. The result is:
///
/// * `Ok(Some(value))`: the body returned `value` (or `Ok(value)`) and
///   every child succeeded;
/// * `Ok(None)`: the group was ended with
///   [`cancel`](TaskGroupHandle::cancel) before the body returned (the
///   body's pending await was cancelled);
/// * `Err(GroupError)`: the body or a child failed (returned `Err` or
///   panicked). Every other child and the body's pending await were
///   cancelled and reaped first; every failure is in the error.
///
/// # Cancellation
///
/// Dropping the future (for example when the enclosing task is cancelled,
/// or under a timeout) drops the body and cancels every child: no child
/// outlives the group. Nested groups follow: an inner group dropped with its
/// parent cancels its own children.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// #[derive(Debug)]
/// struct ValueError(&'static str);
/// impl std::fmt::Display for ValueError {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.0) }
/// }
/// impl std::error::Error for ValueError {}
///
/// async fn risky() -> Result<(), ValueError> {
///     eddy::sleep(Duration::from_millis(100)).await;
///     Err(ValueError("Something went wrong"))
/// }
///
/// eddy::run(async {
///     let spawner = Arc::new(eddy::Handle::current().executor().clone());
///     let result = eddy_scope::task_group_in(spawner, |tg| async move {
///         tg.spawn(risky());
///         tg.spawn(eddy::sleep(Duration::from_secs(1))); // cancelled when risky fails
///     })
///     .await;
///     let eg = result.unwrap_err();
///     let (value_errors, rest) = eg.split::<ValueError>();
///     println!("Errors: {value_errors:?}");
///     assert_eq!(value_errors.len(), 1);
///     assert!(rest.is_none());
/// });
/// ```
pub async fn task_group_in<B, Fut>(
    spawner: Arc<dyn Spawn>,
    body: B,
) -> Result<Option<<Fut::Output as ChildOutput>::Ok>, GroupError>
where
    B: FnOnce(TaskGroupHandle) -> Fut,
    Fut: Future,
    Fut::Output: ChildOutput,
{
    let group = TaskGroup::new_in(spawner);
    run_body(group, body).await
}

pub(crate) async fn run_body<B, Fut>(
    group: TaskGroup,
    body: B,
) -> Result<Option<<Fut::Output as ChildOutput>::Ok>, GroupError>
where
    B: FnOnce(TaskGroupHandle) -> Fut,
    Fut: Future,
    Fut::Output: ChildOutput,
{
    let handle = group.handle();
    let shared = handle.shared.clone();
    let mut body = pin!(Some(body(handle)));
    let mut out = None;
    let mut join = group.join();
    let mut forwarded = false;
    poll_fn(|cx| {
        if !forwarded && crate::probe::outer_cancel_requested() {
            // The task running this group was asked to finish: pass the
            // request on to the children (each within its grace). The body
            // sees the request itself and decides what to do.
            forwarded = true;
            let now = shared.now();
            let mut st = lock(&shared.state);
            for (_, c) in st.children.iter_mut() {
                cancel_child(c, false, now);
            }
        }
        if let Some(b) = body.as_mut().as_pin_mut() {
            let polled = if lock(&shared.state).cancel.is_some() {
                None
            } else {
                Some(catch_unwind(AssertUnwindSafe(|| b.poll(cx))))
            };
            let failure = match polled {
                Some(Ok(Poll::Pending)) => {
                    // Be woken if a child fails while the body waits.
                    let mut st = lock(&shared.state);
                    if st.cancel.is_none() {
                        if !st.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                            st.waker = Some(cx.waker().clone());
                        }
                        return Poll::Pending;
                    }
                    None
                }
                Some(Ok(Poll::Ready(v))) => match v.into_result() {
                    Ok(v) => {
                        out = Some(v);
                        None
                    }
                    Err(e) => Some(FailureKind::Error(e)),
                },
                Some(Err(payload)) => Some(FailureKind::Panic(CaughtPanic::new(payload))),
                // The group is cancelling: cancel the body's pending await.
                None => None,
            };
            // Done with the body either way; drop it before recording a
            // failure so its cleanup runs first.
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| body.set(None))) {
                shared.record(Failure {
                    task: None,
                    child: None,
                    name: None,
                    kind: FailureKind::Panic(CaughtPanic::new(payload)),
                });
            }
            if let Some(kind) = failure {
                shared.record(Failure {
                    task: None,
                    child: None,
                    name: None,
                    kind,
                });
            }
        }
        join.poll_children(cx)
    })
    .await?;
    Ok(out)
}
