//! Learning-rate schedules: a warmup, an optional hold, then a decay, as one function of the
//! update.
//!
//! **Convention.** Updates are counted t = 1..T. Update t reads the schedule at step
//! n = t - 1 + `step_origin`: origin 0 is the counter of TF (`global_step`), Keras, PyTorch and HF
//! (`last_epoch`), optax (`count`) and fairseq (`num_updates`), which are 0 during the first
//! update; origin 1 (lnwarm's default) is the paper's Noam `step_num`. The first w updates are
//! the warmup (the ramp reads n / w, reaching the peak at n = w); `hold` more updates stay at the
//! peak; then the decay's own counter s = n - w - hold starts at 0 (where it equals the peak), as
//! optax `join_schedules`, Keras `warmup_steps`, torch `SequentialLR` and HF do. Noam is one
//! formula on n. Because the rate is a function of t (and of the update where a loss-ended warmup
//! ended and where reduce-on-plateau cut the rate, both kept in the run's result), a resumed run
//! gets exactly the same rates. Formulas: `../shared/reference.md` §3 and the docs of each kind.

mod cyclic;
mod decay;
pub mod groups;
mod notes;
mod plateau;
mod warmup;

pub use cyclic::{Anneal, CyclicMode};
pub use decay::{noam, At, Decay, DecayKind, Example, KindSpec, WsdShape};
pub use plateau::{PlateauRule, PlateauState, ThresholdMode};
pub use warmup::{StartSearch, Warmup, WarmupKind};

use crate::error::Result;
use serde::{Deserialize, Serialize};

/// lnwarm's default step origin (see the module docs and docs/schedules.md "Step counting").
pub const DEFAULT_STEP_ORIGIN: u8 = 1;

/// A schedule as stored in a run config / result JSON, e.g.
/// `{"peak_lr": 1e-3, "warmup": {"kind": "linear", "steps": 4000}, "decay": {"kind": "cosine", "decay_steps": 20000, "alpha": 0.1}}`.
/// In JSON, `warmup` and `decay` must be given (a missing one was a silent default before).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ScheduleJson")]
pub struct ScheduleConfig {
    /// The peak rate (`--lr`), reached at the end of warmup (ignored by `noam`).
    pub peak_lr: f64,
    /// Update t reads the schedule at step t - 1 + step_origin (0: TF/torch/HF/optax/fairseq).
    #[serde(skip_serializing_if = "is_default_origin")]
    pub step_origin: u8,
    pub warmup: Warmup,
    pub decay: Decay,
}

fn is_default_origin(origin: &u8) -> bool {
    *origin == DEFAULT_STEP_ORIGIN
}

/// The JSON form, with `warmup` and `decay` required.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleJson {
    #[serde(default = "default_peak")]
    peak_lr: f64,
    #[serde(default = "default_origin")]
    step_origin: u8,
    warmup: Option<Warmup>,
    decay: Option<Decay>,
}

fn default_peak() -> f64 {
    1e-3
}
fn default_origin() -> u8 {
    DEFAULT_STEP_ORIGIN
}

impl TryFrom<ScheduleJson> for ScheduleConfig {
    type Error = String;
    fn try_from(json: ScheduleJson) -> std::result::Result<Self, String> {
        let warmup = json.warmup.ok_or(
            "schedule.warmup: not given; write {\"kind\": \"none\"} for no warmup or e.g. {\"kind\": \"linear\", \"steps\": 4000}",
        )?;
        let decay = json.decay.ok_or(
            "schedule.decay: not given; write {\"kind\": \"constant\"} to stay at peak_lr or e.g. {\"kind\": \"inverse-sqrt\"}",
        )?;
        Ok(Self {
            peak_lr: json.peak_lr,
            step_origin: json.step_origin,
            warmup,
            decay,
        })
    }
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        Self {
            peak_lr: 1e-3,
            step_origin: DEFAULT_STEP_ORIGIN,
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
        if self.step_origin > 1 {
            return Err(crate::usage!(
                "step_origin {}: must be 0 (TF, Keras, PyTorch, HF, optax, fairseq: update 1 reads step 0) or 1 (the paper's Noam; lnwarm's default)",
                self.step_origin
            ));
        }
        self.warmup.validate()?;
        let warmup = self.warmup.kind;
        if matches!(self.decay, Decay::Noam { .. })
            && !matches!(warmup, WarmupKind::Linear | WarmupKind::None)
        {
            return Err(crate::usage!(
                "decay noam has its own linear warmup: use warmup kind linear, not {}",
                warmup.name()
            ));
        }
        if let (Some(spec), Decay::Noam { .. }) = (&self.warmup.groups, &self.decay) {
            return Err(crate::usage!(
                "--warmup-groups {spec} with decay noam: Noam's warmup is inside its formula; use a warmup kind with another decay"
            ));
        }
        if self.decay.has_own_warmup() && (warmup != WarmupKind::None || self.warmup.hold > 0) {
            return Err(crate::usage!(
                "decay {} ramps up by itself: use warmup kind none without hold, not {} {}",
                self.decay.name(),
                warmup.name(),
                self.warmup.steps
            ));
        }
        let span = total_steps.saturating_sub(self.warmup.steps + self.warmup.hold);
        self.decay
            .validate(self.peak_lr, self.warmup.steps, span, total_steps)
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
}

/// A validated schedule for a run of `total_steps` updates.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    cfg: ScheduleConfig,
    total_steps: u64,
    /// Warmup updates: `warmup.steps`, or the update where `until_loss` was crossed.
    warmup_end: u64,
    /// reduce-on-plateau: the counters, and the updates after whose evaluation the rate was cut.
    plateau: PlateauState,
    reductions: Vec<u64>,
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
            plateau: PlateauState::default(),
            reductions: Vec::new(),
        }
    }

    pub fn config(&self) -> &ScheduleConfig {
        &self.cfg
    }

    pub fn total_steps(&self) -> u64 {
        self.total_steps
    }

    /// The schedule step update t reads.
    pub fn step_of(&self, t: u64) -> u64 {
        t.max(1) - 1 + u64::from(self.cfg.step_origin)
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

    /// reduce-on-plateau: feed the validation loss measured after update `step`; returns true
    /// when it cuts the rate (from update step + 1 on). Evaluations during warmup do not count.
    pub fn observe_val_loss(&mut self, step: u64, val_loss: f64) -> bool {
        let Decay::ReduceOnPlateau(rule) = &self.cfg.decay else {
            return false;
        };
        if step == 0 || step < self.warmup_end.saturating_add(self.cfg.warmup.hold) {
            return false;
        }
        let cut = self.plateau.observe(rule, val_loss);
        if cut {
            self.reductions.push(step);
        }
        cut
    }

    /// The updates after which reduce-on-plateau cut the rate.
    pub fn reductions(&self) -> &[u64] {
        &self.reductions
    }
}

impl LrSchedule for Schedule {
    fn lr(&self, step: u64) -> f64 {
        let t = step.max(1);
        let n = self.step_of(t);
        let (peak, w) = (self.cfg.peak_lr, self.cfg.warmup.steps);
        if let Decay::Noam { d_model, factor } = self.cfg.decay {
            // Noam is its own warmup: one formula over the whole run.
            return noam(n, w, d_model.unwrap_or(1), factor);
        }
        if t <= self.warmup_end {
            return self.cfg.warmup.lr(peak, n, w.max(1));
        }
        let decay_start = self.warmup_end + self.cfg.warmup.hold;
        if n < decay_start {
            return peak;
        }
        let mut at = self.at(n - decay_start);
        at.reductions = self.reductions.iter().filter(|&&r| r < t).count();
        self.cfg.decay.lr(peak, at)
    }
}

impl Schedule {
    /// The rate of update `step` for a parameter outside `--warmup-groups`: the schedule with
    /// its warmup replaced by the peak (the same as `lr` once the warmup is over).
    pub fn full_lr(&self, step: u64) -> f64 {
        if matches!(self.cfg.decay, Decay::Noam { .. }) || step.max(1) > self.warmup_end {
            return self.lr(step);
        }
        self.cfg.peak_lr
    }

    /// The decay evaluated at its own step s (no plateau reductions).
    fn at(&self, s: u64) -> At {
        let decay_start = self.warmup_end.saturating_add(self.cfg.warmup.hold);
        At {
            s,
            w: self.warmup_end,
            span: self.total_steps.saturating_sub(decay_start),
            total: self.total_steps,
            reductions: 0,
        }
    }
}
