//! The queue's errors.

use std::fmt;

/// The queue was shut down (asyncio's `QueueShutDown`). From `put`, it hands
/// the item back; from `get`, it carries `()` and means "shut down and, unless
/// the shutdown was immediate, drained".
///
/// ```
/// futures_lite::future::block_on(async {
///     let q = eddy_sync::Queue::new(0);
///     q.shutdown();
///     assert_eq!(q.put(5).await.unwrap_err().0, 5);
///     assert!(q.get().await.is_err());
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueShutdown<T = ()>(pub T);

impl<T> fmt::Display for QueueShutdown<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("queue is shut down")
    }
}

impl<T: fmt::Debug> std::error::Error for QueueShutdown<T> {}

/// Why [`GenericQueue::try_get`] failed.
///
/// [`GenericQueue::try_get`]: super::GenericQueue::try_get
///
/// ```
/// let q = eddy_sync::Queue::<u8>::new(0);
/// assert_eq!(q.try_get(), Err(eddy_sync::TryGetError::Empty));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryGetError {
    /// No item right now (asyncio's `QueueEmpty`).
    Empty,
    /// Shut down and empty (asyncio's `QueueShutDown`).
    Shutdown,
}

impl fmt::Display for TryGetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryGetError::Empty => f.write_str("queue is empty"),
            TryGetError::Shutdown => f.write_str("queue is shut down"),
        }
    }
}

impl std::error::Error for TryGetError {}

/// Why [`GenericQueue::try_put`] failed; holds the item.
///
/// [`GenericQueue::try_put`]: super::GenericQueue::try_put
///
/// ```
/// let q = eddy_sync::Queue::new(1);
/// q.try_put(1).unwrap();
/// assert_eq!(q.try_put(2), Err(eddy_sync::TryPutError::Full(2)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryPutError<T> {
    /// At `maxsize` (asyncio's `QueueFull`).
    Full(T),
    /// Shut down (asyncio's `QueueShutDown`).
    Shutdown(T),
}

impl<T> TryPutError<T> {
    /// The item that was not put.
    ///
    /// ```
    /// assert_eq!(eddy_sync::TryPutError::Full(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            TryPutError::Full(t) | TryPutError::Shutdown(t) => t,
        }
    }
}

impl<T> fmt::Display for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryPutError::Full(_) => f.write_str("queue is full"),
            TryPutError::Shutdown(_) => f.write_str("queue is shut down"),
        }
    }
}

impl<T: fmt::Debug> std::error::Error for TryPutError<T> {}

/// [`GenericQueue::task_done`] was called more times than items were put (asyncio
/// raises `ValueError`).
///
/// [`GenericQueue::task_done`]: super::GenericQueue::task_done
///
/// ```
/// let q = eddy_sync::Queue::<u8>::new(0);
/// assert!(q.task_done().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskDoneError(pub(super) ());

impl fmt::Display for TaskDoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task_done() called too many times")
    }
}

impl std::error::Error for TaskDoneError {}
