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

use super::{Shared, TaskGroup, TaskGroupHandle, cancel_child};
use crate::error::{CaughtPanic, ChildOutput, Failure, FailureKind, GroupError, is_cancellation};
use crate::set::lock;
use crate::timeout::deadline_after;

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

/// Where the body of the [`task_group_in`] form stands, for
/// [`Join::poll_children`].
pub(super) enum Body {
    /// Finished or dropped (or there is none): the group is done once its
    /// children are.
    Gone,
    /// Still running; if it was asked to finish, it is dropped at this
    /// deadline.
    Running(Option<Instant>),
}

impl Join {
    /// Reaps the children: turns overdue graceful cancellations hard and
    /// sleeps until the next one is due. `body` is asked about the body
    /// (given the time) on every round, and may drop it when its own grace
    /// has run out; the group is done when the children are and the body is
    /// [`Body::Gone`].
    pub(super) fn poll_children(
        &mut self,
        cx: &mut Context<'_>,
        body: &mut dyn FnMut(Option<Instant>) -> Body,
    ) -> Poll<Result<(), GroupError>> {
        let shared = &self.group.handle.shared;
        loop {
            let now = shared.now();
            let body = body(now);
            let next = {
                let mut st = lock(&shared.state);
                if !st.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    st.waker = Some(cx.waker().clone());
                }
                let mut next = match body {
                    Body::Gone if st.children.is_empty() => {
                        st.closed = true;
                        let failures = std::mem::take(&mut st.failures);
                        return Poll::Ready(if failures.is_empty() {
                            Ok(())
                        } else {
                            Err(GroupError { failures })
                        });
                    }
                    Body::Gone => None,
                    Body::Running(at) => at,
                };
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
        self.get_mut().poll_children(cx, &mut |_| Body::Gone)
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
///   every child succeeded (or was cancelled);
/// * `Ok(None)`: the group was ended with
///   [`cancel`](TaskGroupHandle::cancel) and the body was dropped before it
///   returned (or it returned a cancellation error, such as a cancelled
///   child's `ChildError::Cancelled` passed on with `?`);
/// * `Err(GroupError)`: the body or a child failed (returned `Err` or
///   panicked). Every other child and the body were cancelled and reaped
///   first; every failure is in the error, the body's marked
///   [`is_body`](crate::Failure::is_body).
///
/// The group has no grace period here; use
/// [`TaskGroup::with_grace`] and [`TaskGroup::run`] for one.
///
/// # Cancellation of the body
///
/// When a child fails or the group is cancelled, the body is cancelled like
/// the children: with no grace period (the default) it is dropped at its
/// current `.await`; with the group's grace ([`TaskGroup::with_grace`]) it
/// is asked to finish ([`TaskGroupHandle::cancelled`] resolves and
/// [`TaskGroupHandle::is_cancelling`] is true; under `eddy::task_group`,
/// `eddy::cancelled()` too), polled on while it awaits its cleanup, and
/// dropped if it has not returned when the grace runs out, whether or not it
/// looked at the request. If it fails while cleaning up, its error joins the
/// others.
///
/// # Cancellation
///
/// Dropping the future (for example when the enclosing task is cancelled,
/// or under a timeout) drops the body and cancels every child (without
/// grace: a destructor cannot wait): no child outlives the group. Nested
/// groups follow: an inner group dropped with its parent cancels its own
/// children.
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

impl TaskGroup {
    /// Runs `body` in this group and waits for it and every child; the
    /// same as [`task_group_in`] (see there for the result and the rules),
    /// on a group set up first, for example with a grace period for the
    /// children and the body: `TaskGroup::new_in(s).with_grace(d).run(body)`.
    ///
    /// # Errors
    ///
    /// A [`GroupError`] with every failure when the body or a child failed.
    ///
    /// # Cancellation
    ///
    /// As [`task_group_in`]: dropping the future drops the body and cancels
    /// every child without grace.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// eddy::run(async {
    ///     let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
    ///     let out = eddy_scope::TaskGroup::new_in(spawner)
    ///         .with_grace(Duration::from_secs(1))
    ///         .run(|tg| async move {
    ///             let stopper = tg.clone();
    ///             tg.spawn(async move { stopper.cancel() });
    ///             tg.cancelled().await; // asked to finish: clean up, then return
    ///             eddy::sleep(Duration::from_millis(5)).await;
    ///             Ok::<_, String>("closed cleanly")
    ///         })
    ///         .await;
    ///     assert_eq!(out.unwrap(), Some("closed cleanly"));
    /// });
    /// ```
    pub async fn run<B, Fut>(
        self,
        body: B,
    ) -> Result<Option<<Fut::Output as ChildOutput>::Ok>, GroupError>
    where
        B: FnOnce(TaskGroupHandle) -> Fut,
        Fut: Future,
        Fut::Output: ChildOutput,
    {
        run_body(self, body).await
    }
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
    // Set when the group's cancellation reaches the body: it is dropped
    // then if it is still running.
    let mut body_deadline: Option<Instant> = None;
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
        if let Some(mut b) = body.as_mut().as_pin_mut() {
            let now = shared.now();
            let cancelling = {
                let mut st = lock(&shared.state);
                // Registered before polling: a failure from now on wakes us.
                if !st.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    st.waker = Some(cx.waker().clone());
                }
                match (st.cancel.is_some(), now) {
                    (false, _) => Some(false),
                    // Asked to finish: within the group's grace it is polled
                    // on (seeing the request), after it, dropped.
                    (true, Some(now)) if !st.grace.is_zero() => {
                        let at =
                            *body_deadline.get_or_insert_with(|| deadline_after(now, st.grace));
                        (now < at).then_some(true)
                    }
                    (true, _) => None,
                }
            };
            let polled = cancelling.map(|requested| {
                catch_unwind(AssertUnwindSafe(|| {
                    if requested {
                        crate::probe::as_cancel_requested(&mut || b.as_mut().poll(cx))
                    } else {
                        b.as_mut().poll(cx)
                    }
                }))
            });
            let finished = match polled {
                Some(Ok(Poll::Pending)) => None,
                Some(Ok(Poll::Ready(v))) => Some(match v.into_result() {
                    Ok(v) => {
                        out = Some(v);
                        None
                    }
                    Err(e) => Some(FailureKind::Error(e)),
                }),
                Some(Err(payload)) => Some(Some(FailureKind::Panic(CaughtPanic::new(payload)))),
                // Cancelled by drop (no grace, or the grace ran out).
                None => Some(None),
            };
            if let Some(failure) = finished {
                // Done with the body; drop it before recording a failure so
                // its cleanup runs first.
                drop_body(body.as_mut(), &shared);
                if let Some(kind) = failure.filter(|k| !is_cancellation(k)) {
                    shared.record(body_failure(kind));
                }
            }
        }
        join.poll_children(cx, &mut |now| match body.as_mut().as_pin_mut() {
            None => Body::Gone,
            Some(_) => match (body_deadline, now) {
                (Some(at), Some(now)) if at <= now => {
                    drop_body(body.as_mut(), &shared);
                    Body::Gone
                }
                (at, _) => Body::Running(at),
            },
        })
    })
    .await?;
    Ok(out)
}

fn body_failure(kind: FailureKind) -> Failure {
    Failure {
        task: None,
        child: None,
        name: None,
        kind: Arc::new(kind),
    }
}

/// Drops the body; a panicking destructor is the body's failure.
fn drop_body<F>(mut body: Pin<&mut Option<F>>, shared: &Shared) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| body.set(None))) {
        shared.record(body_failure(FailureKind::Panic(CaughtPanic::new(payload))));
    }
}
