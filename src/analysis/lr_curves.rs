//! Learning-rate sensitivity (issue 20): for a study whose grid has at least 5 peak rates, each
//! configuration's final loss as a function of the rate, and its **LR sensitivity** (Wortsman et
//! al. 2023, "Small-scale proxies for large-scale Transformer training instabilities", arXiv
//! 2309.14322, §3.1 and Appendix): E_η[min(ℓ(η), ℓ0) − ℓ*] over the study's rates (uniform over
//! the grid, which is log-spaced), ℓ0 the loss at initialization and ℓ* the best loss over the
//! grid. A diverged run (no finite final loss) counts as ℓ0 (the `min`); a stalled one counts at
//! its final loss, below ℓ0 (a stall sits on the unigram plateau). With seeds, ℓ(η) is the seed
//! median of min(final loss, ℓ0); the interval is a seed bootstrap (each rate's seeds resampled
//! with replacement, 2,000 times, fixed RNG seed), percentile 2.5–97.5%.

use super::{Group, Loaded, RATE_KEY};
use crate::stats::binomial::Rate;
use crate::stats::rank::MedianInterval;
use rand::{Rng, SeedableRng};

/// The fewest distinct peak rates a configuration needs for a curve.
pub const MIN_RATES: usize = 5;
/// Bootstrap resamples, and the RNG seed that makes the interval reproducible.
pub const RESAMPLES: usize = 2000;
const BOOTSTRAP_SEED: u64 = 0x006c_722d_7365_6e73;

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
