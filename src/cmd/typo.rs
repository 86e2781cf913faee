//! `netdx scna 10.0.0.1`: with no subcommand every word is a dashboard target, so a mistyped
//! subcommand would open a dashboard monitoring a host called "scna". The first word is
//! checked here, before anything is sent.
//!
//! The check is made on the word alone, never by resolving it: resolving would send the typo
//! (and the search domains appended to it) to the DNS server, and the answer would depend on
//! the network the command runs on. A bare single-label word close to a subcommand is almost
//! always a typo; a host really called that is written with its domain or a trailing dot
//! (`scna.corp`, `scna.`), which is never taken for a typo.

/// Edits allowed between the word and a subcommand: two, but at most half of the
/// subcommand's length, so that `pi` (two edits from `tui`) stays a host name.
fn allowed_edits(subcommand: &str) -> usize {
    (subcommand.chars().count() / 2).clamp(1, 2)
}

/// The subcommand `word` looks like a typo of, if any. `subcommands` are the real names
/// (the edge passes clap's, plus `help`). Addresses, ranges, CIDR blocks and qualified names
/// are never typos; neither is a word that is itself a subcommand (clap took it as one).
pub fn suggestion<'a>(word: &str, subcommands: &[&'a str]) -> Option<&'a str> {
    let w = word.to_ascii_lowercase();
    let bare = !w.is_empty()
        && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && w.chars().any(|c| c.is_ascii_alphabetic());
    if !bare || subcommands.contains(&w.as_str()) {
        return None;
    }
    subcommands
        .iter()
        .map(|s| (distance(&w, s), *s))
        .filter(|(d, s)| *d <= allowed_edits(s))
        .min_by_key(|(d, _)| *d)
        .map(|(_, s)| s)
}

/// Optimal string alignment distance: insertions, deletions, substitutions and swaps of
/// two neighbouring letters (`scna` is one swap from `scan`).
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUBS: [&str; 7] = [
        "scan", "tui", "report", "diff", "history", "diagnose", "help",
    ];

    #[test]
    fn typos_of_subcommands_are_caught() {
        assert_eq!(distance("scna", "scan"), 1);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(suggestion("scna", &SUBS), Some("scan"));
        assert_eq!(suggestion("SCAN1", &SUBS), Some("scan"));
        assert_eq!(suggestion("sacn", &SUBS), Some("scan"));
        assert_eq!(suggestion("diagnsoe", &SUBS), Some("diagnose"));
        assert_eq!(suggestion("diagose", &SUBS), Some("diagnose"));
        assert_eq!(suggestion("histroy", &SUBS), Some("history"));
        assert_eq!(suggestion("reprot", &SUBS), Some("report"));
        assert_eq!(suggestion("tiu", &SUBS), Some("tui"));
        assert_eq!(suggestion("hepl", &SUBS), Some("help"));
    }

    #[test]
    fn addresses_names_and_far_words_are_targets() {
        for word in [
            "10.0.0.1",
            "10.0.0.0/24",
            "10.0.0.1-50",
            "fd00::1",
            "scna.corp",
            "scna.",
            "pi",
            "gw",
            "web",
            "nas",
            "dev",
            "printer",
            "scan",
            "",
            "1234",
        ] {
            assert_eq!(suggestion(word, &SUBS), None, "{word:?}");
        }
    }
}
