//! `netdx serve` with 1,000 checks (500 ping + 500 TCP against the lab's hosts, every 10 s)
//! in the namespace lab, needs root: the agent's CPU (% of one core) and peak RSS over the
//! measuring window, and the time of a `/metrics` scrape of all 1,000 checks (curl's
//! time_total, from inside the scanner namespace), against the targets (2 %, 60 MB,
//! 20 ms). blackbox_exporter is not compared here.
//!
//! `cargo bench --bench serve_lab` (`-- --quick`: a 20 s window instead of 60 s).

#[path = "../tests/common/mod.rs"]
mod common;

use std::fmt::Write as _;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::bench::{Table, median};

const CHECKS_PER_KIND: usize = 500;

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

fn main() {
    if !common::require_root("serve_lab bench") {
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let window = Duration::from_secs(if quick { 20 } else { 60 });
    let lab = common::Lab::up();
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
    let mut config = String::from("flap = 2\n");
    for i in 0..CHECKS_PER_KIND {
        let ip = pingable[i % pingable.len()];
        let _ = writeln!(
            config,
            "[[check]]\nkind = \"ping\"\ntarget = \"{ip}\"\ninterval = 10\nname = \"p{i}\""
        );
        let (ip, port) = open[i % open.len()];
        let _ = writeln!(
            config,
            "[[check]]\nkind = \"tcp\"\ntarget = \"{ip}\"\nport = {port}\ninterval = 10\nname = \"t{i}\""
        );
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("serve.toml");
    std::fs::write(&file, config).expect("config");
    let mut child = lab
        .netdx_command(
            &["serve", "--config", file.to_str().expect("utf-8")],
            Duration::from_secs(600),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn netdx serve");
    let tpid = child.id();
    std::thread::sleep(Duration::from_millis(500));
    let children = std::fs::read_to_string(format!("/proc/{tpid}/task/{tpid}/children"))
        .expect("children of timeout");
    let pid = children
        .split_whitespace()
        .next()
        .expect("netdx")
        .to_string();
    let url = "http://127.0.0.1:9430/metrics";
    let scrape = |fmt: &str| -> String {
        let out = lab.exec(
            lab.scanner_ns(),
            &["curl", "-s", "-o", "/dev/null", "-w", fmt, "-m", "10", url],
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // Warm-up: every check established (two runs each at 10 s, spread over the first second).
    let start = Instant::now();
    let established = loop {
        let out = lab.exec(lab.scanner_ns(), &["curl", "-s", "-m", "10", url]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let n = text
            .lines()
            .filter(|l| l.starts_with("netdx_probe_success{"))
            .count();
        if n == 2 * CHECKS_PER_KIND || start.elapsed() > Duration::from_secs(60) {
            let up = text
                .lines()
                .filter(|l| l.starts_with("netdx_probe_success{") && l.ends_with(" 1.0"))
                .count();
            break (n, up);
        }
        std::thread::sleep(Duration::from_secs(1));
    };
    let t0 = cpu_ticks(&pid);
    let w0 = Instant::now();
    let mut peak = rss_kib(&pid);
    while w0.elapsed() < window {
        std::thread::sleep(Duration::from_secs(1));
        peak = peak.max(rss_kib(&pid));
    }
    let cpu_pct = (cpu_ticks(&pid) - t0) as f64 / 100.0 / w0.elapsed().as_secs_f64() * 100.0;
    let times: Vec<f64> = (0..20)
        .map(|_| {
            scrape("%{time_total}")
                .trim()
                .parse::<f64>()
                .unwrap_or(f64::NAN)
                * 1000.0
        })
        .collect();
    let size = scrape("%{size_download}");
    let _ = std::process::Command::new("kill")
        .args(["-s", "TERM", &pid])
        .status();
    let _ = child.wait();

    let mut table = Table::default();
    table.row(
        "checks established / up",
        format!("{} / {}", established.0, established.1),
        "-".into(),
        "1000 / 1000",
        Some(established.0 == 2 * CHECKS_PER_KIND && established.1 == 2 * CHECKS_PER_KIND),
    );
    table.row(
        &format!("CPU over {} s (% of one core)", window.as_secs()),
        format!("{cpu_pct:.2} %"),
        "-".into(),
        "<= 2 %",
        Some(cpu_pct <= 2.0),
    );
    table.row(
        "peak RSS",
        format!("{:.1} MB", peak as f64 / 1024.0),
        "-".into(),
        "<= 60 MB",
        Some(peak as f64 / 1024.0 <= 60.0),
    );
    let med = median(times.clone());
    let max = times.iter().cloned().fold(f64::NAN, f64::max);
    table.row(
        &format!("/metrics scrape, median of 20 ({} bytes)", size.trim()),
        format!("{med:.1} ms (max {max:.1})"),
        "-".into(),
        "< 20 ms",
        Some(med < 20.0),
    );
    table.print();
}
