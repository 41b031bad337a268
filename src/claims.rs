//! `lnwarm claims`: verdicts on the paper's three claims from a study's results (and a grad-init
//! JSON for claim 1). Each verdict states its rule; an effect within the seed spread (overlapping
//! 95% intervals) is inconclusive. Failed runs (diverged or stalled) count against a configuration.

use crate::compare::{Group, Loaded};
use crate::config::Arch;
use crate::grad_init::GradInitResult;
use crate::outcome::Outcome as RunOutcome;
use crate::stats::Interval;
use crate::verdict::{Outcome, Verdict};

/// How configuration A compares with B on final validation loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Worse,
    Better,
    Unclear,
}

fn failed_majority(g: &Group) -> bool {
    let failed = g
        .outcomes()
        .iter()
        .filter(|o| **o != RunOutcome::Ok)
        .count();
    2 * failed > g.runs.len()
}

/// A is worse than B if most of A's seeds failed and most of B's did not, or if A's final-loss
/// interval lies entirely above B's (better: the mirror image); else unclear.
pub fn compare(a: &Group, b: &Group) -> Cmp {
    match (failed_majority(a), failed_majority(b)) {
        (true, false) => return Cmp::Worse,
        (false, true) => return Cmp::Better,
        (true, true) => return Cmp::Unclear,
        _ => {}
    }
    let (x, y) = (a.final_val(), b.final_val());
    if x.n < 2 || y.n < 2 {
        Cmp::Unclear
    } else if x.lo > y.hi {
        Cmp::Worse
    } else if x.hi < y.lo {
        Cmp::Better
    } else {
        Cmp::Unclear
    }
}

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

fn of_arch(loaded: &Loaded, arch: Arch) -> Vec<&Group> {
    loaded
        .groups
        .iter()
        .filter(|g| g.arch() == Some(arch))
        .collect()
}

fn lrs(groups: &[&Group]) -> Vec<f64> {
    let mut v: Vec<f64> = groups.iter().map(|g| peak(g)).collect();
    v.sort_by(f64::total_cmp);
    v.dedup();
    v
}

fn describe(g: &Group) -> String {
    let fails = g.runs.len() - g.count(RunOutcome::Ok);
    format!(
        "{} (final val {}, {fails}/{} failed)",
        g.label(),
        g.final_val().fmt(3),
        g.runs.len()
    )
}

fn inconclusive(claim: &str, rule: &str, why: &str) -> Verdict {
    Verdict {
        claim: claim.into(),
        outcome: Outcome::Inconclusive,
        rule: rule.into(),
        evidence: why.into(),
    }
}

/// All verdicts: claim 1 (from grad-init, if given), 2a-2c and 2, 3.
pub fn verdicts(loaded: &Loaded, grad_init: Option<&GradInitResult>) -> Vec<Verdict> {
    let mut out = claim1(grad_init);
    out.extend(claim2(loaded));
    out.push(claim3(loaded));
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
        .collect::<Vec<_>>()
        .join("; ");
    let mut out = vec![Verdict {
        claim: claim.into(),
        outcome,
        rule: rule.into(),
        evidence,
    }];
    out.extend(gi.verdicts.iter().cloned());
    out
}

fn claim2(loaded: &Loaded) -> Vec<Verdict> {
    let post = of_arch(loaded, Arch::PostLn);
    let needs = needs_warmup(&post);
    let length = sensitivity(&post, "2b Post-LN is sensitive to the warmup length", true);
    let lr = sensitivity(
        &post,
        "2c Post-LN is sensitive to the peak learning rate",
        false,
    );
    let overall = Verdict {
        claim: "2 Post-LN needs warmup and is sensitive to its length and to the peak lr".into(),
        outcome: Outcome::all([needs.outcome, length.outcome, lr.outcome]),
        rule:
            "2a, 2b and 2c all hold -> holds; any does not hold -> does not hold; else inconclusive"
                .into(),
        evidence: [&needs, &length, &lr]
            .iter()
            .map(|v| format!("{}: {}", &v.claim[..2], v.outcome.name()))
            .collect::<Vec<_>>()
            .join("; "),
    };
    vec![overall, needs, length, lr]
}

fn needs_warmup(post: &[&Group]) -> Verdict {
    let claim = "2a Post-LN needs warmup";
    let rule = "at each peak lr, Post-LN without warmup vs the best Post-LN with warmup: worse (most seeds failed while the other's did not, or final-loss intervals disjoint and higher) at some lr -> holds; better at every lr -> does not hold; else inconclusive";
    let mut worse_any = false;
    let mut better_all = true;
    let mut evidence = Vec::new();
    let mut compared = 0;
    for lr in lrs(post) {
        let at: Vec<&Group> = post.iter().copied().filter(|g| peak(g) == lr).collect();
        let (Some(none), Some(best)) = (
            at.iter().find(|g| no_warmup(g)),
            best_by_loss(at.iter().copied().filter(|g| !no_warmup(g))),
        ) else {
            continue;
        };
        compared += 1;
        let c = compare(none, best);
        worse_any |= c == Cmp::Worse;
        better_all &= c == Cmp::Better;
        evidence.push(format!(
            "lr {lr}: {} vs {}: {c:?}",
            describe(none),
            describe(best)
        ));
    }
    if compared == 0 {
        return inconclusive(
            claim,
            rule,
            "the study has no Post-LN pair (warmup 0 and warmup > 0 at one peak lr)",
        );
    }
    let outcome = if worse_any {
        Outcome::Holds
    } else if better_all {
        Outcome::DoesNotHold
    } else {
        Outcome::Inconclusive
    };
    Verdict {
        claim: claim.into(),
        outcome,
        rule: rule.into(),
        evidence: evidence.join("; "),
    }
}

/// Does some pair of configurations differing only in warmup length (or only in peak lr) differ?
fn sensitivity(post: &[&Group], claim: &str, by_length: bool) -> Verdict {
    let rule = if by_length {
        "at a fixed peak lr, some two Post-LN warmup lengths > 0 (or, with only one, 0 and it) give separable results (compare: worse/better) -> holds; every pair overlapping -> inconclusive"
    } else {
        "at a fixed warmup length, some two Post-LN peak lrs give separable results -> holds; every pair overlapping -> inconclusive"
    };
    let mut keys: Vec<(u64, u64)> = post
        .iter()
        .map(|g| {
            if by_length {
                (peak(g).to_bits(), 0)
            } else {
                (warmup(g), 0)
            }
        })
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let mut evidence = Vec::new();
    let mut separable = false;
    let mut pairs = 0;
    for (key, _) in keys {
        let mut set: Vec<&Group> = post
            .iter()
            .copied()
            .filter(|g| {
                if by_length {
                    peak(g).to_bits() == key
                } else {
                    warmup(g) == key
                }
            })
            .collect();
        if by_length && set.iter().filter(|g| !no_warmup(g)).count() >= 2 {
            set.retain(|g| !no_warmup(g));
        }
        for (i, a) in set.iter().enumerate() {
            for b in &set[i + 1..] {
                pairs += 1;
                let c = compare(a, b);
                if c != Cmp::Unclear {
                    separable = true;
                    evidence.push(format!("{} vs {}: {c:?}", describe(a), describe(b)));
                }
            }
        }
    }
    if pairs == 0 {
        return inconclusive(
            claim,
            rule,
            "the study has no Post-LN configurations that differ only in this axis",
        );
    }
    if evidence.is_empty() {
        evidence.push(format!("{pairs} pair(s), all within the seed spread"));
    }
    let outcome = if separable {
        Outcome::Holds
    } else {
        Outcome::Inconclusive
    };
    Verdict {
        claim: claim.into(),
        outcome,
        rule: rule.into(),
        evidence: evidence.join("; "),
    }
}

fn best_by_loss<'a>(groups: impl Iterator<Item = &'a Group>) -> Option<&'a Group> {
    groups.min_by(|a, b| score(a).total_cmp(&score(b)))
}

fn score(g: &Group) -> f64 {
    if failed_majority(g) {
        f64::INFINITY
    } else {
        g.final_val().mean
    }
}

/// Per-seed updates to reach the target; a seed that never reaches it counts as steps + 1.
fn steps_interval(g: &Group, target: f64) -> (Interval, usize) {
    let steps = g.steps_to(target);
    let reached = steps.iter().flatten().count();
    let values: Vec<f64> = steps
        .iter()
        .zip(&g.runs)
        .map(|(s, r)| s.map_or(r.config.train.steps as f64 + 1.0, |s| s as f64))
        .collect();
    (Interval::of(&values), reached)
}

fn claim3(loaded: &Loaded) -> Verdict {
    let claim = format!(
        "3 Pre-LN without warmup reaches val loss {:.3} in fewer updates than Post-LN with warmup",
        loaded.target_loss
    );
    let rule = "per seed, the first evaluated update with val loss <= target (never: steps + 1); at some peak lr the 95% interval for Pre-LN without warmup lies below that of the fastest Post-LN with warmup, and above it at none -> holds; the reverse -> does not hold; else inconclusive";
    let pre = of_arch(loaded, Arch::PreLn);
    let post = of_arch(loaded, Arch::PostLn);
    let (mut faster, mut slower, mut evidence) = (false, false, Vec::new());
    for lr in lrs(&pre) {
        let Some(a) = pre.iter().find(|g| peak(g) == lr && no_warmup(g)) else {
            continue;
        };
        let candidates = post
            .iter()
            .copied()
            .filter(|g| peak(g) == lr && !no_warmup(g));
        let Some(b) = candidates.min_by(|x, y| {
            steps_interval(x, loaded.target_loss)
                .0
                .mean
                .total_cmp(&steps_interval(y, loaded.target_loss).0.mean)
        }) else {
            continue;
        };
        let ((ia, ra), (ib, rb)) = (
            steps_interval(a, loaded.target_loss),
            steps_interval(b, loaded.target_loss),
        );
        if ra + rb == 0 {
            evidence.push(format!("lr {lr}: neither reaches the target"));
            continue;
        }
        faster |= ia.n >= 2 && ib.n >= 2 && ia.hi < ib.lo;
        slower |= ia.n >= 2 && ib.n >= 2 && ia.lo > ib.hi;
        evidence.push(format!(
            "lr {lr}: {} {} updates ({ra}/{} reached) vs {} {} updates ({rb}/{} reached)",
            a.label(),
            ia.fmt(0),
            a.runs.len(),
            b.label(),
            ib.fmt(0),
            b.runs.len()
        ));
    }
    if evidence.is_empty() {
        return inconclusive(
            &claim,
            rule,
            "the study has no pair of Pre-LN without warmup and Post-LN with warmup at one peak lr",
        );
    }
    let outcome = match (faster, slower) {
        (true, false) => Outcome::Holds,
        (false, true) => Outcome::DoesNotHold,
        _ => Outcome::Inconclusive,
    };
    Verdict {
        claim,
        outcome,
        rule: rule.into(),
        evidence: evidence.join("; "),
    }
}
