//! Queue (FIFO, LIFO, priority; bounded and unbounded) against a sequential
//! model, with waiters dropped at random (including after being woken).
//!
//! Tasks are polled only when their waker fired; after each "run" the
//! invariants say no task may be left waiting for something that is there
//! (an item for a getter, room for a putter, zero unfinished for a joiner):
//! a lost wake-up fails them.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use common::Task;
use eddy_sync::{
    GenericQueue, LifoQueue, PriorityQueue, Queue, QueueOrder, QueueShutdown, TryGetError,
    TryPutError,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    TryPut(u32),
    TryGet,
    Put(u32),
    Get,
    Join,
    TaskDone,
    Drop(usize),
    RunWoken,
    Shutdown,
    ShutdownImmediate,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => (0u32..20).prop_map(Op::TryPut),
        8 => Just(Op::TryGet),
        12 => (0u32..20).prop_map(Op::Put),
        12 => Just(Op::Get),
        3 => Just(Op::Join),
        6 => Just(Op::TaskDone),
        6 => any::<usize>().prop_map(Op::Drop),
        16 => Just(Op::RunWoken),
        1 => Just(Op::Shutdown),
        1 => Just(Op::ShutdownImmediate),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    Fifo,
    Lifo,
    Priority,
}

#[derive(Debug, PartialEq)]
enum Out {
    Put(Result<(), QueueShutdown<u32>>),
    Get(Result<u32, QueueShutdown>),
    Join,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Put,
    Get,
    Join,
}

type BoxFut<'a> = Pin<Box<dyn Future<Output = Out> + 'a>>;

struct Model {
    order: Order,
    maxsize: usize,
    items: Vec<u32>,
    unfinished: usize,
    shutdown: bool,
}

impl Model {
    fn full(&self) -> bool {
        self.maxsize != 0 && self.items.len() >= self.maxsize
    }
    fn push(&mut self, v: u32) {
        self.items.push(v);
        self.unfinished += 1;
    }
    fn pop(&mut self) -> Option<u32> {
        if self.items.is_empty() {
            return None;
        }
        Some(match self.order {
            Order::Fifo => self.items.remove(0),
            Order::Lifo => self.items.pop().unwrap(),
            Order::Priority => {
                let i = (0..self.items.len())
                    .min_by_key(|&i| self.items[i])
                    .unwrap();
                self.items.remove(i)
            }
        })
    }
}

fn check_out(m: &mut Model, out: Out) -> Result<(), TestCaseError> {
    match out {
        Out::Put(Ok(())) => {
            prop_assert!(!m.shutdown && !m.full());
            // The value itself is checked when it comes out.
        }
        Out::Put(Err(_)) => prop_assert!(m.shutdown),
        Out::Get(Ok(v)) => prop_assert_eq!(Some(v), m.pop()),
        Out::Get(Err(_)) => prop_assert!(m.shutdown && m.items.is_empty()),
        Out::Join => prop_assert_eq!(m.unfinished, 0),
    }
    Ok(())
}

fn release_joiners(tasks: &mut [(Kind, Option<u32>, bool, Task<BoxFut<'_>>)]) {
    for t in tasks.iter_mut().filter(|t| t.0 == Kind::Join) {
        t.2 = true;
    }
}

fn run<S: QueueOrder<u32>>(
    q: GenericQueue<u32, S>,
    order: Order,
    maxsize: usize,
    ops: Vec<Op>,
) -> Result<(), TestCaseError> {
    let mut m = Model {
        order,
        maxsize,
        items: Vec::new(),
        unfinished: 0,
        shutdown: false,
    };
    let mut tasks: Vec<(Kind, Option<u32>, bool, Task<BoxFut<'_>>)> = Vec::new();

    let q = &q;
    let run_woken = |tasks: &mut Vec<(Kind, Option<u32>, bool, Task<BoxFut<'_>>)>,
                     m: &mut Model| {
        loop {
            let mut progressed = false;
            let mut i = 0;
            while i < tasks.len() {
                if tasks[i].3.woken() {
                    progressed = true;
                    match tasks[i].3.poll() {
                        Poll::Ready(Out::Join) => {
                            // Joiners return once the count *reached* zero
                            // since they started waiting (asyncio's Event).
                            prop_assert!(tasks[i].2 || m.unfinished == 0, "joiner returned early");
                            tasks.remove(i);
                            continue;
                        }
                        Poll::Ready(out) => {
                            // A put's value enters the model when it completes.
                            if let (Out::Put(Ok(())), Some(v)) = (&out, tasks[i].1) {
                                check_out(m, Out::Put(Ok(())))?;
                                m.push(v);
                            } else {
                                check_out(m, out)?;
                            }
                            tasks.remove(i);
                            continue;
                        }
                        Poll::Pending => {}
                    }
                }
                i += 1;
            }
            if !progressed {
                break;
            }
        }
        // Quiescent: nobody may be left waiting for something available.
        for (kind, _, released, _) in tasks.iter() {
            match kind {
                Kind::Get => prop_assert!(m.items.is_empty() && !m.shutdown, "stranded getter"),
                Kind::Put => prop_assert!(m.full() && !m.shutdown, "stranded putter"),
                Kind::Join => prop_assert!(m.unfinished > 0 && !released, "stranded joiner"),
            }
        }
        Ok::<(), TestCaseError>(())
    };

    for op in ops {
        match op {
            Op::TryPut(v) => match q.try_put(v) {
                Ok(()) => {
                    prop_assert!(!m.shutdown && !m.full());
                    m.push(v);
                }
                Err(TryPutError::Full(x)) => prop_assert!(x == v && m.full() && !m.shutdown),
                Err(TryPutError::Shutdown(x)) => prop_assert!(x == v && m.shutdown),
            },
            Op::TryGet => match q.try_get() {
                Ok(v) => prop_assert_eq!(Some(v), m.pop()),
                Err(TryGetError::Empty) => prop_assert!(m.items.is_empty() && !m.shutdown),
                Err(TryGetError::Shutdown) => prop_assert!(m.items.is_empty() && m.shutdown),
            },
            Op::Put(v) => {
                let mut t: Task<BoxFut<'_>> =
                    Task::new(Box::pin(async move { Out::Put(q.put(v).await) }));
                match t.poll() {
                    Poll::Ready(Out::Put(Ok(()))) => {
                        prop_assert!(!m.shutdown && !m.full());
                        m.push(v);
                    }
                    Poll::Ready(out) => check_out(&mut m, out)?,
                    Poll::Pending => {
                        prop_assert!(m.full() && !m.shutdown);
                        tasks.push((Kind::Put, Some(v), false, t));
                    }
                }
            }
            Op::Get => {
                let mut t: Task<BoxFut<'_>> =
                    Task::new(Box::pin(async move { Out::Get(q.get().await) }));
                match t.poll() {
                    Poll::Ready(out) => check_out(&mut m, out)?,
                    Poll::Pending => {
                        prop_assert!(m.items.is_empty() && !m.shutdown);
                        tasks.push((Kind::Get, None, false, t));
                    }
                }
            }
            Op::Join => {
                let mut t: Task<BoxFut<'_>> = Task::new(Box::pin(async move {
                    q.join().await;
                    Out::Join
                }));
                match t.poll() {
                    Poll::Ready(out) => check_out(&mut m, out)?,
                    Poll::Pending => {
                        prop_assert!(m.unfinished > 0);
                        tasks.push((Kind::Join, None, false, t));
                    }
                }
            }
            Op::TaskDone => {
                let r = q.task_done();
                prop_assert_eq!(r.is_ok(), m.unfinished > 0);
                m.unfinished = m.unfinished.saturating_sub(1);
                if r.is_ok() && m.unfinished == 0 {
                    release_joiners(&mut tasks);
                }
            }
            Op::Drop(i) => {
                if !tasks.is_empty() {
                    tasks.remove(i % tasks.len());
                }
            }
            Op::RunWoken => run_woken(&mut tasks, &mut m)?,
            Op::Shutdown => {
                q.shutdown();
                m.shutdown = true;
            }
            Op::ShutdownImmediate => {
                q.shutdown_immediate();
                m.shutdown = true;
                m.unfinished = m.unfinished.saturating_sub(m.items.len());
                m.items.clear();
                if m.unfinished == 0 {
                    release_joiners(&mut tasks);
                }
            }
        }
        prop_assert_eq!(q.len(), m.items.len());
        prop_assert_eq!(q.unfinished_tasks(), m.unfinished);
        prop_assert_eq!(q.is_full(), m.full());
    }
    run_woken(&mut tasks, &mut m)?;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn fifo_queue_matches_model(maxsize in 0usize..4, ops in proptest::collection::vec(op(), 1..80)) {
        run(Queue::new(maxsize), Order::Fifo, maxsize, ops)?;
    }

    #[test]
    fn lifo_queue_matches_model(maxsize in 0usize..4, ops in proptest::collection::vec(op(), 1..80)) {
        run(LifoQueue::new(maxsize), Order::Lifo, maxsize, ops)?;
    }

    #[test]
    fn priority_queue_matches_model(maxsize in 0usize..4, ops in proptest::collection::vec(op(), 1..80)) {
        run(PriorityQueue::new(maxsize), Order::Priority, maxsize, ops)?;
    }
}

/// Pinned sequences for the cancellation paths the random search reaches
/// only rarely: a woken getter / putter dropped before it runs.
#[test]
fn dropped_woken_waiters_pass_wakeups_on() {
    use Op::*;
    let getter_case = vec![Get, Get, TryPut(1), Drop(0), RunWoken];
    let putter_case = vec![TryPut(1), Put(2), Put(3), TryGet, Drop(0), RunWoken];
    for ops in [getter_case, putter_case] {
        run(Queue::new(1), Order::Fifo, 1, ops.clone()).unwrap();
        run(LifoQueue::new(1), Order::Lifo, 1, ops.clone()).unwrap();
        run(PriorityQueue::new(1), Order::Priority, 1, ops).unwrap();
    }
}
