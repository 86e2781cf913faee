//! The device inventory from the outside: `netdx inventory` listing (text, JSON, CSV), label,
//! note and forget, an unknown device, a kill -9 in the middle of writing, and a damaged file.
//! No packet leaves loopback: reports are built in code, and the one scan is of 127.0.0.1.

mod common;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use netdx::core::model::{Host, HostStatus, MacAddr, PortState, ScanReport};
use netdx::store::inventory::Inventory;

fn netdx(data: &Path, args: &[&str]) -> Output {
    netdx_with_config(data, Path::new("/dev/null"), args)
}

fn netdx_with_config(data: &Path, config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netdx"))
        .args(args)
        .env("NETDX_DATA_DIR", data)
        .env("NETDX_CONFIG", config)
        .stdin(Stdio::null())
        .output()
        .expect("run netdx")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn mac(i: u32) -> MacAddr {
    let b = i.to_be_bytes();
    MacAddr([0x00, 0x50, b[0], b[1], b[2], b[3]])
}

fn host(ip: IpAddr, mac: Option<MacAddr>) -> Host {
    let mut h = Host::new(ip);
    h.status = HostStatus::Up;
    h.mac = mac;
    h
}

fn report(hosts: impl IntoIterator<Item = Host>) -> ScanReport {
    let mut r = ScanReport::default();
    r.complete = true;
    for h in hosts {
        r.hosts.insert(h.ip, h);
    }
    r
}

/// Three devices: a printer with a hostile-looking name (CSV formula, comma), a host with two
/// open ports, and an off-link host without a MAC.
fn three_devices(data: &Path) {
    let mut inv = Inventory::open(&data.join("inventory.db")).expect("open");
    let mut a = host("10.77.0.21".parse().unwrap(), Some(mac(0x21)));
    a.hostname = Some("=cmd|' /C calc'!A0,printer".into());
    a.vendor = Some("Hewlett Packard".into());
    let mut b = host("10.77.0.3".parse().unwrap(), Some(mac(0x03)));
    b.set_port(22, PortState::Open, None);
    b.set_port(80, PortState::Open, None);
    let c = host("192.0.2.7".parse().unwrap(), None);
    let u = inv
        .record(&report([a, b, c]), "2026-11-30T10:00:00Z", 1)
        .expect("record");
    assert!(u.started);
    assert_eq!(u.devices, 3);
}

#[test]
fn lists_in_text_json_and_csv_sorted_by_address() {
    let dir = tempfile::tempdir().unwrap();
    three_devices(dir.path());

    let out = netdx(dir.path(), &["inventory"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    let rows: Vec<&str> = t.lines().collect();
    assert!(
        rows[0].starts_with("ADDRESS") && rows[0].contains("LAST SEEN"),
        "{t}"
    );
    assert!(rows[1].starts_with("10.77.0.3 "), "{t}");
    assert!(rows[2].starts_with("10.77.0.21 "), "{t}");
    assert!(rows[3].starts_with("192.0.2.7 "), "{t}");
    assert!(rows[1].trim_end().ends_with(" 2"), "two open services: {t}");
    assert!(t.contains("3 devices"), "{t}");
    // `list` is the same as no subcommand.
    assert_eq!(netdx(dir.path(), &["inventory", "list"]).stdout, out.stdout);

    let out = netdx(dir.path(), &["inventory", "--format", "json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let devs = v["devices"].as_array().expect("devices");
    let addrs: Vec<&str> = devs
        .iter()
        .map(|d| d["address"].as_str().unwrap())
        .collect();
    assert_eq!(addrs, ["10.77.0.3", "10.77.0.21", "192.0.2.7"]);
    assert_eq!(devs[0]["macs"][0]["mac"], "00:50:00:00:00:03");
    assert_eq!(devs[0]["services"][1]["port"], 80);
    assert_eq!(devs[0]["first_seen"], "2026-11-30T10:00:00Z");
    assert_eq!(devs[2]["macs"].as_array().map(Vec::len), Some(0));

    let csv_file = dir.path().join("devices.csv");
    let out = netdx(dir.path(), &["inventory", "-o", csv_file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rows = common::parse_csv(&std::fs::read_to_string(&csv_file).unwrap());
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert_eq!(rows[0][0], "address");
    assert!(rows.iter().all(|r| r.len() == rows[0].len()), "{rows:?}");
    let name = rows[0].iter().position(|c| c == "name").unwrap();
    let services = rows[0].iter().position(|c| c == "open_services").unwrap();
    assert_eq!(rows[2][0], "10.77.0.21");
    assert_eq!(
        rows[2][name], "'=cmd|' /C calc'!A0,printer",
        "formula neutralised"
    );
    assert_eq!(rows[1][services], "22/ssh 80/http");
    // --format wins over the extension.
    let out = netdx(dir.path(), &["inventory", "--format", "csv"]);
    assert_eq!(common::parse_csv(&text(&out.stdout)), rows);
}

#[test]
fn an_inventory_that_does_not_exist_lists_empty_and_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = netdx(&data, &["inventory"]);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("The inventory is empty"));
    assert!(!data.exists(), "looking created the inventory");
    let out = netdx(&data, &["inventory", "label", "00:50:00:00:00:03", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!data.exists());
}

#[test]
fn label_note_forget_and_unknown_devices() {
    let dir = tempfile::tempdir().unwrap();
    three_devices(dir.path());
    let d = dir.path();
    let ok = |args: &[&str]| {
        let out = netdx(d, args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    };
    ok(&[
        "inventory",
        "label",
        "00:50:00:00:00:03",
        "Reception printer",
    ]);
    ok(&[
        "inventory",
        "note",
        "192.0.2.7",
        "upstream DNS, ask the ISP",
    ]);
    let v: serde_json::Value =
        serde_json::from_slice(&netdx(d, &["inventory", "--format", "json"]).stdout).unwrap();
    assert_eq!(v["devices"][0]["label"], "Reception printer");
    assert_eq!(v["devices"][2]["note"], "upstream DNS, ask the ISP");
    let table = text(&netdx(d, &["inventory"]).stdout);
    assert!(table.contains("Reception printer"), "{table}");

    // A later scan keeps the label.
    let mut inv = Inventory::open(&d.join("inventory.db")).unwrap();
    let mut h = host("10.77.0.3".parse().unwrap(), Some(mac(0x03)));
    h.hostname = Some("reception.lab.test".into());
    inv.record(&report([h]), "2026-11-30T11:00:00Z", 1).unwrap();
    drop(inv);
    let v: serde_json::Value =
        serde_json::from_slice(&netdx(d, &["inventory", "--format", "json"]).stdout).unwrap();
    assert_eq!(v["devices"][0]["label"], "Reception printer");
    assert_eq!(v["devices"][0]["last_seen"], "2026-11-30T11:00:00Z");

    for args in [
        &["inventory", "label", "00:50:00:00:00:99", "x"][..],
        &["inventory", "note", "10.77.0.99", "x"],
        &["inventory", "forget", "10.77.0.99"],
        &["inventory", "forget", "printer"],
    ] {
        let out = netdx(d, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        assert!(err.starts_with("netdx: error:"), "{err}");
    }
    ok(&["inventory", "forget", "10.77.0.3"]);
    let v: serde_json::Value =
        serde_json::from_slice(&netdx(d, &["inventory", "--format", "json"]).stdout).unwrap();
    assert_eq!(v["devices"].as_array().map(Vec::len), Some(2));
}

// --- kill -9 in the middle of writing -------------------------------------------------------

const CHILD_ENV: &str = "NETDX_TEST_INVENTORY_WRITER";
/// Devices each scan of the writer adds; with the ones it updates, a scan is one large
/// transaction, so kills land inside it.
const PER_SCAN: u32 = 40;

/// Not a test on its own: the child process of `kill_9_mid_write_never_corrupts`, which runs
/// the test binary again with only this test and an environment variable naming the database.
#[test]
#[ignore = "child process of kill_9_mid_write_never_corrupts"]
fn inventory_writer_child() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let path = PathBuf::from(path);
    let mut inv = Inventory::open(&path).expect("child: open");
    for round in 0u32.. {
        // Where the last one stopped, so every kill adds devices.
        let start = inv.count().expect("count") as u32;
        // PER_SCAN new devices, and up to 200 known ones seen again.
        let hosts = (start..start + PER_SCAN).chain(0..start.min(200)).map(|n| {
            let ip = IpAddr::from([
                10,
                60 + (n / 65536) as u8,
                (n / 256 % 256) as u8,
                (n % 256) as u8,
            ]);
            let mut h = host(ip, Some(mac(n)));
            h.hostname = Some(format!("dev{n}-r{round}.lab.test"));
            h.set_port(22, PortState::Open, None);
            h.set_port(
                80,
                if round % 2 == 0 {
                    PortState::Open
                } else {
                    PortState::Closed
                },
                None,
            );
            h
        });
        inv.record(&report(hosts), &format!("r{round}"), 1)
            .expect("child: record");
    }
}

#[test]
fn kill_9_mid_write_never_corrupts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("inventory.db");
    let exe = std::env::current_exe().expect("test binary");
    let mut committed_before = 0usize;
    for kill in 0..10u64 {
        let mut child = Command::new(&exe)
            .args([
                "inventory_writer_child",
                "--exact",
                "--ignored",
                "--nocapture",
            ])
            .env(CHILD_ENV, &db)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn writer");
        // "Random" points: a spread of delays plus the clock's nanoseconds.
        let jitter = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::from(d.subsec_nanos()) % 150)
            .unwrap_or(0);
        std::thread::sleep(Duration::from_millis(150 + kill * 37 + jitter));
        child.kill().expect("kill -9"); // SIGKILL on Unix
        let status = child.wait().expect("wait");
        assert!(!status.success(), "the writer ended by itself: {status:?}");

        if !db.exists() {
            continue; // killed before the first database was renamed into place
        }
        // Opening succeeds (WAL recovery), nothing is damaged, and the state is one that a
        // whole number of committed scans makes.
        let inv = Inventory::open(&db).expect("reopen after kill -9");
        let devices = inv.count().unwrap();
        drop(inv);
        let conn = rusqlite::Connection::open(&db).unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok", "after kill {kill}");
        let scans: usize = conn
            .query_row("SELECT count(*) FROM scans", [], |r| r.get::<_, i64>(0))
            .unwrap() as usize;
        let macs: usize = conn
            .query_row("SELECT count(*) FROM macs", [], |r| r.get::<_, i64>(0))
            .unwrap() as usize;
        let addrs: usize = conn
            .query_row("SELECT count(DISTINCT device_id) FROM addresses", [], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap() as usize;
        assert_eq!(
            devices,
            scans * PER_SCAN as usize,
            "after kill {kill}: {scans} scans"
        );
        assert_eq!(macs, devices);
        assert_eq!(addrs, devices);
        assert!(devices >= committed_before, "committed scans were lost");
        eprintln!("kill {kill}: {scans} scans committed, {devices} devices");
        committed_before = devices;
    }
    assert!(
        committed_before > 0,
        "no scan was ever committed: the kills came too early"
    );
}

// --- a damaged database ---------------------------------------------------------------------

fn assert_refused(data: &Path, db: &Path, before: &[u8]) {
    let out = netdx(data, &["inventory"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(
        err.contains(&db.display().to_string()) && err.contains("move it away"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    assert_eq!(
        std::fs::read(db).unwrap(),
        before,
        "the damaged file was changed"
    );
    // Labelling refuses too, and the library never recreates it.
    let out = netdx(data, &["inventory", "label", "00:50:00:00:00:03", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(Inventory::open(db).is_err());
    assert_eq!(std::fs::read(db).unwrap(), before);
}

#[test]
fn garbage_is_refused_and_left_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("inventory.db");
    let garbage: Vec<u8> = (0..10_000u32).map(|i| (i * 7919 % 251) as u8).collect();
    std::fs::write(&db, &garbage).unwrap();
    assert_refused(dir.path(), &db, &garbage);
}

#[test]
fn a_truncated_database_is_refused_and_left_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("inventory.db");
    {
        let mut inv = Inventory::open(&db).unwrap();
        let hosts = (0..600u32).map(|n| {
            let mut h = host(
                IpAddr::from([10, 61, (n / 256) as u8, (n % 256) as u8]),
                Some(mac(n)),
            );
            h.hostname = Some(format!("a-rather-long-host-name-{n}.lab.test"));
            h
        });
        inv.record(&report(hosts), "t1", 1).unwrap();
    }
    let whole = std::fs::read(&db).unwrap();
    assert!(whole.len() > 64 * 1024, "{} bytes", whole.len());
    let cut = whole[..whole.len() / 2].to_vec();
    std::fs::write(&db, &cut).unwrap();
    assert_refused(dir.path(), &db, &cut);
}

/// A scan never loses its results to a damaged inventory: the error is said, the report is
/// written, the inventory is not recreated; the exit code fails only when the config file
/// asked for the inventory explicitly. Scans 127.0.0.1 only.
#[test]
fn a_scan_with_a_damaged_inventory_still_reports_and_does_not_recreate_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("inventory.db");
    let garbage = b"SQLite format 2\0 and then nothing useful".to_vec();
    std::fs::write(&db, &garbage).unwrap();
    let report_path = dir.path().join("r.json");
    let args = [
        "scan",
        "127.0.0.1",
        "--no-arp",
        "--no-names",
        "-p",
        "1",
        "-o",
        report_path.to_str().unwrap(),
    ];
    let out = netdx(dir.path(), &args);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("is damaged") && err.contains("not recorded"),
        "{err}"
    );
    assert!(report_path.exists(), "the report was not written");
    assert_eq!(std::fs::read(&db).unwrap(), garbage);

    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[scan]\ninventory = true\n").unwrap();
    std::fs::remove_file(&report_path).unwrap();
    let out = netdx_with_config(dir.path(), &config, &args);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(report_path.exists(), "the report was not written");
    assert_eq!(std::fs::read(&db).unwrap(), garbage);

    // --no-inventory does not touch it at all.
    let out = netdx(dir.path(), &[&args[..], &["--no-inventory"]].concat());
    assert!(out.status.success());
    assert!(!text(&out.stderr).contains("damaged"));
}

/// `--no-inventory` and `inventory = false` in the config file leave no inventory behind; by
/// default a scan creates it. Scans 127.0.0.1 only.
#[test]
fn scans_record_by_default_and_not_when_switched_off() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("inventory.db");
    let scan = ["scan", "127.0.0.1", "--no-arp", "--no-names", "-p", "1"];
    let out = netdx(dir.path(), &[&scan[..], &["--no-inventory"]].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains("Changes since last seen"));
    assert!(!db.exists());

    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[scan]\ninventory = false\n").unwrap();
    let out = netdx_with_config(dir.path(), &config, &scan);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!db.exists());

    let out = netdx(dir.path(), &scan);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("Changes since last seen: inventory started: 1 device"),
        "{}",
        text(&out.stdout)
    );
    let out = netdx(dir.path(), &scan);
    assert!(
        text(&out.stdout).contains("Changes since last seen: none"),
        "{}",
        text(&out.stdout)
    );
    let inv = Inventory::open(&db).unwrap();
    let devices = inv.list().unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].address.to_string(), "127.0.0.1");
}
