//! BoundedSemaphore's owned API against a sequential model: owned acquires
//! and try-acquires, permits dropped here or on another thread, forgotten
//! and released by hand, waiters dropped queued or after being served, and
//! `close`. After every step `available_permits`, `waiters`, `locked` and
//! the bound (nothing is ever created or lost) are checked.

mod common;

use std::collections::VecDeque;
use std::sync::Arc;
use std::task::Poll;

use common::Task;
use eddy_sync::{BoundedAcquireOwned, BoundedSemaphore, OwnedBoundedSemaphorePermit};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    TryAcquire,
    Acquire(u32),
    DropPermit(usize),
    DropPermitOnThread(usize),
    Forget(usize),
    Release(usize),
    DropWaiter(usize),
    RunWoken,
    Close,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => Just(Op::TryAcquire),
        12 => (0u32..4).prop_map(Op::Acquire),
        8 => any::<usize>().prop_map(Op::DropPermit),
        2 => any::<usize>().prop_map(Op::DropPermitOnThread),
        4 => any::<usize>().prop_map(Op::Forget),
        4 => (0usize..3).prop_map(Op::Release),
        6 => any::<usize>().prop_map(Op::DropWaiter),
        10 => Just(Op::RunWoken),
        1 => Just(Op::Close),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum WState {
    Queued,
    Granted,
    Closed,
}

#[derive(Default)]
struct Model {
    avail: usize,
    forgotten: usize,
    closed: bool,
    /// (waiter id, permits wanted) in FIFO order.
    queue: VecDeque<(usize, usize)>,
    /// Per waiter id: (permits wanted, state); `None` once gone.
    waiters: Vec<Option<(usize, WState)>>,
}

impl Model {
    fn grant(&mut self) {
        while let Some(&(id, n)) = self.queue.front() {
            if self.closed || self.avail < n {
                break;
            }
            self.avail -= n;
            self.queue.pop_front();
            self.waiters[id].as_mut().unwrap().1 = WState::Granted;
        }
    }

    /// Permits out of the semaphore in granted-but-unobserved waiters.
    fn in_flight(&self) -> usize {
        self.waiters
            .iter()
            .flatten()
            .filter(|(_, st)| *st == WState::Granted)
            .map(|(n, _)| n)
            .sum()
    }
}

fn run(bound: usize, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let sem = Arc::new(BoundedSemaphore::new(bound));
    let mut m = Model {
        avail: bound,
        ..Model::default()
    };
    let mut held: Vec<OwnedBoundedSemaphorePermit> = Vec::new();
    let mut tasks: Vec<Option<Task<BoundedAcquireOwned>>> = Vec::new();

    for op in ops {
        match op {
            Op::TryAcquire => {
                let expect = !m.closed && m.queue.is_empty() && m.avail >= 1;
                match sem.clone().try_acquire_owned() {
                    Ok(p) => {
                        prop_assert!(expect, "try_acquire_owned succeeded against the model");
                        m.avail -= 1;
                        held.push(p);
                    }
                    Err(_) => prop_assert!(!expect, "try_acquire_owned failed against the model"),
                }
            }
            Op::Acquire(n) => {
                let n = n as usize;
                let mut t = Task::new(sem.clone().acquire_many_owned(n as u32));
                let immediate = m.closed || n == 0 || (m.queue.is_empty() && m.avail >= n);
                match t.poll() {
                    Poll::Ready(Ok(p)) => {
                        prop_assert!(immediate && !m.closed);
                        prop_assert_eq!(p.num_permits(), n);
                        m.avail -= n;
                        held.push(p);
                    }
                    Poll::Ready(Err(_)) => prop_assert!(m.closed),
                    Poll::Pending => {
                        prop_assert!(!immediate, "acquire({}) waited against the model", n);
                        let id = tasks.len();
                        tasks.push(Some(t));
                        m.waiters.push(Some((n, WState::Queued)));
                        m.queue.push_back((id, n));
                    }
                }
            }
            Op::DropPermit(i) | Op::DropPermitOnThread(i) => {
                if held.is_empty() {
                    continue;
                }
                let p = held.swap_remove(i % held.len());
                m.avail += p.num_permits();
                if matches!(op, Op::DropPermitOnThread(_)) {
                    std::thread::spawn(move || drop(p)).join().unwrap();
                } else {
                    drop(p);
                }
                m.grant();
            }
            Op::Forget(i) => {
                if held.is_empty() {
                    continue;
                }
                let p = held.swap_remove(i % held.len());
                m.forgotten += p.num_permits();
                p.forget();
            }
            Op::Release(k) => {
                let res = sem.release(k);
                if k <= m.forgotten {
                    prop_assert!(
                        res.is_ok(),
                        "release({}) refused with {} forgotten",
                        k,
                        m.forgotten
                    );
                    m.forgotten -= k;
                    m.avail += k;
                    m.grant();
                } else {
                    let err = res.unwrap_err();
                    prop_assert_eq!(
                        (err.bound, err.forgotten, err.released),
                        (bound, m.forgotten, k)
                    );
                }
            }
            Op::DropWaiter(i) => {
                let live: Vec<usize> = (0..tasks.len()).filter(|&j| tasks[j].is_some()).collect();
                if live.is_empty() {
                    continue;
                }
                let id = live[i % live.len()];
                tasks[id] = None;
                let (n, st) = m.waiters[id].take().unwrap();
                match st {
                    WState::Granted => m.avail += n,
                    WState::Queued => m.queue.retain(|&(j, _)| j != id),
                    WState::Closed => {}
                }
                m.grant();
            }
            Op::RunWoken => {
                for (id, slot) in tasks.iter_mut().enumerate() {
                    let Some(t) = slot.as_mut() else {
                        continue;
                    };
                    let (n, st) = m.waiters[id].unwrap();
                    prop_assert_eq!(t.woken(), st != WState::Queued, "waiter {} in {:?}", id, st);
                    if !t.woken() {
                        continue;
                    }
                    match t.poll() {
                        Poll::Ready(Ok(p)) => {
                            prop_assert_eq!(st, WState::Granted);
                            prop_assert_eq!(p.num_permits(), n);
                            prop_assert!(Arc::ptr_eq(p.semaphore(), &sem));
                            held.push(p);
                        }
                        Poll::Ready(Err(_)) => prop_assert_eq!(st, WState::Closed),
                        Poll::Pending => prop_assert!(false, "woken waiter still pending"),
                    }
                    *slot = None;
                    m.waiters[id] = None;
                }
            }
            Op::Close => {
                sem.close();
                m.closed = true;
                for (id, _) in m.queue.drain(..) {
                    m.waiters[id].as_mut().unwrap().1 = WState::Closed;
                }
            }
        }
        prop_assert_eq!(sem.available_permits(), m.avail);
        prop_assert_eq!(sem.waiters(), m.queue.len());
        prop_assert_eq!(
            sem.locked(),
            m.closed || m.avail == 0 || !m.queue.is_empty()
        );
        let out: usize = held.iter().map(|p| p.num_permits()).sum();
        prop_assert_eq!(
            m.avail + out + m.in_flight() + m.forgotten,
            bound,
            "a permit was lost or made up"
        );
    }
    drop(tasks);
    drop(held);
    prop_assert_eq!(sem.available_permits(), bound - m.forgotten);
    prop_assert_eq!(sem.release(m.forgotten), Ok(()));
    prop_assert_eq!(sem.available_permits(), bound);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn bounded_semaphore_owned_matches_model(
        bound in 0usize..4,
        ops in proptest::collection::vec(op(), 1..60),
    ) {
        run(bound, ops)?;
    }
}
