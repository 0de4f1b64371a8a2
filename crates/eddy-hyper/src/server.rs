//! [`server_builder`] and the [`serve`] accept loop.

use std::error::Error as StdError;
use std::future::Future;
use std::io;
use std::pin::pin;
use std::task::Poll;

use futures_io::{AsyncRead, AsyncWrite};
use futures_lite::{Stream, future};
use hyper::body::{Body, Incoming};
use hyper::service::Service;
use hyper::{Request, Response};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;

use crate::{EddyExecutor, EddyTimer, HyperIo};

/// `hyper_util`'s auto-detecting server builder (HTTP/1.1, and HTTP/2 with
/// prior knowledge or after ALPN), spawning on the current eddy runtime and
/// timing out on its timer.
///
/// Tune it as any `hyper_util` builder (`.http1().keep_alive(..)`,
/// `.http2().max_concurrent_streams(..)`, `.http1_only()`), then pass it to
/// [`serve_with`] or call `serve_connection_with_upgrades` yourself.
///
/// # Panics
///
/// Outside an eddy runtime.
///
/// ```
/// eddy::run(async {
///     let mut builder = eddy_hyper::server_builder();
///     builder.http1().keep_alive(false);
/// });
/// ```
#[track_caller]
pub fn server_builder() -> Builder<EddyExecutor> {
    let mut builder = Builder::new(EddyExecutor::current());
    builder.http1().timer(EddyTimer::current());
    builder.http2().timer(EddyTimer::current());
    builder
}

/// What a [`serve`] loop did, returned when it has shut down.
///
/// ```
/// let s = eddy_hyper::ServeSummary::default();
/// assert_eq!((s.connections, s.accept_errors), (0, 0));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServeSummary {
    /// Connections accepted and served.
    pub connections: u64,
    /// Accepts that failed (each logged nowhere and skipped, as hyper's own
    /// examples do; the listener backs off on `EMFILE` by itself).
    pub accept_errors: u64,
}

/// Serves HTTP/1.1 and HTTP/2 on every connection `incoming` yields until
/// `shutdown` completes, then shuts down gracefully: stops accepting, lets
/// in-flight requests finish, closes idle keep-alive connections, and
/// returns once every connection has closed.
///
/// `incoming` is any stream of `futures-io` connections: eddy's
/// `TcpListener::incoming()`, `UnixListener::incoming()`, or a TLS acceptor
/// mapped over one. Each connection is served in its own task (in parallel
/// on a multi-thread runtime) by [`server_builder`]'s builder; HTTP upgrades
/// (websockets) are supported.
///
/// # Cancellation
///
/// Dropping the future stops accepting at once; connections already being
/// served keep running in their own tasks to their natural end. To bound
/// the graceful drain, race the future with a timeout *after* `shutdown`
/// fires, or use [`serve_with`] and your own loop.
///
/// # Errors
///
/// None today (accept errors are counted in [`ServeSummary`] and skipped);
/// the `Result` leaves room for listener errors that end the loop.
///
/// # Panics
///
/// Outside an eddy runtime.
///
/// ```
/// use std::convert::Infallible;
/// use hyper::{Request, Response, body::Incoming, service::service_fn};
///
/// eddy::run(async {
///     let listener = eddy::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let service = service_fn(|_: Request<Incoming>| async {
///         Ok::<_, Infallible>(Response::new(String::from("hi")))
///     });
///     // Shut down at once: no connection was made.
///     let summary = eddy_hyper::serve(listener.incoming(), service, async {}).await.unwrap();
///     assert_eq!(summary.connections, 0);
/// });
/// ```
#[track_caller]
pub fn serve<I, S, Svc, B>(
    incoming: I,
    service: Svc,
    shutdown: impl Future<Output = ()>,
) -> impl Future<Output = io::Result<ServeSummary>>
where
    I: Stream<Item = io::Result<S>>,
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    Svc: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    Svc::Future: Send + 'static,
    Svc::Error: Into<Box<dyn StdError + Send + Sync>>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    serve_with(server_builder(), incoming, service, shutdown)
}

/// [`serve`] with a builder of your own (see [`server_builder`]).
///
/// # Errors
///
/// As [`serve`].
///
/// ```
/// use std::convert::Infallible;
/// use hyper::{Request, Response, body::Incoming, service::service_fn};
///
/// eddy::run(async {
///     let listener = eddy::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let builder = eddy_hyper::server_builder().http1_only();
///     let service = service_fn(|_: Request<Incoming>| async {
///         Ok::<_, Infallible>(Response::new(String::from("hi")))
///     });
///     let summary = eddy_hyper::serve_with(builder, listener.incoming(), service, async {})
///         .await
///         .unwrap();
///     assert_eq!(summary.accept_errors, 0);
/// });
/// ```
pub async fn serve_with<I, S, Svc, B>(
    builder: Builder<EddyExecutor>,
    incoming: I,
    service: Svc,
    shutdown: impl Future<Output = ()>,
) -> io::Result<ServeSummary>
where
    I: Stream<Item = io::Result<S>>,
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    Svc: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    Svc::Future: Send + 'static,
    Svc::Error: Into<Box<dyn StdError + Send + Sync>>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let graceful = GracefulShutdown::new();
    let mut summary = ServeSummary::default();
    let mut incoming = pin!(incoming);
    let mut shutdown = pin!(shutdown);
    let spawner = eddy_executor::Handle::current();
    loop {
        // Shutdown first: once asked, accept nothing more.
        let next = future::poll_fn(|cx| {
            if shutdown.as_mut().poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            incoming.as_mut().poll_next(cx).map(Some)
        })
        .await;
        let stream = match next {
            None | Some(None) => break,
            Some(Some(Err(_))) => {
                summary.accept_errors += 1;
                continue;
            }
            Some(Some(Ok(stream))) => stream,
        };
        summary.connections += 1;
        let conn = builder
            .serve_connection_with_upgrades(HyperIo::new(stream), service.clone())
            .into_owned();
        let watched = graceful.watch(conn);
        // A connection's own error (a reset peer, a malformed request) ends
        // that connection only; hyper has already answered what it could.
        spawner.spawn(async move { drop(watched.await) }).detach();
    }
    graceful.shutdown().await;
    Ok(summary)
}
