//! 2b and 2c: is Post-LN sensitive to the warmup length, to the peak learning rate? Holds on a
//! significant difference between two arms that differ only in that axis; its negative
//! (insensitive) needs every such pair equivalent within the study's margins, both ways.

use super::evidence::{
    checks_text, effect, equivalent, positive_out_of_reach, seeds_text, Check, EFFECT_NOTE,
};
use super::{
    describe, inconclusive, no_warmup, partition, verdict_with_effect, ALPHA, WARMUP_KEYS,
};
use crate::analysis::Group;
use crate::stats::binomial::fisher_two_sided;
use crate::stats::rank::mann_whitney_less;
use crate::study::Margins;
use crate::verdict::{Outcome, Verdict};

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Axis {
    WarmupLength,
    PeakLr,
}

/// Sets of Post-LN arms that differ only in `axis` (warmup lengths at one lr, or lrs at one
/// warmup). For the length, the no-warmup arm joins only when a single length > 0 exists (2a
/// already compares none with warmup).
fn sets<'a>(post: &[&'a Group], axis: Axis) -> Vec<Vec<&'a Group>> {
    let free: &[&str] = match axis {
        Axis::WarmupLength => &WARMUP_KEYS,
        Axis::PeakLr => &["schedule.peak_lr"],
    };
    partition(post, free)
        .into_iter()
        .map(|mut set| {
            if axis == Axis::WarmupLength && set.iter().filter(|g| !no_warmup(g)).count() >= 2 {
                set.retain(|g| !no_warmup(g));
            }
            set
        })
        .collect()
}

/// Every pair of Post-LN arms that differ only in `axis`.
pub(super) fn axis_pairs<'a>(post: &[&'a Group], axis: Axis) -> Vec<(&'a Group, &'a Group)> {
    sets(post, axis)
        .into_iter()
        .flat_map(|set| {
            (0..set.len())
                .flat_map(|i| (i + 1..set.len()).map(move |j| (i, j)))
                .map(|(i, j)| (set[i], set[j]))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Two-sided p-values of a pair: Fisher on failures, Mann–Whitney on final losses.
fn pair_tests(a: &Group, b: &Group) -> (f64, f64) {
    let fisher = fisher_two_sided(a.failures(), b.failures());
    let (fa, fb) = (a.final_losses(), b.final_losses());
    let rank = (2.0 * mann_whitney_less(&fa, &fb).min(mann_whitney_less(&fb, &fa))).min(1.0);
    (fisher, rank)
}

pub(super) fn claim_of(axis: Axis) -> &'static str {
    match axis {
        Axis::WarmupLength => "2b Post-LN is sensitive to the warmup length",
        Axis::PeakLr => "2c Post-LN is sensitive to the peak learning rate",
    }
}

/// Does some pair of Post-LN arms differing only in `axis` differ in failures or final loss?
pub(super) fn sensitivity(post: &[&Group], axis: Axis, margins: &Margins) -> Verdict {
    let claim = claim_of(axis);
    let pairs = axis_pairs(post, axis);
    let tests = 2 * pairs.len().max(1);
    let level = ALPHA / tests as f64;
    let rule = format!(
        "every pair of Post-LN arms that differ only in {}: two-sided Fisher exact test on failures and two-sided Mann-Whitney U test on final losses; some p < {ALPHA}/{tests} (Bonferroni over all {tests} tests) -> holds; every pair equivalent within the study's margins (the one-sided 95% upper bounds of the failure-rate difference both ways < {}, of the final-loss shift both ways < {} nats; two one-sided tests per pair, no correction) -> does not hold (insensitive); else inconclusive; {EFFECT_NOTE}",
        match axis {
            Axis::WarmupLength => "the warmup length (at one peak lr)",
            Axis::PeakLr => "the peak lr (at one warmup length)",
        },
        margins.failure_rate,
        margins.final_loss
    );
    if pairs.is_empty() {
        return inconclusive(
            claim,
            &rule,
            "the study has no Post-LN configurations that differ only in this axis",
        );
    }
    let mut separable = false;
    let (mut evidence, mut effects, mut checks) = (Vec::new(), Vec::new(), Vec::new());
    let mut positive_reach = Vec::new();
    for (a, b) in &pairs {
        let (fisher, rank) = pair_tests(a, b);
        separable |= fisher < level || rank < level;
        let pair_checks = equivalent(a, b, margins);
        evidence.push(format!(
            "{} vs {}: Fisher p = {fisher:.4}, Mann-Whitney p = {rank:.4}; negative: {}",
            describe(a),
            describe(b),
            checks_text(&pair_checks)
        ));
        effects.push(effect(a, b));
        checks.extend(pair_checks);
        positive_reach.extend(positive_out_of_reach(
            a.runs.len(),
            b.runs.len(),
            level,
            true,
        ));
    }
    let (insensitive, seeds) = Check::all(&checks);
    let outcome = if separable {
        Outcome::Holds
    } else if insensitive {
        Outcome::DoesNotHold
    } else {
        evidence.push(seeds_text(seeds));
        evidence.extend(positive_reach.into_iter().take(1));
        Outcome::Inconclusive
    };
    verdict_with_effect(claim, outcome, &rule, evidence, effects)
}
