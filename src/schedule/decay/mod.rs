//! Decays: the rate after warmup (and hold), evaluated at the decay's own counter s, which is 0
//! at the schedule step where the decay starts (there it equals `peak`, except for the
//! whole-run kinds `one-cycle` and `cyclic`, which start at their base rate).
//!
//! Parameter names follow the library each formula comes from: TensorFlow's
//! `tf.compat.v1.train.*` (`decay_steps`, `decay_rate`, `staircase`, `alpha`, `end_lr` = TF's
//! `end_learning_rate`), optax (`exponent`, `end_value`), Hugging Face (`num_cycles`,
//! `min_lr_ratio`, `stable_steps`) and PyTorch (`pct_start`, `div_factor`, `base_lr`,
//! `step_size_up`, `factor`, `patience`, ...). A missing `decay_steps` means "until the end of
//! training" (the span T - w - hold). Sources: `../shared/reference.md` §3 and each peer's code as
//! cited per kind; the golden fixtures in `tests/fixtures/schedules/` are those peers' outputs.

//!
//! This module holds the kinds and their parameters; `kinds` is the table the CLI and the
//! preview read, `rate` evaluates them and `validate` checks their parameters.

mod kinds;
mod rate;
mod validate;

use super::cyclic::{Anneal, CyclicMode};
use super::plateau::PlateauRule;
use serde::{Deserialize, Serialize};

pub use kinds::{DecayKind, Example, KindSpec};
pub use rate::noam;

/// Shape of the final decay of warmup-stable-decay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub enum WsdShape {
    #[serde(rename = "linear")]
    #[value(name = "linear")]
    Linear,
    #[serde(rename = "cosine")]
    #[value(name = "cosine")]
    Cosine,
    #[serde(rename = "1-sqrt")]
    #[value(name = "1-sqrt")]
    OneMinusSqrt,
}

/// What happens after warmup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Decay {
    /// Stay at peak.
    #[default]
    Constant,
    /// values[i] for boundaries[i-1] < s <= boundaries[i] (absolute rates; one more value than
    /// boundaries). Keras `PiecewiseConstantDecay`.
    PiecewiseConstant {
        boundaries: Vec<u64>,
        values: Vec<f64>,
    },
    /// peak / (1 + decay_rate * p).
    InverseTime {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        decay_steps: Option<u64>,
        decay_rate: f64,
        #[serde(default)]
        staircase: bool,
    },
    /// (peak - end_lr) * (1 - s'/D)^power + end_lr; s' = min(s, D), or with `cycle` D grows to
    /// D * ceil(s / D). `end_lr` above the peak makes it increase (optax `polynomial_schedule`).
    /// Also accepted as `linear` (HF's linear schedule: power 1 to 0 at the end of the run).
    #[serde(alias = "linear")]
    Polynomial {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        decay_steps: Option<u64>,
        #[serde(default)]
        end_lr: f64,
        #[serde(default = "one")]
        power: f64,
        #[serde(default)]
        cycle: bool,
    },
    /// peak * decay_rate^p, held at `end_value` once it gets there (optax).
    Exponential {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        decay_steps: Option<u64>,
        decay_rate: f64,
        #[serde(default)]
        staircase: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        end_value: Option<f64>,
    },
    /// peak * exp(-decay_rate * p).
    NaturalExp {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        decay_steps: Option<u64>,
        decay_rate: f64,
        #[serde(default)]
        staircase: bool,
    },
    /// peak * [(1 - alpha) * c^exponent + alpha], c = (1 + cos(2 pi num_cycles s'/D)) / 2,
    /// s' = min(s, D). TF/Keras `cosine_decay` (num_cycles 0.5, exponent 1), optax's `exponent`,
    /// HF's `num_cycles`.
    Cosine {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        decay_steps: Option<u64>,
        #[serde(default)]
        alpha: f64,
        #[serde(default = "one", skip_serializing_if = "is_one")]
        exponent: f64,
        #[serde(default = "half", skip_serializing_if = "is_half")]
        num_cycles: f64,
    },
    /// peak * [(alpha + (D - s')/D) * (1 + cos(2 pi num_periods s'/D)) / 2 + beta] (Bello et al. 2017).
    LinearCosine {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        decay_steps: Option<u64>,
        #[serde(default = "half")]
        num_periods: f64,
        #[serde(default)]
        alpha: f64,
        #[serde(default = "milli")]
        beta: f64,
    },
    /// TF `noisy_linear_cosine_decay`: linear-cosine with Gaussian noise of variance
    /// initial_variance / (1 + s)^variance_decay added to the linear part. The noise is a pure
    /// function of (seed, s), so resumed runs get the same rates; it cannot equal TF's draws.
    NoisyLinearCosine {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        decay_steps: Option<u64>,
        #[serde(default = "one")]
        initial_variance: f64,
        #[serde(default = "variance_decay")]
        variance_decay: f64,
        #[serde(default = "half")]
        num_periods: f64,
        #[serde(default)]
        alpha: f64,
        #[serde(default = "milli")]
        beta: f64,
        #[serde(default)]
        seed: u64,
    },
    /// SGDR (Loshchilov & Hutter 2017), Keras' CosineDecayRestarts; with `cycle_warmup` each
    /// period starts with a linear warmup from `cycle_warmup_start_factor` of its peak (optax
    /// `sgdr_schedule` of `warmup_cosine_decay_schedule`s).
    CosineRestarts {
        first_decay_steps: u64,
        #[serde(default = "two")]
        t_mul: f64,
        #[serde(default = "one")]
        m_mul: f64,
        #[serde(default)]
        alpha: f64,
        #[serde(default, skip_serializing_if = "is_zero")]
        cycle_warmup: u64,
        #[serde(default, skip_serializing_if = "is_zero_f64")]
        cycle_warmup_start_factor: f64,
    },
    /// HF `get_cosine_with_hard_restarts_schedule_with_warmup`: `num_cycles` half-cosines from the
    /// peak to `alpha` * peak over D (periods need not be whole numbers of steps); alpha after D.
    CosineHardRestarts {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        decay_steps: Option<u64>,
        #[serde(default = "one")]
        num_cycles: f64,
        #[serde(default)]
        alpha: f64,
    },
    /// fairseq: peak * sqrt(w / (s + w)). With no warmup and no `timescale` the rate stays at
    /// peak; with `timescale` c: peak * sqrt(c / (s + c)) (HF's form; fairseq's when c = w).
    InverseSqrt {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timescale: Option<u64>,
    },
    /// Vaswani et al.: factor * d_model^-0.5 * min(n^-0.5, n * w^-1.5) over the whole run, warmup
    /// included. `peak_lr` is ignored. `d_model` defaults to the model's.
    Noam {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        d_model: Option<usize>,
        #[serde(default = "one")]
        factor: f64,
    },
    /// Peak for `stable_steps` (default: until D steps before the end), then decay over D steps
    /// to peak * min_lr_ratio, which holds after (D default: 20% of T). HF `get_wsd_schedule`
    /// (whose decay shape defaults to cosine; lnwarm's to linear). Also accepted as `wsd`.
    #[serde(alias = "wsd")]
    WarmupStableDecay {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        decay_steps: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stable_steps: Option<u64>,
        #[serde(default)]
        min_lr_ratio: f64,
        #[serde(default = "linear_shape")]
        shape: WsdShape,
    },
    /// PyTorch `OneCycleLR` over `total_steps` (default: the run), from peak/div_factor up to the
    /// peak in pct_start of it, then down to peak/(div_factor*final_div_factor) (three_phase: back
    /// to peak/div_factor first). Has its own warmup.
    OneCycle {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        total_steps: Option<u64>,
        #[serde(default = "pct_start")]
        pct_start: f64,
        #[serde(default)]
        anneal_strategy: Anneal,
        #[serde(default = "div_factor")]
        div_factor: f64,
        #[serde(default = "final_div_factor")]
        final_div_factor: f64,
        #[serde(default)]
        three_phase: bool,
    },
    /// PyTorch `CyclicLR`: triangles between `base_lr` and the peak (`max_lr`), up in
    /// step_size_up steps, down in step_size_down (default: the same).
    Cyclic {
        base_lr: f64,
        #[serde(default = "step_size_up")]
        step_size_up: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step_size_down: Option<u64>,
        #[serde(default)]
        mode: CyclicMode,
        #[serde(default = "one")]
        gamma: f64,
    },
    /// PyTorch `ReduceLROnPlateau` (mode min) on the validation loss: after `patience`
    /// evaluations without improvement the rate is multiplied by `factor` (not below `min_lr`).
    /// Evaluations during warmup are not counted.
    ReduceOnPlateau(PlateauRule),
}

fn one() -> f64 {
    1.0
}
fn two() -> f64 {
    2.0
}
fn half() -> f64 {
    0.5
}
fn milli() -> f64 {
    0.001
}
fn variance_decay() -> f64 {
    0.55
}
fn pct_start() -> f64 {
    0.3
}
fn div_factor() -> f64 {
    25.0
}
fn final_div_factor() -> f64 {
    1e4
}
fn step_size_up() -> u64 {
    2000
}
fn is_zero(x: &u64) -> bool {
    *x == 0
}
fn is_zero_f64(x: &f64) -> bool {
    *x == 0.0
}
fn is_one(x: &f64) -> bool {
    *x == 1.0
}
fn is_half(x: &f64) -> bool {
    *x == 0.5
}
fn linear_shape() -> WsdShape {
    WsdShape::Linear
}

/// Where a decay is evaluated.
#[derive(Debug, Clone, Copy)]
pub struct At {
    /// The decay's own step counter (0 where the decay starts).
    pub s: u64,
    /// The warmup's length w.
    pub w: u64,
    /// Steps from the decay's start to the end of the run: the default horizon.
    pub span: u64,
    /// The run's length T in updates.
    pub total: u64,
    /// Rate reductions so far (reduce-on-plateau only).
    pub reductions: usize,
}

impl At {
    fn s(self) -> f64 {
        self.s as f64
    }

    /// Decay horizon: the configured steps, else until the end of training.
    fn horizon(self, decay_steps: Option<u64>) -> f64 {
        decay_steps.unwrap_or(self.span).max(1) as f64
    }

    /// s / D, floored when `staircase`.
    fn progress(self, decay_steps: Option<u64>, staircase: bool) -> f64 {
        let p = self.s() / self.horizon(decay_steps);
        if staircase {
            p.floor()
        } else {
            p
        }
    }
}

impl Decay {
    /// The `--decay` value and JSON `kind` of this decay (its row of the kinds table).
    pub fn name(&self) -> String {
        self.kind().name()
    }

    /// Kinds that are a whole schedule, warmup included: no warmup may precede them.
    pub fn has_own_warmup(&self) -> bool {
        matches!(self, Self::OneCycle { .. } | Self::Cyclic { .. })
    }
}
