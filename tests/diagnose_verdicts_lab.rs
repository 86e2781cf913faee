//! `netdx diagnose` verdicts that need more than ping (issue 9, items 1 and 2), against the
//! namespace lab: a firewalled on-link host found by ARP and TCP, an empty on-link address,
//! a lossy on-link host (degraded, with the loss figure, every run), a slow LAN host, and a
//! service that answers while DNS is down.
//!
//! Runs take a mutex: diagnoses measure loss and time, and two of them beside each other on
//! two cores would measure the machine.

mod common;

use std::path::Path;
use std::sync::Mutex;

use common::{Lab, Scenario};
use serde_json::Value;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

struct Run {
    code: i32,
    json: Value,
    stdout: String,
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("diagnosis {} not written: {e}", path.display()));
    serde_json::from_str(&text).expect("diagnosis is JSON")
}

/// `netdx diagnose ARGS -o <tmp>/d.json` in the scanner namespace.
fn diagnose(lab: &Lab, args: &[&str]) -> Run {
    let dir = common::report_dir();
    let path = dir.path().join("d.json");
    let mut argv = vec!["diagnose"];
    argv.extend_from_slice(args);
    argv.extend_from_slice(&["-o", path.to_str().unwrap()]);
    let out = lab.netdx(&argv);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code().unwrap_or(-1);
    assert!(
        [0, 1, 3].contains(&code),
        "exit {code}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    Run {
        code,
        json: read_json(&path),
        stdout,
    }
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fn verdict(run: &Run) -> &str {
    s(&run.json["verdict"])
}

/// Status, failing layer, cause and exit code, with the whole terminal output on failure;
/// the verdict is printed.
fn expect(run: &Run, status: &str, layer: Option<&str>, cause: &str, code: i32) {
    let j = &run.json;
    let ctx = format!("\n{}", run.stdout);
    assert_eq!(s(&j["status"]), status, "status{ctx}");
    assert_eq!(j["layer"].as_str(), layer, "failing layer{ctx}");
    assert_eq!(s(&j["cause"]), cause, "cause{ctx}");
    assert_eq!(run.code, code, "exit code{ctx}");
    assert!(
        run.stdout.contains(verdict(run)),
        "the verdict is printed{ctx}"
    );
}

fn layer_summary(run: &Run, layer: &str) -> (String, String) {
    run.json["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .find(|l| l["layer"] == layer)
        .map(|l| (s(&l["status"]).to_string(), s(&l["summary"]).to_string()))
        .unwrap_or_default()
}

/// The number before " %" right after `after` in `text` ("loses 31 % of...").
fn percent_after(text: &str, after: &str) -> f64 {
    let rest = &text[text
        .find(after)
        .unwrap_or_else(|| panic!("{after:?} in {text}"))
        + after.len()..];
    let num: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    num.parse()
        .unwrap_or_else(|_| panic!("a number after {after:?} in {text}"))
}

/// Item 1: an on-link host that drops ICMP echo and port 80 but answers ARP and the TCP
/// discovery probes is "a firewall on the device", not "switched off".
#[test]
fn firewalled_on_link_host_is_a_firewall_not_switched_off() {
    let Some(lab) = common::lab_or_skip("firewalled_on_link_host_is_a_firewall_not_switched_off")
    else {
        return;
    };
    let _g = serial();
    let fw = lab.host("fw");
    assert!(!fw.answers_ping());
    let ip = fw.ip.to_string();
    let run = diagnose(&lab, &[&ip, "-p", "80"]);
    expect(&run, "down", Some("target"), "port-filtered", 3);
    let v = verdict(&run);
    assert!(
        v.starts_with(&format!("{ip} answers on the network (ARP, ")),
        "{v}"
    );
    assert!(
        v.ends_with("but drops pings and port 80 is filtered: a firewall on the device."),
        "{v}"
    );
    assert!(!v.contains("switched off"), "{v}");
    let t = &run.json["targets"][0];
    assert_eq!(s(&t["discovery"]["arp"]["mac"]), fw.mac.to_string());
    assert_eq!(t["ping"]["received"], 0, "{t}");
    // With 443 asked too (open), the device is reachable: degraded, the open port named.
    let both = diagnose(&lab, &[&ip, "-p", "443,80"]);
    expect(&both, "degraded", Some("target"), "port-filtered", 1);
    let v = verdict(&both);
    assert!(
        v.contains("TCP 443") && v.contains("port 80 is filtered: a firewall on the device"),
        "{v}"
    );
    // A host that drops only pings, its service answering: healthy, with a note.
    let laptop = lab.host("laptop");
    assert!(!laptop.answers_ping());
    let ip = laptop.ip.to_string();
    let run = diagnose(&lab, &[&ip, "-p", "22"]);
    expect(&run, "ok", None, "healthy", 0);
    assert!(
        run.json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["cause"] == "target-no-ping"
                && s(&f["text"]).starts_with(&format!("{ip} answers ARP"))),
        "{}",
        run.stdout
    );
}

/// Item 1: an address nothing uses stays "nothing answers at this address".
#[test]
fn empty_on_link_address_is_nothing_answers() {
    let Some(lab) = common::lab_or_skip("empty_on_link_address_is_nothing_answers") else {
        return;
    };
    let _g = serial();
    let empty = lab
        .info()
        .down
        .iter()
        .find(|a| a.is_ipv4())
        .expect("an unused v4 address")
        .to_string();
    let run = diagnose(&lab, &[&empty, "-p", "80"]);
    expect(&run, "down", Some("target"), "host-down", 3);
    let v = verdict(&run);
    assert!(
        v.starts_with(&format!("Nothing answers at this address ({empty})")),
        "{v}"
    );
    assert!(v.contains("no ARP reply"), "{v}");
    assert_eq!(
        run.json["targets"][0]["discovery"]["found_by"],
        Value::Array(vec![])
    );
}

/// Item 1: with the DNS server gone, a service asked for by address still answers, and the
/// target layer says so (the verdict blames DNS, and names the service that works).
#[test]
fn dns_down_while_the_service_answers() {
    let Some(lab) = common::lab_or_skip("dns_down_while_the_service_answers") else {
        return;
    };
    let _g = serial();
    lab.break_lab(Scenario::DnsDown);
    let app = lab.wan_target("app");
    let ip = app.ip.to_string();
    let run = diagnose(&lab, &[&ip, "-p", "443"]);
    expect(&run, "down", Some("dns"), "dns-timeout", 3);
    let want = format!("{ip}:443 answers; only name resolution fails.");
    assert!(verdict(&run).ends_with(&want), "{}", run.stdout);
    let (status, summary) = layer_summary(&run, "target");
    assert_eq!((status.as_str(), summary.as_str()), ("ok", want.as_str()));
    assert!(
        run.json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["cause"] == "service-answers" && f["layer"] == "target")
    );
}

/// Item 2: a LAN host losing 30 % of its packets is degraded (exit 1) with the figure in the
/// sentence, on every one of ten runs.
#[test]
fn lossy_on_link_target_is_degraded_every_run() {
    let Some(lab) = common::lab_or_skip("lossy_on_link_target_is_degraded_every_run") else {
        return;
    };
    let _g = serial();
    let lossy = lab.host("lossall");
    assert_eq!(lossy.loss_percent, 30);
    let ip = lossy.ip.to_string();
    let mut figures = Vec::new();
    for round in 0..10 {
        let run = diagnose(&lab, &[&ip, "-p", "80"]);
        let ctx = format!("run {round}\n{}", run.stdout);
        assert_eq!(s(&run.json["status"]), "degraded", "{ctx}");
        assert_eq!(run.code, 1, "{ctx}");
        assert_eq!(s(&run.json["cause"]), "target-loss", "{ctx}");
        let v = verdict(&run);
        assert!(v.starts_with(&format!("{ip} answers, but loses ")), "{ctx}");
        assert!(!v.contains("Everything checked works"), "{ctx}");
        let pct = percent_after(v, "loses");
        assert!((10.0..=60.0).contains(&pct), "loss {pct} % vs 30 %: {ctx}");
        figures.push(pct);
    }
    eprintln!("lossall: loss figures over 10 runs: {figures:?}");
}

/// Item 2: healthy lab hosts, on the LAN and across the WAN, are never called degraded.
#[test]
fn healthy_hosts_are_never_degraded() {
    let Some(lab) = common::lab_or_skip("healthy_hosts_are_never_degraded") else {
        return;
    };
    let _g = serial();
    let web = lab.host("web").ip.to_string();
    let app = lab.wan_target("app").ip.to_string();
    let slow = lab.wan_target("slow").ip.to_string();
    for round in 0..5 {
        for (ip, port) in [(&web, "443"), (&app, "443"), (&slow, "80")] {
            let run = diagnose(&lab, &[ip, "-p", port]);
            let ctx = format!("run {round} {ip}\n{}", run.stdout);
            assert_eq!(s(&run.json["status"]), "ok", "{ctx}");
            assert_eq!(run.code, 0, "{ctx}");
            assert!(
                verdict(&run).starts_with("Everything checked works"),
                "{ctx}"
            );
        }
    }
}

/// Item 2: a LAN host answering in 200 ms is degraded with the figure in the sentence.
#[test]
fn slow_lan_target_is_degraded() {
    let Some(lab) = common::lab_or_skip("slow_lan_target_is_degraded") else {
        return;
    };
    let _g = serial();
    lab.break_lab(Scenario::LanSlow {
        target: "pi4",
        delay_ms: 200,
    });
    let pi4 = lab.host("pi4");
    let ip = pi4.ip.to_string();
    for round in 0..3 {
        let run = diagnose(&lab, &[&ip, "-p", "8080"]);
        let ctx = format!("run {round}\n{}", run.stdout);
        expect(&run, "degraded", Some("target"), "target-slow", 1);
        let v = verdict(&run);
        assert!(
            v.starts_with(&format!("{ip} takes "))
                && v.contains("ms to answer on the local network"),
            "{ctx}"
        );
        let rest = &v[format!("{ip} takes ").len()..];
        let ms: f64 = rest
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("a figure: {ctx}"));
        assert!((190.0..400.0).contains(&ms), "{ms} ms: {ctx}");
    }
}

fn findings_text(run: &Run) -> String {
    run.json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| format!("{} {} {}\n", s(&f["layer"]), s(&f["cause"]), s(&f["text"])))
        .collect()
}

/// Item 7 in diagnose: a dangling CNAME is the target's verdict, a stale A record is named
/// in the "nothing answers" verdict, a PTR naming another host is a DNS note.
#[test]
fn dns_sanity_checks_in_diagnose() {
    let Some(lab) = common::lab_or_skip("dns_sanity_checks_in_diagnose") else {
        return;
    };
    let _g = serial();
    let zone = &lab.dns().zone;
    let run = diagnose(&lab, &[&format!("dangling.{zone}"), "-p", "80"]);
    expect(&run, "down", Some("target"), "dns-record", 3);
    assert_eq!(
        verdict(&run),
        format!(
            "The name dangling.{zone} cannot be used: dangling.{zone} is an alias (CNAME) of \
             gone.{zone}, which does not exist: a dangling record."
        )
    );
    let run = diagnose(&lab, &[&format!("stale.{zone}"), "-p", "80"]);
    expect(&run, "down", Some("target"), "host-down", 3);
    assert!(
        verdict(&run).ends_with(&format!(
            "stale.{zone} points at 10.77.0.99, where nothing answers (no ping, no TCP \
             answer): the record may be stale."
        )),
        "{}",
        run.stdout
    );
    let r1 = lab.wan().routers[0].ip.to_string();
    let run = diagnose(&lab, &[&format!("uplink.{zone}"), "-p", "80"]);
    let want = format!(
        "dns dns-record The PTR record of {r1} names router1.{zone}, not uplink.{zone}, and \
         router1.{zone} does not resolve back to {r1}: the PTR record is wrong or out of date."
    );
    assert!(findings_text(&run).contains(&want), "{}", run.stdout);
    assert!(run.stdout.contains("router1."), "printed: {}", run.stdout);
    // A healthy name through a CNAME has no DNS finding.
    let run = diagnose(&lab, &[&format!("www.{zone}"), "-p", "80"]);
    expect(&run, "ok", None, "healthy", 0);
    assert!(
        !findings_text(&run).contains("dns-record"),
        "{}",
        run.stdout
    );
}

/// Item 7: two lab resolvers that disagree (the second says app.lab.test does not exist):
/// degraded in diagnose, a "disagree" finding in the scan's DNS results.
#[test]
fn resolvers_that_disagree() {
    let Some(lab) = common::lab_or_skip("resolvers_that_disagree") else {
        return;
    };
    let _g = serial();
    lab.break_lab(Scenario::DnsSecond);
    let second = lab
        .dns()
        .second
        .clone()
        .expect("dns.second in topology.json");
    let app = lab.wan_target("app");
    assert!(second.omit.contains(&app.name));
    let run = diagnose(&lab, &[&app.name, "-p", "443"]);
    expect(&run, "degraded", Some("dns"), "dns-disagree", 1);
    assert!(
        verdict(&run).contains(&format!(
            "{} finds it, {} says it does not exist",
            lab.dns().server,
            second.server
        )),
        "{}",
        run.stdout
    );
    let dir = common::report_dir();
    let path = dir.path().join("scan.json");
    let out = lab.netdx(&[
        "scan",
        &lab.dns().server.to_string(),
        "--no-arp",
        "--dns",
        &format!("{}:A", app.name),
        "-o",
        path.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let report = read_json(&path);
    let f = &report["dns"]
        .as_array()
        .expect("dns results")
        .iter()
        .find(|r| s(&r["name"]).trim_end_matches('.') == app.name && r["type"] == "A")
        .unwrap_or_else(|| panic!("no A result for {}: {report}", app.name))["findings"];
    assert_eq!(f[0]["kind"], "disagree", "{report}");
    assert!(
        s(&f[0]["text"]).contains(&format!(
            "{} says it does not exist (NXDOMAIN)",
            second.server
        )),
        "{f}"
    );
    assert!(stdout.contains("resolvers disagree"), "{stdout}");
}

/// Item 7 in the scan's DNS results: each sanity check on the record made for it, none on a
/// healthy record.
#[test]
fn dns_sanity_checks_in_scan_results() {
    let Some(lab) = common::lab_or_skip("dns_sanity_checks_in_scan_results") else {
        return;
    };
    let _g = serial();
    let zone = lab.dns().zone.clone();
    let dir = common::report_dir();
    let path = dir.path().join("scan.json");
    let names = ["dangling", "stale", "uplink", "web", "www"];
    let mut args: Vec<String> = vec![
        "scan".into(),
        lab.dns().server.to_string(),
        "--no-arp".into(),
    ];
    for n in names {
        args.push("--dns".into());
        args.push(format!("{n}.{zone}:A"));
    }
    args.push("-o".into());
    args.push(path.to_str().unwrap().into());
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = lab.netdx(&argv);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let report = read_json(&path);
    let kinds = |name: &str| -> Vec<String> {
        report["dns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| s(&r["name"]).trim_end_matches('.') == format!("{name}.{zone}"))
            .unwrap_or_else(|| panic!("no result for {name}: {report}"))["findings"]
            .as_array()
            .map(|a| a.iter().map(|f| s(&f["kind"]).to_string()).collect())
            .unwrap_or_default()
    };
    assert_eq!(kinds("dangling"), ["dangling"], "{stdout}");
    assert_eq!(kinds("stale"), ["stale"], "{stdout}");
    assert_eq!(kinds("uplink"), ["ptr-mismatch"], "{stdout}");
    assert!(kinds("web").is_empty(), "{stdout}");
    assert!(kinds("www").is_empty(), "{stdout}");
    assert!(stdout.contains("DNS checks"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "stale.{zone} points at 10.77.0.99, where nothing answers"
        )),
        "{stdout}"
    );
}

/// Item 2, the baseline: in watch mode the session remembers a host's round trip, so a LAN
/// host that goes from 0.1 ms to 40 ms (under the 150 ms LAN limit) is degraded with both
/// figures, and healthy again once it is fast.
#[test]
fn watch_mode_sees_a_host_slower_than_its_baseline() {
    let Some(lab) = common::lab_or_skip("watch_mode_sees_a_host_slower_than_its_baseline") else {
        return;
    };
    let _g = serial();
    let dir = common::report_dir();
    let path = dir.path().join("watch.json");
    let ip = lab.host("pi4").ip.to_string();
    let mut child = lab
        .netdx_command(
            &[
                "diagnose",
                &ip,
                "-p",
                "8080",
                "--watch",
                "--interval",
                "1",
                "-o",
                path.to_str().unwrap(),
            ],
            std::time::Duration::from_secs(120),
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn netdx diagnose --watch");
    // The round after `after` rounds whose status is `want` (or fail after 40 s).
    let wait = |after: u64, want: &str| -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(40);
        loop {
            if let Ok(text) = std::fs::read_to_string(&path)
                && let Ok(v) = serde_json::from_str::<Value>(&text)
                && v["rounds"].as_u64().unwrap_or(0) > after
                && s(&v["status"]) == want
            {
                return v;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no {want} round after round {after}: {}",
                std::fs::read_to_string(&path).unwrap_or_default()
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    let fast = wait(1, "ok");
    lab.break_lab(Scenario::LanSlow {
        target: "pi4",
        delay_ms: 40,
    });
    let slow = wait(fast["rounds"].as_u64().unwrap(), "degraded");
    let v = s(&slow["verdict"]).to_string();
    assert_eq!(s(&slow["cause"]), "target-slow", "{slow}");
    assert!(
        v.starts_with(&format!("{ip} takes ")) && v.contains("times its usual"),
        "{v}"
    );
    let t = &slow["targets"][0];
    let base = t["baseline_rtt_ms"].as_f64().expect("a baseline");
    let now = t["rtt_median_ms"].as_f64().expect("a median");
    assert!(
        base < 5.0 && (35.0..150.0).contains(&now),
        "{base} -> {now}: {v}"
    );
    lab.heal();
    wait(slow["rounds"].as_u64().unwrap(), "ok");
    // SIGTERM: timeout(1) passes it on to netdx, which ends its watch and exits.
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0));
}
