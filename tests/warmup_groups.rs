//! `--warmup-groups` (issue 32): the warmup ramp on some parameters, the full rate on the rest.
//! Checked against closed forms: each parameter's rate is the schedule's (warmed) or the peak
//! (not warmed), and Adam's first step moves each coordinate by its own rate (|m̂/sqrt(v̂)| = 1
//! at t = 1); a selection covering every parameter is the plain warmup, bit for bit.

mod common;

use common::tiny_run_config;
use lnwarm::config::{Arch, RunConfig};
use lnwarm::optim::Optimizer;
use lnwarm::schedule::groups::GroupSpec;
use lnwarm::schedule::LrSchedule;
use lnwarm::train::{train, RunOptions, Setup};

fn run(cfg: &RunConfig) -> lnwarm::results::RunResult {
    let setup = Setup::new(cfg).expect("setup");
    train(cfg, &setup, "groups", &RunOptions::plain(true)).expect("train")
}

fn with_groups(spec: &str) -> RunConfig {
    let mut cfg = tiny_run_config(Arch::PostLn, 30);
    cfg.schedule.warmup.groups = Some(spec.into());
    cfg
}

#[test]
fn a_selection_covering_every_parameter_is_the_plain_warmup() {
    let plain = run(&tiny_run_config(Arch::PostLn, 30));
    // Post-LN's parameters, partitioned by the five type groups.
    let every = run(&with_groups("attn-qk,attn-vo,ffn,norms,embed"));
    let losses = |r: &lnwarm::results::RunResult| -> Vec<f64> {
        r.train.iter().map(|p| p.train_loss).collect()
    };
    assert_eq!(losses(&plain), losses(&every));
    assert_eq!(plain.eval, every.eval);
    // Warming nothing but the norms is another run.
    let norms = run(&with_groups("norms"));
    assert_ne!(losses(&plain), losses(&norms));
}

#[test]
fn each_parameter_moves_at_its_own_rate() {
    let cfg = with_groups("!attn-qk");
    let setup = Setup::new(&cfg).unwrap();
    let names: Vec<String> = setup
        .store
        .named_vars()
        .iter()
        .map(|(n, _)| n.clone())
        .collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let spec = GroupSpec::parse("!attn-qk").unwrap();
    let warmed = spec.mask("!attn-qk", &refs, cfg.model.n_layers).unwrap();
    let schedule = cfg.schedule.build(cfg.train.steps).unwrap();
    let (peak, w) = (cfg.schedule.peak_lr, cfg.schedule.warmup.steps as f64);
    let mut opt = Optimizer::new(setup.store.named_vars(), &cfg.optim, 0.0).unwrap();
    opt.set_warmed(warmed.clone());
    for t in [1u64, 7, 20, 21, 30] {
        opt.set_rates(schedule.lr(t), schedule.full_lr(t));
        for ((name, rate), warm) in names.iter().zip(opt.rates()).zip(&warmed) {
            // After the warmup both follow the decay (inverse-sqrt here), which starts at the peak.
            let expected = match (*warm, t as f64 <= w) {
                (true, true) => peak * t as f64 / w,
                (false, true) => peak,
                (_, false) => peak * (w / t as f64).sqrt(),
            };
            assert!(
                (rate - expected).abs() <= 1e-15 * peak,
                "{name} at {t}: {rate} vs {expected}"
            );
            assert_eq!(
                *warm,
                !(name.contains(".attn.q.") || name.contains(".attn.k.")),
                "{name}"
            );
        }
    }
    // Adam's first update moves each coordinate with a nonzero gradient by its rate (to ε).
    let batch = {
        let mut s = lnwarm::data::batches::WindowSampler::new(
            setup.corpus.train.clone(),
            cfg.data.seq_len,
            cfg.data.batch_size,
            1,
            &setup.device,
        );
        s.next_batch().unwrap()
    };
    let before: Vec<Vec<f32>> = setup
        .store
        .named_vars()
        .iter()
        .map(|(_, v)| v.as_tensor().flatten_all().unwrap().to_vec1().unwrap())
        .collect();
    let grads = setup
        .model
        .loss(&batch.0, &batch.1)
        .unwrap()
        .backward()
        .unwrap();
    opt.set_rates(schedule.lr(1), schedule.full_lr(1));
    opt.step(&grads).unwrap();
    for (((name, var), old), rate) in setup
        .store
        .named_vars()
        .iter()
        .zip(&before)
        .zip(opt.rates())
    {
        let new: Vec<f32> = var.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
        let g: Vec<f32> = grads
            .get(var)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        for ((n, o), g) in new.iter().zip(old).zip(&g) {
            if g.abs() < 1e-4 {
                continue; // |g|/(|g| + ε) is within 1e-4 of 1 only for |g| >= 1e-4
            }
            let moved = (o - n) as f64;
            let expected = rate * g.signum() as f64;
            assert!(
                (moved - expected).abs() <= 1e-3 * rate + 1e-7,
                "{name}: moved {moved}, expected {expected}"
            );
        }
    }
}
