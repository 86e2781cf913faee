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
    /// The engine stopped on an internal error (a panic): what it found is kept and written,
    /// marked incomplete, and the exit code says so. Never a silent exit 0.
    Failed,
    /// The scan completed and its report was written, but recording it in the inventory the
    /// user explicitly asked for (`inventory = true` in the config file) failed: exit 1.
    InventoryFailed,
}

/// Recording a scan in the device inventory, from the command line and the config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InventoryConfig {
    /// Scans in a row without an answer before a device is said to be gone.
    pub gone_after: u32,
    /// Asked for explicitly (config `inventory = true`): a failure to record fails the
    /// command. By default recording is a side service of the scan: a failure is said on
    /// stderr and the scan's results and exit code stand.
    pub explicit: bool,
}

/// Record a complete scan in the inventory; the alerts go into the report. Returns the lines
/// to print after the summary, or the error (already said on stderr).
fn record_inventory(
    report: &mut ScanReport,
    cfg: InventoryConfig,
) -> Result<String, crate::store::inventory::InventoryError> {
    use crate::store::inventory::Inventory;
    let now = report.finished_at.clone().unwrap_or_else(now_rfc3339);
    let mut inv = Inventory::open_default()?;
    let update = inv.record(report, &now, cfg.gone_after)?;
    report.alerts.extend(update.alerts.iter().cloned());
    Ok(changes_text(&update))
}

/// "Changes since last seen", critical first. The first scan into an empty inventory makes
/// every device new: that is said in one line (the report still lists one alert per device).
fn changes_text(update: &crate::store::inventory::Update) -> String {
    use std::fmt::Write as _;
    let mut out = String::from("\nChanges since last seen:");
    if update.started {
        let _ = writeln!(
            out,
            " inventory started: {} device{} (see `netdx inventory`)",
            update.devices,
            if update.devices == 1 { "" } else { "s" }
        );
        return out;
    }
    if update.alerts.is_empty() {
        out.push_str(" none\n");
        return out;
    }
    out.push('\n');
    let mut alerts: Vec<_> = update.alerts.iter().collect();
    alerts.sort_by_key(|a| std::cmp::Reverse(a.level));
    for a in alerts {
        let level = match a.level {
            crate::core::alert::AlertLevel::Critical => "critical",
            crate::core::alert::AlertLevel::Warning => "warning",
            crate::core::alert::AlertLevel::Info => "info",
        };
        let _ = writeln!(
            out,
            "  {level:<8}  {}",
            crate::output::escape::text(&a.text)
        );
    }
    out
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
    let (tx, rx) = mpsc::channel(1024);
    let cancel = CancellationToken::new();
    let engine = tokio::spawn(engine::run(session, cfg, tx, cancel.clone()));
    drive(report, rx, engine, cancel, show_progress).await
}

/// Fold the engine's events into the report, with progress and Ctrl-C, until it finishes,
/// is interrupted, or fails.
async fn drive(
    mut report: ScanReport,
    mut rx: mpsc::Receiver<ScanEvent>,
    engine: tokio::task::JoinHandle<()>,
    cancel: CancellationToken,
    show_progress: bool,
) -> (ScanReport, Outcome) {
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
    // A panic in the engine ends its event stream without `Finished`: say it, keep what was
    // found, and fail (before, this ended in exit 0 with "complete": false and no word).
    let failed = match engine.await {
        Ok(()) => false,
        Err(e) => {
            let why = match e.try_into_panic() {
                Ok(p) => p
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic".to_string()),
                Err(e) => e.to_string(),
            };
            let text = format!(
                "the scan engine stopped on an internal error ({why}); the report holds only \
                 what was found before it"
            );
            say(
                &bar,
                &format!("error: {}", crate::core::sanitize::clean(&text)),
            );
            report.apply(ScanEvent::Note {
                level: NoteLevel::Error,
                text,
            });
            report.complete = false;
            true
        }
    };
    if interrupted && !report.interrupted {
        // The engine finished on its own as the signal arrived; the user still asked to stop.
        report.interrupted = true;
        report.complete = false;
    }
    report.finished_at = Some(now_rfc3339());
    report.refresh_summary();
    let outcome = if failed {
        Outcome::Failed
    } else if report.interrupted {
        Outcome::Interrupted
    } else if planned == Some(0) {
        Outcome::NothingToScan
    } else {
        Outcome::Complete
    };
    (report, outcome)
}

/// `--lan`: the LAN safety checks on the default route's interface, alongside the scan and on
/// its session. A check that cannot start is said on stderr; the scan goes on without it.
fn start_lan(
    session: &Session,
    cancel: &CancellationToken,
) -> Option<tokio::task::JoinHandle<crate::core::lan::LanReport>> {
    use crate::engine::lan;
    let cfg = lan::LanConfig::default();
    match lan::resolve_iface(session, &cfg) {
        Ok(iface) => {
            eprintln!(
                "LAN checks on {} for {} s alongside the scan: DHCP servers, duplicate IPs, gateway ARP, IPv6 routers, switch port",
                iface.name,
                cfg.window.as_secs()
            );
            let (session, cancel) = (session.clone(), cancel.clone());
            Some(tokio::spawn(async move {
                lan::run(&session, &iface, &cfg, &cancel).await
            }))
        }
        Err(e) => {
            eprintln!("netdx: warning: the LAN checks did not run: {e}");
            None
        }
    }
}

/// Where a finished scan goes: stdout (table or `--json`), `-o`, the history.
#[derive(Debug, Clone, Default)]
pub struct Delivery {
    /// `-o`: the report file...
    pub output: Option<PathBuf>,
    /// ...in this format (else the extension's).
    pub format: Option<output::Format>,
    /// Record a complete scan in the history.
    pub log: bool,
    /// `--json`: the JSON report on stdout instead of the summary table.
    pub json: bool,
}

/// Open the scan's privileged sockets, drop privileges, start the session (see
/// [`super::start_session`]). Every socket a plain scan needs is open before the drop (raw,
/// ICMP, the ARP channels of the interfaces its addresses are on), so it keeps no capability;
/// names (resolved later, on any interface) and IPv6 link sweeps open sockets later and keep
/// `cap_net_raw`, nothing else; `--lan` keeps `cap_net_bind_service` too (DHCP's port 68).
fn start_session(
    cfg: &ScanConfig,
    lan: bool,
    output: Option<&std::path::Path>,
) -> anyhow::Result<Session> {
    use crate::net::sys::privilege::Retain;
    let later = !cfg.targets.names().is_empty() || !cfg.targets.links_v6().is_empty();
    let retain = match (lan, later) {
        (true, _) => Retain::NetRawAndBind,
        (false, true) => Retain::NetRaw,
        (false, false) => Retain::Nothing,
    };
    let arp_targets = cfg
        .targets
        .iter()
        .take_while(|_| cfg.arp)
        .filter_map(|ip| match ip {
            std::net::IpAddr::V4(v4) => Some(v4),
            std::net::IpAddr::V6(_) => None,
        });
    let opts = SessionOptions {
        concurrency: cfg.concurrency,
    };
    super::start_session(opts, arp_targets, retain, output)
}

/// `netdx scan`: run, print the summary, write the report if asked.
pub async fn scan(
    mut cfg: ScanConfig,
    params: ScanParameters,
    delivery: Delivery,
    inventory: Option<InventoryConfig>,
    lan: bool,
) -> anyhow::Result<Outcome> {
    let Delivery {
        output,
        format,
        log,
        json,
    } = delivery;
    use std::io::IsTerminal;
    let started = Instant::now();
    let session = start_session(&cfg, lan, output.as_deref())?;
    // Nothing after discovery sweeps ARP again, unless LAN checks run beside the scan.
    cfg.release_arp = !lan;
    let lan_cancel = CancellationToken::new();
    let lan_task = if lan {
        start_lan(&session, &lan_cancel)
    } else {
        None
    };
    // The bar redraws itself with terminal control sequences: only on a terminal, and not
    // under NO_COLOR, whose users ask for plain text (warnings and results still print).
    let show_progress =
        std::io::stderr().is_terminal() && crate::ui::theme::Theme::from_env().color();
    let (mut report, outcome) = run(session, cfg, params, show_progress).await;
    if outcome == Outcome::NothingToScan {
        return Ok(outcome);
    }
    if outcome != Outcome::Complete {
        lan_cancel.cancel();
    }
    if let Some(task) = lan_task
        && let Ok(lan) = task.await
    {
        report.alerts.extend(lan.alerts.iter().cloned());
        report.lan = Some(lan);
    }
    // Only a complete scan says who is gone: an interrupted one never reached some addresses.
    let mut inventory_failed = false;
    let changes = match inventory.filter(|_| outcome == Outcome::Complete) {
        Some(cfg) => match record_inventory(&mut report, cfg) {
            Ok(text) => Some(text),
            Err(e) => {
                eprintln!("netdx: error: {e}; this scan is not recorded in the inventory");
                inventory_failed = cfg.explicit;
                None
            }
        },
        None => None,
    };
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
    if json {
        // The whole report, warnings and inventory changes included: stdout holds only it.
        println!("{}", output::json::to_string(&report)?);
    } else {
        print!("{table}");
        if let Some(changes) = &changes {
            print!("{changes}");
        }
    }
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
    if inventory_failed {
        return Ok(Outcome::InventoryFailed);
    }
    Ok(outcome)
}

/// `netdx scan`: the command line over the config file -> a [`ScanConfig`]; exit 0 when the
/// scan completed, 2 on bad input (or no target resolved), 130 when interrupted, 1 when the
/// engine failed, a file could not be written or an explicitly asked inventory failed.
pub fn run_cli(cmd: crate::cli::ScanCommandArgs) -> std::process::ExitCode {
    let args = cmd.scan;
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
    let log = file.scan.log_wanted(args.log, args.no_log);
    let inventory =
        (!cmd.no_inventory && file.scan.inventory != Some(false)).then_some(InventoryConfig {
            gone_after: cmd.gone_after,
            explicit: file.scan.inventory == Some(true),
        });
    let delivery = Delivery {
        output: args.output,
        format,
        log,
        json: cmd.json,
    };
    match rt.block_on(scan(cfg, params, delivery, inventory, cmd.lan)) {
        Ok(Outcome::Complete) => ExitCode::SUCCESS,
        Ok(Outcome::InventoryFailed) => ExitCode::FAILURE,
        Ok(Outcome::Interrupted) => ExitCode::from(super::EXIT_INTERRUPTED),
        Ok(Outcome::Failed) => ExitCode::FAILURE,
        Ok(Outcome::NothingToScan) => super::trouble(
            "no target resolved to an address: nothing was scanned (see the warnings above)",
        ),
        Err(e) => {
            eprintln!("netdx: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first scan says "inventory started" in one line; later ones list the changes,
    /// warnings before information, each on its own line.
    #[test]
    fn changes_are_one_line_at_start_and_warnings_first_later() {
        use crate::core::alert::{Alert, AlertKind};
        use crate::store::inventory::Update;
        let new = |ip: &str| {
            Alert::new(AlertKind::NewDevice, format!("new device {ip}"))
                .with_ip(ip.parse().expect("ip"))
        };
        let started = Update {
            alerts: vec![new("10.0.0.1"), new("10.0.0.2")],
            started: true,
            devices: 2,
        };
        assert_eq!(
            changes_text(&started),
            "\nChanges since last seen: inventory started: 2 devices (see `netdx inventory`)\n"
        );
        let later = Update {
            alerts: vec![
                Alert::new(
                    AlertKind::PortOpened,
                    "10.0.0.1: port 80/tcp open (was closed)",
                ),
                Alert::new(AlertKind::DeviceGone, "device gone: 10.0.0.2"),
            ],
            started: false,
            devices: 2,
        };
        assert_eq!(
            changes_text(&later),
            "\nChanges since last seen:\n  warning   device gone: 10.0.0.2\n  \
             info      10.0.0.1: port 80/tcp open (was closed)\n"
        );
        let quiet = Update {
            devices: 2,
            ..Default::default()
        };
        assert_eq!(changes_text(&quiet), "\nChanges since last seen: none\n");
    }

    /// An engine that panics after finding a host: the scan says so, keeps the host, is not
    /// complete, and its outcome is a failure (exit 1), never a silent success.
    #[tokio::test]
    async fn an_engine_panic_is_a_failure_not_a_silent_success() {
        let (tx, rx) = mpsc::channel(16);
        let ip: std::net::IpAddr = "10.0.0.7".parse().expect("ip");
        let engine = tokio::spawn(async move {
            let _ = tx.send(ScanEvent::Targets(vec![ip])).await;
            panic!("boom in a probe");
        });
        let report = ScanReport::new(ScanParameters::default());
        let (report, outcome) = drive(report, rx, engine, CancellationToken::new(), false).await;
        assert_eq!(outcome, Outcome::Failed);
        assert!(!report.complete);
        assert!(report.hosts.contains_key(&ip), "what was found is kept");
        assert!(
            report.notes.iter().any(|n| n.level == NoteLevel::Error
                && n.text.contains("internal error (boom in a probe)")),
            "{:?}",
            report.notes
        );
    }
}
