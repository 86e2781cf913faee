//! Change detection on hand-built reports.

use super::*;
use crate::core::alert::AlertKind;
use crate::core::devtype::DeviceType;
use crate::core::identity::{ServiceId, TlsInfo};
use crate::core::model::{Host, HostStatus, PortState, ScanReport};
use crate::core::names::{HostNames, MdnsInfo};

fn inv() -> (tempfile::TempDir, Inventory) {
    let dir = tempfile::tempdir().expect("tempdir");
    let inv = Inventory::open(&dir.path().join("inventory.db")).expect("open");
    (dir, inv)
}

fn up(ip: &str, mac: Option<&str>) -> Host {
    let mut h = Host::new(ip.parse().expect("ip"));
    h.status = HostStatus::Up;
    h.mac = mac.map(|m| m.parse().expect("mac"));
    h
}

/// A report of `hosts` (up) plus `silent` addresses probed without an answer.
fn report(hosts: Vec<Host>, silent: &[&str]) -> ScanReport {
    let mut r = ScanReport::default();
    r.complete = true;
    for h in hosts {
        r.hosts.insert(h.ip, h);
    }
    for s in silent {
        let mut h = Host::new(s.parse().expect("ip"));
        h.status = HostStatus::NoAnswer;
        r.hosts.insert(h.ip, h);
    }
    r
}

fn kinds(u: &Update) -> Vec<AlertKind> {
    u.alerts.iter().map(|a| a.kind).collect()
}

fn texts(u: &Update) -> Vec<&str> {
    u.alerts.iter().map(|a| a.text.as_str()).collect()
}

const A: &str = "00:11:22:33:44:55";
const B: &str = "00:11:22:33:44:66";

#[test]
fn first_scan_starts_the_inventory_and_every_device_is_new_once() {
    let (_d, mut inv) = inv();
    let mut h = up("10.77.0.23", Some(A));
    h.vendor = Some("Raspberry Pi Trading Ltd".into());
    h.device = Some(DeviceType {
        kind: "printer".into(),
        confidence: "high".into(),
        evidence: vec![],
    });
    let u = inv
        .record(
            &report(vec![h.clone(), up("10.77.0.24", Some(B))], &[]),
            "t1",
            1,
        )
        .unwrap();
    assert!(u.started);
    assert_eq!(u.devices, 2);
    assert_eq!(
        texts(&u)[0],
        "new device 10.77.0.23 00:11:22:33:44:55 (Raspberry Pi Trading Ltd, printer)"
    );
    assert_eq!(kinds(&u), [AlertKind::NewDevice, AlertKind::NewDevice]);
    // The same scan again: nothing changed, nothing new.
    let u = inv
        .record(&report(vec![h, up("10.77.0.24", Some(B))], &[]), "t2", 1)
        .unwrap();
    assert!(!u.started);
    assert!(u.alerts.is_empty(), "{:?}", u.alerts);
    let list = inv.list().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].first_seen, "t1");
    assert_eq!(list[0].last_seen, "t2");
}

#[test]
fn gone_after_n_missed_scans_is_said_once() {
    let (_d, mut inv) = inv();
    inv.record(&report(vec![up("10.0.0.5", Some(A))], &[]), "t1", 2)
        .unwrap();
    let silent = report(vec![], &["10.0.0.5"]);
    let u = inv.record(&silent, "t2", 2).unwrap();
    assert!(u.alerts.is_empty(), "one miss of two: {:?}", u.alerts);
    let u = inv.record(&silent, "t3", 2).unwrap();
    assert_eq!(kinds(&u), [AlertKind::DeviceGone]);
    assert_eq!(
        texts(&u)[0],
        "device gone: 10.0.0.5 00:11:22:33:44:55 did not answer in 2 scans (last seen t1)"
    );
    let u = inv.record(&silent, "t4", 2).unwrap();
    assert!(u.alerts.is_empty(), "said once: {:?}", u.alerts);
    assert_eq!(inv.list().unwrap()[0].missed, 3);
    // A scan that did not cover its address is not a miss.
    let u = inv
        .record(&report(vec![up("10.0.0.9", Some(B))], &[]), "t5", 2)
        .unwrap();
    assert_eq!(kinds(&u), [AlertKind::NewDevice]);
    assert_eq!(inv.list().unwrap()[0].missed, 3);
    // Back: the counter starts again.
    inv.record(&report(vec![up("10.0.0.5", Some(A))], &[]), "t6", 2)
        .unwrap();
    assert_eq!(inv.list().unwrap()[0].missed, 0);
}

#[test]
fn an_address_answered_by_another_mac_is_a_mac_change_not_a_new_device() {
    let (_d, mut inv) = inv();
    inv.record(&report(vec![up("10.0.0.1", Some(A))], &[]), "t1", 2)
        .unwrap();
    let mut h = up("10.0.0.1", Some(B));
    h.vendor = Some("Evil Corp".into());
    let u = inv.record(&report(vec![h], &[]), "t2", 2).unwrap();
    assert_eq!(kinds(&u), [AlertKind::MacChanged], "{:?}", u.alerts);
    assert_eq!(
        texts(&u)[0],
        "10.0.0.1: now answered by 00:11:22:33:44:66 (Evil Corp), was 00:11:22:33:44:55"
    );
    assert_eq!(u.alerts[0].level, crate::core::alert::AlertLevel::Warning);
    // The new MAC is a device of its own; the old one missed its first scan (of 2).
    assert_eq!(inv.count().unwrap(), 2);
    assert_eq!(inv.list().unwrap().iter().map(|d| d.missed).sum::<u32>(), 1);
}

#[test]
fn the_old_device_missing_at_its_address_is_gone_too() {
    let (_d, mut inv) = inv();
    inv.record(&report(vec![up("10.0.0.1", Some(A))], &[]), "t1", 1)
        .unwrap();
    let u = inv
        .record(&report(vec![up("10.0.0.1", Some(B))], &[]), "t2", 1)
        .unwrap();
    assert_eq!(kinds(&u), [AlertKind::MacChanged, AlertKind::DeviceGone]);
}

#[test]
fn name_and_type_changes_are_said_but_learning_them_is_not() {
    let (_d, mut inv) = inv();
    let mut h = up("10.0.0.7", Some(A));
    inv.record(&report(vec![h.clone()], &[]), "t1", 1).unwrap();
    h.hostname = Some("nas.lab.test".into());
    h.device = Some(DeviceType {
        kind: "NAS".into(),
        confidence: "high".into(),
        evidence: vec![],
    });
    let u = inv.record(&report(vec![h.clone()], &[]), "t2", 1).unwrap();
    assert!(u.alerts.is_empty(), "learned, not changed: {:?}", u.alerts);
    h.hostname = Some("backup.lab.test".into());
    h.device.as_mut().unwrap().kind = "server".into();
    let u = inv.record(&report(vec![h.clone()], &[]), "t3", 1).unwrap();
    assert_eq!(
        texts(&u),
        [
            "10.0.0.7: device type changed from NAS to server",
            "10.0.0.7: ptr name changed from nas.lab.test to backup.lab.test",
        ]
    );
    // A scan without names (--no-rdns) says nothing about them.
    h.hostname = None;
    let u = inv.record(&report(vec![h], &[]), "t4", 1).unwrap();
    assert!(u.alerts.is_empty(), "{:?}", u.alerts);
    assert_eq!(inv.list().unwrap()[0].best_name(), Some("backup.lab.test"));
}

#[test]
fn ports_open_and_close_only_when_this_scan_checked_them() {
    let (_d, mut inv) = inv();
    let mut h = up("10.77.0.20", Some(A));
    h.set_port(80, PortState::Open, None);
    h.set_port(8080, PortState::Closed, None);
    h.set_port(443, PortState::Filtered, None);
    inv.record(&report(vec![h], &[]), "t1", 1).unwrap();
    // A scan without -p: nothing checked, nothing changed.
    let u = inv
        .record(&report(vec![up("10.77.0.20", Some(A))], &[]), "t2", 1)
        .unwrap();
    assert!(u.alerts.is_empty(), "{:?}", u.alerts);
    assert_eq!(inv.list().unwrap()[0].services.len(), 1);
    // -p 80: closed now. 8080 not checked: still "was closed".
    let mut h = up("10.77.0.20", Some(A));
    h.set_port(80, PortState::Closed, None);
    let u = inv.record(&report(vec![h], &[]), "t3", 1).unwrap();
    assert_eq!(texts(&u), ["10.77.0.20: port 80/tcp closed (was open)"]);
    assert_eq!(kinds(&u), [AlertKind::PortClosed]);
    let mut h = up("10.77.0.20", Some(A));
    h.set_port(8080, PortState::Open, None);
    h.set_port(443, PortState::Open, None);
    h.set_port(22, PortState::Open, None); // never checked before: learned silently
    let u = inv.record(&report(vec![h], &[]), "t4", 1).unwrap();
    assert_eq!(
        texts(&u),
        [
            "10.77.0.20: port 443/tcp open (was filtered)",
            "10.77.0.20: port 8080/tcp open (was closed)",
        ]
    );
    assert!(u.alerts.iter().all(|a| a.kind == AlertKind::PortOpened));
    let open: Vec<u16> = inv.list().unwrap()[0]
        .services
        .iter()
        .map(|s| s.port)
        .collect();
    assert_eq!(open, [22, 443, 8080]);
}

fn tls_port(h: &mut Host, cn: &str, until: &str) {
    h.set_port(443, PortState::Open, None);
    h.ports[0].identity = Some(ServiceId {
        protocol: "https".into(),
        tls: Some(TlsInfo {
            version: "TLSv1.3".into(),
            subject_cn: Some(cn.into()),
            not_after: Some(until.into()),
            ..Default::default()
        }),
        ..Default::default()
    });
}

#[test]
fn a_replaced_certificate_is_said() {
    let (_d, mut inv) = inv();
    let mut h = up("10.0.0.8", Some(A));
    tls_port(&mut h, "web.lab.test", "2027-01-01");
    inv.record(&report(vec![h], &[]), "t1", 1).unwrap();
    let mut h = up("10.0.0.8", Some(A));
    tls_port(&mut h, "web.lab.test", "2027-01-01");
    let u = inv.record(&report(vec![h], &[]), "t2", 1).unwrap();
    assert!(u.alerts.is_empty(), "same certificate: {:?}", u.alerts);
    let mut h = up("10.0.0.8", Some(A));
    tls_port(&mut h, "evil.example", "2027-06-01");
    let u = inv.record(&report(vec![h], &[]), "t3", 1).unwrap();
    assert_eq!(kinds(&u), [AlertKind::CertChanged]);
    assert_eq!(
        texts(&u)[0],
        "10.0.0.8: certificate on port 443/tcp changed: CN=web.lab.test, until 2027-01-01 -> \
         CN=evil.example, until 2027-06-01"
    );
    // Without identification (no certificate seen) nothing is said.
    let mut h = up("10.0.0.8", Some(A));
    h.set_port(443, PortState::Open, None);
    let u = inv.record(&report(vec![h], &[]), "t4", 1).unwrap();
    assert!(u.alerts.is_empty(), "{:?}", u.alerts);
}

fn phone(ip: &str, mac: &str) -> Host {
    let mut h = up(ip, Some(mac));
    h.names = HostNames {
        mdns: Some(MdnsInfo {
            hostname: Some("Annas-iPhone.local".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    h
}

#[test]
fn randomised_macs_with_the_same_name_are_one_device() {
    let (_d, mut inv) = inv();
    inv.record(
        &report(vec![phone("10.0.0.30", "da:a1:19:00:00:01")], &[]),
        "t1",
        1,
    )
    .unwrap();
    // Tomorrow: another privacy address, another IP, same name (case differs).
    let mut p = phone("10.0.0.31", "6e:00:00:00:00:02");
    p.names.mdns.as_mut().unwrap().hostname = Some("annas-iphone.local.".into());
    let u = inv.record(&report(vec![p], &[]), "t2", 1).unwrap();
    assert!(
        !kinds(&u).contains(&AlertKind::NewDevice),
        "a privacy address is not a new device: {:?}",
        u.alerts
    );
    let list = inv.list().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].macs.len(), 2);
    assert_eq!(list[0].address.to_string(), "10.0.0.31");
    // A universally administered MAC with that name is another device.
    let u = inv
        .record(&report(vec![phone("10.0.0.32", A)], &[]), "t3", 1)
        .unwrap();
    assert_eq!(kinds(&u), [AlertKind::NewDevice]);
    assert_eq!(inv.count().unwrap(), 2);
}

#[test]
fn label_and_note_survive_updates_and_forget_removes() {
    let (_d, mut inv) = inv();
    let mut h = up("10.0.0.40", Some(A));
    inv.record(&report(vec![h.clone()], &[]), "t1", 1).unwrap();
    inv.set_label("00-11-22-33-44-55", "Reception printer")
        .unwrap();
    inv.set_note("10.0.0.40", "toner ordered").unwrap();
    h.hostname = Some("prn.lab.test".into());
    inv.record(&report(vec![h], &[]), "t2", 1).unwrap();
    let d = &inv.list().unwrap()[0];
    assert_eq!(d.label.as_deref(), Some("Reception printer"));
    assert_eq!(d.note.as_deref(), Some("toner ordered"));
    // Gone: the label names it.
    let u = inv
        .record(&report(vec![], &["10.0.0.40"]), "t3", 1)
        .unwrap();
    assert_eq!(
        texts(&u),
        [
            "device gone: 10.0.0.40 00:11:22:33:44:55 \"Reception printer\" did not answer in 1 scan (last seen t2)"
        ]
    );
    assert!(matches!(
        inv.set_label("10.9.9.9", "x"),
        Err(InventoryError::UnknownDevice(_))
    ));
    assert!(matches!(
        inv.set_label("printer", "x"),
        Err(InventoryError::BadKey(_))
    ));
    inv.forget(A).unwrap();
    assert_eq!(inv.count().unwrap(), 0);
    assert!(matches!(
        inv.forget(A),
        Err(InventoryError::UnknownDevice(_))
    ));
}

#[test]
fn off_link_devices_are_keyed_by_address_and_adopt_a_mac_later() {
    let (_d, mut inv) = inv();
    let u = inv
        .record(&report(vec![up("192.0.2.10", None)], &[]), "t1", 1)
        .unwrap();
    assert_eq!(texts(&u), ["new device 192.0.2.10"]);
    let u = inv
        .record(&report(vec![up("192.0.2.10", None)], &[]), "t2", 1)
        .unwrap();
    assert!(u.alerts.is_empty());
    // Seen with its MAC (an ARP scan on its LAN): the same device.
    let u = inv
        .record(&report(vec![up("192.0.2.10", Some(A))], &[]), "t3", 1)
        .unwrap();
    assert!(u.alerts.is_empty(), "{:?}", u.alerts);
    // And again without (a scan without ARP): still the same device.
    let u = inv
        .record(&report(vec![up("192.0.2.10", None)], &[]), "t4", 1)
        .unwrap();
    assert!(u.alerts.is_empty(), "{:?}", u.alerts);
    assert_eq!(inv.count().unwrap(), 1);
}

#[test]
fn interrupted_addresses_not_probed_are_not_misses() {
    let (_d, mut inv) = inv();
    inv.record(&report(vec![up("10.0.0.5", Some(A))], &[]), "t1", 1)
        .unwrap();
    let mut r = report(vec![], &[]);
    r.hosts.insert(
        "10.0.0.5".parse().unwrap(),
        Host::new("10.0.0.5".parse().unwrap()),
    );
    let u = inv.record(&r, "t2", 1).unwrap();
    assert!(u.alerts.is_empty());
    assert_eq!(inv.list().unwrap()[0].missed, 0);
}

#[test]
fn damaged_files_are_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("inventory.db");
    std::fs::write(&p, b"this is not a database at all, just some text\n").unwrap();
    let before = std::fs::read(&p).unwrap();
    let e = Inventory::open(&p).err().expect("refused");
    let msg = e.to_string();
    assert!(matches!(e, InventoryError::Damaged { .. }), "{msg}");
    assert!(
        msg.contains(&p.display().to_string()) && msg.contains("move it away"),
        "{msg}"
    );
    assert!(!msg.contains('\n'));
    assert_eq!(std::fs::read(&p).unwrap(), before);
    // An SQLite database of another program.
    let q = dir.path().join("other.db");
    rusqlite::Connection::open(&q)
        .unwrap()
        .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();
    let e = Inventory::open(&q).err().expect("refused");
    assert!(e.to_string().contains("another program"), "{e}");
    // A schema newer than this build.
    let r = dir.path().join("newer.db");
    drop(Inventory::open(&r).unwrap());
    rusqlite::Connection::open(&r)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let e = Inventory::open(&r).err().expect("refused");
    assert!(matches!(e, InventoryError::TooNew { found: 99, .. }), "{e}");
}

/// Two writers at once (a scan finishing while another runs, or a label typed meanwhile):
/// they queue on the write lock, neither fails nor loses the other's scans.
#[test]
fn two_writers_queue_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inventory.db");
    drop(Inventory::open(&path).unwrap());
    let writers: Vec<_> = (0..2u8)
        .map(|w| {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut inv = Inventory::open(&path).expect("open");
                for i in 0..20u8 {
                    let h = up(
                        &format!("10.{w}.0.{i}"),
                        Some(&format!("00:11:22:33:{w:02x}:{i:02x}")),
                    );
                    inv.record(&report(vec![h], &[]), &format!("w{w}-{i}"), 1)
                        .expect("record");
                    inv.set_note(&format!("10.{w}.0.{i}"), "seen")
                        .expect("note");
                }
            })
        })
        .collect();
    for w in writers {
        w.join().expect("writer");
    }
    let inv = Inventory::open(&path).unwrap();
    let list = inv.list().unwrap();
    assert_eq!(list.len(), 40);
    assert!(list.iter().all(|d| d.note.as_deref() == Some("seen")));
}
