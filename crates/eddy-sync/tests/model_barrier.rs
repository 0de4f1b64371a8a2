//! Barrier against a sequential model: arrivals, withdrawals (dropping a
//! waiter mid-round), and reuse across rounds.

mod common;

use std::task::Poll;

use common::Task;
use eddy_sync::{Barrier, BarrierWait};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Wait,
    Drop(usize),
    RunWoken,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => Just(Op::Wait),
        2 => any::<usize>().prop_map(Op::Drop),
        3 => Just(Op::RunWoken),
    ]
}

fn run(n: usize, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let barrier = Barrier::new(n);
    // (task, released): released once its round completed.
    let mut waiting: Vec<(Task<BarrierWait<'_>>, bool)> = Vec::new();
    let mut arrived = 0usize;
    let mut rounds = 0usize;
    let mut leaders = 0usize;

    for op in ops {
        match op {
            Op::Wait => {
                let mut t = Task::new(barrier.wait());
                arrived += 1;
                match t.poll() {
                    Poll::Ready(r) => {
                        prop_assert_eq!(arrived, n, "returned before the round filled");
                        prop_assert!(r.is_leader(), "the completing arrival leads");
                        leaders += 1;
                        rounds += 1;
                        arrived = 0;
                        for w in waiting.iter_mut() {
                            w.1 = true;
                        }
                    }
                    Poll::Pending => {
                        prop_assert!(arrived < n);
                        waiting.push((t, false));
                    }
                }
            }
            Op::Drop(i) => {
                if !waiting.is_empty() {
                    let (_, released) = waiting.remove(i % waiting.len());
                    if !released {
                        arrived -= 1; // withdrawn from the open round
                    }
                }
            }
            Op::RunWoken => {
                let mut i = 0;
                while i < waiting.len() {
                    let (t, released) = &mut waiting[i];
                    prop_assert_eq!(t.woken(), *released, "woken iff its round completed");
                    if t.woken() {
                        match t.poll() {
                            Poll::Ready(r) => prop_assert!(!r.is_leader()),
                            Poll::Pending => prop_assert!(false, "released waiter still pending"),
                        }
                        waiting.remove(i);
                        continue;
                    }
                    i += 1;
                }
            }
        }
        prop_assert_eq!(barrier.n_waiting(), arrived);
        prop_assert_eq!(leaders, rounds);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn barrier_matches_model(n in 1usize..5, ops in proptest::collection::vec(op(), 1..60)) {
        run(n, ops)?;
    }
}
