//! Barrier against a sequential model: arrivals, withdrawals (dropping a
//! waiter mid-round or after release), `reset`, `abort`, reuse across
//! rounds, and the arrival indices handed out per round.

mod common;

use std::collections::BTreeMap;
use std::task::Poll;

use common::Task;
use eddy_sync::{Barrier, BarrierWait, BrokenBarrier};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Wait,
    /// Polls one live waiter whether or not it was woken.
    Poll(usize),
    Drop(usize),
    RunWoken,
    Reset,
    Abort,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => Just(Op::Wait),
        2 => any::<usize>().prop_map(Op::Poll),
        3 => any::<usize>().prop_map(Op::Drop),
        4 => Just(Op::RunWoken),
        1 => Just(Op::Reset),
        1 => Just(Op::Abort),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Queued,
    /// Released by round `.0` with index `.1`.
    Released(usize, usize),
    Broken,
}

struct Model {
    n: usize,
    broken: bool,
    rounds: usize,
    /// Waiter ids of the open round, in arrival order.
    open: Vec<usize>,
    expect: Vec<Expect>,
}

impl Model {
    fn break_open_round(&mut self) {
        for id in self.open.drain(..) {
            self.expect[id] = Expect::Broken;
        }
    }
}

struct Live<'a> {
    id: usize,
    task: Task<BarrierWait<'a>>,
}

/// Checks a completed poll against the model; returns the (round, index)
/// it observed, if released.
fn check_ready(
    got: Result<eddy_sync::BarrierWaitResult, BrokenBarrier>,
    expect: Expect,
    n: usize,
) -> Result<Option<(usize, usize)>, TestCaseError> {
    match (got, expect) {
        (Ok(r), Expect::Released(round, index)) => {
            prop_assert_eq!(r.index(), index);
            prop_assert_eq!(r.is_leader(), index == n - 1);
            Ok(Some((round, index)))
        }
        (Err(_), Expect::Broken) => Ok(None),
        (got, expect) => {
            prop_assert!(false, "got {:?}, model says {:?}", got, expect);
            Ok(None)
        }
    }
}

fn run(n: usize, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let barrier = Barrier::new(n);
    let mut m = Model {
        n,
        broken: false,
        rounds: 0,
        open: Vec::new(),
        expect: Vec::new(),
    };
    let mut live: Vec<Live<'_>> = Vec::new();
    // round -> indices observed by its parties.
    let mut seen: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let mut record = |hit: Option<(usize, usize)>| {
        if let Some((round, index)) = hit {
            seen.entry(round).or_default().push(index);
        }
    };

    for op in ops {
        match op {
            Op::Wait => {
                let id = m.expect.len();
                m.expect.push(Expect::Queued);
                let mut task = Task::new(barrier.wait());
                if m.broken {
                    m.expect[id] = Expect::Broken;
                } else {
                    m.open.push(id);
                    if m.open.len() == m.n {
                        let round = m.rounds;
                        m.rounds += 1;
                        for (index, &w) in m.open.iter().enumerate() {
                            m.expect[w] = Expect::Released(round, index);
                        }
                        m.open.clear();
                    }
                }
                match task.poll() {
                    Poll::Ready(r) => {
                        prop_assert!(
                            m.expect[id] != Expect::Queued,
                            "returned before the round filled"
                        );
                        record(check_ready(r, m.expect[id], n)?);
                    }
                    Poll::Pending => {
                        prop_assert_eq!(m.expect[id], Expect::Queued);
                        live.push(Live { id, task });
                    }
                }
            }
            Op::Poll(i) => {
                if live.is_empty() {
                    continue;
                }
                let k = i % live.len();
                let exp = m.expect[live[k].id];
                match live[k].task.poll() {
                    Poll::Pending => prop_assert_eq!(exp, Expect::Queued),
                    Poll::Ready(r) => {
                        record(check_ready(r, exp, n)?);
                        live.remove(k);
                    }
                }
            }
            Op::Drop(i) => {
                if live.is_empty() {
                    continue;
                }
                let w = live.remove(i % live.len());
                m.open.retain(|&id| id != w.id);
            }
            Op::RunWoken => {
                let mut k = 0;
                while k < live.len() {
                    let exp = m.expect[live[k].id];
                    let t = &mut live[k].task;
                    prop_assert_eq!(
                        t.woken(),
                        exp != Expect::Queued,
                        "woken iff released or broken"
                    );
                    if !t.woken() {
                        k += 1;
                        continue;
                    }
                    match t.poll() {
                        Poll::Ready(r) => record(check_ready(r, exp, n)?),
                        Poll::Pending => prop_assert!(false, "woken waiter still pending"),
                    }
                    live.remove(k);
                }
            }
            Op::Reset => {
                barrier.reset();
                m.break_open_round();
                m.broken = false;
            }
            Op::Abort => {
                barrier.abort();
                m.break_open_round();
                m.broken = true;
            }
        }
        prop_assert_eq!(barrier.n_waiting(), m.open.len());
        prop_assert_eq!(barrier.broken(), m.broken);
    }
    // Per round, the indices handed out are distinct and in range; a round
    // whose every party was observed handed out exactly 0..parties.
    for (round, mut indices) in seen {
        indices.sort_unstable();
        let len = indices.len();
        indices.dedup();
        prop_assert_eq!(indices.len(), len, "round {} repeated an index", round);
        prop_assert!(indices.iter().all(|&i| i < n));
        if len == n {
            prop_assert_eq!(indices, (0..n).collect::<Vec<_>>());
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn barrier_matches_model(n in 1usize..5, ops in proptest::collection::vec(op(), 1..80)) {
        run(n, ops)?;
    }
}

#[test]
fn every_party_of_a_full_round_sees_a_distinct_index() {
    // Without drops or polls out of turn, all parties are observed, so the
    // permutation check above is exercised on every round.
    let n = 4;
    let ops: Vec<Op> = (0..3)
        .flat_map(|_| std::iter::repeat_n(Op::Wait, n).chain([Op::RunWoken]))
        .collect();
    run(n, ops).unwrap();
}
