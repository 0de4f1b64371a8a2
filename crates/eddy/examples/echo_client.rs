//! An echo client: `CONNS` connections each send `ROUNDS` messages of 64
//! bytes and wait for each echo; prints the mean round-trip time.
//!
//! ```text
//! cargo run --release --example echo_client                        # starts its own server
//! cargo run --release --example echo_client -- 127.0.0.1:7000 64 5000
//! ```
//!
//! With no address it runs `echo_server`'s server in the same runtime.

// The client measures wall time; runtime code reads time through a Clock.
#![allow(clippy::disallowed_methods)]

#[path = "echo_server.rs"]
mod echo_server;

use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use eddy::net::{TcpListener, TcpStream};
use futures_lite::{AsyncReadExt, AsyncWriteExt};

async fn client(addr: SocketAddr, rounds: usize) -> io::Result<()> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let msg = [b'x'; 64];
    let mut back = [0u8; 64];
    for _ in 0..rounds {
        stream.write_all(&msg).await?;
        stream.read_exact(&mut back).await?;
        if back != msg {
            return Err(io::Error::other("echo differs from what was sent"));
        }
    }
    Ok(())
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!(
            "usage: echo_client [ADDR [CONNS [ROUNDS]]]   (default: own server, 64 conns, 1000 rounds)"
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
    let conns: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(64);
    let rounds: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1000);
    eddy::run(async move {
        let addr = match target {
            Some(a) => a,
            None => {
                let listener = TcpListener::bind("127.0.0.1:0").await?;
                let addr = listener.local_addr()?;
                eddy::spawn(echo_server::serve(listener)).detach();
                addr
            }
        };
        let start = Instant::now();
        let clients: Vec<_> = (0..conns)
            .map(|_| eddy::spawn(client(addr, rounds)))
            .collect();
        for c in clients {
            c.await.map_err(|e| io::Error::other(e.to_string()))??;
        }
        let elapsed = start.elapsed();
        let trips = conns * rounds;
        println!(
            "{conns} connections × {rounds} round trips of 64 B against {addr}: {:.3}s, {:.2} µs per round trip",
            elapsed.as_secs_f64(),
            elapsed.as_secs_f64() * 1e6 / trips as f64
        );
        Ok(())
    })
}
