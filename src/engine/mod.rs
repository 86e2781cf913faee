//! Scans over a probe session: the engine emits typed events and knows nothing of terminals.

pub mod discover;
pub mod monitor;
pub mod ports;
pub mod scan;
