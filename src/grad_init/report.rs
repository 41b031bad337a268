//! Seed aggregation, Theorem 1 fits, verdicts, the stdout table and the Figure 3 plots.

use super::measure::Measurement;
use crate::config::Arch;
use crate::error::Result;
use crate::plot::{line_chart, ChartSpec, Series};
use crate::stats::{slope, Interval};
use crate::verdict::{judge_band, judge_inside, judge_sign, Outcome, Verdict};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// "About flat": the last layer's W2 gradient within a factor 2 of the first layer's.
pub const FLAT_LOG_CHANGE: f64 = std::f64::consts::LN_2;

/// Seed-aggregated figures of one (arch, depth, phase).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DepthSummary {
    pub arch: Arch,
    pub n_layers: usize,
    pub phase: String,
    /// Expected-gradient Frobenius norm of W2 per layer (index 0 = first layer).
    pub w2_expected_by_layer: Vec<Interval>,
    /// Same for W1.
    pub w1_expected_by_layer: Vec<Interval>,
    /// Last layer's W2 expected-gradient norm.
    pub last_w2_expected: Interval,
    /// Slope of ln ‖∇W2‖ against the layer index (per seed, then aggregated).
    pub w2_log_slope_per_layer: Interval,
    /// ln(last / first layer W2 norm) = slope * (L - 1).
    pub w2_log_change_over_depth: Interval,
    /// Mean ‖x‖² / d entering each layer, then leaving the last block.
    pub hidden_sq_norm_over_d: Vec<Interval>,
    /// Post-LN: mean over layers of ‖x^{post,5}‖² / d (Lemma 2: 1.5).
    pub residual_sum_sq_norm_over_d: Option<Interval>,
}

/// Fitted exponents of Theorem 1: last-layer ‖∇W2‖ ~ L^e.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Theorem1 {
    pub phase: String,
    pub post_ln_exponent: Option<Interval>,
    pub pre_ln_exponent: Option<Interval>,
    /// Exponent of the Post-LN / Pre-LN ratio (paper: 0.5).
    pub gap_exponent: Option<Interval>,
}

pub fn summarize(ms: &[Measurement], d_model: usize) -> Vec<DepthSummary> {
    let mut keys: Vec<(Arch, usize, String)> = ms
        .iter()
        .map(|m| (m.arch, m.n_layers, m.phase.clone()))
        .collect();
    keys.dedup();
    keys.sort_by_key(|k| (k.2.clone(), k.0, k.1));
    keys.dedup();
    keys.into_iter()
        .map(|(arch, n, phase)| {
            let group: Vec<&Measurement> = ms
                .iter()
                .filter(|m| m.arch == arch && m.n_layers == n && m.phase == phase)
                .collect();
            summarize_group(&group, arch, n, phase, d_model)
        })
        .collect()
}

fn summarize_group(
    group: &[&Measurement],
    arch: Arch,
    n: usize,
    phase: String,
    d: usize,
) -> DepthSummary {
    let by_layer = |matrix: &str| -> Vec<Interval> {
        (0..n)
            .map(|l| {
                Interval::of(
                    &group
                        .iter()
                        .map(|m| m.grad(l, matrix).expected)
                        .collect::<Vec<_>>(),
                )
            })
            .collect()
    };
    let layer_idx: Vec<f64> = (0..n).map(|l| l as f64).collect();
    let slopes: Vec<f64> = group
        .iter()
        .map(|m| {
            let ys: Vec<f64> = (0..n).map(|l| m.grad(l, "ffn.w2").expected.ln()).collect();
            if n > 1 {
                slope(&layer_idx, &ys)
            } else {
                0.0
            }
        })
        .collect();
    let changes: Vec<f64> = slopes.iter().map(|s| s * (n as f64 - 1.0)).collect();
    let hidden = (0..=n)
        .map(|l| {
            let values: Vec<f64> = group
                .iter()
                .map(|m| if l < n { m.layers[l].hidden_sq_norm } else { m.final_hidden_sq_norm } / d as f64)
                .collect();
            Interval::of(&values)
        })
        .collect();
    let residual = arch.norm_after_add().then(|| {
        let values: Vec<f64> = group
            .iter()
            .map(|m| {
                m.layers
                    .iter()
                    .filter_map(|l| l.residual_sum_sq_norm)
                    .sum::<f64>()
                    / (n * d) as f64
            })
            .collect();
        Interval::of(&values)
    });
    DepthSummary {
        arch,
        n_layers: n,
        phase,
        last_w2_expected: Interval::of(
            &group
                .iter()
                .map(|m| m.grad(n - 1, "ffn.w2").expected)
                .collect::<Vec<_>>(),
        ),
        w2_expected_by_layer: by_layer("ffn.w2"),
        w1_expected_by_layer: by_layer("ffn.w1"),
        w2_log_slope_per_layer: Interval::of(&slopes),
        w2_log_change_over_depth: Interval::of(&changes),
        hidden_sq_norm_over_d: hidden,
        residual_sum_sq_norm_over_d: residual,
    }
}

/// Fit ln ‖∇W2(last)‖ against ln L per seed index, for each arch and for the ratio.
pub fn theorem1(ms: &[Measurement], phase: &str, n_seeds: usize) -> Theorem1 {
    let last = |m: &Measurement| m.grad(m.n_layers - 1, "ffn.w2").expected;
    let series = |arch: Arch, seed_index: usize| -> Vec<(usize, f64)> {
        let mut depths: Vec<(usize, f64)> = ms
            .iter()
            .filter(|m| m.arch == arch && m.phase == phase)
            .filter(|m| seed_rank(ms, m) == seed_index)
            .map(|m| (m.n_layers, last(m)))
            .collect();
        depths.sort_by_key(|d| d.0);
        depths
    };
    let exponent = |f: &dyn Fn(usize) -> Vec<(usize, f64)>| -> Option<Interval> {
        let fits: Vec<f64> = (0..n_seeds)
            .filter_map(|s| {
                let pts = f(s);
                (pts.len() >= 2).then(|| {
                    let xs: Vec<f64> = pts.iter().map(|p| (p.0 as f64).ln()).collect();
                    let ys: Vec<f64> = pts.iter().map(|p| p.1.ln()).collect();
                    slope(&xs, &ys)
                })
            })
            .collect();
        (!fits.is_empty()).then(|| Interval::of(&fits))
    };
    let ratio = |s: usize| -> Vec<(usize, f64)> {
        let pre = series(Arch::PreLn, s);
        series(Arch::PostLn, s)
            .into_iter()
            .filter_map(|(l, post)| pre.iter().find(|p| p.0 == l).map(|p| (l, post / p.1)))
            .collect()
    };
    Theorem1 {
        phase: phase.to_string(),
        post_ln_exponent: exponent(&|s| series(Arch::PostLn, s)),
        pre_ln_exponent: exponent(&|s| series(Arch::PreLn, s)),
        gap_exponent: exponent(&ratio),
    }
}

/// Position of a measurement's seed among the distinct seeds (pairs Post-LN and Pre-LN runs).
fn seed_rank(ms: &[Measurement], m: &Measurement) -> usize {
    let mut seeds: Vec<u64> = ms.iter().map(|x| x.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    seeds.iter().position(|s| *s == m.seed).unwrap_or(0)
}

/// The verdicts on claim 1 and Theorem 1 at initialization.
pub fn verdicts(summaries: &[DepthSummary], thm: &Theorem1) -> Vec<Verdict> {
    let init: Vec<&DepthSummary> = summaries.iter().filter(|s| s.phase == "init").collect();
    let of = |arch| init.iter().filter(move |s| s.arch == arch).copied();
    let mut out = Vec::new();
    let post: Vec<&DepthSummary> = of(Arch::PostLn).collect();
    if !post.is_empty() {
        let outcome = Outcome::all(
            post.iter()
                .map(|s| judge_sign(&s.w2_log_slope_per_layer, 1.0)),
        );
        out.push(Verdict {
            claim: "1a Post-LN: expected gradient of W2 grows with layer index at init".into(),
            outcome,
            rule: "per depth, the seed 95% interval of the slope of ln‖E∇W2‖ vs layer index lies above 0 (holds), below 0 (does not hold), else inconclusive; all depths must hold".into(),
            evidence: list(&post, |s| format!("L={}: slope {}", s.n_layers, s.w2_log_slope_per_layer.fmt(3))),
            effect: String::new(),
        });
    }
    let pre: Vec<&DepthSummary> = of(Arch::PreLn).collect();
    if !pre.is_empty() {
        let band = (-FLAT_LOG_CHANGE, FLAT_LOG_CHANGE);
        let outcome = Outcome::all(
            pre.iter()
                .map(|s| judge_inside(&s.w2_log_change_over_depth, band)),
        );
        let direction = pre
            .iter()
            .map(|s| s.w2_log_change_over_depth.mean)
            .sum::<f64>()
            / pre.len() as f64;
        let trend = if direction < 0.0 { "falls" } else { "rises" };
        out.push(Verdict {
            claim: "1b Pre-LN: expected gradient of W2 about flat across layers at init".into(),
            outcome,
            rule: format!("per depth, the interval of ln(last/first layer ‖E∇W2‖) lies within ±ln 2 (within a factor 2: holds), entirely outside (does not hold), else inconclusive; on average it {trend} with layer index"),
            evidence: list(&pre, |s| format!("L={}: ln(last/first) {}", s.n_layers, s.w2_log_change_over_depth.fmt(3))),
            effect: String::new(),
        });
    }
    out.extend(theorem_verdicts(thm));
    out
}

fn theorem_verdicts(thm: &Theorem1) -> Vec<Verdict> {
    let mut out = Vec::new();
    if let Some(gap) = &thm.gap_exponent {
        out.push(Verdict {
            claim: "1c the last-layer gap Post-LN/Pre-LN grows like sqrt(L)".into(),
            outcome: judge_band(gap, (0.25, 0.75), gap.above(0.0)),
            rule: "fit ratio ~ L^e per seed; holds if the interval of e is above 0 and overlaps [0.25, 0.75], does not hold if it lies entirely outside [0.25, 0.75], else inconclusive".into(),
            evidence: format!("e = {}", gap.fmt(3)),
            effect: String::new(),
        });
    }
    if let Some(post) = &thm.post_ln_exponent {
        out.push(Verdict {
            claim: "Theorem 1, Post-LN: last-layer ‖∇W2‖ independent of depth".into(),
            outcome: judge_inside(post, (-0.25, 0.25)),
            rule: "fit ‖∇W2(L)‖ ~ L^e per seed; holds if the interval of e lies within [-0.25, 0.25], does not hold if entirely outside".into(),
            evidence: format!("e = {}", post.fmt(3)),
            effect: String::new(),
        });
    }
    if let Some(pre) = &thm.pre_ln_exponent {
        out.push(Verdict {
            claim: "Theorem 1, Pre-LN: last-layer ‖∇W2‖ falls like 1/sqrt(L)".into(),
            outcome: judge_band(pre, (-0.75, -0.25), pre.below(0.0)),
            rule: "fit ‖∇W2(L)‖ ~ L^e per seed; holds if the interval of e is below 0 and overlaps [-0.75, -0.25], does not hold if entirely outside [-0.75, -0.25]".into(),
            evidence: format!("e = {}", pre.fmt(3)),
            effect: String::new(),
        });
    }
    out
}

fn list(items: &[&DepthSummary], f: impl Fn(&DepthSummary) -> String) -> String {
    items.iter().map(|s| f(s)).collect::<Vec<_>>().join("; ")
}

/// The stdout table: a row per architecture and depth with the last layer's W2 norm, its ratio
/// to Pre-LN's at that depth, and the trend over layer index.
pub fn table(summaries: &[DepthSummary], phase: &str) -> String {
    let mut out = format!(
        "phase {phase}: expected-gradient Frobenius norm of the last layer's W2 (seed mean [95% CI])\n{:<12} {:>4}  {:<28} {:>10}  {:<26} {:<26}\n",
        "arch", "L", "‖E∇W2(L)‖", "/ pre-ln", "slope ln‖·‖ per layer", "ln(last/first layer)"
    );
    let rows: Vec<&DepthSummary> = summaries.iter().filter(|s| s.phase == phase).collect();
    for s in &rows {
        let pre = rows
            .iter()
            .find(|p| p.arch == Arch::PreLn && p.n_layers == s.n_layers);
        let ratio = pre.map_or("-".to_string(), |p| {
            format!("{:.3}", s.last_w2_expected.mean / p.last_w2_expected.mean)
        });
        let zero = s.last_w2_expected.mean == 0.0;
        let trend = |i: &Interval| {
            if zero {
                "- (zero gradients)".into()
            } else {
                i.fmt(3)
            }
        };
        out.push_str(&format!(
            "{:<12} {:>4}  {:<28} {ratio:>10}  {:<26} {:<26}\n",
            s.arch.name(),
            s.n_layers,
            s.last_w2_expected.fmt(4),
            trend(&s.w2_log_slope_per_layer),
            trend(&s.w2_log_change_over_depth),
        ));
    }
    if rows
        .iter()
        .any(|s| s.arch == Arch::Rezero && s.last_w2_expected.mean == 0.0)
    {
        out.push_str("rezero: every sub-layer weight has a zero gradient at init (its α = 0 gates the branch)\n");
    }
    out
}

/// Lemma 2 lines: hidden-state norms relative to d.
pub fn lemma2(summaries: &[DepthSummary]) -> String {
    if !summaries.iter().any(|s| s.phase == "init") {
        return String::new();
    }
    let mut out =
        String::from("Lemma 2 (init): ‖x‖²/d entering layers 1..L, then leaving the last block\n");
    for s in summaries.iter().filter(|s| s.phase == "init") {
        let norms: Vec<String> = s
            .hidden_sq_norm_over_d
            .iter()
            .map(|i| format!("{:.2}", i.mean))
            .collect();
        let residual = s.residual_sum_sq_norm_over_d.map_or(String::new(), |r| {
            format!("; mean ‖x^post,5‖²/d {} (paper: 1.5)", r.fmt(3))
        });
        out.push_str(&format!(
            "  {} L={}: {}{residual}\n",
            s.arch.name(),
            s.n_layers,
            norms.join(" ")
        ));
    }
    out
}

/// Figure 3's two panels as SVGs: `<stem>-by-layer.svg` and `<stem>-last-layer.svg`.
pub fn plots(summaries: &[DepthSummary], stem: &Path) -> Result<Vec<std::path::PathBuf>> {
    // A log axis cannot show zero norms (ReZero at init): such curves are left out.
    let by_layer: Vec<Series> = summaries
        .iter()
        .filter(|s| s.w2_expected_by_layer.iter().all(|i| i.mean > 0.0))
        .map(|s| Series {
            label: format!("{} L={} {}", s.arch.name(), s.n_layers, s.phase),
            points: s
                .w2_expected_by_layer
                .iter()
                .enumerate()
                .map(|(l, i)| ((l + 1) as f64, i.mean))
                .collect(),
            band: None,
        })
        .collect();
    let layer_path = with_suffix(stem, "-by-layer.svg");
    let spec = ChartSpec {
        title: "expected gradient ‖E∇W2‖_F by layer",
        x_label: "layer index",
        y_label: "‖E∇W2‖_F",
        log_y: true,
    };
    line_chart(&layer_path, &spec, &by_layer)?;
    let mut last = Vec::new();
    for arch in Arch::ALL {
        let mut phases: Vec<&str> = summaries.iter().map(|s| s.phase.as_str()).collect();
        phases.dedup();
        for phase in phases {
            let mut points: Vec<(f64, f64)> = summaries
                .iter()
                .filter(|s| s.arch == arch && s.phase == phase && s.last_w2_expected.mean > 0.0)
                .map(|s| (s.n_layers as f64, s.last_w2_expected.mean))
                .collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            if !points.is_empty() {
                last.push(Series {
                    label: format!("{} {phase}", arch.name()),
                    points,
                    band: None,
                });
            }
        }
    }
    let last_path = with_suffix(stem, "-last-layer.svg");
    let spec = ChartSpec {
        title: "last layer ‖E∇W2‖_F vs depth",
        x_label: "number of layers L",
        y_label: "‖E∇W2(L)‖_F",
        log_y: true,
    };
    line_chart(&last_path, &spec, &last)?;
    Ok(vec![layer_path, last_path])
}

fn with_suffix(stem: &Path, suffix: &str) -> std::path::PathBuf {
    let name = stem
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "grad-init".into());
    stem.with_file_name(format!("{name}{suffix}"))
}
