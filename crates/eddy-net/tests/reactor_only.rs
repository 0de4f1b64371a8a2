//! A fresh crate uses the I/O crate with the reactor only: no executor, no
//! timer, no `eddy` facade. One thread drives the reactor; the futures run
//! under `futures_lite::future::block_on`.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use eddy_core::Park;
use eddy_net::{TcpListener, TcpStream, UdpSocket, UnixStream};
use eddy_reactor::Reactor;
use futures_lite::{AsyncReadExt, AsyncWriteExt, future};

/// Runs `fut` with a fresh reactor entered on this thread and driven by
/// another.
fn on_reactor<F: Future>(fut: F) -> F::Output {
    let mut reactor = Reactor::new().expect("reactor");
    let handle = reactor.handle();
    let unpark = reactor.unparker();
    let done = Arc::new(AtomicBool::new(false));
    let driver = {
        let done = done.clone();
        std::thread::spawn(move || {
            while !done.load(Ordering::Acquire) {
                reactor.park(Some(Duration::from_millis(100))).unwrap();
            }
        })
    };
    let out = {
        let _guard = handle.enter();
        future::block_on(fut)
    };
    done.store(true, Ordering::Release);
    unpark.unpark();
    driver.join().unwrap();
    out
}

#[test]
fn tcp_loopback_echo() {
    let echoed = on_reactor(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = async {
            let (mut stream, _) = listener.accept().await?;
            let mut buf = vec![0; 64 * 1024];
            loop {
                let n = stream.read(&mut buf).await?;
                if n == 0 {
                    return Ok::<_, io::Error>(());
                }
                stream.write_all(&buf[..n]).await?;
            }
        };
        let client = async {
            let stream = TcpStream::connect(addr).await?;
            let (mut r, mut w) = stream.into_split();
            // Bigger than the socket buffers, so both sides really wait.
            let sent: Vec<u8> = (0..1_000_000u32).map(|i| i as u8).collect();
            let write = async {
                w.write_all(&sent).await?;
                w.close().await
            };
            let mut got = Vec::new();
            let (wrote, read) = future::zip(write, r.read_to_end(&mut got)).await;
            wrote?;
            read?;
            assert!(got == sent, "echo differs");
            Ok::<_, io::Error>(got.len())
        };
        let (served, echoed) = future::zip(server, client).await;
        served.and(echoed)
    })
    .unwrap();
    assert_eq!(echoed, 1_000_000);
}

#[test]
fn unix_and_udp() {
    on_reactor(async {
        let (mut a, mut b) = UnixStream::pair()?;
        a.write_all(b"ping").await?;
        let mut buf = [0; 4];
        b.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"ping");

        let x = UdpSocket::bind("127.0.0.1:0").await?;
        let y = UdpSocket::bind("127.0.0.1:0").await?;
        x.send_to(b"dgram", y.local_addr()?).await?;
        let mut buf = [0; 16];
        let (n, from) = y.recv_from(&mut buf).await?;
        assert_eq!((&buf[..n], from), (&b"dgram"[..], x.local_addr()?));
        Ok::<_, io::Error>(())
    })
    .unwrap();
}

/// Without the facade's hooks a host name is resolved on a thread of its
/// own, and the event loop still never blocks on it.
#[test]
fn host_names_resolve_without_a_blocking_pool() {
    let addrs = on_reactor(eddy_net::lookup_host("localhost:7")).unwrap();
    assert!(!addrs.is_empty());
    assert!(addrs.iter().all(|a| a.port() == 7 && a.ip().is_loopback()));
}

/// A timeout needs a timer: without one it fails at once, never hangs.
#[test]
fn timeouts_without_a_timer_fail_at_once() {
    let err = on_reactor(async {
        let l = TcpListener::bind("127.0.0.1:0").await?;
        TcpStream::connect_timeout(l.local_addr()?, Duration::from_secs(5)).await
    })
    .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Other);
}

#[test]
fn child_processes_and_their_pipes() {
    on_reactor(async {
        let mut child = eddy_net::process::Command::new("tr")
            .args(["a-z", "A-Z"])
            .stdin(eddy_net::process::Stdio::piped())
            .stdout(eddy_net::process::Stdio::piped())
            .spawn()?;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"quiet").await?;
        drop(stdin);
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .await?;
        assert_eq!(out, "QUIET");
        assert!(child.wait().await?.success());
        // Dropped unreaped: with no executor, a thread reaps it.
        drop(eddy_net::process::Command::new("true").spawn()?);
        Ok::<_, io::Error>(())
    })
    .unwrap();
}

#[test]
#[should_panic(expected = "needs an executor")]
fn start_server_needs_an_executor() {
    let _ = on_reactor(eddy_net::start_server("127.0.0.1:0", |_r, _w| async {}));
}
