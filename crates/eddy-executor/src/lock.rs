//! Locking without poison.

use std::sync::{Mutex, MutexGuard, PoisonError};

pub(crate) fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // No code holding these locks can panic in a way that leaves the data
    // inconsistent (slab and vec operations), so poisoning carries no meaning.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
