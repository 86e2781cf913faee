//! CSV: one row per host and port (a host without ports gets one row with the port columns
//! empty), for spreadsheets and scripts. RFC 4180: CRLF line ends, a header row, fields
//! quoted only when needed. Every text cell goes through [`escape::csv`], which neutralises
//! formula prefixes (`=`, `+`, `-`, `@`, tab, CR) with a leading `'`.
//!
//! DNS results are not in the CSV: they do not fit a host/port row, and the JSON, Markdown
//! and HTML reports carry them.

use std::fmt::Write;

use crate::core::model::{Host, HostStatus, Port, ScanReport};

use super::escape;

pub const HEADER: [&str; 16] = [
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
];

fn num(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn text(v: &Option<String>) -> String {
    v.as_deref().map(escape::csv).unwrap_or_default()
}

fn row(out: &mut String, h: &Host, p: Option<&Port>) {
    let methods: Vec<&str> = h.methods.iter().map(|m| m.label()).collect();
    let status = match h.status {
        HostStatus::Up => "up",
        HostStatus::Down => "down",
    };
    let mut cells = vec![
        h.ip.to_string(),
        status.to_string(),
        text(&h.hostname),
        text(&h.target_name),
        h.mac.map(|m| m.to_string()).unwrap_or_default(),
        text(&h.vendor),
        methods.join(" "),
        num(h.rtt_ms),
        num(h.rtt_min_ms),
        num(h.rtt_max_ms),
        num(h.loss_pct),
    ];
    match p {
        Some(p) => cells.extend([
            p.port.to_string(),
            escape::csv(&p.protocol),
            p.state.label().to_string(),
            text(&p.service),
            num(p.rtt_ms),
        ]),
        None => cells.extend(std::iter::repeat_n(String::new(), 5)),
    }
    let _ = write!(out, "{}\r\n", cells.join(","));
}

pub fn render(report: &ScanReport) -> String {
    let mut out = String::new();
    let _ = write!(out, "{}\r\n", HEADER.join(","));
    for h in report.hosts.values() {
        if h.ports.is_empty() {
            row(&mut out, h, None);
        }
        for p in &h.ports {
            row(&mut out, h, Some(p));
        }
    }
    out
}
