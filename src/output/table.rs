//! The plain-text summary `netdx scan` prints on stdout: the live hosts as a table, the DNS
//! answers, the notes. Addresses without an answer are counted, not listed: in a /24 they are
//! most of the rows.

use crate::core::units;
use std::fmt::Write;

use crate::core::model::{DnsResult, Host, NoteLevel, PortState, ScanReport};

/// Render rows as left-aligned columns separated by two spaces (the last column unpadded).
fn columns(rows: &[Vec<String>]) -> String {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; n];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<w$}  ", w = widths[i]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "-".to_string())
}

/// Loss with how many echoes it is measured on: "0% of 1" is not "0% of 100".
fn loss_cell(h: &Host) -> String {
    if h.ping_blocked() {
        return "ping blocked".to_string();
    }
    match (h.loss_pct, h.icmp_sent) {
        (Some(l), Some(n)) => format!("{l:.0}% of {n}"),
        (Some(l), None) => format!("{l:.0}%"),
        (None, _) => "-".to_string(),
    }
}

fn host_row(report: &ScanReport, h: &Host) -> Vec<String> {
    let methods: Vec<&str> = h.methods.iter().map(|m| m.label()).collect();
    let open: Vec<String> = h.open_ports().map(|p| p.label()).collect();
    // The reverse lookup is folded in here: its name, or why there is none.
    let name = match (
        h.hostname.clone().or_else(|| h.target_name.clone()),
        super::reverse_failure(report, h.ip),
    ) {
        (Some(n), _) => n,
        // No DNS name: the name the device gives itself (mDNS, NetBIOS, UPnP, SNMP).
        (None, failure) => match (h.names.best_name(), failure) {
            (Some(n), _) => n.to_string(),
            (None, Some(status)) => format!("- (PTR {})", status.label()),
            (None, None) => "-".to_string(),
        },
    };
    vec![
        h.ip.to_string(),
        name,
        h.mac.map_or_else(|| "-".to_string(), |m| m.to_string()),
        opt(&h.vendor),
        h.device
            .as_ref()
            .map_or_else(|| "-".to_string(), |d| d.kind.clone()),
        units::ms_text(h.rtt_ms),
        loss_cell(h),
        methods.join(","),
        if open.is_empty() {
            "-".to_string()
        } else {
            open.join(" ")
        },
    ]
}

fn dns_row(d: &DnsResult) -> Vec<String> {
    let answers: Vec<String> = d.answers.iter().map(|a| a.value.clone()).collect();
    vec![
        d.name.clone(),
        d.rtype.label().to_string(),
        d.status.label().to_string(),
        units::ms_text(d.rtt_ms),
        opt(&d.server),
        if answers.is_empty() {
            "-".to_string()
        } else {
            answers.join(", ")
        },
    ]
}

/// The whole summary, ready for stdout.
/// The summary printed after a scan. Whatever the report holds (one read from disk was never
/// cleaned), no control or invisible formatting character other than the line breaks reaches
/// the terminal.
pub fn render(report: &ScanReport, elapsed_secs: Option<f64>) -> String {
    let out = render_raw(report, elapsed_secs);
    out.chars()
        .map(|c| {
            if c != '\n' && crate::core::sanitize::is_unsafe(c) {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

fn render_raw(report: &ScanReport, elapsed_secs: Option<f64>) -> String {
    let mut out = String::new();
    let s = &report.summary;
    let up: Vec<&Host> = report.hosts_up().collect();
    if !up.is_empty() {
        let mut rows = vec![
            [
                "HOST",
                "NAME",
                "MAC",
                "VENDOR",
                "TYPE",
                "RTT",
                "LOSS",
                "SEEN BY",
                "OPEN PORTS",
            ]
            .map(String::from)
            .to_vec(),
        ];
        rows.extend(up.iter().map(|h| host_row(report, h)));
        out.push_str(&columns(&rows));
    }
    // Why each device type: the evidence, so the guess can be judged.
    let types: Vec<String> = up
        .iter()
        .filter_map(|h| Some(format!("  {}  {}", h.ip, h.device.as_ref()?.explain())))
        .collect();
    if !types.is_empty() {
        out.push_str("\nDevice types\n");
        for l in types {
            let _ = writeln!(out, "{l}");
        }
    }
    let closed_or_filtered: Vec<String> = up
        .iter()
        .filter(|h| !h.closed_ports.is_empty() || !h.filtered_ports.is_empty())
        .map(|h| {
            let closed = h.port_count(PortState::Closed);
            let filtered = h.port_count(PortState::Filtered);
            // Few filtered ports are worth naming (a firewall rule on 3306); many are a count.
            let which = if (1..=8).contains(&h.filtered_ports.ranges().len()) {
                format!(" ({})", h.filtered_ports)
            } else {
                String::new()
            };
            format!("{}: {closed} closed, {filtered} filtered{which}", h.ip)
        })
        .collect();
    if !closed_or_filtered.is_empty() {
        out.push_str("\nOther ports\n");
        for l in closed_or_filtered {
            let _ = writeln!(out, "  {l}");
        }
    }
    let mut services = vec![["HOST", "PORT", "SERVICE"].map(String::from).to_vec()];
    for h in report.hosts.values() {
        for p in h.open_ports() {
            if let Some(id) = &p.identity {
                services.push(vec![h.ip.to_string(), p.label(), id.summary()]);
            }
        }
    }
    if services.len() > 1 {
        out.push('\n');
        out.push_str(&columns(&services));
        let problems: Vec<String> = report
            .hosts
            .values()
            .flat_map(|h| {
                h.open_ports().filter_map(move |p| {
                    let problem = p.identity.as_ref()?.tls.as_ref()?.problem()?;
                    Some(format!("{}:{}: {problem}", h.ip, p.port))
                })
            })
            .collect();
        for p in problems {
            let _ = writeln!(out, "warning: {p}");
        }
    }
    let groups = super::watch::same_device_groups(report);
    if !groups.is_empty() {
        out.push_str("\nOne device, several addresses\n");
        for (mac, vendor, ips) in groups {
            let ips: Vec<String> = ips.iter().map(|i| i.to_string()).collect();
            let vendor = vendor.map(|v| format!(" {v}")).unwrap_or_default();
            let _ = writeln!(out, "  {mac}{vendor}: {}", ips.join(" "));
        }
    }
    let mut names = vec![
        ["HOST", "PROTOCOL", "NAME", "DETAILS"]
            .map(String::from)
            .to_vec(),
    ];
    for h in report.hosts.values() {
        for (protocol, name, details) in h.names.rows() {
            names.push(vec![h.ip.to_string(), protocol.to_string(), name, details]);
        }
    }
    if names.len() > 1 {
        out.push('\n');
        out.push_str(&columns(&names));
    }
    let lookups: Vec<&DnsResult> = super::dns_table(report).collect();
    if !lookups.is_empty() {
        out.push('\n');
        let mut rows = vec![
            ["QUERY", "TYPE", "STATUS", "TIME", "SERVER", "ANSWERS"]
                .map(String::from)
                .to_vec(),
        ];
        rows.extend(lookups.into_iter().map(dns_row));
        out.push_str(&columns(&rows));
        // DNS sanity checks: one line per finding, under the answers.
        let findings: Vec<String> = report
            .dns
            .iter()
            .flat_map(|d| d.findings.iter().map(move |f| (d, f)))
            .map(|(d, f)| {
                format!(
                    "  {} {} {}: {}",
                    d.name,
                    d.rtype.label(),
                    f.kind.label(),
                    f.text
                )
            })
            .collect();
        if !findings.is_empty() {
            out.push_str("\nDNS checks\n");
            for l in findings {
                let _ = writeln!(out, "{l}");
            }
        }
    }
    if let Some(lan) = &report.lan {
        let _ = writeln!(out, "\n{}", super::watch::lan_heading(lan));
        for (kind, line) in lan.lines() {
            let mark = match kind {
                crate::core::lan::LineKind::Problem => "✖",
                crate::core::lan::LineKind::Fine => "✔",
                crate::core::lan::LineKind::NotRun => "?",
            };
            let _ = writeln!(out, "  {mark} {line}");
        }
    }
    // The alerts are printed by the scan command after this table ("Changes since last seen",
    // with the inventory's first run said in one line rather than one alert per device).
    for n in &report.notes {
        let tag = match n.level {
            NoteLevel::Info => "note",
            NoteLevel::Warn => "warning",
            NoteLevel::Error => "error",
        };
        let _ = writeln!(out, "{tag}: {}", n.text);
    }
    let _ = write!(
        out,
        "\n{}; {} open, {} closed, {} filtered ports",
        super::host_counts(s),
        s.open_ports,
        s.closed_ports,
        s.filtered_ports
    );
    if let Some(t) = elapsed_secs {
        let _ = write!(out, "; {t:.2} s");
    }
    if report.interrupted {
        out.push_str(" (INTERRUPTED: results are incomplete)");
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_says_how_many_echoes_it_stands_on() {
        let mut h = Host::new("10.0.0.1".parse().unwrap());
        assert_eq!(loss_cell(&h), "-");
        h.loss_pct = Some(0.0);
        h.icmp_sent = Some(1);
        assert_eq!(loss_cell(&h), "0% of 1");
        h.loss_pct = Some(33.3);
        h.icmp_sent = Some(3);
        assert_eq!(loss_cell(&h), "33% of 3");
        // Found by ARP, every echo dropped: a firewall, not a lossy network.
        h.status = crate::core::model::HostStatus::Up;
        h.methods = vec![crate::core::model::Method::Arp];
        h.icmp_received = Some(0);
        assert_eq!(loss_cell(&h), "ping blocked");
    }

    #[test]
    fn names_section_lists_each_protocol_that_answered() {
        use crate::core::event::ScanEvent;
        use crate::core::model::ScanParameters;
        use crate::core::names::{HostNames, MdnsInfo, MdnsService, UpnpInfo};
        let ip: std::net::IpAddr = "10.77.0.70".parse().unwrap();
        let mut r = ScanReport::new(ScanParameters::default());
        let mut txt = std::collections::BTreeMap::new();
        txt.insert("ty".to_string(), "HP Color LaserJet".to_string());
        r.apply(ScanEvent::Names {
            ip,
            names: Box::new(HostNames {
                mdns: Some(MdnsInfo {
                    hostname: Some("printer.local".into()),
                    services: vec![MdnsService {
                        service_type: "_ipp._tcp".into(),
                        port: Some(631),
                        txt,
                        ..Default::default()
                    }],
                }),
                upnp: Some(UpnpInfo {
                    friendly_name: Some("Printer".into()),
                    manufacturer: Some("HP".into()),
                    model_name: Some("M480f".into()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        });
        let out = render(&r, None);
        assert!(
            out.contains(
                "HOST        PROTOCOL  NAME           DETAILS\n\
                 10.77.0.70  mdns      printer.local  _ipp._tcp:631 \"HP Color LaserJet\"\n\
                 10.77.0.70  ssdp      Printer        HP M480f\n"
            ),
            "{out}"
        );
    }
}
