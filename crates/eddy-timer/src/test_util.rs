//! Test helpers: wakers that count or log, a fake `Park`, and the model-based
//! check shared by both store implementations.

use std::collections::BTreeMap;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Wake, Waker};
use std::time::Duration;

use eddy_core::{Park, Unpark};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crate::handle::{ceil_ticks, floor_ticks};
use crate::heap::{HeapKey, HeapStore};
use crate::wheel::{Key, Wheel};

/// A waker that counts its wakes.
pub(crate) struct CountingWaker(AtomicUsize);

#[derive(Clone)]
pub(crate) struct Hits(Arc<CountingWaker>);

impl Hits {
    pub(crate) fn get(&self) -> usize {
        self.0.0.load(Ordering::SeqCst)
    }
}

impl CountingWaker {
    pub(crate) fn create() -> (Waker, Hits) {
        let inner = Arc::new(CountingWaker(AtomicUsize::new(0)));
        (Waker::from(inner.clone()), Hits(inner))
    }
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A waker that appends its id to a shared log when woken.
pub(crate) struct LogWaker {
    id: u64,
    log: Arc<Mutex<Vec<u64>>>,
}

impl LogWaker {
    pub(crate) fn waker(id: u64, log: &Arc<Mutex<Vec<u64>>>) -> Waker {
        Waker::from(Arc::new(LogWaker {
            id,
            log: log.clone(),
        }))
    }
}

impl Wake for LogWaker {
    fn wake(self: Arc<Self>) {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(self.id);
    }
}

/// A `Park` that never blocks and records every timeout it was given; its
/// unparker counts calls.
#[derive(Clone, Default)]
pub(crate) struct FakePark {
    pub(crate) timeouts: Arc<Mutex<Vec<Option<Duration>>>>,
    pub(crate) unparks: Arc<AtomicUsize>,
}

impl FakePark {
    pub(crate) fn timeouts(&self) -> Vec<Option<Duration>> {
        self.timeouts.lock().unwrap().clone()
    }
    pub(crate) fn unparks(&self) -> usize {
        self.unparks.load(Ordering::SeqCst)
    }
}

impl Park for FakePark {
    fn park(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.timeouts.lock().unwrap().push(timeout);
        Ok(())
    }
    fn unparker(&self) -> Arc<dyn Unpark> {
        let unparks = self.unparks.clone();
        Arc::new(move || {
            unparks.fetch_add(1, Ordering::SeqCst);
        })
    }
}

/// The operations both stores share, for the model check and the benches.
pub(crate) trait TestStore {
    type Key: Copy;
    fn new() -> Self;
    fn insert(&mut self, when: u64, waker: Waker) -> Self::Key;
    fn cancel(&mut self, key: Self::Key) -> Option<Waker>;
    fn reschedule(&mut self, key: Self::Key, when: u64) -> bool;
    fn poll_entry(&mut self, key: Self::Key, waker: &Waker) -> bool;
    fn next_deadline(&self) -> Option<u64>;
    fn fire_expired(&mut self, now: u64, out: &mut Vec<Waker>, limit: usize) -> bool;
    fn len(&self) -> usize;
}

macro_rules! impl_test_store {
    ($store:ty, $key:ty) => {
        impl TestStore for $store {
            type Key = $key;
            fn new() -> Self {
                <$store>::new()
            }
            fn insert(&mut self, when: u64, waker: Waker) -> $key {
                <$store>::insert(self, when, waker)
            }
            fn cancel(&mut self, key: $key) -> Option<Waker> {
                <$store>::cancel(self, key)
            }
            fn reschedule(&mut self, key: $key, when: u64) -> bool {
                <$store>::reschedule(self, key, when)
            }
            fn poll_entry(&mut self, key: $key, waker: &Waker) -> bool {
                <$store>::poll_entry(self, key, waker)
            }
            fn next_deadline(&self) -> Option<u64> {
                <$store>::next_deadline(self)
            }
            fn fire_expired(&mut self, now: u64, out: &mut Vec<Waker>, limit: usize) -> bool {
                <$store>::fire_expired(self, now, out, limit)
            }
            fn len(&self) -> usize {
                <$store>::len(self)
            }
        }
    };
}

impl_test_store!(Wheel, Key);
impl_test_store!(HeapStore, HeapKey);

#[derive(Debug, Clone)]
pub(crate) enum Op {
    /// A timer at `now + delta` nanoseconds (negative: in the past).
    Insert(i128),
    /// Cancel the `n`th key ever issued (live or stale).
    Cancel(usize),
    Reschedule(usize, i128),
    /// Re-poll with a fresh waker (same id).
    Poll(usize),
    /// Move time forward by `delta` ns and fire, taking `limit` per batch.
    Advance(u64, usize),
}

const MS: u64 = 1_000_000;

fn delta() -> impl Strategy<Value = i128> {
    prop_oneof![
        6 => (0..3 * MS).prop_map(i128::from),
        6 => (0..300 * MS).prop_map(i128::from),
        2 => (0..100_000 * MS).prop_map(i128::from),
        1 => (0..(1u64 << 38)).prop_map(|ms| i128::from(ms) * i128::from(MS)),
        2 => (0..5 * MS).prop_map(|d| -i128::from(d)),
    ]
}

pub(crate) fn ops_strategy() -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        8 => delta().prop_map(Op::Insert),
        3 => any::<usize>().prop_map(Op::Cancel),
        2 => (any::<usize>(), delta()).prop_map(|(k, d)| Op::Reschedule(k, d)),
        1 => any::<usize>().prop_map(Op::Poll),
        5 => (
            prop_oneof![
                6 => 0..5 * MS,
                3 => 0..2_000 * MS,
                1 => 0..(1u64 << 38) * MS,
            ],
            prop_oneof![Just(usize::MAX), 1..4usize],
        )
            .prop_map(|(d, l)| Op::Advance(d, l)),
    ];
    proptest::collection::vec(op, 1..120)
}

/// Operations that pile timers onto a few equal deadlines (whole ms, at the
/// wheel's level edges), so the order among equal deadlines is exercised,
/// through cascades and clock jumps.
pub(crate) fn fifo_ops_strategy() -> impl Strategy<Value = Vec<Op>> {
    let offset = prop_oneof![
        Just(0u64),
        Just(1),
        Just(2),
        Just(63),
        Just(64),
        Just(65),
        Just(4_096),
        Just(4_097),
        Just(262_144),
    ]
    .prop_map(|o| i128::from(o * MS));
    let op = prop_oneof![
        8 => offset.clone().prop_map(Op::Insert),
        3 => any::<usize>().prop_map(Op::Cancel),
        2 => (any::<usize>(), offset).prop_map(|(k, d)| Op::Reschedule(k, d)),
        3 => (
            prop_oneof![3 => 0..70u64, 1 => 0..300_000u64].prop_map(|ms| ms * MS),
            prop_oneof![Just(usize::MAX), 1..4usize],
        )
            .prop_map(|(d, l)| Op::Advance(d, l)),
    ];
    proptest::collection::vec(op, 1..150)
}

/// Runs `ops` against store `S` and a `BTreeMap` model of `id -> deadline in
/// nanoseconds`. The model rounds explicitly: a timer is due when its deadline
/// rounded up to whole ms is at or before the time rounded down to whole ms.
///
/// With `fifo`, the order of wake-ups is checked too: by deadline tick, and
/// for equal ticks by when the timer was last inserted or rescheduled
/// (asyncio's and trio's first-in first-out rule), across batch limits. A
/// timer set at or before the last processed tick counts as due at that tick:
/// it joins the back of the already-due line.
pub(crate) fn model_check<S: TestStore>(ops: &[Op], fifo: bool) -> Result<(), TestCaseError> {
    let mut store = S::new();
    let mut model: BTreeMap<u64, u128> = BTreeMap::new();
    // id -> sequence number of its last insert or reschedule.
    let mut seq: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    let mut next_seq = 0u64;
    let mut elapsed_tick = 0u64;
    let mut keys: Vec<(u64, S::Key)> = Vec::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut now: u128 = 0;
    let tick = |ns: u128| ceil_ticks(Duration::from_nanos(u64::try_from(ns).unwrap()));
    let at = |now: u128, d: i128| (now as i128 + d).max(0) as u128;
    for op in ops {
        match *op {
            Op::Insert(d) => {
                let id = keys.len() as u64;
                let deadline = at(now, d);
                let key = store.insert(tick(deadline), LogWaker::waker(id, &log));
                keys.push((id, key));
                model.insert(id, deadline);
                seq.insert(id, (tick(deadline).max(elapsed_tick), next_seq));
                next_seq += 1;
            }
            Op::Cancel(n) if !keys.is_empty() => {
                let (id, key) = keys[n % keys.len()];
                let removed = store.cancel(key).is_some();
                prop_assert_eq!(removed, model.remove(&id).is_some(), "cancel of {}", id);
            }
            Op::Reschedule(n, d) if !keys.is_empty() => {
                let (id, key) = keys[n % keys.len()];
                let deadline = at(now, d);
                let moved = store.reschedule(key, tick(deadline));
                prop_assert_eq!(moved, model.contains_key(&id));
                if moved {
                    model.insert(id, deadline);
                    seq.insert(id, (tick(deadline).max(elapsed_tick), next_seq));
                    next_seq += 1;
                }
            }
            Op::Poll(n) if !keys.is_empty() => {
                let (id, key) = keys[n % keys.len()];
                let live = store.poll_entry(key, &LogWaker::waker(id, &log));
                prop_assert_eq!(live, model.contains_key(&id));
            }
            Op::Advance(d, limit) => {
                // Capped so nanosecond arithmetic stays in u64.
                now = (now + u128::from(d)).min(u128::from(u64::MAX / 4));
                let now_tick = floor_ticks(Duration::from_nanos(u64::try_from(now).unwrap()));
                elapsed_tick = elapsed_tick.max(now_tick);
                let mut out = Vec::new();
                while store.fire_expired(now_tick, &mut out, limit) {
                    prop_assert!(limit != usize::MAX, "unlimited batch left work behind");
                }
                for w in out {
                    w.wake();
                }
                let mut fired = std::mem::take(&mut *log.lock().unwrap());
                let mut due: Vec<u64> = model
                    .iter()
                    .filter(|&(_, &dl)| tick(dl) <= now_tick)
                    .map(|(&id, _)| id)
                    .collect();
                for id in &due {
                    // Rounding up means never early, on the unrounded clock too.
                    prop_assert!(model[id] <= now, "timer {} fired early", id);
                }
                if fifo {
                    due.sort_by_key(|id| seq[id]);
                } else {
                    fired.sort_unstable();
                }
                for id in &due {
                    model.remove(id);
                }
                prop_assert_eq!(fired, due);
            }
            Op::Cancel(_) | Op::Reschedule(..) | Op::Poll(_) => {}
        }
        prop_assert_eq!(store.len(), model.len());
        let model_next = model.values().map(|&dl| tick(dl)).min();
        prop_assert_eq!(store.next_deadline(), model_next);
    }
    prop_assert!(log.lock().unwrap().is_empty(), "woken outside a fire");
    Ok(())
}

/// A real, blocking `Park` on a condition variable, for the real-clock test.
#[derive(Default)]
pub(crate) struct CondvarPark(Arc<(Mutex<bool>, std::sync::Condvar)>);

impl Park for CondvarPark {
    fn park(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let (lock, cvar) = &*self.0;
        let mut notified = lock.lock().unwrap();
        if !*notified {
            notified = match timeout {
                Some(t) => cvar.wait_timeout(notified, t).unwrap().0,
                None => cvar.wait(notified).unwrap(),
            };
        }
        *notified = false;
        Ok(())
    }
    fn unparker(&self) -> Arc<dyn Unpark> {
        let pair = self.0.clone();
        Arc::new(move || {
            *pair.0.lock().unwrap() = true;
            pair.1.notify_one();
        })
    }
}

/// A non-blocking `Park` that runs a hook while "parked" (so tests can act
/// while the driver is inside its inner park) and counts unparks.
pub(crate) struct HookPark {
    pub(crate) hook: Box<dyn FnMut(Option<Duration>) + Send>,
    pub(crate) unparks: Arc<AtomicUsize>,
}

impl Park for HookPark {
    fn park(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        (self.hook)(timeout);
        Ok(())
    }
    fn unparker(&self) -> Arc<dyn Unpark> {
        let unparks = self.unparks.clone();
        Arc::new(move || {
            unparks.fetch_add(1, Ordering::SeqCst);
        })
    }
}
