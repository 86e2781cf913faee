//! The shipped monitoring files are valid for the tools that read them: the Prometheus
//! scrape config and alert rules (`promtool check config|rules`, and `promtool test rules`
//! proving the alerts fire when they should and not before), and the systemd unit
//! (`systemd-analyze verify`, with the hardening it promises). No network, no daemon.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn assets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets")
}

fn have(prog: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {prog}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("spawn");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

#[test]
fn prometheus_config_and_rules_check_and_fire() {
    if !common::require(
        "prometheus_config_and_rules_check_and_fire",
        have("promtool"),
        "needs promtool (Debian package prometheus)",
    ) {
        return;
    }
    let dir = assets().join("prometheus");
    let text = run_ok(Command::new("promtool").current_dir(&dir).args([
        "check",
        "config",
        "prometheus.yml",
    ]));
    assert!(text.contains("1 rule files found"), "{text}");
    // The commented TLS + basic-auth job, uncommented, is a valid scrape config too.
    let shipped = std::fs::read_to_string(dir.join("prometheus.yml")).expect("prometheus.yml");
    let (before, rest) = shipped
        .split_once("  # BEGIN web-config example")
        .expect("example start");
    let (example, after) = rest
        .split_once("  # END web-config example")
        .expect("example end");
    let uncommented: String = example
        .lines()
        .skip(1)
        .map(|l| format!("{}\n", l.replacen("  # ", "  ", 1)))
        .collect();
    assert!(uncommented.contains("basic_auth:") && uncommented.contains("tls_config:"));
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        dir.join("netdx-rules.yml"),
        tmp.path().join("netdx-rules.yml"),
    )
    .expect("copy");
    std::fs::write(
        tmp.path().join("prometheus.yml"),
        format!("{before}{uncommented}{after}"),
    )
    .expect("write");
    let text = run_ok(Command::new("promtool").current_dir(tmp.path()).args([
        "check",
        "config",
        "prometheus.yml",
    ]));
    assert!(text.contains("SUCCESS"), "{text}");
    let text = run_ok(Command::new("promtool").current_dir(&dir).args([
        "check",
        "rules",
        "netdx-rules.yml",
    ]));
    assert!(text.contains("SUCCESS: 13 rules found"), "{text}");
    let text = run_ok(Command::new("promtool").current_dir(&dir).args([
        "test",
        "rules",
        "netdx-rules.test.yml",
    ]));
    assert!(text.contains("SUCCESS"), "{text}");
}

#[test]
fn systemd_unit_verifies_and_is_hardened() {
    let unit = std::fs::read_to_string(assets().join("netdx-serve.service")).expect("unit");
    for line in [
        "DynamicUser=yes",
        "AmbientCapabilities=CAP_NET_RAW",
        "CapabilityBoundingSet=CAP_NET_RAW",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ] {
        assert!(unit.lines().any(|l| l == line), "unit lacks {line}");
    }
    if !common::require(
        "systemd_unit_verifies_and_is_hardened",
        have("systemd-analyze"),
        "needs systemd-analyze",
    ) {
        return;
    }
    // Verified against the binary under test (systemd checks that ExecStart exists).
    let dir = tempfile::tempdir().expect("tempdir");
    let copy = dir.path().join("netdx-serve.service");
    std::fs::write(
        &copy,
        unit.replace("/usr/bin/netdx", env!("CARGO_BIN_EXE_netdx")),
    )
    .expect("copy");
    let text = run_ok(Command::new("systemd-analyze").arg("verify").arg(&copy));
    assert!(!text.contains("Unknown key"), "{text}");
}

/// Every metric a board of every check kind exports, by name.
fn exported_names() -> std::collections::BTreeSet<String> {
    use netdx::serve::config::{CheckSpec, DevicesSpec, DiagnoseSpec, LanSpec, PathPlan, Probe};
    use netdx::serve::scheduler::{Board, Entry};
    use netdx::serve::state::{
        CheckState, Detail, DevicesFound, DiagnosisFound, LanFound, LanPart, Outcome, PathFound,
    };
    use std::time::Duration;
    let ms = Duration::from_millis;
    let mut board = Board {
        flap: 1,
        ..Board::default()
    };
    let probes = [
        Probe::Ping {
            target: "10.0.0.1".parse().unwrap(),
        },
        Probe::Tcp {
            target: "10.0.0.1:22".parse().unwrap(),
        },
        Probe::Dns {
            server: None,
            query: "a.test".into(),
            rtype: netdx::core::model::RecordType::A,
            expect: vec!["10.0.0.1".into()],
        },
        Probe::Tls {
            target: "10.0.0.1:443".parse().unwrap(),
        },
    ];
    for (i, probe) in probes.into_iter().enumerate() {
        let mut state = CheckState::default();
        state.apply(
            Outcome {
                success: true,
                duration: ms(5),
                sent: 3,
                received: 3,
                rtts: vec![ms(1), ms(2), ms(3)],
                connect: Some(ms(1)),
                dns_status: Some("NOERROR"),
                dns_latency: Some(ms(1)),
                answer_match: Some(true),
                cert_not_after: Some(2_000_000_000),
                cert_days_left: Some(300),
                note: None,
                detail: None,
            },
            1,
        );
        let name = format!("c{i}");
        board.checks.insert(
            name.clone(),
            Entry {
                spec: CheckSpec {
                    name,
                    probe,
                    interval: Duration::from_secs(10),
                },
                state,
            },
        );
    }
    // The engine kinds, each with what its runs find.
    let deep = [
        (
            Probe::Path {
                target: "10.0.0.1".parse().unwrap(),
                plan: PathPlan::default(),
            },
            Detail::Path(PathFound {
                reached: true,
                hops: 2,
                last_hop: None,
                hop_loss: vec![(1, 0.0), (2, 0.0)],
                end_loss: Some(0.0),
            }),
        ),
        (
            Probe::Lan(LanSpec {
                interface: None,
                window: Duration::from_secs(5),
                expect_dhcp: Vec::new(),
            }),
            Detail::Lan(LanFound {
                parts: LanPart::ALL.iter().map(|p| (*p, true)).collect(),
                ..LanFound::default()
            }),
        ),
        (
            Probe::Devices(DevicesSpec {
                interface: None,
                subnet: None,
            }),
            Detail::Devices(DevicesFound::default()),
        ),
        (
            Probe::Diagnose(DiagnoseSpec {
                target: "a.test".into(),
                ports: vec![443],
                resolver: None,
            }),
            Detail::Diagnosis(DiagnosisFound {
                status: netdx::diagnose::Status::Ok,
                layer: None,
                verdict: String::new(),
            }),
        ),
    ];
    for (i, (probe, detail)) in deep.into_iter().enumerate() {
        let mut state = CheckState::default();
        state.apply(
            Outcome {
                success: true,
                detail: Some(detail),
                ..Outcome::default()
            },
            1,
        );
        let name = format!("e{i}");
        board.checks.insert(
            name.clone(),
            Entry {
                spec: CheckSpec {
                    name,
                    probe,
                    interval: Duration::from_secs(60),
                },
                state,
            },
        );
    }
    netdx::serve::metrics::encode(&board)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_string)
        .collect()
}

/// `netdx_...` metric names in a PromQL expression.
fn names_in(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = expr;
    while let Some(i) = rest.find("netdx_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        out.push(tail[..end].to_string());
        rest = &tail[end..];
    }
    out
}

#[test]
fn alert_rules_use_exported_metrics() {
    let text = std::fs::read_to_string(assets().join("prometheus/netdx-rules.yml")).expect("read");
    let exported = exported_names();
    let exprs: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("expr:"))
        .collect();
    assert!(exprs.len() >= 12, "{exprs:?}");
    for e in exprs {
        for n in names_in(e) {
            assert!(
                exported.contains(&n),
                "{n} (in {e}) is not exported: {exported:?}"
            );
        }
    }
}

#[test]
fn grafana_dashboard_queries_are_valid_promql_on_exported_metrics() {
    let text = std::fs::read_to_string(assets().join("grafana/netdx-serve.json")).expect("read");
    let dash: serde_json::Value = serde_json::from_str(&text).expect("dashboard is JSON");
    let exported = exported_names();
    let mut exprs = Vec::new();
    for p in dash["panels"].as_array().expect("panels") {
        for t in p["targets"].as_array().expect("targets") {
            let e = t["expr"].as_str().expect("expr");
            let names = names_in(e);
            assert!(!names.is_empty(), "{e}");
            for n in names {
                assert!(
                    exported.contains(&n),
                    "{n} (in {e}) is not exported: {exported:?}"
                );
            }
            exprs.push(e.to_string());
        }
    }
    assert!(exprs.len() >= 7);
    if !common::require(
        "grafana_dashboard_queries_are_valid_promql_on_exported_metrics",
        have("promtool"),
        "needs promtool (Debian package prometheus)",
    ) {
        return;
    }
    // PromQL syntax, checked by promtool as recording rules once Grafana's variables are
    // filled in as Grafana would.
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, e) in exprs.iter().enumerate() {
        let e = e
            .replace("$job", "netdx")
            .replace("$instance", ".*")
            .replace("$__range", "1h");
        rules.push_str(&format!(
            "      - record: dashboard:q{i}\n        expr: '{}'\n",
            e.replace('\'', "''")
        ));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("dashboard-rules.yml");
    std::fs::write(&file, rules).expect("write");
    let text = run_ok(Command::new("promtool").args(["check", "rules"]).arg(&file));
    assert!(
        text.contains(&format!("SUCCESS: {} rules found", exprs.len())),
        "{text}"
    );
}
