//! Optional bearer token and HTTP basic auth on `/metrics`, `/` and `/api/v1/checks`
//! (`/healthz` stays open for load balancers and systemd checks). Credentials come only from
//! the `Authorization` header, never the URL (URLs end up in logs and browser history). The
//! token is compared in constant time; passwords are checked against bcrypt hashes (the
//! `bcrypt` crate compares the derived hash in constant time), and an unknown user costs the
//! same bcrypt run as a known one, so timing tells nothing about which users exist.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use base64::Engine as _;

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

    /// The token itself (visible ASCII), for a client that sends it.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// Whether an `Authorization` header value carries this token (`Bearer <token>`).
    pub fn accepts(&self, header: Option<&[u8]>) -> bool {
        let Some(h) = header else { return false };
        let Some(given) = scheme(h, b"bearer") else {
            return false;
        };
        constant_time_eq(given, &self.0)
    }
}

/// `basic_auth_users`: user name -> bcrypt hash (never a password).
#[derive(Clone)]
pub struct BasicUsers {
    users: BTreeMap<String, String>,
    /// A hash of a random password at the users' cost, checked for unknown users so that
    /// they cost as much time as known ones.
    decoy: String,
    /// The last `Authorization` value bcrypt accepted, per user: a scrape every 15 s or a
    /// remote view polling every 2 s would otherwise pay a full bcrypt run (tens of ms of a
    /// core at cost 10) per request. Compared in constant time; dropped with the users on
    /// reload, so a changed password is never served from here.
    accepted: Arc<std::sync::Mutex<BTreeMap<String, Vec<u8>>>>,
}

impl PartialEq for BasicUsers {
    fn eq(&self, other: &BasicUsers) -> bool {
        self.users == other.users
    }
}

impl std::fmt::Debug for BasicUsers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The names only: hashes can be attacked offline.
        f.debug_tuple("BasicUsers")
            .field(&self.users.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl BasicUsers {
    /// Every value must be a bcrypt hash (`$2a$`, `$2b$`, `$2x$`, `$2y$`); the failing user
    /// and why otherwise.
    pub fn new(map: BTreeMap<String, String>) -> Result<BasicUsers, (String, String)> {
        let mut cost = bcrypt::DEFAULT_COST;
        for (user, hash) in &map {
            if user.contains(':') {
                return Err((user.clone(), "a user name cannot contain ':'".to_string()));
            }
            match hash.parse::<bcrypt::HashParts>() {
                Ok(p) => cost = p.get_cost(),
                Err(_) => {
                    return Err((
                        user.clone(),
                        "not a bcrypt hash (store `htpasswd -nbB` output, never a password)"
                            .to_string(),
                    ));
                }
            }
        }
        let decoy = bcrypt::hash_with_salt(rand::random::<[u8; 16]>(), cost, rand::random())
            .map(|h| h.to_string())
            .map_err(|e| (String::new(), e.to_string()))?;
        Ok(BasicUsers {
            users: map,
            decoy,
            accepted: Arc::default(),
        })
    }

    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Whether `header` is exactly the value bcrypt last accepted for its user (no bcrypt
    /// run; cheap enough for the async threads).
    pub fn recently_accepted(&self, header: Option<&[u8]>) -> bool {
        let Some(h) = header else { return false };
        let Some((user, _)) = basic_credentials(h) else {
            return false;
        };
        let cache = self.accepted.lock().unwrap_or_else(|e| e.into_inner());
        cache.get(&user).is_some_and(|c| constant_time_eq(c, h))
    }

    /// Whether an `Authorization: Basic ...` value names a user with the right password.
    /// Runs bcrypt (tens of ms at cost 10): call it off the async threads.
    pub fn accepts(&self, header: Option<&[u8]>) -> bool {
        let Some((user, password)) = header.and_then(basic_credentials) else {
            return false;
        };
        match self.users.get(&user) {
            Some(hash) => {
                let ok = bcrypt::verify(&password, hash).unwrap_or(false);
                if ok && let Some(h) = header {
                    self.accepted
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(user, h.to_vec());
                }
                ok
            }
            None => {
                let _ = bcrypt::verify(&password, &self.decoy);
                false
            }
        }
    }
}

/// `Basic base64(user:password)` -> (user, password).
fn basic_credentials(h: &[u8]) -> Option<(String, Vec<u8>)> {
    let rest = scheme(h, b"basic")?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(rest.trim_ascii())
        .ok()?;
    let colon = raw.iter().position(|&b| b == b':')?;
    let user = String::from_utf8(raw[..colon].to_vec()).ok()?;
    Some((user, raw[colon + 1..].to_vec()))
}

/// The rest of an `Authorization` value after `scheme` and a space (scheme case-insensitive,
/// as RFC 9110 says).
fn scheme<'a>(h: &'a [u8], scheme: &[u8]) -> Option<&'a [u8]> {
    let n = scheme.len();
    (h.len() > n && h[..n].eq_ignore_ascii_case(scheme) && h[n] == b' ').then(|| &h[n + 1..])
}

/// What a guarded route asks for: nothing, a bearer token, basic auth, or either.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Access {
    pub token: Option<Token>,
    pub users: Option<BasicUsers>,
}

/// How a request fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    Denied,
    /// Basic credentials were given: the bcrypt check must run (off the async threads).
    NeedsBcrypt,
}

impl Access {
    pub fn is_open(&self) -> bool {
        self.token.is_none() && self.users.is_none()
    }

    /// The cheap part of the decision: open access, a bearer token, or a basic header that
    /// [`BasicUsers::accepts`] must judge.
    pub fn check(&self, header: Option<&[u8]>) -> Verdict {
        if self.is_open() {
            return Verdict::Allowed;
        }
        if let Some(t) = &self.token
            && t.accepts(header)
        {
            return Verdict::Allowed;
        }
        if let Some(u) = &self.users
            && header.is_some_and(|h| scheme(h, b"basic").is_some())
        {
            if u.recently_accepted(header) {
                return Verdict::Allowed;
            }
            return Verdict::NeedsBcrypt;
        }
        Verdict::Denied
    }

    /// The `WWW-Authenticate` challenges a 401 carries.
    pub fn challenges(&self) -> Vec<&'static str> {
        let mut c = Vec::new();
        if self.users.is_some() {
            c.push("Basic realm=\"netdx\", charset=\"UTF-8\"");
        }
        if self.token.is_some() {
            c.push("Bearer");
        }
        c
    }
}

/// The access rules in force, swapped on SIGHUP while requests read them.
#[derive(Debug, Clone, Default)]
pub struct SharedAccess(Arc<RwLock<Arc<Access>>>);

impl SharedAccess {
    pub fn new(access: Access) -> SharedAccess {
        SharedAccess(Arc::new(RwLock::new(Arc::new(access))))
    }

    pub fn get(&self) -> Arc<Access> {
        Arc::clone(&self.0.read().unwrap_or_else(|e| e.into_inner()))
    }

    pub fn set(&self, access: Access) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(access);
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

    fn users(password: &str) -> BasicUsers {
        let hash = bcrypt::hash_with_salt(password, 4, [3u8; 16])
            .expect("hash")
            .format_for_version(bcrypt::Version::TwoY);
        BasicUsers::new(BTreeMap::from([("prom".to_string(), hash)])).expect("valid")
    }

    fn basic(user_pass: &str) -> Vec<u8> {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(user_pass)
        )
        .into_bytes()
    }

    #[test]
    fn basic_auth_good_and_bad_passwords() {
        let u = users("correct horse");
        assert!(u.accepts(Some(&basic("prom:correct horse"))));
        assert!(!u.accepts(Some(&basic("prom:correct hors"))));
        assert!(!u.accepts(Some(&basic("prom:"))));
        assert!(
            !u.accepts(Some(&basic("other:correct horse"))),
            "unknown user"
        );
        assert!(!u.accepts(Some(b"Basic !!notbase64")));
        assert!(!u.accepts(Some(&basic("no-colon"))));
        assert!(!u.accepts(None));
        // The scheme is case-insensitive; a password may hold ':'.
        let u = users("a:b");
        let mut h = basic("prom:a:b");
        h[..5].copy_from_slice(b"BASIC");
        assert!(u.accepts(Some(&h)));
        assert_eq!(format!("{u:?}"), "BasicUsers([\"prom\"])");
    }

    #[test]
    fn decoy_has_the_users_cost() {
        let u = users("pw");
        let decoy: bcrypt::HashParts = u.decoy.parse().expect("valid bcrypt");
        assert_eq!(decoy.get_cost(), 4);
    }

    #[test]
    fn plaintext_and_bad_names_are_refused() {
        let bad = BasicUsers::new(BTreeMap::from([("u".to_string(), "secret".to_string())]));
        assert!(matches!(bad, Err((u, why)) if u == "u" && why.contains("bcrypt")));
        let hash = users("x").users["prom"].clone();
        assert!(BasicUsers::new(BTreeMap::from([("a:b".to_string(), hash)])).is_err());
    }

    #[test]
    fn access_combines_token_and_users() {
        let token = Token::parse("f", "tok").expect("valid");
        let open = Access::default();
        assert_eq!(open.check(None), Verdict::Allowed);
        let both = Access {
            token: Some(token),
            users: Some(users("pw")),
        };
        assert_eq!(both.check(Some(b"Bearer tok")), Verdict::Allowed);
        assert_eq!(both.check(Some(b"bearer tok")), Verdict::Allowed);
        assert_eq!(both.check(Some(b"Bearer nope")), Verdict::Denied);
        assert_eq!(both.check(Some(&basic("prom:pw"))), Verdict::NeedsBcrypt);
        // Once bcrypt accepted that exact value, it is let in without another run; any other
        // value for that user still goes to bcrypt.
        let users = both.users.as_ref().expect("users");
        assert!(users.accepts(Some(&basic("prom:pw"))));
        assert_eq!(both.check(Some(&basic("prom:pw"))), Verdict::Allowed);
        assert_eq!(both.check(Some(&basic("prom:pX"))), Verdict::NeedsBcrypt);
        assert!(!users.accepts(Some(&basic("prom:pX"))));
        assert_eq!(both.check(Some(&basic("prom:pw"))), Verdict::Allowed);
        assert_eq!(both.check(None), Verdict::Denied);
        assert_eq!(both.challenges().len(), 2);
        let token_only = Access {
            token: both.token.clone(),
            users: None,
        };
        assert_eq!(token_only.check(Some(&basic("prom:pw"))), Verdict::Denied);
        assert_eq!(token_only.challenges(), vec!["Bearer"]);
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
