//! What kind of device a host is: printer, NAS, router, ... inferred from what netdx saw of
//! it, with the evidence listed so a technician can judge the guess.
//!
//! The rules are data (`assets/device-types.toml`), readable and reviewable without reading
//! code, and each is unit-tested below by the facts that should trigger it. They are our own
//! words, not a copy of nmap's fingerprint database (whose licence does not allow that).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::core::model::Host;

const RULES_TEXT: &str = include_str!("../../assets/device-types.toml");

/// Below this score a host stays "unknown": one weak hint (a vendor that makes many kinds
/// of device) is not a type.
const MIN_SCORE: u32 = 2;
const HIGH: u32 = 6;
const MEDIUM: u32 = 3;

/// What kind of device the host is, decided by the rules of assets/device-types.toml from
/// everything seen of it, with the evidence so a technician can judge the guess; absent when
/// unknown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
// Closed in the schema (the reader ignores unknown fields): every field netdx writes is here.
#[schemars(deny_unknown_fields)]
pub struct DeviceType {
    /// printer, camera, NAS, router, switch, access point, firewall, VoIP phone, UPS, server,
    /// workstation/laptop, phone/tablet, media/IoT: the types of the rule table.
    #[schemars(schema_with = "kind_schema")]
    pub kind: String,
    /// high, medium or low: how strongly the evidence points to `kind`.
    #[schemars(extend("enum" = ["high", "medium", "low"]))]
    pub confidence: String,
    /// Why, in a technician's words: "IPP 631", "JetDirect 9100", "mDNS _ipp._tcp".
    pub evidence: Vec<String>,
}

impl DeviceType {
    /// "printer: IPP 631 + JetDirect 9100 + mDNS _ipp._tcp (high)".
    pub fn explain(&self) -> String {
        format!(
            "{}: {} ({})",
            self.kind,
            self.evidence.join(" + "),
            self.confidence
        )
    }
}

/// One kind of fact and its text ("port", "9100").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    pub kind: &'static str,
    pub text: String,
    /// `text` lowercased once, for the case-insensitive rules.
    lower: String,
}

impl Fact {
    pub fn new(kind: &'static str, text: impl Into<String>) -> Self {
        let text = text.into();
        Fact {
            kind,
            lower: text.to_lowercase(),
            text,
        }
    }
}

#[derive(Debug, Deserialize)]
struct RuleFile {
    rule: Vec<Rule>,
}

#[derive(Debug, Clone, Deserialize)]
struct Rule {
    #[serde(rename = "type")]
    kind: String,
    when: String,
    is: String,
    weight: u32,
    says: String,
    /// `is` lowercased once when the table is read.
    #[serde(skip)]
    is_lower: String,
}

impl Rule {
    fn matches(&self, fact: &Fact) -> bool {
        if fact.kind != self.when {
            return false;
        }
        if self.when == "port" {
            return fact.text == self.is;
        }
        fact.lower.contains(&self.is_lower)
    }
}

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| parse_rules(RULES_TEXT));

/// The device types the rule table can decide, in table order (its first rule for each):
/// what `kind` can be, so the report schema's list follows the table.
pub fn kinds() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for r in RULES.iter() {
        if !out.contains(&r.kind.as_str()) {
            out.push(&r.kind);
        }
    }
    out
}

fn kind_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "string",
        "enum": kinds(),
    })
}

/// The rule table; a malformed asset is a build defect that the unit tests catch, so here it
/// yields no rules rather than a panic at run time.
fn parse_rules(text: &str) -> Vec<Rule> {
    let mut rules = toml::from_str::<RuleFile>(text)
        .map(|f| f.rule)
        .unwrap_or_default();
    for r in &mut rules {
        r.is_lower = r.is.to_lowercase();
    }
    rules
}

/// The facts netdx has about `host`. `gateway` is this machine's default gateway, when known.
pub fn facts(host: &Host, gateway: Option<std::net::IpAddr>) -> Vec<Fact> {
    let mut out = Vec::new();
    if gateway == Some(host.ip) {
        out.push(Fact::new("role", "gateway"));
    }
    if let Some(v) = &host.vendor {
        out.push(Fact::new("vendor", v.clone()));
    }
    if host.mac.is_some_and(|m| m.0[0] & 0x02 != 0) {
        out.push(Fact::new("mac", "randomised"));
    }
    let n = &host.names;
    if let Some(m) = &n.mdns {
        for svc in &m.services {
            out.push(Fact::new("mdns", svc.service_type.clone()));
            for (k, v) in &svc.txt {
                out.push(Fact::new("mdns", format!("{k}={v}")));
            }
        }
    }
    if n.netbios.as_ref().is_some_and(|nb| nb.domain_controller) {
        out.push(Fact::new("netbios", "domain-controller"));
    }
    if let Some(u) = &n.upnp {
        for v in [
            &u.device_type,
            &u.manufacturer,
            &u.model_name,
            &u.friendly_name,
        ]
        .into_iter()
        .flatten()
        {
            out.push(Fact::new("upnp", v.clone()));
        }
    }
    if let Some(sn) = &n.snmp {
        for v in [&sn.sys_descr, &sn.sys_object_id].into_iter().flatten() {
            out.push(Fact::new("snmp", v.clone()));
        }
    }
    for p in host.open_ports() {
        out.push(Fact::new("port", p.port.to_string()));
        let Some(id) = &p.identity else { continue };
        if let Some(prod) = &id.product {
            out.push(Fact::new("product", prod.clone()));
        }
        if id.product.is_none() && id.protocol == "rtsp" {
            out.push(Fact::new("product", "RTSP server"));
        }
        if let Some(b) = &id.banner {
            out.push(Fact::new("banner", b.clone()));
        }
        if let Some(t) = id.http.as_ref().and_then(|h| h.title.as_ref()) {
            out.push(Fact::new("title", t.clone()));
        }
    }
    out
}

/// Per type: score and evidence, each rule counted once however many facts match it.
fn scores(facts: &[Fact]) -> BTreeMap<&'static str, (u32, Vec<String>)> {
    let mut scores: BTreeMap<&'static str, (u32, Vec<String>)> = BTreeMap::new();
    for rule in RULES.iter() {
        let Some(fact) = facts.iter().find(|f| rule.matches(f)) else {
            continue;
        };
        let e = scores.entry(rule.kind.as_str()).or_default();
        e.0 += rule.weight;
        let says = rule.says.replace("{}", &fact.text);
        if !e.1.contains(&says) {
            e.1.push(says);
        }
    }
    scores
}

/// The most likely kind of device given `facts`, or None ("unknown") when nothing points
/// clearly anywhere.
pub fn classify(facts: &[Fact]) -> Option<DeviceType> {
    let scores = scores(facts);
    // Highest score; ties go to the type listed first in the table (the more specific).
    let order = |k: &str| RULES.iter().position(|r| r.kind == k).unwrap_or(usize::MAX);
    let (kind, (score, evidence)) = scores
        .into_iter()
        .max_by(|a, b| (a.1.0).cmp(&b.1.0).then(order(b.0).cmp(&order(a.0))))?;
    if score < MIN_SCORE {
        return None;
    }
    let confidence = match score {
        s if s >= HIGH => "high",
        s if s >= MEDIUM => "medium",
        _ => "low",
    };
    Some(DeviceType {
        kind: kind.to_string(),
        confidence: confidence.into(),
        evidence,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(kind: &'static str, text: &str) -> Fact {
        Fact::new(kind, text)
    }

    fn kind(facts: &[Fact]) -> Option<String> {
        classify(facts).map(|d| d.kind)
    }

    #[test]
    fn the_rule_table_parses_and_names_only_known_types() {
        let rules = parse_rules(RULES_TEXT);
        assert!(rules.len() > 80, "{} rules", rules.len());
        let known = [
            "printer",
            "camera",
            "NAS",
            "router",
            "switch",
            "access point",
            "firewall",
            "VoIP phone",
            "UPS",
            "server",
            "workstation/laptop",
            "phone/tablet",
            "media/IoT",
        ];
        let kinds = [
            "port", "vendor", "product", "banner", "title", "mdns", "netbios", "upnp", "snmp",
            "role", "mac",
        ];
        for r in &rules {
            assert!(
                known.contains(&r.kind.as_str()),
                "unknown type {:?}",
                r.kind
            );
            assert!(
                kinds.contains(&r.when.as_str()),
                "unknown fact kind {:?}",
                r.when
            );
            assert!(r.weight > 0 && !r.says.is_empty(), "{r:?}");
            if r.when == "port" {
                assert!(r.is.parse::<u16>().is_ok(), "{r:?}");
            }
        }
        for k in known {
            assert!(rules.iter().any(|r| r.kind == k), "no rule gives {k}");
        }
    }

    #[test]
    fn printer_from_ports_and_mdns_with_evidence() {
        let d = classify(&[
            f("port", "631"),
            f("port", "9100"),
            f("mdns", "_ipp._tcp"),
            f("mdns", "ty=HP Color LaserJet MFP M480f"),
        ])
        .expect("a type");
        assert_eq!(d.kind, "printer");
        assert_eq!(d.confidence, "high");
        assert_eq!(
            d.explain(),
            "printer: JetDirect 9100 + IPP 631 + mDNS _ipp._tcp + mDNS ty=HP Color LaserJet MFP M480f (high)"
        );
    }

    #[test]
    fn one_rule_per_type() {
        let cases: &[(&[Fact], &str)] = &[
            (
                &[f("vendor", "Hikvision Digital"), f("port", "554")],
                "camera",
            ),
            (&[f("vendor", "Synology Incorporated")], "NAS"),
            (&[f("title", "Synology DiskStation")], "NAS"),
            (&[f("role", "gateway")], "router"),
            (&[f("port", "8291")], "router"),
            (&[f("snmp", "RouterOS RB4011")], "router"),
            (
                &[f(
                    "upnp",
                    "urn:schemas-upnp-org:device:InternetGatewayDevice:1",
                )],
                "router",
            ),
            (
                &[
                    f("vendor", "Cisco Systems"),
                    f("product", "Cisco"),
                    f("banner", "User Access Verification"),
                ],
                "switch",
            ),
            (
                &[f("vendor", "Cisco Systems"), f("role", "gateway")],
                "router",
            ),
            (
                &[f("title", "UniFi Network"), f("vendor", "Ubiquiti")],
                "access point",
            ),
            (
                &[f("vendor", "Palo Alto Networks"), f("port", "443")],
                "firewall",
            ),
            (&[f("title", "pfSense - Login")], "firewall"),
            (&[f("port", "5060"), f("vendor", "Yealink")], "VoIP phone"),
            (
                &[f(
                    "snmp",
                    "APC Web/SNMP Management Card (MB:v4.1.0 PF:v6.4.6) Smart-UPS",
                )],
                "UPS",
            ),
            (&[f("snmp", "1.3.6.1.4.1.318.1.3.27")], "UPS"),
            (&[f("netbios", "domain-controller")], "server"),
            (&[f("port", "25"), f("port", "993")], "server"),
            (&[f("port", "5432"), f("port", "22")], "server"),
            (
                &[f("vendor", "Apple"), f("port", "5900")],
                "workstation/laptop",
            ),
            (&[f("mdns", "model=iPhone14,2")], "phone/tablet"),
            (
                &[f("port", "1883"), f("vendor", "Raspberry Pi Foundation")],
                "media/IoT",
            ),
            (&[f("mdns", "_googlecast._tcp")], "media/IoT"),
            (
                &[f("upnp", "urn:schemas-upnp-org:device:MediaRenderer:1")],
                "media/IoT",
            ),
            (&[f("vendor", "Espressif")], "media/IoT"),
            (&[f("port", "9100"), f("vendor", "Brother")], "printer"),
        ];
        for (facts, want) in cases {
            assert_eq!(kind(facts).as_deref(), Some(*want), "{facts:?}");
        }
    }

    /// Every rule of the table, alone: the fact it names triggers it, and it counts its
    /// weight and its words for its type (a typo in a fact kind, a port or a pattern fails
    /// here, rule by rule).
    #[test]
    fn every_rule_fires_on_its_own_fact() {
        for r in RULES.iter() {
            let when: &'static str = [
                "port", "vendor", "product", "banner", "title", "mdns", "netbios", "upnp", "snmp",
                "role", "mac",
            ]
            .into_iter()
            .find(|k| *k == r.when)
            .unwrap_or_else(|| panic!("unknown fact kind in {r:?}"));
            let fact = f(when, &r.is);
            assert!(r.matches(&fact), "{r:?} does not match its own fact");
            let scored = scores(std::slice::from_ref(&fact));
            let (score, evidence) = scored
                .get(r.kind.as_str())
                .unwrap_or_else(|| panic!("{r:?} scored nothing"));
            assert!(*score >= r.weight, "{r:?}: {score}");
            assert!(
                evidence.contains(&r.says.replace("{}", &r.is)),
                "{r:?}: evidence {evidence:?}"
            );
        }
    }

    #[test]
    fn weak_or_no_evidence_is_unknown() {
        assert_eq!(kind(&[]), None);
        assert_eq!(kind(&[f("port", "22")]), None, "SSH alone is not a type");
        assert_eq!(kind(&[f("mac", "randomised")]), None);
        assert_eq!(kind(&[f("vendor", "Some Unknown Maker")]), None);
    }

    #[test]
    fn port_rules_match_exactly() {
        assert_eq!(kind(&[f("port", "96310")]), None);
        assert_eq!(kind(&[f("port", "19100")]), None);
    }
}
