#[eddy::main(debug = "yes")]
async fn main() {}
