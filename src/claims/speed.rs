//! Claim 3: Pre-LN without warmup reaches a given validation loss in fewer updates than Post-LN
//! with warmup. Updates-to-loss per seed at a ladder of loss levels, one-sided Mann–Whitney each
//! way; "does not hold" is itself a significant difference (Post-LN faster), never the absence
//! of one, so it needs no margin. The effect: the Hodges–Lehmann shift of the updates.

use super::{
    grid_of_arch, inconclusive, no_warmup, partition, peak, verdict_with_effect, ALPHA,
    CLAIM3_LEVELS, CLAIM3_TOP_MARGIN, WARMUP_KEYS,
};
use crate::analysis::{loss_levels, Group, Loaded};
use crate::config::Arch;
use crate::stats::margins::{hodges_lehmann, shift_lower, shift_upper};
use crate::stats::rank::{mann_whitney_less, MedianInterval};
use crate::verdict::{Outcome, Verdict};

/// The Post-LN warmup arm fastest to `level` (smallest median updates, then fewest failures).
fn fastest_post<'a>(post: &[&'a Group], level: f64) -> Option<&'a Group> {
    post.iter().copied().min_by(|a, b| {
        let m = |g: &Group| MedianInterval::of(&g.updates_to(level)).median;
        m(a).total_cmp(&m(b))
            .then(a.failures().k.cmp(&b.failures().k))
    })
}

/// Per set of arms (a peak lr, and a value of any other axis): Pre-LN without warmup and the
/// Post-LN warmup arms.
pub(super) fn claim3_sets(loaded: &Loaded) -> Vec<(&Group, Vec<&Group>)> {
    let mut grid = grid_of_arch(loaded, Arch::PreLn);
    grid.extend(grid_of_arch(loaded, Arch::PostLn));
    let mut free = WARMUP_KEYS.to_vec();
    free.push("model.arch");
    partition(&grid, &free)
        .into_iter()
        .filter_map(|set| {
            let pre = set
                .iter()
                .copied()
                .find(|g| g.arch() == Some(Arch::PreLn) && no_warmup(g))?;
            let post: Vec<&Group> = set
                .into_iter()
                .filter(|g| g.arch() == Some(Arch::PostLn) && !no_warmup(g))
                .collect();
            (!post.is_empty()).then_some((pre, post))
        })
        .collect()
}

/// `lr 0.001 at 2.410: updates Pre-LN - Post-LN -120 [-200, -40]` (the Hodges–Lehmann shift of
/// the updates to the middle level, with its one-sided 95% bounds).
fn updates_effect(lr: f64, level: f64, pre: &[f64], post: &[f64]) -> String {
    let f = |x: Option<f64>| x.map_or("none".into(), |v| format!("{v:+.0}"));
    format!(
        "lr {lr} at {level:.3}: updates Pre-LN - Post-LN {} [{}, {}]",
        f(Some(hodges_lehmann(pre, post))),
        f(shift_lower(pre, post, ALPHA)),
        f(shift_upper(pre, post, ALPHA))
    )
}

pub(super) const CLAIM: &str =
    "3 Pre-LN without warmup reaches a given val loss in fewer updates than Post-LN with warmup";

pub(super) fn claim3(loaded: &Loaded) -> Verdict {
    let claim = CLAIM;
    let pairs = claim3_sets(loaded);
    let level_p = ALPHA / pairs.len().max(1) as f64;
    let rule = format!(
        "at each peak lr (and value of any other axis), {CLAIM3_LEVELS} loss levels from the unigram entropy - {CLAIM3_TOP_MARGIN} down to the worse of (Pre-LN without warmup, the best Post-LN warmup arm)'s median best val loss; at each level, updates to reach it per seed (never = worst) of Pre-LN without warmup vs the Post-LN warmup arm fastest to that level, one-sided Mann-Whitney U test each way at p < {ALPHA}/{} (Bonferroni over the peak lrs); faster at >= half of the levels and slower at none, at some lr and reversed at no lr -> holds; the mirror image (Post-LN significantly faster: evidence, not an absence of it) -> does not hold; else inconclusive; effect: the Hodges-Lehmann shift of the updates to the middle level (a seed that never reaches it ranks last), with its one-sided 95% lower and upper bounds",
        pairs.len().max(1)
    );
    if pairs.is_empty() {
        return inconclusive(
            claim,
            &rule,
            "the study has no pair of Pre-LN without warmup and Post-LN with warmup at one peak lr",
        );
    }
    let entropy = loaded.unigram_entropy();
    let (mut faster_lr, mut slower_lr) = (false, false);
    let (mut evidence, mut effects) = (Vec::new(), Vec::new());
    for (a, post_at) in pairs {
        let lr = peak(a);
        let best_post = post_at
            .iter()
            .map(|g| g.median_best())
            .fold(f64::INFINITY, f64::min);
        let ls = loss_levels(
            entropy - CLAIM3_TOP_MARGIN,
            a.median_best().max(best_post),
            CLAIM3_LEVELS,
        );
        if ls.is_empty() {
            evidence.push(format!(
                "lr {lr}: no level below the entropy - {CLAIM3_TOP_MARGIN} that both reach in half their seeds"
            ));
            continue;
        }
        let (mut faster, mut slower, mut detail) = (0, 0, Vec::new());
        let middle = ls[ls.len() / 2];
        for level in &ls {
            let Some(b) = fastest_post(&post_at, *level) else {
                continue;
            };
            let (ua, ub) = (a.updates_to(*level), b.updates_to(*level));
            let (p_fast, p_slow) = (mann_whitney_less(&ua, &ub), mann_whitney_less(&ub, &ua));
            if *level == middle {
                effects.push(updates_effect(lr, middle, &ua, &ub));
            }
            faster += usize::from(p_fast < level_p);
            slower += usize::from(p_slow < level_p);
            detail.push(format!(
                "{level:.3}: {} vs {} ({}) p = {p_fast:.4}",
                MedianInterval::of(&ua).fmt(0),
                MedianInterval::of(&ub).fmt(0),
                b.label()
            ));
        }
        faster_lr |= 2 * faster >= ls.len() && slower == 0;
        slower_lr |= 2 * slower >= ls.len() && faster == 0;
        evidence.push(format!(
            "{}: faster at {faster}/{n}, slower at {slower}/{n} levels [level: median updates Pre-LN vs Post-LN (arm), one-sided p: {}]",
            a.label(),
            detail.join(", "),
            n = ls.len()
        ));
    }
    let outcome = match (faster_lr, slower_lr) {
        (true, false) => Outcome::Holds,
        (false, true) => Outcome::DoesNotHold,
        _ => Outcome::Inconclusive,
    };
    verdict_with_effect(claim, outcome, &rule, evidence, effects)
}
