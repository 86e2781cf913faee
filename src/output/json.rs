//! The JSON report: the model serialised as is, versioned by `schema_version` and described
//! by `assets/report.schema.json`.

use std::path::Path;

use crate::core::model::{SCHEMA_VERSION, ScanReport};
use crate::core::sanitize::is_unsafe;

use super::Result;

pub fn to_string(report: &ScanReport) -> Result<String> {
    Ok(pretty(report)?)
}

/// Pretty JSON of anything netdx writes (reports, diffs, diagnoses), with control and
/// invisible characters in strings as `\uXXXX` escapes (see [`Visible`]).
pub fn pretty<T: serde::Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let mut out = Vec::with_capacity(64 * 1024);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, Visible::default());
    value.serialize(&mut ser)?;
    // The serializer writes only what serde_json writes: valid UTF-8.
    Ok(String::from_utf8(out).unwrap_or_default())
}

/// serde_json's pretty layout, with every control and invisible formatting character in a
/// string written as a `\uXXXX` escape: the data is kept exactly (a reader gets the same
/// string back), but `cat report.json` or a browser never shows a bidirectional override or
/// a zero-width space doing its work.
#[derive(Default)]
struct Visible(serde_json::ser::PrettyFormatter<'static>);

impl serde_json::ser::Formatter for Visible {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut rest = fragment;
        while let Some((i, c)) = rest.char_indices().find(|&(_, c)| is_unsafe(c)) {
            writer.write_all(&rest.as_bytes()[..i])?;
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                write!(writer, "\\u{u:04x}")?;
            }
            rest = &rest[i + c.len_utf8()..];
        }
        writer.write_all(rest.as_bytes())
    }

    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
    }
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
    decode(&p, open)
}

/// [`read`] from any source that can be opened twice (`p` names it in errors): a file, or
/// bytes in memory for the fuzzer, which must take exactly the path a saved file takes.
pub(crate) fn decode<R: std::io::Read>(
    p: &str,
    open: impl Fn() -> std::result::Result<R, ReadError>,
) -> std::result::Result<ScanReport, ReadError> {
    let parse = |source: serde_json::Error| {
        if source.is_io() {
            ReadError::Io {
                path: p.to_string(),
                source: source.into(),
            }
        } else {
            ReadError::Parse {
                path: p.to_string(),
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
        return Err(ReadError::TooNew {
            path: p.to_string(),
            found,
        });
    }
    let mut report: ScanReport = serde_json::from_reader(open()?).map_err(parse)?;
    report.upgrade();
    Ok(report)
}
