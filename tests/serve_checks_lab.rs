//! `netdx serve`'s path, device-count, diagnosis and LAN safety checks in the namespace labs:
//! the agent runs in the scanner namespace and is scraped there; every expected value comes
//! from the lab's ground truth (tests/lab/topology.json, lan_lab.py's JSON). Each accuracy
//! assertion holds on every scrape over several runs of the check, so a check that is right
//! 7 times in 10 fails.

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Scenario;
use common::lan_lab::{LanFlags, lan_lab_or_skip};

/// Port the agent listens on inside the scanner namespace (its own loopback).
const PORT: u16 = 9431;

/// The agent, killed if a test panics before it stops it.
struct Agent {
    child: Child,
    log: PathBuf,
    ns: String,
}

impl Agent {
    fn start(mut cmd: Command, ns: &str, dir: &Path) -> Agent {
        let log = dir.join("serve.log");
        let err = File::create(&log).expect("log file");
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::from(err))
            .spawn()
            .expect("spawn netdx serve");
        Agent {
            child,
            log,
            ns: ns.to_string(),
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// GET `path` from inside the scanner namespace; the body.
    fn get(&self, path: &str) -> String {
        let url = format!("http://127.0.0.1:{PORT}{path}");
        let out = Command::new("timeout")
            .args([
                "10", "ip", "netns", "exec", &self.ns, "curl", "-s", "-m", "5",
            ])
            .arg(&url)
            .stdin(Stdio::null())
            .output()
            .expect("curl");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Poll /metrics until `ok` holds (or panic after `limit` with the last text and the log).
    fn wait(&self, what: &str, limit: Duration, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        let mut last = String::new();
        while start.elapsed() < limit {
            let body = self.get("/metrics");
            if ok(&body) {
                return body;
            }
            last = body;
            std::thread::sleep(Duration::from_millis(300));
        }
        panic!(
            "{what}: metrics never got there in {limit:?}:\n{last}\nlog:\n{}",
            self.log()
        );
    }

    /// Scrape every 300 ms for `span`, asserting `check` on each scrape: it must hold on every
    /// run of the check that happens meanwhile.
    fn hold(&self, span: Duration, check: impl Fn(&str)) -> usize {
        let start = Instant::now();
        let mut scrapes = 0;
        while start.elapsed() < span {
            check(&self.get("/metrics"));
            scrapes += 1;
            std::thread::sleep(Duration::from_millis(300));
        }
        scrapes
    }

    /// Runs of check `name` so far, from the status page's `runs` column.
    fn runs(&self, name: &str) -> u64 {
        let page = self.get("/");
        let row = format!("<tr><td>{name}</td>");
        page.lines()
            .find(|l| l.starts_with(&row))
            .and_then(|l| l.split("<td>").nth(5))
            .and_then(|c| c.split('<').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no runs for {name} on the page:\n{page}"))
    }

    /// Runs of each check in `names` since `before` (from [`Agent::runs`]).
    fn runs_since(&self, names: &[&str], before: &[u64]) -> Vec<u64> {
        names
            .iter()
            .zip(before)
            .map(|(n, b)| self.runs(n) - b)
            .collect()
    }

    /// SIGHUP to netdx itself: the child of `timeout` (`ip netns exec` execs it).
    fn reload(&self) {
        let pid = self.child.id();
        let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .expect("children of timeout");
        let netdx = children.split_whitespace().next().expect("netdx runs");
        let st = Command::new("kill")
            .args(["-s", "HUP", netdx])
            .status()
            .expect("kill");
        assert!(st.success(), "kill -s HUP");
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The value of the one sample `name{labels}` (labels exactly as the agent writes them).
fn value(text: &str, name: &str, labels: &str) -> Option<f64> {
    let prefix = format!("{name}{{{labels}}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
}

fn check(name: &str) -> String {
    format!("check=\"{name}\"")
}

/// Every `hop` label of the check's `netdx_path_hop_loss_ratio`, in order.
fn hop_labels(text: &str, name: &str) -> Vec<u32> {
    let prefix = format!("netdx_path_hop_loss_ratio{{check=\"{name}\",hop=\"");
    let mut hops: Vec<u32> = text
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .filter_map(|rest| rest.split('"').next()?.parse().ok())
        .collect();
    hops.sort_unstable();
    hops
}

#[test]
fn serve_path_devices_and_diagnosis_follow_the_lab() {
    let Some(lab) = common::lab_or_skip("serve_path_devices_and_diagnosis_follow_the_lab") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let app = lab.wan_target("app");
    let subnet = &lab.json()["lan"]["ipv4"];
    let subnet = subnet.as_str().expect("lan.ipv4");
    let iface = lab.json()["lan"]["iface"].as_str().expect("lan.iface");
    let config = dir.path().join("serve.toml");
    std::fs::write(
        &config,
        format!(
            r#"flap = 2
[[check]]
kind = "path"
target = "{ip}"
probes = 5
interval = 1
name = "path-app"
[[check]]
kind = "devices"
interface = "{iface}"
subnet = "{subnet}"
interval = 1.5
name = "lan-devices"
[[check]]
kind = "diagnose"
target = "{name}"
interval = 1
name = "diag-app"
"#,
            ip = app.ip,
            name = app.name,
        ),
    )
    .expect("config");
    let listen = format!("127.0.0.1:{PORT}");
    let cmd = lab.netdx_command(
        &[
            "serve",
            "--config",
            config.to_str().unwrap(),
            "--listen",
            &listen,
        ],
        Duration::from_secs(300),
    );
    let agent = Agent::start(cmd, lab.scanner_ns(), dir.path());

    let hops = app.hops.len() as f64;
    let devices = lab.hosts().len() as f64;
    let (p, d, x) = (check("path-app"), check("lan-devices"), check("diag-app"));
    let layer = |text: &str, l: &str| {
        value(
            text,
            "netdx_diagnosis_layer",
            &format!("check=\"diag-app\",layer=\"{l}\""),
        )
    };
    agent.wait("established", Duration::from_secs(60), |t| {
        value(t, "netdx_path_reached", &p).is_some()
            && value(t, "netdx_diagnosis_ok", &x).is_some()
            && value(t, "netdx_lan_devices", &d).is_some()
    });
    // Healthy: about 12 runs of the path and diagnosis checks and 8 sweeps, every one right.
    let names = ["path-app", "lan-devices", "diag-app"];
    let before: Vec<u64> = names.iter().map(|n| agent.runs(n)).collect();
    let scrapes = agent.hold(Duration::from_secs(12), |t| {
        assert_eq!(value(t, "netdx_path_reached", &p), Some(1.0), "{t}");
        assert_eq!(value(t, "netdx_path_hops", &p), Some(hops), "{t}");
        let want: Vec<u32> = (1..=app.hops.len() as u32).collect();
        assert_eq!(
            hop_labels(t, "path-app"),
            want,
            "a loss series per hop\n{t}"
        );
        assert_eq!(value(t, "netdx_lan_devices", &d), Some(devices), "{t}");
        assert_eq!(
            value(t, "netdx_lan_new_devices_total", &d),
            Some(0.0),
            "no device is new in a lab that does not change\n{t}"
        );
        assert_eq!(value(t, "netdx_diagnosis_ok", &x), Some(1.0), "{t}");
        for l in ["local", "gateway", "dns", "wan", "target"] {
            assert_eq!(layer(t, l), Some(0.0), "{l}\n{t}");
        }
    });
    assert!(scrapes >= 20, "{scrapes} scrapes");
    let runs = agent.runs_since(&names, &before);
    eprintln!("runs of {names:?} while held: {runs:?}");
    assert!(
        runs[0] >= 8 && runs[1] >= 5 && runs[2] >= 8,
        "runs of {names:?} while held: {runs:?}"
    );
    let page = agent.get("/");
    assert!(
        page.contains(&format!("reached {} in {} hops", app.ip, app.hops.len())),
        "{page}"
    );

    // DNS server gone: the diagnosis blames the dns layer, on every run; the path (by
    // address) is unaffected.
    lab.break_lab(Scenario::DnsDown);
    agent.wait("dns layer", Duration::from_secs(90), |t| {
        layer(t, "dns") == Some(1.0)
    });
    let before = [agent.runs("diag-app")];
    agent.hold(Duration::from_secs(20), |t| {
        assert_eq!(value(t, "netdx_diagnosis_ok", &x), Some(0.0), "{t}");
        assert_eq!(layer(t, "dns"), Some(1.0), "{t}");
        for l in ["local", "gateway", "wan", "target"] {
            assert_eq!(layer(t, l), Some(0.0), "{l}\n{t}");
        }
        assert_eq!(value(t, "netdx_path_reached", &p), Some(1.0), "{t}");
    });
    let runs = agent.runs_since(&["diag-app"], &before);
    eprintln!("diagnosis runs with DNS down: {runs:?}");
    assert!(runs[0] >= 3, "diagnosis runs with DNS down: {runs:?}");
    let page = agent.get("/");
    assert!(
        page.contains(&format!(
            "the DNS server {} does not answer",
            lab.dns().server
        )),
        "the verdict in words on the page:\n{page}"
    );
    assert!(
        agent.log().contains("does not answer"),
        "the verdict in the log:\n{}",
        agent.log()
    );

    lab.heal();
    agent.wait("healed", Duration::from_secs(90), |t| {
        value(t, "netdx_diagnosis_ok", &x) == Some(1.0) && layer(t, "dns") == Some(0.0)
    });

    // 30 % of the packets from the gateway to the first router lost: the gateway (hop 1)
    // loses nothing on every run, the hops behind it lose about 30 % over the runs.
    lab.break_lab(Scenario::UplinkLoss { percent: 30 });
    let hop = |t: &str, n: usize| {
        value(
            t,
            "netdx_path_hop_loss_ratio",
            &format!("check=\"path-app\",hop=\"{n}\""),
        )
    };
    let before = [agent.runs("path-app")];
    let seen = std::sync::Mutex::new(Vec::new());
    agent.hold(Duration::from_secs(12), |t| {
        assert_eq!(hop(t, 1), Some(0.0), "{t}");
        if let Some(x) = value(t, "netdx_path_loss_ratio", &p) {
            seen.lock().unwrap().push(x);
        }
    });
    let runs = agent.runs_since(&["path-app"], &before);
    let seen = seen.into_inner().unwrap();
    let mean = seen.iter().sum::<f64>() / seen.len().max(1) as f64;
    eprintln!("path runs with 30 % uplink loss: {runs:?}, mean end loss {mean:.2}");
    assert!(runs[0] >= 8, "{runs:?}");
    assert!(
        (0.1..=0.55).contains(&mean),
        "mean end-to-end loss {mean} over {seen:?}"
    );
}

#[test]
fn serve_lan_check_reports_the_rogue_dhcp_server() {
    let flags = LanFlags {
        rogue_dhcp: true,
        ..LanFlags::default()
    };
    let Some(lab) = lan_lab_or_skip("serve_lan_check_reports_the_rogue_dhcp_server", flags) else {
        return;
    };
    let info = lab.info().clone();
    let rogue = info
        .rogue_dhcp
        .as_ref()
        .expect("the lab runs a rogue DHCP server");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("serve.toml");
    let write = |expect: &str| {
        std::fs::write(
            &config,
            format!(
                "flap = 1\n[[check]]\nkind = \"lan\"\ninterface = \"{}\"\nwindow = 2\n\
                 interval = 2\nname = \"lan\"\n{expect}",
                info.iface
            ),
        )
        .expect("config")
    };
    write("");
    let listen = format!("127.0.0.1:{PORT}");
    let cmd = lab.netdx_command(
        &[
            "serve",
            "--config",
            config.to_str().unwrap(),
            "--listen",
            &listen,
        ],
        Duration::from_secs(300),
    );
    let agent = Agent::start(cmd, lab.scanner_ns(), dir.path());
    let l = check("lan");
    let dhcp = "check=\"lan\",part=\"dhcp\"";
    agent.wait("first LAN run", Duration::from_secs(30), |t| {
        value(t, "netdx_lan_dhcp_servers", &l).is_some()
    });
    // About ten runs, each must see both servers and name one rogue.
    let before = [agent.runs("lan")];
    agent.hold(Duration::from_secs(21), |t| {
        assert_eq!(value(t, "netdx_lan_dhcp_servers", &l), Some(2.0), "{t}");
        assert_eq!(
            value(t, "netdx_lan_rogue_dhcp_servers", &l),
            Some(1.0),
            "{t}"
        );
        assert_eq!(value(t, "netdx_lan_check_ok", dhcp), Some(0.0), "{t}");
        assert_eq!(
            value(t, "netdx_lan_check_ok", "check=\"lan\",part=\"duplicates\""),
            Some(1.0),
            "{t}"
        );
        assert_eq!(
            value(t, "netdx_lan_check_ok", "check=\"lan\",part=\"arp\""),
            Some(1.0),
            "{t}"
        );
        assert_eq!(
            value(
                t,
                "netdx_probe_success",
                &format!("check=\"lan\",kind=\"lan\",target=\"{}\"", info.iface)
            ),
            Some(0.0),
            "{t}"
        );
    });
    let runs = agent.runs_since(&["lan"], &before);
    eprintln!("LAN runs while held: {runs:?}");
    assert!(runs[0] >= 8, "LAN runs while held: {runs:?}");
    let page = agent.get("/");
    assert!(
        page.contains(&format!("rogue DHCP server {}", rogue.ip)),
        "the alert in words on the page:\n{page}"
    );

    // Both servers allowed: nothing rogue any more.
    write(&format!(
        "expect_dhcp = [\"{}\", \"{}\"]\n",
        info.gateway.dhcp.ip, rogue.ip
    ));
    agent.reload();
    agent.wait("both allowed", Duration::from_secs(30), |t| {
        value(t, "netdx_lan_check_ok", dhcp) == Some(1.0)
    });
    agent.hold(Duration::from_secs(9), |t| {
        assert_eq!(
            value(t, "netdx_lan_rogue_dhcp_servers", &l),
            Some(0.0),
            "{t}"
        );
        assert_eq!(value(t, "netdx_lan_dhcp_servers", &l), Some(2.0), "{t}");
        assert_eq!(value(t, "netdx_lan_check_ok", dhcp), Some(1.0), "{t}");
    });
}
