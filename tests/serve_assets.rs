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
    let text = run_ok(Command::new("promtool").current_dir(&dir).args([
        "check",
        "rules",
        "netdx-rules.yml",
    ]));
    assert!(text.contains("SUCCESS: 6 rules found"), "{text}");
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
