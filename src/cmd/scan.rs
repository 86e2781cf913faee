//! The headless runner behind `netdx scan`: owns the report, folds engine events into it,
//! draws a progress bar on stderr when stderr is a terminal, and turns Ctrl-C or SIGTERM into
//! a clean stop that still prints and writes what was found (marked incomplete).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::core::event::{Phase, ScanEvent};
use crate::core::model::{NoteLevel, ScanParameters, ScanReport};
use crate::engine::scan::{self as engine, ScanConfig};
use crate::net::session::{Session, SessionOptions};
use crate::output;

/// How the scan ended, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Complete,
    Interrupted,
    /// No target was left to probe (every name failed to resolve): bad input, not a scan
    /// that found nothing.
    NothingToScan,
}

pub use crate::core::clock::now_rfc3339;

/// Resolves on the first Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

fn progress_line(report: &ScanReport) -> String {
    let mut parts = Vec::new();
    for (phase, p) in &report.progress {
        parts.push(format!("{} {}/{}", phase.label(), p.done, p.total));
    }
    let up = report.hosts_up().count();
    parts.push(format!("{up} up"));
    parts.join(" · ")
}

/// A line on stderr, above the progress bar when there is one.
fn say(bar: &ProgressBar, line: &str) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}

/// Run the scan to the end (or to Ctrl-C) on `session` and return the report. Warnings and
/// errors go to stderr as they happen.
pub async fn run(
    session: Session,
    cfg: ScanConfig,
    params: ScanParameters,
    show_progress: bool,
) -> (ScanReport, Outcome) {
    let mut report = ScanReport::new(params);
    report.started_at = Some(now_rfc3339());
    let (tx, mut rx) = mpsc::channel(1024);
    let cancel = CancellationToken::new();
    let engine = tokio::spawn(engine::run(session, cfg, tx, cancel.clone()));

    let bar = if show_progress {
        let b = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        b.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b.enable_steady_tick(Duration::from_millis(120));
        b
    } else {
        ProgressBar::hidden()
    };

    let signal = shutdown_signal();
    tokio::pin!(signal);
    // The bar's message counts live hosts, O(hosts): refreshed on a tick, never per event
    // (a /16 sweep folds 65,536 events).
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut interrupted = false;
    let mut planned = None;
    loop {
        tokio::select! {
            ev = rx.recv() => {
                let Some(ev) = ev else { break };
                if let ScanEvent::Progress { phase, done, total } = &ev {
                    // The bar follows the phase that dominates the work.
                    if matches!(phase, Phase::Ports | Phase::Ping) {
                        bar.set_length(*total);
                        bar.set_position(*done);
                    }
                }
                match &ev {
                    ScanEvent::Note { level, text } if *level != NoteLevel::Info => {
                        // What the scan cannot do (no CAP_NET_RAW, no DNS, a name that did not
                        // resolve) is said at once, on stderr, before any result: the results
                        // are read in its light.
                        let tag = if *level == NoteLevel::Warn { "warning" } else { "error" };
                        say(&bar, &format!("{tag}: {}", crate::core::sanitize::clean(text)));
                    }
                    ScanEvent::Planned { hosts, .. } => planned = Some(*hosts),
                    _ => {}
                }
                let finished = matches!(ev, ScanEvent::Finished { .. });
                report.apply(ev);
                if finished {
                    break;
                }
            }
            _ = tick.tick(), if show_progress => {
                bar.set_message(progress_line(&report));
            }
            _ = &mut signal, if !interrupted => {
                interrupted = true;
                say(&bar, "interrupted: stopping probes, keeping what was found");
                cancel.cancel();
            }
        }
    }
    bar.finish_and_clear();
    let _ = engine.await;
    if interrupted && !report.interrupted {
        // The engine finished on its own as the signal arrived; the user still asked to stop.
        report.interrupted = true;
        report.complete = false;
    }
    report.finished_at = Some(now_rfc3339());
    report.refresh_summary();
    let outcome = if report.interrupted {
        Outcome::Interrupted
    } else if planned == Some(0) {
        Outcome::NothingToScan
    } else {
        Outcome::Complete
    };
    (report, outcome)
}

/// `netdx scan`: run, print the summary, write the report if asked.
pub async fn scan(
    cfg: ScanConfig,
    params: ScanParameters,
    output: Option<PathBuf>,
    format: Option<output::Format>,
    log: bool,
) -> anyhow::Result<Outcome> {
    use std::io::IsTerminal;
    let started = Instant::now();
    let session = Session::new(SessionOptions {
        concurrency: cfg.concurrency,
    })?;
    let (mut report, outcome) = run(session, cfg, params, std::io::stderr().is_terminal()).await;
    if outcome == Outcome::NothingToScan {
        return Ok(outcome);
    }
    // The warnings were said on stderr before the results; the table does not repeat them
    // (the report file keeps them all).
    let notes = std::mem::take(&mut report.notes);
    report.notes = notes
        .iter()
        .filter(|n| n.level == NoteLevel::Info)
        .cloned()
        .collect();
    let table = output::table::render(&report, Some(started.elapsed().as_secs_f64()));
    report.notes = notes;
    print!("{table}");
    if let Some(path) = &output {
        let used = output::write(&report, path, format)?;
        eprintln!("{} report written to {}", used.label(), path.display());
    }
    if log && outcome == Outcome::Complete {
        // The history says where the full report is, so record it as an absolute path.
        let saved = output.map(|p| std::path::absolute(&p).unwrap_or(p));
        let entry = crate::store::history::HistoryEntry::from_report(&report, saved.as_deref());
        let file = crate::store::history::append(&entry)?;
        eprintln!("scan logged to {}", file.display());
    }
    Ok(outcome)
}

/// `netdx scan`: the command line over the config file -> a [`ScanConfig`]; exit 0 when the
/// scan completed, 2 on bad input, 130 when interrupted.
pub fn run_cli(args: crate::cli::ScanArgs) -> std::process::ExitCode {
    use std::process::ExitCode;
    let file = match super::config::load_default() {
        Ok(f) => f,
        Err(code) => return code,
    };
    let (cfg, params) = match super::plan::scan_config(&args, &file.scan) {
        Ok(v) => v,
        Err(e) => return super::trouble(e),
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
    let log = args.log || file.scan.log.unwrap_or(false);
    match rt.block_on(scan(cfg, params, args.output, format, log)) {
        Ok(Outcome::Complete) => ExitCode::SUCCESS,
        Ok(Outcome::Interrupted) => ExitCode::from(super::EXIT_INTERRUPTED),
        Ok(Outcome::NothingToScan) => super::trouble(
            "no target resolved to an address: nothing was scanned (see the warnings above)",
        ),
        Err(e) => {
            eprintln!("netdx: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
