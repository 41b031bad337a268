//! The differentiable building blocks: Linear, LayerNorm, FFN, causal self-attention (RMSNorm
//! and DyT are in `model::norms`).
//!
//! TRAP (candle 0.11): `candle_nn::LayerNorm`, `ops::layer_norm`, `ops::rms_norm` and
//! `ops::softmax_last_dim` have no backward pass and silently cut the graph. Everything here is
//! built from differentiable primitives; `tests/gradients.rs` proves it by finite differences.

use super::params::ParamStore;
use crate::config::Activation;
use crate::error::Result;
use candle_core::{DType, Device, Tensor, D};

/// y = x W^T + b, on a 2-D input (N, in) so the matmul stays one large GEMM.
pub struct Linear {
    weight: Tensor,
    bias: Option<Tensor>,
}

impl Linear {
    /// Xavier weight (out, in), zero bias; parameters `{name}.weight`, `{name}.bias`.
    pub fn new(store: &mut ParamStore, name: &str, d_in: usize, d_out: usize) -> Result<Self> {
        Self::with_gain(store, name, d_in, d_out, 1.0)
    }

    /// As `new`, the Xavier weight scaled by `gain` (DeepNorm's β).
    pub fn with_gain(
        store: &mut ParamStore,
        name: &str,
        d_in: usize,
        d_out: usize,
        gain: f64,
    ) -> Result<Self> {
        Ok(Self {
            weight: store.xavier_gain(&format!("{name}.weight"), d_out, d_in, gain)?,
            bias: Some(store.zeros(&format!("{name}.bias"), d_out)?),
        })
    }

    /// Xavier weight only (scaled by `gain`), parameter `{name}.weight`.
    pub fn no_bias(
        store: &mut ParamStore,
        name: &str,
        d_in: usize,
        d_out: usize,
        gain: f64,
    ) -> Result<Self> {
        let weight = store.xavier_gain(&format!("{name}.weight"), d_out, d_in, gain)?;
        Ok(Self { weight, bias: None })
    }

    /// (N, in) -> (N, out)
    pub fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        self.forward_act(xs, false)
    }

    /// (N, in) -> (N, out), with the ReLU fused in when `relu`: one fused CPU op
    /// (`model::fused_linear`) when there is a bias, candle's matmul and add otherwise.
    pub fn forward_act(&self, xs: &Tensor, relu: bool) -> Result<Tensor> {
        match &self.bias {
            Some(bias) if xs.device().is_cpu() && !composite_kernels() => {
                Ok(super::fused_linear::linear(xs, &self.weight, bias, relu)?)
            }
            _ => self.forward_composite(xs, relu),
        }
    }

    /// The same layer from candle's differentiable ops (the reference for the fused kernel).
    fn forward_composite(&self, xs: &Tensor, relu: bool) -> Result<Tensor> {
        let ys = xs.matmul(&self.weight.t()?)?;
        let ys = match &self.bias {
            Some(bias) => ys.broadcast_add(bias)?,
            None => ys,
        };
        Ok(if relu { ys.relu()? } else { ys })
    }
}

/// LayerNorm over the last dimension with biased variance, gain 1 and bias 0 at init:
/// LN(v) = gamma * (v - mean) / sqrt(var + eps) + beta.
pub struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl LayerNorm {
    pub fn new(store: &mut ParamStore, name: &str, d: usize, eps: f64) -> Result<Self> {
        Ok(Self {
            weight: store.ones(&format!("{name}.weight"), d)?,
            bias: store.zeros(&format!("{name}.bias"), d)?,
            eps,
        })
    }

    /// A LayerNorm whose bias is a constant 0, not a parameter: QK-norm's key norm, whose bias
    /// would add q·b to every score of a query row, which softmax ignores (its gradient is
    /// identically zero, as the key projection's bias would be).
    pub fn without_bias(store: &mut ParamStore, name: &str, d: usize, eps: f64) -> Result<Self> {
        Ok(Self {
            weight: store.ones(&format!("{name}.weight"), d)?,
            bias: Tensor::zeros(d, store.dtype(), store.device())?,
            eps,
        })
    }

    /// (N, d) -> (N, d): the fused CPU kernel (`model::fused`), the composite ops elsewhere.
    pub fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        if xs.device().is_cpu() && !composite_kernels() {
            return Ok(super::fused::layer_norm(
                xs,
                &self.weight,
                &self.bias,
                self.eps,
            )?);
        }
        self.forward_composite(xs)
    }

    /// The same LayerNorm from differentiable primitives (the reference for the fused kernel).
    pub fn forward_composite(&self, xs: &Tensor) -> Result<Tensor> {
        let mean = xs.mean_keepdim(D::Minus1)?;
        let centered = xs.broadcast_sub(&mean)?;
        let var = centered.sqr()?.mean_keepdim(D::Minus1)?;
        let normed = centered.broadcast_div(&(var + self.eps)?.sqrt()?)?;
        Ok(normed
            .broadcast_mul(&self.weight)?
            .broadcast_add(&self.bias)?)
    }
}

/// `LNWARM_COMPOSITE=1` selects the composite (candle-op) LayerNorm and softmax on the CPU too,
/// instead of the fused kernels of `model::fused` (for A/B checks and benchmarks).
pub fn composite_kernels() -> bool {
    static FLAG: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *FLAG.get_or_init(|| std::env::var_os("LNWARM_COMPOSITE").is_some_and(|v| v == "1"))
}

/// Position-wise feed-forward: act(x W1 + b1) W2 + b2.
pub struct FeedForward {
    w1: Linear,
    w2: Linear,
    activation: Activation,
    /// The activation pattern, recorded or held fixed (`ReluPattern`): probes only.
    pattern: std::sync::Mutex<ReluPattern>,
    /// Whether `pattern` is anything but `Free`: training reads this flag and never locks.
    probing: std::sync::atomic::AtomicBool,
}

/// How a ReLU FFN treats its activation pattern. Training always uses `Free`. The sharpness
/// probe records the pattern at the weights it measures and holds it fixed at the nearby
/// points its finite differences evaluate: the loss is then smooth there, and its Hessian is
/// the almost-everywhere Hessian of the ReLU network that double backpropagation (PyTorch's
/// Hessian-vector products) computes. Without it, a finite-difference step that crosses a
/// kink reads the gradient's jump as curvature, and Lanczos seeks out exactly those directions.
#[derive(Debug, Clone, Default)]
pub enum ReluPattern {
    #[default]
    Free,
    /// The next forward pass stores its pattern here.
    Record(Option<Tensor>),
    /// relu(x) = x ⊙ mask with this 0/1 mask.
    Fixed(Tensor),
}

impl FeedForward {
    pub fn new(
        store: &mut ParamStore,
        name: &str,
        d: usize,
        d_ff: usize,
        activation: Activation,
        gain: f64,
    ) -> Result<Self> {
        Ok(Self {
            w1: Linear::with_gain(store, &format!("{name}.w1"), d, d_ff, gain)?,
            w2: Linear::with_gain(store, &format!("{name}.w2"), d_ff, d, gain)?,
            activation,
            pattern: Default::default(),
            probing: Default::default(),
        })
    }

    /// (N, d) -> (N, d)
    pub fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let hidden = match self.activation {
            Activation::Relu => self.relu_hidden(xs)?,
            Activation::Gelu => {
                let pre = self.w1.forward(xs)?;
                self.record_activity(&pre)?;
                pre.gelu()?
            }
        };
        self.w2.forward(&hidden)
    }

    /// Whether a probe set a pattern (the training forward takes the free path without a lock).
    fn probing(&self) -> bool {
        self.probing.load(std::sync::atomic::Ordering::Acquire)
    }

    fn relu_hidden(&self, xs: &Tensor) -> Result<Tensor> {
        if !self.probing() {
            return self.w1.forward_act(xs, true);
        }
        let mut pattern = self.pattern.lock().unwrap_or_else(|e| e.into_inner());
        match &mut *pattern {
            ReluPattern::Free => self.w1.forward_act(xs, true),
            ReluPattern::Record(slot) => {
                let pre = self.w1.forward_act(xs, false)?;
                *slot = Some(pre.gt(0.0)?.to_dtype(pre.dtype())?.detach());
                Ok(pre.relu()?)
            }
            ReluPattern::Fixed(mask) => Ok((self.w1.forward_act(xs, false)? * &*mask)?),
        }
    }

    /// GELU under `ReluPattern::Record`: store where the pre-activation is > 0 (what the
    /// `units` probe reads); the forward itself is unchanged.
    fn record_activity(&self, pre: &Tensor) -> Result<()> {
        if !self.probing() {
            return Ok(());
        }
        let mut pattern = self.pattern.lock().unwrap_or_else(|e| e.into_inner());
        if let ReluPattern::Record(slot) = &mut *pattern {
            *slot = Some(pre.gt(0.0)?.to_dtype(pre.dtype())?.detach());
        }
        Ok(())
    }

    /// Set how the ReLU treats its pattern; returns the pattern recorded so far, if any.
    pub fn set_relu_pattern(&self, next: ReluPattern) -> Option<Tensor> {
        let mut pattern = self.pattern.lock().unwrap_or_else(|e| e.into_inner());
        let probing = !matches!(next, ReluPattern::Free);
        self.probing
            .store(probing, std::sync::atomic::Ordering::Release);
        match std::mem::replace(&mut *pattern, next) {
            ReluPattern::Record(recorded) => recorded,
            _ => None,
        }
    }
}

/// Multi-head causal self-attention with separate Q, K, V and output projections.
///
/// K has no bias: a key bias adds q.b_k to every score of a query row, which softmax ignores, so
/// its gradient is identically zero (a parameter that can never learn).
pub struct CausalSelfAttention {
    q: Linear,
    k: Linear,
    v: Linear,
    out: Linear,
    /// The K part of the packed bias: zeros, not a parameter.
    k_bias: Tensor,
    n_heads: usize,
    /// `--qk-norm`: LayerNorms over head_dim on the queries and on the keys, shared by the heads
    /// (`attn.q_norm.weight`, `.bias`, `attn.k_norm.weight`; Wortsman et al. 2023). The key norm
    /// has no bias, for the reason the key projection has none.
    qk_norm: Option<(LayerNorm, LayerNorm)>,
}

impl CausalSelfAttention {
    /// Xavier projections: Q and K with gain `gains.qk`, V and out with `gains.v_out_ffn`.
    /// With `qk_norm_eps`, QK-LayerNorm (gain 1, bias 0: registered after the projections, so
    /// every other parameter draws the same initial values as without it).
    pub fn new(
        store: &mut ParamStore,
        name: &str,
        (d, n_heads): (usize, usize),
        gains: &super::variants::InitGains,
        qk_norm_eps: Option<f64>,
    ) -> Result<Self> {
        let (qk, vo) = (gains.qk, gains.v_out_ffn);
        let q = Linear::with_gain(store, &format!("{name}.q"), d, d, qk)?;
        let k = Linear::no_bias(store, &format!("{name}.k"), d, d, qk)?;
        let v = Linear::with_gain(store, &format!("{name}.v"), d, d, vo)?;
        let out = Linear::with_gain(store, &format!("{name}.out"), d, d, vo)?;
        let qk_norm = match qk_norm_eps {
            Some(eps) => Some((
                LayerNorm::new(store, &format!("{name}.q_norm"), d / n_heads, eps)?,
                LayerNorm::without_bias(store, &format!("{name}.k_norm"), d / n_heads, eps)?,
            )),
            None => None,
        };
        Ok(Self {
            q,
            k,
            v,
            out,
            k_bias: Tensor::zeros(d, store.dtype(), store.device())?,
            n_heads,
            qk_norm,
        })
    }

    /// `--qk-norm`: the packed (N, 3d) [Q | K | V] with each head's query and key normalised
    /// over head_dim; unchanged without it.
    fn normed_qkv(&self, qkv: Tensor) -> Result<Tensor> {
        let Some((q_norm, k_norm)) = &self.qk_norm else {
            return Ok(qkv);
        };
        let (rows, cols) = qkv.dims2()?;
        let d = cols / 3;
        let head_dim = d / self.n_heads;
        let per_head = |part: usize, ln: &LayerNorm| -> Result<Tensor> {
            let xs = qkv.narrow(1, part * d, d)?.contiguous()?;
            let xs = ln.forward(&xs.reshape((rows * self.n_heads, head_dim))?)?;
            Ok(xs.reshape((rows, d))?)
        };
        let (q, k) = (per_head(0, q_norm)?, per_head(1, k_norm)?);
        Ok(Tensor::cat(&[&q, &k, &qkv.narrow(1, 2 * d, d)?], 1)?)
    }

    /// Q, K and V as one (N, 3d) product `[Q | K | V]`: one large GEMM instead of three. The
    /// parameters stay separate (`attn.q.weight`, ...); only this forward concatenates them.
    fn packed_projection(&self) -> Result<Linear> {
        let weights = [&self.q.weight, &self.k.weight, &self.v.weight];
        let zero = &self.k_bias;
        let biases = [
            self.q.bias.as_ref().unwrap_or(zero),
            zero,
            self.v.bias.as_ref().unwrap_or(zero),
        ];
        Ok(Linear {
            weight: Tensor::cat(&weights, 0)?,
            bias: Some(Tensor::cat(&biases, 0)?),
        })
    }

    /// Queries and keys of (B*T, d) inputs, each (B, heads, T, head_dim), and 1/sqrt(head_dim):
    /// what the attention-logit probe reads (the scores are q·k times that scale).
    pub fn queries_keys(
        &self,
        xs: &Tensor,
        batch: usize,
        seq: usize,
    ) -> Result<(Tensor, Tensor, f64)> {
        let d = xs.dim(D::Minus1)?;
        let head_dim = d / self.n_heads;
        let heads = |t: Tensor| -> Result<Tensor> {
            Ok(t.reshape((batch, seq, self.n_heads, head_dim))?
                .transpose(1, 2)?
                .contiguous()?)
        };
        let (mut q, mut k) = (
            self.q.forward_composite(xs, false)?,
            self.k.forward_composite(xs, false)?,
        );
        if let Some((q_norm, k_norm)) = &self.qk_norm {
            let rows = q.dim(0)? * self.n_heads;
            let normed = |t: &Tensor, ln: &LayerNorm| -> Result<Tensor> {
                let xs = ln.forward_composite(&t.reshape((rows, head_dim))?)?;
                Ok(xs.reshape(t.shape())?)
            };
            (q, k) = (normed(&q, q_norm)?, normed(&k, k_norm)?);
        }
        Ok((heads(q)?, heads(k)?, 1.0 / (head_dim as f64).sqrt()))
    }

    /// (B*T, d) -> (B*T, d); `mask` is the (T, T) additive causal mask of the composite path.
    pub fn forward(&self, xs: &Tensor, batch: usize, seq: usize, mask: &Tensor) -> Result<Tensor> {
        let qkv = self.normed_qkv(self.packed_projection()?.forward(xs)?)?;
        let context = if xs.device().is_cpu() && !composite_kernels() {
            super::fused_attention::causal_attention(&qkv, batch, seq, self.n_heads)?
        } else {
            composite_attention(&qkv, batch, seq, self.n_heads, mask)?
        };
        self.out.forward(&context)
    }
}

/// The attention core from differentiable candle ops (the reference for the fused kernel, and
/// the path on non-CPU devices): packed qkv (B*T, 3d) -> context (B*T, d).
pub fn composite_attention(
    qkv: &Tensor,
    batch: usize,
    seq: usize,
    n_heads: usize,
    mask: &Tensor,
) -> Result<Tensor> {
    let d = qkv.dim(D::Minus1)? / 3;
    let head_dim = d / n_heads;
    // column block `part` of qkv, (B*T, d) -> (B, h, T, head_dim)
    let split = |part: usize| -> Result<Tensor> {
        Ok(qkv
            .narrow(1, part * d, d)?
            .reshape((batch, seq, n_heads, head_dim))?
            .transpose(1, 2)?
            .contiguous()?)
    };
    let (q, k, v) = (split(0)?, split(1)?, split(2)?);
    let scale = 1.0 / (head_dim as f64).sqrt();
    let scores = (q.matmul(&k.t()?)? * scale)?.broadcast_add(mask)?;
    // Differentiable softmax (NOT ops::softmax_last_dim, which has no backward).
    let probs = candle_nn::ops::softmax(&scores, D::Minus1)?;
    Ok(probs
        .matmul(&v)?
        .transpose(1, 2)?
        .reshape((batch * seq, d))?)
}

/// (T, T) additive mask: 0 on and below the diagonal, -inf above (a position sees only its past).
pub fn causal_mask(seq: usize, dtype: DType, device: &Device) -> Result<Tensor> {
    let values: Vec<f32> = (0..seq)
        .flat_map(|i| (0..seq).map(move |j| if j <= i { 0.0 } else { f32::NEG_INFINITY }))
        .collect();
    Ok(Tensor::from_vec(values, (seq, seq), device)?.to_dtype(dtype)?)
}

/// fairseq's sinusoidal positions: row p = [sin(p * f_k), cos(p * f_k)], f_k = 10000^(-k/(half-1)).
pub fn sinusoidal_positions(seq: usize, d: usize, dtype: DType, device: &Device) -> Result<Tensor> {
    let half = d / 2;
    let step = (10000f64).ln() / (half.max(2) - 1) as f64;
    // Computed in f64 and rounded once to `dtype` (f32 models get the same table as before; f64
    // models, the finite-difference and PyTorch-fixture tests, get full precision).
    let mut values = vec![0f64; seq * d];
    for p in 0..seq {
        for k in 0..half {
            let angle = p as f64 * (-(k as f64) * step).exp();
            values[p * d + k] = angle.sin();
            values[p * d + half + k] = angle.cos();
        }
    }
    Ok(Tensor::from_vec(values, (seq, d), device)?.to_dtype(dtype)?)
}
