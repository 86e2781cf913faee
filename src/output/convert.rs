//! `netdx report IN.json -o OUT.{html,md,csv,xml,json}`: convert a saved report.
//!
//! Like diff(1), `netdx report`, `netdx diff` and `netdx history` print one `netdx: error:`
//! line and exit 2 for any trouble (a missing, damaged or too-new report, an unknown output
//! extension, an output that cannot be written), so that exit 1 keeps its one meaning for
//! `diff` ("something changed"). The exit codes are chosen at the edge (`cmd::report`).

use std::path::PathBuf;

use super::{Format, ReportError, json};

/// What `netdx report` converts, with the format already chosen (by `--format` or by the
/// output's extension).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertConfig {
    pub input: PathBuf,
    pub output: PathBuf,
    pub format: Format,
}

#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error(transparent)]
    Read(#[from] json::ReadError),
    #[error(transparent)]
    Report(#[from] ReportError),
}

/// A human size: `812 B`, `23.4 kB`, `1.2 MB`.
pub fn size(n: u64) -> String {
    match n {
        0..1_000 => format!("{n} B"),
        1_000..1_000_000 => format!("{:.1} kB", n as f64 / 1e3),
        _ => format!("{:.1} MB", n as f64 / 1e6),
    }
}

/// Read, recount, render and write atomically; returns the number of bytes written.
pub fn run(cfg: &ConvertConfig) -> Result<u64, ConvertError> {
    let mut report = json::read(&cfg.input)?;
    // A saved file may carry counts that do not match its contents (edited by hand, or
    // written by an interrupted run): recount. The writers escape every string themselves.
    report.refresh_summary();
    let bytes = super::render(&report, cfg.format)?;
    super::write_atomic(&cfg.output, &bytes)?;
    Ok(bytes.len() as u64)
}
