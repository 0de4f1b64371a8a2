//! hyper on eddy against real peers: curl (HTTP/1.1 and HTTP/2 prior
//! knowledge) and hyper's own client on eddy, on both flavours, and a
//! graceful shutdown with connections still open.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use eddy::hyper::hyper::body::Incoming;
use eddy::hyper::hyper::service::service_fn;
use eddy::hyper::hyper::{Request, Response, StatusCode};
use eddy::hyper::{EddyExecutor, HyperIo};
use eddy::net::{TcpListener, TcpStream};
use eddy::sync::{Event, oneshot};
use eddy::{Builder, Runtime};
use http_body_util::{BodyExt, Empty, Full};

fn both_flavours() -> [Runtime; 2] {
    [
        Builder::current_thread().build().unwrap(),
        Builder::multi_thread().worker_threads(2).build().unwrap(),
    ]
}

async fn hello(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = format!("Hello, world! ({:?})", req.version());
    Ok(Response::new(Full::new(Bytes::from(body))))
}

/// Starts `serve` on a fresh loopback port; returns its address, the
/// trigger that shuts it down, and its task.
async fn start() -> (
    SocketAddr,
    oneshot::Sender<()>,
    eddy::Task<std::io::Result<eddy::hyper::ServeSummary>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = eddy::spawn(async move {
        let shutdown = async move {
            let _ = stopped.await;
        };
        eddy::hyper::serve(listener.incoming(), service_fn(hello), shutdown).await
    });
    (addr, stop, server)
}

fn curl(args: &[&str]) -> String {
    let out = Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "20"])
        .args(args)
        .output()
        .expect("curl must be installed (.ci/run installs it)");
    assert!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn curl_speaks_http1_and_http2_to_an_eddy_server() {
    for rt in both_flavours() {
        rt.block_on(async {
            let (addr, stop, server) = start().await;
            let url = format!("http://{addr}/");
            let url2 = url.clone();
            let h1 = eddy::unblock(move || curl(&[&url])).await.unwrap();
            assert_eq!(h1, "Hello, world! (HTTP/1.1)");
            let h2 = eddy::unblock(move || curl(&["--http2-prior-knowledge", &url2]))
                .await
                .unwrap();
            assert_eq!(h2, "Hello, world! (HTTP/2.0)");
            stop.send(()).unwrap();
            let summary = server.await.unwrap().unwrap();
            assert_eq!(summary.connections, 2);
        });
    }
}

#[test]
fn hyper_client_on_eddy_talks_http1_and_http2() {
    for rt in both_flavours() {
        rt.block_on(async {
            let (addr, stop, server) = start().await;

            let stream = TcpStream::connect(addr).await.unwrap();
            let (mut h1, conn) =
                eddy::hyper::hyper::client::conn::http1::handshake(HyperIo::new(stream))
                    .await
                    .unwrap();
            let conn1 = eddy::spawn(conn);
            for _ in 0..3 {
                // Keep-alive: three requests on one connection.
                let req = Request::get("/")
                    .header("host", "localhost")
                    .body(Empty::<Bytes>::new())
                    .unwrap();
                // hyper's contract: a keep-alive connection takes the next
                // request only once the connection task has finished the last
                // one; `ready` waits for that (skipping it races on the
                // multi-threaded runtime and fails with "connection was not ready").
                h1.ready().await.unwrap();
                let resp = h1.send_request(req).await.unwrap();
                assert_eq!(resp.status(), StatusCode::OK);
                let body = resp.into_body().collect().await.unwrap().to_bytes();
                assert_eq!(body, "Hello, world! (HTTP/1.1)");
            }

            let stream = TcpStream::connect(addr).await.unwrap();
            let (h2, conn) = eddy::hyper::hyper::client::conn::http2::handshake(
                EddyExecutor::current(),
                HyperIo::new(stream),
            )
            .await
            .unwrap();
            let conn2 = eddy::spawn(conn);
            // Eight concurrent streams on one HTTP/2 connection.
            let replies = eddy::gather_all((0..8).map(|_| {
                let mut h2 = h2.clone();
                async move {
                    let req = Request::get("http://localhost/")
                        .body(Empty::<Bytes>::new())
                        .unwrap();
                    let resp = h2.send_request(req).await.unwrap();
                    resp.into_body().collect().await.unwrap().to_bytes()
                }
            }))
            .await;
            assert!(replies.iter().all(|b| b == "Hello, world! (HTTP/2.0)"));

            drop((h1, h2));
            conn1.await.unwrap().unwrap();
            conn2.await.unwrap().unwrap();
            stop.send(()).unwrap();
            assert_eq!(server.await.unwrap().unwrap().connections, 2);
        });
    }
}

#[test]
fn graceful_shutdown_finishes_in_flight_requests_and_closes_idle_ones() {
    for rt in both_flavours() {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let release = Arc::new(Event::new());
            let entered = Arc::new(Event::new());
            let served = Arc::new(AtomicUsize::new(0));
            let (stop, stopped) = oneshot::channel::<()>();
            let (r, e, s) = (release.clone(), entered.clone(), served.clone());
            let service = service_fn(move |req: Request<Incoming>| {
                let (release, entered, served) = (r.clone(), e.clone(), s.clone());
                async move {
                    if req.uri().path() == "/slow" {
                        entered.set();
                        release.wait().await;
                    }
                    served.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("done"))))
                }
            });
            let server = eddy::spawn(async move {
                let shutdown = async move {
                    let _ = stopped.await;
                };
                eddy::hyper::serve(listener.incoming(), service, shutdown).await
            });

            // An idle keep-alive connection (one request served, then quiet).
            let (mut idle, idle_conn) = eddy::hyper::hyper::client::conn::http1::handshake(
                HyperIo::new(TcpStream::connect(addr).await.unwrap()),
            )
            .await
            .unwrap();
            let idle_conn = eddy::spawn(idle_conn);
            let req = Request::get("/")
                .header("host", "x")
                .body(Empty::<Bytes>::new())
                .unwrap();
            assert_eq!(
                idle.send_request(req).await.unwrap().status(),
                StatusCode::OK
            );

            // A request still being handled when shutdown starts.
            let (mut busy, busy_conn) = eddy::hyper::hyper::client::conn::http1::handshake(
                HyperIo::new(TcpStream::connect(addr).await.unwrap()),
            )
            .await
            .unwrap();
            let busy_conn = eddy::spawn(busy_conn);
            let slow = eddy::spawn(async move {
                let req = Request::get("/slow")
                    .header("host", "x")
                    .body(Empty::<Bytes>::new())
                    .unwrap();
                let resp = busy.send_request(req).await.unwrap();
                resp.into_body().collect().await.unwrap().to_bytes()
            });
            entered.wait().await;

            stop.send(()).unwrap();
            // The idle connection is closed by the server...
            idle_conn.await.unwrap().unwrap();
            // ...while the server waits for the in-flight request.
            eddy::sleep(Duration::from_millis(20)).await;
            assert!(
                !server.is_finished(),
                "serve returned with a request in flight"
            );
            release.set();
            assert_eq!(slow.await.unwrap(), "done");
            busy_conn.await.unwrap().unwrap();
            let summary = server.await.unwrap().unwrap();
            assert_eq!(summary.connections, 2);
            assert_eq!(served.load(Ordering::SeqCst), 2);
            drop(idle);
        });
    }
}

#[test]
fn hyper_timeouts_run_on_eddy_virtual_time() {
    // hyper's header-read timeout sleeps on `EddyTimer`: on the test
    // runtime's virtual clock a client that never sends its headers is cut
    // off after hyper's 30 s default, without 30 s of real waiting.
    eddy::test::Builder::new().seed(1).run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = eddy::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            eddy::hyper::serve(listener.incoming(), service_fn(hello), shutdown).await
        });
        let start = eddy::Handle::current().timer().now();
        let mut silent = TcpStream::connect(addr).await.unwrap();
        use futures_lite::{AsyncReadExt, AsyncWriteExt};
        silent.write_all(b"GET / HTTP/1.1\r\n").await.unwrap(); // never finishes the headers
        let mut rest = Vec::new();
        silent.read_to_end(&mut rest).await.unwrap();
        let waited = eddy::Handle::current().timer().now() - start;
        assert!(waited >= Duration::from_secs(30), "closed after {waited:?}");
        stop.send(()).unwrap();
        server.await.unwrap().unwrap();
    });
}
