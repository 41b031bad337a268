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
mod update;

pub use cka::linear_cka;
pub use gradhist::{group_of, HIST_EDGES};
pub use prober::{Plan, Prober, StepContext};
pub use record::*;
pub use sharpness::SharpnessState;

use crate::config::{optimizer_name, OptimizerKind, RunConfig};
use crate::error::Result;
use crate::usage;
use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// One probe, by its `--probe` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProbeKind {
    Sharpness,
    AdamSharpness,
    Update,
    Drift,
    Overfit,
    Attention,
    Gradhist,
}

impl ProbeKind {
    pub const ALL: [ProbeKind; 7] = [
        ProbeKind::Sharpness,
        ProbeKind::AdamSharpness,
        ProbeKind::Update,
        ProbeKind::Drift,
        ProbeKind::Overfit,
        ProbeKind::Attention,
        ProbeKind::Gradhist,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ProbeKind::Sharpness => "sharpness",
            ProbeKind::AdamSharpness => "adam-sharpness",
            ProbeKind::Update => "update",
            ProbeKind::Drift => "drift",
            ProbeKind::Overfit => "overfit",
            ProbeKind::Attention => "attention",
            ProbeKind::Gradhist => "gradhist",
        }
    }

    /// Needs Adam's (or RAdam's) second moment.
    pub fn needs_adam_state(self) -> bool {
        self == ProbeKind::AdamSharpness
    }
}

/// What `--probe` accepts, for messages: every name, then `all`.
pub fn allowed_names() -> String {
    let names: Vec<&str> = ProbeKind::ALL.iter().map(|k| k.name()).collect();
    format!("{}, all", names.join(", "))
}

/// `--probe NAME[,NAME...]`: names, or `all` (every probe the optimizer allows).
pub fn parse_probe_list(text: &str, optimizer: OptimizerKind) -> Result<Vec<ProbeKind>> {
    let mut out = Vec::new();
    for name in text.split(',').map(str::trim) {
        if name == "all" {
            out.extend(
                ProbeKind::ALL
                    .into_iter()
                    .filter(|k| !k.needs_adam_state() || optimizer != OptimizerKind::Sgd),
            );
            continue;
        }
        let kind = ProbeKind::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| {
                usage!(
                    "--probe {name}: unknown probe; allowed: {}",
                    allowed_names()
                )
            })?;
        out.push(kind);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// What is probed, how often and on how much text (run config `"probe"`; absent when off, so
/// the configs and run ids of runs without probes are unchanged).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProbeConfig {
    /// The probes measured (empty: none).
    pub names: Vec<ProbeKind>,
    /// Measure at update 0, every `every` updates and at the last update.
    pub every: u64,
    /// Windows (of `data.seq_len` tokens) in the measurement batch.
    pub batch: usize,
    /// `gradhist`: a histogram at each of the first this many updates.
    pub gradhist_updates: u64,
    /// `sharpness`, `adam-sharpness`: at most this many Lanczos steps per measurement.
    pub lanczos_steps: usize,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        Self {
            names: Vec::new(),
            every: 50,
            batch: 4,
            gradhist_updates: 50,
            lanczos_steps: 20,
        }
    }
}

impl ProbeConfig {
    pub fn is_off(&self) -> bool {
        *self == Self::default()
    }

    pub fn has(&self, kind: ProbeKind) -> bool {
        self.names.contains(&kind)
    }

    /// Reject impossible values, naming the flag and what is allowed.
    pub fn validate(&self, cfg: &RunConfig) -> Result<()> {
        if self.every == 0 {
            return Err(usage!(
                "--probe-every 0: must be a positive whole number of updates"
            ));
        }
        if self.batch == 0 {
            return Err(usage!(
                "--probe-batch 0: must be a positive number of windows"
            ));
        }
        if self.lanczos_steps < 2 {
            return Err(usage!(
                "probe.lanczos_steps {}: must be at least 2",
                self.lanczos_steps
            ));
        }
        if let Some(kind) = self.names.iter().find(|k| k.needs_adam_state()) {
            if cfg.optim.kind == OptimizerKind::Sgd {
                return Err(usage!(
                    "--probe {}: needs Adam's second moment; --optimizer {} has none (allowed with adam, adamw, radam)",
                    kind.name(),
                    optimizer_name(cfg.optim.kind)
                ));
            }
        }
        Ok(())
    }
}

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
    fn names_parse_and_all_respects_the_optimizer() {
        let kinds = parse_probe_list("drift,sharpness,drift", OptimizerKind::Adam).unwrap();
        assert_eq!(kinds, vec![ProbeKind::Sharpness, ProbeKind::Drift]);
        assert_eq!(
            parse_probe_list("all", OptimizerKind::Adam).unwrap().len(),
            7
        );
        let sgd = parse_probe_list("all", OptimizerKind::Sgd).unwrap();
        assert!(!sgd.contains(&ProbeKind::AdamSharpness) && sgd.len() == 6);
        let err = parse_probe_list("sharpnes", OptimizerKind::Adam)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("--probe sharpnes: unknown probe; allowed: sharpness, adam-sharpness"),
            "{err}"
        );
    }

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
