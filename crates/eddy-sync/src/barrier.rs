//! asyncio's [`Barrier`]: reusable, with `reset`, `abort` and arrival
//! indices.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use crate::waitlist::{Key, WaitList, WakeList, lock};

struct State {
    /// Parties waiting in the open round (asyncio's `n_waiting`).
    arrived: usize,
    broken: bool,
    /// Rounds completed; only for `Debug`.
    generation: u64,
    /// A notified slot carries `Some(index)` if its round completed, `None`
    /// if it was reset or aborted. The outcome is decided under the lock by
    /// whoever completes, resets or aborts the round, so a waiter that runs
    /// late still gets the answer of the moment it was released.
    waiters: WaitList<Option<usize>>,
}

/// Lets `parties` tasks wait until all of them have arrived, round after
/// round (asyncio's `Barrier`, with tokio's leader flag on top).
///
/// Each [`wait`](Self::wait) resolves to a [`BarrierWaitResult`] whose
/// [`index`](BarrierWaitResult::index) is unique within the round, and
/// exactly one party per round [`is_leader`](BarrierWaitResult::is_leader)
/// (the one whose arrival completed it). [`abort`](Self::abort) breaks the
/// barrier: every current and later `wait` fails with [`BrokenBarrier`]
/// until [`reset`](Self::reset), which also fails the parties of an
/// unfinished round and starts a fresh one.
///
/// # Differences from asyncio
///
/// * `reset` and `abort` are plain methods, not coroutines: nothing here
///   needs a lock held across an await.
/// * A round, once complete, is final. asyncio releases the waiters and
///   lets them drain through the condition's lock, so an `abort` or `reset`
///   that lands before a released task resumes turns its result into
///   `BrokenBarrierError`; here every party is handed its index at the
///   instant the round fills, and the next round can start filling at once
///   (asyncio makes newcomers wait for the drain; with the results already
///   handed over there is nothing to wait for).
/// * Indices are always a permutation of `0..parties`. CPython computes an
///   index from a counter that a cancelled waiter decrements, so a round
///   with a cancellation can hand the same index to two tasks.
/// * `Barrier::new(0)` behaves as `Barrier::new(1)` (as in tokio) instead of
///   raising.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// let barrier = Arc::new(eddy_sync::Barrier::new(3));
/// let threads: Vec<_> = (0..3)
///     .map(|_| {
///         let b = barrier.clone();
///         std::thread::spawn(move || futures_lite::future::block_on(b.wait()).unwrap())
///     })
///     .collect();
/// let mut results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
/// results.sort_by_key(|r| r.index());
/// let indices: Vec<_> = results.iter().map(|r| r.index()).collect();
/// assert_eq!(indices, [0, 1, 2]);
/// let leaders: Vec<_> = results.iter().filter(|r| r.is_leader()).collect();
/// assert_eq!(leaders.len(), 1);
/// assert_eq!(leaders[0].index(), 2); // the last to arrive leads
/// ```
pub struct Barrier {
    n: usize,
    state: Mutex<State>,
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = lock(&self.state);
        f.debug_struct("Barrier")
            .field("parties", &self.n)
            .field("n_waiting", &s.arrived)
            .field("broken", &s.broken)
            .field("generation", &s.generation)
            .finish()
    }
}

/// What a successful [`Barrier::wait`] returns: this party's place in its
/// round.
///
/// ```
/// let b = eddy_sync::Barrier::new(1);
/// let r = futures_lite::future::block_on(b.wait()).unwrap();
/// assert_eq!((r.index(), r.is_leader()), (0, true));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarrierWaitResult {
    index: usize,
    leader: bool,
}

impl BarrierWaitResult {
    /// The arrival index (asyncio's return value of `wait()`): `0` for the
    /// first party of the round to arrive, `parties - 1` for the last.
    ///
    /// Parties that withdrew (their `wait` future was dropped) before the
    /// round filled do not count, so the indices of a round are always
    /// exactly `0..parties`, each handed out once.
    ///
    /// ```
    /// use std::task::{Context, Poll, Waker};
    /// let b = eddy_sync::Barrier::new(2);
    /// let mut first = Box::pin(b.wait());
    /// let cx = &mut Context::from_waker(Waker::noop());
    /// assert!(first.as_mut().poll(cx).is_pending()); // arrives first
    /// let last = futures_lite::future::block_on(b.wait()).unwrap();
    /// assert_eq!(last.index(), 1);
    /// let Poll::Ready(Ok(first)) = first.as_mut().poll(cx) else { panic!() };
    /// assert_eq!(first.index(), 0);
    /// ```
    pub fn index(&self) -> usize {
        self.index
    }

    /// `true` for exactly one party per round: the one whose arrival
    /// completed it, i.e. the one with `index() == parties - 1` (tokio's
    /// leader). Useful to run a step once per round.
    ///
    /// ```
    /// let b = eddy_sync::Barrier::new(1);
    /// assert!(futures_lite::future::block_on(b.wait()).unwrap().is_leader());
    /// ```
    pub fn is_leader(&self) -> bool {
        self.leader
    }
}

/// The barrier was [`reset`](Barrier::reset) while this party waited, or is
/// [`abort`](Barrier::abort)ed (asyncio's `BrokenBarrierError`).
///
/// ```
/// let b = eddy_sync::Barrier::new(2);
/// b.abort();
/// let err = futures_lite::future::block_on(b.wait()).unwrap_err();
/// assert_eq!(err, eddy_sync::BrokenBarrier::default());
/// assert_eq!(err.to_string(), "barrier broken (reset or aborted)");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BrokenBarrier(());

impl fmt::Display for BrokenBarrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("barrier broken (reset or aborted)")
    }
}

impl std::error::Error for BrokenBarrier {}

impl Barrier {
    /// A barrier for `n` parties (`0` behaves as `1`, as in tokio).
    ///
    /// ```
    /// assert_eq!(eddy_sync::Barrier::new(4).parties(), 4);
    /// ```
    pub fn new(n: usize) -> Self {
        Barrier {
            n: n.max(1),
            state: Mutex::new(State {
                arrived: 0,
                broken: false,
                generation: 0,
                waiters: WaitList::new(),
            }),
        }
    }

    /// How many parties each round needs.
    ///
    /// ```
    /// assert_eq!(eddy_sync::Barrier::new(2).parties(), 2);
    /// ```
    pub fn parties(&self) -> usize {
        self.n
    }

    /// How many parties are waiting in the current round (`0` while
    /// broken: an aborted barrier holds no one).
    ///
    /// ```
    /// assert_eq!(eddy_sync::Barrier::new(2).n_waiting(), 0);
    /// ```
    pub fn n_waiting(&self) -> usize {
        lock(&self.state).arrived
    }

    /// Whether the barrier is [`abort`](Self::abort)ed (and not
    /// [`reset`](Self::reset) since).
    ///
    /// ```
    /// let b = eddy_sync::Barrier::new(2);
    /// b.abort();
    /// assert!(b.broken());
    /// b.reset();
    /// assert!(!b.broken());
    /// ```
    pub fn broken(&self) -> bool {
        lock(&self.state).broken
    }

    /// Arrives and waits for the round to fill.
    ///
    /// The party arrives on the future's first poll, not when `wait` is
    /// called. The party that completes the round gets its result at once
    /// and wakes the others.
    ///
    /// # Errors
    ///
    /// [`BrokenBarrier`] if the barrier is aborted on arrival, or is reset or
    /// aborted before the round fills.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe. Dropping the future before its round completes withdraws
    /// its arrival: [`n_waiting`](Self::n_waiting) goes down and the round
    /// still needs `parties` live arrivals (as a cancelled asyncio waiter
    /// leaves). Dropping it after the round completed (or after it was
    /// broken) changes nothing for anyone else: the round's outcome was
    /// fixed when it happened, only this party's result is discarded.
    ///
    /// ```
    /// let b = eddy_sync::Barrier::new(1);
    /// futures_lite::future::block_on(async {
    ///     assert!(b.wait().await.unwrap().is_leader());
    ///     assert!(b.wait().await.unwrap().is_leader()); // reusable
    /// });
    /// ```
    pub fn wait(&self) -> BarrierWait<'_> {
        BarrierWait {
            barrier: self,
            stage: Stage::Idle,
        }
    }

    /// Fails the parties of the unfinished round with [`BrokenBarrier`] and
    /// returns the barrier to its initial, unbroken state (asyncio's
    /// `reset()`). Parties arriving afterwards form a fresh round.
    ///
    /// ```
    /// use std::task::{Context, Poll, Waker};
    /// let b = eddy_sync::Barrier::new(2);
    /// let mut early = Box::pin(b.wait());
    /// let cx = &mut Context::from_waker(Waker::noop());
    /// assert!(early.as_mut().poll(cx).is_pending());
    /// b.reset();
    /// assert!(matches!(early.as_mut().poll(cx), Poll::Ready(Err(_))));
    /// assert_eq!(b.n_waiting(), 0);
    /// assert!(!b.broken());
    /// ```
    pub fn reset(&self) {
        let mut wakes = WakeList::new();
        {
            let mut s = lock(&self.state);
            s.waiters.notify_all(None, &mut wakes);
            s.arrived = 0;
            s.broken = false;
        }
        wakes.wake_all();
    }

    /// Breaks the barrier (asyncio's `abort()`): the parties waiting now,
    /// and every later [`wait`](Self::wait), fail with [`BrokenBarrier`]
    /// until [`reset`](Self::reset).
    ///
    /// ```
    /// let b = eddy_sync::Barrier::new(1);
    /// b.abort();
    /// assert!(futures_lite::future::block_on(b.wait()).is_err());
    /// b.reset();
    /// assert!(futures_lite::future::block_on(b.wait()).is_ok());
    /// ```
    pub fn abort(&self) {
        let mut wakes = WakeList::new();
        {
            let mut s = lock(&self.state);
            s.waiters.notify_all(None, &mut wakes);
            s.arrived = 0;
            s.broken = true;
        }
        wakes.wake_all();
    }
}

enum Stage {
    Idle,
    Waiting(Key),
    Done,
}

/// Future returned by [`Barrier::wait`].
///
/// Dropping it before the round completes withdraws the arrival; see
/// [`Barrier::wait`].
#[must_use = "futures do nothing unless polled"]
pub struct BarrierWait<'a> {
    barrier: &'a Barrier,
    stage: Stage,
}

impl fmt::Debug for BarrierWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarrierWait").finish_non_exhaustive()
    }
}

impl Future for BarrierWait<'_> {
    type Output = Result<BarrierWaitResult, BrokenBarrier>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let b = self.barrier;
        let mut wakes = WakeList::new();
        let mut s = lock(&b.state);
        match self.stage {
            Stage::Waiting(key) => {
                if !s.waiters.is_notified(key) {
                    s.waiters.set_waker(key, cx.waker());
                    return Poll::Pending;
                }
                let index = s.waiters.remove(key).flatten();
                drop(s);
                self.stage = Stage::Done;
                Poll::Ready(match index {
                    Some(index) => Ok(BarrierWaitResult {
                        index,
                        leader: false,
                    }),
                    None => Err(BrokenBarrier(())),
                })
            }
            Stage::Idle => {
                if s.broken {
                    drop(s);
                    self.stage = Stage::Done;
                    return Poll::Ready(Err(BrokenBarrier(())));
                }
                s.arrived += 1;
                if s.arrived < b.n {
                    let key = s.waiters.push_back(None, Some(cx.waker().clone()));
                    self.stage = Stage::Waiting(key);
                    return Poll::Pending;
                }
                // The queue holds exactly the round's other parties, oldest
                // first, so FIFO order is arrival order.
                for index in 0..b.n - 1 {
                    let notified = s.waiters.notify_front(Some(index), &mut wakes);
                    debug_assert!(notified, "barrier count and queue disagree");
                }
                s.arrived = 0;
                s.generation += 1;
                drop(s);
                wakes.wake_all();
                self.stage = Stage::Done;
                Poll::Ready(Ok(BarrierWaitResult {
                    index: b.n - 1,
                    leader: true,
                }))
            }
            Stage::Done => panic!("BarrierWait polled after completion"),
        }
    }
}

impl Drop for BarrierWait<'_> {
    fn drop(&mut self) {
        let Stage::Waiting(key) = self.stage else {
            return;
        };
        let mut s = lock(&self.barrier.state);
        if s.waiters.remove(key).is_none() {
            // Still queued, so the round it joined is still open: withdraw.
            s.arrived -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{CountingWaker, poll_once};

    fn released(index: usize, leader: bool) -> Poll<Result<BarrierWaitResult, BrokenBarrier>> {
        Poll::Ready(Ok(BarrierWaitResult { index, leader }))
    }

    #[test]
    fn dropped_waiter_withdraws() {
        let b = Barrier::new(2);
        let w = CountingWaker::new();
        let mut a = Box::pin(b.wait());
        assert!(poll_once(&mut a, &w.waker()).is_pending());
        assert_eq!(b.n_waiting(), 1);
        drop(a);
        assert_eq!(b.n_waiting(), 0);
        let mut c = Box::pin(b.wait());
        assert!(
            poll_once(&mut c, &w.waker()).is_pending(),
            "round must still need two"
        );
        let mut d = Box::pin(b.wait());
        assert_eq!(poll_once(&mut d, &w.waker()), released(1, true));
        assert_eq!(poll_once(&mut c, &w.waker()), released(0, false));
    }

    #[test]
    fn withdrawal_mid_round_keeps_indices_unique() {
        let b = Barrier::new(3);
        let w = CountingWaker::new();
        let mut a = Box::pin(b.wait());
        let mut c = Box::pin(b.wait());
        let mut d = Box::pin(b.wait());
        assert!(poll_once(&mut a, &w.waker()).is_pending());
        assert!(poll_once(&mut c, &w.waker()).is_pending());
        drop(a);
        assert!(poll_once(&mut d, &w.waker()).is_pending());
        let mut e = Box::pin(b.wait());
        assert_eq!(poll_once(&mut e, &w.waker()), released(2, true));
        assert_eq!(poll_once(&mut c, &w.waker()), released(0, false));
        assert_eq!(poll_once(&mut d, &w.waker()), released(1, false));
    }

    #[test]
    fn dropping_a_released_waiter_does_not_touch_the_next_round() {
        let b = Barrier::new(2);
        let w = CountingWaker::new();
        let mut a = Box::pin(b.wait());
        assert!(poll_once(&mut a, &w.waker()).is_pending());
        let mut c = Box::pin(b.wait());
        assert!(poll_once(&mut c, &w.waker()).is_ready());
        let mut next = Box::pin(b.wait());
        assert!(poll_once(&mut next, &w.waker()).is_pending());
        drop(a); // released but never observed it
        assert_eq!(b.n_waiting(), 1);
    }

    #[test]
    fn abort_fails_current_and_later_waiters_until_reset() {
        let b = Barrier::new(2);
        let w = CountingWaker::new();
        let mut a = Box::pin(b.wait());
        assert!(poll_once(&mut a, &w.waker()).is_pending());
        b.abort();
        assert_eq!(w.count(), 1);
        assert_eq!(b.n_waiting(), 0);
        assert_eq!(
            poll_once(&mut a, &w.waker()),
            Poll::Ready(Err(BrokenBarrier(())))
        );
        let mut late = Box::pin(b.wait());
        assert_eq!(
            poll_once(&mut late, &w.waker()),
            Poll::Ready(Err(BrokenBarrier(())))
        );
        b.reset();
        let mut fresh = Box::pin(b.wait());
        assert!(poll_once(&mut fresh, &w.waker()).is_pending());
        assert_eq!(b.n_waiting(), 1);
    }

    #[test]
    #[should_panic(expected = "polled after completion")]
    fn polling_after_completion_panics() {
        let b = Barrier::new(1);
        let w = CountingWaker::new();
        let mut a = Box::pin(b.wait());
        assert!(poll_once(&mut a, &w.waker()).is_ready());
        let _ = poll_once(&mut a, &w.waker());
    }
}
