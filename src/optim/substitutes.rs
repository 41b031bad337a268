//! Warmup substitutes that act on the update itself (issue 20), around any optimizer's step:
//!
//! - `--freeze-top K` (Gotmare et al. 2019, "A Closer Look at Deep Learning Heuristics",
//!   arXiv 1810.13243, §4: freezing the deeper layers during the warmup window acts like
//!   warmup): the top K blocks, the final norm and an untied output layer get no gradient
//!   during the window, as a torch parameter with `requires_grad = False` would: no update and
//!   no moment update; afterwards their bias corrections count only their own updates. (A
//!   tied output layer is the input embedding too and stays trainable.)
//! - `--update-cap R` (Kosson, Messmer & Jaggi 2024, "Analyzing & Reducing the Need for
//!   Learning Rate Warmup in GPT Training", arXiv 2410.23922: early updates are large relative
//!   to the weights): during the window each tensor's update Δw is scaled down so that
//!   ‖Δw‖/‖w‖ <= R (the optimizer's moments are kept as computed). A tensor with ‖w‖ = 0 (a
//!   zero-initialised bias) has no relative size and is left alone.

use crate::config::OptimConfig;
use crate::error::Result;
use crate::schedule::groups::block_of;
use candle_core::backprop::GradStore;
use candle_core::Var;

/// Which parameters the substitutes touch, and for how long.
#[derive(Debug, Clone, Default)]
pub struct Substitutes {
    pub window: u64,
    pub cap: Option<f64>,
    /// Per parameter, in the optimizer's order: frozen during the window.
    pub frozen: Vec<bool>,
}

/// Whether `name` is in the top `k` of `n_layers` blocks or above them (final norm, untied head).
pub fn is_top(name: &str, k: usize, n_layers: usize) -> bool {
    if k == 0 {
        return false;
    }
    match block_of(name) {
        Some(block) => block + k >= n_layers,
        None => name.starts_with("final_ln") || name.starts_with("head."),
    }
}

impl Substitutes {
    pub fn new(vars: &[(String, Var)], cfg: &OptimConfig) -> Self {
        let n_layers = vars
            .iter()
            .filter_map(|(name, _)| block_of(name))
            .max()
            .map_or(0, |b| b + 1);
        Self {
            window: cfg.window,
            cap: cfg.update_cap,
            frozen: vars
                .iter()
                .map(|(name, _)| is_top(name, cfg.freeze_top, n_layers))
                .collect(),
        }
    }

    /// Updates that parameter `i` sat out (frozen) before update `update` (1-based).
    pub fn skipped(&self, i: usize, update: u64) -> u64 {
        if self.frozen.get(i).copied().unwrap_or(false) {
            (update - 1).min(self.window)
        } else {
            0
        }
    }

    /// Whether parameter `i` sits out update `update` (1-based).
    pub fn frozen_at(&self, i: usize, update: u64) -> bool {
        self.frozen.get(i).copied().unwrap_or(false) && self.in_window(update)
    }

    fn in_window(&self, update: u64) -> bool {
        update <= self.window
    }

    /// The gradients update `update` may use: without the frozen parameters' in the window.
    pub fn gradients(&self, vars: &[Var], grads: &GradStore, update: u64) -> Option<GradStore> {
        if !self.in_window(update) || !self.frozen.iter().any(|f| *f) {
            return None;
        }
        let mut kept = GradStore::default();
        for (var, frozen) in vars.iter().zip(&self.frozen) {
            if let (false, Some(g)) = (*frozen, grads.get(var)) {
                kept.insert(var.as_tensor(), g.clone());
            }
        }
        Some(kept)
    }

    /// `step` (the optimizer's own update), with every tensor's relative update capped during
    /// the window.
    pub fn capped(
        &self,
        vars: &[Var],
        update: u64,
        step: impl FnOnce() -> Result<()>,
    ) -> Result<()> {
        let Some(cap) = self.cap.filter(|_| self.in_window(update)) else {
            return step();
        };
        let before = vars
            .iter()
            .map(|v| Ok(v.as_tensor().copy()?))
            .collect::<Result<Vec<_>>>()?;
        step()?;
        for (var, old) in vars.iter().zip(before) {
            let norm = l2(&old)?;
            let delta = (var.as_tensor() - &old)?;
            let size = l2(&delta)?;
            if norm > 0.0 && size > cap * norm {
                var.set(&(old + (delta * (cap * norm / size))?)?)?;
            }
        }
        Ok(())
    }
}

/// ‖t‖₂ in f64.
fn l2(t: &candle_core::Tensor) -> Result<f64> {
    let squares = t.to_dtype(candle_core::DType::F64)?.sqr()?.sum_all()?;
    Ok(squares.to_scalar::<f64>()?.sqrt())
}
