//! Dashboard performance figures (placeholder while the benchmark is written).
fn main() {}
