//! How this crate reaches an executor and a blocking pool it does not
//! depend on.
//!
//! Sockets, pipes and signals need only the reactor. Three things need more:
//! [`start_server`](crate::start_server) spawns its accept loop and one task
//! per connection, a dropped [`Child`](crate::process::Child) is reaped by a
//! background task, and host names are resolved by a blocking call that must
//! not run on the event loop. This crate depends on no executor, so a
//! runtime tells it how to do those with two process-wide hooks, as the
//! `eddy` facade does when it builds a runtime:
//!
//! * [`set_spawn_hook`]: the executor running the calling thread, as an
//!   [`eddy_core::Spawn`]. Without it (or when it returns `None`),
//!   [`start_server`](crate::start_server) panics (use
//!   [`start_server_with`](crate::start_server_with) and pass a spawner),
//!   and orphaned children are reaped by a short-lived thread each.
//! * [`set_unblock_hook`]: runs a blocking job off the event loop (the
//!   facade uses its blocking thread pool). Without it, each job gets a
//!   thread of its own.
//!
//! Only the first call of each setter has an effect.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};

use eddy_core::Spawn;

/// A blocking job handed to the [unblock hook](set_unblock_hook).
///
/// ```
/// let job: eddy_net::hooks::BlockingJob = Box::new(|| println!("off the loop"));
/// job();
/// ```
pub type BlockingJob = Box<dyn FnOnce() + Send + 'static>;

/// What the [unblock hook](set_unblock_hook) returns: a future that
/// resolves once the job has run (`Err` if it could not run or panicked).
///
/// ```
/// let done: eddy_net::hooks::BlockingFuture = Box::pin(async { Ok(()) });
/// futures_lite::future::block_on(done).unwrap();
/// ```
pub type BlockingFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send + 'static>>;

/// The [spawn hook](set_spawn_hook): the executor running the calling
/// thread, if any.
///
/// ```
/// fn none() -> Option<std::sync::Arc<dyn eddy_core::Spawn>> {
///     None
/// }
/// let hook: eddy_net::hooks::SpawnHook = none;
/// assert!(hook().is_none());
/// ```
pub type SpawnHook = fn() -> Option<Arc<dyn Spawn>>;

/// The [unblock hook](set_unblock_hook): runs a job off the event loop.
///
/// ```
/// use eddy_net::hooks::{BlockingFuture, BlockingJob, UnblockHook};
///
/// fn inline(job: BlockingJob) -> BlockingFuture {
///     job();
///     Box::pin(async { Ok(()) })
/// }
/// let hook: UnblockHook = inline;
/// futures_lite::future::block_on(hook(Box::new(|| {}))).unwrap();
/// ```
pub type UnblockHook = fn(BlockingJob) -> BlockingFuture;

static SPAWN: OnceLock<SpawnHook> = OnceLock::new();
static UNBLOCK: OnceLock<UnblockHook> = OnceLock::new();

/// Tells this crate how to find the executor running the calling thread
/// (`None` outside any). Only the first call has an effect.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use eddy_core::Spawn;
///
/// fn no_executor() -> Option<Arc<dyn Spawn>> {
///     None
/// }
/// eddy_net::hooks::set_spawn_hook(no_executor);
/// ```
pub fn set_spawn_hook(hook: SpawnHook) {
    let _ = SPAWN.set(hook);
}

/// Tells this crate how to run a blocking job (a name lookup) off the event
/// loop. The returned future must resolve once the job has run. Only the
/// first call has an effect.
///
/// # Example
///
/// ```
/// use eddy_net::hooks::{BlockingFuture, BlockingJob, set_unblock_hook};
///
/// /// Runs the job on the calling thread (fine for a test, not for a
/// /// real event loop).
/// fn inline(job: BlockingJob) -> BlockingFuture {
///     job();
///     Box::pin(async { Ok(()) })
/// }
/// set_unblock_hook(inline);
/// ```
pub fn set_unblock_hook(hook: UnblockHook) {
    let _ = UNBLOCK.set(hook);
}

/// The executor running the calling thread, if a hook is installed and
/// finds one.
pub(crate) fn current_spawner() -> Option<Arc<dyn Spawn>> {
    SPAWN.get().and_then(|hook| hook())
}

/// Runs `job` off the event loop: through the hook, or on a thread of its
/// own.
pub(crate) fn unblock(job: BlockingJob) -> BlockingFuture {
    match UNBLOCK.get() {
        Some(hook) => hook(job),
        None => on_thread(job),
    }
}

/// The default: one thread per job, completion through a shared slot.
fn on_thread(job: BlockingJob) -> BlockingFuture {
    let shared = Arc::new(Mutex::new(Done::default()));
    let signal = Signal(shared.clone());
    let spawned = std::thread::Builder::new()
        .name("eddy-net-blocking".into())
        .spawn(move || {
            // `signal` drops after the job, also if the job panics.
            let _signal = signal;
            job();
        });
    match spawned {
        Ok(_) => Box::pin(Completion(shared)),
        Err(e) => Box::pin(async move { Err(e) }),
    }
}

#[derive(Default)]
struct Done {
    finished: bool,
    waker: Option<Waker>,
}

/// Marks the job finished when the worker thread lets go of it.
struct Signal(Arc<Mutex<Done>>);

impl Drop for Signal {
    fn drop(&mut self) {
        let waker = {
            let mut done = self.0.lock().unwrap_or_else(|e| e.into_inner());
            done.finished = true;
            done.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

struct Completion(Arc<Mutex<Done>>);

impl Future for Completion {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut done = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if done.finished {
            Poll::Ready(Ok(()))
        } else {
            done.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_runs_the_job_on_another_thread() {
        let here = std::thread::current().id();
        let seen = Arc::new(Mutex::new(None));
        let s = seen.clone();
        futures_lite::future::block_on(on_thread(Box::new(move || {
            *s.lock().unwrap() = Some(std::thread::current().id());
        })))
        .unwrap();
        let there = seen.lock().unwrap().expect("the job ran");
        assert_ne!(there, here);
    }
}
