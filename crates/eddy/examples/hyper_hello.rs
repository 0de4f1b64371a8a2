//! hyper on eddy: serves `Hello, world!` over HTTP/1.1 and HTTP/2 (prior
//! knowledge) until Ctrl-C, then shuts down gracefully.
//!
//! ```text
//! cargo run --release --example hyper_hello -- 127.0.0.1:3000
//! curl http://127.0.0.1:3000/                          # HTTP/1.1
//! curl --http2-prior-knowledge http://127.0.0.1:3000/  # HTTP/2
//! ```
//!
//! `EDDY_THREADS=N` picks the multi-thread flavour with N workers (default:
//! current-thread).

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use eddy::hyper::hyper::body::Incoming;
use eddy::hyper::hyper::service::service_fn;
use eddy::hyper::hyper::{Request, Response};
use http_body_util::Full;

async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(
        b"Hello, world!",
    ))))
}

fn main() -> std::io::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into())
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let threads: usize = std::env::var("EDDY_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let rt = if threads > 0 {
        eddy::Builder::multi_thread()
            .worker_threads(threads)
            .build()?
    } else {
        eddy::Builder::current_thread().build()?
    };
    rt.block_on(async {
        let listener = eddy::net::TcpListener::bind(addr).await?;
        println!("serving on http://{}", listener.local_addr()?);
        let summary = eddy::hyper::serve(listener.incoming(), service_fn(hello), async {
            let _ = eddy::signal::ctrl_c().await;
        })
        .await?;
        println!("shut down after {} connections", summary.connections);
        Ok(())
    })
}
