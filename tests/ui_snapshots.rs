//! Snapshots of every dashboard view, rendered with ratatui's `TestBackend` from engine
//! events applied at fixed timestamps, with a fixture local context (not this machine's).
//! Nothing here touches the network or the wall clock.
//!
//! Review changes with `cargo insta review` (or accept with `INSTA_UPDATE=always`).

use std::net::IpAddr;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use netdx::core::event::{ArpOutcome, IcmpOutcome, Phase, PortOutcome, ScanEvent};
use netdx::core::model::ScanParameters;
use netdx::core::model::{
    DnsAnswer, DnsFinding, DnsFindingKind, DnsResult, DnsStatus, MacAddr, NoteLevel, PortState,
    RecordType,
};
use netdx::diagnose::Diagnosis;
use netdx::net::sys::netinfo::{Gateway, Interface, LinkState, LocalContext, ResolvConf};
use netdx::ui::app::{App, Pane, Settings, View};
use netdx::ui::diagnose_view;
use netdx::ui::render;
use netdx::ui::state::{Dashboard, JobId, JobKind, Timestamp};
use netdx::ui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use ratatui::style::Color;
use time::OffsetDateTime;

/// 2025-01-14 09:30:00 UTC plus `s` seconds.
fn t(s: i64) -> Timestamp {
    OffsetDateTime::from_unix_timestamp(1_736_847_000 + s).unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn context() -> LocalContext {
    LocalContext {
        interfaces: vec![
            Interface {
                name: "eth0".into(),
                mac: Some(MacAddr([0x02, 0x77, 0, 0, 0, 0x10])),
                addrs: vec![
                    "10.77.0.10/24".parse().unwrap(),
                    "fd77::10/64".parse().unwrap(),
                ],
                link: LinkState::Up,
                loopback: false,
            },
            Interface {
                name: "wlan0".into(),
                mac: Some(MacAddr([0x3c, 0x22, 0xfb, 1, 2, 3])),
                addrs: vec![],
                link: LinkState::Down,
                loopback: false,
            },
            Interface {
                name: "lo".into(),
                mac: None,
                addrs: vec!["127.0.0.1/8".parse().unwrap(), "::1/128".parse().unwrap()],
                link: LinkState::Up,
                loopback: true,
            },
        ],
        gateways: vec![Gateway {
            ip: ip("10.77.0.1"),
            iface: "eth0".into(),
            metric: 0,
        }],
        resolv: ResolvConf {
            nameservers: vec![ip("10.77.0.53")],
            search: vec!["lab.test".into()],
            ..ResolvConf::default()
        },
        notes: vec![],
    }
}

fn settings(theme: Theme) -> Settings {
    Settings {
        interval: Duration::from_secs(2),
        ports: None,
        theme,
        zone: netdx::core::clock::LocalZone::utc(),
        ping: true,
        bell: false,
        inventory: false,
        lan_at_start: false,
    }
}

fn new_app() -> App {
    App::new(
        Dashboard::new(context(), ScanParameters::default()),
        settings(Theme::COLOR),
        t(0),
    )
}

fn icmp(a: &str, sent: u32, rtts_us: &[u64]) -> ScanEvent {
    ScanEvent::Icmp(IcmpOutcome {
        ip: ip(a),
        sent,
        received: rtts_us.len() as u32,
        rtts: rtts_us.iter().map(|&u| Duration::from_micros(u)).collect(),
    })
}

fn arp(a: &str, mac: [u8; 6], us: u64) -> ScanEvent {
    ScanEvent::Arp(ArpOutcome {
        ip: a.parse().unwrap(),
        mac: MacAddr(mac),
        rtt: Duration::from_micros(us),
    })
}

fn ptr(a: &str, name: Option<&str>, ms: f64) -> Vec<ScanEvent> {
    let o = match ip(a) {
        IpAddr::V4(v4) => v4.octets(),
        IpAddr::V6(_) => unreachable!(),
    };
    let rname = format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0]);
    vec![
        ScanEvent::Dns(DnsResult {
            name: rname,
            rtype: RecordType::PTR,
            status: if name.is_some() {
                DnsStatus::NoError
            } else {
                DnsStatus::NxDomain
            },
            answers: name
                .map(|n| {
                    vec![DnsAnswer {
                        rtype: "PTR".into(),
                        value: format!("{n}."),
                        ttl: 60,
                    }]
                })
                .unwrap_or_default(),
            server: Some("10.77.0.53:53".into()),
            rtt_ms: Some(ms),
            error: None,
            findings: Vec::new(),
        }),
        ScanEvent::Hostname {
            ip: ip(a),
            name: name.map(str::to_string),
        },
    ]
}

/// The lab's hosts, as the first sweep of 10.77.0.0/24 finds them.
struct Lab {
    sweep: JobId,
}

const HOSTS: &[(&str, &str, [u8; 6], Option<u64>)] = &[
    (
        "10.77.0.1",
        "gw.lab.test",
        [0x00, 0x00, 0x0c, 0x77, 0x00, 0x01],
        Some(310),
    ),
    (
        "10.77.0.2",
        "switch.lab.test",
        [0x00, 0x00, 0x0c, 0x77, 0x00, 0x02],
        Some(420),
    ),
    (
        "10.77.0.20",
        "web.lab.test",
        [0x00, 0x50, 0x56, 0x77, 0x00, 0x20],
        Some(380),
    ),
    (
        "10.77.0.25",
        "mail.lab.test",
        [0x00, 0x0c, 0x29, 0x77, 0x00, 0x25],
        Some(1250),
    ),
    (
        "10.77.0.33",
        "laptop.lab.test",
        [0x3c, 0x22, 0xfb, 0x77, 0x00, 0x33],
        None,
    ),
    (
        "10.77.0.53",
        "ns.lab.test",
        [0x00, 0x14, 0x22, 0x77, 0x00, 0x53],
        Some(290),
    ),
    (
        "10.77.0.60",
        "lossy.lab.test",
        [0x08, 0x00, 0x27, 0x77, 0x00, 0x60],
        Some(510),
    ),
    (
        "10.77.0.70",
        "printer.lab.test",
        [0x02, 0x00, 0x00, 0x77, 0x00, 0x70],
        Some(15_300),
    ),
];

fn start_sweep(app: &mut App) -> Lab {
    let d = &mut app.dash;
    let sweep = d.begin(
        JobKind::Sweep {
            targets: vec!["10.77.0.0/24".into()],
        },
        &[],
        t(0),
    );
    d.apply(
        sweep,
        ScanEvent::Note {
            level: NoteLevel::Info,
            text: "ICMP uses unprivileged ping sockets".into(),
        },
        t(0),
    );
    d.apply(
        sweep,
        ScanEvent::Planned {
            hosts: 254,
            ports_per_host: 0,
        },
        t(0),
    );
    let all: Vec<IpAddr> = (1..=254u8)
        .map(|i| IpAddr::V4(std::net::Ipv4Addr::new(10, 77, 0, i)))
        .collect();
    d.apply(sweep, ScanEvent::Targets(all), t(0));
    Lab { sweep }
}

fn sweep_replies(app: &mut App, lab: &Lab, upto: usize) {
    let d = &mut app.dash;
    for (addr, name, mac, rtt) in HOSTS.iter().take(upto) {
        d.apply(lab.sweep, arp(addr, *mac, 150), t(1));
        if let Some(us) = rtt {
            let loss = addr.ends_with(".60");
            let rtts: Vec<u64> = if loss { vec![*us; 3] } else { vec![*us; 5] };
            d.apply(lab.sweep, icmp(addr, 5, &rtts), t(1));
        } else {
            // As the engine does: every target gets its echo series, answered or not.
            d.apply(lab.sweep, icmp(addr, 5, &[]), t(1));
        }
        for ev in ptr(addr, Some(name), 1.2) {
            d.apply(lab.sweep, ev, t(1));
        }
    }
}

fn finish_sweep(app: &mut App, lab: &Lab) {
    let d = &mut app.dash;
    for i in 1..=254u8 {
        let a = format!("10.77.0.{i}");
        if !HOSTS.iter().any(|h| h.0 == a) {
            d.apply(lab.sweep, icmp(&a, 5, &[]), t(1));
        }
    }
    d.apply(
        lab.sweep,
        ScanEvent::Dns(DnsResult {
            name: "lab.test".into(),
            rtype: RecordType::MX,
            status: DnsStatus::NoError,
            answers: vec![DnsAnswer {
                rtype: "MX".into(),
                value: "10 mail.lab.test.".into(),
                ttl: 60,
            }],
            server: Some("10.77.0.53:53".into()),
            rtt_ms: Some(0.9),
            error: None,
            findings: Vec::new(),
        }),
        t(2),
    );
    d.apply(
        lab.sweep,
        ScanEvent::Dns(DnsResult {
            name: "nope.lab.test".into(),
            rtype: RecordType::A,
            status: DnsStatus::NxDomain,
            answers: vec![],
            server: Some("10.77.0.53:53".into()),
            rtt_ms: Some(0.7),
            error: None,
            findings: Vec::new(),
        }),
        t(2),
    );
    d.apply(lab.sweep, ScanEvent::Finished { interrupted: false }, t(2));
}

/// A monitoring round at `at`: every watched host answers as in the sweep, except `silent`.
fn round(app: &mut App, n: u64, at: i64, silent: &[&str]) {
    let plan = app.dash.round_plan(true);
    let id = app
        .dash
        .begin(JobKind::Round { number: n }, &plan.addresses(), t(at));
    for (addr, _, mac, rtt) in HOSTS {
        if silent.contains(addr) {
            if rtt.is_some() {
                app.dash.apply(id, icmp(addr, 5, &[]), t(at + 1));
            }
            continue;
        }
        app.dash.apply(id, arp(addr, *mac, 140), t(at));
        if let Some(us) = rtt {
            // A little jitter so sparklines have a shape.
            let j = (n * 37 + at as u64 * 13) % 200;
            let rtts: Vec<u64> = if addr.ends_with(".60") && n.is_multiple_of(3) {
                vec![]
            } else {
                vec![us + j; 5]
            };
            app.dash.apply(id, icmp(addr, 5, &rtts), t(at + 1));
        }
    }
    app.dash
        .apply(id, ScanEvent::Finished { interrupted: false }, t(at + 1));
}

fn web_ports(app: &mut App, at: i64) {
    let web = ip("10.77.0.20");
    let id = app.dash.begin(
        JobKind::Ports {
            ip: web,
            spec: "top100".into(),
        },
        &[],
        t(at),
    );
    let results = [
        (21, PortState::Closed),
        (22, PortState::Open),
        (25, PortState::Closed),
        (80, PortState::Open),
        (443, PortState::Open),
        (8080, PortState::Closed),
    ]
    .into_iter()
    .map(|(port, state)| PortOutcome {
        port,
        state,
        rtt: Some(Duration::from_micros(400)),
    })
    .collect();
    app.dash
        .apply(id, ScanEvent::Ports { ip: web, results }, t(at + 1));
    app.dash
        .apply(id, ScanEvent::Finished { interrupted: false }, t(at + 1));
}

/// The lab after the first sweep and `rounds` rounds, one every 2 s.
fn monitored(rounds: u64) -> App {
    let mut app = new_app();
    let lab = start_sweep(&mut app);
    sweep_replies(&mut app, &lab, HOSTS.len());
    finish_sweep(&mut app, &lab);
    for n in 1..=rounds {
        round(&mut app, n, 2 + 2 * n as i64, &[]);
    }
    app
}

fn render(app: &mut App, w: u16, h: u16, now: Timestamp) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    app.size = Rect::new(0, 0, w, h);
    app.prepare(now);
    term.draw(|f| render::draw(f, app)).unwrap();
    term.backend().to_string()
}

fn key(app: &mut App, code: KeyCode) {
    app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn select(app: &mut App, addr: &str) {
    app.prepare(app.now);
    let i = app
        .table
        .order
        .iter()
        .position(|x| *x == ip(addr))
        .expect("host listed");
    let rows = app.table_rows();
    app.table.select(i, rows);
}

#[test]
fn empty_local_context() {
    let mut app = new_app();
    insta::assert_snapshot!("empty_160x48", render(&mut app, 160, 48, t(0)));
    insta::assert_snapshot!("empty_80x24", render(&mut app, 80, 24, t(0)));
}

#[test]
fn scanning_with_progress() {
    let mut app = new_app();
    let lab = start_sweep(&mut app);
    sweep_replies(&mut app, &lab, 3);
    for (phase, done, total) in [(Phase::Arp, 254, 254), (Phase::Ping, 120, 254)] {
        app.dash
            .apply(lab.sweep, ScanEvent::Progress { phase, done, total }, t(1));
    }
    insta::assert_snapshot!("scanning_160x48", render(&mut app, 160, 48, t(1)));
}

#[test]
fn results_while_monitoring() {
    let mut app = monitored(12);
    web_ports(&mut app, 30);
    select(&mut app, "10.77.0.20");
    insta::assert_snapshot!("results_160x48", render(&mut app, 160, 48, t(31)));
}

#[test]
fn host_down_and_recovery() {
    let mut app = monitored(5);
    // The web server stops answering for three rounds, then comes back.
    for n in 6..=8 {
        round(&mut app, n, 2 + 2 * n as i64, &["10.77.0.20"]);
    }
    select(&mut app, "10.77.0.20");
    insta::assert_snapshot!("host_down_160x48", render(&mut app, 160, 48, t(19)));
    for n in 9..=10 {
        round(&mut app, n, 2 + 2 * n as i64, &[]);
    }
    insta::assert_snapshot!("host_recovered_160x48", render(&mut app, 160, 48, t(23)));
}

#[test]
fn gateway_down_shows_in_header() {
    let mut app = monitored(3);
    round(&mut app, 4, 10, &["10.77.0.1"]);
    let screen = render(&mut app, 160, 48, t(11));
    let header = screen.lines().next().unwrap();
    assert!(header.contains("Gateway ✖ DOWN"), "{header}");
    // Every other LAN host answers, but a LAN without its gateway is not OK.
    assert!(header.contains("LAN ▲ DEGRADED"), "{header}");
    assert!(header.contains("gateway not answering"), "{header}");
    assert!(
        screen.contains("10.77.0.1 (gw.lab.test) went down"),
        "{screen}"
    );
}

#[test]
fn help_overlay() {
    let mut app = monitored(2);
    key(&mut app, KeyCode::Char('?'));
    insta::assert_snapshot!("help_160x48", render(&mut app, 160, 48, t(7)));
}

/// The help at 80x24 and 160x40: whole, every word intact (the box's lines are checked
/// against the help text, not against the screen behind it).
#[test]
fn help_fits_80x24_and_160x40() {
    let mut app = monitored(2);
    key(&mut app, KeyCode::Char('?'));
    for (w, h) in [(80u16, 24u16), (160, 40)] {
        let screen = render(&mut app, w, h, t(7));
        insta::assert_snapshot!(format!("help_{w}x{h}"), screen.clone());
        let rows: Vec<&str> = screen.lines().collect();
        let top = rows
            .iter()
            .position(|l| l.contains("┌ netdx keys"))
            .unwrap();
        let bottom = rows
            .iter()
            .position(|l| l.contains("any key closes this help"))
            .unwrap();
        let left = rows[top].chars().position(|c| c == '┌').unwrap();
        let inside: Vec<String> = rows[top + 1..bottom]
            .iter()
            .map(|l| l.chars().skip(left + 1).take_while(|c| *c != '│').collect())
            .collect();
        let words: Vec<&str> = inside.iter().flat_map(|l| l.split_whitespace()).collect();
        for (k, what) in netdx::ui::render::HELP {
            for word in k.split_whitespace().chain(what.split_whitespace()) {
                assert!(words.contains(&word), "{word:?} cut at {w}x{h}:\n{screen}");
            }
        }
    }
}

#[test]
fn narrow_80x24() {
    let mut app = monitored(6);
    web_ports(&mut app, 16);
    select(&mut app, "10.77.0.20");
    insta::assert_snapshot!("narrow_detail_80x24", render(&mut app, 80, 24, t(17)));
    app.pane = Pane::Dns;
    insta::assert_snapshot!("narrow_dns_80x24", render(&mut app, 80, 24, t(17)));
    app.pane = Pane::Events;
    insta::assert_snapshot!("narrow_events_80x24", render(&mut app, 80, 24, t(17)));
}

/// DNS sanity findings show in the DNS pane (after the answers) and in the event log.
#[test]
fn dns_pane_marks_sanity_findings() {
    let mut app = new_app();
    let lab = start_sweep(&mut app);
    sweep_replies(&mut app, &lab, HOSTS.len());
    app.dash.apply(
        lab.sweep,
        ScanEvent::Dns(DnsResult {
            name: "dangling.lab.test".into(),
            rtype: RecordType::A,
            status: DnsStatus::NoError,
            answers: vec![DnsAnswer {
                rtype: "CNAME".into(),
                value: "gone.lab.test.".into(),
                ttl: 60,
            }],
            server: Some("10.77.0.53:53".into()),
            rtt_ms: Some(0.5),
            error: None,
            findings: vec![DnsFinding {
                kind: DnsFindingKind::Dangling,
                text: "dangling.lab.test is an alias (CNAME) of gone.lab.test, which does not \
                       exist: a dangling record."
                    .into(),
            }],
        }),
        t(2),
    );
    finish_sweep(&mut app, &lab);
    app.pane = Pane::Dns;
    let screen = render(&mut app, 160, 48, t(3));
    assert!(screen.contains("NOERROR  ⚠ dangling"), "{screen}");
    app.pane = Pane::Events;
    let screen = render(&mut app, 160, 48, t(3));
    assert!(
        screen.contains("dangling: dangling.lab.test is an alias"),
        "{screen}"
    );
}

/// A diagnosis recorded in the lab (tests/fixtures/diagnose), as a round started at `t(at)`.
fn diagnosis(name: &str, at: i64) -> Diagnosis {
    let path = format!(
        "{}/tests/fixtures/diagnose/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut d: Diagnosis = serde_json::from_str(&text).expect("a diagnosis");
    d.started = t(at);
    d.finished = d.started;
    d
}

/// What the event loop does with a round: fold it in, log its transition.
fn diagnosis_round(app: &mut App, d: Diagnosis, now: Timestamp) {
    if let Some(tr) = app.diagnose.apply(d) {
        let (at, kind, text) = diagnose_view::log_line(&tr, now);
        app.dash.log_earlier(at, kind, text);
    }
}

#[test]
fn diagnose_view_in_the_dashboard() {
    let mut app = monitored(3);
    key(&mut app, KeyCode::Char('D'));
    assert_eq!(app.view, View::Diagnose);
    // Opened, before the first round ends.
    let screen = render(&mut app, 160, 48, t(9));
    assert!(screen.contains("No diagnosis yet"), "{screen}");
    // Healthy at 10 s, the WAN path cut at its second router from 12 s.
    diagnosis_round(&mut app, diagnosis("ratelimited", 10), t(11));
    diagnosis_round(&mut app, diagnosis("blackhole", 12), t(13));
    let screen = render(&mut app, 160, 48, t(13));
    assert!(screen.contains("failing layer: WAN path"), "{screen}");
    assert!(
        screen.contains("09:30:12 ▼ diagnosis: WAN path outage began (✖ DOWN)"),
        "{screen}"
    );
    assert!(screen.lines().next().unwrap().contains("Gateway ✔ OK"));
    insta::assert_snapshot!("diagnose_outage_160x48", screen);
    insta::assert_snapshot!("diagnose_outage_80x24", render(&mut app, 80, 24, t(13)));
    // Back to the hosts: the table and its panes again, the log keeps the outage.
    key(&mut app, KeyCode::Esc);
    let screen = render(&mut app, 160, 48, t(14));
    assert!(screen.contains("┌ Hosts"), "{screen}");
    assert!(
        screen.contains("diagnosis: WAN path outage began"),
        "{screen}"
    );
}

/// A four-line verdict at 80x24: wrapped at word boundaries, whole, the tables below giving
/// up rows before it loses one.
#[test]
fn diagnose_verdict_wraps_at_80_columns() {
    let mut app = monitored(3);
    key(&mut app, KeyCode::Char('D'));
    let d = diagnosis("ratelimited", 10);
    let verdict = d.verdict.clone();
    diagnosis_round(&mut app, d, t(11));
    let screen = render(&mut app, 80, 24, t(11));
    insta::assert_snapshot!("diagnose_verdict_80x24", screen.clone());
    let rows: Vec<&str> = screen.lines().collect();
    let top = rows.iter().position(|l| l.contains("┌ Diagnose")).unwrap();
    let end = rows[top..].iter().position(|l| l.contains('└')).unwrap() + top;
    let inside: String = rows[top + 1..end]
        .iter()
        .map(|l| l.trim_matches('"').trim_matches('│').trim())
        .collect::<Vec<_>>()
        .join(" ");
    let words: Vec<&str> = inside.split_whitespace().collect();
    let want: Vec<&str> = verdict.split_whitespace().collect();
    assert!(
        words.windows(want.len()).any(|w| w == want.as_slice()),
        "the verdict is not whole:\n{screen}"
    );
}

/// One scale for the latency column: a LAN host jittering by 0.1 ms around 0.3 ms stays low
/// and flat, a host steady at 200 ms fills its cells; the column title names the scale.
#[test]
fn sparklines_share_one_scale_per_column() {
    let mut app = new_app();
    let (lan, far) = ("10.77.0.20", "10.77.0.21");
    let id = app.dash.begin(
        JobKind::Sweep {
            targets: vec!["10.77.0.20-21".into()],
        },
        &[],
        t(0),
    );
    app.dash.apply(
        id,
        ScanEvent::Planned {
            hosts: 2,
            ports_per_host: 0,
        },
        t(0),
    );
    app.dash
        .apply(id, ScanEvent::Targets(vec![ip(lan), ip(far)]), t(0));
    app.dash.apply(id, icmp(lan, 1, &[300]), t(0));
    app.dash.apply(id, icmp(far, 1, &[200_000]), t(0));
    app.dash
        .apply(id, ScanEvent::Finished { interrupted: false }, t(1));
    for n in 1..=9u64 {
        let plan = app.dash.round_plan(true);
        let r = app.dash.begin(
            JobKind::Round { number: n },
            &plan.addresses(),
            t(2 * n as i64),
        );
        let jitter = if n % 2 == 0 { 400 } else { 300 };
        app.dash.apply(r, icmp(lan, 1, &[jitter]), t(2 * n as i64));
        app.dash.apply(r, icmp(far, 1, &[200_000]), t(2 * n as i64));
        app.dash.apply(
            r,
            ScanEvent::Finished { interrupted: false },
            t(2 * n as i64),
        );
    }
    let screen = render(&mut app, 120, 20, t(19));
    insta::assert_snapshot!("sparklines_120x20", screen.clone());
    let row = |addr: &str| -> String {
        screen
            .lines()
            .find(|l| l.contains(&format!("│{addr} ")))
            .unwrap_or_else(|| panic!("{addr} not shown:\n{screen}"))
            .to_string()
    };
    assert!(
        screen.contains("≤200 ms"),
        "the scale in the title:\n{screen}"
    );
    assert!(row(far).contains("██████████"), "{screen}");
    assert!(row(lan).contains("▁▁▁▁▁▁▁▁▁▁"), "{screen}");
}

#[test]
fn filter_prompt_with_cursor() {
    let mut app = monitored(2);
    key(&mut app, KeyCode::Char('/'));
    for c in "lab.tst".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Left);
    key(&mut app, KeyCode::Left);
    key(&mut app, KeyCode::Char('e'));
    key(&mut app, KeyCode::End);
    for c in " up".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    assert_eq!(
        app.table.filter, "lab.test up",
        "the filter follows the typing"
    );
    let mut term = Terminal::new(TestBackend::new(120, 30)).unwrap();
    app.size = Rect::new(0, 0, 120, 30);
    app.prepare(t(7));
    term.draw(|f| render::draw(f, &app)).unwrap();
    // The cursor sits after the typed text in the prompt line.
    let label = "Filter (text, up, down, :PORT): ";
    let pos = term.get_cursor_position().unwrap();
    assert_eq!(
        (pos.x, pos.y),
        ((label.len() + "lab.test up".len()) as u16, 29)
    );
    insta::assert_snapshot!("filter_prompt_120x30", term.backend().to_string());
}

#[test]
fn resolve_and_port_prompts_show_errors_in_place() {
    let mut app = monitored(1);
    select(&mut app, "10.77.0.20");
    key(&mut app, KeyCode::Char('p'));
    key(&mut app, KeyCode::End);
    for c in ",70000".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    let screen = render(&mut app, 160, 48, t(5));
    let footer = screen.lines().last().unwrap();
    assert!(footer.contains("Ports to scan on 10.77.0.20"), "{footer}");
    assert!(footer.contains("top100,70000"), "{footer}");
    assert!(footer.contains("70000"), "{footer}");
    insta::assert_snapshot!("ports_prompt_error_footer", footer);
}

#[test]
fn no_color_means_no_colour_at_all() {
    let draw = |theme: Theme| {
        let mut app = monitored(8);
        app.settings.theme = theme;
        round(&mut app, 9, 20, &["10.77.0.25"]);
        key(&mut app, KeyCode::Char('?'));
        let mut term = Terminal::new(TestBackend::new(160, 48)).unwrap();
        app.size = Rect::new(0, 0, 160, 48);
        app.prepare(t(21));
        term.draw(|f| render::draw(f, &app)).unwrap();
        term.backend().buffer().clone()
    };
    let mono = draw(Theme::MONO);
    let coloured = |c: &ratatui::buffer::Cell| c.fg != Color::Reset || c.bg != Color::Reset;
    assert!(
        !mono.content.iter().any(coloured),
        "a cell has a colour under NO_COLOR"
    );
    let color = draw(Theme::COLOR);
    assert!(color.content.iter().any(coloured));
    // Same text either way: states read from symbols and words.
    let text =
        |b: &ratatui::buffer::Buffer| -> String { b.content.iter().map(|c| c.symbol()).collect() };
    assert_eq!(text(&mono), text(&color));
}

#[test]
fn hostile_names_never_reach_the_screen_raw() {
    let mut app = new_app();
    let lab = start_sweep(&mut app);
    app.dash
        .apply(lab.sweep, icmp("10.77.0.99", 1, &[500]), t(1));
    for ev in ptr("10.77.0.99", Some("evil\u{1b}[2J\u{7}\nname.lab.test"), 1.0) {
        app.dash.apply(lab.sweep, ev, t(1));
    }
    select(&mut app, "10.77.0.99");
    let screen = render(&mut app, 160, 48, t(1));
    assert!(
        !screen.chars().any(|c| c.is_control() && c != '\n'),
        "{screen:?}"
    );
    assert!(screen.contains("evil\u{FFFD}[2J\u{FFFD}\u{FFFD}name.lab.test"));
}

#[test]
fn large_table_shows_only_its_window() {
    let mut app = new_app();
    let id = app.dash.begin(
        JobKind::Sweep {
            targets: vec!["10.0.0.0/16".into()],
        },
        &[],
        t(0),
    );
    let all: Vec<IpAddr> = (0..65_536u32)
        .map(|i| IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i)))
        .collect();
    app.dash.apply(id, ScanEvent::Targets(all.clone()), t(0));
    for a in &all {
        app.dash.apply(
            id,
            ScanEvent::Icmp(IcmpOutcome {
                ip: *a,
                sent: 1,
                received: 1,
                rtts: vec![Duration::from_micros(500)],
            }),
            t(1),
        );
    }
    app.dash
        .apply(id, ScanEvent::Finished { interrupted: false }, t(1));
    app.size = Rect::new(0, 0, 160, 48);
    app.prepare(t(2));
    key(&mut app, KeyCode::End);
    let screen = render(&mut app, 160, 48, t(2));
    assert!(
        screen.contains("Hosts 65536 shown of 65536 addresses"),
        "{screen}"
    );
    assert!(screen.contains("65508-65536"), "{screen}");
    assert!(screen.contains("10.0.255.255"), "{screen}");
    assert!(!screen.contains("10.0.0.1 "), "{screen}");
    key(&mut app, KeyCode::PageUp);
    let screen = render(&mut app, 160, 48, t(2));
    assert!(screen.contains("65506-65534"), "{screen}");
    assert!(screen.contains("┌ 10.0.255.227 "), "{screen}");
}

/// Issue 9's words on the dashboard: an address that never answered is "no answer", not
/// "down"; a host found by ARP that drops pings says "ping blocked", not 100 % loss.
#[test]
fn silent_rows_say_no_answer_and_arp_only_hosts_ping_blocked() {
    let mut app = monitored(3);
    key(&mut app, KeyCode::Char('h'));
    let screen = render(&mut app, 160, 48, t(10));
    let silent_rows: Vec<&str> = screen
        .lines()
        .filter(|l| l.contains("│10.77.0.3 "))
        .collect();
    assert_eq!(silent_rows.len(), 1, "{screen}");
    assert!(silent_rows[0].contains("no answer"), "{screen}");
    assert!(!screen.contains("▼ down"), "{screen}");
    select(&mut app, "10.77.0.33");
    let screen = render(&mut app, 160, 48, t(10));
    assert!(screen.contains("ping blocked"), "{screen}");
    assert!(!screen.contains("100.0% of"), "{screen}");
}

/// A LAN check with a rogue DHCP server, a clean ARP watch, one router and an unrun switch
/// check: what the Alerts view shows under the changes.
fn lan_report() -> netdx::core::lan::LanReport {
    use netdx::core::alert::{Alert, AlertKind};
    use netdx::core::lan::*;
    let offer = |server: &str, offered: &str, mac: u8| DhcpOffer {
        server: server.parse().unwrap(),
        server_mac: Some(MacAddr([0x02, 0, 0, 0, 0, mac])),
        vendor: None,
        offered: offered.parse().unwrap(),
        subnet_mask: Some("255.255.255.0".parse().unwrap()),
        routers: vec![server.parse().unwrap()],
        dns: vec!["10.77.0.53".parse().unwrap()],
        domain: None,
        lease_s: Some(3600),
        rtt_ms: Some(2.0),
        rogue: mac == 0x66,
    };
    LanReport {
        interface: "eth0".into(),
        started_at: None,
        duration_ms: 5100,
        dhcp: DhcpCheck {
            status: CheckStatus::Done,
            offers: vec![
                offer("10.77.0.1", "10.77.0.120", 1),
                offer("10.77.0.66", "10.77.0.200", 0x66),
            ],
        },
        duplicates: DuplicateCheck {
            status: CheckStatus::Done,
            probed: 254,
            duplicates: vec![],
            note: None,
        },
        arp_watch: ArpWatch {
            status: CheckStatus::Done,
            gateway: Some("10.77.0.1".parse().unwrap()),
            gateway_mac: Some(MacAddr([0, 0, 0x0c, 0x77, 0, 1])),
            claims: vec![],
        },
        routers: RaCheck {
            status: CheckStatus::Done,
            routers: vec![],
        },
        switch: SwitchCheck {
            status: CheckStatus::Skipped {
                reason: "needs CAP_NET_RAW".into(),
            },
            listened_s: 0.0,
            ports: vec![],
        },
        alerts: vec![
            Alert::new(
                AlertKind::RogueDhcp,
                "rogue DHCP server 10.77.0.66 offers 10.77.0.200 with router 10.77.0.66",
            )
            .with_ip("10.77.0.66".parse().unwrap()),
        ],
    }
}

#[test]
fn alerts_view_lists_changes_and_lan_checks() {
    let mut app = monitored(2);
    // Round 3: the printer answers from another MAC and a device appears at an address the
    // sweep asked and heard nothing from.
    let plan = app.dash.round_plan(true);
    let id = app
        .dash
        .begin(JobKind::Round { number: 3 }, &plan.addresses(), t(30));
    for (addr, _, mac, _) in HOSTS {
        let mac = if addr.ends_with(".70") {
            [0x02, 0, 0, 0, 0, 0x66]
        } else {
            *mac
        };
        app.dash.apply(id, arp(addr, mac, 140), t(30));
    }
    app.dash.apply(
        id,
        arp("10.77.0.23", [0xb8, 0x27, 0xeb, 0, 0, 1], 300),
        t(30),
    );
    app.dash
        .apply(id, ScanEvent::Finished { interrupted: false }, t(31));
    let kinds: Vec<&str> = app.dash.alerts.iter().map(|a| a.kind.as_str()).collect();
    assert_eq!(
        kinds,
        vec!["new_device", "mac_changed"],
        "{:?}",
        app.dash.alerts
    );
    app.dash.apply_lan(lan_report(), t(40));
    let screen = render(&mut app, 120, 40, t(41));
    assert!(screen.contains("⚠ 3 alerts (A)"), "{screen}");
    key(&mut app, KeyCode::Char('A'));
    assert_eq!(app.view, View::Alerts);
    assert_eq!(app.dash.alerts_unseen, 0);
    insta::assert_snapshot!("alerts_view_120x40", render(&mut app, 120, 40, t(41)));
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.view, View::Hosts);
    assert!(!render(&mut app, 120, 40, t(42)).contains("alerts (A)"));
    // An export carries the alerts and the LAN check.
    let r = app.dash.export_report(t(43));
    assert_eq!(r.alerts.len(), 3);
    assert_eq!(r.lan.as_ref().map(|l| l.dhcp.offers.len()), Some(2));
}

/// The main view in `theme`: web ports known, one host down for three rounds and selected
/// (its detail shows), so up, down, open/closed, alerts and the header's states are all on it.
fn main_view(theme: Theme) -> ratatui::buffer::Buffer {
    let mut app = monitored(5);
    app.settings.theme = theme;
    web_ports(&mut app, 11);
    for n in 6..=8 {
        round(&mut app, n, 2 + 2 * n as i64, &["10.77.0.20", "10.77.0.1"]);
    }
    select(&mut app, "10.77.0.20");
    let mut term = Terminal::new(TestBackend::new(120, 30)).unwrap();
    app.size = Rect::new(0, 0, 120, 30);
    app.prepare(t(19));
    term.draw(|f| render::draw(f, &app)).unwrap();
    term.backend().buffer().clone()
}

fn buffer_text(b: &ratatui::buffer::Buffer) -> String {
    let w = b.area.width as usize;
    b.content
        .chunks(w)
        .map(|row| row.iter().map(|c| c.symbol()).collect::<String>() + "\n")
        .collect()
}

/// Mono: not one cell has a foreground or background colour, and every state reads as a
/// word or a symbol (the snapshot keeps the styles: bold and reversed only).
#[test]
fn mono_theme_main_view_has_no_colour_and_words_for_every_state() {
    let b = main_view(Theme::MONO);
    let coloured: Vec<_> = b
        .content
        .iter()
        .filter(|c| c.fg != Color::Reset || c.bg != Color::Reset)
        .map(|c| (c.symbol().to_string(), c.fg, c.bg))
        .collect();
    assert!(coloured.is_empty(), "coloured cells: {coloured:?}");
    let text = buffer_text(&b);
    for word in ["▲ up", "▼ down", "DOWN", "open", "closed"] {
        assert!(text.contains(word), "mono lacks {word:?}:\n{text}");
    }
    insta::assert_debug_snapshot!("main_mono_120x30", b);
}

/// Light: colours that read on a white background; no yellow, cyan, white or grey text
/// (light on light), no background colours, and the same text as the dark theme.
#[test]
fn light_theme_main_view_has_no_light_on_light() {
    let b = main_view(Theme::LIGHT);
    let light = [
        Color::Yellow,
        Color::LightYellow,
        Color::Cyan,
        Color::LightCyan,
        Color::White,
        Color::Gray,
        Color::LightGreen,
        Color::LightBlue,
        Color::LightMagenta,
        Color::LightRed,
    ];
    let bad: Vec<_> = b
        .content
        .iter()
        .filter(|c| light.contains(&c.fg) || c.bg != Color::Reset)
        .map(|c| (c.symbol().to_string(), c.fg, c.bg))
        .collect();
    assert!(bad.is_empty(), "light-on-light cells: {bad:?}");
    assert!(
        b.content.iter().any(|c| c.fg != Color::Reset),
        "light has colours"
    );
    assert_eq!(buffer_text(&b), buffer_text(&main_view(Theme::DARK)));
    insta::assert_debug_snapshot!("main_light_120x30", b);
}
