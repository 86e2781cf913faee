//! `netdx diagnose` at the edge: its help text (a reviewed artefact, snapshot-tested) and bad
//! input, which must fail with exit code 2 and one clear line before anything is sent.

mod common;

use std::process::Command;

use clap::CommandFactory;
use netdx::cli::Cli;

fn help() -> String {
    let mut cmd = Cli::command().term_width(100);
    cmd.build();
    cmd.find_subcommand_mut("diagnose")
        .expect("diagnose subcommand")
        .render_long_help()
        .to_string()
}

#[test]
fn diagnose_help() {
    let text = help();
    for needle in [
        "0 healthy, 1 degraded, 3 down, 2 bad input",
        "--watch",
        "443,80",
    ] {
        assert!(text.contains(needle), "diagnose --help lacks {needle:?}");
    }
    insta::assert_snapshot!(text);
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// netdx in a new, empty network namespace (`unshare -n`: loopback only, down): should a
/// case ever get past parsing, `diagnose` finds no interface and sends nothing anywhere.
fn netdx(args: &[&str]) -> std::process::Output {
    Command::new("unshare")
        .arg("-n")
        .arg(env!("CARGO_BIN_EXE_netdx"))
        .args(args)
        .output()
        .expect("run unshare -n netdx")
}

#[test]
fn bad_input_exits_2_with_one_line() {
    if !common::require(
        "bad_input_exits_2_with_one_line",
        is_root(),
        "needs root for unshare -n",
    ) {
        return;
    }
    let cases: &[(&[&str], &str)] = &[
        (&["diagnose", "10.0.0.0/24"], "single hosts"),
        (&["diagnose", "300.1.1.1"], "300.1.1.1"),
        (&["diagnose", "x.test", "-p", "70000"], "70000"),
        (&["diagnose", "x.test", "--resolver", "nope"], "nope"),
        (&["diagnose", "x.test", "-o", "diag.xml"], "diag.xml"),
        (&["diagnose", "x.test", "-o", "diag.txt"], "diag.txt"),
        (
            &["diagnose", "x.test", "--watch", "--interval", "0.1"],
            "--interval",
        ),
    ];
    for (args, needle) in cases {
        let out = netdx(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{args:?}: one line: {err}"
        );
        assert!(out.stdout.is_empty(), "{args:?} printed a diagnosis");
    }
}

#[test]
fn too_many_targets_is_bad_input() {
    if !common::require(
        "too_many_targets_is_bad_input",
        is_root(),
        "needs root for unshare -n",
    ) {
        return;
    }
    let many: Vec<String> = (1..=17).map(|i| format!("10.9.0.{i}")).collect();
    let mut args = vec!["diagnose"];
    args.extend(many.iter().map(String::as_str));
    let out = netdx(&args);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at most 16"));
}
