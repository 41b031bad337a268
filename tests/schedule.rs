//! Schedules against their closed forms: every warmup kind and decay at the boundaries
//! t = 1, w-1, w, w+1, T and at staircase / cycle / restart edges; composition; bad parameters;
//! the preview command's CSV parsed back.

use lnwarm::schedule::{Decay, LrSchedule, Schedule, ScheduleConfig, Warmup, WarmupKind, WsdShape};

const PEAK: f64 = 1e-3;
const W: u64 = 100;
const T: u64 = 1000;

fn sched(warmup: Warmup, decay: Decay) -> Schedule {
    ScheduleConfig {
        step_origin: 1,
        peak_lr: PEAK,
        warmup,
        decay,
    }
    .build(T)
    .expect("valid schedule")
}

fn after_linear(decay: Decay) -> Schedule {
    sched(Warmup::linear(W), decay)
}

#[track_caller]
fn close(actual: f64, expected: f64) {
    let tol = 1e-12 * expected.abs().max(1e-12);
    assert!(
        (actual - expected).abs() <= tol,
        "lr {actual:e}, expected {expected:e}"
    );
}

#[test]
fn linear_warmup_edges() {
    let s = after_linear(Decay::Constant);
    close(s.lr(1), PEAK / 100.0);
    close(s.lr(W - 1), PEAK * 0.99);
    close(s.lr(W), PEAK);
    close(s.lr(W + 1), PEAK);
    close(s.lr(T), PEAK);
    let mut warm = Warmup::linear(W);
    warm.start_factor = Some(0.1);
    let s = sched(warm, Decay::Constant);
    close(s.lr(1), PEAK * (0.1 + 0.9 * 0.01));
    close(s.lr(W), PEAK);
}

#[test]
fn exponential_warmup_is_geometric() {
    let s = sched(Warmup::of_kind(WarmupKind::Exponential, W), Decay::Constant);
    close(s.lr(1), PEAK * 0.01f64.powf(0.99));
    close(s.lr(50), PEAK * 0.1);
    close(s.lr(W - 1), PEAK * 0.01f64.powf(0.01));
    close(s.lr(W), PEAK);
    // Equal ratios between successive steps.
    close(s.lr(31) / s.lr(30), s.lr(71) / s.lr(70));
}

#[test]
fn constant_warmup_then_decay() {
    let s = sched(
        Warmup::of_kind(WarmupKind::Constant, W),
        Decay::Exponential {
            end_value: None,
            decay_steps: Some(100),
            decay_rate: 0.5,
            staircase: false,
        },
    );
    close(s.lr(1), PEAK * 0.1);
    close(s.lr(W), PEAK * 0.1);
    close(s.lr(W + 1), PEAK * 0.5f64.powf(0.01));
    close(s.lr(W + 100), PEAK * 0.5);
}

#[test]
fn constant_warmup_until_loss_starts_the_decay_where_the_loss_crossed() {
    let mut warm = Warmup::of_kind(WarmupKind::Constant, 0);
    warm.until_loss = Some(2.0);
    let mut s = sched(
        warm,
        Decay::Cosine {
            exponent: 1.0,
            num_cycles: 0.5,
            decay_steps: Some(200),
            alpha: 0.0,
        },
    );
    close(s.lr(500), PEAK * 0.1);
    assert!(!s.loss_ends_warmup(37, 2.5));
    assert!(s.loss_ends_warmup(37, 1.9));
    s.end_warmup_at(37);
    close(s.lr(37), PEAK * 0.1);
    close(s.lr(137), PEAK * 0.5);
    close(s.lr(237), 0.0);
    assert!(
        !s.loss_ends_warmup(40, 1.0),
        "only the first crossing counts"
    );
    // The same crossing step reproduces the same rates (resume).
    let mut again = sched(s.config().warmup.clone(), s.config().decay.clone());
    again.end_warmup_at(37);
    for t in [1, 36, 37, 38, 100, 999] {
        assert_eq!(s.lr(t), again.lr(t));
    }
}

#[test]
fn piecewise_constant_boundaries() {
    let s = after_linear(Decay::PiecewiseConstant {
        boundaries: vec![100, 300],
        values: vec![1e-3, 5e-4, 1e-4],
    });
    close(s.lr(W + 1), 1e-3);
    close(s.lr(W + 100), 1e-3);
    close(s.lr(W + 101), 5e-4);
    close(s.lr(W + 300), 5e-4);
    close(s.lr(W + 301), 1e-4);
    close(s.lr(T), 1e-4);
}

#[test]
fn inverse_time_with_and_without_staircase() {
    let s = after_linear(Decay::InverseTime {
        decay_steps: Some(100),
        decay_rate: 0.5,
        staircase: false,
    });
    close(s.lr(W + 100), PEAK / 1.5);
    close(s.lr(W + 150), PEAK / 1.75);
    let s = after_linear(Decay::InverseTime {
        decay_steps: Some(100),
        decay_rate: 0.5,
        staircase: true,
    });
    close(s.lr(W + 99), PEAK);
    close(s.lr(W + 100), PEAK / 1.5);
    close(s.lr(W + 150), PEAK / 1.5);
}

#[test]
fn polynomial_clamps_or_cycles() {
    let s = after_linear(Decay::Polynomial {
        decay_steps: Some(400),
        end_lr: 1e-4,
        power: 2.0,
        cycle: false,
    });
    close(s.lr(W + 200), 9e-4 * 0.25 + 1e-4);
    close(s.lr(W + 400), 1e-4);
    close(s.lr(W + 600), 1e-4);
    let s = after_linear(Decay::Polynomial {
        decay_steps: Some(400),
        end_lr: 1e-4,
        power: 2.0,
        cycle: true,
    });
    close(s.lr(W + 400), 1e-4);
    close(
        s.lr(W + 401),
        9e-4 * (1.0 - 401.0 / 800.0f64).powi(2) + 1e-4,
    );
    close(s.lr(W + 600), 9e-4 * 0.0625 + 1e-4);
    // Default horizon: until the end of training.
    let s = after_linear(Decay::Polynomial {
        decay_steps: None,
        end_lr: 0.0,
        power: 1.0,
        cycle: false,
    });
    close(s.lr(T), 0.0);
    close(s.lr(W + 450), PEAK * 0.5);
}

#[test]
fn exponential_and_natural_exp() {
    let s = after_linear(Decay::Exponential {
        end_value: None,
        decay_steps: Some(100),
        decay_rate: 0.5,
        staircase: false,
    });
    close(s.lr(W + 100), 5e-4);
    close(s.lr(W + 150), PEAK * 0.5f64.powf(1.5));
    let s = after_linear(Decay::Exponential {
        end_value: None,
        decay_steps: Some(100),
        decay_rate: 0.5,
        staircase: true,
    });
    close(s.lr(W + 150), 5e-4);
    close(s.lr(W + 200), 2.5e-4);
    let s = after_linear(Decay::NaturalExp {
        decay_steps: Some(100),
        decay_rate: 0.5,
        staircase: false,
    });
    close(s.lr(W + 100), PEAK * (-0.5f64).exp());
    let s = after_linear(Decay::NaturalExp {
        decay_steps: Some(100),
        decay_rate: 0.5,
        staircase: true,
    });
    close(s.lr(W + 199), PEAK * (-0.5f64).exp());
}

#[test]
fn cosine_and_linear_cosine() {
    let s = after_linear(Decay::Cosine {
        exponent: 1.0,
        num_cycles: 0.5,
        decay_steps: Some(400),
        alpha: 0.1,
    });
    close(s.lr(W + 200), PEAK * (0.9 * 0.5 + 0.1));
    close(s.lr(W + 400), PEAK * 0.1);
    close(s.lr(W + 500), PEAK * 0.1);
    let s = after_linear(Decay::Cosine {
        exponent: 1.0,
        num_cycles: 0.5,
        decay_steps: None,
        alpha: 0.0,
    });
    close(s.lr(T), 0.0);
    let s = after_linear(Decay::LinearCosine {
        decay_steps: Some(400),
        num_periods: 0.5,
        alpha: 0.0,
        beta: 0.001,
    });
    close(s.lr(W + 200), PEAK * (0.5 * 0.5 + 0.001));
    close(s.lr(W + 400), PEAK * 0.001);
}

#[test]
fn cosine_restarts_edges() {
    let s = after_linear(Decay::CosineRestarts {
        first_decay_steps: 100,
        t_mul: 2.0,
        m_mul: 0.5,
        alpha: 0.0,
        cycle_warmup: 0,
        cycle_warmup_start_factor: 0.0,
    });
    close(s.lr(W + 50), PEAK * 0.5);
    close(
        s.lr(W + 99),
        PEAK * 0.5 * (1.0 + (std::f64::consts::PI * 0.99).cos()),
    );
    close(s.lr(W + 100), PEAK * 0.5); // restart 1: m_mul^1, period 200
    close(s.lr(W + 200), PEAK * 0.25);
    close(s.lr(W + 300), PEAK * 0.25); // restart 2: m_mul^2, period 400
    close(s.lr(W + 700), PEAK * 0.125); // restart 3
    let s = after_linear(Decay::CosineRestarts {
        first_decay_steps: 100,
        t_mul: 1.0,
        m_mul: 1.0,
        alpha: 0.0,
        cycle_warmup: 0,
        cycle_warmup_start_factor: 0.0,
    });
    close(s.lr(W + 250), PEAK * 0.5);
    close(s.lr(W + 300), PEAK);
}

#[test]
fn inverse_sqrt_is_fairseqs() {
    let s = after_linear(Decay::InverseSqrt { timescale: None });
    close(s.lr(W), PEAK);
    close(s.lr(W + 1), PEAK * (100.0f64 / 101.0).sqrt());
    close(s.lr(4 * W), PEAK * 0.5);
    close(s.lr(T), PEAK * (0.1f64).sqrt());
    let s = after_linear(Decay::InverseSqrt {
        timescale: Some(50),
    });
    close(s.lr(W + 50), PEAK * 0.5f64.sqrt());
    let s = sched(Warmup::none(), Decay::InverseSqrt { timescale: None });
    close(s.lr(1), PEAK);
    close(s.lr(T), PEAK);
}

#[test]
fn noam_matches_vaswani() {
    let cfg = ScheduleConfig {
        step_origin: 1,
        peak_lr: 123.0,
        warmup: Warmup::linear(4000),
        decay: Decay::Noam {
            d_model: Some(512),
            factor: 1.0,
        },
    };
    let s = cfg.build(20_000).unwrap();
    close(s.lr(4000), (512.0f64 * 4000.0).powf(-0.5));
    assert!((s.lr(4000) - 6.9877e-4).abs() < 1e-8);
    close(s.lr(1), 512f64.powf(-0.5) * 4000f64.powf(-1.5));
    close(s.lr(3999), 512f64.powf(-0.5) * 3999.0 * 4000f64.powf(-1.5));
    close(s.lr(16_000), 512f64.powf(-0.5) * 16_000f64.powf(-0.5));
    assert!(
        cfg.notes(20_000)[0].contains("peak_lr 123 is ignored"),
        "{:?}",
        cfg.notes(20_000)
    );
}

#[test]
fn warmup_stable_decay_shapes() {
    let wsd = |shape| {
        after_linear(Decay::WarmupStableDecay {
            stable_steps: None,
            decay_steps: Some(200),
            min_lr_ratio: 0.1,
            shape,
        })
    };
    let s = wsd(WsdShape::Linear);
    close(s.lr(W + 1), PEAK);
    close(s.lr(800), PEAK);
    close(s.lr(900), PEAK * 0.55);
    close(s.lr(T), PEAK * 0.1);
    close(wsd(WsdShape::Cosine).lr(900), PEAK * 0.55);
    close(
        wsd(WsdShape::OneMinusSqrt).lr(900),
        PEAK * (0.1 + 0.9 * (1.0 - 0.5f64.sqrt())),
    );
}

#[test]
fn every_decay_continues_from_the_peak_at_the_end_of_warmup() {
    let decays = vec![
        Decay::Constant,
        Decay::InverseTime {
            decay_steps: Some(10_000),
            decay_rate: 1.0,
            staircase: false,
        },
        Decay::Polynomial {
            decay_steps: Some(10_000),
            end_lr: 0.0,
            power: 1.0,
            cycle: false,
        },
        Decay::Exponential {
            end_value: None,
            decay_steps: Some(10_000),
            decay_rate: 0.5,
            staircase: false,
        },
        Decay::NaturalExp {
            decay_steps: Some(10_000),
            decay_rate: 0.5,
            staircase: false,
        },
        Decay::Cosine {
            exponent: 1.0,
            num_cycles: 0.5,
            decay_steps: Some(10_000),
            alpha: 0.0,
        },
        Decay::LinearCosine {
            decay_steps: Some(10_000),
            num_periods: 0.5,
            alpha: 0.0,
            beta: 0.0,
        },
        Decay::CosineRestarts {
            first_decay_steps: 10_000,
            t_mul: 2.0,
            m_mul: 1.0,
            alpha: 0.0,
            cycle_warmup: 0,
            cycle_warmup_start_factor: 0.0,
        },
        Decay::InverseSqrt { timescale: None },
        Decay::WarmupStableDecay {
            stable_steps: None,
            decay_steps: Some(100),
            min_lr_ratio: 0.0,
            shape: WsdShape::Cosine,
        },
    ];
    for kind in [WarmupKind::Linear, WarmupKind::Exponential] {
        for decay in &decays {
            let s = sched(Warmup::of_kind(kind, W), decay.clone());
            close(s.lr(W), PEAK);
            let jump = (s.lr(W + 1) - PEAK).abs() / PEAK;
            assert!(
                jump < 0.01,
                "{kind:?} then {}: lr(w+1) = {:e}",
                decay.name(),
                s.lr(W + 1)
            );
        }
    }
}
