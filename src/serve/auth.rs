//! Optional bearer token on `/metrics` and `/` (`/healthz` stays open for load balancers and
//! systemd checks). The token comes only from the `Authorization` header, never the URL
//! (URLs end up in logs and browser history), and is compared in constant time.

use std::path::Path;

/// The token as read from its file: surrounding whitespace (a final newline) dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(Vec<u8>);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        f.write_str("Token(..)")
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TokenError {
    #[error("{file}: cannot read: {why}")]
    Read { file: String, why: String },
    #[error("{file}: the token is empty")]
    Empty { file: String },
    #[error("{file}: the token must be visible ASCII (no spaces or control characters)")]
    Chars { file: String },
}

impl Token {
    /// Read the token file.
    pub fn load(path: &Path) -> Result<Token, TokenError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| TokenError::Read {
            file: file.clone(),
            why: e.to_string(),
        })?;
        Token::parse(&file, &text)
    }

    fn parse(file: &str, text: &str) -> Result<Token, TokenError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(TokenError::Empty {
                file: file.to_string(),
            });
        }
        if !t.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(TokenError::Chars {
                file: file.to_string(),
            });
        }
        Ok(Token(t.as_bytes().to_vec()))
    }

    /// Whether an `Authorization` header value carries this token (`Bearer <token>`).
    pub fn accepts(&self, header: Option<&[u8]>) -> bool {
        let Some(h) = header else { return false };
        let Some(given) = h
            .strip_prefix(b"Bearer ")
            .or_else(|| h.strip_prefix(b"bearer "))
        else {
            return false;
        };
        constant_time_eq(given, &self.0)
    }
}

/// Equal without an early exit: the time depends on the lengths only.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() ^ b.len()) as u8 | u8::from(a.len() != b.len());
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_only_and_exact() {
        let t = Token::parse("f", "s3cret-token\n").expect("valid");
        assert!(t.accepts(Some(b"Bearer s3cret-token")));
        assert!(!t.accepts(Some(b"Bearer s3cret-toke")));
        assert!(!t.accepts(Some(b"Bearer s3cret-tokenX")));
        assert!(!t.accepts(Some(b"Basic s3cret-token")));
        assert!(!t.accepts(Some(b"s3cret-token")));
        assert!(!t.accepts(None));
        assert_eq!(format!("{t:?}"), "Token(..)");
    }

    #[test]
    fn bad_files() {
        assert_eq!(
            Token::parse("f", " \n"),
            Err(TokenError::Empty { file: "f".into() })
        );
        assert!(matches!(
            Token::parse("f", "a b"),
            Err(TokenError::Chars { .. })
        ));
    }
}
