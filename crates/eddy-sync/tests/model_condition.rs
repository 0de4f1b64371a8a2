//! Condition against a sequential model, borrowed and owned waiters mixed:
//! `notify(n)` / `notify_all` counts, which waiters are woken, the handoff
//! of a notification when a waiter is cancelled (queued, notified, waiting
//! to re-lock, or handed the lock), and the lock's FIFO re-acquisition
//! while the test itself holds the lock.

mod common;

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use common::Task;
use eddy_sync::{Condition, MutexGuard};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    /// Starts a waiter: `true` for the owned API.
    Spawn(bool),
    Notify(usize),
    NotifyAll,
    Drop(usize),
    RunWoken,
    HoldLock,
    ReleaseLock,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => any::<bool>().prop_map(Op::Spawn),
        4 => (0usize..3).prop_map(Op::Notify),
        1 => Just(Op::NotifyAll),
        3 => any::<usize>().prop_map(Op::Drop),
        5 => Just(Op::RunWoken),
        2 => Just(Op::HoldLock),
        2 => Just(Op::ReleaseLock),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum St {
    /// Registered with the condition.
    Queued,
    /// Holds a notification, not polled since.
    Notified,
    /// Holds a notification, queued for the lock.
    Relocking,
    /// Holds a notification and has been handed the lock, not polled since.
    Granted,
}

#[derive(Default)]
struct Model {
    held: bool,
    /// Condition waiters, FIFO.
    cond_q: VecDeque<usize>,
    /// Lock waiters, FIFO.
    lock_q: VecDeque<usize>,
    st: Vec<Option<St>>,
}

impl Model {
    fn lock_free(&self) -> bool {
        !self.held && self.lock_q.is_empty() && !self.st.contains(&Some(St::Granted))
    }

    fn notify(&mut self, n: usize) -> usize {
        let mut woken = 0;
        while woken < n {
            let Some(id) = self.cond_q.pop_front() else {
                break;
            };
            self.st[id] = Some(St::Notified);
            woken += 1;
        }
        woken
    }

    /// The lock was released: the next lock waiter is handed it.
    fn unlocked(&mut self) {
        if let Some(id) = self.lock_q.pop_front() {
            self.st[id] = Some(St::Granted);
        }
    }
}

type Fut<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

fn waiter(cond: &Arc<Condition<u32>>, owned: bool) -> Fut<'_> {
    if owned {
        let cond = cond.clone();
        Box::pin(async move {
            let g = cond.lock_owned().await;
            drop(Condition::wait_owned(g).await);
        })
    } else {
        Box::pin(async move {
            let g = cond.lock().await;
            drop(cond.wait(g).await);
        })
    }
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let cond = Arc::new(Condition::new(0u32));
    let mut m = Model::default();
    let mut tasks: Vec<Option<Task<Fut<'_>>>> = Vec::new();
    let mut held: Option<MutexGuard<'_, u32>> = None;

    for op in ops {
        match op {
            Op::Spawn(owned) => {
                if !m.lock_free() {
                    continue; // keep the model to waiters that reach `wait`
                }
                let id = tasks.len();
                let mut t = Task::new(waiter(&cond, owned));
                prop_assert!(t.poll().is_pending());
                tasks.push(Some(t));
                m.st.push(Some(St::Queued));
                m.cond_q.push_back(id);
            }
            Op::Notify(n) => {
                let expect = m.notify(n);
                prop_assert_eq!(cond.notify(n), expect);
            }
            Op::NotifyAll => {
                let expect = m.notify(usize::MAX);
                prop_assert_eq!(cond.notify_all(), expect);
            }
            Op::Drop(i) => {
                let live: Vec<usize> = (0..tasks.len()).filter(|&j| tasks[j].is_some()).collect();
                if live.is_empty() {
                    continue;
                }
                let id = live[i % live.len()];
                tasks[id] = None;
                match m.st[id].take().unwrap() {
                    St::Queued => m.cond_q.retain(|&j| j != id),
                    St::Notified => {
                        m.notify(1);
                    }
                    St::Relocking => {
                        m.lock_q.retain(|&j| j != id);
                        m.notify(1);
                    }
                    St::Granted => {
                        m.unlocked();
                        m.notify(1);
                    }
                }
            }
            Op::RunWoken => loop {
                let mut progressed = false;
                for (id, slot) in tasks.iter_mut().enumerate() {
                    let Some(t) = slot.as_mut() else {
                        continue;
                    };
                    let st = m.st[id].unwrap();
                    let expect_woken = matches!(st, St::Notified | St::Granted);
                    prop_assert_eq!(t.woken(), expect_woken, "task {} in {:?}", id, st);
                    if !expect_woken {
                        continue;
                    }
                    progressed = true;
                    let can_lock = st == St::Granted || m.lock_free();
                    match t.poll() {
                        Poll::Ready(()) => {
                            prop_assert!(can_lock, "task {} finished without the lock", id);
                            *slot = None;
                            m.st[id] = None;
                            m.unlocked(); // its guard was dropped
                        }
                        Poll::Pending => {
                            prop_assert!(!can_lock, "task {} waited for a free lock", id);
                            m.st[id] = Some(St::Relocking);
                            m.lock_q.push_back(id);
                        }
                    }
                }
                if !progressed {
                    break;
                }
            },
            Op::HoldLock => {
                let got = cond.mutex().try_lock();
                prop_assert_eq!(got.is_ok(), m.lock_free());
                if let Ok(g) = got {
                    held = Some(g);
                    m.held = true;
                }
            }
            Op::ReleaseLock => {
                if held.take().is_some() {
                    m.held = false;
                    m.unlocked();
                }
            }
        }
        prop_assert_eq!(
            cond.mutex().is_locked(),
            m.held || m.st.contains(&Some(St::Granted))
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn condition_matches_model(ops in proptest::collection::vec(op(), 1..60)) {
        run(ops)?;
    }
}
