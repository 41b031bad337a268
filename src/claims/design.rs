//! The design check (`lnwarm sweep plan STUDY --power`, issue 23): before any run, which verdict
//! each claim can reach with the study's seed counts. Pairs and Bonferroni levels come from the
//! same functions `claims` uses, on the study's plan. A positive can be reached when the
//! smallest p-value the arms' sizes allow (every failure in one arm, or the losses separated:
//! 1/C(n_a + n_b, n_a), doubled when two-sided) is below the level; a negative when the margins
//! can be confirmed if there is no true difference: the failure bound with no failure (exact),
//! the loss bound at the study's planning spread `margins.loss_sd` (normal approximation, 80%
//! power).

use super::chances::{between_chances, Chances};
use super::evidence::best_p;
use super::sensitivity::{axis_pairs, claim_of, Axis};
use super::warmup::{lineage_archs, rescue_pairs, warmup_pairs};
use super::where_arms::{Arms, PLAN_P_NONE, PLAN_P_WARM};
use super::{grid_of_arch, ALPHA};
use crate::analysis::{Group, Loaded};
use crate::config::Arch;
use crate::stats::margins::{
    runs_needed_for_difference, runs_needed_for_rate, seeds_for_level, seeds_for_shift,
};
use crate::study::Margins;

/// What one claim's design allows.
#[derive(Debug, Clone, PartialEq)]
pub struct DesignLine {
    pub claim: String,
    /// Whether the seed counts let the claim hold, and not hold.
    pub can_hold: bool,
    pub can_refute: bool,
    /// The tests and their Bonferroni level.
    pub level: String,
    /// The best p the seed counts allow (and the seeds that would reach the level).
    pub positive: String,
    /// The seeds the margins need (and the seeds the study has).
    pub negative: String,
}

impl DesignLine {
    /// `2a Post-LN needs warmup: 2 pairs, level 0.0250; positive: ...; ...`.
    pub fn text(&self) -> String {
        format!(
            "{}: {}; positive: {}; {}",
            self.claim, self.level, self.positive, self.negative
        )
    }

    /// `warning: ...` when the design cannot reach one of the two verdicts: what is out of reach.
    pub fn warning(&self) -> Option<String> {
        let why = match (self.can_hold, self.can_refute) {
            (true, true) => return None,
            (false, false) => format!(
                "cannot be decided at this size: {}; {}",
                self.positive, self.negative
            ),
            (false, true) => format!("cannot hold at this size: {}", self.positive),
            (true, false) => format!(
                "can hold, but no negative verdict is within reach: {}",
                self.negative
            ),
        };
        Some(format!("warning: {} {why}", self.claim))
    }
}

/// The seeds of each arm of a pair.
fn sizes(a: &Group, b: &Group) -> (usize, usize) {
    (a.runs.len(), b.runs.len())
}

/// The positive side of a set of pairs at `level`: reachable at some pair?
fn positive(pairs: &[(usize, usize)], level: f64, two_sided: bool, test: &str) -> (bool, String) {
    let (n_a, n_b) = pairs
        .iter()
        .copied()
        .max_by_key(|&(a, b)| a.min(b))
        .unwrap_or((0, 0));
    let best = best_p(n_a, n_b, two_sided);
    let reachable = best < level;
    let sign = if reachable { "<" } else { ">=" };
    let mut text =
        format!("{n_a} vs {n_b} seeds per arm, best {test} p = {best:.4} {sign} {level:.4}");
    if !reachable {
        let one_sided = if two_sided { level / 2.0 } else { level };
        let seeds = seeds_for_level(one_sided * (1.0 - 1e-12));
        text.push_str(&format!(" ({seeds} seeds per arm would reach it)"));
    }
    (reachable, text)
}

/// The negative side: runs needed for the failure margin (`failure_runs`) and for the loss
/// margin at the planning spread, against the smallest arm.
fn negative(smallest: usize, failure_runs: usize, loss: bool, m: &Margins) -> (bool, String) {
    let loss_runs = if loss {
        seeds_for_shift(0.0, m.loss_sd, m.final_loss, ALPHA).unwrap_or(usize::MAX)
    } else {
        0
    };
    let needed = failure_runs.max(loss_runs);
    let reachable = smallest >= needed;
    let loss_text = if loss {
        format!(
            ", final loss {} nats at a seed sd of {} nats: {loss_runs}",
            m.final_loss, m.loss_sd
        )
    } else {
        String::new()
    };
    let text = format!(
        "a negative needs, with no true difference, {needed} seeds per arm (failure rate {}: {failure_runs}{loss_text}); the study has {smallest}",
        m.failure_rate
    );
    (reachable, text)
}

fn line(claim: &str, level: String, pos: (bool, String), neg: (bool, String)) -> DesignLine {
    DesignLine {
        claim: claim.to_string(),
        can_hold: pos.0,
        can_refute: neg.0,
        level,
        positive: pos.1,
        negative: neg.1,
    }
}

/// `1 pair`, `2 pairs`.
fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

fn smallest(pairs: &[(usize, usize)]) -> usize {
    pairs.iter().map(|&(a, b)| a.min(b)).min().unwrap_or(0)
}

/// "Needs warmup" (2a, W): one-sided Fisher at `level`; the negative bounds the rate without
/// warmup and the loss shift.
fn needs_warmup_line(claim: &str, pairs: &[(usize, usize)], level: f64, m: &Margins) -> DesignLine {
    line(
        claim,
        format!("{}, level {level:.4}", count(pairs.len(), "pair")),
        positive(pairs, level, false, "one-sided Fisher"),
        negative(
            smallest(pairs),
            runs_needed_for_rate(m.failure_rate, ALPHA),
            true,
            m,
        ),
    )
}

/// One line per claim the study can test; a claim it has no arms for is left out.
pub fn design(loaded: &Loaded) -> Vec<DesignLine> {
    let m = &loaded.margins;
    let mut out = Vec::new();
    let post = grid_of_arch(loaded, Arch::PostLn);
    let pairs: Vec<(usize, usize)> = warmup_pairs(&post)
        .iter()
        .map(|(_, a, b)| sizes(a, b))
        .collect();
    if !pairs.is_empty() {
        let level = ALPHA / pairs.len() as f64;
        out.push(needs_warmup_line(
            "2a Post-LN needs warmup",
            &pairs,
            level,
            m,
        ));
    }
    for axis in [Axis::WarmupLength, Axis::PeakLr] {
        let pairs: Vec<(usize, usize)> = axis_pairs(&post, axis)
            .iter()
            .map(|(a, b)| sizes(a, b))
            .collect();
        if pairs.is_empty() {
            continue;
        }
        let level = ALPHA / (2 * pairs.len()) as f64;
        out.push(line(
            claim_of(axis),
            format!("{}, level {level:.4}", count(pairs.len(), "pair")),
            positive(&pairs, level, true, "two-sided Fisher"),
            negative(
                smallest(&pairs),
                runs_needed_for_difference(0.0, 0.0, m.failure_rate, ALPHA).unwrap_or(usize::MAX),
                true,
                m,
            ),
        ));
    }
    for (arm, none) in rescue_pairs(loaded, &post) {
        let pair = [sizes(none, arm)];
        out.push(line(
            &format!("2d {} rescues Post-LN", arm.label()),
            format!("level {ALPHA}"),
            positive(&pair, ALPHA, false, "one-sided Fisher"),
            negative(
                smallest(&pair),
                runs_needed_for_difference(0.0, 0.0, m.failure_rate, ALPHA).unwrap_or(usize::MAX),
                false,
                m,
            ),
        ));
    }
    out.extend(claim3_line(loaded));
    out.extend(lineage_lines(loaded));
    out.extend(substitute_lines(loaded));
    out.extend(where_lines(loaded));
    out
}

/// "S <substitute> reproduces warmup" (issue 20's rules): its positive needs a one-sided Fisher
/// p against no warmup below α/k and a loss bound against linear warmup within the margin at
/// α/k; its negative the same tests the other way.
fn substitute_lines(loaded: &Loaded) -> Vec<DesignLine> {
    let Some((lr, none, warm, subs)) = super::mechanisms::part_b(loaded) else {
        return Vec::new();
    };
    let m = &loaded.margins;
    let level = ALPHA / subs.len().max(1) as f64;
    let loss_runs = seeds_for_shift(0.0, m.loss_sd, m.final_loss, level).unwrap_or(usize::MAX);
    subs.iter()
        .map(|(name, s)| {
            let (n_s, n_n, n_w) = (s.runs.len(), none.runs.len(), warm.runs.len());
            let pos = positive(&[(n_n, n_s)], level, false, "one-sided Fisher");
            // Issue 32: the chance that an exact replica of warmup passes the loss gate, by
            // simulating the gate itself; under 50% flags the verdict.
            let replica =
                super::chances::replica_clears_margin(n_s.min(n_w), m.loss_sd, m.final_loss, level);
            let loss_ok = n_s.min(n_w) >= loss_runs && replica >= 0.5;
            let loss = (
                loss_ok,
                format!(
                    "the final-loss margin {} nats at a seed sd of {} against linear warmup needs {loss_runs} seeds per arm; the study has {}; an exact replica of warmup passes it with chance {replica:.2} (simulated)",
                    m.final_loss,
                    m.loss_sd,
                    n_s.min(n_w)
                ),
            );
            DesignLine {
                claim: format!("S {name} reproduces warmup for Post-LN at lr {lr}"),
                can_hold: pos.0 && loss.0,
                can_refute: pos.0,
                level: format!("{} substitutes, level {level:.4}", subs.len()),
                positive: format!("{}; {}", pos.1, loss.1),
                negative: "a negative is the same tests the other way (more failures than linear warmup, or worse by more than the margin), as reachable".into(),
            }
        })
        .collect()
}

/// Claim 3: one-sided Mann–Whitney on updates-to-loss; its negative is the mirror test.
fn claim3_line(loaded: &Loaded) -> Option<DesignLine> {
    let pairs: Vec<(usize, usize)> = super::speed::claim3_sets(loaded)
        .iter()
        .map(|(pre, post)| {
            let n_post = post.iter().map(|g| g.runs.len()).max().unwrap_or(0);
            (pre.runs.len(), n_post)
        })
        .collect();
    if pairs.is_empty() {
        return None;
    }
    let level = ALPHA / pairs.len() as f64;
    let pos = positive(&pairs, level, false, "one-sided Mann-Whitney");
    let neg = (
        pos.0,
        "a negative is the mirror test (Post-LN significantly faster), as reachable".to_string(),
    );
    Some(line(
        super::speed::CLAIM,
        format!("{}, level {level:.4}", count(pairs.len(), "peak lr")),
        pos,
        neg,
    ))
}

/// "W <arch> needs warmup" for a lineage study, Bonferroni over every pair of every arch.
fn lineage_lines(loaded: &Loaded) -> Vec<DesignLine> {
    let per_arch: Vec<(Arch, Vec<(usize, usize)>)> = lineage_archs(loaded)
        .into_iter()
        .map(|a| {
            let pairs = warmup_pairs(&grid_of_arch(loaded, a))
                .iter()
                .map(|(_, x, y)| sizes(x, y))
                .collect();
            (a, pairs)
        })
        .collect();
    let total: usize = per_arch.iter().map(|(_, p)| p.len()).sum();
    per_arch
        .into_iter()
        .filter(|(_, pairs)| !pairs.is_empty())
        .map(|(arch, pairs)| {
            let claim = format!("W {} needs warmup", arch.name());
            needs_warmup_line(&claim, &pairs, ALPHA / total as f64, &loaded.margins)
        })
        .collect()
}

/// The design check's lines for this study: each verdict's simulated chances when the arm
/// equals warmup and when it equals no warmup (`PLAN_P_NONE`, `PLAN_P_WARM`).
pub fn where_lines(loaded: &Loaded) -> Vec<DesignLine> {
    let Some(arms) = Arms::of(loaded) else {
        return Vec::new();
    };
    let n = arms.none.runs.len().min(arms.warm.runs.len());
    let line = |claim: String, level: f64, contradiction: bool| {
        let as_warm = between_chances(n, PLAN_P_WARM, PLAN_P_NONE, PLAN_P_WARM, level);
        let as_none = between_chances(n, PLAN_P_NONE, PLAN_P_NONE, PLAN_P_WARM, level);
        // A contradiction needs two interventions each like no warmup.
        let negative = match contradiction {
            true => as_none.negative * as_none.negative,
            false => as_none.negative,
        };
        design_line(claim, level, n, &as_warm, &as_none, negative)
    };
    let mut out: Vec<DesignLine> = arms
        .only
        .iter()
        .map(|(s, _)| {
            line(
                format!("G warmup on {s} only, and on all but {s}"),
                arms.group_level(),
                false,
            )
        })
        .collect();
    out.push(line(
        "M the attention, dead-unit and output-logit accounts (each intervention)".into(),
        arms.intervention_level(),
        true,
    ));
    if !arms.ladder.is_empty() {
        out.push(line(
            "T each shorter warmup of the ladder".into(),
            arms.ladder_level(),
            false,
        ));
    }
    out
}

fn design_line(
    claim: String,
    level: f64,
    n: usize,
    as_warm: &Chances,
    as_none: &Chances,
    negative: f64,
) -> DesignLine {
    DesignLine {
        claim,
        can_hold: as_warm.positive >= 0.5,
        can_refute: negative >= 0.5,
        level: format!("{n} seeds per arm, level {level:.4}, failure rates assumed {PLAN_P_NONE} without and {PLAN_P_WARM} with warmup"),
        positive: format!("if the arm equals warmup: {}", as_warm.text()),
        negative: format!(
            "if it equals no warmup: {}; chance of the negative verdict {negative:.2}",
            as_none.text()
        ),
    }
}
