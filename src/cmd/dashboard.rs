//! The live dashboard (`netdx [TARGETS...]`, `netdx tui`): [`DashboardArgs`] over the config
//! file -> [`DashboardConfig`], checked before the terminal is touched so a typo gets one
//! plain line and exit code 2, as with `netdx scan`; the exit code after a signal is 128 + its
//! number, as shells expect.

use std::process::ExitCode;
use std::time::Duration;

use crate::cli::{DashboardArgs, RemoteArgs, ThemeArg, TuiArgs};
use crate::cmd::config::ScanFileConfig;
use crate::core::model::ScanParameters;
use crate::output::Format;
use crate::ui::prober::ScanTemplate;
use crate::ui::runner::Exit;
use crate::ui::theme::Palette;
use crate::ui::{self, DashboardConfig};

pub fn config(args: DashboardArgs, file: &ScanFileConfig) -> Result<DashboardConfig, String> {
    if !(args.interval.is_finite() && (0.1..=3600.0).contains(&args.interval)) {
        return Err(format!(
            "--interval {}: must be between 0.1 and 3600 seconds",
            args.interval
        ));
    }
    let mut scan = args.scan;
    if let Some(out) = &scan.output
        && scan.format.is_none()
        && Format::from_path(out).is_none()
    {
        return Err(
            crate::output::ReportError::UnknownFormat(out.display().to_string()).to_string(),
        );
    }
    let mut targets = std::mem::take(&mut scan.targets);
    if let Some(file) = scan.targets_file.take() {
        targets.extend(crate::core::target::read_targets_file(&file).map_err(|e| e.to_string())?);
    }
    // Check every option now with the real targets, or with a stand-in address when none
    // were given (nothing is sent: this only parses), and keep the typed result.
    scan.targets = if targets.is_empty() {
        vec!["127.0.0.1".to_string()]
    } else {
        targets.clone()
    };
    let (cfg, params) = super::plan::scan_config(&scan, file).map_err(|e| e.to_string())?;
    let template = ScanTemplate {
        exclude: scan.exclude.clone(),
        allow_large: scan.allow_large,
        ports: cfg.ports,
        dns_queries: cfg.dns_queries,
        ping: cfg.ping,
        arp: cfg.arp,
        reverse_dns: cfg.reverse_dns,
        timeout: cfg.timeout,
        tries: cfg.tries,
        concurrency: cfg.concurrency,
        resolver: cfg.resolver,
        dns_timeout: cfg.dns_timeout,
        names: cfg.names,
    };
    Ok(DashboardConfig {
        targets,
        auto: args.auto,
        interval: Duration::from_secs_f64(args.interval),
        scan: template,
        parameters: ScanParameters {
            targets: Vec::new(),
            ..params
        },
        output: scan.output,
        format: scan.format.map(Format::from),
        log: file.log_wanted(scan.log, scan.no_log),
        wan_target: None,
        bell: args.bell,
        inventory: !args.no_inventory && file.inventory.unwrap_or(true),
        lan: args.auto && !args.no_lan,
        gone_after: args.gone_after,
        theme: args.theme.map(Palette::from),
    })
}

impl From<ThemeArg> for Palette {
    fn from(t: ThemeArg) -> Self {
        match t {
            ThemeArg::Dark => Palette::Dark,
            ThemeArg::Light => Palette::Light,
            ThemeArg::Mono => Palette::Mono,
        }
    }
}

/// `netdx [TARGETS...]` (no subcommand): as `netdx tui`, once the first word is known not to
/// be a mistyped subcommand (`netdx scna 10.0.0.1`); that check sends nothing.
pub fn run_default(args: DashboardArgs) -> anyhow::Result<ExitCode> {
    if let Some(e) = args
        .scan
        .targets
        .first()
        .and_then(|w| mistyped_subcommand(w))
    {
        return Ok(super::trouble(e));
    }
    run(args)
}

/// The error for a first word that looks like a mistyped subcommand.
fn mistyped_subcommand(word: &str) -> Option<String> {
    use clap::CommandFactory;
    let cli = crate::cli::Cli::command();
    let mut names: Vec<&str> = cli.get_subcommands().map(|c| c.get_name()).collect();
    names.push("help");
    let sub = super::typo::suggestion(word, &names)?;
    let shown = crate::core::sanitize::clean(word);
    Some(format!(
        "'{shown}' is not a subcommand: did you mean `{sub}`? (to monitor a host of that \
         name, write it with its domain or a trailing dot: {shown}.)"
    ))
}

/// `netdx tui`: the dashboard, or the remote view with `--remote`.
pub fn run_tui(args: TuiArgs) -> anyhow::Result<ExitCode> {
    if args.remote.remote.is_none() {
        return run(args.dashboard);
    }
    let password = std::env::var("NETDX_REMOTE_PASSWORD").ok();
    let config = match remote_config(&args.remote, &args.dashboard, password) {
        Ok(c) => c,
        Err(e) => return Ok(super::trouble(e)),
    };
    Ok(match ui::run_remote(config)? {
        Exit::Quit | Exit::InputClosed => ExitCode::SUCCESS,
        Exit::Signal(n) => ExitCode::from(128 + n as u8),
    })
}

/// The remote view's typed config; `password` is `NETDX_REMOTE_PASSWORD` (pure apart from
/// reading the token and password files; unit-tested).
pub fn remote_config(
    remote: &RemoteArgs,
    dashboard: &DashboardArgs,
    password: Option<String>,
) -> Result<ui::RemoteConfig, String> {
    use crate::serve::client::{Credentials, RemoteOptions, parse_url};
    let url = remote.remote.as_deref().unwrap_or_default();
    if !dashboard.scan.targets.is_empty() || dashboard.scan.targets_file.is_some() || dashboard.auto
    {
        return Err(
            "--remote shows another agent's checks and scans nothing: it takes no targets,              --targets-file or --auto"
                .to_string(),
        );
    }
    if !(remote.refresh.is_finite() && (0.2..=3600.0).contains(&remote.refresh)) {
        return Err(format!(
            "--refresh {}: must be between 0.2 and 3600 seconds",
            remote.refresh
        ));
    }
    let url = parse_url(url).map_err(|e| format!("--remote {e}"))?;
    let credentials = match (&remote.token_file, &remote.user) {
        (Some(f), _) => Credentials::Bearer(
            crate::serve::auth::Token::load(f)
                .map_err(|e| e.to_string())?
                .as_str()
                .to_string(),
        ),
        (None, Some(user)) => {
            let password = match &remote.password_file {
                Some(f) => std::fs::read_to_string(f)
                    .map_err(|e| format!("{}: cannot read: {e}", f.display()))?
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_string(),
                None => password.ok_or(
                    "--user needs the password in NETDX_REMOTE_PASSWORD or --password-file",
                )?,
            };
            Credentials::Basic {
                user: user.clone(),
                password,
            }
        }
        (None, None) => Credentials::None,
    };
    if url.scheme() == "http" && credentials != Credentials::None {
        eprintln!("netdx: warning: credentials over plain http:// can be read on the way");
    }
    Ok(ui::RemoteConfig {
        options: RemoteOptions {
            url,
            credentials,
            ca_cert: remote.ca_cert.clone(),
        },
        refresh: Duration::from_secs_f64(remote.refresh),
    })
}

pub fn run(args: DashboardArgs) -> anyhow::Result<ExitCode> {
    let file = match super::config::load_default() {
        Ok(f) => f,
        Err(code) => return Ok(code),
    };
    let mut config = match config(args, &file.scan) {
        Ok(c) => c,
        Err(e) => return Ok(super::trouble(e)),
    };
    config.theme = config.theme.or(file.dashboard.theme);
    config.wan_target =
        file.dashboard
            .wan_target
            .map(|(addr, port)| crate::ui::health::WanTarget {
                addr,
                port,
                configured: true,
            });
    Ok(match ui::run(config)? {
        Exit::Quit | Exit::InputClosed => ExitCode::SUCCESS,
        Exit::Signal(n) => ExitCode::from(128 + n as u8),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn tui(argv: &[&str]) -> TuiArgs {
        let argv = ["netdx", "tui"].into_iter().chain(argv.iter().copied());
        match crate::cli::Cli::parse_from(argv).command {
            Some(crate::cli::Command::Tui(t)) => t,
            other => panic!("not tui: {other:?}"),
        }
    }

    #[test]
    fn remote_options() {
        use crate::serve::client::Credentials;
        let r = |argv: &[&str], pw: Option<&str>| {
            let t = tui(argv);
            remote_config(&t.remote, &t.dashboard, pw.map(str::to_string))
        };
        let c = r(&["--remote", "http://127.0.0.1:9430"], None).expect("valid");
        assert_eq!(c.refresh, Duration::from_secs(2));
        assert_eq!(c.options.credentials, Credentials::None);
        let c = r(
            &[
                "--remote",
                "https://10.0.0.5:9430",
                "--user",
                "u",
                "--refresh",
                "0.5",
            ],
            Some("pw"),
        )
        .expect("valid");
        assert_eq!(
            c.options.credentials,
            Credentials::Basic {
                user: "u".into(),
                password: "pw".into()
            }
        );
        assert_eq!(c.refresh, Duration::from_millis(500));
        let e = |argv: &[&str]| r(argv, None).expect_err("invalid");
        assert!(e(&["--remote", "https://h", "--user", "u"]).contains("NETDX_REMOTE_PASSWORD"));
        assert!(e(&["--remote", "https://h", "10.0.0.1"]).contains("takes no targets"));
        assert!(e(&["--remote", "ftp://h"]).starts_with("--remote ftp://h"));
        assert!(e(&["--remote", "http://h", "--refresh", "0"]).starts_with("--refresh"));
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("pw");
        std::fs::write(&f, "from-file\n").expect("write");
        let c = r(
            &[
                "--remote",
                "https://h",
                "--user",
                "u",
                "--password-file",
                f.to_str().unwrap(),
            ],
            Some("env"),
        )
        .expect("valid");
        assert!(
            matches!(c.options.credentials, Credentials::Basic { password, .. } if password == "from-file")
        );
    }

    fn args(argv: &[&str]) -> DashboardArgs {
        crate::cli::Cli::parse_from(std::iter::once("netdx").chain(argv.iter().copied())).dashboard
    }

    #[test]
    fn options_become_a_typed_template_once() {
        let file = ScanFileConfig {
            log: Some(true),
            inventory: None,
            ports: Some((
                "top100".into(),
                crate::core::ports::parse_ports("top100").unwrap(),
            )),
            resolver: Some("10.0.0.53:53".parse().unwrap()),
        };
        let argv = [
            "10.0.0.0/24",
            "--exclude",
            "10.0.0.1",
            "--timeout",
            "300",
            "--dns-timeout",
            "700",
            "--no-rdns",
            "--interval",
            "5",
        ];
        let c = config(args(&argv), &file).unwrap();
        assert_eq!(c.targets, ["10.0.0.0/24"]);
        assert_eq!(c.interval, Duration::from_secs(5));
        assert!(c.log, "from the config file");
        assert_eq!(c.parameters.ports.as_deref(), Some("top100"));
        assert!(c.parameters.targets.is_empty());
        let t = &c.scan;
        assert_eq!(t.ports.as_ref().map(|p| p.len()), Some(100));
        assert_eq!(t.resolver, Some("10.0.0.53:53".parse().unwrap()));
        assert_eq!(t.timeout, Duration::from_millis(300));
        assert_eq!(t.dns_timeout, Duration::from_millis(700));
        assert!(t.ping && t.arp && !t.reverse_dns);
        assert_eq!(t.exclude, ["10.0.0.1"]);

        let d = crate::ui::prober::diagnose_config(t, None);
        assert!(d.targets.is_empty());
        assert_eq!(d.resolver, t.resolver);
        assert_eq!(d.trace.timeout, Duration::from_millis(300));

        // No targets: the options are still checked, with a stand-in that is never scanned.
        let c = config(args(&[]), &ScanFileConfig::default()).unwrap();
        assert!(c.targets.is_empty() && !c.log);
        assert_eq!(c.scan, ScanTemplate::default());
    }

    #[test]
    fn a_mistyped_subcommand_is_refused_without_a_lookup() {
        let e = mistyped_subcommand("scna").unwrap();
        assert!(e.contains("did you mean `scan`?"), "{e}");
        assert!(
            mistyped_subcommand("diagnsoe")
                .unwrap()
                .contains("`diagnose`")
        );
        assert_eq!(mistyped_subcommand("10.0.0.1"), None);
        assert_eq!(mistyped_subcommand("scna."), None);
        assert_eq!(mistyped_subcommand("web"), None);
    }

    #[test]
    fn bad_options_are_refused_before_the_terminal_is_touched() {
        let none = ScanFileConfig::default();
        assert!(config(args(&["--resolver", "not an address"]), &none).is_err());
        assert!(config(args(&["--interval", "0"]), &none).is_err());
        assert!(config(args(&["-o", "out.txt"]), &none).is_err());
        assert!(config(args(&["10.0.0.1", "-p", "htp"]), &none).is_err());
    }
}
