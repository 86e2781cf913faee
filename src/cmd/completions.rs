//! `netdx completions SHELL`: the completion script clap_complete generates from the command
//! line itself, so every subcommand and option completes and none goes stale.

use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::{Cli, CompletionsArgs};

/// The completion script for `shell`.
pub fn script(shell: Shell) -> Vec<u8> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "netdx", &mut out);
    out
}

pub fn run(args: CompletionsArgs) -> ExitCode {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    // A closed pipe is not an error worth a message.
    let _ = out
        .write_all(&script(args.shell))
        .and_then(|()| out.flush());
    ExitCode::SUCCESS
}
