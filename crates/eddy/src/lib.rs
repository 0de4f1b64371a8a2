//! eddy: an async runtime with everything Python's asyncio gives its users,
//! and then real parallelism.
//!
//! This is the facade crate: it wires eddy's layers into a [`Runtime`] and
//! re-exports what an application needs. Each layer is its own crate and can
//! be used alone:
//!
//! | crate | job |
//! |---|---|
//! | `eddy-core` | the seam traits: `Park`, `Clock`, `Spawn`; task vocabulary |
//! | `eddy-reactor` | I/O readiness on `polling` (epoll/kqueue), [`Async<T>`] |
//! | `eddy-timer` | clocks, the timer store, [`sleep`], [`interval`] |
//! | `eddy-executor` | tasks and run queues, current-thread and multi-threaded |
//! | `eddy-sync` | [`sync`]: Semaphore, Mutex, Event, Condition, Barrier, Queue, channels |
//! | `eddy-blocking` | [`blocking`]: the thread pool ([`unblock`]), the process pool, [`fs`] |
//! | `eddy-scope` | [`scope`]: [`gather!`], [`TaskGroup`], [`timeout`], cancel scopes, async generators |
//! | `eddy-net` | [`net`], [`process`], [`signal`]: sockets, streams, child processes, signals on the reactor |
//!
//! # The model, for asyncio users
//!
//! * [`run`] is `asyncio.run`: it creates an event loop (a current-thread
//!   runtime), runs your future to completion, then cancels every task still
//!   alive and shuts the loop down.
//! * An `async fn` is a coroutine: calling it builds a future and runs
//!   nothing. It runs when awaited or spawned (the compiler warns about an
//!   unused future, which is asyncio's "forgot to await" pitfall caught at
//!   compile time).
//! * [`spawn`] is `asyncio.create_task`: it returns a [`Task`] handle you can
//!   await (getting `Result<T, JoinError>`), [`cancel`](Task::cancel), or drop
//!   (the task keeps running: there is no "keep a reference" pitfall).
//! * [`sleep`] is `asyncio.sleep`; [`yield_now`] is `asyncio.sleep(0)`.
//! * [`Builder::multi_thread`] goes beyond asyncio: the same tasks run in
//!   parallel on a pool of worker threads. `!Send` futures (an `Rc`, a
//!   `RefCell` borrow held across an `.await`) run there in a [`LocalSet`],
//!   which keeps its tasks on the thread that awaits it; inside the set,
//!   [`spawn_local`] spawns onto it. On the current-thread flavour
//!   `spawn_local` works anywhere.
//! * [`Builder::debug`] (or `EDDY_DEBUG=1`) is `loop.set_debug(True)`: slow
//!   polls, a task blocking the loop, panics never retrieved, tasks pending
//!   at shutdown and deadlocks are reported; [`all_tasks`] and
//!   [`current_task`] are asyncio's. See [`debug`].
//! * [`test::run`] runs a test on virtual time with a seeded, replayable
//!   schedule. See [`mod@test`].
//!
//! # Example
//!
//! ```
//! use std::time::{Duration, Instant};
//!
//! async fn fetch(url: &str, delay_ms: u64) -> String {
//!     eddy::sleep(Duration::from_millis(delay_ms)).await;
//!     format!("Got {url}")
//! }
//!
//! eddy::run(async {
//!     # #[allow(clippy::disallowed_methods)]
//!     let start = Instant::now();
//!     let a = eddy::spawn(fetch("url1", 10));
//!     let b = eddy::spawn(fetch("url2", 20));
//!     let results = [a.await.unwrap(), b.await.unwrap()];
//!     assert_eq!(results, ["Got url1", "Got url2"]);
//!     // Concurrent: about max(10, 20) ms, not the sum.
//!     assert!(start.elapsed() >= Duration::from_millis(20));
//! });
//! ```
#![forbid(unsafe_code)]

pub mod debug;
pub mod net;
mod run;
mod runtime;
pub mod scope;
pub mod test;

/// Child processes with async pipes and an async wait, like asyncio's
/// `create_subprocess_exec`: the [`eddy_net::process`] module, re-exported.
pub use eddy_net::process;
/// Unix signals as async values ([`signal::ctrl_c`], a [`signal::Signals`]
/// stream), like asyncio's `loop.add_signal_handler`: the
/// [`eddy_net::signal`] module, re-exported.
pub use eddy_net::signal;

pub use debug::{all_tasks, current_task};
pub use run::{RunError, run, try_run};
pub use runtime::{Builder, EnterGuard, Handle, Runtime, ShutdownSummary};
pub use scope::{
    AsyncGen, CancelScope, ChildError, ChildFailure, Either, Elapsed, GroupError, GroupTask,
    Interrupted, Resource, Shielded, TaskGroup, TaskGroupHandle, Timeout, WaitFor, WaitMode,
    Yielder, as_completed, async_gen, cancel_with_grace, cancelled, fail_after, fail_at, gather,
    gather_all, gather_settled, is_cancel_requested, map_concurrent, move_on_after, move_on_at,
    race, race_all, resource, select, shield, task_group, timeout, timeout_at, try_async_gen,
    try_gather, try_gather_all, try_map_concurrent, wait, wait_for, with_resource,
};

pub use eddy_core::{JoinError, Panic, TaskId, TaskMeta};

pub use eddy_executor::{
    CancelHandle, LocalSet, Task, TaskBuilder, TaskHooks, YieldNow, spawn, spawn_local, yield_now,
};
/// Runs `async fn main` on an eddy runtime: `#[eddy::main]`,
/// `#[eddy::main(flavor = "multi_thread", worker_threads = 4)]`, ... (the
/// `macros` feature, on by default). See [`eddy_macros`] for every argument.
///
/// ```
/// #[eddy::main]
/// async fn main() {
///     assert_eq!(eddy::spawn(async { 1 }).await.unwrap(), 1);
/// }
/// ```
#[cfg(feature = "macros")]
pub use eddy_macros::main;
/// Runs an `async fn` test on eddy's test runtime (virtual time, seeded and
/// replayable schedule, deadlocks fail the test): `#[eddy::test]`,
/// `#[eddy::test(seed = 7)]`, `#[eddy::test(flavor = "multi_thread")]`, ...
/// (the `macros` feature, on by default). See [`eddy_macros`] for every
/// argument; the [`test`](mod@test) module is the runtime behind it.
///
/// ```
/// #[eddy::test]
/// async fn an_hour_passes_at_once() {
///     eddy::sleep(std::time::Duration::from_secs(3600)).await;
/// }
/// # fn main() {}
/// ```
#[cfg(feature = "macros")]
pub use eddy_macros::test;

/// hyper 1.x on eddy (the `hyper` feature): [`hyper::HyperIo`] for any
/// eddy stream, [`hyper::EddyExecutor`], [`hyper::EddyTimer`], and the
/// [`hyper::serve`] accept loop with graceful shutdown. See the
/// `eddy-hyper` crate docs and `docs/ecosystem.md`.
#[cfg(feature = "hyper")]
pub use eddy_hyper as hyper;

/// tokio-bound futures and I/O inside eddy (the `tokio-compat` feature).
///
/// A crate written against tokio (`tokio::net`, `tokio::time`, a client
/// built on them) panics when polled outside a tokio runtime ("there is no
/// reactor running"). Wrap such a future in [`Compat`](compat::Compat) (or
/// call [`.compat()`](compat::CompatExt::compat)) and it runs inside
/// `eddy::run` or any eddy task: while it is polled, a tokio runtime is
/// entered, so its I/O and timers register with tokio's reactor and wake
/// the eddy task through its ordinary waker. `Compat` also turns tokio's
/// `AsyncRead`/`AsyncWrite` into `futures-io`'s and back, so a tokio stream
/// can be used where eddy expects `futures-io`.
///
/// This is the [`async-compat`](https://docs.rs/async-compat) crate,
/// re-exported. Cost: on first use it starts one tokio runtime on a
/// background thread (a current-thread runtime with its own reactor and
/// timer, about one thread and one epoll instance for the whole process),
/// and each wake-up of a tokio resource crosses from that thread to eddy's
/// (a cross-thread wake, ~µs). Use it for the tokio-bound part of a program
/// (a database client, an SDK), not for hot loops that eddy's own `net` and
/// `time` serve natively. Inside a tokio runtime it uses that one instead.
///
/// ```
/// use eddy::compat::CompatExt;
/// use std::time::Duration;
///
/// eddy::run(async {
///     // tokio's own timer, inside eddy. Build tokio futures *inside* the
///     // wrapped block: tokio's constructors (`sleep`, `TcpStream::connect`)
///     // look for the runtime too.
///     async { tokio::time::sleep(Duration::from_millis(1)).await }.compat().await;
///     let v = eddy::spawn(async { tokio::task::yield_now().await; 5 }.compat()).await.unwrap();
///     assert_eq!(v, 5);
/// });
/// ```
#[cfg(feature = "tokio-compat")]
pub mod compat {
    pub use async_compat::{Compat, CompatExt};
}
pub use eddy_reactor::Async;
pub use eddy_timer::{
    Interval, MissedTickBehavior, Sleep, interval, interval_at, sleep, sleep_until,
};

/// Tasks: spawning, handles, cancellation, yielding.
pub mod task {
    pub use eddy_core::{JoinError, Panic, TaskId, TaskMeta};
    pub use eddy_executor::{
        BlockOn, CancelHandle, CancelRequested, ExecutorStats, LocalSet, RunUntil, SpawnLocalError,
        Task, TaskBuilder, YieldNow, cancel_requested, current_task_id, is_cancel_requested, spawn,
        spawn_local, try_spawn_local_with, yield_now,
    };
}

/// Synchronisation primitives and channels: asyncio's `Semaphore`, `Lock`,
/// `Event`, `Condition`, `Barrier` and `Queue`, plus `oneshot`, `mpsc`,
/// `broadcast`, `watch`, `OnceCell` and `CapacityLimiter`. They work on any
/// executor.
pub mod sync {
    pub use eddy_sync::*;
}

/// Blocking work: the runtime's thread pool (`loop.run_in_executor(None,
/// ...)`, `asyncio.to_thread`) and the process pool
/// (`ProcessPoolExecutor`).
pub mod blocking {
    pub use eddy_blocking::*;
}

pub use eddy_blocking::{fs, to_thread, unblock, unblock_cancellable};

/// Time: sleeps, intervals, clocks.
pub mod time {
    pub use eddy_timer::*;
}

/// I/O readiness: the reactor and the [`Async`] adapter.
pub mod io {
    pub use eddy_reactor::*;
}

/// The names most programs need: `use eddy::prelude::*;`.
///
/// ```
/// use eddy::prelude::*;
///
/// eddy::run(async {
///     let t = spawn(async { sleep(Duration::from_millis(1)).await; 1 });
///     assert_eq!(t.await.unwrap(), 1);
/// });
/// ```
pub mod prelude {
    pub use crate::{
        JoinError, Task, TaskGroup, gather, interval, sleep, sleep_until, spawn, spawn_local,
        task_group, timeout, try_gather, yield_now,
    };
    pub use futures_lite::{FutureExt as _, StreamExt as _};
    pub use std::time::{Duration, Instant};
}

/// The README's example is compiled and run as a doc test, so it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
