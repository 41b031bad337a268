//! The `attention` probe: the quantities whose growth Wortsman et al. (2023, §3.1–3.2) found to
//! precede divergence: the largest attention logit q·k/sqrt(d_h) (every run above ~1e4
//! diverged), the q and k norms it grows from, the attention entropy (collapse to one key), and
//! the output layer's log-partition log Z (output-logit divergence, fixed there by z-loss).

use super::record::{Attention, AttentionLayer};
use crate::error::Result;
use crate::model::Transformer;
use candle_core::{DType, Tensor, D};

/// Attention statistics of `model` on the (B, T) inputs `ids`.
pub fn attention_stats(model: &Transformer, ids: &Tensor) -> Result<Attention> {
    let (batch, seq) = ids.dims2()?;
    let probe = model.hidden_states(ids)?;
    let mut layers = Vec::new();
    for (block, input) in model.blocks().iter().zip(&probe.attn_inputs) {
        let (q, k, scale) = block.attention().queries_keys(input, batch, seq)?;
        let scores = (q.matmul(&k.t()?)? * scale)?.to_dtype(DType::F64)?;
        let (max_logit, entropy) = causal_rows(&scores.flatten_all()?.to_vec1()?, seq);
        layers.push(AttentionLayer {
            max_logit,
            q_norm: mean_row_norm(&q)?,
            k_norm: mean_row_norm(&k)?,
            entropy,
        });
    }
    let log_z: Vec<f64> = probe
        .logits
        .to_dtype(DType::F64)?
        .to_vec2::<f64>()?
        .iter()
        .map(|row| log_sum_exp(row))
        .collect();
    Ok(Attention {
        layers,
        log_z_mean: log_z.iter().sum::<f64>() / log_z.len() as f64,
        log_z_max: log_z.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    })
}

/// (largest logit, mean softmax entropy) over (seq, seq) score blocks, keys j ≤ query i only.
fn causal_rows(scores: &[f64], seq: usize) -> (f64, f64) {
    let (mut max_logit, mut entropy, mut rows) = (f64::NEG_INFINITY, 0.0, 0usize);
    for block in scores.chunks(seq * seq) {
        for i in 0..seq {
            let row = &block[i * seq..i * seq + i + 1];
            max_logit = row.iter().copied().fold(max_logit, f64::max);
            let lse = log_sum_exp(row);
            entropy -= row.iter().map(|s| (s - lse).exp() * (s - lse)).sum::<f64>();
            rows += 1;
        }
    }
    (max_logit, entropy / rows as f64)
}

fn log_sum_exp(row: &[f64]) -> f64 {
    let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    m + row.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// Mean L2 norm of the last-dimension vectors of `t`.
fn mean_row_norm(t: &Tensor) -> Result<f64> {
    let norms = t.to_dtype(DType::F64)?.sqr()?.sum(D::Minus1)?.sqrt()?;
    Ok(norms.mean_all()?.to_scalar::<f64>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causal_rows_by_hand() {
        // One (2, 2) block: row 0 sees only itself (entropy 0); row 1 sees two equal logits
        // (entropy ln 2); the masked score 9 above the diagonal is ignored.
        let (max, entropy) = causal_rows(&[1.0, 9.0, 0.5, 0.5], 2);
        assert_eq!(max, 1.0);
        assert!((entropy - std::f64::consts::LN_2 / 2.0).abs() < 1e-12);
        assert!((log_sum_exp(&[0.0, 0.0]) - std::f64::consts::LN_2).abs() < 1e-12);
    }
}
