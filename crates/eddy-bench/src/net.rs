//! The networking workloads: TCP echo with 1, 64 and 1,000 connections, and
//! an HTTP/1.1 "hello" server driven by `wrk`.
//!
//! Every server is written once over [`Runtime`], so eddy, tokio and smol run
//! the same logic; only the runtime underneath differs.

use std::io;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Instant;

use crate::rt::Runtime;
use crate::workloads::{Cfg, root};

/// Clients of `tcp_echo_1000`.
const MANY_CLIENTS: usize = 1000;

/// tcp_echo_1: one client, 20,000 sequential round trips of 64 bytes
/// (µs per round trip).
pub fn tcp_echo_1<R: Runtime>(c: &Cfg) -> f64 {
    echo::<R>(1, c.n(20_000))
}

/// tcp_echo: 64 clients, each 5,000 round trips of 64 bytes (µs per round
/// trip, all clients together: total time / total round trips).
pub fn tcp_echo<R: Runtime>(c: &Cfg) -> f64 {
    echo::<R>(64, c.n(5000))
}

/// tcp_echo_1000: 1,000 clients, each 100 round trips of 64 bytes (µs per
/// round trip, all clients together). Quick runs keep the 1,000
/// connections and cut the round trips.
pub fn tcp_echo_1000<R: Runtime>(c: &Cfg) -> f64 {
    echo::<R>(MANY_CLIENTS, c.n(100))
}

/// `clients` clients on the same runtime as a loopback echo server, each
/// connecting and then making `trips` round trips of 64 bytes, `TCP_NODELAY`.
/// The server reads into a 1 KiB buffer and writes back what it got; the
/// clients read exactly their 64 bytes back.
/// The time runs from the first connect to the last client's last reply.
fn echo<R: Runtime>(clients: usize, trips: usize) -> f64 {
    let d = root::<R, _>(async move {
        let (listener, addr) = R::tcp_listen().expect("bind loopback");
        let listener = Arc::new(listener);
        let server = R::spawn(async move {
            let mut conns = Vec::with_capacity(clients);
            for _ in 0..clients {
                let mut s = R::tcp_accept(&listener).await.expect("accept");
                conns.push(R::spawn(async move {
                    // The canonical echo server (as in tokio's and smol's
                    // examples): read whatever has arrived, write it back.
                    // The client closing its end ends the loop.
                    let mut buf = [0u8; 1024];
                    loop {
                        match R::tcp_read(&mut s, &mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => R::tcp_write_all(&mut s, &buf[..n]).await.expect("echo"),
                        }
                    }
                }));
            }
            for h in conns {
                h.await;
            }
        });
        let start = Instant::now();
        let handles: Vec<_> = (0..clients)
            .map(|i| {
                R::spawn(async move {
                    let mut s = R::tcp_connect(addr).await.expect("connect");
                    let out = [i as u8; 64];
                    let mut back = [0u8; 64];
                    for _ in 0..trips {
                        R::tcp_write_all(&mut s, &out).await.expect("write");
                        R::tcp_read_exact(&mut s, &mut back).await.expect("read");
                        assert_eq!(back, out, "echo corrupted");
                    }
                })
            })
            .collect();
        for h in handles {
            h.await;
        }
        let d = start.elapsed();
        server.await;
        d
    });
    d.as_nanos() as f64 / 1000.0 / (clients * trips) as f64
}

/// Raises this process's soft limit on open files to its hard limit, so
/// that `tcp_echo_1000` (two descriptors per connection) fits. Failure is
/// not an error here: [`enough_fds`] reports it for the row.
pub fn raise_fd_limit() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let lim = getrlimit(Resource::Nofile);
    if lim.current.is_some() && lim.current != lim.maximum {
        let _ = setrlimit(
            Resource::Nofile,
            Rlimit {
                current: lim.maximum,
                maximum: lim.maximum,
            },
        );
    }
}

/// `tcp_echo_1000`'s precondition: room for its 2,000 sockets plus the
/// runtimes' own descriptors.
pub fn enough_fds() -> Result<(), String> {
    let need = 2 * MANY_CLIENTS as u64 + 100;
    match rustix::process::getrlimit(rustix::process::Resource::Nofile).current {
        Some(have) if have < need => Err(format!("needs {need} fds, RLIMIT_NOFILE is {have}")),
        _ => Ok(()),
    }
}

/// The one response of the HTTP server.
const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nHello world!";

/// Serves one keep-alive connection: every request head (up to the blank
/// line) gets [`RESPONSE`]; pipelined heads are answered in one write. Ends
/// when the client closes or resets the connection, or sends a head longer
/// than the buffer. Returns the number of requests answered.
async fn http_conn<R: Runtime>(mut s: R::Tcp) -> u64 {
    let mut buf = vec![0u8; 4096];
    let mut filled = 0;
    let mut out = Vec::with_capacity(4 * RESPONSE.len());
    let mut served = 0;
    loop {
        match R::tcp_read(&mut s, &mut buf[filled..]).await {
            Ok(0) | Err(_) => return served,
            Ok(n) => filled += n,
        }
        let mut start = 0;
        while let Some(end) = find_head_end(&buf[start..filled]) {
            start += end;
            out.extend_from_slice(RESPONSE);
            served += 1;
        }
        buf.copy_within(start..filled, 0);
        filled -= start;
        if filled == buf.len() {
            return served;
        }
        if !out.is_empty() {
            if R::tcp_write_all(&mut s, &out).await.is_err() {
                return served;
            }
            out.clear();
        }
    }
}

/// The length of the first complete request head in `buf`, blank line
/// included.
fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// Accepts connections until `stop` closes, serving each in its own task;
/// then waits for every connection to end (the client has gone by then) and
/// returns the requests answered.
async fn http_server<R: Runtime>(listener: R::Listener, stop: async_channel::Receiver<()>) -> u64 {
    let mut conns = Vec::new();
    loop {
        let next =
            futures_lite::future::or(async { Some(R::tcp_accept(&listener).await) }, async {
                let _ = stop.recv().await;
                None
            })
            .await;
        match next {
            Some(Ok(s)) => conns.push(R::spawn(http_conn::<R>(s))),
            Some(Err(e)) => panic!("http server: accept failed: {e}"),
            None => break,
        }
    }
    let mut served = 0;
    for c in conns {
        served += c.await;
    }
    served
}

/// `http_hello`'s precondition: `wrk` on the `PATH`.
pub fn wrk_installed() -> Result<(), String> {
    let found = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("wrk").is_file()));
    if found {
        Ok(())
    } else {
        Err("wrk not installed".into())
    }
}

/// http_hello: the HTTP server on its own thread and runtime, `wrk -t2 -c64
/// -d3s` (quick: `-d1s`) against it from a child process; µs per request,
/// that is 1e6 / wrk's requests per second.
pub fn http_hello<R: Runtime>(c: &Cfg) -> f64 {
    let (stop_tx, stop_rx) = async_channel::bounded::<()>(1);
    let (addr_tx, addr_rx) = mpsc::channel();
    let server = thread::Builder::new()
        .name("http-server".into())
        .spawn(move || {
            root::<R, _>(async move {
                let (listener, addr) = R::tcp_listen().expect("bind loopback");
                addr_tx
                    .send(addr)
                    .expect("bench thread waits for the address");
                http_server::<R>(listener, stop_rx).await
            })
        })
        .expect("spawn the server thread");
    let addr = addr_rx.recv().expect("server thread bound its listener");
    let report = run_wrk(addr, if c.quick { 1 } else { 3 });
    // Closing the channel stops the server, even if wrk failed.
    drop(stop_tx);
    let served = server.join().expect("http server panicked");
    let report = report.unwrap_or_else(|e| panic!("wrk against {addr}: {e}"));
    assert!(
        served >= report.requests,
        "server answered {served} requests, wrk counted {}",
        report.requests
    );
    1e6 / report.per_sec
}

/// hyper_hello: like [`http_hello`], but every connection is served by
/// hyper 1.x (HTTP/1.1, keep-alive, the runtime's hyper timer for the
/// header-read timeout) answering `Hello world!`: what a user of each
/// runtime gets from hyper. µs per request under `wrk -t2 -c64`.
pub fn hyper_hello<R: Runtime>(c: &Cfg) -> f64 {
    let (stop_tx, stop_rx) = async_channel::bounded::<()>(1);
    let (addr_tx, addr_rx) = mpsc::channel();
    let server = thread::Builder::new()
        .name("hyper-server".into())
        .spawn(move || {
            root::<R, _>(async move {
                let (listener, addr) = R::tcp_listen().expect("bind loopback");
                addr_tx
                    .send(addr)
                    .expect("bench thread waits for the address");
                accept_loop::<R, _, _>(listener, stop_rx, R::hyper_conn).await
            })
        })
        .expect("spawn the server thread");
    let addr = addr_rx.recv().expect("server thread bound its listener");
    let report = run_wrk(addr, if c.quick { 1 } else { 3 });
    drop(stop_tx);
    let served = server.join().expect("hyper server panicked");
    let report = report.unwrap_or_else(|e| panic!("wrk against hyper at {addr}: {e}"));
    assert!(
        served >= report.requests,
        "hyper answered {served} requests, wrk counted {}",
        report.requests
    );
    1e6 / report.per_sec
}

/// Accepts until `stop` closes, serving each connection with `serve` in
/// its own task, then waits for them all; returns the requests answered.
async fn accept_loop<R, F, Fut>(
    listener: R::Listener,
    stop: async_channel::Receiver<()>,
    serve: F,
) -> u64
where
    R: Runtime,
    F: Fn(R::Tcp) -> Fut,
    Fut: std::future::Future<Output = u64> + Send + 'static,
{
    let mut conns = Vec::new();
    loop {
        let next =
            futures_lite::future::or(async { Some(R::tcp_accept(&listener).await) }, async {
                let _ = stop.recv().await;
                None
            })
            .await;
        match next {
            Some(Ok(s)) => conns.push(R::spawn(serve(s))),
            Some(Err(e)) => panic!("hyper server: accept failed: {e}"),
            None => break,
        }
    }
    let mut served = 0;
    for c in conns {
        served += c.await;
    }
    served
}

/// One hyper HTTP/1.1 connection answering `Hello world!`; the number of
/// requests it answered when the client goes.
pub async fn hyper_http1<I, T>(io: I, timer: T) -> u64
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    T: hyper::rt::Timer + Send + Sync + 'static,
{
    use std::sync::atomic::{AtomicU64, Ordering};
    let served = Arc::new(AtomicU64::new(0));
    let counter = served.clone();
    let service = hyper::service::service_fn(move |_req| {
        counter.fetch_add(1, Ordering::Relaxed);
        std::future::ready(Ok::<_, std::convert::Infallible>(hyper::Response::new(
            http_body_util::Full::new(bytes::Bytes::from_static(b"Hello world!")),
        )))
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(timer)
        .serve_connection(io, service);
    // wrk closes its connections at the end: an error there is expected.
    let _ = conn.await;
    served.load(Ordering::Relaxed)
}

/// hyper's `Timer` on async-io's timer, for the smol cells.
#[derive(Clone, Copy)]
pub struct SmolTimer;

struct SmolSleep(async_io::Timer);

impl std::future::Future for SmolSleep {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        std::pin::Pin::new(&mut self.0).poll(cx).map(drop)
    }
}

impl hyper::rt::Sleep for SmolSleep {}

impl hyper::rt::Timer for SmolTimer {
    fn sleep(&self, d: std::time::Duration) -> std::pin::Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(SmolSleep(async_io::Timer::after(d)))
    }
    fn sleep_until(&self, at: Instant) -> std::pin::Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(SmolSleep(async_io::Timer::at(at)))
    }
}

/// What the benchmark needs from wrk's output.
#[derive(Debug, PartialEq)]
struct WrkReport {
    requests: u64,
    per_sec: f64,
}

fn run_wrk(addr: SocketAddr, secs: u32) -> io::Result<WrkReport> {
    let out = Command::new("wrk")
        .args(["-t2", "-c64", &format!("-d{secs}s")])
        .arg(format!("http://{addr}/"))
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "exited with {}: {text}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    parse_wrk(&text).map_err(io::Error::other)
}

/// Reads `N requests in` and `Requests/sec:` from wrk's report, refusing
/// one that lists socket errors or non-2xx/3xx responses.
fn parse_wrk(text: &str) -> Result<WrkReport, String> {
    if let Some(l) = text
        .lines()
        .find(|l| l.contains("Socket errors") || l.contains("Non-2xx"))
    {
        return Err(format!("wrk saw failures: `{}`\n{text}", l.trim()));
    }
    let requests = text
        .lines()
        .find_map(|l| {
            let (n, rest) = l.trim().split_once(' ')?;
            rest.starts_with("requests in").then(|| n.parse().ok())?
        })
        .ok_or_else(|| format!("no `requests in` line in wrk's output:\n{text}"))?;
    let per_sec: f64 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:")?.trim().parse().ok())
        .ok_or_else(|| format!("no `Requests/sec:` line in wrk's output:\n{text}"))?;
    if requests == 0 || per_sec <= 0.0 {
        return Err(format!("wrk completed no requests:\n{text}"));
    }
    Ok(WrkReport { requests, per_sec })
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRK_OK: &str = "Running 3s test @ http://127.0.0.1:4000/
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   612.31us  201.10us   5.01ms   80.12%
    Req/Sec    52.10k     3.20k   58.00k    70.00%
  311234 requests in 3.00s, 24.98MB read
Requests/sec: 103704.51
Transfer/sec:      8.32MB
";

    #[test]
    fn parses_wrk_output() {
        let r = parse_wrk(WRK_OK).unwrap();
        assert_eq!(r.requests, 311_234);
        assert!((r.per_sec - 103_704.51).abs() < 1e-6);
    }

    #[test]
    fn refuses_wrk_failures() {
        let errs = WRK_OK.replace(
            "Requests/sec",
            "  Socket errors: connect 0, read 3, write 0, timeout 0\nRequests/sec",
        );
        assert!(parse_wrk(&errs).unwrap_err().contains("read 3"));
        let non2xx = WRK_OK.replace(
            "Requests/sec",
            "  Non-2xx or 3xx responses: 12\nRequests/sec",
        );
        assert!(parse_wrk(&non2xx).is_err());
        assert!(parse_wrk("garbage").is_err());
        assert!(parse_wrk(&WRK_OK.replace("311234 requests", "0 requests")).is_err());
    }

    #[test]
    fn finds_request_heads() {
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\n\r\nGET"), Some(18));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\nHost: x\r\n"), None);
    }

    #[test]
    fn http_server_answers_keep_alive_and_pipelined_requests() {
        use crate::rt::{EddyCt, SmolCt, TokioCt};
        fn check<R: Runtime>() {
            let served = root::<R, _>(async {
                let (listener, addr) = R::tcp_listen().unwrap();
                let (stop_tx, stop_rx) = async_channel::bounded::<()>(1);
                let server = R::spawn(http_server::<R>(listener, stop_rx));
                let mut s = R::tcp_connect(addr).await.unwrap();
                let req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
                let mut back = vec![0u8; RESPONSE.len()];
                R::tcp_write_all(&mut s, req).await.unwrap();
                R::tcp_read_exact(&mut s, &mut back).await.unwrap();
                assert_eq!(back, RESPONSE);
                // Two pipelined requests in one write, two answers.
                R::tcp_write_all(&mut s, &[&req[..], &req[..]].concat())
                    .await
                    .unwrap();
                let mut two = vec![0u8; 2 * RESPONSE.len()];
                R::tcp_read_exact(&mut s, &mut two).await.unwrap();
                assert_eq!(two, [RESPONSE, RESPONSE].concat());
                drop(s);
                drop(stop_tx);
                server.await
            });
            assert_eq!(served, 3);
        }
        check::<EddyCt>();
        check::<TokioCt>();
        check::<SmolCt>();
    }

    #[test]
    fn echo_runs_with_few_clients() {
        use crate::rt::EddyCt;
        assert!(echo::<EddyCt>(3, 10) > 0.0);
    }
}
