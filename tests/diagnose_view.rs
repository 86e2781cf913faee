//! Snapshots of the dashboard's Diagnose view, rendered with ratatui's `TestBackend` from
//! diagnoses recorded in the lab (tests/fixtures/diagnose/*.json, written by
//! `netdx diagnose -o` with the wan-blackhole and icmp-ratelimit scenarios). Round times are
//! set by the test, so the outage timeline is exact.

use netdx::diagnose::model::Diagnosis;
use netdx::ui::diagnose_view::{DiagnoseView, render};
use netdx::ui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn fixture(name: &str) -> Diagnosis {
    let path = format!(
        "{}/tests/fixtures/diagnose/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).expect("a diagnosis")
}

fn at(mut d: Diagnosis, time: &str) -> Diagnosis {
    d.started = netdx::core::clock::parse_rfc3339(time).expect("an RFC 3339 time");
    d.finished = d.started;
    d
}

fn screen(view: &DiagnoseView, w: u16, h: u16, theme: Theme) -> (String, ratatui::buffer::Buffer) {
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    term.draw(|f| render(f, f.area(), view, &theme))
        .expect("draw");
    (term.backend().to_string(), term.backend().buffer().clone())
}

#[test]
fn before_the_first_round() {
    let (text, _) = screen(&DiagnoseView::default(), 100, 12, Theme::MONO);
    insta::assert_snapshot!(text);
}

#[test]
fn outage_in_progress_with_one_recovered_before() {
    let healthy = fixture("ratelimited");
    let down = fixture("blackhole");
    let mut view = DiagnoseView::default();
    assert!(
        view.apply(at(healthy.clone(), "2026-01-01T10:00:00Z"))
            .is_none()
    );
    assert!(
        view.apply(at(down.clone(), "2026-01-01T10:00:05Z"))
            .is_some()
    );
    assert!(view.apply(at(healthy, "2026-01-01T10:00:12Z")).is_some());
    assert!(view.apply(at(down, "2026-01-01T10:00:20Z")).is_some());
    assert_eq!(view.rounds, 4);
    let outages = view.timeline.outages();
    assert_eq!(outages.len(), 2);
    assert_eq!(outages[0].duration_s, Some(7.0));
    assert!(outages[1].end.is_none());
    let (text, _) = screen(&view, 120, 40, Theme::MONO);
    assert!(text.contains("failing layer: WAN path"), "{text}");
    assert!(text.contains("10.62.1.2"), "{text}");
    assert!(text.contains("ongoing"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn healthy_with_a_rate_limited_hop() {
    let mut view = DiagnoseView::default();
    view.apply(at(fixture("ratelimited"), "2026-01-01T10:00:00Z"));
    let (text, buf) = screen(&view, 120, 36, Theme::COLOR);
    assert!(text.contains("rate-limited"), "{text}");
    assert!(text.contains("Outages (0 in 1 round)"), "{text}");
    // The state reads without colour too: symbols and words are in the text.
    assert!(text.contains("✔ OK"), "{text}");
    assert!(
        buf.content
            .iter()
            .any(|c| c.fg != ratatui::style::Color::Reset)
    );
    insta::assert_snapshot!(text);
}
