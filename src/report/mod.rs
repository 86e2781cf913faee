//! Report writers. They read a [`crate::model::ScanReport`] (finished or partial) and nothing
//! else: no writer digs data out of a widget or re-runs a probe.

pub mod json;
pub mod table;

use std::io::Write;
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
    }

    #[test]
    fn failed_write_keeps_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-dir").join("r.json");
        let e = write_atomic(&missing, b"x").unwrap_err();
        assert!(e.to_string().contains("no-such-dir"), "{e}");
    }
}
