//! The async context manager pattern: a resource whose release must be
//! awaited.

use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::Arc;

use eddy_core::{BoxFuture, Spawn, TaskMeta};

type Release<R> = Box<dyn FnOnce(R) -> BoxFuture + Send>;

/// A value with an asynchronous release step: the Rust answer to
/// `async with` when cleanup must await (for synchronous cleanup, a plain
/// RAII guard with `Drop` is the answer).
///
/// Use the value through `Deref`/`DerefMut`, then call
/// [`release`](Resource::release)`.await` on every path (success and error:
/// `?` inside a helper function makes that easy, see
/// [`with_resource_in`]). If the `Resource` is dropped instead (an early
/// return, a panic, or the surrounding future being cancelled), the release
/// still happens: it is spawned as its own task, since `Drop` cannot await.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use eddy_scope::Resource;
///
/// struct Conn { closed: Arc<AtomicBool> }
/// impl Conn {
///     async fn execute(&self, _sql: &str) -> u32 { 1 }
///     async fn close(self) { eddy::yield_now().await; self.closed.store(true, Ordering::SeqCst) }
/// }
///
/// eddy::run(async {
///     let spawner: Arc<dyn eddy_core::Spawn> = Arc::new(eddy::Handle::current().executor().clone());
///     let closed = Arc::new(AtomicBool::new(false));
///     let conn = Resource::new_in(spawner, Conn { closed: closed.clone() }, |c| c.close());
///     assert_eq!(conn.execute("SELECT 1").await, 1);
///     conn.release().await;
///     assert!(closed.load(Ordering::SeqCst));
/// });
/// ```
pub struct Resource<R: Send + 'static> {
    value: Option<R>,
    release: Option<Release<R>>,
    spawner: Arc<dyn Spawn>,
}

impl<R: Send + 'static> Resource<R> {
    /// Wraps `value`; `release` is what `__aexit__` would do. If the
    /// resource is dropped unreleased, `release` runs as a task on
    /// `spawner`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    ///
    /// eddy::run(async {
    ///     let spawner: Arc<dyn eddy_core::Spawn> = Arc::new(eddy::Handle::current().executor().clone());
    ///     let released = Arc::new(AtomicBool::new(false));
    ///     let flag = released.clone();
    ///     let res = eddy_scope::Resource::new_in(spawner, 5, move |_v| async move {
    ///         flag.store(true, Ordering::SeqCst);
    ///     });
    ///     assert_eq!(*res, 5);
    ///     drop(res); // unreleased: the release runs as its own task
    ///     for _ in 0..100 {
    ///         if released.load(Ordering::SeqCst) { break; }
    ///         eddy::yield_now().await;
    ///     }
    ///     assert!(released.load(Ordering::SeqCst));
    /// });
    /// ```
    pub fn new_in<F, Fut>(spawner: Arc<dyn Spawn>, value: R, release: F) -> Resource<R>
    where
        F: FnOnce(R) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Resource {
            value: Some(value),
            release: Some(Box::new(move |r| Box::pin(release(r)) as BoxFuture)),
            spawner,
        }
    }

    /// Releases the resource and waits for the release to finish.
    ///
    /// # Cancellation
    ///
    /// If this future is dropped mid-release, the release's own future is
    /// dropped with it (its destructors run); it is not restarted.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    ///
    /// eddy::run(async {
    ///     let spawner: Arc<dyn eddy_core::Spawn> = Arc::new(eddy::Handle::current().executor().clone());
    ///     let log = Arc::new(Mutex::new(Vec::new()));
    ///     let l = log.clone();
    ///     let mut res = eddy_scope::Resource::new_in(spawner, vec![1, 2], move |v| async move {
    ///         eddy::yield_now().await;
    ///         l.lock().unwrap().push(v.len());
    ///     });
    ///     res.push(3);
    ///     res.release().await; // finished when this returns
    ///     assert_eq!(*log.lock().unwrap(), [3]);
    /// });
    /// ```
    pub async fn release(mut self) {
        if let (Some(v), Some(rel)) = (self.value.take(), self.release.take()) {
            rel(v).await;
        }
    }

    /// Gives the value back without releasing it.
    ///
    /// ```
    /// # eddy::run(async {
    /// # let spawner: std::sync::Arc<dyn eddy_core::Spawn> = std::sync::Arc::new(eddy::Handle::current().executor().clone());
    /// let r = eddy_scope::Resource::new_in(spawner, 5, |_| async {});
    /// assert_eq!(r.into_inner(), 5);
    /// # });
    /// ```
    pub fn into_inner(mut self) -> R {
        self.release = None;
        match self.value.take() {
            Some(v) => v,
            // `value` is only taken by `release`/`into_inner`, which consume self.
            None => unreachable!("resource value taken twice"),
        }
    }
}

impl<R: Send + 'static> Deref for Resource<R> {
    type Target = R;

    fn deref(&self) -> &R {
        match &self.value {
            Some(v) => v,
            None => unreachable!("resource used after release"),
        }
    }
}

impl<R: Send + 'static> DerefMut for Resource<R> {
    fn deref_mut(&mut self) -> &mut R {
        match &mut self.value {
            Some(v) => v,
            None => unreachable!("resource used after release"),
        }
    }
}

impl<R: Send + 'static> Drop for Resource<R> {
    fn drop(&mut self) {
        if let (Some(v), Some(rel)) = (self.value.take(), self.release.take()) {
            let meta = TaskMeta::here().with_name("eddy-scope: resource release");
            // A shut-down executor drops the release future; nothing else
            // can run it.
            if let Ok(task) = self.spawner.spawn_boxed(rel(v), meta) {
                drop(task); // detached: it runs to completion on its own
            }
        }
    }
}

impl<R: Send + fmt::Debug + 'static> fmt::Debug for Resource<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resource")
            .field("value", &self.value)
            .finish_non_exhaustive()
    }
}

/// Acquire, use, release: `async with acquire() as r: body(r)`, with the
/// release awaited on success and on error, and still carried out (as a
/// task on `spawner`) if the whole thing is cancelled mid-body.
///
/// `body` borrows the resource; because a closure cannot return a future
/// that borrows its argument on stable Rust without boxing, it returns a
/// boxed future (`Box::pin(async move { .. })`).
///
/// # Errors
///
/// The acquire step's error (nothing is released then: nothing was
/// acquired). The body's own errors are part of its output `T`.
///
/// # Cancellation
///
/// Dropping the future before acquiring finished drops the acquire future.
/// Dropped while the body runs, the resource is released by a spawned task.
/// Dropped while the release itself is being awaited, the half-done release
/// is dropped, and nothing is spawned (see [`Resource::release`]).
///
/// # Example
///
/// ```
/// use std::sync::{Arc, Mutex};
///
/// struct Conn { log: Arc<Mutex<Vec<&'static str>>> }
///
/// async fn connect(log: Arc<Mutex<Vec<&'static str>>>) -> std::io::Result<Conn> {
///     log.lock().unwrap().push("connect");
///     Ok(Conn { log })
/// }
///
/// eddy::run(async {
///     let spawner: Arc<dyn eddy_core::Spawn> = Arc::new(eddy::Handle::current().executor().clone());
///     let log = Arc::new(Mutex::new(Vec::new()));
///     let out = eddy_scope::with_resource_in(
///         spawner,
///         connect(log.clone()),
///         |conn| async move { conn.log.lock().unwrap().push("close") },
///         |conn| Box::pin(async move {
///             conn.log.lock().unwrap().push("SELECT 1");
///             Err::<u32, &str>("query failed")
///         }),
///     )
///     .await
///     .unwrap();
///     assert_eq!(out, Err("query failed"));
///     assert_eq!(*log.lock().unwrap(), ["connect", "SELECT 1", "close"]);
/// });
/// ```
pub async fn with_resource_in<R, E, T, A, Rel, RelFut, B>(
    spawner: Arc<dyn Spawn>,
    acquire: A,
    release: Rel,
    body: B,
) -> Result<T, E>
where
    R: Send + 'static,
    A: Future<Output = Result<R, E>>,
    Rel: FnOnce(R) -> RelFut + Send + 'static,
    RelFut: Future<Output = ()> + Send + 'static,
    B: for<'a> FnOnce(&'a mut R) -> Pin<Box<dyn Future<Output = T> + Send + 'a>>,
{
    let value = acquire.await?;
    let mut res = Resource::new_in(spawner, value, release);
    let out = body(&mut res).await;
    res.release().await;
    Ok(out)
}
