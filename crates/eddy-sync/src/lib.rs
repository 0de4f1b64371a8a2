//! Async synchronisation primitives (crate docs written below).

mod barrier;
pub mod broadcast;
mod capacity_limiter;
mod condition;
mod event;
pub mod mpsc;
mod mutex;
mod once_cell;
pub mod oneshot;
mod queue;
mod rwlock;
mod semaphore;
#[cfg(test)]
mod test_util;
mod waitlist;
pub mod watch;

pub use barrier::{Barrier, BarrierWait, BarrierWaitResult};
pub use capacity_limiter::{
    CapacityAcquire, CapacityError, CapacityLimiter, CapacityToken, current_task,
    set_current_task_hook,
};
pub use condition::Condition;
pub use event::{Event, EventWait};
pub use mutex::{
    Lock, LockFuture, LockOwnedFuture, Mutex, MutexGuard, OwnedMutexGuard, TryLockError,
};
pub use once_cell::{OnceCell, SetError};
pub use queue::{
    Fifo, GenericQueue, Get, Join, Lifo, LifoQueue, Priority, PriorityQueue, Put, Queue,
    QueueOrder, QueueShutdown, QueueStream, TaskDoneError, TryGetError, TryPutError,
};
pub use rwlock::{
    OwnedReadFuture, OwnedRwLockReadGuard, OwnedRwLockWriteGuard, OwnedWriteFuture, ReadFuture,
    RwLock, RwLockReadGuard, RwLockWriteGuard, TryLockRwError, WriteFuture,
};
pub use semaphore::{
    Acquire, AcquireError, AcquireOwned, BoundExceeded, BoundedSemaphore, OwnedSemaphorePermit,
    Semaphore, SemaphorePermit, TryAcquireError,
};
