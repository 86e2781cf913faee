//! The one-line verdict at the top of a Markdown or HTML report: what a manager reads first.
//! It only states facts the scan measured (interrupted, nothing answered, failed lookups,
//! packet loss, errors), never a guess about security.

use crate::core::model::{DnsStatus, NoteLevel, ScanReport, Summary};
use crate::core::units;

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

/// Counts recomputed from the hosts and DNS results themselves (see
/// [`ScanReport::compute_summary`]).
pub fn counts(report: &ScanReport) -> Summary {
    report.compute_summary()
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub fn verdict(report: &ScanReport) -> Verdict {
    let c = counts(report);
    let mut headline = format!(
        "{} of {} up",
        c.hosts_up,
        plural(c.hosts_total, "host", "hosts")
    );
    if c.open_ports + c.closed_ports + c.filtered_ports > 0 {
        headline.push_str(&format!(
            ", {}",
            plural(c.open_ports, "open port", "open ports")
        ));
    }
    if c.dns_queries > 0 {
        headline.push_str(&format!(
            ", {}",
            plural(c.dns_queries, "DNS lookup", "DNS lookups")
        ));
    }

    let mut findings = Vec::new();
    if report.interrupted || !report.complete {
        findings.push("The scan was interrupted: results are incomplete.".to_string());
    }
    if c.hosts_not_probed > 0 {
        findings.push(format!(
            "{} not probed before the scan stopped.",
            plural(c.hosts_not_probed, "address was", "addresses were")
        ));
    }
    if c.hosts_total > 0 && c.hosts_up == 0 {
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
        // A host seen by ARP or TCP that answers no echo drops ICMP ("ping blocked", no loss
        // figure): that is not a sick network.
        if let Some(loss) = h.loss_pct.filter(|l| *l > 0.0 && *l < 100.0) {
            findings.push(format!(
                "{} loses {} of ICMP echoes.",
                h.ip,
                units::pct(Some(loss))
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
