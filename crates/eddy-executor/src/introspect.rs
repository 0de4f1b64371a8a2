//! Introspection: which tasks are alive, what each is doing, and a readable
//! table of them (asyncio's `all_tasks()` / `current_task()`, tokio-console's
//! task list).
//!
//! Only the task ids are always known: the executor keeps a registry of live
//! tasks for cancellation anyway. Names, spawn locations, states, poll counts
//! and poll times are recorded in a side table that exists only in debug mode
//! ([`Builder::debug`](crate::Builder::debug)), so that an executor without
//! debug mode pays nothing for them.

use std::sync::atomic::Ordering;

use crate::executor::handle::Handle;
use crate::info::{TaskDump, TaskInfo, TaskState};
use crate::task::current_task_id;

impl Handle {
    /// A snapshot of every live task of this executor (asyncio's
    /// `all_tasks(loop)`). Full details in debug mode, ids otherwise (see
    /// [`TaskInfo`]).
    ///
    /// ```
    /// let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// let h = ex.handle();
    /// let t = h.spawn(std::future::pending::<()>());
    /// assert_eq!(h.tasks().len(), 1);
    /// assert_eq!(h.tasks()[0].id, t.id());
    /// ```
    pub fn tasks(&self) -> Vec<TaskInfo> {
        let mut v = self.shared.task_infos();
        v.sort_by_key(|t| t.id);
        v
    }

    /// A printable table of every live task; see [`TaskDump`].
    ///
    /// ```
    /// let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// assert!(ex.handle().dump().is_empty());
    /// ```
    pub fn dump(&self) -> TaskDump {
        TaskDump::new(self.shared.task_infos())
    }

    /// `true` when the executor was built in debug mode.
    ///
    /// ```
    /// let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// assert!(!ex.handle().is_debug());
    /// ```
    pub fn is_debug(&self) -> bool {
        self.shared.hooks.is_debug()
    }

    /// Task polls so far, counted in debug mode only (`None` otherwise:
    /// counting every poll would cost the hot path an atomic).
    ///
    /// ```
    /// let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// assert_eq!(ex.handle().polls(), None);
    /// ```
    pub fn polls(&self) -> Option<u64> {
        self.shared.hooks.polls()
    }

    /// Stops accepting new tasks: from now on a spawned task is cancelled
    /// before it first runs, and [`Spawn::spawn_boxed`](eddy_core::Spawn)
    /// fails. Tasks already alive keep running. The first phase of a
    /// graceful shutdown.
    ///
    /// ```
    /// let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// let h = ex.handle();
    /// h.close();
    /// let t = h.spawn(async { 1 });
    /// assert!(ex.block_on(t).unwrap_err().is_cancelled());
    /// ```
    pub fn close(&self) {
        self.shared.closing.store(true, Ordering::SeqCst);
    }
}

/// Every live task of the current executor (asyncio's `all_tasks()`); empty
/// outside an executor. See [`Handle::tasks`].
///
/// ```
/// assert!(eddy_executor::all_tasks().is_empty());
/// # let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
/// ex.block_on(async {
///     let _t = eddy_executor::spawn(std::future::pending::<()>());
///     assert_eq!(eddy_executor::all_tasks().len(), 1);
/// });
/// ```
pub fn all_tasks() -> Vec<TaskInfo> {
    Handle::try_current().map_or_else(Vec::new, |h| h.tasks())
}

/// The task being polled on this thread (asyncio's `current_task()`), or
/// `None` outside a task. In debug mode the info carries the name, spawn
/// location and poll figures; otherwise only the id (see [`TaskInfo`]).
///
/// ```
/// # let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
/// ex.block_on(async {
///     assert!(eddy_executor::current_task().is_none()); // block_on's future is not a task
///     let t = eddy_executor::spawn(async { eddy_executor::current_task().map(|i| i.id) });
///     let id = t.id();
///     assert_eq!(t.await.unwrap(), Some(id));
/// });
/// ```
pub fn current_task() -> Option<TaskInfo> {
    let id = current_task_id()?;
    let info = Handle::try_current().and_then(|h| h.shared.hooks.task_info(id));
    Some(info.unwrap_or_else(|| TaskInfo {
        state: TaskState::Running,
        ..TaskInfo::untracked(id)
    }))
}
