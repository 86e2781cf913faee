//! The optional config file: settings a technician wants on every run without typing them.
//! Options layer as command line, then config file, then built-in default.
//!
//! Location: `$NETDX_CONFIG` when set, else `$XDG_CONFIG_HOME/netdx/config.toml`, else
//! `~/.config/netdx/config.toml`. A missing file is not an error; a damaged one is, with the
//! file and the key named, because a silently ignored setting is worse than a refusal.
//!
//! ```toml
//! [scan]
//! log = true              # record every completed scan in the history (netdx history)
//! ports = "top100"        # ports to check when -p is not given
//! resolver = "10.0.0.53"  # DNS server when --resolver is not given
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::cli::ScanArgs;

#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub scan: ScanDefaults,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanDefaults {
    pub log: Option<bool>,
    pub ports: Option<String>,
    pub resolver: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file '{path}': {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("config file '{path}': {message}")]
    Parse { path: String, message: String },
}

/// Where the config file is looked for, from the environment given (pure, for tests).
pub fn path_from(
    netdx_config: Option<std::ffi::OsString>,
    xdg_config_home: Option<std::ffi::OsString>,
    home: Option<std::ffi::OsString>,
) -> Option<PathBuf> {
    if let Some(p) = netdx_config.filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    // The XDG spec says a relative XDG_CONFIG_HOME is to be ignored.
    if let Some(x) = xdg_config_home
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
    {
        return Some(x.join("netdx").join("config.toml"));
    }
    home.filter(|h| !h.is_empty()).map(|h| {
        PathBuf::from(h)
            .join(".config")
            .join("netdx")
            .join("config.toml")
    })
}

pub fn default_path() -> Option<PathBuf> {
    path_from(
        std::env::var_os("NETDX_CONFIG"),
        std::env::var_os("XDG_CONFIG_HOME"),
        std::env::var_os("HOME"),
    )
}

pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    toml::from_str(text).map_err(|e| ConfigError::Parse {
        path: path.display().to_string(),
        // toml's message spans lines (it quotes the offending line); keep the first.
        message: e.message().lines().next().unwrap_or("invalid").to_string(),
    })
}

/// Load the config file at `path`; a file that does not exist is an empty config.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&text, path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
        Err(source) => Err(ConfigError::Read {
            path: path.display().to_string(),
            source,
        }),
    }
}

impl Config {
    /// Fill what the command line left unset. The command line always wins.
    pub fn apply_to(&self, args: &mut ScanArgs) {
        args.log |= self.scan.log.unwrap_or(false);
        if args.ports.is_none() {
            args.ports = self.scan.ports.clone();
        }
        if args.resolver.is_none() {
            args.resolver = self.scan.resolver.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn scan_args(argv: &[&str]) -> ScanArgs {
        let mut full = vec!["netdx", "scan"];
        full.extend_from_slice(argv);
        match crate::cli::Cli::parse_from(full).command {
            Some(crate::cli::Command::Scan(a)) => a,
            other => panic!("not a scan: {other:?}"),
        }
    }

    #[test]
    fn command_line_wins_over_config() {
        let cfg = parse(
            "[scan]\nlog = true\nports = \"top100\"\nresolver = \"10.0.0.53\"\n",
            Path::new("c.toml"),
        )
        .unwrap();
        let mut a = scan_args(&["10.0.0.1"]);
        cfg.apply_to(&mut a);
        assert!(a.log);
        assert_eq!(a.ports.as_deref(), Some("top100"));
        assert_eq!(a.resolver.as_deref(), Some("10.0.0.53"));
        let mut b = scan_args(&["10.0.0.1", "-p", "22", "--resolver", "10.0.0.54"]);
        cfg.apply_to(&mut b);
        assert_eq!(b.ports.as_deref(), Some("22"));
        assert_eq!(b.resolver.as_deref(), Some("10.0.0.54"));
    }

    #[test]
    fn typos_and_bad_types_are_errors_naming_the_file() {
        let e = parse("[scan]\nlgo = true\n", Path::new("/etc/x.toml")).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("/etc/x.toml") && msg.contains("lgo"), "{msg}");
        assert!(!msg.contains('\n'));
        let e = parse("[scan]\nlog = \"yes\"\n", Path::new("c.toml")).unwrap_err();
        assert!(e.to_string().contains("c.toml"), "{e}");
    }

    #[test]
    fn missing_file_is_empty_config() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            load(&dir.path().join("none.toml")).unwrap(),
            Config::default()
        );
    }

    #[test]
    fn location_follows_xdg() {
        use std::ffi::OsString;
        let o = |s: &str| Some(OsString::from(s));
        assert_eq!(
            path_from(o("/x/c.toml"), o("/cfg"), o("/home/u")),
            Some("/x/c.toml".into())
        );
        assert_eq!(
            path_from(None, o("/cfg"), o("/home/u")),
            Some("/cfg/netdx/config.toml".into())
        );
        assert_eq!(
            path_from(None, o("rel"), o("/home/u")),
            Some("/home/u/.config/netdx/config.toml".into())
        );
        assert_eq!(path_from(None, None, None), None);
    }
}
