//! Dashboard performance figures (prints them; asserts nothing about time):
//!
//! 1. one frame with 65,536 hosts in the table (TestBackend 160x48): median / p99 / max over
//!    scrolling frames, plus the cost of rebuilding the sorted view when the data changed;
//! 2. start to first frame: the real `netdx` binary with no targets (it sends nothing) in a
//!    tmux pane, timed until its screen appears, minus tmux's own start-up;
//! 3. idle CPU with 254 monitored hosts: the real loop on a real terminal (tmux) with a
//!    scripted prober answering 254 hosts every 2 s round, from /proc/<pid>/stat over 10 s;
//!    and, as root, the real binary monitoring the namespace lab (engine included).
//!
//! `cargo bench --bench ui_perf` (`-- --quick` for fewer repetitions). Parts 2 and 3 need tmux.

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use netdx::core::event::{ArpOutcome, IcmpOutcome, ScanEvent};
use netdx::core::model::{MacAddr, ScanParameters};
use netdx::net::sys::netinfo::{Gateway, Interface, LinkState, LocalContext};
use netdx::ui::app::{App, Command as UiCommand, Settings};
use netdx::ui::prober::{JobSpec, Prober};
use netdx::ui::runner::{self, Exit, Inputs};
use netdx::ui::state::{Dashboard, JobKind, Timestamp};
use netdx::ui::table::Column;
use netdx::ui::theme::Theme;
use netdx::ui::{render, term};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const CHILD_ENV: &str = "NETDX_UI_IDLE_CHILD";
const PID_ENV: &str = "NETDX_UI_IDLE_PIDFILE";

fn main() {
    if std::env::var_os(CHILD_ENV).is_some() {
        idle_child();
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick");
    println!(
        "netdx dashboard benchmarks{}",
        if quick { " (quick)" } else { "" }
    );
    render_65536(if quick { 100 } else { 500 });
    if !tmux_available() {
        println!("SKIPPED (needs tmux): start-up and idle CPU figures");
        return;
    }
    startup(if quick { 5 } else { 15 });
    idle_synthetic();
    idle_lab();
}

fn now() -> Timestamp {
    Timestamp::from_unix_timestamp(1_736_847_000).unwrap()
}

fn context() -> LocalContext {
    LocalContext {
        interfaces: vec![Interface {
            name: "eth0".into(),
            mac: None,
            addrs: vec!["10.0.0.10/16".parse().unwrap()],
            link: LinkState::Up,
            loopback: false,
        }],
        gateways: vec![Gateway {
            ip: "10.0.0.1".parse().unwrap(),
            iface: "eth0".into(),
            metric: 0,
        }],
        ..LocalContext::default()
    }
}

fn stats(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort();
    let p99 = v[(v.len() * 99 / 100).min(v.len() - 1)];
    (v[v.len() / 2], p99, v[v.len() - 1])
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

// --- 1. render ---------------------------------------------------------------------------

/// A /16 where every host answered: MAC, name, a few rounds of samples each.
fn big_dashboard() -> Dashboard {
    let mut d = Dashboard::new(context(), ScanParameters::default());
    let ips: Vec<IpAddr> = (0..65_536u32)
        .map(|i| IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i)))
        .collect();
    for round in 0..4u64 {
        let kind = if round == 0 {
            JobKind::Sweep {
                targets: vec!["10.0.0.0/16".into()],
            }
        } else {
            JobKind::Round { number: round }
        };
        let watch: Vec<IpAddr> = if round == 0 { vec![] } else { ips.clone() };
        let id = d.begin(kind, &watch, now());
        if round == 0 {
            d.apply(id, ScanEvent::Targets(ips.clone()), now());
        }
        for (i, ip) in ips.iter().enumerate() {
            let us = 200 + ((i as u64 * 7919 + round * 104_729) % 5000);
            d.apply(
                id,
                ScanEvent::Icmp(IcmpOutcome {
                    ip: *ip,
                    sent: 3,
                    received: if i % 17 == 0 { 2 } else { 3 },
                    rtts: vec![Duration::from_micros(us); 2],
                }),
                now(),
            );
            if round == 0 {
                let IpAddr::V4(v4) = ip else { unreachable!() };
                let o = v4.octets();
                d.apply(
                    id,
                    ScanEvent::Arp(ArpOutcome {
                        ip: *v4,
                        mac: MacAddr([0x00, 0x50, 0x56, o[1], o[2], o[3]]),
                        rtt: Duration::from_micros(150),
                    }),
                    now(),
                );
                d.apply(
                    id,
                    ScanEvent::Hostname {
                        ip: *ip,
                        name: Some(format!("host-{}-{}.corp.example", o[2], o[3])),
                    },
                    now(),
                );
            }
        }
        d.apply(id, ScanEvent::Finished { interrupted: false }, now());
    }
    d
}

fn render_65536(frames: usize) {
    let t0 = Instant::now();
    let dash = big_dashboard();
    let built = t0.elapsed();
    let settings = Settings {
        theme: Theme::COLOR,
        ..Settings::default()
    };
    let mut app = App::new(dash, settings, now());
    app.size = Rect::new(0, 0, 160, 48);
    let mut term = Terminal::new(TestBackend::new(160, 48)).unwrap();

    let t = Instant::now();
    app.prepare(now());
    let first_prepare = t.elapsed();
    term.draw(|f| render::draw(f, &app)).unwrap();

    // Steady state: the selection moves one row per frame (smooth scrolling through the
    // middle of the table), so every frame differs from the one before.
    let rows = app.table_rows();
    app.table.select(30_000, rows);
    let mut times = Vec::with_capacity(frames);
    for _ in 0..frames {
        app.table.move_by(1, rows);
        let t = Instant::now();
        app.prepare(now());
        term.draw(|f| render::draw(f, &app)).unwrap();
        times.push(t.elapsed());
    }
    let (med, p99, max) = stats(times);
    println!(
        "render, 65,536 hosts, 160x48, scrolling: median {} · p99 {} · max {}  (target < 5 ms)",
        ms(med),
        ms(p99),
        ms(max)
    );

    // Data changed (a round landed): the view is rebuilt once, then the frame drawn.
    let rebuild = |app: &mut App, term: &mut Terminal<TestBackend>, label: &str, col: Column| {
        app.table.sort = col;
        app.table.descending = false;
        let mut times = Vec::new();
        for i in 0..20 {
            app.dash.generation += 1;
            // A second later each time, so the throttle lets every rebuild through.
            let at = now() + Duration::from_secs(10 + i);
            let t = Instant::now();
            app.prepare(at);
            term.draw(|f| render::draw(f, app)).unwrap();
            times.push(t.elapsed());
        }
        let (med, _, max) = stats(times);
        println!(
            "frame with a rebuild after a data change (≤ 2/s above 5,000 hosts; sort by {label}): median {} · max {}",
            ms(med),
            ms(max)
        );
    };
    rebuild(&mut app, &mut term, "IP", Column::Ip);
    rebuild(&mut app, &mut term, "RTT", Column::Rtt);
    app.table.set_filter("corp.example up");
    rebuild(
        &mut app,
        &mut term,
        "IP, filter \"corp.example up\"",
        Column::Ip,
    );
    app.table.set_filter("");
    println!(
        "(building the 65,536-host state from 327,680 events: {}; first prepare: {})",
        ms(built),
        ms(first_prepare)
    );
}

// --- tmux helpers ------------------------------------------------------------------------

fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux").args(args).output().expect("tmux");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

struct Session(String);

impl Session {
    fn start(name: &str, cwd: &Path, cmd: &str) -> Session {
        let s = Session(name.to_string());
        let _ = tmux(&["kill-session", "-t", name]);
        tmux(&[
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            "160",
            "-y",
            "48",
            "-c",
            cwd.to_str().unwrap(),
            cmd,
        ]);
        s
    }

    fn screen(&self) -> String {
        tmux(&["capture-pane", "-p", "-t", &self.0])
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = tmux(&["kill-session", "-t", &self.0]);
    }
}

/// Time from asking tmux to start `cmd` until the pane shows `marker`.
fn time_to_screen(cmd: &str, marker: &str) -> Option<Duration> {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("netdx-bench-{}", std::process::id());
    let start = Instant::now();
    let s = Session::start(&name, dir.path(), cmd);
    while start.elapsed() < Duration::from_secs(10) {
        if s.screen().contains(marker) {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    None
}

// --- 2. start-up -------------------------------------------------------------------------

fn startup(runs: usize) {
    let bin = env!("CARGO_BIN_EXE_netdx");
    let mut base = Vec::new();
    let mut netdx = Vec::new();
    for _ in 0..runs {
        if let Some(t) = time_to_screen("printf READY; exec sleep 30", "READY") {
            base.push(t);
        }
        // No targets: netdx reads the local context and sends nothing.
        if let Some(t) = time_to_screen(&format!("exec {bin}"), "Local network") {
            netdx.push(t);
        }
    }
    if base.is_empty() || netdx.is_empty() {
        println!("start to first frame: could not be measured (tmux did not show the screen)");
        return;
    }
    let (b, _, _) = stats(base);
    let (n, _, nmax) = stats(netdx);
    println!(
        "start to first frame: {} (tmux + netdx {} median, {} max; tmux alone {})  (target < 100 ms)",
        ms(n.saturating_sub(b)),
        ms(n),
        ms(nmax),
        ms(b)
    );
}

// --- 3. idle CPU -------------------------------------------------------------------------

/// CPU time (user + system) of `pid` in seconds, from /proc/<pid>/stat.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(") ")?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Fields after the command: state is index 0, utime 11, stime 12 (man 5 proc).
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    let hz = 100.0; // USER_HZ on Linux
    Some((utime + stime) / hz)
}

fn measure_idle(pid: u32, warmup: Duration, window: Duration) -> Option<f64> {
    std::thread::sleep(warmup);
    let a = cpu_seconds(pid)?;
    let t = Instant::now();
    std::thread::sleep(window);
    let b = cpu_seconds(pid)?;
    Some((b - a) / t.elapsed().as_secs_f64() * 100.0)
}

fn wait_pidfile(path: &Path) -> Option<u32> {
    for _ in 0..500 {
        if let Ok(s) = std::fs::read_to_string(path)
            && let Ok(pid) = s.trim().parse()
        {
            return Some(pid);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

fn idle_synthetic() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let exe = std::env::current_exe().unwrap();
    let cmd = format!(
        "{CHILD_ENV}=1 {PID_ENV}={} exec {}",
        pidfile.display(),
        exe.display()
    );
    let name = format!("netdx-idle-{}", std::process::id());
    let session = Session::start(&name, dir.path(), &cmd);
    let Some(pid) = wait_pidfile(&pidfile) else {
        println!("idle CPU (synthetic): child did not start");
        return;
    };
    match measure_idle(pid, Duration::from_secs(4), Duration::from_secs(10)) {
        Some(pct) => {
            let screen = session.screen();
            let ok = screen.contains("254 up");
            println!(
                "idle CPU, 254 monitored hosts, 2 s rounds, real loop + terminal, scripted probes: {pct:.2} % of one core{}  (target < 2 %)",
                if ok {
                    ""
                } else {
                    " (WARNING: 254 hosts not on screen)"
                }
            );
        }
        None => println!("idle CPU (synthetic): could not read /proc/{pid}/stat"),
    }
    drop(session);
}

fn idle_lab() {
    if !common::require_root("ui_perf idle CPU in the lab") {
        return;
    }
    let lab = common::Lab::up();
    let dir = tempfile::tempdir().unwrap();
    let pidfile: PathBuf = dir.path().join("pid");
    let bin = env!("CARGO_BIN_EXE_netdx");
    let lan = lab.info().lan.ipv4.clone();
    // `ip netns exec` execs netdx, so the pane's process is netdx itself.
    let cmd = format!(
        "echo $$ > {}; exec ip netns exec {} {bin} {lan}",
        pidfile.display(),
        lab.scanner_ns()
    );
    let name = format!("netdx-idle-lab-{}", std::process::id());
    let session = Session::start(&name, dir.path(), &cmd);
    let Some(pid) = wait_pidfile(&pidfile) else {
        println!("idle CPU (lab): netdx did not start");
        return;
    };
    let pct = measure_idle(pid, Duration::from_secs(5), Duration::from_secs(10));
    let screen = session.screen();
    let watched = screen
        .lines()
        .find(|l| l.contains("● monitoring"))
        .and_then(|l| l.split("monitoring ").nth(1))
        .and_then(|r| r.split(' ').next())
        .unwrap_or("?")
        .to_string();
    match pct {
        Some(pct) => println!(
            "idle CPU, real netdx monitoring the lab ({lan}, {watched} watched hosts, ICMP+ARP every 2 s, engine included): {pct:.2} % of one core"
        ),
        None => println!("idle CPU (lab): could not read /proc/{pid}/stat"),
    }
    drop(session);
}

/// Answers every job after a simulated 1 s ICMP window: all targets up.
struct AllUp;

impl Prober for AllUp {
    fn start(
        &self,
        job: JobSpec,
        tx: mpsc::Sender<ScanEvent>,
        cancel: CancellationToken,
    ) -> Result<(), String> {
        let targets: Vec<IpAddr> = match &job {
            JobSpec::Scan { .. } => (1..=254u8)
                .map(|i| IpAddr::V4(Ipv4Addr::new(10, 99, 0, i)))
                .collect(),
            JobSpec::Round(plan) => plan.addresses(),
            _ => Vec::new(),
        };
        tokio::spawn(async move {
            let _ = tx.send(ScanEvent::Targets(targets.clone())).await;
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = cancel.cancelled() => {
                    let _ = tx.send(ScanEvent::Finished { interrupted: true }).await;
                    return;
                }
            }
            for (i, ip) in targets.iter().enumerate() {
                let us = 300 + (i as u64 * 37) % 900;
                let _ = tx
                    .send(ScanEvent::Icmp(IcmpOutcome {
                        ip: *ip,
                        sent: 5,
                        received: 5,
                        rtts: vec![Duration::from_micros(us); 5],
                    }))
                    .await;
            }
            let _ = tx.send(ScanEvent::Finished { interrupted: false }).await;
        });
        Ok(())
    }
}

/// The child of [`idle_synthetic`]: the real loop on the real (tmux) terminal.
fn idle_child() {
    if let Some(p) = std::env::var_os(PID_ENV) {
        let _ = std::fs::File::create(p).and_then(|mut f| write!(f, "{}", std::process::id()));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut app = App::new(
        Dashboard::new(context(), ScanParameters::default()),
        Settings {
            theme: Theme::from_env(),
            ..Settings::default()
        },
        Timestamp::now_utc(),
    );
    let result = rt.block_on(async {
        let mut terminal = term::setup()?;
        let _guard = term::Guard;
        let input = term::spawn_input_reader()?;
        let shutdown = async {
            let mut s =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).unwrap();
            s.recv().await;
            Exit::Signal(15)
        };
        let inputs = Inputs {
            terminal: input,
            prober: Arc::new(AllUp),
            clock: Box::new(Timestamp::now_utc),
            shutdown: Box::pin(shutdown),
        };
        // Three hundred targets would not all be watched; 254 answering ones are.
        let initial = UiCommand::Scan {
            targets: vec!["10.99.0.0/24".into()],
        };
        runner::run(&mut terminal, &mut app, inputs, Some(initial)).await
    });
    term::restore();
    rt.shutdown_background();
    if let Err(e) = result {
        eprintln!("idle child: {e}");
    }
}
