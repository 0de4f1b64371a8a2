//! trio's `CapacityLimiter`: a semaphore that knows who holds each token.

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, RwLock};
use std::task::{Context, Poll};

use eddy_core::TaskId;

use crate::semaphore::{AcquireState, RawSemaphore};
use crate::waitlist::lock;

type Hook = fn() -> Option<TaskId>;

static CURRENT_TASK_HOOK: RwLock<Option<Hook>> = RwLock::new(None);

/// Installs the function [`CapacityLimiter::acquire`] uses to learn which
/// task is calling (the runtime facade installs one returning the running
/// eddy task's id). Replaces any earlier hook.
///
/// ```
/// use eddy_core::TaskId;
/// thread_local!(static ME: TaskId = TaskId::next());
/// eddy_sync::set_current_task_hook(|| Some(ME.with(|id| *id)));
/// assert!(eddy_sync::current_task().is_some());
/// ```
pub fn set_current_task_hook(hook: fn() -> Option<TaskId>) {
    *CURRENT_TASK_HOOK.write().unwrap_or_else(|e| e.into_inner()) = Some(hook);
}

/// The calling task according to the installed hook, if any.
///
/// ```
/// // With no hook (or outside a task) this is `None`.
/// let _maybe: Option<eddy_core::TaskId> = eddy_sync::current_task();
/// ```
pub fn current_task() -> Option<TaskId> {
    let hook = *CURRENT_TASK_HOOK.read().unwrap_or_else(|e| e.into_inner());
    hook.and_then(|h| h())
}

/// Why a [`CapacityLimiter`] operation failed.
///
/// ```
/// use eddy_core::TaskId;
/// let lim = eddy_sync::CapacityLimiter::new(2);
/// let me = TaskId::next();
/// let _t = lim.try_acquire_on_behalf_of(me).unwrap();
/// assert_eq!(
///     lim.try_acquire_on_behalf_of(me).unwrap_err(),
///     eddy_sync::CapacityError::AlreadyBorrowing(me)
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapacityError {
    /// This borrower already holds (or is waiting for) a token.
    AlreadyBorrowing(TaskId),
    /// This borrower holds no token (from `release_on_behalf_of`).
    NotBorrowing(TaskId),
    /// No current-task hook is installed, or it returned `None`.
    NoCurrentTask,
    /// No token is free right now (from the `try_` methods).
    NoTokens,
}

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CapacityError::AlreadyBorrowing(id) => {
                write!(
                    f,
                    "task {id} already holds a token from this CapacityLimiter"
                )
            }
            CapacityError::NotBorrowing(id) => {
                write!(f, "task {id} holds no token from this CapacityLimiter")
            }
            CapacityError::NoCurrentTask => f.write_str("no current task to borrow a token for"),
            CapacityError::NoTokens => f.write_str("no tokens available"),
        }
    }
}

impl std::error::Error for CapacityError {}

/// Limits how many tasks do something at once, tracking which task holds
/// each token (trio's `CapacityLimiter`).
///
/// Unlike a [`Semaphore`](crate::Semaphore), a borrower (a [`TaskId`]) can
/// hold at most one token: a second acquire by the same borrower fails with
/// [`CapacityError::AlreadyBorrowing`] instead of deadlocking. Tokens are
/// RAII ([`CapacityToken`]); one that is leaked (e.g. `mem::forget`, or a
/// task that parks a token forever) stays listed in
/// [`borrowers`](Self::borrowers), so it can be reported, and can be
/// returned by hand with [`release_on_behalf_of`](Self::release_on_behalf_of).
///
/// The borrower defaults to the current task, learned from the hook set with
/// [`set_current_task_hook`]; the `_on_behalf_of` variants take it
/// explicitly. Waiters are served first-in first-out.
///
/// # Example
///
/// ```
/// use eddy_core::TaskId;
/// futures_lite::future::block_on(async {
///     let limiter = eddy_sync::CapacityLimiter::new(1);
///     let (a, b) = (TaskId::next(), TaskId::next());
///     let token = limiter.acquire_on_behalf_of(a).await.unwrap();
///     assert_eq!(limiter.borrowers(), [a]);
///     assert!(limiter.try_acquire_on_behalf_of(b).is_err());
///     drop(token);
///     assert!(limiter.try_acquire_on_behalf_of(b).is_ok());
/// });
/// ```
pub struct CapacityLimiter {
    total: usize,
    sem: RawSemaphore,
    /// Holders and waiters: reserving the id before waiting is what stops a
    /// borrower from queueing twice.
    borrowers: Mutex<HashSet<TaskId>>,
    holders: Mutex<Vec<TaskId>>,
}

impl fmt::Debug for CapacityLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CapacityLimiter")
            .field("total_tokens", &self.total)
            .field("borrowers", &self.borrowers())
            .finish()
    }
}

impl CapacityLimiter {
    /// A limiter with `total_tokens` tokens.
    ///
    /// # Panics
    ///
    /// If `total_tokens > Semaphore::MAX_PERMITS`.
    ///
    /// ```
    /// assert_eq!(eddy_sync::CapacityLimiter::new(4).available_tokens(), 4);
    /// ```
    pub fn new(total_tokens: usize) -> Self {
        CapacityLimiter {
            total: total_tokens,
            sem: RawSemaphore::new(total_tokens),
            borrowers: Mutex::new(HashSet::new()),
            holders: Mutex::new(Vec::new()),
        }
    }

    /// The number of tokens.
    ///
    /// ```
    /// assert_eq!(eddy_sync::CapacityLimiter::new(3).total_tokens(), 3);
    /// ```
    pub fn total_tokens(&self) -> usize {
        self.total
    }

    /// Tokens free right now.
    ///
    /// ```
    /// let lim = eddy_sync::CapacityLimiter::new(2);
    /// let _t = lim.try_acquire_on_behalf_of(eddy_core::TaskId::next()).unwrap();
    /// assert_eq!(lim.available_tokens(), 1);
    /// ```
    pub fn available_tokens(&self) -> usize {
        self.sem.available()
    }

    /// Tokens held right now.
    ///
    /// ```
    /// assert_eq!(eddy_sync::CapacityLimiter::new(2).borrowed_tokens(), 0);
    /// ```
    pub fn borrowed_tokens(&self) -> usize {
        lock(&self.holders).len()
    }

    /// Who holds a token right now, oldest first. A borrower still listed
    /// after its task ended has leaked its token.
    ///
    /// ```
    /// let lim = eddy_sync::CapacityLimiter::new(2);
    /// let id = eddy_core::TaskId::next();
    /// std::mem::forget(lim.try_acquire_on_behalf_of(id).unwrap());
    /// assert_eq!(lim.borrowers(), [id]); // the leak is visible
    /// lim.release_on_behalf_of(id).unwrap();
    /// assert!(lim.borrowers().is_empty());
    /// ```
    pub fn borrowers(&self) -> Vec<TaskId> {
        lock(&self.holders).clone()
    }

    /// Waits for a token for the current task (see [`set_current_task_hook`]).
    /// Cancel safety as [`acquire_on_behalf_of`](Self::acquire_on_behalf_of).
    ///
    /// # Errors
    ///
    /// [`CapacityError::NoCurrentTask`] without a hook or outside a task;
    /// [`CapacityError::AlreadyBorrowing`] if the task holds a token.
    ///
    /// ```
    /// let lim = eddy_sync::CapacityLimiter::new(1);
    /// thread_local!(static ME: eddy_core::TaskId = eddy_core::TaskId::next());
    /// eddy_sync::set_current_task_hook(|| Some(ME.with(|id| *id)));
    /// futures_lite::future::block_on(async {
    ///     let _token = lim.acquire().await.unwrap();
    ///     assert!(lim.acquire().await.is_err()); // no second token
    /// });
    /// ```
    pub fn acquire(&self) -> CapacityAcquire<'_> {
        match current_task() {
            Some(id) => self.acquire_on_behalf_of(id),
            None => CapacityAcquire {
                limiter: self,
                borrower: None,
                st: AcquireState::new(1),
                reserved: false,
            },
        }
    }

    /// Waits for a token for `borrower`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe and fair (FIFO): dropping the future withdraws the
    /// borrower (it may try again) and passes on a token that had already
    /// been assigned to it.
    ///
    /// # Errors
    ///
    /// [`CapacityError::AlreadyBorrowing`] if `borrower` holds or is waiting
    /// for a token.
    ///
    /// ```
    /// futures_lite::future::block_on(async {
    ///     let lim = eddy_sync::CapacityLimiter::new(1);
    ///     let t = lim.acquire_on_behalf_of(eddy_core::TaskId::next()).await.unwrap();
    ///     assert_eq!(lim.borrowed_tokens(), 1);
    ///     drop(t);
    /// });
    /// ```
    pub fn acquire_on_behalf_of(&self, borrower: TaskId) -> CapacityAcquire<'_> {
        CapacityAcquire {
            limiter: self,
            borrower: Some(borrower),
            st: AcquireState::new(1),
            reserved: false,
        }
    }

    /// Takes a token for the current task without waiting.
    ///
    /// # Errors
    ///
    /// As [`acquire`](Self::acquire), plus [`CapacityError::NoTokens`].
    ///
    /// ```
    /// let lim = eddy_sync::CapacityLimiter::new(1);
    /// thread_local!(static ME: eddy_core::TaskId = eddy_core::TaskId::next());
    /// eddy_sync::set_current_task_hook(|| Some(ME.with(|id| *id)));
    /// let token = lim.try_acquire().unwrap();
    /// assert_eq!(token.borrower(), eddy_sync::current_task().unwrap());
    /// ```
    pub fn try_acquire(&self) -> Result<CapacityToken<'_>, CapacityError> {
        self.try_acquire_on_behalf_of(current_task().ok_or(CapacityError::NoCurrentTask)?)
    }

    /// Takes a token for `borrower` without waiting.
    ///
    /// # Errors
    ///
    /// [`CapacityError::AlreadyBorrowing`] or [`CapacityError::NoTokens`].
    ///
    /// ```
    /// let lim = eddy_sync::CapacityLimiter::new(0);
    /// let id = eddy_core::TaskId::next();
    /// assert_eq!(lim.try_acquire_on_behalf_of(id).unwrap_err(), eddy_sync::CapacityError::NoTokens);
    /// ```
    pub fn try_acquire_on_behalf_of(
        &self,
        borrower: TaskId,
    ) -> Result<CapacityToken<'_>, CapacityError> {
        self.reserve(borrower)?;
        if self.sem.try_acquire(1).is_err() {
            lock(&self.borrowers).remove(&borrower);
            return Err(CapacityError::NoTokens);
        }
        lock(&self.holders).push(borrower);
        Ok(CapacityToken {
            limiter: self,
            borrower: Some(borrower),
        })
    }

    /// Returns a token that was leaked (its [`CapacityToken`] forgotten or
    /// [`detach`](CapacityToken::detach)ed).
    ///
    /// # Errors
    ///
    /// [`CapacityError::NotBorrowing`] if `borrower` holds no token.
    ///
    /// ```
    /// let lim = eddy_sync::CapacityLimiter::new(1);
    /// let id = eddy_core::TaskId::next();
    /// lim.try_acquire_on_behalf_of(id).unwrap().detach();
    /// lim.release_on_behalf_of(id).unwrap();
    /// assert!(lim.release_on_behalf_of(id).is_err());
    /// ```
    pub fn release_on_behalf_of(&self, borrower: TaskId) -> Result<(), CapacityError> {
        {
            let mut holders = lock(&self.holders);
            let pos = holders
                .iter()
                .position(|&b| b == borrower)
                .ok_or(CapacityError::NotBorrowing(borrower))?;
            holders.remove(pos);
        }
        lock(&self.borrowers).remove(&borrower);
        self.sem.release(1);
        Ok(())
    }

    fn reserve(&self, borrower: TaskId) -> Result<(), CapacityError> {
        if lock(&self.borrowers).insert(borrower) {
            Ok(())
        } else {
            Err(CapacityError::AlreadyBorrowing(borrower))
        }
    }
}

/// Future returned by [`CapacityLimiter::acquire`] and
/// [`CapacityLimiter::acquire_on_behalf_of`].
#[must_use = "futures do nothing unless polled"]
pub struct CapacityAcquire<'a> {
    limiter: &'a CapacityLimiter,
    borrower: Option<TaskId>,
    st: AcquireState,
    reserved: bool,
}

impl fmt::Debug for CapacityAcquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CapacityAcquire")
            .field("borrower", &self.borrower)
            .finish()
    }
}

impl<'a> Future for CapacityAcquire<'a> {
    type Output = Result<CapacityToken<'a>, CapacityError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let Some(id) = this.borrower else {
            return Poll::Ready(Err(CapacityError::NoCurrentTask));
        };
        if !this.reserved {
            if let Err(e) = this.limiter.reserve(id) {
                return Poll::Ready(Err(e));
            }
            this.reserved = true;
        }
        match this.limiter.sem.poll_acquire(&mut this.st, cx) {
            Poll::Pending => Poll::Pending,
            // A limiter's semaphore is never closed.
            Poll::Ready(_) => {
                this.reserved = false;
                lock(&this.limiter.holders).push(id);
                Poll::Ready(Ok(CapacityToken {
                    limiter: this.limiter,
                    borrower: Some(id),
                }))
            }
        }
    }
}

impl Drop for CapacityAcquire<'_> {
    fn drop(&mut self) {
        if self.reserved {
            self.limiter.sem.drop_acquire(&mut self.st);
            if let Some(id) = self.borrower {
                lock(&self.limiter.borrowers).remove(&id);
            }
        }
    }
}

/// A token borrowed from a [`CapacityLimiter`]; returned when dropped.
///
/// ```
/// let lim = eddy_sync::CapacityLimiter::new(1);
/// let t = lim.try_acquire_on_behalf_of(eddy_core::TaskId::next()).unwrap();
/// assert_eq!(lim.available_tokens(), 0);
/// drop(t);
/// assert_eq!(lim.available_tokens(), 1);
/// ```
#[must_use = "dropping a token returns it at once"]
pub struct CapacityToken<'a> {
    limiter: &'a CapacityLimiter,
    borrower: Option<TaskId>,
}

impl CapacityToken<'_> {
    /// Who holds this token.
    ///
    /// ```
    /// let lim = eddy_sync::CapacityLimiter::new(1);
    /// let id = eddy_core::TaskId::next();
    /// assert_eq!(lim.try_acquire_on_behalf_of(id).unwrap().borrower(), id);
    /// ```
    pub fn borrower(&self) -> TaskId {
        self.borrower.expect("a live token has a borrower")
    }

    /// Keeps the token borrowed after this guard is gone; return it later
    /// with [`CapacityLimiter::release_on_behalf_of`] (trio's manual
    /// `acquire`/`release` style).
    ///
    /// ```
    /// let lim = eddy_sync::CapacityLimiter::new(1);
    /// let id = eddy_core::TaskId::next();
    /// lim.try_acquire_on_behalf_of(id).unwrap().detach();
    /// assert_eq!(lim.borrowed_tokens(), 1);
    /// ```
    pub fn detach(mut self) {
        self.borrower = None;
    }
}

impl fmt::Debug for CapacityToken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CapacityToken")
            .field("borrower", &self.borrower)
            .finish()
    }
}

impl Drop for CapacityToken<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.borrower {
            // The borrower is recorded, so this cannot fail.
            let _ = self.limiter.release_on_behalf_of(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{CountingWaker, poll_once};

    #[test]
    fn dropped_waiter_withdraws_and_passes_token_on() {
        let lim = CapacityLimiter::new(1);
        let (a, b, c) = (TaskId::next(), TaskId::next(), TaskId::next());
        let w = CountingWaker::new();
        let held = lim.try_acquire_on_behalf_of(a).unwrap();
        let mut fb = Box::pin(lim.acquire_on_behalf_of(b));
        let mut fc = Box::pin(lim.acquire_on_behalf_of(c));
        assert!(poll_once(&mut fb, &w.waker()).is_pending());
        assert!(poll_once(&mut fc, &w.waker()).is_pending());
        // `b` is waiting, so it cannot queue twice.
        assert_eq!(
            lim.try_acquire_on_behalf_of(b).unwrap_err(),
            CapacityError::AlreadyBorrowing(b)
        );
        drop(held);
        drop(fb); // had been granted the token
        let t = match poll_once(&mut fc, &w.waker()) {
            Poll::Ready(Ok(t)) => t,
            other => panic!("c not served: {other:?}"),
        };
        assert_eq!(lim.borrowers(), [c]);
        drop(t);
        assert!(
            lim.try_acquire_on_behalf_of(b).is_ok(),
            "b withdrew and may try again"
        );
    }
}
