//! What a host says about itself in the LAN's own protocols: mDNS/DNS-SD, NetBIOS node
//! status, SSDP/UPnP and SNMP. One optional section per protocol, so a report shows which
//! protocol said what (a NetBIOS name and an mDNS name may disagree, and both are facts).
//!
//! Every string here came from the network: it is cleaned and cut ([`text`]) when it is
//! created, so views and reports may print it as text (and must still escape it for markup).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::core::identity::MAX_TEXT;
use crate::core::sanitize::clean;

/// A network string as the model keeps it: runs of whitespace (a multi-line SNMP sysDescr)
/// folded to one space, control and invisible characters neutralised, cut to [`MAX_TEXT`]
/// characters.
pub fn text(s: &str) -> String {
    let folded = s
        .split(|c: char| c.is_whitespace() || c == '\0')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let cleaned = clean(&folded);
    if cleaned.chars().count() <= MAX_TEXT {
        return cleaned;
    }
    let mut out: String = cleaned.chars().take(MAX_TEXT - 1).collect();
    out.push('…');
    out
}

/// Names and identity of one host, by protocol (asked by unicast to the host only); absent
/// when nothing answered. Every string came from the network: whitespace folded, control and
/// invisible characters replaced, cut to 160 characters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
// Closed in the schema (the reader ignores unknown fields): every field netdx writes is here.
#[schemars(deny_unknown_fields)]
pub struct HostNames {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mdns: Option<MdnsInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netbios: Option<NetbiosInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upnp: Option<UpnpInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snmp: Option<SnmpInfo>,
}

/// What an mDNS responder (Bonjour, Avahi) answered to unicast DNS-SD questions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct MdnsInfo {
    /// The host's own name, from the reverse (PTR) question or an A/AAAA record of its
    /// address: `printer.local`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// The DNS-SD services it announces, sorted by type then instance.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<MdnsService>,
}

/// One DNS-SD service instance (RFC 6763).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct MdnsService {
    /// Service type without the domain: `_ipp._tcp`.
    #[serde(rename = "type")]
    pub service_type: String,
    /// Instance name (the label before the type): `HP Color LaserJet MFP M480f`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// TXT key=value pairs (`ty` is a printer's model, `model` a Mac's); a key without `=`
    /// has an empty value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub txt: BTreeMap<String, String>,
}

/// A NetBIOS node status answer (what `nmblookup -A` and `nbtstat -A` show).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct NetbiosInfo {
    /// Computer name (the unique `<00>` name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Workgroup or domain (the group `<00>` name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workgroup: Option<String>,
    /// The host registered the domain controllers' group name (`<1C>`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub domain_controller: bool,
    /// The adapter address the node reports (zero on Samba: then absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("pattern" = crate::core::model::MAC_PATTERN))]
    pub mac: Option<String>,
}

/// A UPnP device: the SSDP answer and the root device of its description document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct UpnpInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub friendly_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_number: Option<String>,
    /// `urn:schemas-upnp-org:device:MediaRenderer:1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_type: Option<String>,
    /// The SSDP `SERVER` header: OS, UPnP version and product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Where the description document is (fetched only when it is on the same address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// The SNMP v2c system group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SnmpInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sys_descr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sys_name: Option<String>,
    /// Dotted OID naming the vendor's product: `1.3.6.1.4.1.11.2.3.9.1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sys_object_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sys_location: Option<String>,
}

impl HostNames {
    pub fn is_empty(&self) -> bool {
        self.mdns.is_none() && self.netbios.is_none() && self.upnp.is_none() && self.snmp.is_none()
    }

    /// Take every section `other` has (a later answer replaces an earlier one).
    pub fn merge(&mut self, other: HostNames) {
        if other.mdns.is_some() {
            self.mdns = other.mdns;
        }
        if other.netbios.is_some() {
            self.netbios = other.netbios;
        }
        if other.upnp.is_some() {
            self.upnp = other.upnp;
        }
        if other.snmp.is_some() {
            self.snmp = other.snmp;
        }
    }

    /// The protocols that answered, for "proved up by" sentences: `mDNS, SNMP`.
    pub fn protocols(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.mdns.is_some() {
            out.push("mDNS");
        }
        if self.netbios.is_some() {
            out.push("NetBIOS");
        }
        if self.upnp.is_some() {
            out.push("SSDP");
        }
        if self.snmp.is_some() {
            out.push("SNMP");
        }
        out
    }

    /// The best single name for tables: NetBIOS computer name, then mDNS host name, then
    /// SNMP sysName, then the UPnP friendly name.
    pub fn best_name(&self) -> Option<&str> {
        let netbios = self.netbios.as_ref().and_then(|n| n.name.as_deref());
        let mdns = self.mdns.as_ref().and_then(|m| m.hostname.as_deref());
        let snmp = self.snmp.as_ref().and_then(|s| s.sys_name.as_deref());
        let upnp = self.upnp.as_ref().and_then(|u| u.friendly_name.as_deref());
        netbios.or(mdns).or(snmp).or(upnp)
    }

    /// One row per protocol that answered: (protocol, name, details), for text views.
    pub fn rows(&self) -> Vec<(&'static str, String, String)> {
        let dash = || "-".to_string();
        let mut rows = Vec::new();
        if let Some(m) = &self.mdns {
            let services: Vec<String> = m
                .services
                .iter()
                .map(|s| {
                    let mut one = s.service_type.clone();
                    if let Some(p) = s.port {
                        one.push_str(&format!(":{p}"));
                    }
                    if let Some(ty) = s.txt.get("ty").or_else(|| s.txt.get("model")) {
                        one.push_str(&format!(" \"{ty}\""));
                    }
                    one
                })
                .collect();
            rows.push((
                "mdns",
                m.hostname.clone().unwrap_or_else(dash),
                if services.is_empty() {
                    dash()
                } else {
                    services.join(", ")
                },
            ));
        }
        if let Some(n) = &self.netbios {
            let mut d = Vec::new();
            if let Some(w) = &n.workgroup {
                d.push(format!("workgroup {w}"));
            }
            if n.domain_controller {
                d.push("domain controller".to_string());
            }
            if let Some(mac) = &n.mac {
                d.push(mac.clone());
            }
            rows.push((
                "netbios",
                n.name.clone().unwrap_or_else(dash),
                if d.is_empty() { dash() } else { d.join(", ") },
            ));
        }
        if let Some(u) = &self.upnp {
            let model: Vec<&str> = [&u.manufacturer, &u.model_name, &u.model_number]
                .into_iter()
                .flatten()
                .map(String::as_str)
                .collect();
            let details = if model.is_empty() {
                u.server.clone().unwrap_or_else(dash)
            } else {
                model.join(" ")
            };
            rows.push((
                "ssdp",
                u.friendly_name.clone().unwrap_or_else(dash),
                details,
            ));
        }
        if let Some(s) = &self.snmp {
            let mut d = Vec::new();
            if let Some(x) = &s.sys_descr {
                d.push(x.clone());
            }
            if let Some(x) = &s.sys_location {
                d.push(format!("location {x}"));
            }
            rows.push((
                "snmp",
                s.sys_name.clone().unwrap_or_else(dash),
                if d.is_empty() {
                    s.sys_object_id.clone().unwrap_or_else(dash)
                } else {
                    d.join("; ")
                },
            ));
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_folds_whitespace_and_neutralises_controls() {
        assert_eq!(text("HP\r\nLaserJet  M480f "), "HP LaserJet M480f");
        assert_eq!(text("TV\u{1b}[31m\u{202e}x"), "TV\u{FFFD}[31m\u{FFFD}x");
        let long = "x".repeat(500);
        assert_eq!(text(&long).chars().count(), MAX_TEXT);
        assert!(text(&long).ends_with('…'));
    }

    #[test]
    fn merge_keeps_sections_from_every_protocol() {
        let mut n = HostNames {
            mdns: Some(MdnsInfo {
                hostname: Some("nas01.local".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        n.merge(HostNames {
            netbios: Some(NetbiosInfo {
                name: Some("NAS01".into()),
                workgroup: Some("LAB".into()),
                ..Default::default()
            }),
            ..Default::default()
        });
        assert_eq!(n.protocols(), ["mDNS", "NetBIOS"]);
        assert_eq!(n.best_name(), Some("NAS01"));
        let rows = n.rows();
        assert_eq!(rows[0], ("mdns", "nas01.local".into(), "-".into()));
        assert_eq!(rows[1], ("netbios", "NAS01".into(), "workgroup LAB".into()));
        assert!(HostNames::default().is_empty());
    }
}
