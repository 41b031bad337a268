//! The rate of every decay kind at its own step counter: the formulas, with the library each
//! comes from cited at its variant in `decay/mod.rs`.

use super::{At, Decay, WsdShape};
use crate::schedule::cyclic::{cosine_restarts, cyclic, hard_restarts, one_cycle, Restarts};
use std::f64::consts::PI;

impl Decay {
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
