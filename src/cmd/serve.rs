//! `netdx serve`: [`ServeArgs`] (and the config file) -> [`ServeConfig`], logging set up,
//! then the agent runs until a signal. `--check-config` only validates.

use std::net::IpAddr;
use std::path::Path;
use std::process::ExitCode;

use crate::cli::{LogFormat, ServeArgs};
use crate::net::session::SessionOptions;
use crate::serve::config::{self, ConfigError, DEFAULT_FLAP, DEFAULT_LISTEN, ServeConfig};

/// The typed configuration: command-line checks, then the file's (pure apart from reading
/// the file; unit-tested).
pub fn serve_config(args: &ServeArgs) -> Result<ServeConfig, ConfigError> {
    let cli = |s: String| ConfigError::Cli(s);
    let every = config::interval(args.interval).map_err(|why| cli(format!("--interval: {why}")))?;
    let targets = args
        .targets
        .iter()
        .map(|t| {
            t.trim().parse::<IpAddr>().map_err(|_| {
                cli(format!(
                    "target '{t}' is not an IP address (serve checks addresses; put names in \
                     a dns check)"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let ports = match &args.ports {
        None => Vec::new(),
        Some(p) => crate::core::ports::parse_ports(p)
            .map_err(|e| cli(format!("-p: {e}")))?
            .as_slice()
            .to_vec(),
    };
    if !ports.is_empty() && targets.is_empty() {
        return Err(cli("-p needs at least one TARGET".to_string()));
    }
    let dns = args
        .dns
        .iter()
        .map(|q| crate::net::dns::parse_query(q).map_err(|e| cli(format!("--dns: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let mut checks = config::cli_checks(&targets, &ports, &dns, every);
    let listen = match &args.listen {
        // Named on the command line: any address, that is "asked for".
        Some(l) => config::parse_listen(l).map_err(|why| cli(format!("--listen: {why}")))?,
        None => DEFAULT_LISTEN,
    };
    let mut cfg = ServeConfig {
        listen,
        checks: Vec::new(),
        flap: DEFAULT_FLAP,
        file: args.config.clone(),
        token: None,
        web: None,
    };
    let mut token_file = args.token_file.clone();
    if let Some(path) = &args.config {
        let file = config::load_file(path)?;
        cfg.flap = file.flap.unwrap_or(DEFAULT_FLAP);
        if args.listen.is_none()
            && let Some(l) = file.listen
        {
            cfg.listen = l;
        }
        checks.extend(file.checks);
        token_file = token_file.or(file.token_file);
    }
    if let Some(t) = &token_file {
        cfg.token = Some(crate::serve::auth::Token::load(t)?);
    }
    if let Some(w) = &args.web_config {
        cfg.web = Some(crate::serve::web_config::load(w).map_err(|e| cli(e.to_string()))?);
    }
    config::unique(&checks).map_err(|(_, why)| cli(format!("check names: {why}")))?;
    if checks.is_empty() {
        return Err(cli(
            "nothing to check: give TARGETS, --dns or a --config file with [[check]] entries"
                .to_string(),
        ));
    }
    if checks.len() > config::MAX_CHECKS {
        return Err(cli(format!(
            "{} checks; at most {}",
            checks.len(),
            config::MAX_CHECKS
        )));
    }
    cfg.checks = checks;
    Ok(cfg)
}

/// Validate a config file: exit 0 valid, 2 with the one-line error.
fn check_config(path: &Path) -> ExitCode {
    match config::load_file(path) {
        Ok(f) => {
            println!("{}: valid, {} checks", path.display(), f.checks.len());
            ExitCode::SUCCESS
        }
        Err(e) => super::trouble(e),
    }
}

/// Logs on stderr: `key=value` text or JSON lines.
fn init_logging(format: LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

pub fn run(args: ServeArgs) -> ExitCode {
    if let Some(path) = &args.check_config {
        return check_config(path);
    }
    let cfg = match serve_config(&args) {
        Ok(c) => c,
        Err(e) => return super::trouble(e),
    };
    init_logging(args.log_format);
    if !cfg.listen.ip().is_loopback() {
        tracing::warn!(listen = %cfg.listen, "listening beyond loopback, as --listen asked");
    }
    // Sockets first, then privileges dropped, then the runtime's threads: checks added by a
    // reload (other targets, LAN checks on another interface) open sockets later, so the agent
    // keeps cap_net_raw, and cap_net_bind_service for the LAN check's DHCP port 68 (and a
    // --listen port below 1024); nothing else, and never root's uid under sudo.
    // Said through the log, not on bare stderr, so --log-format json stays JSON.
    let session = match crate::net::session::Session::start_least_privileged(
        SessionOptions::default(),
        std::iter::empty(),
        crate::net::sys::privilege::Retain::NetRawAndBind,
    ) {
        Ok((s, dropped)) => {
            if let Some(line) = dropped.summary() {
                tracing::info!("{line}");
            }
            s
        }
        Err(e) => return super::trouble(e),
    };
    let rt = match super::runtime() {
        Ok(rt) => rt,
        Err(e) => return super::trouble(e),
    };
    let reload = || serve_config(&args);
    match rt.block_on(crate::serve::run::run(cfg, session, reload)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "cannot serve");
            ExitCode::from(super::EXIT_BAD_INPUT)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn args(targets: &[&str]) -> ServeArgs {
        ServeArgs {
            targets: targets.iter().map(|s| s.to_string()).collect(),
            ports: None,
            dns: Vec::new(),
            interval: 10.0,
            listen: None,
            config: None,
            token_file: None,
            web_config: None,
            check_config: None,
            log_format: LogFormat::Text,
        }
    }

    #[test]
    fn cli_builds_checks_and_defaults() {
        let mut a = args(&["10.0.0.1"]);
        a.ports = Some("22,80".into());
        a.dns = vec!["web.lab.test:AAAA".into()];
        let c = serve_config(&a).expect("valid");
        assert_eq!(c.listen, DEFAULT_LISTEN);
        assert_eq!(c.flap, DEFAULT_FLAP);
        assert_eq!(c.checks.len(), 4);
        assert!(
            c.checks
                .iter()
                .all(|c| c.interval == Duration::from_secs(10))
        );
    }

    #[test]
    fn cli_errors() {
        let e = |a: ServeArgs| serve_config(&a).expect_err("invalid").to_string();
        assert!(e(args(&[])).starts_with("nothing to check"));
        assert!(e(args(&["web.lab.test"])).contains("not an IP address"));
        let mut a = args(&["10.0.0.1"]);
        a.interval = 0.0;
        assert!(e(a).starts_with("--interval: "));
        let mut a = args(&["10.0.0.1"]);
        a.listen = Some("nope".into());
        assert!(e(a).starts_with("--listen: "));
    }

    #[test]
    fn explicit_listen_may_leave_loopback() {
        let mut a = args(&["10.0.0.1"]);
        a.listen = Some("0.0.0.0:9999".into());
        assert_eq!(serve_config(&a).expect("asked for").listen.port(), 9999);
    }
}
