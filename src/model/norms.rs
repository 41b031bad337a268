//! The normalizations a block can use: LayerNorm (`layers::LayerNorm`), RMSNorm and DyT.
//!
//! - RMSNorm (Zhang & Sennrich 2019, "Root Mean Square Layer Normalization", NeurIPS):
//!   y = x / sqrt(mean(x²) + ε) ⊙ g; no centring, no bias; g starts at 1 (`{name}.weight`).
//! - DyT (Zhu, Chen, He, LeCun & Liu 2025, "Transformers without Normalization", CVPR):
//!   y = γ ⊙ tanh(a·x) + β, with a learned scalar a (`{name}.alpha`, initialised to 0.5 by
//!   default, the paper's value for non-LLM models), γ = 1 (`{name}.weight`), β = 0 (`{name}.bias`).
//!
//! On the CPU both run as fused kernels with their own backward (`model::fused_norms`); the
//! composite forms here are the reference (and the path on other devices), checked against the
//! fused ones and by finite differences in `tests/gradients.rs`.

use super::layers::{composite_kernels, LayerNorm};
use super::params::ParamStore;
use crate::config::{Arch, ModelConfig};
use crate::error::Result;
use candle_core::{Tensor, D};

/// DyT's default initial a (Zhu et al. 2025, for non-LLM Transformers).
pub const DYT_ALPHA: f64 = 0.5;

/// y = x / sqrt(mean(x²) + eps) ⊙ g.
pub struct RmsNorm {
    weight: Tensor,
    eps: f64,
}

impl RmsNorm {
    pub fn new(store: &mut ParamStore, name: &str, d: usize, eps: f64) -> Result<Self> {
        Ok(Self {
            weight: store.ones(&format!("{name}.weight"), d)?,
            eps,
        })
    }

    pub fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        if xs.device().is_cpu() && !composite_kernels() {
            return Ok(super::fused_norms::rms_norm(xs, &self.weight, self.eps)?);
        }
        self.forward_composite(xs)
    }

    /// From candle's differentiable ops (not `candle_nn::ops::rms_norm`: it has no backward).
    pub fn forward_composite(&self, xs: &Tensor) -> Result<Tensor> {
        let ms = xs.sqr()?.mean_keepdim(D::Minus1)?;
        let normed = xs.broadcast_div(&(ms + self.eps)?.sqrt()?)?;
        Ok(normed.broadcast_mul(&self.weight)?)
    }
}

/// y = γ ⊙ tanh(a·x) + β.
pub struct DyT {
    weight: Tensor,
    bias: Tensor,
    alpha: Tensor,
}

impl DyT {
    pub fn new(store: &mut ParamStore, name: &str, d: usize, alpha: f64) -> Result<Self> {
        Ok(Self {
            weight: store.ones(&format!("{name}.weight"), d)?,
            bias: store.zeros(&format!("{name}.bias"), d)?,
            alpha: store.filled(&format!("{name}.alpha"), 1, alpha)?,
        })
    }

    pub fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        if xs.device().is_cpu() && !composite_kernels() {
            return Ok(super::fused_norms::dyt(
                xs,
                &self.weight,
                &self.bias,
                &self.alpha,
            )?);
        }
        self.forward_composite(xs)
    }

    pub fn forward_composite(&self, xs: &Tensor) -> Result<Tensor> {
        let squashed = xs.broadcast_mul(&self.alpha)?.tanh()?;
        Ok(squashed
            .broadcast_mul(&self.weight)?
            .broadcast_add(&self.bias)?)
    }
}

/// The normalization of one position in a block, of the kind its architecture uses.
pub enum Norm {
    Layer(LayerNorm),
    Rms(RmsNorm),
    Tanh(DyT),
}

impl Norm {
    /// The norm `cfg.arch` puts at a position named `name` (`blocks.3.ln_attn`, `final_ln`).
    pub fn for_arch(store: &mut ParamStore, name: &str, cfg: &ModelConfig) -> Result<Self> {
        let d = cfg.d_model;
        Ok(match cfg.arch {
            Arch::PreRmsnorm => Norm::Rms(RmsNorm::new(store, name, d, cfg.ln_eps)?),
            Arch::Dyt => Norm::Tanh(DyT::new(
                store,
                name,
                d,
                cfg.dyt_alpha.unwrap_or(DYT_ALPHA),
            )?),
            _ => Norm::Layer(LayerNorm::new(store, name, d, cfg.ln_eps)?),
        })
    }

    pub fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        match self {
            Norm::Layer(n) => n.forward(xs),
            Norm::Rms(n) => n.forward(xs),
            Norm::Tanh(n) => n.forward(xs),
        }
    }

    /// The composite (candle-op) form, the reference for the fused kernels.
    pub fn forward_composite(&self, xs: &Tensor) -> Result<Tensor> {
        match self {
            Norm::Layer(n) => n.forward_composite(xs),
            Norm::Rms(n) => n.forward_composite(xs),
            Norm::Tanh(n) => n.forward_composite(xs),
        }
    }
}
