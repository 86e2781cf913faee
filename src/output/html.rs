//! HTML: one self-contained file a technician can e-mail or print. It makes no network
//! request at all: no external font, script, stylesheet or image, and a Content-Security-Policy
//! of `default-src 'none'` so that even a mistake could not load anything.
//!
//! ```text
//! ┌ netdx scan report ─────────────────────────────── targets · ports · when · tool ┐
//! │ [Attention] 7 of 9 hosts up, 12 open ports, 4 DNS lookups                       │
//! │   - findings (interrupted, no answer, DNS failures, packet loss, warnings)      │
//! │ [7 up] [12 open] [9 closed] [1 filtered] [4 DNS] [1 DNS failed]                 │
//! │   2 addresses gave no answer (small print: silence is not the headline)          │
//! │ Hosts        filter box · only-open checkbox · "n of m shown"                   │
//! │   sortable table of live hosts; the address links to its details               │
//! │ Latency      inline SVG: avg bar and min–max whisker per host                   │
//! │ Host details one <details> per live host: facts, open ports, closed/filtered    │
//! │ No answer / not probed · DNS (less the hosts' reverse lookups) · Notes · footer │
//! └─────────────────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! Every string from the report goes through [`escape::html`]; the script reads the table
//! from the DOM (no data is embedded in the script), so nothing a PTR name holds can reach
//! script context. The URL fragment can carry the view (`#q=ssh&sort=rtt&dir=desc`), so a
//! filtered, sorted view can be bookmarked, and the tests can drive the script.

use crate::core::units;
use std::fmt::Write;
use std::net::IpAddr;

use crate::core::model::{Host, HostStatus, NoteLevel, PortState, ScanReport};

use super::escape::{self, html as h};
use super::{filtered_words, reverse_failure, verdict};

/// The latency chart shows at most this many hosts (the slowest), so a large sweep still
/// gives a readable chart.
pub const CHART_MAX_HOSTS: usize = 100;

const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; \
                   img-src data:; base-uri 'none'; form-action 'none'";

const STYLE: &str = r#"
:root{--fg:#1d2329;--muted:#5b6670;--bg:#fff;--line:#d9dee3;--head:#f3f5f7;--ok:#1a7f37;--warn:#b35900;--bad:#b42318;--accent:#1f5fbf}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1200px;padding:1.2rem 1.5rem 3rem;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
h1{font-size:1.5rem;margin:0 0 .2rem}
.alert-critical td:first-child,.lan-problem strong{color:var(--bad);font-weight:600}.alert-warning td:first-child{color:var(--warn)}.lan-ok strong{color:var(--ok)}.lan-not-run{color:var(--muted)}
h2{font-size:1.15rem;margin:2rem 0 .6rem;border-bottom:1px solid var(--line);padding-bottom:.2rem}
.meta{color:var(--muted);margin:0}
.meta span+span::before{content:" · "}
.verdict{margin:1rem 0;padding:.8rem 1rem;border-left:6px solid;border-radius:4px;background:var(--head)}
.verdict.ok{border-color:var(--ok)}.verdict.attention{border-color:var(--warn)}.verdict.incomplete{border-color:var(--bad)}
.verdict .level{font-weight:700;margin-right:.5rem;text-transform:uppercase;letter-spacing:.03em}
.verdict.ok .level{color:var(--ok)}.verdict.attention .level{color:var(--warn)}.verdict.incomplete .level{color:var(--bad)}
.verdict ul{margin:.4rem 0 0;padding-left:1.2rem}
.counts{display:flex;flex-wrap:wrap;gap:.6rem;margin:1rem 0}
.count{border:1px solid var(--line);border-radius:6px;padding:.4rem .8rem;min-width:7.5rem}
.count .n{display:block;font-size:1.5rem;font-weight:700}
.count.up .n,.count.open .n{color:var(--ok)}.count.bad .n{color:var(--bad)}
table{border-collapse:collapse;width:100%;margin:.4rem 0}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
th{background:var(--head);position:sticky;top:0}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
th{white-space:nowrap}
th button{all:unset;cursor:pointer;font-weight:700}
th button:focus-visible{outline:2px solid var(--accent)}
th button::after{content:" ↕";opacity:.35}
th[aria-sort=ascending] button::after{content:" ▲";opacity:1}th[aria-sort=descending] button::after{content:" ▼";opacity:1}
tbody tr:nth-child(even){background:#fafbfc}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.92em}
.controls{display:flex;gap:1rem;align-items:center;flex-wrap:wrap}
.controls input[type=search]{padding:.35rem .5rem;min-width:20rem;border:1px solid var(--line);border-radius:4px;font:inherit}
#shown{color:var(--muted)}
.state-open{color:var(--ok);font-weight:600}.state-filtered{color:var(--warn)}.state-closed{color:var(--muted)}
.lossy{color:var(--warn);font-weight:600}
details{border:1px solid var(--line);border-radius:4px;margin:.4rem 0;padding:.3rem .7rem}
details[open]{padding-bottom:.7rem}
summary{cursor:pointer}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:.5rem 0}
dt{color:var(--muted)}dd{margin:0}
svg text{font:11px system-ui,sans-serif;fill:var(--fg)}
.chart-note,.foot{color:var(--muted)}
footer{margin-top:2.5rem;border-top:1px solid var(--line);padding-top:.5rem}
@media print{
 body{max-width:none;padding:0;font-size:10pt}
 .controls,.noprint{display:none!important}
 th{position:static}
 thead{display:table-header-group}
 tr,details,.count,svg{break-inside:avoid}
 details{border:none;padding:0}
 summary{list-style:none;font-weight:700}
 a{color:inherit;text-decoration:none}
 .verdict,.count{-webkit-print-color-adjust:exact;print-color-adjust:exact}
 tbody tr[hidden]{display:none}
}
"#;

const SCRIPT: &str = r#"
(function () {
  'use strict';
  var root = document.documentElement;
  var table = document.getElementById('hosts-table');
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id && id.indexOf('=') < 0 ? document.getElementById(id) : null;
    if (el && el.tagName === 'DETAILS') { el.open = true; }
  }
  window.addEventListener('hashchange', openTarget);
  var opened = [];
  window.addEventListener('beforeprint', function () {
    opened = [];
    document.querySelectorAll('details:not([open])').forEach(function (d) { d.open = true; opened.push(d); });
  });
  window.addEventListener('afterprint', function () { opened.forEach(function (d) { d.open = false; }); });
  openTarget();
  if (!table) { root.setAttribute('data-ready', '1'); return; }
  var tbody = table.tBodies[0];
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var rows = Array.prototype.slice.call(tbody.rows);
  var filter = document.getElementById('filter');
  var openOnly = document.getElementById('open-only');
  var shown = document.getElementById('shown');
  function value(row, i, type) {
    var c = row.cells[i];
    var v = c.hasAttribute('data-sort') ? c.getAttribute('data-sort') : c.textContent;
    if (type === 'num') { var n = parseFloat(v); return isNaN(n) ? null : n; }
    return v.toLowerCase();
  }
  function sortBy(i, dir) {
    var type = heads[i].getAttribute('data-type');
    rows.sort(function (a, b) {
      var x = value(a, i, type), y = value(b, i, type);
      if (x === y) { return 0; }
      if (x === null) { return 1; }
      if (y === null) { return -1; }
      return (x < y ? -1 : 1) * dir;
    });
    rows.forEach(function (r) { tbody.appendChild(r); });
    heads.forEach(function (th, j) {
      if (j === i) { th.setAttribute('aria-sort', dir > 0 ? 'ascending' : 'descending'); }
      else { th.removeAttribute('aria-sort'); }
    });
  }
  function apply() {
    var terms = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    var n = 0;
    rows.forEach(function (r) {
      var text = r.textContent.toLowerCase();
      var ok = terms.every(function (t) { return text.indexOf(t) >= 0; }) &&
        (!openOnly.checked || r.getAttribute('data-open') !== '0');
      r.hidden = !ok;
      if (ok) { n++; }
    });
    shown.textContent = n + ' of ' + rows.length + ' hosts shown';
    root.setAttribute('data-shown', String(n));
  }
  heads.forEach(function (th, i) {
    var b = th.querySelector('button');
    if (!b) { return; }
    b.addEventListener('click', function () {
      sortBy(i, th.getAttribute('aria-sort') === 'ascending' ? -1 : 1);
    });
  });
  filter.addEventListener('input', apply);
  openOnly.addEventListener('change', apply);
  if (location.hash.indexOf('=') >= 0) {
    var params = new URLSearchParams(location.hash.slice(1));
    if (params.has('q')) { filter.value = params.get('q'); }
    if (params.get('open') === '1') { openOnly.checked = true; }
    var key = params.get('sort');
    heads.forEach(function (th, i) {
      if (key && th.getAttribute('data-key') === key) { sortBy(i, params.get('dir') === 'desc' ? -1 : 1); }
    });
  }
  apply();
  root.setAttribute('data-ready', '1');
})();
"#;

/// A key that sorts addresses numerically as text: IPv4 before IPv6, fixed-width hex.
fn ip_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("4-{:08x}", u32::from(v4)),
        IpAddr::V6(v6) => format!("6-{:032x}", u128::from(v6)),
    }
}

fn anchor(ip: IpAddr) -> String {
    format!("host-{ip}")
}

fn opt(v: &Option<String>) -> String {
    v.as_deref().map_or_else(|| "-".to_string(), h)
}

/// The DNS name, the name typed, or the name the device gives itself on the LAN.
fn display_name(host: &Host) -> Option<&str> {
    host.hostname
        .as_deref()
        .or(host.target_name.as_deref())
        .or(host.names.best_name())
}

/// The name cell of a host row: its name, or why the reverse lookup gave none.
fn name_cell(report: &ScanReport, host: &Host) -> String {
    match (display_name(host), reverse_failure(report, host.ip)) {
        (Some(n), _) => h(n),
        (None, Some(status)) => format!(
            "<span class=\"state-filtered\">PTR {}</span>",
            status.label()
        ),
        (None, None) => "-".to_string(),
    }
}

fn loss_cell(host: &Host) -> String {
    if host.ping_blocked() {
        "ping blocked".to_string()
    } else {
        units::pct(host.loss_pct)
    }
}

fn open_ports_cell(host: &Host) -> String {
    let open: Vec<String> = host.open_ports().map(|p| h(&p.label())).collect();
    if open.is_empty() {
        "-".to_string()
    } else {
        open.join(" ")
    }
}

fn header(out: &mut String, report: &ScanReport) {
    let p = &report.parameters;
    out.push_str("<header>\n<h1>netdx scan report</h1>\n<p class=\"meta\">");
    let targets: Vec<String> = p.targets.iter().map(|t| h(t)).collect();
    let _ = write!(
        out,
        "<span>Targets: <code>{}</code></span>",
        if targets.is_empty() {
            "-".to_string()
        } else {
            targets.join(" ")
        }
    );
    if !p.exclude.is_empty() {
        let ex: Vec<String> = p.exclude.iter().map(|t| h(t)).collect();
        let _ = write!(out, "<span>Excluded: <code>{}</code></span>", ex.join(" "));
    }
    if let Some(ports) = &p.ports {
        let _ = write!(out, "<span>Ports: <code>{}</code></span>", h(ports));
    }
    if let Some(t) = &report.started_at {
        let _ = write!(out, "<span>Started {}</span>", h(&escape::human_time(t)));
    }
    if let Some(s) = crate::core::clock::elapsed_secs(
        report.started_at.as_deref(),
        report.finished_at.as_deref(),
    ) {
        let _ = write!(out, "<span>Took {}</span>", units::duration(s));
    }
    let _ = writeln!(out, "<span>{}</span></p>\n</header>", h(&report.tool));
}

fn verdict_block(out: &mut String, report: &ScanReport) {
    let v = verdict::verdict(report);
    let _ = write!(
        out,
        "<section id=\"verdict\" class=\"verdict {}\"><span class=\"level\">{}</span>{}",
        v.level.class(),
        v.level.label(),
        h(&v.headline)
    );
    if !v.findings.is_empty() {
        out.push_str("<ul>");
        for f in &v.findings {
            let _ = write!(out, "<li>{}</li>", h(f));
        }
        out.push_str("</ul>");
    }
    out.push_str("</section>\n");

    let c = verdict::counts(report);
    out.push_str("<section class=\"counts\" id=\"counts\">");
    let mut card = |class: &str, n: usize, label: &str| {
        let _ = write!(
            out,
            "<div class=\"count {class}\"><span class=\"n\">{n}</span>{label}</div>"
        );
    };
    card("up", c.hosts_up, "hosts up");
    if c.hosts_down > 0 {
        card("bad", c.hosts_down, "hosts went down");
    }
    if c.open_ports + c.closed_ports + c.filtered_ports > 0 {
        card("open", c.open_ports, "open ports");
        card("closed", c.closed_ports, "closed ports");
        card("filtered", c.filtered_ports, "filtered ports");
    }
    if c.dns_queries > 0 {
        card("dns", c.dns_queries, "DNS lookups");
        card(
            if c.dns_failures > 0 { "bad" } else { "dns-ok" },
            c.dns_failures,
            "DNS failures",
        );
    }
    out.push_str("</section>\n");
    // Silence is counted in small print, not on a card: in a /24 it would be the biggest
    // number of the page and say nothing about the hosts that are there.
    let mut silent = Vec::new();
    if c.hosts_no_answer > 0 {
        silent.push(format!(
            "{} {} gave no answer",
            c.hosts_no_answer,
            if c.hosts_no_answer == 1 {
                "address"
            } else {
                "addresses"
            }
        ));
    }
    if c.hosts_not_probed > 0 {
        silent.push(format!(
            "{} {} not probed (interrupted)",
            c.hosts_not_probed,
            if c.hosts_not_probed == 1 {
                "was"
            } else {
                "were"
            }
        ));
    }
    if !silent.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"foot\" id=\"silent-count\">Of {} addresses, {}.</p>",
            c.hosts_total,
            silent.join("; ")
        );
    }
}

fn hosts_table(out: &mut String, report: &ScanReport, up: &[&Host]) {
    out.push_str("<section id=\"hosts\">\n<h2>Hosts</h2>\n");
    if up.is_empty() {
        out.push_str("<p>No host answered.</p>\n</section>\n");
        return;
    }
    out.push_str(
        "<div class=\"controls\"><input id=\"filter\" type=\"search\" placeholder=\"Filter: address, name, vendor, port…\" aria-label=\"Filter hosts\">\
         <label><input type=\"checkbox\" id=\"open-only\"> only hosts with open ports</label><span id=\"shown\"></span></div>\n",
    );
    out.push_str("<table id=\"hosts-table\">\n<thead><tr>");
    let cols = [
        ("ip", "text", "Host"),
        ("name", "text", "Name"),
        ("mac", "text", "MAC"),
        ("vendor", "text", "Vendor"),
        ("type", "text", "Type"),
        ("rtt", "num", "RTT"),
        ("loss", "num", "Loss"),
        ("methods", "text", "Seen by"),
        ("open", "num", "Open ports"),
    ];
    for (key, ty, label) in cols {
        let class = if ty == "num" && key != "open" {
            " class=\"num\""
        } else {
            ""
        };
        let _ = write!(
            out,
            "<th data-key=\"{key}\" data-type=\"{ty}\"{class}><button type=\"button\">{label}</button></th>"
        );
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for host in up {
        let open = host.open_ports().count();
        let methods: Vec<&str> = host.methods.iter().map(|m| m.label()).collect();
        let lossy = host.loss_pct.is_some_and(|l| l > 0.0 && l < 100.0);
        let _ = writeln!(
            out,
            "<tr data-open=\"{open}\"><td data-sort=\"{}\"><a href=\"#{}\" class=\"mono\">{}</a></td><td>{}</td><td class=\"mono\">{}</td><td>{}</td><td>{}</td>\
             <td class=\"num\" data-sort=\"{}\">{}</td><td class=\"num{}\" data-sort=\"{}\">{}</td><td>{}</td><td data-sort=\"{open}\">{}</td></tr>",
            ip_key(host.ip),
            h(&anchor(host.ip)),
            host.ip,
            name_cell(report, host),
            host.mac.map_or_else(|| "-".to_string(), |m| m.to_string()),
            opt(&host.vendor),
            host.device
                .as_ref()
                .map_or_else(|| "-".to_string(), |d| h(&d.kind)),
            host.rtt_ms.map(|v| v.to_string()).unwrap_or_default(),
            units::ms_text(host.rtt_ms),
            if lossy { " lossy" } else { "" },
            host.loss_pct.map(|v| v.to_string()).unwrap_or_default(),
            loss_cell(host),
            methods.join(", "),
            open_ports_cell(host),
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

/// Round `max` up to a step of 1, 2 or 5 × 10^k so that the axis has 4 to 10 ticks.
fn nice_step(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let step = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    step * mag
}

fn fmt_tick(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

/// Horizontal bars: the average round trip per host, with a min–max whisker; lossy hosts in
/// the warning colour.
fn latency_chart(out: &mut String, up: &[&Host]) {
    out.push_str("<section id=\"latency\">\n<h2>Latency</h2>\n");
    let mut measured: Vec<&Host> = up.iter().copied().filter(|h| h.rtt_ms.is_some()).collect();
    let without = up.len() - measured.len();
    if measured.is_empty() {
        out.push_str("<p class=\"chart-note\">No ICMP round trip was measured.</p>\n</section>\n");
        return;
    }
    let total = measured.len();
    if total > CHART_MAX_HOSTS {
        measured.sort_by(|a, b| b.rtt_ms.unwrap_or(0.0).total_cmp(&a.rtt_ms.unwrap_or(0.0)));
        measured.truncate(CHART_MAX_HOSTS);
        measured.sort_by_key(|h| h.ip);
    }
    let max = measured
        .iter()
        .map(|h| h.rtt_max_ms.unwrap_or(0.0).max(h.rtt_ms.unwrap_or(0.0)))
        .fold(0.0, f64::max);
    let step = nice_step(max);
    let axis_max = ((max / step).ceil().max(1.0)) * step;
    let (label_w, plot_w, value_w, row_h, top) = (230.0, 440.0, 80.0, 20.0, 24.0);
    let width = label_w + plot_w + value_w;
    let height = top + row_h * measured.len() as f64 + 8.0;
    let x = |v: f64| label_w + v / axis_max * plot_w;
    let _ = writeln!(
        out,
        "<svg id=\"latency-chart\" role=\"img\" aria-labelledby=\"latency-title\" viewBox=\"0 0 {width} {height}\" width=\"100%\" style=\"max-width:{width}px\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title id=\"latency-title\">ICMP round-trip time per host, in milliseconds: average bar, min–max line</title>"
    );
    let ticks = (axis_max / step).round() as u32;
    for k in 0..=ticks {
        let t = f64::from(k) * step;
        let _ = writeln!(
            out,
            "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{1}\" y2=\"{2:.1}\" stroke=\"#d9dee3\"/><text x=\"{0:.1}\" y=\"14\" text-anchor=\"middle\">{3}</text>",
            x(t),
            top - 4.0,
            height - 4.0,
            fmt_tick(t)
        );
    }
    let _ = writeln!(
        out,
        "<text x=\"{:.1}\" y=\"14\" text-anchor=\"start\">ms</text>",
        label_w + plot_w + 8.0
    );
    for (i, host) in measured.iter().enumerate() {
        let y = top + row_h * i as f64;
        let avg = host.rtt_ms.unwrap_or(0.0);
        let lossy = host.loss_pct.is_some_and(|l| l > 0.0);
        let color = if lossy { "#b35900" } else { "#1f5fbf" };
        let label = match display_name(host) {
            Some(n) => format!("{} {}", host.ip, truncate(&escape::text(n), 24)),
            None => host.ip.to_string(),
        };
        let _ = write!(
            out,
            "<g><title>{}: avg {}",
            h(&label),
            units::ms_text(Some(avg))
        );
        if let (Some(a), Some(b)) = (host.rtt_min_ms, host.rtt_max_ms) {
            let _ = write!(
                out,
                ", min {}, max {}",
                units::ms_text(Some(a)),
                units::ms_text(Some(b))
            );
        }
        if lossy {
            let _ = write!(out, ", loss {}", units::pct(host.loss_pct));
        }
        let _ = write!(
            out,
            "</title><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\
             <rect x=\"{label_w}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{color}\" opacity=\"0.8\"/>",
            label_w - 8.0,
            y + 14.0,
            h(&label),
            y + 4.0,
            (x(avg) - label_w).max(1.0),
            row_h - 8.0
        );
        if let (Some(a), Some(b)) = (host.rtt_min_ms, host.rtt_max_ms) {
            let _ = write!(
                out,
                "<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{2:.1}\" y2=\"{2:.1}\" stroke=\"#1d2329\" stroke-width=\"1.5\"/>",
                x(a),
                x(b),
                y + row_h / 2.0
            );
        }
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\">{}</text></g>",
            label_w + plot_w + 8.0,
            y + 14.0,
            units::ms_text(Some(avg))
        );
    }
    out.push_str("</svg>\n");
    if total > CHART_MAX_HOSTS {
        let _ = writeln!(
            out,
            "<p class=\"chart-note\">The {CHART_MAX_HOSTS} slowest of {total} hosts are shown.</p>"
        );
    }
    if without > 0 {
        let _ = writeln!(
            out,
            "<p class=\"chart-note\">{without} live {} without an ICMP round trip (found by ARP or TCP only).</p>",
            if without == 1 { "host" } else { "hosts" }
        );
    }
    out.push_str("</section>\n");
}

fn host_details(out: &mut String, report: &ScanReport, up: &[&Host]) {
    if up.is_empty() {
        return;
    }
    out.push_str("<section id=\"details\">\n<h2>Host details</h2>\n");
    for host in up {
        let open = host.open_ports().count();
        let _ = write!(
            out,
            "<details id=\"{}\"><summary><span class=\"mono\">{}</span> {} · {} open {}</summary>\n<dl>",
            h(&anchor(host.ip)),
            host.ip,
            display_name(host).map_or_else(String::new, h),
            open,
            if open == 1 { "port" } else { "ports" }
        );
        let mut fact = |k: &str, v: String| {
            let _ = write!(out, "<dt>{k}</dt><dd>{v}</dd>");
        };
        match (&host.hostname, reverse_failure(report, host.ip)) {
            (Some(n), _) => fact("Name (PTR)", h(n)),
            (None, Some(status)) => {
                fact("Name (PTR)", format!("lookup failed: {}", status.label()))
            }
            (None, None) => {}
        }
        if let Some(n) = &host.target_name {
            fact("Target name", h(n));
        }
        if let Some(m) = host.mac {
            fact("MAC", format!("<span class=\"mono\">{m}</span>"));
        }
        if let Some(v) = &host.vendor {
            fact("Vendor", h(v));
        }
        if !host.same_device.is_empty() {
            let links: Vec<String> = host
                .same_device
                .iter()
                .map(|ip| format!("<a href=\"#{}\">{ip}</a>", anchor(*ip)))
                .collect();
            fact("Same device", links.join(", "));
        }
        if let Some(d) = &host.device {
            fact(
                "Device type",
                format!(
                    "{} ({}): {}",
                    h(&d.kind),
                    h(&d.confidence),
                    h(&d.evidence.join(" + "))
                ),
            );
        }
        for (proto, name, details) in host.names.rows() {
            fact(
                &format!("Name ({proto})"),
                format!("{} <span class=\"dim\">{}</span>", h(&name), h(&details)),
            );
        }
        let methods: Vec<&str> = host.methods.iter().map(|m| m.label()).collect();
        fact("Seen by", methods.join(", "));
        if host.rtt_ms.is_some() {
            fact(
                "RTT min / avg / max",
                format!(
                    "{} / {} / {}",
                    units::ms_text(host.rtt_min_ms),
                    units::ms_text(host.rtt_ms),
                    units::ms_text(host.rtt_max_ms)
                ),
            );
        }
        if let (Some(s), Some(r)) = (host.icmp_sent, host.icmp_received) {
            let loss = if host.ping_blocked() {
                "ping blocked".to_string()
            } else {
                format!("{} loss", units::pct(host.loss_pct))
            };
            fact("ICMP echoes", format!("{r} of {s} answered ({loss})"));
        }
        if let Some(a) = host.arp_rtt_ms {
            fact("ARP reply", units::ms_text(Some(a)));
        }
        let closed = host.port_count(PortState::Closed);
        if closed > 0 {
            fact("Closed ports", closed.to_string());
        }
        if !host.filtered_ports.is_empty() {
            fact(
                "Filtered ports",
                format!(
                    "<span class=\"mono\">{}</span>",
                    filtered_words(&host.filtered_ports)
                ),
            );
        }
        out.push_str("</dl>\n");
        if open > 0 {
            out.push_str(
                "<table class=\"ports\"><thead><tr><th class=\"num\">Port</th><th>Protocol</th><th>State</th><th>Service</th><th>What it says</th><th class=\"num\">Connect time</th></tr></thead><tbody>\n",
            );
            for p in host.open_ports() {
                // Identification: product, version, title, certificate; a certificate
                // problem is flagged.
                let said = p.identity.as_ref().map_or_else(
                    || "-".to_string(),
                    |id| {
                        let problem = id.tls.as_ref().and_then(|t| t.problem());
                        match problem {
                            Some(pr) => format!(
                                "{} <strong class=\"state-filtered\">{}</strong>",
                                h(&id.summary()),
                                h(&pr)
                            ),
                            None => h(&id.summary()),
                        }
                    },
                );
                let _ = writeln!(
                    out,
                    "<tr><td class=\"num\">{}</td><td>{}</td><td class=\"state-open\">open</td><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
                    p.port,
                    h(&p.protocol),
                    opt(&p.service),
                    said,
                    units::ms_text(p.rtt_ms)
                );
            }
            out.push_str("</tbody></table>\n");
        }
        out.push_str("</details>\n");
    }
    out.push_str("</section>\n");
}

/// Silent addresses are listed up to this many per status; beyond it (an interrupted /16
/// leaves 60,000 not probed) only counted: the JSON report has every one.
const MAX_SILENT_LISTED: usize = 1024;

/// Addresses without an answer, one folded list per status.
fn silent_hosts(out: &mut String, report: &ScanReport) {
    for (status, id, title) in [
        (HostStatus::Down, "down", "Went down"),
        (HostStatus::NoAnswer, "no-answer", "No answer"),
        (
            HostStatus::NotProbed,
            "not-probed",
            "Not probed (the scan was interrupted first)",
        ),
    ] {
        let ips: Vec<String> = report
            .hosts
            .values()
            .filter(|h| h.status == status)
            .map(|h| h.ip.to_string())
            .collect();
        if ips.is_empty() {
            continue;
        }
        if ips.len() > MAX_SILENT_LISTED {
            let _ = writeln!(
                out,
                "<section id=\"{id}\">\n<h2>{title}</h2>\n<p>{} addresses (too many to list here; the JSON report has each one).</p>\n</section>",
                ips.len()
            );
            continue;
        }
        let _ = writeln!(
            out,
            "<section id=\"{id}\">\n<h2>{title}</h2>\n<details><summary>{} {}</summary><p class=\"mono\">{}</p></details>\n</section>",
            ips.len(),
            if ips.len() == 1 {
                "address"
            } else {
                "addresses"
            },
            ips.join(" ")
        );
    }
}

fn dns_table(out: &mut String, report: &ScanReport) {
    let lookups: Vec<_> = super::dns_table(report).collect();
    if lookups.is_empty() {
        return;
    }
    out.push_str(
        "<section id=\"dns\">\n<h2>DNS</h2>\n<table id=\"dns-table\"><thead><tr><th>Query</th><th>Type</th><th>Status</th><th class=\"num\">Time</th><th>Server</th><th>Answers</th></tr></thead><tbody>\n",
    );
    for d in lookups {
        let answers: Vec<String> = d
            .answers
            .iter()
            .map(|a| {
                format!(
                    "<div><code>{}</code> <span class=\"foot\">ttl {}</span></div>",
                    h(&a.value),
                    a.ttl
                )
            })
            .collect();
        let answers = if answers.is_empty() {
            d.error.as_deref().map_or_else(|| "-".to_string(), h)
        } else {
            answers.concat()
        };
        let class = if d.status == crate::core::model::DnsStatus::NoError {
            ""
        } else {
            " class=\"state-filtered\""
        };
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td{class}>{}</td><td class=\"num\">{}</td><td class=\"mono\">{}</td><td>{answers}</td></tr>",
            h(&d.name),
            d.rtype.label(),
            d.status.label(),
            units::ms_text(d.rtt_ms),
            opt(&d.server),
        );
    }
    out.push_str("</tbody></table>\n</section>\n");
}

/// What changed since netdx last saw these devices, most serious first.
fn alerts(out: &mut String, report: &ScanReport) {
    let alerts = super::watch::alerts_sorted(report);
    if alerts.is_empty() {
        return;
    }
    out.push_str(
        "<section id=\"alerts\">\n<h2>Changes since last seen</h2>\n<table>\n\
         <thead><tr><th>Level</th><th>Kind</th><th>Address</th><th>What</th></tr></thead>\n<tbody>\n",
    );
    for a in alerts {
        let level = super::watch::level_word(a.level);
        let _ = writeln!(
            out,
            "<tr class=\"alert-{level}\"><td>{level}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            a.kind.as_str(),
            a.ip.map_or_else(|| "-".to_string(), |ip| ip.to_string()),
            h(&a.text)
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

/// The LAN safety checks, one line per finding, problems marked.
fn lan(out: &mut String, report: &ScanReport) {
    let Some(lan) = &report.lan else {
        return;
    };
    let _ = writeln!(
        out,
        "<section id=\"lan\">\n<h2>{}</h2>\n<ul>",
        h(&super::watch::lan_heading(lan))
    );
    for (kind, line) in lan.lines() {
        let word = super::watch::line_word(kind);
        let _ = writeln!(
            out,
            "<li class=\"lan-{}\"><strong>{word}:</strong> {}</li>",
            word.replace(' ', "-"),
            h(line.trim_start())
        );
    }
    out.push_str("</ul>\n</section>\n");
}

fn notes(out: &mut String, report: &ScanReport) {
    if report.notes.is_empty() {
        return;
    }
    out.push_str("<section id=\"notes\">\n<h2>Notes</h2>\n<ul>\n");
    for n in &report.notes {
        let tag = match n.level {
            NoteLevel::Info => "note",
            NoteLevel::Warn => "warning",
            NoteLevel::Error => "error",
        };
        let _ = writeln!(out, "<li><strong>{tag}:</strong> {}</li>", h(&n.text));
    }
    out.push_str("</ul>\n</section>\n");
}

pub fn render(report: &ScanReport) -> String {
    let mut out = String::with_capacity(16 * 1024);
    let title = match report.started_at.as_deref() {
        Some(t) => format!(
            "netdx scan report: {} ({})",
            report.parameters.targets.join(" "),
            escape::human_time(t)
        ),
        None => format!("netdx scan report: {}", report.parameters.targets.join(" ")),
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n\
         <meta name=\"generator\" content=\"{}\">\n<link rel=\"icon\" href=\"data:,\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        h(&report.tool),
        h(&truncate(&title, 200))
    );
    header(&mut out, report);
    verdict_block(&mut out, report);
    let up: Vec<&Host> = report.hosts_up().collect();
    hosts_table(&mut out, report, &up);
    latency_chart(&mut out, &up);
    host_details(&mut out, report, &up);
    silent_hosts(&mut out, report);
    dns_table(&mut out, report);
    alerts(&mut out, report);
    lan(&mut out, report);
    notes(&mut out, report);
    let _ = write!(
        out,
        "<footer class=\"foot\">Written by {}. This file is self-contained: it loads nothing from the network.</footer>\n\
         <script>{SCRIPT}</script>\n</body>\n</html>\n",
        h(&report.tool)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_round() {
        assert_eq!(nice_step(0.0), 1.0);
        assert_eq!(nice_step(4.3), 1.0);
        assert_eq!(nice_step(48.5), 10.0);
        assert_eq!(nice_step(0.7), 0.2);
        assert_eq!(fmt_tick(0.2 * 3.0), "0.6");
    }

    #[test]
    fn ip_keys_sort_numerically() {
        let a = ip_key("10.0.0.9".parse().unwrap());
        let b = ip_key("10.0.0.10".parse().unwrap());
        let c = ip_key("fd00::1".parse().unwrap());
        assert!(a < b && b < c);
    }
}
