//! The comparison plots (SVG): validation loss, lr and global gradient norm against the update,
//! per configuration (seed median with a min–max band: outcomes are bimodal, a mean would draw a
//! curve no seed followed), updates to reach each loss level, and per-layer gradient norms for
//! each architecture side by side.

use super::{Group, Loaded};
use crate::config::Arch;
use crate::error::Result;
use crate::plot::{line_chart, ChartSpec, Series};
use crate::stats::rank::MedianInterval;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A band: (x, lo, hi) points.
type Band = Vec<(f64, f64, f64)>;

/// Seed median and min–max band of (step, value) curves.
pub(super) fn median_band(curves: &[Vec<(u64, f64)>]) -> (Vec<(f64, f64)>, Band) {
    let mut by_step: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
    for curve in curves {
        for &(step, v) in curve {
            if v.is_finite() {
                by_step.entry(step).or_default().push(v);
            }
        }
    }
    let mut points = Vec::new();
    let mut band = Vec::new();
    for (step, values) in by_step {
        let m = MedianInterval::of(&values);
        let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        points.push((step as f64, m.median));
        band.push((step as f64, lo, hi));
    }
    (points, band)
}

fn series_of(
    groups: &[Group],
    curve: impl Fn(&crate::results::RunResult) -> Vec<(u64, f64)>,
    band: bool,
) -> Vec<Series> {
    groups
        .iter()
        .map(|g| {
            let curves: Vec<Vec<(u64, f64)>> = g.runs.iter().map(&curve).collect();
            let (points, b) = median_band(&curves);
            Series {
                label: g.label(),
                points,
                band: band.then_some(b),
            }
        })
        .collect()
}

/// Write every plot into `out`; returns their paths (in display order).
pub fn all(loaded: &Loaded, out: &Path) -> Result<Vec<PathBuf>> {
    let g = &loaded.groups;
    let mut paths = Vec::new();
    let mut chart = |name: &str, spec: ChartSpec, series: Vec<Series>| -> Result<()> {
        let path = out.join(name);
        line_chart(&path, &spec, &series)?;
        paths.push(path);
        Ok(())
    };
    let val = series_of(
        g,
        |r| r.eval.iter().map(|e| (e.step, e.val_loss)).collect(),
        true,
    );
    chart(
        "val-loss.svg",
        ChartSpec {
            title: "validation loss (seed median, min–max band)",
            x_label: "update",
            y_label: "val loss (nats/char)",
            log_y: false,
        },
        val,
    )?;
    let lr = series_of(
        g,
        |r| r.train.iter().map(|p| (p.step, p.lr)).collect(),
        false,
    );
    chart(
        "lr.svg",
        ChartSpec {
            title: "learning rate",
            x_label: "update",
            y_label: "lr",
            log_y: false,
        },
        lr,
    )?;
    let gn = series_of(
        g,
        |r| r.train.iter().map(|p| (p.step, p.grad_norm)).collect(),
        true,
    );
    chart(
        "grad-norm.svg",
        ChartSpec {
            title: "global gradient norm (seed median, min–max band)",
            x_label: "update",
            y_label: "‖∇‖",
            log_y: true,
        },
        gn,
    )?;
    let reach = updates_to_loss(loaded);
    // No level below the entropy that most seeds of some configuration reached: no curve.
    if reach.iter().any(|s| !s.points.is_empty()) {
        chart(
            "updates-to-loss.svg",
            ChartSpec {
                title: "updates to reach a val loss (seed median; a line ends where most seeds never got there)",
                x_label: "val loss level (nats/char, lower is later)",
                y_label: "updates",
                log_y: true,
            },
            reach,
        )?;
    }
    for arch in Arch::ALL {
        if let Some(group) = g.iter().find(|x| x.arch() == Some(arch)) {
            let series = per_layer(group);
            if !series.is_empty() {
                let title = format!("‖∇W2‖ per layer, {}", group.label());
                let spec = ChartSpec {
                    title: &title,
                    x_label: "update",
                    y_label: "‖∇W2‖_F",
                    log_y: true,
                };
                chart(&format!("grad-layers-{}.svg", arch.name()), spec, series)?;
            }
        }
    }
    Ok(paths)
}

/// Loss levels for the updates-to-loss curves: from 0.1 nats below the unigram entropy down to
/// the lowest median best loss of any configuration, 50 levels.
fn curve_levels(loaded: &Loaded) -> Vec<f64> {
    let bottom = loaded
        .groups
        .iter()
        .map(Group::median_best)
        .fold(f64::INFINITY, f64::min);
    super::loss_levels(loaded.unigram_entropy() - 0.1, bottom, 50)
}

/// Per configuration: (level, median updates to reach it), while the median is finite.
fn updates_to_loss(loaded: &Loaded) -> Vec<Series> {
    let levels = curve_levels(loaded);
    loaded
        .groups
        .iter()
        .map(|g| Series {
            label: g.label(),
            points: levels
                .iter()
                .map(|&l| (l, MedianInterval::of(&g.updates_to(l)).median))
                .take_while(|(_, u)| u.is_finite())
                .collect(),
            band: None,
        })
        .collect()
}

/// One line per layer: the FFN W2 gradient norm (seed mean) against the update.
fn per_layer(group: &Group) -> Vec<Series> {
    let n = group.runs.first().map_or(0, |r| r.config.model.n_layers);
    (0..n)
        .map(|l| {
            let key = format!("blocks.{l}.ffn.w2.weight");
            let curves: Vec<Vec<(u64, f64)>> = group
                .runs
                .iter()
                .map(|r| {
                    r.grad_norms
                        .iter()
                        .filter_map(|p| p.norms.get(&key).map(|v| (p.step, *v)))
                        .collect()
                })
                .collect();
            Series {
                label: format!("layer {}", l + 1),
                points: median_band(&curves).0,
                band: None,
            }
        })
        .collect()
}
