//! Devices that did not answer where this scan looked for them.

use std::collections::HashSet;
use std::net::IpAddr;

use rusqlite::{OptionalExtension, params};

use super::{Ctx, Result};
use crate::core::alert::AlertKind;
use crate::core::model::{HostStatus, ScanReport};

impl Ctx<'_> {
    /// Count a miss for every device not seen whose address this scan probed, and report it
    /// gone the one time the count reaches `gone_after`.
    pub(super) fn missed(&mut self, report: &ScanReport, gone_after: u32) -> Result<()> {
        let probed: HashSet<String> = report
            .hosts
            .values()
            .filter(|h| h.status != HostStatus::NotProbed)
            .map(|h| h.ip.to_string())
            .collect();
        if probed.is_empty() {
            return Ok(());
        }
        let candidates: Vec<(i64, String, u32, String, Option<String>)> = self
            .tx
            .prepare_cached(
                "SELECT id, addr, missed, last_seen, label FROM devices WHERE last_scan < ?1",
            )?
            .query_map([self.scan], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .filter(|row| row.as_ref().map_or(true, |r| probed.contains(&r.1)))
            .collect::<Result<_>>()?;
        for (id, addr, missed, last_seen, label) in candidates {
            if self.seen.contains(&id) {
                continue;
            }
            let missed = missed.saturating_add(1);
            self.tx
                .prepare_cached("UPDATE devices SET missed = ?2 WHERE id = ?1")?
                .execute(params![id, missed])?;
            if missed != gone_after {
                continue;
            }
            let Ok(ip) = addr.parse::<IpAddr>() else {
                continue;
            };
            let mac = self.last_mac(id)?;
            let name = match label {
                Some(l) => Some(format!("\"{l}\"")),
                None => self.one_name(id)?,
            };
            let mut text = format!("device gone: {ip}");
            if let Some(m) = mac {
                text.push_str(&format!(" {m}"));
            }
            if let Some(n) = name {
                text.push_str(&format!(" {n}"));
            }
            text.push_str(&format!(
                " did not answer in {missed} scan{} (last seen {})",
                if missed == 1 { "" } else { "s" },
                crate::output::escape::human_time(&last_seen)
            ));
            self.alert(AlertKind::DeviceGone, text, ip, mac);
        }
        Ok(())
    }

    fn one_name(&self, id: i64) -> Result<Option<String>> {
        self.tx
            .prepare_cached(
                "SELECT name FROM names WHERE device_id = ?1 ORDER BY
                 CASE protocol WHEN 'netbios' THEN 0 WHEN 'mdns' THEN 1 WHEN 'snmp' THEN 2
                 WHEN 'ssdp' THEN 3 ELSE 4 END LIMIT 1",
            )?
            .query_row([id], |r| r.get(0))
            .optional()
    }
}
