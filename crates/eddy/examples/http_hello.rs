//! A minimal HTTP/1.1 server written on eddy alone: every request gets
//! `200 OK` and "Hello, world!". Keep-alive and pipelining work, so `wrk`,
//! `curl` and browsers can drive it.
//!
//! ```text
//! cargo run --release --example http_hello                       # 127.0.0.1:8080, one thread
//! cargo run --release --example http_hello -- 0.0.0.0:3000 --threads 2
//! curl -v http://127.0.0.1:8080/
//! wrk -t2 -c64 -d5s http://127.0.0.1:8080/
//! ```
//!
//! [`serve`] is the whole server; the tests and `fetch_many` reuse it.

use std::io;

use eddy::net::{TcpListener, TcpStream};
use futures_lite::{AsyncReadExt, AsyncWriteExt};

/// The response body.
pub const BODY: &str = "Hello, world!";

/// The largest request head accepted; a longer one gets `431` and the
/// connection is closed.
const MAX_HEAD: usize = 16 * 1024;

/// Accepts connections on `listener` forever, serving each in its own task.
pub async fn serve(listener: TcpListener) -> io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        eddy::spawn(async move {
            // A client going away mid-request is normal for a server.
            let _ = handle(stream).await;
        })
        .detach();
    }
}

/// Serves requests on one connection until the client closes it or asks
/// to.
pub async fn handle(mut stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = Vec::with_capacity(4096);
    let mut out = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        // Answer every complete request in the buffer (pipelining), then
        // send the answers in one write.
        let mut close = false;
        while let Some(end) = find(&buf, b"\r\n\r\n") {
            let head = &buf[..end];
            let req = match parse_head(head) {
                Some(r) => r,
                None => {
                    stream
                        .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                        .await?;
                    return Ok(());
                }
            };
            // A body (e.g. POST) is read and ignored.
            let total = end + 4 + req.content_length;
            if buf.len() < total {
                break;
            }
            buf.drain(..total);
            close = req.close;
            out.extend_from_slice(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ",
            );
            out.extend_from_slice(BODY.len().to_string().as_bytes());
            if close {
                out.extend_from_slice(b"\r\nConnection: close");
            }
            out.extend_from_slice(b"\r\n\r\n");
            if !req.head_only {
                out.extend_from_slice(BODY.as_bytes());
            }
            if close {
                break;
            }
        }
        if !out.is_empty() {
            stream.write_all(&out).await?;
            out.clear();
        }
        if close {
            return stream.close().await;
        }
        if buf.len() > MAX_HEAD {
            stream
                .write_all(b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .await?;
            return Ok(());
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

struct Request {
    content_length: usize,
    close: bool,
    head_only: bool,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Reads what the server needs from a request head: the method, the
/// version, `Connection` and `Content-Length`. `None` if malformed.
fn parse_head(head: &[u8]) -> Option<Request> {
    let head = std::str::from_utf8(head).ok()?;
    let mut lines = head.split("\r\n");
    let mut parts = lines.next()?.split(' ');
    let method = parts.next()?;
    let _target = parts.next()?;
    let version = parts.next()?;
    if parts.next().is_some() || !version.starts_with("HTTP/1.") {
        return None;
    }
    let mut req = Request {
        content_length: 0,
        // HTTP/1.0 closes unless it asks for keep-alive.
        close: version == "HTTP/1.0",
        head_only: method == "HEAD",
    };
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            req.content_length = value.parse().ok()?;
        } else if name.eq_ignore_ascii_case("connection") {
            if value.eq_ignore_ascii_case("close") {
                req.close = true;
            } else if value.eq_ignore_ascii_case("keep-alive") {
                req.close = false;
            }
        }
    }
    Some(req)
}

#[allow(dead_code)] // `main` is unused where other targets include this file.
fn main() -> io::Result<()> {
    let mut addr = String::from("127.0.0.1:8080");
    let mut threads = 1;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--threads" => {
                threads = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .filter(|&n: &usize| n > 0)
                    .ok_or_else(|| io::Error::other("--threads needs a positive number"))?;
            }
            "-h" | "--help" => {
                println!(
                    "usage: http_hello [ADDR] [--threads N]   (default 127.0.0.1:8080, 1 thread)"
                );
                return Ok(());
            }
            other => addr = other.to_owned(),
        }
    }
    let rt = if threads == 1 {
        eddy::Builder::current_thread().build()?
    } else {
        eddy::Builder::multi_thread()
            .worker_threads(threads)
            .build()?
    };
    rt.block_on(async {
        let listener = TcpListener::bind(addr.as_str()).await?;
        println!("listening on http://{}/", listener.local_addr()?);
        serve(listener).await
    })
}
