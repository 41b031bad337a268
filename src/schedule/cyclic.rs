//! Periodic and one-cycle decays: SGDR restarts (Keras `CosineDecayRestarts`), HF's hard
//! restarts, PyTorch's `OneCycleLR` and `CyclicLR`. Each is a pure function of the decay step
//! s, written after the peer's own code (PyTorch 2 `torch/optim/lr_scheduler.py`,
//! `transformers/optimization.py`, `keras/src/optimizers/schedules/learning_rate_schedule.py`).

use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// How one-cycle interpolates within a phase (PyTorch's `anneal_strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Anneal {
    /// end + (start - end) * (1 + cos(pi * pct)) / 2 (PyTorch's default).
    #[default]
    Cos,
    /// start + (end - start) * pct.
    Linear,
}

/// CyclicLR's amplitude policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CyclicMode {
    /// Full amplitude every cycle.
    #[default]
    Triangular,
    /// Amplitude halves every cycle.
    Triangular2,
    /// Amplitude gamma^s (s = the step).
    ExpRange,
}

/// SGDR's parameters: periods of first * t_mul^i steps peaking at m_mul^i (Keras
/// `CosineDecayRestarts`), each optionally starting with a linear warmup of `warmup` steps from
/// `warmup_start` of its peak (optax `sgdr_schedule`).
pub struct Restarts {
    pub first: f64,
    pub t_mul: f64,
    pub m_mul: f64,
    pub alpha: f64,
    pub warmup: f64,
    pub warmup_start: f64,
}

/// SGDR at step s. The period is found by walking the (geometrically growing) periods, which is
/// exact where Keras' log formula can round across a restart boundary.
pub fn cosine_restarts(peak: f64, s: f64, r: Restarts) -> f64 {
    let (i, start, period) = if r.t_mul == 1.0 {
        let i = (s / r.first).floor();
        (i, i * r.first, r.first)
    } else {
        let (mut start, mut period, mut i) = (0.0, r.first, 0.0);
        while s >= start + period {
            start += period;
            period *= r.t_mul;
            i += 1.0;
        }
        (i, start, period)
    };
    let (pos, cycle_peak) = (s - start, r.m_mul.powf(i));
    if pos < r.warmup {
        let ramp = r.warmup_start + (1.0 - r.warmup_start) * pos / r.warmup;
        return peak * cycle_peak * ramp;
    }
    let f = (pos - r.warmup) / (period - r.warmup);
    let cosine = 0.5 * (1.0 + (PI * f).cos());
    peak * ((1.0 - r.alpha) * cycle_peak * cosine + r.alpha)
}

/// HF hard restarts at progress p = s / D: `num_cycles` half-cosines over D, `alpha` after it.
pub fn hard_restarts(peak: f64, progress: f64, num_cycles: f64, alpha: f64) -> f64 {
    if progress >= 1.0 {
        return peak * alpha;
    }
    let cosine = 0.5 * (1.0 + (PI * ((num_cycles * progress) % 1.0)).cos());
    peak * ((1.0 - alpha) * cosine + alpha)
}

/// PyTorch OneCycleLR at step s of `total` (its `last_epoch`, phases ending at pct*T - 1,
/// [2*pct*T - 2,] T - 1).
pub fn one_cycle(
    peak: f64,
    s: f64,
    total: f64,
    pct_start: f64,
    anneal: Anneal,
    (div_factor, final_div_factor): (f64, f64),
    three_phase: bool,
) -> f64 {
    let initial = peak / div_factor;
    let min = initial / final_div_factor;
    let phases: Vec<(f64, f64, f64)> = if three_phase {
        vec![
            (pct_start * total - 1.0, initial, peak),
            (2.0 * pct_start * total - 2.0, peak, initial),
            (total - 1.0, initial, min),
        ]
    } else {
        vec![
            (pct_start * total - 1.0, initial, peak),
            (total - 1.0, peak, min),
        ]
    };
    let mut start_step = 0.0;
    for (i, &(end_step, from, to)) in phases.iter().enumerate() {
        if s <= end_step || i == phases.len() - 1 {
            let pct = (s - start_step) / (end_step - start_step);
            return match anneal {
                Anneal::Cos => to + (from - to) / 2.0 * ((PI * pct).cos() + 1.0),
                Anneal::Linear => (to - from) * pct + from,
            };
        }
        start_step = end_step;
    }
    unreachable!("the last phase always matches")
}

/// PyTorch CyclicLR at step s (its `last_epoch`).
pub fn cyclic(
    (base_lr, max_lr): (f64, f64),
    s: u64,
    (up, down): (u64, u64),
    mode: CyclicMode,
    gamma: f64,
) -> f64 {
    let total = (up + down) as f64;
    let step_ratio = up as f64 / total;
    let cycle = (1.0 + s as f64 / total).floor();
    let x = 1.0 + s as f64 / total - cycle;
    let scale_factor = if x <= step_ratio {
        x / step_ratio
    } else {
        (x - 1.0) / (step_ratio - 1.0)
    };
    let amplitude = match mode {
        CyclicMode::Triangular => 1.0,
        CyclicMode::Triangular2 => 1.0 / 2f64.powf(cycle - 1.0),
        CyclicMode::ExpRange => gamma.powf(s as f64),
    };
    base_lr + (max_lr - base_lr) * scale_factor * amplitude
}
