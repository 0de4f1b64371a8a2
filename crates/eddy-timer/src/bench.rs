//! Throwaway microbenchmarks behind the store choice (no assertions on
//! time). Run with
//! `cargo test --release -p eddy-timer -- --ignored --nocapture bench`.

use std::hint::black_box;
use std::sync::Arc;
use std::task::{Context, Waker};
use std::time::Duration;

use eddy_core::{Clock, Park, Unpark};

use crate::heap::HeapStore;
use crate::test_util::{CountingWaker, TestStore};
use crate::wheel::Wheel;
use crate::{ManualClock, SystemClock, TimerDriver};

fn time<F: FnMut()>(f: F) -> Duration {
    let start = SystemClock.now();
    let mut f = f;
    f();
    SystemClock.now() - start
}

fn ns_per(d: Duration, n: u64) -> f64 {
    d.as_nanos() as f64 / n as f64
}

/// Deterministic pseudo-random 1..=50 (ms) deadlines.
fn deadlines(n: usize) -> Vec<u64> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            1 + x % 50
        })
        .collect()
}

fn insert_cancel<S: TestStore>(background: usize) -> f64 {
    let mut store = S::new();
    let (waker, _) = CountingWaker::create();
    let mut keep = Vec::new();
    for (i, when) in deadlines(background).into_iter().enumerate() {
        keep.push(store.insert(when * 100 + i as u64 % 7, waker.clone()));
    }
    const N: u64 = 5_000_000;
    let d = time(|| {
        for i in 0..N {
            let key = store.insert(black_box(1 + i % 40), waker.clone());
            black_box(store.cancel(key));
        }
    });
    ns_per(d, N)
}

fn fire_100k<S: TestStore>() -> f64 {
    const N: usize = 100_000;
    let whens = deadlines(N);
    let (waker, hits) = CountingWaker::create();
    let mut best = f64::MAX;
    for _ in 0..5 {
        let mut store = S::new();
        let mut out = Vec::with_capacity(64);
        let d = time(|| {
            for &w in &whens {
                black_box(store.insert(w, waker.clone()));
            }
            for now in 1..=50 {
                while store.fire_expired(now, &mut out, 64) {
                    out.drain(..).for_each(Waker::wake);
                }
                out.drain(..).for_each(Waker::wake);
            }
        });
        assert_eq!(store.len(), 0);
        best = best.min(ns_per(d, N as u64));
    }
    assert!(hits.get() >= N);
    best
}

struct NoPark;
impl Park for NoPark {
    fn park(&mut self, _: Option<Duration>) -> std::io::Result<()> {
        Ok(())
    }
    fn unparker(&self) -> Arc<dyn Unpark> {
        Arc::new(|| {})
    }
}

fn sleep_create_poll_drop(clock: Arc<dyn Clock>) -> f64 {
    let (_driver, handle) = TimerDriver::new(NoPark, clock);
    let _g = handle.enter();
    let (waker, _) = CountingWaker::create();
    let mut cx = Context::from_waker(&waker);
    const N: u64 = 5_000_000;
    let d = time(|| {
        for i in 0..N {
            let mut s = crate::sleep(Duration::from_millis(1 + i % 50));
            black_box(std::pin::Pin::new(&mut s).poll_fut(&mut cx));
        }
    });
    ns_per(d, N)
}

trait PollFut {
    fn poll_fut(self, cx: &mut Context<'_>) -> bool;
}
impl PollFut for std::pin::Pin<&mut crate::Sleep> {
    fn poll_fut(self, cx: &mut Context<'_>) -> bool {
        std::future::Future::poll(self, cx).is_ready()
    }
}

fn sleep_100k_manual() -> f64 {
    const N: usize = 100_000;
    let whens = deadlines(N);
    let clock = ManualClock::new();
    let (mut driver, handle) = TimerDriver::new_manual(NoPark, clock.clone());
    let (waker, _) = CountingWaker::create();
    let mut cx = Context::from_waker(&waker);
    let t0 = clock.now();
    let d = time(|| {
        let mut sleeps: Vec<crate::Sleep> = whens
            .iter()
            .map(|&w| crate::Sleep::new_in(&handle, t0 + Duration::from_millis(w)))
            .collect();
        for s in &mut sleeps {
            black_box(std::pin::Pin::new(s).poll_fut(&mut cx));
        }
        for _ in 0..50 {
            clock.advance(Duration::from_millis(1));
            driver.park(None).unwrap();
        }
        for s in &mut sleeps {
            assert!(std::pin::Pin::new(s).poll_fut(&mut cx));
        }
    });
    ns_per(d, N as u64)
}

#[test]
#[ignore = "benchmark; run in release with --ignored --nocapture"]
fn bench_stores() {
    println!(
        "insert+cancel, 1 live:     heap {:6.1} ns   wheel {:6.1} ns",
        insert_cancel::<HeapStore>(0),
        insert_cancel::<Wheel>(0)
    );
    println!(
        "insert+cancel, 10k live:   heap {:6.1} ns   wheel {:6.1} ns",
        insert_cancel::<HeapStore>(10_000),
        insert_cancel::<Wheel>(10_000)
    );
    println!(
        "100k timers 1-50 ms fire:  heap {:6.1} ns   wheel {:6.1} ns (per timer)",
        fire_100k::<HeapStore>(),
        fire_100k::<Wheel>()
    );
}

#[test]
#[ignore = "benchmark; run in release with --ignored --nocapture"]
fn bench_sleep() {
    println!(
        "Sleep create+poll+drop, SystemClock: {:6.1} ns",
        sleep_create_poll_drop(Arc::new(SystemClock))
    );
    println!(
        "Sleep create+poll+drop, ManualClock: {:6.1} ns",
        sleep_create_poll_drop(Arc::new(ManualClock::new()))
    );
    println!(
        "100k Sleeps 1-50 ms on ManualClock (create, poll, fire, poll): {:6.1} ns/timer",
        sleep_100k_manual()
    );
}

#[test]
#[ignore = "benchmark; run in release with --ignored --nocapture"]
fn bench_parts() {
    const N: u64 = 10_000_000;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let d = time(|| {
        for _ in 0..N {
            black_box(clock.now());
        }
    });
    println!("dyn SystemClock::now: {:6.1} ns", ns_per(d, N));
    let (_driver, handle) = TimerDriver::new(NoPark, clock.clone());
    let _g = handle.enter();
    let d = time(|| {
        for _ in 0..N {
            black_box(crate::TimerHandle::current());
        }
    });
    println!("TimerHandle::current + drop: {:6.1} ns", ns_per(d, N));
    let d = time(|| {
        for _ in 0..N {
            black_box(handle.timer_count());
        }
    });
    println!("store lock + unlock: {:6.1} ns", ns_per(d, N));
    let (waker, _) = CountingWaker::create();
    let d = time(|| {
        for _ in 0..N {
            black_box(waker.clone());
        }
    });
    println!("waker clone + drop: {:6.1} ns", ns_per(d, N));
}
