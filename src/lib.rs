//! netdx: network diagnostics for technicians.
//!
//! The crate mirrors the boundaries of a serious probe tool: `target` and `ports` turn user
//! input into typed values once, at the edge; `probe::*` talk to the network and know nothing
//! of terminals; `engine` drives the probes concurrently and emits typed [`event::ScanEvent`]s
//! on a bounded channel; `model` folds those events into one [`model::ScanReport`] with a pure
//! reducer; the CLI, the dashboard and the report writers only read that model.
#![forbid(unsafe_code)]

pub mod cli;
pub mod config;
pub mod diagnose;
pub mod diff;
pub mod engine;
pub mod event;
pub mod headless;
pub mod history;
pub mod hosts_file;
pub mod model;
pub mod netinfo;
pub mod oui;
pub mod plan;
pub mod ports;
pub mod privilege;
pub mod probe;
pub mod report;
pub mod sanitize;
pub mod target;
pub mod ui;
