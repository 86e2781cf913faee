//! `netdx diff OLD.json NEW.json`: what changed on the network between two saved scans.
//!
//! Compared, for every address in either report:
//! - hosts that appeared (no answer, not probed, down or not scanned before; up now) or disappeared;
//! - on hosts up in both: TCP ports that opened or are no longer open (ports checked by only
//!   one of the scans are not compared: a quick `-p 22` scan against a full one would
//!   otherwise report hundreds of "changes"), a changed MAC address (flagged: a device swap,
//!   or ARP spoofing, above all when the new MAC also answers for other addresses), a changed
//!   PTR name, a round trip much worse ([`LATENCY_FACTOR`] times and [`LATENCY_MIN_MS`] more,
//!   comparing medians of at least [`LATENCY_MIN_SAMPLES`] echoes on both sides, so one inflated
//!   echo is never news), packet loss much worse ([`LOSS_POINTS`] points more);
//! - on hosts up in both, what they and their services say they are ([`identity`]): a
//!   service's changed protocol, product or version, a changed or newly expiring certificate,
//!   a changed device type, a changed mDNS/NetBIOS/SNMP/UPnP name; absent on one side is
//!   "unknown", not a change, but where [`identity`] says otherwise;
//! - DNS lookups made by both scans whose status or answers changed.
//!
//! Readable text by default; `-o FILE` writes JSON or Markdown. Exit code 1 when something
//! changed, 0 when nothing did, 2 on trouble (as diff(1)), so it works in scripts.

use crate::core::units;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::core::model::{Host, HostStatus, MacAddr, PortState, ScanReport};
use crate::output;
use crate::output::escape::{self, markdown as md, text};

pub mod identity;
pub mod lan;

pub use identity::{CertChange, DeviceChange, LanNameChange, ServiceChange, ServiceVersion};

/// A round trip is "much worse" when it is at least this many times the old one...
pub const LATENCY_FACTOR: f64 = 2.0;
/// ...and at least this many milliseconds more (so 0.2 ms → 0.5 ms on a LAN is not news).
pub const LATENCY_MIN_MS: f64 = 10.0;
/// Latency is compared only when both scans have at least this many echo replies from the
/// host: a median of fewer says too little, and older reports without a median get no verdict.
pub const LATENCY_MIN_SAMPLES: u32 = 3;
/// Packet loss is "much worse" when it rose by at least this many percentage points.
pub const LOSS_POINTS: f64 = 20.0;

/// Version of the diff's JSON layout. 2 added `service_changed`, `cert_changed`,
/// `device_changed` and `names_changed` (read as empty from a version-1 diff); 3 added
/// `lan_changed`.
pub const DIFF_VERSION: u32 = 3;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Side {
    pub path: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub complete: bool,
}

/// A host that appeared or disappeared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostChange {
    pub ip: IpAddr,
    pub hostname: Option<String>,
    pub mac: Option<MacAddr>,
    pub vendor: Option<String>,
    /// Open ports on the side where the host is up (`22/ssh`).
    pub open_ports: Vec<String>,
    /// For an appeared host, what it was before; for a disappeared one, what it is now:
    /// `no answer`, `not probed`, `down` (went down while monitored) or `not scanned`.
    pub other_side: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortChange {
    pub ip: IpAddr,
    pub hostname: Option<String>,
    pub port: u16,
    pub protocol: String,
    pub service: Option<String>,
    /// The state on the other side: before an opening, after a closing.
    pub other_state: PortState,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MacChange {
    pub ip: IpAddr,
    pub hostname: Option<String>,
    pub old_mac: MacAddr,
    pub old_vendor: Option<String>,
    pub new_mac: MacAddr,
    pub new_vendor: Option<String>,
    /// Other addresses the new MAC answers for in the new scan: one MAC claiming several
    /// addresses (the gateway's above all) is the mark of ARP spoofing.
    pub new_mac_also_answers_for: Vec<IpAddr>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NameChange {
    pub ip: IpAddr,
    pub old: Option<String>,
    pub new: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricChange {
    pub ip: IpAddr,
    pub hostname: Option<String>,
    /// For latency, the median round trip in ms; for loss, the percentage.
    pub old: f64,
    pub new: f64,
    /// For latency: how many echo replies each median is computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_samples: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_samples: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DnsChange {
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: String,
    pub old_status: String,
    pub new_status: String,
    pub old_answers: Vec<String>,
    pub new_answers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportDiff {
    pub diff_version: u32,
    pub old: Side,
    pub new: Side,
    pub changes: usize,
    pub hosts_appeared: Vec<HostChange>,
    pub hosts_disappeared: Vec<HostChange>,
    pub ports_opened: Vec<PortChange>,
    pub ports_closed: Vec<PortChange>,
    pub mac_changed: Vec<MacChange>,
    pub hostname_changed: Vec<NameChange>,
    pub latency_worse: Vec<MetricChange>,
    pub loss_worse: Vec<MetricChange>,
    pub dns_changed: Vec<DnsChange>,
    #[serde(default)]
    pub service_changed: Vec<ServiceChange>,
    #[serde(default)]
    pub cert_changed: Vec<CertChange>,
    #[serde(default)]
    pub device_changed: Vec<DeviceChange>,
    /// Names from mDNS, NetBIOS, SNMP and UPnP (the PTR name is `hostname_changed`).
    #[serde(default)]
    pub names_changed: Vec<LanNameChange>,
    /// DHCP servers, duplicate addresses, gateway claims, IPv6 routers and the switch port
    /// that appeared, went away or changed (both scans ran the LAN checks).
    #[serde(default)]
    pub lan_changed: Vec<lan::LanChange>,
    /// Differences in how the two scans were run, which limit what could be compared.
    /// Not counted as changes.
    pub notes: Vec<String>,
}

fn side(path: &Path, r: &ScanReport) -> Side {
    Side {
        path: path.display().to_string(),
        started_at: r.started_at.clone(),
        finished_at: r.finished_at.clone(),
        complete: r.complete && !r.interrupted,
    }
}

fn is_up(h: Option<&Host>) -> bool {
    h.is_some_and(|h| h.status == HostStatus::Up)
}

fn open_list(h: &Host) -> Vec<String> {
    h.open_ports()
        .map(|p| match &p.service {
            Some(s) => format!("{}/{s}", p.port),
            None => p.port.to_string(),
        })
        .collect()
}

fn host_change(h: &Host, other: Option<&Host>) -> HostChange {
    HostChange {
        ip: h.ip,
        hostname: h.hostname.clone().or_else(|| h.target_name.clone()),
        mac: h.mac,
        vendor: h.vendor.clone(),
        open_ports: open_list(h),
        other_side: other
            .map_or("not scanned", |o| o.status.label())
            .to_string(),
    }
}

/// Every port a scan checked on `h`, whatever its state.
fn checked_ports(h: &Host) -> crate::core::model::PortSet {
    let mut all = crate::core::model::PortSet::new();
    for p in &h.ports {
        all.insert(p.port);
    }
    for set in [&h.closed_ports, &h.filtered_ports] {
        for &(a, b) in set.ranges() {
            all.insert_range(a, b);
        }
    }
    all
}

fn much_worse_latency(old: f64, new: f64) -> bool {
    new >= old * LATENCY_FACTOR && new - old >= LATENCY_MIN_MS
}

/// The median round trip and its sample count, when there are enough samples to trust it.
fn robust_rtt(h: &Host) -> Option<(f64, u32)> {
    match (h.rtt_median_ms, h.rtt_samples) {
        (Some(m), Some(n)) if n >= LATENCY_MIN_SAMPLES => Some((m, n)),
        _ => None,
    }
}

/// Compare two reports. Pure: the paths are only recorded.
pub fn compare(old: &ScanReport, new: &ScanReport, old_path: &Path, new_path: &Path) -> ReportDiff {
    let mut d = ReportDiff {
        diff_version: DIFF_VERSION,
        old: side(old_path, old),
        new: side(new_path, new),
        changes: 0,
        hosts_appeared: Vec::new(),
        hosts_disappeared: Vec::new(),
        ports_opened: Vec::new(),
        ports_closed: Vec::new(),
        mac_changed: Vec::new(),
        hostname_changed: Vec::new(),
        latency_worse: Vec::new(),
        loss_worse: Vec::new(),
        dns_changed: Vec::new(),
        service_changed: Vec::new(),
        cert_changed: Vec::new(),
        device_changed: Vec::new(),
        names_changed: Vec::new(),
        lan_changed: Vec::new(),
        notes: Vec::new(),
    };
    let coverage = identity::Coverage::of(old, new);
    let mut ids = identity::Changes::default();

    // Which addresses each MAC answers for in the new scan.
    let mut by_mac: BTreeMap<MacAddr, Vec<IpAddr>> = BTreeMap::new();
    for h in new.hosts_up() {
        if let Some(m) = h.mac {
            by_mac.entry(m).or_default().push(h.ip);
        }
    }

    let ips: BTreeSet<IpAddr> = old.hosts.keys().chain(new.hosts.keys()).copied().collect();
    let (mut only_old, mut only_new, mut ports_skipped) = (0, 0, false);
    let mut unprobed_new = 0;
    for ip in ips {
        let (o, n) = (old.hosts.get(&ip), new.hosts.get(&ip));
        match (o.is_some(), n.is_some()) {
            (true, false) => only_old += 1,
            (false, true) => only_new += 1,
            _ => {}
        }
        match (is_up(o), is_up(n)) {
            (false, true) => {
                if let Some(n) = n {
                    d.hosts_appeared.push(host_change(n, o));
                }
            }
            // An interrupted new scan that never got to a host says nothing about it.
            (true, false) if n.is_some_and(|n| n.status == HostStatus::NotProbed) => {
                unprobed_new += 1;
            }
            (true, false) => {
                if let Some(o) = o {
                    d.hosts_disappeared.push(host_change(o, n));
                }
            }
            (true, true) => {
                let (Some(o), Some(n)) = (o, n) else { continue };
                let name = n.hostname.clone().or_else(|| n.target_name.clone());
                // Only open ports can open or close: walk the open lists of both sides and
                // look each port up on the other side (closed and filtered ports are range
                // sets, so this stays cheap for a 65,535-port scan).
                let change = |p: &crate::core::model::Port, other: PortState| PortChange {
                    ip,
                    hostname: name.clone(),
                    port: p.port,
                    protocol: p.protocol.clone(),
                    service: p.service.clone(),
                    other_state: other,
                };
                for p in n.open_ports() {
                    match o.port_state(p.port) {
                        None => ports_skipped = true,
                        Some(PortState::Open) => {}
                        Some(before) => d.ports_opened.push(change(p, before)),
                    }
                }
                for p in o.open_ports() {
                    match n.port_state(p.port) {
                        None => ports_skipped = true,
                        Some(PortState::Open) => {}
                        Some(now) => d.ports_closed.push(change(p, now)),
                    }
                }
                if checked_ports(o) != checked_ports(n) {
                    ports_skipped = true;
                }
                if let (Some(a), Some(b)) = (o.mac, n.mac)
                    && a != b
                {
                    d.mac_changed.push(MacChange {
                        ip,
                        hostname: name.clone(),
                        old_mac: a,
                        old_vendor: o.vendor.clone(),
                        new_mac: b,
                        new_vendor: n.vendor.clone(),
                        new_mac_also_answers_for: by_mac
                            .get(&b)
                            .map(|v| v.iter().copied().filter(|x| *x != ip).collect())
                            .unwrap_or_default(),
                    });
                }
                if o.hostname != n.hostname {
                    d.hostname_changed.push(NameChange {
                        ip,
                        old: o.hostname.clone(),
                        new: n.hostname.clone(),
                    });
                }
                if let (Some((a, na)), Some((b, nb))) = (robust_rtt(o), robust_rtt(n))
                    && much_worse_latency(a, b)
                {
                    d.latency_worse.push(MetricChange {
                        ip,
                        hostname: name.clone(),
                        old: a,
                        new: b,
                        old_samples: Some(na),
                        new_samples: Some(nb),
                    });
                }
                if let (Some(a), Some(b)) = (o.loss_pct, n.loss_pct)
                    && b - a >= LOSS_POINTS
                {
                    d.loss_worse.push(MetricChange {
                        ip,
                        hostname: name.clone(),
                        old: a,
                        new: b,
                        old_samples: None,
                        new_samples: None,
                    });
                }
                identity::compare_host(o, n, &name, coverage, &mut ids);
            }
            (false, false) => {}
        }
    }

    let key = |name: &str, t: &str| {
        (
            name.trim_end_matches('.').to_ascii_lowercase(),
            t.to_string(),
        )
    };
    let old_dns: BTreeMap<_, _> = old
        .dns
        .iter()
        .map(|r| (key(&r.name, r.rtype.label()), r))
        .collect();
    for r in &new.dns {
        let Some(before) = old_dns.get(&key(&r.name, r.rtype.label())) else {
            continue;
        };
        let sorted = |r: &crate::core::model::DnsResult| {
            let mut v: Vec<String> = r.answers.iter().map(|a| a.value.clone()).collect();
            v.sort();
            v
        };
        let (a, b) = (sorted(before), sorted(r));
        if before.status != r.status || a != b {
            d.dns_changed.push(DnsChange {
                name: r.name.clone(),
                rtype: r.rtype.label().to_string(),
                old_status: before.status.label().to_string(),
                new_status: r.status.label().to_string(),
                old_answers: a,
                new_answers: b,
            });
        }
    }

    d.service_changed = ids.services;
    d.cert_changed = ids.certs;
    d.device_changed = ids.devices;
    d.names_changed = ids.names;

    // One scan identified services and the other did not (--no-identify, an older netdx).
    match (identity::identified(old), identity::identified(new)) {
        (true, false) => d.notes.push(
            "The new scan did not identify services: versions and certificates were not compared."
                .to_string(),
        ),
        (false, true) => d.notes.push(
            "The old scan did not identify services: versions and certificates were not compared."
                .to_string(),
        ),
        _ => {}
    }
    if only_old > 0 {
        d.notes.push(format!(
            "{only_old} addresses were scanned only in the old scan."
        ));
    }
    if only_new > 0 {
        d.notes.push(format!(
            "{only_new} addresses were scanned only in the new scan."
        ));
    }
    if unprobed_new > 0 {
        d.notes.push(format!(
            "{unprobed_new} hosts up in the old scan were not probed by the new one (interrupted): not compared."
        ));
    }
    if ports_skipped {
        d.notes.push(
            "The scans checked different ports; only ports checked by both are compared."
                .to_string(),
        );
    }
    for (s, label) in [(&d.old, "old"), (&d.new, "new")] {
        if !s.complete {
            d.notes.push(format!(
                "The {label} scan was interrupted: its results are incomplete."
            ));
        }
    }
    d.lan_changed = lan::compare(old.lan.as_ref(), new.lan.as_ref(), &mut d.notes);
    d.changes = d.hosts_appeared.len()
        + d.hosts_disappeared.len()
        + d.ports_opened.len()
        + d.ports_closed.len()
        + d.mac_changed.len()
        + d.hostname_changed.len()
        + d.latency_worse.len()
        + d.loss_worse.len()
        + d.dns_changed.len()
        + d.service_changed.len()
        + d.cert_changed.len()
        + d.device_changed.len()
        + d.names_changed.len()
        + d.lan_changed.len();
    d
}

fn who(ip: IpAddr, name: &Option<String>) -> String {
    match name {
        Some(n) => format!("{ip} ({})", text(n)),
        None => ip.to_string(),
    }
}

fn name_or_none(n: &Option<String>) -> String {
    n.as_deref()
        .map_or_else(|| "(none)".to_string(), |n| text(n).into_owned())
}

fn mac_vendor(m: MacAddr, v: &Option<String>) -> String {
    match v {
        Some(v) => format!("{m} ({})", text(v)),
        None => m.to_string(),
    }
}

fn answers(v: &[String]) -> String {
    if v.is_empty() {
        "-".to_string()
    } else {
        v.iter()
            .map(|a| text(a).into_owned())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn latency_title() -> String {
    format!(
        "Latency much worse (median of at least {LATENCY_MIN_SAMPLES} echoes, at least {LATENCY_FACTOR}x and {LATENCY_MIN_MS} ms more)"
    )
}

fn samples(n: Option<u32>) -> String {
    n.map_or_else(|| "-".to_string(), |n| n.to_string())
}

/// `median of 5 echoes 0.30 ms -> 12.00 ms`, or with both counts when they differ:
/// `median of 5 -> 3 echoes 0.30 ms -> 12.00 ms`.
fn latency_change(c: &MetricChange) -> String {
    let counts = if c.old_samples == c.new_samples {
        samples(c.old_samples)
    } else {
        format!("{} -> {}", samples(c.old_samples), samples(c.new_samples))
    };
    format!(
        "median of {counts} echoes {} -> {}",
        units::ms_text(Some(c.old)),
        units::ms_text(Some(c.new))
    )
}

/// One line per change, grouped, for a terminal: every string from the reports cleaned of
/// control characters.
pub fn render_text(d: &ReportDiff) -> String {
    let mut out = String::new();
    let when = |s: &Side| {
        s.started_at
            .as_deref()
            .map_or_else(String::new, |t| format!(" ({})", escape::human_time(t)))
    };
    let _ = writeln!(out, "old: {}{}", text(&d.old.path), when(&d.old));
    let _ = writeln!(out, "new: {}{}", text(&d.new.path), when(&d.new));
    let mut section = |title: &str, lines: Vec<String>| {
        if lines.is_empty() {
            return;
        }
        let _ = writeln!(out, "\n{title} ({})", lines.len());
        for l in lines {
            let _ = writeln!(out, "  {l}");
        }
    };
    let host_line = |sign: char, h: &HostChange, other: &str| {
        let mut l = format!("{sign} {}", who(h.ip, &h.hostname));
        if let Some(m) = h.mac {
            let _ = write!(l, "  {}", mac_vendor(m, &h.vendor));
        }
        if !h.open_ports.is_empty() {
            let ports: Vec<String> = h.open_ports.iter().map(|p| text(p).into_owned()).collect();
            let _ = write!(l, "  open: {}", ports.join(" "));
        }
        let _ = write!(l, "  ({other}: {})", h.other_side);
        l
    };
    section(
        "Hosts appeared",
        d.hosts_appeared
            .iter()
            .map(|h| host_line('+', h, "was"))
            .collect(),
    );
    section(
        "Hosts disappeared",
        d.hosts_disappeared
            .iter()
            .map(|h| host_line('-', h, "now"))
            .collect(),
    );
    let port_line = |sign: char, p: &PortChange, other: &str| {
        format!(
            "{sign} {}  {}/{}{}  ({other} {})",
            who(p.ip, &p.hostname),
            p.port,
            text(&p.protocol),
            p.service
                .as_deref()
                .map_or_else(String::new, |s| format!(" {}", text(s))),
            p.other_state.label()
        )
    };
    section(
        "Ports opened",
        d.ports_opened
            .iter()
            .map(|p| port_line('+', p, "was"))
            .collect(),
    );
    section(
        "Ports no longer open",
        d.ports_closed
            .iter()
            .map(|p| port_line('-', p, "now"))
            .collect(),
    );
    section(
        "MAC address changed: device swapped, or ARP spoofing?",
        d.mac_changed
            .iter()
            .map(|m| {
                let mut l = format!(
                    "! {}  {} -> {}",
                    who(m.ip, &m.hostname),
                    mac_vendor(m.old_mac, &m.old_vendor),
                    mac_vendor(m.new_mac, &m.new_vendor)
                );
                if !m.new_mac_also_answers_for.is_empty() {
                    let others: Vec<String> = m
                        .new_mac_also_answers_for
                        .iter()
                        .map(|i| i.to_string())
                        .collect();
                    let _ = write!(l, "  [this MAC also answers for {}]", others.join(", "));
                }
                l
            })
            .collect(),
    );
    section(
        "Host name changed",
        d.hostname_changed
            .iter()
            .map(|c| {
                format!(
                    "~ {}  {} -> {}",
                    c.ip,
                    name_or_none(&c.old),
                    name_or_none(&c.new)
                )
            })
            .collect(),
    );
    section(
        &latency_title(),
        d.latency_worse
            .iter()
            .map(|c| format!("~ {}  {}", who(c.ip, &c.hostname), latency_change(c)))
            .collect(),
    );
    section(
        &format!("Packet loss much worse (at least {LOSS_POINTS} points more)"),
        d.loss_worse
            .iter()
            .map(|c| {
                format!(
                    "~ {}  {} -> {}",
                    who(c.ip, &c.hostname),
                    units::pct(Some(c.old)),
                    units::pct(Some(c.new))
                )
            })
            .collect(),
    );
    for (title, lines) in identity::text_sections(
        &d.service_changed,
        &d.cert_changed,
        &d.device_changed,
        &d.names_changed,
    ) {
        section(&title, lines);
    }
    section(
        "DNS answers changed",
        d.dns_changed
            .iter()
            .map(|c| {
                format!(
                    "~ {} {}  {} {} -> {} {}",
                    text(&c.name),
                    c.rtype,
                    c.old_status,
                    answers(&c.old_answers),
                    c.new_status,
                    answers(&c.new_answers)
                )
            })
            .collect(),
    );
    section(
        "LAN changed",
        d.lan_changed
            .iter()
            .map(|c| text(&lan::line(c)).into_owned())
            .collect(),
    );
    section(
        "Notes",
        d.notes.iter().map(|n| format!("note: {n}")).collect(),
    );
    if d.changes == 0 {
        out.push_str("\nNo differences.\n");
    } else {
        let _ = writeln!(
            out,
            "\n{} {}.",
            d.changes,
            if d.changes == 1 { "change" } else { "changes" }
        );
    }
    out
}

fn md_opt(v: &Option<String>) -> String {
    v.as_deref().map_or_else(|| "-".to_string(), md)
}

fn md_table(out: &mut String, title: &str, header: &[&str], rows: Vec<Vec<String>>) {
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n## {title} ({})\n", rows.len());
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(out, "|{}|", vec!["---"; header.len()].join("|"));
    for r in rows {
        let _ = writeln!(out, "| {} |", r.join(" | "));
    }
}

/// Markdown for a ticket: a line per scan, then one table per kind of change.
pub fn render_markdown(d: &ReportDiff) -> String {
    let mut out = String::from("# netdx scan comparison\n\n");
    for (label, s) in [("Old", &d.old), ("New", &d.new)] {
        let _ = writeln!(
            out,
            "- **{label}**: {}{}",
            md(&s.path),
            s.started_at
                .as_deref()
                .map_or_else(String::new, |t| format!(", {}", md(&escape::human_time(t))))
        );
    }
    if d.changes == 0 {
        out.push_str("\n**No differences.**\n");
    } else {
        let _ = writeln!(
            out,
            "\n**{} {}.**",
            d.changes,
            if d.changes == 1 { "change" } else { "changes" }
        );
    }
    let mac = |m: &Option<MacAddr>| m.map_or_else(|| "-".to_string(), |m| m.to_string());
    let host_rows = |v: &[HostChange]| -> Vec<Vec<String>> {
        v.iter()
            .map(|h| {
                vec![
                    h.ip.to_string(),
                    md_opt(&h.hostname),
                    mac(&h.mac),
                    md_opt(&h.vendor),
                    if h.open_ports.is_empty() {
                        "-".to_string()
                    } else {
                        h.open_ports
                            .iter()
                            .map(|p| md(p))
                            .collect::<Vec<_>>()
                            .join(" ")
                    },
                    h.other_side.clone(),
                ]
            })
            .collect()
    };
    md_table(
        &mut out,
        "Hosts appeared",
        &["Host", "Name", "MAC", "Vendor", "Open ports", "Was"],
        host_rows(&d.hosts_appeared),
    );
    md_table(
        &mut out,
        "Hosts disappeared",
        &["Host", "Name", "MAC", "Vendor", "Open ports", "Now"],
        host_rows(&d.hosts_disappeared),
    );
    let port_rows = |v: &[PortChange]| -> Vec<Vec<String>> {
        v.iter()
            .map(|p| {
                vec![
                    p.ip.to_string(),
                    md_opt(&p.hostname),
                    format!("{}/{}", p.port, md(&p.protocol)),
                    md_opt(&p.service),
                    p.other_state.label().to_string(),
                ]
            })
            .collect()
    };
    md_table(
        &mut out,
        "Ports opened",
        &["Host", "Name", "Port", "Service", "Was"],
        port_rows(&d.ports_opened),
    );
    md_table(
        &mut out,
        "Ports no longer open",
        &["Host", "Name", "Port", "Service", "Now"],
        port_rows(&d.ports_closed),
    );
    md_table(
        &mut out,
        "MAC address changed: device swapped, or ARP spoofing?",
        &[
            "Host",
            "Name",
            "Old MAC",
            "New MAC",
            "New MAC also answers for",
        ],
        d.mac_changed
            .iter()
            .map(|m| {
                let vend = |v: &Option<String>| {
                    v.as_deref()
                        .map_or_else(String::new, |v| format!(" ({})", md(v)))
                };
                vec![
                    m.ip.to_string(),
                    md_opt(&m.hostname),
                    format!("{}{}", m.old_mac, vend(&m.old_vendor)),
                    format!("{}{}", m.new_mac, vend(&m.new_vendor)),
                    if m.new_mac_also_answers_for.is_empty() {
                        "-".to_string()
                    } else {
                        m.new_mac_also_answers_for
                            .iter()
                            .map(|i| format!("**{i}**"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    },
                ]
            })
            .collect(),
    );
    md_table(
        &mut out,
        "Host name changed",
        &["Host", "Old name", "New name"],
        d.hostname_changed
            .iter()
            .map(|c| vec![c.ip.to_string(), md_opt(&c.old), md_opt(&c.new)])
            .collect(),
    );
    let metric_rows = |v: &[MetricChange], f: fn(Option<f64>) -> String| -> Vec<Vec<String>> {
        v.iter()
            .map(|c| {
                vec![
                    c.ip.to_string(),
                    md_opt(&c.hostname),
                    f(Some(c.old)),
                    f(Some(c.new)),
                ]
            })
            .collect()
    };
    md_table(
        &mut out,
        &latency_title(),
        &[
            "Host",
            "Name",
            "Old median RTT",
            "New median RTT",
            "Echoes (old, new)",
        ],
        d.latency_worse
            .iter()
            .map(|c| {
                vec![
                    c.ip.to_string(),
                    md_opt(&c.hostname),
                    units::ms_text(Some(c.old)),
                    units::ms_text(Some(c.new)),
                    format!("{}, {}", samples(c.old_samples), samples(c.new_samples)),
                ]
            })
            .collect(),
    );
    md_table(
        &mut out,
        &format!("Packet loss much worse (at least {LOSS_POINTS} points more)"),
        &["Host", "Name", "Old loss", "New loss"],
        metric_rows(&d.loss_worse, units::pct),
    );
    for (title, header, rows) in identity::markdown_tables(
        &d.service_changed,
        &d.cert_changed,
        &d.device_changed,
        &d.names_changed,
    ) {
        md_table(&mut out, title, &header, rows);
    }
    md_table(
        &mut out,
        "DNS answers changed",
        &["Query", "Type", "Old", "New"],
        d.dns_changed
            .iter()
            .map(|c| {
                let a = |s: &str, v: &[String]| {
                    let v: Vec<String> = v.iter().map(|x| md(x)).collect();
                    if v.is_empty() {
                        s.to_string()
                    } else {
                        format!("{s}: {}", v.join(", "))
                    }
                };
                vec![
                    md(&c.name),
                    c.rtype.clone(),
                    a(&c.old_status, &c.old_answers),
                    a(&c.new_status, &c.new_answers),
                ]
            })
            .collect(),
    );
    md_table(
        &mut out,
        "LAN changed",
        &["Check", "Change", "Old", "New"],
        d.lan_changed
            .iter()
            .map(|c| {
                vec![
                    c.check.clone(),
                    c.change.clone(),
                    md_opt(&c.old),
                    md_opt(&c.new),
                ]
            })
            .collect(),
    );
    if !d.notes.is_empty() {
        out.push_str("\n## Notes\n\n");
        for n in &d.notes {
            let _ = writeln!(out, "- {}", md(n));
        }
    }
    out
}

/// Read a saved report, recounting its summary.
fn load(path: &Path) -> Result<ScanReport, output::json::ReadError> {
    let mut r = output::json::read(path)?;
    r.refresh_summary();
    Ok(r)
}

/// The two formats a diff can be written in with `-o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffFormat {
    Json,
    Markdown,
}

/// What `netdx diff` compares and where it writes, checked at the edge (`cmd::diff`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffConfig {
    pub old: PathBuf,
    pub new: PathBuf,
    /// `None`: print readable text on stdout.
    pub output: Option<(PathBuf, DiffFormat)>,
}

#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error(transparent)]
    Read(#[from] output::json::ReadError),
    #[error(transparent)]
    Encode(#[from] serde_json::Error),
    #[error(transparent)]
    Write(#[from] output::ReportError),
}

/// Load both reports, compare, print or write; returns the number of changes.
pub fn run(cfg: &DiffConfig) -> Result<usize, DiffError> {
    let old = load(&cfg.old)?;
    let new = load(&cfg.new)?;
    let d = compare(&old, &new, &cfg.old, &cfg.new);
    match &cfg.output {
        None => print!("{}", render_text(&d)),
        Some((path, format)) => {
            let bytes = match format {
                DiffFormat::Json => {
                    let mut s = crate::output::json::pretty(&d)?;
                    s.push('\n');
                    s.into_bytes()
                }
                DiffFormat::Markdown => render_markdown(&d).into_bytes(),
            };
            output::write_atomic(path, &bytes)?;
            eprintln!(
                "netdx: {} {} written to {}",
                d.changes,
                if d.changes == 1 { "change" } else { "changes" },
                path.display()
            );
        }
    }
    Ok(d.changes)
}
