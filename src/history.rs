//! Scan history (`--log`, `netdx history`). OWNER: reports helper.

use std::process::ExitCode;

use crate::cli::HistoryArgs;

/// Entry point called by the binary.
pub fn run(_args: HistoryArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("history is not built yet")
}
