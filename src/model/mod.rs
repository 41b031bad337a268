//! A decoder-only causal character Transformer whose normalization scheme is one flag: Post-LN
//! and Pre-LN (Xiong et al. 2020) and the schemes that followed (`variants` lists each formula
//! and its source).
//!
//! Post-LN: x = LN(x + Attn(x)); x = LN(x + FFN(x)); no final LN.
//! Pre-LN:  x = x + Attn(LN(x)); x = x + FFN(LN(x)); a final LN before the output projection.
//! One `Block` type; the placement is matched in one place (`Block::forward_probe`).

pub mod fused;
pub mod fused_attention;
pub mod fused_linear;
pub mod fused_norms;
pub mod lanes;
pub mod layers;
pub mod norms;
pub mod params;
pub mod softmax_row;
pub mod variants;

use crate::config::{Arch, ModelConfig, Positions};
use crate::error::Result;
use candle_core::Tensor;
use layers::{causal_mask, sinusoidal_positions, CausalSelfAttention, FeedForward};
use norms::Norm;
pub use params::ParamStore;
use variants::InitGains;

/// One Transformer layer: attention and FFN sub-layers with the norms and shortcut scales of its
/// architecture.
pub struct Block {
    arch: Arch,
    /// The norm of the attention sub-layer (`ln_attn`: before it in the Pre family, after the add
    /// in the Post family); `None` for ReZero.
    norm_attn: Option<Norm>,
    attn: CausalSelfAttention,
    norm_ffn: Option<Norm>,
    ffn: FeedForward,
    /// Peri-LN's norms of the sub-layer outputs (`ln_attn_out`, `ln_ffn_out`).
    out_attn: Option<Norm>,
    out_ffn: Option<Norm>,
    /// Learned scales: ReZero's α on the branch (`alpha_attn`, 1 value), Admin's ω on the
    /// shortcut (`omega_attn`, d values).
    scale_attn: Option<Tensor>,
    scale_ffn: Option<Tensor>,
    /// DeepNorm's constant shortcut scale α (1 for every other architecture).
    shortcut: f64,
}

impl Block {
    fn new(store: &mut ParamStore, index: usize, cfg: &ModelConfig) -> Result<Self> {
        let p = format!("blocks.{index}");
        let d = cfg.d_model;
        let gains = InitGains::of(cfg);
        let norm = |store: &mut ParamStore, name: &str| -> Result<Option<Norm>> {
            Ok(match cfg.arch {
                Arch::Rezero => None,
                _ => Some(Norm::for_arch(store, &format!("{p}.{name}"), cfg)?),
            })
        };
        let qk_norm_eps = cfg.qk_norm.then_some(cfg.ln_eps);
        let attn = CausalSelfAttention::new(
            store,
            &format!("{p}.attn"),
            (d, cfg.n_heads),
            &gains,
            qk_norm_eps,
        )?;
        let norm_attn = norm(store, "ln_attn")?;
        let ffn_name = format!("{p}.ffn");
        let ffn = FeedForward::new(
            store,
            &ffn_name,
            d,
            cfg.d_ff,
            cfg.activation,
            gains.v_out_ffn,
        )?;
        let norm_ffn = norm(store, "ln_ffn")?;
        let (out_attn, out_ffn) = match cfg.arch {
            Arch::PeriLn => (norm(store, "ln_attn_out")?, norm(store, "ln_ffn_out")?),
            _ => (None, None),
        };
        let (scale_attn, scale_ffn) = match cfg.arch {
            Arch::Rezero => (
                Some(store.filled(&format!("{p}.alpha_attn"), 1, 0.0)?),
                Some(store.filled(&format!("{p}.alpha_ffn"), 1, 0.0)?),
            ),
            // 1 until `Transformer::admin_profile` sets them.
            Arch::Admin => (
                Some(store.filled(&format!("{p}.omega_attn"), d, 1.0)?),
                Some(store.filled(&format!("{p}.omega_ffn"), d, 1.0)?),
            ),
            _ => (None, None),
        };
        let shortcut = match cfg.arch {
            Arch::Deepnorm => variants::deepnorm_alpha(cfg.n_layers),
            _ => 1.0,
        };
        Ok(Self {
            arch: cfg.arch,
            norm_attn,
            attn,
            norm_ffn,
            ffn,
            out_attn,
            out_ffn,
            scale_attn,
            scale_ffn,
            shortcut,
        })
    }

    /// (B*T, d) -> (B*T, d).
    pub fn forward(&self, xs: &Tensor, batch: usize, seq: usize, mask: &Tensor) -> Result<Tensor> {
        Ok(self.forward_probe(xs, batch, seq, mask)?.out)
    }

    /// The block output, the input its attention sees and, for the Post family, the residual
    /// sum entering its last norm (x^{post,5} of the paper, whose squared norm Lemma 2 puts at
    /// 1.5 d). The only place the architectures differ inside a layer.
    pub fn forward_probe(
        &self,
        xs: &Tensor,
        batch: usize,
        seq: usize,
        mask: &Tensor,
    ) -> Result<BlockTrace> {
        let attn = |x: &Tensor| self.attn.forward(x, batch, seq, mask);
        let trace = |out, attn_input: &Tensor, residual_sum| BlockTrace {
            out,
            attn_input: attn_input.clone(),
            residual_sum,
        };
        match self.arch {
            Arch::PostLn | Arch::Deepnorm | Arch::Admin => {
                let h = norm(
                    &self.norm_attn,
                    &(self.skip(xs, &self.scale_attn)? + attn(xs)?)?,
                )?;
                let sum = (self.skip(&h, &self.scale_ffn)? + self.ffn.forward(&h)?)?;
                Ok(trace(norm(&self.norm_ffn, &sum)?, xs, Some(sum)))
            }
            Arch::B2t => {
                let h = norm(&self.norm_attn, &(xs + attn(xs)?)?)?;
                let sum = ((&h + self.ffn.forward(&h)?)? + xs)?;
                Ok(trace(norm(&self.norm_ffn, &sum)?, xs, Some(sum)))
            }
            Arch::PreLn | Arch::PreRmsnorm | Arch::Dyt => {
                let seen = norm(&self.norm_attn, xs)?;
                let h = (xs + attn(&seen)?)?;
                let out = (&h + self.ffn.forward(&norm(&self.norm_ffn, &h)?)?)?;
                Ok(trace(out, &seen, None))
            }
            Arch::PeriLn => {
                let seen = norm(&self.norm_attn, xs)?;
                let h = (xs + norm(&self.out_attn, &attn(&seen)?)?)?;
                let branch = self.ffn.forward(&norm(&self.norm_ffn, &h)?)?;
                Ok(trace((&h + norm(&self.out_ffn, &branch)?)?, &seen, None))
            }
            Arch::Rezero => {
                let h = (xs + scaled(&attn(xs)?, &self.scale_attn)?)?;
                let branch = scaled(&self.ffn.forward(&h)?, &self.scale_ffn)?;
                Ok(trace((&h + branch)?, xs, None))
            }
        }
    }

    /// This block's attention (for the attention-logit probe).
    pub fn attention(&self) -> &CausalSelfAttention {
        &self.attn
    }

    /// The shortcut of a Post-family sub-layer: x, DeepNorm's α·x or Admin's ω ⊙ x.
    fn skip(&self, xs: &Tensor, omega: &Option<Tensor>) -> Result<Tensor> {
        Ok(match omega {
            Some(w) => xs.broadcast_mul(w)?,
            None if self.shortcut != 1.0 => (xs * self.shortcut)?,
            None => xs.clone(),
        })
    }

    /// Admin's profiling of this block (see `variants`): sets ω of both sub-layers from
    /// `ratio` and the variances it sees, returns the block output and the next ratio.
    fn admin_profile(
        &self,
        store: &ParamStore,
        index: usize,
        xs: &Tensor,
        mut ratio: f64,
        (batch, seq): (usize, usize),
        mask: &Tensor,
    ) -> Result<(Tensor, f64)> {
        let set = |name: &str, value: f64| -> Result<()> {
            let var = store
                .get(&format!("blocks.{index}.{name}"))
                .ok_or_else(|| {
                    crate::error::Error::Internal(format!(
                        "admin: no parameter blocks.{index}.{name}"
                    ))
                })?;
            Ok(var.set(&var.as_tensor().ones_like()?.affine(value, 0.0)?)?)
        };
        set("omega_attn", ratio)?;
        let branch = self.attn.forward(xs, batch, seq, mask)?;
        let shortcut = self.skip(xs, &self.scale_attn)?;
        let next = (variance(&shortcut)? + variance(&branch)?).sqrt();
        let xs = norm(&self.norm_attn, &(shortcut + branch)?)?;
        ratio = next;
        set("omega_ffn", ratio)?;
        let branch = self.ffn.forward(&xs)?;
        let shortcut = self.skip(&xs, &self.scale_ffn)?;
        let next = (variance(&shortcut)? + variance(&branch)?).sqrt();
        let out = norm(&self.norm_ffn, &(shortcut + branch)?)?;
        Ok((out, next))
    }
}

/// `x` through `norm` if there is one (ReZero has none).
fn norm(norm: &Option<Norm>, xs: &Tensor) -> Result<Tensor> {
    match norm {
        Some(n) => n.forward(xs),
        None => Ok(xs.clone()),
    }
}

/// A branch times its learned scale (ReZero's α).
fn scaled(branch: &Tensor, scale: &Option<Tensor>) -> Result<Tensor> {
    Ok(match scale {
        Some(a) => branch.broadcast_mul(a)?,
        None => branch.clone(),
    })
}

/// Population variance of all entries (numpy's `var`), in f64.
fn variance(t: &Tensor) -> Result<f64> {
    let v = t
        .detach()
        .to_dtype(candle_core::DType::F64)?
        .flatten_all()?
        .to_vec1::<f64>()?;
    let n = v.len().max(1) as f64;
    let mean = v.iter().sum::<f64>() / n;
    Ok(v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n)
}

/// What one block computed, as `Block::forward_probe` returns it.
pub struct BlockTrace {
    /// The block output (B*T, d).
    pub out: Tensor,
    /// What the block's attention reads: the normed stream (Pre family) or the stream itself.
    pub attn_input: Tensor,
    /// Post family: the residual sum entering the block's last norm.
    pub residual_sum: Option<Tensor>,
}

/// Hidden states recorded by `Transformer::hidden_states`, each (B*T, d).
pub struct HiddenStates {
    /// The state entering each block, then the state leaving the last block (entering the final
    /// LN for Pre-LN): L + 1 tensors.
    pub entering: Vec<Tensor>,
    /// Post-LN only: each block's residual sum before its last LN (x^{post,5}); empty for Pre-LN.
    pub residual_sums: Vec<Tensor>,
    /// What each block's attention reads (L tensors).
    pub attn_inputs: Vec<Tensor>,
    /// Logits (B*T, vocab).
    pub logits: Tensor,
    /// The state the output projection sees (after the final LN for Pre-LN).
    pub final_hidden: Tensor,
}

/// Token embedding (+ positions), `n_layers` blocks, optional final LN, output projection.
pub struct Transformer {
    cfg: ModelConfig,
    tok_emb: Tensor,
    /// (max_seq, d): the learned `pos_emb.weight` or the fixed sinusoids.
    positions: Tensor,
    /// (max_seq, max_seq) additive causal mask (used by the composite attention path).
    mask: Tensor,
    blocks: Vec<Block>,
    final_ln: Option<Norm>,
    head: Option<Tensor>,
}

/// mean over positions of (log Z)², log Z = logsumexp of the (N, vocab) logits. The row maximum
/// is detached: log Z does not depend on it, so the gradient is exact and the exp cannot overflow.
pub fn z_loss(logits: &Tensor) -> Result<Tensor> {
    let max = logits.max_keepdim(candle_core::D::Minus1)?.detach();
    let log_z = (logits
        .broadcast_sub(&max)?
        .exp()?
        .sum_keepdim(candle_core::D::Minus1)?
        .log()?
        + max)?;
    Ok(log_z.sqr()?.mean_all()?)
}

impl Transformer {
    /// Build and initialise: Xavier weights, zero biases, LN gain 1 / bias 0; token embedding
    /// N(0, 1/d) (fairseq), so after the sqrt(d) scale the input has unit-variance entries.
    pub fn new(
        cfg: &ModelConfig,
        vocab_size: usize,
        max_seq: usize,
        store: &mut ParamStore,
    ) -> Result<Self> {
        let d = cfg.d_model;
        let tok_emb = store.normal("tok_emb.weight", &[vocab_size, d], (d as f64).powf(-0.5))?;
        let (device, dtype) = (store.device().clone(), store.dtype());
        let positions = match cfg.positions {
            Positions::Learned => store.normal("pos_emb.weight", &[max_seq, d], 0.02)?,
            Positions::Sinusoidal => sinusoidal_positions(max_seq, d, dtype, &device)?,
        };
        let mask = causal_mask(max_seq, dtype, &device)?;
        let blocks = (0..cfg.n_layers)
            .map(|l| Block::new(store, l, cfg))
            .collect::<Result<Vec<_>>>()?;
        let final_ln = match cfg.arch.final_norm() {
            true => Some(Norm::for_arch(store, "final_ln", cfg)?),
            false => None,
        };
        let head = match cfg.tie_embeddings {
            true => None,
            false => Some(store.xavier("head.weight", vocab_size, d)?),
        };
        Ok(Self {
            cfg: cfg.clone(),
            tok_emb,
            positions,
            mask,
            blocks,
            final_ln,
            head,
        })
    }

    /// The (seq, seq) corner of the causal mask.
    fn mask(&self, seq: usize) -> Result<Tensor> {
        Ok(self.mask.narrow(0, 0, seq)?.narrow(1, 0, seq)?)
    }

    /// Token ids (B, T) u32 -> logits (B*T, vocab): the training forward, which keeps no
    /// hidden state beyond what the autograd graph holds (`hidden_states` keeps Lemma 2's).
    pub fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        let (batch, seq) = ids.dims2()?;
        let mut xs = self.embed(ids, batch, seq)?;
        let mask = self.mask(seq)?;
        for block in &self.blocks {
            xs = block.forward(&xs, batch, seq, &mask)?;
        }
        if let Some(ln) = &self.final_ln {
            xs = ln.forward(&xs)?;
        }
        self.logits(&xs)
    }

    /// Forward pass that keeps the hidden states of Lemma 2 (see `HiddenStates`).
    pub fn hidden_states(&self, ids: &Tensor) -> Result<HiddenStates> {
        let (batch, seq) = ids.dims2()?;
        let mut xs = self.embed(ids, batch, seq)?;
        let mask = self.mask(seq)?;
        let (mut entering, mut residual_sums, mut attn_inputs) =
            (Vec::new(), Vec::new(), Vec::new());
        for block in &self.blocks {
            entering.push(xs.clone());
            let trace = block.forward_probe(&xs, batch, seq, &mask)?;
            residual_sums.extend(trace.residual_sum);
            attn_inputs.push(trace.attn_input);
            xs = trace.out;
        }
        entering.push(xs.clone());
        if let Some(ln) = &self.final_ln {
            xs = ln.forward(&xs)?;
        }
        Ok(HiddenStates {
            entering,
            residual_sums,
            attn_inputs,
            logits: self.logits(&xs)?,
            final_hidden: xs,
        })
    }

    /// (B, T) -> (B*T, d): scaled token embedding plus positions.
    fn embed(&self, ids: &Tensor, batch: usize, seq: usize) -> Result<Tensor> {
        let d = self.cfg.d_model;
        let mut xs = self.tok_emb.index_select(&ids.flatten_all()?, 0)?;
        if self.cfg.emb_scale {
            xs = (xs * (d as f64).sqrt())?;
        }
        let pos = self.positions.narrow(0, 0, seq)?;
        let xs = xs.reshape((batch, seq, d))?.broadcast_add(&pos)?;
        Ok(xs.reshape((batch * seq, d))?)
    }

    /// (N, d) -> (N, vocab): tied W_emb^T by default.
    pub fn logits(&self, hidden: &Tensor) -> Result<Tensor> {
        let proj = self.head.as_ref().unwrap_or(&self.tok_emb);
        Ok(hidden.matmul(&proj.t()?)?)
    }

    /// Mean next-token cross-entropy (nats) of (B, T) inputs against (B, T) targets.
    pub fn loss(&self, ids: &Tensor, targets: &Tensor) -> Result<Tensor> {
        let logits = self.forward(ids)?;
        Ok(candle_nn::loss::cross_entropy(
            &logits,
            &targets.flatten_all()?,
        )?)
    }

    /// What training minimises, and the cross-entropy within it: with `--z-loss C` the
    /// objective is CE + C·mean((log Z)²), log Z = logsumexp of each position's logits (PaLM;
    /// Wortsman et al. 2023); without it the two are one tensor (the update is unchanged).
    pub fn objective(&self, ids: &Tensor, targets: &Tensor) -> Result<(Tensor, Tensor)> {
        self.objective_of(&self.forward(ids)?, targets)
    }

    /// [`Transformer::objective`] on logits already computed (the probes' forward).
    pub fn objective_of(&self, logits: &Tensor, targets: &Tensor) -> Result<(Tensor, Tensor)> {
        let ce = candle_nn::loss::cross_entropy(logits, &targets.flatten_all()?)?;
        let Some(c) = self.cfg.z_loss else {
            return Ok((ce.clone(), ce));
        };
        Ok(((&ce + (z_loss(logits)? * c)?)?, ce))
    }

    pub fn config(&self) -> &ModelConfig {
        &self.cfg
    }

    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }

    /// Hold every ReLU's activation pattern at what it is on `ids` now (see
    /// `layers::ReluPattern`); `None` lets them switch freely again. A no-op for GELU.
    pub fn fix_relu_patterns(&self, ids: Option<&Tensor>) -> Result<()> {
        use layers::ReluPattern;
        let Some(ids) = ids else {
            for b in &self.blocks {
                b.ffn.set_relu_pattern(ReluPattern::Free);
            }
            return Ok(());
        };
        for b in &self.blocks {
            b.ffn.set_relu_pattern(ReluPattern::Record(None));
        }
        let recorded = self.forward(ids);
        for b in &self.blocks {
            let next = match b.ffn.set_relu_pattern(ReluPattern::Free) {
                Some(mask) => ReluPattern::Fixed(mask),
                None => ReluPattern::Free,
            };
            b.ffn.set_relu_pattern(next);
        }
        recorded.map(|_| ())
    }

    /// Per block, where each FFN unit's pre-activation is > 0 on `ids`: (B*T, d_ff) 0/1 masks
    /// (the `units` probe). Every pattern is free again afterwards.
    pub fn ffn_activity(&self, ids: &Tensor) -> Result<Vec<Tensor>> {
        use layers::ReluPattern;
        for b in &self.blocks {
            b.ffn.set_relu_pattern(ReluPattern::Record(None));
        }
        let ran = self.forward(ids);
        let masks: Vec<Option<Tensor>> = self
            .blocks
            .iter()
            .map(|b| b.ffn.set_relu_pattern(ReluPattern::Free))
            .collect();
        ran?;
        masks
            .into_iter()
            .map(|m| {
                m.ok_or_else(|| crate::error::Error::Internal("an FFN recorded no activity".into()))
            })
            .collect()
    }

    /// Admin's initialisation (see `variants`): one forward pass over `ids` that sets every ω
    /// of `store`, in order, from the variances it measures. A no-op for other architectures.
    pub fn admin_profile(&self, store: &ParamStore, ids: &Tensor) -> Result<()> {
        if self.cfg.arch != Arch::Admin {
            return Ok(());
        }
        let (batch, seq) = ids.dims2()?;
        let mut xs = self.embed(ids, batch, seq)?;
        let mask = self.mask(seq)?;
        let mut ratio = 1.0;
        for (index, block) in self.blocks.iter().enumerate() {
            (xs, ratio) = block.admin_profile(store, index, &xs, ratio, (batch, seq), &mask)?;
        }
        Ok(())
    }
}
