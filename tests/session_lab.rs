//! The probe session, end to end: the real dashboard (in tmux, inside the lab's scanner
//! namespace) keeps its sockets from round to round, and under a small open-file limit its
//! monitoring, a large port scan and a second sweep share the session's budget without
//! inventing filtered ports or down hosts.
//!
//! ```text
//!  tmux ─ ip netns exec <scanner> sh -c 'echo $$ > pid; [ulimit -n 256;] exec netdx ...'
//!  test ─ reads /proc/<pid>/fd (socket:[inode]) and /proc/<pid>/net/* (what each inode is)
//!       ─ reads the screen (round counter, event log) and the exported JSON (key `e`)
//! ```
//!
//! Needs root and tmux; otherwise it says SKIPPED (and fails under NETDX_REQUIRE_LAB=1).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::tmux::{self, Tmux};
use common::{Lab, LossScope, PortState};
use serde_json::Value;

/// The port scan of the all-closed host: long enough to overlap monitoring rounds and the
/// second sweep (a few seconds under a 256-file limit).
const RST_SPEC: &str = "1-30000";
const RST_PORTS: usize = 30_000;

/// The two tests share the lab; one dashboard at a time, so neither measures the other's load.
static SERIAL: Mutex<()> = Mutex::new(());

fn setup(test: &str) -> Option<&'static Lab> {
    if !common::require_root(test) {
        return None;
    }
    if !common::require(test, tmux::available(), "needs tmux") {
        return None;
    }
    Some(Lab::shared())
}

/// Start the dashboard on the lab's LAN; returns the tmux session and netdx's pid.
fn dashboard(lab: &Lab, dir: &Path, tag: &str, prefix: &str, args: &str) -> (Tmux, u32) {
    let pidfile = dir.join("pid");
    let cmd = format!(
        "ip netns exec {ns} sh -c 'echo $$ > {pid}; {prefix} exec {bin} --no-inventory {args}'; \
         echo NETDX-EXIT=$?; exec sleep 120",
        ns = lab.scanner_ns(),
        pid = pidfile.display(),
        bin = env!("CARGO_BIN_EXE_netdx"),
    );
    let t = Tmux::start(
        format!("netdx-{tag}-{}", std::process::id()),
        dir,
        &cmd,
        160,
        48,
    );
    let start = Instant::now();
    loop {
        if let Some(pid) = std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
            && std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|e| {
                e.ends_with(Path::new(env!("CARGO_BIN_EXE_netdx")).file_name().unwrap())
            })
        {
            return (t, pid);
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "netdx did not start:\n{}",
            t.screen()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The monitoring round shown in the header (`· round N ·`).
fn round(screen: &str) -> Option<u32> {
    let i = screen.find("· round ")?;
    screen[i + "· round ".len()..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// What kind of socket each inode of the process's namespace is, from /proc/<pid>/net.
fn socket_kinds(pid: u32) -> BTreeMap<u64, &'static str> {
    let mut kinds = BTreeMap::new();
    for (file, kind, col) in [
        ("tcp", "tcp", 9),
        ("tcp6", "tcp", 9),
        ("udp", "udp", 9),
        ("udp6", "udp", 9),
        ("raw", "raw", 9),
        ("raw6", "raw", 9),
        ("icmp", "icmp", 9),
        ("icmp6", "icmp", 9),
        ("packet", "packet", 8),
        ("unix", "unix", 6),
        ("netlink", "netlink", 9),
    ] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{file}")) else {
            continue;
        };
        for line in text.lines().skip(1) {
            if let Some(inode) = line
                .split_whitespace()
                .nth(col)
                .and_then(|s| s.parse::<u64>().ok())
            {
                kinds.insert(inode, kind);
            }
        }
    }
    kinds
}

/// One look at the process: its socket inodes with their kind, and its fd count.
#[derive(Debug)]
struct Sample {
    round: u32,
    fds: usize,
    sockets: BTreeMap<u64, &'static str>,
}

fn sample(pid: u32, round: u32) -> Sample {
    // A socket opened between reading /proc/<pid>/net and listing the fds has no kind yet:
    // classify with the tables read before and after the listing, and look again while the
    // unknown sockets change from one look to the next (a few sockets are of no kind listed,
    // for good), so a TCP connect opened in that instant is not taken for a new long-lived
    // socket.
    let mut last: Option<Sample> = None;
    let unknown = |s: &Sample| -> BTreeSet<u64> {
        s.sockets
            .iter()
            .filter(|(_, k)| **k == "other")
            .map(|(i, _)| *i)
            .collect()
    };
    for _ in 0..10 {
        let mut kinds = socket_kinds(pid);
        let (fds, inodes) = fd_sockets(pid);
        kinds.extend(socket_kinds(pid));
        let sockets: BTreeMap<u64, &'static str> = inodes
            .into_iter()
            .map(|i| (i, kinds.get(&i).copied().unwrap_or("other")))
            .collect();
        let s = Sample {
            round,
            fds,
            sockets,
        };
        if last.as_ref().is_some_and(|l| unknown(l) == unknown(&s)) {
            return s;
        }
        last = Some(s);
        std::thread::sleep(Duration::from_millis(3));
    }
    last.expect("sampled at least once")
}

/// The fd count of the process and the inodes of its sockets. A file being read or written
/// at the instant of the sample (/proc/net tables, /etc/resolv.conf and /etc/hosts each
/// round, the report under /tmp) is not counted: on a loaded machine a round's reads can be
/// caught several at once, and none of them outlives its round (the lasting sockets and the
/// 256-fd ceiling are what a leak would move).
fn fd_sockets(pid: u32) -> (usize, Vec<u64>) {
    let mut fds = 0;
    let mut inodes = Vec::new();
    for e in std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("fd dir")
        .flatten()
    {
        // An fd listed but gone before its link is read was closed in between (a round's
        // connect or query ending): it is not held, and counting it without a kind made
        // three such closes at one instant look like a leak.
        let Ok(target) = std::fs::read_link(e.path()) else {
            continue;
        };
        let t = target.to_string_lossy();
        if ["/proc/", "/etc/", "/sys/", "/tmp/"]
            .iter()
            .any(|p| t.starts_with(p))
        {
            continue;
        }
        fds += 1;
        if let Some(inode) = t
            .strip_prefix("socket:[")
            .and_then(|s| s.strip_suffix(']'))
            .and_then(|s| s.parse::<u64>().ok())
        {
            inodes.push(inode);
        }
    }
    (fds, inodes)
}

/// Sockets that carry a connection or one exchange (a TCP connect, a DNS query): opened per
/// probe by nature. Everything else (ICMP, raw, packet, the terminal's) must be long-lived.
fn transient(kind: &str) -> bool {
    matches!(kind, "tcp" | "udp")
}

#[test]
fn monitoring_rounds_open_no_socket() {
    let test = "monitoring_rounds_open_no_socket";
    let Some(lab) = setup(test) else { return };
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let lan = lab.info().lan.ipv4.clone();
    let (t, pid) = dashboard(lab, dir.path(), "fd", "", &format!("--interval 0.5 {lan}"));
    let mut ignore = |_: &str| {};
    t.wait_seeing(
        "monitoring round 2",
        Duration::from_secs(60),
        &mut ignore,
        |s| round(s).is_some_and(|r| r >= 2),
    );
    // socket(2) calls over 8 rounds, counted by strace: a socket opened and closed between
    // two samples below would be missed by the fd samples alone.
    let strace = Command::new("sh")
        .args(["-c", "command -v strace"])
        .output()
        .is_ok_and(|o| o.status.success());
    if common::require(test, strace, "strace is not installed") {
        let calls = common::socket_calls(pid, 4).expect("strace attaches as root");
        assert!(
            calls.is_empty(),
            "monitoring rounds opened sockets: {calls:?}\n{}",
            t.screen()
        );
    }
    // Samples across at least 6 more rounds, several per round.
    let mut samples = Vec::new();
    let start = Instant::now();
    loop {
        let r = round(&t.screen()).unwrap_or(0);
        samples.push(sample(pid, r));
        if samples.len() >= 8 && r >= samples[0].round + 6 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "rounds stalled at {r}:\n{}",
            t.screen()
        );
        std::thread::sleep(Duration::from_millis(170));
    }
    t.keys(&["q"]);

    let lasting = |s: &Sample| -> BTreeSet<(u64, &'static str)> {
        s.sockets
            .iter()
            .filter(|(_, k)| !transient(k))
            .map(|(i, k)| (*i, *k))
            .collect()
    };
    let first = lasting(&samples[0]);
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, k) in &first {
        *by_kind.entry(k).or_default() += 1;
    }
    // A TCP/UDP socket in every sample is kept (the header's DNS check keeps one UDP socket
    // per resolver); one that comes and goes was opened for one exchange.
    let kept_everywhere = |i: &u64| samples.iter().all(|s| s.sockets.contains_key(i));
    let transients: usize = samples
        .iter()
        .map(|s| {
            s.sockets
                .iter()
                .filter(|(i, k)| transient(k) && !kept_everywhere(i))
                .count()
        })
        .sum();
    println!(
        "{} samples over rounds {}..{}: long-lived sockets {:?} ({} in all), fds {}..{}, \
         transient tcp/udp sockets seen in samples: {}",
        samples.len(),
        samples[0].round,
        samples[samples.len() - 1].round,
        by_kind,
        first.len(),
        samples.iter().map(|s| s.fds).min().unwrap_or(0),
        samples.iter().map(|s| s.fds).max().unwrap_or(0),
        transients,
    );
    assert!(
        by_kind.get("icmp").copied().unwrap_or(0) + by_kind.get("raw").copied().unwrap_or(0) >= 1,
        "the session's ICMP sockets are open: {by_kind:?}"
    );
    assert!(
        by_kind.get("packet").copied().unwrap_or(0) == 1,
        "one ARP channel, kept between rounds: {by_kind:?}"
    );
    for s in &samples[1..] {
        assert_eq!(
            lasting(s),
            first,
            "round {}: the long-lived sockets changed (round {} had {:?})",
            s.round,
            samples[0].round,
            first
        );
        assert!(
            s.fds <= samples[0].fds + s.sockets.values().filter(|k| transient(k)).count(),
            "round {}: {} fds, {} at round {}",
            s.round,
            s.fds,
            samples[0].fds,
            samples[0].round
        );
    }
    assert_eq!(
        transients, 0,
        "a monitoring round of ARP+ICMP hosts connects nothing"
    );
}

#[test]
fn monitoring_portscan_and_sweep_share_a_small_fd_limit() {
    let test = "monitoring_portscan_and_sweep_share_a_small_fd_limit";
    let Some(lab) = setup(test) else { return };
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let lan = lab.info().lan.ipv4.clone();
    // The ports every host is checked on by both sweeps: each host's known ones.
    let mut known: BTreeSet<u16> = BTreeSet::new();
    for h in lab.hosts() {
        known.extend(h.open.iter().chain(&h.closed).chain(&h.filtered).copied());
    }
    let known: Vec<String> = known.iter().map(ToString::to_string).collect();
    let (t, pid) = dashboard(
        lab,
        dir.path(),
        "ulimit",
        "ulimit -n 256;",
        &format!("--interval 0.5 -p {} {lan}", known.join(",")),
    );
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap_or_default();
    assert!(
        limits
            .lines()
            .any(|l| l.starts_with("Max open files") && l.split_whitespace().nth(3) == Some("256")),
        "ulimit applied:\n{limits}"
    );
    // Every screen is checked for a down alarm in the event log.
    let mut alarms: BTreeSet<String> = BTreeSet::new();
    let mut max_fds = 0usize;
    let mut watch = |s: &str| {
        for l in s.lines() {
            if l.contains("went down") {
                alarms.insert(l.trim().to_string());
            }
        }
        if let Ok(d) = std::fs::read_dir(format!("/proc/{pid}/fd")) {
            max_fds = max_fds.max(d.count());
        }
    };
    t.wait_seeing(
        "monitoring round 2",
        Duration::from_secs(90),
        &mut watch,
        |s| round(s).is_some_and(|r| r >= 2),
    );

    // `p` on the all-closed host: select it with the filter, ask for many ports.
    let rst = lab.host("rst");
    t.keys(&["/"]);
    t.type_text(&rst.ip.to_string());
    t.keys(&["Enter"]);
    t.wait_seeing("the filter", Duration::from_secs(5), &mut watch, |s| {
        s.contains(&format!("┌ {} {} ", rst.ip, rst.name))
    });
    t.keys(&["p"]);
    t.wait_seeing("the port prompt", Duration::from_secs(5), &mut watch, |s| {
        s.contains(&format!("Ports to scan on {}", rst.ip))
    });
    t.keys(&["C-u"]);
    t.type_text(RST_SPEC);
    t.keys(&["Enter"]);
    // At once, `a`: sweep the /24 again (discovery and every host's ports).
    t.keys(&["Escape"]);
    t.keys(&["a"]);
    t.wait_seeing(
        "the targets prompt",
        Duration::from_secs(5),
        &mut watch,
        |s| s.contains("Add targets"),
    );
    t.type_text(&lan);
    t.keys(&["Enter"]);
    let done = format!("port scan of {} ({RST_SPEC}) done:", rst.ip);
    let screen = t.wait_seeing("the port scan", Duration::from_secs(120), &mut watch, |s| {
        s.contains(&done)
    });
    let line = screen
        .lines()
        .find(|l| l.contains(&done))
        .unwrap_or_default()
        .to_string();
    assert!(
        line.contains(" 0 open,") && line.contains(" 0 filtered"),
        "{line}"
    );
    let after_scan = round(&screen).unwrap_or(0);
    // A few more rounds after the scan and the sweep.
    t.wait_seeing(
        "rounds after the scan",
        Duration::from_secs(90),
        &mut watch,
        |s| round(s).is_some_and(|r| r >= after_scan + 4) && !s.contains("sweep "),
    );

    t.keys(&["e"]);
    t.wait_seeing(
        "the export prompt",
        Duration::from_secs(5),
        &mut watch,
        |s| s.contains("Export to"),
    );
    t.keys(&["C-u"]);
    t.type_text("session.json");
    t.keys(&["Enter"]);
    let exported = dir.path().join("session.json");
    t.wait_seeing("the export", Duration::from_secs(10), &mut watch, |s| {
        s.contains("exported JSON report")
    });
    t.keys(&["q"]);
    t.wait_seeing("netdx to exit", Duration::from_secs(10), &mut watch, |s| {
        s.contains("NETDX-EXIT=")
    });

    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&exported).expect("export")).expect("JSON");
    let hosts = report["hosts"].as_array().cloned().expect("hosts");
    let find = |ip: &str| hosts.iter().find(|h| h["ip"] == ip);
    let mut checked = 0;
    for h in lab.hosts() {
        let r = find(&h.ip.to_string()).unwrap_or_else(|| panic!("{} not in export", h.key));
        assert_eq!(r["status"], "up", "{} is up in the lab: {r}", h.key);
        for (port, state) in common::report::port_states(r) {
            if state == "filtered" && h.port_state(port) != PortState::Filtered {
                // A host that loses 30% of all IP packets may legitimately stay unanswered.
                assert_eq!(
                    h.loss_scope,
                    LossScope::Ip,
                    "{} port {port}: filtered, but it is {:?} in the lab",
                    h.key,
                    h.port_state(port)
                );
            }
            checked += 1;
        }
    }
    let rst_ports =
        common::report::port_set(&find(&rst.ip.to_string()).expect("rst")["closed_ports"]).len();
    println!(
        "ulimit -n 256: {checked} port results checked, rst closed {rst_ports}/{RST_PORTS}, \
         fds at most {max_fds}, down alarms {alarms:?}"
    );
    assert!(
        rst_ports >= RST_PORTS,
        "all {RST_PORTS} ports of rst closed: {rst_ports}"
    );
    assert!(alarms.is_empty(), "down alarms: {alarms:?}");
    assert!(max_fds <= 256, "fds {max_fds}");
}

/// `netdx diagnose --watch` keeps its session too: the gateway's ARP check, the pings and the
/// DNS clients reuse the same sockets every round (no target given: the local side only).
#[test]
fn diagnose_watch_rounds_open_no_socket() {
    let test = "diagnose_watch_rounds_open_no_socket";
    if !common::require_root(test) {
        return;
    }
    let lab = Lab::shared();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let watched = watch_diagnose(lab, dir.path(), "--interval 0.5 --timeout 300");
    watched.assert_lasting_sockets_kept();
}

/// With targets, every round traces them too: an ICMP trace to `app` and, as `edge` drops
/// ICMP echo, a TCP trace to its port 443. Both run on the session's raw ICMP sockets, so no
/// raw socket appears between rounds (before, each trace opened one for its whole length, and
/// these samples, 130 ms apart, would see it); the TCP probes' connects are transient TCP.
#[test]
fn diagnose_watch_traces_on_the_session_raw_sockets() {
    let test = "diagnose_watch_traces_on_the_session_raw_sockets";
    if !common::require_root(test) {
        return;
    }
    let lab = Lab::shared();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let (app, edge) = (lab.wan_target("app"), lab.wan_target("edge"));
    let args = format!(
        "{app} {edge} -p 443 --interval 1 --timeout 300 -o {report}",
        app = app.ip,
        edge = edge.ip,
        report = report.display(),
    );
    let watched = watch_diagnose(lab, dir.path(), &args);
    watched.assert_lasting_sockets_kept();
    assert!(
        watched.by_kind.get("raw").copied().unwrap_or(0) >= 2,
        "the session's raw sockets are among the long-lived ones: {:?}",
        watched.by_kind
    );

    // The traces really ran (the report is rewritten after every round).
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("the watch report"))
            .expect("report JSON");
    let trace_of = |ip: std::net::Ipv4Addr| -> Value {
        json["targets"]
            .as_array()
            .expect("targets")
            .iter()
            .find(|t| t["address"] == ip.to_string())
            .unwrap_or_else(|| panic!("{ip} in the report"))["trace"]
            .clone()
    };
    let hops = |trace: &Value| -> Vec<String> {
        trace["hops"]
            .as_array()
            .expect("hops")
            .iter()
            .map(|h| h["addr"].as_str().unwrap_or("*").to_string())
            .collect()
    };
    let path =
        |t: &common::WanTarget| -> Vec<String> { t.hops.iter().map(ToString::to_string).collect() };
    let app_trace = trace_of(app.ip);
    assert_eq!(app_trace["protocol"], "icmp", "{app_trace}");
    assert_eq!(app_trace["reached"], true, "{app_trace}");
    assert_eq!(
        hops(&app_trace),
        path(app),
        "app: hop list vs the router chain"
    );
    let edge_trace = trace_of(edge.ip);
    assert_eq!(edge_trace["protocol"], "tcp/443", "{edge_trace}");
    assert_eq!(edge_trace["reached"], true, "{edge_trace}");
    assert_eq!(
        hops(&edge_trace),
        path(edge),
        "edge: hop list vs the router chain"
    );
}

/// Sockets of a `netdx diagnose --watch` seen round after round.
struct Watched {
    samples: Vec<Sample>,
    /// Long-lived sockets of the first sample, by kind.
    by_kind: BTreeMap<&'static str, usize>,
}

impl Watched {
    fn lasting(s: &Sample) -> BTreeSet<(u64, &'static str)> {
        s.sockets
            .iter()
            .filter(|(_, k)| !transient(k))
            .map(|(i, k)| (*i, *k))
            .collect()
    }

    /// Every round has the first round's long-lived sockets, no other, and no more fds than
    /// its transient sockets explain.
    fn assert_lasting_sockets_kept(&self) {
        let samples = &self.samples;
        let first = Self::lasting(&samples[0]);
        assert_eq!(
            self.by_kind.get("packet").copied(),
            Some(1),
            "the gateway's ARP channel is kept: {:?}",
            self.by_kind
        );
        for s in &samples[1..] {
            assert_eq!(
                Self::lasting(s),
                first,
                "round {}: the long-lived sockets changed",
                s.round
            );
            // One more fd may be a file, not a socket: with -o the report is rewritten every
            // round (a temporary file, then a rename), and a sample can fall inside a write.
            let report_write = 1;
            assert!(
                s.fds
                    <= samples[0].fds
                        + s.sockets.values().filter(|k| transient(k)).count()
                        + report_write,
                "round {}: {} fds, {} at round {}",
                s.round,
                s.fds,
                samples[0].fds,
                samples[0].round
            );
        }
    }
}

/// Runs `netdx diagnose --watch ARGS` in the scanner namespace and samples its sockets about
/// every 130 ms over at least six rounds.
fn watch_diagnose(lab: &Lab, dir: &Path, args: &str) -> Watched {
    let pidfile = dir.join("pid");
    let outfile = dir.join("out");
    let script = format!(
        "echo $$ > {pid}; exec {bin} diagnose --watch {args} > {out} 2>&1",
        pid = pidfile.display(),
        bin = env!("CARGO_BIN_EXE_netdx"),
        out = outfile.display(),
    );
    let mut child = Command::new("ip")
        .args(["netns", "exec", lab.scanner_ns(), "sh", "-c", &script])
        .env("NETDX_CONFIG", "/dev/null")
        .stdin(std::process::Stdio::null())
        .spawn()
        .expect("spawn netdx diagnose --watch");
    /// Kills the watcher however the test ends.
    struct Kill<'a>(&'a mut std::process::Child);
    impl Drop for Kill<'_> {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let pid = child.id();
    let _kill = Kill(&mut child);
    let rounds = || {
        std::fs::read_to_string(&outfile)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.len() > 8 && l.as_bytes()[2] == b':' && l.as_bytes()[5] == b':')
            .count() as u32
    };
    let start = Instant::now();
    while rounds() < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no rounds: {}",
            std::fs::read_to_string(&outfile).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut samples = Vec::new();
    loop {
        let r = rounds();
        samples.push(sample(pid, r));
        if samples.len() >= 8 && r >= samples[0].round + 6 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "rounds stalled at {r}"
        );
        std::thread::sleep(Duration::from_millis(130));
    }
    let mut by_kind: BTreeMap<&'static str, usize> = BTreeMap::new();
    for (_, k) in Watched::lasting(&samples[0]) {
        *by_kind.entry(k).or_default() += 1;
    }
    println!(
        "diagnose --watch {args}: {} samples over rounds {}..{}: long-lived sockets {:?}, \
         fds {}..{}",
        samples.len(),
        samples[0].round,
        samples[samples.len() - 1].round,
        by_kind,
        samples.iter().map(|s| s.fds).min().unwrap_or(0),
        samples.iter().map(|s| s.fds).max().unwrap_or(0),
    );
    Watched { samples, by_kind }
}
