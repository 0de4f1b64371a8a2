//! eddy built with `panic = "abort"` (`cargo xtask ci` runs this example
//! under the workspace's `abort` profile).
//!
//! Without an argument it runs a little of everything on both flavours
//! (tasks, a task group, timers, a socket pair, the blocking pool) and
//! prints `ok`: nothing in eddy needs unwinding to work. With the argument
//! `panic`, a task panics; under `panic = "abort"` there is no unwinding to
//! catch, so instead of the awaiter seeing `JoinError::Panicked` the
//! process aborts (SIGABRT) at once, as for any Rust program. That is what
//! abort means for eddy; see `docs/debugging-and-testing.md`.

use std::time::Duration;

use eddy::Builder;
use futures_lite::{AsyncReadExt, AsyncWriteExt};

fn main() {
    let panic = std::env::args().nth(1).as_deref() == Some("panic");
    let runtimes = [
        Builder::current_thread()
            .build()
            .expect("current-thread runtime"),
        Builder::multi_thread()
            .worker_threads(2)
            .build()
            .expect("multi-thread runtime"),
    ];
    for rt in runtimes {
        let total = rt.block_on(async move {
            if panic {
                let t = eddy::spawn(async {
                    if std::hint::black_box(true) {
                        panic!("a task panicked under panic = abort");
                    }
                });
                // Never reached: the panic aborts the process.
                let _ = t.await;
                println!("unreachable: the panic did not abort");
                std::process::exit(3);
            }
            let (mut a, mut b) = eddy::net::UnixStream::pair().expect("socket pair");
            let echo = eddy::spawn(async move {
                let mut buf = [0u8; 5];
                b.read_exact(&mut buf).await.expect("read");
                b.write_all(&buf).await.expect("write");
            });
            a.write_all(b"hello").await.expect("write");
            let mut back = [0u8; 5];
            a.read_exact(&mut back).await.expect("read");
            echo.await.expect("echo task");
            assert_eq!(&back, b"hello");

            let from_group = eddy::task_group(|tg| async move {
                let a = tg.spawn(async {
                    eddy::sleep(Duration::from_millis(2)).await;
                    Ok::<u32, String>(1)
                });
                let b = tg.spawn(async { Ok::<u32, String>(2) });
                Ok::<u32, String>(a.await.unwrap_or(0) + b.await.unwrap_or(0))
            })
            .await
            .expect("group")
            .expect("body result");
            let blocking = eddy::unblock(|| 3u32).await.expect("blocking job");
            let timed_out = eddy::timeout(
                Duration::from_millis(1),
                eddy::sleep(Duration::from_secs(60)),
            )
            .await
            .is_err();
            from_group + blocking + u32::from(timed_out)
        });
        assert_eq!(total, 7);
    }
    println!("ok");
}
