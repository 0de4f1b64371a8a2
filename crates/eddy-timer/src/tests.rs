//! Timer futures and the driver on a manual clock and fake `Park`s.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use eddy_core::{Clock, Park};

use crate::test_util::{CondvarPark, CountingWaker, FakePark, HookPark, LogWaker};
use crate::{
    Interval, ManualClock, MissedTickBehavior, Sleep, SystemClock, TimerDriver, TimerError,
    TimerHandle, interval, sleep, sleep_until,
};

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn poll<F: Future + Unpin>(f: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(f).poll(&mut Context::from_waker(waker))
}

fn manual() -> (TimerDriver<FakePark>, TimerHandle, ManualClock, FakePark) {
    let clock = ManualClock::new();
    let park = FakePark::default();
    let (driver, handle) = TimerDriver::new_manual(park.clone(), clock.clone());
    (driver, handle, clock, park)
}

#[test]
fn auto_traits_and_size() {
    fn check<T: Send + Sync + Unpin>() {}
    check::<Sleep>();
    check::<Interval>();
    check::<TimerHandle>();
    assert!(
        std::mem::size_of::<Sleep>() <= 40,
        "Sleep is {} bytes",
        std::mem::size_of::<Sleep>()
    );
}

#[test]
fn sleeps_fire_in_deadline_order_and_never_early() {
    let (mut driver, handle, clock, _) = manual();
    let t0 = clock.now();
    let log = Arc::new(Mutex::new(Vec::new()));
    // Sub-millisecond parts exercise rounding up.
    let deadlines = [ms(30), ms(10), Duration::from_micros(20_500), ms(5), ms(1)];
    let mut sleeps: Vec<Sleep> = deadlines
        .iter()
        .map(|&d| Sleep::new_in(&handle, t0 + d))
        .collect();
    for (id, s) in sleeps.iter_mut().enumerate() {
        assert!(poll(s, &LogWaker::waker(id as u64, &log)).is_pending());
    }
    let mut woken_at = Vec::new();
    for _ in 0..130 {
        clock.advance(Duration::from_micros(250));
        driver.park(None).unwrap();
        for id in std::mem::take(&mut *log.lock().unwrap()) {
            woken_at.push((id, clock.now() - t0));
        }
    }
    let order: Vec<u64> = woken_at.iter().map(|&(id, _)| id).collect();
    assert_eq!(order, [4, 3, 1, 2, 0]);
    for &(id, at) in &woken_at {
        let deadline = deadlines[id as usize];
        assert!(
            at >= deadline,
            "timer {id} woke at {at:?} before {deadline:?}"
        );
        assert!(
            at < deadline + ms(1) + Duration::from_micros(250),
            "timer {id} late: {at:?}"
        );
        assert!(poll(&mut sleeps[id as usize], Waker::noop()).is_ready());
    }
    assert_eq!(handle.timer_count(), 0);
}

#[test]
fn registered_sleep_is_pending_until_fired() {
    let (mut driver, handle, clock, _) = manual();
    let mut s = Sleep::new_in(&handle, clock.now() + ms(3));
    assert!(poll(&mut s, Waker::noop()).is_pending());
    clock.advance(ms(2));
    driver.park(None).unwrap();
    assert!(poll(&mut s, Waker::noop()).is_pending());
    clock.advance(ms(1));
    driver.park(None).unwrap();
    assert!(poll(&mut s, Waker::noop()).is_ready());
    // Ready stays ready.
    assert!(poll(&mut s, Waker::noop()).is_ready());
}

#[test]
fn dropped_sleeps_never_wake() {
    let (mut driver, handle, clock, _) = manual();
    let (waker, hits) = CountingWaker::create();
    let mut s = Sleep::new_in(&handle, clock.now() + ms(5));
    assert!(poll(&mut s, &waker).is_pending());
    assert_eq!(handle.timer_count(), 1);
    drop(s);
    assert_eq!(handle.timer_count(), 0);
    clock.advance(ms(10));
    driver.park(None).unwrap();
    assert_eq!(hits.get(), 0);
}

#[test]
fn repoll_updates_waker_in_place() {
    let (mut driver, handle, clock, _) = manual();
    let (a, hits_a) = CountingWaker::create();
    let (b, hits_b) = CountingWaker::create();
    let mut s = Sleep::new_in(&handle, clock.now() + ms(5));
    assert!(poll(&mut s, &a).is_pending());
    assert!(poll(&mut s, &b).is_pending());
    assert!(poll(&mut s, &b).is_pending());
    assert_eq!(handle.timer_count(), 1);
    clock.advance(ms(5));
    assert_eq!(driver.fire_expired(), 1);
    assert_eq!((hits_a.get(), hits_b.get()), (0, 1));
}

#[test]
fn reset_moves_deadline_both_ways() {
    let (mut driver, handle, clock, _) = manual();
    let t0 = clock.now();
    let (waker, hits) = CountingWaker::create();

    // Earlier: 50 ms -> 10 ms, fires at 10 not 9, keeps the registered waker.
    let mut s = Sleep::new_in(&handle, t0 + ms(50));
    assert!(poll(&mut s, &waker).is_pending());
    Pin::new(&mut s).reset(t0 + ms(10));
    assert_eq!(s.deadline(), t0 + ms(10));
    clock.set(t0 + ms(9));
    driver.park(None).unwrap();
    assert_eq!(hits.get(), 0);
    clock.set(t0 + ms(10));
    driver.park(None).unwrap();
    assert_eq!(hits.get(), 1);
    assert!(poll(&mut s, &waker).is_ready());

    // Later, after completing: pending again until the new deadline.
    Pin::new(&mut s).reset(t0 + ms(40));
    assert!(poll(&mut s, &waker).is_pending());
    Pin::new(&mut s).reset(t0 + ms(60));
    clock.set(t0 + ms(59));
    driver.park(None).unwrap();
    assert!(poll(&mut s, &waker).is_pending());
    assert_eq!(hits.get(), 1);
    clock.set(t0 + ms(60));
    driver.park(None).unwrap();
    assert_eq!(hits.get(), 2);
    assert!(poll(&mut s, &waker).is_ready());

    // Into the past while registered: woken at once, ready on the next poll.
    let mut s = Sleep::new_in(&handle, t0 + ms(100));
    assert!(poll(&mut s, &waker).is_pending());
    Pin::new(&mut s).reset(t0);
    assert_eq!(hits.get(), 3);
    assert!(poll(&mut s, &waker).is_ready());
    assert_eq!(handle.timer_count(), 0);
}

#[test]
fn equal_deadlines_fire_in_creation_order() {
    // asyncio and trio wake sleepers with equal deadlines first-in first-out,
    // also when the timers sat in upper wheel levels and were cascaded down,
    // and with cancellations in between.
    for far in [ms(5), ms(64), ms(65), ms(4_097), Duration::from_secs(300)] {
        let (mut driver, handle, clock, _) = manual();
        let _g = handle.enter();
        let log = Arc::new(Mutex::new(Vec::new()));
        let at = clock.now() + far;
        let mut sleeps: Vec<Option<Sleep>> = (0..12).map(|_| Some(sleep_until(at))).collect();
        for (id, s) in sleeps.iter_mut().enumerate() {
            let s = s.as_mut().unwrap();
            assert!(poll(s, &LogWaker::waker(id as u64, &log)).is_pending());
        }
        // Cancel a few, including the first and the last.
        for id in [0, 5, 11] {
            sleeps[id] = None;
        }
        // A later timer at an earlier instant fires first; a later one at the
        // same instant goes to the back of the line.
        let mut early = sleep_until(at - ms(1));
        assert!(poll(&mut early, &LogWaker::waker(100, &log)).is_pending());
        let mut last = sleep_until(at);
        assert!(poll(&mut last, &LogWaker::waker(101, &log)).is_pending());
        // Step through time in uneven strides, so some timers are cascaded
        // from upper levels on the way.
        while clock.now() < at {
            clock.advance(ms(37).min(at - clock.now()));
            driver.park(None).unwrap();
        }
        let fired = std::mem::take(&mut *log.lock().unwrap());
        assert_eq!(
            fired,
            [100, 1, 2, 3, 4, 6, 7, 8, 9, 10, 101],
            "far = {far:?}"
        );
    }
}

#[test]
fn equal_deadlines_fire_in_order_after_a_clock_jump() {
    let (mut driver, handle, clock, _) = manual();
    let _g = handle.enter();
    let log = Arc::new(Mutex::new(Vec::new()));
    let t0 = clock.now();
    let offsets = [4_097, 1, 262_144, 63, 4_097, 64, 1, 65, 262_144, 63];
    let mut sleeps: Vec<Sleep> = offsets.iter().map(|&o| sleep_until(t0 + ms(o))).collect();
    for (id, s) in sleeps.iter_mut().enumerate() {
        assert!(poll(s, &LogWaker::waker(id as u64, &log)).is_pending());
    }
    clock.advance(Duration::from_secs(1_000));
    driver.park(None).unwrap();
    let fired = std::mem::take(&mut *log.lock().unwrap());
    let mut expected: Vec<u64> = (0..offsets.len() as u64).collect();
    expected.sort_by_key(|&id| (offsets[id as usize], id));
    assert_eq!(fired, expected);
}

#[test]
fn zero_and_past_deadlines_are_ready_without_registering() {
    let (mut driver, handle, clock, park) = manual();
    let _g = handle.enter();
    clock.advance(ms(100));
    // `sleep(0)` and a past `sleep_until` suspend once (asyncio.sleep(0)):
    // woken at once, ready on the next poll, no timer registered.
    for mut s in [
        sleep(Duration::ZERO),
        sleep_until(clock.now()),
        sleep_until(clock.now() - ms(50)),
    ] {
        let (waker, hits) = CountingWaker::create();
        assert!(poll(&mut s, &waker).is_pending());
        assert_eq!(hits.get(), 1, "woken before returning Pending");
        assert_eq!(handle.timer_count(), 0);
        assert!(poll(&mut s, &waker).is_ready());
        assert!(poll(&mut s, &waker).is_ready(), "ready stays ready");
        assert_eq!(hits.get(), 1);
    }
    // The low-level form used by timeouts is ready at once.
    assert!(poll(&mut Sleep::new_in(&handle, clock.now()), Waker::noop()).is_ready());
    let mut s = Sleep::new_in(&handle, clock.now() + ms(1));
    clock.advance(ms(1));
    assert!(s.is_elapsed());
    assert!(poll(&mut s, Waker::noop()).is_ready());
    assert_eq!(handle.timer_count(), 0);
    // `sleep(d)` skips the clock read on its first poll: past the deadline it
    // yields once without registering if the driver has seen that time...
    let (waker, hits) = CountingWaker::create();
    let mut s = sleep(ms(1));
    clock.advance(ms(2));
    driver.park(None).unwrap();
    assert!(poll(&mut s, &waker).is_pending());
    assert_eq!((hits.get(), handle.timer_count()), (1, 0));
    assert!(poll(&mut s, &waker).is_ready());
    // ...and otherwise fires on the next driver turn, which does not block.
    let (waker, hits) = CountingWaker::create();
    let mut s = sleep(ms(1));
    clock.advance(ms(2));
    assert!(poll(&mut s, &waker).is_pending());
    driver.park(None).unwrap();
    assert_eq!(park.timeouts().last(), Some(&Some(Duration::ZERO)));
    assert_eq!(hits.get(), 1);
    assert!(poll(&mut s, &waker).is_ready());
    // Huge durations do not overflow.
    let mut forever = sleep(Duration::MAX);
    assert!(poll(&mut forever, Waker::noop()).is_pending());
    assert_eq!(handle.timer_count(), 1);
}

#[test]
fn current_handle_nests_and_errors_outside() {
    assert_eq!(
        TimerHandle::try_current().err(),
        Some(TimerError::NoRuntime)
    );
    let (_d1, h1, _, _) = manual();
    let (_d2, h2, c2, _) = manual();
    c2.advance(ms(7));
    let g1 = h1.enter();
    {
        let _g2 = h2.enter();
        assert_eq!(TimerHandle::current().now(), c2.now());
    }
    assert_eq!(TimerHandle::current().now(), h1.now());
    drop(g1);
    assert!(TimerHandle::try_current().is_err());
    let panic = std::panic::catch_unwind(|| sleep(ms(1))).unwrap_err();
    let msg = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("inside an eddy runtime"), "{msg}");
}

fn ticks(i: &mut Interval, t0: Instant) -> Vec<u64> {
    let mut out = Vec::new();
    while let Poll::Ready(at) = i.poll_tick(&mut Context::from_waker(Waker::noop())) {
        out.push((at - t0).as_millis() as u64);
    }
    out
}

#[test]
fn interval_missed_tick_behaviours() {
    let expected = [
        (MissedTickBehavior::Burst, vec![10, 20, 30], vec![40]),
        (MissedTickBehavior::Delay, vec![10], vec![45]),
        (MissedTickBehavior::Skip, vec![10], vec![40]),
    ];
    for (behavior, after_stall, next) in expected {
        let (mut driver, handle, clock, _) = manual();
        let _g = handle.enter();
        let t0 = clock.now();
        let mut i = interval(ms(10));
        i.set_missed_tick_behavior(behavior);
        assert_eq!(ticks(&mut i, t0), [0], "{behavior:?}");
        clock.advance(ms(35));
        driver.park(None).unwrap();
        assert_eq!(ticks(&mut i, t0), after_stall, "{behavior:?}");
        let next_at = t0 + ms(next[0]);
        clock.set(next_at - ms(1));
        driver.park(None).unwrap();
        assert!(ticks(&mut i, t0).is_empty(), "{behavior:?}");
        clock.set(next_at);
        driver.park(None).unwrap();
        assert_eq!(ticks(&mut i, t0), next, "{behavior:?}");
    }
}

#[test]
fn interval_stream_reset_and_zero_period() {
    use futures_lite::StreamExt;
    let (mut driver, handle, clock, _) = manual();
    driver.set_auto_advance(true);
    let _g = handle.enter();
    let t0 = clock.now();
    let mut i = crate::interval_at(t0 + ms(5), ms(10));
    let mut seen = Vec::new();
    while seen.len() < 3 {
        match futures_lite::future::block_on(futures_lite::future::poll_once(i.next())) {
            Some(Some(at)) => seen.push((at - t0).as_millis()),
            Some(None) => unreachable!("intervals never end"),
            None => driver.park(None).unwrap(),
        }
    }
    assert_eq!(seen, [5, 15, 25]);
    i.reset();
    assert_eq!(ticks(&mut i, t0), Vec::<u64>::new());
    driver.park(None).unwrap();
    assert_eq!(ticks(&mut i, t0), [35]);
    assert_eq!(
        Interval::try_new_in(&handle, t0, Duration::ZERO).err(),
        Some(TimerError::ZeroPeriod)
    );
    assert!(std::panic::catch_unwind(|| interval(Duration::ZERO)).is_err());
}

#[test]
fn driver_shortens_inner_timeout_to_next_deadline() {
    let clock = ManualClock::new();
    let park = FakePark::default();
    // A manual clock treated as real time: only the arithmetic is checked.
    let (mut driver, handle) = TimerDriver::new(park.clone(), Arc::new(clock.clone()));
    let t0 = clock.now();
    driver.park(None).unwrap();
    driver.park(Some(ms(70))).unwrap();
    let mut s = Sleep::new_in(&handle, t0 + ms(30));
    assert!(poll(&mut s, Waker::noop()).is_pending());
    driver.park(None).unwrap();
    driver.park(Some(ms(10))).unwrap();
    driver.park(Some(ms(100))).unwrap();
    clock.advance(Duration::from_micros(400));
    driver.park(None).unwrap();
    clock.set(t0 + ms(30));
    driver.park(None).unwrap();
    assert_eq!(
        park.timeouts(),
        [
            None,
            Some(ms(70)),
            Some(ms(30)),
            Some(ms(10)),
            Some(ms(30)),
            Some(Duration::from_micros(29_600)),
            Some(Duration::ZERO),
        ]
    );
    assert!(poll(&mut s, Waker::noop()).is_ready());
}

#[test]
fn manual_driver_never_blocks_on_manual_deadlines() {
    let (mut driver, handle, clock, park) = manual();
    let mut s = Sleep::new_in(&handle, clock.now() + ms(30));
    assert!(poll(&mut s, Waker::noop()).is_pending());
    driver.park(None).unwrap();
    driver.park(Some(ms(5))).unwrap();
    clock.advance(ms(30));
    driver.park(None).unwrap();
    assert_eq!(park.timeouts(), [None, Some(ms(5)), Some(Duration::ZERO)]);
    assert!(poll(&mut s, Waker::noop()).is_ready());
}

#[test]
fn test_runtime_can_jump_to_next_deadline() {
    // Without auto-advance: the runtime asks for the next deadline and sets it.
    let (mut driver, handle, clock, _) = manual();
    let t0 = clock.now();
    let mut a = Sleep::new_in(&handle, t0 + Duration::from_secs(90));
    let mut b = Sleep::new_in(&handle, t0 + Duration::from_micros(4_200));
    assert!(poll(&mut a, Waker::noop()).is_pending());
    assert!(poll(&mut b, Waker::noop()).is_pending());
    assert_eq!(handle.next_deadline(), Some(t0 + ms(5)));
    clock.set(handle.next_deadline().unwrap());
    driver.park(Some(Duration::ZERO)).unwrap();
    assert!(poll(&mut b, Waker::noop()).is_ready());
    assert_eq!(handle.next_deadline(), Some(t0 + Duration::from_secs(90)));
    clock.set(handle.next_deadline().unwrap());
    driver.park(Some(Duration::ZERO)).unwrap();
    assert!(poll(&mut a, Waker::noop()).is_ready());
    assert_eq!(handle.next_deadline(), None);
}

#[test]
fn auto_advance_jumps_only_when_idle() {
    let (mut driver, handle, clock, park) = manual();
    driver.set_auto_advance(true);
    let t0 = clock.now();
    let mut s = Sleep::new_in(&handle, t0 + Duration::from_secs(3600));
    assert!(poll(&mut s, Waker::noop()).is_pending());
    // A non-blocking park (executor still busy) must not move time.
    driver.park(Some(Duration::ZERO)).unwrap();
    assert_eq!(clock.now(), t0);
    // A bounded park moves time no further than its timeout.
    driver.park(Some(Duration::from_secs(60))).unwrap();
    assert_eq!(clock.now(), t0 + Duration::from_secs(60));
    assert!(poll(&mut s, Waker::noop()).is_pending());
    driver.park(None).unwrap();
    assert_eq!(clock.now(), t0 + Duration::from_secs(3600));
    assert!(poll(&mut s, Waker::noop()).is_ready());
    assert!(park.timeouts().iter().all(|t| *t == Some(Duration::ZERO)));
    // No timers: an idle park is a real park.
    driver.park(None).unwrap();
    assert_eq!(park.timeouts().last(), Some(&None));
}

/// Inserts a sleep from another thread while the driver is parked in `hook`;
/// with `shards` > 1 the other thread registers in another shard.
fn insert_while_parked(existing: Duration, new: Duration, shards: usize) -> usize {
    let clock = ManualClock::new();
    let unparks = Arc::new(AtomicUsize::new(0));
    let slot: Arc<Mutex<Option<TimerHandle>>> = Arc::new(Mutex::new(None));
    let hook_slot = slot.clone();
    let hook_clock = clock.clone();
    let kept = Arc::new(Mutex::new(Vec::new()));
    let hook_kept = kept.clone();
    let hook = Box::new(move |_timeout: Option<Duration>| {
        let handle = hook_slot.lock().unwrap().clone().unwrap();
        let at = hook_clock.now() + new;
        let s = std::thread::spawn(move || {
            crate::handle::set_thread_shard(1);
            let mut s = Sleep::new_in(&handle, at);
            assert!(poll(&mut s, Waker::noop()).is_pending());
            s
        })
        .join()
        .unwrap();
        // Stays registered for the count check below.
        hook_kept.lock().unwrap().push(s);
    });
    let park = HookPark {
        hook,
        unparks: unparks.clone(),
    };
    let (mut driver, handle) = TimerDriver::new_sharded(park, Arc::new(clock.clone()), shards);
    *slot.lock().unwrap() = Some(handle.clone());
    crate::handle::set_thread_shard(0);
    let mut s = Sleep::new_in(&handle, clock.now() + existing);
    assert!(poll(&mut s, Waker::noop()).is_pending());
    driver.park(None).unwrap();
    assert_eq!(handle.timer_count(), 2);
    assert_eq!(kept.lock().unwrap().len(), 1);
    unparks.load(std::sync::atomic::Ordering::SeqCst)
}

#[test]
fn cross_thread_insert_unparks_only_when_earlier() {
    // One shard, and two: the earlier timer lands in a shard other than the
    // one holding the deadline the driver sleeps until.
    for shards in [1, 2] {
        assert_eq!(
            insert_while_parked(ms(50), ms(10), shards),
            1,
            "{shards} shards"
        );
        assert_eq!(
            insert_while_parked(ms(50), ms(80), shards),
            0,
            "{shards} shards"
        );
        assert_eq!(
            insert_while_parked(ms(50), ms(50), shards),
            0,
            "{shards} shards"
        );
    }
}

#[test]
fn insert_while_not_parked_makes_no_unpark() {
    let (_driver, handle, clock, park) = manual();
    for d in [50, 10, 1, 0] {
        let mut s = Sleep::new_in(&handle, clock.now() + ms(d) + Duration::from_micros(1));
        assert!(poll(&mut s, Waker::noop()).is_pending());
    }
    assert_eq!(park.unparks(), 0);
}

#[test]
fn real_clock_smoke() {
    let (mut driver, handle) = TimerDriver::new(CondvarPark::default(), Arc::new(SystemClock));
    let _g = handle.enter();
    let start = SystemClock.now();
    let (waker, hits) = CountingWaker::create();
    let mut s = sleep(ms(20));
    let mut polls = 0;
    while poll(&mut s, &waker).is_pending() {
        polls += 1;
        assert!(polls < 1000, "sleep never completed");
        driver.park(None).unwrap();
    }
    let took = SystemClock.now() - start;
    assert!(took >= ms(20), "finished early: {took:?}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(hits.get() >= 1);
}

#[test]
fn real_clock_cross_thread_wake() {
    // A driver parked with no timers is woken by a timer inserted elsewhere.
    let (mut driver, handle) = TimerDriver::new(CondvarPark::default(), Arc::new(SystemClock));
    let start = SystemClock.now();
    let (waker, hits) = CountingWaker::create();
    let inserter = std::thread::spawn(move || {
        let mut s = Sleep::new_in(&handle, handle.now() + ms(10));
        assert!(poll(&mut s, &waker).is_pending());
        s
    });
    let mut turns = 0;
    while hits.get() == 0 {
        turns += 1;
        assert!(turns < 1000);
        driver.park(Some(Duration::from_secs(5))).unwrap();
    }
    let s = inserter.join().unwrap();
    assert!(s.is_elapsed());
    assert!(SystemClock.now() - start < Duration::from_secs(5));
}

#[derive(Debug, Clone)]
enum SleepOp {
    /// A sleep `delta` µs from now (negative: already past), polled once.
    New(i64),
    Drop(usize),
    /// Reset to `delta` µs from now, then poll.
    Reset(usize, i64),
    /// Advance the clock by `delta` µs and park the driver.
    Advance(u64),
}

fn sleep_ops() -> impl proptest::strategy::Strategy<Value = Vec<SleepOp>> {
    use proptest::prelude::*;
    let delta = prop_oneof![4 => -2_000i64..5_000, 2 => 0i64..200_000, 1 => 0i64..100_000_000];
    let op = prop_oneof![
        4 => delta.clone().prop_map(SleepOp::New),
        1 => any::<usize>().prop_map(SleepOp::Drop),
        2 => (any::<usize>(), delta).prop_map(|(i, d)| SleepOp::Reset(i, d)),
        4 => prop_oneof![3 => 0u64..3_000, 1 => 0u64..100_000_000].prop_map(SleepOp::Advance),
    ];
    proptest::collection::vec(op, 1..80)
}

/// Sleeps on a driver vs a model of `(deadline µs since t0, done)`: after
/// every driver turn exactly the sleeps whose deadline, rounded up to whole
/// ms, is at or before the time rounded down to whole ms have been woken.
///
/// With `shards` > 1 the driver is sharded and each new sleep registers in
/// a shard chosen by its number, as if polled on another thread.
fn sleep_model_check(
    ops: &[SleepOp],
    shards: usize,
) -> Result<(), proptest::test_runner::TestCaseError> {
    use proptest::prop_assert_eq;
    let (mut driver, handle, clock) = if shards == 1 {
        let (d, h, c, _) = manual();
        (d, h, c)
    } else {
        let clock = ManualClock::new();
        let (d, h) = TimerDriver::new_sharded(FakePark::default(), Arc::new(clock.clone()), shards);
        (d, h, clock)
    };
    let t0 = clock.now();
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut sleeps: Vec<Option<(Sleep, i64, bool)>> = Vec::new();
    let mut now: i64 = 0;
    let due = |deadline: i64, now: i64| (deadline.max(0) + 999) / 1000 <= now / 1000;
    let at = |us: i64| {
        if us >= 0 {
            t0 + Duration::from_micros(us as u64)
        } else {
            t0 - Duration::from_micros(-us as u64)
        }
    };
    for op in ops {
        match *op {
            SleepOp::New(d) => {
                let id = sleeps.len() as u64;
                crate::handle::set_thread_shard(id as usize * 7);
                // Odd positive deltas go through `sleep(d)` (the path that
                // skips the clock read on first poll), the rest `new_in`.
                let mut s = if d > 0 && d % 2 == 1 {
                    let _g = handle.enter();
                    sleep(Duration::from_micros(d as u64))
                } else {
                    Sleep::new_in(&handle, at(now + d))
                };
                let ready = poll(&mut s, &LogWaker::waker(id, &log)).is_ready();
                prop_assert_eq!(ready, now + d <= now);
                sleeps.push(Some((s, now + d, ready)));
            }
            SleepOp::Drop(i) if !sleeps.is_empty() => {
                let i = i % sleeps.len();
                sleeps[i] = None;
            }
            SleepOp::Reset(i, d) if !sleeps.is_empty() => {
                let i = i % sleeps.len();
                if let Some((s, deadline, done)) = &mut sleeps[i] {
                    Pin::new(&mut *s).reset(at(now + d));
                    *deadline = now + d;
                    // A registered sleep reset into the past is woken at once.
                    log.lock().unwrap().retain(|&id| id != i as u64);
                    let ready = poll(s, &LogWaker::waker(i as u64, &log)).is_ready();
                    prop_assert_eq!(ready, d <= 0);
                    *done = ready;
                }
            }
            SleepOp::Advance(d) => {
                now += d as i64;
                clock.set(at(now));
                driver.park(None).unwrap();
                let mut woken = std::mem::take(&mut *log.lock().unwrap());
                woken.sort_unstable();
                let mut expected = Vec::new();
                for (id, slot) in sleeps.iter_mut().enumerate() {
                    if let Some((s, deadline, done)) = slot {
                        let is_due = due(*deadline, now);
                        if !*done && is_due {
                            expected.push(id as u64);
                        }
                        // Ready stays ready: a sleep found late on its first
                        // poll is done even before the rounded tick passes.
                        let ready = *done || is_due;
                        let polled = poll(s, &LogWaker::waker(id as u64, &log)).is_ready();
                        prop_assert_eq!(polled, ready, "sleep {}", id);
                        *done = ready;
                    }
                }
                prop_assert_eq!(woken, expected);
            }
            SleepOp::Drop(_) | SleepOp::Reset(..) => {}
        }
        let live = sleeps.iter().flatten().filter(|(_, _, done)| !done).count();
        prop_assert_eq!(handle.timer_count(), live);
    }
    Ok(())
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]
    #[test]
    fn sleeps_match_model(ops in sleep_ops()) {
        sleep_model_check(&ops, 1)?;
    }

    #[test]
    fn sharded_sleeps_match_model(ops in sleep_ops()) {
        sleep_model_check(&ops, 4)?;
    }
}

#[test]
fn threads_share_one_real_driver() {
    threads_share_one_driver(1);
}

#[test]
fn threads_share_one_sharded_real_driver() {
    threads_share_one_driver(2);
}

fn threads_share_one_driver(shards: usize) {
    use std::sync::atomic::{AtomicBool, Ordering};
    let (mut driver, handle) =
        TimerDriver::new_sharded(CondvarPark::default(), Arc::new(SystemClock), shards);
    let stop = Arc::new(AtomicBool::new(false));
    let unpark = driver.unparker();
    let stop2 = stop.clone();
    let driver_thread = std::thread::spawn(move || {
        while !stop2.load(Ordering::Acquire) {
            driver.park(Some(ms(50))).unwrap();
        }
        driver
    });
    let workers: Vec<_> = (0..2u64)
        .map(|w| {
            let handle = handle.clone();
            std::thread::spawn(move || {
                crate::handle::set_thread_shard(w as usize);
                for i in 0..150u64 {
                    // Short waits, awaited to completion...
                    let d = Duration::from_micros((i * 37 + w * 11) % 2_000);
                    let start = handle.now();
                    futures_lite::future::block_on(Sleep::new_in(&handle, start + d));
                    assert!(handle.now() >= start + d);
                    // ...interleaved with timers cancelled after one poll.
                    let mut s = Sleep::new_in(&handle, handle.now() + ms(1 + i % 40));
                    assert!(poll(&mut s, Waker::noop()).is_pending());
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    stop.store(true, Ordering::Release);
    unpark.unpark();
    let _driver = driver_thread.join().unwrap();
    assert_eq!(handle.timer_count(), 0);
}
