//! The binary edge: parse arguments and hand them to the subcommand's `cmd` module, which
//! layers the config file, builds the typed configuration and maps the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;
use netdx::cli::{Cli, Command};
use netdx::cmd;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Scan(args)) => return cmd::scan::run_cli(args),
        Some(Command::Tui(args)) => cmd::dashboard::run_tui(args),
        None => cmd::dashboard::run_default(cli.dashboard),
        Some(Command::Report(args)) => return cmd::report::run(args),
        Some(Command::Diff(args)) => return cmd::diff::run(args),
        Some(Command::History(args)) => return cmd::history::run(args),
        Some(Command::Diagnose(args)) => cmd::diagnose::run(args),
        Some(Command::Inventory(args)) => return cmd::inventory::run(args),
        Some(Command::Lan(args)) => return cmd::lan::run(args),
        Some(Command::Serve(args)) => return cmd::serve::run(args),
        Some(Command::Completions(args)) => return cmd::completions::run(args),
        Some(Command::Man(args)) => return cmd::man::run(args),
        Some(Command::Dns(args)) => return cmd::dns::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("netdx: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
