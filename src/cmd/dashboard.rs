//! The live dashboard (`netdx [TARGETS...]`, `netdx tui`): [`DashboardArgs`] over the config
//! file -> [`DashboardConfig`], checked before the terminal is touched so a typo gets one
//! plain line and exit code 2, as with `netdx scan`; the exit code after a signal is 128 + its
//! number, as shells expect.

use std::process::ExitCode;
use std::time::Duration;

use crate::cli::DashboardArgs;
use crate::cmd::config::ScanFileConfig;
use crate::core::model::ScanParameters;
use crate::output::Format;
use crate::ui::prober::ScanTemplate;
use crate::ui::runner::Exit;
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
        log: scan.log || file.log.unwrap_or(false),
        wan_target: None,
        bell: args.bell,
        inventory: !args.no_inventory && file.inventory.unwrap_or(true),
        lan: args.auto && !args.no_lan,
        gone_after: args.gone_after,
    })
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

pub fn run(args: DashboardArgs) -> anyhow::Result<ExitCode> {
    let file = match super::config::load_default() {
        Ok(f) => f,
        Err(code) => return Ok(code),
    };
    let mut config = match config(args, &file.scan) {
        Ok(c) => c,
        Err(e) => return Ok(super::trouble(e)),
    };
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
