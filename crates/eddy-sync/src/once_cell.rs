//! A cell initialised once by an async function: [`OnceCell`].

use std::fmt;
use std::future::Future;
use std::sync::OnceLock;

use crate::mutex::Mutex;

/// A value set at most once, whose initialiser may be async (tokio's
/// `OnceCell`).
///
/// Concurrent [`get_or_init`](Self::get_or_init) calls run one initialiser
/// at a time: the first caller runs its function, the others wait and then
/// return the value it produced. If the running initialiser is cancelled
/// (its future dropped) or fails, the next waiter runs its own.
///
/// Reads after initialisation are a single atomic load.
///
/// # Example
///
/// ```
/// static CONFIG: eddy_sync::OnceCell<String> = eddy_sync::OnceCell::new();
/// futures_lite::future::block_on(async {
///     let v = CONFIG.get_or_init(|| async { "loaded".to_string() }).await;
///     assert_eq!(v, "loaded");
///     // Already set: the initialiser does not run again.
///     let v = CONFIG.get_or_init(|| async { unreachable!() }).await;
///     assert_eq!(v, "loaded");
/// });
/// ```
pub struct OnceCell<T> {
    value: OnceLock<T>,
    init: Mutex<()>,
}

/// Why [`OnceCell::set`] failed; holds the value.
///
/// ```
/// let cell = eddy_sync::OnceCell::new();
/// cell.set(1).unwrap();
/// assert!(matches!(cell.set(2), Err(eddy_sync::SetError::AlreadyInitialized(2))));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetError<T> {
    /// The cell already holds a value.
    AlreadyInitialized(T),
    /// An initialiser is running right now.
    Initializing(T),
}

impl<T> fmt::Display for SetError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetError::AlreadyInitialized(_) => f.write_str("cell already initialized"),
            SetError::Initializing(_) => f.write_str("cell is being initialized"),
        }
    }
}

impl<T: fmt::Debug> std::error::Error for SetError<T> {}

impl<T> Default for OnceCell<T> {
    fn default() -> Self {
        OnceCell::new()
    }
}

impl<T: fmt::Debug> fmt::Debug for OnceCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnceCell")
            .field("value", &self.get())
            .finish()
    }
}

impl<T> From<T> for OnceCell<T> {
    fn from(value: T) -> Self {
        let cell = OnceCell::new();
        let _ = cell.value.set(value);
        cell
    }
}

impl<T> OnceCell<T> {
    /// An empty cell.
    ///
    /// ```
    /// let cell = eddy_sync::OnceCell::<u8>::new();
    /// assert!(cell.get().is_none());
    /// ```
    pub const fn new() -> Self {
        OnceCell {
            value: OnceLock::new(),
            init: Mutex::new(()),
        }
    }

    /// The value, if set.
    ///
    /// ```
    /// let cell = eddy_sync::OnceCell::from(3);
    /// assert_eq!(cell.get(), Some(&3));
    /// ```
    pub fn get(&self) -> Option<&T> {
        self.value.get()
    }

    /// Whether the cell holds a value.
    ///
    /// ```
    /// assert!(eddy_sync::OnceCell::from(()).initialized());
    /// ```
    pub fn initialized(&self) -> bool {
        self.value.get().is_some()
    }

    /// Sets the value if the cell is empty and no initialiser is running.
    ///
    /// # Errors
    ///
    /// [`SetError`] with the value otherwise.
    ///
    /// ```
    /// let cell = eddy_sync::OnceCell::new();
    /// assert!(cell.set(1).is_ok());
    /// assert_eq!(cell.get(), Some(&1));
    /// ```
    pub fn set(&self, value: T) -> Result<(), SetError<T>> {
        if self.initialized() {
            return Err(SetError::AlreadyInitialized(value));
        }
        let Ok(_guard) = self.init.try_lock() else {
            return Err(SetError::Initializing(value));
        };
        self.value.set(value).map_err(SetError::AlreadyInitialized)
    }

    /// Returns the value, running `f` to produce it if the cell is empty.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if this future is dropped while waiting, it just leaves
    /// the queue; if it is dropped while running `f`, the cell stays empty
    /// and the next waiter runs its own initialiser.
    ///
    /// ```
    /// futures_lite::future::block_on(async {
    ///     let cell = eddy_sync::OnceCell::new();
    ///     assert_eq!(*cell.get_or_init(|| async { 7 }).await, 7);
    /// });
    /// ```
    pub async fn get_or_init<F, Fut>(&self, f: F) -> &T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        match self
            .get_or_try_init(|| async { Ok::<T, std::convert::Infallible>(f().await) })
            .await
        {
            Ok(v) => v,
            Err(never) => match never {},
        }
    }

    /// Like [`get_or_init`](Self::get_or_init) with a fallible initialiser;
    /// on error the cell stays empty and the next caller tries again.
    /// Cancel safety as [`get_or_init`](Self::get_or_init).
    ///
    /// # Errors
    ///
    /// The initialiser's error.
    ///
    /// ```
    /// futures_lite::future::block_on(async {
    ///     let cell = eddy_sync::OnceCell::<u8>::new();
    ///     assert!(cell.get_or_try_init(|| async { Err("no") }).await.is_err());
    ///     assert_eq!(*cell.get_or_try_init(|| async { Ok::<_, ()>(1) }).await.unwrap(), 1);
    /// });
    /// ```
    pub async fn get_or_try_init<E, F, Fut>(&self, f: F) -> Result<&T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if let Some(v) = self.value.get() {
            return Ok(v);
        }
        let _guard = self.init.lock().await;
        if let Some(v) = self.value.get() {
            return Ok(v);
        }
        let value = f().await?;
        // We hold the init lock and saw the cell empty, so this set wins.
        let _ = self.value.set(value);
        Ok(self.value.get().expect("set under the init lock"))
    }

    /// Takes the value out, leaving the cell empty.
    ///
    /// ```
    /// let mut cell = eddy_sync::OnceCell::from(1);
    /// assert_eq!(cell.take(), Some(1));
    /// assert!(cell.get().is_none());
    /// ```
    pub fn take(&mut self) -> Option<T> {
        self.value.take()
    }

    /// Consumes the cell, returning the value if set.
    ///
    /// ```
    /// assert_eq!(eddy_sync::OnceCell::from(2).into_inner(), Some(2));
    /// ```
    pub fn into_inner(self) -> Option<T> {
        self.value.into_inner()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{CountingWaker, poll_once};

    #[test]
    fn cancelled_initialiser_lets_the_next_one_run() {
        let cell = OnceCell::new();
        let w = CountingWaker::new();
        let mut first = Box::pin(cell.get_or_init(std::future::pending::<u32>));
        assert!(poll_once(&mut first, &w.waker()).is_pending());
        let mut second = Box::pin(cell.get_or_init(|| async { 2 }));
        assert!(poll_once(&mut second, &w.waker()).is_pending());
        drop(first);
        assert_eq!(w.count(), 1);
        assert!(matches!(
            poll_once(&mut second, &w.waker()),
            std::task::Poll::Ready(&2)
        ));
    }
}
