//! Inventory figures (issue 11): a 10,000-device inventory in a temporary directory, then
//! - listing it as JSON through the library (open with its integrity check, read, render),
//! - the whole `netdx inventory --format json` command (process start to exit),
//! - recording one scan of 254 hosts into it (one transaction, fsynced).
//!
//! Median of several runs each; targets: listing < 100 ms, update < 50 ms. No network.
//! `cargo bench --bench inventory`.

use std::net::IpAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use netdx::core::model::{Host, HostStatus, MacAddr, PortState, ScanReport};
use netdx::store::inventory::{self, Inventory, ListFormat};

const RUNS: usize = 9;

/// A scan of the /24 number `net` (254 hosts, all up), as the `round`-th time it is seen.
fn subnet_scan(net: u16, round: u32) -> ScanReport {
    let mut r = ScanReport::default();
    r.complete = true;
    for i in 1..=254u8 {
        let ip = IpAddr::from([10, (net / 256) as u8, (net % 256) as u8, i]);
        let mut h = Host::new(ip);
        h.status = HostStatus::Up;
        h.mac = Some(MacAddr([
            0x00,
            0x50,
            0x56,
            (net / 256) as u8,
            (net % 256) as u8,
            i,
        ]));
        h.vendor = Some("VMware, Inc.".into());
        h.hostname = Some(format!("host-{net}-{i}.lab.test"));
        h.set_port(22, PortState::Open, None);
        // One port in ten changes state every round: the update has work to do.
        let web = if (u32::from(i) + round).is_multiple_of(10) {
            PortState::Closed
        } else {
            PortState::Open
        };
        h.set_port(80, web, None);
        h.set_port(443, PortState::Filtered, None);
        r.hosts.insert(ip, h);
    }
    r
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join(inventory::FILE_NAME);
    let started = Instant::now();
    {
        let mut inv = Inventory::open(&db).expect("open");
        for net in 0..40u16 {
            inv.record(&subnet_scan(net, 0), "2026-11-30T10:00:00Z", 1)
                .expect("record");
        }
        assert!(inv.count().expect("count") >= 10_000);
    }
    let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    println!(
        "built an inventory of {} devices in {:.1} s ({:.1} MB)",
        40 * 254,
        started.elapsed().as_secs_f64(),
        size as f64 / 1e6
    );

    // Library: open (quick_check included) + list + render JSON.
    let mut lib = Vec::new();
    let (mut open_t, mut list_t, mut render_t) = (Vec::new(), Vec::new(), Vec::new());
    let mut json_len = 0;
    for _ in 0..RUNS {
        let t = Instant::now();
        let inv = Inventory::open(&db).expect("open");
        open_t.push(t.elapsed());
        let t1 = Instant::now();
        let devices = inv.list().expect("list");
        list_t.push(t1.elapsed());
        let t2 = Instant::now();
        let text = inventory::render(&devices, ListFormat::Json);
        render_t.push(t2.elapsed());
        lib.push(t.elapsed());
        json_len = text.len();
        assert_eq!(devices.len(), 40 * 254);
    }
    println!(
        "  open (integrity check) {:.1} ms, read {:.1} ms, render {:.1} ms (medians)",
        ms(median(open_t)),
        ms(median(list_t)),
        ms(median(render_t))
    );

    // The whole command.
    let mut cmd = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_netdx"))
            .args(["inventory", "--format", "json"])
            .env("NETDX_DATA_DIR", dir.path())
            .env("NETDX_CONFIG", "/dev/null")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .output()
            .expect("run netdx");
        cmd.push(t.elapsed());
        assert!(out.status.success());
        assert_eq!(out.stdout.len(), json_len);
    }

    // One scan of 254 known hosts into the 10k inventory.
    let mut upd = Vec::new();
    let mut inv = Inventory::open(&db).expect("open");
    for round in 1..=RUNS as u32 {
        let scan = subnet_scan(7, round);
        let t = Instant::now();
        let u = inv
            .record(&scan, &format!("2026-11-30T11:{round:02}:00Z"), 1)
            .expect("record");
        upd.push(t.elapsed());
        assert!(!u.alerts.is_empty(), "ports changed: alerts expected");
    }

    let (lib, cmd, upd) = (median(lib), median(cmd), median(upd));
    println!(
        "list 10,160 devices as JSON ({:.1} MB), library:  median {:.1} ms of {RUNS} (target < 100 ms)",
        json_len as f64 / 1e6,
        ms(lib)
    );
    println!(
        "`netdx inventory --format json`, whole command: median {:.1} ms of {RUNS} (target < 100 ms)",
        ms(cmd)
    );
    println!(
        "record one scan of 254 hosts into it:          median {:.1} ms of {RUNS} (target < 50 ms)",
        ms(upd)
    );
}
