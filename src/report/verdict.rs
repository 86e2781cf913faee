//! The one-line verdict at the top of a Markdown or HTML report: what a manager reads first.
//! It only states facts the scan measured (interrupted, nothing answered, failed lookups,
//! packet loss, errors), never a guess about security.

use crate::model::{DnsStatus, HostStatus, NoteLevel, ScanReport};

use super::escape;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// The scan completed and nothing needs a look.
    Ok,
    /// The scan completed with findings worth a look.
    Attention,
    /// The scan was interrupted: the report is partial.
    Incomplete,
}

impl Level {
    pub fn label(self) -> &'static str {
        match self {
            Level::Ok => "OK",
            Level::Attention => "Attention",
            Level::Incomplete => "Incomplete",
        }
    }

    /// CSS class / machine name.
    pub fn class(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Attention => "attention",
            Level::Incomplete => "incomplete",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub level: Level,
    /// `14 of 20 hosts up, 31 open ports, 2 DNS lookups`.
    pub headline: String,
    /// One line per thing to look at, unescaped (escape for the output format).
    pub findings: Vec<String>,
}

/// Counts recomputed from the hosts and DNS results themselves: a report read from disk may
/// carry a summary that does not match its contents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub hosts: usize,
    pub up: usize,
    pub down: usize,
    pub open: usize,
    pub closed: usize,
    pub filtered: usize,
    pub dns: usize,
    pub dns_failed: usize,
}

pub fn counts(report: &ScanReport) -> Counts {
    let mut c = Counts {
        hosts: report.hosts.len(),
        dns: report.dns.len(),
        dns_failed: report
            .dns
            .iter()
            .filter(|d| d.status != DnsStatus::NoError)
            .count(),
        ..Counts::default()
    };
    for h in report.hosts.values() {
        match h.status {
            HostStatus::Up => c.up += 1,
            HostStatus::Down => c.down += 1,
        }
        for p in &h.ports {
            match p.state {
                crate::model::PortState::Open => c.open += 1,
                crate::model::PortState::Closed => c.closed += 1,
                crate::model::PortState::Filtered => c.filtered += 1,
            }
        }
    }
    c
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub fn verdict(report: &ScanReport) -> Verdict {
    let c = counts(report);
    let mut headline = format!("{} of {} up", c.up, plural(c.hosts, "host", "hosts"));
    if c.open + c.closed + c.filtered > 0 {
        headline.push_str(&format!(", {}", plural(c.open, "open port", "open ports")));
    }
    if c.dns > 0 {
        headline.push_str(&format!(", {}", plural(c.dns, "DNS lookup", "DNS lookups")));
    }

    let mut findings = Vec::new();
    if report.interrupted || !report.complete {
        findings.push("The scan was interrupted: results are incomplete.".to_string());
    }
    if c.hosts > 0 && c.up == 0 {
        findings.push("No host answered.".to_string());
    }
    for d in report.dns.iter().filter(|d| d.status != DnsStatus::NoError) {
        findings.push(format!(
            "DNS {} {} failed: {}.",
            escape::text(&d.name),
            d.rtype,
            d.status.label()
        ));
    }
    for h in report.hosts_up() {
        // 100 % loss on a host seen by ARP or TCP means it drops ICMP, not that it is sick.
        if let Some(loss) = h.loss_pct.filter(|l| *l > 0.0 && *l < 100.0) {
            findings.push(format!(
                "{} loses {} of ICMP echoes.",
                h.ip,
                escape::pct(Some(loss))
            ));
        }
    }
    for n in report.notes.iter().filter(|n| n.level != NoteLevel::Info) {
        findings.push(escape::text(&n.text).into_owned());
    }
    let level = if report.interrupted || !report.complete {
        Level::Incomplete
    } else if findings.is_empty() {
        Level::Ok
    } else {
        Level::Attention
    };
    Verdict {
        level,
        headline,
        findings,
    }
}
