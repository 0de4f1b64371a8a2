//! The workloads, each written once over [`Runtime`] (and [`SyncImpl`] or
//! [`BlockingImpl`] where it needs channels, locks or a blocking pool).
//!
//! Every workload builds its runtime, times itself inside a root task (so
//! runtime start-up and shutdown are not measured, and the work runs on a
//! worker in the multi-threaded flavours), checks its result, and returns
//! one number in the unit of its table row.

use std::future::{Future, pending, ready};
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::heap;
use crate::rt::Runtime;
use crate::sync::{BlockingImpl, SyncImpl};

/// How big a run is.
#[derive(Clone, Copy, Debug)]
pub struct Cfg {
    /// Run a fraction of each workload (CI smoke test).
    pub quick: bool,
}

impl Cfg {
    /// `full` in a full run, a twentieth of it (at least 1) in quick mode.
    pub fn n(&self, full: usize) -> usize {
        if self.quick { (full / 20).max(1) } else { full }
    }
}

fn ns_per(d: Duration, ops: usize) -> f64 {
    d.as_nanos() as f64 / ops as f64
}

fn us_per(d: Duration, ops: usize) -> f64 {
    ns_per(d, ops) / 1000.0
}

/// Runs `f` as the root task of a fresh `R` runtime and returns its output.
pub fn root<R, F>(f: F) -> F::Output
where
    R: Runtime,
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    R::block_on(async move { R::spawn(f).await })
}

/// A fixed-seed xorshift generator, so every runtime sees the same durations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

const SEED: u64 = 0x2545_F491_4F6C_DD1D;

/// spawn_many: spawn 100k empty tasks from a task, await them all (ns/task).
pub fn spawn_many<R: Runtime>(c: &Cfg) -> f64 {
    let n = c.n(100_000);
    let d = root::<R, _>(async move {
        let start = Instant::now();
        spawn_burst::<R>(n).await;
        start.elapsed()
    });
    ns_per(d, n)
}

/// One spawn_many burst: spawn `n` empty tasks, then await each handle.
async fn spawn_burst<R: Runtime>(n: usize) {
    let mut handles = Vec::with_capacity(n);
    for _ in 0..n {
        handles.push(R::spawn(async {}));
    }
    for h in handles {
        h.await;
    }
}

/// spawn_many_detached: spawn_many with no handles kept (every task
/// detached, as a server detaches its per-connection tasks); the last task
/// to finish tells the spawner, through a shared counter and a channel, as
/// tokio's own spawn benchmarks do (ns/task).
pub fn spawn_many_detached<R: Runtime>(c: &Cfg) -> f64 {
    let n = c.n(100_000);
    let d = root::<R, _>(async move {
        let start = Instant::now();
        let (tx, rx) = async_channel::bounded(1);
        let done = Arc::new((AtomicUsize::new(n), tx));
        for _ in 0..n {
            let done = done.clone();
            R::spawn_detached(async move {
                if done.0.fetch_sub(1, Ordering::AcqRel) == 1 {
                    done.1.try_send(()).expect("only the last task signals");
                }
            });
        }
        drop(done);
        rx.recv().await.expect("the last task signals");
        start.elapsed()
    });
    ns_per(d, n)
}

/// spawn_many_warm: spawn_many on a runtime that has already run one such
/// burst (untimed), as a long-lived server's runtime has: its task
/// registry and queues have grown, and the allocator has the freed task
/// cells at hand. The fresh-runtime row pays for that growth, and for
/// the page faults when the allocator gave the memory back to the kernel
/// at the last runtime's shutdown (see `spawn_many_faults`) (ns/task).
pub fn spawn_many_warm<R: Runtime>(c: &Cfg) -> f64 {
    let n = c.n(100_000);
    let d = root::<R, _>(async move {
        spawn_burst::<R>(n).await;
        let start = Instant::now();
        spawn_burst::<R>(n).await;
        start.elapsed()
    });
    ns_per(d, n)
}

/// Minor page faults of this process so far (`/proc/self/stat`, field 10).
pub fn minor_faults() -> u64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // The command name (field 2) is in parentheses and may hold
            // spaces: count fields from after its closing one.
            let rest = &s[s.rfind(')')? + 1..];
            rest.split_whitespace().nth(7)?.parse().ok()
        })
        .unwrap_or(0)
}

/// spawn_many_faults: the minor page faults taken during one spawn_many
/// burst on a fresh runtime, per 1,000 tasks: memory the burst touches for
/// the first time (a fresh heap, or one the allocator trimmed back to the
/// kernel when the previous runtime shut down). Process-wide, so worker
/// threads count too.
pub fn spawn_many_faults<R: Runtime>(c: &Cfg) -> f64 {
    let n = c.n(100_000);
    let faults = root::<R, _>(async move {
        let before = minor_faults();
        spawn_burst::<R>(n).await;
        minor_faults().saturating_sub(before)
    });
    faults as f64 * 1000.0 / n as f64
}

/// spawn_many_block_on: spawn_many driven from the `block_on` future itself
/// (not from a task), as `rt.block_on(async { .. })` in `main` does
/// (ns/task).
pub fn spawn_many_block_on<R: Runtime>(c: &Cfg) -> f64 {
    let n = c.n(100_000);
    let d = R::block_on(async move {
        let start = Instant::now();
        let mut handles = Vec::with_capacity(n);
        for _ in 0..n {
            handles.push(R::spawn(async {}));
        }
        for h in handles {
            h.await;
        }
        start.elapsed()
    });
    ns_per(d, n)
}

/// yield_many: 1,000 tasks each yielding 1,000 times (ns/yield).
pub fn yield_many<R: Runtime>(c: &Cfg) -> f64 {
    let (tasks, yields) = (c.n(1000), 1000);
    let d = root::<R, _>(async move {
        let start = Instant::now();
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                R::spawn(async move {
                    for _ in 0..yields {
                        R::yield_now().await;
                    }
                })
            })
            .collect();
        for h in handles {
            h.await;
        }
        start.elapsed()
    });
    ns_per(d, tasks * yields)
}

/// ping_pong: two tasks bounce 1M messages over two capacity-1 channels
/// (ns/message).
pub fn ping_pong<R: Runtime, S: SyncImpl>(c: &Cfg) -> f64 {
    let msgs = c.n(1_000_000);
    let rounds = (msgs / 2) as u64;
    let d = root::<R, _>(async move {
        let (to_b, mut from_a) = S::channel(1);
        let (to_a, mut from_b) = S::channel(1);
        let start = Instant::now();
        let b = R::spawn(async move {
            while let Some(v) = S::recv(&mut from_a).await {
                S::send(&to_a, v + 1).await;
            }
        });
        let a = R::spawn(async move {
            let mut sum = 0;
            for i in 0..rounds {
                S::send(&to_b, i).await;
                sum += S::recv(&mut from_b).await.expect("pong");
            }
            sum
        });
        let sum = a.await;
        b.await;
        assert_eq!(sum, rounds * (rounds + 1) / 2, "ping_pong lost messages");
        start.elapsed()
    });
    ns_per(d, (rounds * 2) as usize)
}

fn chain<R: Runtime>(left: usize, done: async_channel::Sender<()>) {
    if left == 0 {
        let _ = done.try_send(());
    } else {
        R::spawn_detached(async move { chain::<R>(left - 1, done) });
    }
}

/// chained_spawn: each task spawns the next, depth 10,000; ten chains one
/// after the other (ns/task).
pub fn chained_spawn<R: Runtime>(c: &Cfg) -> f64 {
    let (depth, chains) = (c.n(10_000), if c.quick { 1 } else { 10 });
    let d = root::<R, _>(async move {
        let start = Instant::now();
        for _ in 0..chains {
            let (tx, rx) = async_channel::bounded(1);
            chain::<R>(depth, tx);
            rx.recv().await.expect("chain finished");
        }
        start.elapsed()
    });
    ns_per(d, depth * chains)
}

/// timer_sleep: 100k concurrent sleeps of 1–50 ms, fixed seed (wall ms from
/// the first spawn to the last wake-up; the ideal is 50).
pub fn timer_sleep<R: Runtime>(c: &Cfg) -> f64 {
    let n = c.n(100_000);
    let d = root::<R, _>(async move {
        let mut rng = Rng(SEED);
        let start = Instant::now();
        let handles: Vec<_> = (0..n)
            .map(|_| {
                let ms = 1 + rng.next() % 50;
                R::spawn(R::sleep(Duration::from_millis(ms)))
            })
            .collect();
        for h in handles {
            h.await;
        }
        start.elapsed()
    });
    d.as_secs_f64() * 1000.0
}

/// timer_sleep_in_task: timer_sleep with each sleep created inside its task
/// (`spawn(async move { sleep(d).await })`, as users write it): the
/// deadline counts from the task's first poll, not from the spawn loop
/// (wall ms from the first spawn to the last wake-up).
pub fn timer_sleep_in_task<R: Runtime>(c: &Cfg) -> f64 {
    let n = c.n(100_000);
    let d = root::<R, _>(async move {
        let mut rng = Rng(SEED);
        let start = Instant::now();
        let handles: Vec<_> = (0..n)
            .map(|_| {
                let ms = 1 + rng.next() % 50;
                R::spawn(async move { R::sleep(Duration::from_millis(ms)).await })
            })
            .collect();
        for h in handles {
            h.await;
        }
        start.elapsed()
    });
    d.as_secs_f64() * 1000.0
}

/// timer_cancel: create a sleep of 1–1000 ms, poll it once (registering it),
/// drop it (cancelling it); 1M times (ns/timer).
pub fn timer_cancel<R: Runtime>(c: &Cfg) -> f64 {
    let n = c.n(1_000_000);
    let d = root::<R, _>(async move {
        let mut rng = Rng(SEED);
        let start = Instant::now();
        for _ in 0..n {
            let ms = 1 + rng.next() % 1000;
            let mut s = pin!(R::sleep(Duration::from_millis(ms)));
            // Normally `None`; a preempted thread may find a 1 ms sleep due,
            // which is no failure.
            black_box(futures_lite::future::poll_once(s.as_mut()).await);
        }
        start.elapsed()
    });
    ns_per(d, n)
}

/// blocking_seq: 10,000 blocking-pool round trips of a trivial closure, one
/// at a time (µs/job).
pub fn blocking_seq<R: Runtime, B: BlockingImpl>(c: &Cfg) -> f64 {
    let n = c.n(10_000);
    let d = root::<R, _>(async move {
        let start = Instant::now();
        let mut sum = 0u64;
        for i in 0..n as u64 {
            sum += B::unblock(move || black_box(i) + 1).await;
        }
        assert_eq!(sum, (n as u64) * (n as u64 + 1) / 2);
        start.elapsed()
    });
    us_per(d, n)
}

/// blocking_batch: 10,000 trivial jobs submitted at once, then awaited
/// (µs/job).
pub fn blocking_batch<R: Runtime, B: BlockingImpl>(c: &Cfg) -> f64 {
    let n = c.n(10_000);
    let d = root::<R, _>(async move {
        let start = Instant::now();
        let jobs: Vec<_> = (0..n as u64)
            .map(|i| B::unblock(move || black_box(i) + 1))
            .collect();
        let mut sum = 0u64;
        for j in jobs {
            sum += j.await;
        }
        assert_eq!(sum, (n as u64) * (n as u64 + 1) / 2);
        start.elapsed()
    });
    us_per(d, n)
}

/// mutex_uncontended: one task locks and unlocks 1M times (ns/lock).
pub fn mutex_uncontended<R: Runtime, S: SyncImpl>(c: &Cfg) -> f64 {
    let n = c.n(1_000_000);
    let d = root::<R, _>(async move {
        let m = S::mutex();
        let start = Instant::now();
        for _ in 0..n {
            S::lock_hold(&m, ready(())).await;
        }
        let d = start.elapsed();
        assert_eq!(S::value(&m), n as u64);
        d
    });
    ns_per(d, n)
}

const CONTENDERS: usize = 8;

/// mutex_contended: 8 tasks lock one mutex 25k times each, holding it
/// across a `yield_now`, so every lock but one finds it taken (ns/lock,
/// yield included).
pub fn mutex_contended<R: Runtime, S: SyncImpl>(c: &Cfg) -> f64 {
    let per = c.n(25_000);
    let d = root::<R, _>(async move {
        let m = Arc::new(S::mutex());
        let start = Instant::now();
        let handles: Vec<_> = (0..CONTENDERS)
            .map(|_| {
                let m = m.clone();
                R::spawn(async move {
                    for _ in 0..per {
                        S::lock_hold(&m, R::yield_now()).await;
                    }
                })
            })
            .collect();
        for h in handles {
            h.await;
        }
        let d = start.elapsed();
        assert_eq!(S::value(&m), (CONTENDERS * per) as u64);
        d
    });
    ns_per(d, CONTENDERS * per)
}

/// semaphore_uncontended: one task acquires and releases a permit 1M times
/// (ns/acquire).
pub fn semaphore_uncontended<R: Runtime, S: SyncImpl>(c: &Cfg) -> f64 {
    let n = c.n(1_000_000);
    let d = root::<R, _>(async move {
        let s = S::semaphore(1);
        let start = Instant::now();
        for _ in 0..n {
            S::acquire_hold(&s, ready(())).await;
        }
        start.elapsed()
    });
    ns_per(d, n)
}

/// semaphore_contended: 8 tasks share 2 permits, 25k acquisitions each,
/// holding the permit across a `yield_now` (ns/acquire, yield included).
pub fn semaphore_contended<R: Runtime, S: SyncImpl>(c: &Cfg) -> f64 {
    let per = c.n(25_000);
    let d = root::<R, _>(async move {
        let s = Arc::new(S::semaphore(2));
        let start = Instant::now();
        let handles: Vec<_> = (0..CONTENDERS)
            .map(|_| {
                let s = s.clone();
                R::spawn(async move {
                    for _ in 0..per {
                        S::acquire_hold(&s, R::yield_now()).await;
                    }
                })
            })
            .collect();
        for h in handles {
            h.await;
        }
        start.elapsed()
    });
    ns_per(d, CONTENDERS * per)
}

/// mpsc: 4 producers send 250k values each into one bounded(1024) channel,
/// one consumer (ns/message).
pub fn mpsc<R: Runtime, S: SyncImpl>(c: &Cfg) -> f64 {
    let (producers, per) = (4, c.n(250_000) as u64);
    let d = root::<R, _>(async move {
        let (tx, mut rx) = S::channel(1024);
        let start = Instant::now();
        for _ in 0..producers {
            let tx = tx.clone();
            R::spawn_detached(async move {
                for i in 0..per {
                    S::send(&tx, i).await;
                }
            });
        }
        drop(tx);
        let mut sum = 0u64;
        while let Some(v) = S::recv(&mut rx).await {
            sum += v;
        }
        assert_eq!(sum, producers * per * (per - 1) / 2, "mpsc lost messages");
        start.elapsed()
    });
    ns_per(d, (producers * per) as usize)
}

/// Resident set of this process in bytes, from `/proc/self/statm`.
pub fn rss_bytes() -> usize {
    // Pages of 4 KiB: the only size on the x86-64 and aarch64 Linux machines
    // this runs on.
    const PAGE: usize = 4096;
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<usize>().ok())
        .map_or(0, |pages| pages * PAGE)
}

/// memory: resident bytes per idle task, 100k tasks pending forever. Meant
/// to run in a fresh process (see `main`), so earlier workloads' heaps do not
/// hide the growth.
pub fn idle_task_bytes<R: Runtime>(c: &Cfg) -> f64 {
    idle_task_growth::<R>(c, || rss_bytes() as f64)
}

/// memory: heap bytes per idle task, as `idle_task_bytes` but reading the
/// bytes of malloc chunks in use (see `heap`) instead of resident pages.
pub fn idle_task_heap_bytes<R: Runtime>(c: &Cfg) -> f64 {
    idle_task_growth::<R>(c, || heap::in_use() as f64)
}

/// What `measure` grows by per task while 100k tasks that pend forever are
/// spawned and polled once.
fn idle_task_growth<R: Runtime>(c: &Cfg, measure: fn() -> f64) -> f64 {
    let n = c.n(100_000);
    root::<R, _>(async move {
        // Let the runtime finish starting (worker threads, first allocations).
        R::sleep(Duration::from_millis(20)).await;
        let before = measure();
        for _ in 0..n {
            R::spawn_detached(pending());
        }
        // Long enough for every task to be polled once, on any flavour.
        R::sleep(Duration::from_millis(300)).await;
        let after = measure();
        (after - before).max(0.0) / n as f64
    })
}
