//! The system's DNS configuration, `/etc/resolv.conf`, read in one place with the
//! `resolv-conf` crate (the parser hickory uses too), so that the dashboard's context, the
//! DNS probe and diagnose agree on the servers, the search list and `ndots`.
//!
//! Reading is lenient like the C library's: a line that cannot be understood (a misspelt
//! option, a bad address) is skipped and reported in [`ResolvConf::problems`], the rest is
//! used. `ip netns exec` bind-mounts `/etc/netns/<ns>/resolv.conf` over the file, so inside a
//! namespace this is the namespace's configuration.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6};

use resolv_conf::ScopedIp;

/// Where the system configuration lives.
pub const RESOLV_CONF: &str = "/etc/resolv.conf";

/// Port of every server named in resolv.conf (the format has no port field).
pub const DNS_PORT: u16 = 53;

/// The C library's default `ndots`.
const DEFAULT_NDOTS: usize = 1;

/// What resolv.conf says, as netdx uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvConf {
    /// `nameserver` addresses in order, without duplicates (scope ids apart, see `scopes`).
    pub nameservers: Vec<IpAddr>,
    /// The `%scope` of a link-local IPv6 `nameserver` (an interface name or index), needed to
    /// reach it.
    pub scopes: BTreeMap<Ipv6Addr, String>,
    /// The search list: the last `search` or `domain` line wins, as in the C library.
    pub search: Vec<String>,
    /// `options ndots:N`: names with fewer dots go through the search list first.
    pub ndots: usize,
    /// Lines that were skipped, as `line N: why` (1-based).
    pub problems: Vec<String>,
}

impl Default for ResolvConf {
    fn default() -> Self {
        ResolvConf {
            nameservers: Vec::new(),
            scopes: BTreeMap::new(),
            search: Vec::new(),
            ndots: DEFAULT_NDOTS,
            problems: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ResolversError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
}

impl ResolvConf {
    /// Parse the text of a resolv.conf (never fails; see the module docs).
    pub fn parse(text: &[u8]) -> ResolvConf {
        let (config, errors) = resolv_conf::Config::parse_with_errors(text);
        let mut rc = ResolvConf {
            ndots: usize::try_from(config.ndots).unwrap_or(DEFAULT_NDOTS),
            search: config.get_last_search_or_domain().cloned().collect(),
            problems: errors.iter().map(problem).collect(),
            ..ResolvConf::default()
        };
        for ns in &config.nameservers {
            let ip = IpAddr::from(ns);
            if rc.nameservers.contains(&ip) {
                continue;
            }
            rc.nameservers.push(ip);
            if let ScopedIp::V6(v6, Some(scope)) = ns {
                rc.scopes.insert(*v6, scope.clone());
            }
        }
        rc
    }

    /// Read [`RESOLV_CONF`].
    pub fn read() -> Result<ResolvConf, ResolversError> {
        Self::read_from(RESOLV_CONF)
    }

    /// Read a resolv.conf at `path` (the systemd-resolved upstream file, a test's file).
    pub fn read_from(path: &str) -> Result<ResolvConf, ResolversError> {
        std::fs::read(path)
            .map(|t| Self::parse(&t))
            .map_err(|e| ResolversError::Read {
                path: path.to_string(),
                reason: e.to_string(),
            })
    }

    /// The servers as socket addresses (port 53), in order. A scoped IPv6 server gets its
    /// interface index (a number, or the index of the named interface from sysfs); a scope
    /// that names no interface here is left out of the address, which the kernel then
    /// refuses for a link-local server, and that refusal is the honest outcome.
    pub fn servers(&self) -> Vec<SocketAddr> {
        self.nameservers
            .iter()
            .map(|ip| match ip {
                IpAddr::V6(v6) => {
                    let scope = self.scopes.get(v6).and_then(|s| scope_id(s)).unwrap_or(0);
                    SocketAddr::V6(SocketAddrV6::new(*v6, DNS_PORT, 0, scope))
                }
                IpAddr::V4(_) => SocketAddr::new(*ip, DNS_PORT),
            })
            .collect()
    }
}

/// An interface index from a resolv.conf scope: `2`, or `eth0` looked up in sysfs.
fn scope_id(scope: &str) -> Option<u32> {
    if let Ok(n) = scope.parse() {
        return Some(n);
    }
    // An interface name never holds a slash; refusing one keeps the path inside sysfs.
    if scope.is_empty() || scope.contains('/') || scope.starts_with('.') {
        return None;
    }
    std::fs::read_to_string(format!("/sys/class/net/{scope}/ifindex"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// `line N: why`, 1-based like an editor.
fn problem(e: &resolv_conf::ParseError) -> String {
    use resolv_conf::ParseError as P;
    let (line, why) = match e {
        P::InvalidUtf8(l, _) => (*l, "not UTF-8"),
        P::InvalidValue(l) => (*l, "bad or missing value"),
        P::InvalidOptionValue(l) => (*l, "bad option value"),
        P::InvalidOption(l) => (*l, "unknown option"),
        P::InvalidDirective(l) => (*l, "unknown directive"),
        P::InvalidIp(l, _) => (*l, "not an IP address"),
        P::ExtraData(l) => (*l, "extra words at the end"),
    };
    format!("line {}: {why}", line + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn servers_search_and_options() {
        let rc = ResolvConf::parse(
            b"# generated by NetworkManager\n\
              search lab.test corp.example\n\
              nameserver 10.77.0.53\n\
              nameserver 10.77.0.53 \n\
              nameserver 2001:db8::53 ; secondary\n\
              options ndots:3 timeout:1 attempts:2 rotate edns0\n",
        );
        assert_eq!(rc.nameservers, [ip("10.77.0.53"), ip("2001:db8::53")]);
        assert_eq!(rc.search, ["lab.test", "corp.example"]);
        assert_eq!(rc.ndots, 3);
        assert!(rc.problems.is_empty(), "{:?}", rc.problems);
        assert_eq!(
            rc.servers(),
            [
                "10.77.0.53:53".parse::<SocketAddr>().unwrap(),
                "[2001:db8::53]:53".parse().unwrap()
            ]
        );
    }

    #[test]
    fn scoped_link_local_servers() {
        let rc = ResolvConf::parse(b"nameserver fe80::1%lo\nnameserver fe80::2%7\n");
        assert_eq!(rc.nameservers, [ip("fe80::1"), ip("fe80::2")]);
        assert_eq!(rc.scopes.get(&"fe80::1".parse().unwrap()).unwrap(), "lo");
        let servers = rc.servers();
        let SocketAddr::V6(second) = servers[1] else {
            panic!("{servers:?}")
        };
        assert_eq!(second.scope_id(), 7);
        // `lo` always exists; its index comes from sysfs.
        let SocketAddr::V6(first) = servers[0] else {
            panic!("{servers:?}")
        };
        assert_eq!(Some(first.scope_id()), scope_id("lo"));
        assert_eq!(scope_id("../../etc"), None);
        assert_eq!(scope_id(""), None);
    }

    #[test]
    fn comments_and_bad_lines_are_skipped_not_fatal() {
        let rc = ResolvConf::parse(
            b"; comment\n   # indented comment\nnameserver bogus\nnameserver 10.0.0.1 # trailing\n\
              frobnicate yes\ndomain home.arpa\noptions ndots:x\n",
        );
        assert_eq!(rc.nameservers, [ip("10.0.0.1")]);
        assert_eq!(rc.search, ["home.arpa"]);
        assert_eq!(rc.ndots, 1);
        assert_eq!(rc.problems.len(), 3, "{:?}", rc.problems);
        assert!(rc.problems[0].starts_with("line 3:"), "{:?}", rc.problems);
    }

    #[test]
    fn last_search_or_domain_wins() {
        let rc = ResolvConf::parse(b"search a.test b.test\ndomain c.test\n");
        assert_eq!(rc.search, ["c.test"]);
        let rc = ResolvConf::parse(b"domain c.test\nsearch a.test b.test\n");
        assert_eq!(rc.search, ["a.test", "b.test"]);
    }

    #[test]
    fn empty_and_missing() {
        assert_eq!(ResolvConf::parse(b""), ResolvConf::default());
        assert_eq!(ResolvConf::default().ndots, 1);
        let e = ResolvConf::read_from("/nonexistent/resolv.conf").unwrap_err();
        assert!(e.to_string().contains("/nonexistent/resolv.conf"), "{e}");
    }
}
