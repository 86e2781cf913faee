//! The probes of [`super::RawProber`] as bytes, and the proof that a reply answers one of them.
//! No I/O: everything here is a pure function of a [`Key`] and a buffer, so it is tested on
//! crafted packets.
//!
//! Nothing about a probe is remembered after sending. Instead each probe carries a stamp in a
//! field the peer must echo, `(keyed_hash(kind, peer ip, peer port, our port) & !0xff) | tag`:
//!
//! ```text
//!   SYN  seq = stamp(SynSeq)        SYN-ACK / RST+ACK   ack  = stamp + 1
//!   ACK  ack = stamp(AckAck)        RST                  seq  = stamp
//!        seq = stamp(AckSeq)        ICMP unreachable quotes our seq (SYN or ACK probe)
//!   ICMP timestamp  id, seq high byte, originate = stamps   reply echoes all three
//! ```
//!
//! The hash key is random per prober, so the 24 (TCP) or 56 (timestamp) checked bits cannot
//! be guessed by anyone who did not see the probe, and the low byte carries the caller's tag
//! (the engine's try number) back. TCP checksums of replies are not checked: on veth and with
//! checksum offload the kernel hands raw sockets packets whose checksum field is not final,
//! and a corrupted reply fails the stamp anyway.

use std::hash::{BuildHasher, RandomState};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use pnet::packet::icmp::{self, IcmpPacket, IcmpTypes, MutableIcmpPacket};
use pnet::packet::icmpv6::{Icmpv6Packet, Icmpv6Types};
use pnet::packet::ip::{IpNextHeaderProtocol, IpNextHeaderProtocols};
use pnet::packet::ipv4::Ipv4Packet;
use pnet::packet::ipv6::Ipv6Packet;
use pnet::packet::tcp::{self, MutableTcpPacket, TcpFlags, TcpOption, TcpPacket};

/// Longest TCP probe we build: a 20-byte header plus the 4-byte MSS option of a SYN.
pub const TCP_PROBE_MAX: usize = 24;
/// An ICMP timestamp request: 8-byte header, then originate, receive and transmit times.
pub const TIMESTAMP_LEN: usize = 20;
/// Window of our probes; nmap's value, small enough that no peer sends data after a SYN-ACK.
const WINDOW: u16 = 1024;
/// MSS announced in SYNs: a SYN without options stands out and a few stacks drop it.
const MSS: u16 = 1460;
const TAG_BITS: u32 = 0xff;

/// Which probe a reply answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Probe {
    /// TCP SYN ([`super::RawProber::send_syn`]).
    Syn,
    /// Bare TCP ACK ([`super::RawProber::send_ack`]): only ever answered by a RST.
    Ack,
    /// ICMP timestamp request ([`super::RawProber::send_timestamp`]).
    Timestamp,
}

/// What came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyKind {
    /// SYN-ACK to our SYN: the port is open (the kernel resets the half-open connection).
    SynAck,
    /// RST: to a SYN the port is closed; to an ACK the host is up (says nothing of the port).
    Rst,
    /// ICMP timestamp reply (type 14): the host is up.
    TimestampReply,
    /// ICMP destination unreachable quoting our probe: the port or host is filtered.
    /// `code` is the ICMPv4 type-3 code (13 = administratively prohibited) for IPv4 probes and
    /// the ICMPv6 type-1 code (1 = administratively prohibited) for IPv6 ones; `from` is who
    /// sent the error (the host itself or a router or firewall on the way).
    Unreachable { code: u8, from: IpAddr },
}

/// A reply proven to answer one of our probes (everything but its arrival time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Matched {
    /// The probed address (for an ICMP error: the address quoted in it, not its sender).
    pub ip: IpAddr,
    /// The probed port; 0 for ICMP timestamp probes.
    pub port: u16,
    pub kind: ReplyKind,
    pub probe: Probe,
    pub tag: u8,
}

/// The field a stamp lives in; separate domains keep a SYN stamp from passing as an ACK one.
#[derive(Debug, Clone, Copy, Hash)]
enum Field {
    SynSeq,
    AckSeq,
    AckAck,
    TimestampIdent,
    TimestampOrigin,
}

/// The secret behind the stamps, and the source port every probe uses.
pub struct Key {
    secret: RandomState,
    sport: u16,
}

impl Key {
    /// A fresh random key for probes sent from `sport`.
    pub fn new(sport: u16) -> Key {
        Key {
            secret: RandomState::new(),
            sport,
        }
    }

    pub fn sport(&self) -> u16 {
        self.sport
    }

    /// The tag is hashed too, so a reply off by one (ack = ISN instead of ISN + 1) does not
    /// pass as the answer to the neighbouring tag.
    fn hash(&self, field: Field, ip: IpAddr, port: u16, tag: u8) -> u32 {
        // The high half: SipHash mixes all bits, any 32 of them will do.
        (self.secret.hash_one((field, ip, port, self.sport, tag)) >> 32) as u32
    }

    fn stamp(&self, field: Field, ip: IpAddr, port: u16, tag: u8) -> u32 {
        (self.hash(field, ip, port, tag) & !TAG_BITS) | u32::from(tag)
    }

    /// The tag inside `value` if its other bits are our stamp for (field, ip, port).
    fn check(&self, field: Field, ip: IpAddr, port: u16, value: u32) -> Option<u8> {
        let tag = value as u8;
        (value == self.stamp(field, ip, port, tag)).then_some(tag)
    }

    /// Identifier, sequence and originate time of a timestamp request to `dst`.
    fn timestamp_fields(&self, dst: Ipv4Addr, tag: u8) -> (u16, u16, u32) {
        let ip = IpAddr::V4(dst);
        let ident = self.hash(Field::TimestampIdent, ip, 0, tag);
        let seq = (ident & 0xff00) as u16 | u16::from(tag);
        let origin = self.hash(Field::TimestampOrigin, ip, 0, tag);
        ((ident >> 16) as u16, seq, origin)
    }

    /// The tag of a timestamp exchange with `peer` if (ident, seq, origin) are ours.
    fn check_timestamp(&self, peer: Ipv4Addr, ident: u16, seq: u16, origin: u32) -> Option<u8> {
        let tag = seq as u8;
        (self.timestamp_fields(peer, tag) == (ident, seq, origin)).then_some(tag)
    }
}

/// Writes the SYN or ACK probe from `src` to `dst` into `buf` and returns its length.
/// `src` must be the address the kernel will send from (it is in the checksum) and of the same
/// family as `dst`; `probe` must be [`Probe::Syn`] or [`Probe::Ack`].
pub fn build_tcp(
    buf: &mut [u8; TCP_PROBE_MAX],
    key: &Key,
    src: IpAddr,
    dst: SocketAddr,
    probe: Probe,
    tag: u8,
) -> usize {
    let (ip, port) = (dst.ip(), dst.port());
    let (len, seq, ack, flags) = match probe {
        Probe::Ack => (
            20,
            key.stamp(Field::AckSeq, ip, port, tag),
            key.stamp(Field::AckAck, ip, port, tag),
            TcpFlags::ACK,
        ),
        Probe::Syn | Probe::Timestamp => (
            24,
            key.stamp(Field::SynSeq, ip, port, tag),
            0,
            TcpFlags::SYN,
        ),
    };
    buf.fill(0);
    let Some(mut tcp) = MutableTcpPacket::new(&mut buf[..len]) else {
        return 0; // unreachable: both lengths hold a header
    };
    tcp.set_source(key.sport);
    tcp.set_destination(port);
    tcp.set_sequence(seq);
    tcp.set_acknowledgement(ack);
    tcp.set_data_offset((len / 4) as u8);
    tcp.set_flags(flags);
    tcp.set_window(WINDOW);
    if len == 24 {
        tcp.set_options(&[TcpOption::mss(MSS)]);
    }
    let sum = match (src, ip) {
        (IpAddr::V4(s), IpAddr::V4(d)) => tcp::ipv4_checksum(&tcp.to_immutable(), &s, &d),
        (IpAddr::V6(s), IpAddr::V6(d)) => tcp::ipv6_checksum(&tcp.to_immutable(), &s, &d),
        _ => 0,
    };
    tcp.set_checksum(sum);
    len
}

/// An IPv4 header and the longest TCP probe: what an IPPROTO_RAW socket sends.
pub const IPV4_TCP_PROBE_MAX: usize = IPV4_HEADER + TCP_PROBE_MAX;
const IPV4_HEADER: usize = 20;
/// The TTL of probes sent with our own IPv4 header (Linux's default).
const TTL: u8 = 64;

/// Writes the SYN or ACK probe from `src` to `dst` with its IPv4 header into `buf` and
/// returns its length: the packet an IPPROTO_RAW socket sends as it is. The kernel fills in
/// the identification (left 0) and the header checksum.
pub fn build_ipv4_tcp(
    buf: &mut [u8; IPV4_TCP_PROBE_MAX],
    key: &Key,
    src: Ipv4Addr,
    dst: SocketAddr,
    probe: Probe,
    tag: u8,
) -> usize {
    let (header, segment) = buf.split_at_mut(IPV4_HEADER);
    let Ok(segment) = <&mut [u8; TCP_PROBE_MAX]>::try_from(segment) else {
        return 0; // unreachable: the split leaves exactly a TCP probe's room
    };
    let len = build_tcp(segment, key, IpAddr::V4(src), dst, probe, tag);
    let IpAddr::V4(to) = dst.ip() else {
        return 0;
    };
    let total = (IPV4_HEADER + len) as u16;
    header.fill(0);
    header[0] = 0x45; // version 4, five 32-bit words of header
    header[2..4].copy_from_slice(&total.to_be_bytes());
    header[8] = TTL;
    header[9] = IpNextHeaderProtocols::Tcp.0;
    header[12..16].copy_from_slice(&src.octets());
    header[16..20].copy_from_slice(&to.octets());
    usize::from(total)
}

/// Writes an ICMP timestamp request (type 13) to `dst` into `buf`.
pub fn build_timestamp(buf: &mut [u8; TIMESTAMP_LEN], key: &Key, dst: Ipv4Addr, tag: u8) {
    let (ident, seq, origin) = key.timestamp_fields(dst, tag);
    buf.fill(0);
    buf[4..6].copy_from_slice(&ident.to_be_bytes());
    buf[6..8].copy_from_slice(&seq.to_be_bytes());
    buf[8..12].copy_from_slice(&origin.to_be_bytes());
    if let Some(mut pkt) = MutableIcmpPacket::new(&mut buf[..]) {
        pkt.set_icmp_type(IcmpTypes::Timestamp);
        let sum = icmp::checksum(&pkt.to_immutable());
        pkt.set_checksum(sum);
    }
}

/// A whole IPv4 packet as a raw IPv4 socket delivers it (header included).
pub fn parse_ipv4(key: &Key, packet: &[u8]) -> Option<Matched> {
    let (src, proto, payload) = ipv4_parts(packet)?;
    match proto {
        IpNextHeaderProtocols::Tcp => parse_tcp(key, IpAddr::V4(src), payload),
        IpNextHeaderProtocols::Icmp => parse_icmpv4(key, src, payload),
        _ => None,
    }
}

/// Source, protocol and payload of an unfragmented (or first-fragment) IPv4 packet; the
/// payload is cut at the header's total length, or at the buffer's end for quoted packets.
fn ipv4_parts(packet: &[u8]) -> Option<(Ipv4Addr, IpNextHeaderProtocol, &[u8])> {
    let ip = Ipv4Packet::new(packet)?;
    let header = usize::from(ip.get_header_length()) * 4;
    // A header longer than the packet would make the clamp below panic (found by fuzzing).
    if ip.get_version() != 4
        || header < 20
        || header > packet.len()
        || ip.get_fragment_offset() != 0
    {
        return None;
    }
    let end = usize::from(ip.get_total_length()).clamp(header, packet.len());
    let payload = packet.get(header..end)?;
    Some((ip.get_source(), ip.get_next_level_protocol(), payload))
}

/// A TCP segment from `peer` (an IPv6 raw socket delivers the segment without the IP header).
pub fn parse_tcp(key: &Key, peer: IpAddr, segment: &[u8]) -> Option<Matched> {
    let tcp = TcpPacket::new(segment)?;
    if tcp.get_destination() != key.sport {
        return None; // someone else's traffic: connect() scans, ssh, ...
    }
    let port = tcp.get_source();
    let flags = tcp.get_flags();
    let answers_syn = || {
        key.check(
            Field::SynSeq,
            peer,
            port,
            tcp.get_acknowledgement().wrapping_sub(1),
        )
    };
    let (kind, probe, tag) = if flags & TcpFlags::RST != 0 {
        // RFC 9293 3.10.7.1: a RST to a segment with ACK takes its seq from that ACK; a RST
        // to a SYN carries ACK = seq + 1.
        let to_syn = (flags & TcpFlags::ACK != 0).then(answers_syn).flatten();
        match to_syn {
            Some(tag) => (ReplyKind::Rst, Probe::Syn, tag),
            None => {
                let tag = key.check(Field::AckAck, peer, port, tcp.get_sequence())?;
                (ReplyKind::Rst, Probe::Ack, tag)
            }
        }
    } else if flags & (TcpFlags::SYN | TcpFlags::ACK) == TcpFlags::SYN | TcpFlags::ACK {
        (ReplyKind::SynAck, Probe::Syn, answers_syn()?)
    } else {
        return None;
    };
    Some(Matched {
        ip: peer,
        port,
        kind,
        probe,
        tag,
    })
}

/// An ICMPv4 message from `from`: a timestamp reply, or an unreachable error quoting a probe.
pub fn parse_icmpv4(key: &Key, from: Ipv4Addr, message: &[u8]) -> Option<Matched> {
    let icmp = IcmpPacket::new(message)?;
    let code = icmp.get_icmp_code().0;
    match icmp.get_icmp_type() {
        IcmpTypes::TimestampReply if message.len() >= TIMESTAMP_LEN => {
            let (ident, seq, origin) = timestamp_fields_of(message)?;
            let tag = key.check_timestamp(from, ident, seq, origin)?;
            Some(Matched {
                ip: IpAddr::V4(from),
                port: 0,
                kind: ReplyKind::TimestampReply,
                probe: Probe::Timestamp,
                tag,
            })
        }
        IcmpTypes::DestinationUnreachable => {
            let (_, proto, quoted) = ipv4_parts(message.get(8..)?)?;
            let dst = quoted_ipv4_destination(message.get(8..)?)?;
            let kind = ReplyKind::Unreachable {
                code,
                from: IpAddr::V4(from),
            };
            match proto {
                IpNextHeaderProtocols::Tcp => quoted_tcp(key, IpAddr::V4(dst), quoted, kind),
                IpNextHeaderProtocols::Icmp => {
                    // Our timestamp request, quoted: type 13, then ident and seq (8 bytes).
                    if quoted.first() != Some(&IcmpTypes::Timestamp.0) {
                        return None;
                    }
                    let ident = u16::from_be_bytes([*quoted.get(4)?, *quoted.get(5)?]);
                    let seq = u16::from_be_bytes([*quoted.get(6)?, *quoted.get(7)?]);
                    let tag = seq as u8;
                    let (want_ident, want_seq, _) = key.timestamp_fields(dst, tag);
                    ((ident, seq) == (want_ident, want_seq)).then_some(Matched {
                        ip: IpAddr::V4(dst),
                        port: 0,
                        kind,
                        probe: Probe::Timestamp,
                        tag,
                    })
                }
                _ => None,
            }
        }
        _ => None,
    }
}

fn quoted_ipv4_destination(quoted: &[u8]) -> Option<Ipv4Addr> {
    Some(Ipv4Packet::new(quoted)?.get_destination())
}

fn timestamp_fields_of(message: &[u8]) -> Option<(u16, u16, u32)> {
    let b = message.get(4..12)?;
    Some((
        u16::from_be_bytes([b[0], b[1]]),
        u16::from_be_bytes([b[2], b[3]]),
        u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
    ))
}

/// An ICMPv6 message from `from`: a destination unreachable quoting one of our TCP probes.
/// Extension headers in the quoted packet are not followed (we send none).
pub fn parse_icmpv6(key: &Key, from: Ipv6Addr, message: &[u8]) -> Option<Matched> {
    let icmp = Icmpv6Packet::new(message)?;
    if icmp.get_icmpv6_type() != Icmpv6Types::DestinationUnreachable {
        return None;
    }
    let quoted = message.get(8..)?;
    let ip = Ipv6Packet::new(quoted)?;
    if ip.get_version() != 6 || ip.get_next_header() != IpNextHeaderProtocols::Tcp {
        return None;
    }
    let kind = ReplyKind::Unreachable {
        code: icmp.get_icmpv6_code().0,
        from: IpAddr::V6(from),
    };
    quoted_tcp(
        key,
        IpAddr::V6(ip.get_destination()),
        quoted.get(40..)?,
        kind,
    )
}

/// The first 8 bytes of a TCP probe quoted in an ICMP error: ports and our sequence number.
fn quoted_tcp(key: &Key, dst: IpAddr, tcp: &[u8], kind: ReplyKind) -> Option<Matched> {
    let b = tcp.get(..8)?;
    let sport = u16::from_be_bytes([b[0], b[1]]);
    let port = u16::from_be_bytes([b[2], b[3]]);
    let seq = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
    if sport != key.sport {
        return None;
    }
    let (probe, tag) = match key.check(Field::SynSeq, dst, port, seq) {
        Some(tag) => (Probe::Syn, tag),
        None => (Probe::Ack, key.check(Field::AckSeq, dst, port, seq)?),
    };
    Some(Matched {
        ip: dst,
        port,
        kind,
        probe,
        tag,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pnet::packet::icmp::IcmpCode;
    use pnet::packet::icmpv6::{Icmpv6Code, MutableIcmpv6Packet};
    use pnet::packet::ipv4::{self, MutableIpv4Packet};
    use pnet::packet::ipv6::MutableIpv6Packet;

    const US: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 10);
    const WEB: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 20);
    const US6: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 0x10);
    const WEB6: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 0x20);
    const SPORT: u16 = 40_123;

    fn ones_complement_sum(data: &[u8]) -> u16 {
        let mut sum: u32 = data
            .chunks(2)
            .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
            .sum();
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        sum as u16
    }

    fn key() -> Key {
        Key::new(SPORT)
    }

    fn web(port: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(WEB), port)
    }

    /// Our probe as the kernel would send it: (seq, ack) of the built packet.
    fn probe(key: &Key, dst: SocketAddr, probe: Probe, tag: u8) -> (Vec<u8>, u32, u32) {
        let src = match dst {
            SocketAddr::V4(_) => IpAddr::V4(US),
            SocketAddr::V6(_) => IpAddr::V6(US6),
        };
        let mut buf = [0; TCP_PROBE_MAX];
        let n = build_tcp(&mut buf, key, src, dst, probe, tag);
        let tcp = TcpPacket::new(&buf[..n]).expect("tcp");
        (
            buf[..n].to_vec(),
            tcp.get_sequence(),
            tcp.get_acknowledgement(),
        )
    }

    /// A TCP segment from `from_port` to `to_port`.
    fn segment(from_port: u16, to_port: u16, flags: u8, seq: u32, ack: u32) -> Vec<u8> {
        let mut buf = vec![0u8; 20];
        let mut tcp = MutableTcpPacket::new(&mut buf).expect("tcp");
        tcp.set_source(from_port);
        tcp.set_destination(to_port);
        tcp.set_sequence(seq);
        tcp.set_acknowledgement(ack);
        tcp.set_data_offset(5);
        tcp.set_flags(flags);
        buf
    }

    /// `payload` inside an IPv4 header from `src` to `dst`.
    fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, proto: IpNextHeaderProtocol, payload: &[u8]) -> Vec<u8> {
        let mut buf = vec![0u8; 20 + payload.len()];
        let mut ip = MutableIpv4Packet::new(&mut buf).expect("ip");
        ip.set_version(4);
        ip.set_header_length(5);
        ip.set_total_length((20 + payload.len()) as u16);
        ip.set_ttl(64);
        ip.set_next_level_protocol(proto);
        ip.set_source(src);
        ip.set_destination(dst);
        ip.set_payload(payload);
        let sum = ipv4::checksum(&ip.to_immutable());
        ip.set_checksum(sum);
        buf
    }

    fn tcp_from_web(seg: &[u8]) -> Vec<u8> {
        ipv4(WEB, US, IpNextHeaderProtocols::Tcp, seg)
    }

    #[test]
    fn syn_is_well_formed_with_valid_checksum() {
        let k = key();
        let (bytes, seq, ack) = probe(&k, web(443), Probe::Syn, 7);
        assert_eq!(bytes.len(), 24);
        let tcp = TcpPacket::new(&bytes).expect("tcp");
        assert_eq!(tcp.get_source(), SPORT);
        assert_eq!(tcp.get_destination(), 443);
        assert_eq!(tcp.get_flags(), TcpFlags::SYN);
        assert_eq!(tcp.get_data_offset(), 6);
        assert_eq!(ack, 0);
        assert_eq!(seq & 0xff, 7, "the tag is the low byte of the ISN");
        assert_eq!(&bytes[20..24], &[2, 4, 0x05, 0xb4], "MSS 1460 option");
        assert_eq!(tcp.get_checksum(), tcp::ipv4_checksum(&tcp, &US, &WEB));
        // Checked the way a receiver does, independently of pnet (RFC 1071): the sum over the
        // pseudo-header and the segment, checksum included, folds to 0xffff.
        let mut pseudo = Vec::new();
        pseudo.extend_from_slice(&US.octets());
        pseudo.extend_from_slice(&WEB.octets());
        pseudo.extend_from_slice(&[0, 6, 0, bytes.len() as u8]);
        pseudo.extend_from_slice(&bytes);
        assert_eq!(ones_complement_sum(&pseudo), 0xffff);
    }

    #[test]
    fn ipv4_syn_for_a_header_included_socket_carries_the_same_segment() {
        let k = key();
        let mut buf = [0; IPV4_TCP_PROBE_MAX];
        let n = build_ipv4_tcp(&mut buf, &k, US, web(443), Probe::Syn, 7);
        assert_eq!(n, 44);
        let ip = Ipv4Packet::new(&buf[..n]).expect("ip");
        assert_eq!((ip.get_version(), ip.get_header_length()), (4, 5));
        assert_eq!(ip.get_total_length(), 44);
        assert_eq!(ip.get_ttl(), 64);
        assert_eq!(ip.get_next_level_protocol(), IpNextHeaderProtocols::Tcp);
        assert_eq!((ip.get_source(), ip.get_destination()), (US, WEB));
        let (segment, _, _) = probe(&k, web(443), Probe::Syn, 7);
        assert_eq!(
            &buf[20..n],
            &segment[..],
            "the segment build_tcp makes, checksum included"
        );
        let (src, proto, payload) = ipv4_parts(&buf[..n]).expect("parses as IPv4");
        assert_eq!(
            (src, proto, payload.len()),
            (US, IpNextHeaderProtocols::Tcp, 24)
        );

        let n = build_ipv4_tcp(&mut buf, &k, US, web(80), Probe::Ack, 0);
        assert_eq!(n, 40, "an ACK probe has no MSS option");
        assert_eq!(
            Ipv4Packet::new(&buf[..n]).expect("ip").get_total_length(),
            40
        );
    }

    #[test]
    fn ipv6_syn_checksum_uses_the_ipv6_pseudo_header() {
        let k = key();
        let dst = SocketAddr::new(IpAddr::V6(WEB6), 22);
        let (bytes, _, _) = probe(&k, dst, Probe::Syn, 1);
        let tcp = TcpPacket::new(&bytes).expect("tcp");
        assert_eq!(tcp.get_checksum(), tcp::ipv6_checksum(&tcp, &US6, &WEB6));
        assert_ne!(
            tcp.get_checksum(),
            tcp::ipv4_checksum(&tcp, &US, &WEB),
            "families must not share a checksum"
        );
    }

    #[test]
    fn ack_probe_carries_stamps_in_seq_and_ack() {
        let k = key();
        let (bytes, seq, ack) = probe(&k, web(80), Probe::Ack, 200);
        let tcp = TcpPacket::new(&bytes).expect("tcp");
        assert_eq!(bytes.len(), 20);
        assert_eq!(tcp.get_flags(), TcpFlags::ACK);
        assert_eq!(ack & 0xff, 200);
        assert_eq!(seq & 0xff, 200);
        assert_ne!(seq, ack, "seq and ack come from different domains");
        assert_eq!(tcp.get_checksum(), tcp::ipv4_checksum(&tcp, &US, &WEB));
    }

    #[test]
    fn stamps_differ_per_port_address_and_key() {
        let k = key();
        let (_, a, _) = probe(&k, web(22), Probe::Syn, 0);
        let (_, b, _) = probe(&k, web(23), Probe::Syn, 0);
        let (_, c, _) = probe(&k, SocketAddr::new(IpAddr::V4(US), 22), Probe::Syn, 0);
        let (_, d, _) = probe(&key(), web(22), Probe::Syn, 0);
        assert!(a != b && a != c && a != d, "{a:x} {b:x} {c:x} {d:x}");
        let (_, again, _) = probe(&k, web(22), Probe::Syn, 0);
        assert_eq!(a, again, "a stamp is a function of its inputs");
    }

    #[test]
    fn syn_ack_and_rst_to_our_syn_are_matched_with_their_tag() {
        let k = key();
        for tag in [0u8, 1, 254, 255] {
            let (_, isn, _) = probe(&k, web(22), Probe::Syn, tag);
            let synack = segment(
                22,
                SPORT,
                TcpFlags::SYN | TcpFlags::ACK,
                999,
                isn.wrapping_add(1),
            );
            let m = parse_ipv4(&k, &tcp_from_web(&synack)).expect("syn-ack matches");
            assert_eq!(
                m,
                Matched {
                    ip: IpAddr::V4(WEB),
                    port: 22,
                    kind: ReplyKind::SynAck,
                    probe: Probe::Syn,
                    tag
                }
            );
            let rst = segment(
                22,
                SPORT,
                TcpFlags::RST | TcpFlags::ACK,
                0,
                isn.wrapping_add(1),
            );
            let m = parse_ipv4(&k, &tcp_from_web(&rst)).expect("rst matches");
            assert_eq!((m.kind, m.probe, m.tag), (ReplyKind::Rst, Probe::Syn, tag));
        }
    }

    #[test]
    fn rst_to_our_ack_probe_is_matched_by_its_seq() {
        let k = key();
        let (_, _, ack) = probe(&k, web(80), Probe::Ack, 3);
        let rst = segment(80, SPORT, TcpFlags::RST, ack, 0);
        let m = parse_ipv4(&k, &tcp_from_web(&rst)).expect("rst matches");
        assert_eq!(
            (m.port, m.kind, m.probe, m.tag),
            (80, ReplyKind::Rst, Probe::Ack, 3)
        );
    }

    #[test]
    fn replies_that_do_not_prove_our_probe_are_dropped() {
        let k = key();
        let (_, isn, _) = probe(&k, web(22), Probe::Syn, 5);
        let good = isn.wrapping_add(1);
        let synack = TcpFlags::SYN | TcpFlags::ACK;
        let cases: [(&str, Vec<u8>); 8] = [
            (
                "wrong ack",
                tcp_from_web(&segment(22, SPORT, synack, 1, good ^ 0x100)),
            ),
            (
                "ack = ISN, not ISN+1",
                tcp_from_web(&segment(22, SPORT, synack, 1, isn)),
            ),
            (
                "wrong remote port",
                tcp_from_web(&segment(23, SPORT, synack, 1, good)),
            ),
            (
                "not to our port",
                tcp_from_web(&segment(22, SPORT + 1, synack, 1, good)),
            ),
            (
                "wrong source address",
                ipv4(
                    Ipv4Addr::new(10, 77, 0, 21),
                    US,
                    IpNextHeaderProtocols::Tcp,
                    &segment(22, SPORT, synack, 1, good),
                ),
            ),
            (
                "plain ACK",
                tcp_from_web(&segment(22, SPORT, TcpFlags::ACK, 1, good)),
            ),
            (
                "RST without ACK to a SYN",
                tcp_from_web(&segment(22, SPORT, TcpFlags::RST, good, 0)),
            ),
            ("another key", {
                let (_, other, _) = probe(&key(), web(22), Probe::Syn, 5);
                tcp_from_web(&segment(22, SPORT, synack, 1, other.wrapping_add(1)))
            }),
        ];
        for (what, packet) in cases {
            assert_eq!(parse_ipv4(&k, &packet), None, "{what} was accepted");
        }
        // Truncated and malformed buffers.
        let full = tcp_from_web(&segment(22, SPORT, synack, 1, good));
        assert!(parse_ipv4(&k, &full).is_some());
        for n in 0..full.len() {
            assert_eq!(parse_ipv4(&k, &full[..n]), None, "accepted {n} bytes");
        }
        let mut bad_version = full.clone();
        bad_version[0] = 0x65;
        assert_eq!(parse_ipv4(&k, &bad_version), None);
        let mut fragment = full;
        fragment[7] = 8; // fragment offset 8 units: no TCP header here
        assert_eq!(parse_ipv4(&k, &fragment), None);
    }

    #[test]
    fn ipv6_segment_is_matched_against_its_sender() {
        let k = key();
        let dst = SocketAddr::new(IpAddr::V6(WEB6), 21);
        let (_, isn, _) = probe(&k, dst, Probe::Syn, 9);
        let rst = segment(
            21,
            SPORT,
            TcpFlags::RST | TcpFlags::ACK,
            0,
            isn.wrapping_add(1),
        );
        let m = parse_tcp(&k, IpAddr::V6(WEB6), &rst).expect("matches");
        assert_eq!((m.ip, m.kind, m.tag), (IpAddr::V6(WEB6), ReplyKind::Rst, 9));
        assert_eq!(parse_tcp(&k, IpAddr::V6(US6), &rst), None, "wrong sender");
    }

    fn timestamp_reply(request: &[u8; TIMESTAMP_LEN]) -> Vec<u8> {
        let mut reply = request.to_vec();
        reply[12..16].copy_from_slice(&1234u32.to_be_bytes());
        reply[16..20].copy_from_slice(&1235u32.to_be_bytes());
        let mut pkt = MutableIcmpPacket::new(&mut reply).expect("icmp");
        pkt.set_icmp_type(IcmpTypes::TimestampReply);
        pkt.set_checksum(0);
        let sum = icmp::checksum(&pkt.to_immutable());
        pkt.set_checksum(sum);
        reply
    }

    #[test]
    fn timestamp_request_and_reply() {
        let k = key();
        let mut req = [0u8; TIMESTAMP_LEN];
        build_timestamp(&mut req, &k, WEB, 42);
        let pkt = IcmpPacket::new(&req).expect("icmp");
        assert_eq!(pkt.get_icmp_type(), IcmpTypes::Timestamp);
        assert_eq!(pkt.get_icmp_code(), IcmpCode(0));
        assert_eq!(pkt.get_checksum(), {
            let mut copy = req;
            copy[2] = 0;
            copy[3] = 0;
            icmp::checksum(&IcmpPacket::new(&copy).expect("icmp"))
        });
        assert_eq!(req[7], 42, "tag in the low byte of the sequence");

        let reply = timestamp_reply(&req);
        let m = parse_ipv4(&k, &ipv4(WEB, US, IpNextHeaderProtocols::Icmp, &reply))
            .expect("reply matches");
        assert_eq!(
            m,
            Matched {
                ip: IpAddr::V4(WEB),
                port: 0,
                kind: ReplyKind::TimestampReply,
                probe: Probe::Timestamp,
                tag: 42
            }
        );
        // From another host, with a changed identifier or originate time: not ours.
        let other = Ipv4Addr::new(10, 77, 0, 21);
        assert_eq!(parse_icmpv4(&k, other, &reply), None);
        for byte in [4usize, 6, 8, 11] {
            let mut forged = reply.clone();
            forged[byte] ^= 0x01;
            assert_eq!(parse_icmpv4(&k, WEB, &forged), None, "byte {byte} changed");
        }
        assert_eq!(parse_icmpv4(&k, WEB, &reply[..19]), None, "truncated");
        // Our own request looped back is no reply.
        assert_eq!(parse_icmpv4(&k, WEB, &req), None);
    }

    /// An ICMPv4 destination unreachable from `from` quoting `original` (IP header + 8 bytes).
    fn unreachable(from: Ipv4Addr, code: u8, original: &[u8]) -> Vec<u8> {
        let quote = &original[..original.len().min(28)];
        let mut msg = vec![0u8; 8 + quote.len()];
        msg[0] = IcmpTypes::DestinationUnreachable.0;
        msg[1] = code;
        msg[8..].copy_from_slice(quote);
        ipv4(from, US, IpNextHeaderProtocols::Icmp, &msg)
    }

    #[test]
    fn unreachable_quoting_our_probe_is_matched_to_the_probed_host() {
        let k = key();
        let gw = Ipv4Addr::new(10, 77, 0, 1);
        let (syn, _, _) = probe(&k, web(3306), Probe::Syn, 2);
        let sent = ipv4(US, WEB, IpNextHeaderProtocols::Tcp, &syn);
        let m = parse_ipv4(&k, &unreachable(gw, 13, &sent)).expect("matches");
        assert_eq!(
            m,
            Matched {
                ip: IpAddr::V4(WEB),
                port: 3306,
                kind: ReplyKind::Unreachable {
                    code: 13,
                    from: IpAddr::V4(gw)
                },
                probe: Probe::Syn,
                tag: 2
            }
        );
        let (ack, _, _) = probe(&k, web(80), Probe::Ack, 4);
        let sent = ipv4(US, WEB, IpNextHeaderProtocols::Tcp, &ack);
        let m = parse_ipv4(&k, &unreachable(WEB, 10, &sent)).expect("matches");
        assert_eq!((m.port, m.probe, m.tag), (80, Probe::Ack, 4));

        let mut ts = [0u8; TIMESTAMP_LEN];
        build_timestamp(&mut ts, &k, WEB, 6);
        let sent = ipv4(US, WEB, IpNextHeaderProtocols::Icmp, &ts);
        let m = parse_ipv4(&k, &unreachable(gw, 13, &sent)).expect("matches");
        assert_eq!(
            (m.ip, m.port, m.probe, m.tag),
            (IpAddr::V4(WEB), 0, Probe::Timestamp, 6)
        );

        // Quoting someone else's segment (other source port, other seq, other destination).
        let foreign = ipv4(
            US,
            WEB,
            IpNextHeaderProtocols::Tcp,
            &segment(SPORT + 1, 3306, TcpFlags::SYN, 5, 0),
        );
        assert_eq!(parse_ipv4(&k, &unreachable(gw, 13, &foreign)), None);
        let (syn, _, _) = probe(&k, web(3306), Probe::Syn, 2);
        let moved = ipv4(
            US,
            Ipv4Addr::new(10, 77, 0, 21),
            IpNextHeaderProtocols::Tcp,
            &syn,
        );
        assert_eq!(
            parse_ipv4(&k, &unreachable(gw, 13, &moved)),
            None,
            "other destination"
        );
        let short = unreachable(gw, 13, &sent[..24]);
        assert_eq!(parse_ipv4(&k, &short), None, "quote too short");
    }

    #[test]
    fn icmpv6_unreachable_quoting_our_probe() {
        let k = key();
        let dst = SocketAddr::new(IpAddr::V6(WEB6), 3306);
        let (syn, _, _) = probe(&k, dst, Probe::Syn, 11);
        let mut quoted = vec![0u8; 40 + syn.len()];
        {
            let mut ip = MutableIpv6Packet::new(&mut quoted).expect("ipv6");
            ip.set_version(6);
            ip.set_payload_length(syn.len() as u16);
            ip.set_next_header(IpNextHeaderProtocols::Tcp);
            ip.set_hop_limit(64);
            ip.set_source(US6);
            ip.set_destination(WEB6);
            ip.set_payload(&syn);
        }
        let mut msg = vec![0u8; 8 + quoted.len()];
        {
            let mut icmp = MutableIcmpv6Packet::new(&mut msg).expect("icmpv6");
            icmp.set_icmpv6_type(Icmpv6Types::DestinationUnreachable);
            icmp.set_icmpv6_code(Icmpv6Code(1));
        }
        msg[8..].copy_from_slice(&quoted);
        let m = parse_icmpv6(&k, WEB6, &msg).expect("matches");
        assert_eq!(m.ip, IpAddr::V6(WEB6));
        assert_eq!((m.port, m.probe, m.tag), (3306, Probe::Syn, 11));
        assert_eq!(
            m.kind,
            ReplyKind::Unreachable {
                code: 1,
                from: IpAddr::V6(WEB6)
            }
        );

        let mut echo = msg.clone();
        echo[0] = Icmpv6Types::EchoReply.0;
        assert_eq!(parse_icmpv6(&k, WEB6, &echo), None, "not an error");
        let mut other_port = msg.clone();
        other_port[48 + 3] ^= 1; // quoted destination port
        assert_eq!(parse_icmpv6(&k, WEB6, &other_port), None);
        assert_eq!(
            parse_icmpv6(&k, WEB6, &msg[..8 + 40 + 7]),
            None,
            "quote too short"
        );
    }

    /// The `raw_reply` fuzz target's input (fuzz/corpus/raw_reply/crash-bd0537cb...): an
    /// IPv4 header length of 28 bytes in a 26-byte packet panicked in `clamp`.
    #[test]
    fn a_header_longer_than_the_packet_is_dropped() {
        let packet = [
            0x47, 0, 0, 0x38, 0x12, 0x34, 0, 0, 0x40, 0x01, 0x43, 0xed, 0x27, 0, 0, 0x4d, 0, 0, 0,
            0x0a, 0x03, 0x17, 0x74, 0x3f, 0, 0,
        ];
        assert_eq!(parse_ipv4(&Key::new(SPORT), &packet), None);
        // Version 4 with the longest header (60 bytes), one byte short.
        let mut longest = [0u8; 59];
        longest[0] = 0x4f;
        assert_eq!(parse_ipv4(&Key::new(SPORT), &longest), None);
    }
}
