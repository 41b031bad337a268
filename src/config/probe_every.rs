//! When the probes measure (`--probe-every`, `probe.every`, issue 32): a number N (every N
//! updates, as before), or a schedule `E1:U1,E2:U2,...,E` — every E1 updates up to update U1,
//! then every E2 up to U2, ..., then every E — so a study can probe densely where a stall forms
//! (Post-LN's attention-query gradients vanish by update ~15) and sparsely after. Update 0 and
//! the last update are always measured. A plain number is stored as a number, so the configs
//! and run ids of runs made before schedules existed are unchanged.

use crate::error::Result;
use crate::usage;
use serde::{Deserialize, Serialize};

/// One stretch of the schedule: every `every` updates, up to and including `until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stretch {
    every: u64,
    until: Option<u64>,
}

/// A probe schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeEvery {
    stretches: Vec<Stretch>,
}

impl ProbeEvery {
    /// Every `n` updates.
    pub fn every(n: u64) -> Self {
        Self {
            stretches: vec![Stretch {
                every: n,
                until: None,
            }],
        }
    }

    /// `20` or `2:60,20`; a bad schedule is one line naming it and what is allowed.
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |why: String| {
            usage!("--probe-every {text}: {why}; allowed: N, or E1:U1,E2:U2,...,E (every E1 updates up to update U1, then ...; each E >= 1, the U increasing)")
        };
        let parts: Vec<&str> = text.split(',').map(str::trim).collect();
        if let Ok(n) = text.trim().parse::<u64>() {
            // A plain number, 0 included: `ProbeConfig::validate` names what is allowed.
            return Ok(Self::every(n));
        }
        let mut stretches = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            let (every, until) = match (part.split_once(':'), last) {
                (Some((e, u)), false) => (e, Some(u)),
                (None, true) => (*part, None),
                (Some(_), true) => {
                    return Err(bad(format!(
                        "the last stretch '{part}' has no end: give it as E"
                    )))
                }
                (None, false) => return Err(bad(format!("'{part}' needs an end update: E:U"))),
            };
            let number = |s: &str| s.trim().parse::<u64>().ok();
            let every = number(every)
                .filter(|&e| e > 0)
                .ok_or_else(|| bad(format!("'{every}' is not a whole number of updates >= 1")))?;
            let until = match until {
                Some(u) => {
                    Some(number(u).ok_or_else(|| bad(format!("'{u}' is not an update number")))?)
                }
                None => None,
            };
            stretches.push(Stretch { every, until });
        }
        let ends: Vec<u64> = stretches.iter().filter_map(|s| s.until).collect();
        if ends.windows(2).any(|w| w[0] >= w[1]) || ends.first() == Some(&0) {
            return Err(bad("the end updates are out of order".into()));
        }
        Ok(Self { stretches })
    }

    /// Whether update `step` (>= 1) is on the schedule (besides update 0 and the last).
    pub fn due(&self, step: u64) -> bool {
        let mut start = 0;
        for s in &self.stretches {
            match s.until {
                Some(end) if step > end => start = end,
                _ => return s.every > 0 && (step - start).is_multiple_of(s.every),
            }
        }
        false
    }

    /// The sparsest spacing (the last stretch's): what a cost per update is scaled by.
    pub fn final_every(&self) -> u64 {
        self.stretches.last().map_or(1, |s| s.every)
    }

    /// The measured updates in 1..=steps (without update 0).
    pub fn updates(&self, steps: u64) -> Vec<u64> {
        (1..=steps).filter(|&t| self.due(t) || t == steps).collect()
    }

    fn text(&self) -> String {
        let parts: Vec<String> = self
            .stretches
            .iter()
            .map(|s| match s.until {
                Some(u) => format!("{}:{u}", s.every),
                None => s.every.to_string(),
            })
            .collect();
        parts.join(",")
    }
}

impl From<u64> for ProbeEvery {
    fn from(n: u64) -> Self {
        Self::every(n)
    }
}

impl Serialize for ProbeEvery {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> std::result::Result<S::Ok, S::Error> {
        match self.stretches.as_slice() {
            [Stretch { every, until: None }] => ser.serialize_u64(*every),
            _ => ser.serialize_str(&self.text()),
        }
    }
}

impl<'de> Deserialize<'de> for ProbeEvery {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Every(u64),
            Schedule(String),
        }
        match Form::deserialize(de)? {
            Form::Every(n) => Ok(Self::every(n)),
            Form::Schedule(text) => Self::parse(&text).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_measures_densely_then_sparsely() {
        let s = ProbeEvery::parse("2:10,5:20,50").unwrap();
        assert_eq!(s.updates(130), [2, 4, 6, 8, 10, 15, 20, 70, 120, 130],);
        assert_eq!(ProbeEvery::every(20).updates(50), [20, 40, 50]);
        assert_eq!(serde_json::to_string(&ProbeEvery::every(20)).unwrap(), "20");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"2:10,5:20,50\"");
        let back: ProbeEvery = serde_json::from_str("\"2:10,5:20,50\"").unwrap();
        assert_eq!(back, s);
        let plain: ProbeEvery = serde_json::from_str("20").unwrap();
        assert_eq!(plain, ProbeEvery::every(20));
    }

    #[test]
    fn bad_schedules_say_what_is_allowed() {
        let err = ProbeEvery::parse("2:60,5:40,20").unwrap_err().to_string();
        assert!(
            err.starts_with(
                "--probe-every 2:60,5:40,20: the end updates are out of order; allowed: N, or"
            ),
            "{err}"
        );
        assert_eq!(ProbeEvery::parse("0").unwrap().final_every(), 0); // refused by validate
        assert!(ProbeEvery::parse("2:60").is_err());
        assert!(ProbeEvery::parse("2,20").is_err());
        assert!(ProbeEvery::parse("x:60,20").is_err());
    }
}
