//! DNS probe: asks name servers directly, one exchange per server, so that every result says
//! exactly which server gave which answer.
//!
//! # Why not `hickory_resolver::Resolver`
//! The resolver is built for applications, not for diagnosis: its name-server pool reorders
//! servers by smoothed RTT, may ask several at once and never says which one answered; its
//! cache makes a repeated probe report a latency of zero; and its search list can turn a query
//! for `x` into one for `x.corp.example`. A technician asking "which server said NXDOMAIN, and
//! how fast?" needs the raw response. So this module uses hickory's lower-level pieces instead (the same ones the
//! resolver is made of): `hickory-proto` builds and parses messages, `hickory-net`'s
//! [`UdpClientStream`] sends each query from a fresh random source port, checks the reply's
//! source, id and question, and retransmits within the timeout; a truncated reply is retried
//! over TCP. Nothing is cached, so every probe measures the network and the server.
//!
//! # Servers and failover
//! With `--resolver` only that server is asked. With the system configuration the servers of
//! `/etc/resolv.conf` are asked in order, like the C library's stub resolver: a server that
//! times out, fails or answers SERVFAIL/REFUSED (or another error code) hands over to the next;
//! NOERROR and NXDOMAIN are final. The result names the server whose outcome it reports, and
//! when earlier servers failed, `error` says which and how (even on a NOERROR result), because a
//! dead primary server is exactly what a technician is looking for.
//!
//! # Timeout
//! The timeout bounds one exchange with one server (UDP, including hickory's retransmissions
//! every 333 ms; a TCP retry after truncation gets its own budget). With several servers a
//! query can therefore take up to `servers x timeout`, as with the C library.
//!
//! # Reverse lookups
//! [`DnsProbe::reverse`] runs during scans, many at once and beside the scan's own load, so it
//! is paced and retried (see `dns_pace`): at most [`PTR_IN_FLIGHT_PER_SERVER`] in flight per
//! server, [`PTR_SPACING`] apart, and up to [`PTR_TRIES`] staggered tries per server (one
//! datagram each, half a timeout apart, all listening until `(tries + 1) x timeout / 2`: twice
//! the timeout with three tries). Any DNS answer (NOERROR, NXDOMAIN, SERVFAIL, REFUSED...) ends
//! the tries with that server; only a server that left every try unanswered timed out.
//! `rtt_ms` is the time of the try that was answered, from its own query.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::tcp::TcpClientStream;
use hickory_resolver::net::udp::UdpClientStream;
use hickory_resolver::net::xfer::DnsClientStream;
use hickory_resolver::net::xfer::{
    DnsExchange, DnsHandle, DnsMultiplexer, DnsRequestSender, FirstAnswer,
};
use hickory_resolver::net::{BufDnsStreamHandle, DnsError as NetDnsError, NetError};
use hickory_resolver::proto::op::{
    DnsRequest, DnsRequestOptions, DnsResponse, Query, ResponseCode,
};
use hickory_resolver::proto::rr::{Name, RData, RecordType as WireType};
use tokio::sync::Semaphore;

use crate::core::model::{DnsAnswer, DnsResult, DnsStatus, RecordType};
use crate::net::dns_pace::{Pacer, TryPlan};
use crate::net::dns_tls::{self, TlsPeer};
use crate::net::sys::resolvers::{RESOLV_CONF, ResolvConf};

/// Port of every server named in `/etc/resolv.conf` (the format has no port field).
const DNS_PORT: u16 = 53;

/// Queries in flight to one server at most. A burst of 1,000 at once overflows dnsmasq's
/// socket buffer on loopback (measured: one run in three then waits for hickory's 333 ms
/// retransmission), and router firmware is weaker still (dnsmasq forwards at most 150 queries
/// at a time by default). 128 kept 1,000 lookups at about 30 ms with no loss; waiting for a
/// slot is not counted in `rtt_ms` or in the timeout.
const MAX_IN_FLIGHT_PER_SERVER: usize = 128;

/// TCP queries (`--tcp`) in flight to one server at most. Each is its own connection, and
/// dnsmasq serves at most 20 at once (a child process each) with a listen backlog of 32:
/// 64 at once lost SYNs in the lab, and each lost SYN cost a 1 s retransmission (200
/// lookups took 2.1 s instead of 0.1 s).
const TCP_IN_FLIGHT_PER_SERVER: usize = 16;

/// DoT and DoH queries in flight to one server at most, each on its own connection. unbound
/// serves 10 TCP/TLS connections per thread by default and drops the ones past it: at 16 at
/// once, queries in the lab failed with a broken pipe.
const TLS_IN_FLIGHT_PER_SERVER: usize = 8;

/// Reverse lookups in flight to one server at most. A scan of a /24 with `-p all` asked for
/// 33 names at once beside its port scan and saw 10 time out on a healthy server; a small
/// window keeps each answer quick, and the whole set still takes well under a second.
pub const PTR_IN_FLIGHT_PER_SERVER: usize = 16;

/// Minimum gap between the starts of two reverse lookups to one server (1,000 per second).
pub const PTR_SPACING: Duration = Duration::from_millis(1);

/// Queries per reverse lookup and server at most (see `dns_pace::TryPlan`).
pub const PTR_TRIES: u32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    #[error("invalid resolver {token:?}: {reason}")]
    InvalidResolver { token: String, reason: String },
    #[error("invalid DNS query {token:?}: {reason}")]
    InvalidQuery { token: String, reason: String },
    #[error("no name server configured in {source_name}; pass --resolver IP[:PORT]")]
    NoResolvers { source_name: String },
    #[error("cannot use the system DNS configuration {source_name}: {reason}")]
    SystemConfig { source_name: String, reason: String },
    #[error("the DNS timeout must be greater than zero")]
    ZeroTimeout,
}

pub type Result<T> = std::result::Result<T, DnsError>;

/// Parse `--resolver IP[:PORT]`: `10.0.0.53`, `10.0.0.53:5353`, `[2001:db8::1]:53`,
/// `[2001:db8::1]` or bare `2001:db8::1` (a bare IPv6 address takes no port). Port 53 by default.
pub fn parse_resolver(s: &str) -> Result<SocketAddr> {
    let err = |reason: &str| DnsError::InvalidResolver {
        token: s.to_string(),
        reason: reason.to_string(),
    };
    let t = s.trim();
    let addr = if let Ok(sa) = t.parse::<SocketAddr>() {
        sa
    } else if let Some(ip) = parse_ip_literal(t) {
        SocketAddr::new(ip, DNS_PORT)
    } else if let Some((host, port)) = t.rsplit_once(':')
        && parse_ip_literal(host).is_some()
    {
        return Err(err(&format!(
            "port {port:?} is not a number from 1 to 65535"
        )));
    } else {
        return Err(err(
            "expected an IP address with an optional port: 10.0.0.53, 10.0.0.53:5353, \
             [2001:db8::1]:53 or 2001:db8::1",
        ));
    };
    if addr.port() == 0 {
        return Err(err("port 0 cannot be queried"));
    }
    if addr.ip().is_unspecified() {
        return Err(err("the unspecified address names no server"));
    }
    if addr.ip().is_multicast() {
        return Err(err("a multicast address names no single server"));
    }
    Ok(addr)
}

/// Parse `--dns NAME[:TYPE]` (type A by default, case-insensitive): `example.lab.test:MX`.
/// An address asks for its PTR record: `10.0.0.5`, `10.0.0.5:PTR`, `2001:db8::1`,
/// `[2001:db8::1]:PTR` all become the matching `in-addr.arpa`/`ip6.arpa` name.
/// Names are returned in ASCII form (IDNA applied), without the trailing dot.
pub fn parse_query(s: &str) -> Result<(String, RecordType)> {
    let err = |reason: String| DnsError::InvalidQuery {
        token: s.to_string(),
        reason,
    };
    let t = s.trim();
    if t.is_empty() {
        return Err(err("empty query; expected NAME[:TYPE]".to_string()));
    }
    // The whole token first: `fe80::a` is an address, not the name `fe80:` with type A.
    if let Some(ip) = parse_ip_literal(t) {
        return Ok((reverse_name(ip), RecordType::PTR));
    }
    let (name, rtype) = match t.rsplit_once(':') {
        Some((name, ty)) => (
            name,
            RecordType::from_str(ty).map_err(|e| err(e.to_string()))?,
        ),
        None => (t, RecordType::A),
    };
    if let Some(ip) = parse_ip_literal(name) {
        return if rtype == RecordType::PTR {
            Ok((reverse_name(ip), RecordType::PTR))
        } else {
            Err(err(format!(
                "an address has no {rtype} record; use {name}:PTR (or just {name}) \
                 for a reverse lookup"
            )))
        };
    }
    let parsed = parse_name(name).map_err(err)?;
    Ok((display_name(&parsed), rtype))
}

/// Validate a name to look up as written (no `:TYPE` suffix): its ASCII form (IDNA
/// applied) without the trailing dot, or why it is not a domain name.
pub fn parse_domain(s: &str) -> Result<String> {
    parse_name(s.trim())
        .map(|n| display_name(&n))
        .map_err(|reason| DnsError::InvalidQuery {
            token: s.to_string(),
            reason,
        })
}

/// An IP address, IPv6 optionally in brackets.
pub fn parse_ip_literal(s: &str) -> Option<IpAddr> {
    if let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return inner.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    s.parse().ok()
}

/// `10.0.0.5` -> `5.0.0.10.in-addr.arpa`.
pub fn reverse_name(ip: IpAddr) -> String {
    display_name(&Name::from(ip))
}

/// Validate a user-typed domain name. Relaxed on purpose: LAN host names with underscores
/// exist, and `_sip._tcp` labels are needed for SRV. IDNA is applied to non-ASCII names.
fn parse_name(s: &str) -> std::result::Result<Name, String> {
    if let Some(c) = s
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || matches!(c, ':' | '/' | '@' | '\\'))
    {
        return Err(format!("{c:?} cannot appear in a domain name"));
    }
    if s.is_empty() {
        return Err("empty name".to_string());
    }
    if s != "." && s.trim_end_matches('.').split('.').any(str::is_empty) {
        return Err("empty label (two dots in a row, or a leading dot)".to_string());
    }
    let mut name = Name::from_str_relaxed(s).map_err(|e| format!("not a domain name: {e}"))?;
    name.set_fqdn(true);
    Ok(name)
}

/// A name as reports show it: ASCII (punycode, escaped bytes), without the trailing dot.
fn display_name(name: &Name) -> String {
    if name.is_root() {
        return ".".to_string();
    }
    let mut s = name.to_ascii();
    if s.ends_with('.') {
        s.pop();
    }
    s
}

fn wire_type(t: RecordType) -> WireType {
    match t {
        RecordType::A => WireType::A,
        RecordType::AAAA => WireType::AAAA,
        RecordType::MX => WireType::MX,
        RecordType::TXT => WireType::TXT,
        RecordType::CNAME => WireType::CNAME,
        RecordType::NS => WireType::NS,
        RecordType::SOA => WireType::SOA,
        RecordType::PTR => WireType::PTR,
        RecordType::SRV => WireType::SRV,
        RecordType::CAA => WireType::CAA,
        RecordType::ANY => WireType::ANY,
        RecordType::HTTPS => WireType::HTTPS,
        RecordType::SVCB => WireType::SVCB,
        RecordType::NAPTR => WireType::NAPTR,
        RecordType::SSHFP => WireType::SSHFP,
        RecordType::TLSA => WireType::TLSA,
        RecordType::DS => WireType::DS,
        RecordType::DNSKEY => WireType::DNSKEY,
    }
}

/// One record's data in zone-file presentation. Names are written in ASCII with hickory's
/// escaping, so a hostile PTR cannot smuggle raw control bytes into a report.
fn present(rdata: &RData) -> String {
    match rdata {
        RData::A(a) => a.0.to_string(),
        RData::AAAA(a) => a.0.to_string(),
        RData::CNAME(n) => n.0.to_ascii(),
        RData::NS(n) => n.0.to_ascii(),
        RData::PTR(n) => n.0.to_ascii(),
        RData::MX(mx) => format!("{} {}", mx.preference, mx.exchange.to_ascii()),
        RData::SOA(soa) => format!(
            "{} {} {} {} {} {} {}",
            soa.mname.to_ascii(),
            soa.rname.to_ascii(),
            soa.serial,
            soa.refresh,
            soa.retry,
            soa.expire,
            soa.minimum
        ),
        RData::SRV(srv) => format!(
            "{} {} {} {}",
            srv.priority,
            srv.weight,
            srv.port,
            srv.target.to_ascii()
        ),
        // The character-strings of one TXT record form one value (SPF, DKIM): joined as is.
        RData::TXT(txt) => txt
            .txt_data
            .iter()
            .map(|s| String::from_utf8_lossy(s))
            .collect(),
        other => other.to_string(),
    }
}

pub(crate) fn status_of(code: ResponseCode) -> DnsStatus {
    match code {
        ResponseCode::NoError => DnsStatus::NoError,
        ResponseCode::NXDomain => DnsStatus::NxDomain,
        ResponseCode::ServFail => DnsStatus::ServFail,
        ResponseCode::Refused => DnsStatus::Refused,
        _ => DnsStatus::Error,
    }
}

fn rcode_text(code: ResponseCode) -> String {
    format!(
        "server answered rcode {} ({})",
        u16::from(code),
        code.to_str()
    )
}

/// Milliseconds with three decimals, as elsewhere in the report.
fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// The wire a query travels over. The probe asks over UDP and retries a truncated answer
/// over TCP; `netdx dns --tcp` asks over TCP from the start (as `dig +tcp`), which tests a
/// server's TCP listener and firewalls that let only UDP through; `tls` (DoT, RFC 7858) and
/// `https` (DoH, RFC 8484) are the encrypted transports of `netdx dns` (see
/// [`crate::net::dns_tls`]).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    #[default]
    Udp,
    Tcp,
    Tls,
    Https,
}

impl Transport {
    pub fn label(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
            Transport::Https => "https",
        }
    }

    /// The port of a server named without one.
    pub fn default_port(self) -> u16 {
        match self {
            Transport::Udp | Transport::Tcp => DNS_PORT,
            Transport::Tls => dns_tls::DOT_PORT,
            Transport::Https => dns_tls::DOH_PORT,
        }
    }
}

/// A [`Transport`] with what it needs to be used: the TLS peer of DoT and DoH, the URL path
/// of DoH.
#[derive(Debug, Clone)]
pub enum Wire {
    Udp,
    Tcp,
    Tls(TlsPeer),
    Https { peer: TlsPeer, path: Arc<str> },
}

impl Wire {
    pub fn transport(&self) -> Transport {
        match self {
            Wire::Udp => Transport::Udp,
            Wire::Tcp => Transport::Tcp,
            Wire::Tls(_) => Transport::Tls,
            Wire::Https { .. } => Transport::Https,
        }
    }
}

/// What [`DnsProbe::ask`] returns: the result, and the response code exactly as the server
/// sent it (`NOTIMP`, `FORMERR`... which [`DnsStatus`] folds into `ERROR`); `None` when no
/// response came (timeout, network error).
#[derive(Debug, Clone, PartialEq)]
pub struct Asked {
    pub result: DnsResult,
    pub rcode: Option<String>,
}

/// A response code's mnemonic, as dig prints it.
pub fn rcode_name(code: ResponseCode) -> String {
    match code {
        ResponseCode::NoError => "NOERROR".to_string(),
        ResponseCode::FormErr => "FORMERR".to_string(),
        ResponseCode::ServFail => "SERVFAIL".to_string(),
        ResponseCode::NXDomain => "NXDOMAIN".to_string(),
        ResponseCode::NotImp => "NOTIMP".to_string(),
        ResponseCode::Refused => "REFUSED".to_string(),
        ResponseCode::YXDomain => "YXDOMAIN".to_string(),
        ResponseCode::YXRRSet => "YXRRSET".to_string(),
        ResponseCode::NXRRSet => "NXRRSET".to_string(),
        ResponseCode::NotAuth => "NOTAUTH".to_string(),
        ResponseCode::NotZone => "NOTZONE".to_string(),
        other => format!("RCODE{}", u16::from(other)),
    }
}

/// The outcome of one exchange with one server.
pub(crate) struct Attempt {
    server: SocketAddr,
    status: DnsStatus,
    /// The response code the server sent, when it sent a response.
    rcode: Option<ResponseCode>,
    answers: Vec<DnsAnswer>,
    rtt: Option<Duration>,
    error: Option<String>,
    /// The server sent a DNS response (as opposed to a timeout or a local error).
    responded: bool,
}

impl Attempt {
    pub(crate) fn from_response(server: SocketAddr, response: &DnsResponse, rtt: Duration) -> Self {
        let code = response.response_code;
        let status = status_of(code);
        Attempt {
            server,
            status,
            rcode: Some(code),
            answers: response
                .answers
                .iter()
                .map(|r| DnsAnswer {
                    rtype: r.record_type().to_string(),
                    value: present(&r.data),
                    ttl: r.ttl,
                })
                .collect(),
            rtt: Some(rtt),
            error: (status == DnsStatus::Error).then(|| rcode_text(code)),
            responded: true,
        }
    }

    fn from_error(server: SocketAddr, error: &NetError) -> Self {
        let (status, error, rcode) = match error {
            NetError::Timeout => (DnsStatus::Timeout, None, None),
            // Not produced by the raw exchanges used here, but mapped by kind should that change.
            NetError::Dns(NetDnsError::ResponseCode(code)) => {
                let status = status_of(*code);
                let text = (status == DnsStatus::Error).then(|| rcode_text(*code));
                (status, text, Some(*code))
            }
            NetError::Dns(NetDnsError::NoRecordsFound(no)) => {
                (status_of(no.response_code), None, Some(no.response_code))
            }
            other => (DnsStatus::Error, Some(dns_tls::explain(other)), None),
        };
        Attempt {
            server,
            status,
            rcode,
            responded: rcode.is_some(),
            answers: Vec::new(),
            rtt: None,
            error,
        }
    }

    fn is_final(&self) -> bool {
        matches!(self.status, DnsStatus::NoError | DnsStatus::NxDomain)
    }

    fn summary(&self) -> String {
        match &self.error {
            Some(e) => format!("{} {}: {e}", self.server, self.status.label()),
            None => format!("{} {}", self.server, self.status.label()),
        }
    }
}

struct Inner {
    servers: Vec<SocketAddr>,
    /// One gate per server, same order, bounding the queries in flight to it.
    gates: Vec<Semaphore>,
    /// One gate per server, same order, bounding the TCP-only queries in flight to it.
    tcp_gates: Vec<Semaphore>,
    /// One gate per server, same order, bounding the DoT and DoH queries in flight to it.
    tls_gates: Vec<Semaphore>,
    /// One pacer per server, same order, for reverse lookups only.
    ptr_pacers: Vec<Pacer>,
    timeout: Duration,
    /// Search domains from resolv.conf; used only by [`DnsProbe::resolve_host`].
    search: Vec<Name>,
    ndots: usize,
    provider: TokioRuntimeProvider,
}

/// The DNS probe. Cheap to clone; all clones share one configuration and one runtime provider.
/// No background task and no socket is held between lookups: each exchange opens its own
/// randomly bound UDP socket (what makes spoofed answers hard to inject) and closes it, so
/// hundreds of lookups can be in flight at once and a probe may be created before the tokio
/// runtime starts.
#[derive(Clone)]
pub struct DnsProbe {
    inner: Arc<Inner>,
}

impl fmt::Debug for DnsProbe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DnsProbe")
            .field("servers", &self.inner.servers)
            .field("timeout", &self.inner.timeout)
            .field("search", &self.inner.search)
            .finish()
    }
}

impl DnsProbe {
    /// `server: None` uses the system configuration (`/etc/resolv.conf`, which `ip netns exec`
    /// bind-mounts per namespace); `Some` asks only that server. `timeout` bounds each exchange
    /// with one server.
    pub fn new(server: Option<SocketAddr>, timeout: Duration) -> Result<DnsProbe> {
        match server {
            Some(server) => Self::with_servers(vec![server], timeout),
            None => Self::system(timeout),
        }
    }

    /// Ask these servers, in this order, failing over as described in the module docs.
    pub fn with_servers(servers: Vec<SocketAddr>, timeout: Duration) -> Result<DnsProbe> {
        if servers.is_empty() {
            return Err(DnsError::NoResolvers {
                source_name: "the server list".to_string(),
            });
        }
        Self::build(servers, Vec::new(), 1, timeout)
    }

    /// Build from a parsed resolv.conf: its servers (port 53, in order, scoped link-local
    /// ones with their interface), its search list and `ndots`. Its `timeout`/`attempts`
    /// options are ignored: `timeout` wins.
    pub fn from_resolv_conf(rc: &ResolvConf, timeout: Duration) -> Result<DnsProbe> {
        Self::from_resolv_conf_named(rc, timeout, "resolv.conf text")
    }

    fn from_resolv_conf_named(
        rc: &ResolvConf,
        timeout: Duration,
        source: &str,
    ) -> Result<DnsProbe> {
        let servers = rc.servers();
        if servers.is_empty() {
            return Err(DnsError::NoResolvers {
                source_name: source.to_string(),
            });
        }
        // A search domain that is no domain name is skipped, as the C library would fail it.
        let search = rc
            .search
            .iter()
            .filter_map(|d| parse_name(d).ok())
            .collect();
        Self::build(servers, search, rc.ndots, timeout)
    }

    fn system(timeout: Duration) -> Result<DnsProbe> {
        let rc = ResolvConf::read().map_err(|e| DnsError::SystemConfig {
            source_name: RESOLV_CONF.to_string(),
            reason: e.to_string(),
        })?;
        Self::from_resolv_conf_named(&rc, timeout, RESOLV_CONF)
    }

    fn build(
        servers: Vec<SocketAddr>,
        search: Vec<Name>,
        ndots: usize,
        timeout: Duration,
    ) -> Result<DnsProbe> {
        if timeout.is_zero() {
            return Err(DnsError::ZeroTimeout);
        }
        Ok(DnsProbe {
            inner: Arc::new(Inner {
                gates: servers
                    .iter()
                    .map(|_| Semaphore::new(MAX_IN_FLIGHT_PER_SERVER))
                    .collect(),
                tcp_gates: servers
                    .iter()
                    .map(|_| Semaphore::new(TCP_IN_FLIGHT_PER_SERVER))
                    .collect(),
                tls_gates: servers
                    .iter()
                    .map(|_| Semaphore::new(TLS_IN_FLIGHT_PER_SERVER))
                    .collect(),
                ptr_pacers: servers
                    .iter()
                    .map(|_| Pacer::new(PTR_IN_FLIGHT_PER_SERVER, PTR_SPACING))
                    .collect(),
                servers,
                timeout,
                search,
                ndots,
                provider: TokioRuntimeProvider::default(),
            }),
        })
    }

    /// The servers asked, in order.
    pub fn servers(&self) -> Vec<SocketAddr> {
        self.inner.servers.clone()
    }

    /// Any query, for the name exactly as given (like `dig`: no search list). An address with
    /// type PTR is turned into its reverse name. Never fails: every problem becomes a result
    /// with the matching status. `server` names the server whose outcome is reported (for
    /// TIMEOUT, the one that did not answer); `rtt_ms` is that exchange's time.
    pub async fn query(&self, name: &str, rtype: RecordType) -> DnsResult {
        self.ask(name, rtype, &Wire::Udp).await.result
    }

    /// [`DnsProbe::query`] over a chosen transport, with the server's response code: what
    /// `netdx dns` shows for each name, type and server.
    pub async fn ask(&self, name: &str, rtype: RecordType, wire: &Wire) -> Asked {
        let parsed = match parse_ip_literal(name.trim()) {
            Some(ip) if rtype == RecordType::PTR => Ok(Name::from(ip)),
            _ => parse_name(name.trim()),
        };
        match parsed {
            Ok(n) => self.lookup_on(&n, rtype, Pace::Once, wire).await,
            Err(reason) => Asked {
                rcode: None,
                result: invalid_name(name, rtype, &reason),
            },
        }
    }

    /// PTR lookup for an address: the first PTR target (no trailing dot, hickory's escaping
    /// for odd bytes) if any, and the result for the report.
    pub async fn reverse(&self, ip: IpAddr) -> (Option<String>, DnsResult) {
        let result = self
            .lookup(&Name::from(ip), RecordType::PTR, Pace::Reverse)
            .await;
        let host = result
            .answers
            .iter()
            .find(|a| a.rtype == "PTR")
            .map(|a| a.value.strip_suffix('.').unwrap_or(&a.value).to_string())
            .filter(|h| !h.is_empty());
        (host, result)
    }

    /// A and AAAA for a host name, asked concurrently: the addresses (A first, no duplicates)
    /// and the results. With the system configuration, a name without a trailing dot goes
    /// through the resolv.conf search list like in the C library (fewer dots than `ndots`:
    /// search domains first); the first candidate with an address wins and only its two
    /// results are returned, otherwise the results of every candidate tried. An address
    /// literal is returned as is, without any query.
    pub async fn resolve_host(&self, name: &str) -> (Vec<IpAddr>, Vec<DnsResult>) {
        let trimmed = name.trim();
        if let Some(ip) = parse_ip_literal(trimmed) {
            return (vec![ip], Vec::new());
        }
        let parsed = match parse_name(trimmed) {
            Ok(n) => n,
            Err(reason) => {
                let invalid = |rtype| invalid_name(name, rtype, &reason);
                return (
                    Vec::new(),
                    vec![invalid(RecordType::A), invalid(RecordType::AAAA)],
                );
            }
        };
        let absolute = trimmed.ends_with('.');
        let candidates = search_candidates(&parsed, absolute, &self.inner.search, self.inner.ndots);
        let mut tried = Vec::new();
        for candidate in candidates {
            let (a, aaaa) = tokio::join!(
                self.lookup(&candidate, RecordType::A, Pace::Once),
                self.lookup(&candidate, RecordType::AAAA, Pace::Once)
            );
            let addrs = addresses(&[&a, &aaaa]);
            if !addrs.is_empty() {
                return (addrs, vec![a, aaaa]);
            }
            tried.push(a);
            tried.push(aaaa);
        }
        (Vec::new(), tried)
    }

    /// Ask the servers in order until one gives a final answer (NOERROR or NXDOMAIN).
    async fn lookup(&self, name: &Name, rtype: RecordType, pace: Pace) -> DnsResult {
        self.lookup_on(name, rtype, pace, &Wire::Udp).await.result
    }

    /// [`DnsProbe::lookup`] over `transport`, with the chosen server's response code.
    async fn lookup_on(&self, name: &Name, rtype: RecordType, pace: Pace, wire: &Wire) -> Asked {
        let mut failed: Vec<Attempt> = Vec::new();
        let mut chosen = None;
        let servers = self.inner.servers.iter().zip(&self.inner.gates);
        let pacers = self.inner.ptr_pacers.iter().zip(&self.inner.tcp_gates);
        let stream_gates = pacers.zip(&self.inner.tls_gates);
        for ((server, gate), ((pacer, tcp_gate), tls_gate)) in servers.zip(stream_gates) {
            let attempt = match pace {
                Pace::Once => {
                    // The gate is never closed; should that change, asking without it is
                    // harmless.
                    let _slot = gate.acquire().await.ok();
                    let budget = Budget::single(self.inner.timeout);
                    match wire {
                        Wire::Udp => self.exchange(*server, name, rtype, budget).await,
                        // Each of these is a connection of its own (and a TLS handshake).
                        stream => {
                            let stream_gate = match stream {
                                Wire::Tls(_) | Wire::Https { .. } => tls_gate,
                                Wire::Udp | Wire::Tcp => tcp_gate,
                            };
                            let _conn = stream_gate.acquire().await.ok();
                            self.exchange_stream(*server, name, rtype, budget, stream)
                                .await
                        }
                    }
                }
                Pace::Reverse => {
                    let _paced = pacer.enter().await;
                    let _slot = gate.acquire().await.ok();
                    self.exchange_retried(*server, name, rtype).await
                }
            };
            if attempt.is_final() {
                chosen = Some(attempt);
                break;
            }
            failed.push(attempt);
        }
        let (attempt, error) = match chosen {
            Some(mut ok) => {
                let earlier: Vec<String> = failed.iter().map(Attempt::summary).collect();
                let error = if earlier.is_empty() {
                    ok.error.take()
                } else {
                    Some(format!("answered after {} failed", earlier.join("; ")))
                };
                (ok, error)
            }
            None => {
                let error = if failed.len() > 1 {
                    Some(
                        failed
                            .iter()
                            .map(Attempt::summary)
                            .collect::<Vec<_>>()
                            .join("; "),
                    )
                } else {
                    failed.first().and_then(|a| a.error.clone())
                };
                // Report the first server that actually answered (SERVFAIL says more than a
                // timeout), else the first one asked.
                let pick = failed.iter().position(|a| a.responded).unwrap_or(0);
                (failed.swap_remove(pick), error)
            }
        };
        Asked {
            rcode: attempt.rcode.map(rcode_name),
            result: DnsResult {
                name: display_name(name),
                rtype,
                status: attempt.status,
                answers: attempt.answers,
                server: Some(attempt.server.to_string()),
                rtt_ms: attempt.rtt.map(millis),
                error,
                findings: Vec::new(),
            },
        }
    }

    /// Up to [`PTR_TRIES`] staggered exchanges with one server (see `dns_pace::TryPlan`): the
    /// first DNS answer to any of them is the outcome. When none was answered, a local error
    /// (it says more) is reported before a timeout.
    async fn exchange_retried(
        &self,
        server: SocketAddr,
        name: &Name,
        rtype: RecordType,
    ) -> Attempt {
        let plan = TryPlan {
            tries: PTR_TRIES,
            timeout: self.inner.timeout,
        };
        let start = tokio::time::Instant::now();
        let mut pending: FuturesUnordered<_> = (0..plan.tries.max(1))
            .map(|k| async move {
                tokio::time::sleep_until(start + plan.offset(k)).await;
                // Every try listens until the end of the window: a late answer to the first
                // query is as good as an answer to the last.
                let budget = Budget {
                    timeout: plan.window() - plan.offset(k),
                    sends: 1,
                };
                self.exchange(server, name, rtype, budget).await
            })
            .collect();
        let mut lost = Vec::new();
        while let Some(attempt) = pending.next().await {
            if attempt.responded {
                // Dropping `pending` cancels the tries still waiting or not yet sent.
                return attempt;
            }
            lost.push(attempt);
        }
        if lost.is_empty() {
            return Attempt::from_error(server, &NetError::Timeout);
        }
        let pick = lost
            .iter()
            .position(|a| a.status != DnsStatus::Timeout)
            .unwrap_or(0);
        lost.swap_remove(pick)
    }

    /// One exchange with one server over a connection of its own: TCP only (`dig +tcp`),
    /// DoT or DoH. The time includes the connection's set-up (TCP, TLS and HTTP/2
    /// handshakes), as each query opens its own, like `dig +tls` and `kdig +tls`.
    async fn exchange_stream(
        &self,
        server: SocketAddr,
        name: &Name,
        rtype: RecordType,
        budget: Budget,
        wire: &Wire,
    ) -> Attempt {
        let start = Instant::now();
        let request = request_for(name, rtype);
        let answer = match wire {
            Wire::Udp | Wire::Tcp => self.tcp(server, request, budget.timeout).await,
            Wire::Tls(peer) => self.tls(server, request, budget.timeout, peer).await,
            Wire::Https { peer, path } => {
                self.https(server, request, budget.timeout, peer, path)
                    .await
            }
        };
        match answer {
            Ok(r) => Attempt::from_response(server, &r, start.elapsed()),
            Err(e) => Attempt::from_error(server, &e),
        }
    }

    /// One exchange with one server: UDP, then TCP if the answer was truncated.
    async fn exchange(
        &self,
        server: SocketAddr,
        name: &Name,
        rtype: RecordType,
        budget: Budget,
    ) -> Attempt {
        let request = request_for(name, rtype);
        let start = Instant::now();
        let udp = match self.udp(server, request.clone(), budget).await {
            Ok(r) => r,
            Err(e) => return Attempt::from_error(server, &e),
        };
        if !udp.truncation {
            return Attempt::from_response(server, &udp, start.elapsed());
        }
        match self.tcp(server, request, budget.timeout).await {
            Ok(r) => Attempt::from_response(server, &r, start.elapsed()),
            Err(e) => {
                let mut a = Attempt::from_response(server, &udp, start.elapsed());
                a.status = DnsStatus::Error;
                a.error = Some(format!(
                    "answer truncated over UDP ({} records kept) and the TCP retry failed: {}",
                    a.answers.len(),
                    match &e {
                        NetError::Timeout => "timeout".to_string(),
                        other => other.to_string(),
                    }
                ));
                a
            }
        }
    }

    async fn udp(
        &self,
        server: SocketAddr,
        request: DnsRequest,
        budget: Budget,
    ) -> std::result::Result<DnsResponse, NetError> {
        // Building the stream is cheap (no I/O); the query binds its own socket.
        let mut stream = UdpClientStream::builder(server, self.inner.provider.clone())
            .with_timeout(Some(budget.timeout))
            .with_max_retries(budget.sends)
            .build();
        // hickory ends the response stream without an item on timeout.
        stream
            .send_message(request)
            .next()
            .await
            .unwrap_or(Err(NetError::Timeout))
    }

    async fn tcp(
        &self,
        server: SocketAddr,
        request: DnsRequest,
        timeout: Duration,
    ) -> std::result::Result<DnsResponse, NetError> {
        let work = async {
            let (connect, handle) =
                TcpClientStream::new(server, None, Some(timeout), self.inner.provider.clone());
            one_exchange(connect.await?, handle, request, timeout).await
        };
        tokio::time::timeout(timeout, work)
            .await
            .unwrap_or(Err(NetError::Timeout))
    }

    /// DNS over TLS: hickory's TCP framing over a rustls stream, the connection driven here
    /// as in [`DnsProbe::tcp`]. SNI is sent for a host name (hickory's own `tls_exchange`
    /// turns it off; a diagnosis wants what a standard client sends).
    async fn tls(
        &self,
        server: SocketAddr,
        request: DnsRequest,
        timeout: Duration,
        peer: &TlsPeer,
    ) -> std::result::Result<DnsResponse, NetError> {
        let work = async {
            let (connect, handle) = hickory_resolver::net::tls::tls_client_connect(
                server,
                peer.name.clone(),
                Arc::clone(&peer.config),
                self.inner.provider.clone(),
            );
            one_exchange(connect.await?, handle, request, timeout).await
        };
        tokio::time::timeout(timeout, work)
            .await
            .unwrap_or(Err(NetError::Timeout))
    }

    /// DNS over HTTPS: one HTTP/2 connection (ALPN h2) and one POST of the message to
    /// `path`, hickory's client; a non-2xx status is an error naming it.
    async fn https(
        &self,
        server: SocketAddr,
        request: DnsRequest,
        timeout: Duration,
        peer: &TlsPeer,
        path: &Arc<str>,
    ) -> std::result::Result<DnsResponse, NetError> {
        let work = async {
            let mut builder = hickory_resolver::net::h2::HttpsClientStream::builder(
                Arc::clone(&peer.config),
                self.inner.provider.clone(),
            );
            builder.request_timeout(timeout);
            let mut stream = builder
                .build(server, Arc::from(peer.name_text()), Arc::clone(path))
                .await?;
            // Dropping the stream closes the connection (its driver task ends with it).
            stream
                .send_message(request)
                .next()
                .await
                .unwrap_or(Err(NetError::Timeout))
        };
        tokio::time::timeout(timeout, work)
            .await
            .unwrap_or(Err(NetError::Timeout))
    }
}

/// A recursive query with EDNS (a 1232-byte UDP payload, as hickory sets it).
fn request_for(name: &Name, rtype: RecordType) -> DnsRequest {
    let mut options = DnsRequestOptions::default();
    options.recursion_desired = true;
    options.use_edns = true;
    DnsRequest::from_query(Query::query(name.clone(), wire_type(rtype)), options)
}

/// Time and datagrams allowed for one UDP exchange (a TCP retry after truncation gets the
/// same time again).
#[derive(Debug, Clone, Copy)]
struct Budget {
    timeout: Duration,
    /// Datagrams hickory may send, one every 333 ms, within `timeout`.
    sends: u8,
}

impl Budget {
    /// A plain exchange: hickory's default of up to three datagrams.
    fn single(timeout: Duration) -> Self {
        Budget { timeout, sends: 3 }
    }
}

/// How a lookup asks each server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pace {
    /// One exchange, as `dig` would: for queries the user asked for.
    Once,
    /// Paced and retried: for the reverse lookups a scan makes in bulk.
    Reverse,
}

/// Names to try for a host name, in order (see [`DnsProbe::resolve_host`]).
fn search_candidates(name: &Name, absolute: bool, search: &[Name], ndots: usize) -> Vec<Name> {
    if absolute || search.is_empty() {
        return vec![name.clone()];
    }
    let mut relative = name.clone();
    relative.set_fqdn(false);
    let mut searched: Vec<Name> = search
        .iter()
        .filter_map(|domain| {
            let mut n = relative.clone().append_domain(domain).ok()?;
            n.set_fqdn(true);
            Some(n)
        })
        .collect();
    let dots = usize::from(name.num_labels()).saturating_sub(1);
    let mut out = Vec::with_capacity(searched.len() + 1);
    if dots >= ndots {
        out.push(name.clone());
        out.append(&mut searched);
    } else {
        out.append(&mut searched);
        out.push(name.clone());
    }
    out.dedup();
    out
}

/// A then AAAA addresses from the answers, without duplicates.
pub fn addresses(results: &[&DnsResult]) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = Vec::new();
    for r in results {
        for a in &r.answers {
            if (a.rtype == "A" || a.rtype == "AAAA")
                && let Ok(ip) = a.value.parse::<IpAddr>()
                && !out.contains(&ip)
            {
                out.push(ip);
            }
        }
    }
    out
}

/// The result for a name that cannot be asked at all (no query was sent).
fn invalid_name(name: &str, rtype: RecordType, reason: &str) -> DnsResult {
    DnsResult {
        name: name.to_string(),
        rtype,
        status: DnsStatus::Error,
        answers: Vec::new(),
        server: None,
        rtt_ms: None,
        error: Some(format!("invalid name: {reason}")),
        findings: Vec::new(),
    }
}

/// One query over a stream connection (TCP, TLS), the connection driven here instead of
/// spawned: it lives exactly as long as this one query.
async fn one_exchange<S: DnsClientStream>(
    stream: S,
    handle: BufDnsStreamHandle,
    request: DnsRequest,
    timeout: Duration,
) -> std::result::Result<DnsResponse, NetError> {
    let multiplexer = DnsMultiplexer::new(stream, handle).with_timeout(timeout);
    let (exchange, background) = DnsExchange::<TokioRuntimeProvider>::from_stream(multiplexer);
    let answer = exchange.send(request).first_answer();
    tokio::pin!(background);
    tokio::pin!(answer);
    tokio::select! {
        biased;
        r = &mut answer => r,
        () = &mut background => answer.await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_resolver::proto::rr::rdata::{MX, SOA, SRV, TXT};
    use std::net::Ipv4Addr;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn resolver_forms() {
        assert_eq!(parse_resolver("10.0.0.53").unwrap(), sa("10.0.0.53:53"));
        assert_eq!(
            parse_resolver("10.0.0.53:5353").unwrap(),
            sa("10.0.0.53:5353")
        );
        assert_eq!(parse_resolver(" 10.0.0.1:53 ").unwrap(), sa("10.0.0.1:53"));
        assert_eq!(parse_resolver("[::1]:5353").unwrap(), sa("[::1]:5353"));
        assert_eq!(parse_resolver("[::1]").unwrap(), sa("[::1]:53"));
        assert_eq!(parse_resolver("::1").unwrap(), sa("[::1]:53"));
        assert_eq!(
            parse_resolver("2001:db8::53").unwrap(),
            sa("[2001:db8::53]:53")
        );
    }

    #[test]
    fn resolver_errors_name_the_token() {
        for bad in [
            "",
            "dns.lab.test",
            "10.0.0.53:0",
            "10.0.0.53:99999",
            "10.0.0.53:dns",
            "0.0.0.0",
            "[::]:53",
            "224.0.0.251",
            "10.0.0.300",
            "[::1",
            "1.2.3.4\n5",
        ] {
            let e = parse_resolver(bad).expect_err(bad).to_string();
            assert!(e.contains(&format!("{bad:?}")), "{e}");
            assert!(!e.contains('\n'), "{e}");
        }
        assert!(
            parse_resolver("10.0.0.53:99999")
                .unwrap_err()
                .to_string()
                .contains("port")
        );
    }

    #[test]
    fn query_forms() {
        let q = |s| parse_query(s).unwrap();
        assert_eq!(q("www.lab.test"), ("www.lab.test".into(), RecordType::A));
        assert_eq!(q("lab.test:mx"), ("lab.test".into(), RecordType::MX));
        assert_eq!(q("Lab.Test.:Txt"), ("lab.test".into(), RecordType::TXT));
        assert_eq!(
            q("_sip._tcp.lab.test:SRV"),
            ("_sip._tcp.lab.test".into(), RecordType::SRV)
        );
        assert_eq!(
            q("my_pc.lab.test"),
            ("my_pc.lab.test".into(), RecordType::A)
        );
        assert_eq!(
            q("bücher.lab.test:AAAA"),
            ("xn--bcher-kva.lab.test".into(), RecordType::AAAA)
        );
        assert_eq!(q(".:NS"), (".".into(), RecordType::NS));
        assert_eq!(
            q("10.0.0.5:PTR"),
            ("5.0.0.10.in-addr.arpa".into(), RecordType::PTR)
        );
        assert_eq!(
            q("10.0.0.5"),
            ("5.0.0.10.in-addr.arpa".into(), RecordType::PTR)
        );
        let v6 = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa";
        assert_eq!(q("2001:db8::1:ptr"), (v6.into(), RecordType::PTR));
        assert_eq!(q("[2001:db8::1]:PTR"), (v6.into(), RecordType::PTR));
        assert_eq!(q("2001:db8::1"), (v6.into(), RecordType::PTR));
        // The last group looks like a type, but the whole token is an address.
        assert_eq!(q("fe80::a").1, RecordType::PTR);
    }

    #[test]
    fn query_errors_name_the_token() {
        for bad in [
            "",
            "www.lab.test:FOO",
            "www.lab.test:",
            ":A",
            "10.0.0.5:A",
            "a..b",
            ".lead",
            "two words",
            "esc\u{1b}ape",
            "host:53",
            &format!("{}.test", "a".repeat(64)),
            &format!("{}test", "abcdefghi.".repeat(26)),
        ] {
            let e = parse_query(bad).expect_err(bad).to_string();
            assert!(e.contains(&format!("{bad:?}")), "{e}");
            assert!(!e.contains('\n'), "{e}");
        }
        assert!(
            parse_query("x:FOO")
                .unwrap_err()
                .to_string()
                .contains("FOO")
        );
        assert!(
            parse_query("10.0.0.5:A")
                .unwrap_err()
                .to_string()
                .contains("PTR")
        );
    }

    #[test]
    fn presentation() {
        let name = |s: &str| Name::from_ascii(s).unwrap();
        assert_eq!(
            present(&RData::MX(MX::new(10, name("mail.lab.test.")))),
            "10 mail.lab.test."
        );
        assert_eq!(
            present(&RData::SRV(SRV::new(1, 2, 5060, name("sip.lab.test.")))),
            "1 2 5060 sip.lab.test."
        );
        assert_eq!(
            present(&RData::SOA(SOA::new(
                name("ns.lab.test."),
                name("admin.lab.test."),
                2024010101,
                3600,
                600,
                86400,
                300
            ))),
            "ns.lab.test. admin.lab.test. 2024010101 3600 600 86400 300"
        );
        assert_eq!(
            present(&RData::TXT(TXT::new(vec!["v=spf1 ".into(), "-all".into()]))),
            "v=spf1 -all"
        );
        let hostile =
            Name::from_labels(vec![b"a\x1b[31m\nb".as_slice(), b"lab".as_slice()]).unwrap();
        let shown = present(&RData::PTR(hickory_resolver::proto::rr::rdata::PTR(
            hostile,
        )));
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
    }

    #[test]
    fn search_order_follows_ndots() {
        let n = |s: &str| Name::from_ascii(s).unwrap();
        let search = [n("lab.test."), n("corp.test.")];
        let got = |name: &str, absolute, ndots| {
            let mut parsed = n(name);
            parsed.set_fqdn(true);
            search_candidates(&parsed, absolute, &search, ndots)
                .iter()
                .map(display_name)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            got("nas", false, 1),
            ["nas.lab.test", "nas.corp.test", "nas"]
        );
        assert_eq!(
            got("nas.office", false, 1),
            ["nas.office", "nas.office.lab.test", "nas.office.corp.test"]
        );
        assert_eq!(
            got("nas.office", false, 2),
            ["nas.office.lab.test", "nas.office.corp.test", "nas.office"]
        );
        assert_eq!(got("nas", true, 1), ["nas"]);
        let none = search_candidates(&n("nas."), false, &[], 1);
        assert_eq!(none, [n("nas.")]);
    }

    #[test]
    fn resolv_conf_is_read_in_order() {
        let rc = ResolvConf::parse(
            b"# lab\nsearch lab.test\nnameserver 127.0.0.1\nnameserver ::1\noptions ndots:2\n",
        );
        let p = DnsProbe::from_resolv_conf(&rc, Duration::from_secs(1)).unwrap();
        assert_eq!(p.servers(), [sa("127.0.0.1:53"), sa("[::1]:53")]);
        assert_eq!(p.inner.search, [Name::from_ascii("lab.test.").unwrap()]);
        assert_eq!(p.inner.ndots, 2);
        assert!(matches!(
            DnsProbe::from_resolv_conf(
                &ResolvConf::parse(b"search lab.test\n"),
                Duration::from_secs(1)
            ),
            Err(DnsError::NoResolvers { .. })
        ));
    }

    #[test]
    fn constructor_checks() {
        assert!(matches!(
            DnsProbe::new(Some(sa("127.0.0.1:53")), Duration::ZERO),
            Err(DnsError::ZeroTimeout)
        ));
        assert!(matches!(
            DnsProbe::with_servers(Vec::new(), Duration::from_secs(1)),
            Err(DnsError::NoResolvers { .. })
        ));
        let p = DnsProbe::new(Some(sa("127.0.0.1:5353")), Duration::from_secs(1)).unwrap();
        assert_eq!(p.servers(), [sa("127.0.0.1:5353")]);
        let ip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));
        assert_eq!(reverse_name(ip), "7.2.0.192.in-addr.arpa");
    }
}
