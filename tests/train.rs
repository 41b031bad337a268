//! End-to-end training on tiny models: both architectures learn, the result JSON is complete and
//! round-trips, runs are deterministic per seed, the schedule reaches the optimizer.

mod common;

use common::*;
use lnwarm::config::{Arch, OptimizerKind, RunConfig};
use lnwarm::results::{RunResult, RunStatus};
use lnwarm::schedule::LrSchedule;
use lnwarm::train::{train, RunOptions, Setup};

fn run(cfg: &RunConfig) -> RunResult {
    let setup = Setup::new(cfg).expect("setup");
    train(cfg, &setup, "test-run", &RunOptions::plain(true)).expect("train")
}

#[test]
fn both_architectures_learn_below_the_unigram_entropy() {
    for arch in [Arch::PostLn, Arch::PreLn] {
        let result = run(&tiny_run_config(arch, 300));
        assert_eq!(result.status, RunStatus::Ok);
        let entropy = result.summary.val_unigram_entropy;
        let initial = result.eval[0].val_loss;
        let last = result.summary.final_val_loss.unwrap();
        assert!(
            initial > entropy,
            "{arch:?}: at init the loss {initial} is above the unigram entropy {entropy}"
        );
        assert!(
            last < entropy - 0.3,
            "{arch:?}: val loss {last} vs unigram entropy {entropy}"
        );
    }
}

#[test]
fn result_json_round_trips_and_holds_every_layer() {
    let cfg = tiny_run_config(Arch::PreLn, 30);
    let result = run(&cfg);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/run.json");
    result.write(&path).unwrap();
    let back = RunResult::read(&path).unwrap();
    assert_eq!(back, result);
    assert_eq!(back.schema_version, 1);
    assert_eq!(back.config, cfg);
    assert_eq!(back.train.len(), 3, "logged at steps 10, 20, 30");
    assert_eq!(
        back.eval.iter().map(|e| e.step).collect::<Vec<_>>(),
        vec![0, 30]
    );
    for point in &back.grad_norms {
        for layer in 0..cfg.model.n_layers {
            for matrix in ["attn.q", "attn.k", "attn.v", "attn.out", "ffn.w1", "ffn.w2"] {
                let key = format!("blocks.{layer}.{matrix}.weight");
                let norm = point
                    .norms
                    .get(&key)
                    .unwrap_or_else(|| panic!("missing {key}"));
                assert!(*norm > 0.0 && norm.is_finite());
            }
        }
        assert!(point.norms.contains_key("final_ln.weight"));
    }
    assert!(back.summary.mean_tokens_per_s > 0.0);
    assert_eq!(
        back.vocab_size,
        back.data.vocab.len() + usize::from(back.data.has_unk)
    );
    assert_ne!(back.provenance.candle_version, "unknown");
    // No temp files left beside the result.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("sub")).unwrap().collect();
    assert_eq!(leftovers.len(), 1);
}

#[test]
fn same_seed_same_run_other_seed_other_run() {
    let cfg = tiny_run_config(Arch::PostLn, 20);
    let losses = |cfg: &RunConfig| {
        run(cfg)
            .train
            .iter()
            .map(|p| p.train_loss)
            .collect::<Vec<_>>()
    };
    let a = losses(&cfg);
    assert_eq!(a, losses(&cfg));
    let mut other = cfg.clone();
    other.train.seed = 1;
    assert_ne!(a, losses(&other));
}

#[test]
fn logged_lr_is_the_schedule() {
    let cfg = tiny_run_config(Arch::PreLn, 40);
    let result = run(&cfg);
    let schedule = cfg.schedule.build(cfg.train.steps).unwrap();
    for point in &result.train {
        assert_eq!(point.lr, schedule.lr(point.step));
    }
    assert_eq!(
        result.train[0].lr,
        3e-3 * 10.0 / 20.0,
        "linear warmup at step 10 of 20"
    );
}

#[test]
fn every_optimizer_trains() {
    for (kind, lr) in [
        (OptimizerKind::Adamw, 3e-3),
        (OptimizerKind::Sgd, 0.3),
        (OptimizerKind::Radam, 3e-3),
    ] {
        let mut cfg = tiny_run_config(Arch::PreLn, 150);
        cfg.optim.kind = kind;
        cfg.schedule.peak_lr = lr;
        if kind == OptimizerKind::Sgd {
            cfg.optim.momentum = 0.9;
        }
        if kind == OptimizerKind::Adamw {
            cfg.optim.weight_decay = 0.01;
        }
        let result = run(&cfg);
        let (first, last) = (
            result.eval[0].val_loss,
            result.summary.final_val_loss.unwrap(),
        );
        assert!(last < first - 0.3, "{kind:?}: val loss {first} -> {last}");
    }
}

#[test]
fn clipping_caps_the_global_norm() {
    use lnwarm::metrics::{clip_global_norm, GradNorms};
    let (model, store) = tiny_model(&tiny_model_config(Arch::PostLn), candle_core::DType::F32, 0);
    let (ids, targets) = tiny_batch();
    let mut grads = model.loss(&ids, &targets).unwrap().backward().unwrap();
    let before = GradNorms::compute(&store, &grads).unwrap();
    let max_norm = before.global / 4.0;
    let scale = clip_global_norm(&store, &mut grads, before.global, max_norm).unwrap();
    let after = GradNorms::compute(&store, &grads).unwrap();
    assert!((scale - 0.25).abs() < 1e-5);
    assert!((after.global - max_norm).abs() / max_norm < 1e-4);
    assert_eq!(
        clip_global_norm(&store, &mut grads, after.global, after.global * 2.0).unwrap(),
        1.0
    );
}

#[test]
fn divergence_rule() {
    use lnwarm::train::divergence;
    assert!(divergence(f64::NAN, 1.0, 10.0)
        .unwrap()
        .contains("non-finite training loss"));
    assert!(divergence(2.0, f64::INFINITY, 10.0)
        .unwrap()
        .contains("non-finite gradient norm"));
    assert!(divergence(11.0, 1.0, 10.0)
        .unwrap()
        .contains("above the divergence threshold"));
    assert!(divergence(9.0, 1.0, 10.0).is_none());
}

#[test]
fn constant_warmup_until_loss_is_recorded() {
    use lnwarm::schedule::{Warmup, WarmupKind};
    let mut cfg = tiny_run_config(Arch::PreLn, 120);
    let mut warmup = Warmup::of_kind(WarmupKind::Constant, 0);
    warmup.start_factor = Some(0.3);
    warmup.until_loss = Some(3.0);
    cfg.schedule.warmup = warmup;
    cfg.schedule.decay = lnwarm::schedule::Decay::Cosine {
        exponent: 1.0,
        num_cycles: 0.5,
        decay_steps: Some(50),
        alpha: 0.0,
    };
    let result = run(&cfg);
    let crossed = result
        .warmup_ended_at_step
        .expect("the loss falls below 3.0 nats");
    let mut schedule = cfg.schedule.build(cfg.train.steps).unwrap();
    schedule.end_warmup_at(crossed);
    for point in &result.train {
        assert_eq!(point.lr, schedule.lr(point.step), "step {}", point.step);
        if point.step <= crossed {
            assert_eq!(point.lr, 3e-3 * 0.3);
        }
    }
    assert!(result
        .train
        .iter()
        .any(|p| p.step > crossed && p.lr < 3e-3 * 0.99));
}

#[test]
fn the_outcome_is_computed_at_the_end_of_every_run() {
    use lnwarm::outcome::RunOutcome;
    // Learns: 0.3 nats below the unigram entropy at the end (the test above) -> ok.
    let ok = run(&tiny_run_config(Arch::PreLn, 300));
    assert_eq!(ok.summary.outcome, RunOutcome::Ok);
    // A rate too small to move the weights: the loss stays at its initial value. After 40
    // updates, 20 of them past the warmup, that is too short to tell -> undecided; after 140
    // updates at the peak rate -> stalled.
    let mut cfg = tiny_run_config(Arch::PostLn, 40);
    cfg.schedule.peak_lr = 1e-9;
    let short = run(&cfg);
    assert_eq!(short.status, RunStatus::Ok);
    assert_eq!(short.summary.outcome, RunOutcome::Undecided);
    cfg.train.steps = 140;
    cfg.schedule.warmup = lnwarm::schedule::Warmup::none();
    let stalled = run(&cfg);
    assert_eq!(stalled.summary.outcome, RunOutcome::Stalled);
    // Above the divergence threshold at the first update -> diverged, in the JSON as well.
    let mut cfg = tiny_run_config(Arch::PostLn, 40);
    cfg.train.diverge_loss = Some(0.5);
    let diverged = run(&cfg);
    assert_eq!(diverged.status, RunStatus::Diverged);
    assert_eq!(diverged.summary.outcome, RunOutcome::Diverged);
    let json = serde_json::to_value(&diverged).unwrap();
    assert_eq!(json["summary"]["outcome"], "diverged");
    assert_eq!(json["status"], "diverged");
}
