//! Run configs: shipped files, defaults, precedence (defaults < file < flags), round trips.

use lnwarm::cli::TrainArgs;
use lnwarm::config::{Arch, RunConfig};
use std::path::Path;

#[test]
fn cpu_small_is_the_default() {
    let file = RunConfig::from_file(Path::new("configs/cpu-small.json")).unwrap();
    assert_eq!(file, RunConfig::default());
    let m = &file.model;
    assert_eq!((m.d_model, m.n_layers, m.n_heads, m.d_ff), (128, 6, 4, 512));
    assert_eq!((file.data.seq_len, file.data.batch_size), (128, 32));
}

#[test]
fn paper_iwslt_has_the_papers_sizes() {
    let cfg = RunConfig::from_file(Path::new("configs/paper-iwslt.json")).unwrap();
    cfg.validate().unwrap();
    let m = &cfg.model;
    assert_eq!(
        (m.d_model, m.d_ff, m.n_heads, m.n_layers, m.arch),
        (512, 1024, 4, 6, Arch::PostLn)
    );
    assert_eq!((cfg.optim.beta1, cfg.optim.beta2), (0.9, 0.98));
    assert_eq!(cfg.schedule.warmup.steps, 4000);
}

#[test]
fn flags_override_the_file() {
    let args = TrainArgs {
        config: Some("configs/paper-iwslt.json".into()),
        layers: Some(2),
        schedule: lnwarm::cli::ScheduleArgs {
            warmup: Some(0),
            ..Default::default()
        },
        lr: Some(2e-4),
        ..TrainArgs::default()
    };
    let cfg = args.resolve().unwrap();
    assert_eq!(cfg.model.n_layers, 2);
    assert_eq!(cfg.model.d_model, 512, "from the file");
    assert_eq!(cfg.schedule.warmup.steps, 0);
    assert_eq!(cfg.schedule.peak_lr, 2e-4);
}

#[test]
fn config_round_trips_through_json() {
    let mut cfg = RunConfig::default();
    cfg.optim.clip = Some(1.0);
    cfg.train.diverge_loss = Some(12.5);
    let json = serde_json::to_string_pretty(&cfg).unwrap();
    assert_eq!(serde_json::from_str::<RunConfig>(&json).unwrap(), cfg);
}

#[test]
fn run_names_are_stable_and_distinct() {
    let a = RunConfig::default();
    let name = lnwarm::cli::default_run_name(&a);
    assert!(name.starts_with("pre-ln-adam-w4000-lr1e-3-s0-"), "{name}");
    assert_eq!(name, lnwarm::cli::default_run_name(&a.clone()));
    let mut b = a.clone();
    b.model.n_layers = 12;
    assert_ne!(name, lnwarm::cli::default_run_name(&b));
}
