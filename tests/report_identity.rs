//! What a device is and what runs on it, in every report format: the device type with its
//! evidence, each identified service (product, version, title, certificate, its problem), and
//! the names the device gives itself on the LAN. Built by the model's reducer from the events
//! a scan emits; a hostile banner, title and UPnP name stay text in every format. (The same
//! facts served by the lab are checked end to end in identify_lab.rs and names_lab.rs.)

use netdx::core::event::{ArpOutcome, PortOutcome, ScanEvent};
use netdx::core::identity::{HttpInfo, ServiceId, TlsInfo};
use netdx::core::model::{MacAddr, PortState, ScanReport};
use netdx::core::names::{HostNames, MdnsInfo, MdnsService, UpnpInfo};
use netdx::output::{self, Format};

const EVIL: &str = "<script>alert(1)</script>|=cmd";

fn report() -> ScanReport {
    let mut r = ScanReport::default();
    let printer = "10.77.0.70".parse().unwrap();
    let web = "10.77.0.20".parse().unwrap();
    r.apply(ScanEvent::Targets(vec![printer, web]));
    for (ip, mac) in [
        ("10.77.0.70", [0, 0x1b, 0x21, 0, 0, 0x70]),
        ("10.77.0.20", [0, 0x50, 0x56, 0, 0, 0x20]),
    ] {
        r.apply(ScanEvent::Arp(ArpOutcome {
            ip: ip.parse().unwrap(),
            mac: MacAddr(mac),
            rtt: std::time::Duration::from_micros(300),
        }));
    }
    let open = |port| PortOutcome {
        port,
        state: PortState::Open,
        rtt: None,
    };
    r.apply(ScanEvent::Ports {
        ip: printer,
        results: vec![open(631), open(9100)],
    });
    r.apply(ScanEvent::Ports {
        ip: web,
        results: vec![open(22), open(443)],
    });
    let mut txt = std::collections::BTreeMap::new();
    txt.insert("ty".to_string(), "HP Color LaserJet MFP M480f".to_string());
    r.apply(ScanEvent::Names {
        ip: printer,
        names: Box::new(HostNames {
            mdns: Some(MdnsInfo {
                hostname: Some("printer.local".into()),
                services: vec![MdnsService {
                    service_type: "_ipp._tcp".into(),
                    port: Some(631),
                    txt,
                    ..Default::default()
                }],
            }),
            upnp: Some(UpnpInfo {
                friendly_name: Some(EVIL.into()),
                ..Default::default()
            }),
            ..Default::default()
        }),
    });
    r.apply(ScanEvent::Service {
        ip: web,
        port: 22,
        id: Box::new(ServiceId {
            protocol: "ssh".into(),
            product: Some("OpenSSH".into()),
            version: Some("9.2p1".into()),
            os_hint: Some("Debian".into()),
            extra: Some("protocol 2.0".into()),
            banner: Some(EVIL.into()),
            ..Default::default()
        }),
    });
    r.apply(ScanEvent::Service {
        ip: web,
        port: 443,
        id: Box::new(ServiceId {
            protocol: "https".into(),
            product: Some("nginx".into()),
            http: Some(HttpInfo {
                status: 200,
                title: Some(EVIL.into()),
                ..Default::default()
            }),
            tls: Some(TlsInfo {
                version: "TLSv1.3".into(),
                subject_cn: Some("web.lab.test".into()),
                days_left: Some(9),
                self_signed: true,
                ..Default::default()
            }),
            ..Default::default()
        }),
    });
    r.apply(ScanEvent::Finished { interrupted: false });
    r
}

fn render(r: &ScanReport, f: Format) -> String {
    String::from_utf8(output::render(r, f).expect("render")).expect("utf-8")
}

#[test]
fn the_model_classifies_from_ports_and_names() {
    let r = report();
    let printer = &r.hosts[&"10.77.0.70".parse().unwrap()];
    let d = printer.device.as_ref().expect("printer typed");
    assert_eq!(d.kind, "printer");
    assert_eq!(d.confidence, "high");
    assert!(
        d.evidence.contains(&"mDNS _ipp._tcp".to_string())
            && d.evidence.contains(&"JetDirect 9100".to_string()),
        "{d:?}"
    );
}

#[test]
fn text_lists_type_services_names_and_the_certificate_warning() {
    let t = netdx::output::table::render(&report(), None);
    assert!(t.contains("TYPE"), "{t}");
    assert!(
        t.contains("printer: JetDirect 9100 + IPP 631 + mDNS _ipp._tcp"),
        "{t}"
    );
    assert!(t.contains("OpenSSH 9.2p1 (Debian; protocol 2.0)"), "{t}");
    assert!(
        t.contains("warning: 10.77.0.20:443: certificate expires in 9 days"),
        "{t}"
    );
    assert!(
        t.contains("printer.local"),
        "the LAN name stands in for a missing PTR: {t}"
    );
}

#[test]
fn csv_has_type_and_service_columns() {
    let c = render(&report(), Format::Csv);
    let header: Vec<&str> = c.lines().next().expect("header").split(',').collect();
    for col in ["device_type", "product", "version", "service_info"] {
        assert!(header.contains(&col), "{header:?}");
    }
    assert!(c.contains(",printer,"), "{c}");
    assert!(c.contains("OpenSSH,9.2p1,"), "{c}");
    assert!(!c.contains(",=cmd"), "formula neutralised: {c}");
}

#[test]
fn markdown_has_services_device_types_and_names() {
    let m = render(&report(), Format::Markdown);
    for s in [
        "## Services",
        "## Device types",
        "## Names on the LAN",
        "**certificate expires in 9 days**",
    ] {
        assert!(m.contains(s), "{s}: {m}");
    }
    assert!(!m.contains("<script>"), "markup escaped: {m}");
}

#[test]
fn html_shows_them_escaped() {
    let h = render(&report(), Format::Html);
    assert!(h.contains(">Type<"), "a Type column");
    assert!(h.contains("printer (high)"), "device type with confidence");
    assert!(h.contains("OpenSSH 9.2p1"), "service detail");
    assert!(h.contains("certificate expires in 9 days"));
    assert!(!h.contains("<script>alert"), "hostile text escaped");
    assert!(h.contains("&lt;script&gt;"), "and still shown as text");
}

#[test]
fn json_round_trips_identity_device_and_names() {
    let r = report();
    let j = render(&r, Format::Json);
    let back: ScanReport = serde_json::from_str(&j).expect("read back");
    assert_eq!(back.hosts, r.hosts);
}
