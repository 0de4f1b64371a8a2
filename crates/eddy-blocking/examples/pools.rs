//! The seed's "Running Blocking Code in Async Context", on eddy's pools.
//!
//! * `blocking_io("/etc/hosts")` runs on the blocking thread pool;
//! * `cpu_intensive(10_000_000)` runs on the process pool, and the example
//!   prints the speedup over running the same jobs one after another;
//! * then it prints the seed's decision tree.
//!
//! Run with `cargo run --release -p eddy-blocking --example pools`.
//! The process pool re-runs this same executable as its workers: the first
//! line of `main` turns such a run into a worker.
#![allow(clippy::disallowed_methods)] // the example measures wall-clock time

use std::hint::black_box;
use std::time::Instant;

use eddy_blocking::process::{ProcessJob, ProcessPool, Registry, worker_main_if_child};
use eddy_blocking::unblock;
use futures_lite::future::block_on;

fn blocking_io(path: &str) -> std::io::Result<String> {
    std::fs::read_to_string(path)
}

fn cpu_intensive(n: u64) -> u64 {
    // `black_box` keeps the compiler from replacing the loop by a formula,
    // so the job really costs CPU time proportional to `n`.
    (0..n).fold(0u64, |acc, i| {
        acc.wrapping_add(black_box(i).wrapping_mul(i))
    })
}

static CPU_INTENSIVE: ProcessJob<u64, u64> = ProcessJob::new("cpu_intensive", cpu_intensive);

fn main() {
    // In a worker process this serves jobs and never returns.
    worker_main_if_child(&Registry::new().register(&CPU_INTENSIVE));

    block_on(async {
        // Blocking I/O: the thread pool.
        let path = if std::path::Path::new("/etc/hosts").exists() {
            "/etc/hosts"
        } else {
            "/proc/self/status"
        };
        let content = unblock(move || blocking_io(path)).await.expect("no panic");
        match content {
            Ok(text) => println!(
                "thread pool: read {path} ({} bytes, {} lines)",
                text.len(),
                text.lines().count()
            ),
            Err(e) => println!("thread pool: could not read {path}: {e}"),
        }

        // CPU-bound work: the process pool.
        let pool = ProcessPool::builder().build();
        let workers = pool.workers();
        let jobs = 4 * workers;
        let n = 10_000_000u64;
        // Warm up: workers are started, the first job checks the set-up.
        let one = pool
            .run(&CPU_INTENSIVE, n)
            .await
            .expect("process pool works");

        let t = Instant::now();
        let sequential: Vec<u64> = (0..jobs).map(|_| cpu_intensive(n)).collect();
        let seq = t.elapsed();

        let t = Instant::now();
        let parallel = pool.map(&CPU_INTENSIVE, vec![n; jobs], jobs).await;
        let par = t.elapsed();
        let parallel: Vec<u64> = parallel.into_iter().map(|r| r.expect("job ran")).collect();
        assert_eq!(parallel, sequential);
        assert_eq!(one, sequential[0]);

        println!("process pool: cpu_intensive({n}) = {one}");
        println!(
            "  {jobs} jobs one after another: {:.1} ms; on {workers} worker processes: {:.1} ms; speedup {:.2}x",
            seq.as_secs_f64() * 1e3,
            par.as_secs_f64() * 1e3,
            seq.as_secs_f64() / par.as_secs_f64()
        );
        println!(
            "  (at most {workers}x, and only as far as cores are idle: other load on the machine shrinks it)"
        );
    });

    println!();
    println!("Which pool? (the seed's decision tree)");
    let (work, place, call) = ("work", "where", "eddy");
    println!("  {work:<34} {place:<32} {call}");
    for (work, place, call) in [
        (
            "I/O-bound, async-compatible",
            "the event loop",
            "plain async code",
        ),
        (
            "I/O-bound, blocking API",
            "thread pool",
            "unblock(|| ..).await",
        ),
        ("CPU-bound", "process pool", "pool.run(&JOB, x).await"),
        (
            "mixed I/O + some CPU",
            "event loop + process pool",
            "async code + pool.run",
        ),
    ] {
        println!("  {work:<34} {place:<32} {call}");
    }
}
