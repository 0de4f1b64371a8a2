// `#[eddy::main]` on a plain `async fn main`, with a return type and with
// options; trybuild builds and runs it.
use std::time::Duration;

#[eddy::main(flavor = "multi_thread", worker_threads = 2, debug = false)]
async fn main() -> Result<(), eddy::JoinError> {
    let t = eddy::spawn(async {
        eddy::sleep(Duration::from_millis(1)).await;
        7
    });
    assert_eq!(t.await?, 7);
    Ok(())
}
