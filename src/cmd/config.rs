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
//! inventory = false       # do not record scans in the device inventory (netdx inventory)
//! ports = "top100"        # ports to check when -p is not given
//! resolver = "10.0.0.53"  # DNS server when --resolver is not given
//!
//! [dashboard]
//! wan_target = "203.0.113.53"  # the header's WAN check (ADDR pings, ADDR:PORT connects)
//! theme = "light"              # dark | light | mono (under --theme, over NO_COLOR)
//! ```

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::core::ports::{self, PortList};
use crate::net::dns;
use crate::ui::theme::Palette;

/// The config file, parsed and checked: every value typed, so a bad one is refused when the
/// file is read, naming the file and the key, not later in the middle of a scan.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FileConfig {
    pub scan: ScanFileConfig,
    pub dashboard: DashboardFileConfig,
}

/// The `[dashboard]` table.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DashboardFileConfig {
    /// Where the header's WAN check goes: an address (pinged) or address and port (TCP
    /// connect). An address, not a name, so the WAN cell never depends on DNS. Without it the
    /// check goes to the first public resolver of resolv.conf, or nowhere.
    pub wan_target: Option<(IpAddr, Option<u16>)>,
    /// The dashboard's colours; `--theme` wins over it, it wins over `NO_COLOR` (a user's
    /// own config file may override NO_COLOR, as no-color.org says).
    pub theme: Option<Palette>,
}

/// The `[scan]` table: defaults for `netdx scan` and the dashboard, under the command line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ScanFileConfig {
    /// Record every completed scan in the history.
    pub log: Option<bool>,
    /// Record scans in the device inventory (`Some(true)` asks for it explicitly: a failure
    /// to record then fails the command).
    pub inventory: Option<bool>,
    /// Ports to check when `-p` is not given: the spec as written (reports record it) and
    /// the ports it names.
    pub ports: Option<(String, PortList)>,
    /// DNS server when `--resolver` is not given.
    pub resolver: Option<SocketAddr>,
}

impl ScanFileConfig {
    /// Whether to record in the history: `--log` or the file's `log = true`, unless
    /// `--no-log` switches the file's setting off for this run.
    pub fn log_wanted(&self, log: bool, no_log: bool) -> bool {
        !no_log && (log || self.log.unwrap_or(false))
    }
}

/// The file as TOML has it, before the values are checked.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    scan: RawScan,
    #[serde(default)]
    dashboard: RawDashboard,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDashboard {
    wan_target: Option<String>,
    theme: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScan {
    log: Option<bool>,
    inventory: Option<bool>,
    ports: Option<String>,
    resolver: Option<String>,
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

pub fn parse(text: &str, path: &Path) -> Result<FileConfig, ConfigError> {
    let bad = |message: String| ConfigError::Parse {
        path: path.display().to_string(),
        message,
    };
    let raw: RawConfig = toml::from_str(text).map_err(|e| {
        // toml's message spans lines (it quotes the offending line); keep the first.
        bad(e.message().lines().next().unwrap_or("invalid").to_string())
    })?;
    let ports = raw
        .scan
        .ports
        .map(|spec| {
            let list = ports::parse_ports(&spec).map_err(|e| bad(format!("scan.ports: {e}")))?;
            Ok((spec, list))
        })
        .transpose()?;
    let resolver = raw
        .scan
        .resolver
        .as_deref()
        .map(|r| dns::parse_resolver(r).map_err(|e| bad(format!("scan.resolver: {e}"))))
        .transpose()?;
    let wan_target = raw
        .dashboard
        .wan_target
        .as_deref()
        .map(|t| {
            parse_wan_target(t).ok_or_else(|| bad(format!(
            "dashboard.wan_target: '{t}' is not an IP address or IP:PORT (a name would make \
             the WAN check depend on DNS)"
        )))
        })
        .transpose()?;
    let theme = raw
        .dashboard
        .theme
        .as_deref()
        .map(|t| match t {
            "dark" => Ok(Palette::Dark),
            "light" => Ok(Palette::Light),
            "mono" => Ok(Palette::Mono),
            other => Err(bad(format!(
                "dashboard.theme: '{other}' is not dark, light or mono"
            ))),
        })
        .transpose()?;
    Ok(FileConfig {
        scan: ScanFileConfig {
            log: raw.scan.log,
            inventory: raw.scan.inventory,
            ports,
            resolver,
        },
        dashboard: DashboardFileConfig { wan_target, theme },
    })
}

/// `203.0.113.53`, `2001:db8::53`, `10.0.0.1:443`, `[2001:db8::53]:53`.
fn parse_wan_target(s: &str) -> Option<(IpAddr, Option<u16>)> {
    let t = s.trim();
    if let Ok(ip) = t.parse::<IpAddr>() {
        return Some((ip, None));
    }
    let sa = t.parse::<SocketAddr>().ok()?;
    (sa.port() != 0).then_some((sa.ip(), Some(sa.port())))
}

/// Load the config file at `path`; a file that does not exist is an empty config.
pub fn load(path: &Path) -> Result<FileConfig, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&text, path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FileConfig::default()),
        Err(source) => Err(ConfigError::Read {
            path: path.display().to_string(),
            source,
        }),
    }
}

/// The config file at the default location, for the commands that use it. An unreadable
/// file (say, another user's home after setpriv or sudo -E) is a warning and the defaults;
/// a damaged one is an error line and exit code 2.
pub fn load_default() -> Result<FileConfig, std::process::ExitCode> {
    let Some(path) = default_path() else {
        return Ok(FileConfig::default());
    };
    match load(&path) {
        Ok(config) => Ok(config),
        Err(e @ ConfigError::Read { .. }) => {
            eprintln!("netdx: warning: {e}; using defaults");
            Ok(FileConfig::default())
        }
        Err(e) => Err(super::trouble(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn scan_args(argv: &[&str]) -> crate::cli::ScanArgs {
        let mut full = vec!["netdx", "scan"];
        full.extend_from_slice(argv);
        match crate::cli::Cli::parse_from(full).command {
            Some(crate::cli::Command::Scan(a)) => a.scan,
            other => panic!("not a scan: {other:?}"),
        }
    }

    #[test]
    fn command_line_wins_over_config() {
        let file = parse(
            "[scan]\nlog = true\nports = \"top100\"\nresolver = \"10.0.0.53\"\n",
            Path::new("c.toml"),
        )
        .unwrap();
        assert_eq!(file.scan.log, Some(true));
        let (cfg, params) =
            super::super::plan::scan_config(&scan_args(&["10.0.0.1"]), &file.scan).unwrap();
        assert_eq!(cfg.ports.as_ref().map(PortList::len), Some(100));
        assert_eq!(params.ports.as_deref(), Some("top100"));
        assert_eq!(cfg.resolver, Some("10.0.0.53:53".parse().unwrap()));
        let argv = ["10.0.0.1", "-p", "22", "--resolver", "10.0.0.54"];
        let (cfg, params) = super::super::plan::scan_config(&scan_args(&argv), &file.scan).unwrap();
        assert_eq!(cfg.ports.as_ref().map(PortList::as_slice), Some(&[22][..]));
        assert_eq!(params.ports.as_deref(), Some("22"));
        assert_eq!(cfg.resolver, Some("10.0.0.54:53".parse().unwrap()));
        assert_eq!(params.resolver.as_deref(), Some("10.0.0.54:53"));
    }

    #[test]
    fn bad_values_are_refused_when_read_naming_file_and_key() {
        let e = parse("[scan]\nports = \"22,htp\"\n", Path::new("c.toml")).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("c.toml") && msg.contains("scan.ports"),
            "{msg}"
        );
        let e = parse("[scan]\nresolver = \"nowhere\"\n", Path::new("c.toml")).unwrap_err();
        assert!(e.to_string().contains("scan.resolver"), "{e}");
        assert!(!e.to_string().contains('\n'));
    }

    #[test]
    fn wan_target_is_an_address_with_an_optional_port() {
        let f = parse(
            "[dashboard]\nwan_target = \"203.0.113.53\"\n",
            Path::new("c.toml"),
        )
        .unwrap();
        assert_eq!(
            f.dashboard.wan_target,
            Some(("203.0.113.53".parse().unwrap(), None))
        );
        let f = parse(
            "[dashboard]\nwan_target = \"[2001:db8::53]:53\"\n",
            Path::new("c.toml"),
        )
        .unwrap();
        assert_eq!(
            f.dashboard.wan_target,
            Some(("2001:db8::53".parse().unwrap(), Some(53)))
        );
        for bad in ["dns.example.net", "203.0.113.53:0", "203.0.113.53:http", ""] {
            let text = format!("[dashboard]\nwan_target = \"{bad}\"\n");
            let e = parse(&text, Path::new("c.toml")).unwrap_err().to_string();
            assert!(e.contains("dashboard.wan_target"), "{bad}: {e}");
        }
        assert_eq!(
            parse("", Path::new("c.toml")).unwrap().dashboard.wan_target,
            None
        );
    }

    #[test]
    fn theme_is_dark_light_or_mono() {
        let f = parse("[dashboard]\ntheme = \"mono\"\n", Path::new("c.toml")).unwrap();
        assert_eq!(f.dashboard.theme, Some(Palette::Mono));
        let e = parse("[dashboard]\ntheme = \"pink\"\n", Path::new("c.toml")).unwrap_err();
        assert!(e.to_string().contains("dashboard.theme"), "{e}");
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
            FileConfig::default()
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
