//! Least privilege (issue 13, item 4): started as root, `netdx scan` opens its raw, ICMP and
//! AF_PACKET sockets, then gives up every capability (and under sudo becomes the invoking
//! user) before it reads a byte from the network; the scan still finds what the lab holds.
//!
//! The order is checked from outside: netdx says "privileges dropped" on stderr right after
//! the drop, as its receive loops start; from that line until it exits, every thread's
//! `/proc/<pid>/task/<tid>/status` is sampled, and the scan's results are compared with the
//! lab's ground truth.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::Icmp;
use common::report::{expect_success, host, methods, port_state, read_report, state_label};

/// One scan at a time: two on two cores would slow each other into timeouts.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// What `/proc/<pid>/task/<tid>/status` says of one thread (parsed here, independently of
/// netdx's own parser).
#[derive(Debug, Clone, PartialEq, Eq)]
struct ThreadStatus {
    tid: String,
    name: String,
    cap_inh: u64,
    cap_prm: u64,
    cap_eff: u64,
    cap_bnd: u64,
    cap_amb: u64,
    /// Real, effective, saved and filesystem ids.
    uid: Vec<u32>,
    gid: Vec<u32>,
    groups: Vec<u32>,
}

fn parse(tid: &str, text: &str) -> Option<ThreadStatus> {
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
    };
    let hex = |key: &str| u64::from_str_radix(&field(key)?, 16).ok();
    let ids = |key: &str| -> Option<Vec<u32>> {
        field(key)?
            .split_whitespace()
            .map(|v| v.parse().ok())
            .collect()
    };
    Some(ThreadStatus {
        tid: tid.to_string(),
        name: field("Name:")?,
        cap_inh: hex("CapInh:")?,
        cap_prm: hex("CapPrm:")?,
        cap_eff: hex("CapEff:")?,
        cap_bnd: hex("CapBnd:")?,
        cap_amb: hex("CapAmb:")?,
        uid: ids("Uid:")?,
        gid: ids("Gid:")?,
        groups: ids("Groups:")?,
    })
}

/// Every thread of `pid` now (threads that end while being read are left out).
fn threads(pid: u32) -> Vec<ThreadStatus> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| {
            let tid = e.file_name().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(e.path().join("status")).ok()?;
            parse(&tid, &text)
        })
        .collect()
}

const CAP_NET_RAW: u64 = 1 << 13;

/// A running netdx with its stderr read line by line on a thread.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: std::sync::Arc<Mutex<String>>,
}

impl Running {
    fn spawn(mut cmd: std::process::Command) -> Running {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn netdx");
        let (tx, lines) = mpsc::channel();
        let stderr = std::sync::Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().expect("stderr piped");
        let all = std::sync::Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                all.lock().unwrap().push_str(&format!("{line}\n"));
                let _ = tx.send(line);
            }
        });
        Running {
            child,
            lines,
            stderr,
        }
    }

    /// Wait (bounded) for a stderr line containing `needle`.
    fn wait_line(&self, needle: &str, limit: Duration) -> String {
        let end = Instant::now() + limit;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) if l.contains(needle) => return l,
                Ok(_) => {}
                Err(_) => panic!(
                    "no stderr line with {needle:?} within {limit:?}; stderr so far:\n{}",
                    self.stderr.lock().unwrap()
                ),
            }
        }
    }

    /// netdx's pid: `timeout` runs `ip netns exec`, which execs netdx in its own process.
    fn netdx_pid(&self) -> u32 {
        let pid = self.child.id();
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse().ok())
            .expect("netdx runs under timeout")
    }

    /// Sample every thread of `pid` until it exits; returns the samples (one `Vec` per
    /// instant).
    fn sample_until_exit(&mut self, pid: u32) -> Vec<Vec<ThreadStatus>> {
        let mut samples = Vec::new();
        loop {
            let now = threads(pid);
            if self.child.try_wait().expect("wait netdx").is_some() {
                break;
            }
            if !now.is_empty() {
                samples.push(now);
            }
            // Paces the sampling; nothing waits on it.
            std::thread::sleep(Duration::from_millis(5));
        }
        samples
    }

    fn finish(self) -> std::process::Output {
        let mut out = self.child.wait_with_output().expect("wait netdx");
        out.stderr = self.stderr.lock().unwrap().clone().into_bytes();
        out
    }
}

/// Ports the lab's ground truth names on `hosts`.
fn truth_ports<'a>(hosts: impl Iterator<Item = &'a common::Host>) -> String {
    let mut ports = std::collections::BTreeSet::new();
    for h in hosts {
        ports.extend(h.open.iter().chain(&h.closed).chain(&h.filtered).copied());
    }
    ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Samples after the drop show the expected capabilities in every thread, and enough of them
/// came while the scan's threads ran (the measurement thread and the ARP receiver besides
/// main) to call them mid-scan.
fn assert_every_thread(samples: &[Vec<ThreadStatus>], eff_prm: u64, check: impl Fn(&ThreadStatus)) {
    let busy = samples.iter().filter(|s| s.len() >= 3).count();
    assert!(
        busy >= 3,
        "too few mid-scan samples ({busy} of {}): {samples:#?}",
        samples.len()
    );
    for sample in samples {
        for t in sample {
            assert_eq!(t.cap_eff, eff_prm, "CapEff of thread {t:?}");
            assert_eq!(t.cap_prm, eff_prm, "CapPrm of thread {t:?}");
            assert_eq!(t.cap_inh, 0, "CapInh of thread {t:?}");
            assert_eq!(t.cap_amb, 0, "CapAmb of thread {t:?}");
            assert_eq!(t.cap_bnd, eff_prm, "CapBnd of thread {t:?}");
            check(t);
        }
    }
}

/// Root with every capability: SYN scan, ICMP and ARP of the lab LAN. From the "privileges
/// dropped" line on, no thread holds any capability, and the results still match the ground
/// truth (raw SYN found the open, closed and filtered ports; ARP found every host).
#[test]
fn root_scan_runs_without_capabilities() {
    let Some(lab) = common::shared_lab_or_skip("root_scan_runs_without_capabilities") else {
        return;
    };
    let _g = serial();
    let dir = common::report_dir();
    let out_path = dir.path().join("priv.json");
    let exact: Vec<&common::Host> = lab.hosts().iter().filter(|h| h.exact_tcp()).collect();
    let ports = truth_ports(exact.iter().copied());
    let mut run = Running::spawn(lab.netdx_command(
        &[
            "scan",
            &lab.info().lan.ipv4,
            "-p",
            &ports,
            "--tries",
            "10",
            "-o",
            out_path.to_str().unwrap(),
        ],
        common::NETDX_TIMEOUT,
    ));
    let line = run.wait_line("privileges dropped", Duration::from_secs(30));
    assert!(line.contains("no capability kept"), "{line}");
    let pid = run.netdx_pid();
    let samples = run.sample_until_exit(pid);
    assert_every_thread(&samples, 0, |t| {
        // Not started through sudo: still uid 0, but a root without any capability.
        assert_eq!(t.uid, vec![0; 4], "{t:?}");
    });
    // The receive loops ran in those samples, capless: the measurement thread (ICMP and raw
    // replies) and the ARP receiver were started after the drop and inherited it.
    for name in ["netdx-measure", "netdx-arp-"] {
        assert!(
            samples.iter().flatten().any(|t| t.name.starts_with(name)),
            "no {name}* thread seen: {samples:#?}"
        );
    }
    let out = run.finish();
    expect_success(&out);

    let report = read_report(&out_path);
    assert_eq!(report["complete"], true);
    assert_eq!(
        report["port_scan"], "SYN scan",
        "raw sockets opened before the drop"
    );
    for h in lab.hosts() {
        let r = host(&report, &h.ip.to_string());
        assert_eq!(r["status"], "up", "{}", h.key);
        let m = methods(r);
        assert!(m.contains("arp"), "{}: ARP after the drop: {m:?}", h.key);
        assert_eq!(
            m.contains("icmp"),
            h.icmp != Icmp::Drops,
            "{}: {m:?}",
            h.key
        );
        assert_eq!(r["mac"], h.mac.to_string(), "{}", h.key);
    }
    for h in &exact {
        let r = host(&report, &h.ip.to_string());
        for &p in h.open.iter().chain(&h.closed).chain(&h.filtered) {
            assert_eq!(
                port_state(r, p),
                state_label(h.port_state(p)),
                "{} port {p}",
                h.key
            );
        }
    }
}

/// A name among the targets is resolved, and its ARP channel opened, after the drop: the
/// scan keeps `cap_net_raw` (nothing else), as documented.
#[test]
fn names_keep_only_cap_net_raw() {
    let Some(lab) = common::shared_lab_or_skip("names_keep_only_cap_net_raw") else {
        return;
    };
    let _g = serial();
    let web = lab.host("web");
    let drop = lab.host("drop");
    let mut run = Running::spawn(lab.netdx_command(
        &[
            "scan",
            &web.name,
            &drop.ip.to_string(),
            "-p",
            &truth_ports([web, drop].into_iter()),
        ],
        common::NETDX_TIMEOUT,
    ));
    let line = run.wait_line("privileges dropped", Duration::from_secs(30));
    assert!(line.contains("kept cap_net_raw only"), "{line}");
    let pid = run.netdx_pid();
    let samples = run.sample_until_exit(pid);
    assert_every_thread(&samples, CAP_NET_RAW, |_| {});
    let out = run.finish();
    expect_success(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&web.name), "{stdout}");
}

/// Started like `sudo netdx scan`: root with SUDO_UID/SUDO_GID naming nobody (65534). After
/// start-up every thread runs as 65534 with no capability and no supplementary group of
/// root's, the report lands (owned by 65534) in a directory that user can write, and the
/// inventory in the data directory given; a report directory only root can write is refused
/// before any packet is sent.
#[test]
fn sudo_start_becomes_the_invoking_user() {
    let Some(lab) = common::shared_lab_or_skip("sudo_start_becomes_the_invoking_user") else {
        return;
    };
    let _g = serial();
    let web = lab.host("web");
    let rst = lab.host("rst");
    let dir = common::report_dir();
    let out_path = dir.path().join("sudo.json");
    let data = common::report_dir();
    let sudo = |args: &[&str]| {
        let mut cmd = lab.netdx_command(args, common::NETDX_TIMEOUT);
        cmd.env("SUDO_UID", "65534")
            .env("SUDO_GID", "65534")
            .env("SUDO_USER", "nobody")
            .env("NETDX_DATA_DIR", data.path());
        cmd
    };
    let targets = [web.ip.to_string(), rst.ip.to_string()];
    let ports = truth_ports([web, rst].into_iter());
    let mut run = Running::spawn(sudo(&[
        "scan",
        &targets[0],
        &targets[1],
        "-p",
        &ports,
        "-o",
        out_path.to_str().unwrap(),
    ]));
    let line = run.wait_line("privileges dropped", Duration::from_secs(30));
    assert!(line.contains("uid 65534 gid 65534"), "{line}");
    let pid = run.netdx_pid();
    let samples = run.sample_until_exit(pid);
    assert_every_thread(&samples, 0, |t| {
        assert_eq!(t.uid, vec![65534; 4], "{t:?}");
        assert_eq!(t.gid, vec![65534; 4], "{t:?}");
        assert!(!t.groups.contains(&0), "root's group kept: {t:?}");
    });
    let out = run.finish();
    expect_success(&out);
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(&out_path).expect("report written");
    assert_eq!(meta.uid(), 65534, "written after the drop, as the user");
    let report = read_report(&out_path);
    assert_eq!(report["port_scan"], "SYN scan");
    for h in [web, rst] {
        let r = host(&report, &h.ip.to_string());
        for &p in h.open.iter().chain(&h.closed).chain(&h.filtered) {
            assert_eq!(
                port_state(r, p),
                state_label(h.port_state(p)),
                "{} {p}",
                h.key
            );
        }
    }
    assert!(
        data.path().join("inventory.db").exists(),
        "inventory recorded in NETDX_DATA_DIR as the user"
    );

    // A report directory only root may write: refused at start, not after the scan.
    let private = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(
        private.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .expect("chmod");
    let denied = private.path().join("r.json");
    let out = sudo(&[
        "scan",
        &targets[0],
        "-p",
        "22",
        "-o",
        denied.to_str().unwrap(),
    ])
    .output()
    .expect("run netdx");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("cannot write the report") && stderr.contains("uid 65534"),
        "{stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "no scan ran: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}
