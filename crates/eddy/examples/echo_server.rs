//! A TCP echo server: every byte received is sent back.
//!
//! ```text
//! cargo run --release --example echo_server                    # 127.0.0.1:7000
//! cargo run --release --example echo_server -- 127.0.0.1:9000 --threads 2
//! cargo run --release --example echo_client -- 127.0.0.1:7000
//! ```
//!
//! [`serve`] is the whole server; `echo_client` and the tests reuse it.

use std::io;

use eddy::net::{TcpListener, TcpStream};

/// Accepts connections forever, echoing each in its own task.
pub async fn serve(listener: TcpListener) -> io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        eddy::spawn(async move {
            let _ = echo(stream).await;
        })
        .detach();
    }
}

/// Copies what the peer sends back to it until EOF; returns the bytes
/// echoed.
pub async fn echo(mut stream: TcpStream) -> io::Result<u64> {
    stream.set_nodelay(true)?;
    let (reader, mut writer) = stream.split();
    futures_lite::io::copy(reader, &mut writer).await
}

#[allow(dead_code)] // `main` is unused where other targets include this file.
fn main() -> io::Result<()> {
    let mut addr = String::from("127.0.0.1:7000");
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
                    "usage: echo_server [ADDR] [--threads N]   (default 127.0.0.1:7000, 1 thread)"
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
        println!("echoing on {}", listener.local_addr()?);
        serve(listener).await
    })
}
