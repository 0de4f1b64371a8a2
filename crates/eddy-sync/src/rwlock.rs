//! A fair reader-writer lock: [`RwLock`].

use std::cell::UnsafeCell;
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::semaphore::{AcquireState, RawSemaphore};

/// Readers hold one permit each, a writer holds all of them.
const MAX_READERS: usize = (u32::MAX >> 3) as usize;

/// An async reader-writer lock that cannot starve writers.
///
/// Any number of readers or one writer. Requests are served strictly
/// first-in first-out: a writer queued behind active readers blocks the
/// readers that arrive after it, so a steady stream of readers cannot keep
/// it out (tokio's policy; asyncio has no equivalent). It is a semaphore of
/// `MAX_READERS` permits: a read takes one, a write takes all.
///
/// # Example
///
/// ```
/// futures_lite::future::block_on(async {
///     let lock = eddy_sync::RwLock::new(5);
///     {
///         let r1 = lock.read().await;
///         let r2 = lock.read().await;
///         assert_eq!(*r1 + *r2, 10);
///         assert!(lock.try_write().is_err());
///     }
///     *lock.write().await += 1;
///     assert_eq!(*lock.read().await, 6);
/// });
/// ```
pub struct RwLock<T: ?Sized> {
    sem: RawSemaphore,
    data: UnsafeCell<T>,
}

// SAFETY: readers on several threads share `&T` (needs `T: Sync`); a writer
// may be on any thread and can move values in and out (needs `T: Send`).
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

/// The lock could not be taken without waiting.
///
/// ```
/// let l = eddy_sync::RwLock::new(());
/// let _w = l.try_write().unwrap();
/// assert_eq!(l.try_read().unwrap_err().to_string(), "rwlock is busy");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TryLockRwError(());

impl fmt::Display for TryLockRwError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("rwlock is busy")
    }
}

impl std::error::Error for TryLockRwError {}

impl<T> RwLock<T> {
    /// Creates an unlocked `RwLock`.
    ///
    /// ```
    /// static CONFIG: eddy_sync::RwLock<u32> = eddy_sync::RwLock::new(1);
    /// assert_eq!(*CONFIG.try_read().unwrap(), 1);
    /// ```
    pub const fn new(value: T) -> Self {
        RwLock {
            sem: RawSemaphore::new(MAX_READERS),
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the lock, returning the value.
    ///
    /// ```
    /// assert_eq!(eddy_sync::RwLock::new(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Waits for shared access.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe and fair (FIFO). Dropped after access was granted but
    /// before observing it, the access is given back and passes on.
    ///
    /// ```
    /// futures_lite::future::block_on(async {
    ///     let l = eddy_sync::RwLock::new(1);
    ///     assert_eq!(*l.read().await, 1);
    /// });
    /// ```
    pub fn read(&self) -> ReadFuture<'_, T> {
        ReadFuture {
            lock: self,
            st: AcquireState::new(1),
        }
    }

    /// Waits for exclusive access. Cancel safety as [`read`](Self::read).
    ///
    /// ```
    /// futures_lite::future::block_on(async {
    ///     let l = eddy_sync::RwLock::new(1);
    ///     *l.write().await = 2;
    ///     assert_eq!(*l.read().await, 2);
    /// });
    /// ```
    pub fn write(&self) -> WriteFuture<'_, T> {
        WriteFuture {
            lock: self,
            st: AcquireState::new(MAX_READERS),
        }
    }

    /// Shared access without waiting.
    ///
    /// # Errors
    ///
    /// [`TryLockRwError`] if a writer holds the lock or anyone is queued.
    ///
    /// ```
    /// let l = eddy_sync::RwLock::new(1);
    /// let a = l.try_read().unwrap();
    /// let b = l.try_read().unwrap();
    /// assert_eq!(*a + *b, 2);
    /// ```
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockRwError> {
        self.sem.try_acquire(1).map_err(|_| TryLockRwError(()))?;
        Ok(RwLockReadGuard { lock: self })
    }

    /// Exclusive access without waiting.
    ///
    /// # Errors
    ///
    /// [`TryLockRwError`] if anyone holds the lock or is queued.
    ///
    /// ```
    /// let l = eddy_sync::RwLock::new(1);
    /// let r = l.try_read().unwrap();
    /// assert!(l.try_write().is_err());
    /// drop(r);
    /// assert!(l.try_write().is_ok());
    /// ```
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockRwError> {
        self.sem
            .try_acquire(MAX_READERS)
            .map_err(|_| TryLockRwError(()))?;
        Ok(RwLockWriteGuard { lock: self })
    }

    /// Shared access through an `Arc` (a `'static` guard). Cancel safety as
    /// [`read`](Self::read).
    ///
    /// ```
    /// use std::sync::Arc;
    /// futures_lite::future::block_on(async {
    ///     let l = Arc::new(eddy_sync::RwLock::new(1));
    ///     let g = l.clone().read_owned().await;
    ///     assert_eq!(std::thread::spawn(move || *g).join().unwrap(), 1);
    /// });
    /// ```
    pub fn read_owned(self: Arc<Self>) -> OwnedReadFuture<T> {
        OwnedReadFuture {
            lock: Some(self),
            st: AcquireState::new(1),
        }
    }

    /// Exclusive access through an `Arc`. Cancel safety as
    /// [`read`](Self::read).
    ///
    /// ```
    /// use std::sync::Arc;
    /// futures_lite::future::block_on(async {
    ///     let l = Arc::new(eddy_sync::RwLock::new(1));
    ///     let mut g = l.clone().write_owned().await;
    ///     std::thread::spawn(move || *g = 7).join().unwrap();
    ///     assert_eq!(*l.read().await, 7);
    /// });
    /// ```
    pub fn write_owned(self: Arc<Self>) -> OwnedWriteFuture<T> {
        OwnedWriteFuture {
            lock: Some(self),
            st: AcquireState::new(MAX_READERS),
        }
    }

    /// Mutable access without locking.
    ///
    /// ```
    /// let mut l = eddy_sync::RwLock::new(1);
    /// *l.get_mut() += 1;
    /// assert_eq!(l.into_inner(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Ok(g) => d.field("data", &&*g),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

macro_rules! borrowed_future {
    ($(#[$m:meta])* $name:ident, $guard:ident) => {
        $(#[$m])*
        #[must_use = "futures do nothing unless polled"]
        pub struct $name<'a, T: ?Sized> {
            lock: &'a RwLock<T>,
            st: AcquireState,
        }

        impl<'a, T: ?Sized> Future for $name<'a, T> {
            type Output = $guard<'a, T>;
            fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
                let this = &mut *self;
                let lock = this.lock;
                match lock.sem.poll_acquire(&mut this.st, cx) {
                    Poll::Pending => Poll::Pending,
                    // The semaphore of an RwLock is never closed.
                    Poll::Ready(_) => Poll::Ready($guard { lock }),
                }
            }
        }

        impl<T: ?Sized> Drop for $name<'_, T> {
            fn drop(&mut self) {
                self.lock.sem.drop_acquire(&mut self.st);
            }
        }

        impl<T: ?Sized> fmt::Debug for $name<'_, T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }
    };
}

macro_rules! owned_future {
    ($(#[$m:meta])* $name:ident, $guard:ident) => {
        $(#[$m])*
        #[must_use = "futures do nothing unless polled"]
        pub struct $name<T: ?Sized> {
            lock: Option<Arc<RwLock<T>>>,
            st: AcquireState,
        }

        impl<T: ?Sized> Future for $name<T> {
            type Output = $guard<T>;
            fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
                let this = &mut *self;
                let lock = this.lock.as_ref().expect(concat!(stringify!($name), " polled after completion"));
                match lock.sem.poll_acquire(&mut this.st, cx) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(_) => Poll::Ready($guard { lock: this.lock.take().expect("checked") }),
                }
            }
        }

        impl<T: ?Sized> Drop for $name<T> {
            fn drop(&mut self) {
                if let Some(l) = &self.lock {
                    l.sem.drop_acquire(&mut self.st);
                }
            }
        }

        impl<T: ?Sized> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }
    };
}

borrowed_future!(
    /// Future returned by [`RwLock::read`]; dropping it leaves the queue.
    ReadFuture,
    RwLockReadGuard
);
borrowed_future!(
    /// Future returned by [`RwLock::write`]; dropping it leaves the queue.
    WriteFuture,
    RwLockWriteGuard
);
owned_future!(
    /// Future returned by [`RwLock::read_owned`]; dropping it leaves the queue.
    OwnedReadFuture,
    OwnedRwLockReadGuard
);
owned_future!(
    /// Future returned by [`RwLock::write_owned`]; dropping it leaves the queue.
    OwnedWriteFuture,
    OwnedRwLockWriteGuard
);

/// Shared access to an [`RwLock`]'s value; released on drop.
///
/// ```
/// let l = eddy_sync::RwLock::new("hi");
/// let g: eddy_sync::RwLockReadGuard<'_, &str> = l.try_read().unwrap();
/// assert_eq!(g.len(), 2);
/// ```
#[must_use = "dropping a guard releases it at once"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
}

/// Exclusive access to an [`RwLock`]'s value; released on drop.
///
/// ```
/// let l = eddy_sync::RwLock::new(1);
/// let mut g: eddy_sync::RwLockWriteGuard<'_, i32> = l.try_write().unwrap();
/// *g += 1;
/// drop(g);
/// assert_eq!(*l.try_read().unwrap(), 2);
/// ```
#[must_use = "dropping a guard releases it at once"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
}

/// Shared access owning an `Arc` of the lock; released on drop.
///
/// ```
/// use std::sync::Arc;
/// futures_lite::future::block_on(async {
///     let l = Arc::new(eddy_sync::RwLock::new(1));
///     let g: eddy_sync::OwnedRwLockReadGuard<i32> = l.read_owned().await;
///     assert_eq!(*g, 1);
/// });
/// ```
#[must_use = "dropping a guard releases it at once"]
pub struct OwnedRwLockReadGuard<T: ?Sized> {
    lock: Arc<RwLock<T>>,
}

/// Exclusive access owning an `Arc` of the lock; released on drop.
///
/// ```
/// use std::sync::Arc;
/// futures_lite::future::block_on(async {
///     let l = Arc::new(eddy_sync::RwLock::new(1));
///     let mut g: eddy_sync::OwnedRwLockWriteGuard<i32> = l.write_owned().await;
///     *g = 3;
/// });
/// ```
#[must_use = "dropping a guard releases it at once"]
pub struct OwnedRwLockWriteGuard<T: ?Sized> {
    lock: Arc<RwLock<T>>,
}

// SAFETY: read guards only give `&T`; sharing or sending one needs `T: Sync`
// (shared access from several threads) — `Send` as the lock itself.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLockReadGuard<'_, T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync> Sync for OwnedRwLockReadGuard<T> {}
// SAFETY: sharing a write guard shares `&T`.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLockWriteGuard<'_, T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync> Sync for OwnedRwLockWriteGuard<T> {}

macro_rules! guard_impls {
    ($guard:ty, $permits:expr, mut: $mutable:tt) => {
        impl<T: ?Sized> Deref for $guard {
            type Target = T;
            fn deref(&self) -> &T {
                // SAFETY: the guard holds at least one permit, so no writer
                // (which needs all of them) can exist while it lives.
                unsafe { &*self.lock.data.get() }
            }
        }

        impl<T: ?Sized> Drop for $guard {
            fn drop(&mut self) {
                self.lock.sem.release($permits);
            }
        }

        impl<T: ?Sized + fmt::Debug> fmt::Debug for $guard {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&**self, f)
            }
        }

        guard_impls!(@mut $guard, $mutable);
    };
    (@mut $guard:ty, true) => {
        impl<T: ?Sized> DerefMut for $guard {
            fn deref_mut(&mut self) -> &mut T {
                // SAFETY: a write guard holds every permit, so no other guard
                // exists; `&mut self` makes this access unique.
                unsafe { &mut *self.lock.data.get() }
            }
        }
    };
    (@mut $guard:ty, false) => {};
}

guard_impls!(RwLockReadGuard<'_, T>, 1, mut: false);
guard_impls!(OwnedRwLockReadGuard<T>, 1, mut: false);
guard_impls!(RwLockWriteGuard<'_, T>, MAX_READERS, mut: true);
guard_impls!(OwnedRwLockWriteGuard<T>, MAX_READERS, mut: true);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{CountingWaker, poll_once};

    #[test]
    fn queued_writer_blocks_later_readers() {
        let l = RwLock::new(0);
        let w = CountingWaker::new();
        let r1 = l.try_read().unwrap();
        let mut writer = Box::pin(l.write());
        assert!(poll_once(&mut writer, &w.waker()).is_pending());
        // A new reader must queue behind the writer.
        assert!(l.try_read().is_err());
        let mut r2 = Box::pin(l.read());
        assert!(poll_once(&mut r2, &w.waker()).is_pending());
        drop(r1);
        let g = match poll_once(&mut writer, &w.waker()) {
            Poll::Ready(g) => g,
            Poll::Pending => panic!("writer starved"),
        };
        assert!(poll_once(&mut r2, &w.waker()).is_pending());
        drop(g);
        assert!(poll_once(&mut r2, &w.waker()).is_ready());
    }
}
