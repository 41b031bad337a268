//! Learning-rate schedules: a warmup followed by a decay, as one pure function of the update.
//!
//! Updates are counted from 1: `lr(t)` is the rate used for update t = 1..T; `peak` is `--lr`.
//! During warmup (t <= w) the warmup kind sets the rate; after it the decay is evaluated at
//! s = t - w (its own counter, 0 at the end of warmup, where it equals `peak`), except
//! `inverse-sqrt` and `noam`, which are defined on t itself, and `warmup-stable-decay`, which ends
//! at T. Because the rate is a pure function of t (and, for a constant warmup ended by the loss,
//! of the step where the loss crossed its threshold, kept in the run's result), a resumed run gets
//! exactly the same rates. Formulas: `../shared/reference.md` §3 and the docs of each kind.

mod decay;
mod warmup;

pub use decay::{noam, At, Decay, WsdShape};
pub use warmup::{Warmup, WarmupKind};

use crate::error::Result;
use serde::{Deserialize, Serialize};

/// A schedule as stored in a run config / result JSON, e.g.
/// `{"peak_lr": 1e-3, "warmup": {"kind": "linear", "steps": 4000}, "decay": {"kind": "cosine", "decay_steps": 20000, "alpha": 0.1}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleConfig {
    /// The peak rate (`--lr`), reached at the end of warmup (ignored by `noam`).
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
        if matches!(self.decay, Decay::Noam { .. })
            && !matches!(self.warmup.kind, WarmupKind::Linear | WarmupKind::None)
        {
            return Err(crate::usage!(
                "decay noam has its own linear warmup: use warmup kind linear, not {}",
                self.warmup.kind.name()
            ));
        }
        self.decay
            .validate(self.peak_lr, self.warmup.steps, total_steps)
    }

    /// Validate and fix the run length T (needed by decays that run "until the end").
    pub fn build(&self, total_steps: u64) -> Result<Schedule> {
        self.validate(total_steps)?;
        Ok(Schedule::new(self.clone(), total_steps))
    }

    /// Fill in parameters that default to the model's (Noam's d_model).
    pub fn with_model_width(mut self, d_model: usize) -> Self {
        if let Decay::Noam {
            d_model: width @ None,
            ..
        } = &mut self.decay
        {
            *width = Some(d_model);
        }
        self
    }

    /// Lines that explain non-obvious semantics (shown by `lnwarm schedule`, stored in results).
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if let Decay::Noam { d_model, factor } = &self.decay {
            let d = d_model.unwrap_or(0);
            let w = self.warmup.steps;
            notes.push(format!(
                "noam: peak_lr {} is ignored; the rate is {factor} * d_model^-0.5 * min(t^-0.5, t * w^-1.5), peaking at {:.4e} at t = {w}",
                self.peak_lr,
                noam(w, w, d.max(1), *factor)
            ));
        }
        if let (Decay::InverseSqrt { timescale: None }, 0) = (&self.decay, self.warmup.steps) {
            notes
                .push("inverse-sqrt without warmup or timescale: the rate stays at peak_lr".into());
        }
        if self.warmup.until_loss.is_some() {
            notes.push("constant warmup ends when the training loss first drops below until_loss; the step is recorded in the result".into());
        }
        notes
    }
}

/// A validated schedule for a run of `total_steps` updates.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    cfg: ScheduleConfig,
    total_steps: u64,
    /// Effective warmup length: `warmup.steps`, or the step where `until_loss` was crossed.
    warmup_end: u64,
}

impl Schedule {
    fn new(cfg: ScheduleConfig, total_steps: u64) -> Self {
        let warmup_end = match (cfg.warmup.until_loss, cfg.warmup.steps) {
            (Some(_), 0) => u64::MAX,
            (_, w) => w,
        };
        Self {
            cfg,
            total_steps,
            warmup_end,
        }
    }

    pub fn config(&self) -> &ScheduleConfig {
        &self.cfg
    }

    /// End a loss-triggered constant warmup at update `step` (the decay starts after it).
    pub fn end_warmup_at(&mut self, step: u64) {
        self.warmup_end = self.warmup_end.min(step);
    }

    /// Whether the training loss of update `step` ends a constant warmup that waits for
    /// `until_loss` (the first crossing only).
    pub fn loss_ends_warmup(&self, step: u64, loss: f64) -> bool {
        match self.cfg.warmup.until_loss {
            Some(threshold) => step <= self.warmup_end && loss < threshold,
            None => false,
        }
    }

    pub fn warmup_end(&self) -> u64 {
        self.warmup_end
    }
}

impl LrSchedule for Schedule {
    fn lr(&self, step: u64) -> f64 {
        let t = step.max(1);
        let (peak, total) = (self.cfg.peak_lr, self.total_steps);
        if let Decay::Noam { .. } = self.cfg.decay {
            // Noam is its own warmup: one formula over the whole run.
            return self.cfg.decay.lr(
                peak,
                At {
                    t,
                    w: self.cfg.warmup.steps,
                    total,
                },
            );
        }
        if t <= self.warmup_end {
            return self.cfg.warmup.lr(peak, t, self.cfg.warmup.steps.max(1));
        }
        self.cfg.decay.lr(
            peak,
            At {
                t,
                w: self.warmup_end,
                total,
            },
        )
    }
}
