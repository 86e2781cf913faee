//! The live dashboard: `netdx [TARGETS...]` and `netdx tui`.
//!
//! ```text
//!  terminal ──(input thread)──► events ─┐
//!                                        ▼
//!  engine jobs ──(tagged events)──► runner: App { Dashboard (state), TableView, Mode, View,
//!  diagnosis rounds ──(Diagnosis)──►                DiagnoseView }
//!  header checks ──(HeaderCheck)──►      │ draw when dirty, ≤ 1 frame / 33 ms
//!     ▲                                  │
//!     └──── JobSpec (scan, round, ports, resolve) ◄── keys ── render(&App)
//!           DiagnoseSpec (from the first D until x in the view)
//!           a header check every round
//! ```
//! [`state::Dashboard`] is the one owner of what was observed (a pure reducer over engine
//! events with injected timestamps); [`render`] only reads; [`runner`] owns the channels to
//! the engine through a [`prober::Prober`]. With no targets nothing is sent until the user
//! starts a run (or opens the Diagnose view with `D`, which checks this machine, its gateway
//! and its resolvers). Once a run started, every monitoring round also re-checks the header's
//! layers ([`health`]): the gateway, the resolvers and the WAN target.

pub mod alerts_view;
pub mod app;
pub mod diagnose_view;
pub mod health;
mod health_probe;
pub mod layout;
pub mod prober;
pub mod prompt;
pub mod remote;
pub mod render;
pub mod runner;
pub mod state;
pub mod table;
pub mod term;
pub mod theme;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::core::model::ScanParameters;
use crate::net::sys::netinfo::LocalContext;
use crate::output::Format;

use crate::net::session::{Session, SessionOptions};
use app::{App, Command, Settings};
use prober::{EngineProber, ScanTemplate};
use runner::{Exit, Inputs};
use state::{Dashboard, LogKind};
use theme::Theme;

/// Everything the dashboard is started with, typed and checked at the edge
/// (`cmd::dashboard`: command line over config file over defaults).
#[derive(Debug, Clone)]
pub struct DashboardConfig {
    /// Target specs to scan at once (from the command line and `--targets-file`), already
    /// checked to parse.
    pub targets: Vec<String>,
    /// Also scan the local subnet, the default gateway and the system resolvers at once.
    pub auto: bool,
    /// Between monitoring rounds once the first sweep is done.
    pub interval: Duration,
    /// What every job inherits.
    pub scan: ScanTemplate,
    /// What the exported report records about how the scans were run (no targets: the
    /// dashboard adds those it scanned). `ports` is also shown in the header.
    pub parameters: ScanParameters,
    /// `-o`: the state at exit is written here...
    pub output: Option<PathBuf>,
    /// ...in this format (or the one the extension names).
    pub format: Option<Format>,
    /// `--log`: the state at exit is recorded in the history.
    pub log: bool,
    /// `wan_target` from the config file: the header's WAN check goes there.
    pub wan_target: Option<health::WanTarget>,
    /// `--bell`: ring the terminal bell on warning and critical alerts.
    pub bell: bool,
    /// Record completed sweeps in the device inventory (not `--no-inventory`).
    pub inventory: bool,
    /// Run the LAN safety checks once at start (`--auto` unless `--no-lan`).
    pub lan: bool,
    /// Silent rounds before a device is reported gone.
    pub gone_after: u32,
    /// The colours named by `--theme` or the config file; `None`: as `NO_COLOR` says.
    pub theme: Option<theme::Palette>,
}

/// Open the dashboard and run it until the user quits or a signal arrives.
pub fn run(config: DashboardConfig) -> anyhow::Result<Exit> {
    let setup = prepare(&config);
    // Sockets before the runtime's threads and the terminal (trippy's order): open, drop
    // privileges (capabilities are per thread, so while this is the only one), then start
    // reading; a failure is a plain error line. The dashboard opens sockets later (a subnet
    // on another interface, a traceroute, the LAN checks of the alerts view with DHCP's port
    // 68), so cap_net_raw and cap_net_bind_service stay, nothing else.
    let (session, dropped) = Session::start_least_privileged(
        SessionOptions {
            concurrency: config.scan.concurrency,
        },
        [],
        crate::net::sys::privilege::Retain::NetRawAndBind,
    )?;
    if let Some(line) = dropped.summary() {
        eprintln!("netdx: {line}");
    }
    dropped.check_writable(config.output.as_deref())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let now = state::Timestamp::now_utc();
    let mut dash = Dashboard::new(setup.context, setup.parameters);
    dash.set_gone_after(config.gone_after);
    let mut app = App::new(dash, setup.settings, now);
    let mut initial = None;
    if !setup.targets.is_empty() {
        initial = Some(Command::Scan {
            targets: setup.targets,
        });
    }
    if config.auto {
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
    let template = config.scan;
    let exit = rt.block_on(async {
        // The terminal first: ratatui asks the terminal for the cursor position while
        // setting up, and the input thread would swallow the answer.
        let mut terminal = term::setup()?;
        let _guard = term::Guard;
        let input = term::spawn_input_reader()?;
        let inputs = Inputs {
            terminal: input,
            prober: Arc::new(EngineProber {
                template,
                session,
                wan_target: config.wan_target,
            }),
            clock: Box::new(state::Timestamp::now_utc),
            shutdown: Box::pin(shutdown_signal()),
        };
        runner::run(&mut terminal, &mut app, inputs, initial).await
    });
    term::restore();
    rt.shutdown_background();
    let exit = exit?;
    save_on_exit(&app, config.output, config.format, config.log)?;
    Ok(exit)
}

/// `netdx tui --remote`: what it needs, checked at the edge.
#[derive(Debug, Clone)]
pub struct RemoteConfig {
    pub options: crate::serve::client::RemoteOptions,
    /// Between two polls of the agent.
    pub refresh: Duration,
}

/// Show another agent's checks until the user quits or a signal arrives. Only the agent is
/// contacted; no session is opened and nothing is probed.
pub fn run_remote(config: RemoteConfig) -> anyhow::Result<Exit> {
    // Before the terminal: a bad CA file or URL is a plain error line.
    let client = crate::serve::client::Client::new(&config.options)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let mut view = remote::RemoteView::new(
        client.authority().to_string(),
        client.is_tls(),
        config.refresh,
        Theme::from_env(),
    );
    let exit = rt.block_on(async {
        let mut terminal = term::setup()?;
        let _guard = term::Guard;
        let input = term::spawn_input_reader()?;
        let inputs = remote::RemoteInputs {
            terminal: input,
            polls: remote::spawn_poller(client, config.refresh),
            shutdown: Box::pin(shutdown_signal()),
        };
        remote::run(&mut terminal, &mut view, inputs).await
    });
    term::restore();
    rt.shutdown_background();
    Ok(exit?)
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
    targets: Vec<String>,
    parameters: ScanParameters,
    settings: Settings,
    context: LocalContext,
}

/// What the dashboard reads from this machine before the terminal is touched.
fn prepare(config: &DashboardConfig) -> Setup {
    let settings = Settings {
        interval: config.interval,
        ports: config.parameters.ports.clone(),
        theme: Theme::choose(config.theme, std::env::var_os("NO_COLOR")),
        zone: crate::core::clock::LocalZone::system(),
        ping: config.scan.ping,
        bell: config.bell,
        inventory: config.inventory,
        lan_at_start: config.lan,
    };
    Setup {
        targets: config.targets.clone(),
        parameters: config.parameters.clone(),
        settings,
        context: LocalContext::read(),
    }
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
