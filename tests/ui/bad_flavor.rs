#[eddy::main(flavor = "many_threads")]
async fn main() {}
