//! The dashboard's Alerts view (`A`): what changed round after round (new devices, devices
//! gone, another MAC for an address, renamed or re-typed devices, ports opened or closed,
//! another certificate) and what the LAN safety checks found (`L` runs them).
//!
//! ```text
//! ┌ Alerts · 3 ──────────────────────────────────────────────────────────────────────┐
//! │ 10:42:07 ✖ 10.77.0.1 now answers from 02:00:00:00:00:66 (was 00:00:0c:77:00:01)     │
//! │ 10:41:55 ▲ new device 10.77.0.23 (b8:27:eb:00:00:01, Raspberry Pi Trading Ltd)      │
//! ├ LAN checks · eth0 · 5.2 s ago ───────────────────────────────────────────────────┤
//! │ ✖ DHCP: 2 servers answer (a rogue DHCP server is likely):                          │
//! └────────────────────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! Rendering reads the dashboard state only: newest alert first, as many as fit. Texts were
//! cleaned when the alerts were made and are escaped again before they reach the terminal.

use crate::core::clock::LocalZone;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::core::alert::AlertLevel;
use crate::core::lan::LineKind;
use crate::output::escape::text;

use super::render::wrap;
use super::state::{Dashboard, Health, LogKind};
use super::theme::Theme;

fn block<'a>(title: String, th: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(th.dim())
        .title(Span::styled(title, th.title()))
}

/// `HH:MM:SS` of an RFC 3339 time, on the technician's wall clock.
fn clock(at: Option<&str>, zone: &LocalZone) -> String {
    at.and_then(crate::core::clock::parse_rfc3339)
        .map(|t| {
            let t = zone.local(t);
            format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
        })
        .unwrap_or_else(|| "--:--:--".into())
}

fn level_style(level: AlertLevel, th: &Theme) -> (&'static str, ratatui::style::Style) {
    match level {
        AlertLevel::Critical => ("✖", th.health(Health::Down)),
        AlertLevel::Warning => ("!", th.health(Health::Degraded)),
        AlertLevel::Info => ("·", th.log(LogKind::Info)),
    }
}

/// The alert lines, newest first, wrapped to `width`.
pub fn alert_lines(
    dash: &Dashboard,
    width: usize,
    zone: &LocalZone,
    th: &Theme,
) -> Vec<Line<'static>> {
    if dash.alerts.is_empty() {
        return vec![
            Line::from("No change so far."),
            Line::from(Span::styled(
                "New devices, devices gone, another MAC for an address, renamed or re-typed \
                 devices, ports that open or close and new certificates show here.",
                th.dim(),
            )),
        ];
    }
    let mut lines = Vec::new();
    // "10:42:07 ✖ " is 11 columns; continuation lines go under the text.
    let text_w = width.saturating_sub(11).max(20);
    for a in dash.alerts.iter().rev() {
        let (sym, style) = level_style(a.level, th);
        for (i, chunk) in wrap(&text(&a.text), text_w).into_iter().enumerate() {
            let lead = if i == 0 {
                vec![
                    Span::styled(format!("{} ", clock(a.at.as_deref(), zone)), th.dim()),
                    Span::styled(format!("{sym} "), style),
                ]
            } else {
                vec![Span::raw(" ".repeat(11))]
            };
            let mut spans = lead;
            spans.push(Span::raw(chunk));
            lines.push(Line::from(spans));
        }
    }
    lines
}

/// The LAN check's lines: problems in the alarm colour, checks that did not run dimmed.
pub fn lan_lines(dash: &Dashboard, width: usize, th: &Theme) -> Vec<Line<'static>> {
    let Some(lan) = &dash.lan else {
        return vec![
            Line::from("Not run yet: L runs them (about 6 s)."),
            Line::from(Span::styled(
                "Every DHCP server that offers, addresses answered by two MACs, claims on the \
                 gateway's address, IPv6 routers that advertise, and the switch port (LLDP/CDP).",
                th.dim(),
            )),
        ];
    };
    let mut lines = Vec::new();
    for (kind, line) in lan.lines() {
        let (sym, style) = match kind {
            LineKind::Problem => ("✖ ", th.health(Health::Down)),
            LineKind::Fine => ("✔ ", th.health(Health::Ok)),
            LineKind::NotRun => ("? ", th.dim()),
        };
        for (i, chunk) in wrap(&text(&line), width.saturating_sub(2).max(20))
            .into_iter()
            .enumerate()
        {
            let lead = if i == 0 { sym } else { "  " };
            lines.push(Line::from(vec![
                Span::styled(lead, style),
                Span::styled(
                    chunk,
                    if kind == LineKind::Fine {
                        th.log(LogKind::Info)
                    } else {
                        style
                    },
                ),
            ]));
        }
    }
    lines
}

pub fn render(frame: &mut Frame, area: Rect, dash: &Dashboard, th: &Theme, zone: &LocalZone) {
    let inner_w = usize::from(area.width.saturating_sub(2));
    let lan = lan_lines(dash, inner_w, th);
    // The LAN lines whole where the height allows; the alerts keep at least five rows.
    let lan_h = (lan.len() as u16 + 2)
        .min(area.height.saturating_sub(7))
        .max(4);
    let [top, bottom] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(lan_h)]).areas(area);
    let title = format!(" Alerts · {} ", dash.alerts.len());
    frame.render_widget(
        Paragraph::new(alert_lines(dash, inner_w, zone, th)).block(block(title, th)),
        top,
    );
    let lan_title = match &dash.lan {
        Some(l) => format!(" LAN checks · {} ", text(&l.interface)),
        None => " LAN checks ".to_string(),
    };
    frame.render_widget(Paragraph::new(lan).block(block(lan_title, th)), bottom);
}
