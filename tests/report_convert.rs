//! `netdx report IN.json -o OUT`: conversion of a saved report, and its errors (exit 2, one
//! clear line, nothing written).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use netdx::cli::{FormatArg, ReportArgs};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/reports")
        .join(name)
}

fn golden(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(name),
    )
    .unwrap()
}

fn run(input: &Path, output: &Path, format: Option<FormatArg>) -> ExitCode {
    netdx::cmd::report::run(ReportArgs {
        input: input.into(),
        output: output.into(),
        format,
    })
}

#[test]
fn converts_to_every_format_by_extension() {
    let dir = tempfile::tempdir().unwrap();
    for ext in ["json", "csv", "md", "html", "xml"] {
        let out = dir.path().join(format!("lab.{ext}"));
        assert_eq!(run(&fixture("lab.json"), &out, None), ExitCode::SUCCESS);
        assert_eq!(
            std::fs::read(&out).unwrap(),
            golden(&format!("lab.{ext}")),
            "{ext}"
        );
    }
}

#[test]
fn format_flag_wins_over_the_extension() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("for-the-ticket.txt");
    assert_eq!(
        run(&fixture("lab.json"), &out, Some(FormatArg::Md)),
        ExitCode::SUCCESS
    );
    assert_eq!(std::fs::read(&out).unwrap(), golden("lab.md"));
}

#[test]
fn a_stale_summary_is_recounted() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("edited.json");
    let text = std::fs::read_to_string(fixture("lab.json"))
        .unwrap()
        .replacen("\"hosts_up\": 8", "\"hosts_up\": 800", 1);
    std::fs::write(&input, text).unwrap();
    let out = dir.path().join("out.json");
    assert_eq!(run(&input, &out, None), ExitCode::SUCCESS);
    assert_eq!(std::fs::read(&out).unwrap(), golden("lab.json"));
}

#[test]
fn bad_input_exits_2_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let damaged = dir.path().join("damaged.json");
    std::fs::write(&damaged, "{\"schema_version\": 1, \"hosts\": [").unwrap();
    let not_a_report = dir.path().join("other.json");
    std::fs::write(&not_a_report, "{\"hello\": \"world\"}").unwrap();
    let newer = dir.path().join("newer.json");
    std::fs::write(
        &newer,
        std::fs::read_to_string(fixture("lab.json"))
            .unwrap()
            .replacen("\"schema_version\": 2", "\"schema_version\": 3", 1),
    )
    .unwrap();
    let out = dir.path().join("out.html");
    for input in [
        dir.path().join("missing.json"),
        damaged,
        not_a_report,
        newer,
    ] {
        assert_eq!(
            run(&input, &out, None),
            ExitCode::from(2),
            "{}",
            input.display()
        );
        assert!(!out.exists());
    }
    // Unknown extension, and an output directory that does not exist.
    assert_eq!(
        run(&fixture("lab.json"), &dir.path().join("out.docx"), None),
        ExitCode::from(2)
    );
    assert_eq!(
        run(
            &fixture("lab.json"),
            &dir.path().join("no/such/dir/out.html"),
            None
        ),
        ExitCode::from(2)
    );
    // Nothing but the inputs is left behind (no temporary file).
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| n.ends_with(".json")), "{names:?}");
}

/// A report of schema 1 (every port listed, silent addresses "down") is read and converted:
/// the result is the same report as its schema-2 twin, and renders like it.
#[test]
fn a_version_1_report_is_read_and_converted() {
    let v1 = netdx::output::json::read(&fixture("lab-v1.json")).unwrap();
    let mut v2 = netdx::output::json::read(&fixture("lab.json")).unwrap();
    // The schema-2 fixture adds reverse lookups to exercise their folding; without them the
    // two are the same scan.
    v2.dns
        .retain(|d| d.rtype != netdx::core::model::RecordType::PTR);
    v2.refresh_summary();
    let mut v1 = v1;
    v1.refresh_summary();
    assert_eq!(v1, v2);
    let h = &v1.hosts[&"10.77.0.3".parse().unwrap()];
    assert_eq!(h.status, netdx::core::model::HostStatus::NoAnswer);
    let web = &v1.hosts[&"10.77.0.20".parse().unwrap()];
    assert_eq!(web.closed_ports.to_string(), "8080");
    assert_eq!(web.ports.len(), 3);
    let laptop = &v1.hosts[&"10.77.0.33".parse().unwrap()];
    assert!(laptop.ping_blocked && laptop.loss_pct.is_none());

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("upgraded.json");
    assert_eq!(run(&fixture("lab-v1.json"), &out, None), ExitCode::SUCCESS);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("\"schema_version\": 2"), "{text}");
    assert!(text.contains("\"hosts_no_answer\": 2"), "{text}");
    assert!(!text.contains("\"down\""), "{text}");
}

/// Through the binary: the error is one line and the exit code says bad input (no skip: the
/// command is wired, a "not built yet" would be a failure).
#[test]
fn binary_reports_errors_on_one_line() {
    let out = assert_cmd::Command::cargo_bin("netdx")
        .unwrap()
        .args(["report", "/nonexistent/in.json", "-o", "/tmp/x.html"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("netdx: error: "), "{err}");
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("cannot read report '/nonexistent/in.json'"),
        "{err}"
    );
}
