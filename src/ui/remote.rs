//! `netdx tui --remote URL`: what another netdx agent (`netdx serve`) sees, read-only.
//!
//! ```text
//!  poller task ──(Poll: result + when)──► loop: RemoteView (state) ──► draw(&RemoteView, now)
//!   fetch /api/v1/checks every --refresh s       ▲
//!  terminal ──(input thread)──► keys ────────────┘  q quits, arrows move; probe keys refused
//! ```
//!
//! Nothing is probed from here: the only traffic is the poll of the agent's JSON API. The
//! view keeps the last good document; when polls fail it says why in the header (unreachable,
//! 401, TLS) and, after [`STALE_POLLS`] missed polls, marks the data stale instead of
//! pretending it is current.
//!
//! Screen (80 columns):
//! ```text
//!  netdx remote: 10.0.0.5:9430 (https) · agent v0.1.0 · last update 1.2 s ago
//!  3 up · 1 down · 0 pending                         [or: ⚠ unreachable: ... · STALE]
//! ┌ Checks on the agent ───────────────────────────────────────────────────────┐
//! │ CHECK        KIND TARGET          STATE    LATENCY   SINCE  VERDICT        │
//! │ ...                                                                        │
//! └────────────────────────────────────────────────────────────────────────────┘
//!  read-only remote view: probes run on the agent, scan keys are off · ↑↓ move · q quit
//! ```

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::time::Duration;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::Frame;
use ratatui::Terminal;
use ratatui::backend::Backend;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table, TableState};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::serve::api::{CheckStatus, ChecksDoc};
use crate::serve::client::{Client, FetchError};

use super::runner::{Exit, FRAME};
use super::theme::Theme;

/// Failed polls in a row after which the data shown is marked stale.
pub const STALE_POLLS: u32 = 2;

/// How often the "last update" age is redrawn while nothing else happens.
const AGE_TICK: Duration = Duration::from_millis(500);

/// The remote view's state: the last good document and how polling goes.
#[derive(Debug, Clone)]
pub struct RemoteView {
    /// `host:port` of the agent, and whether it is reached over TLS.
    pub authority: String,
    pub tls: bool,
    pub refresh: Duration,
    pub theme: Theme,
    pub doc: Option<ChecksDoc>,
    /// When the last good document arrived.
    pub updated: Option<Instant>,
    /// The last poll's error, while polls fail.
    pub error: Option<String>,
    /// Failed polls since the last good one.
    pub failures: u32,
    /// A one-line notice in the footer (a refused key).
    pub notice: Option<String>,
    pub table: TableState,
}

impl RemoteView {
    pub fn new(authority: String, tls: bool, refresh: Duration, theme: Theme) -> RemoteView {
        RemoteView {
            authority,
            tls,
            refresh,
            theme,
            doc: None,
            updated: None,
            error: None,
            failures: 0,
            notice: None,
            table: TableState::default().with_selected(Some(0)),
        }
    }

    /// Fold one poll's result, received at `at`.
    pub fn apply(&mut self, result: Result<ChecksDoc, FetchError>, at: Instant) {
        match result {
            Ok(doc) => {
                self.doc = Some(doc);
                self.updated = Some(at);
                self.error = None;
                self.failures = 0;
            }
            Err(e) => {
                self.error = Some(e.to_string());
                self.failures = self.failures.saturating_add(1);
            }
        }
    }

    /// Whether what is shown can no longer be taken as current: polls were missed, or none
    /// came back for a long while (a hung connection).
    pub fn stale(&self, now: Instant) -> bool {
        let late = self.updated.is_some_and(|u| {
            now.saturating_duration_since(u)
                > self.refresh * 3 + crate::serve::client::FETCH_TIMEOUT
        });
        self.doc.is_some() && (self.failures >= STALE_POLLS || late)
    }

    fn rows(&self) -> usize {
        self.doc.as_ref().map_or(0, |d| d.checks.len())
    }

    /// A key: `Some(Exit)` to leave.
    pub fn on_key(&mut self, key: KeyEvent) -> Option<Exit> {
        if key.kind == KeyEventKind::Release {
            return None;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        self.notice = None;
        let rows = self.rows();
        let sel = self.table.selected().unwrap_or(0);
        let go = |to: usize| Some(to.min(rows.saturating_sub(1)));
        match key.code {
            KeyCode::Char('c') if ctrl => return Some(Exit::Quit),
            KeyCode::Char('q') | KeyCode::Esc => return Some(Exit::Quit),
            KeyCode::Down | KeyCode::Char('j') => self.table.select(go(sel + 1)),
            KeyCode::Up | KeyCode::Char('k') => self.table.select(go(sel.saturating_sub(1))),
            KeyCode::PageDown => self.table.select(go(sel + 10)),
            KeyCode::PageUp => self.table.select(go(sel.saturating_sub(10))),
            KeyCode::Home | KeyCode::Char('g') => self.table.select(Some(0)),
            KeyCode::End | KeyCode::Char('G') => self.table.select(go(usize::MAX)),
            // The dashboard's keys that start probes or scans: a remote view never probes.
            KeyCode::Char('a' | 'p' | 'd' | 'D' | 'r' | 'L' | 't' | ' ' | 'e') => {
                self.notice = Some(
                    "read-only remote view: probes run on the agent, not from here".to_string(),
                );
            }
            _ => {}
        }
        None
    }
}

/// `1.2 s`, `4m05s`, `3h12m`, `2d04h`.
fn age(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{:.1} s", d.as_secs_f64()),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86400, s % 86400 / 3600),
    }
}

fn status_style(th: &Theme, s: CheckStatus) -> Style {
    match s {
        CheckStatus::Up => th.up(),
        CheckStatus::Down => th.log(super::state::LogKind::Down),
        CheckStatus::Pending => th.dim(),
    }
}

/// Draw the whole screen at `now`.
pub fn draw(frame: &mut Frame, view: &RemoteView, now: Instant) {
    let [header, summary, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    draw_header(frame, header, view, now);
    draw_summary(frame, summary, view, now);
    draw_checks(frame, body, view, now);
    draw_footer(frame, footer, view);
}

fn draw_header(frame: &mut Frame, area: Rect, view: &RemoteView, now: Instant) {
    let th = &view.theme;
    let scheme = if view.tls { "https" } else { "http" };
    let mut spans = vec![
        Span::styled(" netdx ", th.title()),
        Span::styled(
            format!("remote: {} ({scheme})", view.authority),
            th.accent(),
        ),
    ];
    if let Some(doc) = &view.doc {
        spans.push(Span::raw(format!(" · agent v{}", doc.agent.version)));
    }
    let updated = match view.updated {
        Some(u) => format!(
            " · last update {} ago",
            age(now.saturating_duration_since(u))
        ),
        None => " · no update yet".to_string(),
    };
    let stale = view.stale(now);
    spans.push(Span::styled(
        updated,
        if stale {
            th.log(super::state::LogKind::Warn)
        } else {
            Style::new()
        },
    ));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn draw_summary(frame: &mut Frame, area: Rect, view: &RemoteView, now: Instant) {
    let th = &view.theme;
    let line = match (&view.error, &view.doc) {
        (Some(err), _) => {
            let mut s = vec![Span::styled(
                format!(" ⚠ {}", crate::core::sanitize::clean(err)),
                th.log(super::state::LogKind::Error),
            )];
            if view.stale(now) {
                s.push(Span::styled(
                    format!(" · STALE: data from {} polls ago", view.failures),
                    th.log(super::state::LogKind::Warn),
                ));
            } else if view.doc.is_some() {
                s.push(Span::raw(" · showing the last good data"));
            }
            Line::from(s)
        }
        (None, Some(doc)) => {
            let count = |s: CheckStatus| doc.checks.iter().filter(|c| c.state == s).count();
            Line::from(vec![
                Span::styled(format!(" {} up", count(CheckStatus::Up)), th.up()),
                Span::raw(" · "),
                Span::styled(
                    format!("{} down", count(CheckStatus::Down)),
                    status_style(th, CheckStatus::Down),
                ),
                Span::raw(" · "),
                Span::styled(format!("{} pending", count(CheckStatus::Pending)), th.dim()),
                Span::styled(
                    format!(
                        " · a state changes after {} equal results · polled every {}",
                        doc.flap,
                        age(view.refresh)
                    ),
                    th.dim(),
                ),
            ])
        }
        (None, None) => Line::from(Span::styled(" connecting…", th.dim())),
    };
    frame.render_widget(Paragraph::new(line), area);
}

fn draw_checks(frame: &mut Frame, area: Rect, view: &RemoteView, now: Instant) {
    let th = &view.theme;
    let stale = view.stale(now);
    let title = if stale {
        " Checks on the agent (STALE) "
    } else {
        " Checks on the agent "
    };
    let block = Block::default().borders(Borders::ALL).title(title);
    let Some(doc) = &view.doc else {
        frame.render_widget(
            Paragraph::new(Span::styled(
                " waiting for the agent's first answer",
                th.dim(),
            ))
            .block(block),
            area,
        );
        return;
    };
    // The document's age: `for_s` was measured when the agent wrote it.
    let since_base = view
        .updated
        .map_or(Duration::ZERO, |u| now.saturating_duration_since(u));
    let clean = crate::core::sanitize::clean;
    let rows = doc.checks.iter().map(|c| {
        let since = c.for_s.map_or("-".to_string(), |s| {
            age(Duration::from_secs_f64(s.max(0.0)) + since_base)
        });
        let latency = c
            .latency_ms
            .map_or("-".to_string(), |l| format!("{l:.1} ms"));
        let style = if stale {
            th.dim()
        } else {
            status_style(th, c.state)
        };
        Row::new(vec![
            Span::raw(clean(&c.name)),
            Span::raw(clean(&c.kind)),
            Span::raw(clean(&c.target)),
            Span::styled(c.state.label(), style),
            Span::raw(latency),
            Span::raw(since),
            Span::raw(clean(&c.verdict)),
        ])
    });
    // Fixed widths from the data (the verdict takes the rest), so wide terminals do not
    // spread the short columns apart.
    let width = |f: fn(&crate::serve::api::CheckView) -> usize, head: usize, most: usize| {
        let w = doc.checks.iter().map(f).max().unwrap_or(0).max(head);
        u16::try_from(w.min(most)).unwrap_or(8)
    };
    let table = Table::new(
        rows,
        [
            Constraint::Length(width(|c| c.name.chars().count(), 5, 32)),
            Constraint::Length(width(|c| c.kind.chars().count(), 4, 8)),
            Constraint::Length(width(|c| c.target.chars().count(), 6, 40)),
            Constraint::Length(7),
            Constraint::Length(9),
            Constraint::Length(7),
            Constraint::Fill(1),
        ],
    )
    .header(
        Row::new([
            "CHECK", "KIND", "TARGET", "STATE", "LATENCY", "SINCE", "VERDICT",
        ])
        .style(th.header_row()),
    )
    .row_highlight_style(th.selected())
    .block(block);
    let mut state = view.table;
    frame.render_stateful_widget(table, area, &mut state);
}

fn draw_footer(frame: &mut Frame, area: Rect, view: &RemoteView) {
    let th = &view.theme;
    let mut spans = vec![Span::styled(
        " read-only remote view: scan and probe keys are off",
        th.dim(),
    )];
    for (k, what) in [("↑↓", "move"), ("q", "quit")] {
        spans.push(Span::raw(" ·"));
        spans.push(Span::styled(format!(" {k}"), th.key()));
        spans.push(Span::raw(format!(" {what}")));
    }
    if let Some(n) = &view.notice {
        spans = vec![Span::styled(
            format!(" {n}"),
            th.log(super::state::LogKind::Warn),
        )];
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// One poll's result and when it came.
pub type Poll = (Result<ChecksDoc, FetchError>, Instant);

/// Poll the agent every `refresh` (the first poll at once) until the receiver is dropped.
pub fn spawn_poller(mut client: Client, refresh: Duration) -> mpsc::Receiver<Poll> {
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        loop {
            let started = Instant::now();
            let r = client.fetch().await;
            if tx.send((r, Instant::now())).await.is_err() {
                return;
            }
            tokio::select! {
                _ = tx.closed() => return,
                _ = tokio::time::sleep_until(started + refresh) => {}
            }
        }
    });
    rx
}

/// What the loop consumes.
pub struct RemoteInputs {
    pub terminal: mpsc::Receiver<io::Result<Event>>,
    pub polls: mpsc::Receiver<Poll>,
    pub shutdown: Pin<Box<dyn Future<Output = Exit> + Send>>,
}

/// Run the view until `q`, a signal or the end of input; draws when something changed and
/// every [`AGE_TICK`] for the age in the header.
pub async fn run<B: Backend>(
    terminal: &mut Terminal<B>,
    view: &mut RemoteView,
    mut inputs: RemoteInputs,
) -> io::Result<Exit>
where
    B::Error: Send + Sync + 'static,
{
    let mut tick = tokio::time::interval(AGE_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_draw: Option<Instant> = None;
    let mut dirty = true;
    let mut polls_open = true;
    loop {
        if dirty && last_draw.is_none_or(|t| t.elapsed() >= FRAME) {
            let now = Instant::now();
            terminal
                .draw(|f| draw(f, view, now))
                .map_err(io::Error::other)?;
            last_draw = Some(now);
            dirty = false;
        }
        tokio::select! {
            exit = &mut inputs.shutdown => return Ok(exit),
            ev = inputs.terminal.recv() => match ev {
                None | Some(Err(_)) => return Ok(Exit::InputClosed),
                Some(Ok(Event::Key(k))) => {
                    if let Some(exit) = view.on_key(k) {
                        return Ok(exit);
                    }
                    dirty = true;
                }
                Some(Ok(_)) => dirty = true,
            },
            p = inputs.polls.recv(), if polls_open => match p {
                Some((r, at)) => {
                    view.apply(r, at);
                    dirty = true;
                }
                None => polls_open = false,
            },
            _ = tick.tick() => dirty = true,
        }
    }
}
