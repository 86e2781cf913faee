//! Markdown, ready to paste into a ticket: the verdict, what was scanned, the counts, then
//! tables of live hosts, ports and DNS answers. Every string from the report goes through
//! [`escape::markdown`]: control characters replaced, pipes and other syntax escaped.
//!
//! ```text
//! # netdx scan report
//! **Attention**: 7 of 9 hosts up, 12 open ports, 4 DNS lookups
//! - finding ...
//! | Scan | |            what, when, how long, with which tool
//! ## Summary           one row of counts
//! ## Hosts             live hosts (with their reverse-DNS name or its failure);
//!                      addresses without an answer listed on one line
//! ## Ports             open ports, closed as a count, filtered as ranges (or a count)
//! ## DNS               one row per lookup, except the hosts' reverse lookups
//! ## Notes
//! ```

use crate::core::units;
use std::fmt::Write;

use crate::core::model::{Host, HostStatus, NoteLevel, PortState, ScanReport};

use super::{dns_table, filtered_words, reverse_failure};

use super::escape::{self, markdown as md};
use super::verdict;

/// Silent addresses are listed up to this many; beyond it (a sparse /16) only counted.
const MAX_SILENT_LISTED: usize = 64;

fn row(out: &mut String, cells: &[String]) {
    let _ = writeln!(out, "| {} |", cells.join(" | "));
}

fn table(out: &mut String, header: &[&str], align: &str, rows: &[Vec<String>]) {
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let seps: Vec<&str> = align
        .chars()
        .map(|a| if a == 'r' { "---:" } else { "---" })
        .collect();
    let _ = writeln!(out, "|{}|", seps.join("|"));
    for r in rows {
        row(out, r);
    }
}

fn opt(v: &Option<String>) -> String {
    v.as_deref().map_or_else(|| "-".to_string(), md)
}

fn open_ports(h: &Host) -> String {
    let open: Vec<String> = h.open_ports().map(|p| md(&p.label())).collect();
    if open.is_empty() {
        "-".to_string()
    } else {
        open.join(" ")
    }
}

/// The host's name, or why there is none when the reverse lookup failed.
fn name_cell(report: &ScanReport, h: &Host) -> String {
    match (
        h.hostname.as_ref().or(h.target_name.as_ref()),
        reverse_failure(report, h.ip),
    ) {
        (Some(n), _) => md(n),
        // No DNS name: the name the device gives itself (mDNS, NetBIOS, UPnP, SNMP).
        (None, failure) => match (h.names.best_name(), failure) {
            (Some(n), _) => md(n),
            (None, Some(status)) => format!("- (PTR {})", status.label()),
            (None, None) => "-".to_string(),
        },
    }
}

fn loss_cell(h: &Host) -> String {
    if h.ping_blocked() {
        "ping blocked".to_string()
    } else {
        units::pct(h.loss_pct)
    }
}

pub fn render(report: &ScanReport) -> String {
    let mut out = String::new();
    let v = verdict::verdict(report);
    let c = verdict::counts(report);
    let p = &report.parameters;

    out.push_str("# netdx scan report\n\n");
    let _ = writeln!(out, "**{}**: {}\n", v.level.label(), md(&v.headline));
    if !v.findings.is_empty() {
        for f in &v.findings {
            let _ = writeln!(out, "- {}", md(f));
        }
        out.push('\n');
    }

    let list = |items: &[String]| -> String {
        if items.is_empty() {
            "-".to_string()
        } else {
            items.iter().map(|s| md(s)).collect::<Vec<_>>().join(", ")
        }
    };
    let time = |t: &Option<String>| {
        t.as_deref()
            .map_or_else(|| "-".to_string(), |t| md(&escape::human_time(t)))
    };
    let mut scan = vec![
        vec!["Targets".to_string(), list(&p.targets)],
        vec!["Excluded".to_string(), list(&p.exclude)],
        vec!["Ports".to_string(), opt(&p.ports)],
        vec!["DNS queries".to_string(), list(&p.dns_queries)],
        vec!["Started".to_string(), time(&report.started_at)],
        vec!["Finished".to_string(), time(&report.finished_at)],
    ];
    if let Some(s) = crate::core::clock::elapsed_secs(
        report.started_at.as_deref(),
        report.finished_at.as_deref(),
    ) {
        scan.push(vec!["Duration".to_string(), units::duration(s)]);
    }
    scan.push(vec![
        "Complete".to_string(),
        if report.complete && !report.interrupted {
            "yes".to_string()
        } else {
            "**no** (interrupted)".to_string()
        },
    ]);
    scan.push(vec!["Tool".to_string(), md(&report.tool)]);
    table(&mut out, &["Scan", ""], "ll", &scan);

    out.push_str("\n## Summary\n\n");
    // "Down" (was up, stopped answering) and "Not probed" only when there are some: a scan
    // report has no host that went down, a complete scan no address left unprobed.
    let mut summary: Vec<(&str, usize)> = vec![("Hosts", c.hosts_total), ("Up", c.hosts_up)];
    if c.hosts_down > 0 {
        summary.push(("Down", c.hosts_down));
    }
    summary.push(("No answer", c.hosts_no_answer));
    if c.hosts_not_probed > 0 {
        summary.push(("Not probed", c.hosts_not_probed));
    }
    summary.extend([
        ("Open ports", c.open_ports),
        ("Closed", c.closed_ports),
        ("Filtered", c.filtered_ports),
        ("DNS lookups", c.dns_queries),
        ("DNS failures", c.dns_failures),
    ]);
    let header: Vec<&str> = summary.iter().map(|(h, _)| *h).collect();
    table(
        &mut out,
        &header,
        &"r".repeat(summary.len()),
        &[summary.iter().map(|(_, n)| n.to_string()).collect()],
    );

    let up: Vec<&Host> = report.hosts_up().collect();
    out.push_str("\n## Hosts\n\n");
    if up.is_empty() {
        out.push_str("No host answered.\n");
    } else {
        let rows: Vec<Vec<String>> = up
            .iter()
            .map(|h| {
                vec![
                    h.ip.to_string(),
                    name_cell(report, h),
                    h.mac.map_or_else(|| "-".to_string(), |m| m.to_string()),
                    opt(&h.vendor),
                    h.device
                        .as_ref()
                        .map_or_else(|| "-".to_string(), |d| md(&d.kind)),
                    units::ms_text(h.rtt_ms),
                    loss_cell(h),
                    h.methods
                        .iter()
                        .map(|m| m.label())
                        .collect::<Vec<_>>()
                        .join(", "),
                    open_ports(h),
                ]
            })
            .collect();
        table(
            &mut out,
            &[
                "Host",
                "Name",
                "MAC",
                "Vendor",
                "Type",
                "RTT",
                "Loss",
                "Seen by",
                "Open ports",
            ],
            "llllllrll",
            &rows,
        );
    }
    for (status, what) in [
        (HostStatus::Down, "Down (stopped answering)"),
        (HostStatus::NoAnswer, "No answer"),
        (
            HostStatus::NotProbed,
            "Not probed (the scan was interrupted first)",
        ),
    ] {
        let ips: Vec<String> = report
            .hosts
            .values()
            .filter(|h| h.status == status)
            .map(|h| h.ip.to_string())
            .collect();
        match ips.len() {
            0 => {}
            n if n <= MAX_SILENT_LISTED => {
                let _ = writeln!(out, "\n{what} ({n}): {}", ips.join(", "));
            }
            n => {
                let _ = writeln!(out, "\n{what}: {n} addresses.");
            }
        }
    }

    let with_ports: Vec<&&Host> = up.iter().filter(|h| h.ports_checked()).collect();
    if !with_ports.is_empty() {
        out.push_str("\n## Ports\n\n");
        let rows: Vec<Vec<String>> = with_ports
            .iter()
            .map(|h| {
                vec![
                    h.ip.to_string(),
                    open_ports(h),
                    h.port_count(PortState::Closed).to_string(),
                    filtered_words(&h.filtered_ports),
                ]
            })
            .collect();
        table(
            &mut out,
            &["Host", "Open", "Closed", "Filtered"],
            "llrl",
            &rows,
        );
    }

    // What the open ports said about themselves, and warnings about certificates.
    let services: Vec<Vec<String>> = up
        .iter()
        .flat_map(|h| {
            h.open_ports().filter_map(move |p| {
                let id = p.identity.as_ref()?;
                let problem = id.tls.as_ref().and_then(|t| t.problem());
                Some(vec![
                    h.ip.to_string(),
                    md(&p.label()),
                    md(&id.summary()),
                    problem.map_or_else(|| "-".to_string(), |p| format!("**{}**", md(&p))),
                ])
            })
        })
        .collect();
    if !services.is_empty() {
        out.push_str("\n## Services\n\n");
        table(
            &mut out,
            &["Host", "Port", "Service", "Problem"],
            "llll",
            &services,
        );
    }
    let devices: Vec<Vec<String>> = up
        .iter()
        .filter_map(|h| {
            let d = h.device.as_ref()?;
            Some(vec![
                h.ip.to_string(),
                md(&d.kind),
                d.confidence.clone(),
                md(&d.evidence.join(" + ")),
            ])
        })
        .collect();
    if !devices.is_empty() {
        out.push_str("\n## Device types\n\n");
        table(
            &mut out,
            &["Host", "Type", "Confidence", "Evidence"],
            "llll",
            &devices,
        );
    }
    let names: Vec<Vec<String>> = up
        .iter()
        .flat_map(|h| {
            h.names
                .rows()
                .into_iter()
                .map(move |(proto, name, details)| {
                    vec![h.ip.to_string(), proto.to_string(), md(&name), md(&details)]
                })
        })
        .collect();
    let groups = super::watch::same_device_groups(report);
    if !groups.is_empty() {
        out.push_str("\n## One device, several addresses\n\n");
        let rows: Vec<Vec<String>> = groups
            .iter()
            .map(|(mac, vendor, ips)| {
                let ips: Vec<String> = ips.iter().map(|i| i.to_string()).collect();
                vec![mac.to_string(), opt(vendor), ips.join(", ")]
            })
            .collect();
        table(&mut out, &["MAC", "Vendor", "Addresses"], "lll", &rows);
    }
    if !names.is_empty() {
        out.push_str("\n## Names on the LAN\n\n");
        table(
            &mut out,
            &["Host", "Protocol", "Name", "Details"],
            "llll",
            &names,
        );
    }

    let lookups: Vec<_> = dns_table(report).collect();
    if !lookups.is_empty() {
        out.push_str("\n## DNS\n\n");
        let rows: Vec<Vec<String>> = lookups
            .iter()
            .map(|d| {
                let answers: Vec<String> = d.answers.iter().map(|a| md(&a.value)).collect();
                vec![
                    md(&d.name),
                    d.rtype.label().to_string(),
                    d.status.label().to_string(),
                    units::ms_text(d.rtt_ms),
                    opt(&d.server),
                    if answers.is_empty() {
                        d.error.as_deref().map_or_else(|| "-".to_string(), md)
                    } else {
                        answers.join(", ")
                    },
                ]
            })
            .collect();
        table(
            &mut out,
            &["Query", "Type", "Status", "Time", "Server", "Answers"],
            "lllrll",
            &rows,
        );
    }

    let alerts = super::watch::alerts_sorted(report);
    if !alerts.is_empty() {
        out.push_str("\n## Changes since last seen\n\n");
        let rows: Vec<Vec<String>> = alerts
            .iter()
            .map(|a| {
                vec![
                    super::watch::level_word(a.level).to_string(),
                    a.kind.as_str().to_string(),
                    a.ip.map_or_else(|| "-".to_string(), |ip| ip.to_string()),
                    md(&a.text),
                ]
            })
            .collect();
        table(
            &mut out,
            &["Level", "Kind", "Address", "What"],
            "llll",
            &rows,
        );
    }

    if let Some(lan) = &report.lan {
        let _ = writeln!(out, "\n## {}\n", md(&super::watch::lan_heading(lan)));
        for (kind, line) in lan.lines() {
            let _ = writeln!(
                out,
                "- **{}**: {}",
                super::watch::line_word(kind),
                md(line.trim_start())
            );
        }
    }

    if !report.notes.is_empty() {
        out.push_str("\n## Notes\n\n");
        for n in &report.notes {
            let tag = match n.level {
                NoteLevel::Info => "note",
                NoteLevel::Warn => "warning",
                NoteLevel::Error => "error",
            };
            let _ = writeln!(out, "- {tag}: {}", md(&n.text));
        }
    }
    out
}
