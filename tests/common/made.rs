//! Hand-made study results for the verdict and report tests: a tiny trained run as a template,
//! copies of it with chosen axes and validation curves, and the claims on a set of them.

use super::tiny_run_config;
use lnwarm::analysis::load_dir;
use lnwarm::config::Arch;
use lnwarm::results::{EvalPoint, RunResult, RunStatus};
use lnwarm::verdict::Outcome;

pub fn tiny_result(arch: Arch, seed: u64) -> RunResult {
    let mut cfg = tiny_run_config(arch, 20);
    cfg.train.seed = seed;
    let setup = lnwarm::train::Setup::new(&cfg).unwrap();
    lnwarm::train::train(&cfg, &setup, "t", &lnwarm::train::RunOptions::plain(true)).unwrap()
}

/// A hand-made result: `template` with the given config axes and a validation curve.
pub fn made(
    template: &RunResult,
    arch: Arch,
    warmup: u64,
    lr: f64,
    seed: u64,
    curve: &[f64],
) -> RunResult {
    let mut r = template.clone();
    r.config.model.arch = arch;
    r.config.schedule.warmup = lnwarm::schedule::Warmup::linear(warmup);
    r.config.schedule.peak_lr = lr;
    r.config.train.seed = seed;
    r.config.train.steps = 100 * (curve.len() as u64 - 1);
    r.seed = seed;
    r.status = RunStatus::Ok;
    r.eval = curve
        .iter()
        .enumerate()
        .map(|(i, &v)| EvalPoint {
            step: 100 * i as u64,
            val_loss: v,
        })
        .collect();
    r.summary.val_unigram_entropy = 3.0;
    r.summary.steps_done = r.config.train.steps;
    r.summary.final_val_loss = curve.last().copied();
    r.summary.best_val_loss = curve.iter().copied().reduce(f64::min);
    r
}

pub fn claims_on(results: Vec<RunResult>, target: f64) -> Vec<lnwarm::verdict::Verdict> {
    claims_with_margins(results, target, None)
}

/// Claims with the study's `margins` (a JSON object; None: the defaults).
pub fn claims_with_margins(
    results: Vec<RunResult>,
    target: f64,
    margins: Option<&str>,
) -> Vec<lnwarm::verdict::Verdict> {
    let dir = tempfile::tempdir().unwrap();
    for (i, r) in results.iter().enumerate() {
        r.write(&dir.path().join(format!("r{i}.json"))).unwrap();
    }
    if let Some(m) = margins {
        std::fs::write(
            dir.path().join("study.json"),
            format!("{{\"margins\": {m}}}"),
        )
        .unwrap();
    }
    let loaded = load_dir(dir.path(), Some(target)).unwrap();
    lnwarm::claims::verdicts(&loaded, None)
}

pub fn verdict_of<'a>(
    verdicts: &'a [lnwarm::verdict::Verdict],
    prefix: &str,
) -> &'a lnwarm::verdict::Verdict {
    verdicts
        .iter()
        .find(|v| v.claim.starts_with(prefix))
        .unwrap_or_else(|| panic!("no verdict {prefix}"))
}

pub fn outcome_of(verdicts: &[lnwarm::verdict::Verdict], prefix: &str) -> Outcome {
    verdicts
        .iter()
        .find(|v| v.claim.starts_with(prefix))
        .unwrap_or_else(|| panic!("no verdict {prefix}"))
        .outcome
}

/// Six seeds per arm: the fewest at which 4-of-6 against 0-of-6 failures can pass a
/// Bonferroni-corrected Fisher test is 5 of 6, so the hand-made data use 6/6 and 0/6.
pub const SEEDS: u64 = 6;
