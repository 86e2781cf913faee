//! The remote view (`netdx tui --remote`) rendered with ratatui's `TestBackend` from a fixed
//! agent document: healthy, then with the agent unreachable and the data stale. No network,
//! no wall clock (the "now" is an instant fixed relative to the last update).
//!
//! Review changes with `cargo insta review` (or accept with `INSTA_UPDATE=always`).

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use netdx::serve::api::{Agent, CheckStatus, CheckView, ChecksDoc, LastResult};
use netdx::serve::client::FetchError;
use netdx::ui::remote::{self, RemoteView};
use netdx::ui::runner::Exit;
use netdx::ui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::time::Instant;

fn check(
    name: &str,
    kind: &str,
    target: &str,
    state: CheckStatus,
    latency: Option<f64>,
) -> CheckView {
    let up = state == CheckStatus::Up;
    CheckView {
        name: name.into(),
        kind: kind.into(),
        target: target.into(),
        state,
        since: Some("2027-01-15T08:00:10Z".into()),
        for_s: Some(if up { 3725.0 } else { 42.0 }),
        last_run: Some("2027-01-15T09:02:10Z".into()),
        interval_s: 10.0,
        runs: 400,
        changes: 1,
        last: Some(LastResult {
            success: up,
            duration_ms: 2.0,
            note: (!up).then(|| "no reply".to_string()),
            dns_status: None,
            answer_match: None,
            cert_days_left: None,
        }),
        latency_ms: latency,
        rtt: None,
        loss: None,
        verdict: if up {
            format!("up: answered in {:.1} ms", latency.unwrap_or(0.0))
        } else {
            "down: no reply".to_string()
        },
    }
}

fn doc() -> ChecksDoc {
    ChecksDoc {
        version: 1,
        agent: Agent {
            name: "netdx".into(),
            version: "0.1.0".into(),
        },
        generated_at: "2027-01-15T09:02:12Z".into(),
        flap: 2,
        checks: vec![
            check("gateway", "ping", "10.0.0.1", CheckStatus::Up, Some(0.42)),
            check(
                "web-https",
                "tcp",
                "10.0.0.20:443",
                CheckStatus::Up,
                Some(1.3),
            ),
            check("nas", "ping", "10.0.0.30", CheckStatus::Down, None),
            CheckView {
                state: CheckStatus::Pending,
                since: None,
                for_s: None,
                last: None,
                verdict: "pending: no result yet".into(),
                ..check(
                    "dns-intranet",
                    "dns",
                    "10.0.0.53:53",
                    CheckStatus::Pending,
                    None,
                )
            },
        ],
    }
}

fn render(view: &RemoteView, now: Instant) -> String {
    let mut term = Terminal::new(TestBackend::new(100, 12)).expect("terminal");
    term.draw(|f| remote::draw(f, view, now)).expect("draw");
    let buf = term.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

#[test]
fn remote_view_healthy_then_unreachable_and_stale() {
    let t0 = Instant::now();
    let mut view = RemoteView::new(
        "10.0.0.5:9430".into(),
        true,
        Duration::from_secs(2),
        Theme::MONO,
    );
    view.apply(Ok(doc()), t0);
    insta::assert_snapshot!(
        "remote_healthy",
        render(&view, t0 + Duration::from_millis(1200))
    );

    // One failed poll: said in the header, the data not yet stale.
    view.apply(
        Err(FetchError::Connect(
            "10.0.0.5:9430: Connection refused (os error 111)".into(),
        )),
        t0 + Duration::from_secs(2),
    );
    let now = t0 + Duration::from_millis(2100);
    assert!(!view.stale(now));
    let screen = render(&view, now);
    assert!(screen.contains("showing the last good data"), "{screen}");
    view.apply(Err(FetchError::Timeout), t0 + Duration::from_secs(4));
    let now = t0 + Duration::from_millis(4300);
    assert!(view.stale(now));
    insta::assert_snapshot!("remote_stale", render(&view, now));

    // A probe key is refused with a notice; q quits.
    let key = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
    assert_eq!(view.on_key(key('D')), None);
    assert!(render(&view, now).contains("probes run on the agent"));
    assert_eq!(view.on_key(key('q')), Some(Exit::Quit));
}

#[test]
fn errors_before_any_answer() {
    let t0 = Instant::now();
    let mut view = RemoteView::new(
        "agent:9430".into(),
        false,
        Duration::from_secs(2),
        Theme::MONO,
    );
    view.apply(Err(FetchError::Unauthorized("Basic".into())), t0);
    let screen = render(&view, t0);
    assert!(screen.contains("no update yet"), "{screen}");
    assert!(
        screen.contains("⚠ 401 unauthorized: the agent wants Basic"),
        "{screen}"
    );
    assert!(!view.stale(t0), "nothing shown, nothing stale");
}

/// The loop itself on a paused clock: a poll result is shown, a resize redraws, `q` leaves.
#[tokio::test(start_paused = true)]
async fn loop_applies_polls_and_quits_on_q() {
    use crossterm::event::Event;
    let (key_tx, key_rx) = tokio::sync::mpsc::channel(8);
    let (poll_tx, poll_rx) = tokio::sync::mpsc::channel(8);
    let mut terminal = Terminal::new(TestBackend::new(100, 12)).expect("terminal");
    let mut view = RemoteView::new(
        "10.0.0.5:9430".into(),
        true,
        Duration::from_secs(2),
        Theme::MONO,
    );
    let inputs = remote::RemoteInputs {
        terminal: key_rx,
        polls: poll_rx,
        shutdown: Box::pin(std::future::pending()),
    };
    let driver = async {
        poll_tx
            .send((Ok(doc()), Instant::now()))
            .await
            .expect("send");
        tokio::time::sleep(Duration::from_secs(1)).await;
        key_tx.send(Ok(Event::Resize(100, 12))).await.expect("send");
        tokio::time::sleep(Duration::from_secs(1)).await;
        key_tx
            .send(Ok(Event::Key(KeyEvent::new(
                KeyCode::Char('q'),
                KeyModifiers::NONE,
            ))))
            .await
            .expect("send");
    };
    let (exit, ()) = tokio::join!(remote::run(&mut terminal, &mut view, inputs), driver);
    assert_eq!(exit.expect("run"), Exit::Quit);
    assert_eq!(view.doc.as_ref().map(|d| d.checks.len()), Some(4));
    let buf = terminal.backend().buffer().clone();
    let first: String = (0..buf.area.width).map(|x| buf[(x, 0)].symbol()).collect();
    assert!(first.contains("agent v0.1.0 · last update"), "{first}");
}
