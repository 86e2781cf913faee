//! `netdx dns`: [`DnsArgs`] (and a `-f` query file) -> [`DnsToolConfig`], every query on one
//! probe session over UDP, TCP, TLS or HTTPS (see [`words`] for how a server names its
//! transport, `crate::net::dns_tls` for DoT/DoH), a table, `+short` or JSON out. Exit 0 when every query was answered
//! NOERROR, 1 when any failed, 2 on bad input or when nothing could be asked.
//!
//! All queries are started at once, at most `--concurrency` in flight, and printed in the
//! order they were asked: `dig -f` asks one after the other, so a file of lookups that time
//! out or are slow to answer takes the sum of their times there and about the longest here.

pub mod words;

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt as _;

use crate::cli::DnsArgs;
use crate::net::dns::{DnsError, Transport, Wire};
use crate::net::dns_tls::{self, TlsPeer};
use crate::net::session::{Session, SessionOptions};
use crate::output::dns::{self as out, DnsReport, Lookup};

use self::words::{Endpoint, Query, ServerSpec, WordError};
use super::trouble;

/// Exit code when any query failed.
pub const EXIT_FAILED: u8 = 1;

/// How the results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsOutput {
    Table,
    Short,
    Json,
}

/// Queries that go to the same servers: the command line's, or one line of a query file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub queries: Vec<Query>,
    /// Empty: the system's resolvers.
    pub servers: Vec<Endpoint>,
    /// The transport to the system's resolvers (UDP or TCP) when `servers` is empty.
    pub transport: Transport,
}

/// `--tls-name` and `--ca-file`, for DoT and DoH.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    pub name: Option<String>,
    pub ca_file: Option<PathBuf>,
}

/// The typed configuration of one `netdx dns` run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsToolConfig {
    pub batches: Vec<Batch>,
    pub output: DnsOutput,
    pub timeout: Duration,
    pub concurrency: usize,
    pub tls: TlsOptions,
}

#[derive(Debug, thiserror::Error)]
pub enum DnsInputError {
    #[error(transparent)]
    Words(#[from] WordError),
    #[error("{path}: {error}")]
    File { path: String, error: WordError },
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("--json and +short cannot be combined")]
    JsonAndShort,
    #[error("nothing to look up: give a NAME, -x ADDR or -f FILE")]
    Nothing,
    #[error(
        "{0} applies only to DNS over TLS or HTTPS: add @tls://SERVER, @https://SERVER, --tls \
         or --https"
    )]
    TlsOptionUnused(&'static str),
    #[error(transparent)]
    Tls(#[from] dns_tls::TlsSetupError),
}

/// Build the configuration; `file_text` is the `-f` file's content (read by the caller).
pub fn dns_config(args: &DnsArgs, file_text: Option<&str>) -> Result<DnsToolConfig, DnsInputError> {
    let mut cli = words::parse_words(args.words.iter().map(String::as_str))?;
    for addr in &args.reverse {
        cli.targets
            .push(words::Target::Reverse(words::parse_reverse(addr)?));
    }
    let short = args.short || cli.short;
    if short && args.json {
        return Err(DnsInputError::JsonAndShort);
    }
    // The run's transport: the flags and the command line's + words, which must agree.
    let mut run_transport = cli.transport;
    for (on, t) in [
        (args.tcp, Transport::Tcp),
        (args.tls, Transport::Tls),
        (args.https, Transport::Https),
    ] {
        if on {
            words::choose_transport(&mut run_transport, t)?;
        }
    }
    let mut batches = Vec::new();
    if !cli.targets.is_empty() {
        batches.push(batch(cli.queries(&[]), &cli.servers, run_transport)?);
    }
    if let Some(text) = file_text {
        let path = args
            .file
            .as_deref()
            .map_or_else(|| "-".to_string(), |p| p.display().to_string());
        let lines = words::parse_file(text).map_err(|error| DnsInputError::File {
            path: path.clone(),
            error,
        })?;
        for line in lines {
            // A line's own + word wins over the command line's.
            let transport = line.transport.or(run_transport);
            let servers = if line.servers.is_empty() {
                &cli.servers
            } else {
                &line.servers
            };
            let b = batch(line.queries(&cli.types), servers, transport).map_err(|error| {
                DnsInputError::File {
                    path: path.clone(),
                    error,
                }
            });
            batches.push(b?);
        }
    }
    if batches.is_empty() {
        return Err(DnsInputError::Nothing);
    }
    let encrypted = batches
        .iter()
        .flat_map(|b| &b.servers)
        .any(|e| matches!(e.transport, Transport::Tls | Transport::Https));
    if let Some(name) = &args.tls_name {
        if !encrypted {
            return Err(DnsInputError::TlsOptionUnused("--tls-name"));
        }
        dns_tls::verify_name(name)?;
    }
    if args.ca_file.is_some() && !encrypted {
        return Err(DnsInputError::TlsOptionUnused("--ca-file"));
    }
    Ok(DnsToolConfig {
        batches,
        output: if args.json {
            DnsOutput::Json
        } else if short {
            DnsOutput::Short
        } else {
            DnsOutput::Table
        },
        timeout: Duration::from_millis(args.timeout),
        concurrency: usize::try_from(args.concurrency).unwrap_or(1).max(1),
        tls: TlsOptions {
            name: args.tls_name.clone(),
            ca_file: args.ca_file.clone(),
        },
    })
}

/// Queries to `servers` over `transport` (a server's scheme wins); without servers, to the
/// system's resolvers, which speak only plain DNS.
fn batch(
    queries: Vec<Query>,
    servers: &[words::Server],
    transport: Option<Transport>,
) -> Result<Batch, WordError> {
    let transport = transport.unwrap_or_default();
    if servers.is_empty() && matches!(transport, Transport::Tls | Transport::Https) {
        let shown = if transport == Transport::Tls {
            "TLS"
        } else {
            "HTTPS"
        };
        return Err(WordError::EncryptedNeedsServer(shown));
    }
    let mut endpoints: Vec<Endpoint> = Vec::new();
    for s in servers {
        let e = s.endpoint(transport);
        if !endpoints.contains(&e) {
            endpoints.push(e);
        }
    }
    Ok(Batch {
        queries,
        servers: endpoints,
        transport,
    })
}

/// One query to one server, in output order.
#[derive(Debug, Clone)]
struct Job {
    query: Query,
    server: Option<SocketAddr>,
    wire: Wire,
}

pub fn run(args: DnsArgs) -> ExitCode {
    let text = match args.file.as_deref() {
        None => None,
        Some(p) => match read_queries(p) {
            Ok(t) => Some(t),
            Err(e) => return trouble(e),
        },
    };
    let cfg = match dns_config(&args, text.as_deref()) {
        Ok(c) => c,
        Err(e) => return trouble(e),
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return trouble(format!("cannot start the runtime: {e}")),
    };
    rt.block_on(execute(cfg))
}

/// The `-f` file, or standard input for `-`.
fn read_queries(path: &Path) -> Result<String, DnsInputError> {
    let shown = path.display().to_string();
    let bytes = if path == Path::new("-") {
        let mut b = Vec::new();
        std::io::stdin().read_to_end(&mut b).map(|_| b)
    } else {
        std::fs::read(path)
    }
    .map_err(|e| DnsInputError::Read {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    String::from_utf8(bytes).map_err(|_| DnsInputError::Read {
        path: shown,
        reason: "not UTF-8 text".to_string(),
    })
}

async fn execute(cfg: DnsToolConfig) -> ExitCode {
    let session = match Session::new(SessionOptions::default()) {
        Ok(s) => s,
        Err(e) => return trouble(e),
    };
    let wires = match wires(&cfg) {
        Ok(w) => w,
        Err(e) => return trouble(e),
    };
    let servers = match resolve_servers(&session, &cfg).await {
        Ok(s) => s,
        Err(e) => return trouble(e),
    };
    // Every server's client is made (and the system configuration read) before any query,
    // so a bad configuration is one clear error, not one per query.
    let mut wanted: Vec<Option<SocketAddr>> = servers.values().copied().map(Some).collect();
    if cfg.batches.iter().any(|b| b.servers.is_empty()) {
        wanted.push(None);
    }
    for server in wanted {
        if let Err(e) = session.dns(server, cfg.timeout).await {
            return trouble(match e {
                DnsError::NoResolvers { source_name } => {
                    format!("no name server configured in {source_name}; name one with @SERVER")
                }
                other => other.to_string(),
            });
        }
    }
    let jobs = jobs(&cfg, &servers, &wires);
    let started = Instant::now();
    let lookups: Vec<Lookup> = futures::stream::iter(jobs)
        .map(|job| {
            let session = session.clone();
            let timeout = cfg.timeout;
            async move {
                let Job {
                    query,
                    server,
                    wire,
                } = job;
                let transport = wire.transport();
                let rtype = query.rtype;
                let name = query.name.clone();
                let asked = match session
                    .dns_ask(server, timeout, query.name, rtype, wire)
                    .await
                {
                    Ok(a) => a,
                    Err(e) => crate::net::dns::Asked {
                        result: crate::core::model::DnsResult::not_sent(
                            &name,
                            rtype,
                            &e.to_string(),
                        ),
                        rcode: None,
                    },
                };
                Lookup::new(asked, transport)
            }
        })
        .buffered(cfg.concurrency)
        .collect()
        .await;
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    let failed = lookups.iter().any(|l| !l.answered());
    let written = match cfg.output {
        DnsOutput::Table => write_out(&out::table(&lookups), ""),
        DnsOutput::Short => {
            let (o, e) = out::short(&lookups);
            write_out(&o, &e)
        }
        DnsOutput::Json => match serde_json::to_string_pretty(&DnsReport::new(lookups, elapsed_ms))
        {
            Ok(mut j) => {
                j.push('\n');
                write_out(&j, "")
            }
            Err(e) => Err(std::io::Error::other(e)),
        },
    };
    match written {
        // A closed pipe (`| head`) is the reader's choice, not a failure of the lookups.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            trouble(format!("cannot write the results: {e}"))
        }
        _ if failed => ExitCode::from(EXIT_FAILED),
        _ => ExitCode::SUCCESS,
    }
}

fn write_out(stdout: &str, stderr: &str) -> std::io::Result<()> {
    if !stderr.is_empty() {
        let _ = std::io::stderr().write_all(stderr.as_bytes());
    }
    let mut o = std::io::stdout().lock();
    o.write_all(stdout.as_bytes())?;
    o.flush()
}

/// Each `@name` server resolved once, with the system's resolvers (its first address).
async fn resolve_servers(
    session: &Session,
    cfg: &DnsToolConfig,
) -> Result<BTreeMap<ServerSpec, SocketAddr>, String> {
    let mut out = BTreeMap::new();
    for spec in cfg.batches.iter().flat_map(|b| &b.servers).map(|e| &e.spec) {
        if out.contains_key(spec) {
            continue;
        }
        let addr = match spec {
            ServerSpec::Addr(a) => *a,
            ServerSpec::Host { name, port } => {
                let system = session
                    .dns(None, cfg.timeout)
                    .await
                    .map_err(|e| format!("cannot resolve server @{name}: {e}"))?;
                let n = name.clone();
                let (addrs, results) = session
                    .measured(async move { system.resolve_host(&n).await })
                    .await
                    .unwrap_or_default();
                let Some(ip) = addrs.first() else {
                    let why = results.first().map_or("no answer", |r| r.status.label());
                    return Err(format!("cannot resolve server @{name}: {why}"));
                };
                SocketAddr::new(*ip, *port)
            }
        };
        out.insert(spec.clone(), addr);
    }
    Ok(out)
}

/// How each server is asked. The TLS configuration (the system's CAs and `--ca-file`) is
/// built once, and only when some server is asked over TLS or HTTPS.
fn wires(cfg: &DnsToolConfig) -> Result<BTreeMap<Endpoint, Wire>, dns_tls::TlsSetupError> {
    let mut config: Option<Arc<rustls::ClientConfig>> = None;
    let mut out = BTreeMap::new();
    for e in cfg.batches.iter().flat_map(|b| &b.servers) {
        let mut peer = || {
            let config = match &config {
                Some(c) => Arc::clone(c),
                None => {
                    Arc::clone(config.insert(dns_tls::client_config(cfg.tls.ca_file.as_deref())?))
                }
            };
            // The certificate must name the host as written, or the address, unless
            // --tls-name says which name it carries.
            let name = match (&cfg.tls.name, &e.spec) {
                (Some(n), _) => n.clone(),
                (None, ServerSpec::Addr(a)) => a.ip().to_string(),
                (None, ServerSpec::Host { name, .. }) => name.clone(),
            };
            Ok::<_, dns_tls::TlsSetupError>(TlsPeer {
                config,
                name: dns_tls::verify_name(&name)?,
            })
        };
        let wire = match e.transport {
            Transport::Udp => Wire::Udp,
            Transport::Tcp => Wire::Tcp,
            Transport::Tls => Wire::Tls(peer()?),
            Transport::Https => Wire::Https {
                peer: peer()?,
                path: Arc::from(e.path.as_str()),
            },
        };
        out.insert(e.clone(), wire);
    }
    Ok(out)
}

/// Every query of every batch to each of its servers, in output order: query by query, and
/// for one query server by server.
fn jobs(
    cfg: &DnsToolConfig,
    servers: &BTreeMap<ServerSpec, SocketAddr>,
    wires: &BTreeMap<Endpoint, Wire>,
) -> Vec<Job> {
    let mut out = Vec::new();
    for b in &cfg.batches {
        let system = match b.transport {
            Transport::Tcp => Wire::Tcp,
            _ => Wire::Udp,
        };
        let targets: Vec<(Option<SocketAddr>, Wire)> = if b.servers.is_empty() {
            vec![(None, system)]
        } else {
            b.servers
                .iter()
                .filter_map(|e| Some((Some(*servers.get(&e.spec)?), wires.get(e)?.clone())))
                .collect()
        };
        for q in &b.queries {
            for (server, wire) in &targets {
                out.push(Job {
                    query: q.clone(),
                    server: *server,
                    wire: wire.clone(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::RecordType;
    use clap::Parser as _;

    fn args(argv: &[&str]) -> DnsArgs {
        let mut full = vec!["netdx", "dns"];
        full.extend_from_slice(argv);
        match crate::cli::Cli::try_parse_from(full)
            .expect("parse")
            .command
        {
            Some(crate::cli::Command::Dns(a)) => a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn command_line_to_config() {
        let cfg = dns_config(
            &args(&[
                "www.lab.test",
                "MX",
                "@10.77.0.53",
                "-x",
                "10.77.0.20",
                "--tcp",
            ]),
            None,
        )
        .unwrap();
        assert_eq!(cfg.output, DnsOutput::Table);
        assert_eq!(cfg.batches.len(), 1);
        let b = &cfg.batches[0];
        assert_eq!(b.transport, Transport::Tcp);
        assert_eq!(b.queries.len(), 2);
        assert_eq!(b.queries[1].rtype, RecordType::PTR);
        assert_eq!(cfg.timeout, Duration::from_millis(2000));
        let cfg = dns_config(&args(&["a.test", "+short"]), None).unwrap();
        assert_eq!(cfg.output, DnsOutput::Short);
        assert!(matches!(
            dns_config(&args(&["a.test", "+short", "--json"]), None),
            Err(DnsInputError::JsonAndShort)
        ));
        assert!(matches!(
            dns_config(&args(&["MX", "@10.0.0.1"]), None),
            Err(DnsInputError::Nothing)
        ));
    }

    #[test]
    fn encrypted_transports_and_their_options() {
        let cfg = dns_config(&args(&["a.test", "--tls", "@192.0.2.53"]), None).unwrap();
        let e = &cfg.batches[0].servers[0];
        assert_eq!(e.transport, Transport::Tls);
        assert_eq!(e.spec, ServerSpec::Addr("192.0.2.53:853".parse().unwrap()));
        // A file line's scheme wins over the command line's flag.
        // A CA of its own (its key was thrown away), so the test needs no system CAs.
        let ca = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/dns-test-ca.pem"
        );
        let a = args(&["-f", "q.txt", "--https", "@192.0.2.53", "--ca-file", ca]);
        let cfg = dns_config(
            &a,
            Some(
                "a.test
b.test @tls://192.0.2.54
",
            ),
        )
        .unwrap();
        assert_eq!(cfg.batches[0].servers[0].transport, Transport::Https);
        assert_eq!(cfg.batches[0].servers[0].path, "/dns-query");
        assert_eq!(cfg.batches[1].servers[0].transport, Transport::Tls);
        let w = wires(&cfg).unwrap();
        assert!(matches!(
            w.get(&cfg.batches[1].servers[0]),
            Some(Wire::Tls(p)) if p.name_text() == "192.0.2.54"
        ));
        let cfg = dns_config(
            &args(&[
                "a.test",
                "@tls://192.0.2.53",
                "--tls-name",
                "dns.example.org",
                "--ca-file",
                ca,
            ]),
            None,
        )
        .unwrap();
        let w = wires(&cfg).unwrap();
        assert!(matches!(
            w.values().next(),
            Some(Wire::Tls(p)) if p.name_text() == "dns.example.org"
        ));
        // Options that would be ignored, and DoT without a server, are errors.
        for bad in [
            vec!["a.test", "@192.0.2.53", "--tls-name", "dns.example.org"],
            vec!["a.test", "@192.0.2.53", "--ca-file", "ca.pem"],
            vec!["a.test", "--tls"],
            vec!["a.test", "+https"],
            vec!["a.test", "--tcp", "+tls", "@192.0.2.53"],
            vec!["a.test", "@tls://192.0.2.53", "--tls-name", "bad name"],
        ] {
            let e = dns_config(&args(&bad), None).expect_err(&bad.join(" "));
            assert!(!e.to_string().contains('\n'), "{e}");
        }
        let e = dns_config(&args(&["a.test", "--https"]), None).unwrap_err();
        assert!(
            e.to_string().starts_with("DNS over HTTPS needs a server"),
            "{e}"
        );
    }

    #[test]
    fn file_lines_inherit_types_and_servers() {
        let a = args(&["-f", "q.txt", "TXT", "@10.77.0.53"]);
        let cfg = dns_config(&a, Some("lab.test\nwww.lab.test A @10.77.0.54\n")).unwrap();
        assert_eq!(cfg.batches.len(), 2);
        assert_eq!(cfg.batches[0].queries[0].rtype, RecordType::TXT);
        assert_eq!(
            cfg.batches[0].servers[0].spec,
            ServerSpec::Addr("10.77.0.53:53".parse().unwrap())
        );
        assert_eq!(cfg.batches[1].queries[0].rtype, RecordType::A);
        assert_eq!(
            cfg.batches[1].servers[0].spec,
            ServerSpec::Addr("10.77.0.54:53".parse().unwrap())
        );
        let e = dns_config(&a, Some("ok.test\nbad..test\n")).unwrap_err();
        assert!(e.to_string().starts_with("q.txt: line 2: "), "{e}");
        // Two servers: each query goes to both, query by query.
        let cfg = dns_config(&args(&["a.test", "b.test", "@10.0.0.1", "@10.0.0.2"]), None).unwrap();
        let servers: BTreeMap<ServerSpec, SocketAddr> = cfg.batches[0]
            .servers
            .iter()
            .map(|e| match &e.spec {
                ServerSpec::Addr(a) => (e.spec.clone(), *a),
                ServerSpec::Host { .. } => unreachable!(),
            })
            .collect();
        let wires = wires(&cfg).unwrap();
        let order: Vec<(String, String)> = jobs(&cfg, &servers, &wires)
            .into_iter()
            .map(|j| (j.query.name, j.server.unwrap().to_string()))
            .collect();
        assert_eq!(
            order,
            [
                ("a.test".into(), "10.0.0.1:53".into()),
                ("a.test".into(), "10.0.0.2:53".into()),
                ("b.test".into(), "10.0.0.1:53".into()),
                ("b.test".into(), "10.0.0.2:53".into()),
            ]
        );
    }
}
