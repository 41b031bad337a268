//! `lnwarm claims`: verdicts on the paper's three claims from a study's results (and a grad-init
//! JSON for claim 1). Training outcomes are bimodal (a seed trains or it stalls), so the rules use
//! exact and rank tests, never means: failure rates with Fisher's exact test, final losses and
//! updates-to-loss with the Mann–Whitney U test (a diverged run or a never-reached loss ranks
//! worst). Tests over several peak rates or pairs are Bonferroni-corrected; every verdict states
//! its rule. The grid arms are Adam with a linear warmup (or none); `extra` arms (other warmup
//! kinds, RAdam) are judged separately in 2d.

use crate::compare::{loss_levels, Group, Loaded};
use crate::config::{Arch, OptimizerKind};
use crate::grad_init::GradInitResult;
use crate::schedule::WarmupKind;
use crate::stats::binomial::{fisher_greater, fisher_two_sided};
use crate::stats::rank::{mann_whitney_less, MedianInterval};
use crate::verdict::{Outcome, Verdict};

/// Significance level of every test, before the Bonferroni correction.
pub const ALPHA: f64 = 0.05;

/// How many loss levels claim 3's updates-to-loss curve is tested at.
pub const CLAIM3_LEVELS: usize = 10;

/// Claim 3's levels start this far below the unigram entropy (a model clearly using context).
pub const CLAIM3_TOP_MARGIN: f64 = 0.3;

fn warmup(g: &Group) -> u64 {
    g.runs[0].config.schedule.warmup.steps
}

/// No warmup: 0 steps, or 1 (the paper's T_warmup = 1 "no warm-up" runs).
fn no_warmup(g: &Group) -> bool {
    warmup(g) <= 1
}

fn peak(g: &Group) -> f64 {
    g.runs[0].config.schedule.peak_lr
}

/// A grid arm: Adam with a linear warmup or none (the paper's setting).
fn is_grid_arm(g: &Group) -> bool {
    let c = &g.runs[0].config;
    c.optim.kind == OptimizerKind::Adam
        && matches!(
            c.schedule.warmup.kind,
            WarmupKind::None | WarmupKind::Linear
        )
}

fn grid_of_arch(loaded: &Loaded, arch: Arch) -> Vec<&Group> {
    loaded
        .groups
        .iter()
        .filter(|g| g.arch() == Some(arch) && is_grid_arm(g))
        .collect()
}

/// The warmup keys: arms that differ only in these differ only in their warmup.
const WARMUP_KEYS: [&str; 3] = [
    "schedule.warmup.steps",
    "schedule.warmup.kind",
    "schedule.warmup.start_factor",
];

/// Partition `groups` into sets that agree on every study axis except `free` (so the members
/// of a set differ only in those), in the study's order.
fn partition<'a>(groups: &[&'a Group], free: &[&str]) -> Vec<Vec<&'a Group>> {
    let key = |g: &Group| {
        g.axes
            .iter()
            .filter(|(k, _)| !free.contains(&k.as_str()))
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut sets: Vec<(String, Vec<&Group>)> = Vec::new();
    for g in groups {
        let k = key(g);
        match sets.iter_mut().find(|(key, _)| *key == k) {
            Some((_, set)) => set.push(g),
            None => sets.push((k, vec![g])),
        }
    }
    sets.into_iter().map(|(_, set)| set).collect()
}

/// `post-ln w=0 lr=0.003: failed 5/5 [0.48, 1.00], final 3.05 [3.04, 3.07]`.
fn describe(g: &Group) -> String {
    format!(
        "{}: failed {}, final {}",
        g.label(),
        g.failures().fmt(),
        MedianInterval::of(&g.final_losses()).fmt(3)
    )
}

fn verdict(claim: &str, outcome: Outcome, rule: &str, evidence: Vec<String>) -> Verdict {
    Verdict {
        claim: claim.into(),
        outcome,
        rule: rule.into(),
        evidence: evidence.join("; "),
    }
}

fn inconclusive(claim: &str, rule: &str, why: &str) -> Verdict {
    verdict(claim, Outcome::Inconclusive, rule, vec![why.into()])
}

/// All verdicts: claim 1 (from grad-init, if given), 2, 2a-2d and 3, and for a study of the
/// normalization lineage, "W <arch> needs warmup" per architecture.
pub fn verdicts(loaded: &Loaded, grad_init: Option<&GradInitResult>) -> Vec<Verdict> {
    let mut out = claim1(grad_init);
    out.extend(claim2(loaded));
    out.push(claim3(loaded));
    out.extend(variants_need_warmup(loaded));
    out
}

fn claim1(grad_init: Option<&GradInitResult>) -> Vec<Verdict> {
    let claim = "1 at init, Post-LN gradients grow with layer index, Pre-LN's are flat, the gap grows like sqrt(L)";
    let rule = "all sub-claims of lnwarm grad-init (1a, 1b, 1c) hold -> holds; any does not hold -> does not hold";
    let Some(gi) = grad_init else {
        return vec![inconclusive(
            claim,
            rule,
            "no grad-init JSON given (run lnwarm grad-init and pass its JSON)",
        )];
    };
    let subs: Vec<&Verdict> = gi
        .verdicts
        .iter()
        .filter(|v| v.claim.starts_with('1'))
        .collect();
    let outcome = Outcome::all(subs.iter().map(|v| v.outcome));
    let evidence = subs
        .iter()
        .map(|v| format!("{}: {}", v.claim, v.outcome.name()))
        .collect();
    let mut out = vec![verdict(claim, outcome, rule, evidence)];
    out.extend(gi.verdicts.iter().cloned());
    out
}

fn claim2(loaded: &Loaded) -> Vec<Verdict> {
    let post = grid_of_arch(loaded, Arch::PostLn);
    let needs = needs_warmup(&post);
    let length = sensitivity(&post, Axis::WarmupLength);
    let lr = sensitivity(&post, Axis::PeakLr);
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
type WarmupPair<'a> = (f64, &'a Group, &'a Group);

/// The warmup pair of each set of arms that differ only in their warmup.
fn warmup_pairs<'a>(groups: &[&'a Group]) -> Vec<WarmupPair<'a>> {
    partition(groups, &WARMUP_KEYS)
        .into_iter()
        .filter_map(|set| {
            let none = set.iter().copied().find(|g| no_warmup(g))?;
            Some((peak(none), none, best_warmup_arm(&set)?))
        })
        .collect()
}

/// The rule of 2a and of each variant's "needs warmup", at significance `level` per pair:
/// some pair's one-sided Fisher p < level -> holds; in every pair no run without warmup failed
/// and its final loss is not worse (one-sided Mann-Whitney p >= ALPHA) -> does not hold.
fn judge_warmup_pairs(pairs: &[WarmupPair], level: f64) -> (Outcome, Vec<String>) {
    let (mut holds, mut never_worse) = (false, true);
    let mut evidence = Vec::new();
    for &(lr, none, best) in pairs {
        let p = fisher_greater(none.failures(), best.failures());
        let p_loss = mann_whitney_less(&best.final_losses(), &none.final_losses());
        holds |= p < level;
        never_worse &= none.failures().k == 0 && p_loss >= ALPHA;
        evidence.push(format!(
            "lr {lr}: {} vs {}: Fisher p = {p:.4}, final-loss Mann-Whitney p = {p_loss:.4}",
            describe(none),
            describe(best)
        ));
    }
    let outcome = if holds {
        Outcome::Holds
    } else if never_worse {
        Outcome::DoesNotHold
    } else {
        Outcome::Inconclusive
    };
    (outcome, evidence)
}

fn needs_warmup(post: &[&Group]) -> Verdict {
    let claim = "2a Post-LN needs warmup";
    let pairs = warmup_pairs(post);
    let level = ALPHA / pairs.len().max(1) as f64;
    let rule = format!(
        "at each peak lr (and value of any other axis), Post-LN without warmup vs the Post-LN warmup arm that fails least: one-sided Fisher exact test on the failure counts (stalled + diverged); p < {ALPHA}/{} (Bonferroni over the pairs) for some pair -> holds; in every pair no run without warmup failed and its final loss is not worse (one-sided Mann-Whitney p >= {ALPHA}) -> does not hold; else inconclusive",
        pairs.len().max(1)
    );
    if pairs.is_empty() {
        return inconclusive(
            claim,
            &rule,
            "the study has no Post-LN pair (warmup 0 and warmup > 0 at one peak lr)",
        );
    }
    let (outcome, evidence) = judge_warmup_pairs(&pairs, level);
    verdict(claim, outcome, &rule, evidence)
}

/// "Which variants need warmup": for a study of the normalization lineage (any architecture
/// beyond Post-LN and Pre-LN), one verdict per architecture with the rule of 2a, Bonferroni
/// over every pair of every architecture. "Holds" reads "needs warmup".
pub fn variants_need_warmup(loaded: &Loaded) -> Vec<Verdict> {
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
    let pairs: Vec<(Arch, Vec<WarmupPair>)> = archs
        .iter()
        .map(|&a| (a, warmup_pairs(&grid_of_arch(loaded, a))))
        .collect();
    let total: usize = pairs.iter().map(|(_, p)| p.len()).sum();
    let level = ALPHA / total.max(1) as f64;
    let rule = format!(
        "at each peak lr, this architecture without warmup vs its warmup arm that fails least: one-sided Fisher exact test on the failure counts; p < {ALPHA}/{} (Bonferroni over every pair of every architecture) for some lr -> needs warmup (holds); at every lr no run without warmup failed and its final loss is not worse (one-sided Mann-Whitney p >= {ALPHA}) -> does not need it (does not hold); else inconclusive",
        total.max(1)
    );
    pairs
        .into_iter()
        .map(|(arch, arch_pairs)| {
            let claim = format!("W {} needs warmup", arch.name());
            if arch_pairs.is_empty() {
                return inconclusive(&claim, &rule, "no pair of arms with and without warmup");
            }
            let (outcome, evidence) = judge_warmup_pairs(&arch_pairs, level);
            verdict(&claim, outcome, &rule, evidence)
        })
        .collect()
}

#[derive(Clone, Copy, PartialEq)]
enum Axis {
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

/// Two-sided p-values of a pair: Fisher on failures, Mann–Whitney on final losses.
fn pair_tests(a: &Group, b: &Group) -> (f64, f64) {
    let fisher = fisher_two_sided(a.failures(), b.failures());
    let (fa, fb) = (a.final_losses(), b.final_losses());
    let rank = (2.0 * mann_whitney_less(&fa, &fb).min(mann_whitney_less(&fb, &fa))).min(1.0);
    (fisher, rank)
}

/// Does some pair of Post-LN arms differing only in `axis` differ in failures or final loss?
fn sensitivity(post: &[&Group], axis: Axis) -> Verdict {
    let claim = match axis {
        Axis::WarmupLength => "2b Post-LN is sensitive to the warmup length",
        Axis::PeakLr => "2c Post-LN is sensitive to the peak learning rate",
    };
    let pairs: Vec<(&Group, &Group)> = sets(post, axis)
        .into_iter()
        .flat_map(|set| {
            (0..set.len())
                .flat_map(|i| (i + 1..set.len()).map(move |j| (i, j)))
                .map(|(i, j)| (set[i], set[j]))
                .collect::<Vec<_>>()
        })
        .collect();
    let tests = 2 * pairs.len().max(1);
    let level = ALPHA / tests as f64;
    let rule = format!(
        "every pair of Post-LN arms that differ only in {}: two-sided Fisher exact test on failures and two-sided Mann-Whitney U test on final losses; some p < {ALPHA}/{tests} (Bonferroni over all {tests} tests) -> holds; none -> inconclusive (at a few seeds a null result is no evidence of insensitivity)",
        match axis {
            Axis::WarmupLength => "the warmup length (at one peak lr)",
            Axis::PeakLr => "the peak lr (at one warmup length)",
        }
    );
    if pairs.is_empty() {
        return inconclusive(
            claim,
            &rule,
            "the study has no Post-LN configurations that differ only in this axis",
        );
    }
    let mut separable = false;
    let evidence = pairs
        .iter()
        .map(|(a, b)| {
            let (fisher, rank) = pair_tests(a, b);
            separable |= fisher < level || rank < level;
            format!(
                "{} vs {}: Fisher p = {fisher:.4}, Mann-Whitney p = {rank:.4}",
                describe(a),
                describe(b)
            )
        })
        .collect();
    let outcome = if separable {
        Outcome::Holds
    } else {
        Outcome::Inconclusive
    };
    verdict(claim, outcome, &rule, evidence)
}

/// 2d: does each extra Post-LN arm (another warmup kind, or RAdam) fail less often than Post-LN
/// without warmup at the same peak lr (and other axes)?
fn rescues(loaded: &Loaded, post_grid: &[&Group]) -> Vec<Verdict> {
    let rule = format!("one-sided Fisher exact test that Post-LN without warmup (Adam) fails more often than the arm: p < {ALPHA} -> holds; the arm fails at least as often -> does not hold; else inconclusive");
    let extras = loaded
        .groups
        .iter()
        .filter(|g| g.arch() == Some(Arch::PostLn) && !is_grid_arm(g));
    let mut free = WARMUP_KEYS.to_vec();
    free.push("optim.kind");
    extras
        .filter_map(|arm| {
            let mut pool: Vec<&Group> =
                post_grid.iter().copied().filter(|g| no_warmup(g)).collect();
            pool.push(arm);
            let none = partition(&pool, &free)
                .into_iter()
                .find(|set| set.iter().any(|g| std::ptr::eq(*g, arm)))?
                .into_iter()
                .find(|g| !std::ptr::eq(*g, arm))?;
            let claim = format!("2d {} rescues Post-LN at lr {}", arm.label(), peak(arm));
            let p = fisher_greater(none.failures(), arm.failures());
            let outcome = if p < ALPHA {
                Outcome::Holds
            } else if arm.failures().k >= none.failures().k {
                Outcome::DoesNotHold
            } else {
                Outcome::Inconclusive
            };
            let evidence = vec![format!(
                "{} vs {}: Fisher p = {p:.4}",
                describe(arm),
                describe(none)
            )];
            Some(verdict(&claim, outcome, &rule, evidence))
        })
        .collect()
}

/// The Post-LN warmup arm fastest to `level` (smallest median updates, then fewest failures).
fn fastest_post<'a>(post: &[&'a Group], level: f64) -> Option<&'a Group> {
    post.iter().copied().min_by(|a, b| {
        let m = |g: &Group| MedianInterval::of(&g.updates_to(level)).median;
        m(a).total_cmp(&m(b))
            .then(a.failures().k.cmp(&b.failures().k))
    })
}

fn claim3(loaded: &Loaded) -> Verdict {
    let claim = "3 Pre-LN without warmup reaches a given val loss in fewer updates than Post-LN with warmup";
    let mut grid = grid_of_arch(loaded, Arch::PreLn);
    grid.extend(grid_of_arch(loaded, Arch::PostLn));
    let mut free = WARMUP_KEYS.to_vec();
    free.push("model.arch");
    // Per set (a peak lr, and a value of any other axis): Pre-LN without warmup and the Post-LN
    // warmup arms.
    let pairs: Vec<(&Group, Vec<&Group>)> = partition(&grid, &free)
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
        .collect();
    let level_p = ALPHA / pairs.len().max(1) as f64;
    let rule = format!(
        "at each peak lr (and value of any other axis), {CLAIM3_LEVELS} loss levels from the unigram entropy - {CLAIM3_TOP_MARGIN} down to the worse of (Pre-LN without warmup, the best Post-LN warmup arm)'s median best val loss; at each level, updates to reach it per seed (never = worst) of Pre-LN without warmup vs the Post-LN warmup arm fastest to that level, one-sided Mann-Whitney U test each way at p < {ALPHA}/{} (Bonferroni over the peak lrs); faster at >= half of the levels and slower at none, at some lr and reversed at no lr -> holds; the mirror image -> does not hold; else inconclusive",
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
    let mut evidence = Vec::new();
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
        for level in &ls {
            let Some(b) = fastest_post(&post_at, *level) else {
                continue;
            };
            let (ua, ub) = (a.updates_to(*level), b.updates_to(*level));
            let (p_fast, p_slow) = (mann_whitney_less(&ua, &ub), mann_whitney_less(&ub, &ua));
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
    verdict(claim, outcome, &rule, evidence)
}
