//! The words of `netdx dns` and of its query files, read the way dig reads them: names,
//! record types, `@server`, `-x ADDR` and `+short`/`+tcp`/`+tls`/`+https` in any order.
//! Pure, so every form is unit-tested without a network.
//!
//! A server may carry its transport as a URL scheme, the way doggo and the DoH world write
//! them: `@tls://dns.example.org`, `@https://dns.example.org/dns-query`,
//! `@tcp://192.0.2.53:5353`. A scheme wins over `+tcp`/`--tls`/...; without a port, each
//! transport's own is used (53, 853 for TLS, 443 for HTTPS).

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use crate::core::model::RecordType;
use crate::net::dns::{self, Transport};
use crate::net::dns_tls::DOH_PATH;

use super::super::typo;

/// The `+` options understood (dig's spelling), for the typo hint.
const PLUS_OPTIONS: [&str; 5] = ["+short", "+tcp", "+vc", "+tls", "+https"];

/// The schemes a server may be written with.
const SCHEMES: &str = "udp://, tcp://, tls:// or https://";

/// A server as written after `@`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServerSpec {
    Addr(SocketAddr),
    /// A host name, resolved with the system's resolvers before any query is sent.
    Host {
        name: String,
        port: u16,
    },
}

/// A server as written after `@`: where, and how when a scheme says so.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Server {
    /// The port is the written one, else that of `scheme` (53 without a scheme).
    pub spec: ServerSpec,
    pub port_given: bool,
    /// `tls://` and the like; `None` leaves the choice to `+tcp`/`--tls`/...
    pub scheme: Option<Transport>,
    /// The URL path of `https://` when one was written.
    pub path: Option<String>,
}

/// A server with its transport settled: what one query is sent to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    pub spec: ServerSpec,
    pub transport: Transport,
    /// DoH's URL path (`/dns-query` by default); empty for the other transports.
    pub path: String,
}

impl Server {
    /// The endpoint when the run (or the file line) asks over `default`: the scheme wins,
    /// and a server written without a port gets its transport's.
    pub fn endpoint(&self, default: Transport) -> Endpoint {
        let transport = self.scheme.unwrap_or(default);
        let mut spec = self.spec.clone();
        if !self.port_given {
            let port = transport.default_port();
            match &mut spec {
                ServerSpec::Addr(a) => a.set_port(port),
                ServerSpec::Host { port: p, .. } => *p = port,
            }
        }
        let path = match transport {
            Transport::Https => self.path.clone().unwrap_or_else(|| DOH_PATH.to_string()),
            _ => String::new(),
        };
        Endpoint {
            spec,
            transport,
            path,
        }
    }
}

/// What to look up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A domain name, ASCII, without the trailing dot.
    Name(String),
    /// An address whose PTR record is wanted.
    Reverse(IpAddr),
}

/// One question: a name and a type (servers come separately).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub name: String,
    pub rtype: RecordType,
}

/// One command line's or one file line's words, sorted by kind, in the order written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Words {
    pub targets: Vec<Target>,
    pub types: Vec<RecordType>,
    pub servers: Vec<Server>,
    pub short: bool,
    /// `+tcp`/`+vc`, `+tls` or `+https`: the transport of servers written without a scheme.
    pub transport: Option<Transport>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WordError {
    #[error("{0}")]
    Name(String),
    #[error("-x needs an address after it")]
    MissingReverse,
    #[error("-x {0:?}: not an IP address")]
    BadReverse(String),
    #[error("@{token:?}: {reason}")]
    Server { token: String, reason: String },
    #[error("unknown option {word:?}{hint}")]
    Option { word: String, hint: String },
    #[error("line {line}: {error}")]
    Line { line: usize, error: Box<WordError> },
    #[error("line {0}: +short applies to the whole run; give it on the command line")]
    ShortInFile(usize),
    #[error("line {0}: no name to look up (a line is NAME [TYPE...] or -x ADDRESS)")]
    NoTarget(usize),
    #[error(
        "DNS over {0} needs a server (@HOST): the system's resolv.conf names only plain DNS \
         servers"
    )]
    EncryptedNeedsServer(&'static str),
    #[error("{0} and {1} cannot be combined: choose one transport")]
    Transports(String, String),
}

/// The `+` word of a transport, as errors name it.
fn plus_word(t: Transport) -> String {
    match t {
        Transport::Udp => "+notcp".to_string(),
        other => format!("+{}", other.label()),
    }
}

/// Set `slot` to `t`, or fail when another transport was chosen already.
pub fn choose_transport(slot: &mut Option<Transport>, t: Transport) -> Result<(), WordError> {
    match *slot {
        Some(old) if old != t => Err(WordError::Transports(plus_word(old), plus_word(t))),
        _ => {
            *slot = Some(t);
            Ok(())
        }
    }
}

impl Words {
    /// Every target with every type (A when none; PTR for an address), in order.
    pub fn queries(&self, default_types: &[RecordType]) -> Vec<Query> {
        let types: &[RecordType] = match (self.types.is_empty(), default_types.is_empty()) {
            (false, _) => &self.types,
            (true, false) => default_types,
            (true, true) => &[RecordType::A],
        };
        let mut out = Vec::new();
        for t in &self.targets {
            match t {
                Target::Reverse(ip) => out.push(Query {
                    name: dns::reverse_name(*ip),
                    rtype: RecordType::PTR,
                }),
                Target::Name(name) => out.extend(types.iter().map(|rtype| Query {
                    name: name.clone(),
                    rtype: *rtype,
                })),
            }
        }
        out
    }
}

/// Sort `words` (see the module docs). An address given as a name is a reverse lookup, as
/// with `-x`: the PTR record of an address is the only thing worth asking for it.
pub fn parse_words<'a>(words: impl IntoIterator<Item = &'a str>) -> Result<Words, WordError> {
    let mut out = Words::default();
    let mut words = words.into_iter();
    while let Some(word) = words.next() {
        if word == "-x" {
            let addr = words.next().ok_or(WordError::MissingReverse)?;
            out.targets.push(Target::Reverse(parse_reverse(addr)?));
        } else if let Some(server) = word.strip_prefix('@') {
            let spec = parse_server(server)?;
            if !out.servers.contains(&spec) {
                out.servers.push(spec);
            }
        } else if word.starts_with('+') {
            match word.to_ascii_lowercase().as_str() {
                "+short" => out.short = true,
                "+tcp" | "+vc" => choose_transport(&mut out.transport, Transport::Tcp)?,
                "+tls" => choose_transport(&mut out.transport, Transport::Tls)?,
                "+https" => choose_transport(&mut out.transport, Transport::Https)?,
                _ => return Err(unknown_option(word, &PLUS_OPTIONS)),
            }
        } else if word.starts_with('-') && word.len() > 1 && dns::parse_ip_literal(word).is_none() {
            return Err(unknown_option(word, &["-x"]));
        } else if let Ok(t) = RecordType::from_str(word) {
            if !out.types.contains(&t) {
                out.types.push(t);
            }
        } else if let Some(ip) = dns::parse_ip_literal(word) {
            out.targets.push(Target::Reverse(ip));
        } else {
            let name = dns::parse_domain(word).map_err(|e| WordError::Name(e.to_string()))?;
            out.targets.push(Target::Name(name));
        }
    }
    Ok(out)
}

/// The address of `-x ADDR`.
pub fn parse_reverse(s: &str) -> Result<IpAddr, WordError> {
    dns::parse_ip_literal(s.trim()).ok_or_else(|| WordError::BadReverse(s.to_string()))
}

/// `@SERVER`: an optional scheme (`udp://`, `tcp://`, `tls://`, `https://`), then an IP
/// address with an optional port (`10.0.0.53`, `10.0.0.53:5353`, `[2001:db8::53]:53`,
/// `2001:db8::53`) or a host name with an optional port, then for `https://` an optional
/// URL path (`/dns-query` when none).
pub fn parse_server(s: &str) -> Result<Server, WordError> {
    let err = |reason: &str| WordError::Server {
        token: s.to_string(),
        reason: reason.to_string(),
    };
    let (scheme, rest) = match s.split_once("://") {
        None => (None, s),
        Some((name, rest)) => {
            let t = match name.to_ascii_lowercase().as_str() {
                "udp" => Transport::Udp,
                "tcp" => Transport::Tcp,
                "tls" => Transport::Tls,
                "https" => Transport::Https,
                _ => return Err(err(&format!("unknown scheme; use {SCHEMES}"))),
            };
            (Some(t), rest)
        }
    };
    let (host, path) = match rest.find('/') {
        None => (rest, None),
        Some(_) if scheme != Some(Transport::Https) => {
            return Err(err("only an https:// server takes a URL path"));
        }
        Some(i) => {
            let path = &rest[i..];
            if path
                .chars()
                .any(|c| !c.is_ascii_graphic() || matches!(c, '#' | '\\'))
            {
                return Err(err(
                    "the URL path may hold only printable ASCII, without spaces or #",
                ));
            }
            (&rest[..i], Some(path.to_string()))
        }
    };
    if host.is_empty() {
        return Err(err("a server address or name must follow @"));
    }
    let (spec, port_given) =
        parse_host_port(host, scheme.unwrap_or_default()).map_err(|e| match e {
            HostError::Address(reason) => WordError::Name(reason),
            HostError::Other(reason) => err(&reason),
        })?;
    Ok(Server {
        spec,
        port_given,
        scheme,
        path,
    })
}

/// Why a server's host and port are not usable.
enum HostError {
    /// From the address parser, which names the token itself.
    Address(String),
    Other(String),
}

/// An address or a name with an optional port (`transport`'s when none), and whether a port
/// was written.
fn parse_host_port(s: &str, transport: Transport) -> Result<(ServerSpec, bool), HostError> {
    let default_port = transport.default_port();
    match dns::parse_resolver(s) {
        Ok(mut addr) => {
            let given = s.parse::<SocketAddr>().is_ok();
            if !given {
                addr.set_port(default_port);
            }
            return Ok((ServerSpec::Addr(addr), given));
        }
        Err(e) => {
            // An address with a bad port, or something address-like: the address parser's
            // reason is the precise one.
            let host = s.rsplit_once(':').map_or(s, |(h, _)| h);
            if dns::parse_ip_literal(host).is_some() || looks_numeric(host) || s.contains('[') {
                return Err(HostError::Address(e.to_string()));
            }
        }
    }
    let (host, port, given) = match s.rsplit_once(':') {
        Some((host, port)) => match port.parse::<u16>() {
            Ok(p) if p > 0 => (host, p, true),
            _ => {
                return Err(HostError::Other(
                    "the port must be a number from 1 to 65535".to_string(),
                ));
            }
        },
        None => (s, default_port, false),
    };
    let name = dns::parse_domain(host).map_err(|e| HostError::Other(e.to_string()))?;
    Ok((ServerSpec::Host { name, port }, given))
}

/// Digits and dots only (`10.0.0.300`): a mistyped address, never a host name.
fn looks_numeric(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || c == '.')
}

fn unknown_option(word: &str, known: &[&str]) -> WordError {
    let lower = word.to_ascii_lowercase();
    let hint = known
        .iter()
        .map(|k| (typo::distance(&lower, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map_or_else(
            || format!(" (netdx dns understands {})", known.join(", ")),
            |(_, k)| format!("; did you mean {k}?"),
        );
    WordError::Option {
        word: word.to_string(),
        hint,
    }
}

/// A query file, as `dig -f`: one query a line, `NAME [TYPE...] [@SERVER...]` or
/// `-x ADDRESS`; blank lines and lines starting with `#` or `;` are skipped. Each line's
/// words, in file order.
pub fn parse_file(text: &str) -> Result<Vec<Words>, WordError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let words = parse_words(line.split_whitespace()).map_err(|e| WordError::Line {
            line: n,
            error: Box::new(e),
        })?;
        if words.short {
            return Err(WordError::ShortInFile(n));
        }
        if words.targets.is_empty() {
            return Err(WordError::NoTarget(n));
        }
        out.push(words);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Result<Words, WordError> {
        parse_words(s.split_whitespace())
    }

    fn sa(s: &str) -> ServerSpec {
        ServerSpec::Addr(s.parse().unwrap())
    }

    fn specs(servers: &[Server]) -> Vec<ServerSpec> {
        servers.iter().map(|s| s.spec.clone()).collect()
    }

    fn server(s: &str) -> ServerSpec {
        parse_server(s).unwrap().spec
    }

    #[test]
    fn any_order_like_dig() {
        let w =
            words("MX www.lab.test @10.77.0.53 aaaa +short @[fd77::53]:5353 Lab.Test.").unwrap();
        assert_eq!(
            w.targets,
            [
                Target::Name("www.lab.test".into()),
                Target::Name("lab.test".into())
            ]
        );
        assert_eq!(w.types, [RecordType::MX, RecordType::AAAA]);
        assert_eq!(
            specs(&w.servers),
            [sa("10.77.0.53:53"), sa("[fd77::53]:5353")]
        );
        assert!(w.short && w.transport.is_none());
        let q = w.queries(&[]);
        assert_eq!(q.len(), 4);
        assert_eq!(
            q[1],
            Query {
                name: "www.lab.test".into(),
                rtype: RecordType::AAAA
            }
        );
        assert_eq!(q[2].name, "lab.test");
    }

    #[test]
    fn types_default_to_a_and_addresses_to_ptr() {
        let w = words("web.lab.test 10.77.0.20 -x fd77::20 +TCP").unwrap();
        assert_eq!(w.transport, Some(Transport::Tcp));
        let q = w.queries(&[]);
        assert_eq!(
            q,
            [
                Query {
                    name: "web.lab.test".into(),
                    rtype: RecordType::A
                },
                Query {
                    name: "20.0.77.10.in-addr.arpa".into(),
                    rtype: RecordType::PTR
                },
                Query {
                    name: dns::reverse_name("fd77::20".parse().unwrap()),
                    rtype: RecordType::PTR
                },
            ]
        );
        // The command line's types apply to a line that names none.
        let q = words("web.lab.test").unwrap().queries(&[RecordType::TXT]);
        assert_eq!(q[0].rtype, RecordType::TXT);
        // A type word needs a trailing dot to be a name.
        let w = words("ns ns.").unwrap();
        assert_eq!(w.types, [RecordType::NS]);
        assert_eq!(w.targets, [Target::Name("ns".into())]);
        for t in [
            "caa", "ANY", "https", "svcb", "naptr", "sshfp", "tlsa", "ds", "dnskey",
        ] {
            assert_eq!(words(t).unwrap().types.len(), 1, "{t}");
        }
    }

    #[test]
    fn servers_by_address_port_or_name() {
        assert_eq!(server("10.0.0.53"), sa("10.0.0.53:53"));
        assert_eq!(server("10.0.0.53:5353"), sa("10.0.0.53:5353"));
        assert_eq!(server("2001:db8::53"), sa("[2001:db8::53]:53"));
        assert_eq!(
            server("dns.lab.test"),
            ServerSpec::Host {
                name: "dns.lab.test".into(),
                port: 53
            }
        );
        assert_eq!(
            server("dns.lab.test:5353"),
            ServerSpec::Host {
                name: "dns.lab.test".into(),
                port: 5353
            }
        );
        for bad in [
            "",
            "10.0.0.300",
            "10.0.0.53:0",
            "10.0.0.53:99999",
            "[::1",
            "dns.lab.test:x",
            "dns..lab",
            "0.0.0.0",
        ] {
            let e = parse_server(bad).expect_err(bad).to_string();
            assert!(e.contains(&format!("{bad:?}")), "{bad}: {e}");
            assert!(!e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn encrypted_servers_by_scheme_or_flag() {
        let p = |s: &str| parse_server(s).unwrap();
        // A scheme picks the transport and its port; a written port stays.
        let e = p("tls://192.0.2.53").endpoint(Transport::Udp);
        assert_eq!(
            (e.spec, e.transport, e.path.as_str()),
            (sa("192.0.2.53:853"), Transport::Tls, "")
        );
        let e = p("TLS://[2001:db8::53]:8853").endpoint(Transport::Udp);
        assert_eq!(
            (e.spec, e.transport),
            (sa("[2001:db8::53]:8853"), Transport::Tls)
        );
        let e = p("https://dns.example.org").endpoint(Transport::Tcp);
        assert_eq!(
            (e.spec, e.transport, e.path.as_str()),
            (
                ServerSpec::Host {
                    name: "dns.example.org".into(),
                    port: 443
                },
                Transport::Https,
                "/dns-query"
            )
        );
        let e = p("https://192.0.2.53:8443/resolve?x=1").endpoint(Transport::Udp);
        assert_eq!(
            (e.spec, e.path.as_str()),
            (sa("192.0.2.53:8443"), "/resolve?x=1")
        );
        assert_eq!(
            p("udp://192.0.2.53").endpoint(Transport::Tls).transport,
            Transport::Udp
        );
        // Without a scheme the run's transport decides, and so does the default port.
        let plain = p("192.0.2.53");
        assert_eq!(plain.endpoint(Transport::Https).spec, sa("192.0.2.53:443"));
        assert_eq!(plain.endpoint(Transport::Tls).spec, sa("192.0.2.53:853"));
        assert_eq!(plain.endpoint(Transport::Tcp).spec, sa("192.0.2.53:53"));
        assert_eq!(
            p("192.0.2.53:5353").endpoint(Transport::Tls).spec,
            sa("192.0.2.53:5353")
        );
        for bad in [
            "quic://192.0.2.53",
            "tls://",
            "tls://192.0.2.53/dns-query",
            "192.0.2.53/x",
            "https://192.0.2.53/a b",
            "https://192.0.2.53:0",
            "tls://dns..example",
        ] {
            let e = parse_server(bad).expect_err(bad).to_string();
            assert!(!e.contains('\n'), "{e}");
        }
        let w = words("a.test +tls @192.0.2.53").unwrap();
        assert_eq!(w.transport, Some(Transport::Tls));
        assert!(matches!(
            words("a.test +tls +https"),
            Err(WordError::Transports(..))
        ));
        let e = words("a.test +tlss").unwrap_err().to_string();
        assert!(e.contains("+tls"), "{e}");
    }

    #[test]
    fn errors_say_what_and_suggest() {
        let e = words("www.lab.test +shrot").unwrap_err().to_string();
        assert!(e.contains("\"+shrot\"") && e.contains("+short"), "{e}");
        let e = words("+noall").unwrap_err().to_string();
        assert!(e.contains("+short, +tcp"), "{e}");
        assert_eq!(words("-x").unwrap_err(), WordError::MissingReverse);
        assert!(matches!(
            words("-x web.lab.test"),
            Err(WordError::BadReverse(_))
        ));
        assert!(matches!(words("-t MX"), Err(WordError::Option { .. })));
        assert!(matches!(words("a..b"), Err(WordError::Name(_))));
        assert!(matches!(words("esc\u{1b}ape"), Err(WordError::Name(_))));
    }

    #[test]
    fn query_file_like_dig_f() {
        let file = "# names to check\n\
                    www.lab.test\n\
                    \n\
                    lab.test MX TXT\n\
                    ; a comment\n\
                    -x 10.77.0.20\n  \
                    nope.lab.test A @10.77.0.54\n";
        let lines = parse_file(file).unwrap();
        assert_eq!(lines.len(), 4);
        let q: Vec<Query> = lines.iter().flat_map(|w| w.queries(&[])).collect();
        let got: Vec<(String, RecordType)> = q.into_iter().map(|q| (q.name, q.rtype)).collect();
        assert_eq!(
            got,
            [
                ("www.lab.test".into(), RecordType::A),
                ("lab.test".into(), RecordType::MX),
                ("lab.test".into(), RecordType::TXT),
                ("20.0.77.10.in-addr.arpa".into(), RecordType::PTR),
                ("nope.lab.test".into(), RecordType::A),
            ]
        );
        assert_eq!(specs(&lines[3].servers), [sa("10.77.0.54:53")]);
        assert!(parse_file("").unwrap().is_empty());
    }

    #[test]
    fn query_file_errors_name_the_line() {
        let e = parse_file("www.lab.test\nbad..name\n").unwrap_err();
        assert!(e.to_string().starts_with("line 2: "), "{e}");
        assert_eq!(
            parse_file("a.test\nMX\n").unwrap_err(),
            WordError::NoTarget(2)
        );
        assert_eq!(
            parse_file("a.test +short\n").unwrap_err(),
            WordError::ShortInFile(1)
        );
        assert!(
            parse_file("-x nothere\n")
                .unwrap_err()
                .to_string()
                .contains("line 1: -x")
        );
    }
}
