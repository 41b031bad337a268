//! Probes for the mechanisms warmup may act on, measured during training (`--probe`) and on
//! checkpoints (`lnwarm probe`). Each is the quantity a paper on *why* warmup works measured:
//!
//! - `sharpness`: λmax of the loss Hessian (Cohen et al. 2021, "Gradient Descent on Neural
//!   Networks Typically Occurs at the Edge of Stability"; Kalra & Barkeshli 2024, "Why Warmup
//!   the Learning Rate?", code github.com/dayal-kalra/why-warmup), by Lanczos on central-
//!   difference Hessian-vector products in f64, as a ratio to the stability threshold 2/η.
//! - `adam-sharpness`: λmax(P^-1/2 H P^-1/2), P = diag(sqrt(v̂)) + ε from Adam's state, against
//!   (2 + 2β1)/(η(1 − β1)) (Cohen et al. 2022, "Adaptive Gradient Methods at the Edge of
//!   Stability").
//! - `update`: relative update ‖Δw‖/‖w‖, angular update, update and gradient RMS per tensor,
//!   and Adam's v̂ (Kosson, Messmer & Jaggi 2024, "Analyzing & Reducing the Need for Learning
//!   Rate Warmup in GPT Training"; Wortsman et al. 2023 for the share of v̂ below ε).
//! - `drift`: linear CKA of each block's output now vs at update 0 and at the end of warmup
//!   (Gotmare et al. 2019, "A Closer Look at Deep Learning Heuristics", with SVCCA).
//! - `overfit`: the one-step generalisation gap, the loss decrease on the batch the update was
//!   computed from minus the decrease on the fixed measurement batch, and the cosine of
//!   consecutive mini-batch gradients: reason (1) of the project's motivating text.
//! - `attention`: largest attention logit, q and k norms, attention entropy per layer, and the
//!   output's mean log-partition log Z (Wortsman et al. 2023, "Small-scale proxies for
//!   large-scale Transformer training instabilities", code google-deepmind/nanodo).
//! - `gradhist`: histograms of log10|g| per parameter group over the first updates (Liu et al.
//!   2020, RAdam, Figure 2; code LiyuanLucasLiu/RAdam).
//!
//! Everything is measured on a fixed batch, the first `batch` non-overlapping windows of the
//! validation split in order (`measurement_batch`), except what `overfit` measures on the
//! training batch itself. Probes only read: a run with every probe on computes the same losses,
//! bit for bit, as one without (`tests/probes.rs`).

mod attention;
mod cka;
pub mod eigen;
mod gradhist;
pub mod hvp;
mod prober;
mod record;
mod sharpness;
mod units;
mod update;

pub use cka::linear_cka;
pub use gradhist::{group_of, HIST_EDGES};
pub use prober::{Before, Plan, Prober, StepContext};
pub use record::*;
pub use sharpness::SharpnessState;

pub use crate::config::probe::{allowed_names, parse_probe_list, ProbeConfig, ProbeKind};
use crate::error::Result;
use crate::usage;
use candle_core::{Device, Tensor};

/// The fixed measurement batch: the first `windows` non-overlapping windows of `tokens` (the
/// validation split), in order. Window i reads tokens [i·T, (i+1)·T) and predicts
/// [i·T + 1, (i+1)·T + 1), so another tool rebuilds it from the config alone.
pub fn measurement_batch(
    tokens: &[u32],
    seq_len: usize,
    windows: usize,
    device: &Device,
) -> Result<(Tensor, Tensor)> {
    let needed = windows * seq_len + 1;
    if tokens.len() < needed {
        return Err(usage!(
            "--probe-batch {windows}: {windows} windows of {seq_len} tokens need {needed} validation tokens, the split has {}; allowed: at most {}",
            tokens.len(),
            (tokens.len().saturating_sub(1)) / seq_len
        ));
    }
    let inputs = Tensor::from_slice(&tokens[..windows * seq_len], (windows, seq_len), device)?;
    let targets = Tensor::from_slice(
        &tokens[1..windows * seq_len + 1],
        (windows, seq_len),
        device,
    )?;
    Ok((inputs, targets))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_measurement_batch_is_the_first_windows_in_order() {
        let tokens: Vec<u32> = (0..100).collect();
        let (x, y) = measurement_batch(&tokens, 8, 3, &Device::Cpu).unwrap();
        let x: Vec<Vec<u32>> = x.to_vec2().unwrap();
        let y: Vec<Vec<u32>> = y.to_vec2().unwrap();
        assert_eq!(x[1], (8..16).collect::<Vec<u32>>());
        assert_eq!(y[2], (17..25).collect::<Vec<u32>>());
        let err = measurement_batch(&tokens, 50, 2, &Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("need 101 validation tokens, the split has 100; allowed: at most 1"),
            "{err}"
        );
    }
}
