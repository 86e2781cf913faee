//! The edge: command-line arguments and the config file become typed configurations here, and
//! outcomes become exit codes. Nothing below this module sees clap.

pub mod config;
pub mod dashboard;
pub mod diagnose;
pub mod diff;
pub mod history;
pub mod inventory;
pub mod lan;
pub mod plan;
pub mod report;
pub mod scan;
pub mod serve;
pub mod typo;

use std::fmt::Display;
use std::process::ExitCode;

use crate::cli::FormatArg;
use crate::output::Format;

/// Exit code for bad input or any trouble reading and writing files (as diff(1) and clap).
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit code when the user interrupted (128 + SIGINT, as shells expect).
pub const EXIT_INTERRUPTED: u8 = 130;

/// The runtime of the long-running commands (lan, serve): two workers, enough for the
/// probes and the listeners on a small box, never one per core of a big one.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

/// Print the one-line error and return exit code 2.
pub fn trouble(e: impl Display) -> ExitCode {
    eprintln!("netdx: error: {e}");
    ExitCode::from(EXIT_BAD_INPUT)
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Json => Format::Json,
            FormatArg::Csv => Format::Csv,
            FormatArg::Md => Format::Markdown,
            FormatArg::Html => Format::Html,
            FormatArg::Xml => Format::Xml,
        }
    }
}
