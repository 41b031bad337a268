//! The optimizer's config: which optimizer (`--optimizer`), its hyper-parameters, and the
//! warmup substitutes that act inside it (issue 20).

use crate::error::Result;
use crate::usage;
use serde::{Deserialize, Serialize};

/// The optimizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerKind {
    /// Adam without weight decay (paper: beta 0.9/0.98, eps 1e-8).
    Adam,
    /// Adam with decoupled weight decay.
    Adamw,
    /// SGD, optional momentum and L2 weight decay.
    Sgd,
    /// Rectified Adam (Liu et al. 2020): the paper's warmup-free control.
    Radam,
    /// GI-Adam (Kalra & Barkeshli 2024): Adam whose second moment starts at the first gradient
    /// squared, v0 = g0², a built-in warmup of the update size by sqrt(1 − β2^t).
    GiAdam,
}

/// Optimizer hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OptimConfig {
    pub kind: OptimizerKind,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    /// Decoupled (AdamW) or L2 (SGD) weight decay; must be 0 for Adam and RAdam.
    pub weight_decay: f64,
    /// SGD momentum (0 = plain SGD).
    pub momentum: f64,
    /// Clip the global gradient norm to this value; `null` = no clipping.
    pub clip: Option<f64>,
    /// Warmup substitute (`--v-fill N`): N batches whose gradients only fill Adam's second
    /// moment before the first update (the RAdam paper's "Adam-2k" control).
    #[serde(skip_serializing_if = "is_zero")]
    pub v_fill: u64,
    /// Warmup substitute (`--update-cap R`): during the first `window` updates, each tensor's
    /// relative update ‖Δw‖/‖w‖ is scaled down to at most R (Kosson et al. 2024).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_cap: Option<f64>,
    /// Warmup substitute (`--freeze-top K`): during the first `window` updates the top K blocks,
    /// the final norm and an untied output layer are frozen (Gotmare et al. 2019).
    #[serde(skip_serializing_if = "is_zero_usize")]
    pub freeze_top: usize,
    /// The updates the update cap and the frozen blocks last (`--substitute-window N`): the
    /// warmup window they stand in for.
    #[serde(skip_serializing_if = "is_zero")]
    pub window: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_zero_usize(n: &usize) -> bool {
    *n == 0
}

impl Default for OptimConfig {
    fn default() -> Self {
        Self {
            kind: OptimizerKind::Adam,
            beta1: 0.9,
            beta2: 0.98,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            clip: None,
            v_fill: 0,
            update_cap: None,
            freeze_top: 0,
            window: 0,
        }
    }
}

impl OptimConfig {
    /// Refuse values no optimizer can use, and flags the chosen one ignores.
    pub fn validate(&self) -> Result<()> {
        let o = self;
        for (name, beta) in [("optim.beta1", o.beta1), ("optim.beta2", o.beta2)] {
            if !(0.0..1.0).contains(&beta) {
                return Err(usage!("{name} {beta}: must be in [0, 1)"));
            }
        }
        if !(o.eps > 0.0 && o.eps.is_finite()) {
            return Err(usage!("optim.eps {}: must be a positive number", o.eps));
        }
        if !(o.weight_decay >= 0.0 && o.weight_decay.is_finite()) {
            return Err(usage!("--weight-decay {}: must be >= 0", o.weight_decay));
        }
        if o.weight_decay > 0.0
            && matches!(
                o.kind,
                OptimizerKind::Adam | OptimizerKind::Radam | OptimizerKind::GiAdam
            )
        {
            return Err(usage!(
                "--weight-decay {} with --optimizer {}: allowed only with adamw or sgd (adam means no decay)",
                o.weight_decay,
                optimizer_name(o.kind)
            ));
        }
        if !(0.0..1.0).contains(&o.momentum) {
            return Err(usage!("--momentum {}: must be in [0, 1)", o.momentum));
        }
        if o.momentum > 0.0 && o.kind != OptimizerKind::Sgd {
            return Err(usage!(
                "--momentum {}: allowed only with --optimizer sgd",
                o.momentum
            ));
        }
        if let Some(clip) = o.clip {
            if !(clip > 0.0 && clip.is_finite()) {
                return Err(usage!(
                    "--clip {clip}: must be a positive number (omit it for no clipping)"
                ));
            }
        }
        self.validate_substitutes()
    }

    /// The warmup substitutes: each with the optimizers it is defined for, the windowed ones
    /// with a window. (The depth check of `--freeze-top` needs the model: `RunConfig`.)
    fn validate_substitutes(&self) -> Result<()> {
        let name = optimizer_name(self.kind);
        if self.v_fill > 0 && !matches!(self.kind, OptimizerKind::Adam | OptimizerKind::Adamw) {
            return Err(usage!(
                "--v-fill {} with --optimizer {name}: allowed only with adam or adamw (it fills Adam's second moment; gi-adam sets it from the first gradient)",
                self.v_fill
            ));
        }
        if let Some(cap) = self.update_cap {
            if !(cap > 0.0 && cap.is_finite()) {
                return Err(usage!(
                    "--update-cap {cap}: must be a positive relative update size (e.g. 0.01)"
                ));
            }
        }
        let windowed = self.update_cap.is_some() || self.freeze_top > 0;
        if windowed && self.window == 0 {
            return Err(usage!(
                "--update-cap and --freeze-top act during a window: give --substitute-window N (updates, e.g. the warmup length they replace)"
            ));
        }
        if !windowed && self.window > 0 {
            return Err(usage!(
                "--substitute-window {}: nothing to time (give --update-cap R or --freeze-top K)",
                self.window
            ));
        }
        Ok(())
    }
}

pub fn optimizer_name(kind: OptimizerKind) -> &'static str {
    match kind {
        OptimizerKind::Adam => "adam",
        OptimizerKind::Adamw => "adamw",
        OptimizerKind::Sgd => "sgd",
        OptimizerKind::Radam => "radam",
        OptimizerKind::GiAdam => "gi-adam",
    }
}
