//! The dashboard's event loop, driven end to end without a network or a terminal: a scripted
//! prober answers jobs (and diagnosis rounds, from diagnoses recorded in the lab), key presses
//! come through the input channel, the screen is a `TestBackend`, and time is tokio's paused
//! clock (no wall-clock sleeps).

use std::collections::HashSet;
use std::io;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use netdx::core::event::{IcmpOutcome, ScanEvent};
use netdx::core::model::ScanParameters;
use netdx::diagnose::Diagnosis;
use netdx::net::sys::netinfo::{Gateway, Interface, LinkState, LocalContext};
use netdx::ui::app::{App, Command, Settings, View};
use netdx::ui::health::{GatewayCheck, HeaderCheck, ResolverCheck, WanCheck, WanTarget};
use netdx::ui::prober::{DiagnoseSpec, JobSpec, Prober};
use netdx::ui::runner::{self, Exit, Inputs};
use netdx::ui::state::{Dashboard, LogKind, Timestamp};
use netdx::ui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Answers every job at once from a shared set of hosts that are "up".
#[derive(Default)]
struct Script {
    up: Mutex<HashSet<IpAddr>>,
    jobs: Mutex<Vec<JobSpec>>,
    /// Scans hang until cancelled (to test that quitting stops probes).
    hang: AtomicBool,
    cancelled: AtomicBool,
    /// Extra ICMP events per scan, to flood the loop.
    flood: usize,
    /// Diagnosis rounds, in order (the last one repeats); each takes 300 ms of virtual time
    /// and is stamped with the harness clock at its start.
    diagnoses: Vec<Diagnosis>,
    diagnose_specs: Mutex<Vec<DiagnoseSpec>>,
    /// Diagnosis rounds sent so far (over every visit).
    diagnosed: AtomicUsize,
    /// Diagnosis tasks that saw their cancellation.
    diagnose_cancelled: AtomicUsize,
    /// The harness clock's origin.
    epoch: OnceLock<tokio::time::Instant>,
    /// Header checks, in order (the last one repeats), 200 ms of virtual time each; none:
    /// the prober refuses header checks, as a plain prober does.
    headers: Vec<HeaderCheck>,
    /// Header checks started so far, with the harness time of their starts (ms).
    header_starts: Mutex<Vec<u128>>,
    /// Told each time a scripted scan has sent its `Finished` (a permit is kept when nobody
    /// waits yet, so none is missed).
    finished: tokio::sync::Notify,
}

impl Script {
    fn clock(&self) -> Timestamp {
        base() + (tokio::time::Instant::now() - *self.epoch.get().expect("harness started"))
    }
}

struct FakeProber(Arc<Script>);

impl Prober for FakeProber {
    fn start(
        &self,
        job: JobSpec,
        tx: mpsc::Sender<ScanEvent>,
        cancel: CancellationToken,
    ) -> Result<(), String> {
        self.0.jobs.lock().unwrap().push(job.clone());
        let script = self.0.clone();
        let targets: Vec<IpAddr> = match &job {
            JobSpec::Scan { targets, .. } => {
                targets.iter().filter_map(|t| t.parse().ok()).collect()
            }
            JobSpec::Round(plan) => plan.addresses(),
            _ => Vec::new(),
        };
        tokio::spawn(async move {
            if script.hang.load(Ordering::SeqCst) {
                cancel.cancelled().await;
                script.cancelled.store(true, Ordering::SeqCst);
                let _ = tx.send(ScanEvent::Finished { interrupted: true }).await;
                return;
            }
            let _ = tx
                .send(ScanEvent::Planned {
                    hosts: targets.len() as u64,
                    ports_per_host: 0,
                })
                .await;
            let _ = tx.send(ScanEvent::Targets(targets.clone())).await;
            // An ICMP window's worth of waiting, in virtual time.
            tokio::time::sleep(Duration::from_millis(500)).await;
            let up = script.up.lock().unwrap().clone();
            for ip in &targets {
                let answered = up.contains(ip);
                let _ = tx
                    .send(ScanEvent::Icmp(IcmpOutcome {
                        ip: *ip,
                        sent: 1,
                        received: u32::from(answered),
                        rtts: if answered {
                            vec![Duration::from_micros(400)]
                        } else {
                            vec![]
                        },
                    }))
                    .await;
            }
            if let JobSpec::Scan { .. } = job {
                for _ in 0..script.flood {
                    let _ = tx
                        .send(ScanEvent::Icmp(IcmpOutcome {
                            ip: targets[0],
                            sent: 1,
                            received: 1,
                            rtts: vec![Duration::from_micros(300)],
                        }))
                        .await;
                }
            }
            let _ = tx.send(ScanEvent::Finished { interrupted: false }).await;
            script.finished.notify_one();
        });
        Ok(())
    }

    fn diagnose(
        &self,
        spec: DiagnoseSpec,
        tx: mpsc::Sender<Diagnosis>,
        cancel: CancellationToken,
    ) -> Result<(), String> {
        self.0.diagnose_specs.lock().unwrap().push(spec.clone());
        let script = self.0.clone();
        tokio::spawn(async move {
            loop {
                let start = tokio::time::Instant::now();
                let at = script.clock();
                let k = script.diagnosed.load(Ordering::SeqCst);
                let mut d = script.diagnoses[k.min(script.diagnoses.len() - 1)].clone();
                d.started = at;
                d.finished = at;
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(300)) => {}
                    _ = cancel.cancelled() => break,
                }
                script.diagnosed.fetch_add(1, Ordering::SeqCst);
                if tx.send(d).await.is_err() {
                    return;
                }
                tokio::select! {
                    _ = tokio::time::sleep_until(start + spec.interval) => {}
                    _ = cancel.cancelled() => break,
                }
            }
            script.diagnose_cancelled.fetch_add(1, Ordering::SeqCst);
        });
        Ok(())
    }

    fn header(
        &self,
        tx: mpsc::Sender<HeaderCheck>,
        cancel: CancellationToken,
    ) -> Result<(), String> {
        self.scripted_header(tx, cancel)
    }
}

impl FakeProber {
    fn scripted_header(
        &self,
        tx: mpsc::Sender<HeaderCheck>,
        cancel: CancellationToken,
    ) -> Result<(), String> {
        let script = self.0.clone();
        if script.headers.is_empty() {
            return Err("no header checks here".into());
        }
        let mut starts = script.header_starts.lock().unwrap();
        let k = starts.len();
        starts.push((tokio::time::Instant::now() - *script.epoch.get().unwrap()).as_millis());
        let check = script.headers[k.min(script.headers.len() - 1)].clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(200)) => {
                    let _ = tx.send(check).await;
                }
                _ = cancel.cancelled() => {}
            }
        });
        Ok(())
    }
}

/// A diagnosis `netdx diagnose -o` recorded in the lab (tests/fixtures/diagnose).
fn fixture(name: &str) -> Diagnosis {
    let path = format!(
        "{}/tests/fixtures/diagnose/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).expect("a diagnosis")
}

fn context() -> LocalContext {
    LocalContext {
        interfaces: vec![Interface {
            name: "eth0".into(),
            mac: None,
            addrs: vec!["10.0.0.10/24".parse().unwrap()],
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

fn base() -> Timestamp {
    OffsetDateTime::from_unix_timestamp(1_736_847_000).unwrap()
}

struct Harness {
    keys: mpsc::Sender<io::Result<Event>>,
    script: Arc<Script>,
    app: App,
    terminal: Terminal<TestBackend>,
    inputs: Option<Inputs>,
}

fn harness(script: Script, interval: Duration) -> Harness {
    let (keys, rx) = mpsc::channel(64);
    let script = Arc::new(script);
    let start = tokio::time::Instant::now();
    script.epoch.set(start).unwrap();
    let inputs = Inputs {
        terminal: rx,
        prober: Arc::new(FakeProber(script.clone())),
        clock: Box::new(move || base() + (tokio::time::Instant::now() - start)),
        shutdown: Box::pin(std::future::pending()),
    };
    let settings = Settings {
        interval,
        theme: Theme::MONO,
        ..Settings::default()
    };
    let app = App::new(
        Dashboard::new(context(), ScanParameters::default()),
        settings,
        base(),
    );
    Harness {
        keys,
        script,
        app,
        terminal: Terminal::new(TestBackend::new(120, 30)).unwrap(),
        inputs: Some(inputs),
    }
}

fn press(c: KeyCode) -> io::Result<Event> {
    Ok(Event::Key(KeyEvent::new(c, KeyModifiers::NONE)))
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[tokio::test(start_paused = true)]
async fn rounds_follow_the_interval_and_transitions_are_logged() {
    let script = Script::default();
    script
        .up
        .lock()
        .unwrap()
        .extend([ip("10.0.0.1"), ip("10.0.0.2")]);
    let mut h = harness(script, Duration::from_secs(2));
    let (keys, script) = (h.keys.clone(), h.script.clone());
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(7)).await;
        script.up.lock().unwrap().remove(&ip("10.0.0.2"));
        tokio::time::sleep(Duration::from_secs(8)).await;
        script.up.lock().unwrap().insert(ip("10.0.0.2"));
        tokio::time::sleep(Duration::from_secs(6)).await;
        keys.send(press(KeyCode::Char('q'))).await.unwrap();
    });
    let initial = Command::Scan {
        targets: vec!["10.0.0.1".into(), "10.0.0.2".into(), "10.0.0.3".into()],
    };
    let exit = runner::run(
        &mut h.terminal,
        &mut h.app,
        h.inputs.take().unwrap(),
        Some(initial),
    )
    .await
    .unwrap();
    assert_eq!(exit, Exit::Quit);

    let jobs = h.script.jobs.lock().unwrap().clone();
    let rounds: Vec<&JobSpec> = jobs
        .iter()
        .filter(|j| matches!(j, JobSpec::Round(_)))
        .collect();
    // Sweep ends at 0.5 s; rounds start every 2 s after it and take 0.5 s: 9 or 10 by 21 s.
    assert!(
        (9..=10).contains(&rounds.len()),
        "{} rounds: {jobs:?}",
        rounds.len()
    );
    // Three named targets (≤ 32): all are watched, the silent one too.
    let JobSpec::Round(plan) = rounds[0] else {
        unreachable!()
    };
    assert_eq!(
        plan.icmp,
        vec![ip("10.0.0.1"), ip("10.0.0.2"), ip("10.0.0.3")]
    );

    let log: Vec<(LogKind, String)> = h
        .app
        .dash
        .log
        .iter()
        .map(|e| (e.kind, e.text.clone()))
        .collect();
    let down: Vec<_> = log.iter().filter(|(k, _)| *k == LogKind::Down).collect();
    let up: Vec<_> = log.iter().filter(|(k, _)| *k == LogKind::Up).collect();
    assert_eq!(down.len(), 1, "{log:?}");
    assert_eq!(down[0].1, "10.0.0.2 went down");
    assert_eq!(up.len(), 1, "{log:?}");
    assert!(
        up[0].1.starts_with("10.0.0.2 is back up after ") && up[0].1.ends_with(" s down"),
        "{log:?}"
    );
    // The outage is a whole number of rounds: 8 s here (four 2-s intervals).
    let t = &h.app.dash.tracks[&ip("10.0.0.2")];
    let outage = t.history.back().unwrap().outage.unwrap();
    assert_eq!(outage, Duration::from_secs(8), "{:?}", t.history);
    // Timestamps come from the injected clock.
    let first = h.app.dash.log.front().unwrap();
    assert_eq!(first.at, base());
}

#[tokio::test(start_paused = true)]
async fn no_targets_sends_nothing_and_idles_at_one_frame_a_second() {
    let mut h = harness(Script::default(), Duration::from_secs(2));
    let keys = h.keys.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(60)).await;
        keys.send(press(KeyCode::Char('q'))).await.unwrap();
    });
    runner::run(&mut h.terminal, &mut h.app, h.inputs.take().unwrap(), None)
        .await
        .unwrap();
    assert!(h.script.jobs.lock().unwrap().is_empty(), "nothing started");
    assert!(!h.app.dash.started());
    let frames = h.terminal.get_frame().count();
    // One frame at start, one per clock tick, one for the q: about 62 in 60 s.
    assert!((55..=65).contains(&frames), "{frames} frames in 60 s idle");
    let screen = h.terminal.backend().to_string();
    assert!(screen.contains("Nothing has been sent"), "{screen}");
}

#[tokio::test(start_paused = true)]
async fn a_flood_of_events_is_drawn_in_few_frames() {
    let script = Script {
        flood: 50_000,
        ..Script::default()
    };
    script.up.lock().unwrap().insert(ip("10.0.0.1"));
    let mut h = harness(script, Duration::from_secs(3600));
    let keys = h.keys.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(2)).await;
        keys.send(press(KeyCode::Char('q'))).await.unwrap();
    });
    let initial = Command::Scan {
        targets: vec!["10.0.0.1".into()],
    };
    runner::run(
        &mut h.terminal,
        &mut h.app,
        h.inputs.take().unwrap(),
        Some(initial),
    )
    .await
    .unwrap();
    let frames = h.terminal.get_frame().count();
    let echoes = h.app.dash.report.hosts[&ip("10.0.0.1")].icmp_sent;
    assert_eq!(echoes, Some(50_001), "every event folded");
    // Paused time does not advance while events stream, so they all land between frames.
    assert!(frames <= 8, "{frames} frames for 50,000 events");
}

#[tokio::test(start_paused = true)]
async fn enter_starts_on_the_suggested_targets_and_quit_cancels_probes() {
    let script = Script::default();
    script.hang.store(true, Ordering::SeqCst);
    let mut h = harness(script, Duration::from_secs(2));
    let keys = h.keys.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        keys.send(press(KeyCode::Enter)).await.unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        keys.send(Ok(Event::Key(KeyEvent::new(
            KeyCode::Char('c'),
            KeyModifiers::CONTROL,
        ))))
        .await
        .unwrap();
    });
    let exit = runner::run(&mut h.terminal, &mut h.app, h.inputs.take().unwrap(), None)
        .await
        .unwrap();
    assert_eq!(exit, Exit::Quit);
    let jobs = h.script.jobs.lock().unwrap().clone();
    assert_eq!(
        jobs,
        vec![JobSpec::Scan {
            targets: vec!["10.0.0.0/24".into(), "10.0.0.1".into()],
            dns_queries: true
        }]
    );
    // The loop cancelled the running scan on its way out.
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(h.script.cancelled.load(Ordering::SeqCst));
}

/// Under the paused clock, returns once every task is idle and no `spawn_blocking` work is in
/// flight (tokio does not auto-advance time while there is): whatever was sent has been
/// handled. An event, not a guess at how long handling takes.
async fn settled() {
    tokio::time::sleep(Duration::from_millis(1)).await;
}

#[tokio::test(start_paused = true)]
async fn export_writes_the_file_and_shows_its_path() {
    let script = Script::default();
    script.up.lock().unwrap().insert(ip("10.0.0.1"));
    let mut h = harness(script, Duration::from_secs(3600));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let keys = h.keys.clone();
    let p = path.clone();
    let script = h.script.clone();
    tokio::spawn(async move {
        // The scan has sent everything, and the loop has applied it.
        script.finished.notified().await;
        settled().await;
        keys.send(press(KeyCode::Char('e'))).await.unwrap();
        keys.send(Ok(Event::Key(KeyEvent::new(
            KeyCode::Char('u'),
            KeyModifiers::CONTROL,
        ))))
        .await
        .unwrap();
        for c in p.to_str().unwrap().chars() {
            keys.send(press(KeyCode::Char(c))).await.unwrap();
        }
        keys.send(press(KeyCode::Enter)).await.unwrap();
        // The export's blocking write has ended and its result reached the loop (checked
        // below, once the loop has returned: a panic here would leave it waiting for keys).
        settled().await;
        keys.send(press(KeyCode::Char('q'))).await.unwrap();
    });
    let initial = Command::Scan {
        targets: vec!["10.0.0.1".into()],
    };
    runner::run(
        &mut h.terminal,
        &mut h.app,
        h.inputs.take().unwrap(),
        Some(initial),
    )
    .await
    .unwrap();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("no export at {} once the loop settled: {e}", path.display()));
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["hosts"][0]["ip"], "10.0.0.1");
    assert_eq!(json["hosts"][0]["status"], "up");
    let (kind, text) = h.app.status.clone().unwrap();
    assert_eq!(kind, LogKind::Info);
    assert_eq!(text, format!("exported JSON report to {}", path.display()));
}

/// The log's entries from the Diagnose view, with their times as seconds after `base()`.
fn diagnosis_log(app: &App) -> Vec<(i64, LogKind, String)> {
    app.dash
        .log
        .iter()
        .filter(|e| e.text.starts_with("diagnosis"))
        .map(|e| ((e.at - base()).whole_seconds(), e.kind, e.text.clone()))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn diagnose_view_runs_rounds_logs_the_outage_and_quitting_stops_them() {
    let healthy = fixture("ratelimited");
    let down = fixture("blackhole");
    let script = Script {
        // Healthy, two rounds with the path cut at the second router, healthy again.
        diagnoses: vec![healthy.clone(), down.clone(), down, healthy],
        ..Script::default()
    };
    script.up.lock().unwrap().insert(ip("10.0.0.1"));
    let mut h = harness(script, Duration::from_secs(2));
    let keys = h.keys.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        keys.send(press(KeyCode::Char('D'))).await.unwrap();
        // Rounds start at 1, 3, 5, 7 and 9 s; each ends 0.3 s later.
        tokio::time::sleep(Duration::from_millis(8_600)).await;
        keys.send(press(KeyCode::Char('q'))).await.unwrap();
    });
    let initial = Command::Scan {
        targets: vec!["10.0.0.1".into()],
    };
    let exit = runner::run(
        &mut h.terminal,
        &mut h.app,
        h.inputs.take().unwrap(),
        Some(initial),
    )
    .await
    .unwrap();
    assert_eq!(exit, Exit::Quit);
    assert_eq!(
        *h.script.diagnose_specs.lock().unwrap(),
        vec![DiagnoseSpec {
            interval: Duration::from_secs(2),
            target: None,
        }]
    );
    assert_eq!(h.app.view, View::Diagnose);
    assert_eq!(h.app.diagnose.rounds, 5);
    assert_eq!(h.script.diagnosed.load(Ordering::SeqCst), 5);

    // The outage's start and end are logged at the times of the rounds that saw them.
    let log = diagnosis_log(&h.app);
    assert_eq!(log.len(), 3, "{log:#?}");
    assert_eq!(log[0].0, 1);
    assert_eq!(log[0].1, LogKind::Info);
    assert_eq!(
        log[0].2,
        "diagnosis started: this machine, its gateway and DNS servers, every 2 s"
    );
    assert_eq!((log[1].0, log[1].1), (3, LogKind::Down), "{log:#?}");
    assert!(
        log[1]
            .2
            .starts_with("diagnosis: WAN path outage began (✖ DOWN): The path to app.lab.test"),
        "{log:#?}"
    );
    assert_eq!(
        log[2],
        (
            7,
            LogKind::Up,
            "diagnosis: recovered, the WAN path outage lasted 4.0 s (2 rounds)".to_string()
        )
    );
    // Stamped with their rounds' starts, they still sit in time order in the log.
    let times: Vec<Timestamp> = h.app.dash.log.iter().map(|e| e.at).collect();
    assert!(times.is_sorted(), "{:#?}", h.app.dash.log);
    let outages = h.app.diagnose.timeline.outages();
    assert_eq!(outages.len(), 1);
    assert_eq!(outages[0].duration_s, Some(4.0));

    // The last frame is the Diagnose view: the header still reports the layers, the view the
    // verdict, the events pane the transitions, the footer the view's keys.
    let screen = h.terminal.backend().to_string();
    assert!(screen.contains("Gateway ✔ OK"), "{screen}");
    assert!(screen.contains("Diagnose · round 5 · ✔ OK"), "{screen}");
    assert!(screen.contains("Outages (1 in 5 rounds)"), "{screen}");
    assert!(
        screen.contains("▼ diagnosis: WAN path outage began"),
        "{screen}"
    );
    assert!(screen.contains("Esc/D back to the hosts"), "{screen}");
    assert!(!screen.contains("┌ Hosts"), "{screen}");

    // Monitoring went on behind the view.
    let rounds = h
        .script
        .jobs
        .lock()
        .unwrap()
        .iter()
        .filter(|j| matches!(j, JobSpec::Round(_)))
        .count();
    assert!(rounds >= 3, "{rounds} monitoring rounds");

    // Quitting cancelled the diagnosis task.
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(h.script.diagnose_cancelled.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn leaving_the_diagnose_view_keeps_its_rounds_and_timeline_and_x_stops_them() {
    let script = Script {
        diagnoses: vec![fixture("blackhole")],
        ..Script::default()
    };
    // The dashboard's --interval is below diagnose's shortest: raised to 0.5 s, and said so.
    let mut h = harness(script, Duration::from_millis(200));
    let (keys, script) = (h.keys.clone(), h.script.clone());
    let at_esc = Arc::new(AtomicUsize::new(0));
    let at_return = Arc::new(AtomicUsize::new(0));
    let (esc_seen, return_seen) = (at_esc.clone(), at_return.clone());
    tokio::spawn(async move {
        keys.send(press(KeyCode::Char('D'))).await.unwrap();
        tokio::time::sleep(Duration::from_millis(1_400)).await;
        esc_seen.store(script.diagnosed.load(Ordering::SeqCst), Ordering::SeqCst);
        keys.send(press(KeyCode::Esc)).await.unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
        return_seen.store(script.diagnosed.load(Ordering::SeqCst), Ordering::SeqCst);
        keys.send(press(KeyCode::Char('D'))).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        keys.send(press(KeyCode::Char('x'))).await.unwrap();
        tokio::time::sleep(Duration::from_secs(2)).await;
        keys.send(press(KeyCode::Char('q'))).await.unwrap();
    });
    runner::run(&mut h.terminal, &mut h.app, h.inputs.take().unwrap(), None)
        .await
        .unwrap();
    assert!(h.script.jobs.lock().unwrap().is_empty(), "no scan started");
    let specs = h.script.diagnose_specs.lock().unwrap().clone();
    assert_eq!(specs.len(), 1, "coming back does not start anew: {specs:?}");
    assert_eq!(specs[0].interval, Duration::from_millis(500));
    // Rounds at 0, 0.5 and 1 s before Esc at 1.4 s; they went on while the view was closed
    // (about ten more in 5 s), and the view came back to the same timeline.
    assert_eq!(at_esc.load(Ordering::SeqCst), 3);
    let rounds = at_return.load(Ordering::SeqCst);
    assert!(rounds >= 12, "{rounds} rounds by the return");
    assert_eq!(h.app.diagnose.rounds as usize, rounds);
    // x stopped them: no round after it.
    assert_eq!(h.script.diagnosed.load(Ordering::SeqCst), rounds);
    assert!(!h.app.diagnose.running);
    assert_eq!(h.app.view, View::Hosts);
    assert_eq!(h.app.diagnose.timeline.outages().len(), 1);

    let log = diagnosis_log(&h.app);
    let texts: Vec<&str> = log.iter().map(|(_, _, t)| t.as_str()).collect();
    assert_eq!(
        texts[0],
        "diagnosis started: this machine, its gateway and DNS servers, every 0.5 s (the shortest diagnosis interval)"
    );
    assert!(
        texts[1].starts_with("diagnosis: WAN path outage began"),
        "{texts:#?}"
    );
    assert_eq!(
        texts[2],
        format!("diagnosis stopped after {rounds} rounds; the WAN path outage was still going on")
    );
    assert_eq!(texts.len(), 3, "{texts:#?}");
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(h.script.diagnose_cancelled.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_prober_that_cannot_diagnose_leaves_the_view_with_the_reason() {
    struct Plain;
    impl Prober for Plain {
        fn start(
            &self,
            _: JobSpec,
            _: mpsc::Sender<ScanEvent>,
            _: CancellationToken,
        ) -> Result<(), String> {
            Err("no probes here".into())
        }
    }
    let mut h = harness(Script::default(), Duration::from_secs(2));
    let mut inputs = h.inputs.take().unwrap();
    inputs.prober = Arc::new(Plain);
    let keys = h.keys.clone();
    tokio::spawn(async move {
        keys.send(press(KeyCode::Char('D'))).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        keys.send(press(KeyCode::Char('q'))).await.unwrap();
    });
    runner::run(&mut h.terminal, &mut h.app, inputs, None)
        .await
        .unwrap();
    assert_eq!(h.app.view, View::Hosts);
    let (kind, text) = h.app.status.clone().unwrap();
    assert_eq!(kind, LogKind::Error);
    assert_eq!(
        text,
        "diagnosis unavailable: diagnosis is not available here"
    );
}

/// A header check: the gateway answering or not, the resolver answering or not, the WAN
/// target (a configured lab address) answering.
fn header(gateway_up: bool, dns_up: bool) -> HeaderCheck {
    HeaderCheck {
        context: context(),
        gateways: vec![GatewayCheck {
            ip: ip("10.0.0.1"),
            answered: gateway_up,
            rtt_ms: gateway_up.then_some(0.4),
            loss_pct: Some(if gateway_up { 0.0 } else { 100.0 }),
            by: None,
        }],
        resolvers: vec![ResolverCheck {
            server: "10.0.0.53:53".parse().unwrap(),
            status: if dns_up {
                netdx::core::model::DnsStatus::NoError
            } else {
                netdx::core::model::DnsStatus::Timeout
            },
            rtt_ms: dns_up.then_some(1.2),
        }],
        wan: WanCheck::Probed {
            target: WanTarget {
                addr: ip("10.9.0.10"),
                port: None,
                configured: true,
            },
            answered: gateway_up,
            rtt_ms: gateway_up.then_some(2.5),
            how: "ping".into(),
        },
    }
}

/// The header's cells come from a check made every round, so they change within a round of
/// the network changing, and say so in the event log.
#[tokio::test(start_paused = true)]
async fn the_header_is_rechecked_every_round() {
    let script = Script {
        // Rounds start at 0 (the sweep), 1, 2, ... s; each check takes 0.2 s.
        headers: vec![
            header(true, true),
            header(true, false),
            header(true, false),
            header(true, true),
            header(false, true),
            header(true, true),
        ],
        ..Script::default()
    };
    script.up.lock().unwrap().insert(ip("10.0.0.1"));
    let mut h = harness(script, Duration::from_secs(1));
    let keys = h.keys.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(6_500)).await;
        keys.send(press(KeyCode::Char('q'))).await.unwrap();
    });
    let initial = Command::Scan {
        targets: vec!["10.0.0.1".into()],
    };
    runner::run(
        &mut h.terminal,
        &mut h.app,
        h.inputs.take().unwrap(),
        Some(initial),
    )
    .await
    .unwrap();
    // One check per interval, from the start of the sweep.
    let starts = h.script.header_starts.lock().unwrap().clone();
    assert_eq!(
        starts,
        [0, 1000, 2000, 3000, 4000, 5000, 6000],
        "{starts:?}"
    );
    let log: Vec<(i64, LogKind, String)> = h
        .app
        .dash
        .log
        .iter()
        .filter(|e| {
            ["LAN", "gateway", "DNS", "WAN"]
                .iter()
                .any(|p| e.text.starts_with(p))
        })
        .map(|e| {
            (
                (e.at - base()).whole_milliseconds() as i64,
                e.kind,
                e.text.clone(),
            )
        })
        .collect();
    let want = [
        (1200, LogKind::Down, "DNS ✖ DOWN: 10.0.0.53 no answer"),
        (3200, LogKind::Up, "DNS ✔ OK: 10.0.0.53 1.20 ms"),
        (4200, LogKind::Warn, "LAN ▲ DEGRADED: gateway not answering"),
        (
            4200,
            LogKind::Down,
            "gateway ✖ DOWN: 10.0.0.1 not answering",
        ),
        (
            4200,
            LogKind::Down,
            "WAN ✖ DOWN: 10.9.0.10 no answer to ping",
        ),
        (5200, LogKind::Up, "LAN ✔ OK: link up"),
        (5200, LogKind::Up, "gateway ✔ OK: 10.0.0.1 0.40 ms"),
        (5200, LogKind::Up, "WAN ✔ OK: 10.9.0.10 ping 2.50 ms"),
    ];
    let got: Vec<(i64, LogKind, &str)> = log.iter().map(|(t, k, s)| (*t, *k, s.as_str())).collect();
    assert_eq!(got, want, "{log:#?}");
    let screen = h.terminal.backend().to_string();
    let head = screen.lines().next().unwrap();
    for cell in [
        "LAN ✔ OK",
        "Gateway ✔ OK 10.0.0.1",
        "DNS ✔ OK 10.0.0.53",
        "WAN ✔ OK 10.9.0.10",
    ] {
        assert!(head.contains(cell), "{cell}: {head}");
    }
}

/// `--auto` runs the LAN checks once at start through the prober; one that cannot (this
/// scripted one, which never touches the network) is said in the log, and `L` in the Alerts
/// view asks again with the same answer.
#[tokio::test(start_paused = true)]
async fn lan_checks_at_start_go_through_the_prober() {
    let mut h = harness(Script::default(), Duration::from_secs(2));
    h.app.settings.lan_at_start = true;
    let keys = h.keys.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        keys.send(press(KeyCode::Char('A'))).await.unwrap();
        keys.send(press(KeyCode::Char('L'))).await.unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        keys.send(press(KeyCode::Char('q'))).await.unwrap();
    });
    runner::run(&mut h.terminal, &mut h.app, h.inputs.take().unwrap(), None)
        .await
        .unwrap();
    let said: Vec<&str> = h
        .app
        .dash
        .log
        .iter()
        .filter(|e| e.text.starts_with("LAN checks unavailable"))
        .map(|e| e.text.as_str())
        .collect();
    assert_eq!(
        said,
        vec!["LAN checks unavailable: LAN checks are not available here"; 2],
        "{:?}",
        h.app.dash.log
    );
    assert!(h.script.jobs.lock().unwrap().is_empty(), "nothing sent");
}
