//! mpsc (bounded and unbounded), broadcast and oneshot against sequential
//! models, with senders dropped mid-wait.

mod common;

use std::collections::VecDeque;
use std::task::{Context, Poll};

use common::{Task, count, counting_waker};
use eddy_sync::{broadcast, mpsc, oneshot};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum MpscOp {
    TrySend(u32),
    Send(u32),
    TryRecv,
    Recv,
    Drop(usize),
    RunWoken,
    Close,
}

fn mpsc_op() -> impl Strategy<Value = MpscOp> {
    prop_oneof![
        10 => (0u32..100).prop_map(MpscOp::TrySend),
        10 => (0u32..100).prop_map(MpscOp::Send),
        8 => Just(MpscOp::TryRecv),
        8 => Just(MpscOp::Recv),
        5 => any::<usize>().prop_map(MpscOp::Drop),
        12 => Just(MpscOp::RunWoken),
        1 => Just(MpscOp::Close),
    ]
}

struct MpscModel {
    buf: VecDeque<u32>,
    cap: usize,
    closed: bool,
}

impl MpscModel {
    fn full(&self) -> bool {
        self.buf.len() >= self.cap
    }
}

fn run_mpsc(cap: Option<usize>, ops: Vec<MpscOp>) -> Result<(), TestCaseError> {
    // Drive both flavours through the bounded API surface: the unbounded
    // sender never waits, so `Send` is `send` + immediate completion.
    enum Tx {
        Bounded(mpsc::Sender<u32>),
        Unbounded(mpsc::UnboundedSender<u32>),
    }
    let (tx, mut rx) = match cap {
        Some(c) => {
            let (t, r) = mpsc::channel(c);
            (Tx::Bounded(t), r)
        }
        None => {
            let (t, r) = mpsc::unbounded_channel();
            (Tx::Unbounded(t), r)
        }
    };
    let mut m = MpscModel {
        buf: VecDeque::new(),
        cap: cap.unwrap_or(usize::MAX),
        closed: false,
    };
    let (rx_waker, rx_count) = counting_waker();
    let mut rx_pending: Option<usize> = None; // wake count at the last pending poll
    let mut sends: Vec<(u32, Task<mpsc::Send<'_, u32>>)> = Vec::new();

    let try_send = |v: u32| -> Result<(), mpsc::TrySendError<u32>> {
        match &tx {
            Tx::Bounded(t) => t.try_send(v),
            Tx::Unbounded(t) => t.send(v).map_err(|e| mpsc::TrySendError::Closed(e.0)),
        }
    };

    for op in ops {
        match op {
            MpscOp::TrySend(v) => match try_send(v) {
                Ok(()) => {
                    prop_assert!(!m.closed && !m.full());
                    m.buf.push_back(v);
                }
                Err(mpsc::TrySendError::Full(x)) => prop_assert!(x == v && m.full() && !m.closed),
                Err(mpsc::TrySendError::Closed(x)) => prop_assert!(x == v && m.closed),
            },
            MpscOp::Send(v) => {
                let Tx::Bounded(t) = &tx else { continue };
                let mut task = Task::new(t.send(v));
                match task.poll() {
                    Poll::Ready(Ok(())) => {
                        prop_assert!(!m.closed && !m.full());
                        m.buf.push_back(v);
                    }
                    Poll::Ready(Err(e)) => prop_assert!(e.0 == v && m.closed),
                    Poll::Pending => {
                        prop_assert!(m.full() && !m.closed);
                        sends.push((v, task));
                    }
                }
            }
            MpscOp::TryRecv => match rx.try_recv() {
                Ok(v) => prop_assert_eq!(Some(v), m.buf.pop_front()),
                Err(mpsc::TryRecvError::Empty) => prop_assert!(m.buf.is_empty() && !m.closed),
                Err(mpsc::TryRecvError::Disconnected) => prop_assert!(m.buf.is_empty() && m.closed),
            },
            MpscOp::Recv => match rx.poll_recv(&mut Context::from_waker(&rx_waker)) {
                Poll::Ready(Some(v)) => {
                    prop_assert_eq!(Some(v), m.buf.pop_front());
                    rx_pending = None;
                }
                Poll::Ready(None) => prop_assert!(m.buf.is_empty() && m.closed),
                Poll::Pending => {
                    prop_assert!(m.buf.is_empty() && !m.closed);
                    rx_pending = Some(count(&rx_count));
                }
            },
            MpscOp::Drop(i) => {
                if !sends.is_empty() {
                    sends.remove(i % sends.len());
                }
            }
            MpscOp::RunWoken => loop {
                let mut progressed = false;
                let mut i = 0;
                while i < sends.len() {
                    if sends[i].1.woken() {
                        progressed = true;
                        let v = sends[i].0;
                        match sends[i].1.poll() {
                            Poll::Ready(Ok(())) => {
                                prop_assert!(!m.closed);
                                m.buf.push_back(v);
                                prop_assert!(m.buf.len() <= m.cap);
                                sends.remove(i);
                                continue;
                            }
                            Poll::Ready(Err(e)) => {
                                prop_assert!(e.0 == v && m.closed);
                                sends.remove(i);
                                continue;
                            }
                            Poll::Pending => {}
                        }
                    }
                    i += 1;
                }
                if let Some(seen) = rx_pending {
                    if count(&rx_count) != seen {
                        progressed = true;
                        match rx.poll_recv(&mut Context::from_waker(&rx_waker)) {
                            Poll::Ready(Some(v)) => {
                                prop_assert_eq!(Some(v), m.buf.pop_front());
                                rx_pending = None;
                            }
                            Poll::Ready(None) => {
                                prop_assert!(m.buf.is_empty() && m.closed);
                                rx_pending = None;
                            }
                            Poll::Pending => rx_pending = Some(count(&rx_count)),
                        }
                    }
                }
                if !progressed {
                    for _ in &sends {
                        prop_assert!(m.full() && !m.closed, "stranded sender");
                    }
                    if rx_pending.is_some() {
                        prop_assert!(m.buf.is_empty() && !m.closed, "stranded receiver");
                    }
                    break;
                }
            },
            MpscOp::Close => {
                rx.close();
                m.closed = true;
            }
        }
        prop_assert_eq!(rx.len(), m.buf.len());
    }
    // Senders gone: the receiver drains what is left, then sees the end.
    drop(sends);
    drop(tx);
    while let Some(v) = m.buf.pop_front() {
        prop_assert_eq!(rx.try_recv(), Ok(v));
    }
    prop_assert_eq!(rx.try_recv(), Err(mpsc::TryRecvError::Disconnected));
    Ok(())
}

#[derive(Debug, Clone)]
enum BcOp {
    Send(u32),
    TryRecv(usize),
    Recv(usize),
    RunWoken,
}

fn bc_op() -> impl Strategy<Value = BcOp> {
    prop_oneof![
        4 => (0u32..100).prop_map(BcOp::Send),
        3 => (0usize..3).prop_map(BcOp::TryRecv),
        3 => (0usize..3).prop_map(BcOp::Recv),
        3 => Just(BcOp::RunWoken),
    ]
}

fn run_broadcast(cap: usize, ops: Vec<BcOp>) -> Result<(), TestCaseError> {
    let (tx, rx0) = broadcast::channel(cap);
    let mut rxs = vec![rx0, tx.subscribe(), tx.subscribe()];
    let mut log: Vec<u32> = Vec::new();
    let mut next = [0usize; 3];
    let wakers: Vec<_> = (0..3).map(|_| counting_waker()).collect();
    let mut pending: [Option<usize>; 3] = [None; 3];

    // Model of one receive: lag, value, or nothing.
    let model_take = |log: &Vec<u32>, next: &mut usize| -> Option<Result<u32, u64>> {
        let head = log.len().saturating_sub(cap);
        if *next < head {
            let lag = (head - *next) as u64;
            *next = head;
            Some(Err(lag))
        } else if *next < log.len() {
            *next += 1;
            Some(Ok(log[*next - 1]))
        } else {
            None
        }
    };
    let as_model = |r: Result<u32, broadcast::RecvError>| match r {
        Ok(v) => Ok(v),
        Err(broadcast::RecvError::Lagged(n)) => Err(n),
        Err(broadcast::RecvError::Closed) => Err(u64::MAX),
    };

    for op in ops {
        match op {
            BcOp::Send(v) => {
                prop_assert_eq!(tx.send(v).unwrap(), 3);
                log.push(v);
            }
            BcOp::TryRecv(r) => {
                let got = match rxs[r].try_recv() {
                    Ok(v) => Some(Ok(v)),
                    Err(broadcast::TryRecvError::Lagged(n)) => Some(Err(n)),
                    Err(broadcast::TryRecvError::Empty) => None,
                    Err(broadcast::TryRecvError::Closed) => Some(Err(u64::MAX)),
                };
                prop_assert_eq!(got, model_take(&log, &mut next[r]));
            }
            BcOp::Recv(r) => match rxs[r].poll_recv(&mut Context::from_waker(&wakers[r].0)) {
                Poll::Ready(res) => {
                    prop_assert_eq!(Some(as_model(res)), model_take(&log, &mut next[r]));
                    pending[r] = None;
                }
                Poll::Pending => {
                    prop_assert_eq!(model_take(&log, &mut next[r].clone()), None);
                    pending[r] = Some(count(&wakers[r].1));
                }
            },
            BcOp::RunWoken => {
                for r in 0..3 {
                    let Some(seen) = pending[r] else { continue };
                    if count(&wakers[r].1) == seen {
                        // Not woken: it must have nothing to receive.
                        prop_assert_eq!(
                            model_take(&log, &mut next[r].clone()),
                            None,
                            "stranded receiver"
                        );
                        continue;
                    }
                    match rxs[r].poll_recv(&mut Context::from_waker(&wakers[r].0)) {
                        Poll::Ready(res) => {
                            prop_assert_eq!(Some(as_model(res)), model_take(&log, &mut next[r]));
                            pending[r] = None;
                        }
                        Poll::Pending => pending[r] = Some(count(&wakers[r].1)),
                    }
                }
            }
        }
    }
    drop(tx);
    for r in 0..3 {
        while let Some(exp) = model_take(&log, &mut next[r]) {
            prop_assert_eq!(
                rxs[r].poll_recv(&mut Context::from_waker(&wakers[r].0)),
                Poll::Ready(exp.map_err(broadcast::RecvError::Lagged))
            );
        }
        prop_assert_eq!(
            rxs[r].poll_recv(&mut Context::from_waker(&wakers[r].0)),
            Poll::Ready(Err(broadcast::RecvError::Closed))
        );
    }
    rxs.clear();
    Ok(())
}

#[derive(Debug, Clone, Copy)]
enum OneshotOp {
    Send,
    DropSender,
    PollRx,
    TryRecv,
    CloseRx,
}

fn run_oneshot(ops: Vec<OneshotOp>) -> Result<(), TestCaseError> {
    let (tx, mut rx) = oneshot::channel::<u32>();
    let mut tx = Some(tx);
    // Model: value in flight, sender gone, receiver closed, value taken.
    let (mut value, mut tx_gone, mut closed, mut done) = (None::<u32>, false, false, false);
    let (waker, wakes) = counting_waker();
    let mut waiting_since: Option<usize> = None;
    for op in ops {
        match op {
            OneshotOp::Send => {
                if let Some(t) = tx.take() {
                    let r = t.send(7);
                    tx_gone = true;
                    if closed {
                        prop_assert_eq!(r, Err(7));
                    } else {
                        prop_assert_eq!(r, Ok(()));
                        value = Some(7);
                    }
                }
            }
            OneshotOp::DropSender => {
                if tx.take().is_some() {
                    tx_gone = true;
                }
            }
            OneshotOp::PollRx | OneshotOp::TryRecv => {
                if done {
                    continue;
                }
                let got = if matches!(op, OneshotOp::PollRx) {
                    match std::pin::Pin::new(&mut rx).poll(&mut Context::from_waker(&waker)) {
                        Poll::Ready(r) => Some(r.ok()),
                        Poll::Pending => None,
                    }
                } else {
                    match rx.try_recv() {
                        Ok(v) => Some(Some(v)),
                        Err(oneshot::TryRecvError::Closed) => Some(None),
                        Err(oneshot::TryRecvError::Empty) => None,
                    }
                };
                let expect = if value.is_some() {
                    Some(value.take())
                } else if tx_gone {
                    Some(None)
                } else {
                    None
                };
                prop_assert_eq!(got, expect);
                if got.is_some() {
                    done = true;
                    waiting_since = None;
                } else if matches!(op, OneshotOp::PollRx) {
                    waiting_since = Some(count(&wakes));
                }
            }
            OneshotOp::CloseRx => {
                rx.close();
                closed = true;
            }
        }
        // A pending receiver is woken as soon as the sender finishes.
        if let Some(seen) = waiting_since {
            prop_assert_eq!(count(&wakes) != seen, tx_gone);
        }
        if let Some(t) = &tx {
            prop_assert_eq!(t.is_closed(), closed);
        }
    }
    Ok(())
}

use std::future::Future;

fn oneshot_op() -> impl Strategy<Value = OneshotOp> {
    prop_oneof![
        Just(OneshotOp::Send),
        Just(OneshotOp::DropSender),
        Just(OneshotOp::PollRx),
        Just(OneshotOp::TryRecv),
        Just(OneshotOp::CloseRx),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn bounded_mpsc_matches_model(cap in 1usize..4, ops in proptest::collection::vec(mpsc_op(), 1..80)) {
        run_mpsc(Some(cap), ops)?;
    }

    #[test]
    fn unbounded_mpsc_matches_model(ops in proptest::collection::vec(mpsc_op(), 1..80)) {
        run_mpsc(None, ops)?;
    }

    #[test]
    fn broadcast_matches_model(cap in 1usize..4, ops in proptest::collection::vec(bc_op(), 1..80)) {
        run_broadcast(cap, ops)?;
    }

    #[test]
    fn oneshot_matches_model(ops in proptest::collection::vec(oneshot_op(), 1..12)) {
        run_oneshot(ops)?;
    }
}

#[test]
fn dropped_woken_sender_passes_room_on() {
    use MpscOp::*;
    run_mpsc(
        Some(1),
        vec![TrySend(1), Send(2), Send(3), TryRecv, Drop(0), RunWoken],
    )
    .unwrap();
}
