//! One measurement: gradients and hidden-state norms of one (arch, depth, seed) model over K
//! batches, at initialization (no update) or after a warmup.
//!
//! Expected gradient (the paper's Figure 3): average the gradient over the K batches, then take
//! the Frobenius norm, ‖mean_k ∇W‖_F. Also kept: the mean of per-batch norms, mean_k ‖∇W‖_F
//! (never smaller, by the triangle inequality; equal when the batches are identical).

use crate::config::Arch;
use crate::error::Result;
use crate::model::{ParamStore, Transformer};
use candle_core::{Tensor, D};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The weight matrices measured in each layer, as name suffixes after `blocks.{l}.`.
pub const MATRICES: [&str; 6] = ["ffn.w1", "ffn.w2", "attn.q", "attn.k", "attn.v", "attn.out"];

/// The two gradient norms of one weight matrix.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GradNorm {
    /// ‖mean_k ∇W‖_F
    pub expected: f64,
    /// mean_k ‖∇W‖_F
    pub mean_batch: f64,
}

/// Everything measured in one layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerMeasure {
    pub layer: usize,
    /// Keyed by `MATRICES` (`ffn.w2`, `attn.q`, ...).
    pub grads: BTreeMap<String, GradNorm>,
    /// Mean over tokens of ‖x‖² of the state entering this layer.
    pub hidden_sq_norm: f64,
    /// Post-LN: mean ‖x^{post,5}‖² (the residual sum before the layer's last LN).
    pub residual_sum_sq_norm: Option<f64>,
}

/// One (arch, depth, seed, phase) measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    pub arch: Arch,
    pub n_layers: usize,
    pub seed: u64,
    /// `init`, or `after-warmup-N`.
    pub phase: String,
    /// Mean training loss over the K batches.
    pub loss: f64,
    pub layers: Vec<LayerMeasure>,
    /// Mean ‖x‖² leaving the last block (entering the final LN for Pre-LN).
    pub final_hidden_sq_norm: f64,
}

impl Measurement {
    pub fn grad(&self, layer: usize, matrix: &str) -> GradNorm {
        self.layers[layer].grads[matrix]
    }
}

/// Measure `model` over `batches`.
pub fn measure(
    model: &Transformer,
    store: &ParamStore,
    batches: &[(Tensor, Tensor)],
    seed: u64,
    phase: &str,
) -> Result<Measurement> {
    let cfg = model.config();
    let n = cfg.n_layers;
    let mut sums: BTreeMap<(usize, &str), Tensor> = BTreeMap::new();
    let mut batch_norms: BTreeMap<(usize, &str), f64> = BTreeMap::new();
    let mut hidden = vec![0.0; n + 1];
    let mut residual = vec![0.0; n];
    let mut loss_total = 0.0;
    for (ids, targets) in batches {
        let probe = model.hidden_states(ids)?;
        // The gradient the optimizer would see (with --z-loss, of CE + z-loss); the loss
        // reported is the cross-entropy.
        let (objective, loss) = model.objective_of(&probe.logits, targets)?;
        loss_total += scalar(&loss)?;
        for (l, h) in probe.entering.iter().enumerate() {
            hidden[l] += mean_sq_norm(h)?;
        }
        for (l, h) in probe.residual_sums.iter().enumerate() {
            residual[l] += mean_sq_norm(h)?;
        }
        let grads = objective.backward()?;
        for l in 0..n {
            for m in MATRICES {
                let name = format!("blocks.{l}.{m}.weight");
                let var = store
                    .get(&name)
                    .ok_or_else(|| crate::error::Error::Internal(format!("no parameter {name}")))?;
                let g = grads
                    .get(var)
                    .ok_or_else(|| crate::error::Error::Internal(format!("{name}: no gradient")))?;
                *batch_norms.entry((l, m)).or_default() += scalar(&g.sqr()?.sum_all()?)?.sqrt();
                let sum = match sums.remove(&(l, m)) {
                    Some(acc) => (acc + g)?,
                    None => g.clone(),
                };
                sums.insert((l, m), sum);
            }
        }
    }
    let k = batches.len() as f64;
    let layers = (0..n)
        .map(|l| {
            let grads = MATRICES
                .iter()
                .map(|m| {
                    let expected = scalar(&(&sums[&(l, *m)] / k)?.sqr()?.sum_all()?)?.sqrt();
                    Ok((
                        m.to_string(),
                        GradNorm {
                            expected,
                            mean_batch: batch_norms[&(l, *m)] / k,
                        },
                    ))
                })
                .collect::<Result<BTreeMap<_, _>>>()?;
            let residual_sum_sq_norm = cfg.arch.norm_after_add().then(|| residual[l] / k);
            Ok(LayerMeasure {
                layer: l,
                grads,
                hidden_sq_norm: hidden[l] / k,
                residual_sum_sq_norm,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Measurement {
        arch: cfg.arch,
        n_layers: n,
        seed,
        phase: phase.to_string(),
        loss: loss_total / k,
        layers,
        final_hidden_sq_norm: hidden[n] / k,
    })
}

fn scalar(t: &Tensor) -> Result<f64> {
    Ok(t.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()?)
}

/// Mean over rows of the squared L2 norm of each row of a (N, d) tensor.
fn mean_sq_norm(h: &Tensor) -> Result<f64> {
    scalar(&h.sqr()?.sum(D::Minus1)?.mean_all()?)
}
