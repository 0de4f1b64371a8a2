//! `wait`, `as_completed`, `race`, `race_all` and `select`.

use std::fmt;
use std::future::{Future, poll_fn};
use std::panic::resume_unwind;
use std::pin::{Pin, pin};
use std::task::{Context, Poll};
use std::time::Duration;

use eddy_timer::{Sleep, TimerHandle};
use futures_lite::Stream;
use pin_project_lite::pin_project;

use crate::set::FutureSet;
use crate::timeout::deadline_after;

/// When [`wait`] returns (asyncio's `return_when`).
///
/// ```
/// use eddy_scope::{WaitMode, wait};
///
/// async fn job(finishes: bool, v: u32) -> Result<u32, String> {
///     if !finishes {
///         std::future::pending::<()>().await;
///     }
///     Ok(v)
/// }
/// eddy::run(async {
///     let jobs = [Box::pin(job(false, 1)), Box::pin(job(true, 2))];
///     let w = wait(jobs, WaitMode::FirstCompleted, None).await;
///     assert_eq!(w.done, [(1, Ok(2))]);
///     assert_eq!(w.pending.len(), 1);
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WaitMode {
    /// As soon as any input completes (`FIRST_COMPLETED`).
    FirstCompleted,
    /// As soon as any input completes with `Err`, or when all have completed
    /// (`FIRST_EXCEPTION`).
    FirstError,
    /// When every input has completed (`ALL_COMPLETED`).
    AllCompleted,
}

/// What [`wait`] returns: the completed inputs with their outputs, and the
/// inputs still running, each with its position in the input.
///
/// ```
/// use std::time::Duration;
/// use eddy_scope::{WaitMode, Waited, wait};
///
/// async fn job(finishes: bool, v: u32) -> Result<u32, String> {
///     if !finishes {
///         std::future::pending::<()>().await;
///     }
///     Ok(v)
/// }
/// eddy::run(async {
///     let jobs = [Box::pin(job(true, 1)), Box::pin(job(false, 2))];
///     let w: Waited<_> = wait(jobs, WaitMode::AllCompleted, Some(Duration::from_millis(5))).await;
///     assert_eq!(w.done, [(0, Ok(1))]); // the timeout passed first
///     assert_eq!(w.pending.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [1]);
/// });
/// ```
#[derive(Debug)]
pub struct Waited<F: Future> {
    /// Completed inputs, in completion order: `(input index, output)`.
    pub done: Vec<(usize, F::Output)>,
    /// Inputs that had not completed, in input order: `(input index, future)`.
    /// They are handed back untouched; drop them to cancel them, keep
    /// polling them to let them finish.
    pub pending: Vec<(usize, F)>,
}

/// Waits for some of `futures` to complete, asyncio's `asyncio.wait`: returns
/// `(done, pending)` when `mode` is satisfied or `timeout` passes, whichever
/// comes first. Nothing is cancelled: the pending inputs are handed back.
///
/// The inputs are polled inside the current task. They must be `Unpin` to be
/// handed back; task handles are, other futures can be boxed
/// (`FutureExt::boxed`). An empty input returns at once.
///
/// # Panics
///
/// With `Some(timeout)` outside an eddy runtime (no timer on this thread).
/// A panic in an input propagates.
///
/// # Cancellation
///
/// Dropping the future drops every input.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use eddy_scope::{WaitMode, wait};
///
/// eddy::run(async {
///     let tasks: Vec<_> = [30u64, 10, 20]
///         .into_iter()
///         .map(|ms| eddy::spawn(async move {
///             eddy::sleep(Duration::from_millis(ms)).await;
///             ms
///         }))
///         .collect();
///     let w = wait(tasks, WaitMode::FirstCompleted, None).await;
///     assert_eq!(w.done.len(), 1);
///     assert_eq!(w.done[0].0, 1); // the 10 ms task
///     assert_eq!(w.pending.len(), 2);
///     let rest = wait(w.pending.into_iter().map(|(_, t)| t), WaitMode::AllCompleted, None).await;
///     assert_eq!(rest.done.len(), 2);
/// });
/// ```
pub async fn wait<I, F, T, E>(futures: I, mode: WaitMode, timeout: Option<Duration>) -> Waited<F>
where
    I: IntoIterator<Item = F>,
    F: Future<Output = Result<T, E>> + Unpin,
{
    let mut set = FutureSet::new();
    for f in futures {
        set.push(f);
    }
    let mut sleep = pin!(timeout.map(|d| {
        let h = TimerHandle::current();
        Sleep::new_in(&h, deadline_after(h.now(), d))
    }));
    let mut done = Vec::new();
    poll_fn(|cx| {
        loop {
            match set.poll_next(cx) {
                Poll::Ready(Some((i, Ok(v)))) => {
                    let stop = match mode {
                        WaitMode::FirstCompleted => true,
                        WaitMode::FirstError => v.is_err(),
                        WaitMode::AllCompleted => false,
                    };
                    done.push((i, v));
                    if stop {
                        return Poll::Ready(());
                    }
                }
                Poll::Ready(Some((_, Err(p)))) => resume_unwind(p.into_payload()),
                Poll::Ready(None) => return Poll::Ready(()),
                Poll::Pending => break,
            }
        }
        match sleep.as_mut().as_pin_mut().map(|s| s.poll(cx)) {
            Some(Poll::Ready(())) => Poll::Ready(()),
            _ => Poll::Pending,
        }
    })
    .await;
    let live: Vec<usize> = set.live_indices().collect();
    let pending = live
        .into_iter()
        .filter_map(|i| set.remove(i).map(|f| (i, *Pin::into_inner(f))))
        .collect();
    Waited { done, pending }
}

/// A [`Stream`] of outputs in completion order; see [`as_completed`].
///
/// ```
/// use futures_lite::StreamExt;
///
/// async fn after_yields(n: u32) -> u32 {
///     for _ in 0..n {
///         eddy::yield_now().await;
///     }
///     n
/// }
/// let done: eddy_scope::AsCompleted<_> = eddy_scope::as_completed([3, 0, 1].map(after_yields));
/// assert_eq!(eddy::run(done.collect::<Vec<_>>()), [0, 1, 3]);
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct AsCompleted<F> {
    set: FutureSet<F>,
}

/// Yields the outputs of `futures` as they complete (asyncio's
/// `as_completed`), polling them concurrently inside the current task.
///
/// To know which input an output came from, tag it:
/// `as_completed(items.map(|(i, f)| async move { (i, f.await) }))`.
///
/// # Panics
///
/// A panic in an input propagates out of the stream's `poll_next`.
///
/// # Cancellation
///
/// Dropping the stream drops every input still running.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use futures_lite::StreamExt;
///
/// eddy::run(async {
///     let order: Vec<u64> = eddy_scope::as_completed([30u64, 10, 20].map(|ms| async move {
///         eddy::sleep(Duration::from_millis(ms)).await;
///         ms
///     }))
///     .collect()
///     .await;
///     assert_eq!(order, [10, 20, 30]);
/// });
/// ```
pub fn as_completed<I>(futures: I) -> AsCompleted<I::Item>
where
    I: IntoIterator,
    I::Item: Future,
{
    let mut set = FutureSet::new();
    for f in futures {
        set.push(f);
    }
    AsCompleted { set }
}

impl<F: Future> Stream for AsCompleted<F> {
    type Item = F::Output;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<F::Output>> {
        match self.get_mut().set.poll_next(cx) {
            Poll::Ready(Some((_, Ok(v)))) => Poll::Ready(Some(v)),
            Poll::Ready(Some((_, Err(p)))) => resume_unwind(p.into_payload()),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.set.live(), Some(self.set.live()))
    }
}

impl<F> fmt::Debug for AsCompleted<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted").finish_non_exhaustive()
    }
}

/// The output of [`select`]: which side finished first.
///
/// ```
/// use eddy_scope::{Either, select};
///
/// eddy::run(async {
///     assert_eq!(select(std::future::pending::<u8>(), async { "b" }).await, Either::Right("b"));
///     // Both ready at once: the first wins.
///     assert_eq!(select(async { 1 }, async { "b" }).await, Either::Left(1));
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Either<A, B> {
    /// The first future finished first.
    Left(A),
    /// The second future finished first.
    Right(B),
}

pin_project! {
    /// Future returned by [`select`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use eddy_scope::{Either, Select, select};
    ///
    /// eddy::run(async {
    ///     let s: Select<_, _> = select(eddy::sleep(Duration::from_secs(10)), async { "quick" });
    ///     assert_eq!(s.await, Either::Right("quick")); // the sleep is dropped
    /// });
    /// ```
    #[must_use = "futures do nothing unless awaited"]
    #[derive(Debug)]
    pub struct Select<A, B> {
        #[pin]
        a: A,
        #[pin]
        b: B,
    }
}

/// Runs two futures concurrently and returns the output of the first to
/// finish; the other is dropped (cancelled). When both are ready on the
/// same poll, `a` wins: the order is deterministic.
///
/// # Cancellation
///
/// Dropping the future drops both inputs.
///
/// ```
/// use std::time::Duration;
/// use eddy_scope::{Either, select};
///
/// eddy::run(async {
///     let slow = eddy::sleep(Duration::from_secs(10));
///     let fast = async { eddy::sleep(Duration::from_millis(1)).await; "fast" };
///     assert_eq!(select(slow, fast).await, Either::Right("fast"));
/// });
/// ```
pub fn select<A: Future, B: Future>(a: A, b: B) -> Select<A, B> {
    Select { a, b }
}

impl<A: Future, B: Future> Future for Select<A, B> {
    type Output = Either<A::Output, B::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(v) = this.a.poll(cx) {
            return Poll::Ready(Either::Left(v));
        }
        this.b.poll(cx).map(Either::Right)
    }
}

/// [`select`] for two futures with the same output: the first output wins.
///
/// # Cancellation
///
/// Dropping the future drops both inputs; the loser is dropped when the
/// winner completes.
///
/// ```
/// use std::time::Duration;
///
/// async fn mirror(ms: u64, name: &'static str) -> &'static str {
///     eddy::sleep(Duration::from_millis(ms)).await;
///     name
/// }
///
/// eddy::run(async {
///     assert_eq!(eddy_scope::race(mirror(20, "eu"), mirror(5, "us")).await, "us");
/// });
/// ```
pub async fn race<T, A, B>(a: A, b: B) -> T
where
    A: Future<Output = T>,
    B: Future<Output = T>,
{
    match select(a, b).await {
        Either::Left(v) | Either::Right(v) => v,
    }
}

/// The first of many futures to complete: `Some((index, output))`, or `None`
/// for an empty input. The others are dropped (cancelled).
///
/// # Cancellation
///
/// Dropping the future drops every input.
///
/// ```
/// use std::time::Duration;
///
/// eddy::run(async {
///     let mirrors = [30u64, 5, 20].map(|ms| async move {
///         eddy::sleep(Duration::from_millis(ms)).await;
///         ms
///     });
///     assert_eq!(eddy_scope::race_all(mirrors).await, Some((1, 5)));
/// });
/// ```
pub async fn race_all<I>(futures: I) -> Option<(usize, <I::Item as Future>::Output)>
where
    I: IntoIterator,
    I::Item: Future,
{
    let mut set = FutureSet::new();
    for f in futures {
        set.push(f);
    }
    match poll_fn(|cx| set.poll_next(cx)).await {
        Some((i, Ok(v))) => Some((i, v)),
        Some((_, Err(p))) => resume_unwind(p.into_payload()),
        None => None,
    }
}
