//! `netdx diagnose` against the namespace lab: one test per failure, each breaking a lab of its
//! own in one way (`lab.py break`) and asserting the verdict, the failing layer and the exit
//! code; the traceroute hop list is checked against the lab's router chain.
//!
//! Runs take a mutex: diagnoses measure loss and time, and two of them beside each other on
//! two cores would measure the machine.

mod common;

use std::path::Path;
use std::process::Output;
use std::sync::Mutex;
use std::time::Duration;

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

fn output_run(out: Output, path: &Path) -> Run {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code().unwrap_or(-1);
    assert!(
        [0, 1, 3].contains(&code),
        "exit {code}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    Run {
        code,
        json: read_json(path),
        stdout,
    }
}

/// `netdx diagnose ARGS -o <tmp>/d.json` in the scanner namespace.
fn diagnose(lab: &Lab, args: &[&str]) -> Run {
    let dir = common::report_dir();
    let path = dir.path().join("d.json");
    let mut argv = vec!["diagnose"];
    argv.extend_from_slice(args);
    argv.extend_from_slice(&["-o", path.to_str().unwrap()]);
    output_run(lab.netdx(&argv), &path)
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

/// Status, failing layer and cause, with the whole terminal output on failure.
fn expect(run: &Run, status: &str, layer: Option<&str>, cause: &str, code: i32) {
    let j = &run.json;
    let ctx = format!("\n{}", run.stdout);
    assert_eq!(s(&j["status"]), status, "status{ctx}");
    assert_eq!(j["layer"].as_str(), layer, "failing layer{ctx}");
    assert_eq!(s(&j["cause"]), cause, "cause{ctx}");
    assert_eq!(run.code, code, "exit code{ctx}");
    let verdict = s(&j["verdict"]);
    assert!(!verdict.is_empty());
    assert!(run.stdout.contains(verdict), "the verdict is printed{ctx}");
    assert!(j["findings"][0]["text"].as_str().is_some() || status == "ok");
}

fn target<'a>(run: &'a Run, name: &str) -> &'a Value {
    run.json["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .find(|t| t["target"] == name)
        .unwrap_or_else(|| panic!("no target {name} in {}", run.json))
}

fn hop_addrs(trace: &Value) -> Vec<String> {
    trace["hops"]
        .as_array()
        .expect("hops")
        .iter()
        .map(|h| h["addr"].as_str().unwrap_or("*").to_string())
        .collect()
}

fn layer_status(run: &Run, layer: &str) -> String {
    run.json["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .find(|l| l["layer"] == layer)
        .map(|l| s(&l["status"]).to_string())
        .unwrap_or_default()
}

#[test]
fn healthy_lab_is_healthy_and_the_hop_list_is_the_router_chain() {
    let Some(lab) =
        common::lab_or_skip("healthy_lab_is_healthy_and_the_hop_list_is_the_router_chain")
    else {
        return;
    };
    let _g = serial();
    let app = lab.wan_target("app");
    let run = diagnose(&lab, &[&app.name]);
    expect(&run, "ok", None, "healthy", 0);
    assert!(
        s(&run.json["verdict"]).starts_with("Everything checked works"),
        "{}",
        run.stdout
    );
    for layer in ["local", "gateway", "dns", "wan", "target"] {
        assert_eq!(layer_status(&run, layer), "ok", "{layer}\n{}", run.stdout);
    }
    // The gateway: its MAC by ARP, every ping answered.
    let gw = lab.host("gw");
    let gwr = run.json["gateways"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["ip"] == gw.ip.to_string())
        .expect("the v4 gateway was checked");
    assert_eq!(s(&gwr["arp"]["mac"]), gw.mac.to_string());
    assert_eq!(gwr["ping"]["received"], gwr["ping"]["sent"]);
    // The resolver answers its check query with the lab's PTR record.
    let r = &run.json["resolvers"][0];
    assert_eq!(s(&r["ip"]), lab.dns().server.to_string());
    assert_eq!(s(&r["state"]), "answers");
    // The target: its name, the traceroute hop by hop, both ports open.
    let t = target(&run, &app.name);
    assert_eq!(s(&t["address"]), app.ip.to_string());
    let trace = &t["trace"];
    assert_eq!(s(&trace["protocol"]), "icmp");
    assert_eq!(trace["reached"], true);
    let want: Vec<String> = app.hops.iter().map(ToString::to_string).collect();
    assert_eq!(hop_addrs(trace), want, "hop list vs the lab's router chain");
    for h in trace["hops"].as_array().unwrap() {
        assert_eq!(h["received"], h["sent"], "every probe answered: {h}");
        assert_eq!(h["rate_limited"], false);
    }
    for p in t["ports"].as_array().unwrap() {
        assert_eq!(s(&p["state"]), "open", "{p}");
    }
}

#[test]
fn icmp_filtering_target_is_traced_with_tcp() {
    let Some(lab) = common::lab_or_skip("icmp_filtering_target_is_traced_with_tcp") else {
        return;
    };
    let _g = serial();
    let edge = lab.wan_target("edge");
    assert!(!edge.icmp);
    let run = diagnose(&lab, &[&edge.name, "-p", "443"]);
    expect(&run, "ok", None, "healthy", 0);
    let trace = &target(&run, &edge.name)["trace"];
    assert_eq!(s(&trace["protocol"]), "tcp/443", "{}", run.stdout);
    assert_eq!(trace["reached"], true);
    let want: Vec<String> = edge.hops.iter().map(ToString::to_string).collect();
    assert_eq!(hop_addrs(trace), want);
}

#[test]
fn no_target_checks_the_local_side_only_and_says_so() {
    let Some(lab) = common::lab_or_skip("no_target_checks_the_local_side_only_and_says_so") else {
        return;
    };
    let _g = serial();
    let run = diagnose(&lab, &[]);
    expect(&run, "ok", None, "healthy", 0);
    assert!(s(&run.json["verdict"]).contains("No target was given"));
    assert_eq!(layer_status(&run, "wan"), "skipped");
    assert_eq!(layer_status(&run, "target"), "skipped");
    assert!(run.json["targets"].as_array().unwrap().is_empty());
}

/// `--json`: stdout is the diagnosis -o writes, as one JSON document and nothing else; the
/// exit code is the verdict's, as without it.
#[test]
fn json_stdout_is_the_diagnosis_and_nothing_else() {
    let Some(lab) = common::lab_or_skip("json_stdout_is_the_diagnosis_and_nothing_else") else {
        return;
    };
    let _g = serial();
    let dir = common::report_dir();
    let path = dir.path().join("d.json");
    let out = lab.netdx(&["diagnose", "--json", "-o", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    assert_eq!(printed, read_json(&path));
    assert_eq!(s(&printed["status"]), "ok");
    assert!(stderr.contains("diagnosis written to"), "{stderr}");
}

#[test]
fn scanner_link_down() {
    let Some(lab) = common::lab_or_skip("scanner_link_down") else {
        return;
    };
    let _g = serial();
    lab.break_lab(Scenario::LinkDown);
    let run = diagnose(&lab, &[&lab.wan_target("app").name]);
    expect(&run, "down", Some("local"), "link-down", 3);
    assert!(s(&run.json["verdict"]).contains("eth0 has no link"));
    // Nothing beyond the machine itself was tried.
    for layer in ["gateway", "dns", "wan", "target"] {
        assert_eq!(layer_status(&run, layer), "skipped", "{layer}");
    }
}

#[test]
fn gateway_down() {
    let Some(lab) = common::lab_or_skip("gateway_down") else {
        return;
    };
    let _g = serial();
    lab.break_lab(Scenario::GatewayDown);
    let run = diagnose(&lab, &[&lab.wan_target("app").name]);
    expect(&run, "down", Some("gateway"), "gateway-unreachable", 3);
    let gw = lab.host("gw").ip.to_string();
    assert!(s(&run.json["verdict"]).contains(&gw), "{}", run.stdout);
    // The DNS server is on the LAN: it still answers, and the verdict blames the gateway.
    assert_eq!(layer_status(&run, "dns"), "ok");
}

#[test]
fn dns_server_down() {
    let Some(lab) = common::lab_or_skip("dns_server_down") else {
        return;
    };
    let _g = serial();
    lab.break_lab(Scenario::DnsDown);
    let run = diagnose(&lab, &[&lab.wan_target("app").name]);
    expect(&run, "down", Some("dns"), "dns-timeout", 3);
    let v = s(&run.json["verdict"]);
    let want = format!(
        "The gateway {} answers, but the DNS server {} does not answer: names cannot be resolved",
        lab.host("gw").ip,
        lab.dns().server
    );
    assert!(v.starts_with(&want), "{v}");
    assert_eq!(layer_status(&run, "gateway"), "ok");
}

#[test]
fn dns_answering_servfail() {
    let Some(lab) = common::lab_or_skip("dns_answering_servfail") else {
        return;
    };
    let _g = serial();
    lab.break_lab(Scenario::DnsServfail);
    let run = diagnose(&lab, &[&lab.wan_target("app").name]);
    expect(&run, "down", Some("dns"), "dns-error", 3);
    assert!(
        s(&run.json["verdict"]).contains("SERVFAIL"),
        "{}",
        run.stdout
    );
    assert_eq!(s(&run.json["resolvers"][0]["state"]), "errors");
}

#[test]
fn wan_blackholed_at_the_second_router() {
    let Some(lab) = common::lab_or_skip("wan_blackholed_at_the_second_router") else {
        return;
    };
    let _g = serial();
    lab.break_lab(Scenario::WanBlackhole { router: 2 });
    let app = lab.wan_target("app");
    let run = diagnose(&lab, &[&app.name]);
    expect(&run, "down", Some("wan"), "path-dead", 3);
    let r2 = lab.wan().routers[1].ip.to_string();
    let v = s(&run.json["verdict"]);
    assert!(
        v.contains("stops after the 2nd router past your gateway") && v.contains(&r2),
        "{v}"
    );
    // Behind a dead path the service is not judged.
    assert_eq!(layer_status(&run, "target"), "skipped");
    let trace = &target(&run, &app.name)["trace"];
    assert_eq!(trace["reached"], false);
    assert_eq!(trace["last_responding"], 3);
    // Up to the second router the hop list is the chain; after it, silence.
    let got = hop_addrs(trace);
    let want: Vec<String> = app.hops[..3].iter().map(ToString::to_string).collect();
    assert_eq!(got[..3], want[..]);
    assert_eq!(got[3], "*");
}

#[test]
fn thirty_percent_loss_on_the_uplink() {
    let Some(lab) = common::lab_or_skip("thirty_percent_loss_on_the_uplink") else {
        return;
    };
    let _g = serial();
    lab.break_lab(Scenario::UplinkLoss { percent: 30 });
    let app = lab.wan_target("app");
    let run = diagnose(&lab, &[&app.name]);
    expect(&run, "degraded", Some("wan"), "path-loss", 1);
    let trace = &target(&run, &app.name)["trace"];
    let loss = trace["dest_loss_pct"].as_f64().expect("destination loss");
    assert!((5.0..=70.0).contains(&loss), "loss {loss}\n{}", run.stdout);
    // Loss starts past the gateway (the gateway itself answers every probe and ping).
    assert!(trace["loss_onset"].as_u64().unwrap() >= 2, "{}", run.stdout);
    assert_eq!(trace["hops"][0]["received"], trace["hops"][0]["sent"]);
    assert_eq!(layer_status(&run, "gateway"), "ok");
}

#[test]
fn icmp_rate_limited_at_one_hop_only_is_not_an_outage() {
    let Some(lab) = common::lab_or_skip("icmp_rate_limited_at_one_hop_only_is_not_an_outage")
    else {
        return;
    };
    let _g = serial();
    lab.break_lab(Scenario::IcmpRateLimit { router: 2 });
    let app = lab.wan_target("app");
    let run = diagnose(&lab, &[&app.name]);
    expect(&run, "ok", None, "healthy", 0);
    let trace = &target(&run, &app.name)["trace"];
    let hops = trace["hops"].as_array().unwrap();
    assert!(
        hops[2]["loss_pct"].as_f64().unwrap() >= 20.0,
        "{}",
        run.stdout
    );
    for (i, h) in hops.iter().enumerate() {
        assert_eq!(h["rate_limited"], i == 2, "hop {}: {h}", i + 1);
    }
    assert_eq!(trace["loss_onset"], Value::Null);
    assert!(
        run.json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["cause"] == "rate-limited" && f["status"] == "ok")
    );
    assert!(s(&run.json["verdict"]).contains("not an outage"));
}

#[test]
fn target_port_closed() {
    let Some(lab) = common::lab_or_skip("target_port_closed") else {
        return;
    };
    let _g = serial();
    lab.break_lab(Scenario::PortClosed {
        target: "app",
        port: 443,
    });
    let app = lab.wan_target("app");
    let run = diagnose(&lab, &[&app.name, "-p", "443"]);
    expect(&run, "down", Some("target"), "port-closed", 3);
    assert!(s(&run.json["verdict"]).contains("port 443"));
    assert_eq!(layer_status(&run, "wan"), "ok", "the network is fine");
    // With the default ports, 80 still answers: degraded, not down.
    let both = diagnose(&lab, &[&app.name]);
    expect(&both, "degraded", Some("target"), "port-closed", 1);
}

#[test]
fn target_name_nxdomain() {
    let Some(lab) = common::lab_or_skip("target_name_nxdomain") else {
        return;
    };
    let _g = serial();
    let name = format!("nosuch.{}", lab.dns().zone);
    let run = diagnose(&lab, &[&name]);
    expect(&run, "down", Some("target"), "name-not-found", 3);
    assert!(s(&run.json["verdict"]).contains(&name));
    assert_eq!(layer_status(&run, "dns"), "ok", "DNS itself works");
}

#[test]
fn markdown_and_html_reports() {
    let Some(lab) = common::lab_or_skip("markdown_and_html_reports") else {
        return;
    };
    let _g = serial();
    lab.break_lab(Scenario::WanBlackhole { router: 2 });
    let app = lab.wan_target("app");
    let dir = common::report_dir();
    for ext in ["md", "html"] {
        let path = dir.path().join(format!("d.{ext}"));
        let out = lab.netdx(&["diagnose", &app.name, "-o", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(3));
        let text = std::fs::read_to_string(&path).expect("report written");
        assert!(text.contains("DOWN"), "{ext}");
        assert!(text.contains(&lab.wan().routers[1].ip.to_string()), "{ext}");
        if ext == "html" {
            assert!(text.contains("Content-Security-Policy"));
            assert!(!text.contains("<script"));
        } else {
            assert!(text.contains("| Hop | Address |"));
        }
    }
}

/// Watch mode through an outage: healthy rounds, the gateway goes away, comes back; the
/// timeline records one gateway outage with its start, end and duration.
#[test]
fn watch_mode_records_an_outage_timeline() {
    let Some(lab) = common::lab_or_skip("watch_mode_records_an_outage_timeline") else {
        return;
    };
    let _g = serial();
    let dir = common::report_dir();
    let path = dir.path().join("watch.json");
    let app = lab.wan_target("app");
    let child = lab
        .netdx_command(
            &[
                "diagnose",
                &app.name,
                "--watch",
                "--interval",
                "1",
                "-o",
                path.to_str().unwrap(),
            ],
            Duration::from_secs(120),
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn netdx diagnose --watch");
    let rounds = |want: u64| {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(text) = std::fs::read_to_string(&path)
                && let Ok(v) = serde_json::from_str::<Value>(&text)
                && v["rounds"].as_u64().unwrap_or(0) >= want
            {
                return v;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "round {want} never came"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let first = rounds(2);
    assert_eq!(s(&first["status"]), "ok");
    lab.break_lab(Scenario::GatewayDown);
    let during = rounds(first["rounds"].as_u64().unwrap() + 3);
    assert_eq!(s(&during["layer"]), "gateway", "{during}");
    lab.heal();
    let n = during["rounds"].as_u64().unwrap();
    // The first round after healing may still see the gateway's neighbour entry failed.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let after = loop {
        let v = rounds(n + 1);
        if s(&v["status"]) == "ok" {
            break v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never healthy again: {v}"
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    let timeline = after["timeline"].as_array().expect("timeline");
    // A round running while the gateway comes back can see part of its probes lost: at most
    // a one-round blip after the outage, over by now.
    assert!(!timeline.is_empty());
    for blip in &timeline[1..] {
        assert_eq!(blip["rounds"], 1, "{timeline:#?}");
        assert!(blip["end"].as_str().is_some(), "{timeline:#?}");
    }
    let o = &timeline[0];
    assert_eq!(s(&o["layer"]), "gateway");
    assert_eq!(s(&o["status"]), "down");
    assert!(o["end"].as_str().is_some(), "the outage ended: {o}");
    let d = o["duration_s"].as_f64().expect("duration");
    assert!((2.0..30.0).contains(&d), "duration {d}");
    // SIGTERM: timeout(1) passes it on to netdx, which prints the timeline and exits 0.
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let out = child.wait_with_output().expect("wait");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("outage starts"), "{stdout}");
    // Its end is announced: recovered, or (after a blip round) handed over.
    assert!(
        stdout.contains("recovered: the gateway outage lasted")
            || stdout.contains("gateway outage over after"),
        "{stdout}"
    );
    assert!(stdout.contains("Outages ("), "{stdout}");
}

/// Without CAP_NET_RAW: no ARP and no traceroute, said in the notes; the gateway is still
/// found (TCP connects when there is no ICMP at all, pings when unprivileged ICMP is allowed)
/// and the verdict still holds.
#[test]
fn unprivileged_diagnosis_says_what_it_could_not_do() {
    let Some(lab) = common::lab_or_skip("unprivileged_diagnosis_says_what_it_could_not_do") else {
        return;
    };
    let _g = serial();
    let app = lab.wan_target("app");
    let dir = common::report_dir();
    let run = |name: &str| -> Run {
        let path = dir.path().join(name);
        let script = format!(
            "exec setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all {} diagnose {} -o {}",
            env!("CARGO_BIN_EXE_netdx"),
            app.name,
            path.display()
        );
        output_run(lab.in_scanner(&["bash", "-c", &script]), &path)
    };
    // Kernel default in a new namespace: no unprivileged ICMP either.
    let bare = run("bare.json");
    expect(&bare, "ok", None, "healthy", 0);
    let notes = bare.json["notes"].to_string();
    assert!(
        notes.contains("CAP_NET_RAW") && notes.contains("ICMP is not available"),
        "{notes}"
    );
    let gw = &bare.json["gateways"][0];
    assert_ne!(s(&gw["tcp"]["state"]), "filtered", "{gw}");
    let t = target(&bare, &app.name);
    assert_eq!(t["trace"], Value::Null);
    // Unprivileged ICMP sockets allowed: pings instead of TCP.
    let sysctl = lab.in_scanner(&[
        "sh",
        "-c",
        "echo 0 2147483647 > /proc/sys/net/ipv4/ping_group_range",
    ]);
    assert!(sysctl.status.success());
    let icmp = run("icmp.json");
    expect(&icmp, "ok", None, "healthy", 0);
    let gw = &icmp.json["gateways"][0];
    assert_eq!(gw["ping"]["received"], gw["ping"]["sent"], "{gw}");
    assert!(
        target(&icmp, &app.name)["ping"]["received"]
            .as_u64()
            .unwrap()
            > 0
    );
}

/// IPv6 targets are traced on the session's ICMPv6 socket too: echo requests with a hop
/// limit to a LAN host that answers them, and TCP SYNs to one that drops ICMPv6 echo (its
/// port 443 open). Both are one hop away: the hop is the host itself.
#[test]
fn ipv6_targets_are_traced_with_icmpv6_and_tcp() {
    let Some(lab) = common::lab_or_skip("ipv6_targets_are_traced_with_icmpv6_and_tcp") else {
        return;
    };
    let _g = serial();
    let (web, fw) = (
        lab.host("web").ipv6.to_string(),
        lab.host("fw").ipv6.to_string(),
    );
    let run = diagnose(&lab, &[&web, &fw, "-p", "443"]);
    let by_address = |ip: &str| -> Value {
        run.json["targets"]
            .as_array()
            .expect("targets")
            .iter()
            .find(|t| t["address"] == ip)
            .unwrap_or_else(|| panic!("no target {ip} in {}", run.json))["trace"]
            .clone()
    };
    let t = by_address(&web);
    assert_eq!(s(&t["protocol"]), "icmp", "{t}");
    assert_eq!(t["reached"], true, "{t}");
    assert_eq!(hop_addrs(&t), vec![web.clone()]);
    let t = by_address(&fw);
    assert_eq!(s(&t["protocol"]), "tcp/443", "{t}");
    assert_eq!(t["reached"], true, "{t}");
    assert_eq!(hop_addrs(&t), vec![fw.clone()]);
}
