//! Process pool behaviour against the `eddy-blocking-test-worker` program:
//! results, crashes of each kind, timeouts, cancellation, recycling,
//! initializers, bad input and zombies.
#![allow(clippy::disallowed_methods)] // tests wait on real time with generous bounds

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use eddy_blocking::process::{Exit, PoolError, ProcessJob, ProcessPool, ProcessPoolBuilder};
use futures_lite::future::block_on;
use proptest::prelude::*;

// The same names and types the worker registers.
static ECHO: ProcessJob<Vec<u8>, Vec<u8>> = ProcessJob::new("echo", |v| v);
static ADD: ProcessJob<(u64, u64), u64> = ProcessJob::new("add", |(a, b)| a.wrapping_add(b));
static PID: ProcessJob<(), u32> = ProcessJob::new("pid", |()| std::process::id());
static PANICS: ProcessJob<String, u32> = ProcessJob::new("panics", |_| 0);
static ABORTS: ProcessJob<(), u32> = ProcessJob::new("aborts", |()| 0);
static EXITS: ProcessJob<i32, u32> = ProcessJob::new("exits", |_| 0);
static SEGFAULTS: ProcessJob<(), u32> = ProcessJob::new("segfaults", |()| 0);
static SPINS: ProcessJob<u64, u64> = ProcessJob::new("spins", |_| 0);
static PID_AFTER: ProcessJob<u64, u32> = ProcessJob::new("pid_after", |_| 0);
static BIG: ProcessJob<u64, Vec<u8>> = ProcessJob::new("big", |_| Vec::new());
static PRINTS: ProcessJob<String, String> = ProcessJob::new("prints", |s| s);
static INIT: ProcessJob<u64, ()> = ProcessJob::new("init", |_| ());
static INIT_VALUE: ProcessJob<(), u64> = ProcessJob::new("init_value", |()| 0);
static INIT_FAILS: ProcessJob<u64, ()> = ProcessJob::new("init_fails", |_| ());
static NESTED: ProcessJob<(), String> = ProcessJob::new("nested", |()| String::new());
// Not registered in the worker.
static MISSING: ProcessJob<(), ()> = ProcessJob::new("missing", |()| ());
// Registered as `fn(bool) -> bool`; sending a byte that is not 0/1 fails to decode.
static NOT_AS_U8: ProcessJob<u8, bool> = ProcessJob::new("not", |_| false);

fn builder(workers: usize) -> ProcessPoolBuilder {
    ProcessPool::builder()
        .workers(workers)
        .program(env!("CARGO_BIN_EXE_eddy-blocking-test-worker"))
}

fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(8),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Children of this process that are zombies, among `pids`. A killed worker
/// is a zombie until the pool reaps it (in the background), so tests wait
/// for this to become empty rather than assert it at once.
fn zombies_among(pids: &[u32]) -> Vec<u32> {
    let me = std::process::id();
    pids.iter()
        .copied()
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            // Fields after the command name (which may contain spaces).
            let rest = &stat[stat.rfind(')').map_or(0, |i| i + 2)..];
            let mut f = rest.split_whitespace();
            let state = f.next();
            let ppid: Option<u32> = f.next().and_then(|p| p.parse().ok());
            state == Some("Z") && ppid == Some(me)
        })
        .collect()
}

fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let rest = &stat[stat.rfind(')').map_or(0, |i| i + 2)..];
            rest.split_whitespace().next() != Some("Z")
        }
        Err(_) => false,
    }
}

fn poll_once<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    Pin::new(f).poll(&mut cx)
}

#[test]
fn many_jobs_across_all_workers() {
    let pool = builder(2).build();
    let (sums, pids) = block_on(async {
        let runs: Vec<_> = (0..40u64).map(|i| pool.run(&ADD, (i, 1000))).collect();
        let mut sums = Vec::new();
        for r in runs {
            sums.push(r.await.unwrap());
        }
        let mut pids = std::collections::HashSet::new();
        // Two slow jobs issued together run on both workers at once (one
        // worker would need the whole first job's time before the second).
        for _ in 0..5 {
            let (a, b) = (pool.run(&PID_AFTER, 150), pool.run(&PID_AFTER, 150));
            pids.clear();
            pids.insert(a.await.unwrap());
            pids.insert(b.await.unwrap());
            if pids.len() == 2 {
                break;
            }
        }
        (sums, pids)
    });
    assert_eq!(sums, (0..40u64).map(|i| i + 1000).collect::<Vec<_>>());
    assert_eq!(pids.len(), 2, "both workers served jobs");
    assert!(!pids.contains(&std::process::id()));
}

#[test]
fn panic_is_reported_and_worker_survives() {
    let pool = builder(1).build();
    let before = block_on(pool.run(&PID, ())).unwrap();
    let err = block_on(pool.run(&PANICS, "bad math".to_string())).unwrap_err();
    assert!(
        matches!(&err, PoolError::Panicked(Some(m)) if m == "bad math"),
        "{err}"
    );
    assert_eq!(
        block_on(pool.run(&PID, ())).unwrap(),
        before,
        "same worker kept serving"
    );
    assert_eq!(pool.workers_started(), 1);
}

fn expect_death(job: Run, want: Exit) {
    let pool = builder(1).build();
    let first = block_on(pool.run(&PID, ())).unwrap();
    let err = block_on(job(&pool)).unwrap_err();
    match err {
        PoolError::WorkerDied { pid, exit } => {
            assert_eq!(pid, first);
            assert_eq!(exit, want);
        }
        other => panic!("expected a worker death, got {other}"),
    }
    // A replacement serves the next job.
    let next = block_on(pool.run(&PID, ())).unwrap();
    assert_ne!(next, first);
    eventually("no zombie left among &[first]", || {
        zombies_among(&[first]).is_empty()
    });
    drop(pool);
    eventually("no zombie left among &[first, next]", || {
        zombies_among(&[first, next]).is_empty()
    });
    assert!(!alive(next), "dropping the pool ends its workers");
}

type Run = fn(&ProcessPool) -> eddy_blocking::process::Run<u32>;

#[test]
fn abort_kills_only_its_job() {
    expect_death(|p| p.run(&ABORTS, ()), Exit::Signal(6));
}

#[test]
fn exit_code_is_reported() {
    expect_death(|p| p.run(&EXITS, 3), Exit::Code(3));
}

#[test]
fn segfault_is_reported() {
    expect_death(|p| p.run(&SEGFAULTS, ()), Exit::Signal(11));
}

#[test]
fn kill_9_from_outside_is_reported() {
    let pool = builder(1).build();
    let pid = block_on(pool.run(&PID, ())).unwrap();
    let mut run = pool.run(&SPINS, 5_000);
    assert!(poll_once(&mut run).is_pending());
    // Give the worker the job, then kill it the hard way.
    std::thread::sleep(Duration::from_millis(50));
    let target = rustix::process::Pid::from_raw(pid as i32).unwrap();
    rustix::process::kill_process(target, rustix::process::Signal::KILL).unwrap();
    match block_on(run).unwrap_err() {
        PoolError::WorkerDied { pid: p, exit } => {
            assert_eq!(p, pid);
            assert_eq!(exit, Exit::Signal(9));
        }
        other => panic!("unexpected {other}"),
    }
    assert_ne!(block_on(pool.run(&PID, ())).unwrap(), pid);
    eventually("no zombie left among &[pid]", || {
        zombies_among(&[pid]).is_empty()
    });
}

#[test]
fn idle_worker_killed_from_outside_is_replaced() {
    let pool = builder(1).build();
    let pid = block_on(pool.run(&PID, ())).unwrap();
    let target = rustix::process::Pid::from_raw(pid as i32).unwrap();
    rustix::process::kill_process(target, rustix::process::Signal::KILL).unwrap();
    eventually("a replacement worker", || {
        pool.workers_started() == 2 && !pool.worker_pids().is_empty()
    });
    // The job sent after the death is not blamed for it.
    let next = block_on(pool.run(&PID, ())).unwrap();
    assert_ne!(next, pid);
    eventually("no zombie left among &[pid]", || {
        zombies_among(&[pid]).is_empty()
    });
}

#[test]
fn timeout_kills_and_replaces_the_worker() {
    let pool = builder(1).build();
    let pid = block_on(pool.run(&PID, ())).unwrap();
    let start = Instant::now();
    let err =
        block_on(pool.run_with_timeout(&SPINS, 60_000, Duration::from_millis(100))).unwrap_err();
    assert!(
        matches!(err, PoolError::Timeout(d) if d == Duration::from_millis(100)),
        "{err}"
    );
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(!alive(pid));
    eventually("no zombie left among &[pid]", || {
        zombies_among(&[pid]).is_empty()
    });
    assert_ne!(block_on(pool.run(&PID, ())).unwrap(), pid);
}

#[test]
fn builder_timeout_applies_to_every_job() {
    let pool = builder(1).job_timeout(Duration::from_millis(100)).build();
    assert!(matches!(
        block_on(pool.run(&SPINS, 60_000)),
        Err(PoolError::Timeout(_))
    ));
    assert_eq!(block_on(pool.run(&ADD, (1, 2))).unwrap(), 3);
}

#[test]
fn cancelling_a_running_job_kills_its_worker() {
    let pool = builder(1).build();
    let pid = block_on(pool.run(&PID, ())).unwrap();
    let mut run = pool.run(&SPINS, 60_000);
    assert!(poll_once(&mut run).is_pending());
    std::thread::sleep(Duration::from_millis(50));
    drop(run);
    eventually("the cancelled job's worker to die", || !alive(pid));
    eventually("no zombie left among &[pid]", || {
        zombies_among(&[pid]).is_empty()
    });
    assert_eq!(block_on(pool.run(&ADD, (2, 2))).unwrap(), 4);
}

#[test]
fn cancelled_queued_job_never_starts() {
    let pool = builder(1).build();
    let pid = block_on(pool.run(&PID, ())).unwrap();
    let mut busy = pool.run(&SPINS, 200);
    assert!(poll_once(&mut busy).is_pending());
    // Queued behind `busy`; dropped before a worker takes it.
    let queued = pool.run(&EXITS, 9);
    drop(queued);
    block_on(busy).unwrap();
    // Had the exit job run, the worker would have been replaced.
    assert_eq!(block_on(pool.run(&PID, ())).unwrap(), pid);
}

#[test]
fn max_tasks_per_child_recycles_workers() {
    let pool = builder(1).max_tasks_per_child(3).build();
    let pids: Vec<u32> = (0..7)
        .map(|_| block_on(pool.run(&PID, ())).unwrap())
        .collect();
    assert_eq!(pids[0], pids[1]);
    assert_eq!(pids[1], pids[2]);
    assert_ne!(pids[2], pids[3]);
    assert_eq!(pids[3], pids[5]);
    assert_ne!(pids[5], pids[6]);
    eventually("no zombie left among &pids", || {
        zombies_among(&pids).is_empty()
    });
}

#[test]
fn initializer_runs_in_each_worker() {
    let pool = builder(1)
        .max_tasks_per_child(2)
        .initializer(&INIT, &41)
        .unwrap()
        .build();
    for _ in 0..4 {
        assert_eq!(block_on(pool.run(&INIT_VALUE, ())).unwrap(), 41);
    }
    assert!(pool.workers_started() >= 2);
}

#[test]
fn failing_initializer_is_a_typed_error() {
    let pool = builder(1).initializer(&INIT_FAILS, &0).unwrap().build();
    let err = block_on(pool.run(&ADD, (1, 1))).unwrap_err();
    assert!(
        matches!(&err, PoolError::Initializer(inner) if matches!(**inner, PoolError::Panicked(_))),
        "{err}"
    );
}

#[test]
fn bad_input_is_typed_never_a_hang() {
    let pool = builder(1).max_frame(4096).build();
    let err = block_on(pool.run(&MISSING, ())).unwrap_err();
    assert!(
        matches!(&err, PoolError::UnknownJob(n) if n == "missing"),
        "{err}"
    );
    let err = block_on(pool.run(&NOT_AS_U8, 5)).unwrap_err();
    assert!(matches!(err, PoolError::BadInput(_)), "{err}");
    let err = block_on(pool.run(&BIG, 10_000)).unwrap_err();
    assert!(
        matches!(
            err,
            PoolError::OutputTooLarge {
                size: 10_002,
                limit: 4096
            }
        ),
        "{err}"
    );
    let err = block_on(pool.run(&ECHO, vec![0; 10_000])).unwrap_err();
    assert!(
        matches!(err, PoolError::InputTooLarge { limit: 4096, .. }),
        "{err}"
    );
    // All of those left the worker serving.
    assert_eq!(
        block_on(pool.run(&ECHO, vec![1, 2, 3])).unwrap(),
        vec![1, 2, 3]
    );
    assert_eq!(pool.workers_started(), 1);
}

#[test]
fn stdio_use_in_jobs_does_not_corrupt_frames() {
    let pool = builder(1).build();
    assert_eq!(block_on(pool.run(&PRINTS, "hi".to_string())).unwrap(), "hi");
    assert_eq!(block_on(pool.run(&ADD, (1, 2))).unwrap(), 3);
}

#[test]
fn missing_program_is_a_spawn_error() {
    let pool = ProcessPool::builder()
        .workers(1)
        .program("/nonexistent/eddy-worker")
        .build();
    assert!(matches!(
        block_on(pool.run(&ADD, (1, 1))),
        Err(PoolError::Spawn(_))
    ));
}

#[test]
fn program_that_is_not_a_worker_is_a_spawn_error() {
    let pool = ProcessPool::builder().workers(1).program("true").build();
    let err = block_on(pool.run(&ADD, (1, 1))).unwrap_err();
    assert!(matches!(err, PoolError::Spawn(_)), "{err}");
    assert!(err.to_string().contains("worker_main_if_child"), "{err}");
    // No respawn loop: one start for the eager attempt, one for the job.
    assert!(pool.workers_started() <= 2);
}

#[test]
fn pool_inside_a_worker_refuses_to_start_workers() {
    let pool = builder(1).build();
    let msg = block_on(pool.run(&NESTED, ())).unwrap();
    assert!(msg.contains("inside a worker"), "{msg}");
}

#[test]
fn map_keeps_order() {
    let pool = builder(2).build();
    let out = block_on(pool.map(&ADD, (0..30u64).map(|i| (i, i)), 3));
    let out: Vec<u64> = out.into_iter().map(Result::unwrap).collect();
    assert_eq!(out, (0..30u64).map(|i| 2 * i).collect::<Vec<_>>());
}

#[test]
fn map_reports_each_failure_in_place() {
    let pool = builder(2).build();
    let out = block_on(pool.map(&EXITS, [5, 6], 2));
    for (r, code) in out.iter().zip([5, 6]) {
        assert!(
            matches!(r, Err(PoolError::WorkerDied { exit: Exit::Code(c), .. }) if *c == code),
            "{r:?}"
        );
    }
}

#[test]
fn dropping_the_pool_fails_running_jobs_and_leaves_no_process() {
    let pool = builder(2).build();
    eventually("workers to start", || pool.worker_pids().len() == 2);
    let pids = pool.worker_pids();
    let mut run = pool.run(&SPINS, 60_000);
    assert!(poll_once(&mut run).is_pending());
    std::thread::sleep(Duration::from_millis(30));
    drop(pool);
    assert!(matches!(block_on(run), Err(PoolError::ShutDown)));
    for pid in &pids {
        assert!(!alive(*pid), "worker {pid} outlived its pool");
    }
    eventually("no zombie left among &pids", || {
        zombies_among(&pids).is_empty()
    });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn random_payloads_round_trip(payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..2048), 1..8)) {
        static POOL: std::sync::OnceLock<ProcessPool> = std::sync::OnceLock::new();
        let pool = POOL.get_or_init(|| builder(2).build());
        let out = block_on(pool.map(&ECHO, payloads.clone(), 4));
        let out: Vec<Vec<u8>> = out.into_iter().map(Result::unwrap).collect();
        prop_assert_eq!(out, payloads);
    }
}

#[test]
fn shutdown_with_grace_finishes_or_kills() {
    let pool = builder(1).build();
    let quick: Vec<_> = (0..5u64).map(|i| pool.run(&ADD, (i, i))).collect();
    assert!(pool.shutdown(Duration::from_secs(8)));
    for (i, r) in quick.into_iter().enumerate() {
        assert_eq!(block_on(r).unwrap(), 2 * i as u64);
    }

    let pool = builder(1).build();
    let pid = block_on(pool.run(&PID, ())).unwrap();
    let slow = pool.run(&SPINS, 60_000);
    let start = Instant::now();
    assert!(!pool.shutdown(Duration::from_millis(100)));
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(matches!(block_on(slow), Err(PoolError::ShutDown)));
    assert!(!alive(pid));
    eventually("no zombie left among &[pid]", || {
        zombies_among(&[pid]).is_empty()
    });
}
