//! Quick latency figures for the two pools (run in release):
//! `cargo run --release -p eddy-blocking --example latency`.
//!
//! * unblock round trip, one job at a time (the `blocking_seq` workload);
//! * unblock with 10k jobs submitted at once (`blocking_batch`);
//! * process-pool round trip of a trivial job.
#![allow(clippy::disallowed_methods)] // the example measures wall-clock time

use std::time::Instant;

use eddy_blocking::process::{ProcessJob, ProcessPool, Registry, worker_main_if_child};
use eddy_blocking::{ThreadPool, unblock};
use futures_lite::future::block_on;

static ADD_ONE: ProcessJob<u64, u64> = ProcessJob::new("add_one", |x| x + 1);

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    worker_main_if_child(&Registry::new().register(&ADD_ONE));
    let _guard = ThreadPool::builder().build().enter();

    let seq = median(
        (0..6)
            .map(|_| {
                let n = 20_000;
                let t = Instant::now();
                block_on(async {
                    for i in 0..n {
                        assert_eq!(unblock(move || i + 1).await.unwrap(), i + 1);
                    }
                });
                t.elapsed().as_secs_f64() * 1e6 / n as f64
            })
            .collect(),
    );
    println!("unblock, one at a time: {seq:.2} µs/job");

    let batch = median(
        (0..6)
            .map(|_| {
                let n = 10_000;
                let t = Instant::now();
                block_on(async {
                    let futs: Vec<_> = (0..n).map(|i| unblock(move || i + 1)).collect();
                    for f in futs {
                        f.await.unwrap();
                    }
                });
                t.elapsed().as_secs_f64() * 1e6 / n as f64
            })
            .collect(),
    );
    println!("unblock, 10k at once:   {batch:.2} µs/job");

    let pool = ProcessPool::new(1);
    block_on(pool.run(&ADD_ONE, 0)).expect("worker starts");
    let n = 5_000;
    let t = Instant::now();
    block_on(async {
        for i in 0..n {
            assert_eq!(pool.run(&ADD_ONE, i).await.unwrap(), i + 1);
        }
    });
    println!(
        "process pool round trip: {:.1} µs/job",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
}
