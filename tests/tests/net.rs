//! eddy::net end to end: eddy against eddy, against curl, wrk and Python's
//! asyncio, and under faults (descriptor exhaustion, resets, half-close,
//! deregistration). Loopback only; every loop is bounded in count and time.

// Tests measure real time with generous bounds (never tight assertions).
#![allow(clippy::disallowed_methods)]

#[path = "../../crates/eddy/examples/echo_server.rs"]
#[allow(dead_code)]
mod echo_server;
#[path = "../../crates/eddy/examples/http_hello.rs"]
#[allow(dead_code)]
mod http_hello;

use std::io;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Wake};
use std::time::{Duration, Instant};

use eddy::net::{
    Shutdown, TcpListener, TcpStream, UdpSocket, UnixDatagram, UnixListener, UnixStream,
    open_connection, start_server,
};
use eddy_tests::{open_fds, set_soft_fd_limit};
use futures_lite::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, StreamExt, future};

/// Fails the test if `fut` takes longer than `secs` (a hang is a bug).
async fn within<T>(secs: u64, fut: impl std::future::Future<Output = T>) -> T {
    future::or(fut, async {
        eddy::sleep(Duration::from_secs(secs)).await;
        panic!("timed out after {secs}s");
    })
    .await
}

fn tool(name: &str) -> bool {
    let found = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        println!("SKIPPED: `{name}` is not installed (.ci/run installs it where apt is available)");
    }
    found
}

async fn echo_round_trips(addr: SocketAddr, rounds: usize) -> io::Result<()> {
    let mut s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    for i in 0..rounds {
        let msg = format!("message {i:>6}");
        s.write_all(msg.as_bytes()).await?;
        let mut back = vec![0; msg.len()];
        s.read_exact(&mut back).await?;
        assert_eq!(back, msg.as_bytes());
    }
    Ok(())
}

fn echo_many(rt: eddy::Runtime) {
    rt.block_on(within(30, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = eddy::spawn(echo_server::serve(listener));
        let clients: Vec<_> = (0..100)
            .map(|_| eddy::spawn(echo_round_trips(addr, 20)))
            .collect();
        for c in clients {
            c.await.unwrap().unwrap();
        }
        server.cancel();
    }));
}

#[test]
fn echo_100_connections_current_thread() {
    echo_many(eddy::Builder::current_thread().build().unwrap());
}

#[test]
fn echo_100_connections_multi_thread() {
    echo_many(
        eddy::Builder::multi_thread()
            .worker_threads(2)
            .build()
            .unwrap(),
    );
}

#[test]
fn one_connection_ping_pong_on_two_workers_while_others_come_and_go() {
    // The one-connection echo leaves one worker idle most of the time; it
    // parks in the driver without spinning. Bursts of spawned tasks wake the
    // other worker now and then. Every round trip must complete (a lost
    // wake-up hangs).
    let rt = eddy::Builder::multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(within(60, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = eddy::spawn(echo_server::serve(listener));
        let client = eddy::spawn(echo_round_trips(addr, 5000));
        while !client.is_finished() {
            let burst: Vec<_> = (0..16)
                .map(|_| eddy::spawn(async { eddy::yield_now().await }))
                .collect();
            for b in burst {
                b.await.unwrap();
            }
            eddy::sleep(Duration::from_millis(1)).await;
        }
        client.await.unwrap().unwrap();
        server.cancel();
    }));
}

/// Accepted and connected sockets, TCP and Unix, come out non-blocking and
/// close-on-exec (on Linux, TCP ones and Unix connects are created so with
/// `SOCK_NONBLOCK` / `accept4` instead of being switched afterwards), and a
/// TCP accept reports the peer's address.
#[test]
fn accepted_and_connected_sockets_are_nonblocking_and_cloexec() {
    use rustix::fs::OFlags;
    use rustix::io::FdFlags;
    use std::os::fd::AsFd;
    eddy::run(within(10, async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let client = TcpStream::connect(listener.local_addr()?).await?;
        let (server, peer) = listener.accept().await?;
        assert_eq!(peer, client.local_addr()?);
        for s in [&client, &server] {
            assert!(rustix::fs::fcntl_getfl(s.as_fd())?.contains(OFlags::NONBLOCK));
            assert!(rustix::io::fcntl_getfd(s.as_fd())?.contains(FdFlags::CLOEXEC));
        }
        let path = std::env::temp_dir().join(format!("eddy-nb-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let ul = eddy::net::UnixListener::bind(&path)?;
        let uc = eddy::net::UnixStream::connect(&path).await?;
        let (us, _) = ul.accept().await?;
        for s in [uc.as_fd(), us.as_fd()] {
            assert!(rustix::fs::fcntl_getfl(s)?.contains(OFlags::NONBLOCK));
            assert!(rustix::io::fcntl_getfd(s)?.contains(FdFlags::CLOEXEC));
        }
        std::fs::remove_file(&path)?;
        Ok::<(), io::Error>(())
    }))
    .unwrap();
}

#[test]
fn ipv6_loopback_and_host_names() {
    eddy::run(within(10, async {
        // ::1 may be missing in minimal containers; that is not a failure.
        match TcpListener::bind("[::1]:0").await {
            Ok(l) => {
                let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
                let (s, peer) = l.accept().await.unwrap();
                assert_eq!(peer, c.local_addr().unwrap());
                assert!(s.peer_addr().unwrap().is_ipv6());
            }
            Err(e) => println!("SKIPPED ipv6 part: {e}"),
        }
        // A host name goes through the resolver off the loop.
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let c = TcpStream::connect(("localhost", port)).await;
        // localhost may resolve to ::1 first; connect tries each address.
        assert!(c.is_ok(), "{c:?}");
    }));
}

#[test]
fn connect_refused_and_timeout() {
    eddy::run(within(10, async {
        // A port nobody listens on: bind then drop to find one.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let err = TcpStream::connect(("127.0.0.1", port)).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);

        // A listener whose accept queue is full drops further SYNs, so a
        // connect to it hangs until the timeout.
        let sock =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        sock.bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
            .unwrap();
        sock.listen(0).unwrap();
        let addr = sock.local_addr().unwrap().as_socket().unwrap();
        let mut fillers = Vec::new();
        let start = Instant::now();
        let mut timed_out = false;
        for _ in 0..8 {
            match TcpStream::connect_timeout(addr, Duration::from_millis(200)).await {
                Ok(s) => fillers.push(s),
                Err(e) => {
                    assert_eq!(e.kind(), io::ErrorKind::TimedOut, "{e}");
                    timed_out = true;
                    break;
                }
            }
        }
        assert!(timed_out, "a full accept queue never made connect time out");
        assert!(start.elapsed() >= Duration::from_millis(200));
    }));
}

#[test]
fn half_close_gives_eof_and_keeps_the_other_direction() {
    eddy::run(within(10, async {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        let (mut s, _) = l.accept().await.unwrap();
        c.write_all(b"request").await.unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"request");
        // EOF again, not an error, on a further read.
        assert_eq!(s.read(&mut [0; 8]).await.unwrap(), 0);
        // The server can still answer on its direction.
        s.write_all(b"response").await.unwrap();
        s.close().await.unwrap();
        let mut back = Vec::new();
        c.read_to_end(&mut back).await.unwrap();
        assert_eq!(back, b"response");
    }));
}

#[test]
fn peer_reset_is_connection_reset() {
    eddy::run(within(10, async {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        let (mut s, _) = l.accept().await.unwrap();
        // Linger 0: closing sends RST instead of FIN.
        c.set_linger(Some(Duration::ZERO)).unwrap();
        drop(c);
        let err = s.read(&mut [0; 8]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
        // Writing to the reset connection fails too (no SIGPIPE crash).
        let mut write_err = None;
        for _ in 0..10 {
            if let Err(e) = s.write_all(&[0; 1024]).await {
                write_err = Some(e);
                break;
            }
        }
        let kind = write_err
            .expect("writes kept succeeding after a reset")
            .kind();
        assert!(
            matches!(
                kind,
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
            ),
            "{kind:?}"
        );
    }));
}

struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn dropped_streams_deregister_and_are_never_woken() {
    eddy::run(within(10, async {
        let reactor = eddy::Handle::current().reactor().clone();
        let base = reactor.source_count();
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        let (mut s, _) = l.accept().await.unwrap();
        let (u1, u2) = UnixStream::pair().unwrap();
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        assert_eq!(reactor.source_count(), base + 6);

        // A read that waits, with a waker we can watch.
        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let waker = counter.clone().into();
        let mut cx = Context::from_waker(&waker);
        let mut buf = [0u8; 8];
        {
            let read = std::pin::pin!(c.read(&mut buf));
            assert!(read.poll(&mut cx).is_pending());
        }
        drop(c);
        let woken_at_drop = counter.0.load(Ordering::SeqCst);
        // Activity on the dead connection's peer must not reach the waker.
        let _ = s.write_all(b"to nobody").await;
        let _ = s.read(&mut buf).await;
        eddy::sleep(Duration::from_millis(30)).await;
        assert_eq!(counter.0.load(Ordering::SeqCst), woken_at_drop);

        drop((l, s, u1, u2, udp));
        assert_eq!(reactor.source_count(), base);
    }));
}

#[test]
fn split_halves_and_incoming_stream() {
    eddy::run(within(10, async {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let server = eddy::spawn(async move {
            let mut served = 0;
            let mut incoming = l.incoming();
            while let Some(conn) = incoming.next().await {
                let conn = conn.unwrap();
                // Owned halves in two tasks: an uppercasing echo.
                let (r, mut w) = conn.into_split();
                eddy::spawn(async move {
                    let mut lines = futures_lite::io::BufReader::new(r).lines();
                    while let Some(Ok(line)) = lines.next().await {
                        w.write_all(format!("{}\n", line.to_uppercase()).as_bytes())
                            .await
                            .unwrap();
                    }
                })
                .detach();
                served += 1;
                if served == 3 {
                    return served;
                }
            }
            served
        });
        for i in 0..3 {
            let (mut reader, mut writer) = open_connection(addr).await.unwrap();
            writer.write(format!("hello {i}\n").as_bytes());
            writer.drain().await.unwrap();
            assert_eq!(
                reader.readline().await.unwrap(),
                format!("HELLO {i}\n").as_bytes()
            );
        }
        assert_eq!(server.await.unwrap(), 3);

        // Reuniting halves of different streams is refused.
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let a = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        let b = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        let (ar, aw) = a.into_split();
        let (br, bw) = b.into_split();
        let eddy::net::tcp::ReuniteError(ar, bw) = ar.reunite(bw).unwrap_err();
        assert!(ar.reunite(aw).is_ok());
        assert!(br.reunite(bw).is_ok());
    }));
}

#[test]
fn start_server_serves_each_connection_in_a_task() {
    eddy::run(within(10, async {
        let server = start_server("127.0.0.1:0", |mut reader, mut writer| async move {
            while let Ok(line) = reader.readline().await {
                if line.is_empty() {
                    break;
                }
                writer.write(&line);
                if writer.drain().await.is_err() {
                    break;
                }
            }
        })
        .await
        .unwrap();
        let addr = server.local_addr();
        let clients: Vec<_> = (0..20)
            .map(|i| {
                eddy::spawn(async move {
                    let (mut r, mut w) = open_connection(addr).await?;
                    for j in 0..5 {
                        w.write(format!("{i}-{j}\n").as_bytes());
                        w.drain().await?;
                        assert_eq!(r.readline().await?, format!("{i}-{j}\n").as_bytes());
                    }
                    w.write_eof().await?;
                    assert_eq!(r.read_to_end().await?, b"");
                    Ok::<_, io::Error>(())
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap().unwrap();
        }
        server.close();
    }));
}

#[test]
fn udp_and_unix_sockets() {
    eddy::run(within(10, async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        for i in 0..50u8 {
            a.send_to(&[i; 10], b.local_addr().unwrap()).await.unwrap();
            let mut buf = [0; 16];
            let (n, from) = b.recv_from(&mut buf).await.unwrap();
            assert_eq!((&buf[..n], from), (&[i; 10][..], a.local_addr().unwrap()));
        }

        let dir = std::env::temp_dir().join(format!("eddy-net-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("stream.sock");
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).unwrap();
        let mut client = UnixStream::connect(&path).await.unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        client.write_all(b"over unix").await.unwrap();
        client.close().await.unwrap();
        let mut got = String::new();
        server.read_to_string(&mut got).await.unwrap();
        assert_eq!(got, "over unix");

        let dpath = dir.join("dgram.sock");
        let _ = std::fs::remove_file(&dpath);
        let d = UnixDatagram::bind(&dpath).unwrap();
        let c = UnixDatagram::unbound().unwrap();
        c.send_to(b"datagram", &dpath).await.unwrap();
        let mut buf = [0; 16];
        let n = d.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"datagram");
        std::fs::remove_dir_all(&dir).unwrap();
    }));
}

/// Runs the HTTP example server on a runtime of its own thread; returns its
/// address and a guard that stops it.
fn http_server(threads: usize) -> (SocketAddr, impl Drop) {
    struct Stop(
        Option<std::sync::mpsc::Sender<()>>,
        Option<std::thread::JoinHandle<()>>,
    );
    impl Drop for Stop {
        fn drop(&mut self) {
            drop(self.0.take());
            if let Some(t) = self.1.take() {
                t.join().unwrap();
            }
        }
    }
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        let rt = if threads == 1 {
            eddy::Builder::current_thread().build().unwrap()
        } else {
            eddy::Builder::multi_thread()
                .worker_threads(threads)
                .build()
                .unwrap()
        };
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            let server = eddy::spawn(http_hello::serve(listener));
            // Poll for the stop signal without blocking the loop.
            while matches!(
                stop_rx.try_recv(),
                Err(std::sync::mpsc::TryRecvError::Empty)
            ) {
                eddy::sleep(Duration::from_millis(10)).await;
            }
            server.cancel();
        });
    });
    let addr = addr_rx.recv().unwrap();
    (addr, Stop(Some(stop_tx), Some(thread)))
}

#[test]
fn curl_against_http_hello() {
    if !tool("curl") {
        return;
    }
    let (addr, _server) = http_server(1);
    let url = format!("http://{addr}/");
    let run = |args: &[&str]| {
        let out = std::process::Command::new("curl")
            .args(["--silent", "--show-error", "--max-time", "10"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "curl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    // Two requests on one kept-alive connection, headers included.
    let out = run(&["--include", &url, &format!("{url}again")]);
    assert_eq!(out.matches("HTTP/1.1 200 OK\r\n").count(), 2, "{out}");
    assert_eq!(out.matches("Hello, world!").count(), 2, "{out}");
    assert!(out.contains("Content-Length: 13\r\n"), "{out}");
    // A POST with a body, HTTP/1.0, and HEAD.
    assert_eq!(run(&["--data", "some=body", &url]), "Hello, world!");
    assert_eq!(run(&["--http1.0", &url]), "Hello, world!");
    let head = run(&["--head", &url]);
    assert!(
        head.starts_with("HTTP/1.1 200 OK\r\n") && !head.contains("Hello"),
        "{head}"
    );
    // Status only, over several parallel curls.
    let codes = run(&[
        "--parallel",
        "--write-out",
        "%{http_code}\n",
        "--output",
        "/dev/null",
        "--output",
        "/dev/null",
        "--output",
        "/dev/null",
        &url,
        &url,
        &url,
    ]);
    assert_eq!(codes.lines().filter(|l| *l == "200").count(), 3, "{codes}");
}

const PY_SERVER: &str = r#"
import asyncio, sys

async def handle(reader, writer):
    while True:
        line = await reader.readline()
        if not line:
            break
        writer.write(b"py:" + line.upper())
        await writer.drain()
    writer.write(b"bye\n")
    await writer.drain()
    writer.close()
    await writer.wait_closed()

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await asyncio.wait_for(server.serve_forever(), timeout=60)

try:
    asyncio.run(main())
except asyncio.TimeoutError:
    pass
"#;

#[test]
fn eddy_client_against_python_asyncio_server() {
    if !tool("python3") {
        return;
    }
    eddy::run(within(60, async {
        // The server runs as an eddy child process; its port comes on stdout.
        let mut py = eddy::process::Command::new("python3")
            .args(["-c", PY_SERVER])
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut stdout = futures_lite::io::BufReader::new(py.stdout.take().unwrap());
        let mut port = String::new();
        stdout.read_line(&mut port).await.unwrap();
        let port: u16 = port.trim().parse().expect("python printed its port");

        let clients: Vec<_> = (0..10)
            .map(|i| {
                eddy::spawn(async move {
                    let (mut r, mut w) = open_connection(("127.0.0.1", port)).await?;
                    for j in 0..10 {
                        w.write(format!("hello {i} {j}\n").as_bytes());
                        w.drain().await?;
                        assert_eq!(
                            r.readline().await?,
                            format!("py:HELLO {i} {j}\n").as_bytes()
                        );
                    }
                    // Half-close: Python sees EOF, says bye, and closes.
                    w.write_eof().await?;
                    assert_eq!(r.read_to_end().await?, b"bye\n");
                    Ok::<_, io::Error>(())
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap().unwrap();
        }
        py.kill().unwrap();
        py.wait().await.unwrap();
    }));
}

#[test]
fn wrk_load_against_http_hello() {
    if !tool("wrk") {
        return;
    }
    let (addr, _server) = http_server(2);
    let out = std::process::Command::new("wrk")
        .args(["-t2", "-c50", "-d2s", "--timeout", "5s"])
        .arg(format!("http://{addr}/"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // wrk counts a response it cannot parse as a read error and a non-2xx
    // status separately; neither may appear.
    assert!(!text.contains("Socket errors"), "{text}");
    assert!(!text.contains("Non-2xx"), "{text}");
    let requests: u64 = text
        .lines()
        .find_map(|l| {
            l.trim()
                .split_once(" requests in ")
                .map(|(n, _)| n.trim().parse().unwrap())
        })
        .expect("wrk printed a request count");
    assert!(requests > 100, "only {requests} requests");
}

/// Environment variable that makes the `child_*` tests do their work; they
/// are run in a fresh process (see `run_child`) because they change
/// process-wide state (the descriptor limit) or count descriptors.
const CHILD_ENV: &str = "EDDY_NET_CHILD";

fn run_child(name: &str) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            name,
            "--include-ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD_ENV, name)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "child test {name} failed");
    assert!(stdout.contains("1 passed"), "child test {name} did not run");
}

fn is_child(name: &str) -> bool {
    std::env::var(CHILD_ENV).is_ok_and(|v| v == name)
}

/// User + system CPU time of this process, from an open `/proc/self/stat`
/// (opened beforehand: the caller may be out of descriptors).
fn cpu_time(stat_file: &mut std::fs::File) -> Option<Duration> {
    use std::io::{Read, Seek};
    stat_file.rewind().ok()?;
    let mut stat = String::new();
    stat_file.read_to_string(&mut stat).ok()?;
    let rest = stat.rsplit_once(") ")?.1;
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux ABI.
    Some(Duration::from_millis(ticks * 10))
}

#[test]
fn accept_backs_off_on_emfile_and_recovers() {
    if std::fs::metadata("/proc/self/fd").is_err() {
        println!("SKIPPED: needs /proc to count descriptors");
        return;
    }
    run_child("child_emfile");
}

#[test]
#[ignore = "run in its own process by accept_backs_off_on_emfile_and_recovers"]
fn child_emfile() {
    if !is_child("child_emfile") {
        return;
    }
    let limit = (open_fds() + 64) as u64;
    set_soft_fd_limit(Some(limit)).unwrap();

    eddy::run(within(30, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Connections wait in the kernel's queue before we run out.
        let mut clients = Vec::new();
        for _ in 0..3 {
            clients.push(TcpStream::connect(addr).await.unwrap());
        }
        let mut stat = std::fs::File::open("/proc/self/stat").unwrap();
        // Use up every descriptor (bounded by the lowered limit).
        let mut hog = Vec::new();
        loop {
            match std::fs::File::open("/dev/null") {
                Ok(f) => hog.push(f),
                Err(e) => {
                    assert_eq!(
                        e.raw_os_error(),
                        Some(rustix::io::Errno::MFILE.raw_os_error())
                    );
                    break;
                }
            }
            assert!(hog.len() < 1000, "the descriptor limit did not apply");
        }
        let accepted = Arc::new(AtomicUsize::new(0));
        let acceptor = {
            let accepted = accepted.clone();
            eddy::spawn(async move {
                let mut conns = Vec::new();
                for _ in 0..3 {
                    conns.push(listener.accept().await.unwrap().0);
                    accepted.fetch_add(1, Ordering::SeqCst);
                }
                conns
            })
        };
        // Out of descriptors: nothing is accepted, and the loop does not spin.
        let cpu_before = cpu_time(&mut stat);
        let wall = Instant::now();
        eddy::sleep(Duration::from_millis(600)).await;
        assert_eq!(accepted.load(Ordering::SeqCst), 0);
        let (Some(a), Some(b)) = (cpu_before, cpu_time(&mut stat)) else {
            panic!("could not read CPU time from /proc/self/stat");
        };
        {
            let used = b.saturating_sub(a);
            println!(
                "CPU used while backing off: {used:?} in {:?}",
                wall.elapsed()
            );
            assert!(
                used < Duration::from_millis(150),
                "accept spun: {used:?} of CPU"
            );
        }
        // Free the descriptors: accept recovers by itself.
        drop(hog);
        let conns = acceptor.await.unwrap();
        assert_eq!(conns.len(), 3);
        // And the connections work.
        for (mut s, mut c) in conns.into_iter().zip(clients) {
            s.write_all(b"ok").await.unwrap();
            let mut buf = [0; 2];
            c.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"ok");
        }
    }));
}

#[test]
fn no_descriptor_leaks() {
    if std::fs::metadata("/proc/self/fd").is_err() {
        println!("SKIPPED: needs /proc to count descriptors");
        return;
    }
    run_child("child_no_leaks");
}

#[test]
#[ignore = "run in its own process by no_descriptor_leaks"]
fn child_no_leaks() {
    if !is_child("child_no_leaks") {
        return;
    }
    let rt = eddy::Builder::current_thread().build().unwrap();
    // Warm up once so lazily created descriptors (e.g. the resolver's) exist.
    let cycle = || {
        rt.block_on(within(30, async {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            for _ in 0..50 {
                let mut c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
                let (mut s, _) = l.accept().await.unwrap();
                c.write_all(b"x").await.unwrap();
                s.read_exact(&mut [0; 1]).await.unwrap();
                let (r, w) = s.into_split();
                drop((c, r, w));
            }
            let _ = TcpStream::connect(("localhost", l.local_addr().unwrap().port())).await;
            let (a, b) = UnixStream::pair().unwrap();
            let (d1, d2) = UnixDatagram::pair().unwrap();
            let u = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            drop((a, b, d1, d2, u));
            let out = eddy::process::Command::new("true").output().await.unwrap();
            assert!(out.status.success());
        }))
    };
    cycle();
    let before = open_fds();
    for _ in 0..3 {
        cycle();
    }
    assert_eq!(open_fds(), before, "descriptors leaked");
}
