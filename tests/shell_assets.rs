//! The man pages and shell completions are generated from the command line (clap_mangen,
//! clap_complete) and committed under assets/ for the Debian package. These tests keep the
//! committed files equal to what the current CLI generates (after a CLI change:
//! `NETDX_BLESS=1 cargo test --test shell_assets` and review the diff of assets/), and check
//! that each completion script parses in its shell and completes every subcommand.

mod common;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use clap::CommandFactory;
use clap_complete::Shell;
use netdx::cli::Cli;

fn assets() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets")
}

/// Where each shell's script is committed (and where the .deb takes it from).
const COMPLETIONS: [(Shell, &str); 3] = [
    (Shell::Bash, "completions/netdx.bash"),
    (Shell::Zsh, "completions/_netdx"),
    (Shell::Fish, "completions/netdx.fish"),
];

/// `path` holds `got`, or (NETDX_BLESS=1) is rewritten to.
fn check_committed(path: &Path, got: &[u8]) {
    common::bless::check_committed(path, got, "NETDX_BLESS=1 cargo test --test shell_assets");
}

fn subcommands() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect()
}

#[test]
fn committed_man_pages_are_what_the_cli_generates() {
    let pages = netdx::cmd::man::pages();
    let mut names: Vec<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
    for (name, text) in &pages {
        check_committed(&assets().join("man").join(name), text.as_bytes());
    }
    // One page per subcommand, and no stale page of a removed one.
    let mut want = vec!["netdx.1".to_string()];
    want.extend(subcommands().iter().map(|s| format!("netdx-{s}.1")));
    names.sort();
    want.sort();
    assert_eq!(names, want);
    let mut on_disk: Vec<String> = std::fs::read_dir(assets().join("man"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    assert_eq!(
        on_disk, want,
        "assets/man has a page the CLI no longer makes"
    );
}

#[test]
fn man_page_documents_exit_status_and_json() {
    let pages = netdx::cmd::man::pages();
    let top = &pages[0].1;
    for needle in [
        ".SH \"EXIT STATUS\"",
        ".SH \"JSON OUTPUT\"",
        ".SH ENVIRONMENT",
        ".SH EXAMPLES",
        "NO_COLOR",
        "\\-\\-theme",
        "\\-\\-no\\-log",
    ] {
        assert!(top.contains(needle), "netdx.1 lacks {needle:?}");
    }
    // Every exit code the commands use is explained, and --json for scan and diagnose.
    let section = top.split(".SH \"EXIT STATUS\"").nth(1).unwrap();
    let section = section.split(".SH").next().unwrap();
    for code in ["0    ", "1    ", "2    ", "3    ", "130  "] {
        assert!(
            section.contains(code),
            "EXIT STATUS lacks {code:?}:\n{section}"
        );
    }
    let json = top.split(".SH \"JSON OUTPUT\"").nth(1).unwrap();
    assert!(json.contains("scan \\-\\-json") && json.contains("diagnose \\-\\-json"));
    for sub in ["scan", "diagnose"] {
        let (_, page) = pages
            .iter()
            .find(|(n, _)| *n == format!("netdx-{sub}.1"))
            .unwrap();
        assert!(
            page.contains("\\fB\\-\\-json\\fR"),
            "netdx-{sub}.1 lacks --json"
        );
        assert!(
            page.contains("Exit codes"),
            "netdx-{sub}.1 lacks its exit codes"
        );
    }
}

/// `netdx man` prints netdx.1; `netdx man --dir` writes every page.
#[test]
fn man_command_prints_and_writes_the_pages() {
    let out = Command::new(env!("CARGO_BIN_EXE_netdx"))
        .arg("man")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        netdx::cmd::man::pages()[0].1
    );
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_netdx"))
        .args(["man", "--dir"])
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    assert!(dir.path().join("netdx-diagnose.1").is_file());
}

#[test]
fn committed_completions_are_what_the_cli_generates() {
    for (shell, file) in COMPLETIONS {
        let out = Command::new(env!("CARGO_BIN_EXE_netdx"))
            .args(["completions", &shell.to_string()])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}");
        assert_eq!(
            out.stdout,
            netdx::cmd::completions::script(shell),
            "{shell}"
        );
        check_committed(&assets().join(file), &out.stdout);
    }
    let out = Command::new(env!("CARGO_BIN_EXE_netdx"))
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "an unknown shell is bad input");
}

/// Each script parses in its own shell (`-n`: read, do not run) and names every subcommand.
#[test]
fn completions_parse_and_complete_every_subcommand() {
    for (shell, _) in COMPLETIONS {
        let script = netdx::cmd::completions::script(shell);
        let text = String::from_utf8(script.clone()).unwrap();
        for sub in subcommands() {
            assert!(text.contains(&sub), "{shell} completion lacks {sub}");
        }
        for option in ["--theme", "--no-log", "--json"] {
            // fish spells a long option `-l theme`.
            let needle = match shell {
                Shell::Fish => format!("-l {}", &option[2..]),
                _ => option.to_string(),
            };
            assert!(text.contains(&needle), "{shell} completion lacks {option}");
        }
        let program = shell.to_string();
        let found = Command::new(&program).arg("-c").arg("true").status();
        let test = format!("completions_parse ({program})");
        if !common::require(
            &test,
            found.is_ok_and(|s| s.success()),
            "shell not installed",
        ) {
            continue;
        }
        let mut child = Command::new(&program)
            .arg("-n")
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&script).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{program} -n: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
