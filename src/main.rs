//! The binary edge: parse arguments, map errors to exit codes, run.

use std::process::ExitCode;

use clap::Parser;
use netdx::cli::{Cli, Command, ScanArgs};
use netdx::cmd::plan;
use netdx::cmd::scan::{self as headless, Outcome};

/// Exit code for bad input (same as clap's usage errors).
const EXIT_BAD_INPUT: u8 = 2;
/// Exit code when the user interrupted the scan (128 + SIGINT, as shells expect).
const EXIT_INTERRUPTED: u8 = 130;

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    // Command line, then config file, then defaults: the file fills what was not typed.
    let scan_args = match &mut cli.command {
        Some(Command::Scan(args)) => Some(args),
        Some(Command::Tui(d)) => Some(&mut d.scan),
        None => Some(&mut cli.dashboard.scan),
        Some(_) => None,
    };
    if let Some(args) = scan_args
        && let Some(path) = netdx::cmd::config::default_path()
    {
        match netdx::cmd::config::load(&path) {
            Ok(config) => config.apply_to(args),
            // Unreadable (say, another user's home after setpriv or sudo -E): say so, go on
            // with the defaults rather than refuse to work.
            Err(e @ netdx::cmd::config::ConfigError::Read { .. }) => {
                eprintln!("netdx: warning: {e}; using defaults");
            }
            Err(e) => {
                eprintln!("netdx: error: {e}");
                return ExitCode::from(EXIT_BAD_INPUT);
            }
        }
    }
    let result = match cli.command {
        Some(Command::Scan(args)) => return scan(args),
        Some(Command::Tui(args)) => netdx::ui::run(args),
        None => netdx::ui::run(cli.dashboard),
        Some(Command::Report(args)) => return netdx::cmd::report::run(args),
        Some(Command::Diff(args)) => return netdx::cmd::diff::run(args),
        Some(Command::History(args)) => return netdx::cmd::history::run(args),
        Some(Command::Diagnose(args)) => netdx::cmd::diagnose::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("netdx: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn scan(args: ScanArgs) -> ExitCode {
    let (cfg, params) = match plan::scan_config(&args) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("netdx: error: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("netdx: error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let format = args.format.map(Into::into);
    match rt.block_on(headless::scan(cfg, params, args.output, format, args.log)) {
        Ok(Outcome::Complete) => ExitCode::SUCCESS,
        Ok(Outcome::Interrupted) => ExitCode::from(EXIT_INTERRUPTED),
        Err(e) => {
            eprintln!("netdx: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
