//! Names and identity from the LAN's own protocols: mDNS/DNS-SD ([`mdns`]), NetBIOS node
//! status ([`netbios`]), SSDP/UPnP ([`ssdp`]) and SNMP v2c ([`snmp`]).
//!
//! Scope: every question goes by unicast to one address the user asked to scan (mDNS to
//! `ip:5353`, NetBIOS to `ip:137`, SSDP to `ip:1900`, SNMP to `ip:161`), never to a multicast
//! group or a broadcast address, so nothing outside the targets is asked anything. A UPnP
//! description is fetched only from the address that answered.
//!
//! UDP is lossy and silent: each question is sent again when no answer came within a wait
//! adapted to the host's round trip ([`Waits`]). A closed port usually answers with ICMP
//! port unreachable, which a connected socket reports at once, so a host without SNMP costs
//! one round trip, not the whole wait. Each socket holds one of the session's connect
//! permits (the descriptor budget).
//!
//! The builders and parsers are pure functions of bytes, unit-tested with captured and
//! constructed packets; this module only moves bytes.

pub mod mdns;
pub mod netbios;
pub mod snmp;
pub mod ssdp;

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use nix::sys::socket::{setsockopt, sockopt};
use tokio::net::UdpSocket;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, timeout};

use crate::core::names::HostNames;
use crate::net::session::Session;

/// What the user allows us to ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameQuery {
    /// SNMP v2c community: `public` unless the user names another (never guessed).
    pub snmp_community: String,
}

impl Default for NameQuery {
    fn default() -> Self {
        NameQuery {
            snmp_community: "public".into(),
        }
    }
}

/// How long to wait for an answer, and how many times to ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waits {
    pub reply: Duration,
    pub tries: u32,
}

impl Waits {
    /// From the host's smoothed RTT. Responders answer at once (an mDNS responder may
    /// delay a multicast answer, never a unicast one), so a few RTTs plus a margin for a busy
    /// embedded CPU is enough; the floor keeps a LAN's sub-millisecond RTT from making the
    /// wait shorter than a printer's scheduling jitter.
    pub fn for_rtt(srtt: Option<Duration>) -> Waits {
        let rtt = srtt.unwrap_or(Duration::from_millis(100));
        Waits {
            reply: (rtt * 4 + Duration::from_millis(100))
                .clamp(Duration::from_millis(200), Duration::from_secs(1)),
            tries: 2,
        }
    }
}

/// Ask `ip` every name protocol at once. Empty when nothing answered.
pub async fn probe_host(session: &Session, ip: IpAddr, query: &NameQuery) -> HostNames {
    let waits = Waits::for_rtt(session.estimate(ip).timing.rtt.srtt());
    let (mdns, netbios, upnp, snmp) = tokio::join!(
        mdns::probe(session, ip, waits),
        netbios::probe(session, ip, waits),
        ssdp::probe(session, ip, waits),
        snmp::probe(session, ip, &query.snmp_community, waits),
    );
    HostNames {
        mdns,
        netbios,
        upnp,
        snmp,
    }
}

/// A UDP socket for questions to one peer, holding a connect permit while it lives.
pub(crate) struct Asker {
    sock: UdpSocket,
    peer: SocketAddr,
    /// Connected to the peer: only its answers arrive, and ICMP port unreachable ends the
    /// wait at once. SSDP cannot be connected: some devices answer from another port.
    connected: bool,
    _permit: OwnedSemaphorePermit,
}

/// How one exchange ended.
#[derive(Debug)]
pub(crate) enum Reply {
    Answer(Vec<u8>),
    /// ICMP port unreachable: nothing listens there.
    Refused,
    /// No acceptable answer after every try.
    Silent,
}

/// The largest datagram read (an mDNS answer may exceed 512 bytes; 9000 is RFC 6762's
/// limit).
const MAX_DATAGRAM: usize = 9000;

impl Asker {
    pub(crate) async fn open(session: &Session, peer: SocketAddr, connect: bool) -> Option<Asker> {
        let permit = session.connects().clone().acquire_owned().await.ok()?;
        let local: SocketAddr = match peer {
            SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
            SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
        };
        let sock = UdpSocket::bind(local).await.ok()?;
        if connect {
            sock.connect(peer).await.ok()?;
        } else {
            // An unconnected socket hears of ICMP port unreachable only with IP_RECVERR:
            // then a host without SSDP costs one round trip, not every wait. Only `peer` is
            // ever sent to, so any such error is about it. Best effort: without it we wait.
            let _ = match peer {
                SocketAddr::V4(_) => setsockopt(&sock, sockopt::Ipv4RecvErr, &true),
                SocketAddr::V6(_) => setsockopt(&sock, sockopt::Ipv6RecvErr, &true),
            };
        }
        Some(Asker {
            sock,
            peer,
            connected: connect,
            _permit: permit,
        })
    }

    /// Send `request`, wait for a datagram from the peer's address that `accept` takes, send
    /// again after each silent wait.
    pub(crate) async fn ask(
        &self,
        request: &[u8],
        waits: Waits,
        accept: impl Fn(&[u8]) -> bool,
    ) -> Reply {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        for _ in 0..waits.tries.max(1) {
            let sent = if self.connected {
                self.sock.send(request).await
            } else {
                self.sock.send_to(request, self.peer).await
            };
            match sent {
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => return Reply::Refused,
                Err(_) => return Reply::Silent,
            }
            let deadline = Instant::now() + waits.reply;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                let got = if self.connected {
                    timeout(left, self.sock.recv(&mut buf))
                        .await
                        .map(|r| r.map(|n| (n, self.peer)))
                } else {
                    timeout(left, self.sock.recv_from(&mut buf)).await
                };
                match got {
                    Err(_) => break,
                    Ok(Err(e)) if e.kind() == ErrorKind::ConnectionRefused => {
                        return Reply::Refused;
                    }
                    Ok(Err(_)) => return Reply::Silent,
                    Ok(Ok((n, from))) => {
                        let bytes = &buf[..n];
                        if from.ip() == self.peer.ip() && accept(bytes) {
                            return Reply::Answer(bytes.to_vec());
                        }
                    }
                }
            }
        }
        Reply::Silent
    }
}

/// A random 16-bit transaction ID, so a stray or forged answer to someone else's question
/// is not taken for ours.
pub(crate) fn random_id() -> u16 {
    rand::random()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_follow_the_rtt_within_bounds() {
        let lan = Waits::for_rtt(Some(Duration::from_micros(200)));
        assert_eq!(lan.reply, Duration::from_millis(200));
        assert_eq!(lan.tries, 2);
        let far = Waits::for_rtt(Some(Duration::from_millis(100)));
        assert_eq!(far.reply, Duration::from_millis(500));
        let awful = Waits::for_rtt(Some(Duration::from_secs(2)));
        assert_eq!(awful.reply, Duration::from_secs(1));
    }

    /// A port nobody listens on, on loopback: the kernel answers port unreachable, which
    /// ends the wait at once, on a connected socket and on an unconnected one (SSDP's).
    #[tokio::test]
    async fn a_refused_port_ends_the_wait_at_once() {
        let session = Session::new(Default::default()).unwrap();
        for connected in [true, false] {
            let spare = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            let peer = spare.local_addr().unwrap();
            drop(spare);
            let asker = Asker::open(&session, peer, connected).await.unwrap();
            let started = Instant::now();
            let waits = Waits {
                reply: Duration::from_secs(2),
                tries: 2,
            };
            assert!(
                matches!(asker.ask(b"x", waits, |_| true).await, Reply::Refused),
                "connected: {connected}"
            );
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "connected: {connected}"
            );
        }
    }

    #[tokio::test]
    async fn answers_are_filtered_and_lost_questions_asked_again() {
        let session = Session::new(Default::default()).unwrap();
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let peer = server.local_addr().unwrap();
        let serve = tokio::spawn(async move {
            let mut buf = [0u8; 64];
            // Drop the first question (a lost packet), answer the second with junk first.
            let _ = server.recv_from(&mut buf).await.unwrap();
            let (_, from) = server.recv_from(&mut buf).await.unwrap();
            server.send_to(b"junk", from).await.unwrap();
            server.send_to(b"good", from).await.unwrap();
        });
        let asker = Asker::open(&session, peer, true).await.unwrap();
        let waits = Waits {
            reply: Duration::from_millis(200),
            tries: 2,
        };
        match asker.ask(b"q", waits, |b| b == b"good").await {
            Reply::Answer(b) => assert_eq!(b, b"good"),
            other => panic!("{other:?}"),
        }
        serve.await.unwrap();
    }

    #[tokio::test]
    async fn an_unconnected_asker_takes_answers_from_another_port_of_the_peer_only() {
        let session = Session::new(Default::default()).unwrap();
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let peer = server.local_addr().unwrap();
        let other_port = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let other_host = UdpSocket::bind("127.0.0.2:0").await.unwrap();
        let serve = tokio::spawn(async move {
            let mut buf = [0u8; 64];
            let (_, from) = server.recv_from(&mut buf).await.unwrap();
            // Another address answering is not our peer (SSDP answers are trusted only from
            // the address asked); the peer answering from another port is.
            other_host.send_to(b"spoof", from).await.unwrap();
            other_port.send_to(b"real", from).await.unwrap();
        });
        let asker = Asker::open(&session, peer, false).await.unwrap();
        let waits = Waits {
            reply: Duration::from_millis(500),
            tries: 1,
        };
        match asker.ask(b"q", waits, |_| true).await {
            Reply::Answer(b) => assert_eq!(b, b"real"),
            other => panic!("{other:?}"),
        }
        serve.await.unwrap();
    }

    /// Every parser is a pure function of hostile bytes: random datagrams, and real answers
    /// with random bytes flipped, must be refused or read, never panic.
    #[test]
    fn parsers_survive_random_and_mangled_input() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let seeds: Vec<Vec<u8>> = vec![
            netbios::request(1),
            snmp::get_request("public", 1),
            ssdp::msearch("10.0.0.1".parse().unwrap()),
            mdns::query(1, &mdns::first_questions("10.0.0.1".parse().unwrap())),
            b"HTTP/1.1 200 OK\r\nLOCATION: http://10.0.0.1/d.xml\r\n\r\n".to_vec(),
            b"<device><friendlyName>a&amp;b</friendlyName><deviceList>".to_vec(),
        ];
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        for round in 0..4000 {
            let mut bytes = if round % 2 == 0 {
                let len = (next() % 300) as usize;
                (0..len).map(|_| next() as u8).collect()
            } else {
                let mut b = seeds[round % seeds.len()].clone();
                for _ in 0..(next() % 8) {
                    if !b.is_empty() {
                        let i = (next() as usize) % b.len();
                        b[i] = next() as u8;
                    }
                }
                b
            };
            if round % 7 == 0 {
                bytes.truncate((next() as usize) % (bytes.len() + 1));
            }
            let _ = netbios::parse(&bytes, 1);
            let _ = snmp::parse(&bytes, 1);
            let _ = ssdp::parse_answer(&bytes);
            let _ = ssdp::body(&bytes);
            let _ = ssdp::describe(&String::from_utf8_lossy(&bytes));
            let id = match bytes.as_slice() {
                [a, b, ..] => u16::from_be_bytes([*a, *b]),
                _ => 0,
            };
            if let Some(records) = mdns::parse(&bytes, id) {
                let _ = mdns::describe(&records, ip);
            }
        }
    }
}
