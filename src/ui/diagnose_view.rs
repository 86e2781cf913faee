//! The dashboard's Diagnose view: the latest `netdx diagnose` verdict with its layers, the
//! evidence, the path to the first target and the outage timeline, refreshed every round.
//!
//! ```text
//! ┌ Diagnose · round 7 · ✖ DOWN · failing layer: DNS ─────────────────────────────┐
//! │ ✔ local OK   ✔ gateway OK   ✖ dns DOWN   ? wan SKIPPED   ? target SKIPPED       │
//! │ The gateway 10.77.0.1 answers, but the DNS server 10.77.0.53 does not answer:    │
//! │ names cannot be resolved, while addresses are reachable.                         │
//! ├ Evidence ────────────────────────────────────────────────────────────────────────┤
//! │ LAYER    CHECK                    RESULT                               STATUS    │
//! │ ...                                                                              │
//! ├ Path to app.lab.test (icmp) ──────────────┬ Outages ──────────────────────────────┤
//! │ HOP ADDRESS     LOSS  RTT                 │ START     END       DURATION  LAYER   │
//! └───────────────────────────────────────────┴───────────────────────────────────────┘
//! ```
//!
//! State ([`DiagnoseView`], owned by the dashboard's [`App`](super::app::App)) is fed whole
//! [`Diagnosis`] values, one per round, from [`spawn_rounds`] (started by the event loop through
//! the prober while the view is open); each outage transition becomes an event-log line through
//! [`log_line`]. Rendering reads the state only and costs O(visible rows). Strings were
//! cleaned when they entered the diagnosis and are cleaned again here before they reach the
//! terminal.

use crate::core::units;
use std::ops::ControlFlow;
use std::time::Duration;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::diagnose::model::{Diagnosis, Layer, Outage, Status};
use crate::diagnose::watch::{Timeline, Transition};
use crate::diagnose::{DiagnoseConfig, Diagnoser};
use crate::engine::monitor;
use crate::net::session::Session;
use crate::output::escape::text;

use super::render::wrap;
use super::state::{Health, LogKind, Timestamp};
use super::theme::Theme;

/// A host of the table the Diagnose view checks as a target, with the ports to connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiagnoseTarget {
    pub ip: std::net::IpAddr,
    /// Open ports the scans found on it (at most 4); empty: reachability and path only.
    pub ports: Vec<u16>,
}

/// What the Diagnose view shows: the last round and the outage timeline so far. The rounds
/// go on when the view is left (`running`), so the timeline keeps counting.
#[derive(Debug, Clone, Default)]
pub struct DiagnoseView {
    pub last: Option<Diagnosis>,
    pub timeline: Timeline,
    pub rounds: u32,
    /// Rounds are running (in the view or in the background).
    pub running: bool,
    /// The host checked besides this machine, if any (`t`).
    pub target: Option<DiagnoseTarget>,
}

impl DiagnoseView {
    /// Fold in one round; the transition (outage started, moved, ended) is for the event log.
    pub fn apply(&mut self, d: Diagnosis) -> Option<Transition> {
        if d.incomplete {
            return None;
        }
        self.rounds += 1;
        let t = self.timeline.observe(&d);
        self.last = Some(d);
        t
    }
}

/// The dashboard's health for a diagnosis status (same symbols and colours as the header).
pub fn health(s: Status) -> Health {
    match s {
        Status::Ok => Health::Ok,
        Status::Degraded => Health::Degraded,
        Status::Down => Health::Down,
        Status::Skipped => Health::Unknown,
    }
}

/// The dashboard's symbol and word for a status ("SKIPPED" rather than "UNKNOWN": a skipped
/// layer was deliberately not checked).
fn label(s: Status) -> String {
    let h = health(s);
    let word = if s == Status::Skipped {
        "SKIPPED"
    } else {
        h.word()
    };
    format!("{} {word}", h.symbol())
}

fn badge(s: Status, th: &Theme) -> Span<'static> {
    Span::styled(label(s), th.health(health(s)))
}

/// A layer as it reads inside a sentence ("the DNS outage", "the local connection outage").
pub fn layer_words(l: Layer) -> &'static str {
    match l {
        Layer::Local => "local connection",
        Layer::Gateway => "gateway",
        Layer::Dns => "DNS",
        Layer::Wan => "WAN path",
        Layer::Target => "target",
    }
}

/// When a round started (an outage's start or end), for the event log; `now` if there is
/// none, and never later than `now` (the log reads oldest first).
fn when(at: Option<Timestamp>, now: Timestamp) -> Timestamp {
    at.map_or(now, |t| t.min(now))
}

fn lasted(o: &Outage) -> String {
    let d = o
        .duration_s
        .map_or_else(|| "-".to_string(), units::duration);
    format!(
        "{d} ({} round{})",
        o.rounds,
        if o.rounds == 1 { "" } else { "s" }
    )
}

/// The event-log line for one transition of the outage timeline, stamped with the time of
/// the round that saw it: an outage starting (with the verdict), moving to another layer,
/// or ending (with its duration).
pub fn log_line(t: &Transition, now: Timestamp) -> (Timestamp, LogKind, String) {
    let status = |o: &Outage| label(o.status);
    let (at, kind, text) = match t {
        Transition::Started(o) => (
            when(Some(o.start), now),
            LogKind::Down,
            format!(
                "diagnosis: {} outage began ({}): {}",
                layer_words(o.layer),
                status(o),
                o.verdict
            ),
        ),
        Transition::Moved { ended, started } => (
            when(Some(started.start), now),
            LogKind::Down,
            format!(
                "diagnosis: the {} outage ended after {}; now the {} fails ({}): {}",
                layer_words(ended.layer),
                lasted(ended),
                layer_words(started.layer),
                status(started),
                started.verdict
            ),
        ),
        Transition::Ended(o) => (
            when(o.end, now),
            LogKind::Up,
            format!(
                "diagnosis: recovered, the {} outage lasted {}",
                layer_words(o.layer),
                lasted(o)
            ),
        ),
    };
    (at, kind, crate::core::sanitize::clean(&text))
}

/// Diagnosis rounds in the background on the dashboard's probe session, a round every
/// `interval` from start to start ([`monitor::run`]), each sent on `tx`, until `cancel` or the
/// receiver goes.
pub fn spawn_rounds(
    config: DiagnoseConfig,
    session: Session,
    interval: Duration,
    tx: mpsc::Sender<Diagnosis>,
    cancel: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let diagnoser = Diagnoser::new(config, session);
        let (diagnoser, tx, cancel) = (&diagnoser, &tx, &cancel);
        monitor::run(interval, cancel, |_| async move {
            let d = diagnoser.run(cancel).await;
            if d.incomplete || tx.send(d).await.is_err() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .await;
    })
}

fn block(title: String, th: &Theme) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title, th.title()))
}

/// Draw the view into `area`.
pub fn render(frame: &mut Frame, area: Rect, view: &DiagnoseView, th: &Theme) {
    let Some(d) = &view.last else {
        let p = Paragraph::new(vec![
            Line::from("No diagnosis yet: the first round is running."),
            Line::from(Span::styled(
                "It checks this machine, its gateway and DNS servers, and the path to each target.",
                th.dim(),
            )),
        ])
        .block(block(" Diagnose ".to_string(), th));
        frame.render_widget(p, area);
        return;
    };
    let inner_width = area.width.saturating_sub(2) as usize;
    let verdict = wrap(&text(&d.verdict), inner_width.max(20));
    // The layers line wraps between layers, never inside one.
    let mut layer_lines: Vec<Vec<Span>> = vec![Vec::new()];
    let mut used = 0;
    for l in &d.layers {
        let word = format!("{} ", l.layer.label());
        let w = word.chars().count() + label(l.status).chars().count();
        if used > 0 && used + 3 + w > inner_width {
            layer_lines.push(Vec::new());
            used = 0;
        }
        if let Some(line) = layer_lines.last_mut() {
            if used > 0 {
                line.push(Span::raw("   "));
                used += 3;
            }
            line.push(Span::raw(word));
            line.push(badge(l.status, th));
        }
        used += w;
    }
    // The verdict is what the view is for: it gets every row it needs, the path and outage
    // tables shrink (and go, on a short terminal) before it is cut.
    let head_needed = (layer_lines.len() + verdict.len()) as u16 + 2;
    let mut bottom_h = (area.height / 3).max(5);
    if head_needed + 4 + bottom_h > area.height {
        bottom_h = area.height.saturating_sub(head_needed + 4);
        if bottom_h < 4 {
            bottom_h = 0;
        }
    }
    let head_height = head_needed.min(area.height.saturating_sub(bottom_h + 3));
    let [head, evidence, bottom] = Layout::vertical([
        Constraint::Length(head_height),
        Constraint::Min(3),
        Constraint::Length(bottom_h),
    ])
    .areas(area);

    // Header: the status, the layers, the verdict.
    let layer = d
        .layer
        .map(|l| format!(" · failing layer: {}", l.title()))
        .unwrap_or_default();
    let title = format!(
        " Diagnose · round {} · {}{layer} ",
        view.rounds,
        label(d.status)
    );
    let mut lines: Vec<Line> = layer_lines.into_iter().map(Line::from).collect();
    lines.extend(verdict.into_iter().map(Line::from));
    frame.render_widget(
        Paragraph::new(lines).block(block(title, th).style(th.health(health(d.status)))),
        head,
    );

    // Evidence: as many rows as fit, failures first so they never scroll out of sight.
    let mut rows: Vec<&crate::diagnose::model::Evidence> = d.evidence.iter().collect();
    rows.sort_by_key(|e| std::cmp::Reverse(e.status));
    let fit = evidence.height.saturating_sub(3) as usize;
    let table = Table::new(
        rows.iter().take(fit).map(|e| {
            Row::new(vec![
                Cell::from(e.layer.label()),
                Cell::from(text(&e.check).into_owned()),
                Cell::from(text(&e.result).into_owned()),
                Cell::from(badge(e.status, th)),
            ])
        }),
        [
            Constraint::Length(8),
            Constraint::Percentage(30),
            Constraint::Fill(1),
            Constraint::Length(11),
        ],
    )
    .header(Row::new(vec!["LAYER", "CHECK", "RESULT", "STATUS"]).style(th.header_row()))
    .block(block(" Evidence ".to_string(), th));
    frame.render_widget(table, evidence);

    if bottom.height == 0 {
        return;
    }
    // Bottom: the first path, and the outage timeline.
    let [path_area, outages_area] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(bottom);
    let trace = d.targets.iter().find_map(|t| {
        let tr = t.trace.as_ref()?;
        let label = t.name.clone().unwrap_or_else(|| t.target.clone());
        Some((label, tr))
    });
    match trace {
        Some((label, tr)) => {
            let fit = path_area.height.saturating_sub(3) as usize;
            let rows = tr.hops.iter().take(fit).map(|h| {
                let mut note = String::new();
                if h.rate_limited {
                    note = "rate-limited".to_string();
                } else if let Some(u) = &h.unreachable {
                    note = u.clone();
                }
                let style = if h.received == 0 {
                    th.down()
                } else if h.rate_limited {
                    th.dim()
                } else {
                    ratatui::style::Style::new()
                };
                Row::new(vec![
                    Cell::from(h.ttl.to_string()),
                    Cell::from(h.addr.map_or_else(|| "*".to_string(), |a| a.to_string())),
                    Cell::from(units::pct(Some(h.loss_pct))),
                    Cell::from(units::ms_text(h.rtt_avg_ms)),
                    Cell::from(note),
                ])
                .style(style)
            });
            let table = Table::new(
                rows,
                [
                    Constraint::Length(3),
                    Constraint::Length(16),
                    Constraint::Length(6),
                    Constraint::Length(10),
                    Constraint::Fill(1),
                ],
            )
            .header(Row::new(vec!["HOP", "ADDRESS", "LOSS", "RTT", ""]).style(th.header_row()))
            .block(block(
                format!(" Path to {} ({}) ", text(&label), tr.protocol),
                th,
            ));
            frame.render_widget(table, path_area);
        }
        None => {
            let why = if d.targets_given.is_empty() {
                "No target given: no path to show."
            } else {
                "No path traced (see the evidence)."
            };
            frame.render_widget(
                Paragraph::new(Span::styled(why, th.dim())).block(block(" Path ".to_string(), th)),
                path_area,
            );
        }
    }
    let outages = view.timeline.outages();
    let fit = outages_area.height.saturating_sub(3) as usize;
    // The most recent outages, newest last.
    let shown = &outages[outages.len().saturating_sub(fit)..];
    let time = |t: Timestamp| {
        let t = t.to_offset(time::UtcOffset::UTC);
        format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
    };
    let table = Table::new(
        shown.iter().map(|o| {
            Row::new(vec![
                Cell::from(time(o.start)),
                Cell::from(o.end.map_or_else(|| "ongoing".to_string(), time)),
                Cell::from(
                    o.duration_s
                        .map_or_else(|| "-".to_string(), units::duration),
                ),
                Cell::from(o.layer.label()),
                Cell::from(badge(o.status, th)),
            ])
        }),
        [
            Constraint::Length(9),
            Constraint::Length(9),
            Constraint::Length(11),
            Constraint::Length(8),
            Constraint::Fill(1),
        ],
    )
    .header(Row::new(vec!["START", "END", "DURATION", "LAYER", "STATUS"]).style(th.header_row()))
    .block(block(
        format!(
            " Outages ({} in {} round{}) ",
            outages.len(),
            view.rounds,
            if view.rounds == 1 { "" } else { "s" }
        ),
        th,
    ));
    frame.render_widget(table, outages_area);
}
