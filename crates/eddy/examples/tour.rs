//! A tour of eddy through the examples of the asyncio note, in order, with
//! timings.
//!
//! ```text
//! cargo run --release --example tour              # seconds scaled by 0.1
//! cargo run --release --example tour -- --scale 1 # the note's real seconds
//! ```
//!
//! Every `sleep` of the note is multiplied by the scale, so the timings to
//! expect are printed next to the measured ones.

// The tour measures wall time to show what runs concurrently; that is exactly
// what the workspace's ban on `Instant::now` (for runtime code) is not about.
#![allow(clippy::disallowed_methods)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use std::sync::atomic::AtomicUsize;

use eddy::JoinError;
use eddy::blocking::process::{ProcessJob, ProcessPool, Registry, worker_main_if_child};
use eddy::prelude::*;
use eddy::sync::{Queue, Semaphore}; // FutureExt::boxed

static SCALE: OnceLock<f64> = OnceLock::new();

/// The note's seconds, scaled.
fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s * SCALE.get().copied().unwrap_or(0.1))
}

fn scale() -> f64 {
    SCALE.get().copied().unwrap_or(0.1)
}

fn heading(title: &str) {
    println!("\n=== {title} ===");
}

fn elapsed_line(label: &str, start: Instant, expected_note_secs: f64) {
    println!(
        "{label}: {:.2}s (the note's ≈ {expected_note_secs}s × scale {} = {:.2}s)",
        start.elapsed().as_secs_f64(),
        scale(),
        expected_note_secs * scale()
    );
}

// --- Basic async/await -----------------------------------------------------

async fn fetch(url: &str) -> String {
    // await suspends this task until the sleep completes, giving the event
    // loop the opportunity to run other tasks.
    eddy::sleep(secs(1.0)).await; // simulates network latency
    format!("Response from {url}")
}

async fn basic() {
    heading("Basic async/await");
    // Calling an async fn builds a future; nothing runs until it is awaited.
    let started = Arc::new(AtomicBool::new(false));
    let flag = started.clone();
    let coroutine = async move {
        flag.store(true, Ordering::SeqCst);
        fetch("https://api.example.com").await
    };
    println!(
        "future created; has it started? {}",
        started.load(Ordering::SeqCst)
    );
    let start = Instant::now();
    let result = coroutine.await;
    println!("{result}");
    elapsed_line("awaited", start, 1.0);
}

// --- gather: sequential vs concurrent --------------------------------------

async fn fetch_delay(url: &'static str, delay: f64) -> String {
    eddy::sleep(secs(delay)).await;
    format!("Got {url}")
}

async fn gather_demo() {
    heading("asyncio.gather: sequential vs concurrent");
    let start = Instant::now();

    // Sequential: total ≈ 1 + 2 + 3 = 6s.
    let t = Instant::now();
    let r1 = fetch_delay("url1", 1.0).await;
    let r2 = fetch_delay("url2", 2.0).await;
    let r3 = fetch_delay("url3", 3.0).await;
    elapsed_line("Sequential", t, 6.0);
    println!("{:?}", [r1, r2, r3]);

    // Concurrent: total ≈ max(1, 2, 3) = 3s. gather! runs them together
    // inside this task and returns the results in input order, whatever
    // order they finish in.
    let t = Instant::now();
    let (r1, r2, r3) = eddy::gather!(
        fetch_delay("url1", 1.0),
        fetch_delay("url2", 2.0),
        fetch_delay("url3", 3.0),
    )
    .await;
    let results = [r1, r2, r3];
    elapsed_line("Concurrent", t, 3.0);

    println!("Elapsed: {:.2}s", start.elapsed().as_secs_f64());
    println!("{results:?}"); // ["Got url1", "Got url2", "Got url3"]
}

// --- create_task: fire and continue ----------------------------------------

async fn background_job(name: &'static str) {
    println!("Starting {name}");
    eddy::sleep(secs(2.0)).await;
    println!("Done {name}");
}

async fn create_task_demo() {
    heading("asyncio.create_task: fire and continue");
    let start = Instant::now();
    // Fire off tasks without awaiting them yet.
    let task_a = eddy::spawn(background_job("A"));
    let task_b = eddy::spawn(background_job("B"));

    println!("Tasks created, doing other work...");
    eddy::sleep(secs(0.5)).await;

    // Now wait for both.
    task_a.await.expect("task A failed");
    task_b.await.expect("task B failed");
    elapsed_line("both done", start, 2.0);
}

// --- Async iterators and context managers -------------------------------------

/// The note's `stream_records`: an async generator.
fn stream_records(limit: u32) -> impl futures_lite::Stream<Item = (u32, u32)> {
    eddy::async_gen(move |y| async move {
        for i in 0..limit {
            eddy::yield_now().await; // yield control to the event loop
            y.yield_((i, i * 2)).await;
        }
    })
}

struct Connection(&'static str);

impl Connection {
    async fn execute(&self, sql: &str) -> usize {
        eddy::yield_now().await;
        println!("{}: {sql}", self.0);
        1
    }

    async fn close(self) {
        eddy::yield_now().await;
        println!("{}: closed (awaited)", self.0);
    }
}

async fn connect(url: &'static str) -> std::io::Result<Connection> {
    eddy::yield_now().await;
    Ok(Connection(url))
}

async fn iter_ctx_demo() {
    heading("Async iterators and context managers");
    // async for record in stream_records(100)
    let mut records = std::pin::pin!(stream_records(100));
    let mut count = 0;
    while let Some((id, value)) = records.next().await {
        if id < 3 {
            println!("{{'id': {id}, 'value': {value}}}");
        }
        count += 1;
    }
    println!("... {count} records");
    // async with async_connection("db://host") as conn: await conn.execute(..)
    let rows = eddy::with_resource(
        connect("db://host"),
        |conn| conn.close(),
        |conn| Box::pin(async move { conn.execute("SELECT 1").await }),
    )
    .await
    .expect("connect");
    println!("rows: {rows}");
}

// --- Exception handling ------------------------------------------------------

/// The note's `ValueError`.
#[derive(Debug)]
struct ValueError(&'static str);

impl std::fmt::Display for ValueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for ValueError {}

async fn risky() -> Result<&'static str, ValueError> {
    eddy::sleep(secs(0.1)).await;
    Err(ValueError("Something went wrong"))
}

async fn exception_demo() {
    heading("Exception handling: return_exceptions and TaskGroup");
    // Handle per-task errors with gather_settled (return_exceptions=True):
    // every outcome, errors in place.
    let start = Instant::now();
    let results = eddy::gather_settled([
        risky().boxed(),
        async {
            eddy::sleep(secs(1.0)).await;
            Ok("slept")
        }
        .boxed(),
    ])
    .await;
    for r in results {
        match r {
            Ok(Err(e)) => println!("Error: {e}"),
            Ok(Ok(v)) => println!("Result: {v}"),
            Err(panic) => println!("Panicked: {panic:?}"),
        }
    }
    elapsed_line("gather_settled", start, 1.0);

    // TaskGroup: a failing child cancels its siblings (no leak), and every
    // failure comes back in a GroupError; split() is `except* ValueError`.
    let start = Instant::now();
    let result = eddy::task_group(|tg| async move {
        let _t1 = tg.spawn(risky());
        let _t2 = tg.spawn(eddy::sleep(secs(1.0))); // cancelled when risky fails
    })
    .await;
    if let Err(eg) = result {
        let (value_errors, _rest) = eg.split::<ValueError>();
        println!("Errors: {value_errors:?}");
    }
    elapsed_line("TaskGroup failed fast", start, 0.1);
}

// --- Timeouts --------------------------------------------------------------

async fn timeout_demo() {
    heading("Timeouts");
    let start = Instant::now();
    // asyncio.timeout(2.0)
    match eddy::timeout(secs(2.0), slow_operation()).await {
        Ok(result) => println!("{result}"),
        Err(eddy::Elapsed { .. }) => println!("Timed out!"),
    }
    // asyncio.wait_for(slow_operation(), timeout=2.0)
    match eddy::wait_for(slow_operation(), secs(2.0)).await {
        Ok(result) => println!("{result}"),
        Err(eddy::Elapsed { .. }) => println!("Timed out!"),
    }
    elapsed_line("two timeouts", start, 4.0);
}

// --- Manual cancellation ---------------------------------------------------

/// Prints when dropped: the `finally` block of the cancelled task.
struct Cleanup(&'static str);

impl Drop for Cleanup {
    fn drop(&mut self) {
        println!("cleanup ran for {}", self.0);
    }
}

async fn slow_operation() -> &'static str {
    let _cleanup = Cleanup("slow_operation");
    eddy::sleep(secs(10.0)).await;
    "result"
}

async fn cancel_demo() {
    heading("Manual cancellation");
    let start = Instant::now();
    let task = eddy::spawn(slow_operation());
    eddy::sleep(secs(1.0)).await;
    task.cancel();
    match task.await {
        Err(JoinError::Cancelled) => println!("Task was cancelled"),
        Err(e) => println!("Task failed: {e}"),
        Ok(v) => println!("Task finished first: {v}"),
    }
    elapsed_line("cancelled after", start, 1.0);
}

// --- Panics stay in their task ----------------------------------------------

async fn panic_demo() {
    heading("A failing task does not take the loop down");
    let task = eddy::spawn(async {
        eddy::sleep(secs(0.1)).await;
        if scale() > 0.0 {
            panic!("Something went wrong");
        }
        "unreachable"
    });
    match task.await {
        Err(JoinError::Panicked(p)) => println!("Error: {}", p.message().unwrap_or("?")),
        other => println!("unexpected: {other:?}"),
    }
    println!("the event loop carries on");
}

// --- Over-concurrency: a Semaphore ----------------------------------------------

async fn semaphore_demo() {
    heading("Over-concurrencing, fixed with a Semaphore");
    // 100 fetches, at most 10 at once: each holds a permit while it "fetches".
    let limit = Arc::new(Semaphore::new(10));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let (limit, in_flight, peak) = (limit.clone(), in_flight.clone(), peak.clone());
            eddy::spawn(async move {
                let _permit = limit.acquire().await.expect("semaphore is never closed");
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                eddy::sleep(secs(0.1)).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                i
            })
        })
        .collect();
    let mut done = 0;
    for t in tasks {
        t.await.expect("fetch task");
        done += 1;
    }
    println!(
        "{done} fetches done, at most {} at once",
        peak.load(Ordering::SeqCst)
    );
    elapsed_line("100 × 0.1s with 10 permits", start, 1.0);
}

// --- Producer / consumer on a bounded Queue -------------------------------------

async fn queue_demo() {
    heading("Producer/consumer on a bounded Queue with join()");
    let queue = Arc::new(Queue::<u32>::new(5)); // maxsize 5: put() waits while full
    let consumed = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let (queue, consumed) = (queue.clone(), consumed.clone());
            eddy::spawn(async move {
                while let Ok(item) = queue.get().await {
                    eddy::sleep(secs(0.01)).await; // process the item
                    consumed.fetch_add(item as usize, Ordering::SeqCst);
                    queue.task_done().expect("one task_done per get");
                }
            })
        })
        .collect();
    for item in 1..=20 {
        queue.put(item).await.expect("queue is open");
    }
    queue.join().await; // every item put has been marked done
    println!(
        "queue.join() returned: consumers processed items summing to {}",
        consumed.load(Ordering::SeqCst)
    );
    queue.shutdown(); // consumers see the end and return
    for w in workers {
        w.await.expect("consumer");
    }
}

// --- Blocking code: thread pool and process pool ------------------------------------

fn blocking_io(path: &str) -> std::io::Result<String> {
    std::fs::read_to_string(path)
}

fn cpu_intensive(n: u64) -> u64 {
    // sum(i * i for i in range(n)); black_box keeps the loop a loop.
    (0..n).fold(0u64, |acc, i| {
        acc.wrapping_add(std::hint::black_box(i).wrapping_mul(i))
    })
}

/// A job the process pool can run: the worker processes find it by name.
static CPU_INTENSIVE: ProcessJob<u64, u64> = ProcessJob::new("cpu_intensive", cpu_intensive);

async fn pools_demo() {
    heading("Running blocking code: thread pool and process pool");
    // loop.run_in_executor(None, blocking_io, "/etc/hosts")
    let path = if std::path::Path::new("/etc/hosts").exists() {
        "/etc/hosts"
    } else {
        "/proc/self/status"
    };
    match eddy::unblock(move || blocking_io(path)).await {
        Ok(Ok(text)) => println!("thread pool read {path}: {} bytes", text.len()),
        Ok(Err(e)) => println!("thread pool could not read {path}: {e}"),
        Err(e) => println!("blocking job failed: {e}"),
    }

    // with ProcessPoolExecutor() as pool: await loop.run_in_executor(pool, cpu_intensive, 10_000_000)
    let pool = ProcessPool::builder().build();
    let n = 10_000_000u64;
    match pool.run(&CPU_INTENSIVE, n).await {
        Ok(result) => println!("process pool: cpu_intensive({n}) = {result}"),
        Err(e) => {
            println!("process pool unavailable: {e}");
            return;
        }
    }
    // Larger jobs for the timing, so process start-up and messaging are noise.
    let (jobs, n) = (4 * pool.workers(), 5 * n);
    let t = Instant::now();
    let sequential: Vec<u64> = (0..jobs).map(|_| cpu_intensive(n)).collect();
    let seq = t.elapsed();
    let t = Instant::now();
    let parallel: Vec<u64> = pool
        .map(&CPU_INTENSIVE, vec![n; jobs], jobs)
        .await
        .into_iter()
        .map(|r| r.expect("job ran"))
        .collect();
    let par = t.elapsed();
    assert_eq!(parallel, sequential);
    println!(
        "{jobs} × cpu_intensive({n}): one after another {:.2}s, on {} worker processes {:.2}s (speedup ×{:.1}; at most × the idle cores)",
        seq.as_secs_f64(),
        pool.workers(),
        par.as_secs_f64(),
        seq.as_secs_f64() / par.as_secs_f64()
    );
    println!("\nWhich one? (the note's decision tree)");
    for (work, choice) in [
        (
            "I/O-bound, async-compatible",
            "plain async code on the event loop",
        ),
        (
            "I/O-bound, blocking API (DB drivers...)",
            "eddy::unblock(|| ..).await  (thread pool)",
        ),
        (
            "CPU-bound",
            "ProcessPool::run(&JOB, x).await  (process pool)",
        ),
        (
            "mixed I/O + some CPU",
            "async code + ProcessPool for the CPU parts",
        ),
        (
            "CPU-bound, and threads are fine",
            "Builder::multi_thread(): tasks run in parallel",
        ),
    ] {
        println!("  {work:<42} -> {choice}");
    }
}

// --- Real sockets: the same gather over TCP ----------------------------------

/// A tiny server in the style of `asyncio.start_server`: each request line
/// names a URL and a delay in seconds; the reply comes after that delay.
async fn slow_server() -> std::io::Result<eddy::net::Server> {
    eddy::net::start_server("127.0.0.1:0", |mut reader, mut writer| async move {
        let Ok(line) = reader.readline().await else {
            return;
        };
        let line = String::from_utf8_lossy(&line);
        let mut parts = line.split_whitespace();
        let url = parts.next().unwrap_or("?").to_owned();
        let delay: f64 = parts.next().and_then(|d| d.parse().ok()).unwrap_or(0.0);
        eddy::sleep(secs(delay)).await;
        writer.write(format!("Got {url}\n").as_bytes());
        let _ = writer.close().await;
    })
    .await
}

/// `fetch` over a real connection: `asyncio.open_connection`, write, drain,
/// readline.
async fn fetch_tcp(addr: std::net::SocketAddr, url: &str, delay: f64) -> std::io::Result<String> {
    let (mut reader, mut writer) = eddy::net::open_connection(addr).await?;
    writer.write(format!("{url} {delay}\n").as_bytes());
    writer.drain().await?;
    let reply = reader.readline().await?;
    Ok(String::from_utf8_lossy(&reply).trim_end().to_owned())
}

async fn sockets_demo() {
    heading("Real sockets: gather over TCP (open_connection / start_server)");
    let server = match slow_server().await {
        Ok(s) => s,
        Err(e) => {
            println!("could not start the local server: {e}");
            return;
        }
    };
    let addr = server.local_addr();
    let t = Instant::now();
    let tasks = [
        eddy::spawn(fetch_tcp(addr, "url1", 1.0)),
        eddy::spawn(fetch_tcp(addr, "url2", 2.0)),
        eddy::spawn(fetch_tcp(addr, "url3", 3.0)),
    ];
    let mut results = Vec::new();
    for task in tasks {
        match task.await {
            Ok(Ok(r)) => results.push(r),
            Ok(Err(e)) => results.push(format!("error: {e}")),
            Err(e) => results.push(format!("task failed: {e}")),
        }
    }
    elapsed_line("Three requests to a local server, concurrently", t, 3.0);
    println!("{results:?}");
    server.close();
}

// --- Parallelism: beyond asyncio ---------------------------------------------

fn parallel_demo() {
    heading("Beyond asyncio: the same tasks on a multi-threaded runtime");
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let rt = eddy::Builder::multi_thread().build().expect("runtime");
    // The seed's cpu_intensive: sum(i * i for i in range(n)); black_box keeps
    // the compiler from turning the loop into a closed formula.
    let work = |n: u64| (0..n).fold(0u64, |acc, i| std::hint::black_box(acc.wrapping_add(i * i)));
    let n = 100_000_000;
    let start = Instant::now();
    let serial: u64 = (0..workers).map(|_| work(n)).fold(0, u64::wrapping_add);
    let serial_time = start.elapsed();
    let start = Instant::now();
    let parallel = rt.block_on(async move {
        let tasks: Vec<_> = (0..workers)
            .map(|_| eddy::spawn(async move { work(std::hint::black_box(n)) }))
            .collect();
        let mut sum = 0u64;
        for t in tasks {
            sum = sum.wrapping_add(t.await.expect("worker task"));
        }
        sum
    });
    let parallel_time = start.elapsed();
    assert_eq!(serial, parallel);
    println!(
        "{workers} CPU-bound tasks: one after another {:.2}s, on {workers} workers {:.2}s (×{:.1})",
        serial_time.as_secs_f64(),
        parallel_time.as_secs_f64(),
        serial_time.as_secs_f64() / parallel_time.as_secs_f64()
    );
}

// --- Pitfalls, caught by debug mode ------------------------------------------

/// A runtime in debug mode whose reports print inline with the tour.
fn debug_runtime() -> eddy::Runtime {
    eddy::Builder::current_thread()
        .debug(true)
        .slow_poll_threshold(Duration::from_millis(50))
        .on_debug_event(|e| println!("  eddy debug: {}", e.to_string().replace('\n', "\n    ")))
        .build()
        .expect("runtime")
}

fn pitfalls_demo() {
    heading("Common pitfalls, with debug mode on (EDDY_DEBUG=1 or Builder::debug)");

    println!("\n1. Forgetting await. An un-awaited future is a compiler warning in Rust");
    println!("   (#[must_use]); the runtime-level version is a task whose handle is dropped,");
    println!("   so its failure is never seen:");
    let rt = debug_runtime();
    rt.block_on(async {
        drop(eddy::TaskBuilder::new().name("save-order").spawn(async {
            panic!("database is read-only");
        }));
        eddy::sleep(Duration::from_millis(1)).await;
    });
    println!("   Fix: await the handle (or keep it in a TaskGroup), and handle the error:");
    rt.block_on(async {
        let t = eddy::TaskBuilder::new().name("save-order").spawn(async {
            panic!("database is read-only");
        });
        match t.await {
            Err(e) => println!("   handled: {e}"),
            Ok(()) => println!("   saved"),
        }
    });
    drop(rt);

    println!("\n2. Blocking the event loop: std::thread::sleep (or sync I/O) inside a task.");
    println!("   The watchdog names the task while it is still stuck:");
    let rt = debug_runtime();
    let t = Instant::now();
    rt.block_on(async {
        let a = eddy::TaskBuilder::new()
            .name("blocking-sleep")
            .spawn(async {
                std::thread::sleep(Duration::from_millis(150)); // the pitfall
            });
        let b = eddy::spawn(async { eddy::sleep(Duration::from_millis(150)).await });
        let _ = (a.await, b.await);
    });
    println!(
        "   two 150 ms waits took {:.2}s: they could not overlap",
        t.elapsed().as_secs_f64()
    );
    println!("   Fix: eddy::sleep for waiting, eddy::unblock for blocking calls:");
    let t = Instant::now();
    rt.block_on(async {
        let a = eddy::unblock(|| std::thread::sleep(Duration::from_millis(150)));
        let b = eddy::sleep(Duration::from_millis(150));
        let (a, ()) = eddy::gather!(a, b).await;
        a.expect("blocking job");
    });
    println!(
        "   no report; the two waits overlapped: {:.2}s",
        t.elapsed().as_secs_f64()
    );
    drop(rt);

    println!("\n3. Mixing sync and async: starting a loop inside the running loop.");
    eddy::run(async {
        match eddy::try_run(async { 1 }) {
            Err(e) => println!("   refused: {e}"),
            Ok(_) => println!("   (unexpectedly allowed)"),
        }
        println!("   Fix: .await it: {}", async { 1 }.await);
    });

    println!("\n4. Not handling cancellation: cleanup that never runs. A graceful shutdown");
    println!("   asks every task to stop, waits, then lists who ignored it:");
    let rt = debug_runtime();
    rt.spawn(async {
        loop {
            eddy::sleep(Duration::from_millis(10)).await; // never checks for cancellation
        }
    })
    .detach();
    let summary = rt.shutdown_gracefully(Duration::from_millis(50));
    println!(
        "   shutdown summary: {} straggler(s) cancelled after the grace period",
        summary.stragglers.tasks().len()
    );
    println!("   Fix: watch for cancellation and clean up (Drop guards run either way):");
    let rt = debug_runtime();
    rt.spawn(async {
        let work = async {
            loop {
                eddy::sleep(Duration::from_millis(10)).await;
            }
        };
        let stop = async {
            eddy::cancelled().await;
            println!("   cancel requested: flushing buffers, closing the connection");
        };
        work.or(stop).await;
    })
    .detach();
    println!("   {}", rt.shutdown_gracefully(Duration::from_millis(50)));

    println!("\n5. Over-concurrency: 1000 tasks at once, no backpressure.");
    let rt = debug_runtime();
    rt.block_on(async {
        let tasks: Vec<_> = (0..1000)
            .map(|_| eddy::spawn(async { eddy::sleep(Duration::from_millis(20)).await }))
            .collect();
        eddy::sleep(Duration::from_millis(1)).await; // let them all start
        println!("   {}", eddy::Handle::current().metrics());
        for t in tasks {
            t.await.expect("task");
        }
        println!("   Fix: a Semaphore bounds how many run at once:");
        let limit = Arc::new(Semaphore::new(10));
        let peak = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..1000)
            .map(|_| {
                let (limit, peak) = (limit.clone(), peak.clone());
                eddy::spawn(async move {
                    let _permit = limit.acquire().await;
                    peak.fetch_max(10 - limit.available_permits(), Ordering::SeqCst);
                    eddy::sleep(Duration::from_millis(1)).await;
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("task");
        }
        println!("   at most {} ran at once", peak.load(Ordering::SeqCst));
    });
    drop(rt);

    println!("\n6. Deadlock: two tasks each waiting for the other. Instead of hanging,");
    println!("   the runtime says so (here the test runtime, which fails the test):");
    let r = std::panic::catch_unwind(|| {
        eddy::test::Builder::new()
            .seed(1)
            .deadlock_grace(Duration::from_millis(100))
            .run(async {
                let (tx_a, rx_a) = eddy::sync::oneshot::channel::<()>();
                let (tx_b, rx_b) = eddy::sync::oneshot::channel::<()>();
                let a = eddy::TaskBuilder::new()
                    .name("a-waits-for-b")
                    .spawn(async move {
                        let _ = rx_b.await;
                        let _ = tx_a.send(());
                    });
                let b = eddy::TaskBuilder::new()
                    .name("b-waits-for-a")
                    .spawn(async move {
                        let _ = rx_a.await;
                        let _ = tx_b.send(());
                    });
                let _ = (a.await, b.await);
            })
    });
    if let Err(p) = r {
        let msg = p.downcast_ref::<String>().cloned().unwrap_or_default();
        println!("   {}", msg.replace('\n', "\n   "));
    }
    println!("   Fix: one side sends first (or use a timeout to break the wait).");

    println!("\n7. Testing: virtual time and seeded schedules make async tests exact.");
    let t = Instant::now();
    let b = eddy::test::Builder::new().seed(7);
    let clock = b.clock();
    let t0 = clock.now();
    b.run(async {
        let slow = eddy::sleep(Duration::from_secs(3601));
        assert!(
            eddy::timeout(Duration::from_secs(3600), slow)
                .await
                .is_err()
        );
    });
    println!(
        "   an hour-long timeout, tested exactly: {:?} of virtual time in {:.3}s of real time",
        clock.now() - t0,
        t.elapsed().as_secs_f64()
    );
}

fn main() {
    // The process pool re-runs this executable as its workers; in a worker
    // this call serves jobs and never returns.
    worker_main_if_child(&Registry::new().register(&CPU_INTENSIVE));
    let mut args = std::env::args().skip(1);
    let mut scale = std::env::var("EDDY_TOUR_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--scale" => match args.next().and_then(|s| s.parse::<f64>().ok()) {
                Some(s) if s >= 0.0 => scale = s,
                _ => {
                    eprintln!("--scale needs a non-negative number, e.g. --scale 1");
                    std::process::exit(2);
                }
            },
            "-h" | "--help" => {
                println!(
                    "usage: tour [--scale FACTOR]   (default 0.1; 1 = the note's real seconds)"
                );
                return;
            }
            other => {
                eprintln!("unknown argument {other:?}; try --help");
                std::process::exit(2);
            }
        }
    }
    let _ = SCALE.set(scale);
    println!("eddy tour: the asyncio note's examples, sleeps scaled by {scale}");
    // A panicking task prints through the panic hook; keep the tour readable.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .copied()
            .unwrap_or("panic");
        println!("(a task panicked: {msg})");
    }));
    let start = Instant::now();
    // asyncio.run(main()): creates the event loop, runs, closes.
    eddy::run(async {
        basic().await;
        gather_demo().await;
        create_task_demo().await;
        iter_ctx_demo().await;
        exception_demo().await;
        timeout_demo().await;
        cancel_demo().await;
        panic_demo().await;
        semaphore_demo().await;
        queue_demo().await;
        pools_demo().await;
        sockets_demo().await;
    });
    parallel_demo();
    pitfalls_demo();
    println!("\ntour finished in {:.2}s", start.elapsed().as_secs_f64());
}
