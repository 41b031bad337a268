//! Claim 2 (Post-LN needs warmup, 2a; with 2b and 2c from `sensitivity`), the rescues of 2d
//! (other warmup kinds, RAdam) and, for a study of the normalization lineage, "W <arch> needs
//! warmup". "Needs warmup" holds on a significant excess of failures without warmup; its
//! negative needs the failure rate and the final loss without warmup bounded within the margins.

use super::evidence::{
    checks_text, effect, loss_at_most, positive_out_of_reach, rate_at_most,
    rate_difference_at_most, seeds_text, Check, EFFECT_NOTE,
};
use super::sensitivity::{sensitivity, Axis};
use super::{
    describe, grid_of_arch, inconclusive, is_grid_arm, no_warmup, partition, peak, verdict,
    verdict_with_effect, ALPHA, WARMUP_KEYS,
};
use crate::analysis::{Group, Loaded};
use crate::config::Arch;
use crate::stats::binomial::fisher_greater;
use crate::stats::rank::MedianInterval;
use crate::study::Margins;
use crate::verdict::{Outcome, Verdict};

pub(super) fn claim2(loaded: &Loaded) -> Vec<Verdict> {
    let post = grid_of_arch(loaded, Arch::PostLn);
    let needs = needs_warmup(&post, &loaded.margins);
    let length = sensitivity(&post, Axis::WarmupLength, &loaded.margins);
    let lr = sensitivity(&post, Axis::PeakLr, &loaded.margins);
    let overall = verdict(
        "2 Post-LN needs warmup and is sensitive to its length and to the peak lr",
        Outcome::all([needs.outcome, length.outcome, lr.outcome]),
        "2a, 2b and 2c all hold -> holds; any does not hold -> does not hold; else inconclusive",
        [&needs, &length, &lr]
            .iter()
            .map(|v| format!("{}: {}", &v.claim[..2], v.outcome.name()))
            .collect(),
    );
    let mut out = vec![overall, needs, length, lr];
    out.extend(rescues(loaded, &post));
    out
}

/// The warmup arm that fails least (then: lowest median final loss).
fn best_warmup_arm<'a>(groups: &[&'a Group]) -> Option<&'a Group> {
    groups
        .iter()
        .copied()
        .filter(|g| !no_warmup(g))
        .min_by(|a, b| {
            let key = |g: &Group| (g.failures().k, MedianInterval::of(&g.final_losses()).median);
            let (ka, kb) = (key(a), key(b));
            ka.0.cmp(&kb.0).then(ka.1.total_cmp(&kb.1))
        })
}

/// (peak lr, the arm without warmup, the warmup arm that fails least).
pub(super) type WarmupPair<'a> = (f64, &'a Group, &'a Group);

/// The warmup pair of each set of arms that differ only in their warmup.
pub(super) fn warmup_pairs<'a>(groups: &[&'a Group]) -> Vec<WarmupPair<'a>> {
    partition(groups, &WARMUP_KEYS)
        .into_iter()
        .filter_map(|set| {
            let none = set.iter().copied().find(|g| no_warmup(g))?;
            Some((peak(none), none, best_warmup_arm(&set)?))
        })
        .collect()
}

/// The negative rule shared by 2a and "W", written out once.
fn negative_rule(margins: &Margins) -> String {
    format!(
        "does not hold (does not need warmup) only with evidence at every pair: the exact one-sided 95% upper bound of the failure rate without warmup (which bounds its excess over warmup too) < {} and the one-sided 95% upper bound of the final-loss shift without - with warmup (Hodges-Lehmann, exact Mann-Whitney; a failed run ranks worst) < {} nats (the study's margins; an intersection-union test, no correction); else inconclusive, with the seeds per arm that would settle it; {EFFECT_NOTE}",
        margins.failure_rate, margins.final_loss
    )
}

/// The rule of 2a and of each variant's "needs warmup", at significance `level` per pair:
/// some pair's one-sided Fisher p < level -> holds; at every pair the failure rate and final
/// loss without warmup bounded within the margins -> does not hold; else inconclusive.
fn judge_warmup_pairs(
    pairs: &[WarmupPair],
    level: f64,
    margins: &Margins,
) -> (Outcome, Vec<String>, Vec<String>) {
    let mut holds = false;
    let (mut evidence, mut effects, mut checks) = (Vec::new(), Vec::new(), Vec::new());
    let mut positive_reach = Vec::new();
    for &(lr, none, best) in pairs {
        let p = fisher_greater(none.failures(), best.failures());
        holds |= p < level;
        let pair_checks = [
            rate_at_most(none, margins),
            loss_at_most(none, best, margins),
        ];
        evidence.push(format!(
            "lr {lr}: {} vs {}: Fisher p = {p:.4}; negative: {}",
            describe(none),
            describe(best),
            checks_text(&pair_checks)
        ));
        effects.push(format!("lr {lr}: {}", effect(none, best)));
        checks.extend(pair_checks);
        positive_reach.extend(positive_out_of_reach(
            none.runs.len(),
            best.runs.len(),
            level,
            false,
        ));
    }
    let (negative, seeds) = Check::all(&checks);
    let outcome = if holds {
        Outcome::Holds
    } else if negative {
        Outcome::DoesNotHold
    } else {
        evidence.push(seeds_text(seeds));
        evidence.extend(positive_reach.into_iter().take(1));
        Outcome::Inconclusive
    };
    (outcome, evidence, effects)
}

fn needs_warmup(post: &[&Group], margins: &Margins) -> Verdict {
    let claim = "2a Post-LN needs warmup";
    let pairs = warmup_pairs(post);
    let level = ALPHA / pairs.len().max(1) as f64;
    let rule = format!(
        "at each peak lr (and value of any other axis), Post-LN without warmup vs the Post-LN warmup arm that fails least: one-sided Fisher exact test on the failure counts (stalled + diverged); p < {ALPHA}/{} (Bonferroni over the pairs) for some pair -> holds; {}",
        pairs.len().max(1),
        negative_rule(margins)
    );
    if pairs.is_empty() {
        return inconclusive(
            claim,
            &rule,
            "the study has no Post-LN pair (warmup 0 and warmup > 0 at one peak lr)",
        );
    }
    let (outcome, evidence, effects) = judge_warmup_pairs(&pairs, level, margins);
    verdict_with_effect(claim, outcome, &rule, evidence, effects)
}

/// The architectures of a lineage study with grid arms (none when the study has only Post-LN
/// and Pre-LN: the paper's claims cover those).
pub(super) fn lineage_archs(loaded: &Loaded) -> Vec<Arch> {
    let archs: Vec<Arch> = Arch::ALL
        .into_iter()
        .filter(|a| !grid_of_arch(loaded, *a).is_empty())
        .collect();
    if archs
        .iter()
        .all(|a| matches!(a, Arch::PostLn | Arch::PreLn))
    {
        return Vec::new();
    }
    archs
}

/// "Which variants need warmup": for a study of the normalization lineage (any architecture
/// beyond Post-LN and Pre-LN), one verdict per architecture with the rule of 2a, Bonferroni
/// over every pair of every architecture. "Holds" reads "needs warmup".
pub fn variants_need_warmup(loaded: &Loaded) -> Vec<Verdict> {
    let pairs: Vec<(Arch, Vec<WarmupPair>)> = lineage_archs(loaded)
        .into_iter()
        .map(|a| (a, warmup_pairs(&grid_of_arch(loaded, a))))
        .collect();
    let total: usize = pairs.iter().map(|(_, p)| p.len()).sum();
    let level = ALPHA / total.max(1) as f64;
    let rule = format!(
        "at each peak lr, this architecture without warmup vs its warmup arm that fails least: one-sided Fisher exact test on the failure counts; p < {ALPHA}/{} (Bonferroni over every pair of every architecture) for some lr -> needs warmup (holds); {}",
        total.max(1),
        negative_rule(&loaded.margins)
    );
    pairs
        .into_iter()
        .map(|(arch, arch_pairs)| {
            let claim = format!("W {} needs warmup", arch.name());
            if arch_pairs.is_empty() {
                return inconclusive(&claim, &rule, "no pair of arms with and without warmup");
            }
            let (outcome, evidence, effects) =
                judge_warmup_pairs(&arch_pairs, level, &loaded.margins);
            verdict_with_effect(&claim, outcome, &rule, evidence, effects)
        })
        .collect()
}

/// Each extra Post-LN arm (another warmup kind, or RAdam) with the Post-LN arm without warmup
/// at the same peak lr (and other axes).
pub(super) fn rescue_pairs<'a>(
    loaded: &'a Loaded,
    post_grid: &[&'a Group],
) -> Vec<(&'a Group, &'a Group)> {
    let mut free = WARMUP_KEYS.to_vec();
    free.push("optim.kind");
    free.extend(super::interventions::substitute_keys());
    loaded
        .groups
        .iter()
        .filter(|g| g.arch() == Some(Arch::PostLn) && !is_grid_arm(g))
        .filter_map(|arm| {
            let mut pool: Vec<&Group> =
                post_grid.iter().copied().filter(|g| no_warmup(g)).collect();
            pool.push(arm);
            let none = partition(&pool, &free)
                .into_iter()
                .find(|set| set.iter().any(|g| std::ptr::eq(*g, arm)))?
                .into_iter()
                .find(|g| !std::ptr::eq(*g, arm))?;
            Some((arm, none))
        })
        .collect()
}

/// 2d: does each extra Post-LN arm fail less often than Post-LN without warmup?
fn rescues(loaded: &Loaded, post_grid: &[&Group]) -> Vec<Verdict> {
    let margins = &loaded.margins;
    let rule = format!("one-sided Fisher exact test that Post-LN without warmup (Adam) fails more often than the arm: p < {ALPHA} -> holds; the one-sided 95% upper bound of the failures it removes (rate without warmup - rate of the arm; exact) < {} (the study's margin) -> does not hold; else inconclusive; {EFFECT_NOTE}", margins.failure_rate);
    rescue_pairs(loaded, post_grid)
        .into_iter()
        .map(|(arm, none)| {
            let claim = format!("2d {} rescues Post-LN at lr {}", arm.label(), peak(arm));
            let p = fisher_greater(none.failures(), arm.failures());
            let check = rate_difference_at_most(none, arm, margins);
            let mut evidence = vec![format!(
                "{} vs {}: Fisher p = {p:.4}; negative: {}",
                describe(arm),
                describe(none),
                check.text
            )];
            let outcome = if p < ALPHA {
                Outcome::Holds
            } else if check.passed {
                Outcome::DoesNotHold
            } else {
                evidence.push(seeds_text(check.seeds));
                evidence.extend(positive_out_of_reach(
                    none.runs.len(),
                    arm.runs.len(),
                    ALPHA,
                    false,
                ));
                Outcome::Inconclusive
            };
            verdict_with_effect(&claim, outcome, &rule, evidence, vec![effect(arm, none)])
        })
        .collect()
}
