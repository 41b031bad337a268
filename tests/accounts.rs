//! The where-warmup-acts verdicts (issue 32, src/claims/accounts.rs) on hand-made result sets:
//! a group that carries warmup, each account verdict (supported, contradicted, not tested,
//! inconclusive), and no "contradicted" without the manipulation check.

mod common;

use common::made::{claims_on, made, tiny_result, verdict_of};
use lnwarm::config::{Activation, Arch};
use lnwarm::probe::{Attention, ProbePoint, UpdateStats};
use lnwarm::results::RunResult;
use lnwarm::verdict::{Outcome, Verdict};
use std::collections::BTreeMap;

const SEEDS: u64 = 12;

/// One seed's result; `fails` picks the stalled curve. `q`, `inactive`, `log_z`: the probe
/// quantities at update 20.
fn run(template: &RunResult, seed: u64, fails: bool, quantities: (f64, f64, f64)) -> RunResult {
    let j = 0.001 * seed as f64;
    let curve = match fails {
        true => [4.5, 3.0, 3.0, 3.0 + j],
        false => [4.5, 2.6, 2.3, 2.2 + j],
    };
    // Each arm sets its warmup (`warmup`, `group`).
    let mut r = made(template, Arch::PostLn, 0, 4e-3, seed, &curve);
    let (q, inactive, log_z) = quantities;
    let stats = |g: f64| UpdateStats {
        relative: None,
        angle: None,
        update_rms: 0.0,
        grad_rms: g * (1.0 + j),
        v_below_eps: None,
        v_hat_mean: None,
        v_hat_max: None,
    };
    let update: BTreeMap<String, UpdateStats> = (0..2)
        .map(|b| (format!("blocks.{b}.attn.q.weight"), stats(q)))
        .collect();
    r.probes = vec![ProbePoint {
        step: 20,
        update: Some(update),
        ffn_inactive: Some(vec![inactive + j, inactive + j]),
        attention: Some(Attention {
            layers: Vec::new(),
            log_z_mean: log_z + j,
            log_z_max: log_z,
        }),
        ..ProbePoint::default()
    }];
    r
}

/// The quantities of no warmup (vanished query gradients, dead units, large log Z) and warmup.
const AS_NONE: (f64, f64, f64) = (1e-9, 0.5, 6.0);
const AS_WARM: (f64, f64, f64) = (1e-4, 0.05, 4.0);

/// An arm: `edit` sets its config; every seed fails or none does.
fn arm(
    t: &RunResult,
    edit: &dyn Fn(&mut RunResult),
    fails: bool,
    q: (f64, f64, f64),
) -> Vec<RunResult> {
    (0..SEEDS)
        .map(|s| {
            let mut r = run(t, s, fails, q);
            edit(&mut r);
            r
        })
        .collect()
}

fn warmup(w: u64) -> impl Fn(&mut RunResult) {
    move |r| r.config.schedule.warmup = lnwarm::schedule::Warmup::linear(w)
}

fn group(spec: &'static str) -> impl Fn(&mut RunResult) {
    move |r| {
        r.config.schedule.warmup = lnwarm::schedule::Warmup::linear(100);
        r.config.schedule.warmup.groups = Some(spec.into());
    }
}

/// The claims on `runs`, updates-to-loss at 2.5 nats.
fn verdicts(runs: Vec<RunResult>) -> Vec<Verdict> {
    claims_on(runs, 2.5)
}

#[test]
fn each_account_verdict_comes_from_its_rule() {
    let t = tiny_result(Arch::PostLn, 0);
    let mut runs = arm(&t, &warmup(0), true, AS_NONE);
    runs.extend(arm(&t, &warmup(100), false, AS_WARM));
    // attn-qk carries warmup: alone like warmup, all but it like no warmup.
    runs.extend(arm(&t, &group("attn-qk"), false, AS_WARM));
    runs.extend(arm(&t, &group("!attn-qk"), true, AS_NONE));
    // Dead units: GELU (check by construction) and warmup on ffn only (check passed: its
    // inactive share is warmup's) both fail like no warmup -> contradicted.
    let gelu = |r: &mut RunResult| {
        warmup(0)(r);
        r.config.model.activation = Activation::Gelu;
    };
    runs.extend(arm(&t, &gelu, true, AS_NONE));
    runs.extend(arm(&t, &group("ffn"), true, (1e-9, 0.05, 6.0)));
    // Output logits: both z-loss strengths fail like no warmup, but log Z stayed at no
    // warmup's level (the manipulation check fails): not contradicted.
    for c in [1e-4, 1e-3] {
        let z = move |r: &mut RunResult| {
            warmup(0)(r);
            r.config.model.z_loss = Some(c);
        };
        runs.extend(arm(&t, &z, true, AS_NONE));
    }
    let v = verdicts(runs);
    let attention = verdict_of(&v, "M the attention account");
    assert_eq!(attention.outcome, Outcome::Holds, "{attention:#?}");
    assert_eq!(attention.word(), "supported");
    let dead = verdict_of(&v, "M the dead-unit account");
    assert_eq!(dead.outcome, Outcome::DoesNotHold, "{dead:#?}");
    assert_eq!(dead.word(), "contradicted");
    assert!(dead.evidence.contains("warmup on ffn only (12/12 failed): like no warmup; warmup on ffn only: manipulation check passed"), "{}", dead.evidence);
    let logits = verdict_of(&v, "M the output-logit account");
    assert_eq!(logits.outcome, Outcome::Inconclusive, "{logits:#?}");
    assert!(
        logits.evidence.contains("manipulation check failed"),
        "{}",
        logits.evidence
    );
    assert_eq!(verdict_of(&v, "M reason (1)").outcome, Outcome::NotTested);
    assert_eq!(verdict_of(&v, "M reason (1)").word(), "not tested");
    assert!(verdict_of(&v, "M Adam's early second moment")
        .evidence
        .contains("1/(1 - beta2) = 50 updates (beta2 = 0.98"));
    let at = verdict_of(
        &v,
        "G one parameter group, or a set of them, carries warmup",
    );
    assert_eq!(at.outcome, Outcome::Holds, "{at:#?}");
    assert!(
        at.evidence.starts_with("warmup acts on attn-qk"),
        "{}",
        at.evidence
    );
    assert!(
        attention
            .evidence
            .contains("lower without warmup than with it from update 20"),
        "{}",
        attention.evidence
    );
}

#[test]
fn no_group_carrying_warmup_asks_for_the_second_stage() {
    let t = tiny_result(Arch::PostLn, 0);
    let mut runs = arm(&t, &warmup(0), true, AS_NONE);
    runs.extend(arm(&t, &warmup(100), false, AS_WARM));
    // Neither attn-qk nor ffn alone does it; leaving either out fails: U = attn-qk,ffn.
    for spec in ["attn-qk", "ffn"] {
        runs.extend(arm(&t, &group(spec), true, AS_NONE));
    }
    runs.extend(arm(&t, &group("!attn-qk"), true, AS_NONE));
    runs.extend(arm(&t, &group("!ffn"), true, AS_NONE));
    let v = verdicts(runs.clone());
    let at = verdict_of(&v, "G one parameter group");
    assert_eq!(at.outcome, Outcome::Inconclusive);
    assert!(
        at.evidence.contains(
            "the second stage is due: run warmup on attn-qk,ffn only and on all but attn-qk,ffn"
        ),
        "{}",
        at.evidence
    );
    // The second stage run: only U like warmup, all but U like no warmup -> acts on the set.
    runs.extend(arm(&t, &group("attn-qk,ffn"), false, AS_WARM));
    runs.extend(arm(&t, &group("!attn-qk,ffn"), true, AS_NONE));
    let second = verdicts(runs);
    let at = verdict_of(&second, "G one parameter group");
    assert_eq!(at.outcome, Outcome::Holds, "{at:#?}");
    // An account nothing aimed at: not tested.
    assert_eq!(
        verdict_of(&v, "M the output-logit account").outcome,
        Outcome::NotTested
    );
}

#[test]
fn a_depth_account_is_contradicted_only_by_the_complementary_arms() {
    // rules.md: reason (2) and the gradient-scale argument are contradicted when each "warmup on
    // X only" is like no warmup *and* each "warmup on all but X" is like warmup. Two "only" arms
    // like no warmup are not enough (the code at 3ca4bed said "contradicted" here).
    let t = tiny_result(Arch::PostLn, 0);
    let mut runs = arm(&t, &warmup(0), true, AS_NONE);
    runs.extend(arm(&t, &warmup(100), false, AS_WARM));
    for spec in ["top:2", "embed", "!top:2"] {
        runs.extend(arm(&t, &group(spec), true, AS_NONE));
    }
    runs.extend(arm(&t, &group("!embed"), false, AS_WARM));
    let v = verdicts(runs.clone());
    let scale = verdict_of(&v, "M the paper's gradient-scale argument");
    assert_eq!(scale.outcome, Outcome::Inconclusive, "{scale:#?}");
    assert!(
        scale
            .evidence
            .contains("warmup on all but top:2: like no warmup"),
        "{}",
        scale.evidence
    );
    // With all but top:2 like warmup too, both complements hold: contradicted.
    let mut runs: Vec<RunResult> = runs
        .into_iter()
        .filter(|r| r.config.schedule.warmup.groups.as_deref() != Some("!top:2"))
        .collect();
    runs.extend(arm(&t, &group("!top:2"), false, AS_WARM));
    let v = verdicts(runs);
    assert_eq!(
        verdict_of(&v, "M the paper's gradient-scale argument").word(),
        "contradicted"
    );
    assert_eq!(verdict_of(&v, "M reason (2)").word(), "contradicted");
}
