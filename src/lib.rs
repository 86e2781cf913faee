//! netdx: network diagnostics for technicians.
//!
//! Modules mirror the data flow, and imports run one way:
//! `cmd` -> {`ui`, `output`, `store`, `engine`, `diagnose`} -> `net` -> `core`.
//!
//! - [`core`]: types, events and the pure reducer ([`core::model::ScanReport::apply`]); no I/O.
//! - [`net`]: the long-lived probe [`net::session::Session`] and the probes that talk to the
//!   network (ICMP, TCP, DNS, ARP, traceroute); `net::sys` reads what the OS says.
//! - [`engine`]: scans over a session, emitting typed [`core::event::ScanEvent`]s.
//! - [`diagnose`]: layered outage triage on the same session.
//! - [`output`] and [`store`]: report writers, diff, history; they only read the model.
//! - [`ui`]: the dashboard; [`cmd`]: the edge, where arguments become typed configs.
#![forbid(unsafe_code)]

pub mod cli;
pub mod cmd;
pub mod core;
pub mod diagnose;
pub mod engine;
/// Entry points for the fuzz targets in `fuzz/`; not part of the API.
#[cfg(any(feature = "fuzzing", test))]
#[doc(hidden)]
pub mod fuzzing;
pub mod net;
pub mod output;
pub mod serve;
pub mod store;
pub mod ui;
