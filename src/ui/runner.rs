//! The event loop, after ratatui's event-driven async template: terminal events arrive on one
//! channel, engine events (tagged with their job) and finished exports on another; the loop
//! folds them into the [`App`] and draws at most once per frame interval, and only when
//! something changed. Idle, it sleeps: the only timers are the next monitoring round and a
//! once-a-second tick for the clock.
//!
//! The Diagnose view's rounds run in a background task started through the prober when the
//! view is first opened; each [`Diagnosis`] comes back on the same channel, tagged with the
//! run it belongs to, and the loop folds it into `app.diagnose` (logging the outage
//! timeline's transitions). Leaving the view keeps them going (the timeline keeps counting);
//! `x` in the view, a new target (`t`) or quitting cancels the task.
//!
//! The header's cells are re-checked on the same cadence as the monitoring rounds, one
//! check at a time, through [`Prober::header`]; each [`HeaderCheck`] comes back as a message.
//!
//! Generic over the ratatui backend and fed through [`Inputs`], so tests drive it with a
//! `TestBackend`, scripted terminal events and a scripted [`Prober`].

use crate::core::units;
use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::Event;
use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior, sleep_until};
use tokio_util::sync::CancellationToken;

use crate::core::event::ScanEvent;
use crate::diagnose::Diagnosis;
use crate::engine::monitor::Cadence;

use super::app::{App, Command, View};
use super::diagnose_view::{self, DiagnoseTarget};
use super::health::HeaderCheck;
use super::prober::{DIAGNOSE_MIN_INTERVAL, DiagnoseSpec, JobSpec, Prober};
use super::render;
use super::state::{JobId, JobKind, LogKind, Timestamp};

/// Shortest time between two frames (about 30 frames a second at most).
pub const FRAME: Duration = Duration::from_millis(33);
/// Engine events folded per wake-up before the loop looks at input again.
const DRAIN: usize = 4096;

/// How the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// `q` or Ctrl-C.
    Quit,
    /// SIGINT, SIGTERM or SIGHUP: the number of the signal.
    Signal(i32),
    /// The terminal went away (input closed).
    InputClosed,
}

/// Everything from outside that the loop consumes.
pub struct Inputs {
    pub terminal: mpsc::Receiver<io::Result<Event>>,
    pub prober: Arc<dyn Prober>,
    /// Wall clock for timestamps (tests pass a fixed or stepping one).
    pub clock: Box<dyn Fn() -> Timestamp + Send>,
    /// Resolves when the process is asked to stop.
    pub shutdown: Pin<Box<dyn Future<Output = Exit> + Send>>,
}

/// Messages from background tasks to the loop.
#[derive(Debug)]
pub enum Msg {
    Engine(JobId, ScanEvent),
    Exported(Result<(PathBuf, &'static str), String>),
    /// One diagnosis round of the Diagnose view's visit number `.0`.
    Diagnosis(u64, Box<Diagnosis>),
    /// A header check ended (`None`: without a result, cancelled).
    Header(Option<Box<HeaderCheck>>),
    /// The diagnosis rounds of run `.0` ended on their own (or were stopped).
    DiagnosisEnded(u64),
    /// A sweep was recorded in the device inventory (or could not be).
    Inventory(Result<crate::store::inventory::Update, String>),
    /// The LAN safety checks ended.
    Lan(Box<crate::core::lan::LanReport>),
}

/// The diagnosis rounds of the current visit to the Diagnose view.
struct Diagnosing {
    visit: u64,
    cancel: CancellationToken,
}

struct Loop {
    msg_tx: mpsc::Sender<Msg>,
    prober: Arc<dyn Prober>,
    cancel: CancellationToken,
    /// When monitoring rounds are due: the start of the last one (or the end of the last
    /// sweep), plus the interval; the cadence of every round loop of netdx
    /// ([`crate::engine::monitor`]). The trigger itself stays in this loop: a round may start
    /// only when the dashboard's state allows it (monitoring on, not paused, no sweep or round
    /// running), and its events feed the same state machine as every other job's.
    rounds: Cadence,
    /// Whether the previous iteration saw a sweep running, to notice its end.
    was_sweeping: bool,
    /// Running diagnosis rounds, while the Diagnose view is open.
    diagnosing: Option<Diagnosing>,
    /// Visits to the Diagnose view so far: rounds of an earlier visit that arrive late are
    /// dropped.
    visits: u64,
    /// When the header's checks are due: every monitoring round's interval, while a sweep
    /// or the monitoring runs (not paused), one at a time.
    header: Cadence,
    header_running: bool,
    /// The prober cannot check the header (a scripted one): the header shows what rounds saw.
    header_off: bool,
    /// The LAN safety checks are running (one at a time).
    lan_running: bool,
}

impl Loop {
    fn start_job(
        &mut self,
        app: &mut App,
        kind: JobKind,
        spec: JobSpec,
        watch: &[std::net::IpAddr],
        now: Timestamp,
    ) {
        let id = app.dash.begin(kind, watch, now);
        let (tx, mut rx) = mpsc::channel::<ScanEvent>(1024);
        if let Err(e) = self.prober.start(spec, tx, self.cancel.child_token()) {
            app.dash.abort(id, &e, now);
            app.status = Some((LogKind::Error, e));
            return;
        }
        let out = self.msg_tx.clone();
        // Tag the job's events; a job that dies without `Finished` is closed as interrupted
        // so the dashboard never waits for it forever.
        tokio::spawn(async move {
            let mut finished = false;
            while let Some(ev) = rx.recv().await {
                finished |= matches!(ev, ScanEvent::Finished { .. });
                if out.send(Msg::Engine(id, ev)).await.is_err() {
                    return;
                }
            }
            if !finished {
                let _ = out
                    .send(Msg::Engine(id, ScanEvent::Finished { interrupted: true }))
                    .await;
            }
        });
    }

    /// What a message ends for the loop itself: a header check, a run of diagnosis rounds
    /// (one that stopped on its own is no longer running: opening the view starts anew).
    fn settle(&mut self, app: &mut App, msg: &Msg) {
        match msg {
            Msg::Header(_) => self.header_running = false,
            Msg::Lan(_) => self.lan_running = false,
            Msg::DiagnosisEnded(v) if self.diagnosing.as_ref().is_some_and(|d| d.visit == *v) => {
                self.diagnosing = None;
                app.diagnose.running = false;
            }
            _ => {}
        }
    }

    /// Start a header check if one is due; returns when the next one is due.
    fn maybe_header(&mut self, app: &App) -> Option<Instant> {
        let d = &app.dash;
        if self.header_off
            || self.header_running
            || d.paused
            || !(d.monitoring || d.sweep_running())
        {
            return None;
        }
        let clock = Instant::now();
        if !self.header.is_due(clock) {
            return Some(self.header.due(clock));
        }
        self.header.started(clock);
        let (tx, mut rx) = mpsc::channel::<HeaderCheck>(1);
        if self.prober.header(tx, self.cancel.child_token()).is_err() {
            self.header_off = true;
            return None;
        }
        self.header_running = true;
        let out = self.msg_tx.clone();
        tokio::spawn(async move {
            let check = rx.recv().await.map(Box::new);
            let _ = out.send(Msg::Header(check)).await;
        });
        None
    }

    /// Start diagnosis rounds (of this machine, and of `target`), replacing running ones.
    fn start_diagnosis(&mut self, app: &mut App, target: Option<DiagnoseTarget>, now: Timestamp) {
        self.stop_diagnosis(app, now);
        app.diagnose.running = true;
        self.visits += 1;
        let visit = self.visits;
        let asked = app.settings.interval;
        let interval = asked.max(DIAGNOSE_MIN_INTERVAL);
        let cancel = self.cancel.child_token();
        let (tx, mut rx) = mpsc::channel::<Diagnosis>(4);
        let what = match &target {
            Some(t) if t.ports.is_empty() => format!(", and the path to {}", t.ip),
            Some(t) => {
                let ports: Vec<String> = t.ports.iter().map(u16::to_string).collect();
                format!(", and {} on ports {}", t.ip, ports.join(","))
            }
            None => String::new(),
        };
        let spec = DiagnoseSpec { interval, target };
        if let Err(e) = self.prober.diagnose(spec, tx, cancel.clone()) {
            let text = format!("diagnosis unavailable: {e}");
            app.dash.log(now, LogKind::Error, text.clone());
            app.status = Some((LogKind::Error, text));
            app.view = View::Hosts;
            app.diagnose.running = false;
            return;
        }
        let mut text = format!(
            "diagnosis started: this machine, its gateway and DNS servers{what}, every {}",
            units::seconds(interval)
        );
        if interval > asked {
            text.push_str(" (the shortest diagnosis interval)");
        }
        if !app.settings.ping {
            text.push_str("; it pings the gateway and DNS servers despite --no-ping");
        }
        app.dash.log(now, LogKind::Info, text);
        let out = self.msg_tx.clone();
        tokio::spawn(async move {
            while let Some(d) = rx.recv().await {
                if out.send(Msg::Diagnosis(visit, Box::new(d))).await.is_err() {
                    return;
                }
            }
            let _ = out.send(Msg::DiagnosisEnded(visit)).await;
        });
        self.diagnosing = Some(Diagnosing { visit, cancel });
    }

    /// Record the state after a sweep in the device inventory, off the event loop (SQLite
    /// writes wait for the disk); what it says comes back as [`Msg::Inventory`].
    fn record_inventory(&mut self, app: &App, now: Timestamp) {
        let report = app.dash.export_report(now);
        let at = super::state::rfc3339(now);
        let out = self.msg_tx.clone();
        tokio::task::spawn_blocking(move || {
            let result = crate::store::inventory::Inventory::open_default()
                .and_then(|mut inv| inv.record(&report, &at, 1))
                .map_err(|e| e.to_string());
            let _ = out.blocking_send(Msg::Inventory(result));
        });
    }

    /// Run the LAN safety checks once in the background; the report arrives as
    /// [`Msg::Lan`]. One at a time: a second `L` while they run is refused in the footer.
    fn check_lan(&mut self, app: &mut App, now: Timestamp) {
        if self.lan_running {
            app.status = Some((LogKind::Info, "LAN checks already running".to_string()));
            return;
        }
        let (tx, mut rx) = mpsc::channel(1);
        if let Err(e) = self.prober.lan(tx, self.cancel.child_token()) {
            let text = format!("LAN checks unavailable: {e}");
            app.dash.log(now, LogKind::Error, text.clone());
            app.status = Some((LogKind::Error, text));
            return;
        }
        self.lan_running = true;
        app.dash.log(
            now,
            LogKind::Info,
            "LAN checks started: DHCP servers, duplicate IPs, gateway ARP, IPv6 routers, switch port",
        );
        let out = self.msg_tx.clone();
        tokio::spawn(async move {
            if let Some(report) = rx.recv().await {
                let _ = out.send(Msg::Lan(Box::new(report))).await;
            }
        });
    }

    /// Stop the running rounds, if any (`x`, or new rounds replace them).
    fn stop_diagnosis(&mut self, app: &mut App, now: Timestamp) {
        let Some(d) = self.diagnosing.take() else {
            return;
        };
        d.cancel.cancel();
        app.diagnose.running = false;
        let rounds = app.diagnose.rounds;
        let mut text = format!(
            "diagnosis stopped after {rounds} round{}",
            if rounds == 1 { "" } else { "s" }
        );
        if let Some(o) = app.diagnose.timeline.current() {
            text.push_str(&format!(
                "; the {} outage was still going on",
                diagnose_view::layer_words(o.layer)
            ));
        }
        app.dash.log(now, LogKind::Info, text);
    }

    fn command(&mut self, app: &mut App, cmd: Command, now: Timestamp) -> Option<Exit> {
        match cmd {
            Command::Quit => return Some(Exit::Quit),
            Command::StartDiagnosis { target } => self.start_diagnosis(app, target, now),
            Command::StopDiagnosis => self.stop_diagnosis(app, now),
            Command::CheckLan => self.check_lan(app, now),
            Command::Scan { targets } => {
                let first = !app.dash.started();
                let kind = JobKind::Sweep {
                    targets: targets.clone(),
                };
                // The --dns queries run with the first scan and with rescans of everything.
                let dns_queries = first || targets == app.dash.target_specs;
                self.start_job(
                    app,
                    kind,
                    JobSpec::Scan {
                        targets,
                        dns_queries,
                    },
                    &[],
                    now,
                );
                app.table.invalidate();
            }
            Command::PortScan { ip, spec } => {
                self.start_job(
                    app,
                    JobKind::Ports {
                        ip,
                        spec: spec.clone(),
                    },
                    JobSpec::Ports { ip, spec },
                    &[],
                    now,
                );
            }
            Command::Resolve { name, rtype } => {
                self.start_job(
                    app,
                    JobKind::Resolve {
                        query: format!("{name} {rtype}"),
                    },
                    JobSpec::Resolve { name, rtype },
                    &[],
                    now,
                );
            }
            Command::Export { path } => {
                let report = app.dash.export_report(now);
                let out = self.msg_tx.clone();
                tokio::task::spawn_blocking(move || {
                    let shown = match std::env::current_dir() {
                        Ok(cwd) if path.is_relative() => cwd.join(&path),
                        _ => path.clone(),
                    };
                    let result = crate::output::write(&report, &path, None)
                        .map(|f| (shown, f.label()))
                        .map_err(|e| e.to_string());
                    let _ = out.blocking_send(Msg::Exported(result));
                });
            }
        }
        None
    }

    /// Start a monitoring round if one is due; returns when the next one is due.
    fn maybe_round(&mut self, app: &mut App, now: Timestamp) -> Option<Instant> {
        let d = &app.dash;
        if !d.monitoring || d.paused || d.round_running() || d.sweep_running() {
            return None;
        }
        let clock = Instant::now();
        if !self.rounds.is_due(clock) {
            return Some(self.rounds.due(clock));
        }
        self.rounds.started(clock);
        let plan = app.dash.round_plan(app.settings.ping);
        if plan.is_empty() {
            return Some(self.rounds.due(clock));
        }
        let number = app.dash.rounds + 1;
        let watch = plan.addresses();
        self.start_job(
            app,
            JobKind::Round { number },
            JobSpec::Round(plan),
            &watch,
            now,
        );
        None
    }
}

/// Run the dashboard until quit, a signal or the end of input. `initial` is carried out
/// first (the command-line targets or `--auto`).
pub async fn run<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    mut inputs: Inputs,
    initial: Option<Command>,
) -> io::Result<Exit>
where
    B::Error: Send + Sync + 'static,
{
    let (msg_tx, mut msg_rx) = mpsc::channel::<Msg>(4096);
    let mut lp = Loop {
        msg_tx,
        prober: inputs.prober.clone(),
        cancel: CancellationToken::new(),
        rounds: Cadence::new(app.settings.interval),
        was_sweeping: false,
        diagnosing: None,
        visits: 0,
        header: Cadence::new(app.settings.interval),
        header_running: false,
        header_off: false,
        lan_running: false,
    };
    let _stop_jobs = lp.cancel.clone().drop_guard();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut dirty = true;
    let mut next_frame = Instant::now();
    if let Some(cmd) = initial {
        let now = (inputs.clock)();
        if let Some(exit) = lp.command(app, cmd, now) {
            return Ok(exit);
        }
    }
    if app.settings.lan_at_start {
        let now = (inputs.clock)();
        lp.command(app, Command::CheckLan, now);
    }
    loop {
        let now = (inputs.clock)();
        if dirty && Instant::now() >= next_frame {
            let size = terminal.size().map_err(io::Error::other)?;
            app.size = ratatui::layout::Rect::new(0, 0, size.width, size.height);
            app.prepare(now);
            terminal
                .draw(|f| render::draw(f, app))
                .map_err(io::Error::other)?;
            dirty = false;
            next_frame = Instant::now() + FRAME;
            if std::mem::take(&mut app.dash.bell_due) && app.settings.bell {
                // BEL on the terminal itself: the one sound a technician across the room
                // hears, and only when asked for (`--bell`).
                use std::io::Write as _;
                let mut out = io::stdout();
                let _ = out.write_all(b"\x07").and_then(|()| out.flush());
            }
        }
        let sweeping = app.dash.sweep_running();
        if lp.was_sweeping && !sweeping {
            // The sweep counts as the first round: the next one is an interval later.
            lp.rounds.started(Instant::now());
            if app.settings.inventory {
                lp.record_inventory(app, now);
            }
        }
        lp.was_sweeping = sweeping;
        let next_round = lp.maybe_round(app, now);
        let next_header = lp.maybe_header(app);

        tokio::select! {
            exit = &mut inputs.shutdown => return Ok(exit),
            ev = inputs.terminal.recv() => {
                let now = (inputs.clock)();
                match ev {
                    Some(Ok(Event::Key(key))) => {
                        if let Some(cmd) = app.on_key(key)
                            && let Some(exit) = lp.command(app, cmd, now)
                        {
                            return Ok(exit);
                        }
                    }
                    Some(Ok(Event::Mouse(m))) => app.on_mouse(m),
                    Some(Ok(Event::Resize(w, h))) => {
                        app.size = ratatui::layout::Rect::new(0, 0, w, h);
                        terminal.autoresize().map_err(io::Error::other)?;
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(e),
                    None => return Ok(Exit::InputClosed),
                }
                dirty = true;
            }
            Some(msg) = msg_rx.recv() => {
                let now = (inputs.clock)();
                let visit = lp.diagnosing.as_ref().map(|d| d.visit);
                lp.settle(app, &msg);
                handle(app, msg, visit, now);
                for _ in 0..DRAIN {
                    match msg_rx.try_recv() {
                        Ok(msg) => {
                            lp.settle(app, &msg);
                            handle(app, msg, visit, now);
                        }
                        Err(_) => break,
                    }
                }
                dirty = true;
            }
            _ = sleep_until(next_frame), if dirty => {}
            _ = sleep_until(next_round.unwrap_or_else(Instant::now)), if next_round.is_some() => {}
            _ = sleep_until(next_header.unwrap_or_else(Instant::now)), if next_header.is_some() => {}
            _ = tick.tick() => dirty = true,
        }
    }
}

/// Fold one message into the state. `visit` is the Diagnose view's current visit (rounds of
/// any other are stale).
fn handle(app: &mut App, msg: Msg, visit: Option<u64>, now: Timestamp) {
    match msg {
        Msg::Diagnosis(v, d) => {
            if Some(v) != visit {
                return;
            }
            if let Some(t) = app.diagnose.apply(*d) {
                let (at, kind, text) = diagnose_view::log_line(&t, now);
                app.dash.log_earlier(at, kind, text);
            }
        }
        Msg::Engine(id, ev) => app.dash.apply(id, ev, now),
        Msg::Header(Some(check)) => app.dash.apply_header(*check, now),
        Msg::Header(None) | Msg::DiagnosisEnded(_) => {}
        Msg::Inventory(Ok(update)) => app.dash.apply_inventory(update, now),
        Msg::Lan(report) => {
            let problems = report.alerts.len();
            app.dash.log(
                now,
                if problems == 0 {
                    LogKind::Info
                } else {
                    LogKind::Warn
                },
                format!(
                    "LAN checks on {} done: {}",
                    report.interface,
                    match problems {
                        0 => "no problem found (A shows what each check saw)".to_string(),
                        1 => "1 problem (A)".to_string(),
                        n => format!("{n} problems (A)"),
                    }
                ),
            );
            app.dash.apply_lan(*report, now);
        }
        Msg::Inventory(Err(e)) => app.dash.log(
            now,
            LogKind::Error,
            format!("inventory: {e}; this sweep is not recorded"),
        ),
        Msg::Exported(Ok((path, format))) => {
            let text = format!("exported {format} report to {}", path.display());
            app.dash.log(now, LogKind::Info, text.clone());
            app.status = Some((LogKind::Info, text));
        }
        Msg::Exported(Err(e)) => {
            let text = format!("export failed: {e}");
            app.dash.log(now, LogKind::Error, text.clone());
            app.status = Some((LogKind::Error, text));
        }
    }
}
