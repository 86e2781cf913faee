//! `/`: a small status page, self-contained (inline style, no script, no external resource)
//! so it works on an isolated site network. Every string is escaped, including the check
//! names and notes that come from the config file.

use std::fmt::Write as _;

use super::scheduler::Board;
/// The reports' HTML escaping: markup, control and invisible formatting characters.
pub use crate::output::escape::html as esc;

/// The page for the board.
pub fn render(board: &Board) -> String {
    let mut rows = String::new();
    let (mut up, mut down, mut pending) = (0, 0, 0);
    for e in board.checks.values() {
        let (state, class) = match e.state.state {
            Some(true) => {
                up += 1;
                ("up", "up")
            }
            Some(false) => {
                down += 1;
                ("down", "down")
            }
            None => {
                pending += 1;
                ("pending", "pending")
            }
        };
        let last = e.state.last.as_ref();
        let took = last.map_or(String::new(), |l| {
            format!("{:.1} ms", l.duration.as_secs_f64() * 1000.0)
        });
        let note = last.and_then(|l| l.note.as_deref()).unwrap_or("");
        let found = e.state.found();
        let _ = writeln!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{class}\">{state}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&e.spec.name),
            esc(e.spec.probe.kind()),
            esc(&e.spec.probe.target_label()),
            esc(&took),
            e.state.runs,
            e.state.changes,
            esc(&found),
            esc(note),
        );
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>netdx serve</title><style>\
         body{{font-family:sans-serif;margin:1em}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:2px 8px;text-align:left}}\
         .up{{color:#060}}.down{{color:#b00;font-weight:bold}}.pending{{color:#666}}\
         </style></head><body>\n<h1>netdx serve {}</h1>\n\
         <p>{up} up, {down} down, {pending} pending; a state changes after {} equal results \
         in a row. <a href=\"metrics\">metrics</a></p>\n\
         <table><tr><th>check</th><th>kind</th><th>target</th><th>state</th><th>last run</th>\
         <th>runs</th><th>changes</th><th>found</th><th>note</th></tr>\n{rows}</table>\n</body></html>\n",
        esc(env!("CARGO_PKG_VERSION")),
        board.flap,
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::serve::config::{CheckSpec, Probe};
    use crate::serve::scheduler::Entry;
    use crate::serve::state::{CheckState, Outcome};

    #[test]
    fn escapes_and_counts() {
        assert_eq!(
            esc("<a href='x'>&\"\x1b"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;\u{fffd}"
        );
        let mut state = CheckState::default();
        state.apply(
            Outcome {
                note: Some("<script>".into()),
                ..Outcome::default()
            },
            1,
        );
        let mut board = Board {
            flap: 1,
            ..Board::default()
        };
        board.checks.insert(
            "x".into(),
            Entry {
                spec: CheckSpec {
                    name: "x".into(),
                    probe: Probe::Ping {
                        target: "10.0.0.1".parse().unwrap(),
                    },
                    interval: Duration::from_secs(1),
                },
                state,
            },
        );
        let page = render(&board);
        assert!(page.contains("0 up, 1 down, 0 pending"));
        assert!(page.contains("&lt;script&gt;") && !page.contains("<script>"));
        assert!(!page.contains("http://") && !page.contains("https://"));
    }
}
