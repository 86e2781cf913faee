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
}

impl Probe {
    /// The `kind` label.
    pub fn kind(&self) -> &'static str {
        match self {
            Probe::Ping { .. } => "ping",
            Probe::Tcp { .. } => "tcp",
            Probe::Tls { .. } => "tls",
            Probe::Dns { .. } => "dns",
        }
    }

    /// The `target` label: an address (or `address:port`), or for DNS the server asked
    /// (`system` for the system resolvers). Never anything read from the network.
    pub fn target_label(&self) -> String {
        match self {
            Probe::Ping { target } => target.to_string(),
            Probe::Tcp { target } | Probe::Tls { target } => target.to_string(),
            Probe::Dns { server, .. } => server.map_or("system".to_string(), |s| s.to_string()),
        }
    }

    /// A name for a check that was not given one.
    fn default_name(&self) -> String {
        match self {
            Probe::Ping { target } => format!("ping-{target}"),
            Probe::Tcp { target } => format!("tcp-{}-{}", target.ip(), target.port()),
            Probe::Tls { target } => format!("tls-{}-{}", target.ip(), target.port()),
            Probe::Dns { query, rtype, .. } => format!("dns-{query}-{}", rtype.label()),
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
    check: Vec<RawCheck>,
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
        let spec = check_from_raw(c).map_err(|(k, why)| key_err(format!("check[{i}].{k}"), why))?;
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
    let refuse = |present: bool, key: &'static str, kind: &str| -> KeyResult<()> {
        if present {
            Err((key, format!("not used by kind \"{kind}\"")))
        } else {
            Ok(())
        }
    };
    let probe = match c.kind.as_str() {
        "ping" => {
            refuse(c.port.is_some(), "port", "ping")?;
            refuse(c.query.is_some(), "query", "ping")?;
            refuse(c.rtype.is_some(), "type", "ping")?;
            refuse(!c.expect.is_empty(), "expect", "ping")?;
            Probe::Ping {
                target: ip(&c.target)?,
            }
        }
        "tcp" => {
            refuse(c.query.is_some(), "query", "tcp")?;
            refuse(c.rtype.is_some(), "type", "tcp")?;
            refuse(!c.expect.is_empty(), "expect", "tcp")?;
            let port = c.port.ok_or(("port", "required".to_string()))?;
            let port = u16::try_from(port)
                .ok()
                .filter(|p| *p > 0)
                .ok_or(("port", format!("must be 1 to 65535, not {port}")))?;
            Probe::Tcp {
                target: SocketAddr::new(ip(&c.target)?, port),
            }
        }
        "tls" => {
            refuse(c.query.is_some(), "query", "tls")?;
            refuse(c.rtype.is_some(), "type", "tls")?;
            refuse(!c.expect.is_empty(), "expect", "tls")?;
            let port = match c.port {
                None => 443,
                Some(p) => u16::try_from(p)
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or(("port", format!("must be 1 to 65535, not {p}")))?,
            };
            Probe::Tls {
                target: SocketAddr::new(ip(&c.target)?, port),
            }
        }
        "dns" => {
            let server = match &c.target {
                None => None,
                Some(_) => Some(SocketAddr::new(
                    ip(&c.target)?,
                    match c.port {
                        None => 53,
                        Some(p) => u16::try_from(p)
                            .ok()
                            .filter(|p| *p > 0)
                            .ok_or(("port", format!("must be 1 to 65535, not {p}")))?,
                    },
                )),
            };
            if server.is_none() {
                refuse(c.port.is_some(), "port", "dns without target")?;
            }
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
        other => {
            return Err((
                "kind",
                format!("\"{other}\" is not one of \"ping\", \"tcp\", \"dns\", \"tls\""),
            ));
        }
    };
    let interval = match c.interval {
        None => DEFAULT_INTERVAL,
        Some(s) => interval(s).map_err(|why| ("interval", why))?,
    };
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
            "f.toml: check[0].port: required"
        );
        assert_eq!(
            err("[[check]]\nkind = \"ping\"\ntarget = \"10.0.0.1\"\nport = 80\n"),
            "f.toml: check[0].port: not used by kind \"ping\""
        );
        assert_eq!(
            err("[[check]]\nkind = \"ping\"\ntarget = \"web\"\n"),
            "f.toml: check[0].target: 'web' is not an IP address"
        );
        assert_eq!(
            err("[[check]]\nkind = \"smtp\"\n"),
            "f.toml: check[0].kind: \"smtp\" is not one of \"ping\", \"tcp\", \"dns\", \"tls\""
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
