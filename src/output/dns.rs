//! What `netdx dns` prints: a table (one line per answer record, a status line for a
//! query without answers), `+short` (answer values only) or one JSON document.
//!
//! ```text
//! NAME           TYPE   TTL  ANSWER           SERVER          VIA  LATENCY
//! www.lab.test   CNAME  60   web.lab.test.    10.77.0.53:53   udp  0.4 ms
//! www.lab.test   A      60   10.77.0.20       10.77.0.53:53   udp  0.4 ms
//! nope.lab.test  A      -    NXDOMAIN         10.77.0.53:853  tls  3.1 ms
//! ```
//!
//! VIA (and `transport` in JSON) is the transport of each answer: udp, tcp, tls (DoT) or
//! https (DoH); `+short` failure lines name it as a scheme (`tls://10.77.0.53:853`).
//!
//! The JSON schema (version 1) is stable: every field is always present (`null` when not
//! known), so scripts can rely on it:
//! `{"version": 1, "lookups": [Lookup...], "summary": {"queries", "answered", "failed",
//! "elapsed_ms"}}`, a [`Lookup`] being `{"name", "type", "server", "transport", "status",
//! "rcode", "ttl", "latency_ms", "answers": [{"type", "value", "ttl"}], "error"}`.

use serde::{Deserialize, Serialize};

use crate::core::model::{DnsAnswer, DnsStatus, RecordType};
use crate::core::sanitize::clean;
use crate::net::dns::{Asked, Transport};

/// Version of the JSON document; raised on any incompatible change.
pub const DNS_JSON_VERSION: u32 = 1;

/// One query to one server and what came back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lookup {
    /// The name asked, ASCII without the trailing dot (`-x` gives the `in-addr.arpa` name).
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: RecordType,
    /// The server asked (`ip:port`); with the system's resolvers, the one whose outcome this
    /// is.
    pub server: Option<String>,
    /// udp, tcp, tls (DoT) or https (DoH).
    pub transport: Transport,
    /// NOERROR, NXDOMAIN, SERVFAIL, REFUSED, TIMEOUT or ERROR.
    pub status: DnsStatus,
    /// The response code as the server sent it (`NOTIMP`...); null when none came.
    pub rcode: Option<String>,
    /// The smallest TTL of the answers: how long the whole answer may be cached.
    pub ttl: Option<u32>,
    /// Time from sending the query to its answer.
    pub latency_ms: Option<f64>,
    pub answers: Vec<DnsAnswer>,
    /// Why the query failed, or which servers failed before this one answered.
    pub error: Option<String>,
}

impl Lookup {
    pub fn new(asked: Asked, transport: Transport) -> Lookup {
        let r = asked.result;
        Lookup {
            ttl: r.answers.iter().map(|a| a.ttl).min(),
            name: r.name,
            rtype: r.rtype,
            server: r.server,
            transport,
            status: r.status,
            rcode: asked.rcode,
            latency_ms: r.rtt_ms,
            answers: r.answers,
            error: r.error,
        }
    }

    /// The server answered NOERROR (with or without records).
    pub fn answered(&self) -> bool {
        self.status == DnsStatus::NoError
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub queries: usize,
    /// Queries answered NOERROR.
    pub answered: usize,
    pub failed: usize,
    /// Wall time of all the queries together.
    pub elapsed_ms: f64,
}

/// The `--json` document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DnsReport {
    pub version: u32,
    pub lookups: Vec<Lookup>,
    pub summary: Summary,
}

impl DnsReport {
    pub fn new(lookups: Vec<Lookup>, elapsed_ms: f64) -> DnsReport {
        let answered = lookups.iter().filter(|l| l.answered()).count();
        DnsReport {
            version: DNS_JSON_VERSION,
            summary: Summary {
                queries: lookups.len(),
                answered,
                failed: lookups.len() - answered,
                elapsed_ms,
            },
            lookups,
        }
    }
}

/// `latency_ms` as the table shows it.
fn latency(l: &Lookup) -> String {
    l.latency_ms
        .map_or_else(|| "-".to_string(), |ms| format!("{ms:.1} ms"))
}

/// What the ANSWER column says for a query without answer records.
fn status_line(l: &Lookup) -> String {
    match l.status {
        DnsStatus::NoError => format!("NOERROR (no {} record)", l.rtype),
        DnsStatus::Error => match (&l.rcode, &l.error) {
            (Some(rcode), _) => rcode.clone(),
            (None, Some(e)) => format!("ERROR: {e}"),
            (None, None) => "ERROR".to_string(),
        },
        other => other.label().to_string(),
    }
}

/// The table, every string cleaned of terminal control characters.
pub fn table(lookups: &[Lookup]) -> String {
    let mut rows: Vec<[String; 7]> = vec![[
        "NAME".into(),
        "TYPE".into(),
        "TTL".into(),
        "ANSWER".into(),
        "SERVER".into(),
        "VIA".into(),
        "LATENCY".into(),
    ]];
    for l in lookups {
        let server = clean(l.server.as_deref().unwrap_or("-"));
        let via = l.transport.label().to_string();
        if l.answers.is_empty() {
            rows.push([
                clean(&l.name),
                l.rtype.to_string(),
                "-".into(),
                clean(&status_line(l)),
                server.clone(),
                via.clone(),
                latency(l),
            ]);
        }
        for a in &l.answers {
            rows.push([
                clean(&l.name),
                clean(&a.rtype),
                a.ttl.to_string(),
                clean(&a.value),
                server.clone(),
                via.clone(),
                latency(l),
            ]);
        }
    }
    let mut widths = [0usize; 7];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `+short`: the answer values, one a line, in order (stdout), and one line per failed
/// query (stderr), so a script reading stdout gets only data.
pub fn short(lookups: &[Lookup]) -> (String, String) {
    let mut out = String::new();
    let mut err = String::new();
    for l in lookups {
        for a in &l.answers {
            out.push_str(&clean(&a.value));
            out.push('\n');
        }
        if !l.answered() {
            let server = match (l.server.as_deref(), l.transport) {
                (None, _) => "no server".to_string(),
                (Some(s), Transport::Udp) => s.to_string(),
                (Some(s), t) => format!("{}://{s}", t.label()),
            };
            err.push_str(&format!(
                "netdx: {} {}: {} ({})\n",
                clean(&l.name),
                l.rtype,
                clean(&status_line(l)),
                clean(&server),
            ));
        }
    }
    (out, err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::DnsResult;

    fn lookup(name: &str, status: DnsStatus, answers: &[(&str, &str, u32)]) -> Lookup {
        lookup_via(name, status, answers, Transport::Udp)
    }

    fn lookup_via(
        name: &str,
        status: DnsStatus,
        answers: &[(&str, &str, u32)],
        transport: Transport,
    ) -> Lookup {
        Lookup::new(
            Asked {
                result: DnsResult {
                    name: name.into(),
                    rtype: RecordType::A,
                    status,
                    answers: answers
                        .iter()
                        .map(|(t, v, ttl)| DnsAnswer {
                            rtype: t.to_string(),
                            value: v.to_string(),
                            ttl: *ttl,
                        })
                        .collect(),
                    server: Some("10.77.0.53:53".into()),
                    rtt_ms: Some(0.42),
                    error: None,
                    findings: Vec::new(),
                },
                rcode: Some(status.label().into()),
            },
            transport,
        )
    }

    #[test]
    fn transport_per_answer() {
        let ls = [
            lookup_via(
                "web.lab.test",
                DnsStatus::NoError,
                &[("A", "10.77.0.20", 60)],
                Transport::Tls,
            ),
            lookup_via("nope.lab.test", DnsStatus::NxDomain, &[], Transport::Https),
        ];
        let text = table(&ls);
        let lines: Vec<&str> = text.lines().collect();
        let header: Vec<&str> = lines[0].split_whitespace().collect();
        assert_eq!(header[5..], ["VIA", "LATENCY"], "{text}");
        assert_eq!(lines[1].split_whitespace().nth(5), Some("tls"), "{text}");
        assert_eq!(lines[2].split_whitespace().nth(5), Some("https"), "{text}");
        let (_, err) = short(&ls);
        assert!(err.contains("(https://10.77.0.53:53)"), "{err}");
        let v = serde_json::to_value(DnsReport::new(ls.to_vec(), 1.0)).unwrap();
        assert_eq!(v["lookups"][0]["transport"], "tls");
        assert_eq!(v["lookups"][1]["transport"], "https");
    }

    #[test]
    fn table_has_a_line_per_record_and_status_lines() {
        let text = table(&[
            lookup(
                "www.lab.test",
                DnsStatus::NoError,
                &[("CNAME", "web.lab.test.", 60), ("A", "10.77.0.20", 30)],
            ),
            lookup("nope.lab.test", DnsStatus::NxDomain, &[]),
            lookup("evil\u{1b}[31m.test", DnsStatus::NoError, &[]),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert!(lines[0].starts_with("NAME "), "{text}");
        assert!(lines[2].contains("10.77.0.20") && lines[2].contains(" 30 "));
        assert!(lines[3].contains("NXDOMAIN") && lines[3].contains("0.4 ms"));
        assert!(lines[4].contains("NOERROR (no A record)"));
        assert!(!text.contains('\u{1b}'));
        // Columns line up.
        let col = lines[0].find("ANSWER").unwrap();
        assert_eq!(lines[3].find("NXDOMAIN"), Some(col));
    }

    #[test]
    fn short_and_json() {
        let ls = [
            lookup(
                "web.lab.test",
                DnsStatus::NoError,
                &[("A", "10.77.0.20", 60)],
            ),
            lookup("nope.lab.test", DnsStatus::NxDomain, &[]),
        ];
        let (out, err) = short(&ls);
        assert_eq!(out, "10.77.0.20\n");
        assert!(
            err.contains("nope.lab.test A: NXDOMAIN (10.77.0.53:53)"),
            "{err}"
        );
        let report = DnsReport::new(ls.to_vec(), 1.5);
        assert_eq!((report.summary.answered, report.summary.failed), (1, 1));
        let v: serde_json::Value = serde_json::to_value(&report).unwrap();
        let first = &v["lookups"][0];
        for key in [
            "name",
            "type",
            "server",
            "transport",
            "status",
            "rcode",
            "ttl",
            "latency_ms",
            "answers",
            "error",
        ] {
            assert!(first.get(key).is_some(), "{key} missing: {first}");
        }
        assert_eq!(first["ttl"], 60);
        assert_eq!(first["transport"], "udp");
        assert_eq!(v["lookups"][1]["status"], "NXDOMAIN");
        assert!(v["lookups"][1]["ttl"].is_null());
        let back: DnsReport = serde_json::from_value(v).unwrap();
        assert_eq!(back, report);
    }
}
