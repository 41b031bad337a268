//! Schedules given bad parameters (each names the field and what is allowed), the JSON form, and
//! the preview command's CSV parsed back to the schedule.

use lnwarm::schedule::{Decay, LrSchedule, Schedule, ScheduleConfig, Warmup, WarmupKind, WsdShape};

const PEAK: f64 = 1e-3;
const W: u64 = 100;
const T: u64 = 1000;

#[track_caller]
fn invalid(warmup: Warmup, decay: Decay, expected: &str) {
    let err = ScheduleConfig {
        step_origin: 1,
        peak_lr: PEAK,
        warmup,
        decay,
    }
    .build(T)
    .unwrap_err()
    .to_string();
    assert_eq!(err, expected);
}

#[test]
fn bad_parameters_name_the_field() {
    let lin = || Warmup::linear(W);
    invalid(
        lin(),
        Decay::Exponential {
            end_value: None,
            decay_steps: Some(10),
            decay_rate: 0.0,
            staircase: false,
        },
        "decay exponential: decay_rate 0 must be > 0",
    );
    invalid(
        lin(),
        Decay::InverseTime {
            decay_steps: Some(0),
            decay_rate: 1.0,
            staircase: false,
        },
        "decay inverse-time: decay_steps 0 must be >= 1",
    );
    invalid(
        lin(),
        Decay::PiecewiseConstant {
            boundaries: vec![10, 10],
            values: vec![1.0, 2.0, 3.0],
        },
        "decay piecewise-constant: boundaries must be strictly increasing (10 then 10)",
    );
    invalid(
        lin(),
        Decay::PiecewiseConstant {
            boundaries: vec![10],
            values: vec![1.0],
        },
        "decay piecewise-constant: values has 1 entries, must have len(boundaries) + 1 = 2",
    );
    invalid(
        lin(),
        Decay::Polynomial {
            decay_steps: None,
            end_lr: -2e-3,
            power: 1.0,
            cycle: false,
        },
        "decay polynomial: end_lr -0.002 must be >= 0",
    );
    invalid(
        lin(),
        Decay::Cosine {
            exponent: 1.0,
            num_cycles: 0.5,
            decay_steps: None,
            alpha: 1.5,
        },
        "decay cosine: alpha 1.5 must be in [0, 1]",
    );
    invalid(
        lin(),
        Decay::CosineRestarts {
            first_decay_steps: 10,
            t_mul: 0.5,
            m_mul: 1.0,
            alpha: 0.0,
            cycle_warmup: 0,
            cycle_warmup_start_factor: 0.0,
        },
        "decay cosine-restarts: t_mul 0.5 must be >= 1",
    );
    invalid(
        Warmup::none(),
        Decay::Noam {
            d_model: Some(64),
            factor: 1.0,
        },
        "decay noam: needs a warmup (--warmup N >= 1): its rate peaks at step w",
    );
    invalid(
        lin(),
        Decay::WarmupStableDecay {
            stable_steps: None,
            decay_steps: Some(950),
            min_lr_ratio: 0.0,
            shape: WsdShape::Linear,
        },
        "decay warmup-stable-decay: decay_steps 950 exceed the 900 steps after warmup (give stable_steps to end the decay before or after the run)",
    );
    let mut until = Warmup::linear(W);
    until.until_loss = Some(2.0);
    invalid(
        until,
        Decay::Constant,
        "warmup.until_loss 2: allowed only with warmup kind constant, not linear",
    );
    invalid(
        Warmup::of_kind(WarmupKind::Linear, 0),
        Decay::Constant,
        "warmup.steps 0 with warmup kind linear: must be >= 1 (or use kind none)",
    );
    let mut f = Warmup::of_kind(WarmupKind::Exponential, W);
    f.start_factor = Some(0.0);
    invalid(
        f,
        Decay::Constant,
        "warmup.start_factor 0: must be in (0, 1] for warmup kind exponential",
    );
}

#[test]
fn json_form_parses_and_rejects_unknown_fields() {
    let cfg: ScheduleConfig = serde_json::from_str(
        r#"{"peak_lr": 1e-3, "warmup": {"kind": "linear", "steps": 4000}, "decay": {"kind": "cosine", "decay_steps": 20000, "alpha": 0.1}}"#,
    )
    .unwrap();
    assert_eq!(
        cfg.decay,
        Decay::Cosine {
            exponent: 1.0,
            num_cycles: 0.5,
            decay_steps: Some(20_000),
            alpha: 0.1
        }
    );
    let back: ScheduleConfig = serde_json::from_str(&serde_json::to_string(&cfg).unwrap()).unwrap();
    assert_eq!(back, cfg);
    let err = serde_json::from_str::<ScheduleConfig>(
        r#"{"decay": {"kind": "cosine", "decay_step": 10}}"#,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("unknown field `decay_step`"),
        "{err}"
    );
    let err =
        serde_json::from_str::<ScheduleConfig>(r#"{"warmup": {"kind": "linear", "steps": -5}}"#)
            .unwrap_err();
    assert!(
        err.to_string().contains("invalid value: integer `-5`"),
        "{err}"
    );
}

#[test]
fn preview_csv_parses_back_to_the_schedule() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lnwarm"))
        .args([
            "schedule",
            "--lr",
            "1e-3",
            "--warmup",
            "10",
            "--warmup-kind",
            "exponential",
            "--decay",
            "cosine",
            "--alpha",
            "0.1",
            "--steps",
            "50",
            "--format",
            "csv",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("step,lr"));
    let expected = sched_for_preview();
    let rows: Vec<(u64, f64)> = lines
        .map(|l| {
            let (step, lr) = l.split_once(',').unwrap();
            (step.parse().unwrap(), lr.parse().unwrap())
        })
        .collect();
    assert_eq!(rows.len(), 50);
    for (step, lr) in rows {
        assert_eq!(lr, expected.lr(step), "step {step}");
    }
}

fn sched_for_preview() -> Schedule {
    ScheduleConfig {
        step_origin: 1,
        peak_lr: 1e-3,
        warmup: Warmup::of_kind(WarmupKind::Exponential, 10),
        decay: Decay::Cosine {
            exponent: 1.0,
            num_cycles: 0.5,
            decay_steps: None,
            alpha: 0.1,
        },
    }
    .build(50)
    .unwrap()
}

#[test]
fn preview_rejects_parameters_the_decay_does_not_take() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lnwarm"))
        .args(["schedule", "--decay", "cosine", "--power", "2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "error: --power is not a parameter of --decay cosine (it takes: --decay-steps, --alpha, --decay-param KEY=VALUE)"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lnwarm"))
        .args(["schedule", "--decay", "exponential"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "error: --decay exponential needs --decay-rate R"
    );
}
