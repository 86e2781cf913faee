//! `netdx diagnose`: [`DiagnoseArgs`] -> [`DiagnoseJob`]; exit 0 healthy, 1 degraded, 3 down,
//! 2 bad input, 130 interrupted (1 also when `-o` cannot be written).

use std::cell::RefCell;
use std::io::Write as _;
use std::ops::ControlFlow;
use std::process::ExitCode;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::cli::{DiagnoseArgs, DiagnoseFormat};
use crate::core::target::{self, TargetSpec};
use crate::diagnose::render::DiagFormat;
use crate::diagnose::{
    self, DiagnoseConfig, DiagnoseJob, Diagnosis, InputError, JobEnd, MAX_PORTS, MAX_TARGETS,
    Output, TargetInput, Watch,
};
use crate::engine::monitor;
use crate::net::dns;
use crate::net::session::{Session, SessionOptions};
use crate::net::traceroute::TracePlan;

use super::{EXIT_BAD_INPUT, EXIT_INTERRUPTED};

/// Targets must be single hosts, ports at most [`MAX_PORTS`] (kept in the user's order).
pub fn diagnose_config(args: &DiagnoseArgs) -> Result<DiagnoseConfig, InputError> {
    let mut targets = Vec::new();
    for t in &args.targets {
        match target::parse_spec(t)? {
            TargetSpec::Addr(ip) => targets.push(TargetInput::Addr(ip)),
            TargetSpec::Name(n) => targets.push(TargetInput::Name(n)),
            TargetSpec::Net(_) | TargetSpec::Range { .. } => {
                return Err(InputError::NotAHost(t.trim().to_string()));
            }
        }
    }
    if targets.len() > MAX_TARGETS {
        return Err(InputError::TooMany {
            what: "targets",
            n: targets.len(),
            max: MAX_TARGETS,
        });
    }
    let ports = crate::core::ports::parse_ports(&args.ports)?;
    if ports.len() > MAX_PORTS {
        return Err(InputError::TooMany {
            what: "ports",
            n: ports.len(),
            max: MAX_PORTS,
        });
    }
    // The user's order, without duplicates (the parser sorts).
    let mut ordered: Vec<u16> = Vec::new();
    for token in args.ports.split(',') {
        if let Ok(p) = token.trim().parse::<u16>()
            && ports.contains(p)
            && !ordered.contains(&p)
        {
            ordered.push(p);
        }
    }
    for p in ports.iter() {
        if !ordered.contains(&p) {
            ordered.push(p);
        }
    }
    let resolver = args
        .resolver
        .as_deref()
        .map(dns::parse_resolver)
        .transpose()?;
    Ok(DiagnoseConfig {
        targets,
        ports: ordered,
        resolver,
        timeout: Duration::from_millis(args.timeout),
        dns_timeout: Duration::from_millis(args.dns_timeout),
        trace: TracePlan {
            max_ttl: args.max_hops,
            timeout: Duration::from_millis(args.timeout),
            ..TracePlan::default()
        },
    })
}

fn output(args: &DiagnoseArgs) -> Result<Option<Output>, InputError> {
    let Some(path) = args.output.clone() else {
        return Ok(None);
    };
    let format = match args.format {
        Some(DiagnoseFormat::Json) => DiagFormat::Json,
        Some(DiagnoseFormat::Md) => DiagFormat::Markdown,
        Some(DiagnoseFormat::Html) => DiagFormat::Html,
        None => DiagFormat::from_path(&path)
            .ok_or_else(|| InputError::UnknownFormat(path.display().to_string()))?,
    };
    Ok(Some(Output { path, format }))
}

pub fn job(args: &DiagnoseArgs) -> Result<DiagnoseJob, InputError> {
    let config = diagnose_config(args)?;
    if args.watch && !(0.5..=86_400.0).contains(&args.interval) {
        return Err(InputError::Interval);
    }
    Ok(DiagnoseJob {
        config,
        watch: args.watch.then(|| Duration::from_secs_f64(args.interval)),
        output: output(args)?,
        json: args.json,
    })
}

pub fn run(args: DiagnoseArgs) -> anyhow::Result<ExitCode> {
    let job = match job(&args) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("netdx: error: {e}");
            return Ok(ExitCode::from(EXIT_BAD_INPUT));
        }
    };
    // One probe session for the whole run: `--watch` reuses its sockets every round.
    // Sockets open, privileges dropped, then the rounds (diagnose opens channels later:
    // LLDP, IPv6 neighbours, so cap_net_raw stays).
    let session = super::start_session(
        SessionOptions::default(),
        [],
        crate::net::sys::privilege::Retain::NetRaw,
        job.output.as_ref().map(|o| o.path.as_path()),
    )?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let end = rt.block_on(async {
        let cancel = CancellationToken::new();
        let on_signal = cancel.clone();
        tokio::spawn(async move {
            super::scan::shutdown_signal().await;
            on_signal.cancel();
        });
        run_job(job, session, cancel).await
    });
    Ok(match end {
        JobEnd::Verdict(status) => ExitCode::from(status.exit_code()),
        JobEnd::Interrupted => ExitCode::from(EXIT_INTERRUPTED),
        JobEnd::WriteFailed => ExitCode::FAILURE,
    })
}

/// Write `-o`, if asked; `false` (said on stderr) when it cannot be written.
fn save(d: &Diagnosis, out: &Option<Output>) -> bool {
    let Some(o) = out else { return true };
    match crate::diagnose::render::write(d, &o.path, o.format) {
        Ok(()) => true,
        Err(e) => {
            eprintln!("netdx: error: {e}");
            false
        }
    }
}

/// `netdx diagnose`: run once or watch, print, write, until done or `cancel` (the edge
/// cancels on Ctrl-C or SIGTERM). Every round runs on `session`.
async fn run_job(job: DiagnoseJob, session: Session, cancel: CancellationToken) -> JobEnd {
    let diagnoser = diagnose::Diagnoser::new(job.config, session);
    // Privilege warnings first, on stderr, before any result (and not repeated under it).
    for n in diagnoser.privilege_notes() {
        eprintln!("netdx: warning: {n}");
    }
    let out = job.output;
    if let Some(interval) = job.watch {
        return watch_loop(&diagnoser, interval, &out, &cancel).await;
    }
    let d = diagnoser.run(&cancel).await;
    if d.incomplete {
        eprintln!("netdx: interrupted before a verdict");
        return JobEnd::Interrupted;
    }
    if job.json {
        match crate::diagnose::render::render(&d, DiagFormat::Json) {
            Ok(bytes) => {
                let _ = std::io::stdout().write_all(&bytes);
            }
            Err(e) => {
                eprintln!("netdx: error: {e}");
                return JobEnd::WriteFailed;
            }
        }
    } else {
        print!("{}", terminal_text(&d, &diagnoser));
    }
    let _ = std::io::stdout().flush();
    if !save(&d, &out) {
        return JobEnd::WriteFailed;
    }
    if let Some(o) = &out {
        eprintln!(
            "netdx: diagnosis written to {} ({})",
            o.path.display(),
            o.format.label()
        );
    }
    JobEnd::Verdict(d.status)
}

/// Watch mode: a round every `interval` (start to start, by the one round scheduler) until
/// Ctrl-C or SIGTERM; one line per round, the verdict whenever the state changes, the
/// timeline at the end. The report is rewritten after every round, so it is current even if
/// the process is killed.
/// The verdict for stdout, without the privilege notes already said on stderr (the file
/// written with `-o` keeps them).
fn terminal_text(d: &Diagnosis, diagnoser: &diagnose::Diagnoser) -> String {
    let mut shown = d.clone();
    shown
        .notes
        .retain(|n| !diagnoser.privilege_notes().contains(n));
    crate::diagnose::render::terminal(&shown)
}

async fn watch_loop(
    diagnoser: &diagnose::Diagnoser,
    interval: Duration,
    out: &Option<Output>,
    cancel: &CancellationToken,
) -> JobEnd {
    let watch = RefCell::new(Watch::default());
    let w = &watch;
    monitor::run(interval, cancel, |_| async move {
        let d = diagnoser.run(cancel).await;
        if d.incomplete {
            return ControlFlow::Break(());
        }
        let mut w = w.borrow_mut();
        println!("{}", w.observe(d));
        let _ = std::io::stdout().flush();
        if let Some(d) = w.last() {
            save(d, out);
        }
        ControlFlow::Continue(())
    })
    .await;
    let watch = watch.into_inner();
    let Some(last) = watch.last() else {
        eprintln!("netdx: interrupted before the first round ended");
        return JobEnd::Interrupted;
    };
    println!();
    print!("{}", terminal_text(last, diagnoser));
    save(last, out);
    if let Some(o) = out {
        eprintln!(
            "netdx: diagnosis and timeline written to {} ({})",
            o.path.display(),
            o.format.label()
        );
    }
    JobEnd::Verdict(last.status)
}
