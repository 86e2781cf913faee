//! What `netdx serve` checks: the typed configuration, and the TOML file that adds to it.
//!
//! The file is checked completely before it is used (unknown keys, a port on a ping check, a
//! duplicate check name are errors), because a monitoring agent that silently ignores half its
//! config reports "all fine" about things it never looks at. Every error names the key.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::core::model::RecordType;
use serde::Deserialize;

/// Where the agent listens unless told otherwise: loopback only.
pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9430);
/// Consecutive equal results before a check's state changes.
pub const DEFAULT_FLAP: u32 = 2;
/// Seconds between two runs of a check unless it says otherwise.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);
/// Shortest and longest interval accepted, in seconds.
pub const MIN_INTERVAL_S: f64 = 0.5;
pub const MAX_INTERVAL_S: f64 = 86_400.0;
/// Longest check name: it is a label value, and label values must stay small.
pub const MAX_NAME: usize = 64;
/// Most checks one agent runs (each is a task and a few series).
pub const MAX_CHECKS: usize = 20_000;

/// One configured check: a unique name (the `check` label) and what to probe, how often.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckSpec {
    pub name: String,
    pub probe: Probe,
    pub interval: Duration,
}

/// What one check probes.
#[derive(Debug, Clone, PartialEq)]
pub enum Probe {
    /// An echo series to an address: loss and RTT.
    Ping { target: IpAddr },
    /// A TCP connect: open is success.
    Tcp { target: SocketAddr },
    /// A TLS handshake: success is a completed handshake with a certificate that has not
    /// expired; its end date is kept.
    Tls { target: SocketAddr },
    /// A DNS question to `server` (`None`: the system resolvers); success is NOERROR with an
    /// answer, and, when `expect` is given, exactly those values among the answers.
    Dns {
        server: Option<SocketAddr>,
        query: String,
        rtype: RecordType,
        expect: Vec<String>,
    },
    /// A traceroute (ICMP echo, on the session's raw prober): hop count, whether the target
    /// was reached, loss per hop.
    Path { target: IpAddr, plan: PathPlan },
    /// The LAN safety check of `netdx lan` (rogue DHCP, duplicate addresses, ARP claims on the
    /// gateway, rogue IPv6 routers) on one interface for one window.
    Lan(LanSpec),
    /// An ARP sweep of a subnet: how many addresses answer, and which MACs are new.
    Devices(DevicesSpec),
    /// The layered diagnosis of `netdx diagnose TARGET`.
    Diagnose(DiagnoseSpec),
}

/// Highest `max_ttl` a path check may ask for: the `hop` label stays within 1..=64.
pub const MAX_PATH_TTL: u8 = 64;
/// Most probes per hop of one path run.
pub const MAX_PATH_PROBES: u32 = 100;
/// Longest LAN listening window, in seconds.
pub const MAX_LAN_WINDOW_S: f64 = 60.0;

/// How a path check traces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathPlan {
    /// Highest TTL probed (the `hop` label never goes beyond it).
    pub max_ttl: u8,
    /// Probes per hop and run: the loss ratio moves in steps of 1/probes.
    pub probes: u32,
}

impl Default for PathPlan {
    fn default() -> Self {
        PathPlan {
            max_ttl: 30,
            probes: 10,
        }
    }
}

/// A LAN safety check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LanSpec {
    /// `None`: the interface of the default route.
    pub interface: Option<String>,
    pub window: Duration,
    /// DHCP servers allowed; empty: judged by the gateway, as `netdx lan` does.
    pub expect_dhcp: Vec<std::net::Ipv4Addr>,
}

/// A device-count check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevicesSpec {
    /// `None`: the interface of the default route.
    pub interface: Option<String>,
    /// `None`: the interface's own subnet (narrowed to the /22 around our address).
    pub subnet: Option<ipnet::Ipv4Net>,
}

/// A diagnosis check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiagnoseSpec {
    /// An address or a name (resolved by the system's resolvers, or `resolver`).
    pub target: String,
    pub ports: Vec<u16>,
    pub resolver: Option<SocketAddr>,
}

impl Probe {
    /// The `kind` label.
    pub fn kind(&self) -> &'static str {
        match self {
            Probe::Ping { .. } => "ping",
            Probe::Tcp { .. } => "tcp",
            Probe::Tls { .. } => "tls",
            Probe::Dns { .. } => "dns",
            Probe::Path { .. } => "path",
            Probe::Lan(_) => "lan",
            Probe::Devices(_) => "devices",
            Probe::Diagnose(_) => "diagnose",
        }
    }

    /// Every `kind` a config file may name, in the order errors list them.
    pub const KINDS: [&'static str; 8] = [
        "ping", "tcp", "dns", "tls", "path", "lan", "devices", "diagnose",
    ];

    /// The longest one run may take. Ping, TCP, DNS and TLS get [`super::probe::PROBE_TIMEOUT`]
    /// (or the interval when shorter); the others bound themselves by their own plans, so
    /// this is a safety net above that (a hung run must not block the next forever).
    pub fn time_limit(&self, interval: Duration) -> Duration {
        let probe = super::probe::PROBE_TIMEOUT;
        match self {
            Probe::Ping { .. } | Probe::Tcp { .. } | Probe::Tls { .. } | Probe::Dns { .. } => {
                probe.min(interval)
            }
            Probe::Path { plan, .. } => {
                super::deep::path_plan(*plan).timeout * 2
                    + super::deep::path_plan(*plan).interval * plan.probes
                    + Duration::from_secs(5)
            }
            Probe::Lan(l) => l.window * 3 + Duration::from_secs(5),
            Probe::Devices(_) => Duration::from_secs(30),
            Probe::Diagnose(_) => Duration::from_secs(60),
        }
    }

    /// The `target` label: an address (or `address:port`), or for DNS the server asked
    /// (`system` for the system resolvers). Never anything read from the network.
    pub fn target_label(&self) -> String {
        match self {
            Probe::Ping { target } => target.to_string(),
            Probe::Tcp { target } | Probe::Tls { target } => target.to_string(),
            Probe::Dns { server, .. } => server.map_or("system".to_string(), |s| s.to_string()),
            Probe::Path { target, .. } => target.to_string(),
            Probe::Lan(l) => l.interface.clone().unwrap_or_else(|| "default".to_string()),
            Probe::Devices(d) => match (&d.interface, d.subnet) {
                (_, Some(net)) => net.to_string(),
                (Some(i), None) => i.clone(),
                (None, None) => "default".to_string(),
            },
            Probe::Diagnose(d) => d.target.clone(),
        }
    }

    /// A name for a check that was not given one.
    fn default_name(&self) -> String {
        match self {
            Probe::Ping { target } => format!("ping-{target}"),
            Probe::Tcp { target } => format!("tcp-{}-{}", target.ip(), target.port()),
            Probe::Tls { target } => format!("tls-{}-{}", target.ip(), target.port()),
            Probe::Dns { query, rtype, .. } => format!("dns-{query}-{}", rtype.label()),
            Probe::Path { target, .. } => format!("path-{target}"),
            Probe::Lan(l) => format!("lan-{}", l.interface.as_deref().unwrap_or("default")),
            Probe::Devices(d) => match (&d.interface, d.subnet) {
                (_, Some(net)) => format!("devices-{}-{}", net.addr(), net.prefix_len()),
                (Some(i), None) => format!("devices-{i}"),
                (None, None) => "devices-default".to_string(),
            },
            Probe::Diagnose(d) => format!("diagnose-{}", d.target),
        }
    }

    /// The interval a check of this kind gets when it names none: the heavier checks run
    /// less often (a trace sends `max_ttl x probes` packets, a LAN check listens a window).
    fn default_interval(&self) -> Duration {
        match self {
            Probe::Ping { .. } | Probe::Tcp { .. } | Probe::Tls { .. } | Probe::Dns { .. } => {
                DEFAULT_INTERVAL
            }
            Probe::Path { .. } | Probe::Diagnose(_) => Duration::from_secs(60),
            Probe::Lan(_) | Probe::Devices(_) => Duration::from_secs(300),
        }
    }
}

/// Everything one `netdx serve` run needs, built at the edge.
#[derive(Debug, Clone, PartialEq)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub checks: Vec<CheckSpec>,
    /// Consecutive equal results before a state changes (at least 1).
    pub flap: u32,
    /// The config file, re-read on SIGHUP.
    pub file: Option<PathBuf>,
    /// Bearer token `/metrics` and `/` require, when one is configured.
    pub token: Option<super::auth::Token>,
    /// `--web-config`: TLS and basic auth for the listener.
    pub web: Option<super::web_config::WebConfig>,
}

/// The checks and settings a config file gives.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FileConfig {
    pub checks: Vec<CheckSpec>,
    pub flap: Option<u32>,
    pub listen: Option<SocketAddr>,
    /// The bearer token's file, relative paths taken from the config file's directory.
    pub token_file: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("{file}: cannot read: {why}")]
    Read { file: String, why: String },
    #[error("{file}: {why}")]
    Syntax { file: String, why: String },
    #[error("{file}: {key}: {why}")]
    Key {
        file: String,
        key: String,
        why: String,
    },
    #[error("{0}")]
    Cli(String),
    #[error(transparent)]
    Token(#[from] super::auth::TokenError),
}

pub type Result<T> = std::result::Result<T, ConfigError>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    flap: Option<i64>,
    listen: Option<String>,
    token_file: Option<PathBuf>,
    #[serde(default)]
    check: Vec<toml::Spanned<RawCheck>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    kind: String,
    target: Option<String>,
    port: Option<i64>,
    query: Option<String>,
    #[serde(rename = "type")]
    rtype: Option<String>,
    #[serde(default)]
    expect: Vec<String>,
    interval: Option<f64>,
    name: Option<String>,
    max_ttl: Option<i64>,
    probes: Option<i64>,
    interface: Option<String>,
    window: Option<f64>,
    expect_dhcp: Option<Vec<String>>,
    subnet: Option<String>,
    ports: Option<Vec<i64>>,
    resolver: Option<String>,
}

impl RawCheck {
    /// The optional keys this entry sets (kind, interval and name go with every kind).
    fn present(&self) -> Vec<&'static str> {
        [
            ("target", self.target.is_some()),
            ("port", self.port.is_some()),
            ("query", self.query.is_some()),
            ("type", self.rtype.is_some()),
            ("expect", !self.expect.is_empty()),
            ("max_ttl", self.max_ttl.is_some()),
            ("probes", self.probes.is_some()),
            ("interface", self.interface.is_some()),
            ("window", self.window.is_some()),
            ("expect_dhcp", self.expect_dhcp.is_some()),
            ("subnet", self.subnet.is_some()),
            ("ports", self.ports.is_some()),
            ("resolver", self.resolver.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, set)| set.then_some(k))
        .collect()
    }
}

/// The keys each kind uses besides kind, interval and name.
fn keys_of(kind: &str) -> &'static [&'static str] {
    match kind {
        "ping" => &["target"],
        "tcp" | "tls" => &["target", "port"],
        "dns" => &["target", "port", "query", "type", "expect"],
        "path" => &["target", "max_ttl", "probes"],
        "lan" => &["interface", "window", "expect_dhcp"],
        "devices" => &["interface", "subnet"],
        "diagnose" => &["target", "ports", "resolver"],
        _ => &[],
    }
}

/// Read and check a config file.
pub fn load_file(path: &Path) -> Result<FileConfig> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        file: file.clone(),
        why: e.to_string(),
    })?;
    parse_file(&file, &text)
}

/// Parse and check a config file's text (`file` names it in errors).
pub fn parse_file(file: &str, text: &str) -> Result<FileConfig> {
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .and_then(|s| text.get(..s.start))
            .map(|before| before.matches('\n').count() + 1);
        let why = e.message().replace('\n', " ");
        ConfigError::Syntax {
            file: file.to_string(),
            why: match line {
                Some(l) => format!("line {l}: {why}"),
                None => why,
            },
        }
    })?;
    let key_err = |key: String, why: String| ConfigError::Key {
        file: file.to_string(),
        key,
        why,
    };
    let flap = match raw.flap {
        None => None,
        Some(n) if (1..=100).contains(&n) => Some(n as u32),
        Some(n) => return Err(key_err("flap".into(), format!("must be 1 to 100, not {n}"))),
    };
    let listen = match raw.listen {
        None => None,
        Some(s) => {
            let addr = parse_listen(&s).map_err(|why| key_err("listen".into(), why))?;
            if !addr.ip().is_loopback() {
                return Err(key_err(
                    "listen".into(),
                    format!(
                        "{addr} is not a loopback address; only --listen on the command line \
                         may open the agent to the network"
                    ),
                ));
            }
            Some(addr)
        }
    };
    let mut checks = Vec::with_capacity(raw.check.len());
    for (i, c) in raw.check.into_iter().enumerate() {
        // The entry's `[[check]]` line, so an error in the tenth entry is found at once.
        let line = text
            .get(..c.span().start)
            .map_or(0, |before| before.matches('\n').count() + 1);
        let spec = check_from_raw(c.into_inner()).map_err(|(k, why)| {
            key_err(format!("check[{i}].{k}"), format!("{why} (line {line})"))
        })?;
        checks.push(spec);
    }
    unique(&checks).map_err(|(i, why)| key_err(format!("check[{i}].name"), why))?;
    if checks.len() > MAX_CHECKS {
        return Err(key_err(
            "check".into(),
            format!("{} checks; at most {MAX_CHECKS}", checks.len()),
        ));
    }
    let token_file = raw.token_file.map(|t| match Path::new(file).parent() {
        Some(dir) if t.is_relative() => dir.join(t),
        _ => t,
    });
    Ok(FileConfig {
        checks,
        flap,
        listen,
        token_file,
    })
}

/// The first check whose name another check already has.
pub fn unique(checks: &[CheckSpec]) -> std::result::Result<(), (usize, String)> {
    let mut seen = BTreeSet::new();
    for (i, c) in checks.iter().enumerate() {
        if !seen.insert(c.name.as_str()) {
            return Err((i, format!("another check is already named {:?}", c.name)));
        }
    }
    Ok(())
}

/// `ADDR:PORT`, IPv6 in brackets.
pub fn parse_listen(s: &str) -> std::result::Result<SocketAddr, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("'{s}' is not ADDR:PORT (e.g. 127.0.0.1:9430)"))
}

/// An interval in seconds, within bounds.
pub fn interval(seconds: f64) -> std::result::Result<Duration, String> {
    if seconds.is_finite() && (MIN_INTERVAL_S..=MAX_INTERVAL_S).contains(&seconds) {
        Ok(Duration::from_secs_f64(seconds))
    } else {
        Err(format!(
            "must be {MIN_INTERVAL_S} to {MAX_INTERVAL_S} seconds, not {seconds}"
        ))
    }
}

/// A check name: a label value, so short and plain (letters, digits, `._:/-`).
pub fn check_name(s: &str) -> std::result::Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= MAX_NAME
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._:/-".contains(c));
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!(
            "{s:?} must be 1 to {MAX_NAME} letters, digits or . _ : / -"
        ))
    }
}

type KeyResult<T> = std::result::Result<T, (&'static str, String)>;

fn check_from_raw(c: RawCheck) -> KeyResult<CheckSpec> {
    let ip = |t: &Option<String>| -> KeyResult<IpAddr> {
        let t = t.as_deref().ok_or(("target", "required".to_string()))?;
        t.trim()
            .parse()
            .map_err(|_| ("target", format!("'{t}' is not an IP address")))
    };
    let port = |p: i64| -> KeyResult<u16> {
        u16::try_from(p)
            .ok()
            .filter(|p| *p > 0)
            .ok_or(("port", format!("must be 1 to 65535, not {p}")))
    };
    let unknown_kind = |kind: &str| {
        let kinds: Vec<String> = Probe::KINDS.iter().map(|k| format!("{k:?}")).collect();
        (
            "kind",
            format!("\"{kind}\" is not one of {}", kinds.join(", ")),
        )
    };
    // The kind first: "not used by kind \"smtp\"" would say nothing useful.
    if !Probe::KINDS.contains(&c.kind.as_str()) {
        return Err(unknown_kind(&c.kind));
    }
    let used = keys_of(&c.kind);
    if let Some(k) = c.present().into_iter().find(|k| !used.contains(k)) {
        return Err((k, format!("not used by kind \"{}\"", c.kind)));
    }
    let probe = match c.kind.as_str() {
        "ping" => Probe::Ping {
            target: ip(&c.target)?,
        },
        "tcp" => {
            let p = c.port.ok_or(("port", "required".to_string()))?;
            Probe::Tcp {
                target: SocketAddr::new(ip(&c.target)?, port(p)?),
            }
        }
        "tls" => Probe::Tls {
            target: SocketAddr::new(ip(&c.target)?, c.port.map_or(Ok(443), port)?),
        },
        "dns" => {
            let server = match &c.target {
                None if c.port.is_some() => {
                    return Err(("port", "not used by kind \"dns without target\"".into()));
                }
                None => None,
                Some(_) => Some(SocketAddr::new(
                    ip(&c.target)?,
                    c.port.map_or(Ok(53), port)?,
                )),
            };
            let q = c
                .query
                .as_deref()
                .ok_or(("query", "required".to_string()))?;
            let spec = match &c.rtype {
                Some(t) => format!("{q}:{t}"),
                None => q.to_string(),
            };
            let (query, rtype) = crate::net::dns::parse_query(&spec).map_err(|e| {
                (
                    if c.rtype.is_some() { "type" } else { "query" },
                    e.to_string(),
                )
            })?;
            Probe::Dns {
                server,
                query,
                rtype,
                expect: c.expect.iter().map(|e| norm_answer(e)).collect(),
            }
        }
        "path" => {
            let mut plan = PathPlan::default();
            if let Some(t) = c.max_ttl {
                plan.max_ttl = u8::try_from(t)
                    .ok()
                    .filter(|t| (1..=MAX_PATH_TTL).contains(t))
                    .ok_or(("max_ttl", format!("must be 1 to {MAX_PATH_TTL}, not {t}")))?;
            }
            if let Some(n) = c.probes {
                plan.probes = u32::try_from(n)
                    .ok()
                    .filter(|n| (1..=MAX_PATH_PROBES).contains(n))
                    .ok_or(("probes", format!("must be 1 to {MAX_PATH_PROBES}, not {n}")))?;
            }
            Probe::Path {
                target: ip(&c.target)?,
                plan,
            }
        }
        "lan" => {
            let window = match c.window {
                None => crate::engine::lan::DEFAULT_WINDOW,
                Some(w) if w.is_finite() && (1.0..=MAX_LAN_WINDOW_S).contains(&w) => {
                    Duration::from_secs_f64(w)
                }
                Some(w) => {
                    return Err((
                        "window",
                        format!("must be 1 to {MAX_LAN_WINDOW_S} seconds, not {w}"),
                    ));
                }
            };
            let expect_dhcp = c
                .expect_dhcp
                .unwrap_or_default()
                .iter()
                .map(|a| {
                    a.trim()
                        .parse()
                        .map_err(|_| ("expect_dhcp", format!("'{a}' is not an IPv4 address")))
                })
                .collect::<KeyResult<Vec<_>>>()?;
            Probe::Lan(LanSpec {
                interface: interface(c.interface)?,
                window,
                expect_dhcp,
            })
        }
        "devices" => {
            let subnet = match &c.subnet {
                None => None,
                Some(s) => {
                    let net: ipnet::Ipv4Net = s.trim().parse().map_err(|_| {
                        (
                            "subnet",
                            format!("'{s}' is not an IPv4 network (a.b.c.d/n)"),
                        )
                    })?;
                    if net.prefix_len() < crate::net::lan::duplicates::MAX_PREFIX {
                        return Err((
                            "subnet",
                            format!(
                                "{net} is wider than /{}: sweep at most 1,022 addresses",
                                crate::net::lan::duplicates::MAX_PREFIX
                            ),
                        ));
                    }
                    Some(net.trunc())
                }
            };
            Probe::Devices(DevicesSpec {
                interface: interface(c.interface)?,
                subnet,
            })
        }
        "diagnose" => {
            let t = c
                .target
                .as_deref()
                .ok_or(("target", "required".to_string()))?;
            let target = match crate::core::target::parse_spec(t) {
                Ok(crate::core::target::TargetSpec::Addr(ip)) => ip.to_string(),
                Ok(crate::core::target::TargetSpec::Name(n)) => n,
                Ok(_) => {
                    return Err((
                        "target",
                        format!("'{t}' is not a single host (an address or a name)"),
                    ));
                }
                Err(e) => return Err(("target", e.to_string())),
            };
            let ports = match c.ports {
                None => crate::diagnose::DiagnoseConfig::default().ports,
                Some(ps) if ps.len() > crate::diagnose::MAX_PORTS => {
                    return Err((
                        "ports",
                        format!("{} ports; at most {}", ps.len(), crate::diagnose::MAX_PORTS),
                    ));
                }
                Some(ps) => {
                    let mut out: Vec<u16> = Vec::new();
                    for p in ps {
                        let p = port(p).map_err(|(_, why)| ("ports", why))?;
                        if !out.contains(&p) {
                            out.push(p);
                        }
                    }
                    out
                }
            };
            let resolver = match &c.resolver {
                None => None,
                Some(r) => Some(
                    crate::net::dns::parse_resolver(r).map_err(|e| ("resolver", e.to_string()))?,
                ),
            };
            Probe::Diagnose(DiagnoseSpec {
                target,
                ports,
                resolver,
            })
        }
        other => return Err(unknown_kind(other)),
    };
    let interval = match c.interval {
        None => probe.default_interval(),
        Some(s) => interval(s).map_err(|why| ("interval", why))?,
    };
    if let Probe::Lan(l) = &probe
        && interval < l.window
    {
        return Err((
            "interval",
            format!(
                "{} s is shorter than the LAN window of {} s",
                interval.as_secs_f64(),
                l.window.as_secs_f64()
            ),
        ));
    }
    let name = match &c.name {
        Some(n) => check_name(n).map_err(|why| ("name", why))?,
        None => probe.default_name(),
    };
    Ok(CheckSpec {
        name,
        probe,
        interval,
    })
}

/// An interface name as the kernel spells them (at most 15 bytes, no `/`, no space).
fn interface(name: Option<String>) -> KeyResult<Option<String>> {
    match name {
        None => Ok(None),
        Some(n)
            if !n.is_empty()
                && n.len() <= 15
                && n.chars().all(|c| c.is_ascii_graphic() && c != '/') =>
        {
            Ok(Some(n))
        }
        Some(n) => Err(("interface", format!("{n:?} is not an interface name"))),
    }
}

/// An expected or received DNS answer, compared case-insensitively without a trailing dot.
pub fn norm_answer(s: &str) -> String {
    s.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// The checks command-line targets get: a ping per target, a TCP check per target and port,
/// and each DNS question to the system resolvers.
pub fn cli_checks(
    targets: &[IpAddr],
    ports: &[u16],
    dns: &[(String, RecordType)],
    every: Duration,
) -> Vec<CheckSpec> {
    let mut out = Vec::new();
    for ip in targets {
        let mut push = |probe: Probe| {
            out.push(CheckSpec {
                name: probe.default_name(),
                probe,
                interval: every,
            })
        };
        push(Probe::Ping { target: *ip });
        for p in ports {
            push(Probe::Tcp {
                target: SocketAddr::new(*ip, *p),
            });
        }
    }
    for (query, rtype) in dns {
        let probe = Probe::Dns {
            server: None,
            query: query.clone(),
            rtype: *rtype,
            expect: Vec::new(),
        };
        out.push(CheckSpec {
            name: probe.default_name(),
            probe,
            interval: every,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse_file("f.toml", text).expect_err(text).to_string()
    }

    #[test]
    fn parses_every_kind() {
        let c = parse_file(
            "f.toml",
            r#"
flap = 3
[[check]]
kind = "ping"
target = "10.0.0.1"
interval = 5
name = "gw"
[[check]]
kind = "tcp"
target = "10.0.0.2"
port = 443
[[check]]
kind = "dns"
target = "10.0.0.53"
query = "web.lab.test"
type = "A"
expect = ["10.0.0.20"]
[[check]]
kind = "tls"
target = "10.0.0.20"
"#,
        )
        .expect("valid");
        assert_eq!(c.flap, Some(3));
        assert_eq!(c.token_file, None);
        assert_eq!(c.checks.len(), 4);
        assert_eq!(c.checks[3].name, "tls-10.0.0.20-443");
        assert_eq!(c.checks[3].probe.kind(), "tls");
        assert_eq!(c.checks[0].name, "gw");
        assert_eq!(c.checks[0].interval, Duration::from_secs(5));
        assert_eq!(c.checks[1].name, "tcp-10.0.0.2-443");
        assert_eq!(c.checks[1].interval, DEFAULT_INTERVAL);
        assert_eq!(
            c.checks[2].probe,
            Probe::Dns {
                server: Some("10.0.0.53:53".parse().unwrap()),
                query: "web.lab.test".into(),
                rtype: RecordType::A,
                expect: vec!["10.0.0.20".into()],
            }
        );
        assert_eq!(c.checks[2].probe.target_label(), "10.0.0.53:53");
    }

    #[test]
    fn errors_name_the_file_and_key() {
        assert_eq!(
            err("[[check]]\nkind = \"tcp\"\ntarget = \"10.0.0.1\"\n"),
            "f.toml: check[0].port: required (line 1)"
        );
        assert_eq!(
            err("[[check]]\nkind = \"ping\"\ntarget = \"10.0.0.1\"\nport = 80\n"),
            "f.toml: check[0].port: not used by kind \"ping\" (line 1)"
        );
        assert_eq!(
            err("[[check]]\nkind = \"ping\"\ntarget = \"web\"\n"),
            "f.toml: check[0].target: 'web' is not an IP address (line 1)"
        );
        assert_eq!(
            err("[[check]]\nkind = \"smtp\"\n"),
            "f.toml: check[0].kind: \"smtp\" is not one of \"ping\", \"tcp\", \"dns\", \"tls\", \
             \"path\", \"lan\", \"devices\", \"diagnose\" (line 1)"
        );
        assert_eq!(err("flap = 0\n"), "f.toml: flap: must be 1 to 100, not 0");
        assert!(err("listen = \"0.0.0.0:9430\"\n").starts_with("f.toml: listen: "));
        let e = err("[[check]]\nkind = \"ping\"\ntarget = \"10.0.0.1\"\ncolour = 1\n");
        assert!(
            e.starts_with("f.toml: line 4: unknown field `colour`"),
            "{e}"
        );
        assert!(!e.contains('\n'));
        let e = err("[[check]]\nkind = \"ping\"\ntarget = \"10.0.0.1\"\ninterval = 0.1\n");
        assert!(e.starts_with("f.toml: check[0].interval: "), "{e}");
        let e = err("[[check]]\nkind = \"ping\"\ntarget = \"10.0.0.1\"\nname = \"a b\"\n");
        assert!(e.starts_with("f.toml: check[0].name: "), "{e}");
    }

    #[test]
    fn parses_the_engine_kinds() {
        let c = parse_file(
            "f.toml",
            r#"
[[check]]
kind = "path"
target = "10.0.9.10"
max_ttl = 12
probes = 5
[[check]]
kind = "path"
target = "10.0.9.11"
[[check]]
kind = "lan"
interface = "eth0"
window = 3
expect_dhcp = ["10.0.0.1"]
interval = 60
[[check]]
kind = "devices"
interface = "eth0"
subnet = "10.0.0.7/24"
[[check]]
kind = "devices"
[[check]]
kind = "diagnose"
target = "app.lab.test"
ports = [443, 22, 443]
resolver = "10.0.0.53"
[[check]]
kind = "diagnose"
target = "10.0.9.10"
"#,
        )
        .expect("valid");
        let kinds: Vec<_> = c.checks.iter().map(|c| c.probe.kind()).collect();
        assert_eq!(
            kinds,
            [
                "path", "path", "lan", "devices", "devices", "diagnose", "diagnose"
            ]
        );
        assert_eq!(
            c.checks[0].probe,
            Probe::Path {
                target: "10.0.9.10".parse().unwrap(),
                plan: PathPlan {
                    max_ttl: 12,
                    probes: 5
                }
            }
        );
        assert_eq!(c.checks[0].name, "path-10.0.9.10");
        assert_eq!(c.checks[0].interval, Duration::from_secs(60));
        assert_eq!(
            c.checks[1].probe,
            Probe::Path {
                target: "10.0.9.11".parse().unwrap(),
                plan: PathPlan::default()
            }
        );
        assert_eq!(
            c.checks[2].probe,
            Probe::Lan(LanSpec {
                interface: Some("eth0".into()),
                window: Duration::from_secs(3),
                expect_dhcp: vec!["10.0.0.1".parse().unwrap()],
            })
        );
        assert_eq!(c.checks[2].name, "lan-eth0");
        assert_eq!(c.checks[2].interval, Duration::from_secs(60));
        assert_eq!(
            c.checks[3].probe,
            Probe::Devices(DevicesSpec {
                interface: Some("eth0".into()),
                subnet: Some("10.0.0.0/24".parse().unwrap()),
            })
        );
        assert_eq!(c.checks[3].name, "devices-10.0.0.0-24");
        assert_eq!(c.checks[3].probe.target_label(), "10.0.0.0/24");
        assert_eq!(c.checks[4].name, "devices-default");
        assert_eq!(c.checks[4].interval, Duration::from_secs(300));
        assert_eq!(
            c.checks[5].probe,
            Probe::Diagnose(DiagnoseSpec {
                target: "app.lab.test".into(),
                ports: vec![443, 22],
                resolver: Some("10.0.0.53:53".parse().unwrap()),
            })
        );
        assert_eq!(c.checks[5].name, "diagnose-app.lab.test");
        assert_eq!(
            c.checks[6].probe,
            Probe::Diagnose(DiagnoseSpec {
                target: "10.0.9.10".into(),
                ports: vec![443, 80],
                resolver: None,
            })
        );
    }

    #[test]
    fn engine_kind_errors_name_key_and_line() {
        let e = |body: &str| err(&format!("flap = 2\n\n[[check]]\n{body}"));
        assert_eq!(
            e("kind = \"path\"\ntarget = \"10.0.0.1\"\nmax_ttl = 65\n"),
            "f.toml: check[0].max_ttl: must be 1 to 64, not 65 (line 3)"
        );
        assert_eq!(
            e("kind = \"path\"\ntarget = \"10.0.0.1\"\nprobes = 0\n"),
            "f.toml: check[0].probes: must be 1 to 100, not 0 (line 3)"
        );
        assert_eq!(
            e("kind = \"path\"\ntarget = \"10.0.0.1\"\nport = 80\n"),
            "f.toml: check[0].port: not used by kind \"path\" (line 3)"
        );
        assert_eq!(
            e("kind = \"path\"\n"),
            "f.toml: check[0].target: required (line 3)"
        );
        assert_eq!(
            e("kind = \"lan\"\nwindow = 0.2\n"),
            "f.toml: check[0].window: must be 1 to 60 seconds, not 0.2 (line 3)"
        );
        assert_eq!(
            e("kind = \"lan\"\nwindow = 10\ninterval = 5\n"),
            "f.toml: check[0].interval: 5 s is shorter than the LAN window of 10 s (line 3)"
        );
        assert_eq!(
            e("kind = \"lan\"\nexpect_dhcp = [\"gw\"]\n"),
            "f.toml: check[0].expect_dhcp: 'gw' is not an IPv4 address (line 3)"
        );
        assert_eq!(
            e("kind = \"lan\"\ntarget = \"10.0.0.1\"\n"),
            "f.toml: check[0].target: not used by kind \"lan\" (line 3)"
        );
        assert_eq!(
            e("kind = \"devices\"\ninterface = \"a b\"\n"),
            "f.toml: check[0].interface: \"a b\" is not an interface name (line 3)"
        );
        assert_eq!(
            e("kind = \"devices\"\nsubnet = \"10.0.0.0/16\"\n"),
            "f.toml: check[0].subnet: 10.0.0.0/16 is wider than /22: sweep at most 1,022 \
             addresses (line 3)"
        );
        assert_eq!(
            e("kind = \"devices\"\nsubnet = \"fd00::/64\"\n"),
            "f.toml: check[0].subnet: 'fd00::/64' is not an IPv4 network (a.b.c.d/n) (line 3)"
        );
        assert_eq!(
            e("kind = \"diagnose\"\ntarget = \"10.0.0.0/24\"\n"),
            "f.toml: check[0].target: '10.0.0.0/24' is not a single host (an address or a \
             name) (line 3)"
        );
        assert_eq!(
            e("kind = \"diagnose\"\ntarget = \"a.test\"\nports = [0]\n"),
            "f.toml: check[0].ports: must be 1 to 65535, not 0 (line 3)"
        );
        assert!(
            e("kind = \"diagnose\"\ntarget = \"a.test\"\nresolver = \"x\"\n")
                .starts_with("f.toml: check[0].resolver: "),
        );
        // The second entry's line.
        let two = err("[[check]]\nkind = \"devices\"\n\n[[check]]\nkind = \"path\"\n");
        assert_eq!(two, "f.toml: check[1].target: required (line 4)");
    }

    #[test]
    fn token_file_is_relative_to_the_config() {
        let c = parse_file("/etc/netdx/serve.toml", "token_file = \"token\"\n").expect("valid");
        assert_eq!(c.token_file, Some(PathBuf::from("/etc/netdx/token")));
        let c = parse_file("/etc/netdx/serve.toml", "token_file = \"/run/t\"\n").expect("valid");
        assert_eq!(c.token_file, Some(PathBuf::from("/run/t")));
    }

    #[test]
    fn duplicate_names_are_refused() {
        let e = err("[[check]]\nkind = \"ping\"\ntarget = \"10.0.0.1\"\n\
             [[check]]\nkind = \"ping\"\ntarget = \"10.0.0.1\"\n");
        assert!(e.starts_with("f.toml: check[1].name: another check"), "{e}");
    }

    #[test]
    fn cli_targets_become_checks() {
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let c = cli_checks(
            &[ip],
            &[22, 80],
            &[("web.lab.test".into(), RecordType::A)],
            Duration::from_secs(5),
        );
        let names: Vec<_> = c.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "ping-10.0.0.1",
                "tcp-10.0.0.1-22",
                "tcp-10.0.0.1-80",
                "dns-web.lab.test-A"
            ]
        );
    }
}
