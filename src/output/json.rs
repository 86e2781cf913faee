//! The JSON report: the model serialised as is, versioned by `schema_version` and described
//! by `assets/report.schema.json`.

use std::path::Path;

use crate::core::model::{SCHEMA_VERSION, ScanReport};

use super::Result;

pub fn to_string(report: &ScanReport) -> Result<String> {
    Ok(serde_json::to_string_pretty(report)?)
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read report '{path}': {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("'{path}' is not a netdx report (damaged or wrong file): {source}")]
    Parse {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "'{path}' uses report schema version {found}, newer than this netdx understands ({SCHEMA_VERSION}); upgrade netdx"
    )]
    TooNew { path: String, found: u64 },
}

/// Read a saved report, refusing one from a newer schema before misreading it, and bringing
/// an older one to the current schema ([`ScanReport::upgrade`]). Streamed from the file, twice
/// (the version first, with everything else skipped): a schema-1 report of a full port scan
/// is hundreds of MB, and neither its text nor a JSON tree of it is ever held in memory.
pub fn read(path: &Path) -> std::result::Result<ScanReport, ReadError> {
    let p = path.display().to_string();
    let open = || {
        std::fs::File::open(path)
            .map(std::io::BufReader::new)
            .map_err(|source| ReadError::Io {
                path: p.clone(),
                source,
            })
    };
    let parse = |source: serde_json::Error| {
        if source.is_io() {
            ReadError::Io {
                path: p.clone(),
                source: source.into(),
            }
        } else {
            ReadError::Parse {
                path: p.clone(),
                source,
            }
        }
    };
    /// Only the version; serde skips the rest without building it.
    #[derive(serde::Deserialize)]
    struct Version {
        schema_version: Option<u64>,
    }
    let v: Version = serde_json::from_reader(open()?).map_err(parse)?;
    if let Some(found) = v.schema_version
        && found > SCHEMA_VERSION as u64
    {
        return Err(ReadError::TooNew { path: p, found });
    }
    let mut report: ScanReport = serde_json::from_reader(open()?).map_err(parse)?;
    report.upgrade();
    Ok(report)
}
