//! `lr-sensitivity.md` and `lr-sensitivity.svg`: the LR curves of `analysis::lr_curves`
//! (Wortsman et al. 2023's LR sensitivity, with its seed bootstrap) as a table and a plot.

use crate::analysis::lr_curves::{curves, LrCurve};
use crate::analysis::Loaded;
use crate::analysis::RATE_KEY;
use crate::config::Arch;
use crate::error::Result;
use crate::plot::{panel_grid_rates, Panel, Series};
use std::path::{Path, PathBuf};

/// `lr-sensitivity.md`: one row per configuration.
pub fn markdown(curves: &[LrCurve]) -> String {
    let mut out = String::from("# LR sensitivity\n\nPer configuration: the final validation loss over the peak rates (seed median of min(final, loss at init): a diverged seed counts as the loss at init, a stalled one at its final loss), the best rate, the largest rate at which no seed failed, and the LR sensitivity E_η[min(ℓ(η), ℓ0) − ℓ*] (Wortsman et al. 2023) with its seed-bootstrap 95% interval.\n\n| configuration | loss at init | loss per rate (median) | failed per rate | best rate | largest rate, no seed failed | LR sensitivity [95%] |\n|---|---|---|---|---|---|---|\n");
    for c in curves {
        let per_rate =
            |f: &dyn Fn(usize) -> String| (0..c.rates.len()).map(f).collect::<Vec<_>>().join(", ");
        let medians = c.medians();
        let failures = c.failures();
        out.push_str(&format!(
            "| {} | {:.3} | {} | {} | {} | {} | {:.4} [{:.4}, {:.4}] |\n",
            c.label,
            c.init_loss,
            per_rate(&|i| format!("{:e}: {:.3}", c.rates[i], medians[i])),
            per_rate(&|i| format!("{}/{}", failures[i].k, failures[i].n)),
            c.best_rate(),
            c.largest_clean_rate()
                .map_or("none".into(), |r| format!("{r:e}")),
            c.sensitivity,
            c.interval.0,
            c.interval.1
        ));
    }
    out
}

/// `lr-curves.svg`: final loss against the peak rate on a log axis (ticks read as rates), seed
/// median with the min–max band; one panel per architecture (its warmups side by side) in the
/// order Post-LN, Pre-LN, then the later schemes (`Arch::ALL`), one y range for all. Curves
/// that are identical say so in the legend ("= other"), since one would hide the other.
pub fn plot(curves: &[LrCurve], out: &Path) -> Result<PathBuf> {
    let path = out.join("lr-curves.svg");
    let title = "final val loss vs peak lr (seed median, min–max band; a diverged seed counts as the loss at init)";
    let y_label = "final val loss (nats/char)";
    let mut archs = crate::analysis::first_seen(curves.iter().map(|c| c.arms[0].arch()));
    archs.sort_by_key(|a| {
        a.map_or(usize::MAX, |a| {
            Arch::ALL.iter().position(|x| *x == a).unwrap_or(usize::MAX)
        })
    });
    let split = archs.len() >= 2;
    let panels: Vec<Panel> = archs
        .iter()
        .map(|arch| {
            let mut series: Vec<Series> = curves
                .iter()
                .filter(|c| !split || c.arms[0].arch() == *arch)
                .map(|c| match split {
                    true => series(c, c.arms[0].label_without_all(&[RATE_KEY, "model.arch"])),
                    false => series(c, c.label.clone()),
                })
                .collect();
            mark_identical(&mut series);
            Panel {
                title: match split {
                    true => arch.map_or("other".into(), |a| a.name().to_string()),
                    false => y_label.to_string(),
                },
                log_y: false,
                series,
            }
        })
        .take(if split { usize::MAX } else { 1 })
        .collect();
    panel_grid_rates(
        &path,
        title,
        "peak lr (log scale)",
        &panels,
        panels.len().min(3),
    )?;
    Ok(path)
}

/// A series whose points and band equal an earlier one's is drawn under it: its label says so.
fn mark_identical(series: &mut [Series]) {
    for i in 1..series.len() {
        let twin = (0..i)
            .find(|&j| series[j].points == series[i].points && series[j].band == series[i].band);
        if let Some(j) = twin {
            let first = series[j].label.clone();
            series[i].label = format!("{} (= {first})", series[i].label);
        }
    }
}

/// One curve's seed medians over log10 of the rates, with the min–max band.
fn series(c: &LrCurve, label: String) -> Series {
    let x: Vec<f64> = c.rates.iter().map(|r| r.log10()).collect();
    let band = c
        .losses
        .iter()
        .zip(&x)
        .map(|(l, &x)| {
            let lo = l.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = l.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (x, lo, hi)
        })
        .collect();
    Series {
        label,
        points: x.into_iter().zip(c.medians()).collect(),
        band: Some(band),
    }
}

/// `lr-sensitivity.md` and `lr-curves.svg` into `out` when the study has curves; the paths.
pub fn write(loaded: &Loaded, out: &Path) -> Result<Vec<PathBuf>> {
    let curves = curves(loaded);
    if curves.is_empty() {
        return Ok(Vec::new());
    }
    let table = out.join("lr-sensitivity.md");
    crate::files::write_atomic(&table, markdown(&curves).as_bytes())?;
    Ok(vec![table, plot(&curves, out)?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identical_curve_says_so_in_its_label() {
        let curve = |label: &str, y: f64| Series {
            label: label.into(),
            points: vec![(-3.0, y), (-2.0, y + 0.1)],
            band: Some(vec![(-3.0, y, y), (-2.0, y + 0.1, y + 0.1)]),
        };
        let mut series = vec![
            curve("w=0", 2.5),
            curve("w=100", 2.4),
            curve("catapult", 2.5),
        ];
        mark_identical(&mut series);
        let labels: Vec<&str> = series.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["w=0", "w=100", "catapult (= w=0)"]);
    }
}
