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
/// an older one to the current schema ([`ScanReport::upgrade`]).
pub fn read(path: &Path) -> std::result::Result<ScanReport, ReadError> {
    let p = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ReadError::Io {
        path: p.clone(),
        source,
    })?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|source| ReadError::Parse {
            path: p.clone(),
            source,
        })?;
    if let Some(v) = value.get("schema_version").and_then(|v| v.as_u64())
        && v > SCHEMA_VERSION as u64
    {
        return Err(ReadError::TooNew { path: p, found: v });
    }
    let mut report: ScanReport =
        serde_json::from_value(value).map_err(|source| ReadError::Parse { path: p, source })?;
    report.upgrade();
    Ok(report)
}
