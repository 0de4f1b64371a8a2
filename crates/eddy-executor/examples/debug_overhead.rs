//! What debug mode costs, and proof that it costs nothing when off:
//! `cargo run --release -p eddy-executor --example debug_overhead`.
//!
//! Runs spawn_many (100k empty tasks, awaited) and yield_many (1k tasks ×
//! 1k yields) on the current-thread executor, median of 7 runs each, with
//! debug mode off and on. Compare the "off" figures with the same example
//! built from a commit without debug mode to see the cost of the hooks.

use std::time::{Duration, Instant};

use eddy_executor::{Builder, Executor, Flavor, ThreadPark, spawn, yield_now};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

#[allow(clippy::disallowed_methods)] // a benchmark measures real time
fn time(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

fn spawn_many(ex: &Executor) -> f64 {
    const N: usize = 100_000;
    let d = time(|| {
        ex.block_on(async {
            let tasks: Vec<_> = (0..N).map(|_| spawn(async {})).collect();
            for t in tasks {
                t.await.unwrap();
            }
        })
    });
    d.as_nanos() as f64 / N as f64
}

fn yield_many(ex: &Executor) -> f64 {
    const TASKS: usize = 1000;
    const YIELDS: usize = 1000;
    let d = time(|| {
        ex.block_on(async {
            let tasks: Vec<_> = (0..TASKS)
                .map(|_| {
                    spawn(async {
                        for _ in 0..YIELDS {
                            yield_now().await;
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
        })
    });
    d.as_nanos() as f64 / (TASKS * YIELDS) as f64
}

fn report(label: &str, make: &dyn Fn() -> Executor) {
    let s = median((0..7).map(|_| spawn_many(&make())).collect());
    let y = median((0..7).map(|_| yield_many(&make())).collect());
    println!("{label:<10} spawn_many {s:>7.1} ns/task   yield_many {y:>6.1} ns/yield");
}

fn main() {
    report("debug off", &|| {
        Builder::new(Flavor::CurrentThread)
            .build(ThreadPark::default())
            .unwrap()
    });
    // debug-on section
    report("debug on", &|| {
        Builder::new(Flavor::CurrentThread)
            .debug(eddy_executor::DebugOptions::new())
            .on_debug_event(|_| {})
            .build(ThreadPark::default())
            .unwrap()
    });
    // end debug-on section
}
