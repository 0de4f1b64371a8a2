//! Networking: TCP, UDP and Unix-domain sockets on the reactor, plus
//! asyncio-style streams ([`open_connection`], [`start_server`]).
//!
//! Every socket here is a thin type over the reactor's [`Async<T>`]: it is
//! put in non-blocking mode and registered once, an operation is attempted
//! directly, and only when the OS says `WouldBlock` does the task wait for
//! the reactor (edge-triggered, so there is no re-arming syscall). Dropping a
//! socket deregisters it from the reactor and closes it: no stale wake-ups,
//! no leaked descriptor.
//!
//! Streams ([`TcpStream`], [`UnixStream`]) implement [`futures_io::AsyncRead`]
//! and [`futures_io::AsyncWrite`], so `futures-lite`'s `AsyncReadExt`,
//! `AsyncWriteExt`, `BufReader`, `io::copy` and any crate built on
//! `futures-io` work on them unchanged. They can be split into halves that
//! borrow the stream ([`TcpStream::split`]) or own a share of it
//! ([`TcpStream::into_split`]), for one task reading while another writes.
//! Listeners hand out connections with `accept().await` or as a `Stream`
//! (`incoming()`).
//!
//! Addresses are anything implementing [`ToSocketAddrs`]: a [`SocketAddr`],
//! `(ip, port)`, or a `"host:port"` string. A string that is already a
//! literal socket address is parsed in place; a host name is resolved off the
//! event loop (see [`lookup_host`]), so a slow DNS server never stalls other
//! tasks.
//!
//! | asyncio | eddy |
//! |---|---|
//! | `asyncio.open_connection(host, port)` | [`open_connection`]`((host, port)).await` |
//! | `asyncio.start_server(cb, host, port)` | [`start_server`]`((host, port), cb).await` |
//! | `loop.sock_accept`, `loop.create_server` | [`TcpListener::accept`], [`TcpListener::incoming`] |
//! | `asyncio.open_unix_connection(path)` | [`UnixStream::connect`] |
//!
//! # Faults
//!
//! * Accepting when the process is out of descriptors (`EMFILE`, `ENFILE`,
//!   `ENOBUFS`, `ENOMEM`) does not spin: [`TcpListener::accept`] sleeps with
//!   exponential back-off (1 ms doubling to 1 s) and retries, so it recovers
//!   by itself once descriptors are freed, while every other task runs.
//! * A connection reset by the peer is an error of kind `ConnectionReset`
//!   (or `BrokenPipe` on write); a peer that shut down its write side gives
//!   EOF (`Ok(0)`) on read while writes still work.
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
//!
//! [`Async<T>`]: crate::Async

mod addr;
mod halves;
mod stream;
pub mod tcp;
mod udp;
pub mod unix;

pub use addr::{ToSocketAddrs, lookup_host};
pub use std::net::{Shutdown, SocketAddr};
pub use stream::{Server, StreamReader, StreamWriter, open_connection, start_server};
pub use tcp::{TcpListener, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixListener, UnixStream};
