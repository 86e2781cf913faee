//! The HTML report opened in headless Chromium: the script runs without a console error, the
//! hosts table is there, filtering and sorting work (driven through the URL fragment), the
//! hostile fixture injects nothing, and a screenshot is kept under
//! `target/tmp/report-artifacts/` for a human to look at.
//!
//! Chromium is started with background networking, component updates, sync and pings off, a
//! resolver that resolves nothing, only `file://` URLs, and, when we are root, inside a fresh
//! network namespace (`unshare --net`) that has no interface but a downed loopback: the
//! report cannot reach the network even if it tried, and a try would show as a console error.
//! Skipped loudly when Chromium is not installed (Debian package `chromium`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use netdx::output::{self, Format};

fn chromium() -> Option<&'static str> {
    let found = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    common::require(
        "report_html_chromium",
        found.is_some(),
        "chromium is not installed (apt-get install chromium)",
    );
    found
}

fn artifacts() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-artifacts");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn render(fixture: &str, out: &Path) {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/reports")
        .join(fixture);
    let r = output::json::read(&p).unwrap();
    output::write(&r, out, Some(Format::Html)).unwrap();
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

struct Run {
    dom: String,
    console: Vec<String>,
}

/// Run headless Chromium on `file://{page}{fragment}` with `mode` (`--dump-dom` or
/// `--screenshot=...`).
fn run(bin: &str, page: &Path, fragment: &str, mode: &str) -> Run {
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}{fragment}", page.display());
    let mut cmd = if is_root() {
        let mut c = Command::new("unshare");
        c.arg("--net").arg(bin);
        c
    } else {
        Command::new(bin)
    };
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-domain-reliability",
        "--disable-breakpad",
        "--no-pings",
        "--no-first-run",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--window-size=1280,2000",
        "--enable-logging=stderr",
        "--v=0",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .arg(mode)
    .arg(&url);
    let out = cmd.output().expect("chromium runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "chromium failed on {url}:\n{stderr}");
    Run {
        dom: String::from_utf8_lossy(&out.stdout).into_owned(),
        console: stderr
            .lines()
            // Chromium's own pages (chrome://, e.g. the omnibox popup on a slow machine) log
            // to the console too; everything else is the report's.
            .filter(|l| l.contains(":CONSOLE") && !l.contains("source: chrome://"))
            .map(str::to_string)
            .collect(),
    }
}

/// Rows of the hosts table in DOM order: (address, hidden).
fn rows(dom: &str) -> Vec<(String, bool)> {
    let start = dom.find("id=\"hosts-table\"").expect("hosts table present");
    let body = &dom[start..dom[start..].find("</table>").unwrap() + start];
    body.split("<tr data-open=")
        .skip(1)
        .map(|r| {
            let hidden = r[..r.find('>').unwrap()].contains("hidden");
            let a = r.find("class=\"mono\">").unwrap() + "class=\"mono\">".len();
            let ip = r[a..a + r[a..].find('<').unwrap()].to_string();
            (ip, hidden)
        })
        .collect()
}

fn shown(dom: &str) -> usize {
    let a = dom.find("data-shown=\"").expect("script counted rows") + "data-shown=\"".len();
    dom[a..a + dom[a..].find('"').unwrap()].parse().unwrap()
}

#[test]
fn html_report_works_in_chromium() {
    let Some(bin) = chromium() else { return };
    let dir = artifacts();
    let page = dir.join("lab.html");
    render("lab.json", &page);

    // Plain load: script ran, no console message at all, every live host listed.
    let r = run(bin, &page, "", "--dump-dom");
    assert!(r.console.is_empty(), "console output: {:#?}", r.console);
    assert!(
        r.dom.contains("data-ready=\"1\""),
        "the script did not finish"
    );
    let all = rows(&r.dom);
    assert_eq!(all.len(), 8);
    assert!(all.iter().all(|(_, hidden)| !hidden));
    assert_eq!(all[0].0, "10.77.0.1");
    assert!(r.dom.contains("id=\"verdict\" class=\"verdict attention\""));
    assert!(r.dom.contains("<svg id=\"latency-chart\""));

    // Filter: hosts whose row mentions ssh.
    let r = run(bin, &page, "#q=ssh", "--dump-dom");
    assert!(r.console.is_empty(), "{:#?}", r.console);
    let visible: Vec<String> = rows(&r.dom)
        .into_iter()
        .filter(|(_, h)| !h)
        .map(|(ip, _)| ip)
        .collect();
    assert_eq!(
        visible,
        ["10.77.0.2", "10.77.0.20", "10.77.0.30", "10.77.0.33"]
    );
    assert_eq!(shown(&r.dom), 4);

    // Two terms must both match; the open-ports checkbox.
    let r = run(bin, &page, "#q=cisco%20telnet", "--dump-dom");
    assert_eq!(shown(&r.dom), 1);
    let r = run(bin, &page, "#open=1", "--dump-dom");
    assert_eq!(shown(&r.dom), 6, "gw and fd77::20 have no open port");

    // Sort by round trip, slowest first; the host without ICMP RTT goes last.
    let r = run(bin, &page, "#sort=rtt&dir=desc", "--dump-dom");
    assert!(r.console.is_empty(), "{:#?}", r.console);
    let order: Vec<String> = rows(&r.dom).into_iter().map(|(ip, _)| ip).collect();
    assert_eq!(
        order,
        [
            "10.77.0.70",
            "10.77.0.60",
            "10.77.0.30",
            "10.77.0.20",
            "fd77::20",
            "10.77.0.1",
            "10.77.0.2",
            "10.77.0.33"
        ]
    );
    assert!(
        r.dom
            .contains("data-key=\"rtt\" data-type=\"num\" class=\"num\" aria-sort=\"descending\"")
    );
    // Sort by address sorts numerically, not as text (10.77.0.2 before 10.77.0.20).
    let r = run(bin, &page, "#sort=ip", "--dump-dom");
    let order: Vec<String> = rows(&r.dom).into_iter().map(|(ip, _)| ip).collect();
    assert_eq!(order[..3], ["10.77.0.1", "10.77.0.2", "10.77.0.20"]);

    // A link to a host opens its details.
    let r = run(bin, &page, "#host-10.77.0.20", "--dump-dom");
    assert!(
        r.dom.contains("<details id=\"host-10.77.0.20\" open=\"\">"),
        "details not opened"
    );

    // The screenshot, kept for a human.
    let shot = dir.join("lab.png");
    let _ = std::fs::remove_file(&shot);
    let r = run(bin, &page, "", &format!("--screenshot={}", shot.display()));
    assert!(r.console.is_empty(), "{:#?}", r.console);
    let size = std::fs::metadata(&shot).expect("screenshot written").len();
    assert!(size > 20_000, "screenshot suspiciously small: {size} bytes");
    eprintln!("screenshot: {}", shot.display());
}

#[test]
fn hostile_report_injects_nothing_in_chromium() {
    let Some(bin) = chromium() else { return };
    let dir = artifacts();
    let page = dir.join("hostile.html");
    render("hostile.json", &page);
    let r = run(bin, &page, "", "--dump-dom");
    assert!(r.console.is_empty(), "console output: {:#?}", r.console);
    assert!(r.dom.contains("data-ready=\"1\""));
    // Only netdx's own script element exists; no element from the data.
    assert_eq!(
        r.dom.matches("<script").count(),
        1,
        "an injected script element"
    );
    assert!(!r.dom.contains("<img"), "an injected img element");
    assert!(!r.dom.contains("<svg onload"), "an injected svg element");
    assert!(!r.dom.contains("<b>"), "injected markup");
    assert!(!r.dom.contains('\u{1b}'), "an escape byte reached the page");
    // The hostile names are shown as text.
    assert!(
        r.dom
            .contains("&lt;script&gt;alert(1)&lt;/script&gt;.evil.test")
    );
    assert_eq!(rows(&r.dom).len(), 4);
    let shot = dir.join("hostile.png");
    run(bin, &page, "", &format!("--screenshot={}", shot.display()));
    assert!(shot.exists());
}

/// Nothing in the file points outside it: every src/href is a fragment or a data: URL, no
/// CSS url() or @import, and the one http string is the SVG namespace name (never fetched).
#[test]
fn html_references_nothing_external() {
    let dir = tempfile::tempdir().unwrap();
    for fixture in ["lab.json", "hostile.json"] {
        let page = dir.path().join("r.html");
        render(fixture, &page);
        let html = std::fs::read_to_string(&page).unwrap();
        for attr in ["src=\"", "href=\"", "action=\"", "srcset=\"", "poster=\""] {
            for (i, _) in html.match_indices(attr) {
                let v = &html[i + attr.len()..];
                let v = &v[..v.find('"').unwrap()];
                assert!(v.starts_with('#') || v.starts_with("data:"), "{attr}{v}");
            }
        }
        assert!(!html.contains("url("), "CSS url() in {fixture}");
        assert!(!html.contains("@import"));
        assert_eq!(
            html.matches("http://").count() + html.matches("https://").count(),
            html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
                + if fixture == "hostile.json" {
                    html.matches("http://evil").count()
                } else {
                    0
                },
            "an external URL in {fixture}"
        );
        assert!(html.contains("Content-Security-Policy\" content=\"default-src 'none';"));
    }
}
