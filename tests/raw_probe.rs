//! `net::raw::RawProber` against the namespace lab (tests/lab/topology.json is the truth).
//!
//! ```text
//!   cargo test ──► Lab::up ──► plan from the ground truth (which port is open/closed/filtered)
//!        │
//!        └─► ip netns exec <scanner-ns> <this test binary> --exact raw_probe_in_lab
//!               NETDX_RAW_LAB_ROLE=probe, NETDX_RAW_LAB_PLAN=<json>
//!               └─ RawProber::open + start, send every probe, collect replies for 1 s, then the
//!                  65,535-SYN burst; prints one `RAW-LAB-RESULT {json}` line
//! ```
//!
//! Library code must run inside the scanner namespace, so the test binary re-executes itself
//! there (as tests/arp_probe.rs does); the parent holds the lab and asserts on the child's JSON.
//! The lab is the test's own (`lab_or_skip`), so it may add one nftables rule to web: port
//! 3389 rejects with ICMP admin-prohibited, which exercises the ICMP-error path (v4 and v6).
//! A second child runs without CAP_NET_RAW (setpriv) and must get `RawError::Permission`.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{Lab, PortState};
use netdx::net::raw::{Probe, RawError, RawProber, RawReply, ReplyKind};
use serde_json::{Value, json};
use tokio::time::Instant;

const TEST_NAME: &str = "raw_probe_in_lab";
const ROLE_ENV: &str = "NETDX_RAW_LAB_ROLE";
const PLAN_ENV: &str = "NETDX_RAW_LAB_PLAN";
const RESULT_MARK: &str = "RAW-LAB-RESULT ";
/// How long the child collects replies to the single probes: well past any lab RTT, and more
/// than the 300 ms within which a filtered port must stay silent.
const COLLECT: Duration = Duration::from_millis(1_000);
/// The burst's window: every RST counted must arrive within this time after the last SYN went
/// out (the wait an engine allows before retransmitting). Measured from the last SYN, not the
/// first, because sendto on a veth runs the whole path (bridge, target, its RST) before it
/// returns: the send loop's speed, not loss, would decide a window from the first SYN, and
/// an unoptimised test build on a loaded 2-core machine sends at only ~35-75k SYN/s.
const BURST_WINDOW: Duration = Duration::from_secs(2);

#[test]
fn raw_probe_in_lab() {
    match std::env::var(ROLE_ENV).as_deref() {
        Ok("probe") => return child_probe(),
        Ok("noraw") => return child_noraw(),
        _ => {}
    }
    let Some(lab) = common::lab_or_skip(TEST_NAME) else {
        return;
    };

    let web = lab.host("web");
    let db = lab.host("db");
    let rst = lab.host("rst");
    let edge = lab.wan_target("edge");
    // The ports the brief names, checked against the ground truth rather than trusted.
    assert_eq!(web.port_state(22), PortState::Open);
    assert_eq!(web.port_state(21), PortState::Closed);
    assert_eq!(web.port_state(80), PortState::Open);
    assert_eq!(db.port_state(3306), PortState::Filtered);
    assert!(
        edge.open.contains(&443) && !edge.icmp,
        "edge: 443 open, echo dropped"
    );
    assert_eq!(rst.tcp_default, PortState::Closed);
    assert!(rst.open.is_empty());

    // A port of web that rejects with ICMP admin-prohibited (nftables in web's namespace of this
    // test's own lab), for the ICMP-error path: v4 type 3 code 13, v6 type 1 code 1.
    let rejected = 3389;
    assert_eq!(
        web.port_state(rejected),
        PortState::Closed,
        "3389 is unused on web"
    );
    let rules = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(
        rules.path(),
        format!(
            "table inet ndxraw {{\n chain in {{\n  type filter hook input priority -10; policy accept;\n  \
             tcp dport {rejected} reject with icmpx type admin-prohibited\n }}\n}}\n"
        ),
    )
    .expect("write nft rules");
    let nft = lab.exec(
        &web.ns,
        &["nft", "-f", rules.path().to_str().expect("utf-8 path")],
    );
    assert!(nft.status.success(), "nft: {}", describe(&nft));

    // (probe, address, expected reply kind or none)
    let syn_expect = |state: PortState| match state {
        PortState::Open => Some("SynAck"),
        PortState::Closed => Some("Rst"),
        PortState::Filtered => None,
    };
    let v4 = |ip, port| SocketAddr::new(IpAddr::V4(ip), port).to_string();
    let v6 = |ip, port| SocketAddr::new(IpAddr::V6(ip), port).to_string();
    let plan: Vec<(&str, String, Option<&str>)> = vec![
        ("syn", v4(web.ip, 22), syn_expect(web.port_state(22))),
        ("syn", v4(web.ip, 21), syn_expect(web.port_state(21))),
        ("syn", v4(db.ip, 3306), syn_expect(db.port_state(3306))),
        ("ack", v4(web.ip, 80), Some("Rst")),
        ("ts", v4(web.ip, 0), Some("TimestampReply")),
        ("syn", v4(edge.ip, 443), Some("SynAck")),
        ("syn", v6(web.ipv6, 22), syn_expect(web.port_state(22))),
        ("syn", v6(web.ipv6, 21), syn_expect(web.port_state(21))),
        ("syn", v4(web.ip, rejected), Some("Unreachable")),
        ("syn", v6(web.ipv6, rejected), Some("Unreachable")),
    ];
    let plan_json = json!({
        "probes": plan.iter().map(|(p, a, _)| json!({"probe": p, "addr": a})).collect::<Vec<_>>(),
        // Connect scans in the same process, to ports of web no raw probe touches.
        "connect": [v4(web.ip, 443), v4(web.ip, 25)],
        "burst": rst.ip.to_string(),
    });

    let out = child(&lab, "probe", &[])
        .env(PLAN_ENV, plan_json.to_string())
        .output()
        .expect("run probe child");
    assert!(
        out.status.success(),
        "probe child failed: {}",
        describe(&out)
    );
    let r = parse_result(&out);
    println!("probe child result: {r:#}");

    let results = r["probes"].as_array().cloned().unwrap_or_default();
    assert_eq!(results.len(), plan.len());
    for (i, ((probe, addr, want), got)) in plan.iter().zip(&results).enumerate() {
        let replies = got["replies"].as_array().cloned().unwrap_or_default();
        match want {
            None => assert!(
                replies.is_empty(),
                "{probe} {addr} is filtered but got {replies:?}"
            ),
            Some(kind) => {
                assert!(
                    !replies.is_empty(),
                    "{probe} {addr}: no reply, wanted {kind}"
                );
                for reply in &replies {
                    assert_eq!(reply["kind"], *kind, "{probe} {addr}: {reply}");
                    assert_eq!(reply["tag"], 10 + i as u64, "{probe} {addr}: tag {reply}");
                    assert!(reply["ms"].as_f64().unwrap_or(f64::MAX) < 300.0, "{reply}");
                    if *kind == "Unreachable" {
                        // Sent by web itself; admin-prohibited is code 13 in ICMPv4, 1 in ICMPv6.
                        let v4_probe = addr.parse::<SocketAddr>().is_ok_and(|a| a.is_ipv4());
                        let (code, from) = if v4_probe {
                            (13, web.ip.to_string())
                        } else {
                            (1, web.ipv6.to_string())
                        };
                        assert_eq!(reply["code"], code, "{probe} {addr}: {reply}");
                        assert_eq!(reply["from"], from, "{probe} {addr}: {reply}");
                    }
                }
                // A retransmitted SYN-ACK may come twice; anything more is a matching bug.
                assert!(replies.len() <= 2, "{probe} {addr}: {replies:?}");
            }
        }
    }
    assert_eq!(
        r["foreign"],
        json!([]),
        "replies to nothing we sent (the concurrent connect()s) were delivered"
    );
    assert_eq!(r["connects"], json!(["open", "refused"]), "connect() ran");
    // 20 connect()s to web's open port put 60+ TCP segments on the wire towards this host;
    // the raw TCP sockets' filter keeps every one of them out (a few ICMPv6 neighbour
    // messages may still reach the raw ICMPv6 socket meanwhile).
    // Without those connects the count below would prove nothing.
    assert_eq!(
        r["foreign_connects"],
        json!(20),
        "connects to web's open port: {r}"
    );
    let foreign_read = r["foreign_read"].as_u64().unwrap_or(u64::MAX);
    assert!(
        foreign_read < 10,
        "{foreign_read} packets of other sockets' TCP traffic were read by the raw sockets"
    );
    assert!(
        r["second_subscriber_matches"].as_bool().unwrap_or(false),
        "a second subscriber to web did not get the same replies: {r}"
    );

    // Half-open: our kernel reset the SYN-ACKs (the source port has no listener), so web holds
    // no half-open connection; without the RST it would keep SYN-RECV and retransmit for ~60 s.
    let ss = lab.exec(&web.ns, &["ss", "-Htn", "state", "syn-recv"]);
    assert!(ss.status.success(), "ss: {}", describe(&ss));
    assert_eq!(
        String::from_utf8_lossy(&ss.stdout).trim(),
        "",
        "web still holds half-open connections"
    );

    for (how, key) in [("one send_syn each", "burst"), ("send_batch", "batched")] {
        let b = &r[key];
        let got = b["rst"].as_u64().unwrap_or(0);
        println!(
            "65,535 SYNs to {} (every port closed, {how}): sent in {:.1} ms ({} EAGAIN/ENOBUFS \
             retries), {got} RSTs by {:?} after the last SYN (last RST {:.1} ms after the first \
             SYN), raw socket drops {}, stats {}",
            rst.ip,
            b["send_ms"].as_f64().unwrap_or(f64::NAN),
            b["retries"],
            BURST_WINDOW,
            b["last_ms"].as_f64().unwrap_or(f64::NAN),
            b["kernel_drops"],
            b["stats"]
        );
        assert!(
            got * 100 >= 65_535 * 99,
            "{how}: only {got} of 65,535 RSTs arrived within {BURST_WINDOW:?}: {b}"
        );
        assert_eq!(
            b["wrong"], 0,
            "{how}: RSTs with a wrong kind/probe/tag: {b}"
        );
    }

    if common::require(
        "raw_probe: permission check",
        tool_ok("setpriv", "--version"),
        "needs setpriv",
    ) {
        let out = child(&lab, "noraw", &["setpriv", "--bounding-set=-net_raw"])
            .output()
            .expect("run noraw child");
        assert!(
            out.status.success(),
            "noraw child failed: {}",
            describe(&out)
        );
        let r = parse_result(&out);
        println!("without CAP_NET_RAW: {r}");
        assert_eq!(r["error"], "permission", "{r}");
        assert!(
            r["message"].as_str().unwrap_or("").contains("CAP_NET_RAW"),
            "{r}"
        );
    }
}

/// This test binary, re-run as `role` inside the scanner namespace (through `wrapper`).
fn child(lab: &Lab, role: &str, wrapper: &[&str]) -> Command {
    let exe = std::env::current_exe().expect("test binary path");
    let mut cmd = Command::new("timeout");
    cmd.args([
        "--kill-after=5",
        "90",
        "ip",
        "netns",
        "exec",
        lab.scanner_ns(),
    ])
    .args(wrapper)
    .arg(exe)
    .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
    .env(ROLE_ENV, role)
    .stdin(Stdio::null());
    cmd
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
        .find_map(|l| l.find(RESULT_MARK).map(|at| &l[at + RESULT_MARK.len()..]))
        .unwrap_or_else(|| panic!("no result line from child: {}", describe(out)));
    serde_json::from_str(line).expect("child JSON")
}

fn tool_ok(name: &str, flag: &str) -> bool {
    Command::new(name)
        .arg(flag)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

// ---------------------------------------------------------------------------------------------
// Children: inside the scanner namespace.

fn child_noraw() {
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let result = rt.block_on(async { RawProber::open().map(drop) });
    let out = match result {
        Ok(()) => json!({"error": null}),
        Err(e @ RawError::Permission) => json!({"error": "permission", "message": e.to_string()}),
        Err(e) => json!({"error": "other", "message": e.to_string()}),
    };
    println!("{RESULT_MARK}{out}");
}

fn kind_name(kind: ReplyKind) -> &'static str {
    match kind {
        ReplyKind::SynAck => "SynAck",
        ReplyKind::Rst => "Rst",
        ReplyKind::TimestampReply => "TimestampReply",
        ReplyKind::Unreachable { .. } => "Unreachable",
    }
}

fn child_probe() {
    let plan: Value = std::env::var(PLAN_ENV)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .expect("plan in NETDX_RAW_LAB_PLAN");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let out = rt.block_on(probe(plan));
    println!("{RESULT_MARK}{out}");
}

async fn probe(plan: Value) -> Value {
    let prober = RawProber::open().expect("open raw prober (root in the scanner namespace)");
    prober.start().expect("start the receive and send threads");
    let probes: Vec<(String, SocketAddr)> = plan["probes"]
        .as_array()
        .expect("probes")
        .iter()
        .map(|p| {
            let addr = p["addr"]
                .as_str()
                .and_then(|a| a.parse().ok())
                .expect("addr");
            (p["probe"].as_str().unwrap_or("").to_string(), addr)
        })
        .collect();

    // One subscription per address, plus a second one to the first address.
    let mut subs = BTreeMap::new();
    for (_, addr) in &probes {
        subs.entry(addr.ip())
            .or_insert_with(|| prober.subscribe(addr.ip()));
    }
    let first_ip = probes[0].1.ip();
    let mut second = prober.subscribe(first_ip);

    // connect() scans running at the same time must not leak into the subscriptions.
    let connects: Vec<_> = plan["connect"]
        .as_array()
        .expect("connect")
        .iter()
        .filter_map(|a| a.as_str().and_then(|a| a.parse::<SocketAddr>().ok()))
        .map(|a| {
            tokio::spawn(async move {
                match tokio::time::timeout(
                    Duration::from_secs(1),
                    tokio::net::TcpStream::connect(a),
                )
                .await
                {
                    Ok(Ok(_)) => "open",
                    Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => "refused",
                    _ => "other",
                }
            })
        })
        .collect();

    let start = Instant::now();
    for (i, (kind, addr)) in probes.iter().enumerate() {
        let tag = 10 + i as u8;
        let sent = match (kind.as_str(), addr.ip()) {
            ("syn", _) => prober.send_syn(*addr, tag),
            ("ack", _) => prober.send_ack(*addr, tag),
            ("ts", IpAddr::V4(ip)) => prober.send_timestamp(ip, tag),
            other => panic!("bad probe {other:?}"),
        };
        sent.unwrap_or_else(|e| panic!("send {kind} to {addr}: {e}"));
    }

    let mut all: Vec<RawReply> = Vec::new();
    let deadline = start + COLLECT;
    for sub in subs.values_mut() {
        while let Ok(Some(reply)) = tokio::time::timeout_at(deadline, sub.recv()).await {
            all.push(reply);
        }
    }
    let mut seconds = Vec::new();
    while let Some(reply) = second.try_recv() {
        seconds.push(reply);
    }
    let firsts: Vec<RawReply> = all.iter().filter(|r| r.ip == first_ip).copied().collect();
    let second_matches = !firsts.is_empty() && firsts == seconds;

    let mut connect_results = Vec::new();
    for c in connects {
        connect_results.push(c.await.unwrap_or("panicked"));
    }

    // TCP traffic of other sockets (20 connect()s to an open port: SYN-ACKs, FINs to
    // ephemeral ports) never reaches the raw sockets: the kernel filters it (tcp_to_port).
    let open_addr: Option<SocketAddr> = plan["connect"]
        .as_array()
        .and_then(|a| a.first())
        .and_then(|a| a.as_str())
        .and_then(|a| a.parse().ok());
    let read_before = prober.stats().read;
    let mut foreign_connects = 0;
    if let Some(a) = open_addr {
        for _ in 0..20 {
            if let Ok(Ok(mut s)) =
                tokio::time::timeout(Duration::from_secs(1), tokio::net::TcpStream::connect(a))
                    .await
            {
                foreign_connects += 1;
                let _ = tokio::io::AsyncWriteExt::shutdown(&mut s).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let foreign_read = prober.stats().read - read_before;

    let probe_kind = |kind: &str| match kind {
        "syn" => Probe::Syn,
        "ack" => Probe::Ack,
        _ => Probe::Timestamp,
    };
    let mut claimed = HashSet::new();
    let results: Vec<Value> = probes
        .iter()
        .map(|(kind, addr)| {
            let port = if kind == "ts" { 0 } else { addr.port() };
            let replies: Vec<Value> = all
                .iter()
                .enumerate()
                .filter(|(_, r)| r.ip == addr.ip() && r.port == port && r.probe == probe_kind(kind))
                .map(|(n, r)| {
                    claimed.insert(n);
                    let mut v = json!({
                        "kind": kind_name(r.kind),
                        "tag": r.tag,
                        "ms": (r.at - start).as_secs_f64() * 1e3,
                    });
                    if let ReplyKind::Unreachable { code, from } = r.kind {
                        v["code"] = json!(code);
                        v["from"] = json!(from.to_string());
                    }
                    v
                })
                .collect();
            json!({"probe": kind, "addr": addr.to_string(), "replies": replies})
        })
        .collect();
    let foreign: Vec<String> = all
        .iter()
        .enumerate()
        .filter(|(n, _)| !claimed.contains(n))
        .map(|(_, r)| format!("{r:?}"))
        .collect();
    drop(subs);
    drop(second);
    let stats = prober.stats();

    let burst_ip: IpAddr = plan["burst"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("burst ip");
    let burst_single = burst(&prober, burst_ip, false).await;
    let burst_batched = burst(&prober, burst_ip, true).await;

    json!({
        "source_port": prober.source_port(),
        "probes": results,
        "foreign": foreign,
        "connects": connect_results,
        "foreign_read": foreign_read,
        "foreign_connects": foreign_connects,
        "second_subscriber_matches": second_matches,
        "read": stats.read,
        "matched": stats.matched,
        "burst": burst_single,
        "batched": burst_batched,
    })
}

/// 65,535 SYNs as fast as the socket takes them, one `send_syn` each or (`batched`) in
/// batches of 1,000 spread over the prober's sending threads; RSTs counted until
/// `BURST_WINDOW` after the last one. `last_ms` is from the first SYN to the last new RST.
async fn burst(prober: &RawProber, ip: IpAddr, batched: bool) -> Value {
    let mut sub = prober.subscribe(ip);
    let drops_before = raw_drops();
    let before = prober.stats();
    let tag = if batched { 78 } else { 77 };
    let start = Instant::now();
    let mut retries = 0u64;
    if batched {
        let ports: Vec<u16> = (1..=u16::MAX).collect();
        for chunk in ports.chunks(1_000) {
            let probes: Vec<(u16, Probe, u8)> =
                chunk.iter().map(|&p| (p, Probe::Syn, tag)).collect();
            prober.send_batch(ip, &probes).expect("send_batch");
        }
    }
    for port in (1..=u16::MAX).filter(|_| !batched) {
        let dst = SocketAddr::new(ip, port);
        loop {
            match prober.send_syn(dst, tag) {
                Ok(()) => break,
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.raw_os_error() == Some(libc::ENOBUFS) =>
                {
                    retries += 1;
                    tokio::task::yield_now().await;
                }
                Err(e) => panic!("send_syn {dst}: {e}"),
            }
        }
    }
    let sent = Instant::now();
    let send_ms = (sent - start).as_secs_f64() * 1e3;

    let mut seen = vec![false; 65_536];
    let (mut rst, mut wrong, mut last) = (0u64, 0u64, Duration::ZERO);
    let deadline = sent + BURST_WINDOW;
    while rst < 65_535 {
        let Ok(Some(r)) = tokio::time::timeout_at(deadline, sub.recv()).await else {
            break;
        };
        if r.kind != ReplyKind::Rst || r.probe != Probe::Syn || r.tag != tag {
            wrong += 1;
        } else if !seen[usize::from(r.port)] {
            seen[usize::from(r.port)] = true;
            rst += 1;
            last = r.at - start;
        }
    }
    let after = prober.stats();
    json!({
        "send_ms": send_ms,
        "retries": retries,
        "rst": rst,
        "wrong": wrong,
        "last_ms": last.as_secs_f64() * 1e3,
        "kernel_drops": raw_drops().saturating_sub(drops_before),
        "stats": {
            "read": after.read - before.read,
            "matched": after.matched - before.matched,
            "delivered": after.delivered - before.delivered,
        },
    })
}

/// Packets the kernel dropped on this namespace's raw sockets (receive buffer full): the
/// last column of /proc/net/raw and /proc/net/raw6.
fn raw_drops() -> u64 {
    ["/proc/net/raw", "/proc/net/raw6"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .flat_map(|text| {
            text.lines()
                .skip(1)
                .filter_map(|l| l.split_whitespace().last()?.parse::<u64>().ok())
                .collect::<Vec<_>>()
        })
        .sum()
}
