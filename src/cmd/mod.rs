//! The edge: command-line arguments and the config file become typed configurations here, and
//! outcomes become exit codes. Nothing below this module sees clap.

pub mod completions;
pub mod config;
pub mod dashboard;
pub mod diagnose;
pub mod diff;
pub mod dns;
pub mod history;
pub mod inventory;
pub mod lan;
pub mod man;
pub mod plan;
pub mod report;
pub mod scan;
pub mod serve;
pub mod typo;

use std::fmt::Display;
use std::process::ExitCode;

use crate::cli::FormatArg;
use crate::net::session::{Session, SessionOptions};
use crate::net::sys::privilege::Retain;
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

/// Start a command's probe session in least privilege
/// ([`Session::start_least_privileged`]): say on stderr what was given up, and under sudo
/// refuse at once a report path the invoking user cannot write. Call before any
/// multi-threaded runtime exists.
pub fn start_session(
    opts: SessionOptions,
    arp_targets: impl IntoIterator<Item = std::net::Ipv4Addr>,
    retain: Retain,
    report: Option<&std::path::Path>,
) -> anyhow::Result<Session> {
    let (session, dropped) = Session::start_least_privileged(opts, arp_targets, retain)?;
    if let Some(line) = dropped.summary() {
        eprintln!("netdx: {line}");
    }
    dropped.check_writable(report)?;
    Ok(session)
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
