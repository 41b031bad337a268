//! A decoder-only causal character Transformer with Post-LN or Pre-LN blocks (Xiong et al. 2020).
//!
//! Post-LN: x = LN(x + Attn(x)); x = LN(x + FFN(x)); no final LN.
//! Pre-LN:  x = x + Attn(LN(x)); x = x + FFN(LN(x)); a final LN before the output projection.
//! One `Block` type; the placement is matched in one place (`Block::forward`).

pub mod fused;
pub mod fused_attention;
pub mod fused_linear;
pub mod lanes;
pub mod layers;
pub mod params;
pub mod softmax_row;

use crate::config::{Arch, ModelConfig, Positions};
use crate::error::Result;
use candle_core::Tensor;
use layers::{causal_mask, sinusoidal_positions, CausalSelfAttention, FeedForward, LayerNorm};
pub use params::ParamStore;

/// One Transformer layer: attention and FFN sub-layers, each with its LayerNorm.
pub struct Block {
    arch: Arch,
    ln_attn: LayerNorm,
    attn: CausalSelfAttention,
    ln_ffn: LayerNorm,
    ffn: FeedForward,
}

impl Block {
    fn new(store: &mut ParamStore, index: usize, cfg: &ModelConfig) -> Result<Self> {
        let p = format!("blocks.{index}");
        let d = cfg.d_model;
        Ok(Self {
            arch: cfg.arch,
            attn: CausalSelfAttention::new(store, &format!("{p}.attn"), d, cfg.n_heads)?,
            ln_attn: LayerNorm::new(store, &format!("{p}.ln_attn"), d, cfg.ln_eps)?,
            ffn: FeedForward::new(store, &format!("{p}.ffn"), d, cfg.d_ff, cfg.activation)?,
            ln_ffn: LayerNorm::new(store, &format!("{p}.ln_ffn"), d, cfg.ln_eps)?,
        })
    }

    /// (B*T, d) -> (B*T, d). The only place the two architectures differ inside a layer.
    pub fn forward(&self, xs: &Tensor, batch: usize, seq: usize, mask: &Tensor) -> Result<Tensor> {
        Ok(self.forward_probe(xs, batch, seq, mask)?.0)
    }

    /// The block output and, for Post-LN, the residual sum entering its last LN
    /// (x^{post,5} of the paper, whose squared norm Lemma 2 puts at 1.5 d).
    pub fn forward_probe(
        &self,
        xs: &Tensor,
        batch: usize,
        seq: usize,
        mask: &Tensor,
    ) -> Result<(Tensor, Option<Tensor>)> {
        match self.arch {
            Arch::PostLn => {
                let xs = self
                    .ln_attn
                    .forward(&(xs + self.attn.forward(xs, batch, seq, mask)?)?)?;
                let sum = (&xs + self.ffn.forward(&xs)?)?;
                Ok((self.ln_ffn.forward(&sum)?, Some(sum)))
            }
            Arch::PreLn => {
                let attn_in = self.ln_attn.forward(xs)?;
                let xs = (xs + self.attn.forward(&attn_in, batch, seq, mask)?)?;
                Ok(((&xs + self.ffn.forward(&self.ln_ffn.forward(&xs)?)?)?, None))
            }
        }
    }
}

/// Hidden states recorded by `Transformer::probe`, each (B*T, d).
pub struct Probe {
    /// The state entering each block, then the state leaving the last block (entering the final
    /// LN for Pre-LN): L + 1 tensors.
    pub entering: Vec<Tensor>,
    /// Post-LN only: each block's residual sum before its last LN (x^{post,5}); empty for Pre-LN.
    pub residual_sums: Vec<Tensor>,
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
    final_ln: Option<LayerNorm>,
    head: Option<Tensor>,
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
        let final_ln = match cfg.arch {
            Arch::PreLn => Some(LayerNorm::new(store, "final_ln", d, cfg.ln_eps)?),
            Arch::PostLn => None,
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

    /// Token ids (B, T) u32 -> logits (B*T, vocab). The recorded states cost nothing extra:
    /// the autograd graph keeps the same tensors alive.
    pub fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        Ok(self.probe(ids)?.logits)
    }

    /// Forward pass that keeps the hidden states of Lemma 2 (see `Probe`).
    pub fn probe(&self, ids: &Tensor) -> Result<Probe> {
        let (batch, seq) = ids.dims2()?;
        let mut xs = self.embed(ids, batch, seq)?;
        let mask = self.mask(seq)?;
        let (mut entering, mut residual_sums) = (Vec::new(), Vec::new());
        for block in &self.blocks {
            entering.push(xs.clone());
            let (out, sum) = block.forward_probe(&xs, batch, seq, &mask)?;
            residual_sums.extend(sum);
            xs = out;
        }
        entering.push(xs.clone());
        if let Some(ln) = &self.final_ln {
            xs = ln.forward(&xs)?;
        }
        Ok(Probe {
            entering,
            residual_sums,
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

    pub fn config(&self) -> &ModelConfig {
        &self.cfg
    }
}
