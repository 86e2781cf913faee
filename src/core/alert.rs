//! Changes worth telling a technician about. An alert is found by comparing what is seen now
//! with what was known before: the device inventory for a headless scan, earlier rounds for
//! the dashboard, a listening window for the LAN safety checks. Every alert carries the plain
//! sentence that is shown, so the dashboard, the scan summary and every report say the same.

use std::net::IpAddr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::core::model::MacAddr;

/// What changed. The kind is stable (reports, filters, Prometheus labels); the text is for
/// people.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A device never seen before on this network.
    NewDevice,
    /// A known device did not answer for the configured number of rounds or scans.
    DeviceGone,
    /// An address is now answered by another MAC than before.
    MacChanged,
    /// A name (PTR, mDNS, NetBIOS, SSDP, SNMP) changed.
    NameChanged,
    /// The device type decided from the facts changed.
    TypeChanged,
    /// A port that was not open is open now.
    PortOpened,
    /// A port that was open is no longer open.
    PortClosed,
    /// The TLS certificate on a port is another one.
    CertChanged,
    /// More than one DHCP server answers on the link.
    RogueDhcp,
    /// Two or more MACs answer ARP for one address.
    DuplicateIp,
    /// The gateway's MAC changed, or a gratuitous ARP claims the gateway's address.
    GatewayMacChanged,
    /// An IPv6 router advertises that was not expected.
    RogueRouter,
}

/// How much it matters: `Critical` is a likely attack or outage cause (rogue DHCP, a spoofed
/// gateway), `Warning` needs a look, `Info` is inventory bookkeeping.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum AlertLevel {
    Info,
    Warning,
    Critical,
}

/// One change, said in one sentence, with the address and MAC it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
// Closed in the schema: the reader ignores unknown fields, but what netdx writes is exactly this.
#[schemars(deny_unknown_fields)]
pub struct Alert {
    pub kind: AlertKind,
    pub level: AlertLevel,
    /// The address the alert is about, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    /// The MAC the alert is about, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<MacAddr>,
    /// The sentence shown to people, e.g. "new device 10.0.0.23 (00:11:22:33:44:55, Raspberry
    /// Pi Trading Ltd)". Already free of control and invisible characters.
    pub text: String,
    /// When it was seen (RFC 3339, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub at: Option<String>,
}

impl Alert {
    /// An alert at the default level for its kind.
    pub fn new(kind: AlertKind, text: impl Into<String>) -> Self {
        Alert {
            kind,
            level: kind.default_level(),
            ip: None,
            mac: None,
            text: crate::core::sanitize::clean(&text.into()),
            at: None,
        }
    }

    pub fn with_ip(mut self, ip: IpAddr) -> Self {
        self.ip = Some(ip);
        self
    }

    pub fn with_mac(mut self, mac: MacAddr) -> Self {
        self.mac = Some(mac);
        self
    }

    pub fn at(mut self, when: impl Into<String>) -> Self {
        self.at = Some(when.into());
        self
    }
}

impl AlertKind {
    /// Rogue infrastructure is critical, disappearing or changing devices are warnings, the
    /// rest is information.
    pub fn default_level(self) -> AlertLevel {
        match self {
            AlertKind::RogueDhcp | AlertKind::GatewayMacChanged | AlertKind::DuplicateIp => {
                AlertLevel::Critical
            }
            AlertKind::RogueRouter
            | AlertKind::MacChanged
            | AlertKind::DeviceGone
            | AlertKind::CertChanged => AlertLevel::Warning,
            AlertKind::NewDevice
            | AlertKind::NameChanged
            | AlertKind::TypeChanged
            | AlertKind::PortOpened
            | AlertKind::PortClosed => AlertLevel::Info,
        }
    }

    /// The snake_case name used in reports and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::NewDevice => "new_device",
            AlertKind::DeviceGone => "device_gone",
            AlertKind::MacChanged => "mac_changed",
            AlertKind::NameChanged => "name_changed",
            AlertKind::TypeChanged => "type_changed",
            AlertKind::PortOpened => "port_opened",
            AlertKind::PortClosed => "port_closed",
            AlertKind::CertChanged => "cert_changed",
            AlertKind::RogueDhcp => "rogue_dhcp",
            AlertKind::DuplicateIp => "duplicate_ip",
            AlertKind::GatewayMacChanged => "gateway_mac_changed",
            AlertKind::RogueRouter => "rogue_router",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_with_stable_names_and_clean_text() {
        let a = Alert::new(AlertKind::RogueDhcp, "rogue DHCP server\u{202E}exe")
            .with_ip("10.0.0.60".parse().unwrap());
        let v = serde_json::to_value(&a).unwrap();
        assert_eq!(v["kind"], "rogue_dhcp");
        assert_eq!(v["level"], "critical");
        assert_eq!(v["ip"], "10.0.0.60");
        assert!(!a.text.contains('\u{202E}'));
        for k in [AlertKind::NewDevice, AlertKind::GatewayMacChanged] {
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
    }
}
