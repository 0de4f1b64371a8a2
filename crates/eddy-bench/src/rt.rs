//! The runtimes under test, behind one trait so each workload is written once
//! and monomorphised per runtime (no boxing, no dynamic dispatch in the
//! measured loops).
//!
//! Six implementations: eddy, tokio and smol, each single-threaded and with
//! two worker threads. Building and dropping the runtime happens in
//! [`Runtime::block_on`], outside the timed region: workloads time themselves
//! inside a root task.

use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt};

/// Worker threads of every multi-threaded flavour.
pub const WORKERS: usize = 2;

/// Single-threaded or multi-threaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// One thread runs every task.
    Current,
    /// [`WORKERS`] worker threads.
    Multi,
}

impl Flavor {
    /// Short label for tables.
    pub fn label(self) -> &'static str {
        match self {
            Flavor::Current => "1 thread",
            Flavor::Multi => "2 workers",
        }
    }
}

/// A runtime flavour as the workloads see it.
pub trait Runtime: 'static {
    /// A join handle resolving to the task's output (join errors unwrapped:
    /// benchmark tasks never panic and are never cancelled).
    type Join<T: Send + 'static>: Future<Output = T> + Send + Unpin + 'static;
    /// A connected TCP stream.
    type Tcp: Send + 'static;
    /// A TCP listener registered with the runtime's reactor.
    type Listener: Send + Sync + 'static;

    /// Builds the runtime, runs `fut` on it, drops the runtime.
    fn block_on<F: Future + Send + 'static>(fut: F) -> F::Output
    where
        F::Output: Send + 'static;
    /// Spawns a task and returns its handle.
    fn spawn<F>(fut: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;
    /// Spawns a task that runs to completion without a handle.
    fn spawn_detached<F>(fut: F)
    where
        F: Future<Output = ()> + Send + 'static;
    /// The runtime's `yield_now`.
    fn yield_now() -> impl Future<Output = ()> + Send;
    /// The runtime's sleep.
    fn sleep(d: Duration) -> impl Future<Output = ()> + Send;

    /// Binds a listener on an ephemeral loopback port.
    fn tcp_listen() -> io::Result<(Self::Listener, SocketAddr)>;
    /// Accepts one connection (with `TCP_NODELAY` set).
    fn tcp_accept(l: &Self::Listener) -> impl Future<Output = io::Result<Self::Tcp>> + Send + '_;
    /// Connects to `addr` (with `TCP_NODELAY` set).
    fn tcp_connect(addr: SocketAddr) -> impl Future<Output = io::Result<Self::Tcp>> + Send;
    /// Reads what is there (at least one byte; `Ok(0)` at end of stream).
    fn tcp_read<'a>(
        s: &'a mut Self::Tcp,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a;
    /// Reads exactly `buf.len()` bytes.
    fn tcp_read_exact<'a>(
        s: &'a mut Self::Tcp,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a;
    /// Writes all of `buf`.
    fn tcp_write_all<'a>(
        s: &'a mut Self::Tcp,
        buf: &'a [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a;
    /// Serves one HTTP/1.1 connection with hyper, through the runtime's own
    /// hyper glue (I/O adapter and timer, as its users would write it);
    /// returns the requests answered.
    fn hyper_conn(s: Self::Tcp) -> impl Future<Output = u64> + Send;
}

/// Turns a `Result`-returning join handle into one returning the value.
pub struct Unwrap<J>(pub J);

impl<J, T, E> Future for Unwrap<J>
where
    J: Future<Output = Result<T, E>> + Unpin,
    E: std::fmt::Debug,
{
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match Pin::new(&mut self.0).poll(cx) {
            Poll::Ready(r) => Poll::Ready(r.expect("benchmark task failed")),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Pending connections the listeners queue: `tcp_echo_1000` connects 1,000
/// clients at once, and a full queue drops SYNs, which the clients only
/// retry after a second (std's `bind` asks for 128).
const BACKLOG: i32 = 1024;

fn std_listener() -> io::Result<(TcpListener, SocketAddr)> {
    use socket2::{Domain, Socket, Type};
    let addr: SocketAddr = ([127, 0, 0, 1], 0).into();
    let s = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    s.bind(&addr.into())?;
    s.listen(BACKLOG)?;
    let l: TcpListener = s.into();
    let addr = l.local_addr()?;
    Ok((l, addr))
}

// ---------------------------------------------------------------- eddy

/// eddy, current-thread flavour.
pub struct EddyCt;
/// eddy, multi-threaded flavour with [`WORKERS`] workers.
pub struct EddyMt;

macro_rules! eddy_runtime {
    ($ty:ident, $builder:expr) => {
        impl Runtime for $ty {
            type Join<T: Send + 'static> = Unwrap<eddy::Task<T>>;
            type Tcp = eddy::net::TcpStream;
            type Listener = eddy::net::TcpListener;

            fn block_on<F: Future + Send + 'static>(fut: F) -> F::Output
            where
                F::Output: Send + 'static,
            {
                let rt = $builder.build().expect("build eddy runtime");
                rt.block_on(fut)
            }

            fn spawn<F>(fut: F) -> Self::Join<F::Output>
            where
                F: Future + Send + 'static,
                F::Output: Send + 'static,
            {
                Unwrap(eddy::spawn(fut))
            }

            fn spawn_detached<F>(fut: F)
            where
                F: Future<Output = ()> + Send + 'static,
            {
                eddy::spawn(fut).detach();
            }

            fn yield_now() -> impl Future<Output = ()> + Send {
                eddy::yield_now()
            }

            fn sleep(d: Duration) -> impl Future<Output = ()> + Send {
                eddy::sleep(d)
            }

            fn tcp_listen() -> io::Result<(Self::Listener, SocketAddr)> {
                let (l, addr) = std_listener()?;
                Ok((eddy::net::TcpListener::from_std(l)?, addr))
            }

            async fn tcp_accept(l: &Self::Listener) -> io::Result<Self::Tcp> {
                let (s, _) = l.accept().await?;
                s.set_nodelay(true)?;
                Ok(s)
            }

            async fn tcp_connect(addr: SocketAddr) -> io::Result<Self::Tcp> {
                let s = eddy::net::TcpStream::connect(addr).await?;
                s.set_nodelay(true)?;
                Ok(s)
            }

            fn tcp_read<'a>(
                s: &'a mut Self::Tcp,
                buf: &'a mut [u8],
            ) -> impl Future<Output = io::Result<usize>> + Send + 'a {
                s.read(buf)
            }

            fn tcp_read_exact<'a>(
                s: &'a mut Self::Tcp,
                buf: &'a mut [u8],
            ) -> impl Future<Output = io::Result<()>> + Send + 'a {
                s.read_exact(buf)
            }

            fn tcp_write_all<'a>(
                s: &'a mut Self::Tcp,
                buf: &'a [u8],
            ) -> impl Future<Output = io::Result<()>> + Send + 'a {
                s.write_all(buf)
            }

            fn hyper_conn(s: Self::Tcp) -> impl Future<Output = u64> + Send {
                crate::net::hyper_http1(
                    eddy::hyper::HyperIo::new(s),
                    eddy::hyper::EddyTimer::current(),
                )
            }
        }
    };
}

eddy_runtime!(EddyCt, eddy::Builder::current_thread());
eddy_runtime!(
    EddyMt,
    eddy::Builder::multi_thread().worker_threads(WORKERS)
);

// ---------------------------------------------------------------- tokio

/// tokio, `current_thread` runtime.
pub struct TokioCt;
/// tokio, `multi_thread` runtime with [`WORKERS`] workers.
pub struct TokioMt;

macro_rules! tokio_runtime {
    ($ty:ident, $builder:expr) => {
        impl Runtime for $ty {
            type Join<T: Send + 'static> = Unwrap<tokio::task::JoinHandle<T>>;
            type Tcp = tokio::net::TcpStream;
            type Listener = tokio::net::TcpListener;

            fn block_on<F: Future + Send + 'static>(fut: F) -> F::Output
            where
                F::Output: Send + 'static,
            {
                let rt = $builder.enable_all().build().expect("build tokio runtime");
                rt.block_on(fut)
            }

            fn spawn<F>(fut: F) -> Self::Join<F::Output>
            where
                F: Future + Send + 'static,
                F::Output: Send + 'static,
            {
                Unwrap(tokio::spawn(fut))
            }

            fn spawn_detached<F>(fut: F)
            where
                F: Future<Output = ()> + Send + 'static,
            {
                drop(tokio::spawn(fut));
            }

            fn yield_now() -> impl Future<Output = ()> + Send {
                tokio::task::yield_now()
            }

            fn sleep(d: Duration) -> impl Future<Output = ()> + Send {
                tokio::time::sleep(d)
            }

            fn tcp_listen() -> io::Result<(Self::Listener, SocketAddr)> {
                let (l, addr) = std_listener()?;
                l.set_nonblocking(true)?;
                Ok((tokio::net::TcpListener::from_std(l)?, addr))
            }

            async fn tcp_accept(l: &Self::Listener) -> io::Result<Self::Tcp> {
                let (s, _) = l.accept().await?;
                s.set_nodelay(true)?;
                Ok(s)
            }

            async fn tcp_connect(addr: SocketAddr) -> io::Result<Self::Tcp> {
                let s = tokio::net::TcpStream::connect(addr).await?;
                s.set_nodelay(true)?;
                Ok(s)
            }

            fn tcp_read<'a>(
                s: &'a mut Self::Tcp,
                buf: &'a mut [u8],
            ) -> impl Future<Output = io::Result<usize>> + Send + 'a {
                tokio::io::AsyncReadExt::read(s, buf)
            }

            async fn tcp_read_exact<'a>(s: &'a mut Self::Tcp, buf: &'a mut [u8]) -> io::Result<()> {
                tokio::io::AsyncReadExt::read_exact(s, buf).await.map(drop)
            }

            fn tcp_write_all<'a>(
                s: &'a mut Self::Tcp,
                buf: &'a [u8],
            ) -> impl Future<Output = io::Result<()>> + Send + 'a {
                tokio::io::AsyncWriteExt::write_all(s, buf)
            }

            fn hyper_conn(s: Self::Tcp) -> impl Future<Output = u64> + Send {
                crate::net::hyper_http1(
                    hyper_util::rt::TokioIo::new(s),
                    hyper_util::rt::TokioTimer::new(),
                )
            }
        }
    };
}

tokio_runtime!(TokioCt, tokio::runtime::Builder::new_current_thread());
tokio_runtime!(
    TokioMt,
    tokio::runtime::Builder::new_multi_thread().worker_threads(WORKERS)
);

// ---------------------------------------------------------------- smol

/// smol, a `LocalExecutor` driven by `async_io::block_on` on the calling
/// thread (what `smol::block_on(ex.run(..))` does).
pub struct SmolCt;
/// smol, an `async_executor::Executor` run by [`WORKERS`] threads, each in
/// `async_io::block_on(ex.run(shutdown))`; the calling thread blocks on the
/// root future, like tokio's and eddy's `block_on`.
pub struct SmolMt;

thread_local! {
    static SMOL_LOCAL: async_executor::LocalExecutor<'static> =
        const { async_executor::LocalExecutor::new() };
}

static SMOL_SHARED: async_executor::Executor<'static> = async_executor::Executor::new();

macro_rules! smol_common {
    () => {
        type Join<T: Send + 'static> = async_executor::Task<T>;
        type Tcp = async_io::Async<TcpStream>;
        type Listener = async_io::Async<TcpListener>;

        fn yield_now() -> impl Future<Output = ()> + Send {
            futures_lite::future::yield_now()
        }

        async fn sleep(d: Duration) {
            async_io::Timer::after(d).await;
        }

        fn tcp_listen() -> io::Result<(Self::Listener, SocketAddr)> {
            let (l, addr) = std_listener()?;
            Ok((async_io::Async::new(l)?, addr))
        }

        async fn tcp_accept(l: &Self::Listener) -> io::Result<Self::Tcp> {
            let (s, _) = l.accept().await?;
            s.get_ref().set_nodelay(true)?;
            Ok(s)
        }

        async fn tcp_connect(addr: SocketAddr) -> io::Result<Self::Tcp> {
            let s = async_io::Async::<TcpStream>::connect(addr).await?;
            s.get_ref().set_nodelay(true)?;
            Ok(s)
        }

        fn tcp_read<'a>(
            s: &'a mut Self::Tcp,
            buf: &'a mut [u8],
        ) -> impl Future<Output = io::Result<usize>> + Send + 'a {
            s.read(buf)
        }

        fn tcp_read_exact<'a>(
            s: &'a mut Self::Tcp,
            buf: &'a mut [u8],
        ) -> impl Future<Output = io::Result<()>> + Send + 'a {
            s.read_exact(buf)
        }

        fn tcp_write_all<'a>(
            s: &'a mut Self::Tcp,
            buf: &'a [u8],
        ) -> impl Future<Output = io::Result<()>> + Send + 'a {
            s.write_all(buf)
        }

        fn hyper_conn(s: Self::Tcp) -> impl Future<Output = u64> + Send {
            // smol has no hyper crate of its own in this workspace; the
            // futures-io adapter is the one smol-hyper users write too.
            crate::net::hyper_http1(eddy::hyper::HyperIo::new(s), crate::net::SmolTimer)
        }
    };
}

impl Runtime for SmolCt {
    smol_common!();

    fn block_on<F: Future + Send + 'static>(fut: F) -> F::Output
    where
        F::Output: Send + 'static,
    {
        SMOL_LOCAL.with(|ex| async_io::block_on(ex.run(fut)))
    }

    fn spawn<F>(fut: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        SMOL_LOCAL.with(|ex| ex.spawn(fut))
    }

    fn spawn_detached<F>(fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        SMOL_LOCAL.with(|ex| ex.spawn(fut).detach());
    }
}

impl Runtime for SmolMt {
    smol_common!();

    fn block_on<F: Future + Send + 'static>(fut: F) -> F::Output
    where
        F::Output: Send + 'static,
    {
        let (stop, stopped) = async_channel::bounded::<()>(1);
        let workers: Vec<_> = (0..WORKERS)
            .map(|i| {
                let stopped = stopped.clone();
                thread::Builder::new()
                    .name(format!("smol-{i}"))
                    .spawn(move || {
                        async_io::block_on(SMOL_SHARED.run(async move {
                            let _ = stopped.recv().await;
                        }))
                    })
                    .expect("spawn smol worker")
            })
            .collect();
        let out = async_io::block_on(fut);
        // Closing the channel ends every worker's `run`.
        drop(stop);
        for w in workers {
            w.join().expect("smol worker panicked");
        }
        out
    }

    fn spawn<F>(fut: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        SMOL_SHARED.spawn(fut)
    }

    fn spawn_detached<F>(fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        SMOL_SHARED.spawn(fut).detach();
    }
}
