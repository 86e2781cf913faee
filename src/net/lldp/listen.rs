//! Listening for the switch's announcements on one interface.
//!
//! Switches announce themselves every 30 s by default (LLDP's msgTxInterval; CDP 60 s), many
//! sites set 5 s. Nothing can be asked: the only way is to listen, so the window is the cost.
//!
//! ```text
//!  t=0 open an AF_PACKET channel (pnet), multicast-open (PACKET_MR_PROMISC membership)
//!   │    every frame ─► parse_frame ─► first LLDP kept, first CDP kept
//!   ├─ both protocols heard (or the first one, with stop_early) ─► return at once
//!   └─ window over ─► return what was heard (nothing: Done with no ports)
//! ```
//!
//! The channel asks for promiscuous membership because a real NIC filters multicast groups
//! nobody joined (01:80:c2:00:00:0e among them) and pnet offers no way to join one group; the
//! membership belongs to the socket, so the kernel drops it when the channel closes at the
//! end of the window and the interface never stays promiscuous. The channel is opened for the
//! window only: a check run once per `netdx lan` must not keep a socket that copies every
//! frame of the interface.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use pnet::datalink::{self, Channel, NetworkInterface};

use crate::core::lan::{CheckStatus, SwitchCheck, SwitchPort, SwitchProtocol};
use crate::core::model::MacAddr;
use crate::net::session::Session;
use crate::net::sys::{packet_filter, privilege};

use super::parse_frame;

/// LLDP's default announcement interval, so the default window hears at least one.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(30);
/// CDP's default interval: a longer window than this cannot hear anything new.
pub const MAX_WINDOW: Duration = Duration::from_secs(60);
/// How often the reading thread looks at the clock and the stop flag.
const POLL: Duration = Duration::from_millis(50);

/// What was heard so far; pure, so the stopping rule is tested without a socket.
#[derive(Debug, Default)]
struct Heard {
    /// Our own MAC: frames we send ourselves (an lldpd on this machine) are not the switch.
    own: Option<MacAddr>,
    ports: Vec<SwitchPort>,
}

impl Heard {
    /// Offer a received frame; `true` when listening can stop.
    fn offer(&mut self, frame: &[u8], stop_early: bool) -> bool {
        if let Some(p) = parse_frame(frame)
            && (self.own.is_none() || p.source_mac != self.own)
            && !self.ports.iter().any(|q| q.protocol == p.protocol)
        {
            self.ports.push(p);
        }
        self.done(stop_early)
    }

    fn done(&self, stop_early: bool) -> bool {
        let has = |proto| self.ports.iter().any(|p| p.protocol == proto);
        if stop_early {
            !self.ports.is_empty()
        } else {
            has(SwitchProtocol::Lldp) && has(SwitchProtocol::Cdp)
        }
    }
}

/// Sets the flag when dropped: a listen whose caller went away stops within [`POLL`].
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

fn round_s(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

fn skipped_no_privilege(interface: &str) -> CheckStatus {
    CheckStatus::Skipped {
        reason: format!(
            "needs CAP_NET_RAW to read LLDP/CDP frames on {interface}: run as root or {}",
            privilege::GRANT_HINT
        ),
    }
}

/// Listen on `interface` for up to `window` (capped at [`MAX_WINDOW`]) for LLDP and CDP
/// frames. Returns as soon as one frame of each protocol was heard, or the first frame of
/// either when `stop_early`; else at the end of the window, `Done` with the ports heard
/// (none: no switch announced itself in that time). Without CAP_NET_RAW it is `Skipped`
/// with how to grant it; an interface that does not exist or fails is `Failed`.
pub async fn listen(
    session: &Session,
    interface: &str,
    window: Duration,
    stop_early: bool,
) -> SwitchCheck {
    let window = window.min(MAX_WINDOW);
    let check = |status, listened: Duration, ports| SwitchCheck {
        status,
        listened_s: round_s(listened),
        ports,
    };
    if !session.raw_capable() {
        return check(skipped_no_privilege(interface), Duration::ZERO, Vec::new());
    }
    let Some(iface) = session
        .arp()
        .interfaces()
        .iter()
        .find(|i| i.name == interface)
        .cloned()
    else {
        return check(
            CheckStatus::Failed {
                error: format!("no interface named {interface}"),
            },
            Duration::ZERO,
            Vec::new(),
        );
    };
    let stop = Arc::new(AtomicBool::new(false));
    let _stop_on_drop = StopOnDrop(Arc::clone(&stop));
    let name = interface.to_string();
    let joined =
        tokio::task::spawn_blocking(move || listen_blocking(&iface, window, stop_early, &stop))
            .await;
    match joined {
        Ok((status, listened, ports)) => check(status, listened, ports),
        Err(e) => check(
            CheckStatus::Failed {
                error: format!("LLDP listener on {name} stopped: {e}"),
            },
            Duration::ZERO,
            Vec::new(),
        ),
    }
}

/// The reading thread: open, read until done or the window ends, close.
fn listen_blocking(
    iface: &NetworkInterface,
    window: Duration,
    stop_early: bool,
    stop: &AtomicBool,
) -> (CheckStatus, Duration, Vec<SwitchPort>) {
    let started = Instant::now();
    let cannot_open = |e: io::Error| {
        let status = if e.kind() == io::ErrorKind::PermissionDenied {
            skipped_no_privilege(&iface.name)
        } else {
            CheckStatus::Failed {
                error: format!("cannot listen on {}: {e}", iface.name),
            }
        };
        (status, Duration::ZERO, Vec::new())
    };
    // Only LLDP and CDP frames reach the socket, whatever else the interface carries.
    let socket = match packet_filter::socket(packet_filter::Frames::LinkDiscovery) {
        Ok(fd) => fd,
        Err(e) => return cannot_open(e),
    };
    let config = datalink::Config {
        read_timeout: Some(POLL),
        promiscuous: true,
        socket_fd: Some(socket),
        ..Default::default()
    };
    let mut rx = match datalink::channel(iface, config) {
        Ok(Channel::Ethernet(_tx, rx)) => rx,
        Ok(_) => {
            let error = format!("{} is not an Ethernet interface", iface.name);
            return (CheckStatus::Failed { error }, Duration::ZERO, Vec::new());
        }
        Err(e) => return cannot_open(e),
    };
    let mut heard = Heard {
        own: iface.mac.map(|m| MacAddr(m.octets())),
        ports: Vec::new(),
    };
    let deadline = started + window;
    while Instant::now() < deadline && !stop.load(Ordering::Acquire) {
        match rx.next() {
            Ok(frame) => {
                if heard.offer(frame, stop_early) {
                    break;
                }
            }
            Err(e) if crate::net::idle_read(&e) => {}
            Err(e) => {
                let error = format!("reading {} failed: {e}", iface.name);
                return (
                    CheckStatus::Failed { error },
                    started.elapsed(),
                    heard.ports,
                );
            }
        }
    }
    (CheckStatus::Done, started.elapsed(), heard.ports)
}

#[cfg(test)]
mod tests {
    use super::super::cdp::tests::catalyst_frame;
    use super::super::tests::{SWITCH_MAC, switch_frame};
    use super::*;

    #[test]
    fn stops_on_both_protocols_or_the_first_frame_when_asked() {
        let mut h = Heard::default();
        assert!(!h.offer(b"not a frame", false));
        assert!(
            !h.offer(&switch_frame(), false),
            "LLDP only: keep listening"
        );
        assert!(!h.offer(&switch_frame(), false), "a repeat changes nothing");
        assert_eq!(h.ports.len(), 1);
        assert!(h.offer(&catalyst_frame(), false), "both heard");
        assert_eq!(h.ports.len(), 2);

        let mut h = Heard::default();
        assert!(h.offer(&catalyst_frame(), true));
        assert_eq!(h.ports[0].protocol, SwitchProtocol::Cdp);
    }

    #[test]
    fn our_own_announcements_are_not_the_switch() {
        let mut h = Heard {
            own: Some(MacAddr(SWITCH_MAC)),
            ports: Vec::new(),
        };
        assert!(!h.offer(&switch_frame(), true));
        assert!(h.ports.is_empty());
    }
}
