//! ReduceLROnPlateau (PyTorch `torch.optim.lr_scheduler.ReduceLROnPlateau`, mode "min"): the
//! rule's parameters, the rate after k reductions, and the state that decides when to reduce.
//! The trainer feeds it every validation loss measured after warmup; the update numbers at which
//! it reduced are kept in the result (`lr_reductions`), so the rate stays a pure function of the
//! update and a resumed run replays the recorded validation losses to rebuild the state.

use crate::error::Result;
use crate::usage;
use serde::{Deserialize, Serialize};

/// Whether `threshold` is relative (best * (1 - threshold)) or absolute (best - threshold).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdMode {
    #[default]
    Rel,
    Abs,
}

/// ReduceLROnPlateau's parameters, PyTorch's names and defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlateauRule {
    pub factor: f64,
    pub patience: u64,
    pub threshold: f64,
    pub threshold_mode: ThresholdMode,
    pub cooldown: u64,
    pub min_lr: f64,
    pub eps: f64,
}

impl Default for PlateauRule {
    fn default() -> Self {
        Self {
            factor: 0.1,
            patience: 10,
            threshold: 1e-4,
            threshold_mode: ThresholdMode::Rel,
            cooldown: 0,
            min_lr: 0.0,
            eps: 1e-8,
        }
    }
}

impl PlateauRule {
    /// The rate after `reductions` reductions from `peak`: PyTorch's max(old * factor, min_lr),
    /// applied only while it changes the rate by more than eps.
    pub fn lr_after(&self, peak: f64, reductions: usize) -> f64 {
        let mut lr = peak;
        for _ in 0..reductions {
            let next = (lr * self.factor).max(self.min_lr);
            if lr - next > self.eps {
                lr = next;
            }
        }
        lr
    }

    pub fn validate(&self) -> Result<()> {
        if !(self.factor > 0.0 && self.factor < 1.0) {
            return Err(usage!(
                "decay reduce-on-plateau: factor {} must be in (0, 1)",
                self.factor
            ));
        }
        for (field, value) in [
            ("threshold", self.threshold),
            ("min_lr", self.min_lr),
            ("eps", self.eps),
        ] {
            if !(value >= 0.0 && value.is_finite()) {
                return Err(usage!(
                    "decay reduce-on-plateau: {field} {value} must be >= 0"
                ));
            }
        }
        Ok(())
    }
}

/// The counters PyTorch keeps between `step(metric)` calls.
#[derive(Debug, Clone, PartialEq)]
pub struct PlateauState {
    best: f64,
    bad_evals: u64,
    cooldown_left: u64,
}

impl Default for PlateauState {
    fn default() -> Self {
        Self {
            best: f64::INFINITY,
            bad_evals: 0,
            cooldown_left: 0,
        }
    }
}

impl PlateauState {
    /// Feed one validation loss; true when the rate is to be reduced after it.
    pub fn observe(&mut self, rule: &PlateauRule, loss: f64) -> bool {
        let better = match rule.threshold_mode {
            ThresholdMode::Rel => loss < self.best * (1.0 - rule.threshold),
            ThresholdMode::Abs => loss < self.best - rule.threshold,
        };
        if better {
            self.best = loss;
            self.bad_evals = 0;
        } else {
            self.bad_evals += 1;
        }
        if self.cooldown_left > 0 {
            self.cooldown_left -= 1;
            self.bad_evals = 0;
        }
        if self.bad_evals > rule.patience {
            self.cooldown_left = rule.cooldown;
            self.bad_evals = 0;
            return true;
        }
        false
    }
}
