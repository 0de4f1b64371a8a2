//! A workout of every layer for `valgrind --leak-check=full` (run by
//! `cargo xtask ci` when valgrind is installed): tasks that finish, panic,
//! are cancelled or are left for shutdown; timers fired and cancelled;
//! sockets; the blocking pool; channels; task groups; both flavours.
//!
//! ```text
//! cargo build --release --example leakcheck
//! valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=1 \
//!     target/release/examples/leakcheck
//! ```

use std::time::Duration;

use eddy::sync::{Semaphore, mpsc};
use futures_lite::{AsyncReadExt, AsyncWriteExt};

async fn workout() {
    // Tasks: finished, panicked, cancelled, detached-and-pending.
    let done = eddy::spawn(async { 1 });
    let panicked = eddy::spawn(async { panic!("leakcheck panic") });
    let cancelled = eddy::spawn(async { eddy::sleep(Duration::from_secs(3600)).await });
    eddy::spawn(std::future::pending::<()>()).detach();
    eddy::yield_now().await;
    cancelled.cancel();
    assert_eq!(done.await.unwrap(), 1);
    assert!(panicked.await.is_err());
    assert!(cancelled.await.is_err());

    // Timers: fired, and dropped before firing.
    eddy::sleep(Duration::from_millis(1)).await;
    assert!(
        eddy::timeout(Duration::from_millis(1), std::future::pending::<()>())
            .await
            .is_err()
    );

    // Sockets.
    let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    let mut a = eddy::net::UnixStream::from_std(a).unwrap();
    let mut b = eddy::net::UnixStream::from_std(b).unwrap();
    a.write_all(b"ping").await.unwrap();
    let mut buf = [0u8; 4];
    b.read_exact(&mut buf).await.unwrap();

    // Blocking pool, channels, a semaphore, a task group.
    assert_eq!(eddy::unblock(|| 2).await.unwrap(), 2);
    let (tx, mut rx) = mpsc::channel(1);
    eddy::spawn(async move { tx.send(3).await.unwrap() }).detach();
    assert_eq!(rx.recv().await, Some(3));
    let sem = Semaphore::new(1);
    drop(sem.acquire().await.unwrap());
    let group = eddy::task_group(|tg| async move {
        tg.spawn(async { Ok::<_, std::io::Error>(()) });
        tg.spawn(async {
            eddy::sleep(Duration::from_millis(1)).await;
            Err::<(), _>(std::io::Error::other("child failed"))
        });
    })
    .await;
    assert!(group.is_err());
}

fn main() {
    // Keep the report short: the panic above is expected.
    std::panic::set_hook(Box::new(|_| {}));
    eddy::run(workout());
    let rt = eddy::Builder::multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(workout());
    drop(rt);
    println!("leakcheck: done");
}
