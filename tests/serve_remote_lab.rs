//! `netdx serve --web-config` (HTTPS + basic auth) and `netdx tui --remote` in the namespace
//! lab. The agent runs inside the scanner namespace and listens on its loopback; curl and the
//! remote view run there too. The certificate is made by the test with openssl (self-signed,
//! for IP 127.0.0.1) and the password hash with the bcrypt crate. Expected states come from
//! the lab's ground truth (tests/lab/topology.json): a host that answers is up, an address
//! the topology marks down is down.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Lab;
use common::serve::Agent;
use common::tmux::{self, Tmux};
use netdx::serve::api::{CheckStatus, ChecksDoc};

/// Port the agent listens on inside the scanner namespace (its own loopback).
const PORT: u16 = 9431;
const USER: &str = "prom";
const PASSWORD: &str = "lab pass: 7f3c";

/// curl inside the scanner namespace: (exit code, status line + headers, body).
fn curl(lab: &Lab, url: &str, extra: &[&str]) -> (i32, String, String) {
    let mut argv = vec!["curl", "-s", "-i", "-m", "5"];
    argv.extend_from_slice(extra);
    argv.push(url);
    let out = lab.exec(lab.scanner_ns(), &argv);
    let text = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    let (head, body) = match text.split_once("\n\n") {
        Some((h, b)) => (h.to_string(), b.to_string()),
        None => (text, String::new()),
    };
    (out.status.code().unwrap_or(-1), head, body)
}

fn status(head: &str) -> Option<u16> {
    head.lines().next()?.split_whitespace().nth(1)?.parse().ok()
}

fn self_signed(dir: &Path) {
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=netdx-lab-agent",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
        ])
        .arg(dir.join("agent.key"))
        .arg("-out")
        .arg(dir.join("agent.crt"))
        .stdin(Stdio::null())
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn serve_over_tls_with_basic_auth_and_the_remote_view() {
    let Some(lab) = common::lab_or_skip("serve_over_tls_with_basic_auth_and_the_remote_view")
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    self_signed(d);
    let hash = bcrypt::hash_with_salt(PASSWORD, 5, [9u8; 16])
        .expect("bcrypt")
        .format_for_version(bcrypt::Version::TwoY);
    let web_yml = d.join("web.yml");
    let good = format!(
        "tls_server_config:\n  cert_file: agent.crt\n  key_file: agent.key\n\
         basic_auth_users:\n  {USER}: '{hash}'\n"
    );
    std::fs::write(&web_yml, &good).expect("write web.yml");
    let ca = d.join("agent.crt");
    let ca_s = ca.to_str().expect("utf-8");

    // A broken web config is refused at start: one line, exit 2.
    let bad_yml = d.join("bad.yml");
    std::fs::write(
        &bad_yml,
        "tls_server_config:\n  cert_file: missing.crt\n  key_file: agent.key\n",
    )
    .expect("write");
    let out = lab.netdx(&[
        "serve",
        "127.0.0.1",
        "--web-config",
        bad_yml.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("missing.crt: cannot read"), "{err}");

    let web = lab.host("web");
    let down = lab.down_addresses()[0];
    assert!(web.answers_ping());
    let open = web.open[0];
    let (web_s, down_s, open_s) = (web.ip.to_string(), down.to_string(), open.to_string());
    let listen = format!("127.0.0.1:{PORT}");
    let agent = Agent::start(
        &lab,
        &[
            "serve",
            &web_s,
            &down_s,
            "-p",
            &open_s,
            "--interval",
            "0.5",
            "--listen",
            &listen,
            "--web-config",
            web_yml.to_str().unwrap(),
        ],
        d,
    );
    agent.wait_log("serving", Duration::from_secs(10));
    let base = format!("https://127.0.0.1:{PORT}");
    let auth = format!("{USER}:{PASSWORD}");
    let tls = ["--cacert", ca_s];

    // The right password over verified TLS: the JSON states match the lab's truth.
    let api = format!("{base}/api/v1/checks");
    let expect = [
        (format!("ping-{web_s}"), "ping", CheckStatus::Up),
        (format!("tcp-{web_s}-{open}"), "tcp", CheckStatus::Up),
        (format!("ping-{down_s}"), "ping", CheckStatus::Down),
        (format!("tcp-{down_s}-{open}"), "tcp", CheckStatus::Down),
    ];
    let start = Instant::now();
    let doc = loop {
        let (code, head, body) = curl(&lab, &api, &[&tls[..], &["-u", &auth]].concat());
        assert_eq!(code, 0, "curl failed: {head}\nlog:\n{}", agent.log());
        assert_eq!(status(&head), Some(200), "{head}\n{body}");
        assert!(head.contains("application/json"), "{head}");
        let doc: ChecksDoc = serde_json::from_str(&body).expect("the API's JSON");
        if doc.checks.iter().all(|c| c.state != CheckStatus::Pending) {
            break doc;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "checks still pending: {body}\nlog:\n{}",
            agent.log()
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(doc.version, 1);
    assert_eq!(doc.checks.len(), expect.len(), "{doc:?}");
    for (name, kind, state) in &expect {
        let c = doc
            .checks
            .iter()
            .find(|c| &c.name == name)
            .unwrap_or_else(|| panic!("no check {name} in {doc:?}"));
        assert_eq!((c.kind.as_str(), c.state), (*kind, *state), "{c:?}");
        assert!(c.since.is_some() && c.last_run.is_some(), "{c:?}");
        assert!(c.verdict.starts_with(state.label()), "{c:?}");
        if *state == CheckStatus::Up {
            assert!(c.latency_ms.is_some_and(|l| l > 0.0), "{c:?}");
        }
    }
    let (_, head, body) = curl(
        &lab,
        &format!("{base}/metrics"),
        &[&tls[..], &["-u", &auth]].concat(),
    );
    assert_eq!(status(&head), Some(200), "{head}");
    assert!(body.contains("netdx_probe_success"), "{body}");

    // Wrong password, no credentials: 401 with a Basic challenge; /healthz stays open.
    let wrong = format!("{USER}:not the password");
    for extra in [&["-u", wrong.as_str()][..], &[][..]] {
        let (_, head, _) = curl(&lab, &api, &[&tls[..], extra].concat());
        assert_eq!(status(&head), Some(401), "{head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("www-authenticate: basic realm=\"netdx\""),
            "{head}"
        );
    }
    let (_, head, body) = curl(&lab, &format!("{base}/healthz"), &tls);
    assert_eq!((status(&head), body.trim()), (Some(200), "ok"), "{head}");
    // The certificate is checked: without the CA curl refuses it.
    let (code, _, _) = curl(&lab, &api, &["-u", &auth]);
    assert_eq!(
        code, 60,
        "curl must not trust an unknown self-signed certificate"
    );
    // Plain HTTP to the TLS port gets no HTTP answer.
    let (code, head, _) = curl(
        &lab,
        &format!("http://127.0.0.1:{PORT}/metrics"),
        &["-u", &auth],
    );
    assert!(
        code != 0 && status(&head).is_none(),
        "plain HTTP answered: {code} {head}"
    );

    // SIGHUP with a broken web config: logged, the old certificate and users stay.
    std::fs::write(
        &web_yml,
        "tls_server_config:\n  cert_file: missing.crt\n  key_file: agent.key\n",
    )
    .expect("write");
    agent.signal("HUP");
    agent.wait_log("config not reloaded", Duration::from_secs(5));
    assert!(agent.log().contains("missing.crt"), "{}", agent.log());
    let (_, head, _) = curl(&lab, &api, &[&tls[..], &["-u", &auth]].concat());
    assert_eq!(status(&head), Some(200), "the old setup must stay: {head}");
    std::fs::write(&web_yml, &good).expect("write");

    // The remote view in a real terminal, inside the scanner namespace.
    if !common::require(
        "serve_over_tls_with_basic_auth_and_the_remote_view (tmux part)",
        tmux::available(),
        "needs tmux",
    ) {
        return;
    }
    let cmd = format!(
        "ip netns exec {ns} env NETDX_CONFIG=/dev/null NETDX_REMOTE_PASSWORD='{PASSWORD}' \
         {bin} tui --remote {base} --user {USER} --ca-cert {ca_s} --refresh 0.5; \
         echo NETDX-EXIT=$?; exec sleep 60",
        ns = lab.scanner_ns(),
        bin = env!("CARGO_BIN_EXE_netdx"),
    );
    let t = Tmux::start(
        format!("netdx-remote-{}", std::process::id()),
        d,
        &cmd,
        160,
        30,
    );
    // Every row whole: tmux can show a frame while it is still being painted (names written,
    // the columns after them not yet).
    let screen = t.wait_for("the agent's checks", Duration::from_secs(15), |s| {
        s.contains("last update")
            && s.contains("2 up · 2 down · 0 pending")
            && expect.iter().all(|(name, _, state)| {
                s.lines().any(|l| {
                    l.contains(&format!("{name} "))
                        && l.split_whitespace().any(|w| w == state.label())
                })
            })
    });
    assert_eq!(t.display("#{alternate_on}"), "1");
    assert!(
        screen.contains(&format!("remote: 127.0.0.1:{PORT} (https)")),
        "{screen}"
    );
    assert!(
        screen.contains(&format!("agent v{}", env!("CARGO_PKG_VERSION"))),
        "{screen}"
    );
    assert!(screen.contains("2 up · 2 down · 0 pending"), "{screen}");
    for (name, kind, state) in &expect {
        let row = screen
            .lines()
            .find(|l| l.contains(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no row for {name}:\n{screen}"));
        let words: Vec<&str> = row.trim_matches(['│', ' ']).split_whitespace().collect();
        assert_eq!(words.get(1), Some(kind), "{row}");
        assert_eq!(words.get(3), Some(&state.label()), "{row}");
    }
    // A probe key is refused, the view stays.
    t.keys(&["D"]);
    t.wait_for("the read-only notice", Duration::from_secs(5), |s| {
        s.contains("probes run on the agent")
    });

    // The agent goes away: the header says so, then the data is marked stale.
    agent.signal("TERM");
    agent.wait_log("stopped", Duration::from_secs(5));
    let screen = t.wait_for("unreachable and stale", Duration::from_secs(10), |s| {
        s.contains("unreachable") && s.contains("STALE")
    });
    assert!(
        screen.contains("Connection refused") || screen.contains("connection refused"),
        "{screen}"
    );
    // The last good data is still listed.
    assert!(screen.contains(&expect[0].0), "{screen}");

    // q leaves with exit 0 and the terminal restored.
    t.keys(&["q"]);
    let screen = t.wait_for("netdx to exit", Duration::from_secs(5), |s| {
        s.contains("NETDX-EXIT=")
    });
    assert!(screen.contains("NETDX-EXIT=0"), "{screen}");
    assert_eq!(t.display("#{alternate_on}"), "0", "alternate screen left");
}
