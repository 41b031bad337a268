//! Every decay kind's parameter checks: impossible values are one-line usage errors naming the
//! field and what is allowed.

use super::Decay;
use crate::error::Result;
use crate::usage;

impl Decay {
    /// Reject impossible parameters, naming the field.
    pub fn validate(&self, peak: f64, w: u64, span: u64, total: u64) -> Result<()> {
        let kind = &self.name();
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
