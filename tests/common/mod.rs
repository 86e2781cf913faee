//! Test harness for the namespace lab (`tests/lab/`), shared by integration tests with
//! `mod common;`.
//!
//! ```text
//!   cargo test ──► Lab::up() ──► python3 tests/lab/lab.py up --name rs-<pid>-<n> --owner-pid <pid>
//!                    │              └─ prints the lab's JSON: namespaces + ground truth
//!                    ├─ lab.netdx(&["scan", ...]) ──► timeout 120 ip netns exec <scanner-ns> netdx ...
//!                    └─ Drop ──► lab.py down --name ...   (runs on panic too)
//! ```
//!
//! Teardown has three layers, so a lab never outlives its test run: `Drop` (normal end and
//! panics), a janitor process that lab.py starts with every lab and that tears it down when the
//! owner (this test process) exits however it exits (Ctrl-C, SIGKILL), and `lab.py up`/`reap`
//! reaping labs of dead owners. `Lab::shared()`, whose static is never dropped, is torn down by
//! an atexit hook on a normal exit.
//!
//! Typical test:
//!
//! ```ignore
//! mod common;
//! use common::Lab;
//!
//! #[test]
//! fn finds_web_server() {
//!     let Some(lab) = common::lab_or_skip("finds_web_server") else { return };
//!     let web = lab.host("web");
//!     let out = lab.netdx(&["scan", &web.ip.to_string(), "-p", "80"]);
//!     assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
//! }
//! ```
//!
//! Every integration test binary compiles this module but uses only part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::str::FromStr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;

pub mod bench;
pub mod bless;
pub mod dns_out;
pub mod lan_lab;
pub mod report;
pub mod serve;
pub mod tmux;

/// Outer limit on one netdx run inside the lab: a hung binary fails its test, never CI.
pub const NETDX_TIMEOUT: Duration = Duration::from_secs(120);
/// Outer limit on `lab.py up` (normally well under two seconds).
const LAB_UP_TIMEOUT: Duration = Duration::from_secs(90);
/// Outer limit on `lab.py down` and on commands run with [`Lab::exec`].
const EXEC_TIMEOUT: Duration = Duration::from_secs(60);
/// `timeout(1)` exit statuses: the command hit its limit (124) or needed SIGKILL (137).
const TIMED_OUT: [i32; 2] = [124, 137];

/// Directory holding lab.py, listen.py, probe.py and topology.json.
pub fn lab_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("lab")
}

/// The Python that runs the lab scripts: `$NETDX_LAB_PYTHON`, else the system python3 (fast to
/// start, unlike version-manager shims), else `python3` from PATH.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("NETDX_LAB_PYTHON") {
        return PathBuf::from(p);
    }
    let system = Path::new("/usr/bin/python3");
    if system.exists() {
        system.to_path_buf()
    } else {
        PathBuf::from("python3")
    }
}

/// Effective uid, from /proc/self/status (no unsafe, no subprocess).
fn euid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// True when lab tests can run (root). Otherwise prints `SKIPPED (needs root): <test>` to
/// stderr and returns false, unless `NETDX_REQUIRE_LAB=1` (set by tests/run.sh, i.e. CI):
/// then it panics, because a lab test that silently skips in CI proves nothing.
pub fn require_root(test: &str) -> bool {
    require(test, euid() == Some(0), "needs root")
}

/// [`require_root`] for any precondition: `ok`, or a skip saying `why` that fails the test
/// when `NETDX_REQUIRE_LAB=1`.
pub fn require(test: &str, ok: bool, why: &str) -> bool {
    if ok {
        return true;
    }
    if std::env::var("NETDX_REQUIRE_LAB").as_deref() == Ok("1") {
        panic!("{test}: NETDX_REQUIRE_LAB=1 but it cannot run ({why})");
    }
    // Straight to fd 2: libtest captures eprintln! of passing tests, and a skip must be seen.
    let _ = writeln!(std::io::stderr(), "SKIPPED ({why}): {test}");
    false
}

/// [`require_root`] then a fresh [`Lab::up`]: `let Some(lab) = lab_or_skip("t") else { return };`
pub fn lab_or_skip(test: &str) -> Option<Lab> {
    require_root(test).then(Lab::up)
}

/// [`require_root`] then the process-wide [`Lab::shared`].
pub fn shared_lab_or_skip(test: &str) -> Option<&'static Lab> {
    require_root(test).then(Lab::shared)
}

/// A temporary directory for reports that the unprivileged user of the no-capability tests
/// (nobody, via setpriv) can write into as well.
pub fn report_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .expect("chmod");
    dir
}

/// Reads a CSV file as rows of fields with the `csv` crate, not the hand that wrote the
/// writer, so the test checks the shape independently. Strict: every row must end with CRLF
/// (RFC 4180), and a ragged file fails here, not in a later index.
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    assert!(
        text.is_empty() || text.ends_with("\r\n"),
        "CSV does not end with CRLF"
    );
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .terminator(csv::Terminator::CRLF)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| {
            r.expect("well-formed CSV")
                .iter()
                .map(str::to_string)
                .collect()
        })
        .collect()
}

// --- ground truth -----------------------------------------------------------------------------

/// A MAC address (`"00:50:56:77:00:20"` in the JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    /// The IEEE OUI (first three octets).
    pub fn oui(&self) -> [u8; 3] {
        [self.0[0], self.0[1], self.0[2]]
    }

    /// Locally administered (randomised or hand-set) rather than vendor-assigned.
    pub fn is_local(&self) -> bool {
        self.0[0] & 0x02 != 0
    }
}

impl FromStr for Mac {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = [0u8; 6];
        let mut parts = s.split(':');
        for byte in &mut out {
            let part = parts.next().ok_or_else(|| format!("short MAC {s:?}"))?;
            *byte = u8::from_str_radix(part, 16).map_err(|e| format!("MAC {s:?}: {e}"))?;
        }
        if parts.next().is_some() {
            return Err(format!("long MAC {s:?}"));
        }
        Ok(Mac(out))
    }
}

impl fmt::Display for Mac {
    /// Lowercase, colon-separated: the form `ip neigh` and topology.json use.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

impl<'de> Deserialize<'de> for Mac {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// How a host treats ICMP echo requests (`true` / `false` / `"lossy"` in the JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Value")]
pub enum Icmp {
    /// Answers every echo request.
    Answers,
    /// nftables drops every echo request (v4 and v6); still found by ARP and TCP.
    Drops,
    /// Drops `loss_percent` % of echo requests at random.
    Lossy,
}

impl TryFrom<Value> for Icmp {
    type Error = String;
    fn try_from(v: Value) -> Result<Self, Self::Error> {
        match v {
            Value::Bool(true) => Ok(Icmp::Answers),
            Value::Bool(false) => Ok(Icmp::Drops),
            Value::String(s) if s == "lossy" => Ok(Icmp::Lossy),
            other => Err(format!(
                "icmp: expected true, false or \"lossy\", got {other}"
            )),
        }
    }
}

/// What a lab host is there for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// 10.77.0.1: the scanner's default route; rejects all forwarded traffic.
    Gateway,
    /// 10.77.0.53: dnsmasq, authoritative-ish for lab.test and the reverse zones.
    Dns,
    /// An ordinary host (its icmp/ports fields say how it behaves).
    Host,
    /// Loses `loss_percent` % of pings.
    Lossy,
    /// Loses `loss_percent` % of every IP packet it receives (TCP too), not ARP or ND.
    LossyAll,
    /// Answers ICMP, no listener: every TCP port answers RST (the 65,535-port benchmark).
    AllClosed,
    /// Answers ICMP, drops every TCP packet: every port filtered (the filtered benchmark).
    AllFiltered,
}

/// Which packets a lossy host loses (`loss_scope` in the JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LossScope {
    /// Not lossy.
    None,
    /// Only ICMP echo requests: TCP answers are exact.
    Echo,
    /// Every IPv4/IPv6 packet in (except ARP and neighbour discovery): any single TCP probe
    /// may go unanswered, so its ports are only right after retries.
    Ip,
}

/// State of one TCP port as a connect scan sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PortState {
    Open,
    Closed,
    Filtered,
}

/// One lab host (every namespace on the LAN except the scanner and the bridge).
#[derive(Debug, Clone, Deserialize)]
pub struct Host {
    /// Short id, e.g. "web"; also the namespace suffix.
    pub key: String,
    pub role: Role,
    /// Fully qualified DNS name without trailing dot, e.g. "web.lab.test".
    pub name: String,
    pub ip: Ipv4Addr,
    pub ipv6: Ipv6Addr,
    pub mac: Mac,
    /// Vendor of the MAC's OUI as arp-scan's IEEE table spells it; None when locally administered.
    pub vendor: Option<String>,
    pub icmp: Icmp,
    /// Share of echo requests dropped (0 unless `icmp` is Lossy).
    pub loss_percent: u8,
    /// Which packets `loss_percent` applies to.
    pub loss_scope: LossScope,
    /// Every listening TCP port.
    pub open: Vec<u16>,
    /// Sample ports known closed (RST).
    pub closed: Vec<u16>,
    /// Sample ports known filtered (dropped).
    pub filtered: Vec<u16>,
    /// State of every port not listed in `open`/`filtered`.
    pub tcp_default: PortState,
    /// The host's network namespace.
    pub ns: String,
}

impl Host {
    /// Ground-truth state of any port on this host.
    pub fn port_state(&self, port: u16) -> PortState {
        if self.open.contains(&port) {
            PortState::Open
        } else if self.filtered.contains(&port) {
            PortState::Filtered
        } else {
            self.tcp_default
        }
    }

    /// Whether a single ping is certain to be answered.
    pub fn answers_ping(&self) -> bool {
        self.icmp == Icmp::Answers
    }

    /// Whether a single TCP probe is certain to get the ground-truth answer (false for a host
    /// that loses IP packets: any probe may read as filtered).
    pub fn exact_tcp(&self) -> bool {
        self.loss_scope != LossScope::Ip
    }
}

/// The scanner namespace's own addresses.
#[derive(Debug, Clone, Deserialize)]
pub struct Scanner {
    pub key: String,
    pub name: String,
    pub ip: Ipv4Addr,
    pub ipv6: Ipv6Addr,
    pub mac: Mac,
    pub ns: String,
}

/// The LAN: `ipv4`/`ipv6` are CIDR strings ("10.77.0.0/24", "fd77::/64").
#[derive(Debug, Clone, Deserialize)]
pub struct Lan {
    pub ipv4: String,
    pub ipv6: String,
    pub gateway: Ipv4Addr,
    pub gateway6: Ipv6Addr,
    /// Interface name in every lab namespace ("eth0").
    pub iface: String,
}

/// One DNS answer the lab's server must give.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DnsExpect {
    pub name: String,
    /// "A", "AAAA", "PTR", "MX", "TXT", "CNAME", "SRV".
    #[serde(rename = "type")]
    pub rtype: String,
    /// "NOERROR", "NXDOMAIN" or "REFUSED".
    pub rcode: String,
    /// Records of the asked type, as text without trailing dots: "10.77.0.20", "web.lab.test",
    /// MX "10 mail.lab.test", SRV "priority weight port target", TXT the joined strings.
    pub answers: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Dns {
    pub zone: String,
    pub server: Ipv4Addr,
    pub server6: Ipv6Addr,
    /// TTL of every local answer.
    pub ttl: u32,
    pub reverse_zones: Vec<String>,
    /// Everything the server must answer (host A/AAAA/PTR, other records, NXDOMAIN/REFUSED).
    pub expected: Vec<DnsExpect>,
    /// dnsmasq's query log (log-queries), readable from the root namespace.
    pub log: PathBuf,
    /// `/etc/netns/<scanner-ns>/resolv.conf` (`nameserver <server>`).
    pub resolv_conf: PathBuf,
    /// The second resolver `Scenario::DnsSecond` starts, if the topology has one.
    #[serde(default)]
    pub second: Option<SecondDns>,
}

/// `dns.second`: a resolver that leaves out some names.
#[derive(Debug, Clone, Deserialize)]
pub struct SecondDns {
    pub server: Ipv4Addr,
    /// Names it answers NXDOMAIN for.
    pub omit: Vec<String>,
}

/// A router of the WAN chain behind the gateway (`r1` next to the gateway).
#[derive(Debug, Clone, Deserialize)]
pub struct Router {
    pub key: String,
    pub ns: String,
    /// Its address towards the scanner: what a traceroute shows for this hop.
    pub ip: Ipv4Addr,
    /// Its address towards the targets.
    pub out: Ipv4Addr,
}

/// How a WAN target's network is joined to the last router.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkKind {
    /// A veth pair or the shared target bridge: no added delay.
    Veth,
    /// Two TAPs joined by tests/lab/relay.py: `delay_ms` each way, a bounded queue, tbf.
    Relay,
}

/// The link in front of a WAN target (`link` in the JSON).
#[derive(Debug, Clone, Deserialize)]
pub struct Link {
    pub kind: LinkKind,
    /// One-way delay the relay adds (relay only).
    pub delay_ms: Option<u32>,
    /// Token-bucket rate on both ends (relay only).
    pub rate_kbit: Option<u32>,
    pub burst_kbit: Option<u32>,
    /// Frames the relay queues per direction before it drops (relay only).
    pub queue_frames: Option<u32>,
    /// The relay's JSON counters (relayed, dropped, queue_high_water per direction).
    pub stats: Option<PathBuf>,
}

/// A policer on the last router: packets to (and, separately, from) the target above `pps`
/// a second, after a burst of `burst`, are dropped.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Police {
    pub pps: u32,
    pub burst: u32,
}

/// A host behind the last router: on the shared target network or alone on its `subnet`.
#[derive(Debug, Clone, Deserialize)]
pub struct WanTarget {
    pub key: String,
    /// Its DNS name in the lab zone (A and PTR; no AAAA).
    pub name: String,
    pub ip: Ipv4Addr,
    /// Answers ICMP echo (false: drops echo-request, a traceroute must use TCP).
    pub icmp: bool,
    /// Answers ICMP timestamp requests (nmap -PP).
    pub icmp_timestamp: bool,
    /// Listening TCP ports.
    pub open: Vec<u16>,
    /// Sample ports known closed (RST).
    pub closed: Vec<u16>,
    /// Sample ports known filtered (SYN dropped).
    pub filtered: Vec<u16>,
    /// State of every port not in `open`/`filtered`: Closed (RST) or Filtered (SYN dropped).
    pub tcp_default: PortState,
    /// A TCP ACK probe (nmap -PA) to a non-open port gets a RST, even when SYNs are dropped.
    pub ack_rst: bool,
    /// Its network (CIDR): the shared target network or its own.
    pub subnet: String,
    /// Its router's address on that network (default route).
    pub gateway: Ipv4Addr,
    pub link: Link,
    pub police: Option<Police>,
    /// Nominal round-trip time the lab adds on the way (2 x the relay's delay; 0 otherwise).
    pub rtt_ms: u32,
    /// Nominal packet loss on the way (percent).
    pub loss_percent: u8,
    pub ns: String,
    /// The hop list a traceroute from the scanner must show: gateway, routers, the target.
    pub hops: Vec<Ipv4Addr>,
}

impl WanTarget {
    /// Ground-truth state of any port on this target (for a SYN or connect probe).
    pub fn port_state(&self, port: u16) -> PortState {
        if self.open.contains(&port) {
            PortState::Open
        } else if self.filtered.contains(&port) {
            PortState::Filtered
        } else {
            self.tcp_default
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Uplink {
    pub iface: String,
    /// The gateway's address on the link to the first router.
    pub ip: Ipv4Addr,
}

/// The WAN behind the gateway: a router chain and a target network.
#[derive(Debug, Clone, Deserialize)]
pub struct Wan {
    pub uplink: Uplink,
    pub routers: Vec<Router>,
    pub targets: Vec<WanTarget>,
    /// Every WAN network (CIDR), in path order.
    pub networks: Vec<String>,
}

/// One way to break the lab (`lab.py break --scenario`); [`Lab::heal`] undoes them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// The scanner's bridge port goes down: its eth0 loses carrier.
    LinkDown,
    /// The gateway's bridge port goes down.
    GatewayDown,
    /// The DNS server's bridge port goes down.
    DnsDown,
    /// dnsmasq is replaced by a server answering SERVFAIL to everything.
    DnsServfail,
    /// dnsmasq is stopped (its host stays on the LAN); heal starts it again.
    DnsStopped,
    /// Router N (1 = next to the gateway) drops everything it forwards.
    WanBlackhole { router: u8 },
    /// This share of the packets from the gateway to the first router is lost.
    UplinkLoss { percent: u8 },
    /// Router N sends at most one ICMP time-exceeded per second.
    IcmpRateLimit { router: u8 },
    /// The WAN target resets connections to this port.
    PortClosed { target: &'static str, port: u16 },
    /// The LAN host answers echo requests this many ms late (a user-space responder).
    LanSlow { target: &'static str, delay_ms: u32 },
    /// A second resolver (`dns.second`) that disagrees with the first; resolv.conf lists both.
    DnsSecond,
}

impl Scenario {
    fn args(&self) -> Vec<String> {
        let s = |v: &str| v.to_string();
        match *self {
            Scenario::LinkDown => vec![s("--scenario"), s("link-down")],
            Scenario::GatewayDown => vec![s("--scenario"), s("gateway-down")],
            Scenario::DnsDown => vec![s("--scenario"), s("dns-down")],
            Scenario::DnsServfail => vec![s("--scenario"), s("dns-servfail")],
            Scenario::DnsStopped => vec![s("--scenario"), s("dns-stopped")],
            Scenario::WanBlackhole { router } => {
                vec![
                    s("--scenario"),
                    s("wan-blackhole"),
                    s("--router"),
                    router.to_string(),
                ]
            }
            Scenario::UplinkLoss { percent } => {
                vec![
                    s("--scenario"),
                    s("uplink-loss"),
                    s("--percent"),
                    percent.to_string(),
                ]
            }
            Scenario::IcmpRateLimit { router } => {
                vec![
                    s("--scenario"),
                    s("icmp-ratelimit"),
                    s("--router"),
                    router.to_string(),
                ]
            }
            Scenario::PortClosed { target, port } => vec![
                s("--scenario"),
                s("port-closed"),
                s("--target"),
                s(target),
                s("--port"),
                port.to_string(),
            ],
            Scenario::LanSlow { target, delay_ms } => vec![
                s("--scenario"),
                s("lan-slow"),
                s("--target"),
                s(target),
                s("--delay-ms"),
                delay_ms.to_string(),
            ],
            Scenario::DnsSecond => vec![s("--scenario"), s("dns-second")],
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Namespaces {
    pub bridge: String,
    pub scanner: String,
}

/// Everything `lab.py up` printed.
#[derive(Debug, Clone, Deserialize)]
pub struct LabInfo {
    pub name: String,
    /// Random per-lab tag in every namespace name (`ndx<tag>-<key>`).
    pub tag: String,
    pub state_dir: PathBuf,
    pub owner_pid: u32,
    pub lan: Lan,
    pub namespaces: Namespaces,
    /// Every namespace of the lab, bridge and scanner included.
    pub all_namespaces: Vec<String>,
    /// Per-namespace /etc/netns dirs the lab created.
    pub etc_netns: Vec<PathBuf>,
    /// Processes the lab started (janitor, dnsmasq, listeners, link relays).
    pub pids: Vec<u32>,
    pub scanner: Scanner,
    pub hosts: Vec<Host>,
    /// LAN addresses nothing answers on.
    pub down: Vec<IpAddr>,
    pub dns: Dns,
    /// The router chain and target network behind the gateway.
    pub wan: Wan,
    pub setup_ms: u64,
}

// --- the lab --------------------------------------------------------------------------------

/// A running lab. Dropping it tears it down.
pub struct Lab {
    info: LabInfo,
    raw: Value,
    torn_down: bool,
    /// NETDX_DATA_DIR for every netdx this lab runs (`root/` and `nobody/` inside), so a
    /// test's scans go into an inventory and history of the lab's own, never into the
    /// developer's ~/.local/share/netdx.
    data: tempfile::TempDir,
}

/// A data directory per lab with one subdirectory per [`Privilege`], each owned by that
/// user (`nobody` cannot write into root's, and must not share its inventory).
fn lab_data_dir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new()
        .prefix("netdx-lab-data-")
        .tempdir()
        .expect("lab data dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711))
        .expect("chmod lab data dir");
    for (sub, id) in [("root", None), ("nobody", Some(65534))] {
        let p = dir.path().join(sub);
        std::fs::create_dir(&p).expect("lab data subdir");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        if let Some(id) = id {
            std::os::unix::fs::chown(&p, Some(id), Some(id)).expect("chown lab data dir");
        }
    }
    dir
}

impl Lab {
    /// Builds a fresh lab owned by this test process. Panics (with lab.py's error) if it cannot.
    pub fn up() -> Lab {
        Lab::up_owned_by(std::process::id())
    }

    /// Builds a lab that lives while `owner_pid` does (for testing the janitor).
    pub fn up_owned_by(owner_pid: u32) -> Lab {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "rs-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let started = Instant::now();
        let out = lab_py(
            &["up", "--name", &name, "--owner-pid", &owner_pid.to_string()],
            LAB_UP_TIMEOUT,
        );
        if !out.status.success() {
            // lab.py tears down after its own failures; this covers it being killed.
            let _ = lab_py(&["down", "--name", &name], EXEC_TIMEOUT);
            panic!(
                "lab.py up --name {name} failed ({}):\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let raw: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("lab.py up printed bad JSON: {e}"));
        let lab = Lab {
            info: LabInfo::deserialize(&raw).unwrap_or_else(|e| panic!("lab JSON: {e}")),
            raw,
            torn_down: false,
            data: lab_data_dir(),
        };
        eprintln!(
            "lab {} (tag {}) up in {} ms",
            lab.info.name,
            lab.info.tag,
            started.elapsed().as_millis()
        );
        lab
    }

    /// One lab per test process, built on first use, for tests that only read it.
    ///
    /// Statics are never dropped: an atexit hook tears it down when the test process exits, and
    /// the janitor does if the process is killed. Tests
    /// that change a lab (sysctls, nftables, killing listeners) must use [`Lab::up`].
    pub fn shared() -> &'static Lab {
        SHARED.get_or_init(|| {
            let lab = Lab::up();
            // SAFETY: atexit only stores the pointer to a plain `extern "C" fn()`; it runs when
            // the test harness calls exit(), after every test thread has finished.
            if unsafe { libc::atexit(down_shared_lab) } != 0 {
                eprintln!(
                    "atexit failed: the janitor will tear lab {} down",
                    lab.name()
                );
            }
            lab
        })
    }

    /// Tears the lab down now and asserts that it worked.
    pub fn down(mut self) {
        self.torn_down = true;
        let out = lab_py(&["down", "--name", &self.info.name], EXEC_TIMEOUT);
        assert!(
            out.status.success(),
            "lab.py down --name {} failed: {}",
            self.info.name,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn info(&self) -> &LabInfo {
        &self.info
    }

    /// The full JSON document lab.py printed.
    pub fn json(&self) -> &Value {
        &self.raw
    }

    pub fn name(&self) -> &str {
        &self.info.name
    }

    /// Namespace netdx runs in (10.77.0.10, default route via the gateway, resolver = lab DNS).
    pub fn scanner_ns(&self) -> &str {
        &self.info.namespaces.scanner
    }

    pub fn scanner(&self) -> &Scanner {
        &self.info.scanner
    }

    /// Every host on the LAN except the scanner (gateway and DNS server included).
    pub fn hosts(&self) -> &[Host] {
        &self.info.hosts
    }

    /// The host with this key ("web", "gw", "dns", "rst", "drop", ...). Panics if unknown.
    pub fn host(&self, key: &str) -> &Host {
        self.info
            .hosts
            .iter()
            .find(|h| h.key == key)
            .unwrap_or_else(|| panic!("no lab host {key:?}"))
    }

    /// The host with this IPv4 address, if any.
    pub fn host_by_ip(&self, ip: Ipv4Addr) -> Option<&Host> {
        self.info.hosts.iter().find(|h| h.ip == ip)
    }

    pub fn hosts_with_role(&self, role: Role) -> impl Iterator<Item = &Host> {
        self.info.hosts.iter().filter(move |h| h.role == role)
    }

    /// LAN addresses (v4 and v6) with nothing behind them.
    pub fn down_addresses(&self) -> &[IpAddr] {
        &self.info.down
    }

    pub fn dns(&self) -> &Dns {
        &self.info.dns
    }

    /// The WAN behind the gateway.
    pub fn wan(&self) -> &Wan {
        &self.info.wan
    }

    /// The WAN target with this key ("app", "edge", "win", "winfw", "slow", "policed").
    /// Panics if unknown.
    pub fn wan_target(&self, key: &str) -> &WanTarget {
        self.info
            .wan
            .targets
            .iter()
            .find(|t| t.key == key)
            .unwrap_or_else(|| panic!("no WAN target {key:?}"))
    }

    /// Breaks the lab in one way (`lab.py break`). Use a lab of the test's own ([`Lab::up`]).
    pub fn break_lab(&self, scenario: Scenario) {
        let mut args = vec![
            "break".to_string(),
            "--name".to_string(),
            self.info.name.clone(),
        ];
        args.extend(scenario.args());
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = lab_py(&argv, EXEC_TIMEOUT);
        assert!(
            out.status.success(),
            "lab.py {argv:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts unbound on the DNS host serving DNS over TLS (853) and HTTPS (443,
    /// /dns-query) with this certificate and key, forwarding to the lab's dnsmasq
    /// (`lab.py break --scenario dns-encrypted`; heal or teardown stops it). Use a lab of
    /// the test's own ([`Lab::up`]).
    pub fn start_encrypted_dns(&self, cert: &Path, key: &Path) {
        let (cert, key) = (cert.to_string_lossy(), key.to_string_lossy());
        let argv = [
            "break",
            "--name",
            &self.info.name,
            "--scenario",
            "dns-encrypted",
            "--cert",
            &cert,
            "--key",
            &key,
        ];
        let out = lab_py(&argv, EXEC_TIMEOUT);
        assert!(
            out.status.success(),
            "lab.py {argv:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Undoes every break, newest first (`lab.py heal`).
    pub fn heal(&self) {
        let out = lab_py(&["heal", "--name", &self.info.name], EXEC_TIMEOUT);
        assert!(
            out.status.success(),
            "lab.py heal failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// IPv4 address → MAC of every host (what an ARP sweep from the scanner must find).
    pub fn arp_truth(&self) -> BTreeMap<Ipv4Addr, Mac> {
        self.info.hosts.iter().map(|h| (h.ip, h.mac)).collect()
    }

    /// Runs netdx in the scanner namespace (stdin closed, output captured). Panics if it runs
    /// longer than [`NETDX_TIMEOUT`].
    pub fn netdx(&self, args: &[&str]) -> Output {
        self.netdx_timeout(args, NETDX_TIMEOUT)
    }

    /// [`Lab::netdx`] with a chosen outer time limit.
    pub fn netdx_timeout(&self, args: &[&str], limit: Duration) -> Output {
        let out = self
            .netdx_command(args, limit)
            .output()
            .expect("spawn timeout/ip netns exec/netdx");
        if timed_out(&out.status) {
            panic!(
                "netdx {args:?} did not finish within {limit:?} (killed)\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        out
    }

    /// The command [`Lab::netdx`] runs, to add environment, stdin or spawn it. Exit status 124
    /// or 137 means `timeout` killed it.
    pub fn netdx_command(&self, args: &[&str], limit: Duration) -> Command {
        let mut cmd = in_ns_command(self.scanner_ns(), env!("CARGO_BIN_EXE_netdx"), limit);
        // The developer's own config file must not change what a test measures.
        cmd.args(args)
            .stdin(Stdio::null())
            .env("NETDX_CONFIG", "/dev/null")
            .env("NETDX_DATA_DIR", self.data_dir(Privilege::Root));
        cmd
    }

    /// A new, empty data directory anyone may write (0777): for netdx started through
    /// [`Lab::exec`] by a script (as root, or as nobody through setpriv), whose inventory and
    /// history must land in the lab, not in ~/.local/share.
    fn fresh_data_dir(&self) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = self
            .data
            .path()
            .join(format!("exec-{}", N.fetch_add(1, Ordering::Relaxed)));
        std::fs::create_dir(&p).expect("exec data dir");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        p
    }

    /// The NETDX_DATA_DIR netdx gets when run as `who` (its inventory and history).
    pub fn data_dir(&self, who: Privilege) -> PathBuf {
        self.data.path().join(match who {
            Privilege::Root => "root",
            Privilege::Nobody => "nobody",
        })
    }

    /// [`Lab::netdx_timeout`] as `who`: root (CAP_NET_RAW, so raw sockets and ARP) or the
    /// `nobody` user without any capability (the paths a user without setcap gets).
    pub fn netdx_as(&self, who: Privilege, args: &[&str], limit: Duration) -> Output {
        let mut cmd = match who {
            Privilege::Root => self.netdx_command(args, limit),
            Privilege::Nobody => {
                let mut cmd = in_ns_command(self.scanner_ns(), "setpriv", limit);
                cmd.args([
                    "--reuid=65534",
                    "--regid=65534",
                    "--clear-groups",
                    "--inh-caps=-all",
                    env!("CARGO_BIN_EXE_netdx"),
                ])
                .args(args)
                .stdin(Stdio::null())
                .env("NETDX_CONFIG", "/dev/null")
                .env("NETDX_DATA_DIR", self.data_dir(Privilege::Nobody));
                cmd
            }
        };
        let out = cmd.output().expect("spawn timeout/ip netns exec/netdx");
        if timed_out(&out.status) {
            panic!(
                "netdx {args:?} as {who:?} did not finish within {limit:?} (killed)\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        out
    }

    /// Runs `argv` inside namespace `ns` (any of [`LabInfo::all_namespaces`]) with a 60 s limit.
    pub fn exec(&self, ns: &str, argv: &[&str]) -> Output {
        assert!(
            self.info.all_namespaces.iter().any(|n| n == ns),
            "{ns} is not a namespace of lab {}",
            self.info.name
        );
        let (prog, rest) = argv.split_first().expect("exec: empty argv");
        let out = in_ns_command(ns, prog, EXEC_TIMEOUT)
            .args(rest)
            .stdin(Stdio::null())
            .env("NETDX_DATA_DIR", self.fresh_data_dir())
            .output()
            .unwrap_or_else(|e| panic!("spawn {argv:?} in {ns}: {e}"));
        if timed_out(&out.status) {
            panic!("{argv:?} in {ns} did not finish within {EXEC_TIMEOUT:?}");
        }
        out
    }

    /// Runs `argv` inside the scanner namespace.
    pub fn in_scanner(&self, argv: &[&str]) -> Output {
        self.exec(self.scanner_ns(), argv)
    }

    /// Runs `tests/lab/probe.py <args>` in the scanner namespace and returns its JSON: an
    /// independent second opinion (see probe.py for the subcommands tcp, ping, dns, resolve).
    pub fn probe(&self, args: &[&str]) -> Value {
        let script = lab_dir().join("probe.py");
        let py = python();
        let mut argv = vec![py.to_str().unwrap(), script.to_str().unwrap()];
        argv.extend_from_slice(args);
        let out = self.in_scanner(&argv);
        assert!(
            out.status.success(),
            "probe.py {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("probe.py prints JSON")
    }
}

/// Who runs netdx in [`Lab::netdx_as`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Privilege {
    /// root with every capability: raw sockets, ARP (a SYN scan where the engine has one).
    Root,
    /// uid/gid 65534 with no capability (setpriv): connect() scans, no ARP, ICMP only where
    /// ping_group_range allows it.
    Nobody,
}

static SHARED: OnceLock<Lab> = OnceLock::new();

/// Tears the shared lab down when the test process exits normally, so nothing is left for even
/// a moment; the janitor covers every other way out.
extern "C" fn down_shared_lab() {
    if let Some(lab) = SHARED.get() {
        // A static is never dropped: its data directory goes with the lab.
        let _ = std::fs::remove_dir_all(lab.data.path());
        let out = lab_py(&["down", "--name", lab.name()], EXEC_TIMEOUT);
        if !out.status.success() {
            eprintln!(
                "lab.py down --name {} failed: {}",
                lab.name(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if self.torn_down {
            return;
        }
        let out = lab_py(&["down", "--name", &self.info.name], EXEC_TIMEOUT);
        if !out.status.success() {
            let msg = format!(
                "lab.py down --name {} failed: {}",
                self.info.name,
                String::from_utf8_lossy(&out.stderr)
            );
            if std::thread::panicking() {
                eprintln!("{msg}"); // a second panic would abort and hide the first
            } else {
                panic!("{msg}");
            }
        }
    }
}

/// Whether `timeout(1)` ended the command: its exit status 124 or 137, or its own death by
/// SIGKILL (what coreutils does after killing a child that ignored SIGTERM for `--kill-after`).
fn timed_out(status: &std::process::ExitStatus) -> bool {
    use std::os::unix::process::ExitStatusExt;
    status.code().is_some_and(|c| TIMED_OUT.contains(&c)) || status.signal() == Some(9)
}

/// `timeout --kill-after=5 <limit> ip netns exec <ns> <prog>`.
fn in_ns_command(ns: &str, prog: &str, limit: Duration) -> Command {
    let mut cmd = Command::new("timeout");
    cmd.arg("--kill-after=5")
        .arg(format!("{}", limit.as_secs().max(1)))
        .args(["ip", "netns", "exec", ns, prog])
        // Under `sudo cargo test` netdx would otherwise drop to the invoking user and lose
        // the root a lab test means to give it; tests that want the sudo path set these.
        .env_remove("SUDO_UID")
        .env_remove("SUDO_GID")
        .env_remove("SUDO_USER");
    cmd
}

/// Runs lab.py with a time limit, stdin closed, output captured.
fn lab_py(args: &[&str], limit: Duration) -> Output {
    Command::new("timeout")
        .arg("--kill-after=5")
        .arg(format!("{}", limit.as_secs()))
        .arg(python())
        .arg(lab_dir().join("lab.py"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("spawn lab.py {args:?}: {e}"))
}

/// socket(2) calls of every thread of `pid` during `secs` seconds, by domain and type
/// (`strace -f -p`); None when strace is missing or cannot attach.
pub fn socket_calls(pid: u32, secs: u32) -> Option<std::collections::BTreeMap<String, usize>> {
    let out = Command::new("timeout")
        .args(["-s", "INT", &secs.to_string(), "strace", "-f", "-qq"])
        .args(["-e", "trace=socket", "-p", &pid.to_string()])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stderr);
    if text.contains("Operation not permitted") || text.contains("No such process") {
        return None;
    }
    let mut kinds = std::collections::BTreeMap::new();
    for line in text.lines() {
        if let Some(args) = line.split("socket(").nth(1) {
            let kind: Vec<&str> = args.split(", ").take(2).collect();
            *kinds.entry(kind.join(" ")).or_insert(0) += 1;
        }
    }
    Some(kinds)
}

/// Counts packets matching an nftables expression as they arrive in the scanner namespace, in
/// a table of its own (a counter, no verdict: nothing else changes), deleted on drop. Tests
/// wait on it for an observable event ("the scan reached web:22", "the port phase runs")
/// instead of sleeping a guessed time.
pub struct InputCounter<'a> {
    lab: &'a Lab,
    table: String,
}

impl<'a> InputCounter<'a> {
    /// `rule` is the match part of an nftables rule, e.g. `ip saddr 10.77.0.20 tcp sport 22`.
    pub fn new(lab: &'a Lab, rule: &str) -> Self {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let table = format!("netdx_test_{}_{n}", std::process::id());
        let rules = tempfile::NamedTempFile::new().expect("rules file");
        std::fs::write(
            rules.path(),
            format!(
                "table inet {table} {{\n  chain input {{\n    type filter hook input priority -300;\n    \
                 {rule} counter\n  }}\n}}\n"
            ),
        )
        .expect("write rules");
        let out = lab.in_scanner(&["nft", "-f", rules.path().to_str().expect("utf-8")]);
        assert!(
            out.status.success(),
            "nft: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        InputCounter { lab, table }
    }

    pub fn count(&self) -> u64 {
        let out = self
            .lab
            .in_scanner(&["nft", "list", "table", "inet", &self.table]);
        let text = String::from_utf8_lossy(&out.stdout);
        text.split_once("counter packets ")
            .and_then(|(_, rest)| rest.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }

    /// Until at least `n` have arrived (true) or `limit` passes (false).
    pub fn wait(&self, n: u64, limit: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if self.count() >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }
}

impl Drop for InputCounter<'_> {
    fn drop(&mut self) {
        let _ = self
            .lab
            .in_scanner(&["nft", "delete", "table", "inet", &self.table]);
    }
}
