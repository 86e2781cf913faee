//! Reading `netdx dns` output in the DNS tool tests (dns_tool_lab, dns_encrypted_lab).

use std::collections::BTreeSet;
use std::process::Output;

use serde_json::Value;

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", stdout(out), stderr(out)))
}

/// Answer values of the asked type, without trailing dots (the ground truth's spelling).
pub fn values(lookup: &Value) -> BTreeSet<String> {
    let rtype = lookup["type"].as_str().unwrap_or_default();
    lookup["answers"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .filter(|a| a["type"] == rtype)
        .map(|a| {
            a["value"]
                .as_str()
                .unwrap_or_default()
                .split(' ')
                .map(|w| w.strip_suffix('.').unwrap_or(w))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}
