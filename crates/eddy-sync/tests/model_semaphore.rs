//! Semaphore against a sequential model: random try/acquire/release/drop
//! sequences, including dropping waiters after they were granted permits;
//! `locked()` and `waiters()` checked after every step.

mod common;

use std::collections::VecDeque;
use std::task::Poll;

use common::Task;
use eddy_sync::{Acquire, Semaphore, SemaphorePermit};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    TryAcquire(u32),
    Acquire(u32),
    Release(usize),
    AddPermits(usize),
    DropWaiter(usize),
    RunWoken,
    Close,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0u32..4).prop_map(Op::TryAcquire),
        16 => (0u32..4).prop_map(Op::Acquire),
        12 => any::<usize>().prop_map(Op::Release),
        4 => (0usize..3).prop_map(Op::AddPermits),
        8 => any::<usize>().prop_map(Op::DropWaiter),
        12 => Just(Op::RunWoken),
        1 => Just(Op::Close),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum WState {
    Queued,
    Granted,
    Closed,
}

struct Model {
    avail: usize,
    closed: bool,
    /// (waiter id, permits wanted) in FIFO order.
    queue: VecDeque<(usize, usize)>,
}

impl Model {
    fn grant(&mut self, states: &mut [Option<(usize, WState)>]) {
        while let Some(&(id, n)) = self.queue.front() {
            if self.closed || self.avail < n {
                break;
            }
            self.avail -= n;
            self.queue.pop_front();
            states[id].as_mut().unwrap().1 = WState::Granted;
        }
    }
}

fn run(initial: usize, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let sem = Semaphore::new(initial);
    let mut model = Model {
        avail: initial,
        closed: false,
        queue: VecDeque::new(),
    };
    let mut held: Vec<SemaphorePermit<'_>> = Vec::new();
    // Index = waiter id; `None` once finished or dropped.
    let mut tasks: Vec<Option<Task<Acquire<'_>>>> = Vec::new();
    let mut states: Vec<Option<(usize, WState)>> = Vec::new();

    for op in ops {
        match op {
            Op::TryAcquire(n) => {
                let expect = !model.closed
                    && (n == 0 || (model.queue.is_empty() && model.avail >= n as usize));
                match sem.try_acquire_many(n) {
                    Ok(p) => {
                        prop_assert!(expect, "try_acquire({n}) succeeded against the model");
                        model.avail -= n as usize;
                        held.push(p);
                    }
                    Err(_) => prop_assert!(!expect, "try_acquire({n}) failed against the model"),
                }
            }
            Op::Acquire(n) => {
                let mut t = Task::new(sem.acquire_many(n));
                let immediate =
                    model.closed || n == 0 || (model.queue.is_empty() && model.avail >= n as usize);
                match t.poll() {
                    Poll::Ready(Ok(p)) => {
                        prop_assert!(immediate && !model.closed);
                        model.avail -= n as usize;
                        held.push(p);
                    }
                    Poll::Ready(Err(_)) => prop_assert!(model.closed),
                    Poll::Pending => {
                        prop_assert!(!immediate, "acquire({n}) waited against the model");
                        let id = tasks.len();
                        tasks.push(Some(t));
                        states.push(Some((n as usize, WState::Queued)));
                        model.queue.push_back((id, n as usize));
                    }
                }
            }
            Op::Release(i) => {
                if !held.is_empty() {
                    let p = held.swap_remove(i % held.len());
                    model.avail += p.num_permits();
                    drop(p);
                    model.grant(&mut states);
                }
            }
            Op::AddPermits(n) => {
                sem.add_permits(n);
                model.avail += n;
                model.grant(&mut states);
            }
            Op::DropWaiter(i) => {
                let live: Vec<usize> = (0..tasks.len()).filter(|&j| tasks[j].is_some()).collect();
                if !live.is_empty() {
                    let id = live[i % live.len()];
                    tasks[id] = None;
                    let (n, st) = states[id].take().unwrap();
                    match st {
                        WState::Granted => model.avail += n,
                        WState::Queued => model.queue.retain(|&(j, _)| j != id),
                        WState::Closed => {}
                    }
                    model.grant(&mut states);
                }
            }
            Op::RunWoken => {
                for id in 0..tasks.len() {
                    let Some(t) = tasks[id].as_mut() else {
                        continue;
                    };
                    let (n, st) = states[id].unwrap();
                    // Woken exactly when the model says it was served.
                    prop_assert_eq!(t.woken(), st != WState::Queued, "waiter {} in {:?}", id, st);
                    if !t.woken() {
                        continue;
                    }
                    match t.poll() {
                        Poll::Ready(Ok(p)) => {
                            prop_assert_eq!(st, WState::Granted);
                            prop_assert_eq!(p.num_permits(), n);
                            held.push(p);
                        }
                        Poll::Ready(Err(_)) => prop_assert_eq!(st, WState::Closed),
                        Poll::Pending => prop_assert!(false, "woken waiter still pending"),
                    }
                    tasks[id] = None;
                    states[id] = None;
                }
            }
            Op::Close => {
                sem.close();
                model.closed = true;
                for (id, _) in model.queue.drain(..) {
                    states[id].as_mut().unwrap().1 = WState::Closed;
                }
            }
        }
        prop_assert_eq!(sem.available_permits(), model.avail);
        prop_assert_eq!(sem.waiters(), model.queue.len());
        prop_assert_eq!(
            sem.locked(),
            model.closed || model.avail == 0 || !model.queue.is_empty()
        );
    }
    // Everything returns: no permit was lost along the way (dropping a
    // granted waiter returns its permits).
    drop(tasks);
    for (n, st) in states.into_iter().flatten() {
        if st == WState::Granted {
            model.avail += n;
        }
    }
    let held_total: usize = held.iter().map(|p| p.num_permits()).sum();
    drop(held);
    prop_assert_eq!(sem.available_permits(), model.avail + held_total);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn semaphore_matches_model(initial in 0usize..4, ops in proptest::collection::vec(op(), 1..60)) {
        run(initial, ops)?;
    }
}
