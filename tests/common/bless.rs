//! Committed files that the code generates (man pages, completions, the report schema): a test
//! compares the file with what the code generates now and fails with the command that
//! regenerates it; with `NETDX_BLESS=1` it rewrites the file instead, and the diff is reviewed.

use std::path::Path;

/// `path` holds `got` byte for byte, or (NETDX_BLESS=1) is rewritten to. `regenerate` is the
/// command that blesses it, for the failure message.
pub fn check_committed(path: &Path, got: &[u8], regenerate: &str) {
    if std::env::var_os("NETDX_BLESS").is_some() {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, got).unwrap();
        return;
    }
    let want = std::fs::read(path)
        .unwrap_or_else(|e| panic!("{}: {e} (run {regenerate} to create it)", path.display()));
    if got != want {
        let (got, want) = (String::from_utf8_lossy(got), String::from_utf8_lossy(&want));
        let line = got
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .map_or_else(|| "length".to_string(), |i| format!("line {}", i + 1));
        panic!(
            "{} differs from what the code generates ({line}): regenerate with \
             {regenerate} and review the diff",
            path.display()
        );
    }
}
