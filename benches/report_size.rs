//! Report size and memory of a full port scan (issue 9, item 4), in the namespace lab (needs
//! root): `netdx scan LAN/24 -p all -o r.json` run once, its JSON size and peak RSS printed
//! next to the targets (2 MB, 100 MB), with the report checked port by port against the lab's
//! ground truth (a compact report that lost a fact is not a result). nmap's XML of the same
//! scan, size and peak RSS, side by side when nmap is installed and `--nmap` is given (it takes
//! minutes on the host that drops every port).
//!
//! `cargo bench --bench report_size [-- --nmap]`. Peak RSS is GNU time's `%M` (maximum resident
//! set size of the process, KB).

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Lab, LossScope};

const NETDX: &str = env!("CARGO_BIN_EXE_netdx");
const LIMIT: Duration = Duration::from_secs(900);
const JSON_TARGET: u64 = 2_000_000;
const RSS_TARGET_KB: u64 = 100_000;

/// Runs `prog args` in the scanner namespace under GNU time; returns wall time and peak RSS
/// in KB, or why it failed (exit status and stderr).
fn measured(lab: &Lab, prog: &str, args: &[&str], dir: &Path) -> Result<(Duration, u64), String> {
    let rss_file = dir.join("rss");
    let start = Instant::now();
    let out = Command::new("timeout")
        .arg(LIMIT.as_secs().to_string())
        .args([
            "ip",
            "netns",
            "exec",
            lab.scanner_ns(),
            "/usr/bin/time",
            "-f",
            "%M",
            "-o",
        ])
        .arg(&rss_file)
        .arg(prog)
        .args(args)
        .env("NETDX_CONFIG", "/dev/null")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("spawn {prog}: {e}"));
    let wall = start.elapsed();
    if !out.status.success() {
        return Err(format!(
            "{prog} {args:?}: {} after {:.0} s: {}",
            out.status,
            wall.as_secs_f64(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let rss = std::fs::read_to_string(&rss_file)
        .ok()
        .and_then(|s| s.lines().last().and_then(|l| l.trim().parse().ok()))
        .ok_or_else(|| "no peak RSS from GNU time".to_string())?;
    Ok((wall, rss))
}

fn mb(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / 1e6)
}

fn main() {
    if !common::require_root("bench report_size") {
        return;
    }
    if !Path::new("/usr/bin/time").exists() {
        println!("GNU time (/usr/bin/time) is not installed: no peak RSS figure");
        return;
    }
    let with_nmap = std::env::args().any(|a| a == "--nmap");
    let lab = Lab::up();
    let lan = lab.info().lan.ipv4.clone();
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("all.json");
    println!("netdx scan {lan} -p all, lab {}", lab.name());

    let (wall, rss_kb) = measured(
        &lab,
        NETDX,
        &[
            "scan",
            "--no-inventory",
            &lan,
            "-p",
            "all",
            "-o",
            json.to_str().expect("utf-8"),
        ],
        dir.path(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let size = std::fs::metadata(&json).expect("report").len();
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("report")).expect("JSON");

    // Every fact kept: each port of each lab host (lossy ones aside: a port behind 30 % loss
    // may honestly stay filtered) as the ground truth has it.
    let (mut checked, mut wrong) = (0usize, Vec::new());
    for h in lab.hosts().iter().filter(|h| h.loss_scope != LossScope::Ip) {
        let Some(r) = common::report::find_host(&report, &h.ip.to_string()) else {
            wrong.push(format!("{} missing", h.key));
            continue;
        };
        let states = common::report::port_states(r);
        if states.len() != 65_535 {
            wrong.push(format!("{}: {} ports reported", h.key, states.len()));
        }
        for (p, s) in states {
            checked += 1;
            if s != common::report::state_label(h.port_state(p)) {
                wrong.push(format!("{} {p} {s}", h.key));
            }
        }
    }

    let met = |ok: bool| if ok { "yes" } else { "NO" };
    println!(
        "  {:<22} {:>12} {:>12} {:>6}",
        "what", "netdx", "target", "met?"
    );
    println!(
        "  {:<22} {:>12} {:>12} {:>6}",
        "JSON report",
        mb(size),
        mb(JSON_TARGET),
        met(size <= JSON_TARGET)
    );
    println!(
        "  {:<22} {:>12} {:>12} {:>6}",
        "peak RSS",
        mb(rss_kb * 1000),
        mb(RSS_TARGET_KB * 1000),
        met(rss_kb <= RSS_TARGET_KB)
    );
    println!("  wall time {:.1} s", wall.as_secs_f64());
    println!(
        "  facts: {checked} port states checked against the lab, {} wrong{}",
        wrong.len(),
        if wrong.is_empty() {
            String::new()
        } else {
            format!(" (first: {:?})", &wrong[..wrong.len().min(5)])
        }
    );

    if with_nmap {
        let xml = dir.path().join("nmap.xml");
        let run = measured(
            &lab,
            "nmap",
            &[
                "-sS",
                "-p-",
                "-T4",
                "-n",
                &lan,
                "-oX",
                xml.to_str().expect("utf-8"),
            ],
            dir.path(),
        );
        match run {
            Ok((t, rss)) => {
                let size = std::fs::metadata(&xml).map(|m| m.len()).unwrap_or(0);
                println!(
                    "  nmap -sS -p- -T4: XML {}, peak RSS {}, wall {:.1} s",
                    mb(size),
                    mb(rss * 1000),
                    t.as_secs_f64()
                );
            }
            // Context, not a result: say why there is no figure.
            Err(e) => println!("  nmap: no figure ({e})"),
        }
    } else {
        println!("  (nmap side by side: cargo bench --bench report_size -- --nmap)");
    }
    if !wrong.is_empty() {
        std::process::exit(1);
    }
}
