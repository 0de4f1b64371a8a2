//! Model-based property tests on virtual time: random delays and failures
//! against a simple model of what gather and task groups must return.

use std::collections::BTreeSet;
use std::time::Duration;

use eddy::{Runtime, sleep, sleep_until};
use futures_lite::FutureExt;
use proptest::prelude::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// eddy's test runtime on a seed drawn by proptest: virtual time, and the
/// order of ready tasks is part of the input, so a failing case names (and
/// shrinks) the schedule as well as the delays.
fn virtual_time(seed: u64) -> Runtime {
    eddy::test::Builder::new().seed(seed).build().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the completion order, outputs come back in input order;
    /// errors stay in their slot; try_gather_all returns the error that
    /// happened first in time.
    #[test]
    fn gather_output_order_is_input_order(
        jobs in prop::collection::vec((0u64..50, any::<bool>()), 0..20),
        seed: u64,
    ) {
        let rt = virtual_time(seed);
        let make = |jobs: &[(u64, bool)]| {
            jobs.iter()
                .enumerate()
                .map(|(i, &(d, fail))| {
                    async move {
                        sleep(ms(d)).await;
                        if fail { Err(i) } else { Ok(i) }
                    }
                    .boxed()
                })
                .collect::<Vec<_>>()
        };
        let all = rt.block_on(eddy::gather_all(make(&jobs)));
        let expected: Vec<Result<usize, usize>> =
            jobs.iter().enumerate().map(|(i, &(_, f))| if f { Err(i) } else { Ok(i) }).collect();
        prop_assert_eq!(&all, &expected);

        let settled = rt.block_on(eddy::gather_settled(make(&jobs)));
        let settled: Vec<Result<usize, usize>> = settled.into_iter().map(Result::unwrap).collect();
        prop_assert_eq!(&settled, &expected);

        // Inputs failing at the earliest failure time (equal delays fire in
        // the same timer tick, in no promised order).
        let first_time = jobs.iter().filter(|(_, f)| *f).map(|(d, _)| *d).min();
        let tried = rt.block_on(eddy::try_gather_all(make(&jobs)));
        match first_time {
            Some(t) => {
                let i = tried.unwrap_err();
                prop_assert!(jobs[i].1 && jobs[i].0 == t, "error {} is not a first failure", i);
            }
            None => prop_assert_eq!(tried, Ok((0..jobs.len()).collect::<Vec<_>>())),
        }
    }

    /// The group's error set is exactly: the first child to fail, plus the
    /// children that fail while being cancelled among those that had started
    /// before the first failure and were still running (their cleanup takes
    /// 1 ms, so work that ends by then wins). Children the body would have
    /// spawned after the failure are never started.
    #[test]
    fn group_error_set_matches_the_model(
        children in prop::collection::vec((0u64..6, 0u64..6, any::<bool>(), any::<bool>()), 1..10),
        seed: u64,
    ) {
        // Spawn at a multiple of 10 ms; end at a time that is 1..=9 mod 10
        // (child i ends at i+1 mod 10), so no two events coincide.
        let plan: Vec<(u64, u64, bool, bool)> = children
            .iter()
            .enumerate()
            .map(|(i, &(s, d, fails, fails_on_cancel))| (s * 10, d * 10 + i as u64 + 1, fails, fails_on_cancel))
            .collect();
        let first = plan
            .iter()
            .enumerate()
            .filter(|(_, p)| p.2)
            .min_by_key(|(_, p)| p.0 + p.1)
            .map(|(i, p)| (i, p.0 + p.1));
        let expected: BTreeSet<usize> = match first {
            None => BTreeSet::new(),
            Some((f, t)) => plan
                .iter()
                .enumerate()
                .filter(|&(i, &(s, d, fails, foc))| {
                    // Hard-cancelled children (no grace) report nothing; a
                    // child with grace still running at `t` reports its
                    // work's result if the work ends within the 1 ms of
                    // cleanup (the race polls the work first), else the
                    // cleanup's error.
                    let running = s < t && s + d > t;
                    i == f || (foc && running && (s + d > t + 1 || fails))
                })
                .map(|(i, _)| i)
                .collect(),
        };

        let rt = virtual_time(seed);
        let plan2 = plan.clone();
        let out = rt.block_on(eddy::task_group(move |tg| async move {
            let t0 = eddy::Handle::current().timer().now();
            let mut order: Vec<usize> = (0..plan2.len()).collect();
            order.sort_by_key(|&i| (plan2[i].0, i));
            for i in order {
                let (s, d, fails, foc) = plan2[i];
                sleep_until(t0 + ms(s)).await;
                let grace = if foc { ms(100) } else { Duration::ZERO };
                tg.builder().name(i.to_string()).grace(grace).spawn(async move {
                    let work = async move {
                        sleep(ms(d)).await;
                        if fails { Err(format!("child {i} failed")) } else { Ok(()) }
                    };
                    let on_cancel = async move {
                        eddy::cancelled().await;
                        sleep(ms(1)).await;
                        if foc { Err(format!("child {i} failed while cancelling")) } else { Ok(()) }
                    };
                    eddy::race(work, on_cancel).await
                });
            }
        }));
        let got: BTreeSet<usize> = match out {
            Ok(_) => BTreeSet::new(),
            Err(eg) => eg
                .failures()
                .iter()
                .map(|f| f.name().unwrap().parse().unwrap())
                .collect(),
        };
        prop_assert_eq!(got, expected);
    }
}
