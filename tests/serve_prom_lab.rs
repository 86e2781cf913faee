//! `netdx serve` watched by a real Prometheus, end to end (issue 12): the agent runs in the
//! lab's scanner namespace, a Prometheus beside it scrapes it every second and evaluates the
//! SHIPPED alert rules (assets/prometheus/netdx-rules.yml, loaded unchanged, `for: 1m`
//! included). The test breaks the lab three ways at once, each on checks of its own, so the
//! one-minute wait is paid once:
//!
//! ```text
//!   breakage        how (lab means)                            checks it breaks   alert
//!   host down       mail's bridge port down (no carrier)       mail-ping, -smtp   NetdxTargetDown
//!   DNS dropped     nftables drop of port 53 on the DNS host   dns-web            NetdxDnsFailing
//!   WAN blackhole   lab.py wan-blackhole: router 2 drops all   app-ping, -https   NetdxTargetDown
//! ```
//!
//! and asserts through Prometheus's HTTP API (`/api/v1/query`, `/api/v1/alerts`, curl inside
//! the namespace) that netdx_probe_success goes 1 -> 0, each alert goes pending, then firing
//! once its `for:` has passed (not before, and within the detection slack after), that
//! repairing the lab resolves them and brings the metrics back to 1, and, from Prometheus's own
//! history (ALERTS, up), that the healthy checks never alerted and that no scrape failed, a
//! SIGHUP reload in the middle of the run included. Prometheus's OpenMetrics parser must take
//! every sample of the body.
//!
//! To cover a new rule: add its checks to [`watches`] (with the breakage that must trip them
//! and the alert they must raise), or a new [`Breakage`] with its apply/repair.
//! Reload with a bad config, SIGTERM, scrapes during a reload and 100 scrapes at once are in
//! tests/serve_lab.rs.
//!
//! About 90 s: the shipped `for: 1m` plus detection and recovery.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use common::serve::{Agent, Alert, Prometheus, unix_now};
use common::{Lab, Scenario};

/// Where the agent listens, inside the scanner namespace.
const PORT: u16 = 9430;
/// Where Prometheus listens, inside the scanner namespace.
const PROM_PORT: u16 = 9090;
/// How long after a breakage an alert may become active: two failed runs (flap 2) at the
/// checks' 1 s interval with a 1 s timeout and ±10 % jitter, one scrape and one evaluation
/// (1 s each), and room for a loaded CI machine.
const DETECT: f64 = 15.0;
/// Longest shipped `for:` this test waits for as it is; a longer one needs a shortened copy of
/// the rules, which this test does not make today.
const MAX_FOR: f64 = 120.0;

/// One way the test breaks the lab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Breakage {
    /// The host `mail` leaves the LAN: its bridge port goes down.
    HostDown,
    /// The DNS server host drops every packet to port 53 (it still answers ping).
    DnsDropped,
    /// Router 2 drops everything it forwards: the WAN targets behind it are unreachable,
    /// router 2 itself still answers.
    WanBlackhole,
}

const HOST_DOWN: &str = "mail";
const NFT_TABLE: &str = "serve_prom_dns_drop";

impl Breakage {
    const ALL: [Breakage; 3] = [
        Breakage::HostDown,
        Breakage::DnsDropped,
        Breakage::WanBlackhole,
    ];

    /// Breaks the lab this way (`dir`: where to write rule files).
    fn apply(self, lab: &Lab, dir: &Path) {
        match self {
            Breakage::HostDown => port_link(lab, HOST_DOWN, "down"),
            Breakage::DnsDropped => {
                let file = dir.join("dns-drop.nft");
                std::fs::write(
                    &file,
                    format!(
                        "table inet {NFT_TABLE} {{\n  chain input {{\n    type filter hook input \
                         priority -10; policy accept;\n    udp dport 53 drop\n    \
                         tcp dport 53 drop\n  }}\n}}\n"
                    ),
                )
                .expect("nft file");
                let out = lab.exec(
                    &lab.host("dns").ns,
                    &["nft", "-f", file.to_str().expect("utf-8")],
                );
                assert!(
                    out.status.success(),
                    "nft: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            Breakage::WanBlackhole => lab.break_lab(Scenario::WanBlackhole { router: 2 }),
        }
    }

    fn repair(self, lab: &Lab) {
        match self {
            Breakage::HostDown => port_link(lab, HOST_DOWN, "up"),
            Breakage::DnsDropped => {
                let out = lab.exec(
                    &lab.host("dns").ns,
                    &["nft", "delete", "table", "inet", NFT_TABLE],
                );
                assert!(
                    out.status.success(),
                    "nft: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            // The only break made through lab.py.
            Breakage::WanBlackhole => lab.heal(),
        }
    }
}

/// Sets the bridge port of LAN host `key` down or up (what lab.py's gateway-down does to the
/// gateway).
fn port_link(lab: &Lab, key: &str, state: &str) {
    let bridge = &lab.info().namespaces.bridge;
    let port = format!("p-{key}");
    let out = lab.exec(bridge, &["ip", "link", "set", &port, state]);
    assert!(
        out.status.success(),
        "ip link set {port} {state}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One check the agent runs, and what the test expects of it.
struct Watch {
    name: &'static str,
    /// The `[[check]]` keys besides name and interval.
    spec: String,
    /// The breakage that must bring it down (None: it must stay up and never alert).
    broken_by: Option<Breakage>,
    /// The shipped alert it must raise while broken.
    alert: &'static str,
}

/// Every check of the run, from the lab's ground truth.
fn watches(lab: &Lab) -> Vec<Watch> {
    let mail = lab.host(HOST_DOWN);
    let smtp = mail.open[0];
    let web = lab.host("web");
    let dns = lab.host("dns");
    let app = lab.wan_target("app");
    let https = 443;
    let router2 = &lab.wan().routers[1];
    assert!(mail.answers_ping() && web.answers_ping() && dns.answers_ping() && app.icmp);
    assert!(app.open.contains(&https) && web.open.contains(&80));
    let ping = |ip: &dyn std::fmt::Display| format!("kind = \"ping\"\ntarget = \"{ip}\"");
    let tcp = |ip: &dyn std::fmt::Display, p: u16| {
        format!("kind = \"tcp\"\ntarget = \"{ip}\"\nport = {p}")
    };
    let w = |name, spec, broken_by, alert| Watch {
        name,
        spec,
        broken_by,
        alert,
    };
    let down = "NetdxTargetDown";
    vec![
        w("mail-ping", ping(&mail.ip), Some(Breakage::HostDown), down),
        w(
            "mail-smtp",
            tcp(&mail.ip, smtp),
            Some(Breakage::HostDown),
            down,
        ),
        w(
            "dns-web",
            format!(
                "kind = \"dns\"\ntarget = \"{}\"\nquery = \"web.lab.test\"\ntype = \"A\"\n\
                 expect = [\"{}\"]",
                dns.ip, web.ip
            ),
            Some(Breakage::DnsDropped),
            "NetdxDnsFailing",
        ),
        w(
            "app-ping",
            ping(&app.ip),
            Some(Breakage::WanBlackhole),
            down,
        ),
        w(
            "app-https",
            tcp(&app.ip, https),
            Some(Breakage::WanBlackhole),
            down,
        ),
        // Healthy all along, some right next to a breakage: no false alarm.
        w("web-ping", ping(&web.ip), None, down),
        w("web-http", tcp(&web.ip, 80), None, down),
        w("dns-host-ping", ping(&dns.ip), None, down),
        w("router2-ping", ping(&router2.ip), None, down),
        w("gw-ping", ping(&lab.host("gw").ip), None, down),
    ]
}

/// The `for:` of `alert` in the shipped rules file, in seconds (`30s`, `1m`, `1h` forms).
fn shipped_for(rules: &str, alert: &str) -> f64 {
    let mut lines = rules
        .lines()
        .skip_while(|l| l.trim() != format!("- alert: {alert}"));
    lines.next().unwrap_or_else(|| panic!("no rule {alert}"));
    let spec = lines
        .take_while(|l| !l.trim_start().starts_with("- alert:"))
        .find_map(|l| l.trim().strip_prefix("for:"))
        .map(str::trim)
        .unwrap_or("0s");
    let (n, unit) = spec.split_at(spec.len() - 1);
    let n: f64 = n.parse().unwrap_or_else(|_| panic!("for: {spec}"));
    n * match unit {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => panic!("for: {spec}"),
    }
}

/// What the test saw of one expected alert.
#[derive(Debug, Default, Clone, Copy)]
struct Seen {
    /// Unix seconds: when netdx_probe_success first read 0, the alert was first seen pending,
    /// first seen firing; and Prometheus's activeAt.
    zero: Option<f64>,
    pending: Option<f64>,
    firing: Option<f64>,
    active_at: Option<f64>,
}

fn alert_key(a: &Alert) -> (String, String) {
    (a.name().to_string(), a.label("check").to_string())
}

#[test]
fn prometheus_sees_breakages_alert_fire_and_resolve() {
    let test = "prometheus_sees_breakages_alert_fire_and_resolve";
    let have = Path::new("/usr/bin/prometheus").exists();
    if !common::require(test, have, "needs prometheus (Debian package prometheus)") {
        return;
    }
    let Some(lab) = common::lab_or_skip(test) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/prometheus/netdx-rules.yml");
    let rules_text = std::fs::read_to_string(&rules).expect("shipped rules");
    let watches = watches(&lab);
    let broken: Vec<&Watch> = watches.iter().filter(|w| w.broken_by.is_some()).collect();
    let healthy: Vec<&Watch> = watches.iter().filter(|w| w.broken_by.is_none()).collect();
    let hold = broken
        .iter()
        .map(|w| shipped_for(&rules_text, w.alert))
        .fold(0.0, f64::max);
    assert!(
        hold <= MAX_FOR,
        "a shipped for: of {hold} s is too long to wait for in CI: shorten a copy"
    );

    let mut config = String::from("flap = 2\n");
    for w in &watches {
        let _ = writeln!(
            config,
            "[[check]]\nname = \"{}\"\ninterval = 1\n{}",
            w.name, w.spec
        );
    }
    let file = dir.path().join("serve.toml");
    std::fs::write(&file, &config).expect("serve config");
    let agent = Agent::start(
        &lab,
        &["serve", "--config", file.to_str().expect("utf-8")],
        dir.path(),
    );
    let prom = Prometheus::start(
        &lab,
        lab.scanner_ns(),
        &format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n  - {}\n\
             scrape_configs:\n  - job_name: netdx\n    scrape_timeout: 1s\n    \
             static_configs:\n      - targets: ['127.0.0.1:{PORT}']\n",
            rules.display()
        ),
        dir.path(),
        PROM_PORT,
    );
    let ctx = |what: &str| format!("{what}\nagent log:\n{}", agent.log());
    let values = || -> BTreeMap<String, f64> {
        prom.query(&lab, "netdx_probe_success")
            .into_iter()
            .map(|s| (s.label("check").to_string(), s.value))
            .collect()
    };

    // Healthy start: every check 1 in Prometheus, nothing alerting.
    let t_start = unix_now();
    let clock = Instant::now();
    let mut now = values();
    while watches.iter().any(|w| now.get(w.name) != Some(&1.0)) {
        assert!(
            clock.elapsed() < Duration::from_secs(30),
            "{}",
            ctx(&format!("not every check up in Prometheus: {now:?}"))
        );
        std::thread::sleep(Duration::from_millis(500));
        now = values();
    }
    let alerts = prom.alerts(&lab);
    assert!(alerts.is_empty(), "{}", ctx(&format!("{alerts:?}")));
    // Prometheus's strict OpenMetrics parser took every sample of the body: as many as a
    // scrape of our own counts. (`promtool check metrics` cannot be used: it reads only the
    // older text format 0.0.4, and the agent serves OpenMetrics to every client.)
    let clock = Instant::now();
    loop {
        let out = lab.exec(
            lab.scanner_ns(),
            &[
                "curl",
                "-sf",
                "-m",
                "5",
                &format!("http://127.0.0.1:{PORT}/metrics"),
            ],
        );
        let body = String::from_utf8_lossy(&out.stdout);
        let samples = body
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .count() as f64;
        let took = prom.query(&lab, "scrape_samples_scraped{job=\"netdx\"}");
        if took.first().is_some_and(|s| s.value == samples) {
            break;
        }
        assert!(
            clock.elapsed() < Duration::from_secs(10),
            "{}",
            ctx(&format!(
                "Prometheus took {took:?} of {samples} samples:\n{body}"
            ))
        );
        std::thread::sleep(Duration::from_millis(300));
    }

    // Break the lab three ways at once.
    let t_break = unix_now();
    for b in Breakage::ALL {
        b.apply(&lab, dir.path());
    }
    let expected: BTreeSet<(String, String)> = broken
        .iter()
        .map(|w| (w.alert.to_string(), w.name.to_string()))
        .collect();
    let mut seen: BTreeMap<(String, String), Seen> = expected
        .iter()
        .map(|k| (k.clone(), Seen::default()))
        .collect();
    let mut false_alarms = Vec::new();
    let mut reloaded = false;
    let deadline = t_break + hold + DETECT + 5.0;
    while unix_now() < deadline && seen.values().any(|s| s.firing.is_none()) {
        let t = unix_now();
        let now = values();
        for w in &broken {
            let s = seen
                .get_mut(&(w.alert.to_string(), w.name.to_string()))
                .expect("seen");
            if s.zero.is_none() && now.get(w.name) == Some(&0.0) {
                s.zero = Some(t);
            }
        }
        let alerts = prom.alerts(&lab);
        // When the answer was in: a state seen is at most this old.
        let t = unix_now();
        for a in alerts {
            let Some(s) = seen.get_mut(&alert_key(&a)) else {
                false_alarms.push(format!("{:.1} s: {a:?}", t - t_break));
                continue;
            };
            s.active_at = Some(a.active_at);
            match a.state.as_str() {
                "pending" if s.pending.is_none() => s.pending = Some(t),
                "firing" if s.firing.is_none() => s.firing = Some(t),
                _ => {}
            }
        }
        // A reload with the same file halfway: the checks keep their state (their alerts
        // keep counting), and Prometheus's scrapes around it must all succeed (checked below).
        if !reloaded && t - t_break > hold / 2.0 {
            agent.signal("HUP");
            reloaded = true;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let t_fired = unix_now();
    assert!(false_alarms.is_empty(), "{}", ctx(&false_alarms.join("\n")));
    for ((alert, check), s) in &seen {
        let what = format!("{alert} for {check}: {s:?} (break at {t_break})");
        let zero = s
            .zero
            .unwrap_or_else(|| panic!("{}", ctx(&format!("never 0: {what}"))));
        assert!(
            zero - t_break < DETECT,
            "{}",
            ctx(&format!("late 0: {what}"))
        );
        let pending = s
            .pending
            .unwrap_or_else(|| panic!("{}", ctx(&format!("never pending: {what}"))));
        let firing = s
            .firing
            .unwrap_or_else(|| panic!("{}", ctx(&format!("never firing: {what}"))));
        let active = s.active_at.unwrap_or(f64::NAN);
        assert!(pending < firing, "{}", ctx(&what));
        assert!(
            (0.0..DETECT).contains(&(active - t_break)),
            "{}",
            ctx(&format!("active too late: {what}"))
        );
        // Firing once its `for:` has passed (Prometheus's evaluation times lag the wall clock
        // read after the answer by up to an interval, 1 s), at the evaluation right after
        // (1 s), seen by a poll of 0.5 s plus the time the poll itself takes on a loaded
        // machine.
        let held = firing - active;
        let wait = shipped_for(&rules_text, alert);
        assert!(
            (wait - 1.0..wait + 5.0).contains(&held),
            "{}",
            ctx(&format!(
                "firing {held:.1} s after active, for: is {wait} s: {what}"
            ))
        );
        eprintln!(
            "{alert} {check}: 0 after {:.1} s, active after {:.1} s, firing {:.1} s after active",
            zero - t_break,
            active - t_break,
            held
        );
    }
    let log = agent.log();
    assert!(log.contains("config reloaded"), "{}", ctx("no reload"));
    assert!(
        log.contains(&format!("started=0 stopped=0 kept={}", watches.len())),
        "{}",
        ctx("the reload changed checks")
    );

    // Repair: every alert resolves and every check reads 1 again.
    let t_heal = unix_now();
    for b in Breakage::ALL {
        b.repair(&lab);
    }
    let clock = Instant::now();
    let (mut now, mut alerts) = (values(), prom.alerts(&lab));
    while !(alerts.is_empty() && watches.iter().all(|w| now.get(w.name) == Some(&1.0))) {
        assert!(
            clock.elapsed() < Duration::from_secs(DETECT as u64 + 5),
            "{}",
            ctx(&format!("not recovered: {now:?}\n{alerts:?}"))
        );
        std::thread::sleep(Duration::from_millis(500));
        now = values();
        alerts = prom.alerts(&lab);
    }
    eprintln!("recovered {:.1} s after the repair", unix_now() - t_heal);

    // Prometheus's own history of the whole run: every scrape succeeded (the reload's too),
    // the healthy checks never read 0, and the only alerts ever raised are the expected ones,
    // each pending then firing.
    let range = format!("{}s", (unix_now() - t_start).ceil() as u64 + 2);
    let up = prom.query(
        &lab,
        &format!("min_over_time(up{{job=\"netdx\"}}[{range}])"),
    );
    assert!(
        up.len() == 1 && up[0].value == 1.0,
        "{}",
        ctx(&format!("a scrape failed: {up:?}\n{}", prom.log()))
    );
    let scrapes = prom.query(
        &lab,
        &format!("count_over_time(up{{job=\"netdx\"}}[{range}])"),
    );
    let span = t_heal - t_start;
    assert!(
        scrapes.first().is_some_and(|s| s.value >= span * 0.8),
        "{}",
        ctx(&format!("too few scrapes in {span:.0} s: {scrapes:?}"))
    );
    let lowest: BTreeMap<String, f64> = prom
        .query(
            &lab,
            &format!("min_over_time(netdx_probe_success[{range}])"),
        )
        .into_iter()
        .map(|s| (s.label("check").to_string(), s.value))
        .collect();
    for w in &healthy {
        assert_eq!(
            lowest.get(w.name),
            Some(&1.0),
            "{}",
            ctx(&format!("{} read 0 at some point", w.name))
        );
    }
    let raised: BTreeSet<(String, String, String)> = prom
        .query(&lab, &format!("max_over_time(ALERTS[{range}])"))
        .into_iter()
        .map(|s| {
            (
                s.label("alertname").to_string(),
                s.label("check").to_string(),
                s.label("alertstate").to_string(),
            )
        })
        .collect();
    let want: BTreeSet<(String, String, String)> = expected
        .iter()
        .flat_map(|(a, c)| ["firing", "pending"].map(|st| (a.clone(), c.clone(), st.to_string())))
        .collect();
    assert_eq!(raised, want, "{}", ctx("alerts in Prometheus's history"));
    eprintln!(
        "whole run {:.0} s (breakage to all firing {:.1} s)",
        unix_now() - t_start,
        t_fired - t_break
    );
    agent.signal("TERM");
}
