//! `/metrics`: the board as OpenMetrics text, built fresh at each scrape from a snapshot (so
//! checks removed by a reload leave no stale series behind). Labels are the check's name,
//! kind and configured target only; nothing read from the network becomes a label value.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

use super::scheduler::Board;

/// The Content-Type of the OpenMetrics text format.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CheckLabels {
    check: String,
    kind: String,
    target: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatLabels {
    check: String,
    kind: String,
    target: String,
    stat: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabels {
    version: String,
}

type FloatFamily<L> = Family<L, Gauge<f64, AtomicU64>>;

/// Encode the board.
pub fn encode(board: &Board) -> String {
    let mut reg = Registry::default();
    let success = FloatFamily::<CheckLabels>::default();
    let duration = FloatFamily::<CheckLabels>::default();
    let rtt = FloatFamily::<StatLabels>::default();
    let loss = FloatFamily::<CheckLabels>::default();
    let connect = FloatFamily::<CheckLabels>::default();
    let lookup = FloatFamily::<CheckLabels>::default();
    let matched = FloatFamily::<CheckLabels>::default();
    let not_after = Family::<CheckLabels, Gauge>::default();
    let changes = Family::<CheckLabels, Counter>::default();
    for e in board.checks.values() {
        let l = CheckLabels {
            check: e.spec.name.clone(),
            kind: e.spec.probe.kind().to_string(),
            target: e.spec.probe.target_label(),
        };
        changes.get_or_create(&l).inc_by(e.state.changes);
        if let Some(s) = e.state.state {
            success.get_or_create(&l).set(if s { 1.0 } else { 0.0 });
        }
        let Some(last) = &e.state.last else { continue };
        duration.get_or_create(&l).set(last.duration.as_secs_f64());
        if let Some(r) = e.state.rtt() {
            for (stat, d) in [
                ("min", r.min),
                ("avg", r.avg),
                ("max", r.max),
                ("jitter", r.jitter),
            ] {
                rtt.get_or_create(&StatLabels {
                    check: l.check.clone(),
                    kind: l.kind.clone(),
                    target: l.target.clone(),
                    stat: stat.to_string(),
                })
                .set(d.as_secs_f64());
            }
        }
        if let Some(x) = e.state.loss() {
            loss.get_or_create(&l).set(x);
        }
        if let Some(d) = last.connect {
            connect.get_or_create(&l).set(d.as_secs_f64());
        }
        if let Some(d) = last.dns_latency {
            lookup.get_or_create(&l).set(d.as_secs_f64());
        }
        if let Some(t) = last.cert_not_after {
            not_after.get_or_create(&l).set(t);
        }
        if let Some(m) = last.answer_match {
            matched.get_or_create(&l).set(if m { 1.0 } else { 0.0 });
        }
    }
    reg.register(
        "netdx_probe_success",
        "Flap-suppressed check state: 1 up, 0 down (absent until established)",
        success,
    );
    reg.register_with_unit(
        "netdx_probe_duration",
        "Wall time of the check's last run",
        Unit::Seconds,
        duration,
    );
    reg.register_with_unit(
        "netdx_icmp_rtt",
        "Echo round-trip time over the last replies",
        Unit::Seconds,
        rtt,
    );
    reg.register(
        "netdx_icmp_loss_ratio",
        "Share of echo requests lost over the last runs",
        loss,
    );
    reg.register_with_unit(
        "netdx_tcp_connect",
        "TCP connect time of the last run (open ports only)",
        Unit::Seconds,
        connect,
    );
    reg.register_with_unit(
        "netdx_dns_lookup",
        "DNS lookup latency of the last run",
        Unit::Seconds,
        lookup,
    );
    reg.register(
        "netdx_dns_answer_match",
        "1 when the last DNS answer held every expected value",
        matched,
    );
    reg.register_with_unit(
        "netdx_tls_cert_not_after_timestamp",
        "When the certificate seen in the last TLS handshake ends (Unix time)",
        Unit::Seconds,
        not_after,
    );
    reg.register(
        "netdx_check_state_changes",
        "Flap-suppressed state changes of the check",
        changes,
    );
    reg.register(
        "netdx_build",
        "netdx build information",
        Info::new(VersionLabels {
            version: env!("CARGO_PKG_VERSION").to_string(),
        }),
    );
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, &reg);
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::serve::config::{CheckSpec, Probe};
    use crate::serve::scheduler::Entry;
    use crate::serve::state::{CheckState, Outcome};

    #[test]
    fn series_follow_the_state() {
        let mut board = Board {
            flap: 2,
            ..Board::default()
        };
        let mut state = CheckState::default();
        for _ in 0..2 {
            state.apply(
                Outcome {
                    success: true,
                    sent: 3,
                    received: 3,
                    rtts: vec![Duration::from_millis(2); 3],
                    ..Outcome::default()
                },
                2,
            );
        }
        board.checks.insert(
            "gw".into(),
            Entry {
                spec: CheckSpec {
                    name: "gw".into(),
                    probe: Probe::Ping {
                        target: "10.0.0.1".parse().unwrap(),
                    },
                    interval: Duration::from_secs(1),
                },
                state,
            },
        );
        let text = encode(&board);
        let l = r#"check="gw",kind="ping",target="10.0.0.1""#;
        for want in [
            format!("netdx_probe_success{{{l}}} 1.0"),
            format!("netdx_icmp_rtt_seconds{{{l},stat=\"avg\"}} 0.002"),
            format!("netdx_icmp_loss_ratio{{{l}}} 0.0"),
            format!("netdx_check_state_changes_total{{{l}}} 0"),
            "# TYPE netdx_probe_duration_seconds gauge".to_string(),
            format!(
                "netdx_build_info{{version=\"{}\"}} 1",
                env!("CARGO_PKG_VERSION")
            ),
        ] {
            assert!(text.contains(&want), "missing {want:?} in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
    }
}
