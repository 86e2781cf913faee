//! `netdx dns` over TLS (DoT) and HTTPS (DoH) against a real server: Debian's unbound, started
//! by `lab.py break --scenario dns-encrypted` on the lab's DNS host (never in the root
//! namespace), serving DoT on 853 and DoH on 443 and forwarding to the lab's dnsmasq. The CA
//! and the server certificate are made here with openssl, in a temporary directory, for
//! `ns.lab.test` only (no IP address in the certificate, like most public resolvers' names).
//!
//! Checked: every A, AAAA, TXT, MX and PTR answer and NXDOMAIN of the ground truth comes back
//! the same over UDP, DoT and DoH; the flag, `+` word and scheme spellings; a server given by
//! name; and the refusals, each one line with exit 1: a certificate from another CA, the
//! system's CAs only, an address the certificate does not name, a wrong `--tls-name`, a closed
//! port, an HTTP error status.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::dns_out::{json, stderr, stdout, values};
use common::{DnsExpect, Lab};
use serde_json::Value;

/// The throwaway PKI: a CA, a server certificate it signed for `ns.lab.test`, and a second
/// CA that signed nothing the server shows.
struct Pki {
    _dir: tempfile::TempDir,
    ca: PathBuf,
    other_ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn make_ca(dir: &Path, stem: &str) -> (PathBuf, PathBuf) {
    let (key, cert) = (
        dir.join(format!("{stem}.key")),
        dir.join(format!("{stem}.pem")),
    );
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        key.to_str().unwrap(),
        "-out",
        cert.to_str().unwrap(),
        "-days",
        "2",
        "-subj",
        &format!("/CN=netdx lab {stem}"),
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    (key, cert)
}

fn make_pki(server_name: &str) -> Pki {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let (ca_key, ca) = make_ca(d, "ca");
    let (_, other_ca) = make_ca(d, "other-ca");
    let key = d.join("server.key");
    let csr = d.join("server.csr");
    let cert = d.join("server.pem");
    openssl(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        key.to_str().unwrap(),
        "-out",
        csr.to_str().unwrap(),
        "-subj",
        &format!("/CN={server_name}"),
    ]);
    let ext = d.join("server.ext");
    std::fs::write(
        &ext,
        format!(
            "subjectAltName=DNS:{server_name}\nbasicConstraints=CA:FALSE\n\
             keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
        ),
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        csr.to_str().unwrap(),
        "-CA",
        ca.to_str().unwrap(),
        "-CAkey",
        ca_key.to_str().unwrap(),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        ext.to_str().unwrap(),
        "-out",
        cert.to_str().unwrap(),
    ]);
    Pki {
        _dir: dir,
        ca,
        other_ca,
        cert,
        key,
    }
}

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A lab of the test's own with unbound serving DoT and DoH, or a skip (a failure under
/// `NETDX_REQUIRE_LAB=1`) when root, unbound or openssl is missing.
fn encrypted_lab(test: &str) -> Option<(Lab, Pki)> {
    if !common::require_root(test)
        || !common::require(test, have("unbound"), "needs unbound")
        || !common::require(test, have("openssl"), "needs openssl")
    {
        return None;
    }
    let lab = Lab::up();
    let pki = make_pki(&lab.host("dns").name);
    lab.start_encrypted_dns(&pki.cert, &pki.key);
    Some((lab, pki))
}

/// The truth unbound passes on unchanged: answers and NXDOMAIN of the zone (dnsmasq's
/// REFUSED for names outside it becomes unbound's SERVFAIL, so it is left out).
fn forwarded_truth(lab: &Lab) -> Vec<&DnsExpect> {
    let truth: Vec<&DnsExpect> = lab
        .dns()
        .expected
        .iter()
        .filter(|e| e.rcode == "NOERROR" || e.rcode == "NXDOMAIN")
        .filter(|e| ["A", "AAAA", "TXT", "MX", "PTR"].contains(&e.rtype.as_str()))
        .collect();
    for t in ["A", "AAAA", "TXT"] {
        assert!(
            truth.iter().any(|e| e.rtype == t && !e.answers.is_empty()),
            "the truth has no {t} answer to check"
        );
    }
    assert!(
        truth.iter().any(|e| e.rcode == "NXDOMAIN"),
        "the truth has no NXDOMAIN"
    );
    truth
}

fn mean_latency(v: &Value) -> f64 {
    let l: Vec<f64> = v["lookups"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["latency_ms"].as_f64())
        .collect();
    l.iter().sum::<f64>() / l.len().max(1) as f64
}

/// One lab with unbound for every check (three labs built at once took up to 56 s each to
/// come up on two cores, one takes about one): the checks run in turn on it.
#[test]
fn dot_and_doh_against_unbound() {
    let Some((lab, pki)) = encrypted_lab("dot_and_doh_against_unbound") else {
        return;
    };
    answers_equal_udp_and_truth(&lab, &pki);
    flags_words_names_and_table(&lab, &pki);
    refusals_are_one_clear_line(&lab, &pki);
}

/// Every forwarded truth over UDP (to dnsmasq), DoT and DoH (to unbound): the same answers
/// and statuses, equal to the truth, with the transport on every lookup.
fn answers_equal_udp_and_truth(lab: &Lab, pki: &Pki) {
    let truth = forwarded_truth(lab);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("queries.txt");
    let text: String = truth
        .iter()
        .map(|e| format!("{} {}\n", e.name, e.rtype))
        .collect();
    std::fs::write(&file, text).unwrap();
    let file = file.to_str().unwrap();
    let ip = lab.dns().server.to_string();
    let ca = pki.ca.to_str().unwrap();
    let ns_name = lab.host("dns").name.clone();
    let udp_server = format!("@{ip}");
    let tls_server = format!("@tls://{ip}");
    let https_server = format!("@https://{ip}/dns-query");

    let runs: [(&str, Vec<&str>, String); 3] = [
        ("udp", vec![udp_server.as_str()], format!("{ip}:53")),
        (
            "tls",
            vec![tls_server.as_str(), "--tls-name", &ns_name, "--ca-file", ca],
            format!("{ip}:853"),
        ),
        (
            "https",
            vec![
                https_server.as_str(),
                "--tls-name",
                &ns_name,
                "--ca-file",
                ca,
            ],
            format!("{ip}:443"),
        ),
    ];
    let mut docs = Vec::new();
    for (transport, extra, server) in &runs {
        let mut args = vec!["dns", "-f", file, "--json"];
        args.extend(extra.iter().copied());
        let out = lab.netdx(&args);
        let v = json(&out);
        let lookups = v["lookups"].as_array().expect("lookups");
        assert_eq!(lookups.len(), truth.len(), "{transport}: {}", stderr(&out));
        let failed = truth.iter().filter(|e| e.rcode != "NOERROR").count();
        assert_eq!(
            out.status.code(),
            Some(if failed > 0 { 1 } else { 0 }),
            "{transport}: {}",
            stderr(&out)
        );
        for (l, e) in lookups.iter().zip(&truth) {
            let what = format!("{transport} {} {}", e.name, e.rtype);
            assert_eq!(l["transport"], *transport, "{what}: {l}");
            assert_eq!(l["server"], server.as_str(), "{what}: {l}");
            assert_eq!(l["name"], e.name.as_str(), "{what}");
            assert_eq!(l["status"], e.rcode.as_str(), "{what}: {l}");
            let want: BTreeSet<String> = e.answers.iter().cloned().collect();
            assert_eq!(values(l), want, "{what}: {l}");
            if let Some(ttl) = l["ttl"].as_u64() {
                // unbound's cache counts the TTL down from dnsmasq's.
                assert!(ttl <= u64::from(lab.dns().ttl), "{what}: {l}");
            }
        }
        eprintln!(
            "{transport}: {} lookups, mean latency {:.2} ms, elapsed {:.1} ms",
            lookups.len(),
            mean_latency(&v),
            v["summary"]["elapsed_ms"].as_f64().unwrap_or_default()
        );
        docs.push(v);
    }
    // The same answers and statuses over the three transports, lookup by lookup.
    let key = |v: &Value| -> Vec<(String, String, BTreeSet<String>)> {
        v["lookups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l["name"].as_str().unwrap().to_string(),
                    l["status"].as_str().unwrap().to_string(),
                    values(l),
                )
            })
            .collect()
    };
    assert_eq!(key(&docs[0]), key(&docs[1]), "udp and tls differ");
    assert_eq!(key(&docs[0]), key(&docs[2]), "udp and https differ");
}

/// The other spellings: `--tls`/`--https` and `+tls`/`+https` on a plain @address, a server
/// given by its name (resolved through the lab's resolver, verified by that name), the
/// table's VIA column and `+short`.
fn flags_words_names_and_table(lab: &Lab, pki: &Pki) {
    let web = lab.host("web");
    let ip = lab.dns().server.to_string();
    let at_ip = format!("@{ip}");
    let ca = pki.ca.to_str().unwrap();
    let ns_name = lab.host("dns").name.clone();
    let want = web.ip.to_string();
    for spelling in [
        vec!["--tls", at_ip.as_str()],
        vec!["+tls", at_ip.as_str()],
        vec!["--https", at_ip.as_str()],
        vec!["+https", at_ip.as_str()],
    ] {
        let mut args = vec!["dns", &web.name, "+short", "--tls-name", &ns_name];
        args.extend(["--ca-file", ca]);
        args.extend(spelling.iter().copied());
        let out = lab.netdx(&args);
        assert_eq!(out.status.code(), Some(0), "{spelling:?}: {}", stderr(&out));
        assert_eq!(stdout(&out), format!("{want}\n"), "{spelling:?}");
    }
    // By name: no --tls-name needed, the certificate names the host asked for.
    for (server, via, port) in [
        (format!("@tls://{ns_name}"), "tls", 853),
        (format!("@https://{ns_name}"), "https", 443),
    ] {
        let out = lab.netdx(&["dns", &web.name, "A", "AAAA", &server, "--ca-file", ca]);
        assert_eq!(out.status.code(), Some(0), "{server}: {}", stderr(&out));
        let text = stdout(&out);
        let lines: Vec<&str> = text.lines().collect();
        let header: Vec<&str> = lines[0].split_whitespace().collect();
        assert_eq!(
            header,
            ["NAME", "TYPE", "TTL", "ANSWER", "SERVER", "VIA", "LATENCY"],
            "{text}"
        );
        for (t, value) in [("A", web.ip.to_string()), ("AAAA", web.ipv6.to_string())] {
            let row = lines
                .iter()
                .find(|l| l.split_whitespace().nth(1) == Some(t))
                .unwrap_or_else(|| panic!("no {t} row:\n{text}"));
            let cols: Vec<&str> = row.split_whitespace().collect();
            assert_eq!(cols[3], value, "{row}");
            assert_eq!(cols[4], format!("{ip}:{port}"), "{row}");
            assert_eq!(cols[5], via, "{row}");
        }
    }
}

/// Every refusal is one line naming the cause, exit 1, and nothing on stdout (`+short`).
fn refusals_are_one_clear_line(lab: &Lab, pki: &Pki) {
    let web = lab.host("web");
    let ip = lab.dns().server.to_string();
    let ca = pki.ca.to_str().unwrap();
    let other = pki.other_ca.to_str().unwrap();
    let ns_name = lab.host("dns").name.clone();
    let tls = format!("@tls://{ip}");
    let https = format!("@https://{ip}");
    let closed = format!("@tls://{ip}:8853");
    let not_found = format!("@https://{ip}/no-such-path");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        // A certificate from another CA.
        (
            vec![&tls, "--tls-name", &ns_name, "--ca-file", other],
            "untrusted certificate",
        ),
        (
            vec![&https, "--tls-name", &ns_name, "--ca-file", other],
            "untrusted certificate",
        ),
        // Only the system's CAs, which never signed the lab's.
        (vec![&tls, "--tls-name", &ns_name], "untrusted certificate"),
        // The certificate names ns.lab.test, not the address, nor another name.
        (vec![&tls, "--ca-file", ca], "certificate name mismatch"),
        (
            vec![&tls, "--tls-name", "wrong.lab.test", "--ca-file", ca],
            "certificate name mismatch",
        ),
        (
            vec![&https, "--tls-name", "wrong.lab.test", "--ca-file", ca],
            "certificate name mismatch",
        ),
        // Nothing listens there: the kernel resets the connection.
        (
            vec![&closed, "--tls-name", &ns_name, "--ca-file", ca],
            "connection refused",
        ),
        // unbound answers other paths with 404.
        (
            vec![&not_found, "--tls-name", &ns_name, "--ca-file", ca],
            "404",
        ),
    ];
    for (extra, why) in cases {
        let mut args = vec!["dns", &web.name, "+short"];
        args.extend(extra.iter().copied());
        let out = lab.netdx(&args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{extra:?}: {err}");
        assert!(stdout(&out).is_empty(), "{extra:?}: {}", stdout(&out));
        assert_eq!(err.lines().count(), 1, "{extra:?}: {err}");
        assert!(err.contains(why), "{extra:?}: want {why:?} in {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // The name mismatch says which names the certificate has and which was expected.
    let out = lab.netdx(&["dns", &web.name, "--json", &tls, "--ca-file", ca]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json(&out);
    let l = &v["lookups"][0];
    assert_eq!(l["transport"], "tls");
    assert_eq!(l["status"], "ERROR");
    let e = l["error"].as_str().unwrap_or_default();
    assert!(e.contains(&ns_name) && e.contains(&ip), "{e}");
    // Options that make no sense without DoT/DoH, DoT without a server, two transports:
    // exit 2 before anything is asked.
    let at_ip = format!("@{ip}");
    for args in [
        vec!["dns", web.name.as_str(), "--tls-name", &ns_name, &at_ip],
        vec!["dns", web.name.as_str(), "--ca-file", ca, &at_ip],
        vec!["dns", web.name.as_str(), "--tls"],
        vec!["dns", web.name.as_str(), "+tls", "+https", &at_ip],
        vec![
            "dns",
            web.name.as_str(),
            &tls,
            "--ca-file",
            "/nonexistent/ca.pem",
        ],
    ] {
        let out = lab.netdx(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert_eq!(
            stderr(&out).lines().count(),
            1,
            "{args:?}: {}",
            stderr(&out)
        );
    }
}
