//! Turns command-line arguments, layered over the config file, into a validated
//! [`ScanConfig`], once, at the edge. Every error names the bad token in one line; the binary
//! maps them to exit code 2.

use std::time::Duration;

use crate::cli::ScanArgs;
use crate::cmd::config::ScanFileConfig;
use crate::core::model::ScanParameters;
use crate::core::ports::{self, PortError};
use crate::core::target::{self, TargetError, TargetSet};
use crate::engine::scan::ScanConfig;
use crate::net::dns::{self, DnsError};
use crate::net::names::NameQuery;

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error(transparent)]
    Port(#[from] PortError),
    #[error(transparent)]
    Dns(#[from] DnsError),
    #[error("no targets given (name addresses, ranges or names, or use --targets-file)")]
    NoTargets,
    #[error(transparent)]
    Output(#[from] crate::output::ReportError),
    #[error("cannot write the report to '{0}': its directory does not exist")]
    OutputDir(String),
    #[error(
        "'{0}' is too large to sweep and not on a local link (no interface has an address in it), \
         so its hosts cannot be found by multicast; give explicit ranges instead (e.g. {first}-{last})",
        first = std::net::Ipv6Addr::from(u128::from(.0.network()) | 1),
        last = std::net::Ipv6Addr::from(u128::from(.0.network()) | 0xff)
    )]
    OffLink(ipnet::Ipv6Net),
}

/// Check `-o` before the scan starts, so a typo costs a second, not the scan: the format must
/// be known and the directory must exist.
fn check_output(args: &ScanArgs) -> Result<(), InputError> {
    let Some(path) = &args.output else {
        return Ok(());
    };
    if args.format.is_none() && crate::output::Format::from_path(path).is_none() {
        return Err(crate::output::ReportError::UnknownFormat(path.display().to_string()).into());
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    if !dir.is_dir() {
        return Err(InputError::OutputDir(path.display().to_string()));
    }
    Ok(())
}

/// The command line wins; what it leaves unset comes from the config file (`file`), then from
/// the built-in defaults. (`--log` is layered by the caller: it is not part of a scan.)
pub fn scan_config(
    args: &ScanArgs,
    file: &ScanFileConfig,
) -> Result<(ScanConfig, ScanParameters), InputError> {
    check_output(args)?;
    let mut specs = args.targets.clone();
    if let Some(file) = &args.targets_file {
        specs.extend(target::read_targets_file(file)?);
    }
    if specs.is_empty() {
        return Err(InputError::NoTargets);
    }
    let targets = TargetSet::parse(&specs, &args.exclude, args.allow_large)?;
    // A prefix too large to sweep is discovered on its link: only possible where this
    // machine has an address in it.
    if let Some(off) = targets
        .links_v6()
        .iter()
        .find(|p| crate::net::ndp::on_link_here(**p).is_none())
    {
        return Err(InputError::OffLink(*off));
    }
    let (port_spec, port_list) = match (&args.ports, &file.ports) {
        (Some(spec), _) => (Some(spec.clone()), Some(ports::parse_ports(spec)?)),
        (None, Some((spec, list))) => (Some(spec.clone()), Some(list.clone())),
        (None, None) => (None, None),
    };
    let dns_queries = args
        .dns
        .iter()
        .map(|q| dns::parse_query(q))
        .collect::<Result<Vec<_>, _>>()?;
    let resolver = match args.resolver.as_deref() {
        Some(r) => Some(dns::parse_resolver(r)?),
        None => file.resolver,
    };

    let mut cfg = ScanConfig::new(targets);
    cfg.ports = port_list;
    cfg.dns_queries = dns_queries;
    cfg.ping = !args.no_ping;
    cfg.arp = !args.no_arp;
    cfg.reverse_dns = !args.no_rdns;
    cfg.identify = !args.no_identify;
    cfg.names = (!args.no_names).then(|| NameQuery {
        snmp_community: args.snmp_community.clone(),
    });
    cfg.timeout = Duration::from_millis(args.timeout);
    cfg.tries = args.tries;
    cfg.concurrency = args.concurrency.map(|c| c as usize);
    cfg.resolver = resolver;
    cfg.dns_timeout = Duration::from_millis(args.dns_timeout);

    let params = ScanParameters {
        targets: specs,
        exclude: args.exclude.clone(),
        ports: port_spec,
        dns_queries: args.dns.clone(),
        timeout_ms: args.timeout,
        tries: args.tries,
        concurrency: cfg.concurrency.unwrap_or(0),
        ping: cfg.ping,
        arp: cfg.arp,
        resolver: resolver.map(|r| r.to_string()),
    };
    Ok((cfg, params))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    fn cfg(argv: &[&str]) -> crate::engine::scan::ScanConfig {
        let mut full = vec!["netdx", "scan", "10.0.0.1"];
        full.extend_from_slice(argv);
        let Some(crate::cli::Command::Scan(args)) = crate::cli::Cli::parse_from(full).command
        else {
            panic!("not a scan");
        };
        super::scan_config(&args.scan, &Default::default())
            .unwrap()
            .0
    }

    #[test]
    fn names_are_on_by_default_with_public_and_off_with_no_names() {
        assert_eq!(
            cfg(&[]).names.map(|q| q.snmp_community),
            Some("public".to_string())
        );
        assert_eq!(
            cfg(&["--snmp-community", "lab-ro"])
                .names
                .map(|q| q.snmp_community),
            Some("lab-ro".to_string())
        );
        assert_eq!(cfg(&["--no-names"]).names, None);
    }
}
