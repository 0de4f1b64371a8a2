//! `gather!`, `try_gather!`, `gather_all`, `try_gather_all`, `gather_settled`.

use std::fmt;
use std::future::{Future, poll_fn};
use std::iter::FromIterator;
use std::pin::{Pin, pin};
use std::task::{Context, Poll};

use eddy_core::Panic;
use pin_project_lite::pin_project;

use crate::set::FutureSet;

pin_project! {
    /// One input of a fixed-size gather: the future, then its output.
    #[project = MaybeDoneProj]
    #[project_replace = MaybeDoneReplace]
    #[doc(hidden)]
    pub enum MaybeDone<F: Future> {
        Running { #[pin] fut: F },
        Done { out: F::Output },
        Taken,
    }
}

impl<F: Future> MaybeDone<F> {
    #[doc(hidden)]
    pub fn new(fut: F) -> MaybeDone<F> {
        MaybeDone::Running { fut }
    }

    /// Polls the future if it is still running; `true` once it has an output
    /// (or the output was taken).
    #[doc(hidden)]
    pub fn poll_done(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> bool {
        let out = match self.as_mut().project() {
            MaybeDoneProj::Running { fut } => match fut.poll(cx) {
                Poll::Ready(out) => out,
                Poll::Pending => return false,
            },
            _ => return true,
        };
        // The finished future is dropped here, as soon as it completes, so
        // its resources are released without waiting for the slowest input.
        self.project_replace(MaybeDone::Done { out });
        true
    }

    /// `true` while the future has not completed.
    #[doc(hidden)]
    pub fn is_running(&self) -> bool {
        matches!(self, MaybeDone::Running { .. })
    }

    #[doc(hidden)]
    pub fn take(self: Pin<&mut Self>) -> Option<F::Output> {
        match self.project_replace(MaybeDone::Taken) {
            MaybeDoneReplace::Done { out } => Some(out),
            _ => None,
        }
    }
}

impl<T, E, F: Future<Output = Result<T, E>>> MaybeDone<F> {
    /// Takes the output if it is an error.
    #[doc(hidden)]
    pub fn take_err(self: Pin<&mut Self>) -> Option<E> {
        if !matches!(&*self, MaybeDone::Done { out: Err(_) }) {
            return None;
        }
        match self.project_replace(MaybeDone::Taken) {
            MaybeDoneReplace::Done { out: Err(e) } => Some(e),
            _ => None,
        }
    }
}

const TAKEN_TWICE: &str = "gather: an output was taken before every input completed";

macro_rules! impl_gather {
    ($name:ident, $try_name:ident; $($F:ident $T:ident $f:ident),+) => {
        #[doc(hidden)]
        #[allow(clippy::too_many_arguments)] // one per macro argument
        pub async fn $name<$($F: Future),+>($($f: $F),+) -> ($($F::Output,)+) {
            $( let mut $f = pin!(MaybeDone::new($f)); )+
            poll_fn(|cx| {
                let mut all = true;
                $( all &= $f.as_mut().poll_done(cx); )+
                if all { Poll::Ready(()) } else { Poll::Pending }
            })
            .await;
            ($( $f.as_mut().take().expect(TAKEN_TWICE), )+)
        }

        #[doc(hidden)]
        #[allow(clippy::too_many_arguments)] // one per macro argument
        pub async fn $try_name<$($F, $T,)+ Err>($($f: $F),+) -> Result<($($T,)+), Err>
        where
            $($F: Future<Output = Result<$T, Err>>,)+
        {
            $( let mut $f = pin!(MaybeDone::new($f)); )+
            poll_fn(|cx| {
                let mut all = true;
                $(
                    all &= $f.as_mut().poll_done(cx);
                    if let Some(e) = $f.as_mut().take_err() {
                        return Poll::Ready(Err(e));
                    }
                )+
                if all { Poll::Ready(Ok(())) } else { Poll::Pending }
            })
            .await?;
            Ok(($(
                match $f.as_mut().take().expect(TAKEN_TWICE) {
                    Ok(v) => v,
                    Err(e) => return Err(e),
                },
            )+))
        }
    };
}

impl_gather!(gather1, try_gather1; F0 T0 f0);
impl_gather!(gather2, try_gather2; F0 T0 f0, F1 T1 f1);
impl_gather!(gather3, try_gather3; F0 T0 f0, F1 T1 f1, F2 T2 f2);
impl_gather!(gather4, try_gather4; F0 T0 f0, F1 T1 f1, F2 T2 f2, F3 T3 f3);
impl_gather!(gather5, try_gather5; F0 T0 f0, F1 T1 f1, F2 T2 f2, F3 T3 f3, F4 T4 f4);
impl_gather!(gather6, try_gather6; F0 T0 f0, F1 T1 f1, F2 T2 f2, F3 T3 f3, F4 T4 f4, F5 T5 f5);
impl_gather!(gather7, try_gather7; F0 T0 f0, F1 T1 f1, F2 T2 f2, F3 T3 f3, F4 T4 f4, F5 T5 f5, F6 T6 f6);
impl_gather!(gather8, try_gather8; F0 T0 f0, F1 T1 f1, F2 T2 f2, F3 T3 f3, F4 T4 f4, F5 T5 f5, F6 T6 f6, F7 T7 f7);
impl_gather!(gather9, try_gather9; F0 T0 f0, F1 T1 f1, F2 T2 f2, F3 T3 f3, F4 T4 f4, F5 T5 f5, F6 T6 f6, F7 T7 f7, F8 T8 f8);
impl_gather!(gather10, try_gather10; F0 T0 f0, F1 T1 f1, F2 T2 f2, F3 T3 f3, F4 T4 f4, F5 T5 f5, F6 T6 f6, F7 T7 f7, F8 T8 f8, F9 T9 f9);
impl_gather!(gather11, try_gather11; F0 T0 f0, F1 T1 f1, F2 T2 f2, F3 T3 f3, F4 T4 f4, F5 T5 f5, F6 T6 f6, F7 T7 f7, F8 T8 f8, F9 T9 f9, F10 T10 f10);
impl_gather!(gather12, try_gather12; F0 T0 f0, F1 T1 f1, F2 T2 f2, F3 T3 f3, F4 T4 f4, F5 T5 f5, F6 T6 f6, F7 T7 f7, F8 T8 f8, F9 T9 f9, F10 T10 f10, F11 T11 f11);

/// Runs up to 12 futures concurrently and returns their outputs as a tuple,
/// in argument order (asyncio's `await asyncio.gather(a, b, c)`).
///
/// The futures run inside the current task, interleaved at their `.await`
/// points (like `futures::join!`): no task is spawned and nothing is
/// allocated. To run them in parallel on a multi-threaded runtime, spawn them
/// and gather the task handles (each gives `Result<T, JoinError>`), or use a
/// [`TaskGroup`](crate::TaskGroup).
///
/// A panic in one input propagates out of the `gather!` and drops the
/// others. For `Result` outputs where the first error should stop the rest,
/// use [`try_gather!`](crate::try_gather!); to keep every outcome in place, [`gather_settled`].
///
/// # Cancellation
///
/// Dropping the gather future drops every input still running (their
/// destructors run). Each input is dropped as soon as it completes.
///
/// # Example
///
/// ```
/// use std::time::Duration;
///
/// async fn fetch(url: &str, delay_ms: u64) -> String {
///     eddy::sleep(Duration::from_millis(delay_ms)).await;
///     format!("Got {url}")
/// }
///
/// eddy::run(async {
///     let (a, b, c) = eddy_scope::gather!(fetch("url1", 30), fetch("url2", 10), fetch("url3", 20)).await;
///     assert_eq!([a, b, c], ["Got url1", "Got url2", "Got url3"]); // input order
/// });
/// ```
#[macro_export]
macro_rules! gather {
    ($f0:expr $(,)?) => {
        $crate::__private::gather1($f0)
    };
    ($f0:expr, $f1:expr $(,)?) => {
        $crate::__private::gather2($f0, $f1)
    };
    ($f0:expr, $f1:expr, $f2:expr $(,)?) => {
        $crate::__private::gather3($f0, $f1, $f2)
    };
    ($f0:expr, $f1:expr, $f2:expr, $f3:expr $(,)?) => {
        $crate::__private::gather4($f0, $f1, $f2, $f3)
    };
    ($f0:expr, $f1:expr, $f2:expr, $f3:expr, $f4:expr $(,)?) => {
        $crate::__private::gather5($f0, $f1, $f2, $f3, $f4)
    };
    ($f0:expr, $f1:expr, $f2:expr, $f3:expr, $f4:expr, $f5:expr $(,)?) => {
        $crate::__private::gather6($f0, $f1, $f2, $f3, $f4, $f5)
    };
    ($f0:expr, $f1:expr, $f2:expr, $f3:expr, $f4:expr, $f5:expr, $f6:expr $(,)?) => {
        $crate::__private::gather7($f0, $f1, $f2, $f3, $f4, $f5, $f6)
    };
    ($f0:expr, $f1:expr, $f2:expr, $f3:expr, $f4:expr, $f5:expr, $f6:expr, $f7:expr $(,)?) => {
        $crate::__private::gather8($f0, $f1, $f2, $f3, $f4, $f5, $f6, $f7)
    };
    ($f0:expr, $f1:expr, $f2:expr, $f3:expr, $f4:expr, $f5:expr, $f6:expr, $f7:expr, $f8:expr $(,)?) => {
        $crate::__private::gather9($f0, $f1, $f2, $f3, $f4, $f5, $f6, $f7, $f8)
    };
    ($f0:expr, $f1:expr, $f2:expr, $f3:expr, $f4:expr, $f5:expr, $f6:expr, $f7:expr, $f8:expr, $f9:expr $(,)?) => {
        $crate::__private::gather10($f0, $f1, $f2, $f3, $f4, $f5, $f6, $f7, $f8, $f9)
    };
    ($f0:expr, $f1:expr, $f2:expr, $f3:expr, $f4:expr, $f5:expr, $f6:expr, $f7:expr, $f8:expr, $f9:expr, $f10:expr $(,)?) => {
        $crate::__private::gather11($f0, $f1, $f2, $f3, $f4, $f5, $f6, $f7, $f8, $f9, $f10)
    };
    ($f0:expr, $f1:expr, $f2:expr, $f3:expr, $f4:expr, $f5:expr, $f6:expr, $f7:expr, $f8:expr, $f9:expr, $f10:expr, $f11:expr $(,)?) => {
        $crate::__private::gather12($f0, $f1, $f2, $f3, $f4, $f5, $f6, $f7, $f8, $f9, $f10, $f11)
    };
}

/// Like [`gather!`](crate::gather!) for futures that return `Result<T, E>` (the same `E`):
/// `Ok` with the tuple of values once all succeed, or the first `Err` as
/// soon as it happens, dropping (cancelling) the inputs still running.
///
/// This is the Rust form of asyncio's "an exception in any awaitable is
/// re-raised at the gather site", without asyncio's leak: the other inputs
/// do not run on unobserved.
///
/// # Cancellation
///
/// As for [`gather!`](crate::gather!): dropping it drops every input still running.
///
/// # Example
///
/// ```
/// use std::time::Duration;
///
/// async fn step(ms: u64, fail: bool) -> Result<u64, String> {
///     eddy::sleep(Duration::from_millis(ms)).await;
///     if fail { Err(format!("step {ms} failed")) } else { Ok(ms) }
/// }
///
/// eddy::run(async {
///     let ok = eddy_scope::try_gather!(step(2, false), step(1, false)).await;
///     assert_eq!(ok, Ok((2, 1)));
///     let err = eddy_scope::try_gather!(step(50, false), step(1, true)).await;
///     assert_eq!(err, Err("step 1 failed".to_string()));
/// });
/// ```
#[macro_export]
macro_rules! try_gather {
    ($f0:expr $(,)?) => {
        $crate::__private::try_gather1($f0)
    };
    ($f0:expr, $f1:expr $(,)?) => {
        $crate::__private::try_gather2($f0, $f1)
    };
    ($f0:expr, $f1:expr, $f2:expr $(,)?) => {
        $crate::__private::try_gather3($f0, $f1, $f2)
    };
    ($f0:expr, $f1:expr, $f2:expr, $f3:expr $(,)?) => {
        $crate::__private::try_gather4($f0, $f1, $f2, $f3)
    };
    ($f0:expr, $f1:expr, $f2:expr, $f3:expr, $f4:expr $(,)?) => {
        $crate::__private::try_gather5($f0, $f1, $f2, $f3, $f4)
    };
    ($f0:expr, $f1:expr, $f2:expr, $f3:expr, $f4:expr, $f5:expr $(,)?) => {
        $crate::__private::try_gather6($f0, $f1, $f2, $f3, $f4, $f5)
    };
    ($f0:expr, $f1:expr, $f2:expr, $f3:expr, $f4:expr, $f5:expr, $f6:expr $(,)?) => {
        $crate::__private::try_gather7($f0, $f1, $f2, $f3, $f4, $f5, $f6)
    };
    ($f0:expr, $f1:expr, $f2:expr, $f3:expr, $f4:expr, $f5:expr, $f6:expr, $f7:expr $(,)?) => {
        $crate::__private::try_gather8($f0, $f1, $f2, $f3, $f4, $f5, $f6, $f7)
    };
    ($f0:expr, $f1:expr, $f2:expr, $f3:expr, $f4:expr, $f5:expr, $f6:expr, $f7:expr, $f8:expr $(,)?) => {
        $crate::__private::try_gather9($f0, $f1, $f2, $f3, $f4, $f5, $f6, $f7, $f8)
    };
    ($f0:expr, $f1:expr, $f2:expr, $f3:expr, $f4:expr, $f5:expr, $f6:expr, $f7:expr, $f8:expr, $f9:expr $(,)?) => {
        $crate::__private::try_gather10($f0, $f1, $f2, $f3, $f4, $f5, $f6, $f7, $f8, $f9)
    };
    ($f0:expr, $f1:expr, $f2:expr, $f3:expr, $f4:expr, $f5:expr, $f6:expr, $f7:expr, $f8:expr, $f9:expr, $f10:expr $(,)?) => {
        $crate::__private::try_gather11($f0, $f1, $f2, $f3, $f4, $f5, $f6, $f7, $f8, $f9, $f10)
    };
    ($f0:expr, $f1:expr, $f2:expr, $f3:expr, $f4:expr, $f5:expr, $f6:expr, $f7:expr, $f8:expr, $f9:expr, $f10:expr, $f11:expr $(,)?) => {
        $crate::__private::try_gather12(
            $f0, $f1, $f2, $f3, $f4, $f5, $f6, $f7, $f8, $f9, $f10, $f11,
        )
    };
}

/// Future returned by [`gather_all`].
///
/// ```
/// let all: eddy_scope::GatherAll<_> = eddy_scope::gather_all((1..=3).map(|i| async move { i * 10 }));
/// assert_eq!(eddy::run(all), [10, 20, 30]);
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct GatherAll<F: Future> {
    set: FutureSet<F>,
    out: Vec<Option<F::Output>>,
}

/// Runs every future of `iter` concurrently inside the current task and
/// returns their outputs in input order (asyncio's `gather(*coros)`).
///
/// Each input has its own waker, so a wake-up polls only the inputs that
/// were woken: gathering 10 000 sleeps costs 10 000 polls, not 10 000².
///
/// A panic in an input propagates (after the others are dropped); see
/// [`gather_settled`] to keep it as a value.
///
/// # Cancellation
///
/// Dropping the future drops every input still running.
///
/// # Example
///
/// ```
/// use std::time::Duration;
///
/// eddy::run(async {
///     let delays = [30u64, 10, 20];
///     let out = eddy_scope::gather_all(delays.iter().map(|&ms| async move {
///         eddy::sleep(Duration::from_millis(ms)).await;
///         ms
///     }))
///     .await;
///     assert_eq!(out, [30, 10, 20]);
/// });
/// ```
pub fn gather_all<I>(iter: I) -> GatherAll<I::Item>
where
    I: IntoIterator,
    I::Item: Future,
{
    let mut set = FutureSet::new();
    for f in iter {
        set.push(f);
    }
    let out = (0..set.live()).map(|_| None).collect();
    GatherAll { set, out }
}

// Outputs are stored, never pinned.
impl<F: Future> Unpin for GatherAll<F> {}

impl<F: Future> Future for GatherAll<F> {
    type Output = Vec<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            match this.set.poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some((i, Ok(v)))) => this.out[i] = Some(v),
                Poll::Ready(Some((_, Err(p)))) => this.set.drop_all_and_resume(p),
                Poll::Ready(None) => {
                    let out = std::mem::take(&mut this.out);
                    return Poll::Ready(out.into_iter().flatten().collect());
                }
            }
        }
    }
}

impl<F: Future> fmt::Debug for GatherAll<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatherAll")
            .field("running", &self.set.live())
            .finish()
    }
}

/// Future returned by [`try_gather_all`].
///
/// ```
/// let all: eddy_scope::TryGatherAll<_, _> = eddy_scope::try_gather_all(
///     (1..=3).map(|i| async move { if i == 2 { Err("two failed") } else { Ok(i) } }),
/// );
/// assert_eq!(eddy::run(all), Err("two failed"));
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct TryGatherAll<F, T> {
    set: FutureSet<F>,
    out: Vec<Option<T>>,
}

/// [`gather_all`] for fallible futures: every `Ok` value in input order, or
/// the first `Err` as soon as it happens, with the other inputs dropped
/// (cancelled) at once.
///
/// # Cancellation
///
/// Dropping the future drops every input still running.
///
/// # Example
///
/// ```
/// use std::time::Duration;
///
/// eddy::run(async {
///     let jobs = (1..=3u64).map(|i| async move {
///         eddy::sleep(Duration::from_millis(i)).await;
///         if i == 2 { Err(format!("job {i} failed")) } else { Ok(i) }
///     });
///     assert_eq!(eddy_scope::try_gather_all(jobs).await, Err("job 2 failed".to_string()));
/// });
/// ```
pub fn try_gather_all<I, T, E>(iter: I) -> TryGatherAll<I::Item, T>
where
    I: IntoIterator,
    I::Item: Future<Output = Result<T, E>>,
{
    let mut set = FutureSet::new();
    for f in iter {
        set.push(f);
    }
    let out = (0..set.live()).map(|_| None).collect();
    TryGatherAll { set, out }
}

impl<F, T> Unpin for TryGatherAll<F, T> {}

impl<F, T, E> Future for TryGatherAll<F, T>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Result<Vec<T>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            match this.set.poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some((i, Ok(Ok(v))))) => this.out[i] = Some(v),
                Poll::Ready(Some((_, Ok(Err(e))))) => {
                    // Cancel the rest now rather than when the future is dropped.
                    this.set = FutureSet::new();
                    return Poll::Ready(Err(e));
                }
                Poll::Ready(Some((_, Err(p)))) => this.set.drop_all_and_resume(p),
                Poll::Ready(None) => {
                    let out = std::mem::take(&mut this.out);
                    return Poll::Ready(Ok(out.into_iter().flatten().collect()));
                }
            }
        }
    }
}

impl<F, T> fmt::Debug for TryGatherAll<F, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryGatherAll").finish_non_exhaustive()
    }
}

/// Future returned by [`gather_settled`].
///
/// ```
/// let all: eddy_scope::GatherSettled<_> = eddy_scope::gather_settled(
///     [0, 1].map(|i| async move { if i == 1 { panic!("boom") } i }),
/// );
/// let out = eddy::run(all);
/// assert_eq!(*out[0].as_ref().unwrap(), 0);
/// assert_eq!(out[1].as_ref().err().unwrap().message(), Some("boom"));
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct GatherSettled<F: Future> {
    set: FutureSet<F>,
    out: Vec<Option<Result<F::Output, Panic>>>,
}

/// Every outcome, in input order: asyncio's `gather(..., return_exceptions=True)`.
///
/// Each element is `Ok(output)` (an output that is itself a `Result` keeps
/// its `Err` in place) or `Err(Panic)` for an input that panicked; no input
/// stops the others.
///
/// # Cancellation
///
/// Dropping the future drops every input still running.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use futures_lite::future::FutureExt;
///
/// async fn risky() -> Result<&'static str, String> {
///     eddy::sleep(Duration::from_millis(1)).await;
///     Err("Something went wrong".into())
/// }
///
/// async fn fine() -> Result<&'static str, String> {
///     eddy::sleep(Duration::from_millis(5)).await;
///     Ok("fine")
/// }
///
/// eddy::run(async {
///     let results = eddy_scope::gather_settled([risky().boxed(), fine().boxed()]).await;
///     for r in &results {
///         match r {
///             Ok(Err(e)) => println!("Error: {e}"),
///             Ok(Ok(v)) => println!("Result: {v}"),
///             Err(panic) => println!("Panicked: {panic:?}"),
///         }
///     }
///     assert!(matches!(results[0], Ok(Err(_))));
///     assert!(matches!(results[1], Ok(Ok("fine"))));
/// });
/// ```
pub fn gather_settled<I>(iter: I) -> GatherSettled<I::Item>
where
    I: IntoIterator,
    I::Item: Future,
{
    let mut set = FutureSet::new();
    for f in iter {
        set.push(f);
    }
    let out = (0..set.live()).map(|_| None).collect();
    GatherSettled { set, out }
}

impl<F: Future> Unpin for GatherSettled<F> {}

impl<F: Future> Future for GatherSettled<F> {
    type Output = Vec<Result<F::Output, Panic>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            match this.set.poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some((i, r))) => this.out[i] = Some(r),
                Poll::Ready(None) => {
                    let out = std::mem::take(&mut this.out);
                    return Poll::Ready(Vec::from_iter(out.into_iter().flatten()));
                }
            }
        }
    }
}

impl<F: Future> fmt::Debug for GatherSettled<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatherSettled")
            .field("running", &self.set.live())
            .finish()
    }
}
