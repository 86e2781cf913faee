//! `netdx serve` in the namespace lab: the agent runs inside the scanner namespace, listens on
//! 127.0.0.1 there, and is scraped from inside the namespace. Every expected value comes from
//! the lab's ground truth (tests/lab/topology.json). A real Prometheus evaluating the shipped
//! alert rules while the lab breaks is tests/serve_prom_lab.rs.

mod common;

use std::time::{Duration, Instant};

use common::Lab;
use common::serve::Agent;

/// Port the agent listens on inside the scanner namespace (its own loopback).
const PORT: u16 = 9430;

/// GET `path` from inside the scanner namespace: (status line + headers, body).
fn get(lab: &Lab, path: &str) -> (String, String) {
    get_with(lab, path, &[])
}

/// [`get`] with more curl arguments (a header).
fn get_with(lab: &Lab, path: &str, extra: &[&str]) -> (String, String) {
    let url = format!("http://127.0.0.1:{PORT}{path}");
    let mut argv = vec!["curl", "-s", "-i", "-m", "5"];
    argv.extend_from_slice(extra);
    argv.push(&url);
    let out = lab.exec(lab.scanner_ns(), &argv);
    let text = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    match text.split_once("\n\n") {
        Some((head, body)) => (head.to_string(), body.to_string()),
        None => (text, String::new()),
    }
}

/// The value of the sample `name{labels}` in the metrics text.
fn sample(text: &str, name: &str, check: &str) -> Option<f64> {
    let prefix = format!("{name}{{check=\"{check}\",");
    text.lines()
        .find(|l| l.starts_with(&prefix))
        .and_then(|l| l.rsplit_once(' '))
        .and_then(|(_, v)| v.parse().ok())
}

/// Poll /metrics until `ok` holds for it (or panic after `limit`, showing the last text).
fn wait_metrics(lab: &Lab, agent: &Agent, limit: Duration, ok: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < limit {
        let (_, body) = get(lab, "/metrics");
        if ok(&body) {
            return body;
        }
        last = body;
        std::thread::sleep(Duration::from_millis(300));
    }
    panic!("metrics never got there:\n{last}\nlog:\n{}", agent.log());
}

/// Rounds of N scrapes at once from inside the namespace; each must be 200 with the OpenMetrics type
/// and parse line by line (HELP/TYPE/UNIT comments, samples, `# EOF` last).
const SCRAPES: &str = r#"
import re, sys, threading, time, urllib.request
url, n, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
sample = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*\})? (-?[0-9.]+([eE][-+]?[0-9]+)?|NaN|[+-]Inf)$')
meta = re.compile(r'^# (HELP|TYPE|UNIT) [a-zA-Z_:][a-zA-Z0-9_:]* .*$')
barrier = threading.Barrier(n)
bad = []
def one():
    barrier.wait()
    try:
        with urllib.request.urlopen(url, timeout=20) as r:
            body = r.read().decode()
            ctype = r.headers.get('Content-Type')
            if r.status != 200 or not ctype.startswith('application/openmetrics-text; version=1.0.0'):
                bad.append(f'status {r.status} type {ctype}'); return
    except Exception as e:
        bad.append(repr(e)); return
    lines = body.split('\n')
    if lines[-2:] != ['# EOF', '']:
        bad.append('no # EOF at the end'); return
    for l in lines[:-2]:
        if not (sample.match(l) or meta.match(l)):
            bad.append(f'bad line {l!r}'); return
start = time.monotonic()
for _ in range(rounds):
    ts = [threading.Thread(target=one) for _ in range(n)]
    for t in ts: t.start()
    for t in ts: t.join()
print(f'{n * rounds - len(bad)} ok in {time.monotonic() - start:.2f} s')
for b in bad[:5]: print(b)
"#;

#[test]
fn serve_reports_lab_truth_reloads_and_stops() {
    let Some(lab) = common::lab_or_skip("serve_reports_lab_truth_reloads_and_stops") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let web = lab.host("web");
    let db = lab.host("db");
    let dns = lab.dns().server;
    let down = lab.down_addresses()[0];
    assert!(web.answers_ping() && db.answers_ping());
    let open = web.open[0];
    let closed = web.closed[0];
    let config = dir.path().join("serve.toml");
    let first = format!(
        r#"flap = 2
[[check]]
kind = "ping"
target = "{web}"
interval = 0.5
name = "web"
[[check]]
kind = "ping"
target = "{down}"
interval = 0.5
name = "down"
[[check]]
kind = "tcp"
target = "{web}"
port = {open}
interval = 0.5
name = "web-open"
[[check]]
kind = "tcp"
target = "{web}"
port = {closed}
interval = 0.5
name = "web-closed"
[[check]]
kind = "dns"
target = "{dns}"
query = "web.lab.test"
type = "A"
expect = ["{web}"]
interval = 0.5
name = "dns-web"
[[check]]
kind = "dns"
target = "{dns}"
query = "web.lab.test"
expect = ["{down}"]
interval = 0.5
name = "dns-wrong"
[[check]]
kind = "tls"
target = "{web}"
port = 443
interval = 0.5
name = "web-tls"
"#,
        web = web.ip,
    );
    std::fs::write(&config, &first).expect("config");
    let config_s = config.to_str().expect("utf-8 path");
    let db_ip = db.ip.to_string();
    let db_port = db.open[0].to_string();
    let agent = Agent::start(
        &lab,
        &[
            "serve",
            &db_ip,
            "-p",
            &db_port,
            "--interval",
            "0.5",
            "--config",
            config_s,
        ],
        dir.path(),
    );
    let db_ping = format!("ping-{db_ip}");
    let db_tcp = format!("tcp-{db_ip}-{db_port}");
    let names = [
        "web",
        "down",
        "web-open",
        "web-closed",
        "dns-web",
        "dns-wrong",
        "web-tls",
        db_ping.as_str(),
        db_tcp.as_str(),
    ];
    let text = wait_metrics(&lab, &agent, Duration::from_secs(20), |t| {
        names
            .iter()
            .all(|n| sample(t, "netdx_probe_success", n).is_some())
    });
    let success = |n: &str| sample(&text, "netdx_probe_success", n);
    assert_eq!(success("web"), Some(1.0), "{text}");
    assert_eq!(success("down"), Some(0.0), "{down} is unused in the lab");
    assert_eq!(success("web-open"), Some(1.0), "port {open} is open on web");
    assert_eq!(
        success("web-closed"),
        Some(0.0),
        "port {closed} is closed on web"
    );
    assert_eq!(success("dns-web"), Some(1.0));
    assert_eq!(
        sample(&text, "netdx_dns_answer_match", "dns-web"),
        Some(1.0)
    );
    assert_eq!(success("dns-wrong"), Some(0.0));
    assert_eq!(
        sample(&text, "netdx_dns_answer_match", "dns-wrong"),
        Some(0.0)
    );
    // web:443's certificate is made at lab start, valid for 365 days.
    assert_eq!(success("web-tls"), Some(1.0));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();
    let end = sample(
        &text,
        "netdx_tls_cert_not_after_timestamp_seconds",
        "web-tls",
    )
    .expect("certificate end");
    let days = (end - now) / 86_400.0;
    assert!((363.0..=366.0).contains(&days), "{days} days left");
    assert_eq!(success(&db_ping), Some(1.0));
    assert_eq!(success(&db_tcp), Some(1.0));
    let avg = format!(
        "netdx_icmp_rtt_seconds{{check=\"web\",kind=\"ping\",target=\"{}\",stat=\"avg\"}}",
        web.ip
    );
    assert!(text.contains(&avg), "{text}");
    assert!(
        sample(&text, "netdx_icmp_loss_ratio", "down") == Some(1.0),
        "every echo to {down} is lost"
    );
    assert!(sample(&text, "netdx_tcp_connect_seconds", "web-open").is_some_and(|s| s > 0.0));
    assert!(sample(&text, "netdx_dns_lookup_seconds", "dns-web").is_some_and(|s| s > 0.0));

    let (head, body) = get(&lab, "/healthz");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, "ok");
    let (head, page) = get(&lab, "/");
    assert!(
        head.starts_with("HTTP/1.1 200") && head.contains("text/html"),
        "{head}"
    );
    assert!(page.contains("<td>web-closed</td>") && page.contains("class=\"down\""));

    // A bad config on SIGHUP: logged, and the old checks keep running.
    std::fs::write(
        &config,
        "[[check]]\nkind = \"ping\"\ntarget = \"nowhere\"\n",
    )
    .expect("bad");
    agent.signal("HUP");
    agent.wait_log("config not reloaded", Duration::from_secs(10));
    assert!(agent.log().contains("check[0].target"), "{}", agent.log());
    let runs_before = get(&lab, "/").1;
    std::thread::sleep(Duration::from_secs(1));
    let text = wait_metrics(&lab, &agent, Duration::from_secs(5), |t| {
        names
            .iter()
            .all(|n| sample(t, "netdx_probe_success", n).is_some())
    });
    assert_eq!(sample(&text, "netdx_probe_success", "web"), Some(1.0));
    assert_ne!(
        get(&lab, "/").1,
        runs_before,
        "checks still run after a bad reload"
    );

    // A good config adds a check; the unchanged ones keep their state.
    let second = format!(
        "{first}[[check]]\nkind = \"tcp\"\ntarget = \"{}\"\nport = {}\ninterval = 0.5\nname = \"mail-smtp\"\n",
        lab.host("mail").ip,
        lab.host("mail").open[0],
    );
    std::fs::write(&config, &second).expect("good");
    // Scrapes go on while the reload happens: 30 rounds of 20 at once (about a second),
    // SIGHUP 0.3 s in.
    let url = format!("http://127.0.0.1:{PORT}/metrics");
    let python = common::python();
    let said = std::thread::scope(|s| {
        let scrapes = s.spawn(|| {
            lab.exec(
                lab.scanner_ns(),
                &[
                    python.to_str().expect("path"),
                    "-c",
                    SCRAPES,
                    &url,
                    "20",
                    "30",
                ],
            )
        });
        std::thread::sleep(Duration::from_millis(300));
        agent.signal("HUP");
        scrapes.join().expect("scrapes")
    });
    let text = String::from_utf8_lossy(&said.stdout);
    assert!(
        text.starts_with("600 ok"),
        "{text}{}",
        String::from_utf8_lossy(&said.stderr)
    );
    // Read with --no-capture: how long the scrapes around the reload took.
    eprintln!("scrapes around the reload: {}", text.trim());
    agent.wait_log("config reloaded", Duration::from_secs(10));
    assert!(
        agent.log().contains("started=1 stopped=0 kept=9"),
        "{}",
        agent.log()
    );
    let text = wait_metrics(&lab, &agent, Duration::from_secs(10), |t| {
        sample(t, "netdx_probe_success", "mail-smtp").is_some()
    });
    assert_eq!(sample(&text, "netdx_probe_success", "mail-smtp"), Some(1.0));
    assert_eq!(sample(&text, "netdx_probe_success", "web"), Some(1.0));

    // 100 scrapes at once: all 200 and parseable.
    let out = lab.exec(
        lab.scanner_ns(),
        &[
            python.to_str().expect("path"),
            "-c",
            SCRAPES,
            &url,
            "100",
            "1",
        ],
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.starts_with("100 ok"),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // SIGTERM: exit 0 within 2 s, listener closed.
    let mut agent = agent;
    let asked = Instant::now();
    agent.signal("TERM");
    let status = loop {
        if let Some(st) = agent.child.try_wait().expect("wait") {
            break st;
        }
        assert!(
            asked.elapsed() < Duration::from_secs(2),
            "still running 2 s after SIGTERM:\n{}",
            agent.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}\n{}", agent.log());
    assert!(agent.log().contains("stopped"), "{}", agent.log());
    let (head, _) = get(&lab, "/healthz");
    assert!(head.is_empty(), "listener still open: {head}");
}

#[test]
fn serve_logs_json_wants_its_token_and_refuses_a_taken_port() {
    let Some(lab) = common::lab_or_skip("serve_logs_json_wants_its_token_and_refuses_a_taken_port")
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let web = lab.host("web").ip.to_string();
    let token = dir.path().join("token");
    std::fs::write(&token, "lab-Secret-42\n").expect("token");
    let agent = Agent::start(
        &lab,
        &[
            "serve",
            &web,
            "--interval",
            "0.5",
            "--log-format",
            "json",
            "--token-file",
            token.to_str().expect("utf-8"),
        ],
        dir.path(),
    );
    agent.wait_log("\"check state\"", Duration::from_secs(15));
    for line in agent.log().lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        assert!(
            v["level"].is_string() && v["timestamp"].is_string(),
            "{line}"
        );
    }
    let lines: Vec<serde_json::Value> = agent
        .log()
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    // As root the agent first says which privileges it kept (cap_net_raw and
    // cap_net_bind_service), then that it serves.
    assert!(
        lines[0]["message"].as_str().is_some_and(
            |m| m.contains("privileges dropped: kept cap_net_raw and cap_net_bind_service")
        ),
        "{:?}",
        lines[0]
    );
    let first = lines
        .iter()
        .find(|v| v["message"] == "serving")
        .expect("a serving line");
    assert_eq!(first["listen"], format!("127.0.0.1:{PORT}"));
    assert_eq!(first["checks"], 1);
    assert_eq!(first["token"], true);
    assert!(
        !agent.log().contains("lab-Secret-42"),
        "the token is never logged"
    );

    // The token only in the Authorization header; /healthz stays open.
    let bearer = ["-H", "Authorization: Bearer lab-Secret-42"];
    let (head, body) = get_with(&lab, "/metrics", &bearer);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(body.contains("netdx_build_info"), "{body}");
    assert!(get_with(&lab, "/", &bearer).0.starts_with("HTTP/1.1 200"));
    for (path, extra) in [
        ("/metrics", &[][..]),
        ("/", &[][..]),
        ("/metrics?token=lab-Secret-42", &[][..]),
        (
            "/metrics",
            &["-H", "Authorization: Bearer lab-Secret-4"][..],
        ),
        ("/metrics", &["-u", "x:lab-Secret-42"][..]),
    ] {
        let (head, _) = get_with(&lab, path, extra);
        assert!(head.starts_with("HTTP/1.1 401"), "{path} {extra:?}: {head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("www-authenticate: bearer"),
            "{head}"
        );
    }
    assert!(get(&lab, "/healthz").0.starts_with("HTTP/1.1 200"));

    // A second agent on the same port says so and exits 2.
    let second = tempfile::tempdir().expect("tempdir");
    let mut other = Agent::start(&lab, &["serve", &web], second.path());
    let st = other.child.wait().expect("wait");
    assert_eq!(st.code(), Some(2), "{}", other.log());
    assert!(
        other
            .log()
            .contains(&format!("cannot listen on 127.0.0.1:{PORT}")),
        "{}",
        other.log()
    );
    // SIGINT stops it as cleanly as SIGTERM.
    let mut agent = agent;
    agent.signal("INT");
    let st = agent.child.wait().expect("wait");
    assert!(st.success(), "{st:?}\n{}", agent.log());
    assert!(
        agent.log().contains("\"signal\":\"SIGINT\""),
        "{}",
        agent.log()
    );
}

#[test]
fn serve_follows_a_host_going_down_and_back() {
    let Some(lab) = common::lab_or_skip("serve_follows_a_host_going_down_and_back") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let web = lab.host("web");
    let ip = web.ip.to_string();
    let agent = Agent::start(&lab, &["serve", &ip, "--interval", "0.5"], dir.path());
    let check = format!("ping-{ip}");
    let value = |want: f64| {
        let check = check.clone();
        move |t: &str| sample(t, "netdx_probe_success", &check) == Some(want)
    };
    wait_metrics(&lab, &agent, Duration::from_secs(10), value(1.0));
    // web stops answering echo requests (nftables in its own namespace).
    let rules = dir.path().join("drop-echo.nft");
    std::fs::write(
        &rules,
        "table inet serve_test {\n  chain input {\n    type filter hook input priority 0;\n    \
         icmp type echo-request drop\n  }\n}\n",
    )
    .expect("rules");
    let out = lab.exec(&web.ns, &["nft", "-f", rules.to_str().expect("utf-8")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = wait_metrics(&lab, &agent, Duration::from_secs(15), value(0.0));
    assert_eq!(
        sample(&text, "netdx_check_state_changes_total", &check),
        Some(1.0)
    );
    // And back.
    let out = lab.exec(&web.ns, &["nft", "delete", "table", "inet", "serve_test"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = wait_metrics(&lab, &agent, Duration::from_secs(15), value(1.0));
    assert_eq!(
        sample(&text, "netdx_check_state_changes_total", &check),
        Some(2.0)
    );
    assert!(agent.log().contains("state=\"down\""), "{}", agent.log());
    agent.signal("TERM");
}
