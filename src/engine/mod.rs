//! Scans over a probe session: the engine emits typed events and knows nothing of terminals.

/// Host discovery probes live with the other probes in `net` (diagnose uses them too).
pub use crate::net::discover;
pub mod lan;
pub mod monitor;
pub mod ports;
pub mod scan;
