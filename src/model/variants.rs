//! The normalization schemes after Xiong et al. (2020), as `Block` builds them. N = number of
//! layers, F = the attention or FFN sub-layer, x = the residual stream. Every block has an
//! attention and an FFN sub-layer; each formula below is applied to both in turn.
//!
//! | arch | sub-layer update | other | source |
//! |---|---|---|---|
//! | `post-ln` | x ← LN(x + F(x)) | | Vaswani et al. 2017; Xiong et al. 2020 |
//! | `pre-ln` | x ← x + F(LN(x)) | final LN | Xiong et al. 2020 |
//! | `deepnorm` | x ← LN(α·x + F(x)), α = (2N)^(1/4) | FFN W1, W2, V and output projections Xavier with gain β = (8N)^(-1/4); Q, K gain 1 | Wang et al. 2022, "DeepNet: Scaling Transformers to 1,000 Layers", arXiv 2203.00555 (decoder-only/encoder-only row) |
//! | `peri-ln` | x ← x + LN(F(LN(x))) | final LN | Ding et al. 2021, "CogView" (Sandwich-LN); Kim et al. 2025, "Peri-LN", ICML |
//! | `pre-rmsnorm` | x ← x + F(RMSNorm(x)) | final RMSNorm; gain only | Zhang & Sennrich 2019, "Root Mean Square Layer Normalization" |
//! | `rezero` | x ← x + α·F(x), α learned, 0 at init | no norm at all | Bachlechner et al. 2020, "ReZero is All You Need", arXiv 2003.04887 |
//! | `dyt` | x ← x + F(DyT(x)), DyT(x) = γ ⊙ tanh(a·x) + β | final DyT; a learned scalar, 0.5 at init | Zhu et al. 2025, "Transformers without Normalization", CVPR |
//! | `admin` | x ← LN(ω ⊙ x + F(x)) | ω a learned vector per sub-layer, set by profiling (below) | Liu et al. 2020, "Understanding the Difficulty of Training Transformers", EMNLP (code: LiyuanLucasLiu/Transformer-Clinic) |
//! | `b2t` | h ← LN(x + Attn(x)); x ← LN(h + FFN(h) + x) | | Takase et al. 2023, "B2T Connection: Serving Stability and Performance in Deep Transformers", Findings of ACL |
//!
//! Choices made where a paper leaves one open for this model:
//! - DeepNorm: the decoder-only constants (α = (2N)^(1/4), β = (8N)^(-1/4)). DeepNet scales
//!   `xavier_normal_`; lnwarm's other architectures draw Xavier *uniform*, and so does DeepNorm
//!   here, scaled by β (the same variance, β²·2/(fan_in + fan_out)).
//! - Admin: the official code's "adaptive" (O(N) output change) profiling, run once at init on a
//!   fixed batch of training text (seeded by the run seed, not drawn from the training stream):
//!   ω₁ = 1; after sub-layer i, ω_{i+1} = sqrt(Var[ω_i ⊙ x_{i-1}] + Var[F_i(x_{i-1})]), the
//!   variances over all entries, the forward pass continuing with the ω just set. Then
//!   ω_i² ≈ 1 + Σ_{j<i} Var[F_j], the paper's ω_i = sqrt(Σ_{j<i} Var[f_j]) with the embedding
//!   counted as the first term. ω then trains like any parameter (its init is all Admin changes).
//! - ReZero: one scalar per sub-layer (`blocks.l.alpha_attn`, `alpha_ffn`), no final norm, as in
//!   the paper's "ReZero" rows. With α = 0 every sub-layer weight has a zero gradient at init:
//!   only the α receive one at the first update.
//! - Peri-LN: the input and output norms of each sub-layer and a final LN, as the table
//!   and Sandwich-LN; no extra norm of the embeddings.

use crate::config::ModelConfig;

/// DeepNorm's α for the decoder-only / encoder-only case: (2N)^(1/4).
pub fn deepnorm_alpha(n_layers: usize) -> f64 {
    (2.0 * n_layers as f64).powf(0.25)
}

/// DeepNorm's initialisation gain β: (8N)^(-1/4).
pub fn deepnorm_beta(n_layers: usize) -> f64 {
    (8.0 * n_layers as f64).powf(-0.25)
}

/// Gains of the (Q, K, V, out, FFN W1, FFN W2) weights at init: 1, except DeepNorm's β.
pub struct InitGains {
    pub qk: f64,
    pub v_out_ffn: f64,
}

impl InitGains {
    pub fn of(cfg: &ModelConfig) -> Self {
        let v_out_ffn = match cfg.arch {
            crate::config::Arch::Deepnorm => deepnorm_beta(cfg.n_layers),
            _ => 1.0,
        };
        Self { qk: 1.0, v_out_ffn }
    }
}
