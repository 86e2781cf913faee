//! `netdx diff`: one test per kind of change (on the library's `compare`), the thresholds,
//! the text/JSON/Markdown outputs and the exit codes through the binary.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use netdx::core::event::{IcmpOutcome, ScanEvent};
use netdx::core::model::{HostStatus, MacAddr, PortState, ScanReport};
use netdx::output::diff::{self, ReportDiff};

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/reports")
        .join(name)
}

fn lab() -> ScanReport {
    netdx::output::json::read(&fixture_path("lab.json")).unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn compare(old: &ScanReport, new: &ScanReport) -> ReportDiff {
    diff::compare(old, new, Path::new("old.json"), Path::new("new.json"))
}

fn netdx() -> Command {
    Command::cargo_bin("netdx").unwrap()
}

#[test]
fn identical_reports_have_no_changes() {
    let d = compare(&lab(), &lab());
    assert_eq!(d.changes, 0);
    assert!(d.notes.is_empty(), "{:?}", d.notes);
    assert!(diff::render_text(&d).ends_with("\nNo differences.\n"));
}

#[test]
fn host_appeared_from_no_answer() {
    let old = lab();
    let mut new = lab();
    let h = new.hosts.get_mut(&ip("10.77.0.99")).unwrap();
    h.status = HostStatus::Up;
    h.hostname = Some("rogue.lab.test".into());
    let d = compare(&old, &new);
    assert_eq!(d.changes, 1);
    assert_eq!(d.hosts_appeared[0].ip, ip("10.77.0.99"));
    assert_eq!(d.hosts_appeared[0].other_side, "no answer");
    assert!(diff::render_text(&d).contains("+ 10.77.0.99 (rogue.lab.test)  (was: no answer)"));
}

#[test]
fn host_appeared_that_was_not_scanned_is_labelled_so() {
    let mut old = lab();
    old.hosts.remove(&ip("10.77.0.70"));
    let d = compare(&old, &lab());
    assert_eq!(d.changes, 1);
    assert_eq!(d.hosts_appeared[0].other_side, "not scanned");
    assert_eq!(
        d.hosts_appeared[0].open_ports,
        ["631/ipp", "9100/jetdirect"]
    );
    assert_eq!(d.notes, ["1 addresses were scanned only in the new scan."]);
}

#[test]
fn host_disappeared() {
    let mut new = lab();
    new.hosts.get_mut(&ip("10.77.0.30")).unwrap().status = HostStatus::Down;
    let d = compare(&lab(), &new);
    assert_eq!(d.changes, 1);
    assert_eq!(d.hosts_disappeared[0].ip, ip("10.77.0.30"));
    assert_eq!(d.hosts_disappeared[0].other_side, "down");
    // Its ports are part of the host's entry, not reported one by one.
    assert!(d.ports_closed.is_empty());
}

#[test]
fn a_host_the_new_scan_never_probed_has_not_disappeared() {
    let mut new = lab();
    new.hosts.get_mut(&ip("10.77.0.30")).unwrap().status = HostStatus::NotProbed;
    let d = compare(&lab(), &new);
    assert_eq!(d.changes, 0);
    assert!(d.hosts_disappeared.is_empty());
    assert!(
        d.notes
            .iter()
            .any(|n| n.contains("not probed by the new one")),
        "{:?}",
        d.notes
    );
}

#[test]
fn port_opened_and_port_closed() {
    let mut new = lab();
    let web = new.hosts.get_mut(&ip("10.77.0.20")).unwrap();
    web.set_port(8080, PortState::Open, Some(0.2));
    web.set_port(22, PortState::Filtered, None);
    let d = compare(&lab(), &new);
    assert_eq!(d.changes, 2);
    assert_eq!(
        (d.ports_opened[0].port, d.ports_opened[0].other_state),
        (8080, PortState::Closed)
    );
    assert_eq!(
        (d.ports_closed[0].port, d.ports_closed[0].other_state),
        (22, PortState::Filtered)
    );
    let t = diff::render_text(&d);
    assert!(
        t.contains("+ 10.77.0.20 (web.lab.test)  8080/tcp http-alt  (was closed)"),
        "{t}"
    );
    assert!(
        t.contains("- 10.77.0.20 (web.lab.test)  22/tcp ssh  (now filtered)"),
        "{t}"
    );
}

#[test]
fn closed_to_filtered_is_not_an_opening_or_closing() {
    let mut new = lab();
    let gw = new.hosts.get_mut(&ip("10.77.0.1")).unwrap();
    gw.set_port(22, PortState::Filtered, None);
    assert_eq!(compare(&lab(), &new).changes, 0);
}

#[test]
fn ports_checked_by_one_scan_only_are_not_compared() {
    let mut new = lab();
    // The new scan only checked port 22.
    for h in new.hosts.values_mut() {
        let state = h.port_state(22);
        h.ports.clear();
        h.closed_ports = Default::default();
        h.filtered_ports = Default::default();
        if let Some(state) = state {
            h.set_port(22, state, None);
        }
    }
    let d = compare(&lab(), &new);
    assert_eq!(d.changes, 0, "{}", diff::render_text(&d));
    assert!(d.notes.iter().any(|n| n.contains("different ports")));
}

#[test]
fn mac_change_is_flagged_with_the_other_addresses_it_answers_for() {
    let mut new = lab();
    let laptop: MacAddr = "3c:22:fb:77:00:33".parse().unwrap();
    let gw = new.hosts.get_mut(&ip("10.77.0.1")).unwrap();
    gw.mac = Some(laptop);
    gw.vendor = Some("Apple, Inc.".into());
    let d = compare(&lab(), &new);
    assert_eq!(d.changes, 1);
    let m = &d.mac_changed[0];
    assert_eq!(m.ip, ip("10.77.0.1"));
    assert_eq!(m.new_mac, laptop);
    assert_eq!(m.new_mac_also_answers_for, [ip("10.77.0.33")]);
    let t = diff::render_text(&d);
    assert!(t.contains("ARP spoofing"), "{t}");
    assert!(t.contains("! 10.77.0.1 (gw.lab.test)  00:00:0c:77:00:01 (Cisco Systems, Inc) -> 3c:22:fb:77:00:33 (Apple, Inc.)  [this MAC also answers for 10.77.0.33]"), "{t}");
}

#[test]
fn hostname_change() {
    let mut new = lab();
    new.hosts.get_mut(&ip("10.77.0.2")).unwrap().hostname = Some("sw-core.lab.test".into());
    new.hosts.get_mut(&ip("10.77.0.70")).unwrap().hostname = None;
    let d = compare(&lab(), &new);
    assert_eq!(d.changes, 2);
    let t = diff::render_text(&d);
    assert!(
        t.contains("~ 10.77.0.2  switch.lab.test -> sw-core.lab.test"),
        "{t}"
    );
    assert!(
        t.contains("~ 10.77.0.70  printer.lab.test -> (none)"),
        "{t}"
    );
}

#[test]
fn latency_threshold_needs_both_ratio_and_milliseconds() {
    let with_rtt = |old: f64, new: f64| {
        let mut a = lab();
        let mut b = lab();
        a.hosts.get_mut(&ip("10.77.0.60")).unwrap().rtt_median_ms = Some(old);
        b.hosts.get_mut(&ip("10.77.0.60")).unwrap().rtt_median_ms = Some(new);
        compare(&a, &b).latency_worse.len()
    };
    assert_eq!(with_rtt(1.2, 48.5), 1, "x40 and +47 ms");
    assert_eq!(with_rtt(0.4, 9.0), 0, "x22 but only +8.6 ms: LAN jitter");
    assert_eq!(with_rtt(20.0, 35.0), 0, "+15 ms but only x1.75");
    assert_eq!(with_rtt(10.0, 20.0), 1, "exactly x2 and +10 ms");
    assert_eq!(with_rtt(48.5, 1.2), 0, "better is not worse");
}

/// A scan of one host that answered these echoes (round trips in microseconds), folded by
/// the model as the engine's events would be.
fn echoes(rtts_us: &[u64]) -> ScanReport {
    let mut r = ScanReport::new(Default::default());
    r.apply(ScanEvent::Icmp(IcmpOutcome {
        ip: ip("10.77.0.60"),
        sent: 5,
        received: rtts_us.len() as u32,
        rtts: rtts_us.iter().map(|&u| Duration::from_micros(u)).collect(),
    }));
    r
}

#[test]
fn one_inflated_echo_among_normal_ones_is_not_a_slowdown() {
    let old = echoes(&[300, 310, 290, 305, 295]);
    // One echo waited 90 ms in a queue: the average jumps to 18 ms, the median does not move.
    let new = echoes(&[300, 90_000, 290, 305, 310]);
    assert!(new.hosts[&ip("10.77.0.60")].rtt_ms.unwrap() > 18.0);
    let d = compare(&old, &new);
    assert!(d.latency_worse.is_empty(), "{:?}", d.latency_worse);
    assert_eq!(d.changes, 0);
}

#[test]
fn a_consistent_slowdown_is_reported_with_its_medians() {
    let old = echoes(&[300, 310, 290, 305, 295]);
    let new = echoes(&[12_000, 11_800, 12_400, 12_100, 11_900]);
    let d = compare(&old, &new);
    assert_eq!(d.latency_worse.len(), 1, "{d:?}");
    let c = &d.latency_worse[0];
    assert_eq!((c.old, c.new), (0.3, 12.0));
    assert_eq!((c.old_samples, c.new_samples), (Some(5), Some(5)));
    let t = diff::render_text(&d);
    assert!(
        t.contains("~ 10.77.0.60  median of 5 echoes 0.30 ms -> 12.00 ms"),
        "{t}"
    );
    let m = diff::render_markdown(&d);
    assert!(
        m.contains("| 10.77.0.60 | - | 0.30 ms | 12.00 ms | 5, 5 |"),
        "{m}"
    );
}

#[test]
fn fewer_than_three_echoes_get_no_latency_verdict() {
    let old = echoes(&[300, 310, 290, 305, 295]);
    let slow = [12_000, 11_800, 12_400];
    assert_eq!(compare(&old, &echoes(&slow[..2])).latency_worse.len(), 0);
    assert_eq!(
        compare(&echoes(&[300, 310]), &echoes(&slow))
            .latency_worse
            .len(),
        0
    );
    assert_eq!(compare(&old, &echoes(&slow)).latency_worse.len(), 1);
    // Reports written before netdx kept a median (no rtt_median_ms) are not compared either.
    let mut older = old.clone();
    let h = older.hosts.get_mut(&ip("10.77.0.60")).unwrap();
    h.rtt_median_ms = None;
    h.rtt_samples = None;
    assert_eq!(compare(&older, &echoes(&slow)).latency_worse.len(), 0);
}

#[test]
fn loss_much_worse() {
    let mut new = lab();
    new.hosts.get_mut(&ip("10.77.0.20")).unwrap().loss_pct = Some(60.0);
    let d = compare(&lab(), &new);
    assert_eq!(d.loss_worse.len(), 1);
    assert!(diff::render_text(&d).contains("~ 10.77.0.20 (web.lab.test)  0% -> 60%"));
}

#[test]
fn dns_answer_change() {
    let mut new = lab();
    new.dns[0].answers[0].value = "10.77.0.21".into();
    new.dns[3].status = netdx::core::model::DnsStatus::NoError;
    let d = compare(&lab(), &new);
    assert_eq!(d.dns_changed.len(), 2);
    let t = diff::render_text(&d);
    assert!(
        t.contains("~ web.lab.test A  NOERROR 10.77.0.20 -> NOERROR 10.77.0.21"),
        "{t}"
    );
    assert!(
        t.contains("~ nope.lab.test A  NXDOMAIN - -> NOERROR -"),
        "{t}"
    );
}

#[test]
fn interrupted_scan_is_noted_not_counted() {
    let mut new = lab();
    new.complete = false;
    new.interrupted = true;
    let d = compare(&lab(), &new);
    assert_eq!(d.changes, 0);
    assert!(
        d.notes
            .iter()
            .any(|n| n.contains("new scan was interrupted"))
    );
}

#[test]
fn binary_text_output_and_exit_codes() {
    let old = fixture_path("lab.json");
    let new = fixture_path("lab-new.json");
    let out = netdx().arg("diff").arg(&old).arg(&new).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t = String::from_utf8(out.stdout).unwrap();
    for want in [
        "Hosts appeared (1)",
        "+ 10.77.0.3 (newpi.lab.test)  b8:27:eb:77:00:03 (Raspberry Pi Foundation)  open: 22/ssh  (was: no answer)",
        "Hosts disappeared (1)",
        "- 10.77.0.30 (db.lab.test)  00:16:3e:77:00:30 (Xensource, Inc.)  open: 22/ssh 5432/postgresql  (now: no answer)",
        "Ports opened (1)",
        "Ports no longer open (1)",
        "MAC address changed: device swapped, or ARP spoofing? (1)",
        "Host name changed (1)",
        "~ 10.77.0.60 (lossy.lab.test)  median of 3 echoes 1.10 ms -> 35.20 ms",
        "DNS answers changed (1)",
        "8 changes.",
    ] {
        assert!(t.contains(want), "missing {want:?} in:\n{t}");
    }
    let same = netdx().arg("diff").arg(&old).arg(&old).output().unwrap();
    assert_eq!(same.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&same.stdout).ends_with("\nNo differences.\n"));
}

#[test]
fn binary_writes_json_and_markdown() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (fixture_path("lab.json"), fixture_path("lab-new.json"));
    let j = dir.path().join("changes.json");
    let out = netdx()
        .arg("diff")
        .arg(&old)
        .arg(&new)
        .arg("-o")
        .arg(&j)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "with -o nothing goes to stdout");
    assert!(String::from_utf8_lossy(&out.stderr).contains("8 changes written to"));
    let d: ReportDiff = serde_json::from_slice(&std::fs::read(&j).unwrap()).unwrap();
    assert_eq!(d, compare_paths(&old, &new));
    assert_eq!(d.changes, 8);
    assert_eq!(
        d.mac_changed[0].new_mac_also_answers_for,
        [ip("10.77.0.33")]
    );

    let m = dir.path().join("changes.md");
    let out = netdx()
        .arg("diff")
        .arg(&old)
        .arg(&new)
        .arg("-o")
        .arg(&m)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let md = std::fs::read_to_string(&m).unwrap();
    for want in [
        "# netdx scan comparison",
        "**8 changes.**",
        "## Hosts appeared (1)",
        "| 10.77.0.3 | newpi.lab.test | b8:27:eb:77:00:03 | Raspberry Pi Foundation | 22/ssh | no answer |",
        "## MAC address changed: device swapped, or ARP spoofing? (1)",
        "| 10.77.0.1 | gw.lab.test | 00:00:0c:77:00:01 (Cisco Systems, Inc) | 3c:22:fb:77:00:33 (Apple, Inc.) | **10.77.0.33** |",
        "| 10.77.0.60 | lossy.lab.test | 1.10 ms | 35.20 ms | 3, 3 |",
    ] {
        assert!(md.contains(want), "missing {want:?} in:\n{md}");
    }
    // --format wins over the extension; unchanged reports exit 0 also with -o.
    let t = dir.path().join("same.txt");
    let out = netdx()
        .arg("diff")
        .arg(&old)
        .arg(&old)
        .args(["--format", "md", "-o"])
        .arg(&t)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        std::fs::read_to_string(&t)
            .unwrap()
            .contains("**No differences.**")
    );
}

fn compare_paths(old: &Path, new: &Path) -> ReportDiff {
    let a = netdx::output::json::read(old).unwrap();
    let b = netdx::output::json::read(new).unwrap();
    diff::compare(&a, &b, old, new)
}

/// Bad input: one `netdx: error:` line naming the problem, exit 2 (not 1: 1 means "changed").
#[test]
fn binary_bad_input_exits_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let lab = fixture_path("lab.json");
    let damaged = dir.path().join("damaged.json");
    std::fs::write(&damaged, &std::fs::read(&lab).unwrap()[..500]).unwrap();
    let newer = dir.path().join("newer.json");
    let text = std::fs::read_to_string(&lab).unwrap().replacen(
        "\"schema_version\": 2",
        "\"schema_version\": 99",
        1,
    );
    std::fs::write(&newer, text).unwrap();
    let missing = dir.path().join("missing.json");
    let cases: Vec<(Vec<&std::ffi::OsStr>, &str)> = vec![
        (
            vec![missing.as_os_str(), lab.as_os_str()],
            "cannot read report",
        ),
        (
            vec![lab.as_os_str(), damaged.as_os_str()],
            "is not a netdx report",
        ),
        (
            vec![newer.as_os_str(), lab.as_os_str()],
            "newer than this netdx understands",
        ),
        (
            vec![
                lab.as_os_str(),
                lab.as_os_str(),
                "-o".as_ref(),
                "x.csv".as_ref(),
            ],
            "JSON or Markdown, not CSV",
        ),
        (
            vec![
                lab.as_os_str(),
                lab.as_os_str(),
                "-o".as_ref(),
                "x.txt".as_ref(),
            ],
            "use .json or .md",
        ),
    ];
    for (args, want) in cases {
        let out = netdx().arg("diff").args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("netdx: error: ") && err.contains(want),
            "{args:?}: {err}"
        );
        assert!(out.stdout.is_empty());
    }
}

/// Strings from a report on disk reach the terminal without control characters.
#[test]
fn hostile_names_are_cleaned_in_text_and_escaped_in_markdown() {
    let old = netdx::output::json::read(&fixture_path("hostile.json")).unwrap();
    let mut new = old.clone();
    for h in new.hosts.values_mut() {
        h.hostname = Some(format!(
            "\x1b[2J{}\nX|Y",
            h.hostname.clone().unwrap_or_default()
        ));
        h.status = HostStatus::Up;
    }
    new.hosts.first_entry().unwrap().get_mut().status = HostStatus::Down;
    let d = compare(&old, &new);
    assert!(d.changes >= 4);
    let t = diff::render_text(&d);
    assert!(!t.chars().any(|c| c.is_control() && c != '\n'), "{t:?}");
    assert!(!t.contains("\nX|Y"));
    let md = diff::render_markdown(&d);
    assert!(!md.chars().any(|c| c.is_control() && c != '\n'), "{md:?}");
    assert!(!md.contains("<script>"), "{md}");
    assert!(md.contains("&lt;script&gt;"), "{md}");
    assert!(md.contains("X\\|Y"), "{md}");
}

/// What one side of a scan said about the web server (10.77.0.20) and the printer
/// (10.77.0.70): the knobs the identity tests turn.
struct Said<'a> {
    ssh: &'a str,
    cn: &'a str,
    days_left: i64,
    printer: Option<&'a str>,
    mdns: &'a str,
    netbios: &'a str,
}

const BEFORE: Said = Said {
    ssh: "9.2p1",
    cn: "web.lab.test",
    days_left: 400,
    printer: Some("printer"),
    mdns: "web.local",
    netbios: "WEB01",
};

/// The lab fixture as a scan with identification, names and device types would leave it.
fn identified(s: &Said) -> ScanReport {
    use netdx::core::devtype::DeviceType;
    use netdx::core::identity::{ServiceId, TlsInfo};
    use netdx::core::names::{HostNames, MdnsInfo, NetbiosInfo};
    let mut r = lab();
    let web = r.hosts.get_mut(&ip("10.77.0.20")).unwrap();
    for p in &mut web.ports {
        p.identity = match p.port {
            22 => Some(ServiceId {
                protocol: "ssh".into(),
                product: Some("OpenSSH".into()),
                version: Some(s.ssh.into()),
                os_hint: Some("Debian".into()),
                ..Default::default()
            }),
            80 => Some(ServiceId {
                protocol: "http".into(),
                product: Some("nginx".into()),
                version: Some("1.22.1".into()),
                ..Default::default()
            }),
            443 => Some(ServiceId {
                protocol: "https".into(),
                product: Some("nginx".into()),
                version: Some("1.22.1".into()),
                tls: Some(TlsInfo {
                    version: "TLSv1.3".into(),
                    subject_cn: Some(s.cn.into()),
                    issuer: Some("CN=Lab CA".into()),
                    not_after: Some("2027-01-05T00:00:00Z".into()),
                    days_left: Some(s.days_left),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            _ => None,
        };
    }
    web.names = HostNames {
        mdns: Some(MdnsInfo {
            hostname: Some(s.mdns.into()),
            ..Default::default()
        }),
        netbios: Some(NetbiosInfo {
            name: Some(s.netbios.into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    web.device = Some(DeviceType {
        kind: "server".into(),
        confidence: "medium".into(),
        evidence: vec!["SSH 22".into(), "HTTP 80".into()],
    });
    let printer = r.hosts.get_mut(&ip("10.77.0.70")).unwrap();
    printer.device = s.printer.map(|kind| DeviceType {
        kind: kind.into(),
        confidence: "high".into(),
        evidence: vec!["IPP 631".into(), "JetDirect 9100".into()],
    });
    r
}

#[test]
fn identical_identified_reports_have_no_changes() {
    let d = compare(&identified(&BEFORE), &identified(&BEFORE));
    assert_eq!(d.changes, 0, "{}", diff::render_text(&d));
}

#[test]
fn service_version_change() {
    let new = identified(&Said {
        ssh: "9.3p1",
        ..BEFORE
    });
    let d = compare(&identified(&BEFORE), &new);
    assert_eq!(d.changes, 1);
    let c = &d.service_changed[0];
    assert_eq!((c.ip, c.port), (ip("10.77.0.20"), 22));
    assert_eq!(c.old.version.as_deref(), Some("9.2p1"));
    assert_eq!(c.new.as_ref().unwrap().version.as_deref(), Some("9.3p1"));
    let t = diff::render_text(&d);
    assert!(t.contains("\nService changed (1)\n"), "{t}");
    assert!(
        t.contains("~ 10.77.0.20 (web.lab.test)  22/tcp OpenSSH 9.2p1 -> 9.3p1\n"),
        "{t}"
    );
    let m = diff::render_markdown(&d);
    assert!(
        m.contains("| 10.77.0.20 | web.lab.test | 22/tcp | OpenSSH 9.2p1 -&gt; 9.3p1 |"),
        "{m}"
    );
}

#[test]
fn certificate_replaced_or_newly_expiring() {
    let renamed = identified(&Said {
        cn: "www.lab.test",
        ..BEFORE
    });
    let d = compare(&identified(&BEFORE), &renamed);
    assert_eq!(d.changes, 1);
    assert_eq!(d.cert_changed[0].changed, ["subject CN"]);
    let t = diff::render_text(&d);
    assert!(
        t.contains("! 10.77.0.20 (web.lab.test)  443/tcp CN web.lab.test -> www.lab.test\n"),
        "{t}"
    );
    // The same certificate, 12 days from its end now.
    let expiring = identified(&Said {
        days_left: 12,
        ..BEFORE
    });
    let d = compare(&identified(&BEFORE), &expiring);
    assert_eq!(d.changes, 1);
    assert_eq!(d.cert_changed[0].changed, ["now expiring"]);
    assert!(
        diff::render_text(&d).contains("443/tcp certificate expires in 12 days\n"),
        "{}",
        diff::render_text(&d)
    );
    // Closer still but already flagged before: not news.
    let closer = identified(&Said {
        days_left: 5,
        ..BEFORE
    });
    assert_eq!(compare(&expiring, &closer).changes, 0);
}

#[test]
fn device_type_change_to_unknown() {
    let new = identified(&Said {
        printer: None,
        ..BEFORE
    });
    let d = compare(&identified(&BEFORE), &new);
    assert_eq!(d.changes, 1);
    assert_eq!(d.device_changed[0].ip, ip("10.77.0.70"));
    let t = diff::render_text(&d);
    assert!(
        t.contains("~ 10.77.0.70 (printer.lab.test)  printer -> unknown\n"),
        "{t}"
    );
    let back = compare(&new, &identified(&BEFORE));
    assert!(diff::render_text(&back).contains(
        "~ 10.77.0.70 (printer.lab.test)  unknown -> printer  (IPP 631 + JetDirect 9100)\n"
    ));
}

#[test]
fn lan_name_changes() {
    let new = identified(&Said {
        mdns: "web2.local",
        netbios: "WEB02",
        ..BEFORE
    });
    let d = compare(&identified(&BEFORE), &new);
    assert_eq!(d.changes, 2);
    let t = diff::render_text(&d);
    assert!(
        t.contains("~ 10.77.0.20 (web.lab.test)  mDNS web.local -> web2.local\n"),
        "{t}"
    );
    assert!(
        t.contains("~ 10.77.0.20 (web.lab.test)  NetBIOS WEB01 -> WEB02\n"),
        "{t}"
    );
    // Only the case differs: the same name.
    let shouted = identified(&Said {
        mdns: "WEB.local",
        ..BEFORE
    });
    assert_eq!(compare(&identified(&BEFORE), &shouted).changes, 0);
}

/// A report from before identification, names and device types (the fixture as is) against
/// one with all of them: nothing is a change, and the note says what was not compared.
#[test]
fn an_older_report_without_identity_gives_no_spurious_changes() {
    for (old, new) in [(lab(), identified(&BEFORE)), (identified(&BEFORE), lab())] {
        let d = compare(&old, &new);
        assert_eq!(d.changes, 0, "{}", diff::render_text(&d));
        assert_eq!(d.notes.len(), 1, "{:?}", d.notes);
        assert!(
            d.notes[0].ends_with(
                "scan did not identify services: versions and certificates were not compared."
            ),
            "{:?}",
            d.notes
        );
    }
}

#[test]
fn binary_reports_identity_changes_in_text_json_and_markdown() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (dir.path().join("old.json"), dir.path().join("new.json"));
    let write = |r: &ScanReport, p: &Path| {
        netdx::output::write(r, p, Some(netdx::output::Format::Json)).unwrap();
    };
    write(&identified(&BEFORE), &old);
    write(
        &identified(&Said {
            ssh: "9.3p1",
            days_left: 12,
            printer: Some("NAS"),
            netbios: "WEB02",
            ..BEFORE
        }),
        &new,
    );
    let out = netdx().arg("diff").arg(&old).arg(&new).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let t = String::from_utf8_lossy(&out.stdout);
    for want in [
        "Service changed (1)",
        "22/tcp OpenSSH 9.2p1 -> 9.3p1",
        "Certificate changed (1)",
        "443/tcp certificate expires in 12 days",
        "Device type changed (1)",
        "printer -> NAS",
        "LAN name changed (1)",
        "NetBIOS WEB01 -> WEB02",
        "4 changes.",
    ] {
        assert!(t.contains(want), "missing {want:?} in:\n{t}");
    }
    let j = dir.path().join("d.json");
    let out = netdx()
        .arg("diff")
        .arg(&old)
        .arg(&new)
        .arg("-o")
        .arg(&j)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&j).unwrap()).unwrap();
    assert_eq!(v["diff_version"], 3);
    assert_eq!(v["service_changed"][0]["old"]["version"], "9.2p1");
    assert_eq!(v["service_changed"][0]["new"]["version"], "9.3p1");
    assert_eq!(v["cert_changed"][0]["changed"][0], "now expiring");
    assert_eq!(v["device_changed"][0]["old"]["kind"], "printer");
    assert_eq!(v["device_changed"][0]["new"]["kind"], "NAS");
    assert_eq!(v["names_changed"][0]["protocol"], "NetBIOS");
    let d: ReportDiff = serde_json::from_value(v).unwrap();
    assert_eq!(d.changes, 4);
    // A version-1 diff (without the identity lists) still reads.
    let mut v1: serde_json::Value = serde_json::from_slice(&std::fs::read(&j).unwrap()).unwrap();
    let obj = v1.as_object_mut().unwrap();
    for k in [
        "service_changed",
        "cert_changed",
        "device_changed",
        "names_changed",
    ] {
        obj.remove(k);
    }
    let d1: ReportDiff = serde_json::from_value(v1).unwrap();
    assert!(d1.service_changed.is_empty());

    let m = dir.path().join("d.md");
    let out = netdx()
        .arg("diff")
        .arg(&old)
        .arg(&new)
        .arg("-o")
        .arg(&m)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let md = std::fs::read_to_string(&m).unwrap();
    for want in [
        "## Service changed (1)",
        "## Certificate changed (1)",
        "| 10.77.0.20 | web.lab.test | 443/tcp | now expiring | web.lab.test | web.lab.test | 2027-01-05T00:00:00Z | 2027-01-05T00:00:00Z |",
        "## Device type changed (1)",
        "| 10.77.0.70 | printer.lab.test | printer -&gt; NAS | IPP 631 + JetDirect 9100 |",
        "## LAN name changed (1)",
        "| 10.77.0.20 | web.lab.test | NetBIOS | WEB01 | WEB02 |",
    ] {
        assert!(md.contains(want), "missing {want:?} in:\n{md}");
    }
}

/// Hostile banners and names from a report on disk reach the terminal without control
/// characters and Markdown without live markup.
#[test]
fn hostile_identity_strings_are_cleaned_in_text_and_escaped_in_markdown() {
    const EVIL: &str = "\x1b[2J<script>x</script>\nX|Y";
    let new = identified(&Said {
        ssh: EVIL,
        cn: EVIL,
        printer: Some(EVIL),
        mdns: EVIL,
        ..BEFORE
    });
    let d = compare(&identified(&BEFORE), &new);
    assert_eq!(d.changes, 4);
    let t = diff::render_text(&d);
    assert!(!t.chars().any(|c| c.is_control() && c != '\n'), "{t:?}");
    assert!(!t.contains("\nX|Y"), "{t}");
    let md = diff::render_markdown(&d);
    assert!(!md.chars().any(|c| c.is_control() && c != '\n'), "{md:?}");
    assert!(!md.contains("<script>"), "{md}");
    assert!(md.contains("X\\|Y"), "{md}");
}

/// A rogue DHCP server and a rogue router that appeared between two scans with the LAN
/// checks, through the binary: text, then JSON.
#[test]
fn binary_reports_lan_changes() {
    let dir = tempfile::tempdir().unwrap();
    let new_path = fixture_path("watch.json");
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&new_path).unwrap()).unwrap();
    v["lan"]["dhcp"]["offers"]
        .as_array_mut()
        .unwrap()
        .truncate(1);
    v["lan"]["routers"]["routers"]
        .as_array_mut()
        .unwrap()
        .truncate(1);
    v["alerts"] = serde_json::json!([]);
    let old = dir.path().join("old.json");
    std::fs::write(&old, serde_json::to_vec(&v).unwrap()).unwrap();
    let out = netdx()
        .arg("diff")
        .arg(&old)
        .arg(&new_path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let t = String::from_utf8(out.stdout).unwrap();
    for want in [
        "LAN changed (2)",
        "+ DHCP server 10.77.0.66 (02:00:00:00:00:66) offers 10.77.0.200",
        "+ unexpected IPv6 router fe80::66",
        "2 changes.",
    ] {
        assert!(t.contains(want), "missing {want:?} in:\n{t}");
    }
    // The same report on both sides: no change at all, LAN included.
    let out = netdx()
        .arg("diff")
        .arg(&new_path)
        .arg(&new_path)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let j = dir.path().join("d.json");
    let out = netdx()
        .arg("diff")
        .arg(&old)
        .arg(&new_path)
        .arg("-o")
        .arg(&j)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&j).unwrap()).unwrap();
    assert_eq!(v["lan_changed"][0]["check"], "dhcp");
    assert_eq!(v["lan_changed"][0]["change"], "appeared");
    assert_eq!(v["lan_changed"][1]["check"], "routers");
}
