//! The executor: run queues, workers, parking and shutdown.

pub(crate) mod context;
mod current_thread;
pub(crate) mod handle;
mod multi_thread;
pub(crate) mod shared;
mod spawn;

pub use context::is_inside_runtime;
pub(crate) use handle::spawn_on_current;
pub use handle::{
    AllFinished, EnterGuard, Handle, SpawnLocalError, TaskBuilder, try_spawn_local_with,
};
pub use shared::{ExecutorStats, Flavor};

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::{self, JoinHandle};

use eddy_core::Park;

use crate::debug::{DeadlockCheck, DebugEvent, DebugOptions, UnhandledPanic};
use crate::hooks::{BuildExtras, Hooks};
use crate::task::run_task;
use context::{WorkerCtx, with_worker};
use handle::WorkerGuard;
use multi_thread::{LOCAL_QUEUE_CAPACITY, worker_main};
use shared::{Runnable, Shared};

/// How many tasks a worker runs between two non-blocking checks of the driver
/// (I/O and timers) and of the remote queue. tokio uses the same number; it is
/// prime so that it does not resonate with task patterns that repeat every
/// power of two. Lower values cost more `Park::park(Some(0))` calls on busy
/// loops; higher values let an always-ready task delay I/O and timers longer.
pub const DEFAULT_EVENT_INTERVAL: u32 = 61;

type ThreadWrapper = Arc<dyn Fn(&mut dyn FnMut()) + Send + Sync>;

/// Configures and builds an [`Executor`].
///
/// # Example
///
/// ```
/// use eddy_executor::{Builder, Flavor, ThreadPark};
///
/// let ex = Builder::new(Flavor::MultiThread)
///     .worker_threads(2)
///     .thread_name("my-worker")
///     .build(ThreadPark::default())
///     .unwrap();
/// assert_eq!(ex.block_on(async { eddy_executor::spawn(async { 1 + 1 }).await }).unwrap(), 2);
/// ```
pub struct Builder {
    flavor: Flavor,
    workers: usize,
    thread_name: Arc<str>,
    event_interval: u32,
    wrap_thread: Option<ThreadWrapper>,
    lifo_slot: bool,
    /// Debug mode, seed, deadlock check, panic policy (see hooks.rs).
    extras: BuildExtras,
}

impl Builder {
    /// A builder for the given flavour, with defaults: one worker per CPU for
    /// the multi-threaded flavour, threads named `eddy-worker-N`, an event
    /// interval of [`DEFAULT_EVENT_INTERVAL`].
    ///
    /// ```
    /// let ex = eddy_executor::Builder::new(eddy_executor::Flavor::CurrentThread)
    ///     .build(eddy_executor::ThreadPark::default())
    ///     .unwrap();
    /// assert_eq!(ex.flavor(), eddy_executor::Flavor::CurrentThread);
    /// ```
    pub fn new(flavor: Flavor) -> Builder {
        let cpus = thread::available_parallelism().map_or(1, |n| n.get());
        Builder {
            flavor,
            workers: cpus,
            thread_name: Arc::from("eddy-worker"),
            event_interval: DEFAULT_EVENT_INTERVAL,
            wrap_thread: None,
            lifo_slot: true,
            extras: BuildExtras::default(),
        }
    }

    /// Number of worker threads of the multi-threaded flavour (at least 1).
    /// Ignored by the current-thread flavour.
    ///
    /// ```
    /// let b = eddy_executor::Builder::new(eddy_executor::Flavor::MultiThread).worker_threads(4);
    /// # drop(b);
    /// ```
    pub fn worker_threads(mut self, n: usize) -> Builder {
        self.workers = n.max(1);
        self
    }

    /// How many worker threads the built executor runs: the configured
    /// count on the multi-threaded flavour (by default the machine's
    /// available parallelism), 1 on the current-thread flavour. Layers that
    /// size per-worker state (the facade's timer shards) ask here instead of
    /// repeating the default.
    ///
    /// ```
    /// use eddy_executor::{Builder, Flavor};
    /// assert_eq!(Builder::new(Flavor::MultiThread).worker_threads(3).worker_count(), 3);
    /// assert_eq!(Builder::new(Flavor::CurrentThread).worker_threads(3).worker_count(), 1);
    /// assert!(Builder::new(Flavor::MultiThread).worker_count() >= 1);
    /// ```
    pub fn worker_count(&self) -> usize {
        match self.flavor {
            Flavor::CurrentThread => 1,
            Flavor::MultiThread => self.workers,
        }
    }

    /// Prefix of worker thread names; workers are named `{prefix}-{index}`.
    ///
    /// ```
    /// let b = eddy_executor::Builder::new(eddy_executor::Flavor::MultiThread).thread_name("io");
    /// # drop(b);
    /// ```
    pub fn thread_name(mut self, prefix: impl Into<Arc<str>>) -> Builder {
        self.thread_name = prefix.into();
        self
    }

    /// How many tasks run between two non-blocking driver checks; see
    /// [`DEFAULT_EVENT_INTERVAL`]. Values below 1 are raised to 1.
    ///
    /// ```
    /// let b = eddy_executor::Builder::new(eddy_executor::Flavor::CurrentThread).event_interval(31);
    /// # drop(b);
    /// ```
    pub fn event_interval(mut self, ticks: u32) -> Builder {
        self.event_interval = ticks.max(1);
        self
    }

    /// Whether a multi-threaded worker runs the task it just woke next (a
    /// "LIFO slot", good for message passing). On by default.
    ///
    /// ```
    /// let b = eddy_executor::Builder::new(eddy_executor::Flavor::MultiThread).lifo_slot(false);
    /// # drop(b);
    /// ```
    pub fn lifo_slot(mut self, on: bool) -> Builder {
        self.lifo_slot = on;
        self
    }

    /// Runs each worker thread's body inside `wrap`, which must call the body
    /// exactly once. The facade uses this to enter the reactor's and timer's
    /// thread-local contexts on every worker.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let started = Arc::new(AtomicUsize::new(0));
    /// let s = started.clone();
    /// let ex = eddy_executor::Builder::new(eddy_executor::Flavor::MultiThread)
    ///     .worker_threads(2)
    ///     .wrap_thread(move |body| {
    ///         s.fetch_add(1, Ordering::SeqCst);
    ///         body()
    ///     })
    ///     .build(eddy_executor::ThreadPark::default())
    ///     .unwrap();
    /// ex.block_on(async {});
    /// drop(ex);
    /// assert_eq!(started.load(Ordering::SeqCst), 2);
    /// ```
    pub fn wrap_thread(
        mut self,
        wrap: impl Fn(&mut dyn FnMut()) + Send + Sync + 'static,
    ) -> Builder {
        self.wrap_thread = Some(Arc::new(wrap));
        self
    }

    /// Turns debug mode on: the executor tracks every task (name, spawn
    /// location, state, polls, poll time; see [`all_tasks`](crate::all_tasks)),
    /// reports slow polls and workers stuck in a poll, tasks whose panic or
    /// `Err` output nobody retrieved, and tasks still pending at shutdown.
    /// Reports go to [`on_debug_event`](Builder::on_debug_event) (stderr by
    /// default).
    ///
    /// Without it, none of this costs anything.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use eddy_executor::{Builder, DebugEvent, DebugOptions, Flavor, ThreadPark};
    ///
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let s = seen.clone();
    /// let ex = Builder::new(Flavor::CurrentThread)
    ///     .debug(DebugOptions::new())
    ///     .on_debug_event(move |e| s.lock().unwrap().push(e.to_string()))
    ///     .build(ThreadPark::default())
    ///     .unwrap();
    /// ex.block_on(async {
    ///     drop(eddy_executor::spawn(async { panic!("boom") }));
    ///     eddy_executor::yield_now().await;
    /// });
    /// assert!(seen.lock().unwrap().iter().any(|r| r.contains("never retrieved")));
    /// ```
    pub fn debug(mut self, options: DebugOptions) -> Builder {
        self.extras.debug = Some(options);
        self
    }

    /// Where debug reports (and panic-policy and deadlock reports) go;
    /// stderr by default.
    ///
    /// ```
    /// let b = eddy_executor::Builder::new(eddy_executor::Flavor::CurrentThread)
    ///     .on_debug_event(|e| eprintln!("[my app] {e}"));
    /// # drop(b);
    /// ```
    pub fn on_debug_event(
        mut self,
        report: impl Fn(&DebugEvent) + Send + Sync + 'static,
    ) -> Builder {
        self.extras.reporter = Some(Arc::new(report));
        self
    }

    /// Runs ready tasks in an order drawn from `seed` instead of first in,
    /// first out (current-thread flavour only; the multi-threaded flavour
    /// ignores it). The same program with the same seed runs its tasks in
    /// the same order, so a rare interleaving, once found, can be replayed.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use eddy_executor::{Builder, Flavor, ThreadPark};
    ///
    /// let order = |seed| {
    ///     let ex = Builder::new(Flavor::CurrentThread).seed(seed).build(ThreadPark::default()).unwrap();
    ///     let log = Arc::new(Mutex::new(Vec::new()));
    ///     ex.block_on(async {
    ///         let tasks: Vec<_> = (0..8)
    ///             .map(|i| {
    ///                 let log = log.clone();
    ///                 eddy_executor::spawn(async move { log.lock().unwrap().push(i) })
    ///             })
    ///             .collect();
    ///         for t in tasks {
    ///             t.await.unwrap();
    ///         }
    ///     });
    ///     let v = log.lock().unwrap().clone();
    ///     v
    /// };
    /// assert_eq!(order(7), order(7));
    /// ```
    pub fn seed(mut self, seed: u64) -> Builder {
        self.extras.seed = Some(seed);
        self
    }

    /// Detects deadlocks, on either flavour (see [`DeadlockCheck`] for what
    /// each does).
    ///
    /// ```
    /// use eddy_executor::{Builder, DeadlockAction, DeadlockCheck, Flavor, ThreadPark};
    /// use std::time::Duration;
    ///
    /// let ex = Builder::new(Flavor::MultiThread)
    ///     .worker_threads(2)
    ///     .deadlock_check(DeadlockCheck::new(|| true, DeadlockAction::Panic).grace(Duration::from_millis(10)))
    ///     .build(ThreadPark::default())
    ///     .unwrap();
    /// let deadlocked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
    ///     ex.block_on(async {
    ///         // Waits for a task that waits forever.
    ///         eddy_executor::spawn(std::future::pending::<()>()).await
    ///     })
    /// }));
    /// assert!(deadlocked.is_err());
    /// ```
    pub fn deadlock_check(mut self, check: DeadlockCheck) -> Builder {
        self.extras.deadlock = Some(check);
        self
    }

    /// What to do when a task panics; see [`UnhandledPanic`].
    ///
    /// ```
    /// use eddy_executor::{Builder, Flavor, ThreadPark, UnhandledPanic};
    ///
    /// let ex = Builder::new(Flavor::CurrentThread)
    ///     .unhandled_panic(UnhandledPanic::ShutdownRuntime)
    ///     .on_debug_event(|_| {})
    ///     .build(ThreadPark::default())
    ///     .unwrap();
    /// let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
    ///     ex.block_on(async {
    ///         let _t = eddy_executor::spawn(async { panic!("boom") });
    ///         std::future::pending::<()>().await
    ///     })
    /// }));
    /// assert!(r.is_err());
    /// ```
    pub fn unhandled_panic(mut self, policy: UnhandledPanic) -> Builder {
        self.extras.unhandled_panic = policy;
        self
    }

    /// Installs `hooks`, called around every task's spawn, polls and end
    /// (see [`TaskHooks`](crate::task_hooks::TaskHooks)). Installing again replaces them.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use eddy_executor::{Builder, Flavor, TaskHooks};
    ///
    /// struct Quiet;
    /// impl TaskHooks for Quiet {}
    /// let b = Builder::new(Flavor::MultiThread).task_hooks(Arc::new(Quiet));
    /// # drop(b);
    /// ```
    pub fn task_hooks(mut self, hooks: Arc<dyn crate::task_hooks::TaskHooks>) -> Builder {
        self.extras.task_hooks = Some(hooks);
        self
    }

    /// Builds the executor around `driver`, the [`Park`] its workers block on
    /// when idle (the reactor wrapped in the timer driver, in the facade).
    ///
    /// # Errors
    ///
    /// An error if a worker thread cannot be spawned.
    ///
    /// ```
    /// use eddy_executor::{Builder, Flavor, ThreadPark};
    /// let ex = Builder::new(Flavor::MultiThread).worker_threads(2).build(ThreadPark::default())?;
    /// assert_eq!(ex.handle().worker_count(), 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn build(self, driver: impl Park + 'static) -> std::io::Result<Executor> {
        let workers = match self.flavor {
            Flavor::CurrentThread => 1,
            Flavor::MultiThread => self.workers,
        };
        let shared = Arc::new(Shared::new(
            self.flavor,
            workers,
            LOCAL_QUEUE_CAPACITY,
            Box::new(driver),
            self.event_interval,
            self.lifo_slot && workers > 1,
            Hooks::new(self.extras),
        ));
        shared.hooks.start();
        let mut threads = Vec::new();
        if self.flavor == Flavor::MultiThread {
            for index in 0..workers {
                let worker_shared = shared.clone();
                let wrap = self.wrap_thread.clone();
                let handle = thread::Builder::new()
                    .name(format!("{}-{index}", self.thread_name))
                    .spawn(move || {
                        let mut body = Some(move || worker_main(worker_shared, index));
                        let mut run = || {
                            if let Some(body) = body.take() {
                                body()
                            }
                        };
                        match wrap {
                            Some(wrap) => wrap(&mut run),
                            None => run(),
                        }
                    });
                match handle {
                    Ok(h) => threads.push(h),
                    Err(e) => {
                        let ex = Executor {
                            shared: shared.clone(),
                            threads,
                            _not_send: PhantomData,
                        };
                        drop(ex);
                        return Err(e);
                    }
                }
            }
        }
        Ok(Executor {
            shared,
            threads,
            _not_send: PhantomData,
        })
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("flavor", &self.flavor)
            .field("workers", &self.workers)
            .field("thread_name", &self.thread_name)
            .field("event_interval", &self.event_interval)
            .finish_non_exhaustive()
    }
}

/// An executor: runs tasks, and the `block_on` future, until it is dropped.
///
/// Dropping the executor shuts it down: worker threads exit, every task that
/// is still alive is cancelled (its future dropped, its awaiters told
/// `Cancelled`).
///
/// The executor is `!Send`: the current-thread flavour's local tasks must be
/// cancelled on the thread that ran them.
///
/// # Example
///
/// ```
/// use eddy_executor::{Executor, ThreadPark};
///
/// let ex = Executor::current_thread(ThreadPark::default());
/// let sum = ex.block_on(async {
///     let tasks: Vec<_> = (0..10).map(|i| eddy_executor::spawn(async move { i })).collect();
///     let mut sum = 0;
///     for t in tasks {
///         sum += t.await.unwrap();
///     }
///     sum
/// });
/// assert_eq!(sum, 45);
/// ```
pub struct Executor {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    _not_send: PhantomData<*const ()>,
}

impl Executor {
    /// A current-thread executor parking on `driver`.
    ///
    /// ```
    /// let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// assert_eq!(ex.block_on(async { 3 }), 3);
    /// ```
    pub fn current_thread(driver: impl Park + 'static) -> Executor {
        match Builder::new(Flavor::CurrentThread).build(driver) {
            Ok(ex) => ex,
            // The current-thread flavour spawns no thread, so cannot fail.
            Err(e) => unreachable!("current-thread executor spawns no threads: {e}"),
        }
    }

    /// A handle for spawning onto this executor from anywhere.
    ///
    /// ```
    /// let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// let handle = ex.handle();
    /// let task = handle.spawn(async { "hi" });
    /// assert_eq!(ex.block_on(task).unwrap(), "hi");
    /// ```
    pub fn handle(&self) -> Handle {
        Handle {
            shared: self.shared.clone(),
        }
    }

    /// The flavour this executor was built with.
    ///
    /// ```
    /// let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// assert_eq!(ex.flavor(), eddy_executor::Flavor::CurrentThread);
    /// ```
    pub fn flavor(&self) -> Flavor {
        self.shared.flavor
    }

    /// Runs `fut` to completion on the current thread, running spawned tasks
    /// meanwhile (on this thread for the current-thread flavour, on the worker
    /// threads for the multi-threaded one).
    ///
    /// # Panics
    ///
    /// If called from a thread that is already inside an eddy executor (a task,
    /// or another `block_on`): blocking there would stall every task of the
    /// outer executor. This mirrors asyncio's "cannot be called from a running
    /// event loop". A panic in `fut` itself propagates to the caller.
    ///
    /// ```
    /// let ex = eddy_executor::Executor::current_thread(eddy_executor::ThreadPark::default());
    /// let out = ex.block_on(async {
    ///     let t = eddy_executor::spawn(async { "from a task" });
    ///     t.await.unwrap()
    /// });
    /// assert_eq!(out, "from a task");
    /// ```
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        if is_inside_runtime() {
            panic!(
                "cannot block on a future from inside a running eddy runtime: \
                 use `.await` or `spawn` instead"
            );
        }
        match self.shared.flavor {
            Flavor::CurrentThread => current_thread::block_on(&self.shared, fut),
            Flavor::MultiThread => multi_thread::block_on(&self.shared, fut),
        }
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        self.shared.hooks.on_shutdown();
        self.shared.shutdown.store(true, Ordering::SeqCst);
        self.shared.unpark_all();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        // Cancel leftovers on this thread, with the worker context entered so
        // that local tasks are dropped where they were spawned.
        let ctx = Rc::new(WorkerCtx {
            shared: self.shared.clone(),
            index: 0,
            local: RefCell::new(VecDeque::new()),
            lifo: Cell::new(None),
        });
        let _guard = WorkerGuard::enter(ctx);
        self.shared.drain();
    }
}

impl fmt::Debug for Executor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Executor")
            .field("flavor", &self.shared.flavor)
            .field("workers", &self.shared.workers.len())
            .finish()
    }
}

impl Shared {
    /// Cancels every live task and drops every queued one. Runs on the thread
    /// that owns the executor, after the workers have exited (or that owns
    /// the [`LocalSet`](crate::LocalSet), when one is dropped).
    pub(crate) fn drain(&self) {
        self.closing.store(true, Ordering::SeqCst);
        loop {
            self.wake_all_tasks();
            let mut ran = false;
            let mut queued: Vec<Runnable> = Vec::new();
            while let Ok(r) = self.injector.pop() {
                queued.push(r);
            }
            for w in self.workers.iter() {
                while let Ok(r) = w.stealable.pop() {
                    queued.push(r);
                }
            }
            with_worker(self, |ctx| {
                if let Some(ctx) = ctx {
                    queued.extend(ctx.local.borrow_mut().drain(..));
                    queued.extend(ctx.lifo.take());
                }
            });
            for r in queued {
                ran = true;
                run_task(self, r, true);
            }
            if !ran && self.registry.lock().tasks.is_empty() {
                break;
            }
            if !ran {
                // Live tasks whose wake-up has not reached a queue yet (a waker
                // being called on another thread). Give it a moment.
                thread::yield_now();
            }
        }
    }
}
