//! Synchronisation primitives, channels and blocking pools under test, behind
//! small traits so the workloads are written once.
//!
//! Adding eddy's own implementations when `eddy-sync` and `eddy-blocking`
//! merge is one `impl` each (`impl SyncImpl for EddySync`,
//! `impl BlockingImpl for EddyBlocking`) plus pointing the eddy cells of the
//! table in `suite.rs` at them.

use std::future::Future;

/// A mutex over a `u64`, a counting semaphore and a bounded multi-producer
/// channel of `u64`, from one family of primitives.
pub trait SyncImpl: 'static {
    /// A mutex guarding a counter.
    type Mutex: Send + Sync + 'static;
    /// A counting semaphore.
    type Semaphore: Send + Sync + 'static;
    /// Sending half of a bounded channel.
    type Tx: Clone + Send + Sync + 'static;
    /// Receiving half of a bounded channel.
    type Rx: Send + 'static;

    /// A mutex holding 0.
    fn mutex() -> Self::Mutex;
    /// Locks `m`, awaits `hold` with the lock held, adds one, unlocks.
    fn lock_hold<H>(m: &Self::Mutex, hold: H) -> impl Future<Output = ()> + Send
    where
        H: Future<Output = ()> + Send;
    /// The counter's value (the mutex must be free).
    fn value(m: &Self::Mutex) -> u64;

    /// A semaphore with `permits` permits.
    fn semaphore(permits: usize) -> Self::Semaphore;
    /// Acquires one permit, awaits `hold`, releases it.
    fn acquire_hold<H>(s: &Self::Semaphore, hold: H) -> impl Future<Output = ()> + Send
    where
        H: Future<Output = ()> + Send;

    /// A bounded channel of capacity `cap`.
    fn channel(cap: usize) -> (Self::Tx, Self::Rx);
    /// Sends `v`, waiting for room.
    fn send(tx: &Self::Tx, v: u64) -> impl Future<Output = ()> + Send;
    /// Receives a value, or `None` once every sender is gone and the channel
    /// is empty.
    fn recv(rx: &mut Self::Rx) -> impl Future<Output = Option<u64>> + Send;
}

/// `tokio::sync`: `Mutex`, `Semaphore`, `mpsc::channel`.
pub struct TokioSync;

impl SyncImpl for TokioSync {
    type Mutex = tokio::sync::Mutex<u64>;
    type Semaphore = tokio::sync::Semaphore;
    type Tx = tokio::sync::mpsc::Sender<u64>;
    type Rx = tokio::sync::mpsc::Receiver<u64>;

    fn mutex() -> Self::Mutex {
        tokio::sync::Mutex::new(0)
    }

    async fn lock_hold<H>(m: &Self::Mutex, hold: H)
    where
        H: Future<Output = ()> + Send,
    {
        let mut g = m.lock().await;
        hold.await;
        *g += 1;
    }

    fn value(m: &Self::Mutex) -> u64 {
        *m.try_lock().expect("mutex still locked")
    }

    fn semaphore(permits: usize) -> Self::Semaphore {
        tokio::sync::Semaphore::new(permits)
    }

    async fn acquire_hold<H>(s: &Self::Semaphore, hold: H)
    where
        H: Future<Output = ()> + Send,
    {
        let _p = s.acquire().await.expect("semaphore closed");
        hold.await;
    }

    fn channel(cap: usize) -> (Self::Tx, Self::Rx) {
        tokio::sync::mpsc::channel(cap)
    }

    async fn send(tx: &Self::Tx, v: u64) {
        tx.send(v).await.expect("receiver dropped");
    }

    fn recv(rx: &mut Self::Rx) -> impl Future<Output = Option<u64>> + Send {
        rx.recv()
    }
}

/// eddy's own: `eddy::sync` (`Mutex`, `Semaphore`, `mpsc`).
pub struct EddySync;

impl SyncImpl for EddySync {
    type Mutex = eddy::sync::Mutex<u64>;
    type Semaphore = eddy::sync::Semaphore;
    type Tx = eddy::sync::mpsc::Sender<u64>;
    type Rx = eddy::sync::mpsc::Receiver<u64>;

    fn mutex() -> Self::Mutex {
        eddy::sync::Mutex::new(0)
    }

    async fn lock_hold<H>(m: &Self::Mutex, hold: H)
    where
        H: Future<Output = ()> + Send,
    {
        let mut g = m.lock().await;
        hold.await;
        *g += 1;
    }

    fn value(m: &Self::Mutex) -> u64 {
        *m.try_lock().expect("mutex still locked")
    }

    fn semaphore(permits: usize) -> Self::Semaphore {
        eddy::sync::Semaphore::new(permits)
    }

    async fn acquire_hold<H>(s: &Self::Semaphore, hold: H)
    where
        H: Future<Output = ()> + Send,
    {
        let _p = s.acquire().await.expect("semaphore closed");
        hold.await;
    }

    fn channel(cap: usize) -> (Self::Tx, Self::Rx) {
        eddy::sync::mpsc::channel(cap)
    }

    async fn send(tx: &Self::Tx, v: u64) {
        tx.send(v).await.expect("receiver dropped");
    }

    fn recv(rx: &mut Self::Rx) -> impl Future<Output = Option<u64>> + Send {
        rx.recv()
    }
}

/// smol's family: `async-lock` (`Mutex`, `Semaphore`) and `async-channel`.
pub struct SmolSync;

impl SyncImpl for SmolSync {
    type Mutex = async_lock::Mutex<u64>;
    type Semaphore = async_lock::Semaphore;
    type Tx = async_channel::Sender<u64>;
    type Rx = async_channel::Receiver<u64>;

    fn mutex() -> Self::Mutex {
        async_lock::Mutex::new(0)
    }

    async fn lock_hold<H>(m: &Self::Mutex, hold: H)
    where
        H: Future<Output = ()> + Send,
    {
        let mut g = m.lock().await;
        hold.await;
        *g += 1;
    }

    fn value(m: &Self::Mutex) -> u64 {
        *m.try_lock().expect("mutex still locked")
    }

    fn semaphore(permits: usize) -> Self::Semaphore {
        async_lock::Semaphore::new(permits)
    }

    async fn acquire_hold<H>(s: &Self::Semaphore, hold: H)
    where
        H: Future<Output = ()> + Send,
    {
        let _p = s.acquire().await;
        hold.await;
    }

    fn channel(cap: usize) -> (Self::Tx, Self::Rx) {
        async_channel::bounded(cap)
    }

    async fn send(tx: &Self::Tx, v: u64) {
        tx.send(v).await.expect("receiver dropped");
    }

    async fn recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.recv().await.ok()
    }
}

/// A pool that runs blocking closures off the async workers.
pub trait BlockingImpl: 'static {
    /// Runs `f` on the pool and resolves to its result. The job starts when
    /// this is called, not when the future is first polled.
    fn unblock<T, F>(f: F) -> impl Future<Output = T> + Send + 'static
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static;
}

/// `tokio::task::spawn_blocking` (needs a tokio runtime).
pub struct TokioBlocking;

impl BlockingImpl for TokioBlocking {
    fn unblock<T, F>(f: F) -> impl Future<Output = T> + Send + 'static
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        crate::rt::Unwrap(tokio::task::spawn_blocking(f))
    }
}

/// eddy's blocking pool: `eddy::unblock` (the runtime's own pool).
pub struct EddyBlocking;

impl BlockingImpl for EddyBlocking {
    fn unblock<T, F>(f: F) -> impl Future<Output = T> + Send + 'static
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        crate::rt::Unwrap(eddy::unblock(f))
    }
}

/// The `blocking` crate's global pool (what `smol::unblock` is).
pub struct SmolBlocking;

impl BlockingImpl for SmolBlocking {
    fn unblock<T, F>(f: F) -> impl Future<Output = T> + Send + 'static
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        blocking::unblock(f)
    }
}
