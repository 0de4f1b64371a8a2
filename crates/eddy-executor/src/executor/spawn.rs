//! The spawn path: register a task, allocate it, and schedule it (or run
//! it at once, for an eager start).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use async_task::WithInfo;
use eddy_core::{JoinError, TaskId, TaskMeta};

use super::context::{schedule, with_worker};
use super::shared::{Flavor, Header, Runnable, Shared};
use crate::task::{CachePadded, Task, TaskFuture, run_task_eagerly};

impl Shared {
    pub(crate) fn spawn_local_inner<F>(
        self: &Arc<Self>,
        fut: F,
        meta: TaskMeta,
        eager: bool,
    ) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        // `spawn_local` checks on every poll and drop that the task stays on
        // this thread; the executor guarantees it by routing local tasks home.
        self.spawn_with(fut, meta, eager, |builder, future| {
            builder.spawn_local(move |_| future, WithInfo(schedule))
        })
    }

    pub(crate) fn spawn_send<F>(
        self: &Arc<Self>,
        fut: F,
        meta: TaskMeta,
        eager: bool,
    ) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        if self.flavor == Flavor::MultiThread {
            return self.spawn_with(fut, meta, eager, |builder, future| {
                builder.spawn(move |_| CachePadded::new(future), WithInfo(schedule))
            });
        }
        self.spawn_with(fut, meta, eager, |builder, future| {
            builder.spawn(move |_| future, WithInfo(schedule))
        })
    }

    /// Registers a new task and schedules it; `make` is async-task's `spawn`
    /// or `spawn_local`, whichever the future's `Send`-ness allows.
    fn spawn_with<F>(
        self: &Arc<Self>,
        fut: F,
        meta: TaskMeta,
        eager: bool,
        make: impl FnOnce(
            async_task::Builder<Header>,
            TaskFuture<F>,
        ) -> (
            Runnable,
            async_task::Task<Result<F::Output, JoinError>, Header>,
        ),
    ) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let id = TaskId::next();
        self.hooks.on_spawn(id, &meta);
        let closing = self.closing.load(Ordering::Acquire);
        let mut reg = self.registry.lock();
        reg.spawned += 1;
        let entry = reg.tasks.vacant_entry();
        let header = Header::new(id, meta, entry.key(), closing, self.clone());
        let (runnable, task) = make(
            async_task::Builder::new().metadata(header),
            // Debug mode looks at the output for an `Err` nobody retrieves.
            TaskFuture::new(fut, self.hooks.is_debug()),
        );
        entry.insert((id, runnable.waker()));
        drop(reg);
        if closing {
            // Born cancelled: complete it here, in cancel mode (the future is
            // dropped unpolled). Scheduled instead, it could sit forever in
            // the queue of an executor whose workers are gone.
            run_task_eagerly(self, runnable);
        } else if eager && with_worker(self, |ctx| ctx.is_some()) {
            run_task_eagerly(self, runnable);
        } else {
            runnable.schedule();
        }
        Task::new(task)
    }
}
