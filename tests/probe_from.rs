//! `lnwarm probe --from CKPT` puts a checkpoint back as `--resume` does (issue 34): a run whose
//! reduce-on-plateau cut its rate, and one whose warmup starts at the catapult search's rate,
//! probed from their checkpoints at update 12, measure at the rate the run itself used at
//! update 13 and against that rate's stability threshold; and Adam's preconditioned sharpness
//! is measured at the checkpoint's own weights, with its own second moment.

mod common;

use common::*;
use lnwarm::config::{Arch, RunConfig};
use lnwarm::results::RunResult;
use lnwarm::schedule::{Decay, PlateauRule, StartSearch, Warmup};
use serde_json::Value;
use std::path::Path;

/// Train `cfg` for `steps` updates into `name` (every update logged).
fn train(dir: &Path, cfg: &RunConfig, steps: u64, name: &str) -> RunResult {
    let mut cfg = cfg.clone();
    cfg.train.steps = steps;
    let file = dir.join(format!("{name}.config.json"));
    std::fs::write(&file, serde_json::to_string(&cfg).unwrap()).unwrap();
    let out = format!("{name}.json");
    let ran = lnwarm(
        dir,
        &["--config", file.to_str().unwrap(), "--out", &out, "--quiet"],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    RunResult::read(&dir.join(&out)).unwrap()
}

/// The rate the run used at `step`, from its log.
fn lr_at(run: &RunResult, step: u64) -> f64 {
    run.train.iter().find(|p| p.step == step).unwrap().lr
}

/// `lnwarm probe --from <name>.json.ckpt --probe sharpness,adam-sharpness`: the entry.
fn probe_from(dir: &Path, name: &str) -> Value {
    let ckpt = format!("{name}.json.ckpt");
    let out = format!("{name}.probe.json");
    let ran = lnwarm(
        dir,
        &[
            "probe",
            "--from",
            &ckpt,
            "--probe",
            "sharpness,adam-sharpness",
            "--out",
            &out,
        ],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(&out)).unwrap()).unwrap();
    report["entries"][0].clone()
}

fn check(cfg: RunConfig, what: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = cfg;
    cfg.train.log_every = 1;
    let full = train(dir.path(), &cfg, 30, "full");
    train(dir.path(), &cfg, 12, "first12");
    let entry = probe_from(dir.path(), "first12");
    assert_eq!(entry["at"]["step"], 12, "{what}");
    assert_eq!(entry["next"]["step"], 13, "{what}");
    // At the checkpoint the threshold is taken at the update just made (12); after the next
    // update, at update 13's rate: both the run's own.
    for (point, step) in [("at", 12), ("next", 13)] {
        let run_lr = lr_at(&full, step);
        let sharp = &entry[point]["sharpness"];
        assert_eq!(
            sharp["lr"].as_f64().unwrap(),
            run_lr,
            "{what}: {point}, the rate of update {step}"
        );
        let threshold = sharp["threshold"].as_f64().unwrap();
        assert!(
            (threshold - 2.0 / run_lr).abs() <= 1e-12 * threshold,
            "{what}: 2/η"
        );
        let adam = &entry[point]["adam_sharpness"];
        assert!(
            adam["lambda_max"].as_f64().is_some_and(f64::is_finite),
            "{what}: Adam's sharpness {point} the checkpoint: {adam}"
        );
        assert_eq!(adam["lr"].as_f64().unwrap(), run_lr, "{what}: {point}");
    }
}

#[test]
fn a_plateau_cut_run_is_probed_at_the_rate_it_used() {
    let mut cfg = tiny_run_config(Arch::PreLn, 30);
    cfg.train.eval_every = 4;
    cfg.schedule.warmup = Warmup::linear(4);
    cfg.schedule.decay = Decay::ReduceOnPlateau(PlateauRule {
        factor: 0.5,
        patience: 0,
        threshold: 0.2,
        ..PlateauRule::default()
    });
    // The test means something only if the rate was cut before update 13.
    let dir = tempfile::tempdir().unwrap();
    let mut logged = cfg.clone();
    logged.train.log_every = 1;
    let full = train(dir.path(), &logged, 30, "full");
    assert!(
        full.lr_reductions.iter().any(|&s| s < 12),
        "no cut before update 12: {:?}",
        full.lr_reductions
    );
    // A cut at update 12 applies from update 13: only a replay of the evaluations finds it.
    assert!(full.lr_reductions.contains(&12), "{:?}", full.lr_reductions);
    assert!(lr_at(&full, 13) < lr_at(&full, 12));
    check(cfg, "reduce-on-plateau");
}

#[test]
fn a_catapult_started_run_is_probed_at_the_rate_it_used() {
    let mut cfg = tiny_run_config(Arch::PostLn, 30);
    // Still in the warmup at update 13, which ramps from the catapult search's rate.
    cfg.schedule.warmup = Warmup::linear(20);
    cfg.schedule.warmup.start_search = Some(StartSearch::Catapult);
    cfg.schedule.decay = Decay::Constant;
    check(cfg, "catapult");
}
