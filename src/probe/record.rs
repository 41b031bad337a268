//! What the probes record: one `ProbePoint` per measured update in the result's `probes`
//! array (docs/result-schema.md), and its TensorBoard scalars.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything measured at one update (after it was made; step 0 = the initial weights).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ProbePoint {
    pub step: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharpness: Option<Sharpness>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adam_sharpness: Option<Sharpness>,
    /// Per parameter tensor, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<BTreeMap<String, UpdateStats>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<Drift>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overfit: Option<Overfit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attention: Option<Attention>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gradhist: Option<GradHist>,
    /// `units`: per block, the fraction of FFN units inactive (pre-activation ≤ 0) at every
    /// position of the measurement batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ffn_inactive: Option<Vec<f64>>,
    /// Wall milliseconds each probe took at this update (what `--probe` costs).
    #[serde(default)]
    pub ms: BTreeMap<String, f64>,
}

/// The top of a Hessian's spectrum and where it stands against the stability threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sharpness {
    /// Largest algebraic eigenvalue (not the largest in magnitude: at initialization the
    /// largest-magnitude one can be negative).
    pub lambda_max: f64,
    /// The lowest Ritz value of the Lanczos run that found `lambda_max` (warm-started from the
    /// previous top vector): an upper bound on the smallest eigenvalue, not an estimate of it
    /// (it was +0.25 … +0.97 where the true smallest was −0.60 … −0.86; issue 34). Results
    /// before the rename call it `lambda_min`.
    #[serde(alias = "lambda_min")]
    pub lowest_ritz: f64,
    /// The learning rate the threshold is taken at: the update just made (step 0: update 1's).
    pub lr: f64,
    /// 2(1 + momentum)/η for SGD and the raw Hessian; (2 + 2β1)/(η(1 − β1)) for Adam's
    /// preconditioned Hessian. Infinite (null in JSON) at η = 0.
    pub threshold: Option<f64>,
    /// lambda_max / threshold: 1 = at the edge of stability.
    pub ratio: Option<f64>,
    /// Hessian-vector products spent (each two gradient evaluations in f64).
    pub products: usize,
    /// ‖Hv − λv‖ of the reported top eigenpair.
    pub residual: f64,
    /// residual ≤ `probe.lanczos_tol` |λmax| (then |λmax − true| ≤ residual, typically ≪);
    /// it says nothing of `lowest_ritz`.
    pub converged: bool,
    /// `probe.smallest` (the raw Hessian only): the smallest eigenvalue, by a Lanczos run of its
    /// own on −H with its own warm start, residual and convergence flag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smallest: Option<Smallest>,
    /// With `smallest`: the eigenvalue of largest magnitude, λmax or λmin, whichever is
    /// larger in absolute value (negative when the spectrum's bottom dominates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub largest_magnitude: Option<f64>,
}

/// The bottom of the spectrum, measured as the top of −H.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Smallest {
    pub lambda_min: f64,
    /// ‖Hv − λmin v‖ of the reported pair.
    pub residual: f64,
    /// residual ≤ `probe.lanczos_tol` |λmin|.
    pub converged: bool,
    /// Hessian-vector products this second run spent.
    pub products: usize,
}

/// One parameter tensor's update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateStats {
    /// ‖w_t − w_{t−1}‖ / ‖w_{t−1}‖ (null when w_{t−1} = 0, e.g. biases at init).
    pub relative: Option<f64>,
    /// Angle between w_{t−1} and w_t in radians (null when either is 0).
    pub angle: Option<f64>,
    /// RMS of w_t − w_{t−1}.
    pub update_rms: f64,
    /// RMS of the raw (unclipped) gradient.
    pub grad_rms: f64,
    /// Adam/RAdam only: the share of coordinates with sqrt(v̂) < ε (the update collapses there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub v_below_eps: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub v_hat_mean: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub v_hat_max: Option<f64>,
}

/// Linear CKA of each block's output on the measurement batch against earlier references.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    /// Against update 0, per block.
    pub cka_init: Vec<f64>,
    /// Against the end of warmup, per block; absent before it (and without warmup).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cka_warmup_end: Option<Vec<f64>>,
}

/// The one-step generalisation gap of the update just made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overfit {
    /// Loss on the training batch of this update, before and after it.
    pub train_before: f64,
    pub train_after: f64,
    /// Loss on the measurement batch before and after it.
    pub probe_before: f64,
    pub probe_after: f64,
    /// (train_before − train_after) − (probe_before − probe_after): what the step gained on
    /// its own batch beyond what it gained on held-out text.
    pub gap: f64,
    /// Cosine between this update's mini-batch gradient and the previous one's (absent at the
    /// first update).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grad_cosine: Option<f64>,
}

/// Attention logits per layer and the output's log-partition, on the measurement batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attention {
    pub layers: Vec<AttentionLayer>,
    /// Mean over positions of log Z = logsumexp of the output logits.
    pub log_z_mean: f64,
    pub log_z_max: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttentionLayer {
    /// Largest q·k/sqrt(d_h) over heads and causal (query, key) pairs.
    pub max_logit: f64,
    /// Mean ‖q‖ and ‖k‖ per head and position.
    pub q_norm: f64,
    pub k_norm: f64,
    /// Mean entropy (nats) of the attention rows, over heads and positions.
    pub entropy: f64,
}

/// Counts of log10|g| per parameter group in the bins of `probe::HIST_EDGES`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradHist {
    /// Group (parameter name without its block index) -> counts: [below the first edge, one
    /// per bin, at or above the last edge]; exact zeros are counted in `zeros`.
    pub counts: BTreeMap<String, Vec<u64>>,
    pub zeros: BTreeMap<String, u64>,
}

impl GradHist {
    /// The counts of |g| below 1e-8: the underflow bin and every bin up to the edge 1e-8.
    pub fn below_1e8() -> usize {
        let (lo, hi, bins) = super::HIST_EDGES;
        1 + ((-8.0 - lo) / ((hi - lo) / bins as f64)).round() as usize
    }

    /// The share of the entries of `group` (every group when `None`) that are exactly 0 or fall
    /// in the first `counts` counts (0: the exact zeros only); None when there are none.
    pub fn share(&self, group: Option<&str>, counts: usize) -> Option<f64> {
        let (mut hit, mut total) = (0u64, 0u64);
        for (name, row) in self
            .counts
            .iter()
            .filter(|(n, _)| group.is_none_or(|g| g == *n))
        {
            let zeros = self.zeros.get(name).copied().unwrap_or(0);
            hit += row[..counts].iter().sum::<u64>() + zeros;
            total += row.iter().sum::<u64>() + zeros;
        }
        (total > 0).then(|| hit as f64 / total as f64)
    }
}

impl ProbePoint {
    /// The geometric mean over blocks of the RMS gradient of `attn.q.weight` (`update`; it falls
    /// by orders of magnitude in a stalled Post-LN run, so the geometric mean).
    pub fn query_gradient(&self) -> Option<f64> {
        let logs: Vec<f64> = self
            .update
            .as_ref()?
            .iter()
            .filter(|(name, _)| name.ends_with(".attn.q.weight"))
            .map(|(_, s)| s.grad_rms.max(f64::MIN_POSITIVE).ln())
            .collect();
        (!logs.is_empty()).then(|| (logs.iter().sum::<f64>() / logs.len() as f64).exp())
    }

    /// The share of inactive FFN units, mean over blocks (`units`).
    pub fn mean_ffn_inactive(&self) -> Option<f64> {
        let shares = self.ffn_inactive.as_ref()?;
        (!shares.is_empty()).then(|| shares.iter().sum::<f64>() / shares.len() as f64)
    }

    /// The TensorBoard scalars of this point: `probe/<probe>/<quantity>[/<layer or tensor>]`.
    pub fn scalars(&self) -> Vec<(String, f64)> {
        let mut out = Vec::new();
        let mut put = |tag: String, v: Option<f64>| {
            if let Some(v) = v.filter(|v| v.is_finite()) {
                out.push((tag, v));
            }
        };
        for (name, s) in [
            ("sharpness", &self.sharpness),
            ("adam_sharpness", &self.adam_sharpness),
        ] {
            if let Some(s) = s {
                put(format!("probe/{name}/lambda_max"), Some(s.lambda_max));
                put(format!("probe/{name}/ratio"), s.ratio);
            }
        }
        if let Some(update) = &self.update {
            for (param, u) in update {
                put(format!("probe/update/relative/{param}"), u.relative);
            }
        }
        if let Some(d) = &self.drift {
            for (l, c) in d.cka_init.iter().enumerate() {
                put(format!("probe/drift/cka_init/block{l}"), Some(*c));
            }
        }
        if let Some(o) = &self.overfit {
            put("probe/overfit/gap".into(), Some(o.gap));
            put("probe/overfit/grad_cosine".into(), o.grad_cosine);
        }
        if let Some(a) = &self.attention {
            for (l, layer) in a.layers.iter().enumerate() {
                put(
                    format!("probe/attention/max_logit/block{l}"),
                    Some(layer.max_logit),
                );
                put(
                    format!("probe/attention/entropy/block{l}"),
                    Some(layer.entropy),
                );
            }
            put("probe/attention/log_z_mean".into(), Some(a.log_z_mean));
        }
        for (l, share) in self.ffn_inactive.iter().flatten().enumerate() {
            put(format!("probe/units/ffn_inactive/block{l}"), Some(*share));
        }
        out
    }
}

/// Headline numbers of a point, one line per probe (for `lnwarm probe`).
pub fn summary_lines(p: &ProbePoint, indent: &str) -> String {
    let mut out = String::new();
    let opt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3}"));
    for (name, s) in [
        ("sharpness", &p.sharpness),
        ("adam-sharpness", &p.adam_sharpness),
    ] {
        if let Some(s) = s {
            out += &format!(
                "{indent}{name}: λmax {:.4e} (lowest Ritz value {:.3e}), λmax/threshold {} at lr {:.3e}; {} products, residual {:.2e}{}\n",
                s.lambda_max,
                s.lowest_ritz,
                opt(s.ratio),
                s.lr,
                s.products,
                s.residual,
                if s.converged { "" } else { " (not converged)" }
            );
        }
    }
    if let Some(u) = &p.update {
        let mut rel: Vec<(f64, &str)> = u
            .iter()
            .filter_map(|(n, s)| s.relative.map(|r| (r, n.as_str())))
            .collect();
        rel.sort_by(|a, b| a.0.total_cmp(&b.0));
        if let (Some(mid), Some(top)) = (rel.get(rel.len() / 2), rel.last()) {
            let below: Vec<f64> = u.values().filter_map(|s| s.v_below_eps).collect();
            let adam = match below.is_empty() {
                true => String::new(),
                false => format!(
                    ", mean share of sqrt(v̂) < ε {:.3}",
                    below.iter().sum::<f64>() / below.len() as f64
                ),
            };
            out += &format!(
                "{indent}update: ‖Δw‖/‖w‖ median {:.3e}, largest {:.3e} ({}){adam}\n",
                mid.0, top.0, top.1
            );
        }
    }
    if let Some(d) = &p.drift {
        let fmt = |v: &[f64]| {
            v.iter()
                .map(|c| format!("{c:.3}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        out += &format!(
            "{indent}drift: CKA to update 0 by block [{}]",
            fmt(&d.cka_init)
        );
        if let Some(w) = &d.cka_warmup_end {
            out += &format!(", to the end of warmup [{}]", fmt(w));
        }
        out += "\n";
    }
    if let Some(o) = &p.overfit {
        out += &format!(
            "{indent}overfit: train batch {:.4} -> {:.4}, measurement batch {:.4} -> {:.4}, gap {:+.4}, gradient cosine {}\n",
            o.train_before, o.train_after, o.probe_before, o.probe_after, o.gap, opt(o.grad_cosine)
        );
    }
    if let Some(a) = &p.attention {
        let logits: Vec<String> = a
            .layers
            .iter()
            .map(|l| format!("{:.2}", l.max_logit))
            .collect();
        let entropy: Vec<String> = a
            .layers
            .iter()
            .map(|l| format!("{:.2}", l.entropy))
            .collect();
        out += &format!(
            "{indent}attention: max logit by block [{}], entropy [{}], mean log Z {:.3}\n",
            logits.join(" "),
            entropy.join(" "),
            a.log_z_mean
        );
    }
    if let Some(h) = &p.gradhist {
        out += &format!(
            "{indent}gradhist: {} groups, share of |g| < 1e-8: {:.4}\n",
            h.counts.len(),
            h.share(None, GradHist::below_1e8()).unwrap_or(0.0)
        );
    }
    out
}
