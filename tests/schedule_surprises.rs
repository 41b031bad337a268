//! No silent surprises in schedules: each case that used to pass silently is now an error naming
//! the field (exit 2, one line) or a `note:` in the preview and in the result's
//! `schedule_notes`; plus the step-origin convention, the hold, and the new kinds' own rules
//! that the peer fixtures cannot show (noise, validation, plateau state).

mod common;

use lnwarm::schedule::{
    Decay, LrSchedule, PlateauRule, PlateauState, ScheduleConfig, ThresholdMode, Warmup, WarmupKind,
};

/// Exit code, stdout and stderr of `lnwarm ARGS` (the shared runner).
fn lnwarm(args: &[&str]) -> (i32, String, String) {
    let ran = common::lnwarm(std::path::Path::new("."), args);
    (ran.code, ran.stdout, ran.stderr)
}

fn usage_error(args: &[&str], expected: &str) {
    let (code, _, stderr) = lnwarm(args);
    assert_eq!(code, 2, "{args:?}: {stderr}");
    assert_eq!(stderr.trim_end(), expected, "{args:?}");
}

fn cfg(origin: u8, warmup: Warmup, decay: Decay) -> ScheduleConfig {
    ScheduleConfig {
        peak_lr: 1e-3,
        step_origin: origin,
        warmup,
        decay,
    }
}

fn cosine() -> Decay {
    Decay::Cosine {
        decay_steps: None,
        alpha: 0.0,
        exponent: 1.0,
        num_cycles: 0.5,
    }
}

#[test]
fn silent_cases_are_now_errors_naming_the_field() {
    usage_error(
        &[
            "schedule",
            "--config",
            r#"{"peak_lr": 0.001, "decay": {"kind": "cosine"}}"#,
        ],
        r#"error: --config {"peak_lr": 0.001, "decay": {"kind": "cosine"}}: schedule.warmup: not given; write {"kind": "none"} for no warmup or e.g. {"kind": "linear", "steps": 4000}"#,
    );
    usage_error(
        &["schedule", "--warmup-kind", "none", "--warmup", "100"],
        "error: --warmup 100 with --warmup-kind none: give --warmup 0 or another --warmup-kind (linear, exponential, constant, cosine, 1-sqrt)",
    );
    usage_error(
        &["schedule", "--steps", "2.5"],
        "error: invalid value '2.5' for '--steps <STEPS>': must be a whole number of updates >= 0",
    );
    usage_error(
        &["train", "--warmup", "1e3"],
        "error: invalid value '1e3' for '--warmup <N>': must be a whole number of updates >= 0",
    );
    usage_error(
        &["schedule", "--step-origin", "2"],
        "error: step_origin 2: must be 0 (TF, Keras, PyTorch, HF, optax, fairseq: update 1 reads step 0) or 1 (the paper's Noam; lnwarm's default)",
    );
    usage_error(
        &["schedule", "--warmup", "0", "--decay", "one-cycle", "--decay-param", "pct_star=0.3"],
        "error: --decay one-cycle: unknown field `pct_star`, expected one of `total_steps`, `pct_start`, `anneal_strategy`, `div_factor`, `final_div_factor`, `three_phase`",
    );
    usage_error(
        &["schedule", "--warmup", "10", "--decay", "one-cycle"],
        "error: decay one-cycle ramps up by itself: use warmup kind none without hold, not linear 10",
    );
    usage_error(
        &["schedule", "--warmup", "0", "--decay", "cyclic"],
        "error: --decay cyclic needs --decay-param base_lr=LR",
    );
}

#[test]
fn an_error_for_one_schedule_does_not_start_with_a_made_up_label() {
    let (code, _, stderr) = lnwarm(&["schedule", "--decay", "exponential", "--decay-rate=-1"]);
    assert_eq!(code, 2);
    assert_eq!(
        stderr.trim_end(),
        "error: decay exponential: decay_rate -1 must be > 0"
    );
}

#[test]
fn linear_is_the_hf_linear_decay_not_a_pointer_to_linear_cosine() {
    let (code, stdout, stderr) = lnwarm(&[
        "schedule", "--decay", "linear", "--warmup", "2", "--steps", "6", "--format", "csv",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let rates: Vec<f64> = stdout
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    // origin 1: warmup 5e-4, 1e-3; then (1 - s/4) * peak for s = 1..4.
    assert_eq!(rates, [5e-4, 1e-3, 7.5e-4, 5e-4, 2.5e-4, 0.0]);
}

#[test]
fn legal_but_surprising_cases_are_notes_in_the_preview() {
    let (_, stdout, _) = lnwarm(&["schedule", "--steps", "600"]);
    assert!(
        stdout.contains(
            "note: no --warmup given: the default warmup linear 4000 applies (--warmup 0 for none)"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("note: warmup 4000 is longer than the run's 600 updates: the rate never reaches peak_lr (at most 1.5000e-4)"), "{stdout}");
    let (_, stdout, _) = lnwarm(&[
        "schedule", "--warmup", "10", "--decay", "wsd", "--steps", "100",
    ]);
    assert!(stdout.contains("note: warmup-stable-decay decays linearly (HF's get_wsd_schedule defaults to cosine: set shape)"), "{stdout}");
    let (_, stdout, _) = lnwarm(&[
        "schedule",
        "--warmup",
        "10",
        "--decay",
        "polynomial",
        "--steps",
        "100",
    ]);
    assert!(stdout.contains("note: polynomial decays to end_lr 0 (TF's polynomial_decay defaults to end_learning_rate 1e-4)"), "{stdout}");
    // Nothing to say about a plain run.
    let (_, stdout, _) = lnwarm(&[
        "schedule",
        "--warmup",
        "10",
        "--decay",
        "cosine",
        "--steps",
        "100",
        "--step-origin",
        "0",
    ]);
    assert!(!stdout.contains("note:"), "{stdout}");
}

#[test]
fn step_origin_one_notes_what_it_skips_and_the_restart_on_the_last_update() {
    let no_warmup = cfg(1, Warmup::none(), cosine()).notes(4);
    assert!(
        no_warmup
            .iter()
            .any(|n| n.starts_with("step_origin 1: the first decay update reads step 1")),
        "{no_warmup:?}"
    );
    let origin0 = cfg(0, Warmup::none(), cosine()).notes(4);
    assert!(origin0.is_empty(), "{origin0:?}");
    // SGDR whose second period starts exactly at step T: the last update jumps back to the peak.
    let restarts = Decay::CosineRestarts {
        first_decay_steps: 90,
        t_mul: 1.0,
        m_mul: 1.0,
        alpha: 0.0,
        cycle_warmup: 0,
        cycle_warmup_start_factor: 0.0,
    };
    let c = cfg(1, Warmup::linear(10), restarts.clone());
    let s = c.build(100).unwrap();
    assert_eq!(s.lr(100), 1e-3);
    assert!(c
        .notes(100)
        .iter()
        .any(|n| n.starts_with("the run's last update 100 starts a new cosine-restarts period")));
    let c0 = cfg(0, Warmup::linear(10), restarts);
    assert!(c0.build(100).unwrap().lr(100) < 1e-5);
    assert!(c0.notes(100).is_empty(), "{:?}", c0.notes(100));
}

#[test]
fn update_t_reads_step_t_minus_one_plus_origin() {
    let linear = |origin| {
        cfg(origin, Warmup::linear(4), Decay::Constant)
            .build(10)
            .unwrap()
    };
    let (zero, one) = (linear(0), linear(1));
    let rates = |s: &lnwarm::schedule::Schedule| (1..=6).map(|t| s.lr(t)).collect::<Vec<_>>();
    assert_eq!(rates(&zero), [0.0, 2.5e-4, 5e-4, 7.5e-4, 1e-3, 1e-3]);
    assert_eq!(rates(&one), [2.5e-4, 5e-4, 7.5e-4, 1e-3, 1e-3, 1e-3]);
    // A constant warmup then a decay: origin 0 uses the decay's step 0 (optax join), origin 1 does not.
    let constant = |origin| {
        let w = Warmup {
            start_factor: Some(0.1),
            ..Warmup::of_kind(WarmupKind::Constant, 2)
        };
        cfg(origin, w, cosine()).build(6).unwrap()
    };
    assert_eq!(constant(0).lr(3), 1e-3);
    assert!(constant(1).lr(3) < 1e-3);
}

#[test]
fn hold_keeps_the_peak_and_delays_the_decay_counter() {
    let w = Warmup {
        hold: 3,
        ..Warmup::linear(2)
    };
    let s = cfg(
        0,
        w,
        Decay::Polynomial {
            decay_steps: Some(4),
            end_lr: 0.0,
            power: 1.0,
            cycle: false,
        },
    )
    .build(12)
    .unwrap();
    let rates: Vec<f64> = (1..=10).map(|t| s.lr(t)).collect();
    // Warmup reads steps 0, 1; hold 2..4; the decay's s = 0 at step 5 (update 6).
    assert_eq!(
        rates,
        [0.0, 5e-4, 1e-3, 1e-3, 1e-3, 1e-3, 7.5e-4, 5e-4, 2.5e-4, 0.0]
    );
}

#[test]
fn noise_is_a_function_of_seed_and_step_with_the_stated_variance() {
    let noisy = |seed, variance| {
        cfg(
            0,
            Warmup::none(),
            Decay::NoisyLinearCosine {
                decay_steps: Some(1_000_000),
                initial_variance: variance,
                variance_decay: 0.0,
                num_periods: 0.5,
                alpha: 0.0,
                beta: 0.0,
                seed,
            },
        )
        .build(1_000_000)
        .unwrap()
    };
    let (a, b, c) = (noisy(7, 0.01), noisy(7, 0.01), noisy(8, 0.01));
    assert_eq!(a.lr(123), b.lr(123));
    assert_ne!(a.lr(123), c.lr(123));
    let quiet = noisy(7, 0.0);
    // Early on the cosine factor is ~1, so lr/peak - quiet/peak is the noise: mean 0, sd 0.1.
    let noise: Vec<f64> = (1..=4000).map(|t| (a.lr(t) - quiet.lr(t)) / 1e-3).collect();
    let mean = noise.iter().sum::<f64>() / noise.len() as f64;
    let sd = (noise.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / noise.len() as f64).sqrt();
    assert!(mean.abs() < 0.01, "mean {mean}");
    assert!((sd - 0.1).abs() < 0.01, "sd {sd}");
}

#[test]
fn plateau_counts_patience_cooldown_and_stops_at_min_lr() {
    let rule = PlateauRule {
        factor: 0.5,
        patience: 1,
        cooldown: 1,
        min_lr: 3e-4,
        threshold_mode: ThresholdMode::Abs,
        threshold: 0.0,
        ..PlateauRule::default()
    };
    let mut state = PlateauState::default();
    let cuts: Vec<bool> = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5]
        .iter()
        .map(|&loss| state.observe(&rule, loss))
        .collect();
    // best 1.0; two bad -> cut; cooldown eats one; two more bad -> cut; then better.
    assert_eq!(cuts, [false, false, true, false, false, true, false]);
    assert_eq!(rule.lr_after(1e-3, 1), 5e-4);
    assert_eq!(rule.lr_after(1e-3, 2), 3e-4);
    assert_eq!(rule.lr_after(1e-3, 5), 3e-4);
    // Validation losses during warmup do not count.
    let plateau = Decay::ReduceOnPlateau(PlateauRule {
        patience: 0,
        ..PlateauRule::default()
    });
    let mut s = cfg(0, Warmup::linear(10), plateau).build(100).unwrap();
    assert!(!s.observe_val_loss(5, 3.0));
    assert!(!s.observe_val_loss(8, 3.0));
    assert!(!s.observe_val_loss(10, 3.0));
    assert!(s.observe_val_loss(20, 3.0));
    assert_eq!(s.reductions(), [20]);
    assert_eq!(s.lr(20), 1e-3);
    assert!((s.lr(21) - 1e-4).abs() < 1e-18);
}

#[test]
fn bad_parameters_of_the_new_kinds_name_the_field() {
    let bad = |decay: Decay, expected: &str| {
        let err = cfg(0, Warmup::none(), decay)
            .build(600)
            .unwrap_err()
            .to_string();
        assert_eq!(err, expected);
    };
    bad(
        Decay::Cyclic {
            base_lr: 2e-3,
            step_size_up: 10,
            step_size_down: None,
            mode: Default::default(),
            gamma: 1.0,
        },
        "decay cyclic: base_lr 0.002 must be in [0, peak_lr = 0.001]",
    );
    bad(
        Decay::ReduceOnPlateau(PlateauRule {
            factor: 1.5,
            ..PlateauRule::default()
        }),
        "decay reduce-on-plateau: factor 1.5 must be in (0, 1)",
    );
    bad(
        Decay::CosineHardRestarts {
            decay_steps: None,
            num_cycles: 0.0,
            alpha: 0.0,
        },
        "decay cosine-hard-restarts: num_cycles 0 must be > 0",
    );
}

/// `--compare decays|warmup-kinds` over a run shorter than the default 4000-update warmup, with
/// no warmup asked for: every variant is shown with a warmup of T/10 (it used to fail on
/// warmup-stable-decay: "decay_steps 200 exceed the 0 steps after warmup"). A warmup asked for
/// is kept, and then such a run is still an error naming it.
#[test]
fn comparisons_of_a_short_run_pick_their_own_warmup() {
    let (code, out, err) = lnwarm(&["schedule", "--compare", "decays", "--steps", "1000"]);
    assert_eq!(code, 0, "{err}");
    let shown: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("# ") && l.contains(": {"))
        .collect();
    assert_eq!(shown.len(), 16, "{out}");
    let own_ramp = |l: &&&str| l.starts_with("# one-cycle") || l.starts_with("# cyclic");
    assert!(
        shown
            .iter()
            .filter(|l| !own_ramp(l))
            .all(|l| l.contains(r#""warmup":{"kind":"linear","steps":100}"#)),
        "{out}"
    );
    let (code, _, _) = lnwarm(&["schedule", "--compare", "warmup-kinds", "--steps", "1000"]);
    assert_eq!(code, 0);
    let (code, _, err) = lnwarm(&[
        "schedule",
        "--compare",
        "decays",
        "--steps",
        "1000",
        "--warmup",
        "4000",
    ]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}
