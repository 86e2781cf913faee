//! What headless commands put on stdout and stderr: `scan --json` prints the JSON report and
//! nothing else; under `NO_COLOR` nothing carries an ANSI escape, even on a terminal. Only
//! loopback is scanned (no PTR query, no name queries).

mod common;

use std::process::{Command, Output};

fn netdx(args: &[&str], data: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netdx"))
        .args(args)
        .env("NETDX_DATA_DIR", data)
        .env("NETDX_CONFIG", data.join("none.toml"))
        .env_remove("NO_COLOR")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run netdx")
}

const LOOPBACK_SCAN: [&str; 9] = [
    "scan",
    "127.0.0.1",
    "-p",
    "1",
    "--no-arp",
    "--no-rdns",
    "--no-names",
    "--no-inventory",
    "--no-identify",
];

#[test]
fn scan_json_prints_the_report_and_nothing_else_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.json");
    let mut args = LOOPBACK_SCAN.to_vec();
    args.extend(["--json", "-o", file.to_str().unwrap()]);
    let out = netdx(&args, dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // The whole of stdout is one JSON document: the report -o wrote.
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(printed, written);
    assert!(printed["schema_version"].is_number(), "{printed}");
    assert_eq!(printed["complete"], true);
    assert!(
        printed["hosts"].to_string().contains("127.0.0.1"),
        "{printed}"
    );
    // "report written" goes to stderr, never into the JSON.
    assert!(stderr.contains("report written"), "{stderr}");

    // Bad input under --json: exit 2, stdout empty, the error on stderr.
    let out = netdx(&["scan", "300.1.2.3", "--json"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out.stdout.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// `script` runs the command on a pseudo-terminal, where colour and progress bars would show.
fn on_a_terminal(command: &str, no_color: bool) -> Option<Vec<u8>> {
    let found = Command::new("script").arg("--version").output().is_ok();
    if !common::require("no_color_on_a_terminal", found, "script(1) not installed") {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut c = Command::new("script");
    c.args(["-qec", command, "/dev/null"])
        .env("NETDX_DATA_DIR", dir.path())
        .env("NETDX_CONFIG", dir.path().join("none.toml"))
        .env("COLUMNS", "100")
        .stdin(std::process::Stdio::null());
    if no_color {
        c.env("NO_COLOR", "1");
    } else {
        c.env_remove("NO_COLOR");
    }
    let out = c.output().expect("run script");
    Some(out.stdout)
}

#[test]
fn no_color_means_no_ansi_escapes_on_a_terminal() {
    let bin = env!("CARGO_BIN_EXE_netdx");
    let scan = format!("{bin} {}", LOOPBACK_SCAN.join(" "));
    for command in [
        scan.clone(),
        format!("{bin} scan --help"),
        format!("{bin} scan --no-such-option"),
        format!("{bin} completions nosh"),
    ] {
        let Some(out) = on_a_terminal(&command, true) else {
            return;
        };
        let text = String::from_utf8_lossy(&out);
        assert!(!text.is_empty(), "{command}: no output");
        assert!(
            !text.contains('\u{1b}'),
            "{command}: an escape under NO_COLOR: {text:?}"
        );
    }
    // The check can fail: without NO_COLOR the same commands do style their output.
    let help = on_a_terminal(&format!("{bin} scan --help"), false).unwrap();
    assert!(help.contains(&0x1b), "help is styled on a terminal");
    let scanned = on_a_terminal(&scan, false).unwrap();
    assert!(
        scanned.contains(&0x1b),
        "the progress bar draws on a terminal"
    );
}
