//! A set of port numbers kept as sorted, disjoint, non-adjacent inclusive ranges.
//!
//! A `-p all` scan of a host that resets every port yields 65,535 closed ports: as one struct
//! per port (with its strings) that is megabytes per host in memory and in a JSON report,
//! for one fact ("closed: 1-65535"). Kept as ranges, it is one pair. The set is exact: every
//! port it held can be listed again.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PortSet {
    /// Sorted by start; ranges never overlap nor touch (`a.1 + 1 < b.0`).
    ranges: Vec<(u16, u16)>,
}

impl PortSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many ports the set holds (up to 65,536, hence not a `u16`).
    pub fn len(&self) -> usize {
        self.ranges
            .iter()
            .map(|&(a, b)| usize::from(b - a) + 1)
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    pub fn ranges(&self) -> &[(u16, u16)] {
        &self.ranges
    }

    pub fn contains(&self, port: u16) -> bool {
        self.find(port).is_ok()
    }

    /// Every port, ascending.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        self.ranges.iter().flat_map(|&(a, b)| a..=b)
    }

    /// `Ok(i)` when range `i` holds `port`, else `Err(i)` where a range starting at `port`
    /// would be inserted.
    fn find(&self, port: u16) -> Result<usize, usize> {
        self.ranges.binary_search_by(|&(a, b)| {
            if b < port {
                std::cmp::Ordering::Less
            } else if a > port {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
    }

    /// Add `port`; returns false when it was already there. Ports usually arrive in
    /// ascending runs, so this mostly extends the last range.
    pub fn insert(&mut self, port: u16) -> bool {
        let i = match self.find(port) {
            Ok(_) => return false,
            Err(i) => i,
        };
        let joins_left = i > 0 && self.ranges[i - 1].1.checked_add(1) == Some(port);
        let joins_right = i < self.ranges.len() && port.checked_add(1) == Some(self.ranges[i].0);
        match (joins_left, joins_right) {
            (true, true) => {
                self.ranges[i - 1].1 = self.ranges[i].1;
                self.ranges.remove(i);
            }
            (true, false) => self.ranges[i - 1].1 = port,
            (false, true) => self.ranges[i].0 = port,
            (false, false) => self.ranges.insert(i, (port, port)),
        }
        true
    }

    /// Add every port of `start..=end`.
    pub fn insert_range(&mut self, start: u16, end: u16) {
        if start > end {
            return;
        }
        // Ranges that overlap or touch the new one are merged into it.
        let lo = self
            .ranges
            .partition_point(|&(_, b)| b.checked_add(1).is_some_and(|b1| b1 < start));
        let hi = self
            .ranges
            .partition_point(|&(a, _)| end.checked_add(1).is_none_or(|e1| a <= e1));
        let (mut s, mut e) = (start, end);
        if lo < hi {
            s = s.min(self.ranges[lo].0);
            e = e.max(self.ranges[hi - 1].1);
        }
        self.ranges.splice(lo..hi, [(s, e)]);
    }

    /// Remove `port`; returns whether it was there.
    pub fn remove(&mut self, port: u16) -> bool {
        let Ok(i) = self.find(port) else {
            return false;
        };
        let (a, b) = self.ranges[i];
        match (a == port, b == port) {
            (true, true) => {
                self.ranges.remove(i);
            }
            (true, false) => self.ranges[i].0 = port + 1,
            (false, true) => self.ranges[i].1 = port - 1,
            (false, false) => {
                self.ranges[i].1 = port - 1;
                self.ranges.insert(i + 1, (port + 1, b));
            }
        }
        true
    }
}

impl FromIterator<u16> for PortSet {
    fn from_iter<I: IntoIterator<Item = u16>>(iter: I) -> Self {
        let mut s = PortSet::new();
        for p in iter {
            s.insert(p);
        }
        s
    }
}

/// `1-21,23,25-79`: nmap's notation, which every view uses.
impl fmt::Display for PortSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, &(a, b)) in self.ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if a == b {
                write!(f, "{a}")?;
            } else {
                write!(f, "{a}-{b}")?;
            }
        }
        Ok(())
    }
}

/// Why a range list did not parse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid port ranges '{0}' (expected e.g. 1-21,23,25-79)")]
pub struct PortSetError(String);

/// Parses what [`fmt::Display`] writes: `1-21,23,25-79`; the empty string is the empty set.
impl std::str::FromStr for PortSet {
    type Err = PortSetError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || PortSetError(s.to_string());
        let mut set = PortSet::new();
        if s.trim().is_empty() {
            return Ok(set);
        }
        for part in s.split(',') {
            let (a, b) = match part.trim().split_once('-') {
                Some((a, b)) => (a, b),
                None => (part.trim(), part.trim()),
            };
            let a: u16 = a.trim().parse().map_err(|_| err())?;
            let b: u16 = b.trim().parse().map_err(|_| err())?;
            if a > b {
                return Err(err());
            }
            set.insert_range(a, b);
        }
        Ok(set)
    }
}

/// The JSON form: `{"count": 65533, "ranges": "1-21,23-79,81-65535"}`, nmap's notation (as
/// in its XML `extraports`), one line however the report is indented. The count is redundant
/// but lets a reader (or a person with `jq`) get it without parsing the ranges.
#[derive(Serialize, Deserialize)]
struct Wire {
    count: usize,
    ranges: String,
}

impl Serialize for PortSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Wire {
            count: self.len(),
            ranges: self.to_string(),
        }
        .serialize(s)
    }
}

/// The schema of `Wire`, with what the type guarantees: at least one port (an empty set is
/// not written), ascending disjoint ranges.
impl schemars::JsonSchema for PortSet {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PortSet".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A set of ports as nmap writes it: the ranges are the fact, the \
                count is there so a reader need not parse them.",
            "type": "object",
            "required": ["count", "ranges"],
            "additionalProperties": false,
            "properties": {
                "count": {"type": "integer", "minimum": 1, "maximum": 65536},
                "ranges": {
                    "description": "Ascending, disjoint ranges in nmap notation: 1-21,23,25-79.",
                    "type": "string",
                    "pattern": "^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$",
                },
            },
        })
    }
}

impl<'de> Deserialize<'de> for PortSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = Wire::deserialize(d)?;
        // The ranges are the fact; a count edited by hand does not override them (as a
        // report's summary is recounted from its hosts).
        w.ranges.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_merge_into_ranges() {
        let mut s = PortSet::new();
        for p in (1..=21).chain(23..=79).chain([81]) {
            assert!(s.insert(p));
        }
        assert!(!s.insert(5));
        assert_eq!(s.ranges(), &[(1, 21), (23, 79), (81, 81)]);
        assert_eq!(s.len(), 21 + 57 + 1);
        assert_eq!(s.to_string(), "1-21,23-79,81");
        s.insert(22);
        s.insert(80);
        assert_eq!(s.ranges(), &[(1, 81)]);
    }

    #[test]
    fn out_of_order_inserts_and_removes_stay_exact() {
        let mut s = PortSet::new();
        let mut want = std::collections::BTreeSet::new();
        // A fixed pseudo-random walk over the port space, inserting and removing.
        let mut x: u32 = 12345;
        for _ in 0..20_000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let p = (x >> 8) as u16 % 300 + 65_200;
            if x & 1 == 0 {
                assert_eq!(s.insert(p), want.insert(p));
            } else {
                assert_eq!(s.remove(p), want.remove(&p));
            }
        }
        assert_eq!(
            s.iter().collect::<Vec<_>>(),
            want.into_iter().collect::<Vec<_>>()
        );
        for w in s.ranges().windows(2) {
            assert!(w[0].1 + 1 < w[1].0, "ranges touch: {:?}", s.ranges());
        }
    }

    #[test]
    fn whole_port_space_is_one_range() {
        let s: PortSet = (1..=u16::MAX).rev().collect();
        assert_eq!(s.ranges(), &[(1, 65535)]);
        assert_eq!(s.len(), 65535);
        let mut t = PortSet::new();
        t.insert_range(0, u16::MAX);
        assert_eq!(t.len(), 65536);
        assert!(t.remove(u16::MAX) && t.remove(0));
        assert_eq!(t.ranges(), &[(1, 65534)]);
    }

    #[test]
    fn insert_range_merges_overlapping_and_touching() {
        let mut s: PortSet = [5, 10, 20, 30].into_iter().collect();
        s.insert_range(6, 19);
        assert_eq!(s.ranges(), &[(5, 20), (30, 30)]);
        s.insert_range(25, 29);
        assert_eq!(s.ranges(), &[(5, 20), (25, 30)]);
        s.insert_range(1, 2);
        assert_eq!(s.ranges(), &[(1, 2), (5, 20), (25, 30)]);
    }

    #[test]
    fn json_round_trip_and_checks() {
        let s: PortSet = (1..=21).chain(23..=79).collect();
        let j = serde_json::to_string(&s).unwrap();
        assert_eq!(j, r#"{"count":78,"ranges":"1-21,23-79"}"#);
        assert_eq!(serde_json::from_str::<PortSet>(&j).unwrap(), s);
        let recounted: PortSet = serde_json::from_str(r#"{"count":9,"ranges":"1-2"}"#).unwrap();
        assert_eq!(recounted.len(), 2);
        assert!(serde_json::from_str::<PortSet>(r#"{"count":0,"ranges":"9-2"}"#).is_err());
        assert!(serde_json::from_str::<PortSet>(r#"{"count":0,"ranges":"9-x"}"#).is_err());
        assert_eq!("".parse::<PortSet>(), Ok(PortSet::new()));
        assert_eq!(" 5 , 7-9".parse::<PortSet>().unwrap().to_string(), "5,7-9");
    }
}
