//! Writers for a [`Diagnosis`]: the terminal text, JSON, Markdown and HTML. They only read the
//! model, and escape every string they did not build themselves with the report escaping
//! helpers, whatever its origin (a diagnosis can be read back from disk).
//!
//! Terminal layout:
//!
//! ```text
//! netdx diagnose · DOWN · failing layer: DNS
//!   The gateway 10.77.0.1 answers, but the DNS server ... : names cannot be resolved, ...
//!
//!   ✓ local OK   ✓ gateway OK   ✗ dns DOWN   · wan SKIPPED   · target SKIPPED
//!
//! Evidence
//!   LAYER    CHECK                       RESULT                               STATUS
//!   ...
//! Path to 10.9.0.10 (icmp)
//!   HOP  ADDRESS          LOSS    SENT  AVG RTT
//!   ...
//! Also found / Notes / Outages (watch mode)
//! ```

use crate::core::{clock, units};
use std::fmt::Write;
use std::path::Path;

use crate::output::escape::{html, markdown as md, text};
use crate::output::{ReportError, write_atomic};

use super::model::{Diagnosis, Evidence, Outage, Status, TraceReport};

/// Formats a diagnosis can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiagFormat {
    Json,
    Markdown,
    Html,
}

impl DiagFormat {
    /// From the file extension: .json, .md/.markdown, .html/.htm.
    pub fn from_path(path: &Path) -> Option<DiagFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "json" => Some(DiagFormat::Json),
            "md" | "markdown" => Some(DiagFormat::Markdown),
            "html" | "htm" => Some(DiagFormat::Html),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DiagFormat::Json => "JSON",
            DiagFormat::Markdown => "Markdown",
            DiagFormat::Html => "HTML",
        }
    }
}

pub fn render(d: &Diagnosis, format: DiagFormat) -> Result<Vec<u8>, ReportError> {
    Ok(match format {
        DiagFormat::Json => {
            let mut s = crate::output::json::pretty(d).map_err(ReportError::Serialise)?;
            s.push('\n');
            s.into_bytes()
        }
        DiagFormat::Markdown => markdown(d).into_bytes(),
        DiagFormat::Html => to_html(d).into_bytes(),
    })
}

/// Write atomically (never half a file, never a truncated older report).
pub fn write(d: &Diagnosis, path: &Path, format: DiagFormat) -> Result<(), ReportError> {
    write_atomic(path, &render(d, format)?)
}

fn hop_rtt(v: Option<f64>) -> String {
    units::ms_text(v)
}

fn loss(v: f64) -> String {
    units::pct(Some(v))
}

fn addr(a: Option<std::net::IpAddr>) -> String {
    a.map_or_else(|| "*".to_string(), |a| a.to_string())
}

fn hop_flags(h: &super::model::HopReport) -> String {
    let mut flags = Vec::new();
    if h.destination {
        flags.push("destination".to_string());
    }
    if let Some(u) = &h.unreachable {
        flags.push(u.clone());
    }
    if h.rate_limited {
        flags.push("rate-limited ICMP (not an outage)".to_string());
    }
    if !h.others.is_empty() {
        let others: Vec<String> = h.others.iter().map(ToString::to_string).collect();
        flags.push(format!("also {}", others.join(", ")));
    }
    flags.join("; ")
}

fn traces(d: &Diagnosis) -> impl Iterator<Item = (String, &TraceReport)> {
    d.targets.iter().filter_map(|t| {
        let tr = t.trace.as_ref()?;
        let label = match (&t.name, t.address) {
            (Some(n), Some(a)) => format!("{n} ({a})"),
            _ => t.target.clone(),
        };
        Some((label, tr))
    })
}

// --- terminal ------------------------------------------------------------------------------

fn pad(s: &str, w: usize) -> String {
    let n = s.chars().count();
    if n >= w {
        s.to_string()
    } else {
        format!("{s}{}", " ".repeat(w - n))
    }
}

fn table_text(out: &mut String, header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count()).min(60);
        }
    }
    let line = |cells: Vec<String>| -> String {
        let n = cells.len();
        let parts: Vec<String> = cells
            .into_iter()
            .enumerate()
            .map(|(i, c)| if i + 1 == n { c } else { pad(&c, widths[i]) })
            .collect();
        format!("  {}", parts.join("  ").trim_end())
    };
    let _ = writeln!(
        out,
        "{}",
        line(header.iter().map(|h| h.to_string()).collect())
    );
    for r in rows {
        let _ = writeln!(out, "{}", line(r.clone()));
    }
}

fn evidence_rows(ev: &[Evidence], clean: fn(&str) -> String) -> Vec<Vec<String>> {
    ev.iter()
        .map(|e| {
            vec![
                e.layer.label().to_string(),
                clean(&e.check),
                clean(&e.result),
                format!("{} {}", e.status.symbol(), e.status.word()),
            ]
        })
        .collect()
}

fn plain(s: &str) -> String {
    text(s).into_owned()
}

/// The verdict block alone (what watch mode prints each time something changes).
pub fn headline(d: &Diagnosis) -> String {
    let layer = d
        .layer
        .map(|l| format!(" · failing layer: {}", l.title()))
        .unwrap_or_default();
    format!(
        "netdx diagnose · {} {}{layer}\n  {}\n",
        d.status.symbol(),
        d.status.word(),
        text(&d.verdict)
    )
}

/// The report for the terminal.
pub fn terminal(d: &Diagnosis) -> String {
    let mut out = headline(d);
    out.push('\n');
    let layers: Vec<String> = d
        .layers
        .iter()
        .map(|l| {
            format!(
                "{} {} {}",
                l.status.symbol(),
                l.layer.label(),
                l.status.word()
            )
        })
        .collect();
    let _ = writeln!(out, "  {}\n", layers.join("   "));
    out.push_str("Evidence\n");
    table_text(
        &mut out,
        &["LAYER", "CHECK", "RESULT", "STATUS"],
        &evidence_rows(&d.evidence, plain),
    );
    for (label, tr) in traces(d) {
        let _ = writeln!(out, "\nPath to {} ({})", text(&label), tr.protocol);
        let rows: Vec<Vec<String>> = tr
            .hops
            .iter()
            .map(|h| {
                vec![
                    h.ttl.to_string(),
                    addr(h.addr),
                    loss(h.loss_pct),
                    format!("{}/{}", h.received, h.sent),
                    hop_rtt(h.rtt_avg_ms),
                    hop_flags(h),
                ]
            })
            .collect();
        table_text(
            &mut out,
            &["HOP", "ADDRESS", "LOSS", "REPLIES", "AVG RTT", ""],
            &rows,
        );
        if let Some(note) = &tr.note {
            let _ = writeln!(out, "  ({})", text(note));
        }
    }
    // When something failed, the first finding is the verdict already printed; when all is
    // well, every finding is a note worth reading.
    let skip = usize::from(d.status > Status::Ok);
    let others: Vec<&super::model::Finding> = d.findings.iter().skip(skip).collect();
    if !others.is_empty() {
        out.push_str("\nAlso found\n");
        for f in others {
            let _ = writeln!(
                out,
                "  {} {:<7} {}",
                f.status.symbol(),
                f.layer.label(),
                text(&f.text)
            );
        }
    }
    let notes: Vec<&String> = d
        .notes
        .iter()
        .chain(d.local.notes.iter())
        .chain(d.targets.iter().flat_map(|t| &t.notes))
        .collect();
    if !notes.is_empty() {
        out.push_str("\nNotes\n");
        for n in notes {
            let _ = writeln!(out, "  - {}", text(n));
        }
    }
    if !d.timeline.is_empty() || d.rounds > 1 {
        out.push('\n');
        out.push_str(&timeline_text(&d.timeline, d.rounds));
    }
    out
}

fn outage_row(o: &Outage, clean: fn(&str) -> String) -> Vec<String> {
    [
        clock::human(o.start),
        o.end.map_or_else(|| "ongoing".to_string(), clock::human),
        o.duration_s
            .map_or_else(|| "-".to_string(), units::duration),
        o.layer.label().to_string(),
        o.status.word().to_string(),
        o.verdict.clone(),
    ]
    .iter()
    .map(|c| clean(c))
    .collect()
}

const OUTAGE_HEADER: [&str; 6] = ["START", "END", "DURATION", "LAYER", "STATUS", "VERDICT"];

/// The outage timeline as a terminal table.
pub fn timeline_text(timeline: &[Outage], rounds: u32) -> String {
    let mut out = String::new();
    if timeline.is_empty() {
        let _ = writeln!(out, "Outages: none in {rounds} rounds");
        return out;
    }
    let _ = writeln!(out, "Outages ({} in {rounds} rounds)", timeline.len());
    let rows: Vec<Vec<String>> = timeline.iter().map(|o| outage_row(o, plain)).collect();
    table_text(&mut out, &OUTAGE_HEADER, &rows);
    out
}

// --- Markdown ------------------------------------------------------------------------------

fn md_table(out: &mut String, header: &[&str], rows: &[Vec<String>]) {
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(out, "|{}|", vec!["---"; header.len()].join("|"));
    for r in rows {
        let _ = writeln!(out, "| {} |", r.join(" | "));
    }
    out.push('\n');
}

pub fn markdown(d: &Diagnosis) -> String {
    let mut out = String::from("# netdx diagnosis\n\n");
    let layer = d
        .layer
        .map(|l| format!(" · failing layer: **{}**", l.title()))
        .unwrap_or_default();
    let _ = writeln!(out, "**{}**{layer}\n", d.status.word());
    let _ = writeln!(out, "{}\n", md(&d.verdict));
    let _ = writeln!(
        out,
        "Started {} · {} · {}\n",
        md(&clock::human(d.started)),
        units::duration(d.duration_ms / 1000.0),
        md(&d.tool)
    );
    out.push_str("## Layers\n\n");
    let rows: Vec<Vec<String>> = d
        .layers
        .iter()
        .map(|l| {
            vec![
                l.layer.title().to_string(),
                format!("{} {}", l.status.symbol(), l.status.word()),
                md(&l.summary),
            ]
        })
        .collect();
    md_table(&mut out, &["Layer", "Status", "Summary"], &rows);
    out.push_str("## Evidence\n\n");
    md_table(
        &mut out,
        &["Layer", "Check", "Result", "Status"],
        &evidence_rows(&d.evidence, md),
    );
    for (label, tr) in traces(d) {
        let _ = writeln!(out, "## Path to {} ({})\n", md(&label), md(&tr.protocol));
        let rows: Vec<Vec<String>> = tr
            .hops
            .iter()
            .map(|h| {
                vec![
                    h.ttl.to_string(),
                    addr(h.addr),
                    loss(h.loss_pct),
                    format!("{}/{}", h.received, h.sent),
                    hop_rtt(h.rtt_avg_ms),
                    md(&hop_flags(h)),
                ]
            })
            .collect();
        md_table(
            &mut out,
            &["Hop", "Address", "Loss", "Replies", "Avg RTT", "Notes"],
            &rows,
        );
        if let Some(note) = &tr.note {
            let _ = writeln!(out, "_{}_\n", md(note));
        }
    }
    if d.findings.len() > 1 {
        out.push_str("## Findings\n\n");
        for f in &d.findings {
            let _ = writeln!(
                out,
                "- **{}** ({}): {}",
                f.status.word(),
                f.layer.label(),
                md(&f.text)
            );
        }
        out.push('\n');
    }
    if d.rounds > 1 || !d.timeline.is_empty() {
        let _ = writeln!(out, "## Outages\n\n{} rounds.\n", d.rounds);
        if !d.timeline.is_empty() {
            let rows: Vec<Vec<String>> = d.timeline.iter().map(|o| outage_row(o, md)).collect();
            md_table(&mut out, &OUTAGE_HEADER, &rows);
        }
    }
    let notes: Vec<&String> = d
        .notes
        .iter()
        .chain(d.local.notes.iter())
        .chain(d.targets.iter().flat_map(|t| &t.notes))
        .collect();
    if !notes.is_empty() {
        out.push_str("## Notes\n\n");
        for n in notes {
            let _ = writeln!(out, "- {}", md(n));
        }
        out.push('\n');
    }
    out
}

// --- HTML ----------------------------------------------------------------------------------

/// No request of any kind: inline style only, nothing fetched.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'";

const STYLE: &str = r#"
:root{--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--head:#f6f8fa;--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e}
body{margin:0 auto;max-width:1100px;padding:1.2rem 1.5rem 3rem;font:14px/1.45 system-ui,sans-serif;color:var(--fg)}
h1{font-size:1.5rem;margin:0 0 .4rem}h2{font-size:1.15rem;margin:1.8rem 0 .5rem;border-bottom:1px solid var(--line)}
.verdict{margin:1rem 0;padding:.8rem 1rem;border-left:6px solid var(--line);background:var(--head);border-radius:4px}
.verdict.ok{border-color:var(--ok)}.verdict.degraded{border-color:var(--warn)}.verdict.down{border-color:var(--bad)}
.word{font-weight:700;margin-right:.5rem}
.ok .word,td.ok{color:var(--ok)}.degraded .word,td.degraded{color:var(--warn)}.down .word,td.down{color:var(--bad)}td.skipped{color:var(--muted)}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
th{background:var(--head)}.meta{color:var(--muted)}
@media print{body{max-width:none;padding:0}.verdict{print-color-adjust:exact;-webkit-print-color-adjust:exact}}
"#;

fn html_table(out: &mut String, header: &[&str], rows: &[Vec<(String, Option<&str>)>]) {
    out.push_str("<table><thead><tr>");
    for h in header {
        let _ = write!(out, "<th>{}</th>", html(h));
    }
    out.push_str("</tr></thead><tbody>\n");
    for r in rows {
        out.push_str("<tr>");
        for (cell, class) in r {
            match class {
                Some(c) => {
                    let _ = write!(out, "<td class=\"{c}\">{cell}</td>");
                }
                None => {
                    let _ = write!(out, "<td>{cell}</td>");
                }
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");
}

fn status_cell(s: Status) -> (String, Option<&'static str>) {
    (format!("{} {}", s.symbol(), s.word()), Some(s.class()))
}

pub fn to_html(d: &Diagnosis) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>netdx diagnosis: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        html(d.status.word())
    );
    out.push_str("<h1>netdx diagnosis</h1>\n");
    let _ = writeln!(
        out,
        "<p class=\"meta\">Started {} · {} · {}</p>",
        html(&clock::human(d.started)),
        html(&units::duration(d.duration_ms / 1000.0)),
        html(&d.tool)
    );
    let layer = d
        .layer
        .map(|l| format!(" · failing layer: <strong>{}</strong>", html(l.title())))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "<div class=\"verdict {}\" id=\"verdict\"><span class=\"word\">{}</span>{layer}<p>{}</p></div>",
        d.status.class(),
        html(d.status.word()),
        html(&d.verdict)
    );
    out.push_str("<h2>Layers</h2>\n");
    let rows: Vec<Vec<(String, Option<&str>)>> = d
        .layers
        .iter()
        .map(|l| {
            vec![
                (html(l.layer.title()), None),
                status_cell(l.status),
                (html(&l.summary), None),
            ]
        })
        .collect();
    html_table(&mut out, &["Layer", "Status", "Summary"], &rows);
    out.push_str("<h2>Evidence</h2>\n");
    let rows: Vec<Vec<(String, Option<&str>)>> = d
        .evidence
        .iter()
        .map(|e| {
            vec![
                (html(e.layer.label()), None),
                (html(&e.check), None),
                (html(&e.result), None),
                status_cell(e.status),
            ]
        })
        .collect();
    html_table(&mut out, &["Layer", "Check", "Result", "Status"], &rows);
    for (label, tr) in traces(d) {
        let _ = writeln!(
            out,
            "<h2>Path to {} ({})</h2>",
            html(&label),
            html(&tr.protocol)
        );
        let rows: Vec<Vec<(String, Option<&str>)>> = tr
            .hops
            .iter()
            .map(|h| {
                vec![
                    (h.ttl.to_string(), None),
                    (html(&addr(h.addr)), None),
                    (html(&loss(h.loss_pct)), None),
                    (format!("{}/{}", h.received, h.sent), None),
                    (html(&hop_rtt(h.rtt_avg_ms)), None),
                    (html(&hop_flags(h)), None),
                ]
            })
            .collect();
        html_table(
            &mut out,
            &["Hop", "Address", "Loss", "Replies", "Avg RTT", "Notes"],
            &rows,
        );
        if let Some(note) = &tr.note {
            let _ = writeln!(out, "<p class=\"meta\">{}</p>", html(note));
        }
    }
    if d.findings.len() > 1 {
        out.push_str("<h2>Findings</h2>\n<ul>\n");
        for f in &d.findings {
            let _ = writeln!(
                out,
                "<li class=\"{}\"><span class=\"word\">{}</span>({}) {}</li>",
                f.status.class(),
                html(f.status.word()),
                html(f.layer.label()),
                html(&f.text)
            );
        }
        out.push_str("</ul>\n");
    }
    if d.rounds > 1 || !d.timeline.is_empty() {
        let _ = writeln!(out, "<h2>Outages</h2>\n<p>{} rounds.</p>", d.rounds);
        if !d.timeline.is_empty() {
            let rows: Vec<Vec<(String, Option<&str>)>> = d
                .timeline
                .iter()
                .map(|o| outage_row(o, html).into_iter().map(|c| (c, None)).collect())
                .collect();
            html_table(&mut out, &OUTAGE_HEADER, &rows);
        }
    }
    let notes: Vec<&String> = d
        .notes
        .iter()
        .chain(d.local.notes.iter())
        .chain(d.targets.iter().flat_map(|t| &t.notes))
        .collect();
    if !notes.is_empty() {
        out.push_str("<h2>Notes</h2>\n<ul>\n");
        for n in notes {
            let _ = writeln!(out, "<li>{}</li>", html(n));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}
