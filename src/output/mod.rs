//! Report writers. They read a [`crate::core::model::ScanReport`] (finished or partial) and nothing
//! else: no writer digs data out of a widget or re-runs a probe.

pub mod convert;
pub mod csv;
pub mod diff;
pub mod dns;
pub mod escape;
pub mod html;
pub mod json;
pub mod markdown;
pub mod table;
pub mod verdict;
pub mod watch;
pub mod xml;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write report '{path}': {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot serialise report: {0}")]
    Serialise(#[from] serde_json::Error),
    #[error(
        "cannot tell the report format of '{0}' from its extension; use .json .csv .md .html .xml or --format"
    )]
    UnknownFormat(String),
}

/// The formats a report can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    Markdown,
    Html,
    Xml,
}

impl Format {
    /// The format a file name asks for, by extension.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "json" => Format::Json,
            "csv" => Format::Csv,
            "md" | "markdown" => Format::Markdown,
            "html" | "htm" => Format::Html,
            "xml" => Format::Xml,
            _ => return None,
        })
    }

    pub fn label(self) -> &'static str {
        match self {
            Format::Json => "JSON",
            Format::Csv => "CSV",
            Format::Markdown => "Markdown",
            Format::Html => "HTML",
            Format::Xml => "XML",
        }
    }
}

/// `3 of 256 hosts up, 250 no answer, 3 not probed`: how every text view counts hosts.
/// "no answer" and "not probed" appear only when there are some; "down" (a host that was up
/// and stopped answering) only in a monitoring export that has one.
pub fn host_counts(s: &crate::core::model::Summary) -> String {
    let mut out = format!("{} of {} hosts up", s.hosts_up, s.hosts_total);
    for (n, what) in [
        (s.hosts_down, "down"),
        (s.hosts_no_answer, "no answer"),
        (s.hosts_not_probed, "not probed"),
    ] {
        if n > 0 {
            out.push_str(&format!(", {n} {what}"));
        }
    }
    out
}

/// The address a reverse-lookup name stands for: `5.0.0.10.in-addr.arpa` -> `10.0.0.5`;
/// `None` for any other name (or a partial reverse name such as `0.10.in-addr.arpa`).
pub fn arpa_address(name: &str) -> Option<std::net::IpAddr> {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    if let Some(rest) = n.strip_suffix(".in-addr.arpa") {
        let mut octets: Vec<u8> = rest
            .split('.')
            .map(|o| o.parse().ok())
            .collect::<Option<_>>()?;
        octets.reverse();
        let o: [u8; 4] = octets.try_into().ok()?;
        return Some(std::net::IpAddr::from(o));
    }
    let rest = n.strip_suffix(".ip6.arpa")?;
    let nibbles: Vec<u8> = rest
        .split('.')
        .map(|d| u8::from_str_radix(d, 16).ok().filter(|_| d.len() == 1))
        .collect::<Option<_>>()?;
    if nibbles.len() != 32 {
        return None;
    }
    let v = nibbles
        .iter()
        .rev()
        .fold(0u128, |acc, &d| (acc << 4) | u128::from(d));
    Some(std::net::IpAddr::V6(std::net::Ipv6Addr::from(v)))
}

/// A reverse (PTR) lookup of one of the report's hosts: its answer is the host's name, so
/// reports show it in the host's row rather than in a second table of the same names.
pub fn folded_into_host(
    report: &crate::core::model::ScanReport,
    d: &crate::core::model::DnsResult,
) -> bool {
    d.rtype == crate::core::model::RecordType::PTR
        && arpa_address(&d.name).is_some_and(|ip| report.hosts.contains_key(&ip))
}

/// The DNS results a report lists in its DNS table: all but the folded reverse lookups.
pub fn dns_table<'a>(
    report: &'a crate::core::model::ScanReport,
) -> impl Iterator<Item = &'a crate::core::model::DnsResult> + 'a {
    report
        .dns
        .iter()
        .filter(move |d| !folded_into_host(report, d))
}

/// What a host row says of the reverse lookup when there is no name to show: it failed
/// (`SERVFAIL`, `TIMEOUT`...), as opposed to "no PTR record" (NXDOMAIN, or NOERROR empty),
/// which is just "-".
pub fn reverse_failure(
    report: &crate::core::model::ScanReport,
    ip: std::net::IpAddr,
) -> Option<crate::core::model::DnsStatus> {
    use crate::core::model::{DnsStatus, RecordType};
    report
        .dns
        .iter()
        .filter(|d| d.rtype == RecordType::PTR && arpa_address(&d.name) == Some(ip))
        .map(|d| d.status)
        .find(|s| !matches!(s, DnsStatus::NoError | DnsStatus::NxDomain))
}

/// Closed ports as a count, filtered ones named when few (one firewall rule on 3306 is worth
/// seeing) and counted when many: a `-p all` scan must not print 65,000 numbers per host.
pub fn filtered_words(set: &crate::core::model::PortSet) -> String {
    match set.ranges().len() {
        0 => "-".to_string(),
        1..=8 => set.to_string(),
        _ => format!("{} ports", set.len()),
    }
}

/// Render `report` in `format`.
pub fn render(report: &crate::core::model::ScanReport, format: Format) -> Result<Vec<u8>> {
    match format {
        Format::Json => {
            let mut text = json::to_string(report)?;
            text.push('\n');
            Ok(text.into_bytes())
        }
        Format::Csv => Ok(csv::render(report).into_bytes()),
        Format::Markdown => Ok(markdown::render(report).into_bytes()),
        Format::Html => Ok(html::render(report).into_bytes()),
        Format::Xml => Ok(xml::render(report).into_bytes()),
    }
}

/// Write `report` to `path` (atomically) in `format`, or in the format its extension names.
/// Returns the format used.
pub fn write(
    report: &crate::core::model::ScanReport,
    path: &Path,
    format: Option<Format>,
) -> Result<Format> {
    let format = match format.or_else(|| Format::from_path(path)) {
        Some(f) => f,
        None => return Err(ReportError::UnknownFormat(path.display().to_string())),
    };
    write_atomic(path, &render(report, format)?)?;
    Ok(format)
}

pub type Result<T> = std::result::Result<T, ReportError>;

/// Write `bytes` to `path` atomically: a temporary file in the same directory, flushed to
/// disk, then renamed over the target. An interrupted or failed export never leaves half a
/// file, nor truncates a report that was already there.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let err = |source| ReportError::Write {
        path: path.display().to_string(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".netdx-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(err)?;
    tmp.write_all(bytes).map_err(err)?;
    // The temporary file is private (0600); a report is meant to be handed over, so it gets
    // the mode of the file it replaces, or the usual 0644 when new.
    let mode = std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o644);
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reverse lookup of a host is shown in its row (its failure too), not in the DNS table;
    /// one of an address that is not a host stays in the table.
    #[test]
    fn reverse_lookups_are_folded_into_host_rows() {
        use crate::core::event::ScanEvent;
        use crate::core::model::{DnsResult, DnsStatus, RecordType, ScanReport};
        let ip: std::net::IpAddr = "10.0.0.7".parse().unwrap();
        let mut r = ScanReport::default();
        r.apply(ScanEvent::Targets(vec![ip]));
        r.hosts.get_mut(&ip).unwrap().status = crate::core::model::HostStatus::Up;
        for name in ["7.0.0.10.in-addr.arpa", "9.0.0.10.in-addr.arpa"] {
            let mut d = DnsResult::not_sent(name, RecordType::PTR, "x");
            d.status = DnsStatus::ServFail;
            d.error = None;
            r.apply(ScanEvent::Dns(d));
        }
        r.apply(ScanEvent::Finished { interrupted: false });
        let md = markdown::render(&r);
        assert!(md.contains("| 10.0.0.7 | - (PTR SERVFAIL) |"), "{md}");
        assert!(!md.contains("| 7.0.0.10.in-addr.arpa"), "{md}");
        assert!(
            md.contains("| 9.0.0.10.in-addr.arpa | PTR | SERVFAIL"),
            "{md}"
        );
        let html = html::render(&r);
        assert!(html.contains("PTR SERVFAIL"));
        assert!(html.contains("lookup failed: SERVFAIL"));
        let text = table::render(&r, None);
        assert!(text.contains("- (PTR SERVFAIL)"), "{text}");
        assert!(!text.contains("7.0.0.10.in-addr.arpa"), "{text}");
    }

    #[test]
    fn arpa_names_map_back_to_addresses() {
        assert_eq!(
            arpa_address("20.0.77.10.in-addr.arpa."),
            Some("10.77.0.20".parse().unwrap())
        );
        let v6 = "0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.7.7.d.f.IP6.ARPA";
        assert_eq!(arpa_address(v6), Some("fd77::20".parse().unwrap()));
        assert_eq!(arpa_address("0.10.in-addr.arpa"), None);
        assert_eq!(arpa_address("web.lab.test"), None);
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644, "a new report is readable by others");
    }

    #[test]
    fn replacing_keeps_the_mode_of_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.json");
        std::fs::write(&p, b"old").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&p, b"new").unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
    }

    #[test]
    fn failed_write_keeps_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-dir").join("r.json");
        let e = write_atomic(&missing, b"x").unwrap_err();
        assert!(e.to_string().contains("no-such-dir"), "{e}");
    }
}
