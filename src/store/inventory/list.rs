//! Reading the whole inventory back, and showing it as a table, JSON or CSV.
//!
//! Listing reads each table once and groups rows in memory (five queries whatever the number
//! of devices), which keeps 10,000 devices well under 100 ms.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::IpAddr;

use super::{Device, Inventory, InventoryError, SeenAddress, SeenMac, SeenName, Service};
use crate::output::escape;

/// The formats `netdx inventory` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFormat {
    Text,
    Json,
    Csv,
}

impl Inventory {
    /// Every device, sorted by the address it was last seen at.
    pub fn list(&self) -> Result<Vec<Device>, InventoryError> {
        self.list_inner().map_err(|e| self.sql(e))
    }

    fn list_inner(&self) -> rusqlite::Result<Vec<Device>> {
        let c = &self.conn;
        let mut macs: HashMap<i64, Vec<SeenMac>> = HashMap::new();
        let mut st = c.prepare("SELECT device_id, mac, first_seen, last_seen FROM macs")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let mac: String = r.get(1)?;
            if let Ok(mac) = mac.parse() {
                macs.entry(r.get(0)?).or_default().push(SeenMac {
                    mac,
                    first_seen: r.get(2)?,
                    last_seen: r.get(3)?,
                });
            }
        }
        // The current address first, then the others from the most recent.
        let mut addrs: HashMap<i64, Vec<(i64, SeenAddress)>> = HashMap::new();
        let mut st =
            c.prepare("SELECT device_id, ip, first_seen, last_seen, last_scan FROM addresses")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let ip: String = r.get(1)?;
            if let Ok(ip) = ip.parse() {
                addrs.entry(r.get(0)?).or_default().push((
                    r.get(4)?,
                    SeenAddress {
                        ip,
                        first_seen: r.get(2)?,
                        last_seen: r.get(3)?,
                    },
                ));
            }
        }
        let mut names: HashMap<i64, Vec<SeenName>> = HashMap::new();
        let mut st =
            c.prepare("SELECT device_id, protocol, name, first_seen, last_seen FROM names")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            names.entry(r.get(0)?).or_default().push(SeenName {
                protocol: r.get(1)?,
                name: r.get(2)?,
                first_seen: r.get(3)?,
                last_seen: r.get(4)?,
            });
        }
        let mut services: HashMap<i64, Vec<Service>> = HashMap::new();
        let mut st = c.prepare(
            "SELECT device_id, port, protocol, service, product, version, cert_subject,
             first_seen, last_seen FROM services ORDER BY device_id, port",
        )?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            services.entry(r.get(0)?).or_default().push(Service {
                port: r.get(1)?,
                protocol: r.get(2)?,
                service: r.get(3)?,
                product: r.get(4)?,
                version: r.get(5)?,
                certificate: r.get(6)?,
                first_seen: r.get(7)?,
                last_seen: r.get(8)?,
            });
        }
        let mut out = Vec::new();
        let mut st = c.prepare(
            "SELECT id, addr, vendor, device_type, label, note, first_seen, last_seen, missed
             FROM devices",
        )?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            let addr: String = r.get(1)?;
            let Ok(address) = addr.parse::<IpAddr>() else {
                continue;
            };
            let mut a = addrs.remove(&id).unwrap_or_default();
            a.sort_by(|x, y| {
                (y.1.ip == address)
                    .cmp(&(x.1.ip == address))
                    .then(y.0.cmp(&x.0))
                    .then(x.1.ip.cmp(&y.1.ip))
            });
            let mut m = macs.remove(&id).unwrap_or_default();
            m.sort_by(|x, y| y.last_seen.cmp(&x.last_seen).then(x.mac.cmp(&y.mac)));
            let mut n = names.remove(&id).unwrap_or_default();
            n.sort_by(|x, y| x.protocol.cmp(&y.protocol));
            out.push(Device {
                address,
                addresses: a.into_iter().map(|(_, s)| s).collect(),
                macs: m,
                vendor: r.get(2)?,
                device_type: r.get(3)?,
                names: n,
                services: services.remove(&id).unwrap_or_default(),
                label: r.get(4)?,
                note: r.get(5)?,
                first_seen: r.get(6)?,
                last_seen: r.get(7)?,
                missed: r.get(8)?,
            });
        }
        out.sort_by(|x, y| {
            x.address
                .cmp(&y.address)
                .then_with(|| x.first_seen.cmp(&y.first_seen))
        });
        Ok(out)
    }
}

/// The JSON document: a version, then the devices.
#[derive(serde::Serialize)]
struct JsonDoc<'a> {
    inventory_version: u32,
    devices: &'a [Device],
}

fn addresses(d: &Device) -> String {
    d.addresses
        .iter()
        .map(|a| a.ip.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

fn macs(d: &Device) -> String {
    d.macs
        .iter()
        .map(|m| m.mac.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

fn services(d: &Device) -> String {
    d.services
        .iter()
        .map(|s| match &s.service {
            Some(n) => format!("{}/{n}", s.port),
            None => s.port.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// CSV columns, one row per device.
pub const CSV_HEADER: [&str; 12] = [
    "address",
    "addresses",
    "mac",
    "vendor",
    "type",
    "name",
    "label",
    "note",
    "first_seen",
    "last_seen",
    "open_services",
    "missed",
];

/// The inventory in `format`. Text is a table for people (times shortened, long cells cut);
/// JSON and CSV hold everything, for scripts. Every string from the network or the user is
/// escaped for the format (CSV formula prefixes neutralised).
pub fn render(devices: &[Device], format: ListFormat) -> String {
    match format {
        ListFormat::Json => {
            let doc = JsonDoc {
                inventory_version: 1,
                devices,
            };
            // Compact: the JSON is for scripts (`jq` pretty-prints), and at 10,000 devices
            // the indentation alone was a third of the bytes and of the time.
            let mut s = serde_json::to_string(&doc).unwrap_or_default();
            s.push('\n');
            s
        }
        ListFormat::Csv => {
            let mut s = CSV_HEADER.join(",");
            s.push_str("\r\n");
            for d in devices {
                let cells = [
                    d.address.to_string(),
                    addresses(d),
                    macs(d),
                    d.vendor.clone().unwrap_or_default(),
                    d.device_type.clone().unwrap_or_default(),
                    d.best_name().unwrap_or_default().to_string(),
                    d.label.clone().unwrap_or_default(),
                    d.note.clone().unwrap_or_default(),
                    d.first_seen.clone(),
                    d.last_seen.clone(),
                    services(d),
                    d.missed.to_string(),
                ];
                let row: Vec<String> = cells.iter().map(|c| escape::csv(c)).collect();
                s.push_str(&row.join(","));
                s.push_str("\r\n");
            }
            s
        }
        ListFormat::Text => text_table(devices),
    }
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn text_table(devices: &[Device]) -> String {
    if devices.is_empty() {
        return "The inventory is empty: every `netdx scan` records the devices it finds.\n"
            .to_string();
    }
    let dash = |s: Option<&str>| s.filter(|s| !s.is_empty()).unwrap_or("-").to_string();
    let mut rows = vec![
        [
            "ADDRESS",
            "MAC",
            "VENDOR",
            "TYPE",
            "NAME",
            "LABEL",
            "FIRST SEEN",
            "LAST SEEN",
            "OPEN",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for d in devices {
        let mut addr = d.address.to_string();
        if d.addresses.len() > 1 {
            addr.push_str(&format!(" +{}", d.addresses.len() - 1));
        }
        let mut mac = d
            .macs
            .first()
            .map(|m| m.mac.to_string())
            .unwrap_or_default();
        if d.macs.len() > 1 {
            mac.push_str(&format!(" +{}", d.macs.len() - 1));
        }
        rows.push(vec![
            addr,
            dash(Some(&mac)),
            clip(&escape::text(&dash(d.vendor.as_deref())), 24),
            clip(&escape::text(&dash(d.device_type.as_deref())), 16),
            clip(&escape::text(&dash(d.best_name())), 28),
            clip(&escape::text(&dash(d.label.as_deref())), 28),
            escape::human_time(&d.first_seen),
            escape::human_time(&d.last_seen),
            d.services.len().to_string(),
        ]);
    }
    let mut widths = vec![0; rows[0].len()];
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in &rows {
        let mut line = String::new();
        for (c, w) in r.iter().zip(&widths) {
            let _ = write!(line, "{c:<w$}  ");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "\n{} device{}",
        devices.len(),
        if devices.len() == 1 { "" } else { "s" }
    );
    out
}
