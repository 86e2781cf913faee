//! Drawing. Widgets read [`App`] and nothing else: no probe, no I/O, no clock (the frame's time
//! is `app.now`). Only the visible rows of the host table are built, so a frame costs the same
//! with 20 hosts or 65,536.
//!
//! Wide terminal (120 columns or more):
//! ```text
//! netdx  LAN ✔ OK 16 of 17 up │ Gateway ✔ OK 10.77.0.1 0.31 ms │ DNS ✔ OK 17/17 answered │ WAN ? UNKNOWN
//! ● monitoring 17 hosts every 2 s · round 12 · 16 up · 238 down                         12:00:05
//! ┌ Hosts 17 of 254 · sort IP ▲ · filter "web" ───────────────────┐┌ 10.77.0.20 web.lab.test ──┐
//! │IP          Hostname   MAC / vendor   Status RTT Loss Latency …││ MAC, state, RTT, loss      │
//! │10.77.0.1   gw.lab…    00:00:0c:… Cisco ▲ up  0.31 0%  ▂▃▂▂▅▂ ││ RTT chart (sparkline)      │
//! │…                                                              ││ ports, DNS, up/down history│
//! └───────────────────────────────────────────────────────────────┘└────────────────────────────┘
//! ┌ DNS ─────────────────────────────┐┌ Events ──────────────────────────────────────────────────┐
//! │name type status answers ms server││12:00:03 ▼ 10.77.0.60 (lossy.lab.test) went down           │
//! └──────────────────────────────────┘└──────────────────────────────────────────────────────────┘
//!  q quit  ? help  / filter  s sort  a add  p ports  d dns  D diagnose  r rescan  space pause …
//! ```
//! Narrow terminal: the same header, the table at full width with fewer columns, and one pane
//! below it (detail, DNS or events; Tab switches). Before any run the table's place shows the
//! local context (interfaces, gateway, resolvers) and the suggested targets.
//!
//! Diagnose view (`D`, any width): the header stays; the main area shows the latest diagnosis
//! ([`super::diagnose_view::render`]) and the event log runs the full width below it, so the
//! outage transitions show as they are logged.
//! ```text
//! netdx  LAN ✔ OK … │ Gateway ✔ OK … │ DNS ✔ OK … │ WAN ? UNKNOWN
//! ● monitoring 17 hosts every 2 s · round 12 · 16 up · 238 down                         12:00:05
//! ┌ Diagnose · round 3 · ✖ DOWN · failing layer: DNS ─────────────────────────────────────────┐
//! │ verdict, layers, evidence, path, outages                                                   │
//! └────────────────────────────────────────────────────────────────────────────────────────────┘
//! ┌ Events ────────────────────────────────────────────────────────────────────────────────────┐
//! │12:00:03 ▼ diagnosis: DNS outage began (✖ DOWN): The gateway 10.77.0.1 answers, but …        │
//! └────────────────────────────────────────────────────────────────────────────────────────────┘
//!  q quit  ? help  Esc/D back to the hosts                                                    msg
//! ```

use crate::core::units;
use std::net::IpAddr;

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Sparkline, Table, Wrap};

use crate::core::model::{Host, PortState};

use super::app::{App, Mode};
use super::layout::{SPARK_CELLS, View, WIDE, columns, ip_width, layout, name_width};
use super::state::{HostTrack, Liveness, LogKind, Timestamp};
use super::table::{Column, methods};

/// Draw the whole screen.
pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    let areas = layout(area, app.view, app.pane, app.dash.started());
    draw_header(frame, areas.header, app);
    if let Some(r) = areas.table {
        draw_table(frame, r, app);
    }
    if let Some(r) = areas.context {
        draw_context(frame, r, app);
    }
    if let Some(r) = areas.diagnose {
        super::diagnose_view::render(frame, r, &app.diagnose, &app.settings.theme);
    }
    if let Some(r) = areas.alerts {
        super::alerts_view::render(frame, r, &app.dash, &app.settings.theme, &app.settings.zone);
    }
    if let Some(r) = areas.detail {
        draw_detail(frame, r, app);
    }
    if let Some(r) = areas.dns {
        draw_dns(frame, r, app);
    }
    if let Some(r) = areas.events {
        draw_events(frame, r, app);
    }
    draw_footer(frame, areas.footer, app);
    if app.mode == Mode::Help {
        draw_help(frame, area, app);
    }
}

fn clock(app: &App, t: Timestamp) -> String {
    let t = app.local_time(t);
    format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
}

fn block<'a>(title: impl Into<Line<'a>>, app: &App) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .title(title.into().style(app.settings.theme.title()))
}

// ---------------------------------------------------------------------------------- header

fn draw_header(frame: &mut Frame, area: Rect, app: &App) {
    let th = &app.settings.theme;
    let wide = area.width >= WIDE;
    let l = &app.layers;
    // Details as room allows, never cut: those of cells that are not OK first (what is wrong
    // matters most), then the others, left to right, each while it still fits.
    let cells = [
        ("LAN", &l.lan),
        (if wide { "Gateway" } else { "GW" }, &l.gateway),
        ("DNS", &l.dns),
        ("WAN", &l.wan),
    ];
    let build = |detail: &[bool; 4]| -> Vec<Span<'static>> {
        let mut spans = vec![Span::styled(
            "netdx  ",
            th.accent().add_modifier(Modifier::BOLD),
        )];
        for (i, (name, lh)) in cells.iter().enumerate() {
            if i > 0 {
                spans.push(Span::styled(" │ ", th.dim()));
            }
            spans.push(Span::styled(format!("{name} "), th.title()));
            spans.push(Span::styled(
                format!("{} {}", lh.health.symbol(), lh.health.word()),
                th.health(lh.health),
            ));
            if detail[i] {
                spans.push(Span::styled(format!(" {}", lh.detail), th.dim()));
            }
        }
        spans
    };
    let width = |spans: &[Span]| spans.iter().map(Span::width).sum::<usize>();
    let mut order: Vec<usize> = (0..cells.len()).collect();
    order.sort_by_key(|&i| cells[i].1.health == super::state::Health::Ok);
    let mut detail = [false; 4];
    for i in order {
        detail[i] = true;
        if width(&build(&detail)) > usize::from(area.width) {
            detail[i] = false;
        }
    }
    let spans = build(&detail);
    let [line1, line2] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
    frame.render_widget(Paragraph::new(Line::from(spans)), line1);

    let mut time = clock(app, app.now);
    if app.settings.zone.is_utc() {
        // Say so, or a technician compares it with the wall clock and wonders.
        time.push_str(" UTC");
    }
    let [status, right] = Layout::horizontal([
        Constraint::Min(0),
        Constraint::Length(time.len() as u16 + 1),
    ])
    .areas(line2);
    frame.render_widget(Paragraph::new(run_status(app, status.width)), status);
    frame.render_widget(
        Paragraph::new(Span::styled(time, th.dim())).alignment(Alignment::Right),
        right,
    );
}

/// The run's status line, `width` columns at most. Pieces that do not fit are left out
/// whole, least important first ("238 silent" never becomes "238 s").
fn run_status(app: &App, width: u16) -> Line<'static> {
    let th = &app.settings.theme;
    let d = &app.dash;
    let c = &app.counts;
    if !d.started() {
        return fit_pieces(
            vec![
                (9, vec![Span::styled("○ idle", th.title())]),
                (8, vec![Span::raw(": nothing sent yet")]),
                (
                    7,
                    vec![
                        Span::raw(" · "),
                        Span::styled("Enter", th.key()),
                        Span::raw(" scans the suggested targets"),
                    ],
                ),
                (
                    6,
                    vec![
                        Span::raw(" · "),
                        Span::styled("a", th.key()),
                        Span::raw(" types targets"),
                    ],
                ),
            ],
            width,
        );
    }
    // (importance, spans): the higher, the longer it stays.
    let mut pieces: Vec<(u8, Vec<Span<'static>>)> = Vec::new();
    let sweep = d
        .jobs
        .values()
        .find(|j| matches!(j.kind, super::state::JobKind::Sweep { .. }));
    if let Some(job) = sweep {
        pieces.push((
            9,
            vec![Span::styled(
                "◐ scanning",
                th.accent().add_modifier(Modifier::BOLD),
            )],
        ));
        for (phase, (done, total)) in &job.progress {
            let pct = if *total > 0 { done * 100 / total } else { 0 };
            pieces.push((
                7,
                vec![Span::raw(format!(
                    " · {} {done}/{total} ({pct}%)",
                    phase.label()
                ))],
            ));
        }
        if job.progress.is_empty() {
            pieces.push((7, vec![Span::raw(" · starting")]));
        }
        if let Some(p) = &app.settings.ports {
            pieces.push((2, vec![Span::raw(format!(" · ports {p}"))]));
        }
    } else if d.paused {
        pieces.push((
            9,
            vec![Span::styled(
                "‖ paused",
                th.health(super::state::Health::Degraded),
            )],
        ));
        pieces.push((
            5,
            vec![Span::raw(format!(" · {} hosts watched", c.watched))],
        ));
        pieces.push((7, vec![Span::raw(" · space resumes")]));
    } else if d.monitoring {
        pieces.push((
            9,
            vec![Span::styled(
                "● monitoring",
                th.up().add_modifier(Modifier::BOLD),
            )],
        ));
        pieces.push((
            5,
            vec![Span::raw(format!(
                " {} hosts every {}",
                c.watched,
                interval_label(app)
            ))],
        ));
        pieces.push((3, vec![Span::raw(format!(" · round {}", d.rounds))]));
    }
    pieces.push((8, vec![Span::raw(format!(" · {} up", c.up))]));
    pieces.push((8, vec![Span::raw(format!(" · {} down", c.down))]));
    if c.silent > 0 {
        pieces.push((
            4,
            vec![Span::styled(format!(" · {} silent", c.silent), th.dim())],
        ));
    }
    let others = d
        .jobs
        .values()
        .filter(|j| {
            matches!(
                j.kind,
                super::state::JobKind::Ports { .. } | super::state::JobKind::Resolve { .. }
            )
        })
        .count();
    if others > 0 {
        pieces.push((
            6,
            vec![Span::styled(
                format!(" · {others} job(s) running"),
                th.accent(),
            )],
        ));
    }
    if d.alerts_unseen > 0 && app.view != View::Alerts {
        let critical = d
            .alerts
            .iter()
            .rev()
            .take(d.alerts_unseen)
            .any(|a| a.level == crate::core::alert::AlertLevel::Critical);
        let style = if critical {
            th.health(super::state::Health::Down)
        } else {
            th.health(super::state::Health::Degraded)
        };
        pieces.push((
            8,
            vec![
                Span::raw(" · "),
                Span::styled(
                    format!(
                        "⚠ {} alert{} (A)",
                        d.alerts_unseen,
                        if d.alerts_unseen == 1 { "" } else { "s" }
                    ),
                    style.add_modifier(Modifier::BOLD),
                ),
            ],
        ));
    }
    if app.diagnose.running && app.view != View::Diagnose {
        pieces.push((6, vec![Span::styled(" · diagnosing (D)", th.accent())]));
    }
    fit_pieces(pieces, width)
}

/// Keep the pieces that fit in `width`, dropping the least important (the last of equals)
/// first; the order of those kept is unchanged. No piece is ever cut.
pub fn fit_pieces(mut pieces: Vec<(u8, Vec<Span<'static>>)>, width: u16) -> Line<'static> {
    let w = |p: &(u8, Vec<Span>)| p.1.iter().map(Span::width).sum::<usize>();
    while pieces.len() > 1 && pieces.iter().map(w).sum::<usize>() > usize::from(width) {
        let Some(drop) = pieces
            .iter()
            .enumerate()
            .min_by_key(|(i, p)| (p.0, std::cmp::Reverse(*i)))
            .map(|(i, _)| i)
        else {
            break;
        };
        pieces.remove(drop);
    }
    Line::from(pieces.into_iter().flat_map(|p| p.1).collect::<Vec<_>>())
}

fn interval_label(app: &App) -> String {
    let s = app.settings.interval.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.1} s")
    }
}

// ----------------------------------------------------------------------------------- table

fn draw_table(frame: &mut Frame, area: Rect, app: &App) {
    let th = &app.settings.theme;
    let rows_fit = usize::from(area.height.saturating_sub(3));
    let view = &app.table;
    let mut title = vec![Span::raw(format!(
        " Hosts {} shown of {} addresses{} · sort {} {}",
        view.order.len(),
        app.dash.report.hosts.len(),
        if view.show_silent { "" } else { " (h: all)" },
        view.sort.title(),
        if view.descending { "▼" } else { "▲" }
    ))];
    if !view.filter.is_empty() {
        title.push(Span::styled(
            format!(" · filter \"{}\"", view.filter),
            th.accent(),
        ));
    }
    if view.order.len() > rows_fit && rows_fit > 0 {
        title.push(Span::raw(format!(
            " · {}-{}",
            view.offset + 1,
            (view.offset + rows_fit).min(view.order.len())
        )));
    }
    title.push(Span::raw(" "));
    let inner_w = area.width.saturating_sub(2);
    let cols = columns(
        inner_w,
        ip_width(&app.table, rows_fit),
        name_width(&app.table, &app.dash, rows_fit),
    );
    // One scale for the whole latency column (the rows on screen), named in its title.
    let scale = spark_scale(view.visible(rows_fit).filter_map(|(_, ip)| {
        let t = app.dash.tracks.get(&ip)?;
        let skip = t.samples.len().saturating_sub(SPARK_CELLS);
        t.samples
            .iter()
            .skip(skip)
            .filter_map(|s| s.rtt_ms)
            .reduce(f32::max)
    }));
    let header = Row::new(cols.iter().map(|(c, _)| {
        let mut t = if *c == Column::Latency {
            format!("≤{}", scale_label(scale))
        } else {
            c.title().to_string()
        };
        if *c == view.sort {
            t.push_str(if view.descending { " ▼" } else { " ▲" });
        }
        Cell::from(t)
    }))
    .style(th.header_row());

    let rows: Vec<Row> = view
        .visible(rows_fit)
        .map(|(i, ip)| {
            let row = host_row(app, ip, &cols, scale);
            if i == view.selected {
                row.style(th.selected())
            } else {
                row
            }
        })
        .collect();
    let widths: Vec<Constraint> = cols.iter().map(|(_, w)| Constraint::Length(*w)).collect();
    let empty = rows.is_empty();
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .block(block(Line::from(title), app));
    frame.render_widget(table, area);
    if empty && area.height > 4 {
        let msg = if view.filter.is_empty() {
            "no hosts yet"
        } else {
            "no host matches the filter (Esc clears it)"
        };
        let r = Rect::new(area.x + 2, area.y + 2, area.width.saturating_sub(4), 1);
        frame.render_widget(Paragraph::new(Span::styled(msg, th.dim())), r);
    }
}

fn host_row<'a>(app: &App, ip: IpAddr, cols: &[(Column, u16)], scale: f32) -> Row<'a> {
    let th = &app.settings.theme;
    let h = app.dash.report.hosts.get(&ip);
    let t = app.dash.tracks.get(&ip);
    let cells = cols.iter().map(|(c, w)| match c {
        Column::Ip => Cell::from(ip.to_string()),
        Column::Hostname => Cell::from(
            h.and_then(|h| {
                h.hostname
                    .as_deref()
                    .or(h.target_name.as_deref())
                    .or(h.names.best_name())
            })
            .unwrap_or("")
            .to_string(),
        ),
        Column::Type => Cell::from(
            h.and_then(|h| h.device.as_ref())
                .map(|d| d.kind.clone())
                .unwrap_or_default(),
        ),
        Column::Mac => Cell::from(match h.and_then(|h| h.mac) {
            Some(m) => {
                let vendor = h.and_then(|h| h.vendor.as_deref()).unwrap_or("");
                if *w > 18 {
                    format!("{m} {vendor}")
                } else {
                    m.to_string()
                }
            }
            None => String::new(),
        }),
        Column::Status => {
            let (text, style) = status_cell(h, t, app);
            Cell::from(Span::styled(text, style))
        }
        Column::Rtt => Cell::from(rtt_text(h, t)),
        Column::Loss => Cell::from(loss_text(h, t)),
        Column::Latency => Cell::from(Span::styled(
            t.map(|t| spark_text(t, SPARK_CELLS, scale))
                .unwrap_or_default(),
            th.accent(),
        )),
        Column::Ports => Cell::from(match h {
            Some(h) if h.ports_checked() => h.open_ports().count().to_string(),
            _ => String::new(),
        }),
        Column::Methods => Cell::from(h.map(methods).unwrap_or_default()),
    });
    Row::new(cells.collect::<Vec<_>>())
}

fn status_cell(h: Option<&Host>, t: Option<&HostTrack>, app: &App) -> (&'static str, Style) {
    let th = &app.settings.theme;
    match t.map(|t| t.live) {
        Some(Liveness::Up { .. }) => ("▲ up", th.up()),
        // "down" only for a host that was up: an address that never answered is not down.
        Some(Liveness::Down { .. }) if t.is_some_and(|t| t.ever_up) => ("▼ down", th.down()),
        Some(Liveness::Down { .. }) => ("no answer", th.dim()),
        _ if h.is_some_and(|h| h.status == crate::core::model::HostStatus::Up) => ("▲ up", th.up()),
        _ => ("· …", th.dim()),
    }
}

fn rtt_text(h: Option<&Host>, t: Option<&HostTrack>) -> String {
    super::table::shown_rtt(h, t)
        .map(units::ms_short)
        .unwrap_or_else(|| "—".into())
}

fn loss_text(h: Option<&Host>, t: Option<&HostTrack>) -> String {
    let answers_icmp = h.is_some_and(|h| h.methods.contains(&crate::core::model::Method::Icmp));
    match (answers_icmp, t.and_then(|t| t.recent_loss())) {
        (true, Some(l)) => format!("{l:.0}%"),
        _ => "—".into(),
    }
}

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The top of a column of latency bars: a round number of milliseconds (1, 2 or 5 times a
/// power of ten) at or above the slowest sample shown, and at least 1 ms. Bars start at
/// zero, so every row of the column is drawn on the same scale: 0.1 ms of jitter on a LAN is
/// a step, not a spike, and a steady 200 ms fills the column that it tops instead of looking
/// like a steady 0.3 ms.
pub fn spark_scale(samples: impl Iterator<Item = f32>) -> f32 {
    let max = samples
        .filter(|v| v.is_finite())
        .fold(0.0f32, f32::max)
        .max(1.0);
    let mut step = 1.0f32;
    loop {
        for m in [1.0, 2.0, 5.0] {
            if max <= step * m {
                return step * m;
            }
        }
        step *= 10.0;
        if step > 1e7 {
            return max;
        }
    }
}

/// `1 ms`, `200 ms`, `2 s`: a scale for a column title.
pub fn scale_label(scale_ms: f32) -> String {
    if scale_ms >= 1000.0 {
        format!("{:.0} s", scale_ms / 1000.0)
    } else {
        format!("{scale_ms:.0} ms")
    }
}

/// The bar for `v` on a column scaled to `scale` ms.
fn bar(v: f32, scale: f32) -> char {
    let i = ((v / scale.max(f32::MIN_POSITIVE)) * (BARS.len() as f32 - 1.0)).round();
    BARS[(i.max(0.0) as usize).min(BARS.len() - 1)]
}

/// The last `n` samples as block characters on the column's `scale` (ms); `×` marks a round
/// with no reply.
pub fn spark_text(t: &HostTrack, n: usize, scale: f32) -> String {
    let skip = t.samples.len().saturating_sub(n);
    spark_bars(t.samples.iter().skip(skip).map(|s| s.rtt_ms), scale)
}

/// Round trips (`None`: no reply) as bars on a column scaled to `scale` ms.
pub fn spark_bars(rtts: impl Iterator<Item = Option<f32>>, scale: f32) -> String {
    rtts.map(|r| match r {
        None => '×',
        Some(v) => bar(v, scale),
    })
    .collect()
}

// ---------------------------------------------------------------------------------- detail

fn draw_detail(frame: &mut Frame, area: Rect, app: &App) {
    let th = &app.settings.theme;
    let Some(ip) = app.table.selected_ip() else {
        let b = block(" Host ", app);
        frame.render_widget(
            Paragraph::new(Span::styled("select a host", th.dim())).block(b),
            area,
        );
        return;
    };
    let h = app.dash.report.hosts.get(&ip);
    let t = app.dash.tracks.get(&ip);
    let name = h
        .and_then(|h| h.hostname.as_deref().or(h.target_name.as_deref()))
        .unwrap_or("");
    let b = block(format!(" {ip} {name} "), app);
    let inner = b.inner(area);
    frame.render_widget(b, area);

    // A full-width pane (narrow terminals) has room to pair lines up, and few rows.
    let roomy = inner.width >= 70;
    let mut top: Vec<Line> = Vec::new();
    if let Some(h) = h {
        if let Some(m) = h.mac {
            top.push(Line::from(vec![
                Span::styled("MAC    ", th.dim()),
                Span::raw(format!("{m} {}", h.vendor.as_deref().unwrap_or(""))),
            ]));
        }
        if let Some(d) = &h.device {
            top.push(Line::from(vec![
                Span::styled("Type   ", th.dim()),
                Span::raw(format!("{} ({}) ", d.kind, d.confidence)),
                Span::styled(d.evidence.join(" + "), th.dim()),
            ]));
        }
        for (proto, name, details) in h.names.rows() {
            top.push(Line::from(vec![
                Span::styled(format!("{proto:<7}"), th.dim()),
                Span::raw(format!("{name} ")),
                Span::styled(details, th.dim()),
            ]));
        }
        let (st, style) = status_cell(Some(h), t, app);
        let mut state = vec![Span::styled("State  ", th.dim()), Span::styled(st, style)];
        match t.map(|t| t.live) {
            Some(Liveness::Up { since }) | Some(Liveness::Down { since }) => {
                let for_ = (app.now - since).try_into().unwrap_or_default();
                state.push(Span::raw(format!(
                    " since {} ({})",
                    clock(app, since),
                    units::human_duration(for_)
                )));
            }
            _ => {}
        }
        let seen_by = format!("by {}", methods(h).replace(',', ", "));
        if h.methods.is_empty() {
            top.push(Line::from(state));
        } else if roomy {
            state.push(Span::raw(format!(" · seen {seen_by}")));
            top.push(Line::from(state));
        } else {
            top.push(Line::from(state));
            top.push(Line::from(vec![
                Span::styled("Seen   ", th.dim()),
                Span::raw(seen_by),
            ]));
        }
        let mut rtt = vec![Span::styled("RTT    ", th.dim())];
        match (h.rtt_ms, h.rtt_min_ms, h.rtt_max_ms) {
            (Some(avg), Some(min), Some(max)) => rtt.push(Span::raw(format!(
                "{} (min {}, max {})",
                units::ms_short(avg),
                units::ms_short(min),
                units::ms_short(max)
            ))),
            _ => match h.arp_rtt_ms {
                Some(a) => rtt.push(Span::raw(format!("ARP {}", units::ms_short(a)))),
                None => rtt.push(Span::raw("—")),
            },
        }
        if h.ping_blocked() {
            let sent = h.icmp_sent.unwrap_or(0);
            top.push(Line::from(rtt));
            top.push(Line::from(vec![
                Span::styled("Loss   ", th.dim()),
                Span::raw(format!("ping blocked (none of {sent} echoes answered)")),
            ]));
        } else if let (Some(total), Some(sent)) = (h.loss_pct, h.icmp_sent) {
            let recent = t
                .and_then(|t| t.recent_loss())
                .map(|l| format!("{l:.0}% recent, "))
                .unwrap_or_default();
            let loss = format!("{recent}{total:.1}% of {sent} echoes");
            if roomy {
                rtt.push(Span::styled(" · loss ", th.dim()));
                rtt.push(Span::raw(loss));
                top.push(Line::from(rtt));
            } else {
                top.push(Line::from(rtt));
                top.push(Line::from(vec![
                    Span::styled("Loss   ", th.dim()),
                    Span::raw(loss),
                ]));
            }
        } else {
            top.push(Line::from(rtt));
        }
    }

    let has_samples = t.is_some_and(|t| !t.samples.is_empty());
    let chart_h: u16 = if inner.height >= 16 && has_samples {
        3
    } else {
        0
    };
    let top_h = (top.len() as u16).min(inner.height);
    let [top_area, chart_label, chart_area, rest] = Layout::vertical([
        Constraint::Length(top_h),
        Constraint::Length(if chart_h > 0 { 1 } else { 0 }),
        Constraint::Length(chart_h),
        Constraint::Min(0),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(top), top_area);

    if chart_h > 0
        && let Some(t) = t
        && !t.samples.is_empty()
    {
        let n = usize::from(chart_area.width);
        let skip = t.samples.len().saturating_sub(n);
        let shown: Vec<Option<f32>> = t.samples.iter().skip(skip).map(|s| s.rtt_ms).collect();
        let max = shown.iter().flatten().copied().fold(0.0f32, f32::max);
        let min = shown
            .iter()
            .flatten()
            .copied()
            .fold(f32::INFINITY, f32::min);
        // From zero, on a round scale, as the table's column: the chart's height means the
        // same thing for every host.
        let scale = spark_scale(shown.iter().flatten().copied());
        let data: Vec<Option<u64>> = shown
            .iter()
            .map(|v| v.map(|v| (v * 1000.0).round().max(1.0) as u64))
            .collect();
        let label = if min.is_finite() {
            format!(
                "RTT, {} rounds: {} – {} (0–{})",
                data.len(),
                units::ms_short(f64::from(min)),
                units::ms_short(f64::from(max)),
                scale_label(scale)
            )
        } else {
            format!("RTT of {} rounds: no reply", data.len())
        };
        frame.render_widget(Paragraph::new(Span::styled(label, th.dim())), chart_label);
        frame.render_widget(
            Sparkline::default()
                .data(data)
                .max((scale * 1000.0).round().max(1.0) as u64)
                .style(th.accent())
                .absent_value_symbol("×")
                .absent_value_style(th.down()),
            chart_area,
        );
    }

    let mut lines: Vec<Line> = Vec::new();
    if let Some(t) = t
        && !t.history.is_empty()
    {
        lines.push(Line::styled("History", th.title()));
        for tr in t.history.iter().rev().take(4) {
            let (sym, style) = if tr.up {
                ("▲", th.up())
            } else {
                ("▼", th.down())
            };
            let what = match (tr.up, tr.first, tr.outage) {
                (true, true, _) => "up (first seen)".to_string(),
                (true, false, Some(o)) => format!("up after {} down", units::human_duration(o)),
                (true, false, None) => "up".to_string(),
                (false, _, _) => "down".to_string(),
            };
            lines.push(Line::from(vec![
                Span::raw(format!("  {} ", clock(app, tr.at))),
                Span::styled(sym, style),
                Span::raw(format!(" {what}")),
            ]));
        }
    }
    if let Some(h) = h {
        ports_lines(h, app, &mut lines);
    }
    let dns: Vec<_> = app.dash.dns_for(ip).collect();
    if !dns.is_empty() {
        lines.push(Line::styled("DNS", th.title()));
        for r in dns.iter().rev().take(3) {
            let answers: Vec<&str> = r.answers.iter().map(|a| a.value.as_str()).collect();
            lines.push(Line::raw(format!(
                "  {} {} → {} {}",
                r.rtype,
                r.name,
                if answers.is_empty() {
                    r.status.label().to_string()
                } else {
                    answers.join(", ")
                },
                r.rtt_ms.map(units::ms_short).unwrap_or_default()
            )));
        }
    }
    frame.render_widget(Paragraph::new(lines), rest);
}

fn ports_lines(h: &Host, app: &App, lines: &mut Vec<Line<'static>>) {
    let th = &app.settings.theme;
    if !h.ports_checked() {
        lines.push(Line::from(vec![
            Span::styled("Ports  ", th.dim()),
            Span::raw("not scanned (p scans)"),
        ]));
        return;
    }
    let (open, closed, filtered) = (
        h.port_count(PortState::Open),
        h.port_count(PortState::Closed),
        h.port_count(PortState::Filtered),
    );
    lines.push(Line::from(vec![
        Span::styled("Ports  ", th.dim()),
        Span::raw(format!(
            "{open} open · {closed} closed · {filtered} filtered"
        )),
    ]));
    // Open ports always; closed and filtered ones only when there are few (a full scan
    // has 65,000 closed ports nobody wants listed).
    let shown: Vec<(u16, PortState)> = if closed + filtered <= 6 {
        h.port_states().collect()
    } else {
        h.ports.iter().map(|p| (p.port, PortState::Open)).collect()
    };
    const MAX: usize = 8;
    for &(port, state) in shown.iter().take(MAX) {
        let style = if state == PortState::Open {
            th.port_open()
        } else {
            th.dim()
        };
        let service = crate::core::ports::service_name(port).unwrap_or_default();
        let mut line = vec![
            Span::raw(format!("  {port:>5}/tcp ")),
            Span::styled(format!("{:<8}", state.label()), style),
            Span::raw(service.to_string()),
        ];
        // What the service said about itself; a certificate problem stands out.
        let identity = h
            .ports
            .binary_search_by_key(&port, |p| p.port)
            .ok()
            .and_then(|i| h.ports[i].identity.as_ref());
        if let Some(id) = identity {
            line.push(Span::styled(format!(" {}", id.summary()), th.dim()));
            if let Some(problem) = id.tls.as_ref().and_then(|t| t.problem()) {
                line.push(Span::styled(format!(" ⚠ {problem}"), th.down()));
            }
        }
        lines.push(Line::from(line));
    }
    if shown.len() > MAX {
        lines.push(Line::styled(
            format!("  … {} more", shown.len() - MAX),
            th.dim(),
        ));
    }
}

// ------------------------------------------------------------------------------ DNS, events

fn draw_dns(frame: &mut Frame, area: Rect, app: &App) {
    let th = &app.settings.theme;
    let dns = &app.dash.report.dns;
    let fit = usize::from(area.height.saturating_sub(3));
    let b = block(format!(" DNS · {} queries ", dns.len()), app);
    let shown = &dns[dns.len().saturating_sub(fit)..];
    let server_w = shown
        .iter()
        .filter_map(|r| r.server.as_ref().map(|s| s.chars().count()))
        .max()
        .unwrap_or(6)
        .clamp(6, 24) as u16;
    let widths = [
        Constraint::Fill(3),
        Constraint::Length(5),
        Constraint::Length(8),
        Constraint::Fill(3),
        Constraint::Length(8),
        Constraint::Length(server_w),
    ];
    let rows: Vec<Row> = shown
        .iter()
        .map(|r| {
            let answers: Vec<&str> = r.answers.iter().map(|a| a.value.as_str()).collect();
            let style = if super::state::answered(r.status) {
                Style::new()
            } else {
                th.health(super::state::Health::Degraded)
            };
            // DNS sanity findings come first in the answers cell, so a narrow pane keeps them.
            let mut answer_spans = Vec::new();
            if !r.findings.is_empty() {
                let kinds: Vec<&str> = r.findings.iter().map(|f| f.kind.label()).collect();
                answer_spans.push(Span::styled(
                    format!("⚠ {} ", kinds.join(", ")),
                    th.health(super::state::Health::Degraded),
                ));
            }
            answer_spans.push(Span::raw(answers.join(", ")));
            Row::new(vec![
                Cell::from(r.name.clone()),
                Cell::from(r.rtype.label()),
                Cell::from(Span::styled(r.status.label(), style)),
                Cell::from(Line::from(answer_spans)),
                Cell::from(r.rtt_ms.map(units::ms_short).unwrap_or_else(|| "—".into())),
                Cell::from(r.server.clone().unwrap_or_default()),
            ])
        })
        .collect();
    let header =
        Row::new(["Name", "Type", "Status", "Answers", "Time", "Server"]).style(th.header_row());
    frame.render_widget(
        Table::new(rows, widths)
            .header(header)
            .column_spacing(1)
            .block(b),
        area,
    );
}

fn draw_events(frame: &mut Frame, area: Rect, app: &App) {
    let th = &app.settings.theme;
    let fit = usize::from(area.height.saturating_sub(2));
    let width = usize::from(area.width.saturating_sub(2));
    // "09:30:00 ▲ " before each entry; long entries wrap under their text.
    const PREFIX: usize = 11;
    let text_w = width.saturating_sub(PREFIX).max(10);
    let mut lines: Vec<Line> = Vec::new();
    // Newest last; walk back only as far as the pane can show.
    for e in app.dash.log.iter().rev() {
        if lines.len() >= fit {
            break;
        }
        let sym = match e.kind {
            LogKind::Up => "▲",
            LogKind::Down => "▼",
            LogKind::Info => "·",
            LogKind::Warn => "!",
            LogKind::Error => "✖",
        };
        let chunks = wrap(&e.text, text_w);
        let mut entry: Vec<Line> = Vec::with_capacity(chunks.len());
        for (i, chunk) in chunks.into_iter().enumerate() {
            let lead = if i == 0 {
                Span::styled(format!("{} {sym} ", clock(app, e.at)), th.dim())
            } else {
                Span::raw(" ".repeat(PREFIX))
            };
            entry.push(Line::from(vec![lead, Span::styled(chunk, th.log(e.kind))]));
        }
        for l in entry.into_iter().rev() {
            lines.push(l);
        }
    }
    lines.reverse();
    let skip = lines.len().saturating_sub(fit);
    let lines: Vec<Line> = lines.into_iter().skip(skip).collect();
    frame.render_widget(Paragraph::new(lines).block(block(" Events ", app)), area);
}

/// Greedy word wrap to `width` characters; words longer than a line are cut.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out: Vec<String> = Vec::new();
    let mut line = String::new();
    let mut len = 0;
    for word in text.split(' ') {
        let wlen = word.chars().count();
        if len > 0 && len + 1 + wlen > width {
            out.push(std::mem::take(&mut line));
            len = 0;
        }
        if len > 0 {
            line.push(' ');
            len += 1;
        }
        for c in word.chars() {
            if len == width {
                out.push(std::mem::take(&mut line));
                len = 0;
            }
            line.push(c);
            len += 1;
        }
    }
    out.push(line);
    out
}

// --------------------------------------------------------------------------------- context

fn draw_context(frame: &mut Frame, area: Rect, app: &App) {
    let th = &app.settings.theme;
    let ctx = &app.dash.context;
    let mut lines: Vec<Line> = Vec::new();
    lines.push(Line::styled("Interfaces", th.title()));
    if ctx.interfaces.is_empty() {
        lines.push(Line::styled("  none found", th.dim()));
    }
    for i in &ctx.interfaces {
        let link_style = match i.link {
            crate::net::sys::netinfo::LinkState::Up => th.up(),
            crate::net::sys::netinfo::LinkState::Down => th.down(),
            crate::net::sys::netinfo::LinkState::Unknown => th.dim(),
        };
        let sym = match i.link {
            crate::net::sys::netinfo::LinkState::Up => "▲",
            crate::net::sys::netinfo::LinkState::Down => "▼",
            crate::net::sys::netinfo::LinkState::Unknown => "?",
        };
        let addrs: Vec<String> = i.addrs.iter().map(ToString::to_string).collect();
        lines.push(Line::from(vec![
            Span::raw(format!("  {:<10} ", i.name)),
            Span::styled(format!("{sym} {:<7} ", i.link.label()), link_style),
            Span::raw(format!(
                "{:<18} ",
                i.mac.map(|m| m.to_string()).unwrap_or_default()
            )),
            Span::raw(addrs.join("  ")),
        ]));
    }
    lines.push(Line::raw(""));
    let gws: Vec<String> = ctx
        .gateways
        .iter()
        .map(|g| format!("{} via {}", g.ip, g.iface))
        .collect();
    lines.push(Line::from(vec![
        Span::styled("Default gateway  ", th.title()),
        Span::raw(if gws.is_empty() {
            "none".to_string()
        } else {
            gws.join(", ")
        }),
    ]));
    let ns: Vec<String> = ctx
        .resolv
        .nameservers
        .iter()
        .map(ToString::to_string)
        .collect();
    let mut resolvers = if ns.is_empty() {
        "none".to_string()
    } else {
        ns.join(", ")
    };
    if !ctx.resolv.search.is_empty() {
        resolvers.push_str(&format!(" (search {})", ctx.resolv.search.join(" ")));
    }
    lines.push(Line::from(vec![
        Span::styled("Resolvers        ", th.title()),
        Span::raw(resolvers),
    ]));
    for n in &ctx.notes {
        lines.push(Line::styled(format!("! {n}"), th.log(LogKind::Warn)));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("Suggested targets", th.title()));
    if app.suggestions.is_empty() {
        lines.push(Line::styled("  none (no attached network)", th.dim()));
    }
    for s in &app.suggestions {
        lines.push(Line::from(vec![
            Span::styled(format!("  {:<20} ", s.spec), th.accent()),
            Span::styled(s.why.clone(), th.dim()),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::raw("Nothing has been sent. "),
        Span::styled("Enter", th.key()),
        Span::raw(" scans the suggested targets, "),
        Span::styled("a", th.key()),
        Span::raw(" types others, "),
        Span::styled("?", th.key()),
        Span::raw(" shows all keys."),
    ]));
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block(" Local network ", app)),
        area,
    );
}

// ---------------------------------------------------------------------------------- footer

const KEYS: [(&str, &str); 11] = [
    ("q", "quit"),
    ("?", "help"),
    ("/", "filter"),
    ("s", "sort"),
    ("a", "add"),
    ("p", "ports"),
    ("d", "dns"),
    ("D", "diagnose"),
    ("r", "rescan"),
    ("space", "pause"),
    ("e", "export"),
];

/// The essentials for 80 columns (exactly 80 wide); `?` lists the rest (export among them).
const KEYS_NARROW: [(&str, &str); 9] = [
    ("q", "quit"),
    ("?", "help"),
    ("/", "filter"),
    ("a", "add"),
    ("p", "ports"),
    ("d", "dns"),
    ("D", "diagnose"),
    ("␣", "pause"),
    ("Tab", "pane"),
];

/// In the Alerts view the host table's keys do nothing.
const KEYS_ALERTS: [(&str, &str); 4] = [
    ("q", "quit"),
    ("?", "help"),
    ("L", "check the LAN"),
    ("Esc/A", "back to the hosts"),
];

/// In the Diagnose view the host table's keys do nothing.
const KEYS_DIAGNOSE: [(&str, &str); 5] = [
    ("q", "quit"),
    ("?", "help"),
    ("t", "target the selected host"),
    ("x", "stop"),
    ("Esc/D", "back to the hosts"),
];

fn draw_footer(frame: &mut Frame, area: Rect, app: &App) {
    let th = &app.settings.theme;
    if let Mode::Prompt(p) = &app.mode {
        let label = format!("{}: ", p.kind.label());
        let err = p
            .error
            .as_ref()
            .map(|e| format!("  ✖ {e}"))
            .unwrap_or_default();
        let label_w = label.chars().count() as u16;
        let err_w = (err.chars().count() as u16).min(area.width / 2);
        let field_w = area.width.saturating_sub(label_w + err_w).max(8);
        let (text, cursor) = p.editor.window(usize::from(field_w.saturating_sub(1)));
        let line = Line::from(vec![
            Span::styled(label, th.key()),
            Span::raw(format!("{text:<w$}", w = usize::from(field_w))),
            Span::styled(err, th.log(LogKind::Error)),
        ]);
        frame.render_widget(Paragraph::new(line), area);
        let x = area.x + label_w + cursor as u16;
        if x < area.right() {
            frame.set_cursor_position((x, area.y));
        }
        return;
    }
    let mut spans: Vec<Span> = Vec::new();
    let keys: &[(&str, &str)] = if app.view == View::Diagnose {
        &KEYS_DIAGNOSE
    } else if app.view == View::Alerts {
        &KEYS_ALERTS
    } else if area.width < WIDE {
        &KEYS_NARROW
    } else {
        &KEYS
    };
    for (k, what) in keys {
        spans.push(Span::styled(format!(" {k}"), th.key()));
        spans.push(Span::raw(format!(" {what} ")));
    }
    let keys_w: u16 = spans.iter().map(|s| s.width() as u16).sum();
    match &app.status {
        Some((kind, text)) => {
            let msg_w = (text.chars().count() as u16 + 1).min(area.width);
            let keys_fit = area.width.saturating_sub(msg_w) >= keys_w;
            let [left, right] = Layout::horizontal([
                Constraint::Min(0),
                Constraint::Length(if keys_fit { msg_w } else { area.width }),
            ])
            .areas(area);
            if keys_fit {
                frame.render_widget(Paragraph::new(Line::from(spans)), left);
            }
            frame.render_widget(
                Paragraph::new(Span::styled(text.clone(), th.log(*kind)))
                    .alignment(Alignment::Right),
                right,
            );
        }
        None => frame.render_widget(Paragraph::new(Line::from(spans)), area),
    }
}

// ------------------------------------------------------------------------------------ help

/// The help, key by key. Short enough to fit 80x24 whole: the text wraps at word
/// boundaries under its own column, and the test renders it at 80x24 and 160x40 and checks
/// that every word is on screen.
pub const HELP: &[(&str, &str)] = &[
    ("↑ ↓  j k", "move the selection"),
    (
        "PgUp PgDn",
        "a page (Ctrl-b Ctrl-f; Ctrl-u Ctrl-d: half a page)",
    ),
    ("g G  Home End", "first / last host"),
    (
        "mouse",
        "click a row to select it, a title to sort; the wheel scrolls",
    ),
    ("s  S", "sort by the next column / reverse the order"),
    ("h", "show / hide addresses that never answered"),
    ("/", "filter: text, up, down, :22 (Esc clears)"),
    ("Enter", "scan the suggested targets (first screen)"),
    ("a", "add targets and scan them"),
    ("p", "port-scan the selected host (top100 by default)"),
    (
        "d",
        "resolve NAME[:TYPE] (A AAAA MX TXT CNAME NS SOA PTR SRV)",
    ),
    (
        "D",
        "Diagnose view, layer by layer; there t targets the selected host, x stops, Esc returns",
    ),
    ("A", "Alerts: new, gone, changed devices; LAN checks (L)"),
    (
        "r  space",
        "rescan every target / pause or resume monitoring",
    ),
    ("e", "export the state (JSON; other formats by extension)"),
    ("Tab", "switch the lower pane (narrow terminals)"),
    ("q  Ctrl-C", "quit"),
    (
        "Prompts",
        "← → Home End move, Backspace Del erase, Ctrl-U Ctrl-W, Esc cancels",
    ),
    ("Header", "✔ OK  ▲ DEGRADED  ✖ DOWN  ? UNKNOWN (not probed)"),
    (
        "Hosts",
        "▲ up  ▼ down  · not probed yet; × in a sparkline: no reply",
    ),
];

/// The help's lines for a box `width` columns wide (borders included): the key column, then
/// the text wrapped at word boundaries, continuation lines under the text.
fn help_lines(width: u16, th: &super::theme::Theme) -> Vec<Line<'static>> {
    let key_w = HELP
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    // " KEY  text": a space, the key column, two spaces; the borders take two more.
    let text_w = usize::from(width).saturating_sub(key_w + 5).max(10);
    let mut lines = Vec::new();
    for (k, what) in HELP {
        for (i, chunk) in wrap(what, text_w).into_iter().enumerate() {
            let lead = if i == 0 {
                Span::styled(format!(" {k:<key_w$}  "), th.key())
            } else {
                Span::raw(" ".repeat(key_w + 3))
            };
            lines.push(Line::from(vec![lead, Span::raw(chunk)]));
        }
    }
    lines
}

fn draw_help(frame: &mut Frame, area: Rect, app: &App) {
    let th = &app.settings.theme;
    let w = area.width.min(86);
    let lines = help_lines(w, th);
    let h = (lines.len() as u16 + 2).min(area.height);
    let r = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    let b = block(" netdx keys ", app)
        .title_bottom(Line::styled(" any key closes this help ", th.dim()).right_aligned());
    frame.render_widget(Clear, r);
    frame.render_widget(Paragraph::new(lines).block(b), r);
}

#[cfg(test)]
mod tests {
    use super::{HELP, fit_pieces, help_lines, spark_bars, spark_scale, wrap};
    use ratatui::text::Span;

    /// Bars of each row, on the scale of the column holding all of them.
    fn column(rows: &[&[f32]]) -> Vec<String> {
        let scale = spark_scale(rows.iter().flat_map(|r| r.iter().copied()));
        rows.iter()
            .map(|r| spark_bars(r.iter().map(|v| Some(*v)), scale))
            .collect()
    }

    fn height(bar: char) -> usize {
        "▁▂▃▄▅▆▇█".chars().position(|c| c == bar).unwrap()
    }

    #[test]
    fn sparklines_share_one_scale_per_column() {
        assert_eq!(spark_scale([0.3f32, 0.4].into_iter()), 1.0);
        assert_eq!(spark_scale([1.4f32].into_iter()), 2.0);
        assert_eq!(spark_scale([3.0f32].into_iter()), 5.0);
        assert_eq!(spark_scale([200.0f32].into_iter()), 200.0);
        assert_eq!(spark_scale([201.0f32].into_iter()), 500.0);
        assert_eq!(spark_scale(std::iter::empty()), 1.0);

        // 0.1 ms of jitter on a 0.3 ms LAN host is a step of one bar, not a spike.
        let lan = column(&[&[0.3, 0.4, 0.3, 0.35, 0.3]]);
        let h: Vec<usize> = lan[0].chars().map(height).collect();
        assert!(h.iter().all(|&b| b <= 3), "{lan:?}");
        assert!(
            h.iter().max().unwrap() - h.iter().min().unwrap() <= 1,
            "{lan:?}"
        );

        // A steady 200 ms tops its column; a 0.3 ms host beside it sits at the bottom. The
        // two are never drawn alike (before, both were a flat middle bar).
        let both = column(&[&[200.0; 5], &[0.3; 5]]);
        assert_eq!(both[0], "█████");
        assert_eq!(both[1], "▁▁▁▁▁");
        let alone = column(&[&[200.0; 5]]);
        assert_eq!(alone[0], "█████");
        let steady_lan = column(&[&[0.3; 5]]);
        assert_eq!(steady_lan[0], "▃▃▃▃▃");

        // A real spike still shows: 0.3 ms with one 5 ms round.
        let spike = column(&[&[0.3, 0.3, 5.0, 0.3]]);
        assert_eq!(spike[0], "▁▁█▁");
        // No reply is a cross, whatever the scale.
        assert_eq!(spark_bars([Some(0.3), None].into_iter(), 1.0), "▃×");
    }

    #[test]
    fn the_help_fits_80x24_and_160_columns_without_cutting_words() {
        let th = super::super::theme::Theme::MONO;
        for width in [80u16, 86] {
            let lines = help_lines(width, &th);
            assert!(lines.len() + 2 <= 24, "{} lines at {width}", lines.len());
            let text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            for l in &text {
                assert!(l.chars().count() + 2 <= usize::from(width), "{l:?}");
            }
            let words: Vec<&str> = text.iter().flat_map(|l| l.split_whitespace()).collect();
            for (k, what) in HELP {
                for w in k.split_whitespace().chain(what.split_whitespace()) {
                    assert!(words.contains(&w), "{w:?} cut or missing at {width}");
                }
            }
        }
    }

    #[test]
    fn status_pieces_are_dropped_whole_never_cut() {
        let pieces = || {
            vec![
                (9, vec![Span::raw("● monitoring")]),
                (5, vec![Span::raw(" 17 hosts every 2 s")]),
                (3, vec![Span::raw(" · round 12")]),
                (8, vec![Span::raw(" · 16 up")]),
                (8, vec![Span::raw(" · 1 down")]),
                (4, vec![Span::raw(" · 238 silent")]),
            ]
        };
        let text = |w| fit_pieces(pieces(), w).to_string();
        let all = "● monitoring 17 hosts every 2 s · round 12 · 16 up · 1 down · 238 silent";
        assert_eq!(text(200), all);
        assert_eq!(
            text(all.chars().count() as u16 - 1),
            "● monitoring 17 hosts every 2 s · 16 up · 1 down · 238 silent"
        );
        assert_eq!(text(50), "● monitoring 17 hosts every 2 s · 16 up · 1 down");
        assert_eq!(text(40), "● monitoring · 16 up · 1 down");
        assert_eq!(text(5), "● monitoring", "the first piece stays");
        for w in 0..80 {
            assert!(
                !text(w).ends_with(" s") || text(w).ends_with("every 2 s"),
                "{w}"
            );
        }
    }

    #[test]
    fn wraps_at_words_and_cuts_long_words() {
        assert_eq!(
            wrap("port scan done: 3 open", 10),
            ["port scan", "done: 3", "open"]
        );
        assert_eq!(wrap("abcdefghijkl x", 5), ["abcde", "fghij", "kl x"]);
        assert_eq!(wrap("", 5), [""]);
    }
}
