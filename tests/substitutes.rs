//! The warmup substitutes of issue 20 on parameters whose updates have closed forms: a loss
//! sum(c · w) has the constant gradient c, under which Adam moves every coordinate by
//! lr·c/(|c|·sqrt(1 − β2^t)/sqrt(1 − β2^t) + ε) ≈ lr·sign(c) per update.

mod common;

use candle_core::{DType, Device, Tensor, Var};
use common::{tiny_batch, tiny_model, tiny_model_config};
use lnwarm::config::{Arch, OptimConfig, OptimizerKind, RunConfig};
use lnwarm::optim::Optimizer;
use lnwarm::train::catapult::{self, BISECTIONS, DELTA, FIRST_RATE};

const LR: f64 = 0.1;

fn var(values: &[f64]) -> Var {
    Var::new(values, &Device::Cpu).unwrap()
}

fn values(v: &Var) -> Vec<f64> {
    v.as_tensor().to_vec1().unwrap()
}

/// The gradients of sum over `vars` of c · w, with c = (0.5, -2, 1) cycled.
fn grads(vars: &[(String, Var)]) -> candle_core::backprop::GradStore {
    let mut loss: Option<Tensor> = None;
    for (_, v) in vars {
        let n = v.as_tensor().dims1().unwrap();
        let c: Vec<f64> = (0..n).map(|i| [0.5, -2.0, 1.0][i % 3]).collect();
        let term = (v.as_tensor() * Tensor::new(c.as_slice(), &Device::Cpu).unwrap())
            .unwrap()
            .sum_all()
            .unwrap();
        loss = Some(match loss {
            None => term,
            Some(l) => (l + term).unwrap(),
        });
    }
    loss.unwrap().backward().unwrap()
}

fn adam(extra: impl FnOnce(&mut OptimConfig)) -> OptimConfig {
    let mut cfg = OptimConfig {
        kind: OptimizerKind::Adam,
        ..OptimConfig::default()
    };
    extra(&mut cfg);
    cfg
}

/// Adam's update of a coordinate with gradient c after t updates of that constant gradient,
/// with v's correction counting `fill` more batches of it.
fn adam_move(c: f64, t: i32, fill: i32, cfg: &OptimConfig) -> f64 {
    let m_hat = c; // (1 - b1^t) c / (1 - b1^t)
    let v = (1.0 - cfg.beta2.powi(t + fill)) * c * c;
    let v_hat = v / (1.0 - cfg.beta2.powi(t + fill));
    -LR * m_hat / (v_hat.sqrt() + cfg.eps)
}

#[test]
fn v_fill_leaves_the_weights_alone_and_fills_v() {
    let cfg = adam(|c| c.v_fill = 3);
    let w = var(&[1.0, 1.0, 1.0]);
    let named = vec![("w".to_string(), w.clone())];
    let mut opt = Optimizer::new(&named, &cfg, LR).unwrap();
    for _ in 0..3 {
        opt.fill_second_moment(&grads(&named)).unwrap();
        assert_eq!(values(&w), vec![1.0, 1.0, 1.0], "the fill moves no weight");
    }
    assert_eq!(opt.updates(), 0, "the fill is no update");
    let v = opt.state().tensors["w.exp_avg_sq"]
        .to_vec1::<f64>()
        .unwrap();
    for (vi, c) in v.iter().zip([0.5f64, -2.0, 1.0]) {
        let expected = (1.0 - cfg.beta2.powi(3)) * c * c;
        assert!((vi - expected).abs() < 1e-15, "{vi} vs {expected}");
    }
    // The first update: m̂ = c, v̂ = (1 − β2^4) c² / (1 − β2^4) = c².
    opt.step(&grads(&named)).unwrap();
    for (wi, c) in values(&w).iter().zip([0.5f64, -2.0, 1.0]) {
        let expected = 1.0 + adam_move(c, 1, 3, &cfg);
        assert!((wi - expected).abs() < 1e-14, "{wi} vs {expected}");
    }
}

#[test]
fn the_update_cap_bounds_every_tensors_relative_update_in_its_window() {
    let cap = 0.01;
    let cfg = adam(|c| {
        c.update_cap = Some(cap);
        c.window = 3;
    });
    let named = vec![
        ("a".to_string(), var(&[1.0, 1.0, 1.0])),
        ("b".to_string(), var(&[3.0, -4.0])),
        ("zero_bias".to_string(), var(&[0.0, 0.0])),
    ];
    let mut opt = Optimizer::new(&named, &cfg, LR).unwrap();
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    for update in 1..=5 {
        let before: Vec<Vec<f64>> = named.iter().map(|(_, v)| values(v)).collect();
        opt.step(&grads(&named)).unwrap();
        for ((name, v), old) in named.iter().zip(&before) {
            let new = values(v);
            let delta: Vec<f64> = new.iter().zip(old).map(|(n, o)| n - o).collect();
            let ratio = norm(&delta) / norm(old);
            if name == "zero_bias" && update == 1 {
                // No relative size at zero: not capped (Adam moves it lr per coordinate).
                assert!((delta[0] + LR).abs() < 1e-6, "{delta:?}");
            } else if update <= 3 {
                assert!(
                    ratio <= cap * (1.0 + 1e-9),
                    "{name} update {update}: {ratio}"
                );
                assert!(ratio > cap * 0.999, "capped to the cap, not below: {ratio}");
            } else {
                assert!(ratio > 2.0 * cap, "after the window, uncapped: {ratio}");
            }
        }
    }
}

#[test]
fn frozen_top_blocks_stay_bit_identical_then_start_as_fresh_parameters() {
    let cfg = adam(|c| {
        c.freeze_top = 1;
        c.window = 2;
    });
    let start = [0.25, -0.5, 0.75];
    let named: Vec<(String, Var)> = [
        "blocks.0.ffn.w1.weight",
        "blocks.1.ffn.w1.weight",
        "final_ln.weight",
        "tok_emb.weight",
    ]
    .iter()
    .map(|n| (n.to_string(), var(&start)))
    .collect();
    let mut opt = Optimizer::new(&named, &cfg, LR).unwrap();
    for _ in 0..2 {
        opt.step(&grads(&named)).unwrap();
    }
    // What the probes read: the frozen parameters have no second moment yet, so they are
    // not active (the preconditioned sharpness leaves them out rather than use P = ε).
    let moment = opt.second_moment().unwrap().unwrap();
    assert_eq!(moment.active, [true, false, false, true]);
    for (name, v) in &named {
        let frozen = name.starts_with("blocks.1") || name.starts_with("final_ln");
        assert_eq!(
            values(v) == start,
            frozen,
            "{name}: frozen in the window, else moved"
        );
    }
    // Update 3: the top block's first own update, bias-corrected as an update 1 (lr·sign(c)).
    opt.step(&grads(&named)).unwrap();
    let top = values(&named[1].1);
    for ((w, s), c) in top.iter().zip(start).zip([0.5f64, -2.0, 1.0]) {
        let expected = s + adam_move(c, 1, 0, &cfg);
        assert!((w - expected).abs() < 1e-14, "{w} vs {expected}");
    }
    // Its moments started at update 3: m = (1 − β1) c, not three updates' worth.
    let m = opt.state().tensors["blocks.1.ffn.w1.weight.exp_avg"]
        .to_vec1::<f64>()
        .unwrap();
    assert!((m[0] - (1.0 - cfg.beta1) * 0.5).abs() < 1e-15, "{m:?}");
    // v̂ is corrected by each parameter's own count: under a constant gradient it is c² for
    // the top block (1 own update) as for the bottom one (3), not (1 − β2) c² / (1 − β2³).
    let moment = opt.second_moment().unwrap().unwrap();
    assert_eq!(moment.active, [true; 4]);
    for v_hat in &moment.v_hat[..2] {
        let v_hat = v_hat.to_vec1::<f64>().unwrap();
        for (v, c) in v_hat.iter().zip([0.5f64, -2.0, 1.0]) {
            assert!((v - c * c).abs() < 1e-12 * c * c, "{v} vs {}", c * c);
        }
    }
}

/// RAdam under `--freeze-top` likewise: the top block's first own update is RAdam's update 1
/// (un-rectified momentum, m̂ = c: a move of exactly lr·c), not its update 3
/// ((1 − β1) c / (1 − β1³) ≈ 0.37 c).
#[test]
fn a_frozen_block_under_radam_starts_with_radams_first_update() {
    let cfg = OptimConfig {
        kind: OptimizerKind::Radam,
        freeze_top: 1,
        window: 2,
        ..OptimConfig::default()
    };
    let start = [0.25, -0.5, 0.75];
    let named: Vec<(String, Var)> = ["blocks.0.ffn.w1.weight", "blocks.1.ffn.w1.weight"]
        .iter()
        .map(|n| (n.to_string(), var(&start)))
        .collect();
    let mut opt = Optimizer::new(&named, &cfg, LR).unwrap();
    for _ in 0..3 {
        opt.step(&grads(&named)).unwrap();
    }
    let top = values(&named[1].1);
    for ((w, s), c) in top.iter().zip(start).zip([0.5f64, -2.0, 1.0]) {
        assert!((w - (s - LR * c)).abs() < 1e-15, "{w} vs {}", s - LR * c);
    }
}

/// The catapult search: rates double from 1e-4 while one update keeps the loss within
/// L0·(1 + δ), then 4 bisections; one forward pass for L0 and one per trial; the model is
/// left exactly as it was built.
#[test]
fn the_catapult_search_doubles_then_bisects_with_one_forward_pass_per_trial() {
    for arch in [Arch::PostLn, Arch::PreLn] {
        let (model, store) = tiny_model(&tiny_model_config(arch), DType::F32, 3);
        let before: Vec<Vec<f32>> = store
            .named_vars()
            .iter()
            .map(|(_, v)| v.as_tensor().flatten_all().unwrap().to_vec1().unwrap())
            .collect();
        let cfg = RunConfig::default();
        let found = catapult::search(&cfg, &model, &store, &tiny_batch()).unwrap();
        assert_eq!(found.forward_passes, 1 + found.trials.len());
        assert!((found.threshold - found.loss_at_init * (1.0 + DELTA)).abs() < 1e-12);
        let doublings = found.trials.len() - BISECTIONS;
        for (k, (rate, loss)) in found.trials[..doublings].iter().enumerate() {
            assert!((rate - FIRST_RATE * 2f64.powi(k as i32)).abs() < 1e-15);
            let stayed = *loss <= found.threshold;
            assert_eq!(
                stayed,
                k + 1 < doublings,
                "{arch:?}: only the last doubling rises"
            );
        }
        let best_stayed = found
            .trials
            .iter()
            .filter(|(_, loss)| *loss <= found.threshold)
            .map(|(rate, _)| *rate)
            .fold(0.0, f64::max);
        assert_eq!(found.rate, best_stayed, "{arch:?}: {found:?}");
        let after: Vec<Vec<f32>> = store
            .named_vars()
            .iter()
            .map(|(_, v)| v.as_tensor().flatten_all().unwrap().to_vec1().unwrap())
            .collect();
        assert_eq!(
            before, after,
            "{arch:?}: the search leaves the weights as built"
        );
    }
}
