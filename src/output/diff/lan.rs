//! The LAN half of `netdx diff`: DHCP servers, duplicate addresses, claims on the gateway,
//! IPv6 routers and the switch port, compared between two reports that both ran the LAN
//! checks. A check that did not run on one side compares nothing (it would read as "the
//! rogue server went away").

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::core::lan::{CheckStatus, LanReport};

/// One LAN fact that appeared, went away or changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LanChange {
    /// `dhcp`, `duplicates`, `gateway`, `routers`, `switch`.
    pub check: String,
    /// `appeared`, `gone` or `changed`.
    pub change: String,
    /// The fact on the old side (absent for `appeared`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
}

type Facts = BTreeMap<String, String>;

/// Per check: whether it ran, and its facts keyed by what identifies them.
fn facts(lan: &LanReport) -> Vec<(&'static str, bool, Facts)> {
    let done = |s: &CheckStatus| s.ran();
    let dhcp = lan
        .dhcp
        .offers
        .iter()
        .map(|o| (o.server.to_string(), format!("DHCP server {}", o.words())))
        .collect();
    let dup = lan
        .duplicates
        .duplicates
        .iter()
        .map(|d| {
            let macs: Vec<String> = d.macs.iter().map(|m| m.to_string()).collect();
            (
                d.ip.to_string(),
                format!("{} answered by {}", d.ip, macs.join(" and ")),
            )
        })
        .collect();
    let mut gw: Facts = lan
        .arp_watch
        .claims
        .iter()
        .map(|c| {
            (
                format!("claim {}", c.claimed_by),
                format!("{} claims the gateway {}", c.claimed_by, c.gateway),
            )
        })
        .collect();
    if let (Some(g), Some(m)) = (lan.arp_watch.gateway, lan.arp_watch.gateway_mac) {
        gw.insert(
            format!("gateway {g}"),
            format!("gateway {g} answers from {m}"),
        );
    }
    let routers = lan
        .routers
        .routers
        .iter()
        .map(|r| {
            let tag = if r.expected { "" } else { "unexpected " };
            (
                r.router.to_string(),
                format!("{tag}IPv6 router {}", r.words()),
            )
        })
        .collect();
    let switch = lan
        .switch
        .ports
        .iter()
        .map(|p| (format!("{:?}", p.protocol), p.words()))
        .collect();
    vec![
        ("dhcp", done(&lan.dhcp.status), dhcp),
        ("duplicates", done(&lan.duplicates.status), dup),
        ("gateway", done(&lan.arp_watch.status), gw),
        ("routers", done(&lan.routers.status), routers),
        ("switch", done(&lan.switch.status), switch),
    ]
}

/// What changed on the LAN between the two reports; a note when only one side ran the
/// checks.
pub fn compare(
    old: Option<&LanReport>,
    new: Option<&LanReport>,
    notes: &mut Vec<String>,
) -> Vec<LanChange> {
    let (old, new) = match (old, new) {
        (Some(o), Some(n)) => (o, n),
        (None, None) => return Vec::new(),
        _ => {
            notes.push(
                "Only one of the scans ran the LAN checks: they are not compared.".to_string(),
            );
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for ((check, old_ran, o), (_, new_ran, n)) in facts(old).into_iter().zip(facts(new)) {
        if !(old_ran && new_ran) {
            notes.push(format!(
                "The {check} check did not run in both scans: not compared."
            ));
            continue;
        }
        for (k, v) in &n {
            match o.get(k) {
                None => out.push(LanChange {
                    check: check.into(),
                    change: "appeared".into(),
                    old: None,
                    new: Some(v.clone()),
                }),
                Some(ov) if ov != v => out.push(LanChange {
                    check: check.into(),
                    change: "changed".into(),
                    old: Some(ov.clone()),
                    new: Some(v.clone()),
                }),
                Some(_) => {}
            }
        }
        for (k, v) in &o {
            if !n.contains_key(k) {
                out.push(LanChange {
                    check: check.into(),
                    change: "gone".into(),
                    old: Some(v.clone()),
                    new: None,
                });
            }
        }
    }
    out
}

/// `+ DHCP server 10.0.0.66 ... offers ...`, `- ...`, `~ old -> new`.
pub fn line(c: &LanChange) -> String {
    match (c.old.as_deref(), c.new.as_deref()) {
        (None, Some(n)) => format!("+ {n}"),
        (Some(o), None) => format!("- {o}"),
        (Some(o), Some(n)) => format!("~ {o} -> {n}"),
        (None, None) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lan() -> LanReport {
        let json = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/reports/watch.json"),
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        serde_json::from_value(v["lan"].clone()).unwrap()
    }

    #[test]
    fn a_rogue_server_that_goes_away_and_a_router_that_appears() {
        let new = lan();
        let mut old = new.clone();
        old.dhcp.offers.truncate(1);
        old.routers.routers.truncate(1);
        let mut notes = Vec::new();
        let got = compare(Some(&old), Some(&new), &mut notes);
        let lines: Vec<String> = got.iter().map(line).collect();
        assert_eq!(got.len(), 2, "{lines:?}");
        assert!(
            lines[0].starts_with("+ DHCP server 10.77.0.66"),
            "{lines:?}"
        );
        assert!(
            lines[1].starts_with("+ unexpected IPv6 router fe80::66"),
            "{lines:?}"
        );
        assert!(notes.is_empty());
        // Backwards: they went away.
        let back = compare(Some(&new), Some(&old), &mut notes);
        assert!(back.iter().all(|c| c.change == "gone"));
        // A check that did not run on one side compares nothing.
        old.dhcp.status = CheckStatus::Skipped { reason: "x".into() };
        old.routers.routers = new.routers.routers.clone();
        let got = compare(Some(&old), Some(&new), &mut notes);
        assert!(got.is_empty(), "{got:?}");
        assert_eq!(notes.len(), 1, "{notes:?}");
    }
}
