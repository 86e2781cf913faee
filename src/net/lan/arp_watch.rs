//! The gateway watch: who answers for the gateway's address during the window. A packet
//! socket on the interface sees every ARP frame addressed to us or broadcast; the gateway is
//! asked (who-has) at the start and every second, and the MAC of the first answer is taken as
//! the gateway's. Any other MAC that claims the gateway's address (an answer, or an
//! unsolicited reply or announcement: gratuitous ARP, the usual spoofing tool) is a claim.
//!
//! The packet socket is the check's own (see the module notes in `net::lan`): the session's
//! ARP channel keeps only replies to its own sweeps.

use std::io;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use pnet::datalink::{self, Channel};
use pnet::packet::ethernet::EtherTypes;
use tokio_util::sync::CancellationToken;

use crate::core::lan::{ArpWatch, CheckStatus, GatewayClaim};
use crate::core::model::MacAddr;
use crate::net::lan::arp_frame::{self, ArpFrame};
use crate::net::lan::{LanIface, needs_raw, vendor_of};
use crate::net::session::Session;
use crate::net::sys::packet_filter;

/// How often the receiver looks at the clock and the cancel token.
const POLL: Duration = Duration::from_millis(20);
/// When the gateway is asked, from the start of the window; then every [`ASK_EVERY`].
const FIRST_ASKS: [Duration; 2] = [Duration::ZERO, Duration::from_millis(200)];
const ASK_EVERY: Duration = Duration::from_secs(1);

/// What the window showed about the gateway's address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Heard {
    /// The MAC of the first answer to our who-has.
    pub answered_by: Option<MacAddr>,
    /// Every frame whose sender address is the gateway's.
    pub frames: Vec<ArpFrame>,
}

/// Judge what was heard: every MAC other than the gateway's that claimed its address, once
/// each (gratuitous if any of its frames was unsolicited), and, when `recorded` is given and
/// the gateway now answers from another MAC, that change as a claim against the recorded MAC.
pub fn claims(
    gateway: Ipv4Addr,
    heard: &Heard,
    recorded: Option<MacAddr>,
    our_mac: Option<MacAddr>,
) -> Vec<GatewayClaim> {
    let mut out: Vec<GatewayClaim> = Vec::new();
    if let (Some(was), Some(now)) = (recorded, heard.answered_by)
        && was != now
    {
        out.push(GatewayClaim {
            gateway,
            expected_mac: Some(was),
            claimed_by: now,
            vendor: vendor_of(now),
            gratuitous: false,
        });
    }
    for f in heard.frames.iter().filter(|f| f.sender_ip == gateway) {
        if Some(f.sender_mac) == heard.answered_by
            || f.sender_mac == MacAddr([0; 6])
            || f.sender_mac.is_multicast()
        {
            continue;
        }
        let gratuitous = !f.answers(our_mac);
        match out
            .iter_mut()
            .find(|c| c.claimed_by == f.sender_mac && c.expected_mac == heard.answered_by)
        {
            Some(c) => c.gratuitous |= gratuitous,
            None => out.push(GatewayClaim {
                gateway,
                expected_mac: heard.answered_by,
                claimed_by: f.sender_mac,
                vendor: vendor_of(f.sender_mac),
                gratuitous,
            }),
        }
    }
    out
}

/// Listen on `iface` until `deadline` or `cancel`, asking for `gateway` from `src`.
fn listen(
    iface: &pnet::datalink::NetworkInterface,
    our_mac: MacAddr,
    src: Ipv4Addr,
    gateway: Ipv4Addr,
    window: Duration,
    cancel: &CancellationToken,
) -> io::Result<Heard> {
    let config = datalink::Config {
        read_timeout: Some(POLL),
        promiscuous: false,
        // ARP frames only, filtered and bound by EtherType as the session's ARP channel is
        // (net::arp): a port scan running beside the watch neither crowds the gateway's
        // answers out of the socket nor pays for a copy of every frame.
        socket_fd: Some(packet_filter::socket(packet_filter::Frames::Arp)?),
        channel_type: datalink::ChannelType::Layer3(EtherTypes::Arp.0),
        ..Default::default()
    };
    let (mut tx, mut rx) = match datalink::channel(iface, config)? {
        Channel::Ethernet(tx, rx) => (tx, rx),
        _ => return Err(io::Error::other("not an Ethernet interface")),
    };
    let request = arp_frame::build_request(our_mac, src, gateway);
    let start = Instant::now();
    let mut asks = FIRST_ASKS.to_vec();
    let mut next_periodic = ASK_EVERY;
    let mut heard = Heard::default();
    while start.elapsed() < window && !cancel.is_cancelled() {
        let now = start.elapsed();
        let due = match asks.first() {
            Some(at) if *at <= now => {
                asks.remove(0);
                true
            }
            None if next_periodic <= now => {
                next_periodic += ASK_EVERY;
                true
            }
            _ => false,
        };
        if due && let Some(Err(e)) = tx.send_to(&request, None) {
            return Err(e);
        }
        let frame = match rx.next() {
            Ok(f) => f,
            Err(e) if crate::net::idle_read(&e) => {
                continue;
            }
            Err(e) => return Err(e),
        };
        let Some(f) = arp_frame::parse_arp_frame(frame) else {
            continue;
        };
        if f.sender_ip != gateway || f.sender_mac == our_mac {
            continue;
        }
        if heard.answered_by.is_none() && f.answers(Some(our_mac)) && f.target_ip == src {
            heard.answered_by = Some(f.sender_mac);
        }
        if heard.frames.len() < 10_000 {
            heard.frames.push(f);
        }
    }
    Ok(heard)
}

/// Run the watch on `iface` for `window`; `recorded` is the gateway MAC known from before.
pub async fn check(
    session: &Session,
    iface: &LanIface,
    recorded: Option<MacAddr>,
    window: Duration,
    cancel: &CancellationToken,
) -> ArpWatch {
    let skipped = |reason: String| ArpWatch {
        status: CheckStatus::Skipped { reason },
        gateway: iface.gateway,
        gateway_mac: None,
        claims: Vec::new(),
    };
    if !session.raw_capable() {
        return ArpWatch {
            status: needs_raw(),
            ..skipped(String::new())
        };
    }
    let Some(gateway) = iface.gateway else {
        return skipped(format!("no IPv4 default gateway on {}", iface.name));
    };
    let (Some(our_mac), Some(net)) = (iface.mac, iface.v4) else {
        return skipped(format!("{} has no MAC or no IPv4 address", iface.name));
    };
    let Some(dl) = session
        .arp()
        .interfaces()
        .iter()
        .find(|i| i.name == iface.name)
        .cloned()
    else {
        return ArpWatch {
            status: CheckStatus::Failed {
                error: format!("{} went away", iface.name),
            },
            ..skipped(String::new())
        };
    };
    let stop = cancel.clone();
    let src = net.addr();
    let heard =
        tokio::task::spawn_blocking(move || listen(&dl, our_mac, src, gateway, window, &stop))
            .await;
    let heard = match heard {
        Ok(Ok(h)) => h,
        Ok(Err(e)) if e.kind() == io::ErrorKind::PermissionDenied => {
            return ArpWatch {
                status: needs_raw(),
                ..skipped(String::new())
            };
        }
        Ok(Err(e)) => {
            return ArpWatch {
                status: CheckStatus::Failed {
                    error: format!("ARP watch on {}: {e}", iface.name),
                },
                ..skipped(String::new())
            };
        }
        Err(e) => {
            return ArpWatch {
                status: CheckStatus::Failed {
                    error: format!("ARP watch stopped: {e}"),
                },
                ..skipped(String::new())
            };
        }
    };
    ArpWatch {
        status: if cancel.is_cancelled() {
            CheckStatus::Failed {
                error: "interrupted".to_string(),
            }
        } else {
            CheckStatus::Done
        },
        gateway: Some(gateway),
        gateway_mac: heard.answered_by,
        claims: claims(gateway, &heard, recorded, Some(our_mac)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::lan::arp_frame::{OP_REPLY, OP_REQUEST};

    const GW_IP: Ipv4Addr = Ipv4Addr::new(10, 79, 0, 1);
    const US_IP: Ipv4Addr = Ipv4Addr::new(10, 79, 0, 10);
    const US: MacAddr = MacAddr([2, 0, 0, 0, 0, 0x10]);
    const GW: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
    const EVIL: MacAddr = MacAddr([2, 0, 0, 0, 0, 0x66]);
    const BCAST: MacAddr = MacAddr([0xff; 6]);

    fn frame(op: u16, from: MacAddr, to: MacAddr, target_ip: Ipv4Addr) -> ArpFrame {
        ArpFrame {
            eth_dst: to,
            op,
            sender_mac: from,
            sender_ip: GW_IP,
            target_mac: to,
            target_ip,
        }
    }

    #[test]
    fn only_the_gateway_answering_is_no_claim() {
        let heard = Heard {
            answered_by: Some(GW),
            frames: vec![
                frame(OP_REPLY, GW, US, US_IP),
                frame(OP_REQUEST, GW, BCAST, US_IP),
            ],
        };
        assert!(claims(GW_IP, &heard, None, Some(US)).is_empty());
        assert!(claims(GW_IP, &heard, Some(GW), Some(US)).is_empty());
    }

    #[test]
    fn gratuitous_arp_from_another_mac_is_one_claim() {
        let heard = Heard {
            answered_by: Some(GW),
            frames: vec![
                frame(OP_REPLY, GW, US, US_IP),
                frame(OP_REPLY, EVIL, BCAST, GW_IP),
                frame(OP_REQUEST, EVIL, BCAST, GW_IP),
            ],
        };
        let c = claims(GW_IP, &heard, None, Some(US));
        assert_eq!(
            c,
            vec![GatewayClaim {
                gateway: GW_IP,
                expected_mac: Some(GW),
                claimed_by: EVIL,
                vendor: vendor_of(EVIL),
                gratuitous: true,
            }]
        );
        // A second MAC answering our question is a claim, not gratuitous.
        let answered = Heard {
            answered_by: Some(GW),
            frames: vec![frame(OP_REPLY, EVIL, US, US_IP)],
        };
        assert!(!claims(GW_IP, &answered, None, Some(US))[0].gratuitous);
    }

    #[test]
    fn a_changed_gateway_mac_is_said_against_the_recorded_one() {
        let heard = Heard {
            answered_by: Some(EVIL),
            frames: vec![frame(OP_REPLY, EVIL, US, US_IP)],
        };
        let c = claims(GW_IP, &heard, Some(GW), Some(US));
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].expected_mac, Some(GW));
        assert_eq!(c[0].claimed_by, EVIL);
    }
}
