//! Learning-rate schedules: a warmup followed by a decay, as one pure function of the update.
//!
//! Updates are counted from 1: `lr(t)` is the rate used for update t = 1..T. During warmup
//! (t <= w) the warmup kind sets the rate; after it the decay is evaluated at s = t - w (so it
//! starts at `peak_lr`), except `inverse-sqrt`, which is defined on t itself (fairseq:
//! peak * sqrt(w / t)). Being a pure function of t, a resumed run gets exactly the same rates.

mod decay;
mod warmup;

pub use decay::Decay;
pub use warmup::{Warmup, WarmupKind};

use crate::error::Result;
use serde::{Deserialize, Serialize};

/// A schedule as stored in a run config / result JSON, e.g.
/// `{"peak_lr": 1e-3, "warmup": {"kind": "linear", "steps": 4000}, "decay": {"kind": "inverse-sqrt"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleConfig {
    /// The peak rate (`--lr`), reached at the end of warmup.
    pub peak_lr: f64,
    pub warmup: Warmup,
    pub decay: Decay,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        Self {
            peak_lr: 1e-3,
            warmup: Warmup::linear(4000),
            decay: Decay::InverseSqrt { timescale: None },
        }
    }
}

/// Anything that maps an update number (from 1) to a learning rate; the trainer uses only this.
pub trait LrSchedule {
    fn lr(&self, step: u64) -> f64;
}

impl LrSchedule for ScheduleConfig {
    fn lr(&self, step: u64) -> f64 {
        let t = step.max(1);
        let w = self.warmup.steps;
        if t <= w {
            self.warmup.lr(self.peak_lr, t)
        } else {
            self.decay.lr(self.peak_lr, t, w)
        }
    }
}

impl ScheduleConfig {
    /// Reject impossible parameters, naming the field.
    pub fn validate(&self, total_steps: u64) -> Result<()> {
        if !(self.peak_lr > 0.0 && self.peak_lr.is_finite()) {
            return Err(crate::usage!(
                "--lr {}: must be a positive number",
                self.peak_lr
            ));
        }
        self.warmup.validate()?;
        self.decay
            .validate(self.peak_lr, self.warmup.steps, total_steps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paper(w: u64) -> ScheduleConfig {
        ScheduleConfig {
            peak_lr: 1e-3,
            warmup: Warmup::linear(w),
            decay: Decay::InverseSqrt { timescale: None },
        }
    }

    #[test]
    fn paper_schedule_closed_form() {
        let s = paper(4000);
        assert_eq!(s.lr(1), 1e-3 / 4000.0);
        assert_eq!(s.lr(2000), 0.5e-3);
        assert_eq!(s.lr(3999), 1e-3 * 3999.0 / 4000.0);
        assert_eq!(s.lr(4000), 1e-3);
        assert!((s.lr(4001) - 1e-3 * (4000.0f64 / 4001.0).sqrt()).abs() < 1e-15);
        assert!((s.lr(16000) - 0.5e-3).abs() < 1e-15);
    }

    #[test]
    fn no_warmup_is_constant_peak() {
        let s = paper(0);
        for t in [1, 2, 100, 10_000] {
            assert_eq!(s.lr(t), 1e-3);
        }
    }

    #[test]
    fn warmup_one_is_papers_no_warmup() {
        // The paper's "T_warmup = 1" then inverse-sqrt: peak / sqrt(t).
        let s = paper(1);
        assert_eq!(s.lr(1), 1e-3);
        assert!((s.lr(100) - 1e-4).abs() < 1e-15);
    }
}
