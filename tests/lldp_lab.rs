//! The switch-port listener (`netdx::net::lldp::listen`) against real announcements in the lab.
//!
//! ```text
//!  cargo test ──► Lab::up()                       (fresh lab per test: nothing else sends)
//!     ├─► ip netns exec <bridge-ns> lldpd -I p-scan ...       or  lldp_send.py --iface p-scan
//!     │      (the scanner's veth peer: a Linux bridge does not forward 01:80:c2:00:00:0e)
//!     └─► ip netns exec <scanner-ns> <this test binary> --exact <test>
//!            NETDX_LLDP_LAB_ROLE=listen: Session + listen("eth0", window) ─► JSON line
//! ```
//!
//! The child is this test binary re-run inside the scanner namespace: a threaded test process
//! cannot enter a namespace itself. Daemons run under `timeout`, so a crashed test leaves
//! nothing behind for long; they are stopped by pid.

mod common;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::Lab;
use netdx::core::lan::{CheckStatus, SwitchCheck, SwitchProtocol};
use netdx::net::session::{Session, SessionOptions};

const ROLE_ENV: &str = "NETDX_LLDP_LAB_ROLE";
const WINDOW_ENV: &str = "NETDX_LLDP_LAB_WINDOW_MS";
const EARLY_ENV: &str = "NETDX_LLDP_LAB_STOP_EARLY";
const RESULT_MARK: &str = "LLDP-LAB-RESULT ";
/// The scanner's interface and its peer in the bridge namespace (tests/lab/lab.py).
const SCANNER_IFACE: &str = "eth0";
const PEER_IFACE: &str = "p-scan";

/// Run as the child when the role says so; `true` when this process was the child.
fn child_role() -> bool {
    if std::env::var(ROLE_ENV).as_deref() != Ok("listen") {
        return false;
    }
    let ms: u64 = std::env::var(WINDOW_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000);
    let early = std::env::var(EARLY_ENV).as_deref() == Ok("1");
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let check = rt.block_on(async {
        let session = Session::new(SessionOptions::default()).expect("session");
        netdx::net::lldp::listen(&session, SCANNER_IFACE, Duration::from_millis(ms), early).await
    });
    println!(
        "{RESULT_MARK}{}",
        serde_json::to_string(&check).expect("check serialises")
    );
    true
}

/// Re-run `test` in the scanner namespace as the listener; its result and the wall time.
fn listen_in_lab(
    lab: &Lab,
    test: &str,
    window: Duration,
    stop_early: bool,
    wrapper: &[&str],
) -> (SwitchCheck, Duration) {
    let exe = std::env::current_exe().expect("test binary path");
    let started = Instant::now();
    let out = Command::new("timeout")
        .args([
            "--kill-after=5",
            "90",
            "ip",
            "netns",
            "exec",
            lab.scanner_ns(),
        ])
        .args(wrapper)
        .arg(exe)
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(ROLE_ENV, "listen")
        .env(WINDOW_ENV, window.as_millis().to_string())
        .env(EARLY_ENV, if stop_early { "1" } else { "0" })
        .stdin(Stdio::null())
        .output()
        .expect("run the listener child");
    let took = started.elapsed();
    assert!(out.status.success(), "child failed: {}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.find(RESULT_MARK).map(|at| &l[at + RESULT_MARK.len()..]))
        .unwrap_or_else(|| panic!("no result line: {}", describe(&out)));
    let check: SwitchCheck = serde_json::from_str(line).expect("child JSON");
    println!("{test}: {line} (child wall time {took:?})");
    (check, took)
}

fn describe(out: &Output) -> String {
    format!(
        "{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A daemon in the bridge namespace, stopped (SIGTERM to `timeout`, which passes it on) when
/// dropped, even when an assertion failed.
struct Daemon(Child);

impl Daemon {
    fn start(lab: &Lab, argv: &[&str], log: &Path) -> Daemon {
        let log = std::fs::File::create(log).expect("daemon log");
        let child = Command::new("timeout")
            .args(["--kill-after=2", "60", "ip", "netns", "exec"])
            .arg(&lab.info().namespaces.bridge)
            .args(argv)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start daemon");
        Daemon(child)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

fn has(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn lldpd_announcement_is_read_exactly() {
    const TEST: &str = "lldpd_announcement_is_read_exactly";
    if child_role() {
        return;
    }
    let Some(lab) = common::lab_or_skip(TEST) else {
        return;
    };
    if !common::require(TEST, has("lldpd"), "needs lldpd (apt-get install lldpd)") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let conf = dir.path().join("lldpd.conf");
    std::fs::write(
        &conf,
        "configure system hostname lab-lldpd\n\
         configure lldp tx-interval 5\n\
         configure lldp portidsubtype ifname\n\
         configure ports p-scan lldp portdescription \"scanner uplink port\"\n",
    )
    .expect("write lldpd.conf");
    let sock = dir.path().join("ctl.sock");
    let _lldpd = Daemon::start(
        &lab,
        &[
            "lldpd",
            "-d",
            "-u",
            sock.to_str().unwrap(),
            "-I",
            PEER_IFACE,
            "-m",
            "192.0.2.77",
            "-S",
            "netdx lab lldpd",
            "-O",
            conf.to_str().unwrap(),
        ],
        &dir.path().join("lldpd.log"),
    );
    // Announcements every 5 s, as many sites set; the listener starts at some point between
    // two of them (lldpd sends one at start-up, so let that pass first: its own counters say
    // when it has).
    let start = std::time::Instant::now();
    while !lldpd_has_sent(&sock) {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "lldpd never sent its start-up frame"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let window = Duration::from_secs(10);
    let (check, took) = listen_in_lab(&lab, TEST, window, true, &[]);
    assert_eq!(check.status, CheckStatus::Done);
    println!(
        "lldpd every 5 s: first LLDP frame after {} s (child wall time {took:?})",
        check.listened_s
    );
    assert!(
        check.listened_s <= 5.5,
        "heard within one 5 s interval, not at the window's end ({})",
        check.listened_s
    );
    assert_eq!(check.ports.len(), 1, "{check:?}");
    let p = &check.ports[0];
    assert_eq!(p.protocol, SwitchProtocol::Lldp);
    assert_eq!(p.switch_name.as_deref(), Some("lab-lldpd"));
    assert_eq!(p.port.as_deref(), Some(PEER_IFACE));
    assert_eq!(p.port_description.as_deref(), Some("scanner uplink port"));
    assert_eq!(p.system_description.as_deref(), Some("netdx lab lldpd"));
    assert_eq!(p.management_address, Some("192.0.2.77".parse().unwrap()));
    assert!(p.chassis_id.is_some());
    assert!(p.source_mac.is_some());
}

#[test]
fn crafted_lldp_and_cdp_are_read_exactly() {
    const TEST: &str = "crafted_lldp_and_cdp_are_read_exactly";
    if child_role() {
        return;
    }
    let Some(lab) = common::lab_or_skip(TEST) else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let script = common::lab_dir().join("lldp_send.py");
    let python = common::python();
    let _sender = Daemon::start(
        &lab,
        &[
            python.to_str().unwrap(),
            script.to_str().unwrap(),
            "--iface",
            PEER_IFACE,
            "--name",
            "lab-switch",
            "--port",
            "Gi1/0/7",
            "--port-desc",
            "scanner desk",
            "--description",
            "netdx lab switch",
            "--platform",
            "netdx-lab",
            "--vlan",
            "77",
            "--mgmt",
            "192.0.2.2",
            "--src-mac",
            "00:00:0c:9a:00:07",
            "--interval",
            "0.5",
        ],
        &dir.path().join("sender.log"),
    );
    let window = Duration::from_secs(10);
    let (check, took) = listen_in_lab(&lab, TEST, window, false, &[]);
    assert_eq!(check.status, CheckStatus::Done);
    assert!(took < window, "returned once both were heard ({took:?})");
    assert_eq!(check.ports.len(), 2, "{check:?}");
    for p in &check.ports {
        assert_eq!(p.switch_name.as_deref(), Some("lab-switch"), "{p:?}");
        assert_eq!(p.port.as_deref(), Some("Gi1/0/7"), "{p:?}");
        assert_eq!(p.vlan, Some(77), "{p:?}");
        assert_eq!(p.management_address, Some("192.0.2.2".parse().unwrap()));
        assert_eq!(
            p.source_mac.map(|m| m.to_string()).as_deref(),
            Some("00:00:0c:9a:00:07")
        );
    }
    let lldp = check
        .ports
        .iter()
        .find(|p| p.protocol == SwitchProtocol::Lldp)
        .expect("LLDP heard");
    assert_eq!(lldp.port_description.as_deref(), Some("scanner desk"));
    assert_eq!(lldp.system_description.as_deref(), Some("netdx lab switch"));
    assert_eq!(lldp.chassis_id.as_deref(), Some("00:00:0c:9a:00:07"));
    let cdp = check
        .ports
        .iter()
        .find(|p| p.protocol == SwitchProtocol::Cdp)
        .expect("CDP heard");
    assert_eq!(
        cdp.system_description.as_deref(),
        Some("netdx-lab, netdx lab switch")
    );
    assert_eq!(cdp.port_description, None, "CDP has no port description");
}

#[test]
fn nothing_sending_is_done_with_no_ports() {
    const TEST: &str = "nothing_sending_is_done_with_no_ports";
    if child_role() {
        return;
    }
    let Some(lab) = common::lab_or_skip(TEST) else {
        return;
    };
    let window = Duration::from_secs(3);
    let (check, _) = listen_in_lab(&lab, TEST, window, true, &[]);
    assert_eq!(check.status, CheckStatus::Done);
    assert!(check.ports.is_empty(), "{check:?}");
    assert!(
        check.listened_s >= 3.0 && check.listened_s < 4.0,
        "listened the whole window: {}",
        check.listened_s
    );
    // Without CAP_NET_RAW: skipped, saying what it needs, without waiting.
    if common::require(
        TEST,
        has("setpriv"),
        "needs setpriv for the no-privilege case",
    ) {
        let (check, _) = listen_in_lab(
            &lab,
            TEST,
            window,
            true,
            &["setpriv", "--bounding-set=-net_raw"],
        );
        match &check.status {
            CheckStatus::Skipped { reason } => {
                assert!(reason.contains("CAP_NET_RAW"), "{reason}")
            }
            other => panic!("expected Skipped, got {other:?}"),
        }
        assert_eq!(check.listened_s, 0.0);
    }
}

/// Whether the lldpd behind control socket `sock` has sent a frame (`lldpcli show
/// statistics`: "Transmitted: N").
fn lldpd_has_sent(sock: &std::path::Path) -> bool {
    let Ok(out) = std::process::Command::new("lldpcli")
        .arg("-u")
        .arg(sock)
        .args(["show", "statistics"])
        .stdin(std::process::Stdio::null())
        .output()
    else {
        return false;
    };
    String::from_utf8_lossy(&out.stdout).lines().any(|l| {
        l.split_once("Transmitted:")
            .and_then(|(_, n)| n.trim().parse::<u64>().ok())
            .is_some_and(|n| n > 0)
    })
}
