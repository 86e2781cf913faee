//! The host table's view: which hosts, in which order, which one is selected and which slice
//! is on screen. Rebuilt only when the state's generation, the sort or the filter changed,
//! never per frame; rendering then touches only the visible slice, so a frame costs the same
//! with 20 hosts or 65,536.

use std::cmp::Ordering;
use std::net::IpAddr;

use crate::core::model::{Host, HostStatus, PortState};

use super::state::{Dashboard, HostTrack, Liveness};

/// Table columns, in display order. Every column sorts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Ip,
    Hostname,
    Mac,
    Status,
    Rtt,
    Loss,
    Latency,
    Ports,
    Methods,
    /// Device type (printer, NAS, router...), from `core::devtype`.
    Type,
}

impl Column {
    pub const ALL: [Column; 10] = [
        Column::Ip,
        Column::Hostname,
        Column::Mac,
        Column::Type,
        Column::Status,
        Column::Rtt,
        Column::Loss,
        Column::Latency,
        Column::Ports,
        Column::Methods,
    ];

    /// Columns shown when the terminal is narrow (under 120 columns).
    pub const NARROW: [Column; 7] = [
        Column::Ip,
        Column::Hostname,
        Column::Status,
        Column::Rtt,
        Column::Loss,
        Column::Latency,
        Column::Ports,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Column::Ip => "IP",
            Column::Hostname => "Hostname",
            Column::Mac => "MAC / vendor",
            Column::Status => "Status",
            Column::Rtt => "RTT",
            Column::Loss => "Loss",
            Column::Latency => "Latency",
            Column::Ports => "Open",
            Column::Methods => "Seen by",
            Column::Type => "Type",
        }
    }

    pub fn next(self) -> Column {
        let i = Column::ALL.iter().position(|c| *c == self).unwrap_or(0);
        Column::ALL[(i + 1) % Column::ALL.len()]
    }
}

/// Rows kept between the selection and the edge of the table while scrolling.
const SCROLL_MARGIN: usize = 2;

#[derive(Debug, Clone)]
pub struct TableView {
    /// Hosts that pass the filter, in sort order.
    pub order: Vec<IpAddr>,
    pub sort: Column,
    pub descending: bool,
    pub filter: String,
    /// Index into `order`.
    pub selected: usize,
    /// First row on screen.
    pub offset: usize,
    /// List addresses that never answered and are not watched (a /24 sweep has hundreds).
    pub show_silent: bool,
    built_generation: Option<u64>,
}

impl Default for TableView {
    fn default() -> Self {
        TableView {
            order: Vec::new(),
            sort: Column::Ip,
            descending: false,
            filter: String::new(),
            selected: 0,
            offset: 0,
            show_silent: false,
            built_generation: None,
        }
    }
}

impl TableView {
    pub fn selected_ip(&self) -> Option<IpAddr> {
        self.order.get(self.selected).copied()
    }

    /// True when the sort or the filter changed since the last build.
    pub fn is_invalid(&self) -> bool {
        self.built_generation.is_none()
    }

    /// Forget the order so the next [`refresh`](Self::refresh) rebuilds it.
    pub fn invalidate(&mut self) {
        self.built_generation = None;
    }

    pub fn toggle_silent(&mut self) {
        self.show_silent = !self.show_silent;
        self.invalidate();
    }

    pub fn set_filter(&mut self, filter: &str) {
        if self.filter != filter {
            self.filter = filter.to_string();
            self.invalidate();
        }
    }

    pub fn sort_by(&mut self, col: Column) {
        if self.sort == col {
            self.descending = !self.descending;
        } else {
            self.sort = col;
            self.descending = false;
        }
        self.invalidate();
    }

    /// Rebuild the order if the state changed since the last build. Keeps the selected host
    /// selected when it is still listed.
    pub fn refresh(&mut self, dash: &Dashboard) {
        if self.built_generation == Some(dash.generation) {
            return;
        }
        let keep = self.selected_ip();
        let terms = Filter::parse(&self.filter);
        // Both sources are in address order already.
        let mut order: Vec<IpAddr> = if self.show_silent {
            dash.report
                .hosts
                .values()
                .filter(|h| terms.is_empty() || terms.matches(h, dash.tracks.get(&h.ip)))
                .map(|h| h.ip)
                .collect()
        } else if terms.is_empty() {
            // Every watched address is in the report: the events that put it under watch
            // went through the model first.
            dash.watched.iter().copied().collect()
        } else {
            dash.watched
                .iter()
                .filter_map(|ip| dash.report.hosts.get(ip))
                .filter(|h| terms.matches(h, dash.tracks.get(&h.ip)))
                .map(|h| h.ip)
                .collect()
        };
        if self.sort != Column::Ip {
            let key = |ip: &IpAddr| SortKey::of(self.sort, dash, *ip);
            let mut keyed: Vec<(SortKey, IpAddr)> = order.iter().map(|ip| (key(ip), *ip)).collect();
            keyed.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
            order = keyed.into_iter().map(|(_, ip)| ip).collect();
        }
        if self.descending {
            order.reverse();
        }
        self.order = order;
        self.built_generation = Some(dash.generation);
        self.selected = match keep.and_then(|ip| self.order.iter().position(|x| *x == ip)) {
            Some(i) => i,
            None => self.selected.min(self.order.len().saturating_sub(1)),
        };
    }

    /// Move the selection by `delta` rows and scroll just enough to keep it in view.
    pub fn move_by(&mut self, delta: isize, visible: usize) {
        if self.order.is_empty() {
            self.selected = 0;
            return;
        }
        let last = self.order.len() - 1;
        self.selected = self.selected.saturating_add_signed(delta).min(last);
        self.scroll_into_view(visible);
    }

    pub fn select(&mut self, index: usize, visible: usize) {
        if !self.order.is_empty() {
            self.selected = index.min(self.order.len() - 1);
            self.scroll_into_view(visible);
        }
    }

    /// Adjust `offset` so the selected row is on screen, with a small margin when possible.
    pub fn scroll_into_view(&mut self, visible: usize) {
        let visible = visible.max(1);
        let margin = SCROLL_MARGIN.min(visible.saturating_sub(1) / 2);
        if self.selected < self.offset + margin {
            self.offset = self.selected.saturating_sub(margin);
        } else if self.selected + margin >= self.offset + visible {
            self.offset = self.selected + margin + 1 - visible;
        }
        let max_offset = self.order.len().saturating_sub(visible);
        self.offset = self.offset.min(max_offset);
    }

    /// The rows on screen: `(index, ip)` pairs.
    pub fn visible(&self, rows: usize) -> impl Iterator<Item = (usize, IpAddr)> + '_ {
        self.order
            .iter()
            .copied()
            .enumerate()
            .skip(self.offset)
            .take(rows)
    }
}

/// A sort key: `None` values sort last whichever the direction of the numbers.
#[derive(Debug, Clone, PartialEq)]
enum SortKey {
    Text(Option<String>),
    Num(Option<f64>),
    Rank(u8),
}

impl Eq for SortKey {}

impl PartialOrd for SortKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SortKey {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (SortKey::Text(a), SortKey::Text(b)) => cmp_some_first(a, b, |a, b| a.cmp(b)),
            (SortKey::Num(a), SortKey::Num(b)) => cmp_some_first(a, b, |a, b| a.total_cmp(b)),
            (SortKey::Rank(a), SortKey::Rank(b)) => a.cmp(b),
            _ => Ordering::Equal,
        }
    }
}

fn cmp_some_first<T>(a: &Option<T>, b: &Option<T>, f: impl Fn(&T, &T) -> Ordering) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => f(a, b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

impl SortKey {
    fn of(col: Column, dash: &Dashboard, ip: IpAddr) -> SortKey {
        let h = dash.report.hosts.get(&ip);
        let t = dash.tracks.get(&ip);
        match col {
            Column::Ip => SortKey::Rank(0),
            Column::Hostname => SortKey::Text(
                h.and_then(|h| {
                    h.hostname
                        .clone()
                        .or(h.target_name.clone())
                        .or(h.names.best_name().map(str::to_string))
                })
                .map(|s| s.to_lowercase()),
            ),
            Column::Mac => SortKey::Text(h.and_then(|h| h.mac).map(|m| m.to_string())),
            Column::Status => SortKey::Rank(match t.map(|t| t.live) {
                Some(Liveness::Down { .. }) => 0,
                Some(Liveness::Up { .. }) => 1,
                _ => 2,
            }),
            Column::Rtt => SortKey::Num(shown_rtt(h, t)),
            Column::Loss => SortKey::Num(t.and_then(|t| t.recent_loss())),
            Column::Latency => SortKey::Num(t.and_then(jitter)),
            Column::Ports => SortKey::Num(h.map(|h| -(h.open_ports().count() as f64))),
            Column::Methods => SortKey::Text(h.map(methods)),
            Column::Type => {
                SortKey::Text(h.and_then(|h| h.device.as_ref()).map(|d| d.kind.clone()))
            }
        }
    }
}

/// The round trip the RTT column shows, and sorts by: the last round's sample, else the
/// scan's ICMP average, else the ARP reply time; none for a host that is down now.
pub fn shown_rtt(h: Option<&Host>, t: Option<&HostTrack>) -> Option<f64> {
    if t.is_some_and(|t| t.is_down()) {
        return None;
    }
    t.and_then(|t| t.samples.back().and_then(|s| s.rtt_ms).map(f64::from))
        .or_else(|| h.and_then(Host::shown_rtt_ms))
}

/// Spread of the recent RTT samples (max - min), what the sparkline makes visible.
fn jitter(t: &HostTrack) -> Option<f64> {
    let v: Vec<f32> = t.samples.iter().filter_map(|s| s.rtt_ms).collect();
    let max = v.iter().copied().reduce(f32::max)?;
    let min = v.iter().copied().reduce(f32::min)?;
    Some(f64::from(max - min))
}

pub fn methods(h: &Host) -> String {
    h.methods
        .iter()
        .map(|m| m.label())
        .collect::<Vec<_>>()
        .join(",")
}

/// The `/` filter: whitespace-separated terms, all of which must match (case-insensitive
/// substring of the address, names, MAC, vendor or methods). `up` and `down` match the
/// status; `:22` or `port:22` a host with that port open.
#[derive(Debug, Default)]
struct Filter {
    terms: Vec<Term>,
}

#[derive(Debug)]
enum Term {
    Up,
    Down,
    Port(u16),
    Text(String),
}

impl Filter {
    fn parse(s: &str) -> Filter {
        let terms = s
            .split_whitespace()
            .map(|w| {
                let lw = w.to_lowercase();
                let port = lw
                    .strip_prefix("port:")
                    .or_else(|| lw.strip_prefix(':'))
                    .and_then(|p| p.parse().ok());
                match (lw.as_str(), port) {
                    (_, Some(p)) => Term::Port(p),
                    ("up", _) => Term::Up,
                    ("down", _) => Term::Down,
                    _ => Term::Text(lw),
                }
            })
            .collect();
        Filter { terms }
    }

    fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    fn matches(&self, h: &Host, t: Option<&HostTrack>) -> bool {
        self.terms.iter().all(|term| match term {
            Term::Up => t.map_or(h.status == HostStatus::Up, |t| t.is_up()),
            Term::Down => t.is_some_and(|t| t.is_down()),
            Term::Port(p) => h.port_state(*p) == Some(PortState::Open),
            Term::Text(s) => {
                contains_ci(&h.ip.to_string(), s)
                    || h.hostname.as_deref().is_some_and(|n| contains_ci(n, s))
                    || h.target_name.as_deref().is_some_and(|n| contains_ci(n, s))
                    || h.mac.is_some_and(|m| contains_ci(&m.to_string(), s))
                    || h.vendor.as_deref().is_some_and(|v| contains_ci(v, s))
                    || h.methods.iter().any(|m| m.label() == s)
            }
        })
    }
}

fn contains_ci(hay: &str, needle_lower: &str) -> bool {
    if hay.is_ascii() && needle_lower.is_ascii() {
        hay.as_bytes()
            .windows(needle_lower.len().max(1))
            .any(|w| w.eq_ignore_ascii_case(needle_lower.as_bytes()))
            || needle_lower.is_empty()
    } else {
        hay.to_lowercase().contains(needle_lower)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::event::{IcmpOutcome, ScanEvent};
    use crate::core::model::ScanParameters;
    use crate::net::sys::netinfo::LocalContext;
    use crate::ui::state::JobKind;
    use std::time::Duration;
    use time::OffsetDateTime;

    fn dash(n: u32) -> Dashboard {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let mut d = Dashboard::new(LocalContext::default(), ScanParameters::default());
        let id = d.begin(
            JobKind::Sweep {
                targets: vec!["x".into()],
            },
            &[],
            now,
        );
        let ips: Vec<IpAddr> = (1..=n)
            .map(|i| IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i)))
            .collect();
        d.apply(id, ScanEvent::Targets(ips.clone()), now);
        for (i, ip) in ips.iter().enumerate() {
            if i % 2 == 0 {
                d.apply(
                    id,
                    ScanEvent::Icmp(IcmpOutcome {
                        ip: *ip,
                        sent: 1,
                        received: 1,
                        rtts: vec![Duration::from_micros(1000 + (n as u64 - i as u64) * 10)],
                    }),
                    now,
                );
            }
        }
        d.apply(id, ScanEvent::Finished { interrupted: false }, now);
        d
    }

    #[test]
    fn filter_terms() {
        let d = dash(10);
        let mut v = TableView::default();
        v.toggle_silent();
        v.set_filter("up");
        v.refresh(&d);
        assert_eq!(v.order.len(), 5);
        v.set_filter("down 10.0.0.1");
        v.refresh(&d);
        let got: Vec<String> = v.order.iter().map(|i| i.to_string()).collect();
        assert_eq!(got, ["10.0.0.10"]);
        v.set_filter("ICMP");
        v.refresh(&d);
        assert_eq!(v.order.len(), 5);
    }

    #[test]
    fn sort_by_rtt_puts_unknown_last_and_keeps_selection() {
        let d = dash(6);
        let mut v = TableView::default();
        v.toggle_silent();
        v.refresh(&d);
        v.select(2, 10);
        let picked = v.selected_ip();
        v.sort_by(Column::Rtt);
        v.refresh(&d);
        let got: Vec<String> = v.order.iter().map(|i| i.to_string()).collect();
        assert_eq!(
            got,
            [
                "10.0.0.5", "10.0.0.3", "10.0.0.1", "10.0.0.2", "10.0.0.4", "10.0.0.6"
            ]
        );
        assert_eq!(v.selected_ip(), picked);
        v.sort_by(Column::Rtt);
        v.refresh(&d);
        assert_eq!(v.order[0].to_string(), "10.0.0.6");
        assert!(v.descending);
    }

    /// A host found by ARP only shows its ARP reply time in the RTT column: sorting puts it
    /// where that figure belongs, not with the hosts that have no RTT at all.
    #[test]
    fn sort_by_rtt_uses_the_rtt_shown() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let mut d = dash(4);
        let id = d.begin(
            JobKind::Sweep {
                targets: vec!["y".into()],
            },
            &[],
            now,
        );
        let arp_only = std::net::Ipv4Addr::new(10, 0, 0, 2);
        d.apply(
            id,
            ScanEvent::Arp(crate::core::event::ArpOutcome {
                ip: arp_only,
                mac: crate::core::model::MacAddr([2, 0, 0, 0, 0, 2]),
                rtt: Duration::from_micros(100),
            }),
            now,
        );
        d.apply(id, ScanEvent::Finished { interrupted: false }, now);
        let h = d.report.hosts.get(&IpAddr::V4(arp_only));
        let shown = shown_rtt(h, d.tracks.get(&IpAddr::V4(arp_only)));
        assert!(shown.is_some_and(|v| (v - 0.1).abs() < 1e-6), "{shown:?}");
        let mut v = TableView::default();
        v.toggle_silent();
        v.sort_by(Column::Rtt);
        v.refresh(&d);
        assert_eq!(v.order[0], IpAddr::V4(arp_only), "{:?}", v.order);
    }

    #[test]
    fn scrolling_keeps_selection_visible_with_margin() {
        let d = dash(100);
        let mut v = TableView::default();
        v.toggle_silent();
        v.refresh(&d);
        v.move_by(9, 10);
        assert_eq!((v.selected, v.offset), (9, 2));
        v.move_by(1, 10);
        assert_eq!((v.selected, v.offset), (10, 3));
        v.move_by(-8, 10);
        assert_eq!((v.selected, v.offset), (2, 0));
        v.move_by(1000, 10);
        assert_eq!((v.selected, v.offset), (99, 90));
        v.move_by(-1000, 10);
        assert_eq!((v.selected, v.offset), (0, 0));
        assert_eq!(v.visible(3).map(|(i, _)| i).collect::<Vec<_>>(), [0, 1, 2]);
    }

    #[test]
    fn silent_addresses_are_hidden_unless_asked_for() {
        // 40 targets (more than WATCH_ALL_LIMIT): the 20 that never answered are not watched.
        let d = dash(40);
        let mut v = TableView::default();
        v.refresh(&d);
        assert_eq!(v.order.len(), 20);
        v.toggle_silent();
        v.refresh(&d);
        assert_eq!(v.order.len(), 40);
    }

    #[test]
    fn refresh_is_skipped_when_nothing_changed() {
        let d = dash(4);
        let mut v = TableView::default();
        v.toggle_silent();
        v.refresh(&d);
        v.order.clear();
        v.refresh(&d);
        assert!(v.order.is_empty(), "same generation: no rebuild");
        v.invalidate();
        v.refresh(&d);
        assert_eq!(v.order.len(), 4);
    }
}
