//! `netdx report IN.json -o OUT.{html,md,csv,xml,json}`: convert a saved report.
//!
//! Like diff(1), `netdx report`, `netdx diff` and `netdx history` print one `netdx: error:`
//! line and exit 2 for any trouble (a missing, damaged or too-new report, an unknown output
//! extension, an output that cannot be written), so that exit 1 keeps its one meaning for
//! `diff` ("something changed").

use std::fmt::Display;
use std::process::ExitCode;

use crate::cli::ReportArgs;

use super::{Format, json};

/// Print the one-line error and return exit code 2.
pub fn trouble(e: impl Display) -> ExitCode {
    eprintln!("netdx: error: {e}");
    ExitCode::from(2)
}

/// A human size: `812 B`, `23.4 kB`, `1.2 MB`.
pub fn size(n: u64) -> String {
    match n {
        0..1_000 => format!("{n} B"),
        1_000..1_000_000 => format!("{:.1} kB", n as f64 / 1e3),
        _ => format!("{:.1} MB", n as f64 / 1e6),
    }
}

pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let format = match args
        .format
        .map(Format::from)
        .or_else(|| Format::from_path(&args.output))
    {
        Some(f) => f,
        None => {
            return Ok(trouble(super::ReportError::UnknownFormat(
                args.output.display().to_string(),
            )));
        }
    };
    let mut report = match json::read(&args.input) {
        Ok(r) => r,
        Err(e) => return Ok(trouble(e)),
    };
    // A saved file may carry counts that do not match its contents (edited by hand, or
    // written by an interrupted run): recount. The writers escape every string themselves.
    report.refresh_summary();
    let bytes = match super::render(&report, format) {
        Ok(b) => b,
        Err(e) => return Ok(trouble(e)),
    };
    if let Err(e) = super::write_atomic(&args.output, &bytes) {
        return Ok(trouble(e));
    }
    eprintln!(
        "netdx: wrote {} ({} report, {})",
        args.output.display(),
        format.label(),
        size(bytes.len() as u64)
    );
    Ok(ExitCode::SUCCESS)
}
