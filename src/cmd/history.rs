//! `netdx history`: [`HistoryArgs`] -> [`HistoryConfig`]; exit 0, or 2 on trouble.

use std::process::ExitCode;

use crate::cli::HistoryArgs;
use crate::store::history::{self, HistoryConfig};

pub fn config(args: HistoryArgs) -> HistoryConfig {
    HistoryConfig { last: args.last }
}

pub fn run(args: HistoryArgs) -> ExitCode {
    match history::run(&config(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => super::trouble(e),
    }
}
