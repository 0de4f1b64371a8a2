//! `#[eddy::main]` and `#[eddy::test]`: the attributes used for real, and
//! compile-fail checks of their misuse (trybuild).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

#[eddy::test]
async fn default_test_runs_on_virtual_time() {
    let timer = eddy::time::TimerHandle::current();
    let start = timer.now();
    eddy::sleep(Duration::from_secs(3600)).await;
    assert_eq!(timer.now() - start, Duration::from_secs(3600));
}

#[eddy::test(seed = 11)]
async fn a_fixed_seed_runs_tasks() {
    let hits = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let hits = hits.clone();
            eddy::spawn(async move {
                eddy::yield_now().await;
                hits.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(hits.load(Ordering::SeqCst), 8);
}

#[eddy::test(virtual_time = false)]
#[allow(clippy::disallowed_methods)] // the point is to see the real clock
async fn real_time_when_asked() {
    let start = std::time::Instant::now();
    eddy::sleep(Duration::from_millis(5)).await;
    assert!(start.elapsed() >= Duration::from_millis(5));
}

#[eddy::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_thread_test_returns_result() -> Result<(), eddy::JoinError> {
    let parts = eddy::gather_all((0..4u64).map(|i| eddy::spawn(async move { i }))).await;
    let sum: u64 = parts.into_iter().map(Result::unwrap).sum();
    assert_eq!(sum, 6);
    Ok(())
}

// `trace_tasks` on both of `#[eddy::test]`'s runtimes (the test runtime and
// a plain one); that the spans appear is checked in ui/main_trace_tasks.rs,
// which can install its own global subscriber.
#[eddy::test(trace_tasks = true)]
async fn trace_tasks_on_the_test_runtime() {
    assert_eq!(eddy::spawn(async { 1 }).await.unwrap(), 1);
}

#[eddy::test(trace_tasks = true, virtual_time = false)]
async fn trace_tasks_on_a_plain_runtime() {
    assert_eq!(eddy::spawn(async { 2 }).await.unwrap(), 2);
}

// A deadlock fails the test on the plain runtimes too, instead of hanging
// it: nothing can ever send on this channel, and no timer, I/O source or
// blocking job could wake the test.
#[eddy::test(virtual_time = false)]
#[should_panic(expected = "deadlock")]
async fn a_deadlocked_real_time_test_fails() {
    let (_tx, rx) = eddy::sync::oneshot::channel::<()>();
    let _ = rx.await;
}

#[eddy::test(flavor = "multi_thread", worker_threads = 2)]
#[should_panic(expected = "deadlock")]
async fn a_deadlocked_multi_thread_test_fails() {
    let (_tx, rx) = eddy::sync::oneshot::channel::<()>();
    let _ = rx.await;
}

#[eddy::test]
#[should_panic(expected = "inside the test")]
async fn a_panicking_test_fails() {
    panic!("inside the test");
}

#[test]
fn misuse_is_a_compile_error() {
    let t = trybuild::TestCases::new();
    t.pass("ui/main_ok.rs");
    t.pass("ui/main_virtual_time.rs");
    t.pass("ui/main_trace_tasks.rs");
    t.pass("ui/fresh_crate_hyper.rs");
    t.compile_fail("ui/not_async.rs");
    t.compile_fail("ui/unknown_argument.rs");
    t.compile_fail("ui/bad_flavor.rs");
    t.compile_fail("ui/seed_on_multi_thread.rs");
    t.compile_fail("ui/workers_on_current_thread.rs");
    t.compile_fail("ui/test_with_arguments.rs");
    t.compile_fail("ui/wrong_value_type.rs");
}
