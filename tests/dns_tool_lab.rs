//! `netdx dns` against the lab's real dnsmasq (tests/lab/topology.json is the ground truth):
//! every expected answer by type through a `-f` file in input order, `-x`, NXDOMAIN and
//! REFUSED, TCP, JSON fields, two servers at once (the server's IPv4 and IPv6 addresses),
//! the system resolvers of the scanner namespace (its own resolv.conf, bind-mounted by
//! `ip netns exec`), a server given by name, `+short`, `-f -` and the exit codes.
//! Every run is inside the lab's scanner namespace: no query can leave the lab.

mod common;

use std::collections::BTreeSet;
use std::io::Write as _;
use std::process::Stdio;

use common::dns_out::{json, stderr, stdout, values};
use common::{DnsExpect, Lab};

fn server(lab: &Lab) -> String {
    format!("@{}", lab.dns().server)
}

/// Every answer the lab must give, from one query file, as JSON: answers, rcode and TTL
/// equal the truth, in the file's order.
#[test]
fn query_file_answers_equal_ground_truth_in_order() {
    let Some(lab) = common::shared_lab_or_skip("query_file_answers_equal_ground_truth_in_order")
    else {
        return;
    };
    let expected: Vec<&DnsExpect> = lab.dns().expected.iter().collect();
    let types: BTreeSet<&str> = expected.iter().map(|e| e.rtype.as_str()).collect();
    for t in ["A", "AAAA", "PTR", "MX", "TXT", "CNAME", "SRV"] {
        assert!(types.contains(t), "the truth has no {t} record to check");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("queries.txt");
    let mut text = String::from("# the lab's truth, one query a line\n\n");
    for e in &expected {
        text.push_str(&format!("{} {}\n", e.name, e.rtype));
    }
    std::fs::write(&file, text).unwrap();
    let out = lab.netdx(&["dns", "-f", file.to_str().unwrap(), &server(lab), "--json"]);
    // The truth holds NXDOMAIN and REFUSED answers: exit 1.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["version"], 1);
    let lookups = v["lookups"].as_array().expect("lookups");
    assert_eq!(lookups.len(), expected.len());
    for (l, e) in lookups.iter().zip(&expected) {
        let what = format!("{} {}", e.name, e.rtype);
        assert_eq!(l["name"], e.name.as_str(), "order: {what}");
        assert_eq!(l["type"], e.rtype.as_str(), "{what}");
        assert_eq!(l["rcode"], e.rcode.as_str(), "{what}: {l}");
        assert_eq!(l["status"], e.rcode.as_str(), "{what}: {l}");
        let want: BTreeSet<String> = e.answers.iter().cloned().collect();
        assert_eq!(values(l), want, "{what}: {l}");
        assert_eq!(l["server"], format!("{}:53", lab.dns().server), "{what}");
        assert_eq!(l["transport"], "udp");
        assert!(l["latency_ms"].as_f64().is_some_and(|ms| ms > 0.0), "{l}");
        if want.is_empty() {
            assert!(l["ttl"].is_null(), "{l}");
        } else {
            assert_eq!(l["ttl"], lab.dns().ttl, "{what}: {l}");
        }
        assert!(l.get("error").is_some(), "the schema always has error: {l}");
    }
    let failed = expected.iter().filter(|e| e.rcode != "NOERROR").count();
    assert_eq!(v["summary"]["queries"], expected.len());
    assert_eq!(v["summary"]["failed"], failed);
    assert_eq!(v["summary"]["answered"], expected.len() - failed);
}

/// `-x`, a missing name, TCP and the table.
#[test]
fn reverse_nxdomain_tcp_and_table() {
    let Some(lab) = common::shared_lab_or_skip("reverse_nxdomain_tcp_and_table") else {
        return;
    };
    let web = lab.host("web");
    let srv = server(lab);
    let ip = web.ip.to_string();
    let ip6 = web.ipv6.to_string();

    let out = lab.netdx(&["dns", "-x", &ip, "-x", &ip6, &srv, "--json", "--tcp"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    let l = v["lookups"].as_array().unwrap();
    assert_eq!(l.len(), 2);
    let octets: Vec<String> = web.ip.octets().iter().rev().map(u8::to_string).collect();
    assert_eq!(l[0]["name"], format!("{}.in-addr.arpa", octets.join(".")));
    assert!(l[1]["name"].as_str().unwrap().ends_with(".ip6.arpa"));
    for x in l {
        assert_eq!(x["type"], "PTR");
        assert_eq!(x["transport"], "tcp");
        assert_eq!(values(x), BTreeSet::from([web.name.clone()]), "{x}");
    }

    let missing = format!("no-such-host.{}", lab.dns().zone);
    let out = lab.netdx(&["dns", &missing, "AAAA", &srv]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    let line = text
        .lines()
        .find(|l| l.starts_with(&missing))
        .unwrap_or_else(|| panic!("no line for {missing}:\n{text}"));
    assert!(line.contains("AAAA") && line.contains("NXDOMAIN"), "{line}");

    // The table: one line per record, TTL and server on each.
    let out = lab.netdx(&["dns", &web.name, "A", "AAAA", &srv, "--tcp"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("NAME") && lines[0].ends_with("LATENCY"),
        "{text}"
    );
    for (want_type, want) in [("A", ip.as_str()), ("AAAA", ip6.as_str())] {
        let row = lines
            .iter()
            .find(|l| l.split_whitespace().nth(1) == Some(want_type))
            .unwrap_or_else(|| panic!("no {want_type} row:\n{text}"));
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cols[0], web.name);
        assert_eq!(cols[2], lab.dns().ttl.to_string(), "{row}");
        assert_eq!(cols[3], want, "{row}");
        assert_eq!(cols[4], format!("{}:53", lab.dns().server), "{row}");
        assert_eq!(cols[5], "tcp", "{row}");
    }
}

/// Two servers at once (the server's v4 and v6 addresses): every query goes to both, in
/// order, with the same answers; `+short` prints only the values.
#[test]
fn two_servers_and_short() {
    let Some(lab) = common::shared_lab_or_skip("two_servers_and_short") else {
        return;
    };
    let dns = lab.dns();
    let v4 = format!("@{}", dns.server);
    let v6 = format!("@[{}]:53", dns.server6);
    let web = lab.host("web");
    let mail = format!("mail.{}", dns.zone);
    let out = lab.netdx(&["dns", &v4, &web.name, &mail, &v6, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    let l = v["lookups"].as_array().unwrap();
    let got: Vec<(String, String)> = l
        .iter()
        .map(|x| {
            (
                x["name"].as_str().unwrap().to_string(),
                x["server"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let s4 = format!("{}:53", dns.server);
    let s6 = format!("[{}]:53", dns.server6);
    assert_eq!(
        got,
        [
            (web.name.clone(), s4.clone()),
            (web.name.clone(), s6.clone()),
            (mail.clone(), s4),
            (mail, s6),
        ]
    );
    assert_eq!(values(&l[0]), BTreeSet::from([web.ip.to_string()]));
    assert_eq!(values(&l[0]), values(&l[1]));
    assert_eq!(values(&l[2]), values(&l[3]));

    let out = lab.netdx(&["dns", &web.name, "AAAA", "+short", &v4, &v6]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let want = format!("{0}\n{0}\n", web.ipv6);
    assert_eq!(stdout(&out), want);
}

/// No @server: the scanner namespace's resolv.conf (the lab's server); a server given by
/// name is resolved through it; `-f -` reads standard input in order.
#[test]
fn system_resolvers_server_by_name_and_stdin() {
    let Some(lab) = common::shared_lab_or_skip("system_resolvers_server_by_name_and_stdin") else {
        return;
    };
    let dns = lab.dns();
    let web = lab.host("web");
    let ns_name = &lab.host("dns").name;
    let out = lab.netdx(&["dns", &web.name, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["lookups"][0]["server"], format!("{}:53", dns.server));
    assert_eq!(
        values(&v["lookups"][0]),
        BTreeSet::from([web.ip.to_string()])
    );

    let at_name = format!("@{ns_name}");
    let out = lab.netdx(&["dns", &web.name, "MX", &at_name, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["lookups"][0]["server"], format!("{}:53", dns.server));
    assert_eq!(v["lookups"][0]["status"], "NOERROR");

    let mut cmd = lab.netdx_command(
        &["dns", "-f", "-", &server(lab), "--json"],
        common::NETDX_TIMEOUT,
    );
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn netdx");
    let missing = format!("nothing-here.{}", dns.zone);
    let lines = format!(
        "{}\n-x {}\n{missing} TXT\n{} AAAA\n",
        web.name, web.ip, web.name
    );
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lines.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json(&out);
    let order: Vec<(&str, &str, &str)> = v["lookups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["name"].as_str().unwrap(),
                l["type"].as_str().unwrap(),
                l["status"].as_str().unwrap(),
            )
        })
        .collect();
    let octets: Vec<String> = web.ip.octets().iter().rev().map(u8::to_string).collect();
    let rev = format!("{}.in-addr.arpa", octets.join("."));
    assert_eq!(
        order,
        [
            (web.name.as_str(), "A", "NOERROR"),
            (rev.as_str(), "PTR", "NOERROR"),
            (missing.as_str(), "TXT", "NXDOMAIN"),
            (web.name.as_str(), "AAAA", "NOERROR"),
        ]
    );
}

/// Bad input: one line on stderr, exit 2, nothing asked.
#[test]
fn bad_input_exits_2_with_one_line() {
    let Some(lab) = common::shared_lab_or_skip("bad_input_exits_2_with_one_line") else {
        return;
    };
    let srv = server(lab);
    for args in [
        vec!["dns", "web.lab.test", "+shrot", srv.as_str()],
        vec!["dns", "bad..name", srv.as_str()],
        vec!["dns", "web.lab.test", "@10.77.0.300"],
        vec!["dns", "-x", "web.lab.test", srv.as_str()],
        vec!["dns", "-f", "/nonexistent/queries.txt", srv.as_str()],
        vec!["dns", "MX", srv.as_str()],
    ] {
        let out = lab.netdx(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("netdx: error: "), "{args:?}: {err}");
        assert!(stdout(&out).is_empty(), "{args:?}");
    }
}
