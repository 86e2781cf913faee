//! `netdx diff`. OWNER: reports helper.

use std::process::ExitCode;

use crate::cli::DiffArgs;

/// Entry point called by the binary: exit 1 when something changed, 0 when not, 2 on bad input.
pub fn run(_args: DiffArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("diff is not built yet")
}
