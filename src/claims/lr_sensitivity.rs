//! "L <arch>: warmup lowers the LR sensitivity" (issue 20): for a study with LR curves
//! (`analysis::lr_curves`), each curve without warmup against each curve of the same arch that
//! differs only in its warmup. The difference d = S(no warmup) − S(warmup) of Wortsman et al.'s
//! sensitivity, with a seed bootstrap (both curves' seeds resampled at every rate, 2,000 times)
//! and one-sided percentile bounds at α/k (Bonferroni over the k pairs of the study). Holds when
//! some pair's lower bound is above 0; does not hold when every pair's upper bound lies below the
//! study's final-loss margin (warmup changes the sensitivity by less than the margin); else
//! inconclusive.

use super::{no_warmup, verdict_with_effect, ALPHA, WARMUP_KEYS};
use crate::analysis::lr_curves::{bootstrap_rng, curves, quantile, resample, sensitivity};
use crate::analysis::lr_curves::{LrCurve, RESAMPLES};
use crate::analysis::Loaded;
use crate::verdict::{Outcome, Verdict};

/// A curve's configuration without its rate and warmup: curves with equal keys differ only in
/// their warmup.
fn key(curve: &LrCurve) -> String {
    let mut free = WARMUP_KEYS.to_vec();
    free.push("schedule.peak_lr");
    curve.arms[0].key_without(&free)
}

/// (curve without warmup, curve with warmup) pairs of the same configuration otherwise.
fn pairs<'a, 'b>(all: &'b [LrCurve<'a>]) -> Vec<(&'b LrCurve<'a>, &'b LrCurve<'a>)> {
    let none = all.iter().filter(|c| no_warmup(c.arms[0]));
    none.flat_map(|n| {
        all.iter()
            .filter(move |w| !no_warmup(w.arms[0]) && key(w) == key(n))
            .map(move |w| (n, w))
    })
    .collect()
}

/// The bootstrap draws of S(a) − S(b).
fn difference_draws(a: &LrCurve, b: &LrCurve) -> Vec<f64> {
    let mut rng = bootstrap_rng();
    (0..RESAMPLES)
        .map(|_| {
            sensitivity(&resample(&a.losses, &mut rng))
                - sensitivity(&resample(&b.losses, &mut rng))
        })
        .collect()
}

/// The bootstrap draws of S(a) − S(b) on the rates `kept` (indices into both curves).
fn draws_on(a: &LrCurve, b: &LrCurve, kept: &[usize]) -> Vec<f64> {
    let pick = |l: &[Vec<f64>]| kept.iter().map(|&i| l[i].clone()).collect::<Vec<_>>();
    let (la, lb) = (pick(&a.losses), pick(&b.losses));
    let mut rng = bootstrap_rng();
    (0..RESAMPLES)
        .map(|_| sensitivity(&resample(&la, &mut rng)) - sensitivity(&resample(&lb, &mut rng)))
        .collect()
}

/// Issue 32: S subtracts each curve's own best, so d can move with the grid's ends. The range
/// of d with each rate left out in turn, and the rates without which the verdict's lower bound
/// (at `level`) changes side of 0.
fn leave_one_rate_out(none: &LrCurve, warm: &LrCurve, level: f64, holds: bool) -> String {
    if none.rates != warm.rates || none.rates.len() < 3 {
        return "leave one rate out: not computed (the curves' rates differ)".into();
    }
    let n = none.rates.len();
    let (mut lo, mut hi, mut flips) = (f64::INFINITY, f64::NEG_INFINITY, Vec::new());
    for left in 0..n {
        let kept: Vec<usize> = (0..n).filter(|&i| i != left).collect();
        let pick = |l: &[Vec<f64>]| kept.iter().map(|&i| l[i].clone()).collect::<Vec<_>>();
        let d = sensitivity(&pick(&none.losses)) - sensitivity(&pick(&warm.losses));
        (lo, hi) = (lo.min(d), hi.max(d));
        let bound = quantile(&mut draws_on(none, warm, &kept), level);
        if (bound > 0.0) != holds {
            flips.push(format!("{}", none.rates[left]));
        }
    }
    let flips = match flips.is_empty() {
        true => "no rate".to_string(),
        false => flips.join(", "),
    };
    format!("leave one rate out: d in [{lo:+.4}, {hi:+.4}]; the lower bound changes side of 0 without {flips}")
}

/// One verdict per architecture with an LR-curve pair.
pub fn verdicts(loaded: &Loaded) -> Vec<Verdict> {
    let all = curves(loaded);
    let pairs = pairs(&all);
    if pairs.is_empty() {
        return Vec::new();
    }
    let level = ALPHA / pairs.len() as f64;
    let margin = loaded.margins.final_loss;
    let rule = format!(
        "per pair of LR curves (>= 5 peak rates) of one arch that differ only in warmup: d = S(no warmup) - S(warmup), S = E_eta[min(loss(eta), loss at init) - best] (Wortsman et al. 2023), seed bootstrap ({RESAMPLES} resamples) with one-sided percentile bounds at {ALPHA}/{} (Bonferroni over the pairs); some pair's lower bound > 0 -> holds; every pair's upper bound < {margin} nats (the study's final-loss margin) -> does not hold; else inconclusive",
        pairs.len()
    );
    let mut archs = Vec::new();
    for arch in pairs.iter().filter_map(|(n, _)| n.arms[0].arch()) {
        if !archs.contains(&arch) {
            archs.push(arch);
        }
    }
    archs
        .into_iter()
        .map(|arch| {
            let (mut holds, mut within) = (false, true);
            let (mut evidence, mut effects) = (Vec::new(), Vec::new());
            for (none, warm) in pairs.iter().filter(|(n, _)| n.arms[0].arch() == Some(arch)) {
                let mut draws = difference_draws(none, warm);
                let (lo, hi) = (
                    quantile(&mut draws, level),
                    quantile(&mut draws, 1.0 - level),
                );
                holds |= lo > 0.0;
                within &= hi < margin;
                let loo = leave_one_rate_out(none, warm, level, lo > 0.0);
                evidence.push(format!(
                    "{}: S = {:.4} [{:.4}, {:.4}] vs {}: S = {:.4} [{:.4}, {:.4}]",
                    none.label,
                    none.sensitivity,
                    none.interval.0,
                    none.interval.1,
                    warm.label,
                    warm.sensitivity,
                    warm.interval.0,
                    warm.interval.1
                ));
                evidence.push(loo);
                effects.push(format!(
                    "{} vs {}: d = {:+.4} [{lo:+.4}, {hi:+.4}] (one-sided bounds at the verdict's level {level:.4})",
                    none.label,
                    warm.label,
                    none.sensitivity - warm.sensitivity
                ));
            }
            let outcome = if holds {
                Outcome::Holds
            } else if within {
                Outcome::DoesNotHold
            } else {
                Outcome::Inconclusive
            };
            let claim = format!("L {} warmup lowers the LR sensitivity", arch.name());
            verdict_with_effect(&claim, outcome, &rule, evidence, effects)
        })
        .collect()
}
