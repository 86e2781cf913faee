//! Strings that come from the network (PTR names, TXT records, banners) are hostile until
//! proven otherwise. They are cleaned once, when they enter the model, so that no view, report
//! or terminal ever sees a control character.

/// Replace every control character (C0, DEL, C1) and every invisible formatting character
/// with U+FFFD, so that an escape sequence in a TXT record or a newline in a PTR name cannot
/// drive the terminal or break a table row, and a bidirectional override cannot make
/// `admin\u{202E}gnp.exe` display as `adminexe.png`.
pub fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if is_unsafe(c) { '\u{FFFD}' } else { c })
        .collect()
}

/// A control character or an invisible formatting character: what [`clean`] replaces, and
/// what every writer neutralises in strings it did not build (a report read from disk may
/// hold anything).
pub fn is_unsafe(c: char) -> bool {
    c.is_control() || invisible(c)
}

/// Characters that change how text around them is shown without showing themselves:
/// bidirectional embeddings, overrides, isolates and marks, zero-width spaces and joiners,
/// word joiners and invisible operators, the byte-order mark, and the interlinear annotation
/// and tag characters that some terminals also hide.
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}'                    // soft hyphen
        | '\u{034F}'                  // combining grapheme joiner
        | '\u{061C}'                  // Arabic letter mark
        | '\u{115F}' | '\u{1160}'      // Hangul fillers
        | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}'      // Mongolian variation selectors and vowel separator
        | '\u{200B}'..='\u{200F}'      // zero width space/joiners, LRM, RLM
        | '\u{202A}'..='\u{202E}'      // bidi embeddings and overrides
        | '\u{2060}'..='\u{206F}'      // word joiner, invisible operators, bidi isolates
        | '\u{3164}'                  // Hangul filler
        | '\u{FE00}'..='\u{FE0F}'      // variation selectors
        | '\u{FEFF}'                  // byte-order mark / zero width no-break space
        | '\u{FFA0}'
        | '\u{FFF9}'..='\u{FFFB}'      // interlinear annotation
        | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E007F}'    // tag characters
    )
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

    #[test]
    fn bidi_and_zero_width_are_neutralised() {
        assert_eq!(clean("admin\u{202E}gnp.exe"), "admin\u{FFFD}gnp.exe");
        assert_eq!(clean("a\u{2066}b\u{2069}c"), "a\u{FFFD}b\u{FFFD}c");
        assert_eq!(clean("pay\u{200B}pal\u{FEFF}"), "pay\u{FFFD}pal\u{FFFD}");
        // Visible non-ASCII text stays as it is.
        assert_eq!(clean("Büro-Drucker 東京"), "Büro-Drucker 東京");
    }
}
