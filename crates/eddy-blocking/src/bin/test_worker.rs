//! Placeholder worker (replaced by the process-pool test worker).
fn main() {}
