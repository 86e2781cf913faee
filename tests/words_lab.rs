//! Issue 9, items 3 and 4, in the namespace lab: the words of every output match the facts
//! (an unused address is "no answer", not "down"; a host found by ARP or TCP that drops pings
//! is "ping blocked", not "100 % loss"; an interrupted sweep leaves "not probed"), and a full
//! port scan's compact report keeps every fact.

mod common;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use common::report::{expect_success, host, port_states, read_report, state_label};
use common::tmux::{self, Tmux};
use common::{Icmp, LossScope};
use serde_json::Value;

/// `netdx report IN -o OUT` in the scanner namespace (it sends nothing, but netdx only ever
/// runs in the lab).
fn convert(lab: &common::Lab, input: &Path, ext: &str) -> String {
    let out = input.with_extension(ext);
    let o = lab.netdx(&[
        "report",
        input.to_str().expect("utf-8 path"),
        "-o",
        out.to_str().expect("utf-8 path"),
    ]);
    expect_success(&o);
    std::fs::read_to_string(&out).expect("converted report")
}

/// The addresses of the LAN that nothing uses, as the report lists them.
fn silent_v4(lab: &common::Lab) -> Vec<String> {
    lab.down_addresses()
        .iter()
        .filter(|ip| ip.is_ipv4())
        .map(IpAddr::to_string)
        .collect()
}

#[test]
fn every_format_says_no_answer_and_ping_blocked() {
    let Some(lab) = common::shared_lab_or_skip("every_format_says_no_answer_and_ping_blocked")
    else {
        return;
    };
    let dir = common::report_dir();
    let json_path = dir.path().join("lan.json");
    let lan = lab.info().lan.ipv4.clone();
    let out = lab.netdx(&[
        "scan",
        &lan,
        "-p",
        "ssh,http",
        "-o",
        json_path.to_str().unwrap(),
    ]);
    expect_success(&out);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let report = read_report(&json_path);

    // JSON: silent addresses are no_answer, nothing is "down", the summary counts them so.
    let silent = silent_v4(lab);
    assert!(!silent.is_empty(), "the lab has unused addresses");
    for ip in &silent {
        let r = host(&report, ip);
        assert_eq!(r["status"], "no_answer", "{ip}: {r}");
    }
    let statuses: Vec<&str> = report["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["status"].as_str())
        .collect();
    assert!(
        !statuses.contains(&"down"),
        "a scan has no host that went down"
    );
    assert!(
        !statuses.contains(&"not_probed"),
        "a complete scan probed all"
    );
    let s = &report["summary"];
    assert_eq!(s["hosts_down"], 0);
    assert_eq!(
        s["hosts_no_answer"].as_u64(),
        Some(statuses.iter().filter(|s| **s == "no_answer").count() as u64)
    );
    assert!(s["hosts_no_answer"].as_u64().unwrap() >= silent.len() as u64);

    // Hosts that drop every echo but answer ARP: ping blocked, no loss figure.
    let blocked: Vec<&common::Host> = lab
        .hosts()
        .iter()
        .filter(|h| h.icmp == Icmp::Drops)
        .collect();
    assert!(!blocked.is_empty(), "the lab has hosts that drop pings");
    for h in &blocked {
        let r = host(&report, &h.ip.to_string());
        assert_eq!(r["status"], "up", "{}: {r}", h.key);
        assert_eq!(r["ping_blocked"], true, "{}: {r}", h.key);
        assert!(r["loss_pct"].is_null(), "{}: {r}", h.key);
    }

    // The text summary on stdout.
    assert!(text.contains(" no answer;"), "{text}");
    assert!(!text.contains(" down"), "{text}");
    for h in &blocked {
        let row = text
            .lines()
            .find(|l| l.starts_with(&format!("{} ", h.ip)))
            .unwrap_or_else(|| panic!("{} not in:\n{text}", h.key));
        assert!(row.contains("ping blocked"), "{row}");
        assert!(!row.contains("100%"), "{row}");
    }

    // Markdown: a "No answer" count and list, ping blocked in the host rows.
    let md = convert(lab, &json_path, "md");
    assert!(md.contains("| No answer |"), "{md}");
    assert!(
        md.contains(&format!("\nNo answer ({}): ", silent.len())) || md.contains("No answer: ")
    );
    assert!(!md.contains("Down"), "{md}");
    for h in &blocked {
        let row = md
            .lines()
            .find(|l| l.starts_with(&format!("| {} |", h.ip)))
            .unwrap_or_else(|| panic!("{} not in:\n{md}", h.key));
        assert!(row.contains("| ping blocked |"), "{row}");
    }
    // Reverse lookups are in the host rows, not in a DNS table of their own.
    assert!(!md.contains("in-addr.arpa"), "{md}");

    // HTML: silence in small print, not on a count card; no "hosts down".
    let html = convert(lab, &json_path, "html");
    assert!(html.contains("id=\"silent-count\""), "no silent count");
    assert!(!html.contains("hosts down"), "a card still says hosts down");
    assert!(html.contains("<h2>No answer</h2>"));
    assert!(html.contains(">ping blocked</td>"));
    assert!(!html.contains("in-addr.arpa"));

    // CSV: the status and loss cells.
    let csv = convert(lab, &json_path, "csv");
    let rows = common::parse_csv(&csv);
    for ip in &silent {
        let r = rows.iter().find(|r| &r[0] == ip).expect("silent row");
        assert_eq!(r[1], "no answer");
    }
    for h in &blocked {
        let ip = h.ip.to_string();
        assert!(
            rows.iter()
                .filter(|r| r[0] == ip)
                .all(|r| r[10] == "ping blocked"),
            "{ip}"
        );
    }

    // XML keeps nmap's vocabulary (its DTD has no other word) with nmap's reason.
    let xml = convert(lab, &json_path, "xml");
    assert!(xml.contains("<status state=\"down\" reason=\"no-response\""));
}

/// Ctrl-C while a /16 sweep pings: the addresses it never got to are "not probed", none is
/// "down". The interrupt is sent when the progress bar shows the ping phase under way.
#[test]
fn interrupted_sweep_leaves_the_rest_not_probed() {
    const TEST: &str = "interrupted_sweep_leaves_the_rest_not_probed";
    if !common::require(TEST, tmux::available(), "needs tmux") {
        return;
    }
    let Some(lab) = common::shared_lab_or_skip(TEST) else {
        return;
    };
    let dir = common::report_dir();
    let json = dir.path().join("sweep.json");
    let stdout = dir.path().join("stdout.txt");
    // The lab's own /16: the /24 is the LAN, every other address is routed to the lab
    // gateway, which rejects it.
    let cmd = format!(
        "NETDX_CONFIG=/dev/null NETDX_DATA_DIR={data} ip netns exec {ns} {bin} scan 10.77.0.0/16 -o {json} > {out}; echo NETDX-EXIT=$?; exec sleep 60",
        ns = lab.scanner_ns(),
        bin = env!("CARGO_BIN_EXE_netdx"),
        json = json.display(),
        out = stdout.display(),
        data = dir.path().display(),
    );
    let t = Tmux::start(
        format!("netdx-words-{}", std::process::id()),
        dir.path(),
        &cmd,
        120,
        10,
    );
    // The progress bar (stderr, a terminal) counts pinged addresses: stop once some, but
    // not all, are done.
    let pinged = |screen: &str| -> Option<u64> {
        let at = screen.find("ping ")? + 5;
        let done: String = screen[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        done.parse().ok()
    };
    t.wait_for("the ping phase under way", Duration::from_secs(60), |s| {
        pinged(s).is_some_and(|n| n > 0)
    });
    t.keys(&["C-c"]);
    let screen = t.wait_for("netdx to exit", Duration::from_secs(30), |s| {
        s.contains("NETDX-EXIT=")
    });
    assert!(screen.contains("NETDX-EXIT=130"), "{screen}");

    let report = read_report(&json);
    assert_eq!(report["interrupted"], true);
    let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
    for h in report["hosts"].as_array().unwrap() {
        *by_status
            .entry(h["status"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert!(!by_status.contains_key("down"), "{by_status:?}");
    let not_probed = by_status.get("not_probed").copied().unwrap_or(0);
    assert!(not_probed > 30_000, "{by_status:?}");
    let s = &report["summary"];
    assert_eq!(s["hosts_not_probed"].as_u64(), Some(not_probed));
    assert_eq!(s["hosts_down"], 0);
    // An address far from the LAN, past anything pinged by then, was never probed.
    assert_eq!(host(&report, "10.77.255.254")["status"], "not_probed");

    let text = std::fs::read_to_string(&stdout).expect("stdout");
    assert!(text.contains(&format!("{not_probed} not probed")), "{text}");
    assert!(!text.contains(" down"), "{text}");
    let md = convert(lab, &json, "md");
    assert!(
        md.contains(&format!(
            "{not_probed} addresses were not probed before the scan stopped."
        )),
        "{md}"
    );
    assert!(md.contains("| Not probed |"), "{md}");
    let html = convert(lab, &json, "html");
    assert!(html.contains("<h2>Not probed"), "no not-probed section");
    assert!(html.contains("were not probed (interrupted)"));
    assert!(!html.contains("hosts down"));
    // Counted, not listed: 60,000 addresses would make the page megabytes.
    assert!(html.len() < 200_000, "{} bytes of HTML", html.len());
}

/// `-p all` on hosts with every kind of port: the report lists open ports one by one and
/// closed and filtered ones as range sets, and every port's state matches the lab's ground
/// truth exactly. The JSON stays small (its size is a fact of the layout, not a timing).
#[test]
fn all_ports_report_is_compact_and_keeps_every_fact() {
    let Some(lab) = common::shared_lab_or_skip("all_ports_report_is_compact_and_keeps_every_fact")
    else {
        return;
    };
    // rst: every port closed; dev: open ports at both ends of the range; db and fw: closed
    // with a few filtered; laptop: drops pings.
    let keys = ["rst", "dev", "db", "fw", "laptop"];
    let hosts: Vec<&common::Host> = keys.iter().map(|k| lab.host(k)).collect();
    assert!(hosts.iter().all(|h| h.loss_scope == LossScope::None));
    let dir = common::report_dir();
    let json = dir.path().join("all.json");
    let mut args: Vec<String> = vec!["scan".into()];
    args.extend(hosts.iter().map(|h| h.ip.to_string()));
    args.extend(["-p", "all", "--no-rdns", "-o"].map(String::from));
    args.push(json.to_str().unwrap().to_string());
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = lab.netdx_timeout(&argv, Duration::from_secs(600));
    expect_success(&out);
    let size = std::fs::metadata(&json).expect("report").len();
    let report: Value = read_report(&json);
    common::report::validate_schema(&report);

    for h in &hosts {
        let r = host(&report, &h.ip.to_string());
        let states = port_states(r);
        assert_eq!(states.len(), 65_535, "{}: every port reported", h.key);
        let wrong: Vec<String> = states
            .iter()
            .filter(|(p, s)| s != state_label(h.port_state(*p)))
            .map(|(p, s)| format!("{p} {s}"))
            .take(10)
            .collect();
        assert!(wrong.is_empty(), "{}: {wrong:?}", h.key);
        // Only open ports are listed one by one.
        let listed = r["ports"].as_array().unwrap();
        assert_eq!(listed.len(), h.open.len(), "{}", h.key);
        assert!(listed.iter().all(|p| p["state"] == "open"));
        // Closed ports: count and ranges as the ground truth has them.
        let closed = (1..=u16::MAX)
            .filter(|&p| state_label(h.port_state(p)) == "closed")
            .count();
        assert_eq!(
            r["closed_ports"]["count"].as_u64().unwrap_or(0),
            closed as u64,
            "{}",
            h.key
        );
    }
    let rst = host(&report, &lab.host("rst").ip.to_string());
    assert_eq!(rst["closed_ports"]["ranges"], "1-65535");
    println!("-p all of {} hosts: {size} bytes of JSON", hosts.len());
    assert!(size < 50_000, "{size} bytes for {} hosts", hosts.len());
}
