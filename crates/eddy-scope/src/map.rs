//! `map_concurrent`: bounded concurrency, results in input order.

use std::future::{Future, poll_fn};
use std::task::Poll;

use crate::set::FutureSet;

/// Calls `f` on every item and runs the resulting futures with at most
/// `limit` in flight at once, returning the outputs in input order.
///
/// This is the asyncio note's fix for over-concurrency (a `Semaphore` around
/// every task) as one call: items are started lazily, in order, as earlier
/// ones finish, so a million items never make a million futures at once. A
/// `limit` of 0 is treated as 1.
///
/// The futures run inside the current task (no spawning); to run them in
/// parallel on a multi-threaded runtime, have `f` spawn and return the task
/// handle.
///
/// # Panics
///
/// A panic in a future propagates, after the others are dropped.
///
/// # Cancellation
///
/// Dropping the future drops the futures in flight; items not yet started
/// are never started.
///
/// # Example
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::time::Duration;
///
/// eddy::run(async {
///     let in_flight = AtomicUsize::new(0);
///     let peak = AtomicUsize::new(0);
///     let out = eddy_scope::map_concurrent(1..=10u64, 3, |i| {
///         let (in_flight, peak) = (&in_flight, &peak);
///         async move {
///             let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
///             peak.fetch_max(now, Ordering::SeqCst);
///             eddy::sleep(Duration::from_millis(11 - i)).await;
///             in_flight.fetch_sub(1, Ordering::SeqCst);
///             i * 10
///         }
///     })
///     .await;
///     assert_eq!(out, (1..=10).map(|i| i * 10).collect::<Vec<_>>());
///     assert_eq!(peak.load(Ordering::SeqCst), 3);
/// });
/// ```
pub async fn map_concurrent<I, F, Fut>(items: I, limit: usize, mut f: F) -> Vec<Fut::Output>
where
    I: IntoIterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future,
{
    let limit = limit.max(1);
    let mut items = items.into_iter();
    let mut set = FutureSet::new();
    let mut out: Vec<Option<Fut::Output>> = Vec::new();
    let mut exhausted = false;
    poll_fn(|cx| {
        loop {
            while !exhausted && set.live() < limit {
                match items.next() {
                    Some(item) => {
                        set.push(f(item));
                        out.push(None);
                    }
                    None => exhausted = true,
                }
            }
            match set.poll_next(cx) {
                Poll::Ready(Some((i, Ok(v)))) => out[i] = Some(v),
                Poll::Ready(Some((_, Err(p)))) => set.drop_all_and_resume(p),
                Poll::Ready(None) => return Poll::Ready(()),
                Poll::Pending => return Poll::Pending,
            }
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

/// [`map_concurrent`] for fallible work: the first `Err` stops everything
/// (futures in flight are dropped, later items never start) and is
/// returned.
///
/// # Cancellation
///
/// As [`map_concurrent`].
///
/// ```
/// eddy::run(async {
///     let r = eddy_scope::try_map_concurrent(1..=5, 2, |i| async move {
///         if i == 3 { Err(format!("item {i}")) } else { Ok(i) }
///     })
///     .await;
///     assert_eq!(r, Err("item 3".to_string()));
/// });
/// ```
pub async fn try_map_concurrent<I, F, Fut, T, E>(
    items: I,
    limit: usize,
    mut f: F,
) -> Result<Vec<T>, E>
where
    I: IntoIterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let limit = limit.max(1);
    let mut items = items.into_iter();
    let mut set = FutureSet::new();
    let mut out: Vec<Option<T>> = Vec::new();
    let mut exhausted = false;
    poll_fn(|cx| {
        loop {
            while !exhausted && set.live() < limit {
                match items.next() {
                    Some(item) => {
                        set.push(f(item));
                        out.push(None);
                    }
                    None => exhausted = true,
                }
            }
            match set.poll_next(cx) {
                Poll::Ready(Some((i, Ok(Ok(v))))) => out[i] = Some(v),
                Poll::Ready(Some((_, Ok(Err(e))))) => return Poll::Ready(Err(e)),
                Poll::Ready(Some((_, Err(p)))) => set.drop_all_and_resume(p),
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
    })
    .await?;
    Ok(out.into_iter().flatten().collect())
}
