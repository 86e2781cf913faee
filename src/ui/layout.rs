//! Where everything goes on the screen, and which table column is under the mouse. Apart
//! from the renderer so the app (keys, mouse) and the renderer both use it without importing
//! each other: app -> layout, render -> {app, layout}.

use std::net::IpAddr;

use ratatui::layout::{Constraint, Layout, Rect};

use crate::core::model::Host;

use super::state::Dashboard;
use super::table::{Column, TableView};

/// Terminals at least this wide show the detail, DNS and events panes side by side.
pub const WIDE: u16 = 120;
const DETAIL_WIDTH: u16 = 48;
/// Latency history cells in the table's sparkline column.
pub const SPARK_CELLS: usize = 10;

/// What the main area shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// The host table with the detail pane (or the local context before a run).
    Hosts,
    /// The latest diagnosis, refreshed every round while the view is open.
    Diagnose,
    /// What changed (new, gone, changed devices) and what the LAN checks found.
    Alerts,
}

/// The pane under the table on narrow terminals (wide ones show all three).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Detail,
    Dns,
    Events,
}

/// Where everything goes on a terminal of a given size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub header: Rect,
    /// The host table, once a run started.
    pub table: Option<Rect>,
    /// The local context, before any run.
    pub context: Option<Rect>,
    /// The Diagnose view (instead of the table, the detail pane and the DNS pane).
    pub diagnose: Option<Rect>,
    /// The Alerts view (changes and LAN checks), in the same place.
    pub alerts: Option<Rect>,
    pub detail: Option<Rect>,
    pub dns: Option<Rect>,
    pub events: Option<Rect>,
    pub footer: Rect,
}

impl Areas {
    /// Host rows that fit in the table (its height less borders and column titles).
    pub fn table_rows(&self) -> usize {
        self.table
            .map_or(0, |t| usize::from(t.height.saturating_sub(3)))
    }
}

pub fn layout(area: Rect, view: View, pane: Pane, started: bool) -> Areas {
    let [header, middle, footer] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    let wide = area.width >= WIDE;
    if matches!(view, View::Diagnose | View::Alerts) {
        // The event log under the diagnosis: a third of the height on wide terminals, a
        // quarter on narrow ones, where the verdict needs the rows.
        let events_h = if wide {
            (middle.height * 3 / 10).clamp(6, 14)
        } else {
            (middle.height / 4).clamp(4, 8)
        }
        .min(middle.height.saturating_sub(5));
        let [main, events] =
            Layout::vertical([Constraint::Min(0), Constraint::Length(events_h)]).areas(middle);
        return Areas {
            header,
            table: None,
            context: None,
            diagnose: (view == View::Diagnose).then_some(main),
            alerts: (view == View::Alerts).then_some(main),
            detail: None,
            dns: None,
            events: Some(events),
            footer,
        };
    }
    let bottom_h = if !started {
        // Before a run the events pane only holds a line or two; the context needs the room.
        (middle.height / 5).clamp(4, 8)
    } else if wide {
        (middle.height * 3 / 10).clamp(6, 14)
    } else {
        (middle.height * 2 / 5).clamp(5, 14)
    }
    .min(middle.height.saturating_sub(5));
    let [top, bottom] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(bottom_h)]).areas(middle);
    let mut a = Areas {
        header,
        table: None,
        context: None,
        diagnose: None,
        alerts: None,
        detail: None,
        dns: None,
        events: None,
        footer,
    };
    if wide {
        let [left, right] =
            Layout::horizontal([Constraint::Min(0), Constraint::Length(DETAIL_WIDTH)]).areas(top);
        let [dns, events] =
            Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)])
                .areas(bottom);
        if started {
            a.table = Some(left);
            a.detail = Some(right);
        } else {
            a.context = Some(top);
        }
        a.dns = Some(dns);
        a.events = Some(events);
    } else {
        if started {
            a.table = Some(top);
        } else {
            a.context = Some(top);
        }
        match pane {
            Pane::Detail if started => a.detail = Some(bottom),
            Pane::Detail | Pane::Events => a.events = Some(bottom),
            Pane::Dns => a.dns = Some(bottom),
        }
    }
    a
}

/// Column widths for a table `width` columns wide: fixed columns get their size; hostname
/// gets what its visible names need (`name_width`, at most half of the rest) and MAC/vendor
/// the remainder.
pub fn columns(width: u16, ip_width: u16, name_width: u16) -> Vec<(Column, u16)> {
    let cols: &[Column] = if width >= 100 {
        &Column::ALL
    } else {
        &Column::NARROW
    };
    let fixed = |c: Column| -> Option<u16> {
        Some(match c {
            Column::Ip => ip_width,
            Column::Status => 9,
            Column::Rtt => 8,
            Column::Loss => 4,
            Column::Latency => SPARK_CELLS as u16,
            Column::Ports => 4,
            Column::Methods => 12,
            Column::Type => 10,
            Column::Hostname | Column::Mac => return None,
        })
    };
    let spacing = cols.len().saturating_sub(1) as u16;
    let used: u16 = cols.iter().filter_map(|c| fixed(*c)).sum::<u16>() + spacing;
    let rest = width.saturating_sub(used);
    let has_mac = cols.contains(&Column::Mac);
    let host_w = if has_mac {
        name_width.clamp(10, (rest / 2).max(10)).min(rest)
    } else {
        rest
    };
    cols.iter()
        .map(|&c| {
            let w = match (fixed(c), c) {
                (Some(w), _) => w,
                (None, Column::Hostname) => host_w,
                (None, _) => rest - host_w,
            };
            (c, w)
        })
        .collect()
}

/// Which column is under screen column `x` of the table at `area`.
pub fn column_at(table: &TableView, dash: &Dashboard, area: Rect, x: u16) -> Option<Column> {
    let inner = area.inner(ratatui::layout::Margin::new(1, 1));
    let mut left = inner.x;
    let rows = usize::from(inner.height);
    for (c, w) in columns(
        inner.width,
        ip_width(table, rows),
        name_width(table, dash, rows),
    ) {
        if x >= left && x < left + w + 1 {
            return Some(c);
        }
        left += w + 1;
    }
    None
}

pub fn ip_width(table: &TableView, rows: usize) -> u16 {
    table
        .visible(rows)
        .map(|(_, ip)| ip_len(ip))
        .max()
        .unwrap_or(7)
        .clamp(7, 39)
}

fn host_name(h: &Host) -> Option<&str> {
    h.hostname.as_deref().or(h.target_name.as_deref())
}

pub fn name_width(table: &TableView, dash: &Dashboard, rows: usize) -> u16 {
    let title = Column::Hostname.title().len() as u16 + 2;
    table
        .visible(rows)
        .filter_map(|(_, ip)| dash.report.hosts.get(&ip).and_then(host_name))
        .map(|n| n.chars().count() as u16)
        .max()
        .unwrap_or(0)
        .max(title)
}

fn ip_len(ip: IpAddr) -> u16 {
    // Cheap upper bound without formatting: v4 at most 15, v6 at most 39.
    match ip {
        IpAddr::V4(v4) => {
            v4.octets()
                .iter()
                .map(|o| {
                    if *o >= 100 {
                        3
                    } else if *o >= 10 {
                        2
                    } else {
                        1
                    }
                })
                .sum::<u16>()
                + 3
        }
        IpAddr::V6(v6) => v6.to_string().len() as u16,
    }
}
