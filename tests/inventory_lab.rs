//! The device inventory across two scans of the lab /24 (tests/lab/topology.json is the
//! truth): the first scan records exactly the lab's hosts with their MACs and starts the
//! inventory; then one host leaves the LAN (its link goes down) and another closes a port
//! (nftables resets it), and the second scan's alerts are exactly "device gone" and "port
//! closed" for those two, nothing else. A lab of its own (the test changes it); the
//! inventory lives in the lab's NETDX_DATA_DIR.

mod common;

use std::collections::BTreeMap;

use serde_json::Value;

/// `netdx scan <lan> -p 5432 --no-names -o r.json`: (stdout, report). Port 5432 only: the
/// database host listens on it, and no lab host that loses packets does, so no port can
/// flip to open or from open by chance between the two scans.
fn scan(lab: &common::Lab) -> (String, Value) {
    let dir = common::report_dir();
    let json = dir.path().join("r.json");
    let json_s = json.to_str().expect("utf-8").to_string();
    let subnet = lab.info().lan.ipv4.clone();
    let out = lab.netdx(&["scan", &subnet, "-p", "5432", "--no-names", "-o", &json_s]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "netdx scan failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value =
        serde_json::from_slice(&std::fs::read(&json).expect("report")).expect("JSON");
    let invalid = common::report::schema_errors(&report);
    assert!(
        invalid.is_empty(),
        "report does not match the schema: {invalid:?}"
    );
    (stdout, report)
}

fn alerts(report: &Value) -> Vec<(String, String, String)> {
    report["alerts"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| {
                    (
                        x["kind"].as_str().unwrap_or_default().to_string(),
                        x["ip"].as_str().unwrap_or_default().to_string(),
                        x["text"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn inventory_across_two_scans_says_exactly_what_changed() {
    let Some(lab) = common::lab_or_skip("inventory_across_two_scans_says_exactly_what_changed")
    else {
        return;
    };
    let truth = lab.arp_truth();
    let scanner = lab.scanner();

    // Scan 1: every device is new; the summary says so in one line.
    let (stdout, report) = scan(&lab);
    let n = lab.hosts().len() + 1; // and the scanner itself
    assert!(
        stdout.contains(&format!(
            "Changes since last seen: inventory started: {n} devices"
        )),
        "{stdout}"
    );
    let first = alerts(&report);
    assert_eq!(first.len(), n, "{first:#?}");
    assert!(first.iter().all(|a| a.0 == "new_device"), "{first:#?}");

    let out = lab.netdx(&["inventory", "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let inv: Value = serde_json::from_slice(&out.stdout).expect("inventory JSON");
    let devices = inv["devices"].as_array().expect("devices");
    let got: BTreeMap<String, Vec<String>> = devices
        .iter()
        .map(|d| {
            let macs = d["macs"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| m["mac"].as_str().map(str::to_string))
                .collect();
            (d["address"].as_str().unwrap_or_default().to_string(), macs)
        })
        .collect();
    assert_eq!(got.len(), n, "{got:#?}");
    for (ip, mac) in &truth {
        assert_eq!(
            got.get(&ip.to_string()),
            Some(&vec![mac.to_string()]),
            "{ip}"
        );
    }
    let own = got
        .get(&scanner.ip.to_string())
        .expect("the scanner itself");
    assert!(
        own.is_empty() || own == &vec![scanner.mac.to_string()],
        "scanner: {own:?}"
    );

    // Between the scans: pi4 leaves the LAN, db resets connections to 5432.
    let gone = lab.host("pi4");
    let db = lab.host("db");
    assert!(
        db.open.contains(&5432),
        "db listens on 5432 in the topology"
    );
    let iface = lab.info().lan.iface.clone();
    let out = lab.exec(&gone.ns, &["ip", "link", "set", &iface, "down"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rules = "table inet ndxinv {\n chain input {\n  type filter hook input priority 0;\n  tcp dport 5432 reject with tcp reset\n }\n}\n";
    let out = lab.exec(
        &db.ns,
        &["bash", "-c", &format!("printf '%s' '{rules}' | nft -f -")],
    );
    assert!(
        out.status.success(),
        "nft: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Scan 2: exactly those two changes.
    let (stdout, report) = scan(&lab);
    let mut second = alerts(&report);
    second.sort();
    let gone_mac = truth[&gone.ip].to_string();
    assert_eq!(
        second
            .iter()
            .map(|a| (a.0.as_str(), a.1.as_str()))
            .collect::<Vec<_>>(),
        [
            ("device_gone", gone.ip.to_string().as_str()),
            ("port_closed", db.ip.to_string().as_str()),
        ],
        "{second:#?}"
    );
    assert!(
        second[0]
            .2
            .starts_with(&format!("device gone: {} {gone_mac}", gone.ip)),
        "{}",
        second[0].2
    );
    assert_eq!(
        second[1].2,
        format!("{}: port 5432/tcp closed (was open)", db.ip)
    );
    eprintln!("second scan, stdout:\n{stdout}");
    let changes = stdout
        .split("Changes since last seen:")
        .nth(1)
        .unwrap_or_else(|| panic!("no changes section:\n{stdout}"));
    assert!(
        changes.contains(&second[0].2) && changes.contains(&second[1].2),
        "{stdout}"
    );
    // The device gone is a warning, listed before the port (info).
    assert!(
        changes.find("device gone") < changes.find("port 5432"),
        "{changes}"
    );

    // The inventory still has every device; pi4 missed one scan; db has no 5432 any more.
    let out = lab.netdx(&["inventory", "--format", "json"]);
    let inv: Value = serde_json::from_slice(&out.stdout).expect("inventory JSON");
    let devices = inv["devices"].as_array().expect("devices");
    assert_eq!(devices.len(), n);
    eprintln!(
        "netdx inventory:\n{}",
        String::from_utf8_lossy(&lab.netdx(&["inventory"]).stdout)
    );
    let find = |ip: String| {
        devices
            .iter()
            .find(|d| d["address"] == ip.as_str())
            .unwrap_or_else(|| panic!("{ip} not in the inventory"))
    };
    assert_eq!(find(gone.ip.to_string())["missed"], 1);
    let db_services: Vec<u64> = find(db.ip.to_string())["services"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["port"].as_u64())
        .collect();
    assert!(!db_services.contains(&5432), "{db_services:?}");
}
