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

use super::cyclic::{
    cosine_restarts, cyclic, hard_restarts, one_cycle, Anneal, CyclicMode, Restarts,
};
use super::plateau::PlateauRule;
use crate::error::Result;
use crate::usage;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

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
    pub fn name(&self) -> &'static str {
        match self {
            Self::Constant => "constant",
            Self::PiecewiseConstant { .. } => "piecewise-constant",
            Self::InverseTime { .. } => "inverse-time",
            Self::Polynomial { .. } => "polynomial",
            Self::Exponential { .. } => "exponential",
            Self::NaturalExp { .. } => "natural-exp",
            Self::Cosine { .. } => "cosine",
            Self::LinearCosine { .. } => "linear-cosine",
            Self::NoisyLinearCosine { .. } => "noisy-linear-cosine",
            Self::CosineRestarts { .. } => "cosine-restarts",
            Self::CosineHardRestarts { .. } => "cosine-hard-restarts",
            Self::InverseSqrt { .. } => "inverse-sqrt",
            Self::Noam { .. } => "noam",
            Self::WarmupStableDecay { .. } => "warmup-stable-decay",
            Self::OneCycle { .. } => "one-cycle",
            Self::Cyclic { .. } => "cyclic",
            Self::ReduceOnPlateau(_) => "reduce-on-plateau",
        }
    }

    /// Kinds that are a whole schedule, warmup included: no warmup may precede them.
    pub fn has_own_warmup(&self) -> bool {
        matches!(self, Self::OneCycle { .. } | Self::Cyclic { .. })
    }

    /// Rate at decay step `at.s` (Noam is evaluated by the schedule itself).
    pub fn lr(&self, peak: f64, at: At) -> f64 {
        match *self {
            Self::Constant => peak,
            Self::PiecewiseConstant {
                ref boundaries,
                ref values,
            } => values[boundaries.iter().take_while(|&&b| at.s > b).count()],
            Self::InverseTime {
                decay_steps,
                decay_rate,
                staircase,
            } => peak / (1.0 + decay_rate * at.progress(decay_steps, staircase)),
            Self::Polynomial {
                decay_steps,
                end_lr,
                power,
                cycle,
            } => polynomial(peak, at, decay_steps, end_lr, power, cycle),
            Self::Exponential {
                decay_steps,
                decay_rate,
                staircase,
                end_value,
            } => {
                let lr = peak * decay_rate.powf(at.progress(decay_steps, staircase));
                match end_value {
                    Some(end) if decay_rate < 1.0 => lr.max(end),
                    Some(end) => lr.min(end),
                    None => lr,
                }
            }
            Self::NaturalExp {
                decay_steps,
                decay_rate,
                staircase,
            } => peak * (-decay_rate * at.progress(decay_steps, staircase)).exp(),
            Self::Cosine {
                decay_steps,
                alpha,
                exponent,
                num_cycles,
            } => {
                let d = at.horizon(decay_steps);
                let c = 0.5 * (1.0 + (2.0 * PI * num_cycles * at.s().min(d) / d).cos());
                peak * ((1.0 - alpha) * c.powf(exponent) + alpha)
            }
            Self::LinearCosine {
                decay_steps,
                num_periods,
                alpha,
                beta,
            } => peak * linear_cosine(at, decay_steps, num_periods, alpha, beta, 0.0),
            Self::NoisyLinearCosine {
                decay_steps,
                initial_variance,
                variance_decay,
                num_periods,
                alpha,
                beta,
                seed,
            } => {
                let variance = initial_variance / (1.0 + at.s()).powf(variance_decay);
                let noise = variance.sqrt() * standard_normal(seed, at.s);
                peak * linear_cosine(at, decay_steps, num_periods, alpha, beta, noise)
            }
            Self::CosineRestarts {
                first_decay_steps,
                t_mul,
                m_mul,
                alpha,
                cycle_warmup,
                cycle_warmup_start_factor,
            } => cosine_restarts(
                peak,
                at.s(),
                Restarts {
                    first: first_decay_steps as f64,
                    t_mul,
                    m_mul,
                    alpha,
                    warmup: cycle_warmup as f64,
                    warmup_start: cycle_warmup_start_factor,
                },
            ),
            Self::CosineHardRestarts {
                decay_steps,
                num_cycles,
                alpha,
            } => hard_restarts(peak, at.s() / at.horizon(decay_steps), num_cycles, alpha),
            Self::InverseSqrt { timescale } => match (timescale, at.w) {
                (Some(c), _) => peak * (c as f64 / (at.s() + c as f64)).sqrt(),
                (None, 0) => peak,
                (None, w) => peak * (w as f64 / (at.s() + w as f64)).sqrt(),
            },
            // The schedule evaluates Noam on its own step; here s counts from the warmup's end.
            Self::Noam { d_model, factor } => noam(at.s + at.w, at.w, d_model.unwrap_or(1), factor),
            Self::WarmupStableDecay {
                decay_steps,
                stable_steps,
                min_lr_ratio,
                shape,
            } => {
                let (stable, d) = wsd_phases(at.span, at.total, decay_steps, stable_steps);
                if at.s <= stable {
                    return peak;
                }
                let p = ((at.s - stable) as f64 / d as f64).min(1.0);
                let f = match shape {
                    WsdShape::Linear => 1.0 - p,
                    WsdShape::Cosine => 0.5 * (1.0 + (PI * p).cos()),
                    WsdShape::OneMinusSqrt => 1.0 - p.sqrt(),
                };
                peak * (min_lr_ratio + (1.0 - min_lr_ratio) * f)
            }
            Self::OneCycle {
                total_steps,
                pct_start,
                anneal_strategy,
                div_factor,
                final_div_factor,
                three_phase,
            } => one_cycle(
                peak,
                at.s(),
                total_steps.unwrap_or(at.span) as f64,
                pct_start,
                anneal_strategy,
                (div_factor, final_div_factor),
                three_phase,
            ),
            Self::Cyclic {
                base_lr,
                step_size_up,
                step_size_down,
                mode,
                gamma,
            } => cyclic(
                (base_lr, peak),
                at.s,
                (step_size_up, step_size_down.unwrap_or(step_size_up)),
                mode,
                gamma,
            ),
            Self::ReduceOnPlateau(ref rule) => rule.lr_after(peak, at.reductions),
        }
    }

    /// Reject impossible parameters, naming the field.
    pub fn validate(&self, peak: f64, w: u64, span: u64, total: u64) -> Result<()> {
        let kind = self.name();
        match self {
            Self::Constant => Ok(()),
            Self::PiecewiseConstant { boundaries, values } => {
                validate_piecewise(boundaries, values)
            }
            Self::InverseTime {
                decay_steps,
                decay_rate,
                ..
            }
            | Self::NaturalExp {
                decay_steps,
                decay_rate,
                ..
            } => {
                steps_ok(kind, "decay_steps", *decay_steps)?;
                positive(kind, "decay_rate", *decay_rate)
            }
            Self::Exponential {
                decay_steps,
                decay_rate,
                end_value,
                ..
            } => {
                steps_ok(kind, "decay_steps", *decay_steps)?;
                positive(kind, "decay_rate", *decay_rate)?;
                match end_value {
                    Some(end) => non_negative(kind, "end_value", *end),
                    None => Ok(()),
                }
            }
            Self::Polynomial {
                decay_steps,
                end_lr,
                power,
                ..
            } => {
                steps_ok(kind, "decay_steps", *decay_steps)?;
                positive(kind, "power", *power)?;
                non_negative(kind, "end_lr", *end_lr)
            }
            Self::Cosine {
                decay_steps,
                alpha,
                exponent,
                num_cycles,
            } => {
                steps_ok(kind, "decay_steps", *decay_steps)?;
                unit(kind, "alpha", *alpha)?;
                positive(kind, "exponent", *exponent)?;
                positive(kind, "num_cycles", *num_cycles)
            }
            Self::LinearCosine {
                decay_steps,
                num_periods,
                alpha,
                beta,
            } => validate_linear_cosine(*decay_steps, *num_periods, *alpha, *beta, kind),
            Self::NoisyLinearCosine {
                decay_steps,
                initial_variance,
                variance_decay,
                num_periods,
                alpha,
                beta,
                ..
            } => {
                validate_linear_cosine(*decay_steps, *num_periods, *alpha, *beta, kind)?;
                non_negative(kind, "initial_variance", *initial_variance)?;
                non_negative(kind, "variance_decay", *variance_decay)
            }
            Self::CosineRestarts {
                first_decay_steps,
                t_mul,
                m_mul,
                alpha,
                cycle_warmup,
                cycle_warmup_start_factor,
            } => {
                steps_ok(kind, "first_decay_steps", Some(*first_decay_steps))?;
                if cycle_warmup >= first_decay_steps {
                    return Err(usage!(
                        "decay cosine-restarts: cycle_warmup {cycle_warmup} must be shorter than first_decay_steps {first_decay_steps}"
                    ));
                }
                unit(
                    kind,
                    "cycle_warmup_start_factor",
                    *cycle_warmup_start_factor,
                )?;
                if !(*t_mul >= 1.0 && t_mul.is_finite()) {
                    return Err(usage!("decay cosine-restarts: t_mul {t_mul} must be >= 1"));
                }
                positive(kind, "m_mul", *m_mul)?;
                unit(kind, "alpha", *alpha)
            }
            Self::CosineHardRestarts {
                decay_steps,
                num_cycles,
                alpha,
            } => {
                steps_ok(kind, "decay_steps", *decay_steps)?;
                positive(kind, "num_cycles", *num_cycles)?;
                unit(kind, "alpha", *alpha)
            }
            Self::InverseSqrt { timescale } => steps_ok(kind, "timescale", *timescale),
            Self::Noam { d_model, factor } => {
                positive(kind, "factor", *factor)?;
                if *d_model == Some(0) {
                    return Err(usage!("decay noam: d_model 0 must be >= 1"));
                }
                if w == 0 {
                    return Err(usage!(
                        "decay noam: needs a warmup (--warmup N >= 1): its rate peaks at step w"
                    ));
                }
                Ok(())
            }
            Self::WarmupStableDecay {
                decay_steps,
                stable_steps,
                min_lr_ratio,
                ..
            } => {
                steps_ok(kind, "decay_steps", *decay_steps)?;
                unit(kind, "min_lr_ratio", *min_lr_ratio)?;
                let d = decay_steps.unwrap_or(total / 5);
                if stable_steps.is_none() && d > span {
                    return Err(usage!(
                        "decay warmup-stable-decay: decay_steps {d} exceed the {span} steps after warmup (give stable_steps to end the decay before or after the run)"
                    ));
                }
                Ok(())
            }
            Self::OneCycle {
                total_steps,
                pct_start,
                div_factor,
                final_div_factor,
                three_phase,
                ..
            } => {
                steps_ok(kind, "total_steps", *total_steps)?;
                let t = total_steps.unwrap_or(span) as f64;
                let first_end = pct_start * t - 1.0;
                let phases_ok = if *three_phase {
                    first_end > 0.0 && 2.0 * pct_start * t - 2.0 < t - 1.0
                } else {
                    first_end > 0.0 && first_end < t - 1.0
                };
                if !(*pct_start > 0.0 && *pct_start < 1.0 && phases_ok) {
                    return Err(usage!(
                        "decay one-cycle: pct_start {pct_start} must leave every phase at least one step over total_steps {t} (0 < pct_start < {})",
                        if *three_phase { 0.5 } else { 1.0 }
                    ));
                }
                positive(kind, "div_factor", *div_factor)?;
                positive(kind, "final_div_factor", *final_div_factor)
            }
            Self::Cyclic {
                base_lr,
                step_size_up,
                step_size_down,
                gamma,
                ..
            } => {
                if !(*base_lr >= 0.0 && *base_lr <= peak) {
                    return Err(usage!(
                        "decay cyclic: base_lr {base_lr} must be in [0, peak_lr = {peak}]"
                    ));
                }
                steps_ok(kind, "step_size_up", Some(*step_size_up))?;
                steps_ok(kind, "step_size_down", *step_size_down)?;
                positive(kind, "gamma", *gamma)
            }
            Self::ReduceOnPlateau(rule) => rule.validate(),
        }
    }
}

/// (stable steps, decay steps) of warmup-stable-decay: by default the decay is the last 20% of
/// the run's T updates and the stable phase fills the `span` after warmup up to it.
fn wsd_phases(
    span: u64,
    total: u64,
    decay_steps: Option<u64>,
    stable_steps: Option<u64>,
) -> (u64, u64) {
    let d = decay_steps.unwrap_or(total / 5).max(1);
    let stable = stable_steps.unwrap_or_else(|| span.saturating_sub(d));
    (stable, d)
}

/// (alpha + (D - s')/D + noise) * (1 + cos(2 pi num_periods s'/D)) / 2 + beta, s' = min(s, D).
fn linear_cosine(
    at: At,
    decay_steps: Option<u64>,
    num_periods: f64,
    alpha: f64,
    beta: f64,
    noise: f64,
) -> f64 {
    let d = at.horizon(decay_steps);
    let s = at.s().min(d);
    let cosine = 0.5 * (1.0 + (2.0 * PI * num_periods * s / d).cos());
    (alpha + (d - s) / d + noise) * cosine + beta
}

/// A standard normal draw that depends only on (seed, step).
fn standard_normal(seed: u64, step: u64) -> f64 {
    use rand::SeedableRng;
    use rand_distr::Distribution;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(step);
    rand_distr::StandardNormal.sample(&mut rng)
}

fn polynomial(
    peak: f64,
    at: At,
    decay_steps: Option<u64>,
    end_lr: f64,
    power: f64,
    cycle: bool,
) -> f64 {
    let d = at.horizon(decay_steps);
    let s = at.s();
    let (s, d) = if cycle {
        // The horizon grows to the next multiple of D (multiplier 1 at s = 0, as TF).
        let multiple = if s == 0.0 { 1.0 } else { (s / d).ceil() };
        (s, d * multiple)
    } else {
        (s.min(d), d)
    };
    (peak - end_lr) * (1.0 - s / d).powf(power) + end_lr
}

/// factor * d^-0.5 * min(n^-0.5, n * w^-1.5); 0 at n = 0.
pub fn noam(n: u64, w: u64, d_model: usize, factor: f64) -> f64 {
    let n = n as f64;
    let w = w.max(1) as f64;
    factor * (d_model as f64).powf(-0.5) * n.powf(-0.5).min(n * w.powf(-1.5))
}

fn validate_linear_cosine(
    decay_steps: Option<u64>,
    num_periods: f64,
    alpha: f64,
    beta: f64,
    kind: &str,
) -> Result<()> {
    steps_ok(kind, "decay_steps", decay_steps)?;
    positive(kind, "num_periods", num_periods)?;
    non_negative(kind, "alpha", alpha)?;
    non_negative(kind, "beta", beta)
}

fn validate_piecewise(boundaries: &[u64], values: &[f64]) -> Result<()> {
    if values.len() != boundaries.len() + 1 {
        return Err(usage!(
            "decay piecewise-constant: values has {} entries, must have len(boundaries) + 1 = {}",
            values.len(),
            boundaries.len() + 1
        ));
    }
    if let Some(pair) = boundaries.windows(2).find(|p| p[1] <= p[0]) {
        return Err(usage!(
            "decay piecewise-constant: boundaries must be strictly increasing ({} then {})",
            pair[0],
            pair[1]
        ));
    }
    if let Some(v) = values.iter().find(|v| !(**v >= 0.0 && v.is_finite())) {
        return Err(usage!(
            "decay piecewise-constant: value {v} must be a rate >= 0"
        ));
    }
    Ok(())
}

pub(super) fn steps_ok(kind: &str, field: &str, steps: Option<u64>) -> Result<()> {
    match steps {
        Some(0) => Err(usage!("decay {kind}: {field} 0 must be >= 1")),
        _ => Ok(()),
    }
}

pub(super) fn positive(kind: &str, field: &str, value: f64) -> Result<()> {
    if value > 0.0 && value.is_finite() {
        Ok(())
    } else {
        Err(usage!("decay {kind}: {field} {value} must be > 0"))
    }
}

pub(super) fn non_negative(kind: &str, field: &str, value: f64) -> Result<()> {
    if value >= 0.0 && value.is_finite() {
        Ok(())
    } else {
        Err(usage!("decay {kind}: {field} {value} must be >= 0"))
    }
}

pub(super) fn unit(kind: &str, field: &str, value: f64) -> Result<()> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(usage!("decay {kind}: {field} {value} must be in [0, 1]"))
    }
}
