//! `/api/v1/checks`: every check's state as JSON, for `netdx tui --remote` and for scripts.
//! Read-only, behind the same auth as `/metrics`. The schema is versioned (`"version": 1`);
//! fields may be added within a version, never renamed or removed, so a client ignores what
//! it does not know and refuses another version.
//!
//! The types are shared by the agent (which builds them from the board) and the remote view
//! (which reads them), so both sides cannot drift apart.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::scheduler::{Board, Entry};

/// The route.
pub const PATH: &str = "/api/v1/checks";

/// The schema version this build writes and reads.
pub const VERSION: u32 = 1;

/// The whole document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChecksDoc {
    pub version: u32,
    pub agent: Agent,
    /// When the agent wrote this (RFC 3339, UTC).
    pub generated_at: String,
    /// Consecutive equal results before a state changes.
    pub flap: u32,
    pub checks: Vec<CheckView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    pub name: String,
    pub version: String,
}

/// The flap-suppressed state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Up,
    Down,
    /// Not yet `flap` equal results.
    Pending,
}

impl CheckStatus {
    pub fn label(self) -> &'static str {
        match self {
            CheckStatus::Up => "up",
            CheckStatus::Down => "down",
            CheckStatus::Pending => "pending",
        }
    }
}

/// One check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckView {
    pub name: String,
    /// `ping`, `tcp`, `tls`, `dns`, ...
    pub kind: String,
    /// The address (or `address:port`, or the DNS server) as the `target` metric label.
    pub target: String,
    pub state: CheckStatus,
    /// When the state took its value (RFC 3339), and how long it had held at `generated_at`
    /// (seconds; clock differences between agent and viewer do not matter).
    pub since: Option<String>,
    pub for_s: Option<f64>,
    /// When the last result came.
    pub last_run: Option<String>,
    pub interval_s: f64,
    pub runs: u64,
    pub changes: u64,
    pub last: Option<LastResult>,
    /// The last run's latency: ping the mean RTT of its replies, TCP the connect time, DNS
    /// the answer time, others the probe's wall time.
    pub latency_ms: Option<f64>,
    /// Ping: RTT figures over the window of recent replies.
    pub rtt: Option<RttFigures>,
    /// Ping: share of echo requests lost over the window (0..1).
    pub loss: Option<f64>,
    /// One sentence a person can read.
    pub verdict: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastResult {
    pub success: bool,
    pub duration_ms: f64,
    pub note: Option<String>,
    pub dns_status: Option<String>,
    pub answer_match: Option<bool>,
    pub cert_days_left: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RttFigures {
    pub min_ms: f64,
    pub avg_ms: f64,
    pub max_ms: f64,
    pub jitter_ms: f64,
}

fn ms(d: Duration) -> f64 {
    // Three decimals (µs) are all a probe measures; keeps the JSON short.
    (d.as_secs_f64() * 1e6).round() / 1e3
}

fn rfc3339(t: SystemTime) -> Option<String> {
    time::OffsetDateTime::from(t)
        .format(&time::format_description::well_known::Rfc3339)
        .ok()
}

/// The document for `board` at `now`.
pub fn build(board: &Board, now: SystemTime) -> ChecksDoc {
    ChecksDoc {
        version: VERSION,
        agent: Agent {
            name: "netdx".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        },
        generated_at: rfc3339(now).unwrap_or_default(),
        flap: board.flap,
        checks: board.checks.values().map(|e| view(e, now)).collect(),
    }
}

fn view(e: &Entry, now: SystemTime) -> CheckView {
    let s = &e.state;
    let state = match s.state {
        Some(true) => CheckStatus::Up,
        Some(false) => CheckStatus::Down,
        None => CheckStatus::Pending,
    };
    let last = s.last.as_ref();
    let latency = last.map(|l| {
        if !l.rtts.is_empty() {
            l.rtts.iter().sum::<Duration>() / l.rtts.len() as u32
        } else {
            l.connect.or(l.dns_latency).unwrap_or(l.duration)
        }
    });
    let latency_ms = last
        .filter(|l| l.success || !l.rtts.is_empty())
        .and(latency)
        .map(ms);
    let for_s = s
        .since
        .and_then(|t| now.duration_since(t).ok())
        .map(|d| (d.as_secs_f64() * 10.0).round() / 10.0);
    let mut v = CheckView {
        name: e.spec.name.clone(),
        kind: e.spec.probe.kind().to_string(),
        target: e.spec.probe.target_label(),
        state,
        since: s.since.and_then(rfc3339),
        for_s,
        last_run: s.last_at.and_then(rfc3339),
        interval_s: e.spec.interval.as_secs_f64(),
        runs: s.runs,
        changes: s.changes,
        last: last.map(|l| LastResult {
            success: l.success,
            duration_ms: ms(l.duration),
            note: l.note.clone(),
            dns_status: l.dns_status.map(str::to_string),
            answer_match: l.answer_match,
            cert_days_left: l.cert_days_left,
        }),
        latency_ms,
        rtt: s.rtt().map(|r| RttFigures {
            min_ms: ms(r.min),
            avg_ms: ms(r.avg),
            max_ms: ms(r.max),
            jitter_ms: ms(r.jitter),
        }),
        loss: s.loss(),
        verdict: String::new(),
    };
    v.verdict = verdict(&v, e.state.streak);
    v
}

/// One sentence: the state, what the last run saw, and whether it disagrees with the state.
fn verdict(v: &CheckView, streak: u32) -> String {
    let Some(last) = &v.last else {
        return "pending: no result yet".to_string();
    };
    let seen = if last.success {
        match (v.kind.as_str(), v.latency_ms, v.loss) {
            ("ping", Some(l), Some(loss)) => {
                format!("replies in {l:.1} ms, {:.0} % lost recently", loss * 100.0)
            }
            ("dns", Some(l), _) => format!(
                "{} in {l:.1} ms",
                last.dns_status.as_deref().unwrap_or("answer")
            ),
            ("tls", _, _) => match last.cert_days_left {
                Some(d) => format!("handshake done, certificate ends in {d} days"),
                None => "handshake done".to_string(),
            },
            (_, Some(l), _) => format!("answered in {l:.1} ms"),
            _ => "succeeded".to_string(),
        }
    } else {
        last.note
            .clone()
            .unwrap_or_else(|| "the last run failed".to_string())
    };
    match v.state {
        CheckStatus::Pending => format!("pending ({streak} of {} alike so far): {seen}", v.runs),
        s if (s == CheckStatus::Up) == last.success => format!("{}: {seen}", s.label()),
        s => format!(
            "{} (the last run disagrees, not yet a change): {seen}",
            s.label()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::config::{CheckSpec, Probe};
    use crate::serve::state::{CheckState, Outcome};

    fn entry(results: &[bool]) -> Entry {
        let mut state = CheckState::default();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        for (i, ok) in results.iter().enumerate() {
            let before = state.state;
            state.apply(
                Outcome {
                    success: *ok,
                    sent: 3,
                    received: if *ok { 3 } else { 0 },
                    rtts: if *ok {
                        vec![Duration::from_micros(400); 3]
                    } else {
                        Vec::new()
                    },
                    duration: Duration::from_millis(5),
                    note: (!ok).then(|| "no reply to 3 echo requests".to_string()),
                    ..Outcome::default()
                },
                2,
            );
            state.stamp(before, t0 + Duration::from_secs(10 * i as u64));
        }
        Entry {
            spec: CheckSpec {
                name: "gw".into(),
                probe: Probe::Ping {
                    target: "10.0.0.1".parse().expect("ip"),
                },
                interval: Duration::from_secs(10),
            },
            state,
        }
    }

    #[test]
    fn states_times_and_verdicts() {
        let mut board = Board {
            flap: 2,
            ..Board::default()
        };
        board.checks.insert("a".into(), entry(&[true, true]));
        board
            .checks
            .insert("b".into(), entry(&[true, true, false, false]));
        board.checks.insert("c".into(), entry(&[true]));
        board.checks.insert("d".into(), entry(&[true, true, false]));
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_045);
        let doc = build(&board, now);
        assert_eq!(doc.version, 1);
        let [a, b, c, d] = &doc.checks[..] else {
            panic!("four checks")
        };
        assert_eq!(a.state, CheckStatus::Up);
        assert_eq!(a.since.as_deref(), Some("2027-01-15T08:00:10Z"));
        assert_eq!(a.for_s, Some(35.0));
        assert_eq!(a.latency_ms, Some(0.4));
        assert_eq!(a.verdict, "up: replies in 0.4 ms, 0 % lost recently");
        assert_eq!(b.state, CheckStatus::Down);
        assert_eq!(b.for_s, Some(15.0));
        assert_eq!(b.latency_ms, None);
        assert_eq!(b.verdict, "down: no reply to 3 echo requests");
        assert_eq!(c.state, CheckStatus::Pending);
        assert_eq!(c.since, None);
        assert!(c.verdict.starts_with("pending"), "{}", c.verdict);
        assert_eq!(
            d.verdict,
            "up (the last run disagrees, not yet a change): no reply to 3 echo requests"
        );
        // It round-trips, and the state is written in lower case.
        let json = serde_json::to_string(&doc).expect("json");
        assert!(json.contains("\"state\":\"down\""), "{json}");
        let back: ChecksDoc = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, doc);
    }
}
