//! Which mechanism warmup acts on (issue 20), by the rules stated before the runs in
//! docs/studies/why-warmup-cpu/rules.md. For a study with probed Post-LN arms at one peak rate —
//! no warmup (N), linear warmup (W) and warmup substitutes (S) — two kinds of verdict:
//!
//! - **"S \<substitute\> reproduces warmup"**: S fails less often than N (one-sided Fisher at
//!   α/k, k substitutes) and no more often than W, and its final loss is not worse than W's by
//!   the study's margin (exact Hodges–Lehmann bound at α/k); does not: S fails more often than W
//!   or is worse by more than the margin; else inconclusive.
//! - **"M \<account\>"**: supported when a substitute aimed at it reproduces warmup and its probe
//!   quantity separates N from W (every seed of one above every seed of the other) at an earlier
//!   update than the validation loss does; not supported when every such substitute does not
//!   reproduce warmup, or the loss separates and the quantity never does; else inconclusive.
//!   Beside each, its "secondary reading" (rules-part-c.md's addendum): the loss's update is
//!   the first from which no warmup is behind warmup for good, since the committed separation
//!   also counts warmup's slower start.

use super::evidence::{effect, pooled_sd};
use super::interventions::Intervention;
use super::{describe, no_warmup, peak, substitute_of, verdict_with_effect, ALPHA};
use crate::analysis::quantity::ProbeQuantity;
use crate::analysis::{Group, Loaded};
use crate::config::{Arch, OptimizerKind};
use crate::stats::binomial::fisher_greater;
use crate::stats::margins::{
    hodges_lehmann, runs_needed_for_fisher, seeds_for_shift, shift_lower, shift_upper,
};
use crate::verdict::{Outcome, Verdict};
use std::collections::BTreeMap;

fn probed_post_ln(loaded: &Loaded) -> Vec<&Group> {
    loaded
        .groups
        .iter()
        .filter(|g| g.arch() == Some(Arch::PostLn) && !g.runs[0].config.probe.names.is_empty())
        .collect()
}

/// The accounts: (claim, the substitutes aimed at it in the order the evidence lists them,
/// the quantity it predicts moves first). Each list is the account's substitutes in the
/// interventions table (a unit test holds them equal).
pub(super) const ACCOUNTS: [(&str, &[Intervention], Quantity); 5] = [
    (
        "M reason (1): large early steps over-fit each mini-batch",
        &[Intervention::UpdateCap],
        Quantity::Probe(ProbeQuantity::OneStepGap),
    ),
    (
        "M reason (2): warmup keeps the deep layers stable",
        &[Intervention::FreezeTop],
        Quantity::Probe(ProbeQuantity::CkaInitLast),
    ),
    (
        "M the paper's gradient-scale argument",
        &[Intervention::FreezeTop],
        Quantity::LastW2Gradient,
    ),
    (
        "M sharpness (edge of stability)",
        &[Intervention::Catapult, Intervention::GiAdam],
        Quantity::Probe(ProbeQuantity::AdamSharpnessRatio),
    ),
    (
        "M Adam's early second moment",
        &[
            Intervention::VFill,
            Intervention::Radam,
            Intervention::GiAdam,
        ],
        Quantity::Probe(ProbeQuantity::ShareBelowEps),
    ),
];

#[derive(Clone, Copy)]
pub(super) enum Quantity {
    Probe(ProbeQuantity),
    /// ‖∇W2‖ of the last block, from the logged gradient norms.
    LastW2Gradient,
    ValLoss,
}

impl Quantity {
    fn name(self) -> String {
        match self {
            Quantity::Probe(q) => q.title().to_string(),
            Quantity::LastW2Gradient => "‖∇W2‖ of the last block".into(),
            Quantity::ValLoss => "validation loss".into(),
        }
    }

    /// Per run of `g`: update -> value.
    fn values(self, g: &Group) -> Vec<BTreeMap<u64, f64>> {
        g.runs
            .iter()
            .map(|r| match self {
                Quantity::Probe(q) => q.curve(r).into_iter().collect(),
                Quantity::LastW2Gradient => {
                    let key = format!("blocks.{}.ffn.w2.weight", r.config.model.n_layers - 1);
                    r.grad_norms
                        .iter()
                        .filter_map(|p| p.norms.get(&key).map(|v| (p.step, *v)))
                        .collect()
                }
                Quantity::ValLoss => r.eval.iter().map(|e| (e.step, e.val_loss)).collect(),
            })
            .collect()
    }
}

/// (smallest, largest) of `v`.
fn range(v: &[f64]) -> (f64, f64) {
    (
        v.iter().copied().fold(f64::INFINITY, f64::min),
        v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    )
}

/// Per update of the study's shared grid (>= 20, multiples of 20, as measured for `a`'s first
/// seed): the seed values of `a` and of `b` there, None where some seed lacks the update.
type AtUpdate = (u64, Option<(Vec<f64>, Vec<f64>)>);

fn on_grid(q: Quantity, a: &Group, b: &Group) -> Vec<AtUpdate> {
    let (va, vb) = (q.values(a), q.values(b));
    let Some(first) = va.first() else {
        return Vec::new();
    };
    let at = |v: &[BTreeMap<u64, f64>], s: u64| -> Option<Vec<f64>> {
        v.iter().map(|m| m.get(&s).copied()).collect()
    };
    first
        .keys()
        .copied()
        .filter(|s| *s >= 20 && s % 20 == 0)
        .map(|s| (s, at(&va, s).zip(at(&vb, s))))
        .collect()
}

/// The first update of the grid at which every seed of `a` lies above every seed of `b` or
/// below every one (a non-finite value: not comparable there).
fn separation(q: Quantity, a: &Group, b: &Group) -> Option<u64> {
    on_grid(q, a, b).into_iter().find_map(|(s, values)| {
        let (x, y) = values?;
        if !x.iter().chain(&y).all(|v| v.is_finite()) {
            return None;
        }
        let ((x_lo, x_hi), (y_lo, y_hi)) = (range(&x), range(&y));
        (x_lo > y_hi || x_hi < y_lo).then_some(s)
    })
}

/// The secondary timing of rules-part-c.md: the first update of the grid from which every seed
/// of `none` has a higher validation loss than every seed of `warm` at every later measured
/// update (the committed `separation` also counts warmup's slower start). A non-finite loss
/// (diverged) ranks highest.
fn behind_for_good(none: &Group, warm: &Group) -> Option<u64> {
    let grid = on_grid(Quantity::ValLoss, none, warm);
    let behind = |values: &Option<(Vec<f64>, Vec<f64>)>| {
        values.as_ref().is_some_and(|(n, w)| {
            let (n_best, _) = range(&n.iter().map(|x| nan_high(*x)).collect::<Vec<_>>());
            let (_, w_worst) = range(&w.iter().map(|x| nan_high(*x)).collect::<Vec<_>>());
            n_best > w_worst
        })
    };
    let first_of_run = grid
        .iter()
        .rposition(|(_, values)| !behind(values))
        .map_or(0, |i| i + 1);
    grid.get(first_of_run).map(|(s, _)| *s)
}

/// A non-finite loss ranks worst (highest).
fn nan_high(x: f64) -> f64 {
    if x.is_finite() {
        x
    } else {
        f64::INFINITY
    }
}

/// An account's outcome from its substitutes' verdicts and the two separation updates.
///
/// Corrected by issue 32: these rules (Parts B and C) state no manipulation check and run each
/// substitute at one strength, so a substitute that fails says "this substitute, at this
/// strength, did not reproduce warmup", not that the account is wrong: no account is
/// contradicted here (src/claims/accounts.rs has the rules that can). An account whose every
/// substitute never ran (the catapult arm at a rate where every search lands above the peak)
/// is not tested.
fn account_outcome(
    results: &[(&str, Option<Outcome>)],
    t_q: Option<u64>,
    t_loss: Option<u64>,
) -> Outcome {
    let any_reproduces = results.iter().any(|(_, o)| *o == Some(Outcome::Holds));
    let ran: Vec<_> = results
        .iter()
        .filter(|(_, o)| !matches!(o, None | Some(Outcome::NotTested)))
        .collect();
    let earlier =
        matches!((t_q, t_loss), (Some(a), Some(b)) if a < b) || (t_q.is_some() && t_loss.is_none());
    if any_reproduces && earlier {
        Outcome::Holds
    } else if ran.is_empty() {
        Outcome::NotTested
    } else {
        Outcome::Inconclusive
    }
}

/// The final-loss shift S − W with its exact one-sided bounds at the verdict's own level (the
/// effect line prints them at 0.05 each; issue 32).
fn loss_bounds_at(s: &Group, warm: &Group, level: f64) -> String {
    let (ls, lw) = (s.final_losses(), warm.final_losses());
    let fmt = |b: Option<f64>| b.map_or("none".to_string(), |b| format!("{b:+.3}"));
    format!(
        "final loss vs linear warmup at the verdict's level {level:.4}: shift {:+.3} [{}, {}]",
        hodges_lehmann(&ls, &lw),
        fmt(shift_lower(&ls, &lw, level)),
        fmt(shift_upper(&ls, &lw, level))
    )
}

/// A catapult arm whose every search found a rate at or above the peak ran no warmup: each of
/// its runs equals no warmup bit for bit, so it puts no question to the sharpness account.
fn ran_no_warmup(s: &Group, lr: f64) -> bool {
    let rates: Vec<f64> = s
        .runs
        .iter()
        .filter_map(|r| r.catapult.as_ref().map(|c| c.rate))
        .collect();
    !rates.is_empty() && rates.len() == s.runs.len() && rates.iter().all(|&r| r >= lr)
}

/// "S reproduces warmup" at `level`, with the study's final-loss margin.
fn reproduces(s: &Group, none: &Group, warm: &Group, level: f64, margin: f64) -> Outcome {
    let (fs, fn_, fw) = (s.failures(), none.failures(), warm.failures());
    let (ls, lw) = (s.final_losses(), warm.final_losses());
    let fewer_than_none = fisher_greater(fn_, fs) < level && fs.k <= fw.k;
    let within = shift_upper(&ls, &lw, level).is_some_and(|u| u < margin);
    let more_than_warm = fisher_greater(fs, fw) < level;
    let worse = shift_lower(&ls, &lw, level).is_some_and(|l| l > margin);
    if fewer_than_none && within {
        Outcome::Holds
    } else if more_than_warm || worse {
        Outcome::DoesNotHold
    } else {
        Outcome::Inconclusive
    }
}

/// "`what`: N seeds per arm at the rates seen": when the one-sided Fisher test that `more`
/// fails more often than `fewer` would reach `level` at their failure rates.
fn fisher_seeds(what: &str, more: &Group, fewer: &Group, level: f64) -> String {
    match runs_needed_for_fisher(
        more.failures().fraction(),
        fewer.failures().fraction(),
        level,
    ) {
        Some(n) => format!("{what}: {n} seeds per arm at the rates seen"),
        None => format!("{what}: out of reach at the rates seen"),
    }
}

/// For an inconclusive "S reproduces warmup": the seeds per arm that would settle each part
/// still open, at the failure rates, shift and seed spread seen (plug-in counts for Fisher's
/// test; 80% power by the normal approximation for the loss, as `seeds_for_shift`).
fn seeds_to_settle(s: &Group, none: &Group, warm: &Group, level: f64, margin: f64) -> String {
    let mut parts = Vec::new();
    if fisher_greater(none.failures(), s.failures()) >= level {
        parts.push(fisher_seeds(
            "fewer failures than no warmup",
            none,
            s,
            level,
        ));
    }
    let (fs, fw) = (s.failures(), warm.failures());
    if fs.k > fw.k && fisher_greater(fs, fw) >= level {
        // More failures than warmup bars "reproduces"; more seeds could show them significant.
        let what = format!(
            "more failures than linear warmup ({}/{} vs {}/{})",
            fs.k, fs.n, fw.k, fw.n
        );
        parts.push(fisher_seeds(&what, s, warm, level));
    }
    parts.extend(loss_seeds(s, warm, level, margin));
    let parts = if parts.is_empty() {
        "not estimable".to_string()
    } else {
        parts.join("; ")
    };
    format!("to settle it: {parts}")
}

/// The loss part of `seeds_to_settle`: None when the shift's bounds already decide it.
fn loss_seeds(s: &Group, warm: &Group, level: f64, margin: f64) -> Option<String> {
    let (ls, lw) = (s.final_losses(), warm.final_losses());
    let settled = shift_upper(&ls, &lw, level).is_some_and(|u| u < margin)
        || shift_lower(&ls, &lw, level).is_some_and(|l| l > margin);
    if settled {
        return None;
    }
    let (shift, sd) = (hodges_lehmann(&ls, &lw), pooled_sd(&ls, &lw));
    let (what, seeds) = if shift < margin {
        ("within", seeds_for_shift(shift, sd, margin, level))
    } else {
        // The mirror: the lower bound of the shift above the margin.
        (
            "worse by more than",
            seeds_for_shift(-shift, sd, -margin, level),
        )
    };
    seeds.map(|n| {
        format!("{what} the {margin}-nat margin: {n} seeds per arm at the shift {shift:+.3} and seed sd {sd:.3} seen (80% power)")
    })
}

/// What the catapult searches of `g` found, against the peak `lr`: a found rate at or above
/// the peak starts the warmup at the peak, so that run trained at a constant rate.
fn catapult_rates(g: &Group, lr: f64) -> Option<String> {
    let rates: Vec<f64> = g
        .runs
        .iter()
        .filter_map(|r| r.catapult.as_ref().map(|c| c.rate))
        .collect();
    if rates.is_empty() {
        return None;
    }
    let (lo, hi) = range(&rates);
    let capped = rates.iter().filter(|r| **r >= lr).count();
    Some(format!(
        "the catapult search found starting rates {lo:.3e}–{hi:.3e}; {capped} of {} at or above the peak {lr} (those runs trained at the peak from update 0)",
        rates.len()
    ))
}

/// The probed Post-LN arms at one peak rate: (lr, N, W, substitutes by name).
pub(super) type PartB<'a> = (f64, &'a Group, &'a Group, Vec<(Intervention, &'a Group)>);

pub(super) fn part_b(loaded: &Loaded) -> Option<PartB<'_>> {
    let probed = probed_post_ln(loaded);
    let plain = |g: &&Group| {
        substitute_of(g).is_none() && g.runs[0].config.optim.kind == OptimizerKind::Adam
    };
    let none = probed
        .iter()
        .copied()
        .filter(plain)
        .find(|g| no_warmup(g))?;
    let warm = probed
        .iter()
        .copied()
        .filter(plain)
        .find(|g| !no_warmup(g) && peak(g) == peak(none))?;
    let subs = probed
        .iter()
        .copied()
        .filter(|g| peak(g) == peak(none))
        .filter_map(|g| substitute_of(g).map(|name| (name, g)))
        .collect();
    Some((peak(none), none, warm, subs))
}

/// The verdicts of rules.md: one per substitute, one per account, and whether any account alone
/// explains warmup here. None for a study without probed Post-LN arms N, W and a substitute.
pub fn verdicts(loaded: &Loaded) -> Vec<Verdict> {
    let Some((lr, none, warm, subs)) = part_b(loaded) else {
        return Vec::new();
    };
    if subs.is_empty() {
        return Vec::new();
    }
    let level = ALPHA / subs.len() as f64;
    let margin = loaded.margins.final_loss;
    let rule = format!("docs/studies/why-warmup-cpu/rules.md, stated before the runs: S fails less often than no warmup (one-sided Fisher p < {ALPHA}/{k}) and no more often than linear warmup, and its final loss is at most {margin} nats worse than linear warmup's (exact Hodges-Lehmann upper bound at {ALPHA}/{k}) -> holds; S fails more often than linear warmup (Fisher p < {ALPHA}/{k}) or its loss is worse by more than {margin} (lower bound) -> does not hold; else inconclusive", k = subs.len());
    let mut out = Vec::new();
    let mut outcome_of: BTreeMap<Intervention, Outcome> = BTreeMap::new();
    for (name, s) in &subs {
        let outcome = match ran_no_warmup(s, lr) {
            true => Outcome::NotTested,
            false => reproduces(s, none, warm, level, margin),
        };
        outcome_of.insert(*name, outcome);
        let mut evidence = vec![
            describe(s),
            describe(none),
            describe(warm),
            format!(
                "Fisher p (fewer failures than no warmup) = {:.4}",
                fisher_greater(none.failures(), s.failures())
            ),
            loss_bounds_at(s, warm, level),
        ];
        evidence.extend(catapult_rates(s, lr));
        if outcome == Outcome::Inconclusive {
            evidence.push(seeds_to_settle(s, none, warm, level, margin));
        }
        out.push(verdict_with_effect(
            &format!("S {name} reproduces warmup for Post-LN at lr {lr}"),
            outcome,
            &rule,
            evidence,
            vec![effect(s, warm)],
        ));
    }
    let t_loss = separation(Quantity::ValLoss, none, warm);
    let account_rule = "docs/studies/why-warmup-cpu/rules.md, stated before the runs, as corrected by issue 32: t = the first update (>= 20, on the 20-update grid) at which every seed without warmup lies above every seed with linear warmup, or below; supported when a substitute aimed at the account reproduces warmup and t(quantity) < t(validation loss); never contradicted here (the committed rule read 'every such substitute does not reproduce warmup' as 'not supported', but one substitute at one untuned strength, with no manipulation check, cannot contradict an account); not tested when no substitute aimed at it ran (a catapult arm that started every warmup at the peak); else inconclusive";
    let t_loss_behind = behind_for_good(none, warm);
    let mut secondary = Vec::new();
    let mut supported = Vec::new();
    for (claim, aimed, q) in ACCOUNTS {
        let results: Vec<(&str, Option<Outcome>)> = aimed
            .iter()
            .map(|a| (a.label(), outcome_of.get(a).copied()))
            .collect();
        let t_q = separation(q, none, warm);
        let outcome = account_outcome(&results, t_q, t_loss);
        if outcome == Outcome::Holds {
            supported.push(claim);
        }
        let when = |t: Option<u64>| t.map_or("never".into(), |t| format!("update {t}"));
        let evidence = vec![
            results
                .iter()
                .map(|(a, o)| format!("{a}: {}", o.map_or("not in the study", |o| o.name())))
                .collect::<Vec<_>>()
                .join(", "),
            format!(
                "{} separates at {}, the validation loss at {}",
                q.name(),
                when(t_q),
                when(t_loss)
            ),
        ];
        out.push(verdict_with_effect(
            claim,
            outcome,
            account_rule,
            evidence.clone(),
            Vec::new(),
        ));
        secondary.push(verdict_with_effect(
            &format!("{claim} (secondary reading)"),
            account_outcome(&results, t_q, t_loss_behind),
            SECONDARY_RULE,
            vec![
                evidence[0].clone(),
                format!(
                    "{} separates at {}; without warmup the validation loss is behind for good from {}",
                    q.name(),
                    when(t_q),
                    when(t_loss_behind)
                ),
            ],
            Vec::new(),
        ));
    }
    // No account can be contradicted under these rules (issue 32), so neither can "one of
    // them alone explains warmup" be refuted.
    let summary = match supported.is_empty() {
        false => Outcome::Holds,
        true => Outcome::Inconclusive,
    };
    out.push(verdict_with_effect(
        "M one of these accounts alone explains warmup here",
        summary,
        "holds when some account is supported; else inconclusive (no account can be contradicted under these rules: issue 32)",
        vec![if supported.is_empty() {
            "no account is supported".to_string()
        } else {
            format!("supported: {}", supported.join("; "))
        }],
        Vec::new(),
    ));
    out.extend(secondary);
    out
}

/// The secondary reading's rule (docs/studies/why-warmup-cpu/rules-part-c.md, addendum).
const SECONDARY_RULE: &str = "docs/studies/why-warmup-cpu/rules-part-c.md addendum, stated after Part B's timings were seen and before Part C's runs; reported beside the primary verdict, never instead of it: as the primary rule, with the loss's update replaced by the first update from which every seed without warmup has a higher validation loss than every seed with linear warmup at every later measured update";
