//! Faults provoked on purpose, kept as regression tests (bounded in time
//! and size), on both flavours: wakers that panic, runtimes dropped with
//! many live tasks and sockets, and bad input at the API's edges.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Wake, Waker};
use std::time::Duration;

use eddy::{Builder, Runtime, sleep, spawn, yield_now};
use eddy_tests::{fd_limit, open_fds, set_soft_fd_limit};

struct DropCounter(Arc<AtomicUsize>);
impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn both_flavours() -> [Runtime; 2] {
    [
        Builder::current_thread().build().unwrap(),
        Builder::multi_thread().worker_threads(2).build().unwrap(),
    ]
}

/// A user-made waker whose `wake` panics.
struct PanickingWaker;
impl Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        panic!("wake exploded");
    }
}

/// Polls `fut` once with a waker that panics when woken, then keeps it
/// registered (not dropped) until the returned guard goes away.
fn register_with_panicking_waker<F: Future + Unpin>(mut fut: F) -> F {
    let waker = Waker::from(Arc::new(PanickingWaker));
    let mut cx = Context::from_waker(&waker);
    assert!(Pin::new(&mut fut).poll(&mut cx).is_pending());
    fut
}

#[test]
fn a_panicking_waker_in_a_timer_fails_only_whoever_woke_it() {
    for rt in both_flavours() {
        rt.block_on(async {
            let sleep_guard =
                register_with_panicking_waker(Box::pin(sleep(Duration::from_millis(5))));
            // The timer fires while the guard is alive; the runtime must
            // keep running and keep firing other timers.
            for _ in 0..3 {
                sleep(Duration::from_millis(10)).await;
            }
            assert_eq!(spawn(async { 1 }).await.unwrap(), 1);
            drop(sleep_guard);
        });
    }
}

#[test]
fn a_panicking_waker_on_a_socket_fails_only_whoever_woke_it() {
    use futures_lite::{AsyncReadExt, AsyncWriteExt};
    for rt in both_flavours() {
        rt.block_on(async {
            let (mut a, mut b) = eddy::net::UnixStream::pair().unwrap();
            // Another reader whose wake-up must still arrive.
            let (mut c, mut d) = eddy::net::UnixStream::pair().unwrap();
            let other = spawn(async move {
                let mut buf = [0u8; 1];
                c.read_exact(&mut buf).await.map(|_| buf[0])
            });
            yield_now().await;
            let guard = register_with_panicking_waker(Box::pin(async move {
                let mut buf = [0u8; 1];
                a.read_exact(&mut buf).await
            }));
            b.write_all(b"x").await.unwrap();
            d.write_all(b"y").await.unwrap();
            assert_eq!(other.await.unwrap().unwrap(), b'y');
            for _ in 0..3 {
                sleep(Duration::from_millis(1)).await;
            }
            drop(guard);
            assert_eq!(spawn(async { 2 }).await.unwrap(), 2);
        });
    }
}

#[test]
fn a_panic_in_a_group_child_and_in_a_pool_job_reach_their_awaiters() {
    for rt in both_flavours() {
        rt.block_on(async {
            let err = eddy::task_group(|tg| async move {
                tg.spawn(async {
                    yield_now().await;
                    if std::hint::black_box(true) {
                        panic!("child exploded");
                    }
                });
            })
            .await
            .unwrap_err();
            assert_eq!(err.panics().count(), 1);

            let job = eddy::unblock(|| -> u8 { panic!("job exploded") }).await;
            assert!(matches!(
                job,
                Err(eddy::blocking::BlockingError::Panicked(_))
            ));
            // The runtime and its pool carry on.
            assert_eq!(eddy::unblock(|| 3).await.unwrap(), 3);
            assert_eq!(spawn(async { 4 }).await.unwrap(), 4);
        });
    }
}

const CHILD_ENV: &str = "EDDY_FAULTS_CHILD";

/// Runs the `#[ignore]`d test `name` alone in a child process: counting
/// this process's descriptors needs no other test running beside it.
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

#[test]
fn dropping_a_runtime_with_10k_tasks_and_open_sockets_cleans_up() {
    run_child("child_drop_runtime_with_live_tasks");
}

#[test]
#[ignore = "run in its own process by dropping_a_runtime_with_10k_tasks_and_open_sockets_cleans_up"]
fn child_drop_runtime_with_live_tasks() {
    if std::env::var(CHILD_ENV).as_deref() != Ok("child_drop_runtime_with_live_tasks") {
        return;
    }
    const TASKS: usize = 10_000;
    const SOCKETS: usize = 100;
    let before = open_fds();
    for rt in both_flavours() {
        let drops = Arc::new(AtomicUsize::new(0));
        let d = drops.clone();
        rt.block_on(async move {
            for _ in 0..TASKS {
                let guard = DropCounter(d.clone());
                spawn(async move {
                    let _guard = guard;
                    sleep(Duration::from_secs(3600)).await;
                })
                .detach();
            }
            let listener = eddy::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            for _ in 0..SOCKETS {
                let client = eddy::net::TcpStream::connect(addr).await.unwrap();
                let (server, _) = listener.accept().await.unwrap();
                let guard = DropCounter(d.clone());
                spawn(async move {
                    let _guard = guard;
                    let _keep = (client, server);
                    std::future::pending::<()>().await;
                })
                .detach();
            }
            drop(listener);
            yield_now().await;
        });
        drop(rt);
        assert_eq!(
            drops.load(Ordering::SeqCst),
            TASKS + SOCKETS,
            "every destructor ran once"
        );
    }
    assert!(
        open_fds() <= before,
        "descriptors left open: {} before, {} after",
        before,
        open_fds()
    );
}

#[test]
fn bad_input_at_the_edges_gives_documented_results() {
    for rt in both_flavours() {
        rt.block_on(async {
            // Deadlines past `Instant`'s range saturate: no overflow, no hang.
            assert_eq!(eddy::timeout(Duration::MAX, async { 1 }).await, Ok(1));
            let mut far = Box::pin(sleep(Duration::MAX));
            assert!(futures_lite::future::poll_once(&mut far).await.is_none());
            assert!(
                eddy::timeout(Duration::from_millis(1), far).await.is_err(),
                "a sleep of Duration::MAX never fires"
            );
            // `interval(0)` is refused with a clear panic at the call site.
            let zero = std::panic::catch_unwind(|| eddy::time::interval(Duration::ZERO));
            let msg = zero.err().and_then(|p| {
                p.downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
            });
            assert!(msg.unwrap_or_default().contains("period"), "unclear panic");

            // A bounded semaphore refuses to be released past its bound.
            let sem = eddy::sync::BoundedSemaphore::new(1);
            assert!(sem.release(1).is_err());
            assert_eq!(sem.available_permits(), 1);

            // asyncio: maxsize 0 is unbounded.
            let q = eddy::sync::Queue::new(0);
            for i in 0..10_000 {
                q.try_put(i).unwrap();
            }
            assert_eq!(q.len(), 10_000);
        });
    }
}

#[test]
fn a_million_sleeping_tasks_all_finish_with_the_right_result() {
    const TASKS: u64 = 1_000_000;
    for rt in both_flavours() {
        let sum = rt.block_on(async {
            let tasks: Vec<_> = (0..TASKS)
                .map(|i| {
                    spawn(async move {
                        sleep(Duration::from_millis(1 + i % 50)).await;
                        i
                    })
                })
                .collect();
            let mut sum = 0u64;
            for t in tasks {
                sum += t.await.unwrap();
            }
            sum
        });
        assert_eq!(sum, TASKS * (TASKS - 1) / 2);
    }
}

/// Raises the soft descriptor limit as far as the hard one allows; returns
/// the soft limit now in force.
fn raise_fd_limit() -> u64 {
    let (_, hard) = fd_limit();
    if hard.is_some() {
        let _ = set_soft_fd_limit(hard);
    }
    fd_limit().0.unwrap_or(u64::MAX)
}

#[test]
fn ten_thousand_concurrent_echo_connections() {
    use futures_lite::{AsyncReadExt, AsyncWriteExt};
    // Two descriptors per connection (both ends live in this process).
    let limit = raise_fd_limit();
    let conns = 10_000usize.min(((limit.saturating_sub(200)) / 2) as usize);
    if conns < 10_000 {
        eprintln!("descriptor limit {limit}: testing {conns} connections, not 10000");
    }
    for rt in both_flavours() {
        let echoed = rt.block_on(async move {
            let listener = eddy::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = spawn(async move {
                for _ in 0..conns {
                    let (mut s, _) = listener.accept().await.unwrap();
                    spawn(async move {
                        let mut buf = [0u8; 8];
                        s.read_exact(&mut buf).await.unwrap();
                        s.write_all(&buf).await.unwrap();
                    })
                    .detach();
                }
            });
            // Every connection is open before any echo starts.
            let all_open = Arc::new(eddy::sync::Barrier::new(conns));
            let clients: Vec<_> = (0..conns)
                .map(|i| {
                    let all_open = all_open.clone();
                    spawn(async move {
                        let mut c = eddy::net::TcpStream::connect(addr).await.unwrap();
                        all_open.wait().await.unwrap();
                        let msg = (i as u64).to_le_bytes();
                        c.write_all(&msg).await.unwrap();
                        let mut back = [0u8; 8];
                        c.read_exact(&mut back).await.unwrap();
                        back == msg
                    })
                })
                .collect();
            let mut ok = 0;
            for c in clients {
                ok += usize::from(c.await.unwrap());
            }
            server.await.unwrap();
            ok
        });
        assert_eq!(echoed, conns);
    }
}

#[test]
fn spawning_after_shutdown_gives_a_cancelled_task_at_once() {
    for rt in both_flavours() {
        let handle = rt.handle();
        drop(rt);
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        let late = handle.spawn(async move {
            r.fetch_add(1, Ordering::SeqCst);
        });
        assert!(
            late.is_finished(),
            "a task spawned after shutdown must not wait in a queue"
        );
        assert!(
            futures_lite::future::block_on(late)
                .unwrap_err()
                .is_cancelled()
        );
        assert_eq!(ran.load(Ordering::SeqCst), 0);
    }
}

/// Clients for [`a_server_short_of_descriptors_serves_every_client`].
const SHORT_CLIENTS: usize = 200;

/// `ulimit -n 64` against 200 concurrent clients: the server (a child
/// process with the lowered limit, on each flavour in turn) runs out of
/// descriptors, backs off, and serves every client as earlier ones finish.
/// The clients run here, in threads, outside the limit.
#[test]
fn a_server_short_of_descriptors_serves_every_client() {
    use std::io::{BufRead, BufReader, Read, Write};
    if std::fs::metadata("/proc/self/fd").is_err() {
        println!("SKIPPED: needs /proc to count descriptors");
        return;
    }
    let name = "child_short_of_descriptors";
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--include-ignored", "--nocapture"])
        .args(["--test-threads", "1"])
        .env(CHILD_ENV, name)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut served = 0;
    let mut transcript = String::new();
    while let Some(Ok(line)) = lines.next() {
        transcript.push_str(&line);
        transcript.push('\n');
        // The harness's "test name ... " shares the line.
        let Some((_, port)) = line.split_once("EDDY_PORT ") else {
            continue;
        };
        let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        // Every client connects before any sends, so the server holds more
        // connections at once than it has descriptors: it must hit EMFILE.
        let all_connected = Arc::new(std::sync::Barrier::new(SHORT_CLIENTS));
        let clients: Vec<_> = (0..SHORT_CLIENTS as u64)
            .map(|i| {
                let all_connected = all_connected.clone();
                std::thread::spawn(move || {
                    let mut c = std::net::TcpStream::connect(addr).unwrap();
                    all_connected.wait();
                    c.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
                    c.write_all(&i.to_le_bytes()).unwrap();
                    let mut back = [0u8; 8];
                    c.read_exact(&mut back).unwrap();
                    u64::from_le_bytes(back) == i
                })
            })
            .collect();
        let echoed = clients
            .into_iter()
            .map(|c| c.join().unwrap())
            .filter(|&b| b);
        assert_eq!(echoed.count(), SHORT_CLIENTS, "every client gets its echo");
        served += 1;
    }
    let status = child.wait().unwrap();
    println!("{transcript}");
    assert!(status.success(), "the server child failed");
    assert!(
        transcript.contains("1 passed"),
        "the server child did not run"
    );
    assert_eq!(served, 2, "one round per flavour");
}

#[test]
#[ignore = "run in its own process by a_server_short_of_descriptors_serves_every_client"]
fn child_short_of_descriptors() {
    use futures_lite::{AsyncReadExt, AsyncWriteExt};
    if std::env::var(CHILD_ENV).as_deref() != Ok("child_short_of_descriptors") {
        return;
    }
    for rt in both_flavours() {
        // `ulimit -n 64`, or a little above what is open already if the
        // harness holds more.
        let limit = 64.max(open_fds() as u64 + 16);
        let (old, _) = fd_limit();
        set_soft_fd_limit(Some(limit)).unwrap();
        // Bounded: a server that stops accepting fails here, not by hanging.
        let served = rt.block_on(async {
            eddy::timeout(Duration::from_secs(60), async {
                let listener = eddy::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                println!("EDDY_PORT {}", listener.local_addr().unwrap().port());
                let mut echoes = Vec::new();
                for _ in 0..SHORT_CLIENTS {
                    let (mut s, _) = listener.accept().await.unwrap();
                    echoes.push(spawn(async move {
                        let mut buf = [0u8; 8];
                        s.read_exact(&mut buf).await.unwrap();
                        s.write_all(&buf).await.unwrap();
                    }));
                }
                for e in echoes {
                    e.await.unwrap();
                }
            })
            .await
        });
        served.expect("every client served within a minute");
        set_soft_fd_limit(old).unwrap();
    }
}
