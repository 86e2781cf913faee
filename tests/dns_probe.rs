//! The DNS probe against real servers on loopback: a dnsmasq started per test (hermetic: no
//! upstream, no hosts file, no config file), a socket that never answers, and a tiny responder
//! that answers every query with a fixed error code. Nothing leaves the loopback interface;
//! the system-configuration test runs inside a network namespace of its own.
//!
//! Every process and namespace is owned by a guard that removes it on drop, so a failing
//! assertion cleans up too.

mod common;

use std::fs;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use netdx::core::model::{DnsAnswer, DnsResult, DnsStatus, RecordType};
use netdx::net::dns::DnsProbe;

const TIMEOUT: Duration = Duration::from_secs(2);

/// A loopback address of our own per dnsmasq, so parallel tests (and other people's tests)
/// never meet on one address; the last two octets come from the pid and a counter.
fn loopback_addr() -> Ipv4Addr {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id();
    Ipv4Addr::new(127, 53, (pid % 250) as u8 + 1, (n % 250) as u8 + 1)
}

/// A port free for both UDP and TCP on `ip` (dnsmasq binds both).
fn free_port(ip: Ipv4Addr) -> u16 {
    for _ in 0..50 {
        let udp = UdpSocket::bind((ip, 0)).expect("bind a loopback UDP socket");
        let port = udp.local_addr().expect("local address").port();
        if TcpListener::bind((ip, port)).is_ok() {
            return port;
        }
    }
    panic!("no free port on {ip}");
}

struct Dnsmasq {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Dnsmasq {
    /// The lab zone used by most tests.
    fn lab() -> Dnsmasq {
        let big: Vec<String> = (0..7)
            .map(|i| char::from(b'a' + i).to_string().repeat(250))
            .collect();
        Dnsmasq::start(&[
            "--host-record=www.lab.test,10.0.0.5,fd00::5",
            "--host-record=v4only.lab.test,10.0.0.6",
            "--cname=alias.lab.test,www.lab.test",
            "--mx-host=lab.test,mail.lab.test,10",
            // Two character-strings (arguments reach dnsmasq unquoted, spaces kept).
            "--txt-record=txt.lab.test,v=spf1 ,-all",
            // Unknown addresses in 10.0.0.0/24 get NXDOMAIN instead of REFUSED.
            "--local=/0.0.10.in-addr.arpa/",
            "--srv-host=_sip._tcp.lab.test,sip.lab.test,5060,10,20",
            &format!("--txt-record=big.lab.test,{}", big.join(",")),
        ])
    }

    fn start(records: &[&str]) -> Dnsmasq {
        let ip = loopback_addr();
        let port = free_port(ip);
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("dnsmasq.log");
        let out = fs::File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = Command::new("dnsmasq")
            .args([
                "--conf-file=/dev/null",
                "--no-resolv",
                "--no-hosts",
                "--bind-interfaces",
                &format!("--listen-address={ip}"),
                &format!("--port={port}"),
                "--local=/lab.test/",
                "--local-ttl=300",
                "--keep-in-foreground",
                "--log-facility=-",
                &format!("--pid-file={}", dir.path().join("dnsmasq.pid").display()),
            ])
            .args(records)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start dnsmasq (package dnsmasq-base)");
        let mut d = Dnsmasq {
            child,
            addr: SocketAddr::new(IpAddr::V4(ip), port),
            log,
            _dir: dir,
        };
        d.wait_ready();
        d
    }

    /// Until dnsmasq answers a query (any answer) or exits.
    fn wait_ready(&mut self) {
        let sock = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .expect("timeout");
        // A minimal query: id 0x4e44, RD, one question `ready.lab.test A IN`.
        let mut q = vec![0x4e, 0x44, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in ["ready", "lab", "test"] {
            q.push(label.len() as u8);
            q.extend_from_slice(label.as_bytes());
        }
        q.extend_from_slice(&[0, 0, 1, 0, 1]);
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut buf = [0u8; 512];
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("dnsmasq exited ({status}): {}", self.log_text());
            }
            let _ = sock.send_to(&q, self.addr);
            if let Ok((_, from)) = sock.recv_from(&mut buf)
                && from == self.addr
            {
                return;
            }
        }
        panic!("dnsmasq did not answer within 5 s: {}", self.log_text());
    }

    fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn probe(&self) -> DnsProbe {
        DnsProbe::new(Some(self.addr), TIMEOUT).expect("probe")
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A UDP server on loopback answering every query with `rcode` (the query echoed back with
/// QR set), like a broken upstream. Stops when dropped.
struct RcodeServer {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl RcodeServer {
    async fn start(rcode: u8) -> RcodeServer {
        Self::start_on(IpAddr::V4(Ipv4Addr::LOCALHOST), rcode).await
    }

    async fn start_on(ip: IpAddr, rcode: u8) -> RcodeServer {
        let sock = tokio::net::UdpSocket::bind((ip, 0)).await.expect("bind");
        let addr = sock.local_addr().expect("local address");
        let task = tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            while let Ok((n, from)) = sock.recv_from(&mut buf).await {
                if n < 12 {
                    continue;
                }
                let mut reply = buf[..n].to_vec();
                reply[2] |= 0x80; // QR: response
                reply[3] = (reply[3] & 0xf0) | (rcode & 0x0f);
                let _ = sock.send_to(&reply, from).await;
            }
        });
        RcodeServer { addr, task }
    }
}

impl Drop for RcodeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A bound UDP socket that never answers.
fn silent_server() -> (UdpSocket, SocketAddr) {
    let sock = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let addr = sock.local_addr().expect("local address");
    (sock, addr)
}

fn answer(rtype: &str, value: &str, ttl: u32) -> DnsAnswer {
    DnsAnswer {
        rtype: rtype.to_string(),
        value: value.to_string(),
        ttl,
    }
}

fn assert_answered_by(r: &DnsResult, server: SocketAddr) {
    assert_eq!(
        r.server.as_deref(),
        Some(server.to_string().as_str()),
        "{r:?}"
    );
    let rtt = r.rtt_ms.expect("rtt measured");
    assert!(rtt > 0.0 && rtt < TIMEOUT.as_secs_f64() * 1000.0, "{r:?}");
}

#[tokio::test]
async fn forward_records_are_exact() {
    let dns = Dnsmasq::lab();
    let p = dns.probe();

    let a = p.query("www.lab.test", RecordType::A).await;
    assert_eq!(a.status, DnsStatus::NoError, "{a:?}");
    assert_eq!(a.name, "www.lab.test");
    assert_eq!(a.rtype, RecordType::A);
    assert_eq!(a.answers, [answer("A", "10.0.0.5", 300)]);
    assert_eq!(a.error, None);
    assert_answered_by(&a, dns.addr);

    let aaaa = p.query("WWW.Lab.Test.", RecordType::AAAA).await;
    assert_eq!(aaaa.status, DnsStatus::NoError, "{aaaa:?}");
    assert_eq!(aaaa.name, "www.lab.test");
    assert_eq!(aaaa.answers, [answer("AAAA", "fd00::5", 300)]);

    let mx = p.query("lab.test", RecordType::MX).await;
    assert_eq!(mx.status, DnsStatus::NoError, "{mx:?}");
    assert_eq!(mx.answers, [answer("MX", "10 mail.lab.test.", 300)]);

    let txt = p.query("txt.lab.test", RecordType::TXT).await;
    assert_eq!(txt.status, DnsStatus::NoError, "{txt:?}");
    assert_eq!(txt.answers, [answer("TXT", "v=spf1 -all", 300)]);

    let srv = p.query("_sip._tcp.lab.test", RecordType::SRV).await;
    assert_eq!(srv.status, DnsStatus::NoError, "{srv:?}");
    assert_eq!(
        srv.answers,
        [answer("SRV", "10 20 5060 sip.lab.test.", 300)]
    );

    let cname = p.query("alias.lab.test", RecordType::CNAME).await;
    assert_eq!(cname.status, DnsStatus::NoError, "{cname:?}");
    assert_eq!(cname.answers, [answer("CNAME", "www.lab.test.", 300)]);

    // An A query through the alias reports the whole chain, as dig does.
    let chain = p.query("alias.lab.test", RecordType::A).await;
    assert_eq!(chain.status, DnsStatus::NoError, "{chain:?}");
    assert_eq!(
        chain.answers,
        [
            answer("CNAME", "www.lab.test.", 300),
            answer("A", "10.0.0.5", 300)
        ]
    );
}

#[tokio::test]
async fn reverse_lookups() {
    let dns = Dnsmasq::lab();
    let p = dns.probe();

    let (host, r) = p.reverse("10.0.0.5".parse().unwrap()).await;
    assert_eq!(host.as_deref(), Some("www.lab.test"));
    assert_eq!(r.name, "5.0.0.10.in-addr.arpa");
    assert_eq!(r.rtype, RecordType::PTR);
    assert_eq!(r.status, DnsStatus::NoError);
    assert_eq!(r.answers, [answer("PTR", "www.lab.test.", 300)]);
    assert_answered_by(&r, dns.addr);

    let (host6, r6) = p.reverse("fd00::5".parse().unwrap()).await;
    assert_eq!(host6.as_deref(), Some("www.lab.test"), "{r6:?}");
    assert!(r6.name.ends_with(".ip6.arpa"), "{r6:?}");

    // What `--dns 10.0.0.5:PTR` produces, and an address passed straight to query().
    let (name, rtype) = netdx::net::dns::parse_query("10.0.0.5:PTR").unwrap();
    assert_eq!(p.query(&name, rtype).await.answers, r.answers);
    assert_eq!(
        p.query("10.0.0.5", RecordType::PTR).await.answers,
        r.answers
    );

    let (none, nx) = p.reverse("10.0.0.99".parse().unwrap()).await;
    assert_eq!(none, None);
    assert_eq!(nx.status, DnsStatus::NxDomain, "{nx:?}");
}

#[tokio::test]
async fn negative_answers() {
    let dns = Dnsmasq::lab();
    let p = dns.probe();

    let nx = p.query("nope.lab.test", RecordType::A).await;
    assert_eq!(nx.status, DnsStatus::NxDomain, "{nx:?}");
    assert!(nx.answers.is_empty());
    assert_eq!(nx.error, None);
    assert_answered_by(&nx, dns.addr);

    // The name exists, but has no record of that type.
    let nodata = p.query("v4only.lab.test", RecordType::AAAA).await;
    assert_eq!(nodata.status, DnsStatus::NoError, "{nodata:?}");
    assert!(nodata.answers.is_empty());
    assert_answered_by(&nodata, dns.addr);

    // Outside the zone, with no upstream: dnsmasq refuses.
    let refused = p.query("example.com", RecordType::A).await;
    assert_eq!(refused.status, DnsStatus::Refused, "{refused:?}");
    assert_answered_by(&refused, dns.addr);

    let invalid = p.query("two words.lab.test", RecordType::A).await;
    assert_eq!(invalid.status, DnsStatus::Error, "{invalid:?}");
    assert_eq!(invalid.server, None);
    assert!(invalid.error.is_some());
}

#[tokio::test]
async fn timeout_when_nothing_answers() {
    let (_sock, addr) = silent_server();
    let p = DnsProbe::new(Some(addr), Duration::from_millis(300)).unwrap();
    let start = Instant::now();
    let r = p.query("www.lab.test", RecordType::A).await;
    let took = start.elapsed();
    assert_eq!(r.status, DnsStatus::Timeout, "{r:?}");
    assert_eq!(r.server.as_deref(), Some(addr.to_string().as_str()));
    assert_eq!(r.rtt_ms, None);
    assert!(r.answers.is_empty());
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_millis(1500),
        "{took:?}"
    );
}

#[tokio::test]
async fn servfail_and_other_codes() {
    let servfail = RcodeServer::start(2).await;
    let p = DnsProbe::new(Some(servfail.addr), TIMEOUT).unwrap();
    let r = p.query("broken.lab.test", RecordType::A).await;
    assert_eq!(r.status, DnsStatus::ServFail, "{r:?}");
    assert_eq!(r.error, None);
    assert_answered_by(&r, servfail.addr);

    let notimp = RcodeServer::start(4).await;
    let p = DnsProbe::new(Some(notimp.addr), TIMEOUT).unwrap();
    let r = p.query("broken.lab.test", RecordType::A).await;
    assert_eq!(r.status, DnsStatus::Error, "{r:?}");
    assert_answered_by(&r, notimp.addr);
    let e = r.error.expect("error text");
    assert!(e.contains("rcode 4"), "{e}");
}

#[tokio::test]
async fn ipv6_server() {
    // Echoes the query as a NOERROR answer without records.
    let v6 = RcodeServer::start_on(IpAddr::V6(std::net::Ipv6Addr::LOCALHOST), 0).await;
    let spec = format!("[::1]:{}", v6.addr.port());
    let server = netdx::net::dns::parse_resolver(&spec).unwrap();
    let r = DnsProbe::new(Some(server), TIMEOUT)
        .unwrap()
        .query("www.lab.test", RecordType::AAAA)
        .await;
    assert_eq!(r.status, DnsStatus::NoError, "{r:?}");
    assert!(r.answers.is_empty());
    assert_eq!(r.server.as_deref(), Some(spec.as_str()));
}

#[tokio::test]
async fn truncated_answer_is_retried_over_tcp() {
    let dns = Dnsmasq::lab();
    let r = dns.probe().query("big.lab.test", RecordType::TXT).await;
    assert_eq!(r.status, DnsStatus::NoError, "{r:?}");
    let expected: String = (0..7u8)
        .map(|i| char::from(b'a' + i).to_string().repeat(250))
        .collect();
    assert_eq!(r.answers, [answer("TXT", &expected, 300)]);
    assert_answered_by(&r, dns.addr);
}

#[tokio::test]
async fn failover_names_the_server_that_answered() {
    let dns = Dnsmasq::lab();
    let (_sock, silent) = silent_server();
    let servfail = RcodeServer::start(2).await;
    let short = Duration::from_millis(300);

    let p = DnsProbe::with_servers(vec![silent, servfail.addr, dns.addr], short).unwrap();
    assert_eq!(p.servers(), [silent, servfail.addr, dns.addr]);
    let r = p.query("nope.lab.test", RecordType::A).await;
    assert_eq!(r.status, DnsStatus::NxDomain, "{r:?}");
    assert_eq!(r.server.as_deref(), Some(dns.addr.to_string().as_str()));
    let e = r.error.expect("failed servers listed");
    assert!(e.contains(&format!("{silent} TIMEOUT")), "{e}");
    assert!(e.contains(&format!("{} SERVFAIL", servfail.addr)), "{e}");

    // Nobody gives a final answer: the server that did answer is reported, all are listed.
    let p = DnsProbe::with_servers(vec![silent, servfail.addr], short).unwrap();
    let r = p.query("www.lab.test", RecordType::A).await;
    assert_eq!(r.status, DnsStatus::ServFail, "{r:?}");
    assert_eq!(
        r.server.as_deref(),
        Some(servfail.addr.to_string().as_str())
    );
    let e = r.error.expect("every server listed");
    assert!(e.contains(&silent.to_string()) && e.contains(&servfail.addr.to_string()));
}

#[tokio::test]
async fn resolve_host_asks_a_and_aaaa() {
    let dns = Dnsmasq::lab();
    let p = dns.probe();

    let (ips, results) = p.resolve_host("www.lab.test").await;
    assert_eq!(
        ips,
        [
            "10.0.0.5".parse::<IpAddr>().unwrap(),
            "fd00::5".parse().unwrap()
        ]
    );
    let types: Vec<RecordType> = results.iter().map(|r| r.rtype).collect();
    assert_eq!(types, [RecordType::A, RecordType::AAAA]);
    assert!(results.iter().all(|r| r.status == DnsStatus::NoError));

    let (ips, results) = p.resolve_host("v4only.lab.test").await;
    assert_eq!(ips, ["10.0.0.6".parse::<IpAddr>().unwrap()]);
    assert_eq!(results[1].status, DnsStatus::NoError);
    assert!(results[1].answers.is_empty());

    let (ips, results) = p.resolve_host("nope.lab.test").await;
    assert!(ips.is_empty());
    assert_eq!(results.len(), 2);
    assert!(results.iter().all(|r| r.status == DnsStatus::NxDomain));

    let (ips, results) = p.resolve_host("10.9.8.7").await;
    assert_eq!(ips, ["10.9.8.7".parse::<IpAddr>().unwrap()]);
    assert!(results.is_empty());
}

// ---------------------------------------------------------------------------------------
// The system configuration, in a network namespace of our own: `ip netns exec` bind-mounts
// /etc/netns/<ns>/resolv.conf over /etc/resolv.conf, so the probe reads the lab's file and
// can only reach the namespace's loopback.

const NETNS_ENV: &str = "NETDX_DNS_TEST_NETNS";

fn marker(ns: &str) -> String {
    format!("# netdx dns probe test {ns}")
}

/// A network namespace with its resolv.conf and a dnsmasq on 127.0.0.1:53 inside.
struct Netns {
    name: String,
    dnsmasq: Option<Child>,
    _dir: tempfile::TempDir,
}

impl Netns {
    fn create(name: &str) -> Netns {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut ns = Netns {
            name: name.to_string(),
            dnsmasq: None,
            _dir: dir,
        };
        run("ip", &["netns", "add", name]);
        run("ip", &["-n", name, "link", "set", "lo", "up"]);
        let etc = ns.etc_dir();
        fs::create_dir_all(&etc).expect("create /etc/netns/<ns>");
        // 127.0.0.2 has no server: the probe must fail over to 127.0.0.1.
        fs::write(
            etc.join("resolv.conf"),
            format!(
                "{}\nsearch lab.test\nnameserver 127.0.0.2\nnameserver 127.0.0.1\n",
                marker(name)
            ),
        )
        .expect("write resolv.conf");
        let log = fs::File::create(ns._dir.path().join("dnsmasq.log")).expect("log");
        let log2 = log.try_clone().expect("log");
        // `ip netns exec` execs dnsmasq in place, so this pid is dnsmasq's.
        let child = Command::new("ip")
            .args(["netns", "exec", name, "dnsmasq"])
            .args([
                "--conf-file=/dev/null",
                "--no-resolv",
                "--no-hosts",
                "--bind-interfaces",
                "--listen-address=127.0.0.1",
                "--port=53",
                "--local=/lab.test/",
                "--local-ttl=300",
                "--host-record=www.lab.test,10.0.0.5",
                "--keep-in-foreground",
                "--log-facility=-",
                &format!(
                    "--pid-file={}",
                    ns._dir.path().join("dnsmasq.pid").display()
                ),
            ])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .expect("start dnsmasq in the namespace");
        ns.dnsmasq = Some(child);
        ns.wait_ready();
        ns
    }

    /// Until dnsmasq answers `www.lab.test A` inside the namespace (asked by the lab's
    /// independent probe.py, run there), or exits, or 5 s pass: a query answered, not a
    /// guess at how long binding takes.
    fn wait_ready(&mut self) {
        let log = self._dir.path().join("dnsmasq.log");
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut last = String::new();
        while Instant::now() < deadline {
            if let Some(Ok(Some(status))) = self.dnsmasq.as_mut().map(Child::try_wait) {
                panic!(
                    "dnsmasq exited ({status}): {}",
                    fs::read_to_string(&log).unwrap_or_default()
                );
            }
            let out = Command::new("ip")
                .args(["netns", "exec", &self.name])
                .arg(common::python())
                .arg(common::lab_dir().join("probe.py"))
                .args(["dns", "--server", "127.0.0.1", "--timeout", "0.2"])
                .arg("www.lab.test/A")
                .stdin(Stdio::null())
                .output()
                .expect("run probe.py in the namespace");
            last = String::from_utf8_lossy(&out.stdout).into_owned();
            let answered = serde_json::from_slice::<serde_json::Value>(&out.stdout)
                .ok()
                .is_some_and(|v| v[0]["answers"][0] == "10.0.0.5");
            if answered {
                return;
            }
        }
        panic!(
            "dnsmasq in {} did not answer within 5 s (last probe: {last}): {}",
            self.name,
            fs::read_to_string(&log).unwrap_or_default()
        );
    }

    fn etc_dir(&self) -> PathBuf {
        PathBuf::from("/etc/netns").join(&self.name)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Some(mut c) = self.dnsmasq.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
        let _ = fs::remove_dir_all(self.etc_dir());
    }
}

fn run(cmd: &str, args: &[&str]) {
    let status = Command::new(cmd)
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(status.success(), "{cmd} {args:?}: {status}");
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

#[test]
fn system_configuration_in_a_network_namespace() {
    if !common::require(
        "system_configuration_in_a_network_namespace",
        is_root(),
        "creating a network namespace needs root",
    ) {
        return;
    }
    let ns = Netns::create(&format!("netdx-dns-{}", std::process::id()));
    let exe = std::env::current_exe().expect("test binary");
    let status = Command::new("ip")
        .args(["netns", "exec", &ns.name])
        .arg(exe)
        .args([
            "--exact",
            "system_configuration_child",
            "--ignored",
            "--nocapture",
        ])
        .env(NETNS_ENV, &ns.name)
        .status()
        .expect("run the child test in the namespace");
    assert!(
        status.success(),
        "child test failed in namespace {}",
        ns.name
    );
}

/// Runs only inside the namespace made by `system_configuration_in_a_network_namespace`.
#[tokio::test]
#[ignore = "run by system_configuration_in_a_network_namespace inside its namespace"]
async fn system_configuration_child() {
    let ns = std::env::var(NETNS_ENV);
    if !common::require(
        "system_configuration_child",
        ns.is_ok(),
        "only runs inside the network namespace its parent test makes",
    ) {
        return;
    }
    let Ok(ns) = ns else { return };
    // Never ask the machine's real resolver: go on only if the lab's file is mounted.
    let conf = fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    assert!(
        conf.contains(&marker(&ns)),
        "not inside namespace {ns}; refusing to query the system resolver"
    );

    let p = DnsProbe::new(None, Duration::from_millis(300)).expect("system configuration");
    let primary: SocketAddr = "127.0.0.1:53".parse().unwrap();
    let dead: SocketAddr = "127.0.0.2:53".parse().unwrap();
    assert_eq!(p.servers(), [dead, primary]);

    // Wait for dnsmasq to be up (the parent started it just before).
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut r = p.query("www.lab.test", RecordType::A).await;
    while r.status != DnsStatus::NoError && Instant::now() < deadline {
        r = p.query("www.lab.test", RecordType::A).await;
    }
    assert_eq!(r.status, DnsStatus::NoError, "{r:?}");
    assert_eq!(r.answers, [answer("A", "10.0.0.5", 300)]);
    assert_eq!(r.server.as_deref(), Some("127.0.0.1:53"));
    let e = r.error.expect("the dead first server is reported");
    assert!(e.contains("127.0.0.2:53 TIMEOUT"), "{e}");

    // A bare host name goes through the search list.
    let (ips, results) = p.resolve_host("www").await;
    assert_eq!(ips, ["10.0.0.5".parse::<IpAddr>().unwrap()]);
    assert_eq!(results[0].name, "www.lab.test");

    // query() takes the name as given (like dig): no search list.
    let bare = p.query("www", RecordType::A).await;
    assert_eq!(bare.name, "www");
    assert_eq!(bare.status, DnsStatus::Refused, "{bare:?}");
}

// ---------------------------------------------------------------------------------------

/// `cargo test --release --test dns_probe -- --ignored --nocapture bench_`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark; prints the time for 1,000 lookups"]
async fn bench_1000_lookups() {
    let records: Vec<String> = (0..100)
        .map(|i| format!("--host-record=h{i}.lab.test,10.1.0.{i}"))
        .collect();
    let refs: Vec<&str> = records.iter().map(String::as_str).collect();
    let dns = Dnsmasq::start(&refs);
    let p = dns.probe();
    // Warm up (first socket binds, page faults).
    assert_eq!(
        p.query("h1.lab.test", RecordType::A).await.status,
        DnsStatus::NoError
    );

    // All 1,000 handed to the probe at once, as the engine may; the probe itself bounds what
    // is in flight per server.
    let mut times = Vec::new();
    for _ in 0..10 {
        let start = Instant::now();
        let tasks: Vec<_> = (0..1000)
            .map(|i| {
                let p = p.clone();
                tokio::spawn(async move {
                    p.query(&format!("h{}.lab.test", i % 100), RecordType::A)
                        .await
                })
            })
            .collect();
        let mut ok = 0;
        for t in tasks {
            if t.await.expect("task").status == DnsStatus::NoError {
                ok += 1;
            }
        }
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(ok, 1000);
    }
    println!("1000 lookups, 10 runs (ms): {times:.1?}");
    times.sort_by(f64::total_cmp);
    println!(
        "min {:.1} ms, median {:.1} ms, max {:.1} ms",
        times[0], times[5], times[9]
    );
    assert!(
        times[5] < 200.0,
        "median {:.1} ms over the 200 ms target",
        times[5]
    );
}

/// A UDP server on loopback that counts queries, ignores those arriving in its first `stall`
/// (a server busy under a scan's load), then answers each with `rcode` (the query echoed
/// with QR set). Stops when dropped.
struct StallServer {
    addr: SocketAddr,
    queries: std::sync::Arc<AtomicU32>,
    task: tokio::task::JoinHandle<()>,
}

impl StallServer {
    async fn start(stall: Duration, rcode: u8) -> StallServer {
        let sock = tokio::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind");
        let addr = sock.local_addr().expect("local address");
        let queries = std::sync::Arc::new(AtomicU32::new(0));
        let counter = queries.clone();
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let mut buf = [0u8; 1500];
            while let Ok((n, from)) = sock.recv_from(&mut buf).await {
                if n < 12 {
                    continue;
                }
                counter.fetch_add(1, Ordering::SeqCst);
                if started.elapsed() < stall {
                    continue;
                }
                let mut reply = buf[..n].to_vec();
                reply[2] |= 0x80;
                reply[3] = (reply[3] & 0xf0) | (rcode & 0x0f);
                let _ = sock.send_to(&reply, from).await;
            }
        });
        StallServer {
            addr,
            queries,
            task,
        }
    }

    fn queries(&self) -> u32 {
        self.queries.load(Ordering::SeqCst)
    }
}

impl Drop for StallServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// With a 300 ms timeout hickory sends one datagram per try (its retransmission comes after
/// 333 ms), so the server sees exactly the tries: at 0, 150 and 300 ms. The first two fall
/// in the stall; the third is answered and the lookup is not a timeout.
#[tokio::test]
async fn reverse_retries_until_a_stalled_server_answers() {
    let server = StallServer::start(Duration::from_millis(250), 0).await;
    let p = DnsProbe::new(Some(server.addr), Duration::from_millis(300)).unwrap();
    let (_, r) = p.reverse("10.0.0.5".parse().unwrap()).await;
    assert_eq!(r.status, DnsStatus::NoError, "{r:?}");
    assert_answered_by(&r, server.addr);
    assert_eq!(server.queries(), 3);
    let rtt = r.rtt_ms.expect("rtt of the answered try");
    assert!(rtt < 150.0, "rtt counts from the answered try: {rtt}");
    // A plain query is not retried: the same stall would be a timeout.
    let stalled = StallServer::start(Duration::from_millis(400), 0).await;
    let p = DnsProbe::new(Some(stalled.addr), Duration::from_millis(300)).unwrap();
    let q = p.query("10.0.0.5", RecordType::PTR).await;
    assert_eq!(q.status, DnsStatus::Timeout, "{q:?}");
    assert_eq!(stalled.queries(), 1);
}

/// An answer, even SERVFAIL or REFUSED, ends the tries with that server.
#[tokio::test]
async fn reverse_does_not_retry_an_answer() {
    for (rcode, status) in [
        (2, DnsStatus::ServFail),
        (3, DnsStatus::NxDomain),
        (5, DnsStatus::Refused),
    ] {
        let server = StallServer::start(Duration::ZERO, rcode).await;
        let p = DnsProbe::new(Some(server.addr), Duration::from_millis(300)).unwrap();
        let (host, r) = p.reverse("10.0.0.5".parse().unwrap()).await;
        assert_eq!(host, None);
        assert_eq!(r.status, status, "{r:?}");
        assert_answered_by(&r, server.addr);
        assert_eq!(server.queries(), 1, "rcode {rcode} retried");
    }
}

/// Only a lookup whose every try went unanswered is a timeout, after the staggered window.
#[tokio::test]
async fn reverse_times_out_after_every_try() {
    let server = StallServer::start(Duration::from_secs(3600), 0).await;
    let p = DnsProbe::new(Some(server.addr), Duration::from_millis(300)).unwrap();
    let start = Instant::now();
    let (_, r) = p.reverse("10.0.0.5".parse().unwrap()).await;
    let took = start.elapsed();
    assert_eq!(r.status, DnsStatus::Timeout, "{r:?}");
    assert_eq!(r.server.as_deref(), Some(server.addr.to_string().as_str()));
    assert_eq!(r.rtt_ms, None);
    assert_eq!(server.queries(), 3);
    assert!(
        took >= Duration::from_millis(550) && took < Duration::from_millis(1500),
        "{took:?}"
    );
}
