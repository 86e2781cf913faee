//! `netdx report`: [`ReportArgs`] -> [`ConvertConfig`]; exit 0 when written, 2 on any trouble.

use std::process::ExitCode;

use crate::cli::ReportArgs;
use crate::output::convert::{self, ConvertConfig};
use crate::output::{Format, ReportError};

/// The format comes from `--format`, else from the output's extension.
pub fn config(args: ReportArgs) -> Result<ConvertConfig, ReportError> {
    let format = args
        .format
        .map(Format::from)
        .or_else(|| Format::from_path(&args.output))
        .ok_or_else(|| ReportError::UnknownFormat(args.output.display().to_string()))?;
    Ok(ConvertConfig {
        input: args.input,
        output: args.output,
        format,
    })
}

pub fn run(args: ReportArgs) -> ExitCode {
    let cfg = match config(args) {
        Ok(c) => c,
        Err(e) => return super::trouble(e),
    };
    match convert::run(&cfg) {
        Ok(n) => {
            eprintln!(
                "netdx: wrote {} ({} report, {})",
                cfg.output.display(),
                cfg.format.label(),
                convert::size(n)
            );
            ExitCode::SUCCESS
        }
        Err(e) => super::trouble(e),
    }
}
