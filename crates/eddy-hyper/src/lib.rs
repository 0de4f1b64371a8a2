//! [hyper] 1.x on eddy, with no adapter code of your own.
//!
//! hyper is runtime-agnostic: it needs I/O that implements
//! [`hyper::rt::Read`]/[`hyper::rt::Write`], an [`Executor`](hyper::rt::Executor)
//! to spawn HTTP/2 streams and background tasks, and a
//! [`Timer`](hyper::rt::Timer) for header-read and keep-alive timeouts. This
//! crate gives each, on eddy:
//!
//! * [`HyperIo`] wraps any `futures-io` stream (eddy's `TcpStream`,
//!   `UnixStream`, a TLS stream, ...) as hyper I/O; and wraps hyper I/O (an
//!   upgraded connection) back as `futures-io`.
//! * [`EddyExecutor`] spawns on an eddy runtime (either flavour).
//! * [`EddyTimer`] sleeps on the runtime's timer, so hyper's timeouts follow
//!   eddy's clock, virtual time included.
//! * [`server_builder`] is `hyper_util`'s HTTP/1 + HTTP/2 auto-detecting
//!   builder wired to both, and [`serve`] is the accept loop with graceful
//!   shutdown that most servers write by hand.
//!
//! Use it through the facade with `eddy = { features = ["hyper"] }`, as
//! `eddy::hyper`; clients use hyper's own `hyper::client::conn` with a
//! [`HyperIo`]. Cost: hyper, h2 and `tokio` (its I/O traits only, no tokio
//! runtime) join your build; nothing of it is paid by users without the
//! feature.
//!
//! # Example: a server and a client
//!
//! ```
//! use std::convert::Infallible;
//! use bytes::Bytes;
//! use http_body_util::{BodyExt, Full};
//! use hyper::{Request, Response, body::Incoming, service::service_fn};
//! use eddy_hyper::HyperIo;
//!
//! async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
//!     Ok(Response::new(Full::new(Bytes::from("Hello, world!"))))
//! }
//!
//! eddy::run(async {
//!     let listener = eddy::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     let (stop, stopped) = eddy::sync::oneshot::channel::<()>();
//!     let server = eddy::spawn(async move {
//!         let shutdown = async { let _ = stopped.await; };
//!         eddy_hyper::serve(listener.incoming(), service_fn(hello), shutdown).await
//!     });
//!
//!     // A hyper client over an eddy TcpStream.
//!     let stream = eddy::net::TcpStream::connect(addr).await.unwrap();
//!     let (mut sender, conn) = hyper::client::conn::http1::handshake(HyperIo::new(stream)).await.unwrap();
//!     eddy::spawn(conn).detach();
//!     let req = Request::get("/").header("host", "localhost").body(Full::new(Bytes::new())).unwrap();
//!     let body = sender.send_request(req).await.unwrap().into_body().collect().await.unwrap();
//!     assert_eq!(body.to_bytes(), "Hello, world!");
//!
//!     drop(sender); // the client closes its connection...
//!     stop.send(()).unwrap(); // ...and the server drains and returns
//!     server.await.unwrap().unwrap();
//! });
//! ```

#![forbid(unsafe_code)]

mod io;
mod rt;
mod server;

pub use io::{HyperIo, HyperToFutures};
pub use rt::{EddyExecutor, EddySleep, EddyTimer};
pub use server::{ServeSummary, serve, serve_with, server_builder};

/// hyper itself, the version this crate is built against.
pub use hyper;
/// hyper-util, the version this crate is built against.
pub use hyper_util;
