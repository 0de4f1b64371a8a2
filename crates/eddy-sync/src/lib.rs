//! Async synchronisation primitives (crate docs written below).
#![forbid(unsafe_code)]

mod semaphore;
mod waitlist;
#[cfg(test)]
mod test_util;

pub use semaphore::{
    Acquire, AcquireError, AcquireOwned, BoundExceeded, BoundedSemaphore, OwnedSemaphorePermit,
    Semaphore, SemaphorePermit, TryAcquireError,
};
