//! A reusable [`Barrier`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use crate::waitlist::{Key, WaitList, WakeList, lock};

struct State {
    arrived: usize,
    generation: u64,
    waiters: WaitList<()>,
}

/// Lets `n` tasks wait until all of them have arrived, round after round
/// (asyncio's and tokio's `Barrier`).
///
/// The task whose arrival completes a round is told it is the leader
/// ([`BarrierWaitResult::is_leader`]); exactly one per round is.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// let barrier = Arc::new(eddy_sync::Barrier::new(3));
/// let threads: Vec<_> = (0..3)
///     .map(|_| {
///         let b = barrier.clone();
///         std::thread::spawn(move || futures_lite::future::block_on(b.wait()).is_leader())
///     })
///     .collect();
/// let leaders = threads.into_iter().map(|t| t.join().unwrap()).filter(|&l| l).count();
/// assert_eq!(leaders, 1);
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
            .field("arrived", &s.arrived)
            .field("generation", &s.generation)
            .finish()
    }
}

/// What [`Barrier::wait`] returns.
///
/// ```
/// let b = eddy_sync::Barrier::new(1);
/// assert!(futures_lite::future::block_on(b.wait()).is_leader());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// `true` for exactly one waiter per round: the one that completed it.
    ///
    /// ```
    /// let b = eddy_sync::Barrier::new(1);
    /// assert!(futures_lite::future::block_on(b.wait()).is_leader());
    /// ```
    pub fn is_leader(&self) -> bool {
        self.0
    }
}

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

    /// How many parties are waiting in the current round.
    ///
    /// ```
    /// assert_eq!(eddy_sync::Barrier::new(2).n_waiting(), 0);
    /// ```
    pub fn n_waiting(&self) -> usize {
        lock(&self.state).arrived
    }

    /// Arrives and waits for the round to fill.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before its round completes withdraws its arrival
    /// (the round still needs `n` live parties, as with asyncio's
    /// cancellation). Dropping it after the round completed changes nothing:
    /// the round is over for everyone. Nothing happens until first polled.
    ///
    /// ```
    /// let b = eddy_sync::Barrier::new(1);
    /// futures_lite::future::block_on(async {
    ///     assert!(b.wait().await.is_leader());
    ///     assert!(b.wait().await.is_leader()); // reusable
    /// });
    /// ```
    pub fn wait(&self) -> BarrierWait<'_> {
        BarrierWait {
            barrier: self,
            key: None,
        }
    }
}

/// Future returned by [`Barrier::wait`].
#[must_use = "futures do nothing unless polled"]
pub struct BarrierWait<'a> {
    barrier: &'a Barrier,
    key: Option<Key>,
}

impl fmt::Debug for BarrierWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarrierWait").finish_non_exhaustive()
    }
}

impl Future for BarrierWait<'_> {
    type Output = BarrierWaitResult;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<BarrierWaitResult> {
        let b = self.barrier;
        let mut wakes = WakeList::new();
        let mut s = lock(&b.state);
        match self.key {
            Some(key) => {
                if s.waiters.is_notified(key) {
                    s.waiters.remove(key);
                    self.key = None;
                    return Poll::Ready(BarrierWaitResult(false));
                }
                s.waiters.set_waker(key, cx.waker());
                Poll::Pending
            }
            None => {
                s.arrived += 1;
                if s.arrived == b.n {
                    s.arrived = 0;
                    s.generation += 1;
                    s.waiters.notify_all((), &mut wakes);
                    drop(s);
                    wakes.wake_all();
                    return Poll::Ready(BarrierWaitResult(true));
                }
                self.key = Some(s.waiters.push_back((), Some(cx.waker().clone())));
                Poll::Pending
            }
        }
    }
}

impl Drop for BarrierWait<'_> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        let mut s = lock(&self.barrier.state);
        if s.waiters.remove(key).is_none() {
            // Still waiting in an unfinished round: withdraw.
            s.arrived -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{CountingWaker, poll_once};

    #[test]
    fn dropped_waiter_withdraws() {
        let b = Barrier::new(2);
        let w = CountingWaker::new();
        let mut a = Box::pin(b.wait());
        assert!(poll_once(&mut a, &w.waker()).is_pending());
        drop(a);
        let mut c = Box::pin(b.wait());
        assert!(
            poll_once(&mut c, &w.waker()).is_pending(),
            "round must still need two"
        );
        let mut d = Box::pin(b.wait());
        assert_eq!(
            poll_once(&mut d, &w.waker()),
            Poll::Ready(BarrierWaitResult(true))
        );
        assert_eq!(
            poll_once(&mut c, &w.waker()),
            Poll::Ready(BarrierWaitResult(false))
        );
    }
}
