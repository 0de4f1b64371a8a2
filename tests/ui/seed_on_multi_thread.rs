#[eddy::test(flavor = "multi_thread", seed = 1)]
async fn replay() {}

fn main() {}
