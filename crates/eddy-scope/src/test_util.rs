//! A fake executor behind the `Spawn` seam: tasks run only when the test
//! says so, on the test's thread. Shows the layer needs nothing but the seam.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Wake, Waker};

use eddy_core::{BoxFuture, DynTask, JoinError, Spawn, SpawnError, TaskControl, TaskId, TaskMeta};

use crate::set::lock;

type Queue = Mutex<VecDeque<Arc<FakeTask>>>;

pub(crate) struct FakeTask {
    id: TaskId,
    fut: Mutex<Option<BoxFuture>>,
    cancel: AtomicBool,
    queued: AtomicBool,
    finished: AtomicBool,
    join_waker: Mutex<Option<Waker>>,
    queue: Weak<Queue>,
}

impl Wake for FakeTask {
    fn wake(self: Arc<Self>) {
        if !self.queued.swap(true, Ordering::SeqCst) {
            if let Some(q) = self.queue.upgrade() {
                lock(&q).push_back(self.clone());
            }
        }
    }
}

#[derive(Clone, Default)]
pub(crate) struct FakePool {
    queue: Arc<Queue>,
}

impl FakePool {
    /// Runs queued tasks until none is ready; returns how many polls ran.
    pub(crate) fn run_until_stalled(&self) -> usize {
        let mut polls = 0;
        loop {
            let Some(task) = lock(&self.queue).pop_front() else {
                return polls;
            };
            task.queued.store(false, Ordering::SeqCst);
            let mut slot = lock(&task.fut);
            let Some(fut) = slot.as_mut() else { continue };
            let done = if task.cancel.load(Ordering::SeqCst) {
                true
            } else {
                polls += 1;
                let waker = Waker::from(task.clone());
                fut.as_mut()
                    .poll(&mut Context::from_waker(&waker))
                    .is_ready()
            };
            if done {
                let fut = slot.take();
                drop(slot);
                drop(fut);
                task.finished.store(true, Ordering::SeqCst);
                if let Some(w) = lock(&task.join_waker).take() {
                    w.wake();
                }
            }
        }
    }

    /// Tasks spawned and not yet finished.
    pub(crate) fn queued(&self) -> usize {
        lock(&self.queue).len()
    }
}

impl Spawn for FakePool {
    fn spawn_boxed(&self, future: BoxFuture, _meta: TaskMeta) -> Result<DynTask, SpawnError> {
        let task = Arc::new(FakeTask {
            id: TaskId::next(),
            fut: Mutex::new(Some(future)),
            cancel: AtomicBool::new(false),
            queued: AtomicBool::new(false),
            finished: AtomicBool::new(false),
            join_waker: Mutex::new(None),
            queue: Arc::downgrade(&self.queue),
        });
        task.clone().wake();
        Ok(Box::new(FakeHandle(task)))
    }
}

struct FakeHandle(Arc<FakeTask>);

impl TaskControl for FakeHandle {
    fn id(&self) -> TaskId {
        self.0.id
    }
    fn cancel(&mut self) {
        if !self.0.finished.load(Ordering::SeqCst) {
            self.0.cancel.store(true, Ordering::SeqCst);
            self.0.clone().wake();
        }
    }
    fn request_cancel(&mut self) {}
    fn is_finished(&self) -> bool {
        self.0.finished.load(Ordering::SeqCst)
    }
    fn poll_join(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), JoinError>> {
        if self.0.finished.load(Ordering::SeqCst) {
            return Poll::Ready(Ok(()));
        }
        *lock(&self.0.join_waker) = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// A future the test completes by hand.
#[derive(Clone, Default)]
pub(crate) struct Gate(Arc<(AtomicBool, Mutex<Option<Waker>>)>);

impl Gate {
    pub(crate) fn open(&self) {
        self.0.0.store(true, Ordering::SeqCst);
        if let Some(w) = lock(&self.0.1).take() {
            w.wake();
        }
    }
}

impl Future for Gate {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.0.load(Ordering::SeqCst) {
            Poll::Ready(())
        } else {
            *lock(&self.0.1) = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}
