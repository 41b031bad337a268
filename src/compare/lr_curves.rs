//! Learning-rate sensitivity (issue 20): for a study whose grid has at least 5 peak rates, each
//! configuration's final loss as a function of the rate, and its **LR sensitivity** (Wortsman et
//! al. 2023, "Small-scale proxies for large-scale Transformer training instabilities", arXiv
//! 2309.14322, §3.1 and Appendix): E_η[min(ℓ(η), ℓ0) − ℓ*] over the study's rates (uniform over
//! the grid, which is log-spaced), ℓ0 the loss at initialization and ℓ* the best loss over the
//! grid. A diverged run (no finite final loss) counts as ℓ0 (the `min`); a stalled one counts at
//! its final loss, below ℓ0 (a stall sits on the unigram plateau). With seeds, ℓ(η) is the seed
//! median of min(final loss, ℓ0); the interval is a seed bootstrap (each rate's seeds resampled
//! with replacement, 2,000 times, fixed RNG seed), percentile 2.5–97.5%.

use super::{Group, Loaded};
use crate::error::Result;
use crate::plot::{line_chart, panel_grid_scaled, ChartSpec, Panel, Series};
use crate::stats::binomial::Rate;
use crate::stats::rank::MedianInterval;
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};

/// The fewest distinct peak rates a configuration needs for a curve.
pub const MIN_RATES: usize = 5;
/// Bootstrap resamples, and the RNG seed that makes the interval reproducible.
pub const RESAMPLES: usize = 2000;
const BOOTSTRAP_SEED: u64 = 0x006c_722d_7365_6e73;

const RATE_KEY: &str = "schedule.peak_lr";

/// One configuration's final loss over the peak rates.
#[derive(Debug, Clone)]
pub struct LrCurve<'a> {
    /// The configuration without its rate (`post-ln w=0`).
    pub label: String,
    /// The arms, by increasing rate.
    pub arms: Vec<&'a Group>,
    pub rates: Vec<f64>,
    /// Per rate, per seed: min(final loss, ℓ0).
    pub losses: Vec<Vec<f64>>,
    /// ℓ0: the seed median of the loss at initialization (update 0).
    pub init_loss: f64,
    pub sensitivity: f64,
    /// Percentile bootstrap interval of the sensitivity (2.5%, 97.5%).
    pub interval: (f64, f64),
}

impl LrCurve<'_> {
    /// The seed medians of min(final, ℓ0), per rate.
    pub fn medians(&self) -> Vec<f64> {
        self.losses
            .iter()
            .map(|l| MedianInterval::of(l).median)
            .collect()
    }

    /// The rate with the lowest median loss.
    pub fn best_rate(&self) -> f64 {
        let medians = self.medians();
        let best = (0..medians.len())
            .min_by(|&a, &b| medians[a].total_cmp(&medians[b]))
            .unwrap_or(0);
        self.rates[best]
    }

    /// The largest rate at which no seed failed (stalled or diverged) and some seed was decided.
    pub fn largest_clean_rate(&self) -> Option<f64> {
        self.arms
            .iter()
            .zip(&self.rates)
            .rfind(|(g, _)| g.failures().k == 0 && g.failures().n > 0)
            .map(|(_, r)| *r)
    }

    pub fn failures(&self) -> Vec<Rate> {
        self.arms.iter().map(|g| g.failures()).collect()
    }
}

/// Wortsman et al.'s sensitivity of per-rate seed samples: mean over rates of (median − best).
pub fn sensitivity(losses: &[Vec<f64>]) -> f64 {
    let medians: Vec<f64> = losses
        .iter()
        .map(|l| MedianInterval::of(l).median)
        .collect();
    let best = medians.iter().copied().fold(f64::INFINITY, f64::min);
    medians.iter().map(|m| m - best).sum::<f64>() / medians.len() as f64
}

/// One bootstrap resample: each rate's seeds drawn with replacement.
pub fn resample(losses: &[Vec<f64>], rng: &mut impl Rng) -> Vec<Vec<f64>> {
    losses
        .iter()
        .map(|seeds| {
            (0..seeds.len())
                .map(|_| seeds[rng.random_range(0..seeds.len())])
                .collect()
        })
        .collect()
}

/// The fixed-seed RNG of every bootstrap here.
pub fn bootstrap_rng() -> rand_chacha::ChaCha8Rng {
    rand_chacha::ChaCha8Rng::seed_from_u64(BOOTSTRAP_SEED)
}

/// The `q` quantile (linear interpolation) of `values`.
pub fn quantile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let pos = q * (values.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    values[lo] + (values[hi] - values[lo]) * (pos - lo as f64)
}

fn loss_at_init(group: &Group) -> Vec<f64> {
    group
        .runs
        .iter()
        .filter_map(|r| r.eval.first().filter(|e| e.step == 0).map(|e| e.val_loss))
        .collect()
}

/// Every configuration of the study with at least `MIN_RATES` peak rates.
pub fn curves(loaded: &Loaded) -> Vec<LrCurve<'_>> {
    let rated: Vec<&Group> = loaded
        .groups
        .iter()
        .filter(|g| g.config_value(RATE_KEY).is_some())
        .collect();
    super::partition(&rated, &[RATE_KEY])
        .into_iter()
        .filter(|arms| arms.len() >= MIN_RATES)
        .filter_map(|arms| curve(arms[0].label_without(RATE_KEY), arms))
        .collect()
}

fn curve(label: String, mut arms: Vec<&Group>) -> Option<LrCurve<'_>> {
    let rate = |g: &Group| g.runs[0].config.schedule.peak_lr;
    arms.sort_by(|a, b| rate(a).total_cmp(&rate(b)));
    let init: Vec<f64> = arms.iter().flat_map(|g| loss_at_init(g)).collect();
    if init.is_empty() {
        return None;
    }
    let init_loss = MedianInterval::of(&init).median;
    let losses: Vec<Vec<f64>> = arms
        .iter()
        .map(|g| g.final_losses().iter().map(|l| l.min(init_loss)).collect())
        .collect();
    let mut rng = bootstrap_rng();
    let mut draws: Vec<f64> = (0..RESAMPLES)
        .map(|_| sensitivity(&resample(&losses, &mut rng)))
        .collect();
    let interval = (quantile(&mut draws, 0.025), quantile(&mut draws, 0.975));
    Some(LrCurve {
        label,
        rates: arms.iter().map(|g| rate(g)).collect(),
        sensitivity: sensitivity(&losses),
        arms,
        losses,
        init_loss,
        interval,
    })
}

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

/// `lr-curves.svg`: final loss against log10 of the rate, seed median with the min–max band; one
/// panel per architecture (its warmups side by side) when the curves span several.
pub fn plot(curves: &[LrCurve], out: &Path) -> Result<PathBuf> {
    let path = out.join("lr-curves.svg");
    let title = "final val loss vs peak lr (seed median, min–max band; a diverged seed counts as the loss at init)";
    let y_label = "final val loss (nats/char)";
    let archs = super::first_seen(curves.iter().map(|c| c.arms[0].arch()));
    if archs.len() < 2 {
        let series: Vec<Series> = curves.iter().map(|c| series(c, c.label.clone())).collect();
        let spec = ChartSpec {
            title,
            x_label: "log10 peak lr",
            y_label,
            log_y: false,
        };
        line_chart(&path, &spec, &series)?;
        return Ok(path);
    }
    let panels: Vec<Panel> = archs
        .iter()
        .map(|arch| Panel {
            title: arch.map_or("other".into(), |a| a.name().to_string()),
            log_y: false,
            series: curves
                .iter()
                .filter(|c| c.arms[0].arch() == *arch)
                .map(|c| {
                    let label = c.arms[0].label_without_all(&[RATE_KEY, "model.arch"]);
                    series(c, label)
                })
                .collect(),
        })
        .collect();
    // One y range: the schemes' losses compare across panels.
    panel_grid_scaled(
        &path,
        title,
        "log10 peak lr",
        &panels,
        panels.len().min(3),
        true,
    )?;
    Ok(path)
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
