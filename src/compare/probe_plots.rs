//! `probes.svg`: one panel per probe quantity against the update, per configuration (seed median
//! with a min–max band), for studies whose runs had `--probe` on, one `probe-<name>.svg` per
//! probe, and `probes.md`: the same seed medians at a few updates as a table. The quantities are
//! those the papers behind each probe plot (see `probe`'s module header).

use super::plots::MAX_PER_PANEL;
use crate::analysis::quantity::ProbeQuantity;
use crate::analysis::Group;
use crate::config::probe::ProbeKind;
use crate::error::Result;
use crate::plot::{panel_grid, Panel, Series};
use crate::probe::ProbePoint;
use crate::results::RunResult;
use std::path::{Path, PathBuf};

/// `probes.svg` (every quantity) and one `probe-<name>.svg` per probe measured, in `out`, when
/// any run of `groups` has probes; their paths.
pub fn write(groups: &[Group], out: &Path) -> Result<Vec<PathBuf>> {
    if !groups
        .iter()
        .any(|g| g.runs.iter().any(|r| !r.probes.is_empty()))
    {
        return Ok(Vec::new());
    }
    let path = out.join("probes.svg");
    let title = "mechanism probes (seed median, min–max band; measurement batch = first validation windows)";
    let (all, per_row) = panels(groups, |_| true);
    let columns = if per_row > 1 { per_row } else { 3 };
    panel_grid(&path, title, "update", &all, columns)?;
    let mut paths = vec![path];
    // Each probe once, in the quantities' order (its quantities need not be adjacent).
    let probes = crate::analysis::first_seen(ProbeQuantity::ALL.iter().map(|q| q.probe()));
    for probe in probes {
        let (panels, per_row) = panels(groups, |kind| kind == probe);
        if panels.is_empty() {
            continue;
        }
        let name = probe.name();
        let path = out.join(format!("probe-{name}.svg"));
        let title = format!("probe {name} (seed median, min–max band)");
        let columns = if per_row > 1 {
            per_row
        } else {
            panels.len().min(3)
        };
        panel_grid(&path, &title, "update", &panels, columns)?;
        paths.push(path);
    }
    Ok(paths)
}

/// The updates `probes.md` shows: 0, 50, 200, the end of warmup when it is elsewhere, the last.
fn table_steps(group: &Group) -> Vec<u64> {
    let run = &group.runs[0];
    let last = run.probes.last().map_or(0, |p| p.step);
    let warmup = run.config.schedule.warmup.steps;
    let mut steps: Vec<u64> = [0, 50, 200, warmup, last]
        .into_iter()
        .filter(|s| *s <= last && run.probes.iter().any(|p| p.step == *s))
        .collect();
    steps.sort_unstable();
    steps.dedup();
    steps
}

/// `probes.md`: per configuration and update, the seed median of each quantity measured.
pub fn table(groups: &[Group]) -> Option<String> {
    let probed: Vec<&Group> = groups
        .iter()
        .filter(|g| g.runs.iter().any(|r| !r.probes.is_empty()))
        .collect();
    let measured: Vec<ProbeQuantity> = ProbeQuantity::ALL
        .into_iter()
        .filter(|q| {
            probed
                .iter()
                .flat_map(|g| &g.runs)
                .any(|r| r.probes.iter().any(|p| q.read(p).is_some()))
        })
        .collect();
    if probed.is_empty() {
        return None;
    }
    let mut out = String::from(
        "# Probes: seed medians\n\nRegenerate with `lnwarm compare <results> --report`. Each cell is the median over seeds of the quantity at that update (`-`: not measured there, or no seed got there). What each quantity is: docs/probes.md.\n\n| configuration | update |",
    );
    for q in &measured {
        out += &format!(" {} |", q.title().replace('|', "\\|"));
    }
    out += "\n|---|---|";
    out += &"---|".repeat(measured.len());
    out += "\n";
    for g in probed {
        for step in table_steps(g) {
            out += &format!("| {} | {step} |", g.label());
            for q in &measured {
                let values: Vec<f64> = g
                    .runs
                    .iter()
                    .filter_map(|r| {
                        r.probes
                            .iter()
                            .find(|p| p.step == step)
                            .and_then(|p| q.read(p))
                    })
                    .collect();
                out += &match values.is_empty() {
                    true => " - |".to_string(),
                    false => format!(
                        " {} |",
                        fmt_value(crate::stats::rank::MedianInterval::of(&values).median)
                    ),
                };
            }
            out += "\n";
        }
    }
    out += &sharpness_summary(groups);
    out += "\n**What the probes cost** (wall time of every probe measurement, `ms` in the results, against the time of the updates themselves; seed median):\n\n| configuration | probes s | updates s | share |\n|---|---|---|---|\n";
    for g in groups
        .iter()
        .filter(|g| g.runs.iter().any(|r| !r.probes.is_empty()))
    {
        let probe_s: Vec<f64> = g.runs.iter().map(probe_seconds).collect();
        let update_s: Vec<f64> = g.runs.iter().map(update_seconds).collect();
        let share: Vec<f64> = probe_s.iter().zip(&update_s).map(|(p, u)| p / u).collect();
        let median = |v: &[f64]| crate::stats::rank::MedianInterval::of(v).median;
        out += &format!(
            "| {} | {:.1} | {:.1} | {:.0}% |\n",
            g.label(),
            median(&probe_s),
            median(&update_s),
            100.0 * median(&share)
        );
    }
    Some(out)
}

/// Per configuration: how the sharpness measurements went (converged, products), their share of
/// the probe time, and the largest seed-median ratio to the stability threshold over updates.
fn sharpness_summary(groups: &[Group]) -> String {
    let mut out = String::from("\n**Sharpness measurements** (both probes; ratio = the largest seed median over the measured updates):\n\n| configuration | measurements | converged | products, median [max] | share of probe time | max λmax/(2/η) | max Adam ratio |\n|---|---|---|---|---|---|---|\n");
    let median = |v: &[f64]| crate::stats::rank::MedianInterval::of(v).median;
    for g in groups
        .iter()
        .filter(|g| g.runs.iter().any(|r| !r.probes.is_empty()))
    {
        let points: Vec<&ProbePoint> = g.runs.iter().flat_map(|r| &r.probes).collect();
        let measured: Vec<&crate::probe::Sharpness> = points
            .iter()
            .flat_map(|p| p.sharpness.iter().chain(&p.adam_sharpness))
            .collect();
        if measured.is_empty() {
            continue;
        }
        let products: Vec<f64> = measured.iter().map(|s| s.products as f64).collect();
        let converged = measured.iter().filter(|s| s.converged).count();
        let sharp_ms: f64 = points
            .iter()
            .flat_map(|p| p.ms.iter())
            .filter(|(k, _)| k.contains("sharpness"))
            .map(|(_, v)| v)
            .sum();
        let all_ms: f64 = points.iter().flat_map(|p| p.ms.values()).sum();
        let max_ratio = |quantity: ProbeQuantity| -> String {
            let mut steps: Vec<u64> = points.iter().map(|p| p.step).collect();
            steps.sort_unstable();
            steps.dedup();
            let best = steps
                .iter()
                .filter_map(|s| {
                    let v: Vec<f64> = points
                        .iter()
                        .filter(|p| p.step == *s)
                        .filter_map(|p| quantity.read(p))
                        .collect();
                    (!v.is_empty()).then(|| median(&v))
                })
                .fold(f64::NAN, f64::max);
            if best.is_nan() {
                "-".into()
            } else {
                fmt_value(best)
            }
        };
        out += &format!(
            "| {} | {} | {} | {} [{}] | {:.0}% | {} | {} |\n",
            g.label(),
            measured.len(),
            converged,
            median(&products),
            products.iter().copied().fold(0.0, f64::max),
            100.0 * sharp_ms / all_ms.max(1e-9),
            max_ratio(ProbeQuantity::SharpnessRatio),
            max_ratio(ProbeQuantity::AdamSharpnessRatio),
        );
    }
    out
}

/// Seconds spent in probe measurements over a run.
fn probe_seconds(run: &RunResult) -> f64 {
    run.probes.iter().flat_map(|p| p.ms.values()).sum::<f64>() / 1e3
}

/// Seconds spent in updates (tokens trained / mean tokens per second).
fn update_seconds(run: &RunResult) -> f64 {
    let tokens = run.summary.steps_done as f64
        * (run.config.data.seq_len * run.config.data.batch_size) as f64;
    tokens / run.summary.mean_tokens_per_s.max(1e-9)
}

/// Four significant digits, scientific outside [0.01, 1e4).
fn fmt_value(v: f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(0.01..1e4).contains(&a) {
        format!("{v:.3e}")
    } else {
        format!("{v:.4}")
    }
}

/// The panels of the quantities whose probe `keep` accepts, where some run has data, over the
/// configurations that ran probes. More than `MAX_PER_PANEL` of them over several architectures
/// are split by architecture: one panel per quantity and architecture (rows: quantities); the
/// second value is the number of columns that keeps a quantity on one row.
fn panels(groups: &[Group], keep: impl Fn(ProbeKind) -> bool) -> (Vec<Panel>, usize) {
    let probed: Vec<&Group> = groups
        .iter()
        .filter(|g| g.runs.iter().any(|r| !r.probes.is_empty()))
        .collect();
    let archs = crate::analysis::first_seen(probed.iter().map(|g| g.arch()));
    let split = probed.len() > MAX_PER_PANEL && archs.len() > 1;
    let facets: Vec<Option<Option<crate::config::Arch>>> = match split {
        true => archs.iter().map(|a| Some(*a)).collect(),
        false => vec![None],
    };
    let mut out = Vec::new();
    for quantity in ProbeQuantity::ALL.into_iter().filter(|q| keep(q.probe())) {
        let (title, log_y) = (quantity.title(), quantity.log_y());
        for facet in &facets {
            let members = probed
                .iter()
                .filter(|g| facet.is_none_or(|a| g.arch() == a));
            let series: Vec<Series> = members
                .map(|g| {
                    let curves: Vec<_> = g.runs.iter().map(|r| quantity.curve(r)).collect();
                    let (points, band) = super::plots::median_band(&curves);
                    let label = match facet {
                        Some(_) => g.label_without("model.arch"),
                        None => g.label(),
                    };
                    Series {
                        label,
                        points,
                        band: Some(band),
                    }
                })
                .collect();
            let arch = facet
                .flatten()
                .map_or(String::new(), |a| format!(", {}", a.name()));
            out.push(Panel {
                title: format!("{title}{arch}"),
                log_y,
                series,
            });
        }
    }
    // A quantity no run measured has no panel; its architectures go with it.
    let kept: Vec<Panel> = out
        .chunks(facets.len())
        .filter(|row| {
            row.iter()
                .any(|p| p.series.iter().any(|s| !s.points.is_empty()))
        })
        .flatten()
        .cloned()
        .collect();
    (kept, facets.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Arch, RunConfig};
    use crate::probe::{Overfit, ProbePoint};
    use serde_json::json;

    /// A configuration of `arch` with `arm` as its distinguishing axis; probed or not.
    fn group(arch: Arch, arm: usize, probed: bool) -> Group {
        let mut config = RunConfig::default();
        config.model.arch = arch;
        let mut run = RunResult::planned(config);
        if probed {
            run.probes = vec![ProbePoint {
                step: 20,
                overfit: Some(Overfit {
                    train_before: 3.0,
                    train_after: 2.9,
                    probe_before: 3.0,
                    probe_after: 3.0,
                    gap: 0.1,
                    grad_cosine: None,
                }),
                ..ProbePoint::default()
            }];
        }
        Group {
            axes: vec![
                ("model.arch".into(), json!(arch.name())),
                ("arm".into(), json!(arm)),
            ],
            runs: vec![run],
        }
    }

    #[test]
    fn probe_panels_show_probed_configurations_split_by_architecture() {
        let mut groups: Vec<Group> = (0..8).map(|i| group(Arch::PostLn, i, true)).collect();
        groups.extend((0..8).map(|i| group(Arch::PreLn, i, true)));
        groups.extend((0..20).map(|i| group(Arch::Dyt, i, false)));
        let (panels, per_row) = panels(&groups, |p| p == ProbeKind::Overfit);
        // The gap has data, the gradient cosine none: one row of two architectures.
        assert_eq!(per_row, 2);
        let titles: Vec<&str> = panels.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "one-step gap (train − held-out gain), post-ln",
                "one-step gap (train − held-out gain), pre-ln"
            ]
        );
        // Unprobed configurations draw nothing; each panel has its architecture's 8.
        assert!(panels.iter().all(|p| p.series.len() == 8));
        assert_eq!(panels[0].series[0].label, "arm=0");
        // 8 probed configurations of one architecture fit one panel.
        let (one, per_row) = super::panels(&groups[..8], |p| p == ProbeKind::Overfit);
        assert_eq!((one.len(), per_row), (1, 1));
        assert_eq!(one[0].series[0].label, "post-ln arm=0");
    }
}
