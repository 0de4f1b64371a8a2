//! Per-source readiness state and the wakers waiting on it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

/// One direction of readiness.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

impl Direction {
    fn bit(self) -> u64 {
        match self {
            Direction::Read => READABLE,
            Direction::Write => WRITABLE,
        }
    }

    /// The bits a `WouldBlock` in this direction proves stale.
    fn clear_bits(self) -> u64 {
        match self {
            Direction::Read => READABLE | READ_CLOSED,
            Direction::Write => WRITABLE,
        }
    }
}

/// Readiness bits live in the low three bits of [`Source::state`]; the rest
/// is the event tick, bumped by every dispatched event for this source.
pub(crate) const READABLE: u64 = 0b001;
pub(crate) const WRITABLE: u64 = 0b010;
/// The last readable edge also reported a close or an error (`EPOLLRDHUP`,
/// `EPOLLHUP`, `EPOLLERR`): whatever the next read returns, it will not block
/// on an event that is still to come. Only ever set together with
/// [`READABLE`]; a short read leaves both set (see [`Source::clear_drained`]),
/// a `WouldBlock` clears both.
pub(crate) const READ_CLOSED: u64 = 0b100;
const READY_MASK: u64 = READABLE | WRITABLE;
const BITS_MASK: u64 = READABLE | WRITABLE | READ_CLOSED;
const TICK_SHIFT: u32 = 3;
const TICK_ONE: u64 = 1 << TICK_SHIFT;

/// The tasks waiting on one direction.
///
/// Almost always there is exactly one waiter (the task that owns the socket),
/// so it gets an inline slot; further distinct waiters go to `rest`, whose
/// capacity is kept across waits so that steady state does not allocate.
#[derive(Default)]
pub(crate) struct Waiters {
    first: Option<Waker>,
    rest: Vec<Waker>,
}

impl Waiters {
    fn register(&mut self, waker: &Waker) {
        match &mut self.first {
            None => self.first = Some(waker.clone()),
            // `clone_from` skips the refcount traffic when it is the same task.
            Some(w) if w.will_wake(waker) => {}
            Some(_) => {
                if !self.rest.iter().any(|w| w.will_wake(waker)) {
                    self.rest.push(waker.clone());
                }
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.first.is_none() && self.rest.is_empty()
    }

    fn drain_into(&mut self, out: &mut Vec<Waker>) {
        if let Some(w) = self.first.take() {
            out.push(w);
        }
        out.append(&mut self.rest);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }
}

#[derive(Default)]
pub(crate) struct WaiterSet {
    pub(crate) read: Waiters,
    pub(crate) write: Waiters,
}

impl WaiterSet {
    fn get(&mut self, dir: Direction) -> &mut Waiters {
        match dir {
            Direction::Read => &mut self.read,
            Direction::Write => &mut self.write,
        }
    }
}

/// A registered I/O source: readiness bits, the event tick and waiters.
///
/// Readiness is only *set* by the reactor when it dispatches an event and only
/// *cleared* by the I/O side after an operation reported `WouldBlock`. The
/// clear succeeds only if no event has been dispatched since the caller
/// sampled the tick, so an edge that arrives between the sample and the
/// `WouldBlock` is never lost. The only weaker proof accepted is a short read
/// on a byte stream, and only when the reactor reports closes and the last
/// edge carried none ([`READ_CLOSED`]): the edge already consumed may also
/// have announced an EOF that only the next read reports (see the crate
/// docs, "When a short read may clear readiness").
pub(crate) struct Source {
    pub(crate) key: usize,
    state: AtomicU64,
    waiters: Mutex<WaiterSet>,
}

impl Source {
    /// A new source that is assumed ready in both directions: the first
    /// operation is simply attempted, and its `WouldBlock` clears the bit.
    pub(crate) fn new(key: usize) -> Source {
        Source {
            key,
            state: AtomicU64::new(READY_MASK),
            waiters: Mutex::new(WaiterSet::default()),
        }
    }

    pub(crate) fn lock_waiters(&self) -> MutexGuard<'_, WaiterSet> {
        // A waker that panicked cannot have left the set half-updated: every
        // mutation is a single push/take, so poisoning carries no meaning here.
        self.waiters.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The readiness bits and tick, as one snapshot.
    fn snapshot(&self) -> (u64, u64) {
        let s = self.state.load(Ordering::Acquire);
        (s & BITS_MASK, s >> TICK_SHIFT)
    }

    /// `Ready(tick)` if `dir` is ready, otherwise registers `cx`'s waker.
    ///
    /// `shutdown` is checked under the waiter lock, the same lock the reactor
    /// takes when it wakes everybody on shutdown, so a waiter either sees the
    /// flag or is woken.
    ///
    /// `rearm` is called with the interest (read, write) under the lock when a
    /// waker was registered; oneshot mode uses it to re-arm the poller.
    pub(crate) fn poll_ready(
        &self,
        dir: Direction,
        cx: &mut Context<'_>,
        is_shutdown: impl FnOnce() -> bool,
        rearm: Option<&dyn Fn(bool, bool)>,
    ) -> Poll<Result<u64, ()>> {
        let (bits, tick) = self.snapshot();
        if bits & dir.bit() != 0 {
            return Poll::Ready(Ok(tick));
        }
        let mut waiters = self.lock_waiters();
        // The reactor sets the bit before it takes this lock to collect
        // wakers, so checking again under the lock closes the gap.
        let (bits, tick) = self.snapshot();
        if bits & dir.bit() != 0 {
            return Poll::Ready(Ok(tick));
        }
        if is_shutdown() {
            return Poll::Ready(Err(()));
        }
        waiters.get(dir).register(cx.waker());
        if let Some(rearm) = rearm {
            rearm(!waiters.read.is_empty(), !waiters.write.is_empty());
        }
        Poll::Pending
    }

    /// Clears `dir` (after a `WouldBlock`) if no event arrived since `tick`
    /// was sampled. For reads this also drops [`READ_CLOSED`]: a read that
    /// would block has nothing, not even an EOF or error, left to report.
    pub(crate) fn clear(&self, dir: Direction, tick: u64) {
        self.clear_if(dir.clear_bits(), tick, 0);
    }

    /// Clears [`READABLE`] after a read that emptied a byte stream's receive
    /// queue (a short read, or `TCP_INQ` said zero), if no event arrived
    /// since `tick` and the last edge did not report a close or an error.
    /// Any data or close arriving later raises an edge of its own.
    pub(crate) fn clear_drained(&self, tick: u64) {
        self.clear_if(READABLE, tick, READ_CLOSED);
    }

    /// Clears `bits` if the tick is still `tick`, some of `bits` is set and
    /// none of `unless` is.
    fn clear_if(&self, bits: u64, tick: u64, unless: u64) {
        let mut cur = self.state.load(Ordering::Acquire);
        while cur >> TICK_SHIFT == tick && cur & bits != 0 && cur & unless == 0 {
            match self.state.compare_exchange_weak(
                cur,
                cur & !bits,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Records an event (`bits` of [`READABLE`] / [`WRITABLE`] /
    /// [`READ_CLOSED`], the last only with `READABLE`) and moves the
    /// wakers of every direction that became ready into `out`. With
    /// `wake_all`, every waiter is moved (oneshot mode: the event disarmed the
    /// source, so waiters of the other direction must re-poll to re-arm it).
    pub(crate) fn set_ready(&self, bits: u64, wake_all: bool, out: &mut Vec<Waker>) {
        let bits = bits & BITS_MASK;
        debug_assert!(bits & READ_CLOSED == 0 || bits & READABLE != 0);
        let mut cur = self.state.load(Ordering::Relaxed);
        loop {
            let next = (cur | bits).wrapping_add(TICK_ONE);
            match self
                .state
                .compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => break,
                Err(actual) => cur = actual,
            }
        }
        let mut waiters = self.lock_waiters();
        if wake_all || bits & READABLE != 0 {
            waiters.read.drain_into(out);
        }
        if wake_all || bits & WRITABLE != 0 {
            waiters.write.drain_into(out);
        }
    }

    /// Moves every waiter into `out` (reactor shutdown).
    pub(crate) fn take_all(&self, out: &mut Vec<Waker>) {
        let mut waiters = self.lock_waiters();
        waiters.read.drain_into(out);
        waiters.write.drain_into(out);
    }

    #[cfg(test)]
    pub(crate) fn bits(&self) -> u64 {
        self.snapshot().0
    }

    #[cfg(test)]
    pub(crate) fn tick(&self) -> u64 {
        self.snapshot().1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Event(u64),
        Sample,
        ClearWithSample(bool),
        ClearStale(bool),
        ShortRead(bool),
        Poll(bool, usize),
    }

    fn dir(read: bool) -> Direction {
        if read {
            Direction::Read
        } else {
            Direction::Write
        }
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            // A close is only ever reported with readability.
            (1u64..8).prop_map(|b| Op::Event(if b & READ_CLOSED != 0 {
                b | READABLE
            } else {
                b
            })),
            Just(Op::Sample),
            any::<bool>().prop_map(Op::ClearWithSample),
            any::<bool>().prop_map(Op::ClearStale),
            any::<bool>().prop_map(Op::ShortRead),
            (any::<bool>(), 0usize..3).prop_map(|(r, w)| Op::Poll(r, w)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Random events, clears and polls against a plain sequential model:
        /// bits and tick match, clears with a stale tick never lose an edge,
        /// a short read never clears an edge that reported a close, and
        /// every registered waker is woken exactly when its direction
        /// becomes ready.
        #[test]
        fn readiness_matches_model(ops in proptest::collection::vec(op(), 1..60)) {
            let src = Source::new(7);
            let wakers: Vec<Arc<Count>> = (0..3).map(|_| Arc::new(Count(AtomicUsize::new(0)))).collect();
            let (mut m_bits, mut m_tick) = (READY_MASK, 0u64);
            let mut m_waiting: [Vec<usize>; 2] = [Vec::new(), Vec::new()];
            let mut m_wakes = [0usize; 3];
            let mut stale = 0u64;
            let mut out = Vec::new();
            for op in ops {
                match op {
                    Op::Event(bits) => {
                        src.set_ready(bits, false, &mut out);
                        out.drain(..).for_each(Waker::wake);
                        m_bits |= bits;
                        m_tick += 1;
                        for (i, b) in [READABLE, WRITABLE].into_iter().enumerate() {
                            if bits & b != 0 {
                                for w in m_waiting[i].drain(..) { m_wakes[w] += 1; }
                            }
                        }
                    }
                    Op::Sample => stale = src.tick(),
                    Op::ClearWithSample(r) => {
                        src.clear(dir(r), src.tick());
                        m_bits &= !if r { READABLE | READ_CLOSED } else { WRITABLE };
                    }
                    Op::ClearStale(r) => {
                        src.clear(dir(r), stale);
                        if stale == m_tick {
                            m_bits &= !if r { READABLE | READ_CLOSED } else { WRITABLE };
                        }
                    }
                    Op::ShortRead(use_stale) => {
                        let t = if use_stale { stale } else { src.tick() };
                        src.clear_drained(t);
                        if t == m_tick && m_bits & READ_CLOSED == 0 { m_bits &= !READABLE; }
                    }
                    Op::Poll(r, w) => {
                        let waker = Waker::from(wakers[w].clone());
                        let mut cx = Context::from_waker(&waker);
                        let res = src.poll_ready(dir(r), &mut cx, || false, None);
                        let i = usize::from(!r);
                        if m_bits & dir(r).bit() != 0 {
                            prop_assert_eq!(res, Poll::Ready(Ok(m_tick)));
                        } else {
                            prop_assert_eq!(res, Poll::Pending);
                            if !m_waiting[i].contains(&w) { m_waiting[i].push(w); }
                        }
                    }
                }
                prop_assert_eq!(src.bits(), m_bits);
                prop_assert!(m_bits & READ_CLOSED == 0 || m_bits & READABLE != 0);
                prop_assert_eq!(src.tick(), m_tick);
                let ws = src.lock_waiters();
                prop_assert_eq!(ws.read.len(), m_waiting[0].len());
                prop_assert_eq!(ws.write.len(), m_waiting[1].len());
                drop(ws);
                for (w, c) in wakers.iter().enumerate() {
                    prop_assert_eq!(c.0.load(Ordering::SeqCst), m_wakes[w]);
                }
            }
        }
    }

    #[test]
    fn shutdown_is_reported_only_when_not_ready() {
        let src = Source::new(1);
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert!(matches!(
            src.poll_ready(Direction::Read, &mut cx, || true, None),
            Poll::Ready(Ok(_))
        ));
        src.clear(Direction::Read, src.tick());
        assert_eq!(
            src.poll_ready(Direction::Read, &mut cx, || true, None),
            Poll::Ready(Err(()))
        );
    }
}
