//! `netdx history`: [`HistoryArgs`] -> [`HistoryConfig`]; exit 0, or 2 on trouble; with
//! `--compare`, 1 when the two runs differ (as `netdx diff`).

use std::process::ExitCode;

use crate::cli::HistoryArgs;
use crate::store::history::{self, HistoryConfig};

pub fn config(args: HistoryArgs) -> HistoryConfig {
    HistoryConfig {
        last: args.last,
        compare: args.compare,
    }
}

pub fn run(args: HistoryArgs) -> ExitCode {
    match history::run(&config(args)) {
        Ok(0) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(e) => super::trouble(e),
    }
}
