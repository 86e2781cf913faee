//! The JSON report: the model serialised as is, versioned by `schema_version` and described
//! by `assets/report.schema.json`, which [`schema`] generates from the model's types (a test
//! keeps the committed file equal to it).

use std::path::Path;

use schemars::transform::{RecursiveTransform, Transform};
use serde_json::Value;

use crate::core::model::{SCHEMA_VERSION, ScanReport};
use crate::core::sanitize::is_unsafe;

use super::Result;

pub fn to_string(report: &ScanReport) -> Result<String> {
    Ok(pretty(report)?)
}

/// The JSON Schema (draft 2020-12) of the report [`to_string`] writes, generated from the
/// model's types with `schemars`, so the schema cannot drift from what is written: a field,
/// a state or a status added to the types is in it at the next build. It describes the
/// current `schema_version` as written (fields netdx always writes are required); [`read`]
/// also takes older versions and converts them.
///
/// The types' doc comments are its descriptions. Keys are sorted at every level, so the text
/// is the same whatever serde_json features the build unifies.
pub fn schema() -> Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    let mut schema = generator.into_root_schema_for::<ScanReport>();
    schema.insert(
        "$id".into(),
        format!("urn:netdx:report:{SCHEMA_VERSION}").into(),
    );
    RecursiveTransform(report_schema_style).transform(&mut schema);
    sorted(schema.to_value())
}

/// [`schema`] as `assets/report.schema.json` holds it: pretty JSON and a final newline.
pub fn schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&schema()).unwrap_or_default();
    text.push('\n');
    text
}

/// The formats JSON Schema 2020-12 defines; schemars' own (`uint16`, `double`, `ip`) mean
/// nothing to a validator and are dropped.
const STANDARD_FORMATS: [&str; 19] = [
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

/// One subschema as the report schema writes it: an `IpAddr` (schemars' `format: ip`, which
/// no validator checks) becomes "an IPv4 or an IPv6 address", which validators do check;
/// other non-standard formats go; descriptions read as prose (rustdoc's line breaks joined,
/// paragraphs kept, intra-doc link brackets dropped).
fn report_schema_style(schema: &mut schemars::Schema) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    match obj.get("format").and_then(Value::as_str) {
        Some("ip") => {
            obj.remove("format");
            let either = serde_json::json!([{"format": "ipv4"}, {"format": "ipv6"}]);
            if obj.contains_key("anyOf") {
                let all = obj
                    .entry("allOf")
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Some(all) = all.as_array_mut() {
                    all.push(serde_json::json!({ "anyOf": either }));
                }
            } else {
                obj.insert("anyOf".into(), either);
            }
        }
        Some(f) if !STANDARD_FORMATS.contains(&f) => {
            obj.remove("format");
        }
        _ => {}
    }
    if let Some(Value::String(d)) = obj.get_mut("description") {
        *d = prose(d);
    }
    absent_is_never_null(obj);
}

/// A property that is not required is one netdx leaves out when it has no value
/// (`skip_serializing_if`): it is never written as null, so its schema does not take null
/// (schemars allows null for every `Option`). The reports tests validate against this, so a
/// field that breaks the rule fails them.
fn absent_is_never_null(obj: &mut serde_json::Map<String, Value>) {
    let required: Vec<String> = match obj.get("required").and_then(Value::as_array) {
        Some(r) => r
            .iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect(),
        None => Vec::new(),
    };
    let Some(Value::Object(props)) = obj.get_mut("properties") else {
        return;
    };
    for (name, prop) in props.iter_mut() {
        let Value::Object(p) = prop else { continue };
        if required.contains(name) {
            continue;
        }
        if let Some(Value::Array(types)) = p.get_mut("type") {
            types.retain(|t| t != "null");
            if let [only] = types.as_slice() {
                let only = only.clone();
                p.insert("type".into(), only);
            }
        }
        let null = serde_json::json!({"type": "null"});
        if let Some(Value::Array(branches)) = p.get_mut("anyOf")
            && branches.contains(&null)
        {
            branches.retain(|b| *b != null);
            if let [Value::Object(only)] = branches.as_slice() {
                let only = only.clone();
                p.remove("anyOf");
                p.extend(only);
            }
        }
    }
}

/// Rustdoc text as plain prose: lines of a paragraph joined with spaces, paragraphs kept
/// apart by a blank line, `` [`Item`] `` links written as `` `Item` ``.
fn prose(doc: &str) -> String {
    let paragraphs: Vec<String> = doc
        .split("\n\n")
        .map(|p| {
            p.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|p| !p.is_empty())
        .collect();
    let mut out = paragraphs.join("\n\n");
    while let Some(start) = out.find("[`") {
        let Some(len) = out[start..].find("`]") else {
            break;
        };
        let end = start + len;
        out.replace_range(end + 1..end + 2, "");
        out.replace_range(start..start + 1, "");
    }
    out
}

/// `v` with the keys of every object in sorted order.
fn sorted(v: Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
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
