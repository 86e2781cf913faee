//! Watch mode's outage timeline: a pure reducer over the diagnoses of successive rounds.
//!
//! An outage is a run of rounds that were not healthy with the same failing layer: it starts
//! at the start of its first round and ends at the start of the first round that no longer
//! saw it (healthy again, or failing in another layer, which starts a new outage).

use time::OffsetDateTime;

use crate::core::clock::seconds_between;

use super::model::{Diagnosis, Outage, Status};

/// What one round changed.
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    /// The first unhealthy round after a healthy one (or the first round).
    Started(Outage),
    /// Still unhealthy, but another layer fails now: the old outage ended, a new one began.
    Moved { ended: Outage, started: Outage },
    /// Healthy again.
    Ended(Outage),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timeline {
    outages: Vec<Outage>,
    /// Index of the outage still going on.
    open: Option<usize>,
}

impl Timeline {
    pub fn outages(&self) -> &[Outage] {
        &self.outages
    }

    /// The outage going on now, if any.
    pub fn current(&self) -> Option<&Outage> {
        self.open.map(|i| &self.outages[i])
    }

    fn close(&mut self, at: OffsetDateTime) -> Option<Outage> {
        let i = self.open.take()?;
        let o = &mut self.outages[i];
        o.end = Some(at);
        o.duration_s = seconds_between(o.start, at).map(|s| (s * 10.0).round() / 10.0);
        Some(o.clone())
    }

    /// Fold one round in. The round's time is `d.started`.
    pub fn observe(&mut self, d: &Diagnosis) -> Option<Transition> {
        let at = d.started;
        let unhealthy = d.status > Status::Ok;
        match (self.open, unhealthy, d.layer) {
            (Some(i), true, Some(layer)) if self.outages[i].layer == layer => {
                let o = &mut self.outages[i];
                o.rounds += 1;
                if d.status > o.status {
                    o.status = d.status;
                }
                None
            }
            (_, true, Some(layer)) => {
                let ended = self.close(at);
                self.outages.push(Outage {
                    start: at,
                    end: None,
                    duration_s: None,
                    layer,
                    status: d.status,
                    cause: d.cause,
                    verdict: d.verdict.clone(),
                    rounds: 1,
                });
                self.open = Some(self.outages.len() - 1);
                let started = self.outages[self.outages.len() - 1].clone();
                Some(match ended {
                    Some(ended) => Transition::Moved { ended, started },
                    None => Transition::Started(started),
                })
            }
            _ => self.close(at).map(Transition::Ended),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::clock;
    use crate::diagnose::model::Layer;

    fn round(at: &str, status: Status, layer: Option<Layer>) -> Diagnosis {
        crate::diagnose::model::round(at, status, layer, "v")
    }

    #[test]
    fn outage_starts_lasts_and_ends() {
        let mut t = Timeline::default();
        assert_eq!(
            t.observe(&round("2026-01-01T10:00:00Z", Status::Ok, None)),
            None
        );
        let s = t.observe(&round(
            "2026-01-01T10:00:05Z",
            Status::Degraded,
            Some(Layer::Gateway),
        ));
        assert!(matches!(s, Some(Transition::Started(_))));
        assert_eq!(
            t.observe(&round(
                "2026-01-01T10:00:10Z",
                Status::Down,
                Some(Layer::Gateway)
            )),
            None
        );
        let Some(Transition::Ended(o)) =
            t.observe(&round("2026-01-01T10:00:17.5Z", Status::Ok, None))
        else {
            panic!("expected the end")
        };
        assert_eq!(clock::rfc3339(o.start), "2026-01-01T10:00:05Z");
        assert_eq!(
            o.end.map(clock::rfc3339).as_deref(),
            Some("2026-01-01T10:00:17.5Z")
        );
        assert_eq!(o.duration_s, Some(12.5));
        assert_eq!(o.status, Status::Down, "the worst status seen");
        assert_eq!(o.rounds, 2);
        assert!(t.current().is_none());
    }

    #[test]
    fn a_new_failing_layer_is_a_new_outage() {
        let mut t = Timeline::default();
        t.observe(&round(
            "2026-01-01T10:00:00Z",
            Status::Down,
            Some(Layer::Gateway),
        ));
        let m = t.observe(&round(
            "2026-01-01T10:00:05Z",
            Status::Down,
            Some(Layer::Dns),
        ));
        assert!(matches!(m, Some(Transition::Moved { .. })));
        assert_eq!(t.outages().len(), 2);
        assert_eq!(t.outages()[0].duration_s, Some(5.0));
        assert_eq!(t.current().map(|o| o.layer), Some(Layer::Dns));
    }
}
