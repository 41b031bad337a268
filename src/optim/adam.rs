//! Adam and AdamW (decoupled weight decay, Loshchilov & Hutter 2019), written out so that their
//! moments can be checkpointed: candle-nn's `AdamW` keeps them private.
//!
//! The update is candle-nn 0.11's `AdamW::step` operation for operation (same tensor ops in the
//! same order, so the same rounding): results of runs made with candle's optimizer reproduce bit
//! for bit. With weight decay 0 it is Adam (Kingma & Ba 2015) with bias correction:
//! m = b1 m + (1-b1) g; v = b2 v + (1-b2) g²; p = p (1 - lr wd) - lr m̂ / (sqrt(v̂) + eps).
//!
//! GI-Adam (Kalra & Barkeshli 2024, "Why Warmup the Learning Rate?", arXiv 2406.09405; their
//! code, github.com/dayal-kalra/why-warmup at 877d887, `vision/mechanisms/utils/optim_utils.py`
//! `adam_init(grads=...)`): v starts at g0² instead of 0 and keeps its bias correction, so
//! v̂_t ≈ g²/(1 − β2^t) and the update is lr·sqrt(1 − β2^t)·g/|g|: an automatic warmup. (The
//! bias correction is what makes the warmup; without it the first update would be lr-sized.)
//! Their g0 is the gradient of one batch drawn before training; here it is the gradient of the
//! first update's batch, so that GI-Adam sees the same data stream as every other arm.
//!
//! `--v-fill N` (the RAdam paper's "Adam-2k" control, Liu et al. 2020; their code,
//! github.com/LiyuanLucasLiu/RAdam at d9fd30a, `nmt/my_module/adam2.py` `adam_freeze`): N
//! batches only fill v before the first update; v's bias correction counts them, m's counts
//! the real updates. (Their code also counts the fill in m's correction, which shrinks the
//! first real updates to about (1 − β1) of Adam's: a second, momentum warmup mixed into the
//! control; here the control changes v alone.) A parameter frozen by `--freeze-top` counts
//! only its own updates in both corrections, like a torch parameter outside the optimizer.

use super::{NamedState, Rates, StateTensors, Substitutes};
use crate::config::OptimConfig;
use crate::error::Result;
use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};

/// One parameter and its two moments.
struct Slot {
    name: String,
    var: Var,
    exp_avg: Tensor,
    exp_avg_sq: Tensor,
}

pub struct Adam {
    slots: Vec<Slot>,
    pub(super) rates: Rates,
    beta1: f64,
    pub(super) beta2: f64,
    pub(super) eps: f64,
    weight_decay: f64,
    /// GI-Adam: the first update sets v = g² before it is taken.
    gradient_init: bool,
    /// `--v-fill`: batches that filled v before the first update (v's correction counts them).
    pub(super) v_fill: u64,
    /// `--freeze-top`: the updates each slot sat out.
    substitutes: Substitutes,
    step: u64,
}

impl Adam {
    pub fn new(
        vars: &[(String, Var)],
        lr: f64,
        cfg: &OptimConfig,
        substitutes: &Substitutes,
    ) -> Result<Self> {
        let slots = vars
            .iter()
            .map(|(name, var)| {
                let zeros = var.as_tensor().zeros_like()?;
                Ok(Slot {
                    name: name.clone(),
                    var: var.clone(),
                    exp_avg: zeros.clone(),
                    exp_avg_sq: zeros,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            slots,
            rates: Rates::new(lr),
            beta1: cfg.beta1,
            beta2: cfg.beta2,
            eps: cfg.eps,
            weight_decay: cfg.weight_decay,
            gradient_init: cfg.kind == crate::config::OptimizerKind::GiAdam,
            v_fill: cfg.v_fill,
            substitutes: substitutes.clone(),
            step: 0,
        })
    }

    /// The second moments v (not bias-corrected), in slot order.
    pub(super) fn second_moments(&self) -> Vec<&Tensor> {
        self.slots.iter().map(|s| &s.exp_avg_sq).collect()
    }

    /// Updates taken.
    pub(super) fn updates(&self) -> u64 {
        self.step
    }

    /// `--v-fill`: v = β2 v + (1 − β2) g² for one batch's gradients; weights and m unchanged.
    pub fn fill_second_moment(&mut self, grads: &GradStore) -> Result<()> {
        for slot in self.slots.iter_mut() {
            if let Some(g) = grads.get(&slot.var) {
                let v = ((&slot.exp_avg_sq * self.beta2)? + (g.sqr()? * (1.0 - self.beta2))?)?;
                slot.exp_avg_sq = v.detach();
            }
        }
        Ok(())
    }

    pub fn step(&mut self, grads: &GradStore) -> Result<()> {
        if self.gradient_init && self.step == 0 {
            for slot in self.slots.iter_mut() {
                if let Some(g) = grads.get(&slot.var) {
                    slot.exp_avg_sq = g.sqr()?.detach();
                }
            }
        }
        self.step += 1;
        let (beta1, beta2) = (self.beta1, self.beta2);
        for (i, slot) in self.slots.iter_mut().enumerate() {
            let Some(g) = grads.get(&slot.var) else {
                continue;
            };
            let lr = self.rates.of(i);
            let own = self.step - self.substitutes.skipped(i, self.step);
            let scale_m = 1f64 / (1f64 - beta1.powi(own as i32));
            let scale_v = 1f64 / (1f64 - beta2.powi((own + self.v_fill) as i32));
            // Detached: gradients carry their backward graph (see `optimizer_state_holds_no_graph`).
            let next_m = ((&slot.exp_avg * beta1)? + (g * (1.0 - beta1))?)?.detach();
            let next_v = ((&slot.exp_avg_sq * beta2)? + (g.sqr()? * (1.0 - beta2))?)?.detach();
            let m_hat = (&next_m * scale_m)?;
            let v_hat = (&next_v * scale_v)?;
            let theta = (slot.var.as_tensor() * (1f64 - lr * self.weight_decay))?;
            let adjusted = (m_hat / (v_hat.sqrt()? + self.eps)?)?;
            slot.var.set(&(theta - (adjusted * lr)?)?)?;
            slot.exp_avg = next_m;
            slot.exp_avg_sq = next_v;
        }
        Ok(())
    }
}

impl NamedState for Adam {
    fn state(&self) -> StateTensors {
        let mut out = StateTensors::with_step(self.step);
        for s in &self.slots {
            out.push(format!("{}.exp_avg", s.name), s.exp_avg.clone());
            out.push(format!("{}.exp_avg_sq", s.name), s.exp_avg_sq.clone());
        }
        out
    }

    fn load_state(&mut self, state: &StateTensors) -> Result<()> {
        self.step = state.step()?;
        for s in self.slots.iter_mut() {
            s.exp_avg = state.like(&format!("{}.exp_avg", s.name), s.var.as_tensor())?;
            s.exp_avg_sq = state.like(&format!("{}.exp_avg_sq", s.name), s.var.as_tensor())?;
        }
        Ok(())
    }
}
