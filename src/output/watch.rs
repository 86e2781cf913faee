//! The alerts and the LAN checks in every report format: one place decides their order and
//! words, each writer only escapes and lays them out.
//!
//! Order: critical first, then warnings, then information; within a level, by address.

use crate::core::alert::{Alert, AlertLevel};
use crate::core::lan::{LanReport, LineKind};
use crate::core::model::ScanReport;

/// The report's alerts, most serious first (then by address, then as they came).
pub fn alerts_sorted(report: &ScanReport) -> Vec<&Alert> {
    let mut v: Vec<&Alert> = report.alerts.iter().collect();
    v.sort_by(|a, b| b.level.cmp(&a.level).then(a.ip.cmp(&b.ip)));
    v
}

/// `critical`, `warning`, `info`: the word every format prints.
pub fn level_word(l: AlertLevel) -> &'static str {
    match l {
        AlertLevel::Critical => "critical",
        AlertLevel::Warning => "warning",
        AlertLevel::Info => "info",
    }
}

/// `problem`, `ok`, `not run`.
pub fn line_word(k: LineKind) -> &'static str {
    match k {
        LineKind::Problem => "problem",
        LineKind::Fine => "ok",
        LineKind::NotRun => "not run",
    }
}

/// The heading of the LAN section: `LAN checks on eth0 (5.1 s)`.
pub fn lan_heading(lan: &LanReport) -> String {
    format!(
        "LAN checks on {} ({:.1} s)",
        lan.interface,
        lan.duration_ms as f64 / 1000.0
    )
}

/// Alerts about one address, in the order [`alerts_sorted`] gives.
pub fn alerts_for(report: &ScanReport, ip: std::net::IpAddr) -> Vec<&Alert> {
    alerts_sorted(report)
        .into_iter()
        .filter(|a| a.ip == Some(ip))
        .collect()
}

/// One group per MAC that answers for several addresses in the report (an IPv4 address and
/// its IPv6 ones): `(MAC, vendor, addresses)`, ordered by first address.
pub fn same_device_groups(
    report: &ScanReport,
) -> Vec<(
    crate::core::model::MacAddr,
    Option<String>,
    Vec<std::net::IpAddr>,
)> {
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for h in report.hosts.values() {
        let Some(mac) = h.mac else { continue };
        if h.same_device.is_empty() || !seen.insert(mac) {
            continue;
        }
        let mut all: Vec<std::net::IpAddr> = h.same_device.clone();
        all.push(h.ip);
        all.sort();
        all.dedup();
        out.push((mac, h.vendor.clone(), all));
    }
    out
}
