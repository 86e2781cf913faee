//! Issue 13, untrusted strings: a PTR `admin\u{202E}gnp.exe` must not display reversed, and a
//! zero-width space must not hide in a name. A report read from disk bypasses the model's
//! cleaning, so every writer neutralises bidirectional overrides and isolates, zero-width
//! characters and the byte-order mark itself: one check per output format (text summary,
//! JSON, CSV, Markdown, HTML, XML, and `netdx diff`'s text), on every kind of string a report
//! holds (names, vendor, service, banner, HTTP title, certificate subject, LAN names, DNS
//! records, notes, alerts, the LAN checks).

use std::path::PathBuf;

use netdx::output::{self, Format};

/// Characters that reorder or hide text: bidi embeddings/overrides (U+202A-U+202E), isolates
/// (U+2066-U+2069), zero-width and directional marks (U+200B-U+200F), the BOM (U+FEFF).
fn invisible(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200B}'..='\u{200F}' | '\u{FEFF}')
}

const EVIL: &str = "admin\u{202E}gnp.exe\u{200B}\u{2066}x\u{2069}\u{FEFF}";

/// The lab fixture with EVIL planted in every kind of string, written to a temp file.
fn planted() -> (tempfile::TempDir, PathBuf) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reports");
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("watch.json")).unwrap()).unwrap();
    let host = &mut v["hosts"][0];
    host["hostname"] = EVIL.into();
    host["target_name"] = EVIL.into();
    host["vendor"] = EVIL.into();
    host["names"] = serde_json::json!({
        "mdns": {"hostname": EVIL, "services": [{"type": EVIL, "instance": EVIL, "txt": {"ty": EVIL}}]},
        "netbios": {"name": EVIL, "workgroup": EVIL},
        "upnp": {"friendly_name": EVIL, "manufacturer": EVIL},
        "snmp": {"sys_descr": EVIL, "sys_name": EVIL}
    });
    host["device"] = serde_json::json!({"kind": EVIL, "confidence": "high", "evidence": [EVIL]});
    host["ports"] = serde_json::json!([{
        "port": 443, "protocol": "tcp", "state": "open", "service": EVIL, "rtt_ms": 0.3,
        "identity": {"protocol": "https", "product": EVIL, "version": EVIL, "banner": EVIL,
            "http": {"status": 200, "server": EVIL, "title": EVIL},
            "tls": {"version": "TLSv1.3", "subject_cn": EVIL, "sans": [EVIL], "issuer": EVIL,
                    "self_signed": true}}
    }]);
    v["dns"][0]["answers"][0]["value"] = EVIL.into();
    v["dns"][0]["name"] = EVIL.into();
    v["notes"] = serde_json::json!([{"level": "warn", "text": EVIL}]);
    v["alerts"][0]["text"] = EVIL.into();
    v["lan"]["interface"] = EVIL.into();
    v["lan"]["dhcp"]["offers"][0]["vendor"] = EVIL.into();
    v["lan"]["switch"]["ports"][0]["switch_name"] = EVIL.into();
    v["lan"]["switch"]["ports"][0]["port_description"] = EVIL.into();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("evil.json");
    std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
    (dir, path)
}

fn assert_visible(what: &str, s: &str) {
    let bad: Vec<String> = s
        .chars()
        .filter(|&c| invisible(c))
        .map(|c| format!("U+{:04X}", c as u32))
        .collect();
    assert!(bad.is_empty(), "{what}: invisible characters {bad:?}");
}

#[test]
fn no_output_format_lets_an_invisible_character_through() {
    let (_dir, path) = planted();
    let report = output::json::read(&path).expect("the planted report reads");
    // The planted strings really are in the model (read from disk, not cleaned)...
    assert!(
        report
            .hosts
            .values()
            .any(|h| h.hostname.as_deref() == Some(EVIL))
    );
    for (f, name) in [
        (Format::Csv, "csv"),
        (Format::Markdown, "markdown"),
        (Format::Html, "html"),
        (Format::Xml, "xml"),
    ] {
        let out = String::from_utf8(output::render(&report, f).unwrap()).unwrap();
        assert_visible(name, &out);
        assert!(out.contains("admin"), "{name}: the name itself is kept");
    }
    assert_visible("text summary", &output::table::render(&report, Some(1.0)));
    // ...and JSON keeps them exactly, as \u escapes a terminal shows as text.
    let json = String::from_utf8(output::render(&report, Format::Json).unwrap()).unwrap();
    assert_visible("json", &json);
    assert!(
        json.contains("admin\\u202egnp.exe\\u200b\\u2066x\\u2069\\ufeff"),
        "{json}"
    );
    let back: netdx::core::model::ScanReport = serde_json::from_str(&json).unwrap();
    assert_eq!(
        back.hosts.values().next().unwrap().hostname.as_deref(),
        Some(EVIL)
    );
}

#[test]
fn diff_and_report_commands_print_no_invisible_character() {
    let (dir, path) = planted();
    let clean = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reports/watch.json");
    let out = assert_cmd::Command::cargo_bin("netdx")
        .unwrap()
        .args(["diff"])
        .arg(&clean)
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("admin"), "{text}");
    assert_visible("diff text", &text);
    let md = dir.path().join("evil.md");
    let out = assert_cmd::Command::cargo_bin("netdx")
        .unwrap()
        .args(["report"])
        .arg(&path)
        .arg("-o")
        .arg(&md)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_visible(
        "netdx report -o .md",
        &std::fs::read_to_string(&md).unwrap(),
    );
    assert_visible("stderr", &String::from_utf8_lossy(&out.stderr));
}
