//! Strings that come from the network (PTR names, TXT records, banners) are hostile until
//! proven otherwise. They are cleaned once, when they enter the model, so that no view, report
//! or terminal ever sees a control character.

/// Replace every control character (C0, DEL, C1) with U+FFFD so that an escape sequence in a
/// TXT record or a newline in a PTR name cannot drive the terminal or break a table row.
pub fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_escape_and_newline() {
        assert_eq!(
            clean("a\x1b[31mb\nc\u{9b}d"),
            "a\u{FFFD}[31mb\u{FFFD}c\u{FFFD}d"
        );
        assert_eq!(clean("plain.lab.test"), "plain.lab.test");
    }
}
