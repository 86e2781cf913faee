//! The config file layers under the command line: `log = true` there records scans in the
//! history without `--log`; a damaged file stops netdx with one line naming it. Only loopback
//! is scanned here (no DNS either: loopback gets no PTR query).

use std::process::Command;

fn netdx(config: &std::path::Path, data: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_netdx"))
        .args(args)
        .env("NETDX_CONFIG", config)
        .env("NETDX_DATA_DIR", data)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run netdx")
}

#[test]
fn config_log_records_scans_and_cli_ports_win() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[scan]\nlog = true\nports = \"1\"\n").unwrap();
    let report = dir.path().join("r.json");
    let out = netdx(
        &config,
        dir.path(),
        &[
            "scan",
            "127.0.0.1",
            "--no-arp",
            "-o",
            report.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let history = std::fs::read_to_string(dir.path().join("history.jsonl")).expect("history");
    assert_eq!(history.lines().count(), 1, "{history}");
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(r["parameters"]["ports"], "1", "ports from the config file");

    let out = netdx(
        &config,
        dir.path(),
        &[
            "scan",
            "127.0.0.1",
            "--no-arp",
            "-p",
            "2",
            "-o",
            report.to_str().unwrap(),
        ],
    );
    assert!(out.status.success());
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(r["parameters"]["ports"], "2", "the command line wins");
    let history = std::fs::read_to_string(dir.path().join("history.jsonl")).unwrap();
    assert_eq!(history.lines().count(), 2);
}

/// `--no-log` switches the file's `log = true` off for one run: the scan completes, its
/// report is written, and the history gets no entry (a run without it gets one).
#[test]
fn no_log_overrides_config_log() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[scan]\nlog = true\nports = \"1\"\n").unwrap();
    let report = dir.path().join("r.json");
    let history = dir.path().join("history.jsonl");
    let argv = ["scan", "127.0.0.1", "--no-arp", "--no-inventory", "-o"];
    let mut args = argv.to_vec();
    args.extend([report.to_str().unwrap(), "--no-log"]);
    let out = netdx(&config, dir.path(), &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(report.exists(), "the scan ran and wrote its report");
    assert!(!history.exists(), "--no-log wrote a history entry");
    assert!(!stderr.contains("scan logged"), "{stderr}");

    args.pop();
    let out = netdx(&config, dir.path(), &args);
    assert!(out.status.success());
    let text = std::fs::read_to_string(&history).expect("without --no-log the config logs");
    assert_eq!(text.lines().count(), 1, "{text}");

    // --log and --no-log together are a contradiction clap refuses (exit 2).
    let out = netdx(
        &config,
        dir.path(),
        &["scan", "127.0.0.1", "--log", "--no-log"],
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn unreadable_config_is_a_warning_not_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where a file is expected: reading it fails with something other than
    // "not found", like a file of another user would.
    let config = dir.path().join("config.toml");
    std::fs::create_dir(&config).unwrap();
    let out = netdx(
        &config,
        dir.path(),
        &["scan", "127.0.0.1", "--no-arp", "--no-ping"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning") && stderr.contains("config.toml"),
        "{stderr}"
    );
}

#[test]
fn damaged_config_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[scan]\nlgo = true\n").unwrap();
    let out = netdx(&config, dir.path(), &["scan", "127.0.0.1"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("config.toml") && stderr.contains("lgo"),
        "{stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_bad_value_in_the_config_file_names_the_file_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[scan]\nports = \"22,telnt\"\n").unwrap();
    // Refused even though -p is given: a damaged file is never silently ignored.
    let out = netdx(&config, dir.path(), &["scan", "127.0.0.1", "-p", "22"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("config.toml") && stderr.contains("scan.ports"),
        "{stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(out.stdout.is_empty());
}
