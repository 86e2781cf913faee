//! A host whose link goes dark in the middle of its port scan: a cable pulled and put back, a
//! switch port bouncing, spanning tree reconverging, or (what CI met) a machine so loaded that
//! its network stalls for seconds. Silence during such a blackout says nothing of any port, so
//! no port may come out `filtered` because of it.
//!
//! The blackout starts from inside the target's namespace once the scan has sent a set amount
//! of traffic (an nftables quota: past it, every IPv4 packet in is dropped), so it falls in the
//! middle of the port scan on any machine, fast or slow, and the test checks that it did.
//!
//! ```text
//!   scanner ── LAN ─┬─ rst 10.77.0.100   every port closed (RST); dark from ~1,500 probes on
//!                   ├─ pi4 10.77.0.32    dark for good, as root
//!                   └─ pi  10.77.0.31    dark for good, as nobody
//! ```
//!
//! - A 3 s blackout: every one of the 5,000 ports still comes out `closed`, in every run
//!   (before the liveness check, over half of them came out `filtered`).
//! - A host that never comes back: the ports it answered are reported, none is `filtered`,
//!   and the rest are left out of the report with a note that says how many and why.

mod common;

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::report::{find_host, port_states, read_report, state_label};
use common::{Host, Lab, Privilege};
use serde_json::Value;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs of the recovering blackout that must all be exact.
const RUNS: usize = 10;
/// How long the link stays dark in the recovering case.
const DARK: Duration = Duration::from_secs(3);
/// The ports scanned: few enough that, without the liveness check, every try of the ports
/// after the blackout's start would run out inside it (the scan used to end there, calling
/// them all `filtered`).
const PORTS: &str = "1-5000";
const PORT_COUNT: usize = 5000;
/// Traffic into the target before its link goes dark: about a third of the first tries
/// (40 to 60 bytes a SYN).
const QUOTA_KBYTES: u32 = 80;
/// Outer limit on one scan.
const RUN_LIMIT: Duration = Duration::from_secs(120);

/// The nftables table that darkens the target's link (in the target's own namespace).
struct Blackout<'a> {
    lab: &'a Lab,
    ns: &'a str,
}

impl<'a> Blackout<'a> {
    /// Arms the blackout: every IPv4 packet past the quota is dropped, until [`Self::lift`].
    fn arm(lab: &'a Lab, ns: &'a str) -> Self {
        let b = Blackout { lab, ns };
        b.lift();
        b.nft(&["add", "table", "inet", "netdx_blackout"]);
        b.nft(&[
            "add",
            "chain",
            "inet",
            "netdx_blackout",
            "input",
            "{ type filter hook input priority -10; policy accept; }",
        ]);
        let quota = format!("{QUOTA_KBYTES} kbytes");
        b.nft(&[
            "add",
            "rule",
            "inet",
            "netdx_blackout",
            "input",
            "meta",
            "nfproto",
            "ipv4",
            "quota",
            "over",
            &quota,
            "drop",
        ]);
        b
    }

    fn nft(&self, args: &[&str]) -> String {
        let mut argv = vec!["nft"];
        argv.extend_from_slice(args);
        let out = self.lab.exec(self.ns, &argv);
        assert!(
            out.status.success(),
            "nft {args:?} in {}: {}",
            self.ns,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Whether the quota has run out (the link is dark).
    fn dark(&self) -> bool {
        let listing = self.nft(&["list", "table", "inet", "netdx_blackout"]);
        quota_used_kbytes(&listing).is_some_and(|used| used >= f64::from(QUOTA_KBYTES))
    }

    /// Lights the link again (and removes the table; a no-op when there is none).
    fn lift(&self) {
        // Its status is not checked: deleting an absent table fails, and that is fine.
        self.lab.exec(
            self.ns,
            &["nft", "delete", "table", "inet", "netdx_blackout"],
        );
    }
}

impl Drop for Blackout<'_> {
    fn drop(&mut self) {
        self.lift();
    }
}

/// The `used` figure of the quota in an `nft list` listing, in kbytes (`None` before any
/// packet counted).
fn quota_used_kbytes(listing: &str) -> Option<f64> {
    let mut words = listing.split_whitespace();
    words.find(|w| *w == "used")?;
    let value: f64 = words.next()?.parse().ok()?;
    let scale = match words.next()? {
        "bytes" => 1.0 / 1024.0,
        "kbytes" => 1.0,
        "mbytes" => 1024.0,
        _ => return None,
    };
    Some(value * scale)
}

/// What one scan through a blackout gave.
struct Outcome {
    report: Value,
    secs: f64,
    /// When the link went dark, counted from the scan's start.
    dark_at: f64,
}

/// Scans [`PORTS`] of `h` as `who` (service identification off: the port engine is what is
/// tested) while its link goes dark once the quota is used; the link comes back after
/// `dark_for` (`None`: not before the scan ends).
fn scan_through_blackout(
    lab: &Lab,
    h: &Host,
    who: Privilege,
    dark_for: Option<Duration>,
) -> Result<Outcome, String> {
    let ip = h.ip;
    let dir = common::report_dir();
    let path = dir.path().join("report.json");
    let blackout = Blackout::arm(lab, &h.ns);
    let done = AtomicBool::new(false);
    let started = Instant::now();
    let (out, dark_at) = std::thread::scope(|s| {
        let scan = s.spawn(|| {
            let ip_s = ip.to_string();
            let path_s = path.to_str().expect("utf-8 temp path");
            let out = lab.netdx_as(
                who,
                &["scan", &ip_s, "-p", PORTS, "--no-identify", "-o", path_s],
                RUN_LIMIT,
            );
            done.store(true, Ordering::SeqCst);
            out
        });
        let mut dark_at = None;
        while !done.load(Ordering::SeqCst) {
            if blackout.dark() {
                dark_at = Some(started.elapsed());
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if let (Some(_), Some(d)) = (dark_at, dark_for) {
            std::thread::sleep(d);
            blackout.lift();
        }
        (scan.join().expect("scan thread"), dark_at)
    });
    let secs = started.elapsed().as_secs_f64();
    drop(blackout);
    if !out.status.success() {
        return Err(format!(
            "netdx exited {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let Some(dark_at) = dark_at else {
        return Err(format!(
            "the scan ended ({secs:.2} s) before the link went dark: the test proved nothing"
        ));
    };
    Ok(Outcome {
        report: read_report(Path::new(&path)),
        secs,
        dark_at: dark_at.as_secs_f64(),
    })
}

/// How many ports of `h` the report has, and every one whose state is not the truth.
fn tally(report: &Value, h: &Host) -> (usize, Vec<String>) {
    let Some(got) = find_host(report, &h.ip.to_string()) else {
        return (0, vec!["host not in the report".into()]);
    };
    let states = port_states(got);
    let wrong = states
        .iter()
        .filter(|(p, s)| s != state_label(h.port_state(*p)))
        .map(|(p, s)| format!("port {p}: {s}, truth {}", state_label(h.port_state(*p))))
        .collect();
    (states.len(), wrong)
}

fn recovering_blackout(test: &str, who: Privilege) {
    let Some(lab) = common::shared_lab_or_skip(test) else {
        return;
    };
    let _g = serial();
    let h = lab.host("rst");
    assert!(h.open.is_empty(), "rst must have every port closed");
    let mut failures = Vec::new();
    for run in 1..=RUNS {
        let o = match scan_through_blackout(lab, h, who, Some(DARK)) {
            Ok(o) => o,
            Err(e) => {
                eprintln!("run {run}/{RUNS}: {e}");
                failures.push(format!("run {run}: {e}"));
                continue;
            }
        };
        let (reported, mut wrong) = tally(&o.report, h);
        if reported != PORT_COUNT {
            wrong.push(format!("{reported} of {PORT_COUNT} ports reported"));
        }
        eprintln!(
            "{who:?} run {run}/{RUNS}: {:.2} s, dark from {:.2} s for {DARK:?}, {reported} ports, {} wrong",
            o.secs,
            o.dark_at,
            wrong.len()
        );
        if !wrong.is_empty() {
            failures.push(format!(
                "run {run}: {} wrong: {}",
                wrong.len(),
                wrong[..wrong.len().min(10)].join("; ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "a {DARK:?} blackout as {who:?} changed the result:\n{}",
        failures.join("\n")
    );
}

/// Raw SYN scan: a 3 s blackout mid-scan leaves every port `closed`, in 10 runs of 10.
#[test]
fn blackout_mid_scan_changes_nothing_privileged() {
    recovering_blackout(
        "blackout_mid_scan_changes_nothing_privileged",
        Privilege::Root,
    );
}

/// The same through connect() as `nobody`.
#[test]
fn blackout_mid_scan_changes_nothing_unprivileged() {
    recovering_blackout(
        "blackout_mid_scan_changes_nothing_unprivileged",
        Privilege::Nobody,
    );
}

/// A host that goes dark for good. No lock: these scans spend 15 s waiting, not measuring,
/// so they run beside the others (each on a host of its own).
fn host_gone(test: &str, who: Privilege, key: &str) {
    let Some(lab) = common::shared_lab_or_skip(test) else {
        return;
    };
    let h = lab.host(key);
    let o = scan_through_blackout(lab, h, who, None).unwrap_or_else(|e| panic!("{e}"));
    let (reported, wrong) = tally(&o.report, h);
    eprintln!(
        "{who:?}: {:.2} s, dark from {:.2} s, {reported} ports reported",
        o.secs, o.dark_at
    );
    assert!(wrong.is_empty(), "a host gone dark: {wrong:?}");
    assert!(
        reported > 0 && reported < PORT_COUNT,
        "{reported} ports reported: the ports answered before the blackout, not all"
    );
    let notes: Vec<&str> = o.report["notes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["text"].as_str())
        .collect();
    let note = notes
        .iter()
        .find(|t| t.contains("stopped answering"))
        .unwrap_or_else(|| panic!("no note says the host stopped answering: {notes:?}"));
    let missing = PORT_COUNT - reported;
    assert!(
        note.starts_with(&format!("{} stopped answering", h.ip))
            && note.contains(&format!(
                ": {missing} of its {PORT_COUNT} ports were not checked"
            )),
        "the note must name the host and the {missing} ports left out: {note}"
    );
    // Given up after the quiet limit (15 s), not at once and not never.
    assert!(
        o.secs - o.dark_at >= 14.0 && o.secs - o.dark_at < 60.0,
        "gave up {:.1} s after the link went dark",
        o.secs - o.dark_at
    );
}

/// A host that goes dark for good, raw SYN scan (as root, on `pi4`) and connect() scan (as
/// `nobody`, on `pi`) side by side: what each answered is reported, the rest is named in a
/// note, nothing is `filtered`.
#[test]
fn host_gone_mid_scan_is_named_not_filtered() {
    const TEST: &str = "host_gone_mid_scan_is_named_not_filtered";
    std::thread::scope(|s| {
        let root = s.spawn(|| host_gone(TEST, Privilege::Root, "pi4"));
        let nobody = s.spawn(|| host_gone(TEST, Privilege::Nobody, "pi"));
        let (root, nobody) = (root.join(), nobody.join());
        for r in [root, nobody] {
            if let Err(panic) = r {
                std::panic::resume_unwind(panic);
            }
        }
    });
}

#[test]
fn quota_listing_is_read() {
    let listing = "table inet netdx_blackout {\n chain input {\n  meta nfproto ipv4 quota over 600 kbytes used 601 kbytes drop\n }\n}";
    assert_eq!(quota_used_kbytes(listing), Some(601.0));
    assert_eq!(
        quota_used_kbytes("quota over 600 kbytes used 2 mbytes drop"),
        Some(2048.0)
    );
    assert_eq!(quota_used_kbytes("quota over 600 kbytes drop"), None);
}
