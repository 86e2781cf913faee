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
//! ## Hosts             live hosts; down hosts listed on one line
//! ## Ports             open / closed / filtered per host, as ranges
//! ## DNS               one row per lookup
//! ## Notes
//! ```

use std::fmt::Write;

use crate::core::model::{Host, HostStatus, NoteLevel, PortState, ScanReport};

use super::escape::{self, markdown as md};
use super::verdict;

/// Down hosts are listed by address up to this many; beyond it (a sparse /16) only counted.
const MAX_DOWN_LISTED: usize = 64;

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

fn ports_in(h: &Host, state: PortState) -> String {
    let r = escape::port_ranges(h.ports.iter().filter(|p| p.state == state).map(|p| p.port));
    if r.is_empty() { "-".to_string() } else { r }
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
    if let Some(s) =
        escape::elapsed_secs(report.started_at.as_deref(), report.finished_at.as_deref())
    {
        scan.push(vec!["Duration".to_string(), escape::duration(s)]);
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
    table(
        &mut out,
        &[
            "Hosts",
            "Up",
            "Down",
            "Open ports",
            "Closed",
            "Filtered",
            "DNS lookups",
            "DNS failures",
        ],
        "rrrrrrrr",
        &[[
            c.hosts_total,
            c.hosts_up,
            c.hosts_down,
            c.open_ports,
            c.closed_ports,
            c.filtered_ports,
            c.dns_queries,
            c.dns_failures,
        ]
        .map(|n| n.to_string())
        .to_vec()],
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
                    opt(&h.hostname.clone().or_else(|| h.target_name.clone())),
                    h.mac.map_or_else(|| "-".to_string(), |m| m.to_string()),
                    opt(&h.vendor),
                    escape::ms(h.rtt_ms),
                    escape::pct(h.loss_pct),
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
                "RTT",
                "Loss",
                "Seen by",
                "Open ports",
            ],
            "lllllrll",
            &rows,
        );
    }
    let down: Vec<String> = report
        .hosts
        .values()
        .filter(|h| h.status == HostStatus::Down)
        .map(|h| h.ip.to_string())
        .collect();
    if !down.is_empty() {
        if down.len() <= MAX_DOWN_LISTED {
            let _ = writeln!(
                out,
                "\nDown or not answering ({}): {}",
                down.len(),
                down.join(", ")
            );
        } else {
            let _ = writeln!(out, "\nDown or not answering: {} hosts.", down.len());
        }
    }

    let with_ports: Vec<&&Host> = up.iter().filter(|h| !h.ports.is_empty()).collect();
    if !with_ports.is_empty() {
        out.push_str("\n## Ports\n\n");
        let rows: Vec<Vec<String>> = with_ports
            .iter()
            .map(|h| {
                vec![
                    h.ip.to_string(),
                    ports_in(h, PortState::Open),
                    ports_in(h, PortState::Closed),
                    ports_in(h, PortState::Filtered),
                ]
            })
            .collect();
        table(
            &mut out,
            &["Host", "Open", "Closed", "Filtered"],
            "llll",
            &rows,
        );
    }

    if !report.dns.is_empty() {
        out.push_str("\n## DNS\n\n");
        let rows: Vec<Vec<String>> = report
            .dns
            .iter()
            .map(|d| {
                let answers: Vec<String> = d.answers.iter().map(|a| md(&a.value)).collect();
                vec![
                    md(&d.name),
                    d.rtype.label().to_string(),
                    d.status.label().to_string(),
                    escape::ms(d.rtt_ms),
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
