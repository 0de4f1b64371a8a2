//! Floors: the work any runtime must do for a workload, done without a
//! runtime, with the workload's counts and shape, timed in the same run as
//! the row it bounds.
//!
//! Issue #7's definition: spawning a task costs at least one allocation plus
//! a queue push and pop; waking one costs at least an atomic and a queue push
//! (and the pop that takes it off again). Each floor here does exactly that
//! and nothing more, on the kind of queue eddy uses: a `VecDeque`. That is
//! eddy's run queue on both flavours: a task spawned or woken on a worker
//! goes to the worker's own `VecDeque`, and only moves to a shared
//! (`concurrent_queue`) queue when another worker asks for work. So the
//! two-worker rows have the same floor, measured again in their own
//! repetitions. A floor on eddy's injector (an unbounded `ConcurrentQueue`,
//! used only for tasks woken from outside the workers) would be two to five
//! times higher, and no runtime has to pay it per task on these workloads.
//! The floors run on one thread: they bound the work, not the cost of
//! sharing it.
//!
//! What each floor leaves out is on purpose: polling through a vtable,
//! join handles, the channel's own synchronisation in `ping_pong`, the
//! executor's bookkeeping (ids, registry, stats). A runtime can be smarter
//! than a floor only by skipping the allocation or the atomic altogether.
//!
//! [`std::hint::black_box`] keeps the compiler from removing the
//! allocations (an unused `Box` may be elided) or folding the loops.

use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::workloads::Cfg;

/// Bytes allocated per task by the spawn floors.
///
/// An empty task needs at least a state word (8), a pointer to its vtable
/// (8), the join handle's waker slot (16), a way to reach its scheduler (8)
/// and room for its future or its output (`Result<(), JoinError>`, 24): 64
/// bytes. Each runtime here allocates more for `spawn(async {})` (counted
/// with a counting allocator, rustc 1.95): smol's `LocalExecutor` 72 bytes,
/// eddy 104 (async-task's header, eddy's 40-byte task header, the output),
/// tokio 128. The size matters: with 100,000 live tasks it sets how much
/// memory is touched, and this floor costs about 21 ns per task with 64-byte
/// cells and 39 ns with 112-byte ones on the benchmark machine.
pub const TASK_BYTES: usize = 64;

/// A task as the spawn floors allocate it: [`TASK_BYTES`] bytes, the first
/// word used as a countdown so the contents are read, not just written.
type TaskCell = Box<[u64; TASK_BYTES / 8]>;

fn new_cell(left: u64) -> TaskCell {
    // The pointer escapes through `black_box`, so the allocation stays.
    black_box(Box::new([left; TASK_BYTES / 8]))
}

fn ns_per(d: Duration, ops: usize) -> f64 {
    d.as_nanos() as f64 / ops as f64
}

/// Floor of `spawn_many`: allocate 100,000 task cells and queue each, then
/// pop each and free it (ns/task).
pub fn spawn_many(c: &Cfg) -> f64 {
    let n = c.n(100_000);
    let start = Instant::now();
    let mut q = VecDeque::new();
    for i in 0..n {
        q.push_back(new_cell(i as u64));
    }
    let mut freed = 0;
    while let Some(cell) = q.pop_front() {
        black_box(cell[0]);
        drop(cell);
        freed += 1;
    }
    let d = start.elapsed();
    assert_eq!(freed, n, "spawn floor lost tasks");
    ns_per(d, n)
}

/// Floor of `chained_spawn`: each task allocates and queues the next, then
/// is freed; depth 10,000, ten chains (ns/task).
pub fn chained_spawn(c: &Cfg) -> f64 {
    let (depth, chains) = (c.n(10_000), if c.quick { 1 } else { 10 });
    let start = Instant::now();
    let mut q = VecDeque::new();
    let mut ran = 0;
    for _ in 0..chains {
        // The workload's chain spawns `depth` tasks, the last finding 0.
        q.push_back(new_cell(depth as u64 - 1));
        while let Some(cell) = q.pop_front() {
            let left = black_box(cell[0]);
            if left > 0 {
                q.push_back(new_cell(left - 1));
            }
            drop(cell);
            ran += 1;
        }
    }
    let d = start.elapsed();
    assert_eq!(ran, depth * chains, "chained_spawn floor lost tasks");
    ns_per(d, depth * chains)
}

/// The task state bit a wake sets and a run clears.
const SCHEDULED: usize = 1;

/// One task's state word, on its own cache line as in a task cell.
#[repr(align(64))]
struct State(AtomicUsize);

/// Runs task `i` once, as an executor would after popping it: clears its
/// scheduled bit with one atomic read-modify-write, so that a wake during
/// the poll queues it again.
fn start_run(states: &[State], i: usize) {
    black_box(states[i].0.fetch_and(!SCHEDULED, Ordering::AcqRel));
}

/// Wakes task `i`: one atomic read-modify-write sets the scheduled bit, and
/// the task is queued unless it already was.
fn wake(states: &[State], q: &mut VecDeque<usize>, i: usize) {
    if states[i].0.fetch_or(SCHEDULED, Ordering::AcqRel) & SCHEDULED == 0 {
        q.push_back(i);
    }
}

/// Floor of `yield_many`: 1,000 tasks each yield 1,000 times; per yield one
/// atomic to wake the task, a push, a pop, and one atomic to start its next
/// run (ns/yield).
///
/// Two atomics, not one: a task's waker may be called from any thread, so
/// the wake must be an atomic read-modify-write, and so must the
/// executor's clearing of the bit before each poll (the state word holds
/// other bits too, and a load followed by a plain store would lose a wake
/// landing between them).
pub fn yield_many(c: &Cfg) -> f64 {
    let (tasks, yields) = (c.n(1000), 1000);
    let states: Vec<State> = (0..tasks)
        .map(|_| State(AtomicUsize::new(SCHEDULED)))
        .collect();
    let mut left = vec![yields; tasks];
    let start = Instant::now();
    let mut q = VecDeque::new();
    for i in 0..tasks {
        q.push_back(i);
    }
    let mut woken = 0;
    while let Some(i) = q.pop_front() {
        start_run(&states, i);
        if black_box(left[i]) > 0 {
            left[i] -= 1;
            wake(&states, &mut q, i);
            woken += 1;
        }
    }
    let d = start.elapsed();
    assert_eq!(woken, tasks * yields, "yield floor lost wakes");
    ns_per(d, tasks * yields)
}

/// Floor of `ping_pong`: two tasks wake each other 1,000,000 times, one wake
/// (atomic, push, pop, atomic) per message (ns/message). The channel's own
/// synchronisation, at least one more atomic per message in any
/// thread-safe channel, is not counted.
pub fn ping_pong(c: &Cfg) -> f64 {
    let msgs = c.n(1_000_000);
    let states = [
        State(AtomicUsize::new(SCHEDULED)),
        State(AtomicUsize::new(0)),
    ];
    let start = Instant::now();
    let mut q = VecDeque::new();
    q.push_back(0);
    let mut sent = 0;
    while let Some(i) = q.pop_front() {
        start_run(&states, i);
        if black_box(sent) < msgs {
            sent += 1;
            wake(&states, &mut q, 1 - i);
        }
    }
    let d = start.elapsed();
    assert_eq!(sent, msgs, "ping_pong floor lost messages");
    ns_per(d, msgs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUICK: Cfg = Cfg { quick: true };

    #[test]
    fn floors_run_and_check_their_counts() {
        for v in [
            spawn_many(&QUICK),
            chained_spawn(&QUICK),
            yield_many(&QUICK),
            ping_pong(&QUICK),
        ] {
            assert!(v.is_finite() && v > 0.0, "{v}");
        }
    }

    #[test]
    fn a_wake_queues_a_task_once() {
        let states = [State(AtomicUsize::new(0))];
        let mut q = VecDeque::new();
        wake(&states, &mut q, 0);
        wake(&states, &mut q, 0);
        assert_eq!(q.len(), 1);
        start_run(&states, 0);
        q.clear();
        wake(&states, &mut q, 0);
        assert_eq!(q.len(), 1);
    }
}
