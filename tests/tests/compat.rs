//! tokio-bound code inside eddy through `eddy::compat` (async-compat), on
//! both flavours.

use std::time::Duration;

use eddy::compat::{Compat, CompatExt};
use eddy::{Builder, Runtime};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

fn both_flavours() -> [Runtime; 2] {
    [
        Builder::current_thread().build().unwrap(),
        Builder::multi_thread().worker_threads(2).build().unwrap(),
    ]
}

#[test]
fn a_tokio_client_talks_to_an_eddy_server() {
    for rt in both_flavours() {
        rt.block_on(async {
            let listener = eddy::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = eddy::spawn(async move {
                for _ in 0..4 {
                    let (mut conn, _) = listener.accept().await.unwrap();
                    eddy::spawn(async move {
                        let mut buf = [0u8; 5];
                        conn.read_exact(&mut buf).await.unwrap();
                        conn.write_all(&buf).await.unwrap();
                    })
                    .detach();
                }
            });
            let clients = (0..4u8).map(|i| {
                eddy::spawn(
                    async move {
                        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
                        let msg = [i; 5];
                        s.write_all(&msg).await.unwrap();
                        let mut back = [0u8; 5];
                        s.read_exact(&mut back).await.unwrap();
                        tokio::time::sleep(Duration::from_millis(1)).await;
                        back == msg
                    }
                    .compat(),
                )
            });
            for ok in eddy::gather_all(clients).await {
                assert!(ok.unwrap());
            }
            server.await.unwrap();
        });
    }
}

#[test]
fn a_tokio_stream_is_futures_io_through_compat() {
    eddy::run(async {
        let listener = eddy::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let echo = eddy::spawn(async move {
            let (mut c, _) = listener.accept().await.unwrap();
            let mut line = Vec::new();
            c.read_to_end(&mut line).await.unwrap();
            line
        });
        let tokio_stream = Compat::new(tokio::net::TcpStream::connect(addr))
            .await
            .unwrap();
        // futures-io's AsyncWriteExt on a tokio stream.
        let mut io = Compat::new(tokio_stream);
        io.write_all(b"through compat").await.unwrap();
        io.close().await.unwrap();
        assert_eq!(echo.await.unwrap(), b"through compat");
    });
}

#[test]
fn without_compat_a_tokio_future_panics_into_its_task_only() {
    // The failure compat exists for: tokio's timer needs a tokio runtime.
    // The panic is the task's, reported to its awaiter; eddy carries on.
    eddy::run(async {
        let t = eddy::spawn(async { tokio::time::sleep(Duration::from_millis(1)).await });
        let err = t.await.unwrap_err();
        assert!(err.is_panic());
        // tokio's constructors need the runtime too: build the future inside
        // the wrapped block.
        let ok = eddy::spawn(async { tokio::time::sleep(Duration::from_millis(1)).await }.compat());
        ok.await.unwrap();
    });
}
