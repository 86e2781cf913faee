//! Wall-clock time as reports write and read it, and the technician's time zone. One place,
//! built on the `time` and `jiff` crates, so every report, history line and diagnosis
//! formats, parses and subtracts timestamps the same way (there used to be a hand-written
//! RFC 3339 parser, and the local offset came from running `date`).

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// Current time as RFC 3339 (UTC), for report timestamps.
pub fn now_rfc3339() -> String {
    rfc3339(OffsetDateTime::now_utc())
}

/// A time as RFC 3339, the way reports store it.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// An RFC 3339 time (`2024-05-01T10:00:00.5Z`, `...+02:00`); `None` for anything else.
pub fn parse_rfc3339(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

/// Whole seconds since the Unix epoch of an RFC 3339 time.
pub fn unix_time(s: &str) -> Option<i64> {
    parse_rfc3339(s).map(OffsetDateTime::unix_timestamp)
}

/// Seconds from `start` to `end`, fractions included; `None` when they are out of order.
pub fn seconds_between(start: OffsetDateTime, end: OffsetDateTime) -> Option<f64> {
    let d = (end - start).as_seconds_f64();
    (d >= 0.0).then_some(d)
}

/// Seconds between two RFC 3339 times (report fields), when both parse and are in order.
pub fn elapsed_secs(start: Option<&str>, end: Option<&str>) -> Option<f64> {
    seconds_between(parse_rfc3339(start?)?, parse_rfc3339(end?)?)
}

/// A time as a technician reads it: `2024-05-01 10:00:00 UTC`, or with its offset
/// (`2024-05-01 12:00:00 +02:00`); whole seconds.
pub fn human(t: OffsetDateTime) -> String {
    let date = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let o = t.offset();
    if o.is_utc() {
        format!("{date} UTC")
    } else {
        let (h, m, _) = o.as_hms();
        let sign = if o.is_negative() { '-' } else { '+' };
        format!(
            "{date} {sign}{:02}:{:02}",
            h.unsigned_abs(),
            m.unsigned_abs()
        )
    }
}

/// The technician's time zone, for showing times as the wall clock does. It gives the offset
/// *at a given instant*, so a dashboard left running across a daylight-saving change shows the
/// right hour on both sides (a fixed offset read at start-up would be an hour off after it).
#[derive(Debug, Clone, PartialEq)]
pub struct LocalZone(jiff::tz::TimeZone);

impl LocalZone {
    /// The system's zone (`TZ`, else `/etc/localtime`); UTC when neither can be read, and
    /// then [`LocalZone::is_utc`] lets the screen say "UTC".
    pub fn system() -> Self {
        Self(jiff::tz::TimeZone::try_system().unwrap_or(jiff::tz::TimeZone::UTC))
    }

    /// UTC (tests, and machines without a zone).
    pub fn utc() -> Self {
        Self(jiff::tz::TimeZone::UTC)
    }

    /// A zone from a POSIX TZ string such as `CET-1CEST,M3.5.0,M10.5.0/3` (tests).
    pub fn posix(spec: &str) -> Option<Self> {
        jiff::tz::TimeZone::posix(spec).ok().map(Self)
    }

    /// Whether this zone is UTC all year.
    pub fn is_utc(&self) -> bool {
        self.0 == jiff::tz::TimeZone::UTC
            || self.0.iana_name() == Some("UTC")
            || self.0.iana_name() == Some("Etc/UTC")
    }

    /// The zone's offset from UTC at `t`.
    pub fn offset_at(&self, t: OffsetDateTime) -> UtcOffset {
        jiff::Timestamp::from_second(t.unix_timestamp())
            .ok()
            .map(|ts| self.0.to_offset(ts).seconds())
            .and_then(|s| UtcOffset::from_whole_seconds(s).ok())
            .unwrap_or(UtcOffset::UTC)
    }

    /// `t` on the local wall clock.
    pub fn local(&self, t: OffsetDateTime) -> OffsetDateTime {
        t.to_offset(self.offset_at(t))
    }
}

impl Default for LocalZone {
    fn default() -> Self {
        Self::utc()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip_and_rejects() {
        let t = parse_rfc3339("2024-05-01T10:00:00.5Z").unwrap();
        assert_eq!(rfc3339(t), "2024-05-01T10:00:00.5Z");
        assert_eq!(unix_time("1970-01-01T00:01:00Z"), Some(60));
        assert_eq!(unix_time("1970-01-01T02:01:00+02:00"), Some(60));
        for bad in [
            "",
            "2024-05-01",
            "2024-13-01T00:00:00Z",
            "yesterday",
            "2024-05-01T10:00:00",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn elapsed_keeps_fractions_and_order() {
        assert_eq!(
            elapsed_secs(
                Some("2024-05-01T10:00:00.5Z"),
                Some("2024-05-01T10:00:07.25Z")
            ),
            Some(6.75)
        );
        assert_eq!(
            elapsed_secs(Some("2024-05-01T10:00:07Z"), Some("2024-05-01T10:00:00Z")),
            None
        );
        assert_eq!(elapsed_secs(None, Some("2024-05-01T10:00:00Z")), None);
    }

    #[test]
    fn human_times() {
        assert_eq!(
            human(parse_rfc3339("2024-05-01T10:00:00.9Z").unwrap()),
            "2024-05-01 10:00:00 UTC"
        );
        assert_eq!(
            human(parse_rfc3339("2024-05-01T10:00:00-03:30").unwrap()),
            "2024-05-01 10:00:00 -03:30"
        );
    }

    #[test]
    fn local_offset_follows_daylight_saving() {
        let berlin = LocalZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        let winter = parse_rfc3339("2026-01-15T12:00:00Z").unwrap();
        let summer = parse_rfc3339("2026-07-15T12:00:00Z").unwrap();
        assert_eq!(berlin.offset_at(winter).whole_hours(), 1);
        assert_eq!(berlin.offset_at(summer).whole_hours(), 2);
        // The change itself: 2026-03-29 01:00 UTC, clocks go from 02:00 to 03:00.
        let before = parse_rfc3339("2026-03-29T00:59:59Z").unwrap();
        let after = parse_rfc3339("2026-03-29T01:00:00Z").unwrap();
        assert_eq!(berlin.local(before).hour(), 1);
        assert_eq!(berlin.local(after).hour(), 3);
        assert!(!berlin.is_utc());
        assert!(LocalZone::utc().is_utc());
    }
}
