//! The comparison plots (SVG): validation loss, lr and global gradient norm against the update,
//! per configuration (seed median with a min–max band: outcomes are bimodal, a mean would draw a
//! curve no seed followed), updates to reach each loss level, and per-layer gradient norms for
//! each architecture side by side. A study with more configurations than `MAX_PER_PANEL` is
//! drawn as small multiples: one panel per value of a study axis (the peak rate first, then the
//! architecture, then any other), or per pair of values of two axes (a grid of rate × scheme)
//! when no axis alone keeps a panel that small, so no panel holds more curves than an eye can
//! follow.

use crate::analysis::{Group, Loaded};
use crate::config::Arch;
use crate::error::Result;
use crate::plot::{line_chart, panel_grid_scaled, ChartSpec, Panel, Series};
use crate::stats::rank::MedianInterval;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A band: (x, lo, hi) points.
type Band = Vec<(f64, f64, f64)>;

/// One curve of a run: (update, value) points.
type CurveOf = fn(&crate::results::RunResult) -> Vec<(u64, f64)>;

/// A configuration's label in a chart (all its axes, or all but the panel's).
type LabelOf<'a> = &'a dyn Fn(&Group) -> String;

/// Series of a chart from its configurations and their labels.
type MakeSeries<'a> = &'a dyn Fn(&[&Group], LabelOf) -> Vec<Series>;

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

/// Curves per panel beyond which a chart is split into panels.
pub(super) const MAX_PER_PANEL: usize = 8;

/// The axes whose values become panels: none when every configuration fits one panel; else the
/// first axis (the peak rate, then the architecture, then any other) whose panels hold at most
/// `MAX_PER_PANEL` curves; when no axis alone does, the pair of axes whose fullest panel is
/// smallest (a grid: rows the first axis's values, columns the second's), or the single axis if
/// no pair does better.
fn facet_axes(groups: &[Group]) -> Vec<String> {
    if groups.len() <= MAX_PER_PANEL {
        return Vec::new();
    }
    let mut keys: Vec<String> = groups
        .iter()
        .flat_map(|g| g.axes.iter().map(|(k, _)| k.clone()))
        .collect();
    keys.sort_by_key(|k| match k.as_str() {
        "schedule.peak_lr" => 0,
        "model.arch" => 1,
        _ => 2,
    });
    keys.dedup();
    let singles: Vec<(Vec<String>, usize)> = keys
        .iter()
        .filter_map(|k| fullest(groups, std::slice::from_ref(k)).map(|n| (vec![k.clone()], n)))
        .collect();
    if let Some((axes, _)) = singles.iter().find(|(_, n)| *n <= MAX_PER_PANEL) {
        return axes.clone();
    }
    let pairs = keys.iter().enumerate().flat_map(|(i, a)| {
        keys[i + 1..].iter().filter_map(move |b| {
            let pair = vec![a.clone(), b.clone()];
            fullest(groups, &pair).map(|n| (pair, n))
        })
    });
    // The smallest fullest panel; among equals the first (single axes before pairs).
    singles
        .iter()
        .cloned()
        .chain(pairs)
        .fold(None::<(Vec<String>, usize)>, |best, c| match best {
            Some(b) if b.1 <= c.1 => Some(b),
            _ => Some(c),
        })
        .map(|(axes, _)| axes)
        .unwrap_or_default()
}

/// The most configurations one panel of `axes` holds (None: the axes make a single panel).
fn fullest(groups: &[Group], axes: &[String]) -> Option<usize> {
    let mut counts: BTreeMap<Vec<Option<String>>, usize> = BTreeMap::new();
    for g in groups {
        *counts.entry(panel_key(g, axes)).or_default() += 1;
    }
    (counts.len() > 1).then(|| counts.into_values().max().unwrap_or(0))
}

/// A configuration's values of the facet axes, as labels show them.
fn panel_key(g: &Group, axes: &[String]) -> Vec<Option<String>> {
    axes.iter().map(|k| g.axis_label(k)).collect()
}

/// Seed median (and band) of one curve per configuration of `groups`.
fn series_of(
    groups: &[&Group],
    label: &dyn Fn(&Group) -> String,
    curve: &dyn Fn(&crate::results::RunResult) -> Vec<(u64, f64)>,
    band: bool,
) -> Vec<Series> {
    groups
        .iter()
        .map(|g| {
            let curves: Vec<Vec<(u64, f64)>> = g.runs.iter().map(curve).collect();
            let (points, b) = median_band(&curves);
            Series {
                label: label(g),
                points,
                band: band.then_some(b),
            }
        })
        .collect()
}

/// Draw one chart of every configuration: a single panel, or one panel per value (or pair of
/// values) of the facet axes. `make` turns configurations and their label into series.
fn faceted_chart(path: &Path, spec: &ChartSpec, groups: &[Group], make: MakeSeries) -> Result<()> {
    let facets = facet_axes(groups);
    if facets.is_empty() {
        let all: Vec<&Group> = groups.iter().collect();
        return line_chart(path, spec, &make(&all, &|g: &Group| g.label()));
    }
    let free: Vec<&str> = facets.iter().map(String::as_str).collect();
    // Panels in the order of the axes' values: the first axis's values are the rows.
    let values_of =
        |axis: &String| crate::analysis::first_seen(groups.iter().map(|g| g.axis_label(axis)));
    let per_axis: Vec<Vec<Option<String>>> = facets.iter().map(values_of).collect();
    let mut keys: Vec<Vec<Option<String>>> = vec![Vec::new()];
    for values in &per_axis {
        keys = keys
            .into_iter()
            .flat_map(|k| {
                values
                    .iter()
                    .map(move |v| [k.clone(), vec![v.clone()]].concat())
            })
            .collect();
    }
    let panels: Vec<Panel> = keys
        .iter()
        .filter_map(|key| {
            let members: Vec<&Group> = groups
                .iter()
                .filter(|g| panel_key(g, &facets) == *key)
                .collect();
            let names: Vec<&str> = key
                .iter()
                .map(|v| v.as_deref().unwrap_or("other"))
                .collect();
            (!members.is_empty()).then(|| Panel {
                title: format!("{}: {}", spec.y_label, names.join(", ")),
                log_y: spec.log_y,
                series: make(&members, &|g: &Group| g.label_without_all(&free)),
            })
        })
        .collect();
    // A full grid of two axes keeps its rows and columns; otherwise three columns.
    let columns = match per_axis.as_slice() {
        [_, second] if panels.len() == keys.len() => second.len(),
        _ => panels.len().min(3),
    };
    // Panels of one quantity share a y range, so heights compare across them.
    panel_grid_scaled(path, spec.title, spec.x_label, &panels, columns, true)
}

/// Write every plot into `out`; returns their paths (in display order).
pub fn all(loaded: &Loaded, out: &Path) -> Result<Vec<PathBuf>> {
    let g = &loaded.groups;
    let mut paths = Vec::new();
    let curves: [(&str, ChartSpec, CurveOf, bool); 3] = [
        (
            "val-loss.svg",
            ChartSpec {
                title: "validation loss (seed median, min–max band)",
                x_label: "update",
                y_label: "val loss (nats/char)",
                log_y: false,
            },
            |r| r.eval.iter().map(|e| (e.step, e.val_loss)).collect(),
            true,
        ),
        (
            "lr.svg",
            ChartSpec {
                title: "learning rate",
                x_label: "update",
                y_label: "lr",
                log_y: false,
            },
            |r| r.train.iter().map(|p| (p.step, p.lr)).collect(),
            false,
        ),
        (
            "grad-norm.svg",
            ChartSpec {
                title: "global gradient norm (seed median, min–max band)",
                x_label: "update",
                y_label: "‖∇‖",
                log_y: true,
            },
            |r| r.train.iter().map(|p| (p.step, p.grad_norm)).collect(),
            true,
        ),
    ];
    for (name, spec, curve, band) in curves {
        let path = out.join(name);
        faceted_chart(&path, &spec, g, &|members, label| {
            series_of(members, label, &curve, band)
        })?;
        paths.push(path);
    }
    let levels = curve_levels(loaded);
    let reach = updates_to_loss(&g.iter().collect::<Vec<_>>(), &levels, &|x| x.label());
    // No level below the entropy that most seeds of some configuration reached: no curve.
    if reach.iter().any(|s| !s.points.is_empty()) {
        let path = out.join("updates-to-loss.svg");
        let spec = ChartSpec {
            title: "updates to reach a val loss (seed median; a line ends where most seeds never got there)",
            x_label: "val loss level (nats/char, lower is later)",
            y_label: "updates",
            log_y: true,
        };
        faceted_chart(&path, &spec, g, &|members, label| {
            updates_to_loss(members, &levels, label)
        })?;
        paths.push(path);
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
                let path = out.join(format!("grad-layers-{}.svg", arch.name()));
                line_chart(&path, &spec, &series)?;
                paths.push(path);
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
    crate::analysis::loss_levels(loaded.unigram_entropy() - 0.1, bottom, 50)
}

/// Per configuration: (level, median updates to reach it), while the median is finite.
fn updates_to_loss(
    groups: &[&Group],
    levels: &[f64],
    label: &dyn Fn(&Group) -> String,
) -> Vec<Series> {
    groups
        .iter()
        .map(|g| Series {
            label: label(g),
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn grid(lrs: &[f64], archs: &[&str], warmups: &[u64]) -> Vec<Group> {
        let mut out = Vec::new();
        for lr in lrs {
            for arch in archs {
                for w in warmups {
                    out.push(Group {
                        axes: vec![
                            ("model.arch".into(), json!(arch)),
                            ("schedule.peak_lr".into(), json!(lr)),
                            ("schedule.warmup.steps".into(), json!(w)),
                        ],
                        runs: Vec::new(),
                    });
                }
            }
        }
        out
    }

    #[test]
    fn panels_split_by_the_peak_rate_first_and_stay_small() {
        let one = |axis: &str| vec![axis.to_string()];
        // 4 configurations: one panel.
        assert!(facet_axes(&grid(&[1e-3], &["a", "b"], &[0, 100])).is_empty());
        // 3 rates x 4: a panel per rate, 4 curves each.
        let by_rate = facet_axes(&grid(&[1e-3, 3e-3, 5e-3], &["a", "b"], &[0, 100]));
        assert_eq!(by_rate, one("schedule.peak_lr"));
        // 2 rates x 9 schemes x 2 warmups: a rate's panel would hold 18, a scheme's 4.
        let archs = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
        let by_arch = facet_axes(&grid(&[3e-3, 5e-3], &archs, &[0, 100]));
        assert_eq!(by_arch, one("model.arch"));
        // 7 rates x 5 schemes x 2 warmups: a rate's panel would hold 10, a scheme's 14: a
        // grid of rate x scheme panels, 2 curves each.
        let lrs = [5e-4, 1e-3, 2e-3, 4e-3, 8e-3, 1.6e-2, 3.2e-2];
        let both = facet_axes(&grid(&lrs, &archs[..5], &[0, 100]));
        assert_eq!(both, ["schedule.peak_lr", "model.arch"]);
        let g = &grid(&[3e-3], &["a"], &[100])[0];
        assert_eq!(g.label_without("schedule.peak_lr"), "a w=100");
        assert_eq!(
            g.label_without_all(&["schedule.peak_lr", "model.arch"]),
            "w=100"
        );
        assert_eq!(
            g.axis_label("schedule.peak_lr").as_deref(),
            Some("lr=0.003")
        );
    }
}
