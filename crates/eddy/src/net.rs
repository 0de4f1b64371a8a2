//! Networking: TCP, UDP and Unix-domain sockets on the reactor, plus
//! asyncio-style streams ([`open_connection`], [`start_server`]).
//!
//! This is the [`eddy_net`] crate re-exported (its crate docs describe the
//! model: one edge-triggered registration per socket, operations attempted
//! first and awaited only on `WouldBlock`, descriptor-exhaustion back-off,
//! host names resolved on the runtime's blocking pool). Inside an eddy
//! runtime every type here just works; [`start_server`] spawns on the
//! runtime running the calling thread.
//!
//! | asyncio | eddy |
//! |---|---|
//! | `asyncio.open_connection(host, port)` | [`open_connection`]`((host, port)).await` |
//! | `asyncio.start_server(cb, host, port)` | [`start_server`]`((host, port), cb).await` |
//! | `loop.sock_accept`, `loop.create_server` | [`TcpListener::accept`], [`TcpListener::incoming`] |
//! | `asyncio.open_unix_connection(path)` | [`UnixStream::connect`] |
//!
//! # Example
//!
//! ```
//! use eddy::net::{TcpListener, TcpStream};
//! use futures_lite::{AsyncReadExt, AsyncWriteExt};
//!
//! eddy::run(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     let server = eddy::spawn(async move {
//!         let (mut stream, _peer) = listener.accept().await?;
//!         let mut buf = [0; 5];
//!         stream.read_exact(&mut buf).await?;
//!         stream.write_all(&buf).await?;
//!         Ok::<_, std::io::Error>(())
//!     });
//!     let mut client = TcpStream::connect(addr).await?;
//!     client.write_all(b"hello").await?;
//!     let mut echoed = [0; 5];
//!     client.read_exact(&mut echoed).await?;
//!     assert_eq!(&echoed, b"hello");
//!     server.await.unwrap()
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```

pub use eddy_net::{
    Server, Shutdown, SocketAddr, StreamReader, StreamWriter, TcpListener, TcpStream,
    ToSocketAddrs, UdpSocket, UnixDatagram, UnixListener, UnixStream, lookup_host, open_connection,
    start_server, start_server_with, tcp, unix,
};

/// Tells `eddy-net` how to reach this runtime: the executor running the
/// calling thread (for `start_server` and reaping dropped children) and the
/// blocking pool (for name lookups). Only the first call has an effect.
pub(crate) fn install_hooks() {
    eddy_net::hooks::set_spawn_hook(current_spawner);
    eddy_net::hooks::set_unblock_hook(unblock);
}

fn current_spawner() -> Option<std::sync::Arc<dyn eddy_core::Spawn>> {
    crate::Handle::try_current()
        .map(|h| std::sync::Arc::new(h.executor().clone()) as std::sync::Arc<dyn eddy_core::Spawn>)
}

/// On the blocking pool: the runtime's, or the global one outside a
/// runtime. Submitted at once (`unblock` is eager), awaited later.
fn unblock(job: eddy_net::hooks::BlockingJob) -> eddy_net::hooks::BlockingFuture {
    let job = eddy_blocking::unblock(job);
    Box::pin(async move { job.await.map_err(|e| std::io::Error::other(e.to_string())) })
}
