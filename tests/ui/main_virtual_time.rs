// Virtual time: an hour of sleeping takes no real time.
use std::time::{Duration, Instant};

#[eddy::main(virtual_time = true, seed = 3)]
async fn main() {
    let start = Instant::now();
    eddy::sleep(Duration::from_secs(3600)).await;
    assert!(start.elapsed() < Duration::from_secs(600));
}
