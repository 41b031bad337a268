//! Effect sizes and the evidence for a negative (issue 23). Every compared pair of arms gets its
//! differences with bounds, not only p-values: the difference in failure rates (exact Clopper–
//! Pearson bounds joined by Bonferroni) and the Hodges–Lehmann shift of the final loss (exact
//! Mann–Whitney bounds). A negative verdict needs those bounds inside the study's margins
//! (`Margins`); a bound outside them leaves the verdict inconclusive, with the seeds per arm
//! that would settle it at the effects seen.

use super::ALPHA;
use crate::analysis::Group;
use crate::stats::margins::{
    hodges_lehmann, rate_difference_upper, rate_upper, runs_needed_at_rate,
    runs_needed_for_difference, seeds_for_shift, shift_lower, shift_upper,
};
use crate::study::Margins;

/// The convention of every bracket `effect` prints, stated once per rule.
pub const EFFECT_NOTE: &str = "effects a - b: difference in failure rates and Hodges-Lehmann shift of the final loss (nats), each with its one-sided 95% lower and upper bound [lo, hi] (together a 90% interval; exact: Clopper-Pearson joined by Bonferroni, Mann-Whitney)";

fn signed(x: f64, precision: usize) -> String {
    if x.is_infinite() {
        if x > 0.0 { "+inf" } else { "-inf" }.to_string()
    } else {
        format!("{x:+.precision$}")
    }
}

fn bound(x: Option<f64>, precision: usize) -> String {
    x.map_or("none".into(), |v| signed(v, precision))
}

/// `a vs b: failure rate +0.83 [+0.35, +1.00], final loss +0.951 [+0.902, +1.104]`.
pub fn effect(a: &Group, b: &Group) -> String {
    let (fa, fb) = (a.failures(), b.failures());
    let rate = fa.fraction() - fb.fraction();
    let rate_hi = rate_difference_upper((fa.k, fa.n), (fb.k, fb.n), ALPHA);
    let rate_lo = -rate_difference_upper((fb.k, fb.n), (fa.k, fa.n), ALPHA);
    let (la, lb) = (a.final_losses(), b.final_losses());
    format!(
        "{} vs {}: failure rate {} [{}, {}], final loss {} [{}, {}]",
        a.label(),
        b.label(),
        signed(rate, 2),
        signed(rate_lo, 2),
        signed(rate_hi, 2),
        signed(hodges_lehmann(&la, &lb), 3),
        bound(shift_lower(&la, &lb, ALPHA), 3),
        bound(shift_upper(&la, &lb, ALPHA), 3),
    )
}

/// One bound checked against a margin: passed, what was seen, and the seeds per arm that would
/// pass it at the effect seen (None: not at any number of seeds, the effect is beyond the margin).
#[derive(Debug, Clone)]
pub struct Check {
    pub passed: bool,
    pub text: String,
    pub seeds: Option<usize>,
}

impl Check {
    /// All of `checks` passed; the seeds that would pass them all.
    pub fn all(checks: &[Check]) -> (bool, Option<usize>) {
        let passed = checks.iter().all(|c| c.passed);
        let seeds = checks
            .iter()
            .map(|c| c.seeds)
            .try_fold(0, |most, s| s.map(|s| most.max(s)));
        (passed, seeds)
    }
}

/// Pooled seed-to-seed standard deviation of two arms' finite final losses (NaN with fewer
/// than two finite values in each).
pub(super) fn pooled_sd(a: &[f64], b: &[f64]) -> f64 {
    let finite = |v: &[f64]| {
        v.iter()
            .copied()
            .filter(|x| x.is_finite())
            .collect::<Vec<_>>()
    };
    let (a, b) = (finite(a), finite(b));
    if a.len() < 2 || b.len() < 2 {
        return f64::NAN;
    }
    let ss = |v: &[f64]| {
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        v.iter().map(|x| (x - mean).powi(2)).sum::<f64>()
    };
    ((ss(&a) + ss(&b)) / (a.len() + b.len() - 2) as f64).sqrt()
}

/// "Arm `a` fails at most `margin` more often": a's failure rate's exact upper bound (which
/// bounds a's excess over any b as well) below the margin.
pub fn rate_at_most(a: &Group, margins: &Margins) -> Check {
    let f = a.failures();
    let up = rate_upper(f.k, f.n, ALPHA);
    let passed = up < margins.failure_rate;
    Check {
        passed,
        text: format!(
            "failure rate of {}: upper bound {up:.2} {} margin {}",
            a.label(),
            if passed { "<" } else { ">=" },
            margins.failure_rate
        ),
        seeds: runs_needed_at_rate(f.k, f.n, margins.failure_rate, ALPHA),
    }
}

/// "a fails at most `margin` more often than b": the upper bound of the rate difference a − b.
pub fn rate_difference_at_most(a: &Group, b: &Group, margins: &Margins) -> Check {
    let (fa, fb) = (a.failures(), b.failures());
    let up = rate_difference_upper((fa.k, fa.n), (fb.k, fb.n), ALPHA);
    let passed = up < margins.failure_rate;
    Check {
        passed,
        text: format!(
            "failure rate {} - {}: upper bound {} {} margin {}",
            a.label(),
            b.label(),
            signed(up, 2),
            if passed { "<" } else { ">=" },
            margins.failure_rate
        ),
        seeds: runs_needed_for_difference(
            fa.fraction(),
            fb.fraction(),
            margins.failure_rate,
            ALPHA,
        ),
    }
}

/// "a's final loss is at most `margin` nats worse than b's": the upper bound of the shift a − b.
pub fn loss_at_most(a: &Group, b: &Group, margins: &Margins) -> Check {
    let (la, lb) = (a.final_losses(), b.final_losses());
    let up = shift_upper(&la, &lb, ALPHA);
    let shift = hodges_lehmann(&la, &lb);
    let passed = up.is_some_and(|u| u < margins.final_loss);
    let versus = match up {
        None => format!("no bound at {} vs {} seeds, margin", la.len(), lb.len()),
        Some(u) => format!(
            "upper bound {} {} margin",
            signed(u, 3),
            if passed { "<" } else { ">=" }
        ),
    };
    Check {
        passed,
        text: format!(
            "final loss {} - {}: {versus} {} nats",
            a.label(),
            b.label(),
            margins.final_loss
        ),
        seeds: seeds_for_shift(shift, pooled_sd(&la, &lb), margins.final_loss, ALPHA),
    }
}

/// "a and b differ by less than the margins", both ways (two one-sided bounds each).
pub fn equivalent(a: &Group, b: &Group, margins: &Margins) -> Vec<Check> {
    vec![
        rate_difference_at_most(a, b, margins),
        rate_difference_at_most(b, a, margins),
        loss_at_most(a, b, margins),
        loss_at_most(b, a, margins),
    ]
}

/// `the negative is out of reach at the effects seen` / `>= 11 seeds per arm would settle it`.
pub fn seeds_text(seeds: Option<usize>) -> String {
    match seeds {
        Some(n) => format!(
            "a negative needs >= {n} seeds per arm at the effects seen (failure rates; loss spread, 80% power)"
        ),
        None => "a negative is out of reach at the effects seen (a difference beyond the margin)"
            .into(),
    }
}

/// The checks' texts, `, `-joined.
pub fn checks_text(checks: &[Check]) -> String {
    checks
        .iter()
        .map(|c| c.text.clone())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The smallest p an exact test of arms of `n_a` and `n_b` runs can give (doubled when
/// two-sided), capped at 1.
pub fn best_p(n_a: usize, n_b: usize, two_sided: bool) -> f64 {
    let one = crate::stats::margins::best_one_sided_p(n_a, n_b);
    if two_sided {
        (2.0 * one).min(1.0)
    } else {
        one
    }
}

/// When no outcome of `n_a` vs `n_b` runs could pass `p < level`: says so, with the seeds per
/// arm that could.
pub fn positive_out_of_reach(
    n_a: usize,
    n_b: usize,
    level: f64,
    two_sided: bool,
) -> Option<String> {
    let best = best_p(n_a, n_b, two_sided);
    (best >= level).then(|| {
        let one_sided_level = if two_sided { level / 2.0 } else { level };
        // Strictly below the level: the smallest n whose best p is < level.
        let seeds = crate::stats::margins::seeds_for_level(one_sided_level * (1.0 - 1e-12));
        format!(
            "a positive is out of reach at {n_a} vs {n_b} seeds (best p = {best:.4} >= {level:.4}); {seeds} seeds per arm could reach it"
        )
    })
}
