//! CSV: one row per host and open port, plus one row per host for its closed ports and one
//! for its filtered ports, whose `port` cell holds their ranges (`1-21,23-79`) and `count`
//! how many they are (a host without ports gets one row with the port columns empty), for
//! spreadsheets and scripts. A `-p all` scan so stays a few rows per host, not 65,535. RFC 4180: CRLF line ends, a header row, fields
//! quoted only when needed. Every text cell goes through [`escape::csv`], which neutralises
//! formula prefixes (`=`, `+`, `-`, `@`, tab, CR) with a leading `'`.
//!
//! DNS results are not in the CSV: they do not fit a host/port row, and the JSON, Markdown,
//! HTML and XML reports carry them. A host's alerts (what changed since it was last seen, and
//! LAN problems about its address) are in its `alerts` column; an alert about an address that
//! is not a host of the report is a row of its own with status `alert`, and each line of the
//! LAN checks a row with status `lan` (the line in `service_info`).

use std::fmt::Write;

use crate::core::model::{Host, PortSet, PortState, ScanReport};

use super::escape;

pub const HEADER: [&str; 23] = [
    "ip",
    "status",
    "hostname",
    "target_name",
    "mac",
    "vendor",
    "methods",
    "rtt_ms",
    "rtt_min_ms",
    "rtt_max_ms",
    "loss_pct",
    "port",
    "protocol",
    "state",
    "service",
    "port_rtt_ms",
    "count",
    "device_type",
    "product",
    "version",
    "service_info",
    "alerts",
    "same_device",
];

fn num(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn text(v: &Option<String>) -> String {
    v.as_deref().map(escape::csv).unwrap_or_default()
}

/// The port cells of one row: one open port, or every closed (filtered) port as ranges.
enum PortCells<'a> {
    None,
    Open(&'a crate::core::model::Port),
    Set(PortState, &'a PortSet),
}

fn row(out: &mut String, h: &Host, p: PortCells<'_>, alerts: &str) {
    let methods: Vec<&str> = h.methods.iter().map(|m| m.label()).collect();
    // "ping blocked" rather than an empty cell: the reader must not take it for "not pinged".
    let loss = if h.ping_blocked() {
        "ping blocked".to_string()
    } else {
        num(h.loss_pct)
    };
    let mut cells = vec![
        h.ip.to_string(),
        h.status.label().to_string(),
        text(&h.hostname),
        text(&h.target_name),
        h.mac.map(|m| m.to_string()).unwrap_or_default(),
        text(&h.vendor),
        methods.join(" "),
        num(h.rtt_ms),
        num(h.rtt_min_ms),
        num(h.rtt_max_ms),
        loss,
    ];
    match p {
        PortCells::Open(p) => cells.extend([
            p.port.to_string(),
            escape::csv(&p.protocol),
            p.state.label().to_string(),
            text(&p.service),
            num(p.rtt_ms),
            "1".to_string(),
        ]),
        PortCells::Set(state, set) => cells.extend([
            escape::csv(&set.to_string()),
            "tcp".to_string(),
            state.label().to_string(),
            String::new(),
            String::new(),
            set.len().to_string(),
        ]),
        PortCells::None => cells.extend(std::iter::repeat_n(String::new(), 6)),
    }
    cells.push(
        h.device
            .as_ref()
            .map(|d| escape::csv(&d.kind))
            .unwrap_or_default(),
    );
    // What the service said about itself (open ports that were identified).
    let id = match p {
        PortCells::Open(p) => p.identity.as_ref(),
        _ => None,
    };
    cells.push(id.map(|i| text(&i.product)).unwrap_or_default());
    cells.push(id.map(|i| text(&i.version)).unwrap_or_default());
    cells.push(id.map(|i| escape::csv(&i.summary())).unwrap_or_default());
    cells.push(escape::csv(alerts));
    let others: Vec<String> = h.same_device.iter().map(|ip| ip.to_string()).collect();
    cells.push(others.join(" "));
    let _ = write!(out, "{}\r\n", cells.join(","));
}

/// A row that is not a host's: the named columns filled (already escaped), the rest empty.
fn named_row(out: &mut String, cells: &[(&str, String)]) {
    let row: Vec<&str> = HEADER
        .iter()
        .map(|col| {
            cells
                .iter()
                .find(|(name, _)| name == col)
                .map_or("", |(_, v)| v.as_str())
        })
        .collect();
    let _ = write!(out, "{}\r\n", row.join(","));
}

pub fn render(report: &ScanReport) -> String {
    let mut out = String::new();
    let _ = write!(out, "{}\r\n", HEADER.join(","));
    for h in report.hosts.values() {
        // What changed on this host since it was last seen, on each of its rows (a host
        // attribute, like its MAC): `warning: ... | info: ...`.
        let alerts: Vec<String> = super::watch::alerts_for(report, h.ip)
            .iter()
            .map(|a| format!("{}: {}", super::watch::level_word(a.level), a.text))
            .collect();
        let alerts = alerts.join(" | ");
        if !h.ports_checked() {
            row(&mut out, h, PortCells::None, &alerts);
        }
        for p in &h.ports {
            row(&mut out, h, PortCells::Open(p), &alerts);
        }
        for (state, set) in [
            (PortState::Filtered, &h.filtered_ports),
            (PortState::Closed, &h.closed_ports),
        ] {
            if !set.is_empty() {
                row(&mut out, h, PortCells::Set(state, set), &alerts);
            }
        }
    }
    // Alerts about an address that is not a host of the report (a rogue DHCP server outside
    // the targets) or about no address: one row each, status `alert`.
    for a in super::watch::alerts_sorted(report) {
        if a.ip.is_some_and(|ip| report.hosts.contains_key(&ip)) {
            continue;
        }
        named_row(
            &mut out,
            &[
                ("ip", a.ip.map(|ip| ip.to_string()).unwrap_or_default()),
                ("status", "alert".to_string()),
                ("mac", a.mac.map(|m| m.to_string()).unwrap_or_default()),
                (
                    "alerts",
                    escape::csv(&format!(
                        "{}: {}",
                        super::watch::level_word(a.level),
                        a.text
                    )),
                ),
            ],
        );
    }
    // The LAN checks: one row per line, status `lan`, the line in `service_info`.
    if let Some(lan) = &report.lan {
        for (kind, line) in lan.lines() {
            let text = format!("{}: {}", super::watch::line_word(kind), line.trim_start());
            named_row(
                &mut out,
                &[
                    ("status", "lan".to_string()),
                    ("service_info", escape::csv(&text)),
                ],
            );
        }
    }
    out
}
