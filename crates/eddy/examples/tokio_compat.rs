//! tokio-bound code inside `eddy::run`: a `tokio::net::TcpStream` talks to an
//! eddy echo server, and `tokio::time::sleep` waits, each wrapped in
//! `eddy::compat::Compat` (feature `tokio-compat`). Exits 0 when every
//! check passes.
//!
//! ```text
//! cargo run --release --example tokio_compat
//! ```

use std::time::{Duration, Instant};

use eddy::compat::CompatExt;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

// The example prints real elapsed time, so it reads the wall clock.
#[allow(clippy::disallowed_methods)]
fn main() -> std::io::Result<()> {
    eddy::run(async {
        // An eddy server: echoes what it reads, upper-cased.
        let listener = eddy::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = eddy::spawn(async move {
            let (mut conn, _) = listener.accept().await?;
            let mut buf = [0u8; 64];
            let n = conn.read(&mut buf).await?;
            conn.write_all(&buf[..n].to_ascii_uppercase()).await?;
            Ok::<_, std::io::Error>(n)
        });

        // A tokio client, inside eddy.
        let started = Instant::now();
        let reply = async move {
            let mut stream = tokio::net::TcpStream::connect(addr).await?;
            stream.write_all(b"hello from tokio").await?;
            let mut reply = vec![0u8; 16];
            stream.read_exact(&mut reply).await?;
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok::<_, std::io::Error>(reply)
        }
        .compat()
        .await?;
        let took = started.elapsed();

        assert_eq!(reply, b"HELLO FROM TOKIO");
        assert_eq!(server.await.expect("server task")?, 16);
        assert!(
            took >= Duration::from_millis(20),
            "tokio's sleep returned early"
        );
        println!(
            "tokio TcpStream <-> eddy server: {:?}; tokio::time::sleep(20 ms) inside eddy; total {took:.1?}",
            String::from_utf8_lossy(&reply)
        );
        Ok(())
    })
}
