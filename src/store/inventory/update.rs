//! Recording a finished scan into the inventory, and what changed because of it.
//!
//! One transaction per scan (`BEGIN IMMEDIATE`, so two netdx processes queue instead of
//! failing half-way). Comparisons are made against the state before this scan: "the device
//! last seen at this address" is read from the scans recorded earlier, never from what this
//! scan has already written.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;

use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};

mod gone;
mod ports;

use super::{Inventory, InventoryError};
use crate::core::alert::{Alert, AlertKind};
use crate::core::model::{Host, HostStatus, MacAddr, PortSet, ScanReport};

/// What recording a scan changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Update {
    /// Every change, in address order (one `NewDevice` per device even on the first scan,
    /// so a report lists what was found).
    pub alerts: Vec<Alert>,
    /// The inventory was empty before this scan: every device is new, and a summary should
    /// say "inventory started: N devices" instead of listing them.
    pub started: bool,
    /// Devices in the inventory after the scan.
    pub devices: usize,
}

type Result<T> = std::result::Result<T, rusqlite::Error>;

impl Inventory {
    /// Record a finished scan taken at `now` (RFC 3339): update every device that answered,
    /// count a miss for every known device whose address was scanned without its answer,
    /// and return what changed. A device is reported gone once, in the scan where it has
    /// missed `gone_after` scans in a row (at least 1).
    ///
    /// Ports count as opened or closed only when this scan checked them on that host: a port
    /// missing from a scan without `-p` says nothing.
    pub fn record(
        &mut self,
        report: &ScanReport,
        now: &str,
        gone_after: u32,
    ) -> std::result::Result<Update, InventoryError> {
        let path = self.path.clone();
        let sql = |source| InventoryError::Sql {
            path: path.clone(),
            source,
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        let update = record_in(&tx, report, now, gone_after.max(1)).map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(update)
    }
}

fn record_in(tx: &Transaction, report: &ScanReport, now: &str, gone_after: u32) -> Result<Update> {
    let before: i64 = tx.query_row("SELECT count(*) FROM devices", [], |r| r.get(0))?;
    tx.execute(
        "INSERT INTO scans (at, targets) VALUES (?1, ?2)",
        params![now, report.parameters.targets.join(" ")],
    )?;
    let scan = tx.last_insert_rowid();
    let mut ctx = Ctx {
        tx,
        scan,
        now,
        seen: HashSet::new(),
        alerts: Vec::new(),
    };
    for host in report.hosts.values().filter(|h| h.status == HostStatus::Up) {
        ctx.host(host)?;
    }
    ctx.missed(report, gone_after)?;
    let devices: i64 = tx.query_row("SELECT count(*) FROM devices", [], |r| r.get(0))?;
    Ok(Update {
        alerts: ctx.alerts,
        started: before == 0 && devices > 0,
        devices: devices.max(0) as usize,
    })
}

/// The names a host gave, by protocol, as the inventory keeps them.
fn host_names(h: &Host) -> Vec<(&'static str, String)> {
    let n = &h.names;
    let mut out = Vec::new();
    let mut add = |p: &'static str, v: Option<&String>| {
        if let Some(v) = v.map(|v| v.trim()).filter(|v| !v.is_empty()) {
            out.push((p, v.to_string()));
        }
    };
    add("ptr", h.hostname.as_ref());
    add("mdns", n.mdns.as_ref().and_then(|m| m.hostname.as_ref()));
    add("netbios", n.netbios.as_ref().and_then(|m| m.name.as_ref()));
    add(
        "ssdp",
        n.upnp.as_ref().and_then(|m| m.friendly_name.as_ref()),
    );
    add("snmp", n.snmp.as_ref().and_then(|m| m.sys_name.as_ref()));
    out
}

/// Names compared for grouping randomised MACs: case and a final dot do not matter.
fn name_key(name: &str) -> String {
    name.trim().trim_end_matches('.').to_lowercase()
}

struct Ctx<'a> {
    tx: &'a Transaction<'a>,
    scan: i64,
    now: &'a str,
    seen: HashSet<i64>,
    alerts: Vec<Alert>,
}

/// A device's row before this scan changed it.
struct Before {
    device_type: Option<String>,
    closed: PortSet,
    filtered: PortSet,
    names: BTreeMap<String, String>,
    /// port -> (protocol, cert key, cert short form)
    services: BTreeMap<u16, (String, Option<String>, Option<String>)>,
}

impl Ctx<'_> {
    fn alert(&mut self, kind: AlertKind, text: String, ip: IpAddr, mac: Option<MacAddr>) {
        let mut a = Alert::new(kind, text).with_ip(ip).at(self.now);
        if let Some(m) = mac {
            a = a.with_mac(m);
        }
        self.alerts.push(a);
    }

    fn one_id(&self, sql: &str, p: impl rusqlite::Params) -> Result<Option<i64>> {
        self.tx
            .prepare_cached(sql)?
            .query_row(p, |r| r.get(0))
            .optional()
    }

    fn new_device(&self, host: &Host, ip_key: Option<&str>) -> Result<i64> {
        self.tx
            .prepare_cached(
                "INSERT INTO devices (ip_key, addr, first_seen, last_seen, last_scan)
                 VALUES (?1, ?2, ?3, ?3, ?4)",
            )?
            .execute(params![ip_key, host.ip.to_string(), self.now, self.scan])?;
        Ok(self.tx.last_insert_rowid())
    }

    fn add_mac(&self, id: i64, mac: MacAddr) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO macs (mac, device_id, local, first_seen, last_seen)
                 VALUES (?1, ?2, ?3, ?4, ?4)
                 ON CONFLICT (mac) DO UPDATE SET last_seen = excluded.last_seen",
            )?
            .execute(params![
                mac.to_string(),
                id,
                mac.is_locally_administered(),
                self.now
            ])?;
        Ok(())
    }

    /// The device this host is, and whether it is new to the inventory.
    fn match_device(
        &self,
        host: &Host,
        names: &[(&str, String)],
        prev_at_ip: Option<i64>,
    ) -> Result<(i64, bool)> {
        let ip = host.ip.to_string();
        let by_ip_key = self.one_id("SELECT id FROM devices WHERE ip_key = ?1", [&ip])?;
        let Some(mac) = host.mac else {
            // Seen without a MAC: the device named by this address off-link, else the LAN
            // device last seen here (a scan without ARP must not make it a new device).
            if let Some(id) = by_ip_key.or(prev_at_ip) {
                return Ok((id, false));
            }
            return Ok((self.new_device(host, Some(&ip))?, true));
        };
        if let Some(id) = self.one_id(
            "SELECT device_id FROM macs WHERE mac = ?1",
            [mac.to_string()],
        )? {
            self.add_mac(id, mac)?;
            return Ok((id, false));
        }
        if mac.is_locally_administered() {
            for (_, n) in names {
                let same = self.one_id(
                    "SELECT n.device_id FROM names n WHERE n.name_key = ?1 AND EXISTS
                     (SELECT 1 FROM macs m WHERE m.device_id = n.device_id AND m.local = 1)
                     ORDER BY n.last_seen DESC LIMIT 1",
                    [name_key(n)],
                )?;
                if let Some(id) = same {
                    self.add_mac(id, mac)?;
                    return Ok((id, false));
                }
            }
        }
        if let Some(id) = by_ip_key {
            // Known off-link by this address, now seen on the LAN: from now on its MAC names it.
            self.tx
                .prepare_cached("UPDATE devices SET ip_key = NULL WHERE id = ?1")?
                .execute([id])?;
            self.add_mac(id, mac)?;
            return Ok((id, false));
        }
        let id = self.new_device(host, None)?;
        self.add_mac(id, mac)?;
        Ok((id, true))
    }

    fn before(&self, id: i64) -> Result<Before> {
        let (device_type, closed, filtered): (_, String, String) = self
            .tx
            .prepare_cached(
                "SELECT device_type, closed_ports, filtered_ports FROM devices WHERE id = ?1",
            )?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        let names = self
            .tx
            .prepare_cached("SELECT protocol, name FROM names WHERE device_id = ?1")?
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_>>()?;
        let services = self
            .tx
            .prepare_cached(
                "SELECT port, protocol, cert, cert_subject FROM services WHERE device_id = ?1",
            )?
            .query_map([id], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?))))?
            .collect::<Result<_>>()?;
        Ok(Before {
            device_type,
            closed: closed.parse().unwrap_or_default(),
            filtered: filtered.parse().unwrap_or_default(),
            names,
            services,
        })
    }

    fn last_mac(&self, id: i64) -> Result<Option<MacAddr>> {
        let m: Option<String> = self
            .tx
            .prepare_cached(
                "SELECT mac FROM macs WHERE device_id = ?1 ORDER BY last_seen DESC LIMIT 1",
            )?
            .query_row([id], |r| r.get(0))
            .optional()?;
        Ok(m.and_then(|m| m.parse().ok()))
    }

    fn host(&mut self, host: &Host) -> Result<()> {
        let ip = host.ip;
        let ip_s = ip.to_string();
        let names = host_names(host);
        let prev_at_ip = self.one_id(
            "SELECT device_id FROM addresses WHERE ip = ?1 AND last_scan < ?2
             ORDER BY last_scan DESC LIMIT 1",
            params![ip_s, self.scan],
        )?;
        let (id, is_new) = self.match_device(host, &names, prev_at_ip)?;
        let before = self.before(id)?;
        self.seen.insert(id);

        // Another MAC than the device last seen at this address answers it now. Said once, as
        // a MAC change (a swapped device, or someone answering for the address): the new MAC
        // becomes a device of its own without a second "new device" line for the same event.
        let mut mac_changed = false;
        if let (Some(mac), Some(prev)) = (host.mac, prev_at_ip)
            && prev != id
            && let Some(old) = self.last_mac(prev)?
        {
            mac_changed = true;
            let vendor = host
                .vendor
                .as_deref()
                .map(|v| format!(" ({v})"))
                .unwrap_or_default();
            self.alert(
                AlertKind::MacChanged,
                format!("{ip}: now answered by {mac}{vendor}, was {old}"),
                ip,
                Some(mac),
            );
        }
        let kind = host.device.as_ref().map(|d| d.kind.clone());
        if is_new && !mac_changed {
            let mut text = format!("new device {ip}");
            if let Some(m) = host.mac {
                text.push_str(&format!(" {m}"));
            }
            if let Some((_, n)) = names.first() {
                text.push_str(&format!(" {n}"));
            }
            let about: Vec<&str> = [host.vendor.as_deref(), kind.as_deref()]
                .into_iter()
                .flatten()
                .collect();
            if !about.is_empty() {
                text.push_str(&format!(" ({})", about.join(", ")));
            }
            self.alert(AlertKind::NewDevice, text, ip, host.mac);
        }
        if !is_new
            && let (Some(old), Some(new)) = (&before.device_type, &kind)
            && old != new
        {
            self.alert(
                AlertKind::TypeChanged,
                format!("{ip}: device type changed from {old} to {new}"),
                ip,
                host.mac,
            );
        }
        self.tx
            .prepare_cached(
                "UPDATE devices SET addr = ?2, last_seen = ?3, last_scan = ?4, missed = 0,
                 vendor = coalesce(?5, vendor), device_type = coalesce(?6, device_type)
                 WHERE id = ?1",
            )?
            .execute(params![id, ip_s, self.now, self.scan, host.vendor, kind])?;
        self.tx
            .prepare_cached(
                "INSERT INTO addresses (device_id, ip, first_seen, last_seen, last_scan)
                 VALUES (?1, ?2, ?3, ?3, ?4)
                 ON CONFLICT (device_id, ip) DO UPDATE SET
                   last_seen = excluded.last_seen, last_scan = excluded.last_scan",
            )?
            .execute(params![id, ip_s, self.now, self.scan])?;
        for (proto, name) in &names {
            if let Some(old) = before.names.get(*proto)
                && old != name
            {
                self.alert(
                    AlertKind::NameChanged,
                    format!("{ip}: {proto} name changed from {old} to {name}"),
                    ip,
                    host.mac,
                );
            }
            self.tx
                .prepare_cached(
                    "INSERT INTO names (device_id, protocol, name, name_key, first_seen, last_seen)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?5)
                     ON CONFLICT (device_id, protocol) DO UPDATE SET
                       first_seen = CASE WHEN names.name = excluded.name
                                    THEN names.first_seen ELSE excluded.first_seen END,
                       name = excluded.name, name_key = excluded.name_key,
                       last_seen = excluded.last_seen",
                )?
                .execute(params![id, proto, name, name_key(name), self.now])?;
        }
        if host.ports_checked() {
            self.ports(id, host, &before, is_new)?;
        }
        Ok(())
    }
}
