//! Wall-clock time as reports write it. One place, so every report, history line and
//! diagnosis formats its timestamps the same way.

/// Current time as RFC 3339 (UTC), for report timestamps.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
