//! ARP discovery against real hosts in a throw-away network-namespace lab.
//!
//! ```text
//!   ns <tag>-br:  br0 ── v0 ── eth0 ns <tag>-scan   10.213.0.1   (the scanner: runs discover)
//!                   ├─── v1 ── eth0 ns <tag>-h1     10.213.0.10
//!                   ├─── v2 ── eth0 ns <tag>-h2     10.213.0.20
//!                   ├─── v3 ── eth0 ns <tag>-h3     10.213.0.30  nftables drops all IP in and out
//!                   ├─── v4 ── eth0 ns <tag>-h4     10.213.0.40  locally administered MAC
//!                   ├─── v5 ── eth0 ns <tag>-h5     10.213.0.250 drops the first ARP request
//!                   └─── v6 ── eth0 ns <tag>-decoy  no IP, NOARP: forges frames that must not count
//! ```
//!
//! Every interface lives in a namespace this test created (the bridge too), so nothing can
//! reach the real network, and the namespaces are deleted by a guard, on panic too. The test
//! binary re-executes itself inside the scanner and decoy namespaces (`ip netns exec`), with
//! `NETDX_ARP_LAB_ROLE` selecting what the child does; the scanner child prints its results
//! as one JSON line that the parent checks against the ground truth.
//!
//! Needs root (namespaces, raw sockets); as another user it says SKIPPED and passes.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use netdx::core::event::ArpOutcome;
use netdx::net::arp::{self, ArpChannels, ArpConfig};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const ROLE_ENV: &str = "NETDX_ARP_LAB_ROLE";
const TEST_NAME: &str = "arp_discovery_in_namespace_lab";
const RESULT_MARK: &str = "ARP-LAB-RESULT ";

const NET: [u8; 3] = [10, 213, 0];
const SCANNER_IP: Ipv4Addr = Ipv4Addr::new(10, 213, 0, 1);
const SCANNER_MAC: &str = "02:00:5e:10:00:01";
const DECOY_MAC: &str = "00:16:3e:00:00:99";
/// A dead address of the lab that the decoy claims in unicast *requests* to the scanner, the
/// way real hosts refresh their caches after a sweep. It must never be reported.
const DEAD_IP: Ipv4Addr = Ipv4Addr::new(10, 213, 0, 66);

/// Live hosts: (name, last octet, MAC, extra setup).
#[derive(Clone, Copy, PartialEq)]
enum Quirk {
    None,
    /// nftables drops every IPv4/IPv6 packet in and out: only ARP can find it.
    Firewalled,
    /// nftables (arp family) drops the first who-has for it: only the retry round can find it.
    DropsFirstArp,
}

const HOSTS: [(&str, u8, &str, Quirk); 5] = [
    ("h1", 10, "00:00:0c:00:00:10", Quirk::None),
    ("h2", 20, "00:50:56:00:00:20", Quirk::None),
    ("h3", 30, "b8:27:eb:00:00:30", Quirk::Firewalled),
    ("h4", 40, "02:42:ac:00:00:40", Quirk::None),
    ("h5", 250, "00:1b:21:00:00:fa", Quirk::DropsFirstArp),
];

fn lab_ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(NET[0], NET[1], NET[2], last)
}

#[test]
fn arp_discovery_in_namespace_lab() {
    match std::env::var(ROLE_ENV).as_deref() {
        Ok("scan") => return child_scan(),
        Ok("decoy") => return child_decoy(),
        Ok("noraw") => return child_noraw(),
        _ => {}
    }
    if !common::require(
        "arp_probe",
        is_root() && tool_ok("ip", "-V") && tool_ok("nft", "--version"),
        "needs root, iproute2 and nftables",
    ) {
        return;
    }

    let tag = format!("ndxarp-{}-{:04x}", std::process::id(), random_u16());
    let mut lab = Lab::new(tag.clone());
    lab.build();

    // The decoy sends its forged frames for longer than the scans take.
    let decoy = lab.spawn_child("decoy", "decoy", Duration::from_millis(4_000));
    std::thread::sleep(Duration::from_millis(100));
    let scan = lab.run_child("scan", "scan");
    let decoy_out = lab.wait_child(decoy);

    let result = parse_result(&scan);
    let decoy_result = parse_result(&decoy_out);
    check(&result, &decoy_result);

    // Without CAP_NET_RAW (removed from the bounding set, so even root lacks it) discovery
    // must fail with the Permission error before sending anything.
    if common::require(
        "arp_probe: permission check",
        tool_ok("setpriv", "--version"),
        "needs setpriv",
    ) {
        let out = lab
            .child_command("noraw", "scan", &["setpriv", "--bounding-set=-net_raw"])
            .output()
            .expect("run noraw child");
        assert!(
            out.status.success(),
            "noraw child failed: {}",
            describe(&out)
        );
        let r = parse_result(&out);
        println!("without CAP_NET_RAW: {r}");
        assert_eq!(r["kind"], "permission", "{r}");
        assert!(
            r["message"].as_str().unwrap_or("").contains("CAP_NET_RAW"),
            "{r}"
        );
        assert_eq!(r["outcomes"], 0, "{r}");
    }

    drop(lab);
    let left: Vec<String> = netns_list()
        .into_iter()
        .filter(|n| n.starts_with(&tag))
        .collect();
    assert!(left.is_empty(), "namespaces left behind: {left:?}");
}

/// The assertions on what the scanner child saw, against the lab's ground truth.
fn check(r: &Value, decoy: &Value) {
    println!("scanner child result: {r:#}");
    println!("decoy child result: {decoy}");
    assert!(
        decoy["sent"].as_u64().unwrap_or(0) > 100,
        "decoy did not run: {decoy}"
    );

    assert!(
        r["flood_sent"].as_u64().unwrap_or(0) > 20_000,
        "the UDP flood beside the `flooded` sweep did not run: {}",
        r["flood_sent"]
    );

    // The kernel filter: the sweep's frames got through (as many as the socket's buffer holds:
    // about 500 were sent and received), not one of the flood's frames did.
    let f = &r["filtered_socket"];
    assert_eq!(
        f["other"].as_u64(),
        Some(0),
        "non-ARP frames through the filter: {f}"
    );
    assert!(
        f["arp"].as_u64().unwrap_or(0) >= 100,
        "ARP frames missing: {f}"
    );

    // The firewall of h3 really drops IP: a TCP connect is refused by h1, unanswered by h3.
    assert_eq!(r["tcp_h1"], "refused", "h1 should answer TCP with RST");
    assert_eq!(r["tcp_h3"], "timeout", "h3's firewall is not dropping IP");

    // directly_connected: one group on eth0 from our address, without our own address and
    // without the address that is on no connected network.
    let dc = &r["directly_connected"];
    assert_eq!(dc.as_array().map(Vec::len), Some(1), "groups: {dc}");
    assert_eq!(dc[0]["iface"], "eth0");
    assert_eq!(dc[0]["src"], SCANNER_IP.to_string());
    assert_eq!(dc[0]["targets"].as_u64(), Some(253));

    let expected: BTreeMap<String, String> = HOSTS
        .iter()
        .map(|(_, last, mac, _)| (lab_ip(*last).to_string(), mac.to_string()))
        .collect();

    // `sweep`, `sweep_again`: one-shot channels. `kept_*`: one session's channels, reused
    // by two sweeps in turn, then shared by two at once.
    for (run, key) in [
        "sweep",
        "sweep_again",
        "kept_first",
        "kept_second",
        "kept_together_a",
        "kept_together_b",
        "flooded",
    ]
    .iter()
    .enumerate()
    {
        let s = &r[key];
        let outcomes = s["outcomes"].as_array().cloned().unwrap_or_default();
        let ips: Vec<String> = outcomes
            .iter()
            .map(|o| o["ip"].as_str().unwrap_or("").to_string())
            .collect();
        let unique: HashSet<&String> = ips.iter().collect();
        assert_eq!(
            unique.len(),
            ips.len(),
            "{key}: an IP was reported twice: {ips:?}"
        );
        let got: BTreeMap<String, String> = outcomes
            .iter()
            .map(|o| {
                (
                    o["ip"].as_str().unwrap_or("").to_string(),
                    o["mac"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        assert_eq!(
            got, expected,
            "{key}: live hosts and MACs differ from the lab"
        );
        assert!(
            !got.contains_key(&DEAD_IP.to_string()),
            "{key}: counted a unicast request"
        );
        assert_eq!(s["requested"].as_u64(), Some(253), "{key}: {s}");
        assert_eq!(s["replied"].as_u64(), Some(5), "{key}: {s}");
        for o in &outcomes {
            let rtt_us = o["rtt_us"].as_u64().unwrap_or(u64::MAX);
            if run == 0 && o["ip"] == lab_ip(250).to_string() {
                // Its first request was dropped (only the first: the nft quota is spent after
                // it), so the retry found it, about RETRY_GAP after the first request.
                let gap = arp::RETRY_GAP.as_micros() as u64;
                assert!(
                    (gap / 2..gap * 3).contains(&rtt_us),
                    "{key}: h5 answered after {rtt_us} µs; the retry was due after {gap} µs"
                );
            } else {
                assert!(rtt_us < 50_000, "{key}: rtt {rtt_us} µs for {o}");
            }
        }
        let ms = s["elapsed_ms"].as_f64().unwrap_or(f64::MAX);
        println!(
            "ARP /24 discovery #{} (10.213.0.1-254, 5 live hosts, default config): {ms:.1} ms",
            run + 1
        );
        // Send time + RETRY_GAP + wait, about 0.35 s; generous for a loaded 2-core machine
        // (two sweeps at once interleave their requests on one channel).
        assert!(ms < 1_500.0, "{key}: took {ms} ms");
    }
    // Opened once, on the first kept sweep, and still open after the last.
    assert_eq!(r["kept_open"], json!(["eth0"]), "kept channels");

    // Cancellation stops a discovery whose wait would otherwise last 30 s.
    let c = &r["cancelled"];
    let ms = c["elapsed_ms"].as_f64().unwrap_or(f64::MAX);
    println!("cancelled discovery returned after {ms:.1} ms (cancel at 150 ms)");
    assert!(c["ok"].as_bool().unwrap_or(false), "cancel: {c}");
    assert!((150.0..1_000.0).contains(&ms), "cancel took {ms} ms");

    // A consumer that hangs up ends the discovery too.
    let h = &r["hung_up"];
    let ms = h["elapsed_ms"].as_f64().unwrap_or(f64::MAX);
    assert!(h["ok"].as_bool().unwrap_or(false), "hang-up: {h}");
    assert!(ms < 1_000.0, "hang-up took {ms} ms");

    // Targets that are not directly connected are not ARPed at all.
    let n = &r["not_connected"];
    assert_eq!(n["requested"].as_u64(), Some(0), "{n}");
    assert_eq!(n["replied"].as_u64(), Some(0), "{n}");
}

// ---------------------------------------------------------------------------------------------
// Child: the scanner, inside <tag>-scan.

fn child_scan() {
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let mut out = serde_json::Map::new();

    out.insert("tcp_h1".into(), json!(tcp_probe(lab_ip(10))));
    out.insert("tcp_h3".into(), json!(tcp_probe(lab_ip(30))));

    let mut targets: Vec<Ipv4Addr> = (1..=254).map(lab_ip).collect();
    targets.push(Ipv4Addr::new(192, 0, 2, 1)); // on no connected network
    let dc: Vec<Value> = arp::directly_connected(targets.clone())
        .into_iter()
        .map(|(iface, src, t)| json!({"iface": iface, "src": src.to_string(), "targets": t.len()}))
        .collect();
    out.insert("directly_connected".into(), Value::Array(dc));

    for key in ["sweep", "sweep_again"] {
        out.insert(
            key.into(),
            rt.block_on(sweep(None, targets.clone(), ArpConfig::default())),
        );
    }
    // A probe session's channels: opened by the first sweep, reused by the next ones, shared
    // by sweeps running at once.
    let kept = ArpChannels::default();
    for key in ["kept_first", "kept_second"] {
        out.insert(
            key.into(),
            rt.block_on(sweep(Some(&kept), targets.clone(), ArpConfig::default())),
        );
    }
    let (a, b) = rt.block_on(async {
        tokio::join!(
            sweep(Some(&kept), targets.clone(), ArpConfig::default()),
            sweep(Some(&kept), targets.clone(), ArpConfig::default())
        )
    });
    out.insert("kept_together_a".into(), a);
    out.insert("kept_together_b".into(), b);
    out.insert("kept_open".into(), json!(kept.open_interfaces()));

    // A sweep while the scanner blasts UDP at h1 from two threads, as a port scan beside a
    // sweep does: hundreds of thousands of frames on the interface during the sweep, which
    // must not crowd the ARP replies out of the channel (an unfiltered ETH_P_ALL socket gets a
    // copy of each one and lost replies here).
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let blasters: Vec<_> = (0..2)
        .map(|_| {
            let stop = std::sync::Arc::clone(&stop);
            std::thread::spawn(move || {
                let sock = std::net::UdpSocket::bind("0.0.0.0:0").expect("udp");
                let to = SocketAddr::from((lab_ip(10), 9));
                let mut sent = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    if sock.send_to(&[0u8; 64], to).is_ok() {
                        sent += 1;
                    }
                }
                sent
            })
        })
        .collect();
    // Beside it, a socket made the way the ARP channel makes its own (kernel filter on the
    // EtherType), read after the sweep: it must hold the sweep's ARP frames and none of the
    // flood's UDP frames.
    let watch = {
        use pnet::datalink::{self, Channel};
        let iface = datalink::interfaces()
            .into_iter()
            .find(|i| i.name == "eth0")
            .expect("scanner eth0");
        let fd =
            netdx::net::sys::packet_filter::socket(netdx::net::sys::packet_filter::Frames::Arp)
                .expect("filtered socket");
        let config = datalink::Config {
            read_timeout: Some(Duration::from_millis(10)),
            read_buffer_size: 65536,
            socket_fd: Some(fd),
            ..Default::default()
        };
        match datalink::channel(&iface, config) {
            Ok(Channel::Ethernet(_tx, rx)) => rx,
            _ => panic!("no datalink channel on eth0"),
        }
    };
    std::thread::sleep(Duration::from_millis(200));
    let flooded = rt.block_on(sweep(None, targets.clone(), ArpConfig::default()));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let flood_sent: u64 = blasters.into_iter().map(|b| b.join().unwrap_or(0)).sum();
    out.insert("flooded".into(), flooded);
    out.insert("flood_sent".into(), json!(flood_sent));
    let (mut arp_frames, mut other_frames) = (0u64, 0u64);
    let mut watch = watch;
    while let Ok(frame) = watch.next() {
        if frame.len() >= 14 && frame[12..14] == [0x08, 0x06] {
            arp_frames += 1;
        } else {
            other_frames += 1;
        }
    }
    out.insert(
        "filtered_socket".into(),
        json!({"arp": arp_frames, "other": other_frames}),
    );

    out.insert("cancelled".into(), rt.block_on(async {
        let cfg = ArpConfig { wait: Duration::from_secs(30), ..ArpConfig::default() };
        let (tx, mut rx) = mpsc::channel(8);
        let cancel = CancellationToken::new();
        let trigger = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(150)).await;
            trigger.cancel();
        });
        let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
        let start = Instant::now();
        let r = arp::discover((1..=254).map(lab_ip).collect(), cfg, tx, cancel).await;
        let _ = drain.await;
        json!({"ok": r.is_ok(), "error": r.err().map(|e| e.to_string()), "elapsed_ms": ms(start)})
    }));

    out.insert("hung_up".into(), rt.block_on(async {
        let cfg = ArpConfig { wait: Duration::from_secs(30), ..ArpConfig::default() };
        let (tx, rx) = mpsc::channel(1);
        drop(rx);
        let start = Instant::now();
        let r = arp::discover((1..=254).map(lab_ip).collect(), cfg, tx, CancellationToken::new()).await;
        json!({"ok": r.is_ok(), "error": r.err().map(|e| e.to_string()), "elapsed_ms": ms(start)})
    }));

    out.insert(
        "not_connected".into(),
        rt.block_on(sweep(
            None,
            vec![Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(10, 214, 0, 9)],
            ArpConfig::default(),
        )),
    );

    println!("{RESULT_MARK}{}", Value::Object(out));
}

/// Child inside the scanner namespace without CAP_NET_RAW.
fn child_noraw() {
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let (kind, message, outcomes) = rt.block_on(async {
        let (tx, mut rx) = mpsc::channel::<ArpOutcome>(16);
        let targets = (1..=254).map(lab_ip).collect();
        let r = arp::discover(targets, ArpConfig::default(), tx, CancellationToken::new()).await;
        let mut outcomes = 0;
        while rx.recv().await.is_some() {
            outcomes += 1;
        }
        let kind = match &r {
            Ok(_) => "ok",
            Err(arp::ArpError::Permission(_)) => "permission",
            Err(arp::ArpError::Interface(_)) => "interface",
            Err(arp::ArpError::Io(..)) => "io",
        };
        (kind, r.err().map(|e| e.to_string()), outcomes)
    });
    println!(
        "{RESULT_MARK}{}",
        json!({"kind": kind, "message": message, "outcomes": outcomes})
    );
}

/// One discovery, on `kept` channels or (`None`) on channels of its own.
async fn sweep(kept: Option<&ArpChannels>, targets: Vec<Ipv4Addr>, cfg: ArpConfig) -> Value {
    let (tx, mut rx) = mpsc::channel::<ArpOutcome>(16);
    let collect = tokio::spawn(async move {
        let mut v = Vec::new();
        while let Some(o) = rx.recv().await {
            v.push(json!({"ip": o.ip.to_string(), "mac": o.mac.to_string(), "rtt_us": o.rtt.as_micros() as u64}));
        }
        v
    });
    let start = Instant::now();
    let r = match kept {
        Some(k) => k.discover(targets, cfg, tx, CancellationToken::new()).await,
        None => arp::discover(targets, cfg, tx, CancellationToken::new()).await,
    };
    let elapsed = ms(start);
    let outcomes = collect.await.unwrap_or_default();
    match r {
        Ok(stats) => json!({
            "elapsed_ms": elapsed,
            "requested": stats.requested,
            "replied": stats.replied,
            "outcomes": outcomes,
        }),
        Err(e) => json!({"error": e.to_string(), "outcomes": outcomes}),
    }
}

fn tcp_probe(ip: Ipv4Addr) -> &'static str {
    match TcpStream::connect_timeout(&SocketAddr::from((ip, 9)), Duration::from_millis(400)) {
        Ok(_) => "open",
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => "refused",
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => "timeout",
        Err(_) => "error",
    }
}

fn ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1e3
}

// ---------------------------------------------------------------------------------------------
// Child: the decoy, inside <tag>-decoy. Sends, again and again, frames that look like ARP
// traffic for the scanner but are not answers to its questions.

fn child_decoy() {
    use pnet::datalink::{self, Channel};
    use pnet::packet::arp::{ArpHardwareTypes, ArpOperation, ArpOperations, MutableArpPacket};
    use pnet::packet::ethernet::{EtherTypes, MutableEthernetPacket};
    use pnet::util::MacAddr as PMac;

    let run_for = std::env::var("NETDX_ARP_LAB_RUN_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(Duration::from_secs(3));
    let parse_mac = |s: &str| -> PMac { s.parse().expect("lab MAC") };
    let (scanner, decoy) = (parse_mac(SCANNER_MAC), parse_mac(DECOY_MAC));

    let iface = datalink::interfaces()
        .into_iter()
        .find(|i| i.name == "eth0")
        .expect("decoy eth0");
    let Ok(Channel::Ethernet(mut tx, _rx)) = datalink::channel(&iface, Default::default()) else {
        panic!("decoy: no datalink channel");
    };

    let frame = |eth_dst: PMac, op: ArpOperation, spa: Ipv4Addr, tha: PMac, tpa: Ipv4Addr| {
        let mut buf = vec![0u8; 42];
        {
            let mut eth = MutableEthernetPacket::new(&mut buf).expect("eth");
            eth.set_destination(eth_dst);
            eth.set_source(decoy);
            eth.set_ethertype(EtherTypes::Arp);
        }
        let mut arp = MutableArpPacket::new(&mut buf[14..]).expect("arp");
        arp.set_hardware_type(ArpHardwareTypes::Ethernet);
        arp.set_protocol_type(EtherTypes::Ipv4);
        arp.set_hw_addr_len(6);
        arp.set_proto_addr_len(4);
        arp.set_operation(op);
        arp.set_sender_hw_addr(decoy);
        arp.set_sender_proto_addr(spa);
        arp.set_target_hw_addr(tha);
        arp.set_target_proto_addr(tpa);
        buf
    };
    let frames = [
        // A host refreshing its cache: unicast *request* to the scanner, from a dead target IP.
        frame(
            scanner,
            ArpOperations::Request,
            DEAD_IP,
            scanner,
            SCANNER_IP,
        ),
        // A request with the target MAC still zero, as Linux sends them.
        frame(
            scanner,
            ArpOperations::Request,
            DEAD_IP,
            PMac::zero(),
            SCANNER_IP,
        ),
        // A reply for the dead IP addressed to the scanner's MAC but another IP.
        frame(scanner, ArpOperations::Reply, DEAD_IP, scanner, lab_ip(2)),
        // A reply for the dead IP to the scanner's IP but another MAC (delivered by flooding).
        frame(
            PMac::broadcast(),
            ArpOperations::Reply,
            DEAD_IP,
            decoy,
            SCANNER_IP,
        ),
    ];

    let start = Instant::now();
    let mut sent = 0u64;
    while start.elapsed() < run_for {
        for f in &frames {
            if let Some(Ok(())) = tx.send_to(f, None) {
                sent += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    println!("{RESULT_MARK}{}", json!({"sent": sent}));
}

// ---------------------------------------------------------------------------------------------
// The lab.

struct Lab {
    tag: String,
    namespaces: Vec<String>,
    children: Vec<Child>,
}

impl Lab {
    fn new(tag: String) -> Self {
        Lab {
            tag,
            namespaces: Vec::new(),
            children: Vec::new(),
        }
    }

    fn ns(&self, role: &str) -> String {
        format!("{}-{role}", self.tag)
    }

    fn add_ns(&mut self, role: &str) -> String {
        let ns = self.ns(role);
        run("ip", &["netns", "add", &ns]);
        self.namespaces.push(ns.clone());
        // Quiet lab: no IPv6 chatter (DAD, router solicitations) on the segment.
        run(
            "ip",
            &[
                "netns",
                "exec",
                &ns,
                "sysctl",
                "-qw",
                "net.ipv6.conf.all.disable_ipv6=1",
            ],
        );
        run(
            "ip",
            &[
                "netns",
                "exec",
                &ns,
                "sysctl",
                "-qw",
                "net.ipv6.conf.default.disable_ipv6=1",
            ],
        );
        run("ip", &["-n", &ns, "link", "set", "lo", "up"]);
        ns
    }

    /// A namespace with `eth0` (MAC `mac`, address `ip`/24 if any) plugged into the bridge as `port`.
    fn add_member(&mut self, role: &str, port: &str, mac: &str, ip: Option<Ipv4Addr>) -> String {
        let ns = self.add_ns(role);
        let br = self.ns("br");
        run(
            "ip",
            &[
                "-n", &ns, "link", "add", "eth0", "address", mac, "type", "veth", "peer", "name",
                port, "netns", &br,
            ],
        );
        if let Some(ip) = ip {
            run(
                "ip",
                &["-n", &ns, "addr", "add", &format!("{ip}/24"), "dev", "eth0"],
            );
        }
        run("ip", &["-n", &ns, "link", "set", "eth0", "up"]);
        run(
            "ip",
            &["-n", &br, "link", "set", port, "master", "br0", "up"],
        );
        ns
    }

    fn build(&mut self) {
        let br = self.add_ns("br");
        run(
            "ip",
            &[
                "-n",
                &br,
                "link",
                "add",
                "br0",
                "type",
                "bridge",
                "stp_state",
                "0",
                "forward_delay",
                "0",
            ],
        );
        run("ip", &["-n", &br, "link", "set", "br0", "up"]);

        self.add_member("scan", "v0", SCANNER_MAC, Some(SCANNER_IP));
        for (n, (name, last, mac, quirk)) in HOSTS.iter().enumerate() {
            let ns = self.add_member(name, &format!("v{}", n + 1), mac, Some(lab_ip(*last)));
            match quirk {
                Quirk::None => {}
                Quirk::Firewalled => nft(
                    &ns,
                    "table inet wall {\n\
                     chain in { type filter hook input priority 0; policy drop; }\n\
                     chain out { type filter hook output priority 0; policy drop; }\n\
                     }\n",
                ),
                // A quota of 50 bytes is used up by the first request (28 bytes of ARP, 46 with
                // Ethernet padding): that one is dropped, the next ones pass.
                Quirk::DropsFirstArp => nft(
                    &ns,
                    &format!(
                        "table arp shy {{\n\
                         chain in {{ type filter hook input priority 0; policy accept;\n\
                         arp operation request arp daddr ip {} quota until 50 bytes drop\n\
                         }}\n}}\n",
                        lab_ip(*last)
                    ),
                ),
            }
        }
        let decoy = self.add_member("decoy", "v9", DECOY_MAC, None);
        run("ip", &["-n", &decoy, "link", "set", "eth0", "arp", "off"]);
    }

    /// The test binary, re-run as `role` inside namespace `ns_role` (through `wrapper`, if any).
    fn child_command(&self, role: &str, ns_role: &str, wrapper: &[&str]) -> Command {
        let exe = std::env::current_exe().expect("test binary path");
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns(ns_role)])
            .args(wrapper)
            .arg(exe)
            .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
            .env(ROLE_ENV, role)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    fn spawn_child(&mut self, role: &str, ns_role: &str, run_for: Duration) -> usize {
        let mut cmd = self.child_command(role, ns_role, &[]);
        cmd.env("NETDX_ARP_LAB_RUN_MS", run_for.as_millis().to_string());
        let child = cmd.spawn().expect("spawn lab child");
        self.children.push(child);
        self.children.len() - 1
    }

    fn wait_child(&mut self, idx: usize) -> Output {
        let child = self.children.remove(idx);
        let out = child.wait_with_output().expect("lab child output");
        assert!(out.status.success(), "lab child failed: {}", describe(&out));
        out
    }

    fn run_child(&mut self, role: &str, ns_role: &str) -> Output {
        let out = self
            .child_command(role, ns_role, &[])
            .output()
            .expect("run lab child");
        assert!(
            out.status.success(),
            "{role} child failed: {}",
            describe(&out)
        );
        out
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        for ns in self.namespaces.iter().rev() {
            let ok = Command::new("ip")
                .args(["netns", "del", ns])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                eprintln!("arp_probe: could not delete namespace {ns}");
            }
        }
    }
}

fn nft(ns: &str, rules: &str) {
    use std::io::Write;
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns, "nft", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn nft");
    child
        .stdin
        .take()
        .expect("nft stdin")
        .write_all(rules.as_bytes())
        .expect("write nft rules");
    let out = child.wait_with_output().expect("nft");
    assert!(
        out.status.success(),
        "nft in {ns} failed: {}\n{rules}",
        describe(&out)
    );
}

fn run(prog: &str, args: &[&str]) {
    let out = Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run command");
    assert!(
        out.status.success(),
        "{prog} {} failed: {}",
        args.join(" "),
        describe(&out)
    );
}

fn describe(out: &Output) -> String {
    format!(
        "{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn parse_result(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        // The harness may have printed "test <name> ... " on the same line first.
        .find_map(|l| l.find(RESULT_MARK).map(|at| &l[at + RESULT_MARK.len()..]))
        .unwrap_or_else(|| panic!("no result line from child: {}", describe(out)));
    serde_json::from_str(line).expect("child JSON")
}

fn netns_list() -> Vec<String> {
    let out = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns list");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

fn tool_ok(name: &str, version_flag: &str) -> bool {
    Command::new(name)
        .arg(version_flag)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn random_u16() -> u16 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    (nanos ^ (nanos >> 16)) as u16
}
