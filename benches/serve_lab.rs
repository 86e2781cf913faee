//! `netdx serve` against Prometheus's blackbox_exporter, side by side in one lab run, each
//! used the way it is used in reality, for the same 1,000 checks (500 ping + 500 TCP connect
//! against the lab's hosts, every 10 s), all inside the lab's scanner namespace:
//!
//! ```text
//!   netdx serve (1,000 checks of its own, 10 s)  ◄── /metrics every 10 s ── Prometheus :9090
//!   blackbox_exporter :9115 (modules icmp, tcp_connect)
//!                      ◄── /probe?module=…&target=… × 1,000 every 10 s ── Prometheus :9091
//!                          (file_sd: one target per check, the check's name as a label)
//! ```
//!
//! After a warm-up (every check established on both sides), over a 60 s window
//! (`-- --quick`: 20 s): CPU (% of one core, utime + stime from /proc/PID/stat) and peak RSS
//! of each agent and of the Prometheus that drives it; then the time of one `/metrics` scrape
//! (netdx) and of one `/probe` (blackbox, per module), measured with curl from inside the
//! namespace (median of 20), and Prometheus's own `scrape_duration_seconds` (median and p99
//! over the targets). netdx's targets (2 %, 60 MB, 20 ms) are the issue's.
//!
//! Not identical work: a netdx ping check sends 3 echo requests a run and keeps RTT/loss
//! windows; blackbox's icmp module sends 1 per probe. Both count one TCP connect per run.
//!
//! Needs root, Debian's `prometheus` and `prometheus-blackbox-exporter` (0.23). Install the
//! latter so it does not start in the root namespace:
//! `printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d;
//! apt-get install --no-install-recommends prometheus-blackbox-exporter;
//! systemctl disable --now prometheus-blackbox-exporter` (the bench starts it only in the lab).
//!
//! `cargo bench --bench serve_lab` (`-- --quick`: a 20 s window instead of 60 s).

#[path = "../tests/common/mod.rs"]
mod common;

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use common::Lab;
use common::bench::{Table, median};
use common::serve::{Agent, InNs, Prometheus};

const CHECKS_PER_KIND: usize = 500;
const INTERVAL_S: u32 = 10;
const NETDX: &str = "127.0.0.1:9430";
const BLACKBOX: &str = "127.0.0.1:9115";
const BLACKBOX_BIN: &str = "/usr/bin/prometheus-blackbox-exporter";

/// utime + stime of `pid`, in clock ticks (100 per second on Linux).
fn cpu_ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(") ").expect("stat format").1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    f[11].parse::<u64>().expect("utime") + f[12].parse::<u64>().expect("stime")
}

fn rss_kib(pid: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The same checks for both: (name, ping address) and (name, address:port).
struct Checks {
    ping: Vec<(String, String)>,
    tcp: Vec<(String, String)>,
}

fn checks(lab: &Lab) -> Checks {
    let pingable: Vec<_> = lab
        .hosts()
        .iter()
        .filter(|h| h.answers_ping())
        .map(|h| h.ip)
        .collect();
    let open: Vec<_> = lab
        .hosts()
        .iter()
        .filter(|h| h.exact_tcp())
        .flat_map(|h| h.open.iter().map(move |p| (h.ip, *p)))
        .collect();
    Checks {
        ping: (0..CHECKS_PER_KIND)
            .map(|i| (format!("p{i}"), pingable[i % pingable.len()].to_string()))
            .collect(),
        tcp: (0..CHECKS_PER_KIND)
            .map(|i| {
                let (ip, port) = open[i % open.len()];
                (format!("t{i}"), format!("{ip}:{port}"))
            })
            .collect(),
    }
}

fn netdx_config(c: &Checks) -> String {
    let mut config = String::from("flap = 2\n");
    for (name, ip) in &c.ping {
        let _ = writeln!(
            config,
            "[[check]]\nkind = \"ping\"\ntarget = \"{ip}\"\ninterval = {INTERVAL_S}\nname = \"{name}\""
        );
    }
    for (name, addr) in &c.tcp {
        let (ip, port) = addr.rsplit_once(':').expect("ip:port");
        let _ = writeln!(
            config,
            "[[check]]\nkind = \"tcp\"\ntarget = \"{ip}\"\nport = {port}\ninterval = {INTERVAL_S}\nname = \"{name}\""
        );
    }
    config
}

/// A file_sd file: one target per check, its name in the `check` label (so Prometheus keeps
/// 1,000 targets even where two checks probe the same address).
fn file_sd(list: &[(String, String)]) -> String {
    let groups: Vec<serde_json::Value> = list
        .iter()
        .map(|(name, target)| serde_json::json!({"targets": [target], "labels": {"check": name}}))
        .collect();
    serde_json::Value::Array(groups).to_string()
}

/// Prometheus driving blackbox_exporter: the multi-target exporter pattern of its README.
fn blackbox_prometheus(dir: &Path) -> String {
    let mut config = format!(
        "global:\n  scrape_interval: {INTERVAL_S}s\n  scrape_timeout: 5s\nscrape_configs:\n"
    );
    for (job, module) in [("bb_icmp", "icmp"), ("bb_tcp", "tcp_connect")] {
        let _ = write!(
            config,
            "  - job_name: {job}\n    metrics_path: /probe\n    params:\n      module: [{module}]\n    \
             file_sd_configs:\n      - files: ['{}']\n    relabel_configs:\n      \
             - source_labels: [__address__]\n        target_label: __param_target\n      \
             - source_labels: [__param_target]\n        target_label: target\n      \
             - target_label: __address__\n        replacement: '{BLACKBOX}'\n",
            dir.join(format!("{job}.json")).display()
        );
    }
    config
}

const BLACKBOX_MODULES: &str = "modules:\n  icmp:\n    prober: icmp\n    timeout: 5s\n    \
    icmp:\n      preferred_ip_protocol: ip4\n  tcp_connect:\n    prober: tcp\n    timeout: 5s\n    \
    tcp:\n      preferred_ip_protocol: ip4\n";

/// `curl -w FMT` of `url` from inside the scanner namespace.
fn curl(lab: &Lab, url: &str, fmt: &str) -> String {
    let out = lab.exec(
        lab.scanner_ns(),
        &["curl", "-s", "-o", "/dev/null", "-w", fmt, "-m", "10", url],
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Median and max of 20 curl time_totals of `url`, in ms.
fn timed(lab: &Lab, url: &str) -> (f64, f64) {
    let times: Vec<f64> = (0..20)
        .map(|_| {
            curl(lab, url, "%{time_total}")
                .trim()
                .parse::<f64>()
                .unwrap_or(f64::NAN)
                * 1000.0
        })
        .collect();
    let max = times.iter().cloned().fold(f64::NAN, f64::max);
    (median(times), max)
}

/// A number from a one-sample PromQL query (NaN when none).
fn scalar(lab: &Lab, prom: &Prometheus, q: &str) -> f64 {
    prom.query(lab, q).first().map_or(f64::NAN, |s| s.value)
}

/// CPU and peak RSS of a set of processes over one window.
struct Usage {
    cpu_pct: f64,
    peak_mb: f64,
}

fn measure(pids: &[&str], window: Duration) -> Vec<Usage> {
    let t0: Vec<u64> = pids.iter().map(|p| cpu_ticks(p)).collect();
    let mut peak: Vec<u64> = pids.iter().map(|p| rss_kib(p)).collect();
    let w0 = Instant::now();
    while w0.elapsed() < window {
        std::thread::sleep(Duration::from_secs(1));
        for (m, p) in peak.iter_mut().zip(pids) {
            *m = (*m).max(rss_kib(p));
        }
    }
    let secs = w0.elapsed().as_secs_f64();
    pids.iter()
        .zip(t0)
        .zip(peak)
        .map(|((p, t), m)| Usage {
            cpu_pct: (cpu_ticks(p) - t) as f64 / 100.0 / secs * 100.0,
            peak_mb: m as f64 / 1024.0,
        })
        .collect()
}

fn main() {
    if !common::require_root("serve_lab bench") {
        return;
    }
    let have = Path::new("/usr/bin/prometheus").exists() && Path::new(BLACKBOX_BIN).exists();
    if !common::require(
        "serve_lab bench",
        have,
        "needs prometheus and prometheus-blackbox-exporter (see the bench's header)",
    ) {
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let window = Duration::from_secs(if quick { 20 } else { 60 });
    let lab = Lab::up();
    let ns = lab.scanner_ns();
    let dir = tempfile::tempdir().expect("tempdir");
    let checks = checks(&lab);
    let total = checks.ping.len() + checks.tcp.len();

    let file = dir.path().join("serve.toml");
    std::fs::write(&file, netdx_config(&checks)).expect("config");
    let agent = Agent::start(
        &lab,
        &["serve", "--config", file.to_str().expect("utf-8")],
        dir.path(),
    );
    let bb_config = dir.path().join("blackbox.yml");
    std::fs::write(&bb_config, BLACKBOX_MODULES).expect("blackbox config");
    let blackbox = InNs::start(
        ns,
        &[
            BLACKBOX_BIN,
            &format!("--config.file={}", bb_config.display()),
            &format!("--web.listen-address={BLACKBOX}"),
        ],
        &dir.path().join("blackbox.log"),
        Duration::from_secs(900),
    );
    std::fs::write(dir.path().join("bb_icmp.json"), file_sd(&checks.ping)).expect("sd");
    std::fs::write(dir.path().join("bb_tcp.json"), file_sd(&checks.tcp)).expect("sd");
    let prom_netdx = Prometheus::start(
        &lab,
        ns,
        &format!(
            "global:\n  scrape_interval: {INTERVAL_S}s\n  scrape_timeout: 5s\nscrape_configs:\n  \
             - job_name: netdx\n    static_configs:\n      - targets: ['{NETDX}']\n"
        ),
        dir.path(),
        9090,
    );
    let prom_bb = Prometheus::start(&lab, ns, &blackbox_prometheus(dir.path()), dir.path(), 9091);

    // Warm-up: every netdx check established, every blackbox target probed once (Prometheus
    // spreads a job's targets over its interval).
    let start = Instant::now();
    let (mut nx, mut bb) = (f64::NAN, f64::NAN);
    while start.elapsed() < Duration::from_secs(90) {
        nx = scalar(&lab, &prom_netdx, "count(netdx_probe_success)");
        bb = scalar(&lab, &prom_bb, "count(probe_success)");
        if nx == total as f64 && bb == total as f64 {
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    eprintln!(
        "warm after {:.0} s: netdx {nx}, blackbox {bb} checks",
        start.elapsed().as_secs_f64()
    );
    let netdx_pid = agent.pid();
    let bb_pid = blackbox.pid().expect("blackbox_exporter runs");
    let pn_pid = prom_netdx.server.pid().expect("prometheus runs");
    let pb_pid = prom_bb.server.pid().expect("prometheus runs");
    let use_ = measure(&[&netdx_pid, &bb_pid, &pn_pid, &pb_pid], window);

    let up_netdx = scalar(&lab, &prom_netdx, "sum(netdx_probe_success)");
    let up_bb = scalar(&lab, &prom_bb, "sum(probe_success)");
    let q = |p: &Prometheus, qt: &str, job: &str| {
        scalar(
            &lab,
            p,
            &format!("quantile({qt}, scrape_duration_seconds{{job=~\"{job}\"}})"),
        ) * 1000.0
    };
    let prom_med = (
        q(&prom_netdx, "0.5", "netdx"),
        q(&prom_bb, "0.5", "bb_icmp"),
        q(&prom_bb, "0.5", "bb_tcp"),
    );
    let prom_p99 = (
        q(&prom_netdx, "0.99", "netdx"),
        q(&prom_bb, "0.99", "bb_icmp"),
        q(&prom_bb, "0.99", "bb_tcp"),
    );
    let metrics = timed(&lab, &format!("http://{NETDX}/metrics"));
    let size = curl(&lab, &format!("http://{NETDX}/metrics"), "%{size_download}");
    let probe_icmp = timed(
        &lab,
        &format!(
            "http://{BLACKBOX}/probe?module=icmp&target={}",
            checks.ping[0].1
        ),
    );
    let probe_tcp = timed(
        &lab,
        &format!(
            "http://{BLACKBOX}/probe?module=tcp_connect&target={}",
            checks.tcp[0].1
        ),
    );
    let probe_size = curl(
        &lab,
        &format!(
            "http://{BLACKBOX}/probe?module=icmp&target={}",
            checks.ping[0].1
        ),
        "%{size_download}",
    );
    agent.signal("TERM");
    drop(prom_bb);
    drop(prom_netdx);
    drop(blackbox);

    let mut t = Table::default();
    let all = total as f64;
    t.row(
        "checks established / up",
        format!("{nx} / {up_netdx}"),
        format!("{bb} / {up_bb}"),
        "1000 / 1000",
        Some(nx == all && up_netdx == all),
    );
    let w = window.as_secs();
    t.row(
        &format!("agent CPU over {w} s (% of one core)"),
        format!("{:.2} %", use_[0].cpu_pct),
        format!("{:.2} %", use_[1].cpu_pct),
        "<= 2 %",
        Some(use_[0].cpu_pct <= 2.0),
    );
    t.row(
        "agent peak RSS",
        format!("{:.1} MB", use_[0].peak_mb),
        format!("{:.1} MB", use_[1].peak_mb),
        "<= 60 MB",
        Some(use_[0].peak_mb <= 60.0),
    );
    t.row(
        &format!("its Prometheus CPU over {w} s"),
        format!("{:.2} %", use_[2].cpu_pct),
        format!("{:.2} %", use_[3].cpu_pct),
        "-",
        None,
    );
    t.row(
        "its Prometheus peak RSS",
        format!("{:.1} MB", use_[2].peak_mb),
        format!("{:.1} MB", use_[3].peak_mb),
        "-",
        None,
    );
    t.row(
        "agent + Prometheus CPU",
        format!("{:.2} %", use_[0].cpu_pct + use_[2].cpu_pct),
        format!("{:.2} %", use_[1].cpu_pct + use_[3].cpu_pct),
        "-",
        None,
    );
    t.row(
        "scrapes Prometheus makes per 10 s",
        "1".into(),
        format!("{total}"),
        "-",
        None,
    );
    t.row(
        "curl /metrics (all checks) | /probe icmp, median of 20",
        format!("{:.1} ms (max {:.1})", metrics.0, metrics.1),
        format!("{:.1} ms (max {:.1})", probe_icmp.0, probe_icmp.1),
        "< 20 ms",
        Some(metrics.0 < 20.0),
    );
    t.row(
        "bytes of that answer",
        size.trim().to_string(),
        probe_size.trim().to_string(),
        "-",
        None,
    );
    t.row(
        "curl /probe tcp_connect, median of 20",
        "-".into(),
        format!("{:.1} ms (max {:.1})", probe_tcp.0, probe_tcp.1),
        "-",
        None,
    );
    t.row(
        "Prometheus scrape_duration median (icmp / tcp)",
        format!("{:.1} ms", prom_med.0),
        format!("{:.1} / {:.1} ms", prom_med.1, prom_med.2),
        "-",
        None,
    );
    t.row(
        "Prometheus scrape_duration p99 (icmp / tcp)",
        format!("{:.1} ms", prom_p99.0),
        format!("{:.1} / {:.1} ms", prom_p99.1, prom_p99.2),
        "-",
        None,
    );
    t.row(
        "echo requests per ping check run",
        "3".into(),
        "1".into(),
        "-",
        None,
    );
    println!("peer: prometheus-blackbox-exporter, driven by a Prometheus of its own");
    t.print();
}
