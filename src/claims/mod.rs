//! `lnwarm claims`: verdicts on the paper's three claims from a study's results (and a grad-init
//! JSON for claim 1). Training outcomes are bimodal (a seed trains or it stalls), so the rules use
//! exact and rank tests, never means: failure rates with Fisher's exact test, final losses and
//! updates-to-loss with the Mann–Whitney U test (a diverged run or a never-reached loss ranks
//! worst). Tests over several peak rates or pairs are Bonferroni-corrected; every verdict states
//! its rule. The grid arms are Adam with a linear warmup (or none); `extra` arms (other warmup
//! kinds, RAdam) are judged separately in 2d.
//!
//! A negative verdict needs evidence too (issue 23): the confidence bounds of the differences
//! within the study's margins (`evidence`), else it is inconclusive with the seeds that would
//! settle it; every verdict carries its effect sizes with their bounds. `design` tells, before
//! any run, which verdicts a study's seed counts can reach (`lnwarm sweep plan --power`).
//!
//! Files: `warmup` (2, 2a, 2d, the lineage's "W"), `sensitivity` (2b, 2c), `speed` (3),
//! `lr_sensitivity` ("L": warmup and the LR sensitivity of Wortsman et al. 2023), `mechanisms`
//! ("S" and "M": the warmup substitutes and the accounts of why warmup works).

mod accounts;
pub mod chances;
pub mod design;
mod evidence;
pub mod interventions;
mod lr_sensitivity;
mod mechanisms;
mod sensitivity;
mod speed;
mod warmup;
mod where_arms;

pub use warmup::variants_need_warmup;

use crate::analysis::{partition, Group, Loaded};
use crate::config::{Arch, OptimizerKind};
use crate::grad_init::GradInitResult;
use crate::schedule::WarmupKind;
use crate::stats::rank::MedianInterval;
use crate::verdict::{Outcome, Verdict};
use interventions::Intervention;

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

/// Issue 20's warmup substitute in a configuration (None: plain); `label()` is the name the
/// rules use.
fn substitute_of(g: &Group) -> Option<Intervention> {
    Intervention::of(&g.runs[0].config, interventions::Kind::Substitute)
}

/// A grid arm: Adam with a linear warmup or none (the paper's setting) and no warmup
/// substitute (those are judged as rescues, like other warmup kinds and optimizers).
fn is_grid_arm(g: &Group) -> bool {
    let c = &g.runs[0].config;
    c.optim.kind == OptimizerKind::Adam
        && matches!(
            c.schedule.warmup.kind,
            WarmupKind::None | WarmupKind::Linear
        )
        && substitute_of(g).is_none()
        && c.schedule.warmup.groups.is_none()
        && !c.model.qk_norm
        && c.model.z_loss.is_none()
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
        effect: String::new(),
    }
}

/// A verdict with its effect sizes (one entry per compared pair).
fn verdict_with_effect(
    claim: &str,
    outcome: Outcome,
    rule: &str,
    evidence: Vec<String>,
    effect: Vec<String>,
) -> Verdict {
    Verdict {
        effect: effect.join("; "),
        ..verdict(claim, outcome, rule, evidence)
    }
}

fn inconclusive(claim: &str, rule: &str, why: &str) -> Verdict {
    verdict(claim, Outcome::Inconclusive, rule, vec![why.into()])
}

/// All verdicts: claim 1 (from grad-init, if given), 2, 2a-2d and 3, and for a study of the
/// normalization lineage, "W <arch> needs warmup" per architecture.
pub fn verdicts(loaded: &Loaded, grad_init: Option<&GradInitResult>) -> Vec<Verdict> {
    let mut out = claim1(grad_init);
    out.extend(warmup::claim2(loaded));
    out.push(speed::claim3(loaded));
    out.extend(variants_need_warmup(loaded));
    out.extend(lr_sensitivity::verdicts(loaded));
    out.extend(mechanisms::verdicts(loaded));
    out.extend(accounts::verdicts(loaded));
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
