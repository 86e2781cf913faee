//! Scan history: entries built from reports, appended as JSON lines under NETDX_DATA_DIR (or
//! the XDG data directory), and listed by `netdx history`.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use netdx::store::history::{self, HistoryEntry};

fn fixture(name: &str) -> netdx::core::model::ScanReport {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/reports")
        .join(name);
    netdx::output::json::read(&p).unwrap()
}

fn history(data: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("netdx")
        .unwrap()
        .arg("history")
        .args(args)
        .env("NETDX_DATA_DIR", data)
        .env_remove("XDG_DATA_HOME")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn entry_records_time_targets_parameters_counts_and_report_path() {
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("scan.json");
    std::fs::write(&saved, b"{}").unwrap();
    let e = HistoryEntry::from_report(&fixture("lab.json"), Some(&saved));
    assert_eq!(e.time, "2024-05-01T10:00:07.25Z");
    assert_eq!(e.targets, ["10.77.0.0/24", "fd77::20"]);
    assert_eq!(
        e.parameters.ports.as_deref(),
        Some("22,23,80,443,631,3306,5432,8080,9100")
    );
    assert_eq!(
        (
            e.summary.hosts_up,
            e.summary.hosts_total,
            e.summary.open_ports
        ),
        (8, 10, 11)
    );
    assert_eq!(e.summary.dns_failures, 2);
    assert!(e.complete);
    assert_eq!(
        e.report.as_deref(),
        Some(saved.canonicalize().unwrap().as_path())
    );
    // A relative path is stored absolute, so the log stays useful from any directory.
    let rel = HistoryEntry::from_report(&fixture("lab.json"), Some(Path::new("out/r.json")));
    assert!(rel.report.unwrap().is_absolute());
}

#[test]
fn append_then_list_newest_last() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("netdx-data");
    let file = data.join(history::FILE_NAME);
    let first = HistoryEntry::from_report(
        &fixture("lab.json"),
        Some(Path::new("/srv/reports/monday.json")),
    );
    let mut second = HistoryEntry::from_report(&fixture("lab-new.json"), None);
    second.complete = false;
    history::append_to(&file, &first).unwrap();
    history::append_to(&file, &second).unwrap();

    // One JSON line per scan, private to the user.
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text.lines().count(), 2);
    let back: HistoryEntry = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(back, first);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(&data).unwrap().permissions().mode() & 0o777,
        0o700
    );

    let (code, out, err) = history(&data, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.is_empty(), "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("#  WHEN"), "{out}");
    assert!(
        lines[1].starts_with("1  2024-05-01 10:00:07 UTC  10.77.0.0/24 fd77::20"),
        "{out}"
    );
    assert!(lines[1].contains("8/10") && lines[1].contains("2/7") && lines[1].contains("complete"));
    assert!(lines[1].ends_with("/srv/reports/monday.json"), "{out}");
    assert!(lines[2].starts_with("2  2024-05-08 10:00:06 UTC"), "{out}");
    assert!(
        lines[2].contains("interrupted") && lines[2].ends_with('-'),
        "{out}"
    );
    assert!(out.contains("2 scans in"), "{out}");

    let (code, out, _) = history(&data, &["-n", "1"]);
    assert_eq!(code, 0);
    assert_eq!(
        out.lines()
            .filter(|l| l.starts_with(char::is_numeric))
            .count(),
        1
    );
    assert!(
        out.contains("\n2  2024-05-08"),
        "numbering stays that of the file: {out}"
    );
    assert!(out.contains("Last 1 of 2 scans"), "{out}");
}

#[test]
fn empty_or_missing_history_says_how_to_start_one() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = history(dir.path(), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("No scans recorded yet") && out.contains("--log"),
        "{out}"
    );
}

#[test]
fn damaged_lines_are_skipped_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(history::FILE_NAME);
    let good =
        serde_json::to_string(&HistoryEntry::from_report(&fixture("lab.json"), None)).unwrap();
    std::fs::write(&file, format!("{good}\n{{\"time\": tru\n\n{good}\n")).unwrap();
    let (code, out, err) = history(dir.path(), &[]);
    assert_eq!(code, 0);
    assert!(err.contains("skipped 1 damaged line"), "{err}");
    assert!(out.contains("2 scans in"), "{out}");
}

#[test]
fn hostile_strings_in_the_log_do_not_reach_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(history::FILE_NAME);
    let mut e = HistoryEntry::from_report(&fixture("hostile.json"), None);
    e.targets = vec!["\x1b]0;owned\x07evil".into(), "a\nb".into()];
    e.report = Some(PathBuf::from("/tmp/\x1b[31mred.json"));
    history::append_to(&file, &e).unwrap();
    let (code, out, _) = history(dir.path(), &[]);
    assert_eq!(code, 0);
    assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("1  2024")).count(),
        1,
        "{out}"
    );
}

#[test]
fn xdg_data_home_is_used_without_override() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("netdx").join(history::FILE_NAME);
    history::append_to(
        &file,
        &HistoryEntry::from_report(&fixture("lab.json"), None),
    )
    .unwrap();
    let out = Command::cargo_bin("netdx")
        .unwrap()
        .arg("history")
        .env_remove("NETDX_DATA_DIR")
        .env("XDG_DATA_HOME", dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(&file.display().to_string()), "{text}");
}

/// `--compare` finds the last complete run of the same targets with a report and diffs the
/// newest against it; other targets and runs without a report are passed over.
#[test]
fn compare_with_the_last_run_of_the_same_targets() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("netdx-data");
    let file = data.join(history::FILE_NAME);
    let old_path = dir.path().join("monday.json");
    let new_path = dir.path().join("tuesday.json");
    let fx = |n: &str| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/reports")
            .join(n)
    };
    std::fs::copy(fx("lab.json"), &old_path).unwrap();
    std::fs::copy(fx("lab-new.json"), &new_path).unwrap();
    let old = HistoryEntry::from_report(&fixture("lab.json"), Some(&old_path));
    let mut other = HistoryEntry::from_report(&fixture("lab.json"), Some(&old_path));
    other.targets = vec!["192.0.2.0/24".into()];
    let mut no_report = HistoryEntry::from_report(&fixture("lab.json"), None);
    no_report.targets.reverse(); // same targets, another order
    let mut new = HistoryEntry::from_report(&fixture("lab-new.json"), Some(&new_path));
    new.targets = old.targets.clone();
    new.complete = true;
    for e in [&old, &other, &no_report, &new] {
        history::append_to(&file, e).unwrap();
    }
    let (code, out, err) = history(&data, &["--compare"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.starts_with(
            "Comparing scan #4 (2024-05-08 10:00:06 UTC) with #1 (2024-05-01 10:00:07 UTC)"
        ),
        "{out}"
    );
    assert!(out.contains("changes."), "{out}");
    // Scan #1 has nothing before it.
    let (code, _, err) = history(&data, &["--compare", "1"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no earlier complete scan of the same targets"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let (code, _, err) = history(&data, &["--compare", "9"]);
    assert_eq!(code, 2);
    assert!(err.contains("there is no scan #9"), "{err}");
}
