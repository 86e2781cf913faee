//! Scan history: the technician's log of what was checked and when.
//!
//! With `netdx scan --log`, every completed scan appends one JSON line ([`HistoryEntry`]:
//! time, targets, parameters, summary counts, where the full report was saved) to
//! `history.jsonl` in the user's data directory; `netdx history` lists it, newest last.
//!
//! The data directory is `$NETDX_DATA_DIR` when set (tests use it), else
//! `$XDG_DATA_HOME/netdx`, else `~/.local/share/netdx` (the XDG base directory spec; a
//! relative `XDG_DATA_HOME` is ignored, as the spec says). The directory is created `0700`
//! and the file `0600`: targets and findings are nobody else's business. Each entry is written
//! with a single `write` on a file opened with `O_APPEND`, so two scans finishing at once do
//! not interleave their lines. A config-file setting for "always log" is not built: netdx
//! has no config file yet.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::core::model::{ScanParameters, ScanReport, Summary};
use crate::output::escape::{self, text};
use crate::output::verdict;

pub const FILE_NAME: &str = "history.jsonl";

/// One line of the history file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// When the scan ended (or started, when it has no end time), RFC 3339.
    pub time: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub complete: bool,
    pub targets: Vec<String>,
    pub parameters: ScanParameters,
    pub summary: Summary,
    /// Absolute path of the report written with `-o`, if any.
    pub report: Option<PathBuf>,
    pub tool: String,
}

impl HistoryEntry {
    pub fn from_report(report: &ScanReport, report_path: Option<&Path>) -> Self {
        // Counted from the hosts themselves rather than trusting `summary` to be fresh.
        let c = verdict::counts(report);
        let time = report
            .finished_at
            .clone()
            .or_else(|| report.started_at.clone())
            .unwrap_or_else(crate::core::clock::now_rfc3339);
        HistoryEntry {
            time,
            started_at: report.started_at.clone(),
            finished_at: report.finished_at.clone(),
            complete: report.complete && !report.interrupted,
            targets: report.parameters.targets.clone(),
            parameters: report.parameters.clone(),
            summary: c,
            report: report_path.map(|p| {
                p.canonicalize()
                    .or_else(|_| std::path::absolute(p))
                    .unwrap_or_else(|_| p.to_path_buf())
            }),
            tool: report.tool.clone(),
        }
    }
}

/// The data directory from the environment's values (pure, for tests).
pub fn data_dir_from(
    netdx_data_dir: Option<OsString>,
    xdg_data_home: Option<OsString>,
    home: Option<OsString>,
) -> Option<PathBuf> {
    let set = |v: Option<OsString>| v.filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(d) = set(netdx_data_dir) {
        return Some(d);
    }
    if let Some(x) = set(xdg_data_home).filter(|p| p.is_absolute()) {
        return Some(x.join("netdx"));
    }
    set(home).map(|h| h.join(".local/share/netdx"))
}

/// The home directory whose data dir is ours: the invoking user's, once a `sudo netdx` has
/// dropped to that user (root's `$HOME`, still in the environment, is no longer writable),
/// else `$HOME`.
pub fn home() -> Option<std::ffi::OsString> {
    crate::net::sys::privilege::invoker_home()
        .map(|h| h.as_os_str().to_owned())
        .or_else(|| std::env::var_os("HOME"))
}

/// Where the history file lives for this user.
pub fn history_path() -> anyhow::Result<PathBuf> {
    let dir = data_dir_from(
        std::env::var_os("NETDX_DATA_DIR"),
        std::env::var_os("XDG_DATA_HOME"),
        home(),
    )
    .context("cannot find your data directory: set HOME, XDG_DATA_HOME or NETDX_DATA_DIR")?;
    Ok(dir.join(FILE_NAME))
}

/// Append `entry` to the history file at `path`, creating its directory.
pub fn append_to(path: &Path, entry: &HistoryEntry) -> anyhow::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create the history directory '{}'", dir.display()))?;
    }
    let mut line = serde_json::to_string(entry)?;
    line.push('\n');
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot open the history file '{}'", path.display()))?;
    f.write_all(line.as_bytes())
        .with_context(|| format!("cannot write the history file '{}'", path.display()))?;
    Ok(())
}

/// Append `entry` to this user's history file; returns the file's path.
pub fn append(entry: &HistoryEntry) -> anyhow::Result<PathBuf> {
    let path = history_path()?;
    append_to(&path, entry)?;
    Ok(path)
}

/// The entries of a history file, oldest first, and the number of lines that could not be
/// read (a damaged line is skipped, not fatal: the rest of the log is still worth seeing).
pub fn parse(contents: &str) -> (Vec<HistoryEntry>, usize) {
    let mut entries = Vec::new();
    let mut damaged = 0;
    for line in contents.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str(line) {
            Ok(e) => entries.push(e),
            Err(_) => damaged += 1,
        }
    }
    (entries, damaged)
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// The history as a table, numbered from `first` (1 for the oldest entry in the file).
pub fn render(entries: &[HistoryEntry], first: usize) -> String {
    let mut rows = vec![
        [
            "#",
            "WHEN",
            "TARGETS",
            "HOSTS UP",
            "OPEN",
            "DNS FAILED",
            "STATUS",
            "REPORT",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for (i, e) in entries.iter().enumerate() {
        let targets = clip(&text(&e.targets.join(" ")), 40);
        let s = &e.summary;
        rows.push(vec![
            (first + i).to_string(),
            escape::human_time(&e.time),
            if targets.is_empty() {
                "-".to_string()
            } else {
                targets
            },
            format!("{}/{}", s.hosts_up, s.hosts_total),
            s.open_ports.to_string(),
            if s.dns_queries > 0 {
                format!("{}/{}", s.dns_failures, s.dns_queries)
            } else {
                "-".to_string()
            },
            if e.complete {
                "complete".to_string()
            } else {
                "interrupted".to_string()
            },
            e.report.as_ref().map_or_else(
                || "-".to_string(),
                |p| text(&p.display().to_string()).into_owned(),
            ),
        ]);
    }
    let mut widths = vec![0; rows[0].len()];
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in &rows {
        let mut line = String::new();
        for (i, (c, w)) in r.iter().zip(&widths).enumerate() {
            if i + 1 == r.len() {
                line.push_str(c);
            } else {
                let _ = write!(line, "{c:<w$}  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// What `netdx history` shows, from the command line (`cmd::history`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryConfig {
    /// Only the last N scans; `None` for all.
    pub last: Option<usize>,
    /// Compare a recorded scan (its number in the list; `None`: the newest) with the run of
    /// the same targets before it, instead of listing.
    pub compare: Option<Option<usize>>,
}

/// The entry to compare (index into `entries`) and the last complete run of the same targets
/// before it, both with a report file. `number` is 1-based as listed; `None` is the newest.
pub fn compare_pair(
    entries: &[HistoryEntry],
    number: Option<usize>,
) -> Result<(usize, usize), String> {
    if entries.is_empty() {
        return Err("no scans recorded yet: run `netdx scan ... --log -o FILE.json`".into());
    }
    let new = match number {
        None => entries.len() - 1,
        Some(n) if (1..=entries.len()).contains(&n) => n - 1,
        Some(n) => {
            return Err(format!(
                "there is no scan #{n}: the history holds {} (see `netdx history`)",
                entries.len()
            ));
        }
    };
    let same = |e: &HistoryEntry| {
        let mut a = e.targets.clone();
        let mut b = entries[new].targets.clone();
        a.sort();
        b.sort();
        a == b
    };
    let targets = entries[new].targets.join(" ");
    if entries[new].report.is_none() {
        return Err(format!(
            "scan #{} of {targets} has no report file to compare (record scans with --log -o FILE.json)",
            new + 1
        ));
    }
    let old = (0..new)
        .rev()
        .find(|&i| same(&entries[i]) && entries[i].complete && entries[i].report.is_some())
        .ok_or_else(|| {
            format!(
                "no earlier complete scan of the same targets ({targets}) with a report file: nothing to compare with"
            )
        })?;
    Ok((new, old))
}

/// `netdx history --compare`: the diff between a recorded scan and the run of the same
/// targets before it, as `netdx diff` prints it. Returns how many changes it found.
fn compare(entries: &[HistoryEntry], number: Option<usize>) -> Result<usize, HistoryError> {
    let (new, old) = compare_pair(entries, number).map_err(HistoryError::Compare)?;
    let path = |i: usize| entries[i].report.clone().unwrap_or_default();
    println!(
        "Comparing scan #{} ({}) with #{} ({}) of the same targets",
        new + 1,
        escape::human_time(&entries[new].time),
        old + 1,
        escape::human_time(&entries[old].time)
    );
    let cfg = crate::output::diff::DiffConfig {
        old: path(old),
        new: path(new),
        output: None,
    };
    crate::output::diff::run(&cfg).map_err(|e| HistoryError::Compare(e.to_string()))
}

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// No data directory could be found (the message says which variables to set).
    #[error("{0}")]
    DataDir(String),
    #[error("{0}")]
    Compare(String),
    #[error("cannot read the history file '{path}': {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// `netdx history [-n N] [--compare [N]]`: print the recorded scans, oldest first, or
/// compare one with the run of the same targets before it. Returns the number of changes
/// (0 when listing).
pub fn run(cfg: &HistoryConfig) -> Result<usize, HistoryError> {
    let path = history_path().map_err(|e| HistoryError::DataDir(e.to_string()))?;
    let contents = match std::fs::read_to_string(&path) {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(HistoryError::Read {
                path: path.display().to_string(),
                source,
            });
        }
    };
    let (entries, damaged) = parse(&contents);
    if damaged > 0 {
        eprintln!(
            "netdx: warning: skipped {damaged} damaged {} in '{}'",
            if damaged == 1 { "line" } else { "lines" },
            path.display()
        );
    }
    if let Some(number) = cfg.compare {
        return compare(&entries, number);
    }
    if entries.is_empty() {
        println!(
            "No scans recorded yet: run `netdx scan ... --log` to record one (history file: {}).",
            path.display()
        );
        return Ok(0);
    }
    let total = entries.len();
    let skip = cfg.last.map_or(0, |n| total.saturating_sub(n));
    print!("{}", render(&entries[skip..], skip + 1));
    if skip > 0 {
        println!(
            "\nLast {} of {total} scans in {}",
            total - skip,
            path.display()
        );
    } else {
        println!(
            "\n{total} {} in {}",
            if total == 1 { "scan" } else { "scans" },
            path.display()
        );
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(s: &str) -> Option<OsString> {
        Some(OsString::from(s))
    }

    #[test]
    fn data_dir_order() {
        assert_eq!(
            data_dir_from(os("/t/d"), os("/x"), os("/home/u")),
            Some(PathBuf::from("/t/d"))
        );
        assert_eq!(
            data_dir_from(None, os("/x"), os("/home/u")),
            Some(PathBuf::from("/x/netdx"))
        );
        // Relative or empty XDG_DATA_HOME is ignored, per the spec.
        assert_eq!(
            data_dir_from(os(""), os("rel"), os("/home/u")),
            Some(PathBuf::from("/home/u/.local/share/netdx"))
        );
        assert_eq!(data_dir_from(None, None, None), None);
    }

    #[test]
    fn clips_long_targets() {
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
    }
}
