//! How numbers read, in one leaf module: milliseconds, percentages and durations. Reports,
//! the dashboard, diagnose and serve all call these, so a latency has one rounding and one
//! spelling wherever a technician sees it (there were four `ms()` with three roundings).

use std::time::Duration;

/// A duration in milliseconds, rounded to the microsecond: three decimals is what a network
/// measurement can honestly give, and what reports store.
pub fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// `12.34 ms`, or a dash when nothing was measured (tables and reports: fixed two decimals,
/// so columns line up).
pub fn ms_text(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v:.2} ms"))
}

/// `0.42 ms`, `12.3 ms`, `250 ms`: as few digits as the size deserves (the dashboard's narrow
/// columns).
pub fn ms_short(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2} ms")
    } else if v < 100.0 {
        format!("{v:.1} ms")
    } else {
        format!("{v:.0} ms")
    }
}

/// `30%`, `12.5%`, or a dash: a percentage in a table cell, without decimals when whole.
pub fn pct(v: Option<f64>) -> String {
    match v {
        None => "-".to_string(),
        Some(v) if v.fract() == 0.0 => format!("{v:.0}%"),
        Some(v) => format!("{v:.1}%"),
    }
}

/// `30 %`, `12.5 %`: a percentage inside a sentence (the diagnosis's verdicts).
pub fn pct_words(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0} %")
    } else {
        format!("{v:.1} %")
    }
}

/// A ratio (0.0 to 1.0) as a percentage with one decimal: 0.3333 → 33.3.
pub fn ratio_pct(v: f64) -> f64 {
    (v * 1000.0).round() / 10.0
}

/// A duration as people say it, to a tenth under a minute: `0.7 s`, `7.3 s`, `3 min 12 s`.
pub fn duration(secs: f64) -> String {
    if secs < 60.0 {
        format!("{secs:.1} s")
    } else {
        let s = secs.round() as u64;
        format!("{} min {} s", s / 60, s % 60)
    }
}

/// A long duration, in whole seconds: `45 s`, `3 min 05 s`, `2 h 10 min` (how long a host
/// has been up or down).
pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{s} s")
    } else if s < 3600 {
        format!("{} min {:02} s", s / 60, s % 60)
    } else {
        format!("{} h {:02} min", s / 3600, (s % 3600) / 60)
    }
}

/// `2 s`, `0.5 s`: an interval as a setting reads.
pub fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.1} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_round_to_the_microsecond() {
        assert_eq!(ms(Duration::from_nanos(1_234_567)), 1.235);
        assert_eq!(ms(Duration::from_nanos(499)), 0.0);
        assert_eq!(ms_text(Some(1.235)), "1.24 ms");
        assert_eq!(ms_text(None), "-");
        assert_eq!(ms_short(0.4234), "0.42 ms");
        assert_eq!(ms_short(12.34), "12.3 ms");
        assert_eq!(ms_short(250.4), "250 ms");
    }

    #[test]
    fn percentages() {
        assert_eq!(pct(Some(30.0)), "30%");
        assert_eq!(pct(Some(12.5)), "12.5%");
        assert_eq!(pct(None), "-");
        assert_eq!(pct_words(30.0), "30 %");
        assert_eq!(pct_words(33.3), "33.3 %");
        assert_eq!(ratio_pct(1.0 / 3.0), 33.3);
    }

    #[test]
    fn durations() {
        assert_eq!(duration(0.74), "0.7 s");
        assert_eq!(duration(192.4), "3 min 12 s");
        assert_eq!(human_duration(Duration::from_secs(45)), "45 s");
        assert_eq!(human_duration(Duration::from_secs(185)), "3 min 05 s");
        assert_eq!(human_duration(Duration::from_secs(7800)), "2 h 10 min");
        assert_eq!(seconds(Duration::from_millis(500)), "0.5 s");
        assert_eq!(seconds(Duration::from_secs(2)), "2 s");
    }
}
