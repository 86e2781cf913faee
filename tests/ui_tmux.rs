//! End to end: the real dashboard in a real terminal (tmux), inside the lab's scanner
//! namespace. It waits for the lab's hosts to appear, filters, selects a host, port-scans it,
//! exports, quits, and checks the screens, the exported report against the lab's ground
//! truth, and that the terminal is back in normal mode. Needs root and tmux; otherwise it says
//! SKIPPED.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::tmux::{self, Tmux as Session};
use common::{Icmp, Lab};
use serde_json::Value;

/// Lines of the host table (between the table's top border and its bottom border), left part.
fn table_rows(screen: &str) -> Vec<String> {
    screen
        .lines()
        .skip_while(|l| !l.starts_with("┌ Hosts"))
        .skip(2)
        .take_while(|l| !l.starts_with('└'))
        .map(|l| l.split("││").next().unwrap_or("").to_string())
        .filter(|l| l.trim_matches(['│', ' ']).len() > 1)
        .collect()
}

#[test]
fn dashboard_in_the_lab_filter_portscan_export_quit() {
    if !common::require_root("dashboard_in_the_lab_filter_portscan_export_quit") {
        return;
    }
    if !common::require(
        "dashboard_in_the_lab_filter_portscan_export_quit",
        tmux::available(),
        "needs tmux",
    ) {
        return;
    }
    let lab = Lab::up();
    let dir = tempfile::tempdir().unwrap();
    let session = Session {
        name: format!("netdx-ui-{}", std::process::id()),
    };
    let lan = lab.info().lan.ipv4.clone();
    let cmd = format!(
        "ip netns exec {ns} {bin} {lan} --no-inventory; echo NETDX-EXIT=$?; exec sleep 120",
        ns = lab.scanner_ns(),
        bin = env!("CARGO_BIN_EXE_netdx"),
    );
    let dir_s = dir.path().to_str().unwrap();
    session.tmux(&[
        "new-session",
        "-d",
        "-s",
        &session.name,
        "-x",
        "160",
        "-y",
        "48",
        "-c",
        dir_s,
        &cmd,
    ]);
    // The window follows the client size; pin it so the layout is the wide one.
    session.tmux(&[
        "resize-window",
        "-t",
        &session.name,
        "-x",
        "160",
        "-y",
        "48",
    ]);

    // 1. Hosts appear, then the first sweep ends and monitoring starts.
    let web = lab.host("web");
    let screen = session.wait_for("the first sweep to finish", Duration::from_secs(30), |s| {
        s.contains("● monitoring") && s.contains(&web.name)
    });
    assert_eq!(
        session.display("#{alternate_on}"),
        "1",
        "dashboard uses the alternate screen"
    );
    let rows = table_rows(&screen);
    for h in lab.hosts() {
        assert!(
            rows.iter().any(|r| r
                .split_whitespace()
                .next()
                .map(|c| c.trim_start_matches('│'))
                == Some(&h.ip.to_string())),
            "{} ({}) missing from the table:\n{screen}",
            h.key,
            h.ip
        );
    }
    for down in lab.down_addresses() {
        assert!(
            !rows.iter().any(|r| r.contains(&format!("│{down} "))),
            "{down} is down in the lab but listed:\n{screen}"
        );
    }
    assert!(
        screen.contains("LAN ✔ OK") || screen.contains("LAN ▲ DEGRADED"),
        "{screen}"
    );
    assert!(screen.contains("Gateway ✔ OK"), "{screen}");
    assert!(screen.contains("DNS ✔ OK"), "{screen}");

    // 2. Filter down to the web server.
    session.keys(&["/"]);
    session.type_text(&web.name);
    session.keys(&["Enter"]);
    let screen = session.wait_for("the filter", Duration::from_secs(5), |s| {
        s.contains(&format!("filter \"{}\"", web.name))
    });
    let rows = table_rows(&screen);
    assert_eq!(rows.len(), 1, "only the web server matches:\n{screen}");
    assert!(rows[0].contains(&web.ip.to_string()), "{screen}");
    assert!(
        screen.contains(&format!("┌ {} {} ", web.ip, web.name)),
        "selected:\n{screen}"
    );

    // 3. Port-scan it: the prompt proposes top100; ask for the lab's known ports instead.
    session.keys(&["p"]);
    session.wait_for("the port prompt", Duration::from_secs(5), |s| {
        s.contains(&format!("Ports to scan on {}", web.ip)) && s.contains("top100")
    });
    let ports: Vec<u16> = web.open.iter().chain(&web.closed).copied().collect();
    let spec = ports
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    session.keys(&["C-u"]);
    session.type_text(&spec);
    session.keys(&["Enter"]);
    // The event log says the scan ended; the detail pane counts the ports.
    let started = format!("port scan of {} ({spec})", web.ip);
    let counts = format!(
        "Ports  {} open · {} closed · 0 filtered",
        web.open.len(),
        web.closed.len()
    );
    let screen = session.wait_for("the port scan", Duration::from_secs(20), |s| {
        s.contains(&started) && s.contains(") done:") && s.contains(&counts)
    });
    for p in &web.open {
        assert!(
            screen.contains(&format!("{p:>5}/tcp open")),
            "port {p} open in the detail pane:\n{screen}"
        );
    }

    // 4. Export under a chosen name; the path written is shown.
    session.keys(&["e"]);
    session.wait_for("the export prompt", Duration::from_secs(5), |s| {
        s.contains("Export to") && s.contains("netdx-")
    });
    session.keys(&["C-u"]);
    session.type_text("dashboard.json");
    session.keys(&["Enter"]);
    let exported = dir.path().join("dashboard.json");
    let shown = format!("exported JSON report to {}", exported.display());
    session.wait_for("the export", Duration::from_secs(10), |s| {
        s.replace('\n', "").contains(&shown)
    });

    // 5. Quit: the shell gets the terminal back in normal mode.
    session.keys(&["q"]);
    let screen = session.wait_for("netdx to exit", Duration::from_secs(10), |s| {
        s.contains("NETDX-EXIT=")
    });
    assert!(screen.contains("NETDX-EXIT=0"), "{screen}");
    assert_eq!(
        session.display("#{alternate_on}"),
        "0",
        "alternate screen left"
    );
    assert!(
        !screen.contains("┌ Hosts"),
        "dashboard still drawn:\n{screen}"
    );

    check_export(&lab, &exported, &ports);
}

fn check_export(lab: &Lab, path: &Path, ports: &[u16]) {
    let text = std::fs::read_to_string(path).expect("exported file");
    let report: Value = serde_json::from_str(&text).expect("JSON");
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/report.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "schema: {errors:?}");
    assert_eq!(report["complete"], true, "first sweep finished");
    let hosts = report["hosts"].as_array().unwrap();
    let find = |ip: &str| hosts.iter().find(|h| h["ip"] == ip);
    for h in lab.hosts() {
        let r = find(&h.ip.to_string()).unwrap_or_else(|| panic!("{} not in export", h.key));
        assert_eq!(r["status"], "up", "{}: {r}", h.key);
        assert_eq!(r["mac"], h.mac.to_string(), "{}", h.key);
        assert_eq!(r["hostname"], h.name, "{}", h.key);
        let methods: Vec<&str> = r["methods"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(methods.contains(&"arp"), "{}: {methods:?}", h.key);
        if h.icmp == Icmp::Answers {
            assert!(methods.contains(&"icmp"), "{}: {methods:?}", h.key);
        }
        if h.icmp == Icmp::Drops {
            assert!(!methods.contains(&"icmp"), "{}: {methods:?}", h.key);
        }
    }
    for down in lab.down_addresses() {
        if let Some(r) = find(&down.to_string()) {
            // Never up: "no answer" (or "not probed" if no round reached it), never "down".
            assert!(
                r["status"] == "no_answer" || r["status"] == "not_probed",
                "{down}: {r}"
            );
        }
    }
    let web = lab.host("web");
    let r = find(&web.ip.to_string()).unwrap();
    let got: Vec<(u64, String)> = common::report::port_states(r)
        .into_iter()
        .map(|(p, s)| (u64::from(p), s))
        .collect();
    let mut want: Vec<(u64, String)> = ports
        .iter()
        .map(|&p| {
            let state = match web.port_state(p) {
                common::PortState::Open => "open",
                common::PortState::Closed => "closed",
                common::PortState::Filtered => "filtered",
            };
            (u64::from(p), state.to_string())
        })
        .collect();
    want.sort();
    assert_eq!(got, want, "web ports against ground truth");
}

/// Starts `cmd` (run by the shell, in `dir`) in a fresh 120x30 tmux session.
fn start(name: &str, dir: &Path, cmd: &str) -> Session {
    Session::start(name.to_string(), dir, cmd, 120, 30)
}

/// With no targets netdx sends nothing, so these run anywhere (no lab, no root).
#[test]
fn sigterm_and_ctrl_c_restore_the_terminal() {
    if !common::require(
        "sigterm_and_ctrl_c_restore_the_terminal",
        tmux::available(),
        "needs tmux",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let bin = env!("CARGO_BIN_EXE_netdx");
    // SIGTERM: exit status 143 (128 + 15), terminal back to normal.
    let cmd = format!(
        "sh -c 'echo $$ > {pid}; exec {bin}'; echo NETDX-EXIT=$?; exec sleep 60",
        pid = pidfile.display()
    );
    let s = start(
        &format!("netdx-term-{}", std::process::id()),
        dir.path(),
        &cmd,
    );
    s.wait_for("the context screen", Duration::from_secs(10), |x| {
        x.contains("Local network")
    });
    assert_eq!(s.display("#{alternate_on}"), "1");
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    let kill = Command::new("kill")
        .args(["-TERM", pid.trim()])
        .status()
        .unwrap();
    assert!(kill.success());
    let screen = s.wait_for("exit after SIGTERM", Duration::from_secs(10), |x| {
        x.contains("NETDX-EXIT=")
    });
    assert!(screen.contains("NETDX-EXIT=143"), "{screen}");
    assert_eq!(s.display("#{alternate_on}"), "0");
    assert!(!screen.contains("Local network"), "{screen}");
    drop(s);

    // Ctrl-C is a key in raw mode: a normal quit.
    let cmd = format!("{bin}; echo NETDX-EXIT=$?; exec sleep 60");
    let s = start(
        &format!("netdx-ctrlc-{}", std::process::id()),
        dir.path(),
        &cmd,
    );
    s.wait_for("the context screen", Duration::from_secs(10), |x| {
        x.contains("Local network")
    });
    s.keys(&["C-c"]);
    let screen = s.wait_for("exit after Ctrl-C", Duration::from_secs(10), |x| {
        x.contains("NETDX-EXIT=")
    });
    assert!(screen.contains("NETDX-EXIT=0"), "{screen}");
    assert_eq!(s.display("#{alternate_on}"), "0");
}

/// Run by [`a_panic_restores_the_terminal`] inside tmux: enters dashboard mode, then panics.
#[test]
#[ignore = "child of a_panic_restores_the_terminal"]
fn panic_child() {
    if std::env::var_os("NETDX_PANIC_CHILD").is_none() {
        return;
    }
    let _terminal = netdx::ui::term::setup().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    panic!("deliberate panic in dashboard mode");
}

#[test]
fn a_panic_restores_the_terminal() {
    if !common::require(
        "a_panic_restores_the_terminal",
        tmux::available(),
        "needs tmux",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let cmd = format!(
        "NETDX_PANIC_CHILD=1 {} --ignored --exact panic_child --nocapture --test-threads 1; echo CHILD-EXIT=$?; exec sleep 60",
        exe.display()
    );
    let s = start(
        &format!("netdx-panic-{}", std::process::id()),
        dir.path(),
        &cmd,
    );
    let screen = s.wait_for("the child to panic", Duration::from_secs(20), |x| {
        x.contains("CHILD-EXIT=")
    });
    assert!(
        screen.contains("deliberate panic in dashboard mode"),
        "the panic message is printed on the normal screen:\n{screen}"
    );
    assert_eq!(s.display("#{alternate_on}"), "0");
    // Raw mode is off: the terminal echoes typed text again (nothing reads it; in raw mode
    // nothing would be shown).
    s.type_text("echo-check-42");
    s.wait_for("the tty to echo", Duration::from_secs(5), |x| {
        x.contains("echo-check-42")
    });
}

/// The Diagnose view in the lab: `D` opens it and its rounds reach a verdict naming the lab's
/// gateway; the DNS server is cut off and brought back, and the outage's start and end show
/// in the event log; Esc returns to the host table and stops the rounds; `q` quits cleanly.
#[test]
fn diagnose_view_in_the_lab_logs_a_dns_outage() {
    const TEST: &str = "diagnose_view_in_the_lab_logs_a_dns_outage";
    if !common::require_root(TEST) {
        return;
    }
    if !common::require(TEST, tmux::available(), "needs tmux") {
        return;
    }
    let lab = Lab::up();
    let dir = tempfile::tempdir().unwrap();
    let session = Session {
        name: format!("netdx-diag-{}", std::process::id()),
    };
    let lan = lab.info().lan.ipv4.clone();
    let gateway = lab.info().lan.gateway.to_string();
    let dns = lab.dns().server.to_string();
    let cmd = format!(
        "ip netns exec {ns} {bin} {lan} --interval 1 --no-inventory; echo NETDX-EXIT=$?; exec sleep 120",
        ns = lab.scanner_ns(),
        bin = env!("CARGO_BIN_EXE_netdx"),
    );
    let (w, h) = ("120", "40");
    session.tmux(&[
        "new-session",
        "-d",
        "-s",
        &session.name,
        "-x",
        w,
        "-y",
        h,
        "-c",
        dir.path().to_str().unwrap(),
        &cmd,
    ]);
    session.tmux(&["resize-window", "-t", &session.name, "-x", w, "-y", h]);
    session.wait_for("the first sweep to finish", Duration::from_secs(30), |s| {
        s.contains("● monitoring")
    });

    // 1. Open the view: a healthy verdict naming the gateway and the DNS server, no target.
    session.type_text("D");
    let screen = session.wait_for("a healthy verdict", Duration::from_secs(20), |s| {
        s.contains("Diagnose · round") && s.contains("✔ OK") && s.contains("No target was given")
    });
    let flat = screen.replace('\n', " ");
    assert!(flat.contains(&gateway), "gateway {gateway}:\n{screen}");
    assert!(flat.contains(&dns), "DNS server {dns}:\n{screen}");
    assert!(screen.contains("Esc/D back to the hosts"), "{screen}");
    assert!(!screen.contains("┌ Hosts"), "{screen}");
    assert!(screen.contains("· diagnosis started:"), "{screen}");
    // The header keeps reporting the monitoring.
    assert!(screen.contains("Gateway ✔ OK"), "{screen}");

    // 2. The DNS server goes away: the verdict names DNS and the outage is logged.
    lab.break_lab(common::Scenario::DnsDown);
    let screen = session.wait_for("the DNS outage", Duration::from_secs(30), |s| {
        s.contains("failing layer: DNS") && s.contains("▼ diagnosis: DNS outage began")
    });
    assert!(screen.contains("ongoing"), "{screen}");

    // 3. Back: the recovery and the outage's duration are logged.
    lab.heal();
    let screen = session.wait_for("the recovery", Duration::from_secs(30), |s| {
        s.contains("▲ diagnosis: recovered, the DNS outage lasted")
    });
    assert!(screen.contains("Outages (1 in "), "{screen}");

    // 4. Esc: the host table again; the rounds go on in the background and say so.
    session.keys(&["Escape"]);
    let screen = session.wait_for("the host table", Duration::from_secs(10), |s| {
        s.contains("┌ Hosts") && s.contains("diagnosing (D)")
    });
    assert!(!screen.contains("Diagnose · round"), "{screen}");
    assert!(!screen.contains("diagnosis stopped"), "{screen}");
    // Back in the view: the same timeline, still counting; x stops the rounds.
    session.type_text("D");
    session.wait_for("the same timeline", Duration::from_secs(10), |s| {
        s.contains("Diagnose · round") && s.contains("Outages (1 in ")
    });
    session.type_text("x");
    let screen = session.wait_for("the rounds to stop", Duration::from_secs(10), |s| {
        s.contains("┌ Hosts") && s.contains("· diagnosis stopped after")
    });
    assert!(!screen.contains("diagnosing (D)"), "{screen}");

    // 5. D can target the selected host: select the web server, open the view, t.
    let web = lab.host("web");
    session.keys(&["/"]);
    session.type_text(&web.name);
    session.keys(&["Enter"]);
    session.wait_for("the web server selected", Duration::from_secs(10), |s| {
        s.contains(&format!("┌ {} {} ", web.ip, web.name))
    });
    session.type_text("D");
    session.wait_for("the view", Duration::from_secs(10), |s| {
        s.contains("Diagnose · round") || s.contains("No diagnosis yet")
    });
    session.type_text("t");
    let screen = session.wait_for(
        "a verdict on the web server",
        Duration::from_secs(30),
        |s| s.contains("target ✔ OK") && s.contains("Diagnose · round"),
    );
    let flat = screen.replace('\n', " ");
    assert!(flat.contains(&web.ip.to_string()), "{screen}");
    assert!(
        screen.contains(&format!("and the path to {}", web.ip)),
        "the start is logged with the target:\n{screen}"
    );
    session.keys(&["Escape"]);

    // 6. Quit: clean exit, terminal restored.
    session.keys(&["q"]);
    let screen = session.wait_for("netdx to exit", Duration::from_secs(10), |s| {
        s.contains("NETDX-EXIT=")
    });
    assert!(screen.contains("NETDX-EXIT=0"), "{screen}");
    assert_eq!(session.display("#{alternate_on}"), "0");
}

/// The header line of a screen.
fn header(screen: &str) -> &str {
    screen.lines().next().unwrap_or("")
}

/// The dashboard's header in the lab: every monitoring round re-checks the gateway, the DNS
/// server and the WAN target on the probe session. The lab's DNS server is stopped for about
/// eight rounds: the DNS cell turns red within a round and back within a round of its return.
/// Then the gateway leaves the LAN: the LAN cell is not OK while it is gone, and the WAN
/// target (a lab address set as wan_target in the config file) no longer answers. Without a
/// wan_target, the lab's resolver being private, the WAN cell says why it is not probed.
#[test]
fn dashboard_header_follows_dns_gateway_and_wan_in_the_lab() {
    const TEST: &str = "dashboard_header_follows_dns_gateway_and_wan_in_the_lab";
    if !common::require_root(TEST) || !common::require(TEST, tmux::available(), "needs tmux") {
        return;
    }
    let lab = Lab::up();
    let dir = tempfile::tempdir().unwrap();
    let web = lab.host("web");
    let dns = lab.dns().server.to_string();
    let gateway = lab.info().lan.gateway.to_string();
    let app = lab.wan_target("app");
    let netdx = |config: &str, name: &str| {
        let cmd = format!(
            "NETDX_CONFIG={config} ip netns exec {ns} {bin} {ip} --interval 1 --dns-timeout 800 --no-inventory; \
             echo NETDX-EXIT=$?; exec sleep 120",
            ns = lab.scanner_ns(),
            bin = env!("CARGO_BIN_EXE_netdx"),
            ip = web.ip,
        );
        // Wide enough for every cell's detail.
        Session::start(name.to_string(), dir.path(), &cmd, 160, 40)
    };

    // 1. No wan_target, and the lab's only resolver is private: WAN is not probed, and the
    //    header says why; DNS and the gateway are checked.
    let session = netdx("/dev/null", &format!("netdx-hdr0-{}", std::process::id()));
    let screen = session.wait_for("the first header check", Duration::from_secs(30), |s| {
        header(s).contains("DNS ✔ OK") && header(s).contains("Gateway ✔ OK")
    });
    assert!(
        header(&screen).contains("WAN ? UNKNOWN not probed: no public resolver"),
        "{screen}"
    );
    session.keys(&["q"]);
    session.wait_for("netdx to exit", Duration::from_secs(10), |s| {
        s.contains("NETDX-EXIT=0")
    });
    drop(session);

    // 2. wan_target = the lab's app server, beyond the gateway and three routers.
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!("[dashboard]\nwan_target = \"{}\"\n", app.ip),
    )
    .unwrap();
    let session = netdx(
        config.to_str().unwrap(),
        &format!("netdx-hdr-{}", std::process::id()),
    );
    let screen = session.wait_for("a healthy header", Duration::from_secs(30), |s| {
        let h = header(s);
        h.contains("DNS ✔ OK") && h.contains("Gateway ✔ OK") && h.contains("WAN ✔ OK")
    });
    assert!(header(&screen).contains("LAN ✔ OK"), "{screen}");
    assert!(
        header(&screen).contains(&format!("WAN ✔ OK {} ping", app.ip)),
        "{screen}"
    );
    let round = |s: &str| -> Option<u64> {
        let line = s.lines().nth(1)?;
        let rest = &line[line.find("· round ")? + "· round ".len()..];
        rest.split_whitespace().next()?.parse().ok()
    };

    // 3. DNS stops for about eight rounds: red within a round (one round plus the DNS
    //    timeout), red all along, green again within a round of its return.
    lab.break_lab(common::Scenario::DnsStopped);
    let stopped = std::time::Instant::now();
    let screen = session.wait_for("the DNS cell to turn red", Duration::from_secs(10), |s| {
        header(s).contains("DNS ✖ DOWN")
    });
    let took = stopped.elapsed();
    eprintln!("DNS cell red {took:?} after dnsmasq stopped");
    assert!(
        took < Duration::from_millis(3_500),
        "DNS red after {took:?}"
    );
    assert!(
        header(&screen).contains(&format!("DNS ✖ DOWN {dns} no answer")),
        "{screen}"
    );
    assert!(
        screen.contains(&format!("DNS ✖ DOWN: {dns} no answer")),
        "logged:\n{screen}"
    );
    let first = round(&screen).expect("the round number");
    let mut stayed_red = true;
    session.wait_seeing(
        "eight more rounds with DNS down",
        Duration::from_secs(20),
        &mut |s: &str| stayed_red &= header(s).contains("DNS ✖ DOWN"),
        |s| round(s).is_some_and(|r| r >= first + 7),
    );
    assert!(
        stayed_red,
        "the DNS cell went back to OK while dnsmasq was stopped"
    );
    lab.heal();
    let back = std::time::Instant::now();
    let screen = session.wait_for("the DNS cell to turn green", Duration::from_secs(10), |s| {
        header(s).contains("DNS ✔ OK")
    });
    let took = back.elapsed();
    eprintln!("DNS cell green {took:?} after dnsmasq restarted");
    assert!(
        took < Duration::from_millis(3_500),
        "DNS green after {took:?}"
    );
    assert!(
        screen.contains(&format!("DNS ✔ OK: {dns}")),
        "logged:\n{screen}"
    );

    // 4. The gateway leaves the LAN: gateway down, LAN not OK, WAN target unreachable.
    lab.break_lab(common::Scenario::GatewayDown);
    let screen = session.wait_for(
        "the gateway cell to turn red",
        Duration::from_secs(10),
        |s| header(s).contains("Gateway ✖ DOWN") && header(s).contains("WAN ✖ DOWN"),
    );
    let h = header(&screen);
    assert!(
        !h.contains("LAN ✔ OK"),
        "LAN OK with the gateway down:\n{screen}"
    );
    assert!(
        h.contains("LAN ▲ DEGRADED") || h.contains("LAN ✖ DOWN"),
        "{screen}"
    );
    assert!(
        screen.contains(&format!("gateway ✖ DOWN: {gateway} not answering")),
        "logged:\n{screen}"
    );
    assert!(screen.contains("gateway not answering"), "{screen}");
    lab.heal();
    session.wait_for("everything green again", Duration::from_secs(15), |s| {
        let h = header(s);
        h.contains("LAN ✔ OK") && h.contains("Gateway ✔ OK") && h.contains("WAN ✔ OK")
    });

    session.keys(&["q"]);
    let screen = session.wait_for("netdx to exit", Duration::from_secs(10), |s| {
        s.contains("NETDX-EXIT=")
    });
    assert!(screen.contains("NETDX-EXIT=0"), "{screen}");
}

/// Issue 11: the first sweep starts a device inventory (one line in the log). Then the DNS
/// server's host leaves the LAN while the dashboard watches it: after three silent rounds the
/// header counts an alert, the Alerts view names the device gone (with its MAC), and the view
/// says the LAN checks have not run. Quitting leaves the inventory with every lab host.
#[test]
fn alerts_view_in_the_lab_names_a_device_that_left() {
    const TEST: &str = "alerts_view_in_the_lab_names_a_device_that_left";
    if !common::require_root(TEST) {
        return;
    }
    if !common::require(TEST, tmux::available(), "needs tmux") {
        return;
    }
    let lab = Lab::up();
    let dir = tempfile::tempdir().unwrap();
    let lan = lab.info().lan.ipv4.clone();
    let dns = lab.dns().server.to_string();
    let cmd = format!(
        "ip netns exec {ns} env NETDX_CONFIG=/dev/null NETDX_DATA_DIR={data} {bin} {lan} --interval 1; echo NETDX-EXIT=$?; exec sleep 120",
        ns = lab.scanner_ns(),
        bin = env!("CARGO_BIN_EXE_netdx"),
        data = dir.path().join("data").display(),
    );
    let session = Session::start(
        format!("netdx-alerts-{}", std::process::id()),
        dir.path(),
        &cmd,
        120,
        40,
    );
    session.wait_for("the first sweep to finish", Duration::from_secs(30), |s| {
        s.contains("● monitoring")
    });
    // The sweep went into a new inventory: said in one line, not one alert per device.
    let screen = session.wait_for("the inventory's first line", Duration::from_secs(10), |s| {
        s.contains("inventory started: ")
    });
    let status = |s: &str| s.lines().nth(1).unwrap_or("").to_string();
    assert!(
        !status(&screen).contains("alert"),
        "no alert at baseline:\n{screen}"
    );

    lab.break_lab(common::Scenario::DnsDown);
    let screen = session.wait_for("the alert count", Duration::from_secs(30), |s| {
        status(s).contains("alert (A)") || status(s).contains("alerts (A)")
    });
    session.type_text("A");
    let gone = format!("device gone: {dns}");
    // The whole view, LAN checks box included: tmux may show a frame still being painted.
    let screen2 = session.wait_for("the Alerts view", Duration::from_secs(10), |s| {
        s.contains("┌ Alerts") && s.contains(&gone) && s.contains("LAN checks")
    });
    assert!(
        screen2.contains("has not answered for 3 rounds"),
        "{screen2}"
    );
    assert!(screen2.contains("LAN checks"), "{screen2}");
    // Nothing else changed on the LAN (lossy hosts included): the one alert is the one that
    // happened.
    assert!(screen2.contains("┌ Alerts · 1 "), "{screen2}\n{screen}");
    lab.heal();
    session.type_text("q");
    session.wait_for("netdx to exit", Duration::from_secs(10), |s| {
        s.contains("NETDX-EXIT=0")
    });
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_netdx"))
        .args(["inventory", "--format", "json"])
        .env("NETDX_DATA_DIR", dir.path().join("data"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = String::from_utf8_lossy(&out.stdout);
    for h in lab.hosts() {
        assert!(
            listed.contains(&format!("\"{}\"", h.ip)),
            "{} missing from the inventory:\n{listed}",
            h.ip
        );
    }
}

/// Issue 11, part 4, in the dashboard: an on-link /64 typed as a target is discovered by
/// multicast and NDP (not refused, not swept), and every lab host's IPv6 address is in the
/// table with its MAC's vendor.
#[test]
fn dashboard_discovers_an_on_link_ipv6_prefix() {
    const TEST: &str = "dashboard_discovers_an_on_link_ipv6_prefix";
    if !common::require_root(TEST) {
        return;
    }
    if !common::require(TEST, tmux::available(), "needs tmux") {
        return;
    }
    let lab = Lab::up();
    let dir = tempfile::tempdir().unwrap();
    let prefix = lab.info().lan.ipv6.clone();
    let cmd = format!(
        "ip netns exec {ns} env NETDX_CONFIG=/dev/null NETDX_DATA_DIR={data} {bin} {prefix} --interval 2; echo NETDX-EXIT=$?; exec sleep 60",
        ns = lab.scanner_ns(),
        bin = env!("CARGO_BIN_EXE_netdx"),
        data = dir.path().join("data").display(),
    );
    let session = Session::start(
        format!("netdx-v6-{}", std::process::id()),
        dir.path(),
        &cmd,
        160,
        48,
    );
    let screen = session.wait_for("the discovery to finish", Duration::from_secs(30), |s| {
        s.contains("● monitoring")
    });
    let rows = table_rows(&screen);
    for host in lab.hosts() {
        let v6 = host.ipv6.to_string();
        assert!(
            rows.iter()
                .any(|r| r.contains(&format!("│{v6} ")) || r.contains(&format!(" {v6} "))),
            "{} ({v6}) missing from the table:\n{screen}",
            host.key
        );
    }
    assert!(!screen.contains("not on a local link"), "{screen}");
    session.type_text("q");
    session.wait_for("netdx to exit", Duration::from_secs(10), |s| {
        s.contains("NETDX-EXIT=0")
    });
}
