//! The live dashboard. OWNER: dashboard helper.

use std::process::ExitCode;

use crate::cli::DashboardArgs;

/// Open the dashboard. Entry point called by the binary.
pub fn run(_args: DashboardArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("the dashboard is not built yet")
}
