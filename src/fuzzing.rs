//! Entry points for the fuzz targets in `fuzz/` (cargo-fuzz): every parser of bytes that come
//! from the network, the user or a saved file, each behind one `fn(&[u8])`.
//!
//! Compiled only with the `fuzzing` feature (which `fuzz/Cargo.toml` turns on) and in unit
//! tests, so the real API does not grow: the parsers stay `pub(crate)` where they were private,
//! and only these wrappers are public. Each wrapper feeds the input to the parser the way the
//! program does (same checks, same follow-up calls on the result) and throws the result away:
//! a target fails only by panicking, overflowing, looping or exhausting memory.
//!
//! Where a parser wants a value that the program knows beforehand (a query id, a DHCP xid),
//! the wrapper reads it from the input itself, so that the fuzzer reaches the code behind the
//! check instead of stopping at it. The unit test at the bottom replays the committed corpus
//! (`fuzz/corpus/<target>/`) through every wrapper on stable Rust, without cargo-fuzz.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

/// The SNMP request id the seeds use (the program draws one at random per request).
pub const SNMP_REQUEST_ID: i32 = 0x4e44_5801;
/// The token the NDP seeds carry (the program draws one at random per sweep).
pub const NDP_TOKEN: [u8; 8] = *b"netdx-nd";
/// The MAC an ARP reply must be addressed to (ours, in the program).
pub const ARP_OUR_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0a];
/// The source port of the raw prober (fixed per run in the program).
pub const RAW_SPORT: u16 = 40_123;

/// A fuzz target's entry point.
pub type Entry = fn(&[u8]);

/// Every target: its name (the directory of its corpus, the file in `fuzz/fuzz_targets/`)
/// and its entry point.
pub const TARGETS: &[(&str, Entry)] = &[
    ("target_spec", target_spec),
    ("ports", ports),
    ("config", config),
    ("serve_config", serve_config),
    ("report_json", report_json),
    ("raw_reply", raw_reply),
    ("icmp_quote", icmp_quote),
    ("arp", arp),
    ("dns_answer", dns_answer),
    ("banner", banner),
    ("http_head", http_head),
    ("tls_cert", tls_cert),
    ("mdns", mdns),
    ("netbios", netbios),
    ("ssdp", ssdp),
    ("snmp", snmp),
    ("dhcp", dhcp),
    ("ra", ra),
    ("lldp", lldp),
];

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

fn be16(data: &[u8], at: usize) -> u16 {
    match data.get(at..at + 2) {
        Some(b) => u16::from_be_bytes([b[0], b[1]]),
        None => 0,
    }
}

fn be32(data: &[u8], at: usize) -> u32 {
    match data.get(at..at + 4) {
        Some(b) => u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        None => 0,
    }
}

/// Target arguments and excludes as the command line gives them (one argument per line,
/// excludes after a line `--exclude`), and each token alone.
pub fn target_spec(data: &[u8]) {
    let Some(s) = text(data) else { return };
    let (specs, excludes) = s.split_once("\n--exclude\n").unwrap_or((s, ""));
    let args = |t: &str| t.lines().map(str::to_string).collect::<Vec<_>>();
    for token in s.split_whitespace() {
        let _ = black_box(crate::core::target::parse_spec(token));
    }
    if let Ok(set) = crate::core::target::TargetSet::parse(&args(specs), &args(excludes), false) {
        black_box((set.len(), set.is_empty(), set.names(), set.links_v6()));
        black_box(set.contains(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))));
        for ip in set.iter().take(512) {
            black_box(ip);
        }
    }
}

/// A `-p` port spec, then the set operations the scheduler uses on its ports.
pub fn ports(data: &[u8]) {
    let Some(s) = text(data) else { return };
    let Ok(list) = crate::core::ports::parse_ports(s) else {
        return;
    };
    let mut set = crate::core::portset::PortSet::new();
    for (i, p) in list.iter().enumerate() {
        if i % 3 == 2 {
            set.insert_range(p.saturating_sub(7), p);
        } else {
            set.insert(p);
        }
    }
    for p in list.iter().step_by(5) {
        set.remove(p);
    }
    black_box((set.len(), set.ranges(), set.iter().count()));
    black_box(
        list.iter()
            .filter_map(crate::core::ports::service_name)
            .count(),
    );
}

/// The `netdx` config file (TOML).
pub fn config(data: &[u8]) {
    let Some(s) = text(data) else { return };
    let _ = black_box(crate::cmd::config::parse(s, Path::new("netdx.toml")));
}

/// The `netdx serve` config file (TOML).
pub fn serve_config(data: &[u8]) {
    let Some(s) = text(data) else { return };
    if let Ok(cfg) = black_box(crate::serve::config::parse_file("serve.toml", s)) {
        black_box(cfg);
    }
}

/// A saved JSON report of any schema version, read as `netdx report` reads it, then written
/// in every format (the writers escape what the reader let in).
pub fn report_json(data: &[u8]) {
    use crate::output::{Format, json, render};
    let Ok(mut report) = json::decode("fuzz.json", || Ok(data)) else {
        return;
    };
    report.refresh_summary();
    for format in [
        Format::Json,
        Format::Csv,
        Format::Markdown,
        Format::Html,
        Format::Xml,
    ] {
        let _ = black_box(render(&report, format));
    }
}

/// What the raw prober's sockets deliver: byte 0 picks the socket (IPv4 with header, TCPv6
/// segment, ICMPv6 message), the rest is the packet.
pub fn raw_reply(data: &[u8]) {
    use crate::net::raw::packet::{Key, parse_icmpv6, parse_ipv4, parse_tcp};
    let Some((&feed, packet)) = data.split_first() else {
        return;
    };
    let key = Key::new(RAW_SPORT);
    let peer = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 0x20);
    black_box(match feed % 3 {
        0 => parse_ipv4(&key, packet),
        1 => parse_tcp(&key, IpAddr::V6(peer), packet),
        _ => parse_icmpv6(&key, peer, packet),
    });
}

/// Traceroute replies (ICMPv4 with the IP header, ICMPv6 without) and NDP's echo replies and
/// parameter problems: byte 0 picks the family.
pub fn icmp_quote(data: &[u8]) {
    use crate::net::raw::quote;
    let Some((&family, packet)) = data.split_first() else {
        return;
    };
    if family % 2 == 0 {
        black_box(quote::parse_v4(packet));
    } else {
        let from = IpAddr::V6(Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 1));
        black_box(quote::parse_v6(from, packet));
        black_box(crate::net::ndp::is_our_reply(packet, &NDP_TOKEN));
        let probe: &[u8; 4] = NDP_TOKEN.first_chunk().unwrap_or(&[0; 4]);
        black_box(crate::net::ndp::is_our_param_problem(packet, probe));
    }
}

/// An Ethernet frame read by the ARP sweep and by the ARP watcher.
pub fn arp(data: &[u8]) {
    let ours = pnet::util::MacAddr::from(ARP_OUR_MAC);
    black_box(crate::net::arp::parse_reply(data, ours));
    black_box(crate::net::lan::arp_frame::parse_arp_frame(data));
}

/// A DNS response as the exchange hands it to the probe, turned into a result.
pub fn dns_answer(data: &[u8]) {
    use hickory_resolver::proto::op::DnsResponse;
    let Ok(response) = DnsResponse::from_buffer(data.to_vec()) else {
        return;
    };
    let server = SocketAddr::from((Ipv4Addr::LOCALHOST, 53));
    let rtt = Duration::from_millis(1);
    black_box(crate::net::dns::Attempt::from_response(
        server, &response, rtt,
    ));
}

/// What a TCP service says first (or answers): bytes 0-1 are the port it came from.
pub fn banner(data: &[u8]) {
    use crate::net::identify::{banner, from_greeting, greeting_complete};
    let port = be16(data, 0);
    let bytes = data.get(2..).unwrap_or_default();
    black_box(greeting_complete(bytes, true));
    black_box(from_greeting(port, bytes));
    black_box(banner::first_line(bytes));
    black_box(banner::text(bytes));
    black_box(banner::header(bytes, "server"));
}

/// The head (and start of the body) of an HTTP answer.
pub fn http_head(data: &[u8]) {
    use crate::net::identify::http;
    black_box(http::is_http(data));
    if let Some(info) = http::parse(data) {
        if let Some(server) = info.server.as_deref() {
            let mut id = crate::core::identity::ServiceId::default();
            http::product_from_server(server, &mut id);
            black_box(id);
        }
        black_box(info);
    }
}

/// A peer's leaf certificate (DER), as the TLS handshake hands it over.
pub fn tls_cert(data: &[u8]) {
    black_box(crate::net::identify::tls::describe(
        "TLSv1.3".into(),
        Some(data),
        1_764_547_200,
    ));
}

/// An mDNS answer; the query id is the message's own.
pub fn mdns(data: &[u8]) {
    black_box(crate::net::names::mdns::parse(data, be16(data, 0)));
}

/// A NetBIOS node-status answer; the request id is the message's own.
pub fn netbios(data: &[u8]) {
    black_box(crate::net::names::netbios::parse(data, be16(data, 0)));
}

/// An SSDP search answer, then the device description fetched from its location.
pub fn ssdp(data: &[u8]) {
    use crate::net::names::ssdp;
    if let Some(answer) = ssdp::parse_answer(data)
        && let Some(location) = answer.location.as_deref()
    {
        black_box(ssdp::same_host(
            location,
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9)),
        ));
    }
    if let Some(body) = ssdp::body(data) {
        black_box(ssdp::describe(&String::from_utf8_lossy(&body)));
    }
}

/// An SNMP GetResponse to request [`SNMP_REQUEST_ID`].
pub fn snmp(data: &[u8]) {
    black_box(crate::net::names::snmp::parse(data, SNMP_REQUEST_ID));
}

/// A DHCP OFFER: byte 0 says whether the rest is a bare BOOTP payload or a whole Ethernet
/// frame; the xid is the message's own.
pub fn dhcp(data: &[u8]) {
    use crate::net::lan::dhcp_wire::{parse_offer, parse_offer_frame};
    let Some((&framed, packet)) = data.split_first() else {
        return;
    };
    if framed % 2 == 0 {
        black_box(parse_offer(packet, be32(packet, 4)));
    } else {
        // Ethernet 14 + IPv4 20 (no options) + UDP 8, then the BOOTP xid at 4.
        black_box(parse_offer_frame(packet, be32(packet, 14 + 20 + 8 + 4)));
    }
}

/// An ICMPv6 Router Advertisement as a raw ICMPv6 socket delivers it.
pub fn ra(data: &[u8]) {
    black_box(crate::net::lan::ra_wire::parse_ra(data));
}

/// An Ethernet frame carrying LLDP or CDP.
pub fn lldp(data: &[u8]) {
    black_box(crate::net::lldp::parse_frame(data));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed corpus of every target goes through its wrapper: the crashes the fuzzer
    /// found stay fixed on stable Rust, in `cargo test`, without cargo-fuzz.
    #[test]
    fn the_corpus_replays_without_a_panic() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
        let mut replayed = 0;
        for (name, run) in TARGETS {
            let dir = root.join(name);
            let entries = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .map(|e| e.expect("corpus entry").path())
                .collect::<Vec<_>>();
            assert!(!entries.is_empty(), "{name}: empty corpus");
            for path in entries {
                let bytes = std::fs::read(&path).expect("corpus file");
                run(&bytes);
                replayed += 1;
            }
        }
        assert!(replayed >= TARGETS.len());
    }

    fn seed(target: &str, name: &str) -> Vec<u8> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/corpus")
            .join(target)
            .join(format!("seed-{name}"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The seeds (fuzz/seeds.py) are read as what they are meant to be, with the ids the
    /// wrappers use: a fuzzer starting from them starts deep inside each format.
    #[test]
    fn the_seeds_are_understood() {
        use crate::net::lan::{dhcp_wire, ra_wire};
        use crate::net::names::{mdns, netbios, snmp, ssdp};
        use crate::net::raw::quote::{self, Quoted};

        let d = seed("dhcp", "offer");
        let offer = dhcp_wire::parse_offer(&d[1..], be32(&d[1..], 4)).expect("offer");
        assert_eq!(offer.dns.len(), 2);
        let d = seed("dhcp", "offer-frame");
        assert!(dhcp_wire::parse_offer_frame(&d[1..], be32(&d[1..], 46)).is_some());

        let ra = ra_wire::parse_ra(&seed("ra", "full")).expect("ra");
        assert_eq!((ra.prefixes.len(), ra.dns.len()), (1, 1));
        assert!(ra.mac.is_some());

        for (name, vlan) in [
            ("lldp", Some(10)),
            ("lldp-vlan", Some(10)),
            ("cdp", Some(10)),
        ] {
            let port = crate::net::lldp::parse_frame(&seed("lldp", name)).expect(name);
            assert_eq!(port.vlan, vlan, "{name}");
            assert!(port.switch_name.is_some(), "{name}");
            assert!(port.management_address.is_some(), "{name}");
        }

        let ours = pnet::util::MacAddr::from(ARP_OUR_MAC);
        assert!(crate::net::arp::parse_reply(&seed("arp", "reply"), ours).is_some());
        assert!(crate::net::lan::arp_frame::parse_arp_frame(&seed("arp", "request")).is_some());

        let m = seed("mdns", "services");
        assert_eq!(mdns::parse(&m, be16(&m, 0)).expect("mdns").len(), 6);
        let n = seed("netbios", "node-status");
        let info = netbios::parse(&n, be16(&n, 0)).expect("netbios");
        assert_eq!(info.name.as_deref(), Some("FILESRV"));
        assert_eq!(info.workgroup.as_deref(), Some("WORKGROUP"));
        let info = snmp::parse(&seed("snmp", "system"), SNMP_REQUEST_ID).expect("snmp");
        assert_eq!(info.sys_name.as_deref(), Some("gw.lab"));
        assert!(info.sys_object_id.is_some());
        let answer = ssdp::parse_answer(&seed("ssdp", "answer")).expect("ssdp");
        assert!(answer.location.is_some() && answer.server.is_some());
        let body = ssdp::body(&seed("ssdp", "description")).expect("body");
        let upnp = ssdp::describe(&String::from_utf8_lossy(&body));
        assert!(upnp != Default::default(), "{upnp:?}");

        for (name, v6) in [("v4-te-echo", false), ("v4-te-tcp", false), ("v6-te", true)] {
            let p = seed("icmp_quote", name);
            let from = IpAddr::V6(Ipv6Addr::LOCALHOST);
            let q = if v6 {
                quote::parse_v6(from, &p[1..])
            } else {
                quote::parse_v4(&p[1..])
            };
            assert!(
                matches!(q, Some((_, Quoted::Error { .. }))),
                "{name}: {q:?}"
            );
        }
        let p = seed("icmp_quote", "v6-echo-reply");
        assert!(crate::net::ndp::is_our_reply(&p[1..], &NDP_TOKEN));
        let p = seed("icmp_quote", "v6-param-problem");
        let probe: &[u8; 4] = NDP_TOKEN.first_chunk().expect("4 bytes");
        assert!(crate::net::ndp::is_our_param_problem(&p[1..], probe));

        for name in ["a", "aaaa-cname", "mx-txt-srv", "ptr", "caa-unknown"] {
            let r = hickory_resolver::proto::op::DnsResponse::from_buffer(seed("dns_answer", name));
            assert!(r.is_ok_and(|r| !r.answers.is_empty()), "{name}");
        }
        let b = seed("banner", "ssh");
        let id = crate::net::identify::from_greeting(be16(&b, 0), &b[2..]);
        assert_eq!(id.protocol, "ssh");
        assert!(crate::net::identify::http::parse(&seed("http_head", "nginx")).is_some());
        let cert = crate::net::identify::tls::describe(
            "TLSv1.3".into(),
            Some(&seed("tls_cert", "ec")),
            1_764_547_200,
        );
        assert_eq!(cert.subject_cn.as_deref(), Some("web.lab"), "{cert:?}");

        let json = seed("report_json", "lab-v1.json");
        assert!(crate::output::json::decode("seed", || Ok(json.as_slice())).is_ok());
    }

    /// Every target listed here has a fuzz target of the same name, and the other way round.
    #[test]
    fn every_target_has_a_fuzz_target() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/fuzz_targets");
        let mut files = std::fs::read_dir(&dir)
            .expect("fuzz/fuzz_targets")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect::<Vec<_>>();
        files.sort();
        let mut names = TARGETS
            .iter()
            .map(|(n, _)| format!("{n}.rs"))
            .collect::<Vec<_>>();
        names.sort();
        assert_eq!(files, names);
    }
}
