//! The edge: command-line arguments and the config file become typed configurations here.

pub mod config;
pub mod plan;
pub mod scan;
