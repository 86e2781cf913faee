//! Ports and certificates of one host against what the inventory knew of its device.

use rusqlite::params;

use super::{Before, Ctx, Result};
use crate::core::alert::AlertKind;
use crate::core::model::{Host, PortSet, PortState};

/// What identifies a certificate when no fingerprint is recorded: subject, names, issuer and
/// end date together (a renewed certificate changes at least the date). With a short form
/// for sentences.
fn cert_of(p: &crate::core::model::Port) -> Option<(String, String)> {
    let t = p.identity.as_ref()?.tls.as_ref()?;
    let cn = t.subject_cn.as_deref().unwrap_or("-");
    let until = t.not_after.as_deref().unwrap_or("-");
    let key = format!(
        "CN={cn}; SAN={}; issuer={}; until {until}",
        t.sans.join(","),
        t.issuer.as_deref().unwrap_or("-")
    );
    Some((key, format!("CN={cn}, until {until}")))
}

impl Ctx<'_> {
    /// Open ports become services; a service whose port this scan found closed or filtered
    /// is removed; ports this scan did not check keep what was known.
    pub(super) fn ports(
        &mut self,
        id: i64,
        host: &Host,
        before: &Before,
        is_new: bool,
    ) -> Result<()> {
        let ip = host.ip;
        for p in &host.ports {
            let cert = cert_of(p);
            match before.services.get(&p.port) {
                None if !is_new => {
                    let was = if before.closed.contains(p.port) {
                        Some("closed")
                    } else if before.filtered.contains(p.port) {
                        Some("filtered")
                    } else {
                        None // never checked before: learned, not changed
                    };
                    if let Some(was) = was {
                        self.alert(
                            AlertKind::PortOpened,
                            format!("{ip}: port {}/{} open (was {was})", p.port, p.protocol),
                            ip,
                            host.mac,
                        );
                    }
                }
                Some((_, Some(old_key), old_short)) => {
                    if let Some((new_key, new_short)) = &cert
                        && new_key != old_key
                    {
                        self.alert(
                            AlertKind::CertChanged,
                            format!(
                                "{ip}: certificate on port {}/{} changed: {} -> {new_short}",
                                p.port,
                                p.protocol,
                                old_short.as_deref().unwrap_or("-")
                            ),
                            ip,
                            host.mac,
                        );
                    }
                }
                _ => {}
            }
            let id_ = p.identity.as_ref();
            self.tx
                .prepare_cached(
                    "INSERT INTO services (device_id, port, protocol, service, product, version,
                       cert, cert_subject, first_seen, last_seen)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)
                     ON CONFLICT (device_id, port, protocol) DO UPDATE SET
                       service = coalesce(excluded.service, services.service),
                       product = coalesce(excluded.product, services.product),
                       version = coalesce(excluded.version, services.version),
                       cert = coalesce(excluded.cert, services.cert),
                       cert_subject = coalesce(excluded.cert_subject, services.cert_subject),
                       last_seen = excluded.last_seen",
                )?
                .execute(params![
                    id,
                    p.port,
                    p.protocol,
                    p.service,
                    id_.and_then(|i| i.product.clone()),
                    id_.and_then(|i| i.version.clone()),
                    cert.as_ref().map(|c| &c.0),
                    cert.as_ref().map(|c| &c.1),
                    self.now
                ])?;
        }
        for (&port, (proto, _, _)) in &before.services {
            let state = match host.port_state(port) {
                Some(PortState::Closed) => "closed",
                Some(PortState::Filtered) => "filtered",
                Some(PortState::Open) | None => continue,
            };
            self.alert(
                AlertKind::PortClosed,
                format!("{ip}: port {port}/{proto} {state} (was open)"),
                ip,
                host.mac,
            );
            self.tx
                .prepare_cached(
                    "DELETE FROM services WHERE device_id = ?1 AND port = ?2 AND protocol = ?3",
                )?
                .execute(params![id, port, proto])?;
        }
        // The last known state of every port that is not open: this scan's word where it
        // checked the port, the earlier word elsewhere.
        let merge = |old: &PortSet, now: &PortSet| {
            let mut out = now.clone();
            for p in old.iter().filter(|&p| host.port_state(p).is_none()) {
                out.insert(p);
            }
            out
        };
        let closed = merge(&before.closed, &host.closed_ports);
        let filtered = merge(&before.filtered, &host.filtered_ports);
        self.tx
            .prepare_cached(
                "UPDATE devices SET closed_ports = ?2, filtered_ports = ?3 WHERE id = ?1",
            )?
            .execute(params![id, closed.to_string(), filtered.to_string()])?;
        Ok(())
    }
}
