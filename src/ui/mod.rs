//! The live dashboard: `netdx [TARGETS...]` and `netdx tui`.
//!
//! ```text
//!  terminal ──(input thread)──► events ─┐
//!                                        ▼
//!  engine jobs ──(tagged events)──► runner: App { Dashboard (state), TableView, Mode, View,
//!  diagnosis rounds ──(Diagnosis)──►                DiagnoseView }
//!     ▲                                  │ draw when dirty, ≤ 1 frame / 33 ms
//!     └──── JobSpec (scan, round, ports, resolve) ◄── keys ── render(&App)
//!           DiagnoseSpec (while the Diagnose view is open)
//! ```
//! [`state::Dashboard`] is the one owner of what was observed (a pure reducer over engine
//! events with injected timestamps); [`render`] only reads; [`runner`] owns the channels to
//! the engine through a [`prober::Prober`]. With no targets nothing is sent until the user
//! starts a run (or opens the Diagnose view with `D`, which checks this machine, its gateway
//! and its resolvers).

pub mod app;
pub mod diagnose_view;
pub mod prober;
pub mod prompt;
pub mod render;
pub mod runner;
pub mod state;
pub mod table;
pub mod term;
pub mod theme;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use crate::cli::{DashboardArgs, ScanArgs};
use crate::core::model::ScanParameters;
use crate::net::sys::netinfo::LocalContext;

use crate::net::session::{Session, SessionOptions};
use app::{App, Command, Settings};
use prober::EngineProber;
use runner::{Exit, Inputs};
use state::{Dashboard, LogKind};
use theme::Theme;

/// Exit code for bad input, as for `netdx scan`.
const EXIT_BAD_INPUT: u8 = 2;

/// Open the dashboard. Entry point called by the binary.
pub fn run(args: DashboardArgs) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    let setup = match prepare(&args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("netdx: error: {e}");
            return Ok(ExitCode::from(EXIT_BAD_INPUT));
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let now = state::Timestamp::now_utc();
    let mut app = App::new(
        Dashboard::new(setup.context, setup.parameters),
        setup.settings,
        now,
    );
    let mut initial = None;
    if !setup.targets.is_empty() {
        initial = Some(Command::Scan {
            targets: setup.targets,
        });
    }
    if args.auto {
        let mut targets = match initial.take() {
            Some(Command::Scan { targets }) => targets,
            _ => Vec::new(),
        };
        targets.extend(app.suggestions.iter().map(|s| s.spec.clone()));
        if targets.is_empty() {
            let text = "--auto: no attached network, gateway or resolver found to scan";
            app.dash.log(now, LogKind::Warn, text);
            app.status = Some((LogKind::Warn, text.to_string()));
        } else {
            initial = Some(Command::Scan { targets });
        }
    }
    let _ = started;

    let output = setup.base.output.clone();
    let format = setup.base.format.map(crate::output::Format::from);
    let log = setup.base.log;
    // Sockets before the terminal (trippy's order): a failure is a plain error line.
    let session = Session::new(SessionOptions {
        concurrency: setup.base.concurrency.map(|c| c as usize),
    })?;
    let exit = rt.block_on(async {
        // The terminal first: ratatui asks the terminal for the cursor position while
        // setting up, and the input thread would swallow the answer.
        let mut terminal = term::setup()?;
        let _guard = term::Guard;
        let input = term::spawn_input_reader()?;
        let inputs = Inputs {
            terminal: input,
            prober: Arc::new(EngineProber {
                base: setup.base,
                session,
            }),
            clock: Box::new(state::Timestamp::now_utc),
            shutdown: Box::pin(shutdown_signal()),
        };
        runner::run(&mut terminal, &mut app, inputs, initial).await
    });
    term::restore();
    rt.shutdown_background();
    let code = match exit? {
        Exit::Quit | Exit::InputClosed => ExitCode::SUCCESS,
        Exit::Signal(n) => ExitCode::from(128 + n as u8),
    };
    save_on_exit(&app, output, format, log)?;
    Ok(code)
}

/// `-o FILE` and `--log` mean the same as for `netdx scan`: the state at exit is written
/// (and recorded in the history), once the terminal is back to normal so the lines show.
fn save_on_exit(
    app: &App,
    output: Option<std::path::PathBuf>,
    format: Option<crate::output::Format>,
    log: bool,
) -> anyhow::Result<()> {
    if !app.dash.started() || (output.is_none() && !log) {
        return Ok(());
    }
    let report = app.dash.export_report(state::Timestamp::now_utc());
    if let Some(path) = &output {
        let used = crate::output::write(&report, path, format)?;
        eprintln!("{} report written to {}", used.label(), path.display());
    }
    if log && report.complete {
        let saved = output.map(|p| std::path::absolute(&p).unwrap_or(p));
        let entry = crate::store::history::HistoryEntry::from_report(&report, saved.as_deref());
        let file = crate::store::history::append(&entry)?;
        eprintln!("scan logged to {}", file.display());
    }
    Ok(())
}

struct Setup {
    base: ScanArgs,
    targets: Vec<String>,
    parameters: ScanParameters,
    settings: Settings,
    context: LocalContext,
}

/// Check the command line before the terminal is touched, so a typo gets one plain line and
/// exit code 2, as with `netdx scan`.
fn prepare(args: &DashboardArgs) -> Result<Setup, String> {
    if !(args.interval.is_finite() && (0.1..=3600.0).contains(&args.interval)) {
        return Err(format!(
            "--interval {}: must be between 0.1 and 3600 seconds",
            args.interval
        ));
    }
    if let Some(out) = &args.scan.output
        && args.scan.format.is_none()
        && crate::output::Format::from_path(out).is_none()
    {
        return Err(
            crate::output::ReportError::UnknownFormat(out.display().to_string()).to_string(),
        );
    }
    let mut base = args.scan.clone();
    let mut targets = std::mem::take(&mut base.targets);
    if let Some(file) = base.targets_file.take() {
        targets.extend(crate::core::target::read_targets_file(&file).map_err(|e| e.to_string())?);
    }
    // Validate every option now with the real targets, or with a stand-in address when none
    // were given (nothing is sent: this only parses).
    let mut check = base.clone();
    check.targets = if targets.is_empty() {
        vec!["127.0.0.1".to_string()]
    } else {
        targets.clone()
    };
    let (cfg, params) = crate::cmd::plan::scan_config(&check).map_err(|e| e.to_string())?;
    let parameters = ScanParameters {
        targets: Vec::new(),
        ..params
    };
    let settings = Settings {
        interval: Duration::from_secs_f64(args.interval),
        ports: base.ports.clone(),
        theme: Theme::from_env(),
        offset: local_offset(),
        ping: cfg.ping,
    };
    Ok(Setup {
        base,
        targets,
        parameters,
        settings,
        context: LocalContext::read(),
    })
}

/// The local UTC offset, for showing times as the technician's clock does. The `time` crate
/// only reads it with its `local-offset` feature (and refuses once threads run), so ask
/// `date(1)` once, before anything starts; UTC if that fails (times then say "UTC").
fn local_offset() -> time::UtcOffset {
    std::process::Command::new("date")
        .arg("+%z")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .and_then(|o| parse_offset(String::from_utf8_lossy(&o.stdout).trim()))
        .unwrap_or(time::UtcOffset::UTC)
}

/// `+0130` / `-0800` → an offset.
fn parse_offset(s: &str) -> Option<time::UtcOffset> {
    let (sign, digits) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let h: i8 = digits[..2].parse().ok()?;
    let m: i8 = digits[2..].parse().ok()?;
    time::UtcOffset::from_hms(sign * h, sign * m, 0).ok()
}

/// Resolves on SIGINT, SIGTERM or SIGHUP (terminal closed). In raw mode Ctrl-C arrives as a
/// key, so SIGINT here means `kill -INT`.
async fn shutdown_signal() -> Exit {
    use tokio::signal::unix::{SignalKind, signal};
    let wait = |kind: SignalKind| async move {
        match signal(kind) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = wait(SignalKind::interrupt()) => Exit::Signal(libc::SIGINT),
        _ = wait(SignalKind::terminate()) => Exit::Signal(libc::SIGTERM),
        _ = wait(SignalKind::hangup()) => Exit::Signal(libc::SIGHUP),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_offset;

    #[test]
    fn offsets_from_date() {
        assert_eq!(parse_offset("+0000"), Some(time::UtcOffset::UTC));
        let o = parse_offset("+0530").unwrap();
        assert_eq!(o.whole_minutes(), 330);
        assert_eq!(parse_offset("-0800").unwrap().whole_minutes(), -480);
        assert_eq!(parse_offset("0800"), None);
        assert_eq!(parse_offset("+08"), None);
        assert_eq!(parse_offset(""), None);
    }
}
