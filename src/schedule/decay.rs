//! Decays: the rate after warmup, evaluated at s = t - w (it equals `peak` at s = 0).
//!
//! Parameter names follow TensorFlow's `tf.compat.v1.train.*` schedules; `staircase` means
//! p = floor(s / decay_steps). A missing `decay_steps` means "until the end of training"
//! (T - w). `inverse-sqrt` and `noam` are defined on t itself, `warmup-stable-decay` on t and T.

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
    /// values[i] for boundaries[i-1] < s <= boundaries[i] (absolute rates; one more value than boundaries).
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
    /// (peak - end_lr) * (1 - s'/D)^power + end_lr; s' = min(s, D), or with `cycle` D grows to D * ceil(s / D).
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
    /// peak * decay_rate^p.
    Exponential {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        decay_steps: Option<u64>,
        decay_rate: f64,
        #[serde(default)]
        staircase: bool,
    },
    /// peak * exp(-decay_rate * p).
    NaturalExp {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        decay_steps: Option<u64>,
        decay_rate: f64,
        #[serde(default)]
        staircase: bool,
    },
    /// peak * [(1 - alpha) * (1 + cos(pi * s'/D)) / 2 + alpha], s' = min(s, D).
    Cosine {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        decay_steps: Option<u64>,
        #[serde(default)]
        alpha: f64,
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
    /// SGDR (Loshchilov & Hutter 2017), Keras' CosineDecayRestarts.
    CosineRestarts {
        first_decay_steps: u64,
        #[serde(default = "two")]
        t_mul: f64,
        #[serde(default = "one")]
        m_mul: f64,
        #[serde(default)]
        alpha: f64,
    },
    /// fairseq: peak * sqrt(w / t). With no warmup and no `timescale` the rate stays at peak;
    /// with `timescale` c: peak * sqrt(c / (s + c)) (HF's form; fairseq's when c = w).
    InverseSqrt {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timescale: Option<u64>,
    },
    /// Vaswani et al.: factor * d_model^-0.5 * min(t^-0.5, t * w^-1.5) over the whole run, warmup
    /// included. `peak_lr` is ignored. `d_model` defaults to the model's.
    Noam {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        d_model: Option<usize>,
        #[serde(default = "one")]
        factor: f64,
    },
    /// Peak until T - D, then decay over the last D updates to peak * min_lr_ratio at T
    /// (D default: 20% of T).
    WarmupStableDecay {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        decay_steps: Option<u64>,
        #[serde(default)]
        min_lr_ratio: f64,
        #[serde(default = "linear_shape")]
        shape: WsdShape,
    },
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
fn linear_shape() -> WsdShape {
    WsdShape::Linear
}

/// Where a decay is evaluated: update t, the warmup length w, the run length T.
#[derive(Debug, Clone, Copy)]
pub struct At {
    pub t: u64,
    pub w: u64,
    pub total: u64,
}

impl At {
    fn s(self) -> f64 {
        (self.t - self.w) as f64
    }

    /// Decay horizon: the configured steps, else until the end of training.
    fn horizon(self, decay_steps: Option<u64>) -> f64 {
        decay_steps.unwrap_or_else(|| self.total.saturating_sub(self.w).max(1)) as f64
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
            Self::CosineRestarts { .. } => "cosine-restarts",
            Self::InverseSqrt { .. } => "inverse-sqrt",
            Self::Noam { .. } => "noam",
            Self::WarmupStableDecay { .. } => "warmup-stable-decay",
        }
    }

    /// Rate at update `at.t` > `at.w` (Noam: any t >= 1).
    pub fn lr(&self, peak: f64, at: At) -> f64 {
        match *self {
            Self::Constant => peak,
            Self::PiecewiseConstant {
                ref boundaries,
                ref values,
            } => {
                let s = at.t - at.w;
                values[boundaries.iter().take_while(|&&b| s > b).count()]
            }
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
            } => peak * decay_rate.powf(at.progress(decay_steps, staircase)),
            Self::NaturalExp {
                decay_steps,
                decay_rate,
                staircase,
            } => peak * (-decay_rate * at.progress(decay_steps, staircase)).exp(),
            Self::Cosine { decay_steps, alpha } => {
                let d = at.horizon(decay_steps);
                let cosine = 0.5 * (1.0 + (PI * at.s().min(d) / d).cos());
                peak * ((1.0 - alpha) * cosine + alpha)
            }
            Self::LinearCosine {
                decay_steps,
                num_periods,
                alpha,
                beta,
            } => {
                let d = at.horizon(decay_steps);
                let s = at.s().min(d);
                let cosine = 0.5 * (1.0 + (2.0 * PI * num_periods * s / d).cos());
                peak * ((alpha + (d - s) / d) * cosine + beta)
            }
            Self::CosineRestarts {
                first_decay_steps,
                t_mul,
                m_mul,
                alpha,
            } => cosine_restarts(peak, at.s(), first_decay_steps as f64, t_mul, m_mul, alpha),
            Self::InverseSqrt { timescale } => match (timescale, at.w) {
                (Some(c), _) => peak * (c as f64 / (at.s() + c as f64)).sqrt(),
                (None, 0) => peak,
                (None, w) => peak * (w as f64 / at.t as f64).sqrt(),
            },
            Self::Noam { d_model, factor } => noam(at.t, at.w, d_model.unwrap_or(1), factor),
            Self::WarmupStableDecay {
                decay_steps,
                min_lr_ratio,
                shape,
            } => {
                let d = decay_steps.unwrap_or(at.total / 5).max(1);
                let start = at.total.saturating_sub(d);
                if at.t <= start {
                    return peak;
                }
                let p = ((at.t - start) as f64 / d as f64).min(1.0);
                let f = match shape {
                    WsdShape::Linear => 1.0 - p,
                    WsdShape::Cosine => 0.5 * (1.0 + (PI * p).cos()),
                    WsdShape::OneMinusSqrt => 1.0 - p.sqrt(),
                };
                peak * (min_lr_ratio + (1.0 - min_lr_ratio) * f)
            }
        }
    }

    /// Reject impossible parameters, naming the field.
    pub fn validate(&self, peak: f64, w: u64, total: u64) -> Result<()> {
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
            | Self::Exponential {
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
            Self::Polynomial {
                decay_steps,
                end_lr,
                power,
                ..
            } => {
                steps_ok(kind, "decay_steps", *decay_steps)?;
                positive(kind, "power", *power)?;
                if !(*end_lr >= 0.0 && *end_lr <= peak) {
                    return Err(usage!(
                        "decay polynomial: end_lr {end_lr} must be in [0, peak_lr = {peak}]"
                    ));
                }
                Ok(())
            }
            Self::Cosine { decay_steps, alpha } => {
                steps_ok(kind, "decay_steps", *decay_steps)?;
                unit(kind, "alpha", *alpha)
            }
            Self::LinearCosine {
                decay_steps,
                num_periods,
                alpha,
                beta,
            } => {
                steps_ok(kind, "decay_steps", *decay_steps)?;
                positive(kind, "num_periods", *num_periods)?;
                non_negative(kind, "alpha", *alpha)?;
                non_negative(kind, "beta", *beta)
            }
            Self::CosineRestarts {
                first_decay_steps,
                t_mul,
                m_mul,
                alpha,
            } => {
                steps_ok(kind, "first_decay_steps", Some(*first_decay_steps))?;
                if !(*t_mul >= 1.0 && t_mul.is_finite()) {
                    return Err(usage!("decay cosine-restarts: t_mul {t_mul} must be >= 1"));
                }
                positive(kind, "m_mul", *m_mul)?;
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
                        "decay noam: needs a warmup (--warmup N >= 1): its rate peaks at t = w"
                    ));
                }
                Ok(())
            }
            Self::WarmupStableDecay {
                decay_steps,
                min_lr_ratio,
                ..
            } => {
                steps_ok(kind, "decay_steps", *decay_steps)?;
                unit(kind, "min_lr_ratio", *min_lr_ratio)?;
                let d = decay_steps.unwrap_or(total / 5);
                if w + d > total {
                    return Err(usage!(
                        "decay warmup-stable-decay: warmup {w} + decay_steps {d} exceed the run's {total} steps"
                    ));
                }
                Ok(())
            }
        }
    }
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

/// Keras CosineDecayRestarts at step s: period i lasts first * t_mul^i steps and peaks at
/// m_mul^i. The period is found by walking the (geometrically growing) periods, which is exact
/// where Keras' log formula can round across a restart boundary.
fn cosine_restarts(peak: f64, s: f64, first: f64, t_mul: f64, m_mul: f64, alpha: f64) -> f64 {
    let (i, f) = if t_mul == 1.0 {
        let i = (s / first).floor();
        (i, s / first - i)
    } else {
        let (mut start, mut period, mut i) = (0.0, first, 0.0);
        while s >= start + period {
            start += period;
            period *= t_mul;
            i += 1.0;
        }
        (i, (s - start) / period)
    };
    let cosine = 0.5 * (1.0 + (PI * f).cos());
    peak * ((1.0 - alpha) * m_mul.powf(i) * cosine + alpha)
}

/// factor * d^-0.5 * min(t^-0.5, t * w^-1.5).
pub fn noam(t: u64, w: u64, d_model: usize, factor: f64) -> f64 {
    let t = t.max(1) as f64;
    let w = w.max(1) as f64;
    factor * (d_model as f64).powf(-0.5) * t.powf(-0.5).min(t * w.powf(-1.5))
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

fn steps_ok(kind: &str, field: &str, steps: Option<u64>) -> Result<()> {
    match steps {
        Some(0) => Err(usage!("decay {kind}: {field} 0 must be >= 1")),
        _ => Ok(()),
    }
}

fn positive(kind: &str, field: &str, value: f64) -> Result<()> {
    if value > 0.0 && value.is_finite() {
        Ok(())
    } else {
        Err(usage!("decay {kind}: {field} {value} must be > 0"))
    }
}

fn non_negative(kind: &str, field: &str, value: f64) -> Result<()> {
    if value >= 0.0 && value.is_finite() {
        Ok(())
    } else {
        Err(usage!("decay {kind}: {field} {value} must be >= 0"))
    }
}

fn unit(kind: &str, field: &str, value: f64) -> Result<()> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(usage!("decay {kind}: {field} {value} must be in [0, 1]"))
    }
}
