//! Runs that survive interruption: a run stopped (by a signal, or killed outright) and resumed
//! from its checkpoint ends with the result and weights of the run that was never interrupted,
//! for both architectures, every optimizer, clipping and a loss-ended warmup; bad checkpoints
//! and other configs are refused with one line.

mod common;

use common::resumed::{params, without_timing};
use common::*;
use lnwarm::config::{Arch, OptimizerKind, RunConfig};
use lnwarm::results::RunStatus;
use lnwarm::schedule::{Decay, PlateauRule, Warmup, WarmupKind};
use lnwarm::train::{train, Resume, RunOptions, Setup};

/// The configs a resumed run must reproduce: each architecture, each optimizer, clipping, and a
/// constant warmup that ends when the training loss crosses a threshold.
fn resume_cases() -> Vec<(&'static str, RunConfig)> {
    let mut cases = Vec::new();
    let mut c = tiny_run_config(Arch::PostLn, 60);
    c.optim.clip = Some(0.5);
    cases.push(("post-ln adam clip", c));
    let mut c = tiny_run_config(Arch::PreLn, 60);
    c.optim.kind = OptimizerKind::Radam;
    c.schedule.warmup = Warmup::none();
    cases.push(("pre-ln radam", c));
    let mut c = tiny_run_config(Arch::PostLn, 60);
    c.optim.kind = OptimizerKind::Sgd;
    c.optim.momentum = 0.9;
    c.optim.weight_decay = 1e-4;
    c.schedule.peak_lr = 0.05;
    cases.push(("post-ln sgd momentum", c));
    let mut c = tiny_run_config(Arch::PreLn, 60);
    c.optim.kind = OptimizerKind::Adamw;
    c.optim.weight_decay = 0.1;
    c.schedule.warmup = Warmup {
        kind: WarmupKind::Constant,
        steps: 0,
        start_factor: Some(0.1),
        until_loss: Some(3.3),
        hold: 0,
        start_search: None,
        groups: None,
    };
    cases.push(("pre-ln adamw loss-ended warmup", c));
    // reduce-on-plateau keeps counters between evaluations: cuts before and after the stop.
    let mut c = tiny_run_config(Arch::PreLn, 60);
    c.train.eval_every = 4;
    c.schedule.warmup = Warmup::linear(4);
    c.schedule.decay = Decay::ReduceOnPlateau(PlateauRule {
        factor: 0.9,
        patience: 0,
        threshold: 0.2,
        ..PlateauRule::default()
    });
    cases.push(("pre-ln reduce-on-plateau", c));
    // Probes: the warmup-end drift reference (warmup ends at 10), the sharpness warm starts and
    // the gradient of update 23 (update 24 is measured) live in the checkpoint.
    let mut c = tiny_run_config(Arch::PreLn, 40);
    c.schedule.warmup = Warmup::linear(10);
    c.probe = lnwarm::probe::ProbeConfig {
        names: lnwarm::probe::parse_probe_list("all", OptimizerKind::Adam).unwrap(),
        every: 8.into(),
        batch: 2,
        gradhist_updates: 3,
        lanczos_steps: 5,
        lanczos_tol: 1e-2,
        smallest: true,
    };
    cases.push(("pre-ln with every probe", c));
    // Issue 20's substitutes, stopped inside their window (30 updates): the v-fill is not
    // repeated, the frozen block and the cap pick up where they were; GI-Adam; the catapult
    // search finds the same start again.
    let mut c = tiny_run_config(Arch::PostLn, 60);
    c.schedule.warmup = Warmup::none();
    c.optim.v_fill = 5;
    c.optim.freeze_top = 1;
    c.optim.update_cap = Some(0.01);
    c.optim.window = 30;
    cases.push(("post-ln v-fill, frozen top, update cap", c));
    let mut c = tiny_run_config(Arch::PostLn, 60);
    c.optim.kind = OptimizerKind::Radam;
    c.schedule.warmup = Warmup::none();
    c.optim.freeze_top = 1;
    c.optim.window = 30;
    cases.push(("post-ln radam, frozen top", c));
    let mut c = tiny_run_config(Arch::PreLn, 60);
    c.optim.kind = OptimizerKind::GiAdam;
    c.schedule.warmup = Warmup::none();
    cases.push(("pre-ln gi-adam", c));
    let mut c = tiny_run_config(Arch::PostLn, 60);
    c.schedule.warmup = Warmup::linear(30);
    c.schedule.warmup.start_search = Some(lnwarm::schedule::StartSearch::Catapult);
    cases.push(("post-ln catapult start", c));
    cases
}

#[test]
fn a_run_stopped_between_checkpoints_resumes_to_the_uninterrupted_result() {
    for (name, cfg) in resume_cases() {
        let cfg = cfg.finish().unwrap();
        let whole_setup = Setup::new(&cfg).unwrap();
        let whole = train(&cfg, &whole_setup, "r", &RunOptions::plain(true)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let ckpt = dir.path().join("r.json.ckpt");
        // Stopped at update 23: checkpoints every 10, so the signal path writes its own.
        let stop = |step: u64| (step == 23).then_some(2);
        let first = Setup::new(&cfg).unwrap();
        let opts = RunOptions {
            quiet: true,
            checkpoint_dir: Some(ckpt.clone()),
            checkpoint_every: 10,
            resume: Resume::Never,
            stop: &stop,
        };
        let partial = train(&cfg, &first, "r", &opts).unwrap();
        assert_eq!(partial.status, RunStatus::Interrupted, "{name}");
        assert_eq!(partial.summary.steps_done, 23, "{name}");
        // A fresh process: new weights from the seed, everything else from the checkpoint.
        let second = Setup::new(&cfg).unwrap();
        let never = |_: u64| None;
        let opts = RunOptions {
            resume: Resume::Required,
            stop: &never,
            ..opts
        };
        let resumed = train(&cfg, &second, "r", &opts).unwrap();
        assert_eq!(resumed.status, whole.status, "{name}");
        assert_eq!(resumed.resumed.len(), 1, "{name}");
        assert_eq!(resumed.resumed[0].at_update, 23, "{name}");
        assert_eq!(
            without_timing(&resumed),
            without_timing(&whole),
            "{name}: resumed result differs"
        );
        assert_eq!(
            params(&second),
            params(&whole_setup),
            "{name}: weights differ"
        );
        if matches!(cfg.schedule.decay, Decay::ReduceOnPlateau(_)) {
            let cuts = &whole.lr_reductions;
            assert!(
                cuts.iter().any(|&c| c < 23) && cuts.iter().any(|&c| c > 23),
                "{name}: cuts on both sides of the stop: {cuts:?}"
            );
        }
        if cfg.schedule.warmup.until_loss.is_some() {
            let ended = whole.warmup_ended_at_step.expect("the loss crosses 3.3");
            assert!(
                ended > 23,
                "{name}: the warmup must end after the stop ({ended})"
            );
        }
    }
}

#[test]
fn two_runs_with_the_same_thread_count_are_equal_in_every_number() {
    let cfg = tiny_run_config(Arch::PreLn, 30).finish().unwrap();
    let a = train(
        &cfg,
        &Setup::new(&cfg).unwrap(),
        "d",
        &RunOptions::plain(true),
    )
    .unwrap();
    let b = train(
        &cfg,
        &Setup::new(&cfg).unwrap(),
        "d",
        &RunOptions::plain(true),
    )
    .unwrap();
    assert_eq!(without_timing(&a), without_timing(&b));
}
