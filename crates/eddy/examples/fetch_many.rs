//! The seed's first use case, "many concurrent HTTP requests": 1,000 GET
//! requests against the `http_hello` server, at most 50 in flight, with the
//! time printed.
//!
//! ```text
//! cargo run --release --example fetch_many                         # starts its own server
//! cargo run --release --example fetch_many -- 127.0.0.1:8080 1000 50
//! ```

// The example measures wall time; runtime code reads time through a Clock.
#![allow(clippy::disallowed_methods)]

#[path = "http_hello.rs"]
mod http_hello;

use eddy::sync::Semaphore;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use eddy::net::{TcpListener, open_connection};

/// One request on its own connection: returns the body of a `200` reply.
async fn fetch(addr: SocketAddr, path: &str) -> io::Result<Vec<u8>> {
    let (mut reader, mut writer) = open_connection(addr).await?;
    writer.write(
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    writer.drain().await?;
    let status = reader.readline().await?;
    if !status.starts_with(b"HTTP/1.1 200 ") {
        return Err(io::Error::other(format!(
            "unexpected status line {:?}",
            String::from_utf8_lossy(&status)
        )));
    }
    let mut length = None;
    loop {
        let line = reader.readline().await?;
        if line == b"\r\n" {
            break;
        }
        if line.is_empty() {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let line = String::from_utf8_lossy(&line);
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse::<usize>().ok();
        }
    }
    match length {
        Some(n) => reader.readexactly(n).await,
        None => reader.read_to_end().await,
    }
}

/// Runs `total` fetches with at most `limit` in flight and returns how many
/// succeeded: the seed's fix for over-concurrencing, one task per request and
/// an `asyncio.Semaphore`-style permit held while it runs.
pub async fn fetch_many(addr: SocketAddr, total: usize, limit: usize) -> usize {
    let permits = Arc::new(Semaphore::new(limit.max(1)));
    let tasks: Vec<_> = (0..total)
        .map(|_| {
            let permits = permits.clone();
            eddy::spawn(async move {
                let _permit = permits.acquire().await.ok()?;
                match fetch(addr, "/").await {
                    Ok(body) if body == http_hello::BODY.as_bytes() => Some(()),
                    Ok(body) => {
                        eprintln!("unexpected body {:?}", String::from_utf8_lossy(&body));
                        None
                    }
                    Err(e) => {
                        eprintln!("request failed: {e}");
                        None
                    }
                }
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        if let Ok(Some(())) = t.await {
            ok += 1;
        }
    }
    ok
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!(
            "usage: fetch_many [ADDR [TOTAL [LIMIT]]]   (default: own server, 1000 requests, 50 in flight)"
        );
        return Ok(());
    }
    let target: Option<SocketAddr> = args
        .first()
        .map(|a| {
            a.parse()
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
        })
        .transpose()?;
    let total: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let limit: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(50);
    eddy::run(async move {
        let addr = match target {
            Some(a) => a,
            None => {
                let listener = TcpListener::bind("127.0.0.1:0").await?;
                let addr = listener.local_addr()?;
                eddy::spawn(http_hello::serve(listener)).detach();
                addr
            }
        };
        let start = Instant::now();
        let ok = fetch_many(addr, total, limit).await;
        let elapsed = start.elapsed();
        println!(
            "{ok}/{total} requests OK against http://{addr}/ with {limit} in flight: {:.3}s ({:.0} requests/s)",
            elapsed.as_secs_f64(),
            total as f64 / elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
        );
        if ok == total {
            Ok(())
        } else {
            Err(io::Error::other(format!("{} requests failed", total - ok)))
        }
    })
}
