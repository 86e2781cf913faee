//! The event loop, after ratatui's event-driven async template: terminal events arrive on one
//! channel, engine events (tagged with their job) and finished exports on another; the loop
//! folds them into the [`App`] and draws at most once per frame interval, and only when
//! something changed. Idle, it sleeps: the only timers are the next monitoring round and a
//! once-a-second tick for the clock.
//!
//! Generic over the ratatui backend and fed through [`Inputs`], so tests drive it with a
//! `TestBackend`, scripted terminal events and a scripted [`Prober`].

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

use crate::event::ScanEvent;

use super::app::{App, Command};
use super::prober::{JobSpec, Prober};
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
}

struct Loop {
    msg_tx: mpsc::Sender<Msg>,
    prober: Arc<dyn Prober>,
    cancel: CancellationToken,
    /// Start of the last monitoring round (or end of the last sweep).
    last_round: Option<Instant>,
    /// Whether the previous iteration saw a sweep running, to notice its end.
    was_sweeping: bool,
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

    fn command(&mut self, app: &mut App, cmd: Command, now: Timestamp) -> Option<Exit> {
        match cmd {
            Command::Quit => return Some(Exit::Quit),
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
                    let result = crate::report::write(&report, &path, None)
                        .map(|f| (shown, f.label()))
                        .map_err(|e| e.to_string());
                    let _ = out.blocking_send(Msg::Exported(result));
                });
            }
        }
        None
    }

    /// Start a monitoring round if one is due; returns when the next one is due.
    fn maybe_round(
        &mut self,
        app: &mut App,
        interval: Duration,
        now: Timestamp,
    ) -> Option<Instant> {
        let d = &app.dash;
        if !d.monitoring || d.paused || d.round_running() || d.sweep_running() {
            return None;
        }
        let due = self.last_round.map_or_else(Instant::now, |t| t + interval);
        if Instant::now() < due {
            return Some(due);
        }
        self.last_round = Some(Instant::now());
        let plan = app.dash.round_plan(app.settings.ping);
        if plan.is_empty() {
            return Some(Instant::now() + interval);
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
        last_round: None,
        was_sweeping: false,
    };
    let _stop_jobs = lp.cancel.clone().drop_guard();
    let interval = app.settings.interval;
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
        }
        let sweeping = app.dash.sweep_running();
        if lp.was_sweeping && !sweeping {
            // The sweep counts as the first round: the next one is an interval later.
            lp.last_round = Some(Instant::now());
        }
        lp.was_sweeping = sweeping;
        let next_round = lp.maybe_round(app, interval, now);

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
                handle(app, msg, now);
                for _ in 0..DRAIN {
                    match msg_rx.try_recv() {
                        Ok(msg) => handle(app, msg, now),
                        Err(_) => break,
                    }
                }
                dirty = true;
            }
            _ = sleep_until(next_frame), if dirty => {}
            _ = sleep_until(next_round.unwrap_or_else(Instant::now)), if next_round.is_some() => {}
            _ = tick.tick() => dirty = true,
        }
    }
}

fn handle(app: &mut App, msg: Msg, now: Timestamp) {
    match msg {
        Msg::Engine(id, ev) => app.dash.apply(id, ev, now),
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
