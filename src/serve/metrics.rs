//! `/metrics`: the board as OpenMetrics text, built fresh at each scrape from a snapshot (so
//! checks removed by a reload leave no stale series behind). Labels are the check's name,
//! kind and configured target only; nothing read from the network becomes a label value.
//! The path, LAN, device and diagnosis families add only bounded labels: `hop` (a TTL up to
//! the check's `max_ttl`, at most 64), `part` (four LAN parts) and `layer` (five layers).

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

use super::config::Probe;
use super::scheduler::Board;
use super::state::{CheckState, Detail};
use crate::diagnose::Layer;

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

/// The new families' labels: the check's name alone (its kind and target are on
/// `netdx_probe_success`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NameLabels {
    check: String,
}

/// A TTL, 1 to the check's `max_ttl` (at most 64): bounded, never an address.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HopLabels {
    check: String,
    hop: String,
}

/// One of the four LAN parts (`dhcp`, `duplicates`, `arp`, `ra`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PartLabels {
    check: String,
    part: String,
}

/// One of the five diagnosis layers (`local`, `gateway`, `dns`, `wan`, `target`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LayerLabels {
    check: String,
    layer: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabels {
    version: String,
}

type FloatFamily<L> = Family<L, Gauge<f64, AtomicU64>>;

fn flag(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// The families of the path, LAN, device and diagnosis checks. States (reached, ok, the
/// failing layer) come from the flap-suppressed result ([`CheckState::settled`]); counts and
/// ratios from the last run.
#[derive(Default)]
struct Deep {
    path_reached: FloatFamily<NameLabels>,
    path_hops: FloatFamily<NameLabels>,
    path_loss: FloatFamily<NameLabels>,
    hop_loss: FloatFamily<HopLabels>,
    lan_ok: FloatFamily<PartLabels>,
    dhcp_servers: FloatFamily<NameLabels>,
    rogue_dhcp: FloatFamily<NameLabels>,
    duplicate_ips: FloatFamily<NameLabels>,
    gateway_claims: FloatFamily<NameLabels>,
    rogue_routers: FloatFamily<NameLabels>,
    devices: FloatFamily<NameLabels>,
    new_devices: Family<NameLabels, Counter>,
    diag_ok: FloatFamily<NameLabels>,
    diag_layer: FloatFamily<LayerLabels>,
}

impl Deep {
    fn add(&self, name: &str, state: &CheckState, probe: &Probe) {
        let n = || NameLabels {
            check: name.to_string(),
        };
        if matches!(probe, Probe::Devices(_)) {
            self.new_devices
                .get_or_create(&n())
                .inc_by(state.new_devices);
        }
        let settled_ok = state.settled.as_ref().is_some_and(|o| o.success);
        match state.settled.as_ref().and_then(|o| o.detail.as_ref()) {
            Some(Detail::Path(p)) => {
                self.path_reached.get_or_create(&n()).set(flag(p.reached));
            }
            Some(Detail::Lan(l)) => {
                for (part, ok) in &l.parts {
                    self.lan_ok
                        .get_or_create(&PartLabels {
                            check: name.to_string(),
                            part: part.label().to_string(),
                        })
                        .set(flag(*ok));
                }
            }
            Some(Detail::Diagnosis(d)) => {
                self.diag_ok.get_or_create(&n()).set(flag(settled_ok));
                for layer in Layer::ALL {
                    self.diag_layer
                        .get_or_create(&LayerLabels {
                            check: name.to_string(),
                            layer: layer.label().to_string(),
                        })
                        .set(flag(d.layer == Some(layer)));
                }
            }
            _ => {}
        }
        match state.last.as_ref().and_then(|o| o.detail.as_ref()) {
            Some(Detail::Path(p)) => {
                self.path_hops.get_or_create(&n()).set(f64::from(p.hops));
                if let Some(x) = p.end_loss {
                    self.path_loss.get_or_create(&n()).set(x);
                }
                for (ttl, loss) in &p.hop_loss {
                    self.hop_loss
                        .get_or_create(&HopLabels {
                            check: name.to_string(),
                            hop: ttl.to_string(),
                        })
                        .set(*loss);
                }
            }
            Some(Detail::Lan(l)) => {
                for (fam, v) in [
                    (&self.dhcp_servers, l.dhcp_servers),
                    (&self.rogue_dhcp, l.rogue_dhcp),
                    (&self.duplicate_ips, l.duplicate_ips),
                    (&self.gateway_claims, l.gateway_claims),
                    (&self.rogue_routers, l.rogue_routers),
                ] {
                    fam.get_or_create(&n()).set(v as f64);
                }
            }
            Some(Detail::Devices(d)) => {
                self.devices.get_or_create(&n()).set(d.devices as f64);
            }
            _ => {}
        }
    }

    fn register(self, reg: &mut Registry) {
        reg.register(
            "netdx_path_reached",
            "1 when the path check's trace reached its target (flap-suppressed)",
            self.path_reached,
        );
        reg.register(
            "netdx_path_hops",
            "Hops to the target in the last trace, or to the last hop that answered when \
             the target was not reached",
            self.path_hops,
        );
        reg.register(
            "netdx_path_loss_ratio",
            "Share of the last trace's probes lost at the hop it ended on (the target when \
             reached)",
            self.path_loss,
        );
        reg.register(
            "netdx_path_hop_loss_ratio",
            "Share of the last trace's probes lost at each hop (TTL); a silent hop is 1",
            self.hop_loss,
        );
        reg.register(
            "netdx_lan_check_ok",
            "1 when a part of the LAN safety check found no problem (flap-suppressed); \
             absent when the part could not run",
            self.lan_ok,
        );
        reg.register(
            "netdx_lan_dhcp_servers",
            "DHCP servers that offered in the last LAN check",
            self.dhcp_servers,
        );
        reg.register(
            "netdx_lan_rogue_dhcp_servers",
            "DHCP servers beyond the legitimate one in the last LAN check",
            self.rogue_dhcp,
        );
        reg.register(
            "netdx_lan_duplicate_ips",
            "Addresses answered by more than one MAC in the last LAN check",
            self.duplicate_ips,
        );
        reg.register(
            "netdx_lan_gateway_claims",
            "MACs other than the gateway's claiming its address in the last LAN check",
            self.gateway_claims,
        );
        reg.register(
            "netdx_lan_rogue_routers",
            "IPv6 routers advertising that were not expected, in the last LAN check",
            self.rogue_routers,
        );
        reg.register(
            "netdx_lan_devices",
            "Addresses that answered the last ARP sweep",
            self.devices,
        );
        reg.register(
            "netdx_lan_new_devices",
            "MACs first heard after the agent's first sweep of the check (each counted once)",
            self.new_devices,
        );
        reg.register(
            "netdx_diagnosis_ok",
            "1 when the diagnosis finds every layer OK (flap-suppressed)",
            self.diag_ok,
        );
        reg.register(
            "netdx_diagnosis_layer",
            "1 on the layer the diagnosis blames, 0 on the others (flap-suppressed)",
            self.diag_layer,
        );
    }
}

/// Encode the board.
pub fn encode(board: &Board) -> String {
    let mut reg = Registry::default();
    let deep = Deep::default();
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
        deep.add(&e.spec.name, &e.state, &e.spec.probe);
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
    deep.register(&mut reg);
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

    fn entry(name: &str, probe: Probe, runs: &[Outcome], flap: u32) -> Entry {
        let mut state = CheckState::default();
        for o in runs {
            state.apply(o.clone(), flap);
        }
        Entry {
            spec: CheckSpec {
                name: name.into(),
                probe,
                interval: Duration::from_secs(60),
            },
            state,
        }
    }

    /// The exposition of the path, LAN, device and diagnosis families, line by line.
    #[test]
    fn engine_check_families() {
        use crate::diagnose::{Layer, Status};
        use crate::serve::config::{DevicesSpec, DiagnoseSpec, LanSpec, PathPlan};
        use crate::serve::state::{
            Detail, DevicesFound, DiagnosisFound, LanFound, LanPart, PathFound,
        };
        let path = Outcome {
            success: true,
            detail: Some(Detail::Path(PathFound {
                reached: true,
                hops: 3,
                last_hop: Some("10.90.1.2".parse().unwrap()),
                hop_loss: vec![(1, 0.0), (2, 0.5), (3, 0.1)],
                end_loss: Some(0.1),
            })),
            ..Outcome::default()
        };
        let lan = Outcome {
            success: false,
            detail: Some(Detail::Lan(LanFound {
                parts: vec![
                    (LanPart::Dhcp, false),
                    (LanPart::Duplicates, true),
                    (LanPart::Arp, true),
                ],
                dhcp_servers: 2,
                rogue_dhcp: 1,
                alerts: vec!["rogue DHCP server 10.0.0.60".into()],
                ..LanFound::default()
            })),
            ..Outcome::default()
        };
        let sweep = |macs: &[u8]| Outcome {
            success: true,
            detail: Some(Detail::Devices(DevicesFound {
                probed: 253,
                devices: macs.len(),
                macs: macs
                    .iter()
                    .map(|b| crate::core::model::MacAddr([2, 0, 0, 0, 0, *b]))
                    .collect(),
            })),
            ..Outcome::default()
        };
        let diag = Outcome {
            success: false,
            detail: Some(Detail::Diagnosis(DiagnosisFound {
                status: Status::Down,
                layer: Some(Layer::Dns),
                verdict: "The DNS server \"x\" does not answer".into(),
            })),
            ..Outcome::default()
        };
        let mut board = Board {
            flap: 1,
            ..Board::default()
        };
        for e in [
            entry(
                "p",
                Probe::Path {
                    target: "10.99.0.10".parse().unwrap(),
                    plan: PathPlan::default(),
                },
                &[path],
                1,
            ),
            entry(
                "l",
                Probe::Lan(LanSpec {
                    interface: None,
                    window: Duration::from_secs(5),
                    expect_dhcp: Vec::new(),
                }),
                &[lan],
                1,
            ),
            entry(
                "d",
                Probe::Devices(DevicesSpec {
                    interface: None,
                    subnet: None,
                }),
                &[sweep(&[1, 2]), sweep(&[1, 2, 3])],
                1,
            ),
            entry(
                "x",
                Probe::Diagnose(DiagnoseSpec {
                    target: "app.lab.test".into(),
                    ports: vec![443],
                    resolver: None,
                }),
                &[diag],
                1,
            ),
        ] {
            board.checks.insert(e.spec.name.clone(), e);
        }
        let text = encode(&board);
        // A family's series come in hash order: compare sorted.
        let mut lines: Vec<&str> = text
            .lines()
            .filter(|l| {
                ["netdx_path", "netdx_lan", "netdx_diagnosis"]
                    .iter()
                    .any(|p| l.starts_with(p))
            })
            .collect();
        lines.sort_unstable();
        let mut want = [
            r#"netdx_path_reached{check="p"} 1.0"#,
            r#"netdx_path_hops{check="p"} 3.0"#,
            r#"netdx_path_loss_ratio{check="p"} 0.1"#,
            r#"netdx_path_hop_loss_ratio{check="p",hop="1"} 0.0"#,
            r#"netdx_path_hop_loss_ratio{check="p",hop="2"} 0.5"#,
            r#"netdx_path_hop_loss_ratio{check="p",hop="3"} 0.1"#,
            r#"netdx_lan_check_ok{check="l",part="dhcp"} 0.0"#,
            r#"netdx_lan_check_ok{check="l",part="duplicates"} 1.0"#,
            r#"netdx_lan_check_ok{check="l",part="arp"} 1.0"#,
            r#"netdx_lan_dhcp_servers{check="l"} 2.0"#,
            r#"netdx_lan_rogue_dhcp_servers{check="l"} 1.0"#,
            r#"netdx_lan_duplicate_ips{check="l"} 0.0"#,
            r#"netdx_lan_gateway_claims{check="l"} 0.0"#,
            r#"netdx_lan_rogue_routers{check="l"} 0.0"#,
            r#"netdx_lan_devices{check="d"} 3.0"#,
            r#"netdx_lan_new_devices_total{check="d"} 1"#,
            r#"netdx_diagnosis_ok{check="x"} 0.0"#,
            r#"netdx_diagnosis_layer{check="x",layer="local"} 0.0"#,
            r#"netdx_diagnosis_layer{check="x",layer="gateway"} 0.0"#,
            r#"netdx_diagnosis_layer{check="x",layer="dns"} 1.0"#,
            r#"netdx_diagnosis_layer{check="x",layer="wan"} 0.0"#,
            r#"netdx_diagnosis_layer{check="x",layer="target"} 0.0"#,
        ];
        want.sort_unstable();
        assert_eq!(lines, want, "{text}");
        // The verdict and the last hop's address are never label values.
        assert!(
            !text.contains("does not answer") && !text.contains("10.90.1.2"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE netdx_lan_new_devices counter"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE netdx_path_hop_loss_ratio gauge"),
            "{text}"
        );
    }
}
