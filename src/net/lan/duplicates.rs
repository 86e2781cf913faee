//! The duplicate-IP check: ARP who-has for every address of the interface's IPv4 subnet (or the
//! addresses given), keeping every reply, so an address answered by two MACs shows both. A
//! subnet wider than /22 is checked in the /22 around our own address (1,022 requests), and
//! the check says so.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use ipnet::Ipv4Net;
use tokio_util::sync::CancellationToken;

use crate::core::lan::{CheckStatus, DuplicateCheck, DuplicateIp};
use crate::core::model::MacAddr;
use crate::net::arp::ArpConfig;
use crate::net::lan::{LanIface, needs_raw, vendor_of};
use crate::net::session::Session;

/// Widest subnet swept whole.
pub const MAX_PREFIX: u8 = 22;
/// Request rounds: every address is asked three times, so a second MAC whose reply was lost
/// once is still heard.
const RETRIES: u32 = 2;
/// The sweep's wait after its last round, at most (the window bounds it too).
const MAX_WAIT: Duration = Duration::from_secs(2);

/// The addresses to ask on `net` (ours left out), and a note when the net was narrowed to the
/// /22 around `net.addr()`.
pub fn subnet_targets(net: Ipv4Net) -> (Vec<Ipv4Addr>, Option<String>) {
    let (swept, note) = if net.prefix_len() < MAX_PREFIX {
        let narrow = Ipv4Net::new(net.addr(), MAX_PREFIX)
            .map(|n| n.trunc())
            .unwrap_or(net);
        (
            narrow,
            Some(format!(
                "{} is wider than /{MAX_PREFIX}: only {narrow} (around this machine's address) was checked",
                net.trunc()
            )),
        )
    } else {
        (net.trunc(), None)
    };
    let targets = swept.hosts().filter(|ip| *ip != net.addr()).collect();
    (targets, note)
}

/// Group every (address, MAC) heard into the addresses answered by more than one MAC.
pub fn duplicates(heard: impl IntoIterator<Item = (Ipv4Addr, MacAddr)>) -> Vec<DuplicateIp> {
    let mut by_ip: BTreeMap<Ipv4Addr, Vec<MacAddr>> = BTreeMap::new();
    for (ip, mac) in heard {
        let macs = by_ip.entry(ip).or_default();
        if !macs.contains(&mac) {
            macs.push(mac);
        }
    }
    by_ip
        .into_iter()
        .filter(|(_, macs)| macs.len() > 1)
        .map(|(ip, mut macs)| {
            macs.sort();
            DuplicateIp {
                ip,
                vendors: macs.iter().map(|m| vendor_of(*m)).collect(),
                macs,
            }
        })
        .collect()
}

/// Run the check: `explicit` addresses, or with none the interface's subnet.
pub async fn check(
    session: &Session,
    iface: &LanIface,
    explicit: &[Ipv4Addr],
    window: Duration,
    cancel: &CancellationToken,
) -> DuplicateCheck {
    let done = |status, probed, note| DuplicateCheck {
        status,
        probed,
        note,
        duplicates: Vec::new(),
    };
    if !session.raw_capable() {
        return done(needs_raw(), 0, None);
    }
    let (targets, note) = if explicit.is_empty() {
        match iface.v4 {
            Some(net) => subnet_targets(net),
            None => {
                return done(
                    CheckStatus::Skipped {
                        reason: format!("{} has no IPv4 address", iface.name),
                    },
                    0,
                    None,
                );
            }
        }
    } else {
        (explicit.to_vec(), None)
    };
    let probed = targets.len();
    let cfg = ArpConfig {
        wait: window.min(MAX_WAIT),
        retries: RETRIES,
        ..ArpConfig::default()
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel(256);
    let arp = session.arp().clone();
    let stop = cancel.child_token();
    let sweep = tokio::spawn(async move { arp.discover_all(targets, cfg, tx, stop).await });
    let mut heard = Vec::new();
    while let Some(o) = rx.recv().await {
        heard.push((o.ip, o.mac));
    }
    let status = match sweep.await {
        Ok(Ok(_)) if cancel.is_cancelled() => CheckStatus::Failed {
            error: "interrupted".to_string(),
        },
        Ok(Ok(_)) => CheckStatus::Done,
        Ok(Err(crate::net::arp::ArpError::Permission(_))) => needs_raw(),
        Ok(Err(e)) => CheckStatus::Failed {
            error: e.to_string(),
        },
        Err(e) => CheckStatus::Failed {
            error: format!("the ARP sweep stopped: {e}"),
        },
    };
    DuplicateCheck {
        status,
        probed,
        note,
        duplicates: duplicates(heard),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_24_is_swept_whole_without_us() {
        let (t, note) = subnet_targets("10.79.0.10/24".parse().unwrap());
        assert_eq!(t.len(), 253);
        assert!(!t.contains(&Ipv4Addr::new(10, 79, 0, 10)));
        assert_eq!(note, None);
    }

    #[test]
    fn a_16_is_narrowed_to_the_22_around_us_and_said() {
        let (t, note) = subnet_targets("10.79.9.10/16".parse().unwrap());
        assert_eq!(t.len(), 1021);
        assert_eq!(t.first(), Some(&Ipv4Addr::new(10, 79, 8, 1)));
        assert_eq!(t.last(), Some(&Ipv4Addr::new(10, 79, 11, 254)));
        let note = note.unwrap();
        assert!(
            note.contains("10.79.0.0/16") && note.contains("10.79.8.0/22"),
            "{note}"
        );
    }

    #[test]
    fn two_macs_for_one_address_is_a_duplicate() {
        let a = MacAddr([2, 0, 0, 0, 0, 2]);
        let b = MacAddr([2, 0, 0, 0, 0, 1]);
        let ip = Ipv4Addr::new(10, 79, 0, 50);
        let other = Ipv4Addr::new(10, 79, 0, 1);
        let got = duplicates([(ip, a), (other, a), (ip, b), (ip, a), (other, a)]);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].ip, ip);
        assert_eq!(got[0].macs, vec![b, a]);
        assert_eq!(got[0].vendors.len(), 2);
    }
}
