//! Service identification and the names sweep in the namespace lab (issue 10), next to nmap in
//! the same run (needs root and nmap).
//!
//! `cargo bench --bench identify_lab` (`-- --quick`: 3 netdx runs and one nmap run instead
//! of 10 and 3). Times are wall times of whole commands run in the lab's scanner namespace.
//!
//! ```text
//!   1 identify   netdx scan <lan /24> -p top100        vs  nmap -sV --top-ports 100 -n <live hosts>
//!                wall time (target: at most nmap's / 5); fields right against the lab's
//!                `services` expectations (target: at least nmap's); open ports named at all
//!   2 sweep      netdx scan <lan /24> (discovery + names, no ports), median of 5: <= 1.5 s;
//!                nmap -sn beside it for context
//! ```
//!
//! Ground truth is tests/lab/topology.json: every LAN host's open ports within netdx's top100
//! list (`netdx::core::ports::top_ports(100)`, the same list nmap's `--top-ports 100` scans,
//! checked below), `services` for what each port must be identified as, `lan_names` for the
//! names. netdx's fields are compared exactly as tests/identify_lab.rs does. nmap's output is
//! read the way a technician reads its `PORT STATE SERVICE VERSION` line, as generously as
//! the words allow (see [`nmap_field`]); fields that `nmap -sV` does not report at all (a
//! banner, HTTP status, title, Server header, redirect, certificate) count as not right for
//! it, and a second row compares only the fields nmap does report.
//!
//! A netdx run that misses an open port, reports a wrong port state or misses a live host is
//! printed as FAIL and makes the bench exit 1 at the end, as does a sweep that gets a name
//! wrong: a fast wrong answer is not a result.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::Lab;
use common::bench::{Table, median};
use serde_json::Value;

const NETDX: &str = env!("CARGO_BIN_EXE_netdx");
/// Outer limit on one netdx run.
const NETDX_LIMIT: Duration = Duration::from_secs(120);
/// Outer limit on one nmap -sV run (it takes minutes on the lab: 6 s waits on silent ports).
const NMAP_LIMIT: Duration = Duration::from_secs(600);
/// The issue's bound on the discovery-plus-names sweep of a /24.
const SWEEP_TARGET_S: f64 = 1.5;

// --- running things in the lab ------------------------------------------------------------------

/// Runs `prog args` in the scanner namespace under `timeout`; None when it hit `limit`.
fn in_ns(lab: &Lab, prog: &str, args: &[&str], limit: Duration) -> Option<(Duration, Output)> {
    let start = Instant::now();
    let out = Command::new("timeout")
        .arg("--kill-after=5")
        .arg(limit.as_secs().to_string())
        .args(["ip", "netns", "exec", lab.scanner_ns(), prog])
        .args(args)
        .env("NETDX_CONFIG", "/dev/null")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("spawn {prog}: {e}"));
    let took = start.elapsed();
    (!matches!(out.status.code(), Some(124 | 137) | None)).then_some((took, out))
}

/// `netdx scan ARGS -o r.json`: wall time and the report.
fn netdx_json(lab: &Lab, args: &[&str]) -> (Duration, Value) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("r.json");
    let mut argv = vec!["scan", "--no-inventory"];
    argv.extend_from_slice(args);
    argv.extend_from_slice(&["-o", path.to_str().expect("utf-8 temp path")]);
    let (t, out) = in_ns(lab, NETDX, &argv, NETDX_LIMIT)
        .unwrap_or_else(|| panic!("netdx {argv:?} ran longer than {NETDX_LIMIT:?}"));
    assert!(
        out.status.success(),
        "netdx {argv:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (t, common::report::read_report(&path))
}

// --- ground truth -------------------------------------------------------------------------------

/// One field the lab says a port must report: `product`, `http.title`, `tls.sans`...
struct Expect {
    host: String,
    ip: String,
    port: u16,
    field: String,
    want: Value,
}

/// Leaves of an expectation object, with dotted paths.
fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&path, v, out);
            }
        }
        _ => out.push((prefix.to_string(), v.clone())),
    }
}

/// Every expected field of every `services` port that is in `top100`.
fn expectations(lab: &Lab, top100: &[u16]) -> Vec<Expect> {
    let mut all = Vec::new();
    let services = lab.json()["services"].as_object().expect("services");
    for (key, by_port) in services.iter().filter(|(k, _)| !k.starts_with('_')) {
        let ip = lab.host(key).ip.to_string();
        for (port, spec) in by_port.as_object().expect("ports") {
            let port: u16 = port.parse().expect("port number");
            if !top100.contains(&port) {
                continue;
            }
            let mut leaves = Vec::new();
            flatten("", &spec["expect"], &mut leaves);
            for (field, want) in leaves {
                all.push(Expect {
                    host: key.clone(),
                    ip: ip.clone(),
                    port,
                    field,
                    want,
                });
            }
        }
    }
    all
}

/// Fields `nmap -sV` has no place for in its output.
fn nmap_cannot_say(field: &str) -> bool {
    field == "banner" || field.starts_with("http.") || field.starts_with("tls.")
}

// --- netdx's answers ----------------------------------------------------------------------------

/// The report's identity of `ip`:`port` (Null when absent).
fn identity<'a>(report: &'a Value, ip: &str, port: u16) -> &'a Value {
    common::report::find_host(report, ip)
        .and_then(|h| h["ports"].as_array())
        .and_then(|ps| ps.iter().find(|p| p["port"] == port))
        .map_or(&Value::Null, |p| &p["identity"])
}

/// Whether netdx reported `e` exactly (days left may be one more: the certificate was made
/// seconds before the scan, see tests/identify_lab.rs).
fn netdx_right(report: &Value, e: &Expect) -> bool {
    let mut got = identity(report, &e.ip, e.port);
    for part in e.field.split('.') {
        got = &got[part];
    }
    if e.field == "silent" && got.is_null() {
        return e.want == Value::Bool(false);
    }
    *got == e.want
        || (e.field.ends_with("days_left")
            && got.as_i64().is_some()
            && got.as_i64() == e.want.as_i64().map(|d| d + 1))
}

/// Checks the port states of one netdx report against the truth: every live host up, every
/// top100 port in its true state. Returns (open ports found, problems).
fn netdx_states(lab: &Lab, report: &Value, top100: &[u16]) -> (usize, Vec<String>) {
    let mut open = 0;
    let mut wrong = Vec::new();
    for h in lab.hosts() {
        let ip = h.ip.to_string();
        let Some(rh) = common::report::find_host(report, &ip) else {
            wrong.push(format!("{} ({ip}) missing", h.key));
            continue;
        };
        if rh["status"] != "up" {
            wrong.push(format!("{} ({ip}) is {}", h.key, rh["status"]));
        }
        let states: BTreeMap<u16, String> = common::report::port_states(rh).into_iter().collect();
        for &p in top100 {
            let want = common::report::state_label(h.port_state(p));
            match states.get(&p).map(String::as_str) {
                Some(got) if got == want => open += usize::from(want == "open"),
                got => wrong.push(format!("{} {ip}:{p} is {got:?}, truth {want}", h.key)),
            }
        }
    }
    (open, wrong)
}

/// Whether netdx named the service on `ip`:`port` (anything but unknown/silent).
fn netdx_named(report: &Value, ip: &str, port: u16) -> bool {
    identity(report, ip, port)["protocol"]
        .as_str()
        .is_some_and(|p| p != "unknown")
}

// --- nmap's answers -----------------------------------------------------------------------------

/// One `<port>` of nmap's XML: its state and the `<service>` attributes.
#[derive(Debug, Default, Clone)]
struct NmapPort {
    state: String,
    service: BTreeMap<String, String>,
}

impl NmapPort {
    fn attr(&self, k: &str) -> &str {
        self.service.get(k).map_or("", String::as_str)
    }

    /// Only a guess from the port number (`method="table"`), or a port that closed on every
    /// probe (`tcpwrapped`): nmap did not identify anything.
    fn unidentified(&self) -> bool {
        self.attr("method") != "probed"
            || matches!(self.attr("name"), "tcpwrapped" | "unknown" | "")
    }
}

/// What nmap reported, by (ip, port), plus each host's "not shown" state (`<extraports>`).
#[derive(Debug, Default)]
struct NmapRun {
    ports: BTreeMap<(String, u16), NmapPort>,
    extra: BTreeMap<String, String>,
    /// The ports it scanned (`<scaninfo services=...>`).
    scanned: Vec<u16>,
}

/// XML character references and the five predefined entities.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.find(';') else { break };
        let entity = &rest[1..end];
        let c = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e if e.starts_with("#x") => u32::from_str_radix(&e[2..], 16)
                .ok()
                .and_then(char::from_u32),
            e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The attributes of the element whose name ends at the start of `s` (`s` = ` a="1" b="2"/>...`).
fn attributes(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = s;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() || rest.starts_with('>') || rest.starts_with("/>") {
            return out;
        }
        let Some(eq) = rest.find('=') else {
            return out;
        };
        let name = rest[..eq].trim().to_string();
        rest = &rest[eq + 1..];
        let Some(q) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            return out;
        };
        let Some(end) = rest[1..].find(q) else {
            return out;
        };
        out.insert(name, unescape(&rest[1..1 + end]));
        rest = &rest[end + 2..];
    }
}

/// The text after each `<tag ` (or `<tag>`, `<tag/>`) in `s`.
fn elements<'a>(s: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}");
    s.match_indices(open.as_str())
        .map(|(i, _)| &s[i + open.len()..])
        .filter(|rest| rest.starts_with([' ', '>', '/']))
        .collect()
}

/// "7,9,21-23" as ports.
fn port_ranges(s: &str) -> Vec<u16> {
    let mut out = Vec::new();
    for part in s.split(',').filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        if let (Ok(a), Ok(b)) = (a.parse::<u16>(), b.parse::<u16>()) {
            out.extend(a..=b);
        }
    }
    out
}

/// Reads nmap's `-oX` output: a small reader for the few elements used here (nmap writes one
/// element per line, attributes escaped).
fn parse_nmap_xml(xml: &str) -> NmapRun {
    let mut run = NmapRun::default();
    if let Some(info) = elements(xml, "scaninfo").first().copied() {
        run.scanned = port_ranges(attributes(info).get("services").map_or("", String::as_str));
    }
    for host in elements(xml, "host") {
        let host = &host[..host.find("</host>").unwrap_or(host.len())];
        let Some(ip) = elements(host, "address")
            .into_iter()
            .map(attributes)
            .find(|a| a.get("addrtype").is_some_and(|t| t == "ipv4"))
            .and_then(|a| a.get("addr").cloned())
        else {
            continue;
        };
        if let Some(state) = elements(host, "extraports")
            .first()
            .and_then(|e| attributes(e).get("state").cloned())
        {
            run.extra.insert(ip.clone(), state);
        }
        for port in elements(host, "port") {
            let port = &port[..port.find("</port>").unwrap_or(port.len())];
            let Some(num) = attributes(port)
                .get("portid")
                .and_then(|p| p.parse::<u16>().ok())
            else {
                continue;
            };
            let state = elements(port, "state")
                .first()
                .and_then(|s| attributes(s).get("state").cloned())
                .unwrap_or_default();
            let service = elements(port, "service")
                .first()
                .map(|s| attributes(s))
                .unwrap_or_default();
            run.ports
                .insert((ip.clone(), num), NmapPort { state, service });
        }
    }
    run
}

/// The protocol nmap names, in netdx's words: `http` in an SSL tunnel is `https`, nmap's
/// TLS-wrapped names are the protocol inside (netdx reports TLS separately), a guess from
/// the port table or `tcpwrapped` is `unknown`.
fn nmap_protocol(p: &NmapPort) -> String {
    if p.unidentified() {
        return "unknown".into();
    }
    let name = p.attr("name");
    let ssl = p.attr("tunnel") == "ssl";
    match name {
        "http" | "http-proxy" | "http-alt" if ssl => "https".into(),
        "http-proxy" | "http-alt" => "http".into(),
        "imaps" => "imap".into(),
        "pop3s" => "pop3".into(),
        "smtps" | "submission" => "smtp".into(),
        other => other.to_string(),
    }
}

/// nmap's answer as its normal output prints it: `ssl/http nginx 1.22.1 (extra info)`, with
/// `method=table` guesses marked `?` and a fingerprint of unrecognised bytes noted.
fn nmap_line(p: &NmapPort) -> String {
    let mut s = String::new();
    if p.attr("tunnel") == "ssl" {
        s.push_str("ssl/");
    }
    s.push_str(p.attr("name"));
    if p.attr("method") == "table" {
        s.push('?');
    }
    for part in [p.attr("product"), p.attr("version")] {
        if !part.is_empty() {
            s.push(' ');
            s.push_str(part);
        }
    }
    if !p.attr("extrainfo").is_empty() {
        s.push_str(&format!(" ({})", p.attr("extrainfo")));
    }
    if !p.attr("servicefp").is_empty() {
        s.push_str(" [unrecognised bytes fingerprinted]");
    }
    s
}

/// Case-insensitive words of `s` (split at anything but letters, digits, `.`, `+`, `_`).
fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !(c.is_alphanumeric() || matches!(c, '.' | '+' | '_')))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Whether nmap's answer carries field `field` = `want`, read generously: the product may
/// carry a daemon suffix ("Postfix smtpd" for Postfix) or sit in the version ("MySQL
/// 5.5.5-10.11.6-MariaDB" names MariaDB 10.11.6), an OS hint may be any word of product,
/// version or extra info, extra info one of its `;` parts. None: `nmap -sV` cannot say it.
fn nmap_field(p: Option<&NmapPort>, field: &str, want: &Value) -> Option<bool> {
    if nmap_cannot_say(field) {
        return None;
    }
    let Some(p) = p.filter(|p| p.state == "open") else {
        return Some(false);
    };
    let want_s = want.as_str().unwrap_or_default().to_lowercase();
    let (product, version, extra) = (p.attr("product"), p.attr("version"), p.attr("extrainfo"));
    let all_words = || words(&format!("{product} {version} {extra}"));
    Some(match field {
        "protocol" => nmap_protocol(p) == want_s,
        "silent" => {
            // Silent: it accepted and said nothing nmap could match (closing at once is
            // nmap's tcpwrapped, which netdx also reports as silent).
            let silent = p.attr("name") == "tcpwrapped"
                || (p.attr("method") == "table" && p.attr("servicefp").is_empty());
            Some(silent) == want.as_bool()
        }
        "product" => {
            let pw = words(product);
            let want_w = words(&want_s);
            (!want_w.is_empty() && pw.starts_with(&want_w))
                || (!want_s.is_empty() && words(version).contains(&want_s))
        }
        "version" => {
            version.eq_ignore_ascii_case(&want_s)
                || words(version).contains(&want_s)
                || version
                    .split([' ', '-'])
                    .any(|v| v.eq_ignore_ascii_case(&want_s))
        }
        "os_hint" => {
            all_words().contains(&want_s) || p.attr("ostype").eq_ignore_ascii_case(&want_s)
        }
        "extra" => extra
            .split(';')
            .any(|part| part.trim().eq_ignore_ascii_case(&want_s)),
        _ => false,
    })
}

/// nmap's port states against the truth: (open ports found, wrong states), as context.
fn nmap_states(lab: &Lab, run: &NmapRun, top100: &[u16]) -> (usize, Vec<String>) {
    let (mut open, mut wrong) = (0, Vec::new());
    for h in lab.hosts() {
        let ip = h.ip.to_string();
        let default = run.extra.get(&ip).map_or("closed", String::as_str);
        for &p in top100 {
            let want = common::report::state_label(h.port_state(p));
            let got = run
                .ports
                .get(&(ip.clone(), p))
                .map_or(default, |np| np.state.as_str());
            if got == want {
                open += usize::from(want == "open");
            } else {
                wrong.push(format!("{} {ip}:{p} is {got}, truth {want}", h.key));
            }
        }
    }
    (open, wrong)
}

// --- figures ------------------------------------------------------------------------------------

/// Fields right per field name: (expected, right).
type PerField = BTreeMap<String, (usize, usize)>;

fn tally(per: &mut PerField, field: &str, right: bool) {
    let e = per.entry(field.to_string()).or_default();
    e.0 += 1;
    e.1 += usize::from(right);
}

fn total(per: &PerField, only_nmap_says: bool) -> (usize, usize) {
    per.iter()
        .filter(|(f, _)| !only_nmap_says || !nmap_cannot_say(f))
        .fold((0, 0), |(a, b), (_, (e, r))| (a + e, b + r))
}

fn list(v: &[f64]) -> String {
    v.iter()
        .map(|x| format!("{x:.2}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn main() {
    if !common::require_root("bench identify_lab") {
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let (netdx_runs, nmap_runs) = if quick { (3, 1) } else { (10, 3) };
    let have_nmap = Command::new("sh")
        .args(["-c", "command -v nmap >/dev/null"])
        .status()
        .is_ok_and(|s| s.success());
    if !common::require(
        "bench identify_lab",
        have_nmap,
        "needs nmap (apt-get install nmap)",
    ) {
        return;
    }
    let lab = Lab::up();
    let lan = lab.info().lan.ipv4.clone();
    let top100: Vec<u16> = netdx::core::ports::top_ports(100).to_vec();
    let mut table = Table::default();
    let mut failures: Vec<String> = Vec::new();
    println!(
        "netdx identification benchmarks, lab {}{}",
        lab.name(),
        if quick { " (quick)" } else { "" }
    );

    // Ground truth.
    let expect = expectations(&lab, &top100);
    let open_truth: Vec<(String, String, u16)> = lab
        .hosts()
        .iter()
        .flat_map(|h| {
            h.open
                .iter()
                .filter(|p| top100.contains(p))
                .map(|&p| (h.key.clone(), h.ip.to_string(), p))
                .collect::<Vec<_>>()
        })
        .collect();
    let live: Vec<String> = lab.hosts().iter().map(|h| h.ip.to_string()).collect();
    println!(
        "truth: {} live hosts, {} open ports within top100, {} expected fields on {} ports",
        live.len(),
        open_truth.len(),
        expect.len(),
        expect
            .iter()
            .map(|e| (&e.ip, e.port))
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    );

    // 1a. netdx identifies the /24.
    println!("\nnetdx scan {lan} -p top100, {netdx_runs} runs");
    let mut times = Vec::new();
    let mut netdx_fields: Vec<PerField> = Vec::new();
    let mut netdx_named_counts = Vec::new();
    let mut last_report = Value::Null;
    for run in 1..=netdx_runs {
        let (t, report) = netdx_json(&lab, &[&lan, "-p", "top100"]);
        let (open, wrong) = netdx_states(&lab, &report, &top100);
        let mut per = PerField::new();
        for e in &expect {
            tally(&mut per, &e.field, netdx_right(&report, e));
        }
        let named = open_truth
            .iter()
            .filter(|(_, ip, p)| netdx_named(&report, ip, *p))
            .count();
        let (n, r) = total(&per, false);
        let line = format!(
            "netdx run {run}: {:.3} s, open ports {open}/{}, fields right {r}/{n}, named {named}/{}",
            t.as_secs_f64(),
            open_truth.len(),
            open_truth.len()
        );
        if wrong.is_empty() {
            println!("    {line}  exact");
        } else {
            let shown: Vec<&String> = wrong.iter().take(8).collect();
            let line = format!("{line}  NOT EXACT ({} wrong): {shown:?}", wrong.len());
            println!("    !!!!!!!! FAIL !!!!!!!! {line}");
            failures.push(line);
        }
        times.push(t.as_secs_f64());
        netdx_fields.push(per);
        netdx_named_counts.push(named);
        last_report = report;
    }
    // The worst run is the figure: a result must hold every time.
    let worst = netdx_fields
        .iter()
        .min_by_key(|p| total(p, false).1)
        .cloned()
        .unwrap_or_default();
    for e in &expect {
        if !netdx_right(&last_report, e) {
            let mut got = identity(&last_report, &e.ip, e.port);
            for part in e.field.split('.') {
                got = &got[part];
            }
            println!(
                "    netdx last run: {}:{} {} want {}, got {got}",
                e.host, e.port, e.field, e.want
            );
        }
    }

    // 1b. nmap -sV on the same live hosts.
    let mut nmap_args: Vec<&str> = vec!["-sV", "--top-ports", "100", "-n", "-oX"];
    let dir = tempfile::tempdir().expect("tempdir");
    let xml_path = dir.path().join("nmap.xml");
    nmap_args.push(xml_path.to_str().expect("utf-8 temp path"));
    nmap_args.extend(live.iter().map(String::as_str));
    println!(
        "\nnmap -sV --top-ports 100 -n on the {} live hosts, {nmap_runs} run(s), limit {} s each",
        live.len(),
        NMAP_LIMIT.as_secs()
    );
    let mut ntimes = Vec::new();
    let mut nmap_fields: Option<PerField> = None;
    let mut nmap_named = None;
    for run in 1..=nmap_runs {
        let Some((t, out)) = in_ns(&lab, "nmap", &nmap_args, NMAP_LIMIT) else {
            println!("    nmap run {run}: no figure (still running after {NMAP_LIMIT:?})");
            continue;
        };
        if !out.status.success() {
            println!(
                "    nmap run {run}: failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            continue;
        }
        let xml = std::fs::read_to_string(&xml_path).unwrap_or_default();
        let parsed = parse_nmap_xml(&xml);
        if run == 1 {
            let same = parsed.scanned == {
                let mut s = top100.clone();
                s.sort_unstable();
                s
            };
            println!(
                "    nmap's --top-ports 100 is {} netdx's top100",
                if same {
                    "the same list as"
                } else {
                    "NOT the same list as"
                }
            );
        }
        let (open, wrong) = nmap_states(&lab, &parsed, &top100);
        let mut per = PerField::new();
        for e in &expect {
            let p = parsed.ports.get(&(e.ip.clone(), e.port));
            tally(
                &mut per,
                &e.field,
                nmap_field(p, &e.field, &e.want).unwrap_or(false),
            );
        }
        let named = open_truth
            .iter()
            .filter(|(_, ip, port)| {
                parsed
                    .ports
                    .get(&(ip.clone(), *port))
                    .is_some_and(|p| p.state == "open" && nmap_protocol(p) != "unknown")
            })
            .count();
        let (n, r) = total(&per, false);
        println!(
            "    nmap run {run}: {:.3} s, open ports {open}/{}, wrong states {} {wrong:?}, fields \
             right {r}/{n}, named {named}/{}",
            t.as_secs_f64(),
            open_truth.len(),
            wrong.len(),
            open_truth.len()
        );
        if run == 1 {
            for e in &expect {
                let p = parsed.ports.get(&(e.ip.clone(), e.port));
                if nmap_field(p, &e.field, &e.want) == Some(false) {
                    println!(
                        "    nmap run 1: {}:{} {} want {}, nmap said {}",
                        e.host,
                        e.port,
                        e.field,
                        e.want,
                        p.map_or("nothing".to_string(), nmap_line)
                    );
                }
            }
        }
        ntimes.push(t.as_secs_f64());
        if nmap_fields
            .as_ref()
            .is_none_or(|best| total(best, false).1 < r)
        {
            nmap_fields = Some(per);
        }
        nmap_named = nmap_named.max(Some(named));
    }

    // Per-field agreement, both tools.
    println!("\nfields right by field (netdx: worst run; nmap: best run)");
    println!(
        "    {:<18} {:>8} {:>6} {:>6}",
        "field", "expected", "netdx", "nmap"
    );
    for (field, (n, r)) in &worst {
        let nm = nmap_fields
            .as_ref()
            .and_then(|p| p.get(field))
            .map_or("-".to_string(), |(_, r)| r.to_string());
        let note = if nmap_cannot_say(field) {
            "  (not in nmap -sV output)"
        } else {
            ""
        };
        println!("    {field:<18} {n:>8} {r:>6} {nm:>6}{note}");
    }

    let n_med = median(times.clone());
    let (fields_n, netdx_right_all) = total(&worst, false);
    let (fields_c, netdx_right_c) = total(&worst, true);
    match (ntimes.is_empty(), &nmap_fields) {
        (false, Some(nf)) => {
            let p_med = median(ntimes.clone());
            let (_, nmap_right_all) = total(nf, false);
            let (_, nmap_right_c) = total(nf, true);
            table.row(
                "identify top100 /24: wall s",
                format!("{n_med:.2} s (runs {})", list(&times)),
                format!("nmap -sV {p_med:.1} s (runs {})", list(&ntimes)),
                &format!("<= {:.1} s (nmap / 5)", p_med / 5.0),
                Some(n_med <= p_med / 5.0),
            );
            table.row(
                "fields right (lab truth)",
                format!("{netdx_right_all}/{fields_n} (worst run)"),
                format!("nmap {nmap_right_all}/{fields_n}"),
                &format!(">= {nmap_right_all}"),
                Some(netdx_right_all >= nmap_right_all),
            );
            table.row(
                "fields right, only those nmap -sV reports",
                format!("{netdx_right_c}/{fields_c}"),
                format!("nmap {nmap_right_c}/{fields_c}"),
                &format!(">= {nmap_right_c}"),
                Some(netdx_right_c >= nmap_right_c),
            );
        }
        _ => {
            table.row(
                "identify top100 /24: wall s",
                format!("{n_med:.2} s (runs {})", list(&times)),
                "no figure (nmap did not finish)".into(),
                "<= nmap / 5",
                None,
            );
            table.row(
                "fields right (lab truth)",
                format!("{netdx_right_all}/{fields_n} (worst run)"),
                "no figure".into(),
                ">= nmap's",
                None,
            );
        }
    }
    let named_min = netdx_named_counts.iter().copied().min().unwrap_or(0);
    table.row(
        "open top100 ports named (not unknown)",
        format!("{named_min}/{}", open_truth.len()),
        nmap_named.map_or("no figure".into(), |n| {
            format!("nmap {n}/{}", open_truth.len())
        }),
        "-",
        None,
    );

    // 2. The discovery-plus-names sweep.
    println!("\nnetdx scan {lan} (discovery + names), 5 runs");
    let names = lab.json()["lan_names"].as_object().expect("lan_names");
    let mut sweep = Vec::new();
    let mut names_right = Vec::new();
    let want_names: Vec<(&String, &Value)> =
        names.iter().filter(|(k, _)| !k.starts_with('_')).collect();
    for run in 1..=5 {
        let (t, report) = netdx_json(&lab, &[&lan]);
        let mut right = 0;
        let mut problems = Vec::new();
        for (key, spec) in &want_names {
            let ip = lab.host(key).ip.to_string();
            let got =
                common::report::find_host(&report, &ip).map_or(Value::Null, |h| h["names"].clone());
            if got == spec["expect"] {
                right += 1;
            } else {
                problems.push(format!("{key}: got {got}"));
            }
        }
        let up = lab
            .hosts()
            .iter()
            .filter(|h| {
                common::report::find_host(&report, &h.ip.to_string())
                    .is_some_and(|r| r["status"] == "up")
            })
            .count();
        let line = format!(
            "sweep run {run}: {:.3} s, hosts up {up}/{}, names right {right}/{}",
            t.as_secs_f64(),
            live.len(),
            want_names.len()
        );
        if problems.is_empty() && up == live.len() {
            println!("    {line}");
        } else {
            let line = format!("{line}  WRONG: {problems:?}");
            println!("    !!!!!!!! FAIL !!!!!!!! {line}");
            failures.push(line);
        }
        sweep.push(t.as_secs_f64());
        names_right.push(right);
    }
    let nmap_sn = in_ns(
        &lab,
        "nmap",
        &["-sn", "-n", &lan, "-oG", "-"],
        Duration::from_secs(120),
    )
    .map(|(t, _)| t.as_secs_f64());
    let s_med = median(sweep.clone());
    table.row(
        "discovery + names /24: s",
        format!(
            "{s_med:.2} s (runs {}; names {}/{})",
            list(&sweep),
            names_right.iter().copied().min().unwrap_or(0),
            want_names.len()
        ),
        nmap_sn.map_or("no figure".into(), |t| {
            format!("nmap -sn {t:.2} s (no names)")
        }),
        &format!("<= {SWEEP_TARGET_S} s"),
        Some(s_med <= SWEEP_TARGET_S),
    );

    table.print();
    lab.down();
    if !failures.is_empty() {
        println!("\n!!!!!!!! {} netdx run(s) were WRONG:", failures.len());
        for f in &failures {
            println!("  FAIL {f}");
        }
        std::process::exit(1);
    }
}
