//! The pure reducer: engine events folded into the scan report. Apart from the model so the
//! model (a data format that reports, diff and history read) does not depend on the engine's
//! event stream, nor on the OUI table; this module depends on all three, one way.

use crate::core::event::ScanEvent;
use std::net::IpAddr;
use std::time::Duration;

use crate::core::model::{
    Method, Note, PhaseProgress, PortState, ScanReport, link_same_device, loss_pct, median,
};
use crate::core::sanitize::clean;
use crate::core::units;

impl ScanReport {
    /// Fold one engine event into the report. Pure: no I/O, no clock.
    pub fn apply(&mut self, event: ScanEvent) {
        match event {
            ScanEvent::Planned { .. } => {}
            ScanEvent::Targets(ips) => {
                for ip in ips {
                    self.host(ip);
                }
            }
            ScanEvent::Target { ip, name } => {
                let h = self.host(ip);
                if name.is_some() {
                    h.target_name = name.map(|n| clean(&n));
                }
            }
            ScanEvent::Icmp(o) => {
                let h = self.host(o.ip);
                h.icmp_sent = Some(h.icmp_sent.unwrap_or(0) + o.sent);
                h.icmp_received = Some(h.icmp_received.unwrap_or(0) + o.received);
                if let (Some(s), Some(r)) = (h.icmp_sent, h.icmp_received)
                    && s > 0
                {
                    h.loss_pct = Some(loss_pct(s, r));
                }
                if o.sent > 0 {
                    h.probed();
                }
                if !o.rtts.is_empty() {
                    let min = o.rtts.iter().min().copied().unwrap_or_default();
                    let max = o.rtts.iter().max().copied().unwrap_or_default();
                    let avg = o.rtts.iter().sum::<Duration>() / o.rtts.len() as u32;
                    h.rtt_ms = Some(units::ms(avg));
                    h.rtt_median_ms = Some(units::ms(median(&o.rtts)));
                    h.rtt_samples = Some(o.rtts.len() as u32);
                    h.rtt_min_ms = Some(match h.rtt_min_ms {
                        Some(m) => m.min(units::ms(min)),
                        None => units::ms(min),
                    });
                    h.rtt_max_ms = Some(match h.rtt_max_ms {
                        Some(m) => m.max(units::ms(max)),
                        None => units::ms(max),
                    });
                    h.seen_by(Method::Icmp);
                }
            }
            ScanEvent::Arp(a) => {
                let ip = IpAddr::V4(a.ip);
                let h = self.host(ip);
                let new_mac = h.mac != Some(a.mac);
                h.mac = Some(a.mac);
                h.vendor = crate::core::oui::vendor_label(a.mac);
                h.arp_rtt_ms = Some(units::ms(a.rtt));
                h.seen_by(Method::Arp);
                if new_mac {
                    self.untype(ip);
                }
            }
            ScanEvent::Neighbour { ip, mac } => {
                let h = self.host(ip);
                if h.mac != Some(mac) {
                    h.mac = Some(mac);
                    h.vendor = crate::core::oui::vendor_label(mac);
                    self.untype(ip);
                }
            }
            ScanEvent::Ports { ip, results } => {
                let h = self.host(ip);
                let mut answered = false;
                h.probed();
                for r in results {
                    answered |= r.state != PortState::Filtered;
                    h.set_port(r.port, r.state, r.rtt.map(units::ms));
                }
                if answered {
                    h.seen_by(Method::Tcp);
                }
                self.untype(ip);
            }
            ScanEvent::Service { ip, port, id } => {
                let h = self.host(ip);
                if let Ok(i) = h.ports.binary_search_by_key(&port, |p| p.port) {
                    h.ports[i].identity = Some(*id);
                }
                self.untype(ip);
            }
            ScanEvent::Names { ip, names } => {
                if names.is_empty() {
                    // The name probes ran their course: probed, nothing answered them.
                    if let Some(h) = self.hosts.get_mut(&ip) {
                        h.probed();
                    }
                    return;
                }
                let h = self.host(ip);
                if h.proof.is_none() && h.methods.is_empty() {
                    h.proof = Some(format!("{} answered", names.protocols().join(", ")));
                }
                h.names.merge(*names);
                h.seen_by(Method::Udp);
                self.untype(ip);
            }
            ScanEvent::Dns(r) => {
                self.dns.push(r.sanitized());
            }
            ScanEvent::Hostname { ip, name } => {
                if let Some(n) = name {
                    self.host(ip).hostname = Some(clean(&n));
                }
            }
            ScanEvent::Alive { ip, proof, .. } => {
                let h = self.host(ip);
                if h.proof.is_none() {
                    h.proof = Some(proof.describe());
                }
                h.seen_by(proof.method());
            }
            ScanEvent::PortScan(method) => {
                self.port_scan = Some(clean(&method));
            }
            ScanEvent::Progress { phase, done, total } => {
                self.progress.insert(phase, PhaseProgress { done, total });
            }
            ScanEvent::Note { level, text } => {
                let note = Note {
                    level,
                    text: clean(&text),
                };
                if !self.notes.contains(&note) {
                    self.notes.push(note);
                }
            }
            ScanEvent::Gateway(ip) => {
                self.gateway = Some(ip);
                self.untype(ip);
            }
            ScanEvent::Finished { interrupted } => {
                self.interrupted = interrupted;
                self.complete = !interrupted;
                // A finished scan probed every address; an interrupted one leaves those it
                // never got to as "not probed".
                if !interrupted {
                    for h in self.hosts.values_mut() {
                        h.probed();
                    }
                }
                link_same_device(&mut self.hosts);
                self.classify_devices();
                self.refresh_summary();
            }
        }
    }
}
