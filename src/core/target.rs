//! Target specifications (nmap-like) parsed once at the edge into typed values.
//!
//! | spec                    | meaning                                                       |
//! |-------------------------|---------------------------------------------------------------|
//! | `10.0.0.7`, `fd00::7`   | one address                                                   |
//! | `10.0.0.0/24`           | a block; for IPv4 up to /30 the network and broadcast         |
//! |                         | addresses are left out (a /24 is 254 hosts, as `fping -g`)    |
//! | `fd00::/120`            | an IPv6 block, every address                                  |
//! | `fd00::/64`             | an IPv6 block over the sweep limit: a *link prefix*, whose    |
//! |                         | hosts are found by multicast echo and NDP when it is on-link  |
//! |                         | (see [`TargetSet::links_v6`]); refused where it is not        |
//! | `10.0.0.1-50`           | last-octet range, 10.0.0.1 to 10.0.0.50                        |
//! | `10.0.0.1-10.0.1.20`    | full range, either family (`fd00::1-fd00::20`)               |
//! | `router`, `example.org` | a hostname, kept as a name: the engine resolves it later      |
//!
//! Several specs may share one argument or one line of a targets file, separated by commas
//! or whitespace. Exclusions take the same syntax except hostnames, and remove whole blocks.
//!
//! A [`TargetSet`] keeps addresses as merged, sorted, non-overlapping intervals per family:
//! deduplication and exclusion are interval arithmetic, the count is known without walking
//! the set, and iteration is lazy, so a /16 never becomes a `Vec` of 65,536 addresses.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

/// Addresses a scan may cover without `--allow-large`.
pub const LARGE_LIMIT: u64 = 65_536;
/// Addresses no scan may cover, `--allow-large` or not (2^24, a /8 of IPv4).
pub const HARD_LIMIT: u64 = 1 << 24;

/// One target as written by the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetSpec {
    Addr(IpAddr),
    /// A block as typed: host bits may be set (`10.0.0.7/24` means 10.0.0.0/24).
    Net(ipnet::IpNet),
    /// Inclusive, `start <= end`, both of the same family.
    Range {
        start: IpAddr,
        end: IpAddr,
    },
    /// A syntactically plausible hostname, not resolved.
    Name(String),
}

impl fmt::Display for TargetSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Addr(ip) => write!(f, "{ip}"),
            Self::Net(net) => write!(f, "{net}"),
            Self::Range { start, end } => write!(f, "{start}-{end}"),
            Self::Name(name) => f.write_str(name),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::V4 => "IPv4",
            Self::V6 => "IPv6",
        })
    }
}

/// Why dotted-decimal text is not an IPv4 address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ipv4Problem {
    OctetCount(usize),
    EmptyOctet,
    OctetOver255(String),
    LeadingZero(String),
    Malformed,
}

impl fmt::Display for Ipv4Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OctetCount(n) => write!(f, "expected 4 dot-separated octets, found {n}"),
            Self::EmptyOctet => write!(f, "an octet is empty"),
            Self::OctetOver255(o) => write!(f, "octet {o} is over 255"),
            Self::LeadingZero(o) => write!(f, "octet '{o}' has a leading zero"),
            Self::Malformed => write!(f, "only digits and dots are allowed"),
        }
    }
}

/// Why text is not a plausible hostname (RFC 1123 labels; `_` tolerated, as real networks
/// have such names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostnameProblem {
    TooLong(usize),
    EmptyLabel,
    LabelTooLong(String),
    BadChar(char),
    HyphenAtEdge(String),
    NumericLastLabel(String),
}

impl fmt::Display for HostnameProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong(n) => write!(f, "{n} characters, over the 253 allowed"),
            Self::EmptyLabel => write!(f, "empty label (leading dot or two dots in a row)"),
            Self::LabelTooLong(l) => write!(f, "label '{l}' is over 63 characters"),
            Self::BadChar(c) if !c.is_ascii() => write!(
                f,
                "non-ASCII character '{c}' (write internationalised names in their xn-- form)"
            ),
            Self::BadChar(c) => write!(
                f,
                "character '{}' is not allowed (letters, digits, '-', '_' and '.')",
                c.escape_debug()
            ),
            Self::HyphenAtEdge(l) => write!(f, "label '{l}' starts or ends with '-'"),
            Self::NumericLastLabel(l) => write!(f, "the last label '{l}' is all digits"),
        }
    }
}

/// Why one target or exclude token was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecProblem {
    Empty,
    /// `part` is the offending piece when it is not the whole token.
    Ipv4 {
        part: Option<String>,
        problem: Ipv4Problem,
    },
    Ipv6 {
        part: Option<String>,
    },
    /// An IPv6 range whose end is not a full address (`fd00::1-20`).
    Ipv6RangeEnd(String),
    /// What precedes `/` is not an address (hostnames are not expanded to blocks).
    CidrAddress(String),
    PrefixNotNumber(String),
    PrefixTooLong {
        prefix: String,
        family: Family,
    },
    RangeEndMissing,
    LastOctetOver255(String),
    RangeReversed {
        start: IpAddr,
        end: IpAddr,
    },
    MixedFamilies,
    Hostname(HostnameProblem),
    /// Exclusions must be addresses: a name would have to be resolved first.
    NameExcluded,
}

impl fmt::Display for SpecProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "empty specification"),
            Self::Ipv4 {
                part: None,
                problem,
            } => write!(f, "not a valid IPv4 address ({problem})"),
            Self::Ipv4 {
                part: Some(part),
                problem,
            } => write!(f, "'{part}' is not a valid IPv4 address ({problem})"),
            Self::Ipv6 { part: None } => write!(f, "not a valid IPv6 address"),
            Self::Ipv6 { part: Some(part) } => write!(f, "'{part}' is not a valid IPv6 address"),
            Self::Ipv6RangeEnd(end) => write!(
                f,
                "range end '{end}' is not an IPv6 address (IPv6 ranges need a full end address)"
            ),
            Self::CidrAddress(a) if a.is_empty() => write!(f, "no address before '/'"),
            Self::CidrAddress(a) => write!(f, "'{a}' before '/' is not an IP address"),
            Self::PrefixNotNumber(p) if p.is_empty() => write!(f, "no prefix length after '/'"),
            Self::PrefixNotNumber(p) => write!(f, "prefix length '{p}' is not a number"),
            Self::PrefixTooLong { prefix, family } => {
                let max = match family {
                    Family::V4 => 32,
                    Family::V6 => 128,
                };
                write!(f, "prefix length {prefix} is over {max} for {family}")
            }
            Self::RangeEndMissing => write!(f, "the range has no end after '-'"),
            Self::LastOctetOver255(end) => write!(f, "range end {end} is over 255"),
            Self::RangeReversed { start, end } => {
                write!(f, "range end {end} is below its start {start}")
            }
            Self::MixedFamilies => write!(f, "a range cannot mix IPv4 and IPv6"),
            Self::Hostname(problem) => write!(f, "not a valid hostname ({problem})"),
            Self::NameExcluded => write!(
                f,
                "hostnames cannot be excluded; use an address, CIDR block or range"
            ),
        }
    }
}

/// A rejected target list. Every message is one line naming the offending token or file.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TargetError {
    #[error("invalid target '{token}': {problem}")]
    Invalid { token: String, problem: SpecProblem },
    #[error("invalid exclude '{token}': {problem}")]
    InvalidExclude { token: String, problem: SpecProblem },
    /// A bad token in a targets file, with its 1-based line number.
    #[error("{}:{line}: {error}", path.display())]
    InFile {
        path: PathBuf,
        line: usize,
        error: Box<TargetError>,
    },
    #[error("cannot read targets file '{}': {reason}", path.display())]
    Unreadable {
        path: PathBuf,
        kind: std::io::ErrorKind,
        reason: String,
    },
    #[error("targets file '{}' has no targets (only blank lines or comments)", path.display())]
    EmptyFile { path: PathBuf },
    #[error("no targets given")]
    NoTargets,
    #[error("every target address is excluded by --exclude")]
    AllExcluded,
    #[error(
        "{count} target addresses is over the limit of {LARGE_LIMIT}; \
         pass --allow-large to scan them all"
    )]
    TooLarge { count: u128 },
    #[error(
        "{count} target addresses is over the hard limit of {HARD_LIMIT} (2^24), \
         even with --allow-large; narrow the targets"
    )]
    TooHuge { count: u128 },
}

pub type Result<T> = std::result::Result<T, TargetError>;

/// Parses one target token (surrounding whitespace ignored).
pub fn parse_spec(s: &str) -> Result<TargetSpec> {
    let token = s.trim();
    parse_token(token).map_err(|problem| TargetError::Invalid {
        token: token.to_string(),
        problem,
    })
}

/// Reads a targets file: one or more specs per line separated by commas or whitespace, `#`
/// starts a comment, blank lines are skipped. Every token is checked here so that a mistake
/// is reported with its line number; the returned tokens go to [`TargetSet::parse`].
pub fn read_targets_file(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| TargetError::Unreadable {
        path: path.to_path_buf(),
        kind: e.kind(),
        reason: e.to_string(),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut tokens = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let content = line.split_once('#').map_or(line, |(before, _)| before);
        for token in split_specs(content) {
            parse_spec(token).map_err(|error| TargetError::InFile {
                path: path.to_path_buf(),
                line: i + 1,
                error: Box::new(error),
            })?;
            tokens.push(token.to_string());
        }
    }
    if tokens.is_empty() {
        return Err(TargetError::EmptyFile {
            path: path.to_path_buf(),
        });
    }
    Ok(tokens)
}

/// The addresses and names to scan, after exclusions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetSet {
    v4: Intervals,
    v6: Intervals,
    exclude_v4: Intervals,
    exclude_v6: Intervals,
    names: Vec<String>,
    /// IPv6 blocks too large to sweep, to be discovered on their link (in the order given).
    links_v6: Vec<ipnet::Ipv6Net>,
}

impl TargetSet {
    /// Parses target and exclude arguments (each may hold several comma or whitespace
    /// separated specs), removes the excluded addresses and enforces the size limits:
    /// over [`LARGE_LIMIT`] addresses needs `allow_large`, over [`HARD_LIMIT`] is refused.
    pub fn parse(specs: &[String], excludes: &[String], allow_large: bool) -> Result<TargetSet> {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        let mut names: Vec<String> = Vec::new();
        let mut links_v6: Vec<ipnet::Ipv6Net> = Vec::new();
        let cap = if allow_large { HARD_LIMIT } else { LARGE_LIMIT };
        for arg in specs {
            for spec in parse_arg(arg)? {
                match spec {
                    TargetSpec::Name(name) => {
                        if !names.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
                            names.push(name);
                        }
                    }
                    TargetSpec::Net(ipnet::IpNet::V6(net))
                        if v6_block_size(net) > u128::from(cap) =>
                    {
                        let net = net.trunc();
                        if !links_v6.contains(&net) {
                            links_v6.push(net);
                        }
                    }
                    other => push_span(&other, Role::Target, &mut v4, &mut v6),
                }
            }
        }
        if v4.is_empty() && v6.is_empty() && names.is_empty() && links_v6.is_empty() {
            return Err(TargetError::NoTargets);
        }

        let mut ex4 = Vec::new();
        let mut ex6 = Vec::new();
        for arg in excludes {
            let specs = parse_arg(arg).map_err(|e| match e {
                TargetError::Invalid { token, problem } => {
                    TargetError::InvalidExclude { token, problem }
                }
                other => other,
            })?;
            for spec in specs {
                if let TargetSpec::Name(name) = spec {
                    return Err(TargetError::InvalidExclude {
                        token: name,
                        problem: SpecProblem::NameExcluded,
                    });
                }
                push_span(&spec, Role::Exclude, &mut ex4, &mut ex6);
            }
        }

        let exclude_v4 = Intervals::from_spans(ex4);
        let exclude_v6 = Intervals::from_spans(ex6);
        let set = TargetSet {
            v4: Intervals::from_spans(v4).subtract(&exclude_v4),
            v6: Intervals::from_spans(v6).subtract(&exclude_v6),
            exclude_v4,
            exclude_v6,
            names,
            links_v6,
        };

        let count = set.v4.count.saturating_add(set.v6.count);
        if count == 0 && set.names.is_empty() && set.links_v6.is_empty() {
            return Err(TargetError::AllExcluded);
        }
        if count > u128::from(HARD_LIMIT) {
            return Err(TargetError::TooHuge { count });
        }
        if count > u128::from(LARGE_LIMIT) && !allow_large {
            return Err(TargetError::TooLarge { count });
        }
        Ok(set)
    }

    /// Single addresses already known (the hosts a monitoring round re-checks): no names, no
    /// exclusions, no size limit (they were checked when the addresses were first found).
    pub fn from_addrs(addrs: impl IntoIterator<Item = IpAddr>) -> TargetSet {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for ip in addrs {
            push_span(&TargetSpec::Addr(ip), Role::Target, &mut v4, &mut v6);
        }
        TargetSet {
            v4: Intervals::from_spans(v4),
            v6: Intervals::from_spans(v6),
            ..TargetSet::default()
        }
    }

    /// IPv6 blocks larger than the sweep limit (`fd00::/64`): not addresses to probe one by
    /// one but links whose hosts are found by multicast echo and the neighbour table (see
    /// [`crate::net::ndp`], which needs no core knowledge of interfaces); the caller checks
    /// each is on-link and adds what it finds with [`add_resolved`](Self::add_resolved).
    /// They count for nothing in [`len`](Self::len).
    pub fn links_v6(&self) -> &[ipnet::Ipv6Net] {
        &self.links_v6
    }

    /// Hostnames still to resolve, in the order given, without case-insensitive duplicates.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Adds an address resolved from one of [`names`](Self::names), unless an exclusion
    /// covers it. The size limits are not re-checked: a name adds a handful of addresses.
    pub fn add_resolved(&mut self, ip: IpAddr) {
        let (set, exclude, x) = match ip {
            IpAddr::V4(a) => (&mut self.v4, &self.exclude_v4, u128::from(u32::from(a))),
            IpAddr::V6(a) => (&mut self.v6, &self.exclude_v6, u128::from(a)),
        };
        if !exclude.contains(x) {
            set.insert(x, x);
        }
    }

    /// Number of addresses after exclusions; names not yet resolved do not count.
    pub fn len(&self) -> u64 {
        u64::try_from(self.v4.count.saturating_add(self.v6.count)).unwrap_or(u64::MAX)
    }

    /// True when there are no addresses; there may still be [`names`](Self::names) to resolve.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => self.v4.contains(u128::from(u32::from(a))),
            IpAddr::V6(a) => self.v6.contains(u128::from(a)),
        }
    }

    /// Every address, lazily, ascending, IPv4 before IPv6.
    pub fn iter(&self) -> impl Iterator<Item = IpAddr> + '_ {
        // IPv4 intervals only ever hold values built from a u32, so the cast is lossless.
        let v4 = self.v4.iter().map(|x| IpAddr::V4(Ipv4Addr::from(x as u32)));
        let v6 = self.v6.iter().map(|x| IpAddr::V6(Ipv6Addr::from(x)));
        v4.chain(v6)
    }
}

/// Addresses in an IPv6 block (2^128 saturates to `u128::MAX`).
fn v6_block_size(net: ipnet::Ipv6Net) -> u128 {
    1u128
        .checked_shl(u32::from(128 - net.prefix_len()))
        .unwrap_or(u128::MAX)
}

/// Splits an argument or file line into spec tokens.
fn split_specs(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
}

fn parse_arg(arg: &str) -> Result<Vec<TargetSpec>> {
    let specs = split_specs(arg)
        .map(parse_spec)
        .collect::<Result<Vec<_>>>()?;
    if specs.is_empty() {
        return Err(TargetError::Invalid {
            token: arg.to_string(),
            problem: SpecProblem::Empty,
        });
    }
    Ok(specs)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Target,
    /// Exclusions remove whole blocks, network and broadcast addresses included.
    Exclude,
}

/// Appends the address interval of an address, block or range to its family's list.
fn push_span(
    spec: &TargetSpec,
    role: Role,
    v4: &mut Vec<(u128, u128)>,
    v6: &mut Vec<(u128, u128)>,
) {
    let v4num = |a: Ipv4Addr| u128::from(u32::from(a));
    match *spec {
        TargetSpec::Addr(IpAddr::V4(a)) => v4.push((v4num(a), v4num(a))),
        TargetSpec::Addr(IpAddr::V6(a)) => v6.push((u128::from(a), u128::from(a))),
        TargetSpec::Net(ipnet::IpNet::V4(net)) => {
            let (lo, hi) = (v4num(net.network()), v4num(net.broadcast()));
            if role == Role::Target && net.prefix_len() <= 30 {
                v4.push((lo + 1, hi - 1));
            } else {
                v4.push((lo, hi));
            }
        }
        TargetSpec::Net(ipnet::IpNet::V6(net)) => {
            v6.push((u128::from(net.network()), u128::from(net.broadcast())));
        }
        TargetSpec::Range {
            start: IpAddr::V4(s),
            end: IpAddr::V4(e),
        } => v4.push((v4num(s), v4num(e))),
        TargetSpec::Range {
            start: IpAddr::V6(s),
            end: IpAddr::V6(e),
        } => v6.push((u128::from(s), u128::from(e))),
        // parse_token never builds a mixed range, and names carry no addresses.
        TargetSpec::Range { .. } | TargetSpec::Name(_) => {}
    }
}

fn parse_token(t: &str) -> std::result::Result<TargetSpec, SpecProblem> {
    if t.is_empty() {
        return Err(SpecProblem::Empty);
    }
    if let Some((addr, prefix)) = t.split_once('/') {
        return parse_cidr(addr, prefix);
    }
    // A dotted-decimal start marks an IPv4 range; `1-800-flowers.com` stays a hostname.
    if let Some((lo, hi)) = t.split_once('-')
        && lo.contains('.')
        && is_dotted_digits(lo)
    {
        return parse_v4_range(lo, hi);
    }
    if t.contains(':') {
        return parse_v6(t);
    }
    if is_dotted_digits(t) {
        return parse_v4(t, false).map(|a| TargetSpec::Addr(IpAddr::V4(a)));
    }
    check_hostname(t)?;
    Ok(TargetSpec::Name(t.to_string()))
}

/// Digits and dots only: text that can only be meant as an IPv4 address, never a hostname
/// (a hostname's last label is never all digits).
fn is_dotted_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

/// `part` says whether `s` is a piece of a longer token, to name it in the message.
fn parse_v4(s: &str, part: bool) -> std::result::Result<Ipv4Addr, SpecProblem> {
    s.parse().map_err(|_| SpecProblem::Ipv4 {
        part: part.then(|| s.to_string()),
        problem: diagnose_v4(s),
    })
}

fn diagnose_v4(s: &str) -> Ipv4Problem {
    if !is_dotted_digits(s) {
        return Ipv4Problem::Malformed;
    }
    let octets: Vec<&str> = s.split('.').collect();
    if octets.len() != 4 {
        return Ipv4Problem::OctetCount(octets.len());
    }
    for octet in octets {
        if octet.is_empty() {
            return Ipv4Problem::EmptyOctet;
        }
        if parse_decimal(octet).is_none_or(|n| n > 255) {
            return Ipv4Problem::OctetOver255(octet.to_string());
        }
        if octet.len() > 1 && octet.starts_with('0') {
            return Ipv4Problem::LeadingZero(octet.to_string());
        }
    }
    Ipv4Problem::Malformed
}

fn parse_v6(s: &str) -> std::result::Result<TargetSpec, SpecProblem> {
    let Some((lo, hi)) = s.split_once('-') else {
        return s
            .parse::<Ipv6Addr>()
            .map(|a| TargetSpec::Addr(IpAddr::V6(a)))
            .map_err(|_| SpecProblem::Ipv6 { part: None });
    };
    let start: Ipv6Addr = lo.parse().map_err(|_| SpecProblem::Ipv6 {
        part: Some(lo.to_string()),
    })?;
    if hi.is_empty() {
        return Err(SpecProblem::RangeEndMissing);
    }
    if hi.contains('.') && is_dotted_digits(hi) {
        return Err(SpecProblem::MixedFamilies);
    }
    let end: Ipv6Addr = hi
        .parse()
        .map_err(|_| SpecProblem::Ipv6RangeEnd(hi.to_string()))?;
    range(IpAddr::V6(start), IpAddr::V6(end))
}

fn parse_v4_range(lo: &str, hi: &str) -> std::result::Result<TargetSpec, SpecProblem> {
    let start = parse_v4(lo, true)?;
    if hi.is_empty() {
        return Err(SpecProblem::RangeEndMissing);
    }
    if hi.contains(':') {
        return Err(SpecProblem::MixedFamilies);
    }
    let end = if hi.bytes().all(|b| b.is_ascii_digit()) {
        let last = parse_decimal(hi)
            .and_then(|n| u8::try_from(n).ok())
            .ok_or_else(|| SpecProblem::LastOctetOver255(hi.to_string()))?;
        let [a, b, c, _] = start.octets();
        Ipv4Addr::new(a, b, c, last)
    } else {
        parse_v4(hi, true)?
    };
    range(IpAddr::V4(start), IpAddr::V4(end))
}

fn range(start: IpAddr, end: IpAddr) -> std::result::Result<TargetSpec, SpecProblem> {
    if end < start {
        return Err(SpecProblem::RangeReversed { start, end });
    }
    Ok(TargetSpec::Range { start, end })
}

fn parse_cidr(addr: &str, prefix: &str) -> std::result::Result<TargetSpec, SpecProblem> {
    let (ip, family) = if addr.contains(':') {
        let a: Ipv6Addr = addr.parse().map_err(|_| SpecProblem::Ipv6 {
            part: Some(addr.to_string()),
        })?;
        (IpAddr::V6(a), Family::V6)
    } else if is_dotted_digits(addr) {
        (IpAddr::V4(parse_v4(addr, true)?), Family::V4)
    } else {
        return Err(SpecProblem::CidrAddress(addr.to_string()));
    };
    let too_long = || SpecProblem::PrefixTooLong {
        prefix: prefix.to_string(),
        family,
    };
    let len = parse_decimal(prefix).ok_or_else(|| SpecProblem::PrefixNotNumber(prefix.into()))?;
    let len = u8::try_from(len).map_err(|_| too_long())?;
    ipnet::IpNet::new(ip, len)
        .map(TargetSpec::Net)
        .map_err(|_| too_long())
}

fn check_hostname(t: &str) -> std::result::Result<(), SpecProblem> {
    let bad = SpecProblem::Hostname;
    let name = t.strip_suffix('.').unwrap_or(t);
    if name.len() > 253 {
        return Err(bad(HostnameProblem::TooLong(name.len())));
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err(bad(HostnameProblem::EmptyLabel));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(bad(HostnameProblem::BadChar(c)));
        }
        if label.len() > 63 {
            return Err(bad(HostnameProblem::LabelTooLong(label.to_string())));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(bad(HostnameProblem::HyphenAtEdge(label.to_string())));
        }
    }
    match name.rsplit('.').next() {
        Some(last) if last.bytes().all(|b| b.is_ascii_digit()) => {
            Err(bad(HostnameProblem::NumericLastLabel(last.to_string())))
        }
        _ => Ok(()),
    }
}

/// ASCII digits to a number, saturating so that huge inputs still read as "too large".
fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.bytes().fold(0u64, |acc, b| {
        acc.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    }))
}

/// Sorted, merged (neither overlapping nor adjacent), inclusive `u128` intervals of one
/// address family, with the number of addresses they hold. IPv4 addresses are stored as
/// their `u32` value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Intervals {
    spans: Vec<(u128, u128)>,
    /// Saturates at `u128::MAX` (only the whole IPv6 space, `::/0`, reaches it).
    count: u128,
}

impl Intervals {
    fn from_spans(mut spans: Vec<(u128, u128)>) -> Self {
        spans.sort_unstable();
        let mut merged: Vec<(u128, u128)> = Vec::with_capacity(spans.len());
        for (lo, hi) in spans {
            match merged.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        Self::with_count(merged)
    }

    fn with_count(spans: Vec<(u128, u128)>) -> Self {
        let count = spans.iter().fold(0u128, |n, &(lo, hi)| {
            n.saturating_add((hi - lo).saturating_add(1))
        });
        Intervals { spans, count }
    }

    /// Set difference, in one pass over both sorted lists.
    fn subtract(&self, other: &Intervals) -> Intervals {
        let ex = &other.spans;
        let mut out = Vec::with_capacity(self.spans.len());
        let mut first = 0;
        for &(lo, hi) in &self.spans {
            while first < ex.len() && ex[first].1 < lo {
                first += 1;
            }
            let mut from = lo;
            let mut covered = false;
            for &(elo, ehi) in ex[first..].iter().take_while(|&&(elo, _)| elo <= hi) {
                if elo > from {
                    out.push((from, elo - 1));
                }
                if ehi >= hi {
                    covered = true;
                    break;
                }
                from = from.max(ehi + 1);
            }
            if !covered {
                out.push((from, hi));
            }
        }
        Self::with_count(out)
    }

    fn insert(&mut self, lo: u128, hi: u128) {
        // Spans in [start, end) overlap or touch [lo, hi] and merge with it.
        let start = self
            .spans
            .partition_point(|&(_, h)| h.saturating_add(1) < lo);
        let end = self
            .spans
            .partition_point(|&(l, _)| l <= hi.saturating_add(1));
        let merged = match self.spans.get(start..end) {
            Some([first, .., last]) => (lo.min(first.0), hi.max(last.1)),
            Some([only]) => (lo.min(only.0), hi.max(only.1)),
            _ => (lo, hi),
        };
        self.spans.splice(start..end, [merged]);
        *self = Self::with_count(std::mem::take(&mut self.spans));
    }

    fn contains(&self, x: u128) -> bool {
        let i = self.spans.partition_point(|&(_, hi)| hi < x);
        self.spans.get(i).is_some_and(|&(lo, _)| lo <= x)
    }

    fn iter(&self) -> impl Iterator<Item = u128> + '_ {
        self.spans.iter().flat_map(|&(lo, hi)| lo..=hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_addrs_holds_exactly_those_addresses() {
        let set = TargetSet::from_addrs([
            ip("10.0.0.3"),
            ip("fd00::1"),
            ip("10.0.0.1"),
            ip("10.0.0.3"),
        ]);
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            [ip("10.0.0.1"), ip("10.0.0.3"), ip("fd00::1")]
        );
        assert_eq!(set.len(), 3);
        assert!(set.names().is_empty());
    }

    fn s(specs: &[&str]) -> Vec<String> {
        specs.iter().map(ToString::to_string).collect()
    }

    fn set(specs: &[&str], excludes: &[&str]) -> TargetSet {
        TargetSet::parse(&s(specs), &s(excludes), false).expect("valid targets")
    }

    fn set_err(specs: &[&str], excludes: &[&str]) -> String {
        TargetSet::parse(&s(specs), &s(excludes), false)
            .expect_err("invalid targets")
            .to_string()
    }

    fn spec_err(spec: &str) -> String {
        parse_spec(spec).expect_err(spec).to_string()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name)
    }

    #[test]
    fn spec_forms() {
        assert_eq!(parse_spec("10.0.0.7"), Ok(TargetSpec::Addr(ip("10.0.0.7"))));
        assert_eq!(parse_spec(" fd00::7 "), Ok(TargetSpec::Addr(ip("fd00::7"))));
        assert_eq!(
            parse_spec("10.0.0.0/24"),
            Ok(TargetSpec::Net("10.0.0.0/24".parse().unwrap()))
        );
        assert_eq!(
            parse_spec("fd00::/120"),
            Ok(TargetSpec::Net("fd00::/120".parse().unwrap()))
        );
        assert_eq!(
            parse_spec("10.0.0.1-50"),
            Ok(TargetSpec::Range {
                start: ip("10.0.0.1"),
                end: ip("10.0.0.50")
            })
        );
        assert_eq!(
            parse_spec("10.0.0.1-10.0.1.20"),
            Ok(TargetSpec::Range {
                start: ip("10.0.0.1"),
                end: ip("10.0.1.20")
            })
        );
        assert_eq!(
            parse_spec("fd00::1-fd00::20"),
            Ok(TargetSpec::Range {
                start: ip("fd00::1"),
                end: ip("fd00::20")
            })
        );
        for name in [
            "router",
            "example.org",
            "Host-1.LAN.",
            "1-800-flowers.com",
            "my_pc.corp",
            "10.0.0.1.example.com",
        ] {
            assert_eq!(parse_spec(name), Ok(TargetSpec::Name(name.to_string())));
        }
    }

    #[test]
    fn spec_display_round_trips() {
        for spec in ["10.0.0.7", "10.0.0.0/24", "fd00::1-fd00::20", "example.org"] {
            assert_eq!(parse_spec(spec).unwrap().to_string(), spec);
        }
        assert_eq!(
            parse_spec("10.0.0.1-9").unwrap().to_string(),
            "10.0.0.1-10.0.0.9"
        );
    }

    #[test]
    fn bad_addresses_name_the_token() {
        assert_eq!(
            spec_err("300.1.1.1"),
            "invalid target '300.1.1.1': not a valid IPv4 address (octet 300 is over 255)"
        );
        assert_eq!(
            spec_err("10.0.0"),
            "invalid target '10.0.0': not a valid IPv4 address \
             (expected 4 dot-separated octets, found 3)"
        );
        assert_eq!(
            spec_err("10.0..1"),
            "invalid target '10.0..1': not a valid IPv4 address (an octet is empty)"
        );
        assert_eq!(
            spec_err("10.0.0.010"),
            "invalid target '10.0.0.010': not a valid IPv4 address (octet '010' has a leading zero)"
        );
        assert_eq!(
            spec_err("12345"),
            "invalid target '12345': not a valid IPv4 address \
             (expected 4 dot-separated octets, found 1)"
        );
        assert_eq!(
            spec_err("fd00::g"),
            "invalid target 'fd00::g': not a valid IPv6 address"
        );
    }

    #[test]
    fn bad_cidrs_name_the_token() {
        assert_eq!(
            spec_err("10.0.0.0/33"),
            "invalid target '10.0.0.0/33': prefix length 33 is over 32 for IPv4"
        );
        assert_eq!(
            spec_err("fd00::/129"),
            "invalid target 'fd00::/129': prefix length 129 is over 128 for IPv6"
        );
        assert_eq!(
            spec_err("10.0.0.0/99999999999999999999999"),
            "invalid target '10.0.0.0/99999999999999999999999': \
             prefix length 99999999999999999999999 is over 32 for IPv4"
        );
        assert_eq!(
            spec_err("10.0.0.0/x"),
            "invalid target '10.0.0.0/x': prefix length 'x' is not a number"
        );
        assert_eq!(
            spec_err("10.0.0.0/"),
            "invalid target '10.0.0.0/': no prefix length after '/'"
        );
        assert_eq!(
            spec_err("300.0.0.0/8"),
            "invalid target '300.0.0.0/8': '300.0.0.0' is not a valid IPv4 address \
             (octet 300 is over 255)"
        );
        assert_eq!(
            spec_err("example.org/24"),
            "invalid target 'example.org/24': 'example.org' before '/' is not an IP address"
        );
        assert_eq!(
            spec_err("/24"),
            "invalid target '/24': no address before '/'"
        );
    }

    #[test]
    fn bad_ranges_name_the_token() {
        assert_eq!(
            spec_err("10.0.0.5-3"),
            "invalid target '10.0.0.5-3': range end 10.0.0.3 is below its start 10.0.0.5"
        );
        assert_eq!(
            spec_err("10.0.1.0-10.0.0.255"),
            "invalid target '10.0.1.0-10.0.0.255': range end 10.0.0.255 is below its start 10.0.1.0"
        );
        assert_eq!(
            spec_err("10.0.0.1-300"),
            "invalid target '10.0.0.1-300': range end 300 is over 255"
        );
        assert_eq!(
            spec_err("10.0.0.1-"),
            "invalid target '10.0.0.1-': the range has no end after '-'"
        );
        assert_eq!(
            spec_err("10.0.0-5.1"),
            "invalid target '10.0.0-5.1': '10.0.0' is not a valid IPv4 address \
             (expected 4 dot-separated octets, found 3)"
        );
        assert_eq!(
            spec_err("10.0.0.1-10.0.0.x"),
            "invalid target '10.0.0.1-10.0.0.x': '10.0.0.x' is not a valid IPv4 address \
             (only digits and dots are allowed)"
        );
        assert_eq!(
            spec_err("10.0.0.1-fd00::1"),
            "invalid target '10.0.0.1-fd00::1': a range cannot mix IPv4 and IPv6"
        );
        assert_eq!(
            spec_err("fd00::1-10.0.0.1"),
            "invalid target 'fd00::1-10.0.0.1': a range cannot mix IPv4 and IPv6"
        );
        assert_eq!(
            spec_err("fd00::20-fd00::1"),
            "invalid target 'fd00::20-fd00::1': range end fd00::1 is below its start fd00::20"
        );
        assert_eq!(
            spec_err("fd00::1-20"),
            "invalid target 'fd00::1-20': range end '20' is not an IPv6 address \
             (IPv6 ranges need a full end address)"
        );
    }

    #[test]
    fn bad_hostnames_name_the_token() {
        assert_eq!(spec_err(""), "invalid target '': empty specification");
        assert_eq!(spec_err("   "), "invalid target '': empty specification");
        assert_eq!(
            spec_err("foo..bar"),
            "invalid target 'foo..bar': not a valid hostname \
             (empty label (leading dot or two dots in a row))"
        );
        assert_eq!(
            spec_err("-foo.lan"),
            "invalid target '-foo.lan': not a valid hostname (label '-foo' starts or ends with '-')"
        );
        assert_eq!(
            spec_err("foo!.lan"),
            "invalid target 'foo!.lan': not a valid hostname \
             (character '!' is not allowed (letters, digits, '-', '_' and '.'))"
        );
        assert_eq!(
            spec_err("bücher.de"),
            "invalid target 'bücher.de': not a valid hostname \
             (non-ASCII character 'ü' (write internationalised names in their xn-- form))"
        );
        assert_eq!(
            spec_err("host.123"),
            "invalid target 'host.123': not a valid hostname (the last label '123' is all digits)"
        );
        let long_label = "a".repeat(64);
        assert!(spec_err(&format!("{long_label}.lan")).contains("is over 63 characters"));
        let long_name = ["abcdefghi"; 26].join(".");
        assert_eq!(
            spec_err(&long_name),
            format!(
                "invalid target '{long_name}': not a valid hostname \
                 (259 characters, over the 253 allowed)"
            )
        );
    }

    #[test]
    fn counts_per_form() {
        assert_eq!(set(&["10.0.0.0/24"], &[]).len(), 254);
        assert_eq!(set(&["10.0.0.0/30"], &[]).len(), 2);
        assert_eq!(set(&["10.0.0.0/31"], &[]).len(), 2);
        assert_eq!(set(&["10.0.0.0/32"], &[]).len(), 1);
        assert_eq!(set(&["10.0.0.1-50"], &[]).len(), 50);
        assert_eq!(set(&["10.0.0.1-10.0.1.20"], &[]).len(), 276);
        assert_eq!(set(&["fd00::/120"], &[]).len(), 256);
        assert_eq!(set(&["fd00::1-fd00::20"], &[]).len(), 32);
        assert_eq!(set(&["fd00::/128"], &[]).len(), 1);
        assert_eq!(set(&["10.0.0.7"], &[]).len(), 1);
    }

    #[test]
    fn network_and_broadcast_are_dropped_up_to_slash_30() {
        let s24 = set(&["192.168.1.77/24"], &[]);
        assert!(!s24.contains(ip("192.168.1.0")));
        assert!(!s24.contains(ip("192.168.1.255")));
        assert!(s24.contains(ip("192.168.1.1")) && s24.contains(ip("192.168.1.254")));
        let s31: Vec<IpAddr> = set(&["10.0.0.0/31"], &[]).iter().collect();
        assert_eq!(s31, [ip("10.0.0.0"), ip("10.0.0.1")]);
        // Ranges keep what they name, .0 and .255 included.
        assert_eq!(set(&["10.0.0.0-255"], &[]).len(), 256);
        // IPv6 has no broadcast address.
        assert!(set(&["fd00::/120"], &[]).contains(ip("fd00::")));
    }

    #[test]
    fn duplicates_and_overlaps_count_once() {
        let t = set(
            &[
                "10.0.0.0/24",
                "10.0.0.5",
                "10.0.0.1-20",
                "10.0.0.250-10.0.1.4",
                "10.0.0.5",
            ],
            &[],
        );
        // 10.0.0.1-254 from the /24, then 10.0.0.255-10.0.1.4 from the range.
        assert_eq!(t.len(), 254 + 1 + 5);
        let all: Vec<IpAddr> = t.iter().collect();
        assert_eq!(all.len() as u64, t.len());
        assert!(all.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(all.first(), Some(&ip("10.0.0.1")));
        assert_eq!(all.last(), Some(&ip("10.0.1.4")));
    }

    #[test]
    fn several_specs_per_argument() {
        let t = set(&["10.0.0.1,10.0.0.2 10.0.0.3", " fd00::1 ,, router"], &[]);
        assert_eq!(t.len(), 4);
        assert_eq!(t.names(), ["router"]);
        assert_eq!(
            set_err(&["10.0.0.1", " , "], &[]),
            "invalid target ' , ': empty specification"
        );
    }

    #[test]
    fn excludes_subtract_addresses_blocks_and_ranges() {
        let t = set(
            &["10.0.0.0/24"],
            &["10.0.0.10", "10.0.0.100-109", "10.0.0.128/25"],
        );
        assert_eq!(t.len(), 254 - 1 - 10 - 127);
        assert!(!t.contains(ip("10.0.0.10")));
        assert!(!t.contains(ip("10.0.0.105")));
        assert!(!t.contains(ip("10.0.0.200")));
        assert!(t.contains(ip("10.0.0.11")) && t.contains(ip("10.0.0.127")));
        assert_eq!(t.iter().count() as u64, t.len());

        let v6 = set(&["fd00::/120"], &["fd00::10-fd00::1f", "fd00::ff"]);
        assert_eq!(v6.len(), 256 - 16 - 1);
        assert!(!v6.contains(ip("fd00::1a")));

        // An exclude of the other family or outside the targets changes nothing.
        assert_eq!(
            set(&["10.0.0.1-50"], &["fd00::/64", "192.168.0.0/16"]).len(),
            50
        );
        // An exclude block takes its network and broadcast addresses too.
        assert_eq!(
            set(&["10.0.0.0-255", "10.0.1.1"], &["10.0.0.0/24"]).len(),
            1
        );
    }

    #[test]
    fn everything_excluded_is_an_error_unless_names_remain() {
        assert_eq!(
            set_err(&["10.0.0.0/24"], &["10.0.0.0/16"]),
            "every target address is excluded by --exclude"
        );
        let t = set(&["10.0.0.1", "router"], &["10.0.0.1"]);
        assert!(t.is_empty());
        assert_eq!(t.names(), ["router"]);
    }

    #[test]
    fn bad_excludes_name_the_token() {
        assert_eq!(
            set_err(&["10.0.0.0/24"], &["router"]),
            "invalid exclude 'router': hostnames cannot be excluded; \
             use an address, CIDR block or range"
        );
        assert_eq!(
            set_err(&["10.0.0.0/24"], &["10.0.0.0/33"]),
            "invalid exclude '10.0.0.0/33': prefix length 33 is over 32 for IPv4"
        );
        assert_eq!(
            set_err(&["10.0.0.0/24"], &[""]),
            "invalid exclude '': empty specification"
        );
    }

    #[test]
    fn no_targets_is_an_error() {
        assert_eq!(
            TargetSet::parse(&[], &[], false),
            Err(TargetError::NoTargets)
        );
        assert_eq!(
            set_err(&[""], &[]),
            "invalid target '': empty specification"
        );
    }

    #[test]
    fn large_sets_need_allow_large() {
        assert_eq!(set(&["10.0.0.0/16"], &[]).len(), 65_534);
        // Exactly at the limit is allowed.
        assert_eq!(set(&["10.0.0.0-10.0.255.255"], &[]).len(), 65_536);
        assert_eq!(
            set_err(&["10.0.0.0/15"], &[]),
            "131070 target addresses is over the limit of 65536; \
             pass --allow-large to scan them all"
        );
        // The limit applies after exclusion.
        assert_eq!(set(&["10.0.0.0/15"], &["10.1.0.0/16"]).len(), 65_535);
        let big = TargetSet::parse(&s(&["10.0.0.0/15"]), &[], true).unwrap();
        assert_eq!(big.len(), 131_070);
        // Lazy: taking the first few never expands the rest.
        let first: Vec<IpAddr> = big.iter().take(2).collect();
        assert_eq!(first, [ip("10.0.0.1"), ip("10.0.0.2")]);
    }

    #[test]
    fn absurd_sets_are_refused_even_with_allow_large() {
        let huge = |spec: &str| TargetSet::parse(&s(&[spec]), &[], true).unwrap_err();
        assert_eq!(
            huge("fd00::-fd00::ffff:ffff:ffff:ffff").to_string(),
            "18446744073709551616 target addresses is over the hard limit of 16777216 (2^24), \
             even with --allow-large; narrow the targets"
        );
        assert_eq!(
            huge("0.0.0.0/0"),
            TargetError::TooHuge {
                count: (1u128 << 32) - 2
            }
        );
        assert!(matches!(
            huge("::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
            TargetError::TooHuge { .. }
        ));
        // A /8 is exactly at the hard limit once network and broadcast are dropped.
        assert_eq!(
            TargetSet::parse(&s(&["10.0.0.0/8"]), &[], true)
                .unwrap()
                .len(),
            (1 << 24) - 2
        );
        assert!(matches!(
            TargetSet::parse(&s(&["10.0.0.0/8"]), &[], false),
            Err(TargetError::TooLarge { .. })
        ));
    }

    #[test]
    fn ipv6_blocks_over_the_sweep_limit_are_link_prefixes() {
        let t = TargetSet::parse(&s(&["fd77::7/64", "fd77::/64", "10.0.0.1"]), &[], false).unwrap();
        assert_eq!(
            t.links_v6(),
            ["fd77::/64".parse::<ipnet::Ipv6Net>().unwrap()]
        );
        assert_eq!(
            t.len(),
            1,
            "a link prefix counts no address until discovered"
        );
        // Only a prefix alone is a valid target list, and what is found joins it, minus
        // exclusions.
        let mut t = TargetSet::parse(&s(&["fd77::/64"]), &s(&["fd77::20"]), false).unwrap();
        assert!(t.is_empty());
        t.add_resolved(ip("fd77::30"));
        t.add_resolved(ip("fd77::20"));
        assert_eq!(t.iter().collect::<Vec<_>>(), [ip("fd77::30")]);
        // The limit that applies decides: a /100 is a link without --allow-large, and
        // with it too (2^28 is over the hard limit); a /108 is swept with --allow-large.
        let p = |spec: &str, large| TargetSet::parse(&s(&[spec]), &[], large).unwrap();
        assert_eq!(p("fd00::/100", false).links_v6().len(), 1);
        assert_eq!(p("fd00::/100", true).links_v6().len(), 1);
        assert_eq!(p("fd00::/108", false).links_v6().len(), 1);
        let swept = p("fd00::/108", true);
        assert!(swept.links_v6().is_empty());
        assert_eq!(swept.len(), 1 << 20);
        assert!(p("fd00::/112", false).links_v6().is_empty());
        assert_eq!(p("::/0", true).links_v6().len(), 1);
    }

    #[test]
    fn iteration_is_ascending_ipv4_first() {
        let t = set(&["fd00::2", "10.0.0.9", "fd00::1", "10.0.0.1-2"], &[]);
        let all: Vec<IpAddr> = t.iter().collect();
        assert_eq!(
            all,
            [
                ip("10.0.0.1"),
                ip("10.0.0.2"),
                ip("10.0.0.9"),
                ip("fd00::1"),
                ip("fd00::2")
            ]
        );
    }

    #[test]
    fn names_are_kept_and_deduplicated() {
        let t = set(&["router", "Router", "example.org", "10.0.0.1"], &[]);
        assert_eq!(t.names(), ["router", "example.org"]);
        assert_eq!(t.len(), 1);
        let only_names = set(&["example.org"], &[]);
        assert!(only_names.is_empty());
        assert_eq!(only_names.iter().count(), 0);
    }

    #[test]
    fn resolved_addresses_join_the_set_unless_excluded() {
        let mut t = set(
            &["example.org", "10.0.0.1-3"],
            &["10.0.0.0/24", "fd00::/120"],
        );
        assert!(t.is_empty());
        t.add_resolved(ip("10.0.0.7"));
        t.add_resolved(ip("fd00::7"));
        assert_eq!(t.len(), 0);

        let mut t = set(&["example.org", "10.0.0.1-3"], &[]);
        t.add_resolved(ip("10.0.0.4"));
        t.add_resolved(ip("10.0.0.2"));
        t.add_resolved(ip("10.9.9.1"));
        t.add_resolved(ip("2001:db8::1"));
        t.add_resolved(ip("2001:db8::1"));
        assert_eq!(t.len(), 6);
        assert!(t.contains(ip("10.9.9.1")) && t.contains(ip("2001:db8::1")));
        let all: Vec<IpAddr> = t.iter().collect();
        assert_eq!(
            all,
            [
                ip("10.0.0.1"),
                ip("10.0.0.2"),
                ip("10.0.0.3"),
                ip("10.0.0.4"),
                ip("10.9.9.1"),
                ip("2001:db8::1")
            ]
        );
    }

    #[test]
    fn interval_arithmetic_edges() {
        let iv = |spans: &[(u128, u128)]| Intervals::from_spans(spans.to_vec());
        // Adjacent spans merge.
        assert_eq!(iv(&[(5, 9), (1, 4)]).spans, [(1, 9)]);
        assert_eq!(iv(&[(1, 3), (5, 6)]).spans, [(1, 3), (5, 6)]);
        // The top of the space neither overflows nor miscounts.
        let full = iv(&[(0, u128::MAX)]);
        assert_eq!(full.count, u128::MAX);
        assert!(full.contains(u128::MAX) && full.contains(0));
        assert_eq!(
            full.subtract(&iv(&[(u128::MAX, u128::MAX)])).spans,
            [(0, u128::MAX - 1)]
        );
        // One exclusion spanning several spans, and spans split in the middle.
        let a = iv(&[(0, 10), (20, 30), (40, 50)]);
        assert_eq!(
            a.subtract(&iv(&[(5, 25), (45, 45)])).spans,
            [(0, 4), (26, 30), (40, 44), (46, 50)]
        );
        assert_eq!(a.subtract(&iv(&[(0, 100)])).count, 0);
        // Insert bridging a gap.
        let mut b = iv(&[(1, 3), (7, 9)]);
        b.insert(4, 6);
        assert_eq!(b.spans, [(1, 9)]);
        assert_eq!(b.count, 9);
        b.insert(20, 20);
        b.insert(0, 0);
        assert_eq!(b.spans, [(0, 9), (20, 20)]);
        assert_eq!(b.count, 11);
    }

    #[test]
    fn targets_file_with_comments_blanks_and_several_per_line() {
        let path = fixture("targets.txt");
        let tokens = read_targets_file(&path).unwrap();
        assert_eq!(
            tokens,
            [
                "10.0.0.0/30",
                "10.0.0.10",
                "10.0.0.20-22",
                "fd00::1-fd00::3",
                "router.lan",
                "192.168.1.5",
            ]
        );
        let t = TargetSet::parse(&tokens, &s(&["10.0.0.21"]), false).unwrap();
        assert_eq!(t.len(), 2 + 1 + 2 + 3 + 1);
        assert_eq!(t.names(), ["router.lan"]);
    }

    #[test]
    fn targets_file_errors_name_the_file_and_line() {
        let path = fixture("targets-bad.txt");
        assert_eq!(
            read_targets_file(&path).unwrap_err().to_string(),
            format!(
                "{}:3: invalid target '10.0.0.0/33': prefix length 33 is over 32 for IPv4",
                path.display()
            )
        );

        let empty = fixture("targets-empty.txt");
        assert_eq!(
            read_targets_file(&empty).unwrap_err().to_string(),
            format!(
                "targets file '{}' has no targets (only blank lines or comments)",
                empty.display()
            )
        );

        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.txt");
        let err = read_targets_file(&missing).unwrap_err();
        assert!(matches!(
            err,
            TargetError::Unreadable {
                kind: std::io::ErrorKind::NotFound,
                ..
            }
        ));
        assert_eq!(
            err.to_string(),
            format!(
                "cannot read targets file '{}': No such file or directory (os error 2)",
                missing.display()
            )
        );
        let as_dir = read_targets_file(dir.path()).unwrap_err().to_string();
        assert!(
            as_dir.starts_with(&format!(
                "cannot read targets file '{}': ",
                dir.path().display()
            )),
            "{as_dir}"
        );
    }
}
