//! nmap-compatible XML (`xmloutputversion` 1.05), so that nmap's own tooling (ndiff, the
//! XSL stylesheet, importers of other tools) reads a netdx scan.
//!
//! The mapping, element by element (nmap.dtd order):
//! - `nmaprun` with `scanner="netdx"`, the equivalent command line in `args`, `start` in Unix
//!   seconds; `scaninfo` (type `connect`, the TCP ports checked) when ports were checked;
//! - one `host` per scanned address, silent ones included (so that ndiff reports "up → down"
//!   rather than "no longer scanned"): `status` with nmap's reason vocabulary
//!   (`arp-response`, `echo-reply`, `syn-ack`, `conn-refused`, `no-response`). nmap's DTD
//!   knows only up, down, unknown and skipped: an address without an answer is `down` with
//!   reason `no-response` (nmap's own words for it), one an interrupted scan never probed is
//!   `unknown` with reason `not-probed`. `address` for the
//!   IP and the MAC (upper case, with `vendor`), `hostnames` (`user` for the name typed, `PTR`
//!   for reverse DNS and for the names the host gave in mDNS, NetBIOS, SNMP and UPnP, each
//!   followed by a comment naming the protocol: nmap's DTD knows only `user` and `PTR`, and a
//!   LAN name is, like a PTR name, what the network calls the address, never what the user
//!   typed), `ports`, `times` (microseconds);
//! - an identified open port's `service` as `nmap -sV` writes it: nmap's service name (`http`
//!   with `tunnel="ssl"` for HTTPS, `imap` with `tunnel="ssl"` for IMAPS), `product`,
//!   `version`, `extrainfo` (OS hint; extra), `ostype` when the hint names an OS family,
//!   `method="probed" conf="10"`. A port not identified (or silent, or sending text netdx
//!   does not recognise) keeps the table name with `method="table" conf="3"`. Page titles and
//!   certificates stay in the JSON: as nmap's `http-title` and `ssl-cert` port scripts, two
//!   scripts on one port crash Debian's ndiff (it sorts `ScriptResult`s, which Python 3
//!   cannot order);
//! - no `os` element: nmap's device type lives in `os/osmatch/osclass`, and netdx makes no OS
//!   match, so inventing one to carry the type would lie to every tool that reads it. The
//!   device type and its evidence are an XML comment in the host instead (read by people,
//!   ignored by tools);
//! - nmap's connect-scan reasons for port states; a host with more than
//!   [`EXTRAPORTS_THRESHOLD`] closed (or filtered) ports gets them as one `extraports` count,
//!   as nmap does, so that a 65,535-port scan stays readable;
//! - DNS lookups (but the hosts' reverse lookups, which are their PTR hostnames) as
//!   `postscript` script results, one per query with id
//!   `netdx-dns:NAME/TYPE` and the status and sorted answers as output (TTL and timing left
//!   out so they do not show as differences), sorted by id as ndiff expects;
//! - `runstats` with the end time, elapsed seconds and host counts; an interrupted scan
//!   ends with `exit="error"` and an `errormsg`, as nmap writes for an aborted run.

use std::fmt::Write;

use crate::core::identity::ServiceId;
use crate::core::model::{Host, HostStatus, Method, PortState, ScanReport};

use super::escape::xml as x;
use super::verdict;

/// A state with more ports than this on one host is summarised in `extraports`.
pub const EXTRAPORTS_THRESHOLD: usize = 25;

/// nmap's `startstr`/`timestr`: C `ctime` layout, UTC (`Wed May  1 10:00:00 2024`).
fn ctime(unix: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{} {} {:>2} {:02}:{:02}:{:02} {}",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
        day,
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
        year
    )
}

/// The command line that would run this scan again, for `args`.
fn args(report: &ScanReport) -> String {
    let p = &report.parameters;
    let mut a = vec!["netdx".to_string(), "scan".to_string()];
    a.extend(p.targets.iter().cloned());
    if !p.exclude.is_empty() {
        a.push(format!("--exclude {}", p.exclude.join(",")));
    }
    if let Some(ports) = &p.ports {
        a.push(format!("-p {ports}"));
    }
    for q in &p.dns_queries {
        a.push(format!("--dns {q}"));
    }
    if !p.ping {
        a.push("--no-ping".to_string());
    }
    if !p.arp {
        a.push("--no-arp".to_string());
    }
    if let Some(r) = &p.resolver {
        a.push(format!("--resolver {r}"));
    }
    a.join(" ")
}

fn host_reason(h: &Host) -> &'static str {
    match h.status {
        HostStatus::Up => {}
        HostStatus::Down | HostStatus::NoAnswer => return "no-response",
        HostStatus::NotProbed => return "not-probed",
    }
    match h.methods.first() {
        Some(Method::Arp) => "arp-response",
        Some(Method::Icmp) => "echo-reply",
        Some(Method::Udp) => "udp-response",
        Some(Method::Tcp) => {
            if h.open_ports().next().is_some() {
                "syn-ack"
            } else {
                "conn-refused"
            }
        }
        None => "user-set",
    }
}

fn port_reason(s: PortState) -> &'static str {
    match s {
        PortState::Open => "syn-ack",
        PortState::Closed => "conn-refused",
        PortState::Filtered => "no-response",
    }
}

/// Text for an XML comment: escaped like content (so it reads the same as the attributes
/// around it), no `--` inside and no `-` at the end (both end a comment early or make it
/// malformed).
fn comment(s: &str) -> String {
    let mut out = String::new();
    for c in x(s).chars() {
        if c == '-' && out.ends_with('-') {
            out.push(' ');
        }
        out.push(c);
    }
    if out.ends_with('-') {
        out.push(' ');
    }
    out
}

/// The names a host gave in its LAN protocols, best first (as [`HostNames::best_name`]
/// ranks them), with the protocol that gave each.
///
/// [`HostNames::best_name`]: crate::core::names::HostNames::best_name
fn lan_names(h: &Host) -> Vec<(&'static str, &str)> {
    let n = &h.names;
    [
        (
            "NetBIOS",
            n.netbios.as_ref().and_then(|v| v.name.as_deref()),
        ),
        ("mDNS", n.mdns.as_ref().and_then(|v| v.hostname.as_deref())),
        (
            "SNMP sysName",
            n.snmp.as_ref().and_then(|v| v.sys_name.as_deref()),
        ),
        (
            "UPnP friendlyName",
            n.upnp.as_ref().and_then(|v| v.friendly_name.as_deref()),
        ),
    ]
    .into_iter()
    .filter_map(|(p, name)| name.filter(|s| !s.is_empty()).map(|s| (p, s)))
    .collect()
}

/// nmap's name for a service carried inside TLS: `https` is `http` in an `ssl` tunnel.
fn inside_tls(table: &str) -> &str {
    match table {
        "https" | "https-alt" => "http",
        "imaps" => "imap",
        "pop3s" => "pop3",
        "smtps" | "submissions" => "smtp",
        "ftps" => "ftp",
        "ldaps" => "ldap",
        other => other,
    }
}

/// nmap's `ostype` (an OS family) from the hint a banner gave ("Debian" → Linux); None when
/// the hint names no family we know.
fn ostype(hint: &str) -> Option<&'static str> {
    const LINUX: [&str; 10] = [
        "linux", "debian", "ubuntu", "raspbian", "fedora", "centos", "red hat", "alpine", "suse",
        "gentoo",
    ];
    let h = hint.to_ascii_lowercase();
    if LINUX.iter().any(|d| h.contains(d)) {
        Some("Linux")
    } else if h.contains("windows") || h.contains("win32") || h.contains("win64") {
        Some("Windows")
    } else if h.contains("freebsd") {
        Some("FreeBSD")
    } else if h.contains("openbsd") {
        Some("OpenBSD")
    } else {
        None
    }
}

/// The `service` element of a port: as `nmap -sV` writes it when the service said what it
/// is, else the table name (`method="table" conf="3"`), else nothing.
fn service(out: &mut String, table: Option<&str>, id: Option<&ServiceId>) {
    let recognised = id.filter(|i| !i.silent && i.protocol != "unknown" && i.protocol != "tls");
    let Some(i) = recognised else {
        // Not identified, silent, or text we do not recognise: the name is the table's guess.
        // A TLS handshake is still a fact (`ssl` tunnel) even when nothing inside spoke.
        let tunnel = id.is_some_and(|i| i.tls.is_some());
        let name = match (table, tunnel) {
            (Some(t), true) => Some(inside_tls(t)),
            (None, true) => Some("ssl"),
            (t, false) => t,
        };
        if let Some(name) = name {
            let _ = write!(
                out,
                "<service name=\"{}\"{} method=\"table\" conf=\"3\"/>",
                x(name),
                if tunnel && name != "ssl" {
                    " tunnel=\"ssl\""
                } else {
                    ""
                }
            );
        }
        return;
    };
    let tunnel = i.tls.is_some() || i.protocol == "https";
    let name = if i.protocol == "https" {
        "http"
    } else {
        i.protocol.as_str()
    };
    let _ = write!(out, "<service name=\"{}\"", x(name));
    if let Some(p) = &i.product {
        let _ = write!(out, " product=\"{}\"", x(p));
    }
    if let Some(v) = &i.version {
        let _ = write!(out, " version=\"{}\"", x(v));
    }
    let extra: Vec<&str> = [&i.os_hint, &i.extra]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    if !extra.is_empty() {
        let _ = write!(out, " extrainfo=\"{}\"", x(&extra.join("; ")));
    }
    if let Some(os) = i.os_hint.as_deref().and_then(ostype) {
        let _ = write!(out, " ostype=\"{os}\"");
    }
    if tunnel {
        out.push_str(" tunnel=\"ssl\"");
    }
    out.push_str(" method=\"probed\" conf=\"10\"/>");
}

fn host(out: &mut String, h: &Host, timeout_ms: u64) {
    let _ = writeln!(
        out,
        "<host><status state=\"{}\" reason=\"{}\" reason_ttl=\"0\"/>",
        match h.status {
            HostStatus::Up => "up",
            HostStatus::Down | HostStatus::NoAnswer => "down",
            HostStatus::NotProbed => "unknown",
        },
        host_reason(h)
    );
    let family = if h.ip.is_ipv4() { "ipv4" } else { "ipv6" };
    let _ = writeln!(out, "<address addr=\"{}\" addrtype=\"{family}\"/>", h.ip);
    if let Some(mac) = h.mac {
        let mac = mac.to_string().to_ascii_uppercase();
        match &h.vendor {
            Some(v) => {
                let _ = writeln!(
                    out,
                    "<address addr=\"{mac}\" addrtype=\"mac\" vendor=\"{}\"/>",
                    x(v)
                );
            }
            None => {
                let _ = writeln!(out, "<address addr=\"{mac}\" addrtype=\"mac\"/>");
            }
        }
    }
    out.push_str("<hostnames>\n");
    let mut written: Vec<String> = Vec::new();
    if let Some(n) = &h.target_name {
        let _ = writeln!(out, "<hostname name=\"{}\" type=\"user\"/>", x(n));
        written.push(n.to_lowercase());
    }
    if let Some(n) = &h.hostname {
        let _ = writeln!(out, "<hostname name=\"{}\" type=\"PTR\"/>", x(n));
        written.push(n.to_lowercase());
    }
    for (protocol, n) in lan_names(h) {
        // One name per spelling: a NetBIOS name equal to the PTR name adds nothing.
        if written.contains(&n.to_lowercase()) {
            continue;
        }
        written.push(n.to_lowercase());
        let _ = writeln!(
            out,
            "<hostname name=\"{}\" type=\"PTR\"/><!-- {protocol} -->",
            x(n)
        );
    }
    out.push_str("</hostnames>\n");
    if let Some(d) = &h.device {
        let _ = writeln!(out, "<!-- netdx device type: {} -->", comment(&d.explain()));
    }
    if !h.same_device.is_empty() {
        let ips: Vec<String> = h.same_device.iter().map(|ip| ip.to_string()).collect();
        let _ = writeln!(
            out,
            "<!-- netdx: the same device (MAC) also answers at {} -->",
            comment(&ips.join(" "))
        );
    }
    if h.ports_checked() {
        out.push_str("<ports>");
        let collapsed: Vec<PortState> = [PortState::Closed, PortState::Filtered]
            .into_iter()
            .filter(|s| h.port_count(*s) > EXTRAPORTS_THRESHOLD)
            .collect();
        for s in &collapsed {
            let n = h.port_count(*s);
            let set = match s {
                PortState::Closed => &h.closed_ports,
                _ => &h.filtered_ports,
            };
            let _ = write!(
                out,
                "<extraports state=\"{}\" count=\"{n}\">\n<extrareasons reason=\"{}\" count=\"{n}\" proto=\"tcp\" ports=\"{set}\"/>\n</extraports>\n",
                s.label(),
                port_reason(*s),
            );
        }
        let listed = h.port_states().filter(|(_, s)| !collapsed.contains(s));
        for (port, state) in listed {
            let _ = write!(
                out,
                "<port protocol=\"tcp\" portid=\"{port}\"><state state=\"{}\" reason=\"{}\" reason_ttl=\"0\"/>",
                state.label(),
                port_reason(state)
            );
            match state {
                PortState::Open => {
                    let p = h
                        .ports
                        .binary_search_by_key(&port, |p| p.port)
                        .ok()
                        .map(|i| &h.ports[i]);
                    let table = p.and_then(|p| p.service.as_deref());
                    let id = p.and_then(|p| p.identity.as_ref());
                    service(out, table, id);
                }
                _ => service(out, crate::core::ports::service_name(port), None),
            }
            out.push_str("</port>\n");
        }
        out.push_str("</ports>\n");
    }
    if let Some(rtt) = h.rtt_ms {
        let us = |ms: f64| (ms * 1000.0).round() as i64;
        let var = match (h.rtt_min_ms, h.rtt_max_ms) {
            (Some(a), Some(b)) => us((b - a) / 2.0),
            _ => 0,
        };
        let _ = writeln!(
            out,
            "<times srtt=\"{}\" rttvar=\"{var}\" to=\"{}\"/>",
            us(rtt),
            timeout_ms.saturating_mul(1000)
        );
    }
    out.push_str("</host>\n");
}

pub fn render(report: &ScanReport) -> String {
    let mut out = String::new();
    let version = report
        .tool
        .strip_prefix("netdx ")
        .unwrap_or(&report.tool)
        .to_string();
    let start = report
        .started_at
        .as_deref()
        .and_then(crate::core::clock::unix_time);
    let end = report
        .finished_at
        .as_deref()
        .and_then(crate::core::clock::unix_time);

    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE nmaprun>\n");
    let _ = writeln!(
        out,
        "<!-- {} report in nmap XML format; netdx JSON holds the full detail -->",
        comment(&report.tool)
    );
    let _ = write!(
        out,
        "<nmaprun scanner=\"netdx\" args=\"{}\"",
        x(&args(report))
    );
    if let Some(s) = start {
        let _ = write!(out, " start=\"{s}\" startstr=\"{}\"", ctime(s));
    }
    let _ = writeln!(
        out,
        " version=\"{}\" xmloutputversion=\"1.05\">",
        x(&version)
    );
    let mut checked = crate::core::model::PortSet::new();
    for h in report.hosts.values() {
        for p in &h.ports {
            checked.insert(p.port);
        }
        for set in [&h.closed_ports, &h.filtered_ports] {
            for &(a, b) in set.ranges() {
                checked.insert_range(a, b);
            }
        }
    }
    if !checked.is_empty() {
        let _ = writeln!(
            out,
            "<scaninfo type=\"connect\" protocol=\"tcp\" numservices=\"{}\" services=\"{checked}\"/>",
            checked.len()
        );
    }
    out.push_str("<verbose level=\"0\"/>\n<debugging level=\"0\"/>\n");
    // The LAN checks ran before the hosts, as nmap's broadcast scripts do in <prescript>.
    if let Some(lan) = &report.lan {
        let mut output = x(&super::watch::lan_heading(lan));
        for (kind, line) in lan.lines() {
            output.push_str("&#xa;");
            output.push_str(&x(&format!(
                "{}: {}",
                super::watch::line_word(kind),
                line.trim_start()
            )));
        }
        let _ = writeln!(
            out,
            "<prescript><script id=\"netdx-lan\" output=\"{output}\"/></prescript>"
        );
    }

    for h in report.hosts.values() {
        host(&mut out, h, report.parameters.timeout_ms);
    }

    // The hosts' reverse lookups are their `hostname type="PTR"` already.
    let lookups: Vec<_> = super::dns_table(report).collect();
    let alerts = super::watch::alerts_sorted(report);
    if !lookups.is_empty() || !alerts.is_empty() {
        let mut scripts: Vec<(String, String)> = lookups
            .iter()
            .map(|d| {
                let id = format!("netdx-dns:{}/{}", d.name, d.rtype);
                let mut answers: Vec<&str> = d.answers.iter().map(|a| a.value.as_str()).collect();
                answers.sort_unstable();
                let mut output = x(d.status.label());
                for a in answers {
                    output.push_str("&#xa;");
                    output.push_str(&x(a));
                }
                (x(&id), output)
            })
            .collect();
        if !alerts.is_empty() {
            let lines: Vec<String> = alerts
                .iter()
                .map(|a| {
                    x(&format!(
                        "{}: {}",
                        super::watch::level_word(a.level),
                        a.text
                    ))
                })
                .collect();
            scripts.push(("netdx-alerts".to_string(), lines.join("&#xa;")));
        }
        // ndiff merges script lists assuming they are sorted by id (code-point order, which
        // is also the byte order of UTF-8).
        scripts.sort();
        out.push_str("<postscript>");
        for (id, output) in scripts {
            let _ = writeln!(out, "<script id=\"{id}\" output=\"{output}\"/>");
        }
        out.push_str("</postscript>\n");
    }

    let c = verdict::counts(report);
    let elapsed = crate::core::clock::elapsed_secs(
        report.started_at.as_deref(),
        report.finished_at.as_deref(),
    );
    out.push_str("<runstats><finished");
    if let Some(e) = end {
        let _ = write!(out, " time=\"{e}\" timestr=\"{}\"", ctime(e));
    }
    let _ = write!(
        out,
        " summary=\"netdx done{}; {} IP {} ({} {} up) scanned{}\"",
        end.map(|e| format!(" at {}", ctime(e))).unwrap_or_default(),
        c.hosts_total,
        if c.hosts_total == 1 {
            "address"
        } else {
            "addresses"
        },
        c.hosts_up,
        if c.hosts_up == 1 { "host" } else { "hosts" },
        elapsed
            .map(|s| format!(" in {s:.2} seconds"))
            .unwrap_or_default()
    );
    if let Some(s) = elapsed {
        let _ = write!(out, " elapsed=\"{s:.2}\"");
    }
    if report.interrupted || !report.complete {
        out.push_str(" exit=\"error\" errormsg=\"interrupted: results are incomplete\"/>");
    } else {
        out.push_str(" exit=\"success\"/>");
    }
    let _ = writeln!(
        out,
        "<hosts up=\"{}\" down=\"{}\" total=\"{}\"/>\n</runstats>\n</nmaprun>",
        c.hosts_up,
        c.hosts_down + c.hosts_no_answer + c.hosts_not_probed,
        c.hosts_total
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::core::identity::{HttpInfo, TlsInfo};
    use crate::core::model::PortState;
    use crate::core::names::{HostNames, MdnsInfo, NetbiosInfo, SnmpInfo, UpnpInfo};

    fn svc(table: Option<&str>, id: Option<&ServiceId>) -> String {
        let mut out = String::new();
        service(&mut out, table, id);
        out
    }

    #[test]
    fn identified_services_as_nmap_writes_them() {
        let ssh = ServiceId {
            protocol: "ssh".into(),
            product: Some("OpenSSH".into()),
            version: Some("9.2p1".into()),
            os_hint: Some("Debian".into()),
            extra: Some("protocol 2.0".into()),
            ..Default::default()
        };
        assert_eq!(
            svc(Some("ssh"), Some(&ssh)),
            "<service name=\"ssh\" product=\"OpenSSH\" version=\"9.2p1\" extrainfo=\"Debian; protocol 2.0\" ostype=\"Linux\" method=\"probed\" conf=\"10\"/>"
        );
        let https = ServiceId {
            protocol: "https".into(),
            product: Some("nginx".into()),
            version: Some("1.22.1".into()),
            tls: Some(TlsInfo::default()),
            ..Default::default()
        };
        assert_eq!(
            svc(Some("https"), Some(&https)),
            "<service name=\"http\" product=\"nginx\" version=\"1.22.1\" tunnel=\"ssl\" method=\"probed\" conf=\"10\"/>"
        );
        let imaps = ServiceId {
            protocol: "imap".into(),
            product: Some("Dovecot".into()),
            tls: Some(TlsInfo::default()),
            ..Default::default()
        };
        assert_eq!(
            svc(Some("imaps"), Some(&imaps)),
            "<service name=\"imap\" product=\"Dovecot\" tunnel=\"ssl\" method=\"probed\" conf=\"10\"/>"
        );
    }

    #[test]
    fn unidentified_services_keep_the_table_name() {
        let table = "<service name=\"redis\" method=\"table\" conf=\"3\"/>";
        assert_eq!(svc(Some("redis"), None), table);
        let silent = ServiceId {
            protocol: "unknown".into(),
            silent: true,
            ..Default::default()
        };
        assert_eq!(svc(Some("redis"), Some(&silent)), table);
        let unknown = ServiceId {
            protocol: "unknown".into(),
            banner: Some("hello".into()),
            ..Default::default()
        };
        assert_eq!(svc(Some("redis"), Some(&unknown)), table);
        assert_eq!(svc(None, Some(&unknown)), "");
        // TLS with nothing recognisable inside: the tunnel is a fact, the name a guess.
        let tls = ServiceId {
            protocol: "tls".into(),
            tls: Some(TlsInfo::default()),
            ..Default::default()
        };
        assert_eq!(
            svc(Some("imaps"), Some(&tls)),
            "<service name=\"imap\" tunnel=\"ssl\" method=\"table\" conf=\"3\"/>"
        );
        assert_eq!(
            svc(None, Some(&tls)),
            "<service name=\"ssl\" method=\"table\" conf=\"3\"/>"
        );
    }

    #[test]
    fn ostype_only_for_known_families() {
        assert_eq!(ostype("Ubuntu"), Some("Linux"));
        assert_eq!(ostype("Win64"), Some("Windows"));
        assert_eq!(ostype("FreeBSD"), Some("FreeBSD"));
        assert_eq!(ostype("HP-UX"), None);
    }

    #[test]
    fn comments_cannot_be_closed_early() {
        assert_eq!(comment("a--b"), "a- -b");
        assert_eq!(comment("a---b"), "a- - -b");
        assert_eq!(comment("x-"), "x- ");
        assert_eq!(comment("--><script>"), "- -&gt;&lt;script&gt;");
        assert!(!comment("-->").contains("--"));
    }

    #[test]
    fn host_lists_lan_names_and_device_comment() {
        let mut h = Host::new("10.77.0.70".parse().unwrap());
        h.status = HostStatus::Up;
        h.hostname = Some("printer.lab.test".into());
        h.target_name = Some("NPI4A2B3C".into());
        h.names = HostNames {
            mdns: Some(MdnsInfo {
                hostname: Some("printer.local".into()),
                ..Default::default()
            }),
            netbios: Some(NetbiosInfo {
                name: Some("PRINTER.LAB.TEST".into()),
                ..Default::default()
            }),
            snmp: Some(SnmpInfo {
                sys_name: Some("hp\"-->x".into()),
                ..Default::default()
            }),
            upnp: Some(UpnpInfo {
                friendly_name: Some("npi4a2b3c".into()),
                ..Default::default()
            }),
        };
        h.device = Some(crate::core::devtype::DeviceType {
            kind: "printer".into(),
            confidence: "high".into(),
            evidence: vec!["IPP 631".into(), "--> <b>".into()],
        });
        h.set_port(443, PortState::Open, None);
        h.ports[0].service = Some("https".into());
        h.ports[0].identity = Some(ServiceId {
            protocol: "https".into(),
            http: Some(HttpInfo {
                status: 200,
                title: Some("<Admin>".into()),
                ..Default::default()
            }),
            tls: Some(TlsInfo {
                version: "TLSv1.3".into(),
                subject_cn: Some("printer.lab.test".into()),
                issuer: Some("CN=lab CA".into()),
                not_after: Some("2027-01-01T00:00:00Z".into()),
                ..Default::default()
            }),
            ..Default::default()
        });
        let mut out = String::new();
        host(&mut out, &h, 1000);
        assert!(
            out.contains("<hostname name=\"printer.lab.test\" type=\"PTR\"/>\n"),
            "{out}"
        );
        // The NetBIOS name is the PTR name in capitals, the UPnP name the typed one in small
        // letters: each listed once.
        assert!(!out.contains("PRINTER.LAB.TEST"), "{out}");
        assert!(
            out.contains("<hostname name=\"NPI4A2B3C\" type=\"user\"/>"),
            "{out}"
        );
        assert!(!out.contains("npi4a2b3c"), "{out}");
        assert!(
            out.contains("<hostname name=\"printer.local\" type=\"PTR\"/><!-- mDNS -->"),
            "{out}"
        );
        assert!(
            out.contains("<hostname name=\"hp&quot;--&gt;x\" type=\"PTR\"/><!-- SNMP sysName -->"),
            "{out}"
        );
        assert!(
            out.contains("<!-- netdx device type: printer: IPP 631 + - -&gt; &lt;b&gt; (high) -->"),
            "{out}"
        );
        assert!(!out.contains("<os"), "{out}");
    }

    #[test]
    fn ctime_layout() {
        assert_eq!(ctime(0), "Thu Jan  1 00:00:00 1970");
        assert_eq!(ctime(1_714_557_600), "Wed May  1 10:00:00 2024");
        assert_eq!(ctime(951_782_400), "Tue Feb 29 00:00:00 2000");
    }
}
