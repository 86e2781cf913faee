//! `netdx man`: the manual pages, generated from the command line's own help (clap_mangen),
//! so they never drift from `--help`. The pages are also committed under `assets/man/` for
//! the Debian package; `tests/man_pages.rs` checks those equal what this generates.
//!
//! Each page: NAME, SYNOPSIS, DESCRIPTION (the long help), OPTIONS, SUBCOMMANDS, EXAMPLES
//! (the help's trailer); netdx.1 adds EXIT STATUS, JSON OUTPUT and ENVIRONMENT, which the
//! subcommand pages point to.

use std::path::Path;
use std::process::ExitCode;

use clap::CommandFactory;
use clap_mangen::Man;
use roff::{Roff, bold, roman};

use crate::cli::{Cli, ENVIRONMENT, EXIT_STATUS, JSON_OUTPUT, ManArgs};

/// Every page as (file name, roff text): `netdx.1` first, then `netdx-SUB.1` per subcommand.
pub fn pages() -> Vec<(String, String)> {
    let mut cli = Cli::command().disable_help_subcommand(true);
    cli.build();
    let mut out = vec![("netdx.1".to_string(), page(&cli, true))];
    for sub in cli.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("netdx-{}.1", sub.get_name());
        out.push((name, page(sub, false)));
    }
    out
}

/// One page. clap_mangen's own `render` puts the help's trailer under "EXTRA"; the sections
/// are composed here instead so the trailer is EXAMPLES and the top page has EXIT STATUS.
fn page(cmd: &clap::Command, top: bool) -> String {
    // NAME reads "netdx \- what it is": the top command's about starts with "netdx:".
    let named = if top {
        cmd.clone()
            .about("network diagnostics console: sweeps, ports, DNS, ARP, outage triage")
    } else {
        cmd.clone()
    };
    let man = Man::new(named).source(format!("netdx {}", env!("CARGO_PKG_VERSION")));
    let mut buf: Vec<u8> = Vec::new();
    // Writing into a Vec cannot fail; the results are checked all the same.
    let mut parts: Vec<std::io::Result<()>> = vec![
        man.render_title(&mut buf),
        man.render_name_section(&mut buf),
        man.render_synopsis_section(&mut buf),
        man.render_description_section(&mut buf),
    ];
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        parts.push(man.render_options_section(&mut buf));
    }
    if cmd.has_subcommands() {
        parts.push(man.render_subcommands_section(&mut buf));
    }
    parts.push(extra_sections(cmd, top).to_writer(&mut buf));
    if cmd.get_version().is_some() {
        parts.push(man.render_version_section(&mut buf));
    }
    debug_assert!(parts.iter().all(Result::is_ok));
    dedupe_preamble(&String::from_utf8_lossy(&buf))
}

/// EXAMPLES from the help's trailer (kept as typed: `.nf`), then the top page's sections.
fn extra_sections(cmd: &clap::Command, top: bool) -> Roff {
    let mut roff = Roff::new();
    let examples = if top {
        // The top command's long trailer repeats the sections below; its short one is the
        // examples alone.
        cmd.get_after_help()
    } else {
        cmd.get_after_long_help().or_else(|| cmd.get_after_help())
    };
    if let Some(text) = examples {
        let text = text.to_string();
        let text = text.strip_prefix("Examples:\n").unwrap_or(&text);
        preformatted(&mut roff, "EXAMPLES", text);
    }
    if top {
        preformatted(&mut roff, "EXIT STATUS", EXIT_STATUS);
        preformatted(&mut roff, "JSON OUTPUT", JSON_OUTPUT);
        preformatted(&mut roff, "ENVIRONMENT", ENVIRONMENT);
    } else {
        roff.control("SH", ["SEE ALSO"]);
        roff.text([
            bold("netdx"),
            roman(
                "(1) for the exit status of every subcommand, --json, the environment and files.",
            ),
        ]);
    }
    roff
}

/// A section whose lines are kept as written (aligned columns, command lines).
fn preformatted(roff: &mut Roff, title: &str, text: &str) {
    roff.control("SH", [title]);
    roff.control("nf", []);
    for line in text.lines() {
        roff.text([roman(line)]);
    }
    roff.control("fi", []);
}

/// Each section rendered on its own starts with roff's apostrophe preamble; keep the first.
fn dedupe_preamble(text: &str) -> String {
    let mut seen: Vec<&str> = Vec::new();
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let preamble = line.starts_with(".ie \\n(.g .ds Aq") || line.starts_with(".el .ds Aq");
        if preamble {
            if seen.contains(&line) {
                continue;
            }
            seen.push(line);
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Write every page into `dir` (created if missing).
pub fn write_all(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, text) in pages() {
        std::fs::write(dir.join(name), text)?;
    }
    Ok(())
}

pub fn run(args: ManArgs) -> ExitCode {
    use std::io::Write as _;
    match args.dir {
        Some(dir) => match write_all(&dir) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => super::trouble(format!(
                "cannot write the pages into {}: {e}",
                dir.display()
            )),
        },
        None => {
            let top = pages()
                .into_iter()
                .next()
                .map(|(_, t)| t)
                .unwrap_or_default();
            let mut out = std::io::stdout().lock();
            // A closed pipe (`netdx man | head`) is not an error worth a message.
            let _ = out.write_all(top.as_bytes()).and_then(|()| out.flush());
            ExitCode::SUCCESS
        }
    }
}
