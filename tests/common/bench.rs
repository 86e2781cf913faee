//! What the lab benchmarks (benches/*.rs) share: medians and the final side-by-side table
//! `what | netdx | peer | target | met?`, printed the same way by every bench.

/// The median of `v` (NaN when empty).
pub fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// One line of the final table.
pub struct Row {
    pub what: String,
    pub netdx: String,
    pub peer: String,
    pub target: String,
    /// None: a figure for context, with no target to meet.
    pub met: Option<bool>,
}

/// The rows a bench found, printed at its end.
#[derive(Default)]
pub struct Table {
    pub rows: Vec<Row>,
}

impl Table {
    pub fn row(
        &mut self,
        what: &str,
        netdx: String,
        peer: String,
        target: &str,
        met: Option<bool>,
    ) {
        self.rows.push(Row {
            what: what.to_string(),
            netdx,
            peer,
            target: target.to_string(),
            met,
        });
    }

    pub fn print(&self) {
        let w = |f: fn(&Row) -> &str, min: usize| {
            self.rows
                .iter()
                .map(|r| f(r).chars().count())
                .fold(min, usize::max)
        };
        let (a, b, c, d) = (
            w(|r| &r.what, 4),
            w(|r| &r.netdx, 5),
            w(|r| &r.peer, 4),
            w(|r| &r.target, 6),
        );
        println!();
        println!(
            "{:<a$} | {:<b$} | {:<c$} | {:<d$} | met?",
            "what", "netdx", "peer", "target"
        );
        println!("{}", "-".repeat(a + b + c + d + 17));
        for r in &self.rows {
            let met = match r.met {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "-",
            };
            println!(
                "{:<a$} | {:<b$} | {:<c$} | {:<d$} | {met}",
                r.what, r.netdx, r.peer, r.target
            );
        }
    }
}
