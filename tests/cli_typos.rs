//! Typing mistakes at the command line are caught before anything is sent, and what the scan
//! cannot do is said first. Every case runs in the lab's scanner namespace, so even a broken
//! check could not send a packet (or a DNS query) beyond the lab.

mod common;

use std::time::Duration;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn a_mistyped_subcommand_exits_2_before_any_lookup() {
    let Some(lab) = common::lab_or_skip("a_mistyped_subcommand_exits_2_before_any_lookup") else {
        return;
    };
    let web = lab.host("web").ip.to_string();
    let out = lab.netdx_timeout(&["scna", &web], Duration::from_secs(20));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(
        out.status.code(),
        Some(2),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stderr.contains("did you mean `scan`?"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stdout.is_empty(), "no dashboard, no output: {stdout}");
    // The word was never sent to the lab's DNS server (with or without the search domain).
    let log = std::fs::read_to_string(&lab.dns().log).unwrap_or_default();
    assert!(
        !log.contains("scna"),
        "a query for the typo was sent:\n{log}"
    );

    // A qualified name or a trailing dot is a host, not a typo: it gets past the check (and
    // then fails for want of a terminal, which proves the check let it through).
    let out = lab.netdx_timeout(&["scna.", &web], Duration::from_secs(20));
    assert!(
        !text(&out.stderr).contains("did you mean"),
        "{}",
        text(&out.stderr)
    );
    // The log does record such queries: a name really looked up shows there.
    lab.netdx_timeout(&["scan", "scna.lab.test"], Duration::from_secs(30));
    let log = std::fs::read_to_string(&lab.dns().log).unwrap_or_default();
    assert!(
        log.contains("scna.lab.test"),
        "the query log is not written:\n{log}"
    );
}

#[test]
fn a_scan_whose_only_name_does_not_resolve_exits_2() {
    let Some(lab) = common::lab_or_skip("a_scan_whose_only_name_does_not_resolve_exits_2") else {
        return;
    };
    // The lab's resolver (the scanner's resolv.conf) answers REFUSED for names outside its zone
    // and NXDOMAIN inside it: neither resolves.
    for name in ["nosuchhost.example", "nope.lab.test"] {
        let out = lab.netdx_timeout(&["scan", name], Duration::from_secs(30));
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(
            out.status.code(),
            Some(2),
            "{name}: stdout:\n{stdout}\nstderr:\n{stderr}"
        );
        assert!(
            stderr.contains(&format!("target '{name}' did not resolve")),
            "{stderr}"
        );
        assert!(stderr.contains("no target resolved"), "{stderr}");
        assert!(!stdout.contains("hosts up"), "no empty summary: {stdout}");
    }
    // One name that resolves among names that do not: the scan runs and exits 0.
    let web = lab.host("web");
    let out = lab.netdx_timeout(
        &["scan", "nosuchhost.example", &web.name],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains(&web.ip.to_string()));
}

/// `netdx ARGS` in the scanner namespace as nobody, without any capability, stderr merged
/// into stdout in the order written.
fn unprivileged(lab: &common::Lab, args: &str) -> std::process::Output {
    let script = format!(
        "NETDX_CONFIG=/dev/null exec {} {args} 2>&1",
        env!("CARGO_BIN_EXE_netdx")
    );
    lab.in_scanner(&[
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all",
        "sh",
        "-c",
        &script,
    ])
}

#[test]
fn privilege_warnings_come_first_on_stderr() {
    let Some(lab) = common::lab_or_skip("privilege_warnings_come_first_on_stderr") else {
        return;
    };
    let web = lab.host("web").ip.to_string();
    // Without any capability: ARP is skipped, and says so.
    let out = unprivileged(&lab, &format!("scan {web}"));
    let both = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{both}");
    let lines: Vec<&str> = both.lines().collect();
    let warning = lines
        .iter()
        .position(|l| l.starts_with("warning: ARP skipped"))
        .unwrap_or_else(|| panic!("no ARP warning:\n{both}"));
    let first_result = lines
        .iter()
        .position(|l| l.contains(&web))
        .unwrap_or_else(|| panic!("{web} not in the results:\n{both}"));
    assert!(
        warning < first_result,
        "the warning comes after results:\n{both}"
    );
    assert_eq!(
        lines.iter().filter(|l| l.contains("ARP skipped")).count(),
        1,
        "said once, not again under the table:\n{both}"
    );

    // On stderr: stdout alone carries the results without the warning.
    let out = lab.netdx_as(
        common::Privilege::Nobody,
        &["scan", &web],
        Duration::from_secs(60),
    );
    assert!(text(&out.stderr).contains("warning: ARP skipped"));
    assert!(
        !text(&out.stdout).contains("ARP skipped"),
        "{}",
        text(&out.stdout)
    );
}

/// `netdx diagnose` says what it cannot check for lack of privilege first, on stderr, and
/// not again under the verdict on stdout.
#[test]
fn diagnose_privilege_warnings_come_first_on_stderr() {
    let Some(lab) = common::lab_or_skip("diagnose_privilege_warnings_come_first_on_stderr") else {
        return;
    };
    let web = lab.host("web").ip.to_string();
    let out = unprivileged(&lab, &format!("diagnose {web} -p 80"));
    let both = text(&out.stdout);
    let lines: Vec<&str> = both.lines().collect();
    let warning = lines
        .iter()
        .position(|l| l.starts_with("netdx: warning: no CAP_NET_RAW"))
        .unwrap_or_else(|| panic!("no privilege warning:\n{both}"));
    let verdict = lines
        .iter()
        .position(|l| l.starts_with("netdx diagnose"))
        .unwrap_or_else(|| panic!("no verdict:\n{both}"));
    assert!(
        warning < verdict,
        "the warning comes before the verdict:\n{both}"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("no CAP_NET_RAW"))
            .count(),
        1,
        "said once, not again under the verdict:\n{both}"
    );
}
