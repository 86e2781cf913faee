//! Names from `/etc/hosts`, consulted before DNS when netdx uses the system's resolver, the
//! way the C library's `files dns` order does: a technician who pinned a device's name there
//! expects `netdx scan printer` to find it.

use std::net::IpAddr;

/// Addresses `text` (hosts-file syntax) gives for `name`, in file order, without duplicates.
/// Names compare case-insensitively and without a trailing dot.
pub fn lookup(text: &str, name: &str) -> Vec<IpAddr> {
    let want = name.trim_end_matches('.');
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut fields = line.split_whitespace();
        let Some(Ok(ip)) = fields.next().map(str::parse::<IpAddr>) else {
            continue;
        };
        if fields.any(|n| n.trim_end_matches('.').eq_ignore_ascii_case(want)) && !out.contains(&ip)
        {
            out.push(ip);
        }
    }
    out
}

/// [`lookup`] in the system's `/etc/hosts` (empty when it cannot be read).
pub fn lookup_system(name: &str) -> Vec<IpAddr> {
    std::fs::read_to_string("/etc/hosts")
        .map(|t| lookup(&t, name))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_aliases_both_families_and_skips_comments() {
        let text = "\
127.0.0.1 localhost
10.1.2.3   printer.corp printer  # the big one
# 10.9.9.9 printer
fd00::3 PRINTER
not-an-ip printer
10.1.2.3 printer
";
        assert_eq!(
            lookup(text, "Printer."),
            vec![
                "10.1.2.3".parse::<IpAddr>().unwrap(),
                "fd00::3".parse().unwrap()
            ]
        );
        assert_eq!(lookup(text, "printer.corp").len(), 1);
        assert!(lookup(text, "scanner").is_empty());
    }
}
