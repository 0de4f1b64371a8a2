//! Rough costs, run by hand in release mode:
//! `cargo test --release -p eddy-scope --test bench -- --ignored --nocapture`.
// Wall-clock measurement is the point here.
#![allow(clippy::disallowed_methods)]

use std::time::{Duration, Instant};

fn per(label: &str, n: u64, t: Duration) {
    println!("{label}: {:.0} ns", t.as_nanos() as f64 / n as f64);
}

#[test]
#[ignore = "benchmark; run in release with --ignored --nocapture"]
fn bench_scope() {
    let rt = eddy::Builder::current_thread().build().unwrap();
    rt.block_on(async {
        const N: u64 = 200_000;
        let t = Instant::now();
        for i in 0..N {
            let (a, b, c) = eddy::gather!(async { i }, async { 1 }, async { 2 }).await;
            std::hint::black_box(a + b + c);
        }
        per("gather!(3 ready futures)", N, t.elapsed());

        let t = Instant::now();
        for i in 0..N {
            std::hint::black_box(
                eddy::timeout(Duration::from_secs(1), async { i })
                    .await
                    .ok(),
            );
        }
        per("timeout(ready future)", N, t.elapsed());

        let t = Instant::now();
        for i in 0..N / 10 {
            let v = eddy::gather_all((0..10).map(|j| async move { i + j })).await;
            std::hint::black_box(v);
        }
        per("gather_all(10 ready futures), per input", N, t.elapsed());

        const M: u64 = 100_000;
        let t = Instant::now();
        let tasks: Vec<_> = (0..M).map(|i| eddy::spawn(async move { i })).collect();
        for task in tasks {
            std::hint::black_box(task.await.unwrap());
        }
        per("plain spawn + await", M, t.elapsed());

        let t = Instant::now();
        let tg = eddy::TaskGroup::new();
        let handles: Vec<_> = (0..M)
            .map(|i| tg.spawn(async move { Ok::<_, String>(i) }))
            .collect();
        tg.join().await.unwrap();
        for h in handles {
            std::hint::black_box(h.await.unwrap());
        }
        per("TaskGroup spawn + join + await handle", M, t.elapsed());

        let t = Instant::now();
        let tg = eddy::TaskGroup::new();
        for _ in 0..M {
            tg.spawn(async {});
        }
        tg.join().await.unwrap();
        per("TaskGroup spawn + join (handle dropped)", M, t.elapsed());

        let t = Instant::now();
        let out = eddy::gather_all((0..M).map(|i| async move {
            eddy::sleep(Duration::from_millis(1 + i % 10)).await;
            i
        }))
        .await;
        assert_eq!(out.len() as u64, M);
        per(
            "gather_all of 100k sleeps (1-10 ms), wall per input",
            M,
            t.elapsed(),
        );
    });
}
