//! Report writers. They read a [`crate::core::model::ScanReport`] (finished or partial) and nothing
//! else: no writer digs data out of a widget or re-runs a probe.

pub mod convert;
pub mod csv;
pub mod diff;
pub mod escape;
pub mod html;
pub mod json;
pub mod markdown;
pub mod table;
pub mod verdict;
pub mod xml;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write report '{path}': {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot serialise report: {0}")]
    Serialise(#[from] serde_json::Error),
    #[error(
        "cannot tell the report format of '{0}' from its extension; use .json .csv .md .html .xml or --format"
    )]
    UnknownFormat(String),
}

/// The formats a report can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    Markdown,
    Html,
    Xml,
}

impl Format {
    /// The format a file name asks for, by extension.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "json" => Format::Json,
            "csv" => Format::Csv,
            "md" | "markdown" => Format::Markdown,
            "html" | "htm" => Format::Html,
            "xml" => Format::Xml,
            _ => return None,
        })
    }

    pub fn label(self) -> &'static str {
        match self {
            Format::Json => "JSON",
            Format::Csv => "CSV",
            Format::Markdown => "Markdown",
            Format::Html => "HTML",
            Format::Xml => "XML",
        }
    }
}

/// Render `report` in `format`.
pub fn render(report: &crate::core::model::ScanReport, format: Format) -> Result<Vec<u8>> {
    match format {
        Format::Json => {
            let mut text = json::to_string(report)?;
            text.push('\n');
            Ok(text.into_bytes())
        }
        Format::Csv => Ok(csv::render(report).into_bytes()),
        Format::Markdown => Ok(markdown::render(report).into_bytes()),
        Format::Html => Ok(html::render(report).into_bytes()),
        Format::Xml => Ok(xml::render(report).into_bytes()),
    }
}

/// Write `report` to `path` (atomically) in `format`, or in the format its extension names.
/// Returns the format used.
pub fn write(
    report: &crate::core::model::ScanReport,
    path: &Path,
    format: Option<Format>,
) -> Result<Format> {
    let format = match format.or_else(|| Format::from_path(path)) {
        Some(f) => f,
        None => return Err(ReportError::UnknownFormat(path.display().to_string())),
    };
    write_atomic(path, &render(report, format)?)?;
    Ok(format)
}

pub type Result<T> = std::result::Result<T, ReportError>;

/// Write `bytes` to `path` atomically: a temporary file in the same directory, flushed to
/// disk, then renamed over the target. An interrupted or failed export never leaves half a
/// file, nor truncates a report that was already there.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let err = |source| ReportError::Write {
        path: path.display().to_string(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".netdx-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(err)?;
    tmp.write_all(bytes).map_err(err)?;
    // The temporary file is private (0600); a report is meant to be handed over, so it gets
    // the mode of the file it replaces, or the usual 0644 when new.
    let mode = std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o644);
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644, "a new report is readable by others");
    }

    #[test]
    fn replacing_keeps_the_mode_of_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.json");
        std::fs::write(&p, b"old").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&p, b"new").unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
    }

    #[test]
    fn failed_write_keeps_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-dir").join("r.json");
        let e = write_atomic(&missing, b"x").unwrap_err();
        assert!(e.to_string().contains("no-such-dir"), "{e}");
    }
}
