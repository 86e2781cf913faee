//! `netdx diff`: [`DiffArgs`] -> [`DiffConfig`]; exit 1 when something changed, 0 when not,
//! 2 on trouble (as diff(1)), so it works in scripts.

use std::process::ExitCode;

use crate::cli::DiffArgs;
use crate::output::Format;
use crate::output::diff::{self, DiffConfig, DiffFormat};

/// `-o` takes JSON or Markdown, by `--format` or by extension; anything else is refused
/// before either report is read.
pub fn config(args: DiffArgs) -> Result<DiffConfig, String> {
    let output = match args.output {
        None => None,
        Some(path) => {
            let format = match args
                .format
                .map(Format::from)
                .or_else(|| Format::from_path(&path))
            {
                Some(Format::Json) => DiffFormat::Json,
                Some(Format::Markdown) => DiffFormat::Markdown,
                Some(f) => {
                    return Err(format!(
                        "a diff can be written as JSON or Markdown, not {}",
                        f.label()
                    ));
                }
                None => {
                    return Err(format!(
                        "cannot tell the diff format of '{}' from its extension; use .json or .md, or --format",
                        path.display()
                    ));
                }
            };
            Some((path, format))
        }
    };
    Ok(DiffConfig {
        old: args.old,
        new: args.new,
        output,
    })
}

pub fn run(args: DiffArgs) -> ExitCode {
    let cfg = match config(args) {
        Ok(c) => c,
        Err(e) => return super::trouble(e),
    };
    match diff::run(&cfg) {
        Ok(0) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(e) => super::trouble(e),
    }
}
