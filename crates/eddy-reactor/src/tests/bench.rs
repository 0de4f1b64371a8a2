//! Throwaway microbenchmarks (`#[ignore]`d).

use super::*;

/// Throwaway microbenchmark, not a test: run with
/// `cargo test -p eddy-reactor --release -- --ignored --nocapture bench_`.
#[allow(clippy::disallowed_methods)] // measures real time
#[test]
#[ignore]
fn bench_park_zero() {
    const N: u32 = 1_000_000;
    let mut reactor = Reactor::new().unwrap();
    let t = Instant::now();
    for _ in 0..N {
        reactor.park(Some(Duration::ZERO)).unwrap();
    }
    println!(
        "park(ZERO), no sources: {:.1} ns",
        t.elapsed().as_nanos() as f64 / f64::from(N)
    );

    let handle = reactor.handle();
    let pairs: Vec<_> = (0..64)
        .map(|_| {
            let (a, b) = UnixStream::pair().unwrap();
            (Async::with_handle(a, &handle).unwrap(), b)
        })
        .collect();
    reactor.park(Some(Duration::ZERO)).unwrap(); // drain the registration edges
    let t = Instant::now();
    for _ in 0..N {
        reactor.park(Some(Duration::ZERO)).unwrap();
    }
    println!(
        "park(ZERO), 64 idle sources: {:.1} ns",
        t.elapsed().as_nanos() as f64 / f64::from(N)
    );

    let poller = polling::Poller::new().unwrap();
    let mut events = polling::Events::new();
    let t = Instant::now();
    for _ in 0..N / 10 {
        events.clear();
        poller.wait(&mut events, Some(Duration::ZERO)).unwrap();
    }
    println!(
        "bare Poller::wait(ZERO): {:.1} ns",
        t.elapsed().as_nanos() as f64 / f64::from(N / 10)
    );

    let unpark = reactor.unparker();
    let t = Instant::now();
    for _ in 0..N {
        unpark.unpark();
    }
    println!(
        "unpark while idle: {:.1} ns",
        t.elapsed().as_nanos() as f64 / f64::from(N)
    );

    let t = Instant::now();
    for _ in 0..N / 10 {
        unpark.unpark();
        reactor.park(None).unwrap();
    }
    println!(
        "unpark + park(None) same thread: {:.1} ns",
        t.elapsed().as_nanos() as f64 / f64::from(N / 10)
    );
    drop(pairs);
}

/// Throwaway microbenchmark: 64-byte TCP ping-pong on one thread, driven by a
/// minimal "executor" (poll, and park the reactor when pending).
#[allow(clippy::disallowed_methods)] // measures real time
#[test]
#[ignore]
fn bench_tcp_ping_pong() {
    struct Unparker(Arc<dyn eddy_core::Unpark>);
    impl Wake for Unparker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    const N: u32 = 50_000;
    let mut reactor = Reactor::new().unwrap();
    let handle = reactor.handle();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    client.set_nodelay(true).unwrap();
    server.set_nodelay(true).unwrap();
    let mut client = Async::with_handle(client, &handle).unwrap();
    let mut server = Async::with_handle(server, &handle).unwrap();
    let fut = async {
        let (mut a, mut b) = ([1u8; 64], [0u8; 64]);
        let echo = async {
            for _ in 0..N {
                server.read_exact(&mut b).await.unwrap();
                server.write_all(&b).await.unwrap();
            }
        };
        let ping = async {
            for _ in 0..N {
                client.write_all(&a).await.unwrap();
                client.read_exact(&mut a).await.unwrap();
            }
        };
        futures_lite::future::zip(echo, ping).await;
    };
    let mut fut = pin!(fut);
    let waker = Waker::from(Arc::new(Unparker(reactor.unparker())));
    let t = Instant::now();
    let mut parks = 0u32;
    while poll_once(fut.as_mut(), &waker).is_pending() {
        reactor.park(None).unwrap();
        parks += 1;
    }
    let el = t.elapsed();
    println!(
        "tcp ping-pong 64 B, one thread: {:.2} us/round trip, {:.2} parks/round trip",
        el.as_secs_f64() * 1e6 / f64::from(N),
        f64::from(parks) / f64::from(N)
    );
}
