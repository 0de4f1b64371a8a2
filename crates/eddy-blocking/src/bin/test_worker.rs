//! The worker program the integration tests start (see `tests/process_pool.rs`).
//!
//! It registers jobs that succeed, misbehave in every way a worker can, or
//! report on their own process. Run by hand it only prints what it is.

use std::sync::atomic::{AtomicU64, Ordering};

use eddy_blocking::process::{ProcessJob, ProcessPool, Registry, worker_main_if_child};

static INIT_VALUE: AtomicU64 = AtomicU64::new(0);

fn echo(v: Vec<u8>) -> Vec<u8> {
    v
}
fn add((a, b): (u64, u64)) -> u64 {
    a.wrapping_add(b)
}
fn not(b: bool) -> bool {
    !b
}
fn pid((): ()) -> u32 {
    std::process::id()
}
fn panics(msg: String) -> u32 {
    panic!("{msg}")
}
fn aborts((): ()) -> u32 {
    std::process::abort()
}
fn exits(code: i32) -> u32 {
    std::process::exit(code)
}
fn segfaults((): ()) -> u32 {
    // std's SIGSEGV handler (for stack overflows) swallows the first
    // signal that is not a guard-page fault and restores the default, so
    // keep raising until the default action ends the process.
    loop {
        let _ =
            rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::SEGV);
    }
}
fn spins(ms: u64) -> u64 {
    // Burns CPU (like a runaway job) instead of sleeping.
    let t = std::time::Duration::from_millis(ms);
    #[allow(clippy::disallowed_methods)] // the job measures its own run time
    let start = std::time::Instant::now();
    let mut x = 0u64;
    while start.elapsed() < t {
        x = x.wrapping_add(1);
    }
    x
}
fn pid_after(ms: u64) -> u32 {
    spins(ms);
    std::process::id()
}
fn big(n: u64) -> Vec<u8> {
    vec![7; n as usize]
}
fn prints(s: String) -> String {
    println!("this line must not corrupt the protocol: {s}");
    // Nor may reading standard input steal the next request.
    let mut sink = String::new();
    let _ = std::io::Read::read_to_string(&mut std::io::stdin(), &mut sink);
    s
}
fn nested((): ()) -> String {
    // A pool built inside a worker must refuse to start workers.
    let pool = ProcessPool::new(1);
    match futures_lite::future::block_on(pool.run(&PID, ())) {
        Ok(pid) => format!("unexpectedly ran in {pid}"),
        Err(e) => e.to_string(),
    }
}
fn init(v: u64) {
    INIT_VALUE.store(v, Ordering::SeqCst);
}
fn init_value((): ()) -> u64 {
    INIT_VALUE.load(Ordering::SeqCst)
}
fn init_fails(_: u64) {
    panic!("initializer refuses")
}

/// The jobs; the tests declare statics with the same names and types.
static ECHO: ProcessJob<Vec<u8>, Vec<u8>> = ProcessJob::new("echo", echo);
static ADD: ProcessJob<(u64, u64), u64> = ProcessJob::new("add", add);
static NOT: ProcessJob<bool, bool> = ProcessJob::new("not", not);
static PID: ProcessJob<(), u32> = ProcessJob::new("pid", pid);
static PANICS: ProcessJob<String, u32> = ProcessJob::new("panics", panics);
static ABORTS: ProcessJob<(), u32> = ProcessJob::new("aborts", aborts);
static EXITS: ProcessJob<i32, u32> = ProcessJob::new("exits", exits);
static SEGFAULTS: ProcessJob<(), u32> = ProcessJob::new("segfaults", segfaults);
static SPINS: ProcessJob<u64, u64> = ProcessJob::new("spins", spins);
static PID_AFTER: ProcessJob<u64, u32> = ProcessJob::new("pid_after", pid_after);
static BIG: ProcessJob<u64, Vec<u8>> = ProcessJob::new("big", big);
static PRINTS: ProcessJob<String, String> = ProcessJob::new("prints", prints);
static NESTED: ProcessJob<(), String> = ProcessJob::new("nested", nested);
static INIT: ProcessJob<u64, ()> = ProcessJob::new("init", init);
static INIT_VALUE_JOB: ProcessJob<(), u64> = ProcessJob::new("init_value", init_value);
static INIT_FAILS: ProcessJob<u64, ()> = ProcessJob::new("init_fails", init_fails);

fn main() {
    let registry = Registry::new()
        .register(&ECHO)
        .register(&ADD)
        .register(&NOT)
        .register(&PID)
        .register(&PANICS)
        .register(&ABORTS)
        .register(&EXITS)
        .register(&SEGFAULTS)
        .register(&SPINS)
        .register(&PID_AFTER)
        .register(&BIG)
        .register(&PRINTS)
        .register(&NESTED)
        .register(&INIT)
        .register(&INIT_VALUE_JOB)
        .register(&INIT_FAILS);
    worker_main_if_child(&registry);
    println!(
        "eddy-blocking test worker: started by eddy-blocking's tests as a process-pool worker"
    );
}
