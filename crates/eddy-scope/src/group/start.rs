//! trio's `nursery.start`: [`Ready`], [`Start`], [`StartError`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::GroupSpawnError;
use crate::oneshot::{self, Recv};

/// The sending half given to a child started with
/// [`TaskGroupHandle::start`](crate::TaskGroupHandle::start): call [`send`](Ready::send) when set up.
/// Dropping it unsent makes `start` fail with [`StartError::Exited`].
///
/// ```
/// # eddy::run(async {
/// # let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
/// use eddy_scope::{Ready, StartError};
///
/// let tg = eddy_scope::TaskGroup::new_in(spawner);
/// let up = tg.start(|ready: Ready<u16>| async move { ready.send(8080) }).await;
/// assert_eq!(up, Ok(8080));
/// // Dropped without sending: the start fails.
/// let gave_up = tg.start(|ready: Ready<u16>| async move { drop(ready) }).await;
/// assert_eq!(gave_up, Err(StartError::Exited));
/// tg.join().await.unwrap();
/// # });
/// ```
pub struct Ready<V> {
    pub(super) tx: oneshot::Sender<V>,
}

impl<V> Ready<V> {
    /// Signals readiness with `value`; `start` returns it.
    ///
    /// ```
    /// # eddy::run(async {
    /// # let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
    /// let tg = eddy_scope::TaskGroup::new_in(spawner);
    /// let addr = tg.start(|ready| async move { ready.send("127.0.0.1:8080") }).await;
    /// assert_eq!(addr.unwrap(), "127.0.0.1:8080");
    /// tg.join().await.unwrap();
    /// # });
    /// ```
    pub fn send(self, value: V) {
        self.tx.send(value);
    }
}

impl<V> fmt::Debug for Ready<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ready").finish_non_exhaustive()
    }
}

/// Why [`TaskGroupHandle::start`](crate::TaskGroupHandle::start) did not get a ready signal.
///
/// ```
/// # eddy::run(async {
/// # let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
/// use eddy_scope::{GroupSpawnError, Ready, StartError};
///
/// let tg = eddy_scope::TaskGroup::new_in(spawner);
/// let handle = tg.handle();
/// let exited = tg.start(|_ready: Ready<()>| async {}).await;
/// assert_eq!(exited, Err(StartError::Exited));
/// tg.join().await.unwrap();
/// let closed = handle.start(|_ready: Ready<()>| async {}).await;
/// assert_eq!(closed, Err(StartError::Spawn(GroupSpawnError::Closed)));
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StartError {
    /// The child could not be spawned.
    Spawn(GroupSpawnError),
    /// The child finished, failed or was cancelled before signalling.
    Exited,
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Spawn(e) => write!(f, "could not start the child: {e}"),
            StartError::Exited => f.write_str("the child exited before signalling it was ready"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Spawn(e) => Some(e),
            StartError::Exited => None,
        }
    }
}

/// Future returned by [`TaskGroupHandle::start`](crate::TaskGroupHandle::start).
///
/// ```
/// # eddy::run(async {
/// # let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
/// let tg = eddy_scope::TaskGroup::new_in(spawner);
/// let start: eddy_scope::Start<&str> = tg.start(|ready| async move { ready.send("listening") });
/// assert_eq!(start.await, Ok("listening"));
/// tg.join().await.unwrap();
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Start<V> {
    pub(super) rx: oneshot::Receiver<V>,
    pub(super) error: Option<StartError>,
}

impl<V> Future for Start<V> {
    type Output = Result<V, StartError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Some(e) = this.error {
            return Poll::Ready(Err(e));
        }
        this.rx.poll_recv(cx).map(|r| match r {
            Recv::Value(v) => Ok(v),
            Recv::Closed | Recv::Taken => Err(StartError::Exited),
        })
    }
}

impl<V> fmt::Debug for Start<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Start").finish_non_exhaustive()
    }
}
