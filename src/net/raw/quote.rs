//! ICMP messages about traceroute probes: echo replies and the errors (time exceeded,
//! destination unreachable) that quote an echo request or a TCP segment, parsed from what a
//! raw ICMP socket delivers, and the echo requests themselves.
//!
//! The session's raw ICMP readers ([`super::RawProber`]) run every packet through [`parse_v4`]
//! or [`parse_v6`] while a [`super::IcmpWatch`] is registered, and deliver a message only to the
//! watch whose echo identifier or TCP source port it names.

use std::net::IpAddr;

const ICMP4_ECHO_REPLY: u8 = 0;
const ICMP4_UNREACH: u8 = 3;
const ICMP4_ECHO_REQUEST: u8 = 8;
const ICMP4_TIME_EXCEEDED: u8 = 11;
const ICMP6_UNREACH: u8 = 1;
const ICMP6_TIME_EXCEEDED: u8 = 3;
const ICMP6_ECHO_REQUEST: u8 = 128;
const ICMP6_ECHO_REPLY: u8 = 129;
const PROTO_ICMP4: u8 = 1;
const PROTO_TCP: u8 = 6;
const PROTO_ICMP6: u8 = 58;
/// Payload of our echo requests: says who sent them to anyone reading a capture.
const PAYLOAD: &[u8; 16] = b"netdx traceroute";

/// What an ICMP message says about one of our probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quoted {
    /// An echo reply (to an echo request of ours, if the identifier matches).
    EchoReply { ident: u16, seq: u16 },
    /// An ICMP error quoting the probe it is about.
    Error {
        kind: ErrorKind,
        /// Destination address of the quoted packet.
        dest: IpAddr,
        probe: QuotedProbe,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    TimeExceeded,
    /// Destination unreachable with its ICMP code (v4 or v6 numbering, by the family).
    Unreachable(u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotedProbe {
    Echo { ident: u16, seq: u16 },
    Tcp { src_port: u16, dst_port: u16 },
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn ipv4_at(b: &[u8], at: usize) -> Option<IpAddr> {
    let o: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(IpAddr::from(o))
}

fn ipv6_at(b: &[u8], at: usize) -> Option<IpAddr> {
    let o: [u8; 16] = b.get(at..at + 16)?.try_into().ok()?;
    Some(IpAddr::from(o))
}

/// The probe quoted after an ICMP error's 8-byte header, given the quoted transport bytes.
fn quoted_probe(proto: u8, transport: &[u8], echo_request: u8) -> Option<QuotedProbe> {
    match proto {
        p if (p == PROTO_ICMP4 && echo_request == ICMP4_ECHO_REQUEST)
            || (p == PROTO_ICMP6 && echo_request == ICMP6_ECHO_REQUEST) =>
        {
            (*transport.first()? == echo_request).then_some(QuotedProbe::Echo {
                ident: be16(transport, 4)?,
                seq: be16(transport, 6)?,
            })
        }
        PROTO_TCP => Some(QuotedProbe::Tcp {
            src_port: be16(transport, 0)?,
            dst_port: be16(transport, 2)?,
        }),
        _ => None,
    }
}

/// Parse what a raw IPv4 ICMP socket delivers: the IP header, then the ICMP message.
/// Returns the sender and what the message says.
pub fn parse_v4(packet: &[u8]) -> Option<(IpAddr, Quoted)> {
    let ihl = usize::from(*packet.first()? & 0x0f) * 4;
    let from = ipv4_at(packet, 12)?;
    let icmp = packet.get(ihl..)?;
    let (typ, code) = (*icmp.first()?, *icmp.get(1)?);
    let kind = match typ {
        ICMP4_ECHO_REPLY => {
            return Some((
                from,
                Quoted::EchoReply {
                    ident: be16(icmp, 4)?,
                    seq: be16(icmp, 6)?,
                },
            ));
        }
        ICMP4_TIME_EXCEEDED => ErrorKind::TimeExceeded,
        ICMP4_UNREACH => ErrorKind::Unreachable(code),
        _ => return None,
    };
    let inner = icmp.get(8..)?;
    let inner_ihl = usize::from(*inner.first()? & 0x0f) * 4;
    let proto = *inner.get(9)?;
    let dest = ipv4_at(inner, 16)?;
    let probe = quoted_probe(proto, inner.get(inner_ihl..)?, ICMP4_ECHO_REQUEST)?;
    Some((from, Quoted::Error { kind, dest, probe }))
}

/// Parse what a raw ICMPv6 socket delivers: the ICMPv6 message alone (the sender comes from
/// `recvfrom`). Quoted packets with extension headers are not followed.
pub fn parse_v6(from: IpAddr, icmp: &[u8]) -> Option<(IpAddr, Quoted)> {
    let (typ, code) = (*icmp.first()?, *icmp.get(1)?);
    let kind = match typ {
        ICMP6_ECHO_REPLY => {
            return Some((
                from,
                Quoted::EchoReply {
                    ident: be16(icmp, 4)?,
                    seq: be16(icmp, 6)?,
                },
            ));
        }
        ICMP6_TIME_EXCEEDED => ErrorKind::TimeExceeded,
        ICMP6_UNREACH => ErrorKind::Unreachable(code),
        _ => return None,
    };
    let inner = icmp.get(8..)?;
    let next_header = *inner.get(6)?;
    let dest = ipv6_at(inner, 24)?;
    let probe = quoted_probe(next_header, inner.get(40..)?, ICMP6_ECHO_REQUEST)?;
    Some((from, Quoted::Error { kind, dest, probe }))
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An echo request. The kernel fills in the ICMPv6 checksum (it covers a pseudo-header).
pub fn echo_request(v6: bool, ident: u16, seq: u16) -> Vec<u8> {
    let typ = if v6 {
        ICMP6_ECHO_REQUEST
    } else {
        ICMP4_ECHO_REQUEST
    };
    let mut p = vec![typ, 0, 0, 0];
    p.extend_from_slice(&ident.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(PAYLOAD);
    if !v6 {
        let c = checksum(&p);
        p[2..4].copy_from_slice(&c.to_be_bytes());
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// A time-exceeded from 10.62.0.2 quoting our echo request to 10.9.0.10 (captured layout).
    #[test]
    fn parses_a_time_exceeded_quoting_an_echo_request() {
        let mut inner_ip = vec![0x45, 0, 0, 44, 0, 0, 0x40, 0, 1, PROTO_ICMP4, 0, 0];
        inner_ip.extend_from_slice(&[10, 77, 0, 10, 10, 9, 0, 10]);
        let echo = echo_request(false, 0xbeef, 7);
        let mut icmp = vec![ICMP4_TIME_EXCEEDED, 0, 0, 0, 0, 0, 0, 0];
        icmp.extend_from_slice(&inner_ip);
        icmp.extend_from_slice(&echo[..8]);
        let mut outer = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, PROTO_ICMP4, 0, 0];
        outer.extend_from_slice(&[10, 62, 0, 2, 10, 77, 0, 10]);
        outer.extend_from_slice(&icmp);
        let (from, q) = parse_v4(&outer).unwrap();
        assert_eq!(from, ip("10.62.0.2"));
        assert_eq!(
            q,
            Quoted::Error {
                kind: ErrorKind::TimeExceeded,
                dest: ip("10.9.0.10"),
                probe: QuotedProbe::Echo {
                    ident: 0xbeef,
                    seq: 7
                }
            }
        );
        assert_eq!(
            checksum(&echo),
            0,
            "a packet with its checksum sums to zero"
        );
    }

    #[test]
    fn parses_a_v6_unreachable_quoting_a_tcp_syn() {
        let mut inner = vec![0x60, 0, 0, 0, 0, 20, PROTO_TCP, 1];
        inner.extend_from_slice(&ip_bytes("fd77::10"));
        inner.extend_from_slice(&ip_bytes("2001:db8::5"));
        inner.extend_from_slice(&[0xc3, 0x50, 0x01, 0xbb, 0, 0, 0, 1]);
        let mut icmp = vec![ICMP6_UNREACH, 1, 0, 0, 0, 0, 0, 0];
        icmp.extend_from_slice(&inner);
        let (from, q) = parse_v6(ip("fd77::1"), &icmp).unwrap();
        assert_eq!(from, ip("fd77::1"));
        assert_eq!(
            q,
            Quoted::Error {
                kind: ErrorKind::Unreachable(1),
                dest: ip("2001:db8::5"),
                probe: QuotedProbe::Tcp {
                    src_port: 50000,
                    dst_port: 443
                }
            }
        );
    }

    fn ip_bytes(s: &str) -> [u8; 16] {
        s.parse::<std::net::Ipv6Addr>().unwrap().octets()
    }

    #[test]
    fn truncated_packets_are_ignored() {
        assert_eq!(parse_v4(&[]), None);
        assert_eq!(parse_v4(&[0x45, 0, 0]), None);
        assert_eq!(parse_v6(ip("::1"), &[ICMP6_TIME_EXCEEDED, 0, 0]), None);
    }
}
