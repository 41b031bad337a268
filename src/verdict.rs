//! Verdicts on the paper's claims: holds / does not hold / inconclusive, with the rule written out
//! and the numbers behind it. An effect within the seed spread is inconclusive.

use crate::stats::Interval;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Holds,
    DoesNotHold,
    Inconclusive,
    /// The design did not put the question: the intervention never ran (a catapult search
    /// that started every warmup at the peak) or nothing aimed at the account ran.
    NotTested,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Holds => "holds",
            Outcome::DoesNotHold => "does not hold",
            Outcome::Inconclusive => "inconclusive",
            Outcome::NotTested => "not tested",
        }
    }

    /// Combine sub-results: all hold -> holds; any fails -> does not hold; else inconclusive.
    pub fn all(outcomes: impl IntoIterator<Item = Outcome>) -> Outcome {
        let mut result = Outcome::Holds;
        for o in outcomes {
            match o {
                Outcome::DoesNotHold => return Outcome::DoesNotHold,
                Outcome::Inconclusive | Outcome::NotTested => result = Outcome::Inconclusive,
                Outcome::Holds => {}
            }
        }
        result
    }
}

/// One claim's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub claim: String,
    pub outcome: Outcome,
    pub rule: String,
    pub evidence: String,
    /// The effect sizes behind the verdict, with their bounds (claims from training runs;
    /// absent in results written before they were reported).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub effect: String,
}

impl Verdict {
    /// The outcome as the verdict's reader says it: an account of why warmup works ("M ...")
    /// is supported or not supported; a claim holds or does not hold.
    pub fn word(&self) -> &'static str {
        match (self.claim.starts_with("M "), self.outcome) {
            (true, Outcome::Holds) => "supported",
            (true, Outcome::DoesNotHold) => "contradicted",
            (_, outcome) => outcome.name(),
        }
    }

    pub fn render(&self) -> String {
        let effect = if self.effect.is_empty() {
            String::new()
        } else {
            format!("\n    effect: {}", self.effect)
        };
        format!(
            "{}: {}\n    evidence: {}{effect}\n    rule: {}",
            self.claim,
            self.word().to_uppercase(),
            self.evidence,
            self.rule
        )
    }
}

/// Judge a seed interval against a band [lo, hi]: holds if the interval overlaps the band and
/// `extra` holds, does not hold if it lies entirely outside, inconclusive otherwise (and always
/// with fewer than two seeds).
pub fn judge_band(i: &Interval, band: (f64, f64), extra: bool) -> Outcome {
    if i.n < 2 || !i.mean.is_finite() {
        return Outcome::Inconclusive;
    }
    if i.hi < band.0 || i.lo > band.1 {
        Outcome::DoesNotHold
    } else if extra {
        Outcome::Holds
    } else {
        Outcome::Inconclusive
    }
}

/// Judge a seed interval that should lie inside [lo, hi]: holds if inside, does not hold if
/// entirely outside, inconclusive otherwise.
pub fn judge_inside(i: &Interval, band: (f64, f64)) -> Outcome {
    if i.n < 2 || !i.mean.is_finite() {
        return Outcome::Inconclusive;
    }
    if i.lo >= band.0 && i.hi <= band.1 {
        Outcome::Holds
    } else if i.hi < band.0 || i.lo > band.1 {
        Outcome::DoesNotHold
    } else {
        Outcome::Inconclusive
    }
}

/// Judge a seed interval that should be positive (`sign` = 1) or negative (-1).
pub fn judge_sign(i: &Interval, sign: f64) -> Outcome {
    if i.n < 2 || !i.mean.is_finite() {
        return Outcome::Inconclusive;
    }
    let (lo, hi) = if sign > 0.0 {
        (i.lo, i.hi)
    } else {
        (-i.hi, -i.lo)
    };
    if lo > 0.0 {
        Outcome::Holds
    } else if hi < 0.0 {
        Outcome::DoesNotHold
    } else {
        Outcome::Inconclusive
    }
}
