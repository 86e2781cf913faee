//! assets/report.schema.json is generated from the report's types
//! (`netdx::output::json::schema`, schemars), so it cannot drift from what netdx writes. These
//! tests keep the committed file equal to the generated schema byte for byte (after a change to
//! the report types: `NETDX_BLESS=1 cargo test --test report_schema` and review the diff), and
//! prove the schema is strict: a full report validates, and each kind of damage is rejected
//! where it is.

mod common;

use std::path::PathBuf;

use netdx::core::model::{SCHEMA_VERSION, ScanReport};
use netdx::output::{self, Format};
use serde_json::{Value, json};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn committed_schema_is_the_one_generated_from_the_types() {
    let text = output::json::schema_text();
    common::bless::check_committed(
        &root().join("assets/report.schema.json"),
        text.as_bytes(),
        "NETDX_BLESS=1 cargo test --test report_schema",
    );
}

#[test]
fn schema_names_its_version_and_dialect() {
    let s = output::json::schema();
    assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert_eq!(s["$id"], format!("urn:netdx:report:{SCHEMA_VERSION}"));
    assert_eq!(s["title"], "netdx scan report");
    assert_eq!(s["properties"]["schema_version"]["const"], SCHEMA_VERSION);
    let description = s["description"].as_str().unwrap();
    assert!(
        description.contains("reads version 1"),
        "the description says older versions are read: {description}"
    );
    // Descriptions are prose: rustdoc's line breaks and link brackets are gone.
    let text = output::json::schema_text();
    assert!(!text.contains("[`"), "rustdoc link left in the schema");
    // Only formats a validator knows: schemars' own (uint16, double, ip) are dropped.
    for f in ["\"uint", "\"int", "\"double\"", "\"ip\""] {
        assert!(
            !text.contains(&format!("\"format\": {f}")),
            "format {f} in the schema"
        );
    }
}

fn validator() -> jsonschema::Validator {
    jsonschema::options()
        .should_validate_formats(true)
        .build(&output::json::schema())
        .expect("the generated schema compiles")
}

/// Every violation of `report`, as "pointer: message".
fn errors(v: &jsonschema::Validator, report: &Value) -> Vec<String> {
    v.iter_errors(report)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// A report with every section the types can write: the watch fixture (alerts, LAN checks,
/// same-device links) plus a host with a service identity (HTTP and TLS), names, a device type
/// and a DNS answer with a finding, rendered by netdx's own writer.
fn full_report() -> Value {
    use netdx::core::devtype::DeviceType;
    use netdx::core::identity::{HttpInfo, ServiceId, TlsInfo};
    use netdx::core::model::{DnsFinding, DnsFindingKind};
    use netdx::core::names::{HostNames, MdnsInfo, MdnsService, NetbiosInfo, SnmpInfo, UpnpInfo};

    let mut r: ScanReport =
        output::json::read(&root().join("tests/fixtures/reports/watch.json")).expect("fixture");
    let h = r
        .hosts
        .values_mut()
        .find(|h| !h.ports.is_empty())
        .expect("a host with open ports");
    h.ports[0].identity = Some(ServiceId {
        protocol: "https".into(),
        product: Some("nginx".into()),
        version: Some("1.22.1".into()),
        os_hint: Some("Debian".into()),
        http: Some(HttpInfo {
            status: 200,
            server: Some("nginx/1.22.1".into()),
            title: Some("Welcome".into()),
            location: None,
        }),
        tls: Some(TlsInfo {
            version: "TLSv1.3".into(),
            subject_cn: Some("web.lab.test".into()),
            sans: vec!["web.lab.test".into()],
            issuer: Some("Lab CA".into()),
            not_after: Some("2027-01-01T00:00:00Z".into()),
            days_left: Some(30),
            self_signed: false,
        }),
        ..Default::default()
    });
    h.names = HostNames {
        mdns: Some(MdnsInfo {
            hostname: Some("web.local".into()),
            services: vec![MdnsService {
                service_type: "_http._tcp".into(),
                instance: Some("Web".into()),
                port: Some(80),
                txt: [("path".to_string(), "/".to_string())].into(),
            }],
        }),
        netbios: Some(NetbiosInfo {
            name: Some("WEB".into()),
            workgroup: Some("LAB".into()),
            domain_controller: true,
            mac: Some("02:00:00:00:00:20".into()),
        }),
        upnp: Some(UpnpInfo {
            friendly_name: Some("Web".into()),
            ..Default::default()
        }),
        snmp: Some(SnmpInfo {
            sys_name: Some("web".into()),
            ..Default::default()
        }),
    };
    h.device = Some(DeviceType {
        kind: "server".into(),
        confidence: "medium".into(),
        evidence: vec!["HTTPS 443".into()],
    });
    if let Some(d) = r.dns.first_mut() {
        d.findings.push(DnsFinding {
            kind: DnsFindingKind::Stale,
            text: "nothing answers at 192.0.2.9".into(),
        });
    }
    serde_json::from_slice(&output::render(&r, Format::Json).unwrap()).unwrap()
}

#[test]
fn a_report_with_every_section_validates() {
    let v = validator();
    let report = full_report();
    assert!(report["lan"].is_object() && report["alerts"].is_array());
    assert_eq!(errors(&v, &report), Vec::<String>::new());
}

/// The index in `hosts` of the host `full_report` gave an identity, names and a device.
fn rich_host(report: &Value) -> usize {
    report["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .position(|h| h.get("device").is_some())
        .unwrap()
}

/// Each damage is rejected, and the error points at the damaged place (so the rejection is
/// for the reason the case names, not some other defect of the test report).
#[test]
fn the_schema_rejects_what_netdx_never_writes() {
    let v = validator();
    let good = full_report();
    let i = rich_host(&good);
    let hp = format!("/hosts/{i}");
    type Damage = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, String, Damage)> = vec![
        (
            "a port state outside open/closed/filtered",
            format!("{hp}/ports/0/state"),
            Box::new(move |r| r["hosts"][i]["ports"][0]["state"] = json!("bogus")),
        ),
        (
            "a closed port in the open list (schema 1's layout)",
            format!("{hp}/ports/0/state"),
            Box::new(move |r| r["hosts"][i]["ports"][0]["state"] = json!("closed")),
        ),
        (
            "an unknown host status",
            format!("{hp}/status"),
            Box::new(move |r| r["hosts"][i]["status"] = json!("sleeping")),
        ),
        (
            "a host without its required status",
            hp.clone(),
            Box::new(move |r| {
                r["hosts"][i].as_object_mut().unwrap().remove("status");
            }),
        ),
        (
            "an optional field written as null (netdx leaves it out instead)",
            format!("{hp}/device"),
            Box::new(move |r| r["hosts"][i]["device"] = Value::Null),
        ),
        (
            "an optional address written as null",
            "/alerts/0/ip".into(),
            Box::new(|r| r["alerts"][0]["ip"] = Value::Null),
        ),
        (
            "a report without its summary",
            String::new(),
            Box::new(|r| {
                r.as_object_mut().unwrap().remove("summary");
            }),
        ),
        (
            "a newer schema version",
            "/schema_version".into(),
            Box::new(|r| r["schema_version"] = json!(SCHEMA_VERSION + 1)),
        ),
        (
            "an address that is not one",
            format!("{hp}/ip"),
            Box::new(move |r| r["hosts"][i]["ip"] = json!("10.0.0.300")),
        ),
        (
            "a MAC in another notation",
            format!("{hp}/mac"),
            Box::new(move |r| r["hosts"][i]["mac"] = json!("02-00-00-00-00-20")),
        ),
        (
            "a timestamp that is not RFC 3339",
            "/started_at".into(),
            Box::new(|r| r["started_at"] = json!("yesterday")),
        ),
        (
            "a loss over 100 %",
            format!("{hp}/loss_pct"),
            Box::new(move |r| r["hosts"][i]["loss_pct"] = json!(120.0)),
        ),
        (
            "port 0",
            format!("{hp}/ports/0/port"),
            Box::new(move |r| r["hosts"][i]["ports"][0]["port"] = json!(0)),
        ),
        (
            "a malformed range set",
            format!("{hp}/closed_ports/ranges"),
            Box::new(move |r| {
                r["hosts"][i]["closed_ports"] = json!({"count": 2, "ranges": "22,,80"})
            }),
        ),
        (
            "an empty range set (never written)",
            format!("{hp}/closed_ports/count"),
            Box::new(move |r| r["hosts"][i]["closed_ports"] = json!({"count": 0, "ranges": "1"})),
        ),
        (
            "an unknown alert kind",
            "/alerts/0/kind".into(),
            Box::new(|r| r["alerts"][0]["kind"] = json!("bad_vibes")),
        ),
        (
            "a device type the rule table does not have",
            // `device` is optional (anyOf the type or null): the validator reports it there.
            format!("{hp}/device"),
            Box::new(move |r| r["hosts"][i]["device"]["kind"] = json!("toaster")),
        ),
        (
            "an unknown field in a service identity",
            format!("{hp}/ports/0/identity"),
            Box::new(move |r| r["hosts"][i]["ports"][0]["identity"]["shell"] = json!("root")),
        ),
        (
            "an HTTP status that is not one",
            format!("{hp}/ports/0/identity/http/status"),
            Box::new(move |r| r["hosts"][i]["ports"][0]["identity"]["http"]["status"] = json!(42)),
        ),
        (
            "a NetBIOS MAC in another notation",
            format!("{hp}/names/netbios/mac"),
            Box::new(move |r| r["hosts"][i]["names"]["netbios"]["mac"] = json!("0200.0000.0020")),
        ),
        (
            "an unknown DNS status",
            "/dns/0/status".into(),
            Box::new(|r| r["dns"][0]["status"] = json!("MAYBE")),
        ),
        (
            "a LAN check with an unknown status",
            "/lan/dhcp".into(),
            Box::new(|r| r["lan"]["dhcp"]["status"] = json!("perhaps")),
        ),
    ];
    assert!(good["dns"][0].is_object() && good["alerts"][0].is_object());
    for (what, pointer, damage) in cases {
        let mut bad = good.clone();
        damage(&mut bad);
        let errs = errors(&v, &bad);
        assert!(
            errs.iter()
                .any(|e| e.starts_with(&format!("{pointer}:"))
                    || e.starts_with(&format!("{pointer}/"))),
            "{what}: expected an error at '{pointer}', got {errs:#?}"
        );
    }
}
