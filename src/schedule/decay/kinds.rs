//! One table of decay kinds: for each `--decay` value, the flags it takes, the JSON field a flag
//! fills where that is not the flag's own, what it requires, an example for the preview
//! (`lnwarm schedule --compare decays`), whether its rate restarts, and the note printed where
//! lnwarm's default differs from the peer library's. The CLI, its validation, the preview and
//! the schedule notes all read it.
//!
//! Adding a kind is two edits the compiler checks: a `Decay` variant (its formula in `rate.rs`
//! and its checks in `validate.rs`, both exhaustive matches), and a `DecayKind` variant with its
//! row in `DecayKind::spec` and its arm in `Decay::kind` (exhaustive too; `Decay::name` is the
//! kind's). A unit test checks that each row's example is of its kind and that the names agree.

use super::Decay;
use crate::schedule::CyclicMode;

/// The decay kinds, as `--decay` values (the JSON `kind`s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DecayKind {
    Constant,
    PiecewiseConstant,
    InverseTime,
    /// Also `linear` (HF's linear schedule: power 1 to 0 at the end of the run).
    #[value(alias = "linear")]
    Polynomial,
    Exponential,
    NaturalExp,
    Cosine,
    LinearCosine,
    NoisyLinearCosine,
    CosineRestarts,
    CosineHardRestarts,
    InverseSqrt,
    Noam,
    /// Also `wsd`.
    #[value(alias = "wsd")]
    WarmupStableDecay,
    OneCycle,
    Cyclic,
    ReduceOnPlateau,
}

/// What a preview example is built from.
#[derive(Debug, Clone, Copy)]
pub struct Example {
    pub peak: f64,
    /// Updates after warmup.
    pub horizon: u64,
    pub warmup_steps: u64,
    /// The model width (Noam's d_model).
    pub width: usize,
}

/// One row of the table.
pub struct KindSpec {
    /// Flags this kind takes besides `--decay-param KEY=VALUE`.
    pub flags: &'static [&'static str],
    /// (flag's own field, the field it fills for this kind).
    pub renamed: &'static [(&'static str, &'static str)],
    /// (required JSON field, how to give it).
    pub required: &'static [(&'static str, &'static str)],
    /// Illustrative parameters that end near peak/10 at T where the kind has a rate; None: the
    /// kind cannot be previewed (reduce-on-plateau needs validation losses).
    pub example: Option<fn(&Example) -> Decay>,
    /// The rate jumps back up at period boundaries (the end-of-run restart note).
    pub restarts: bool,
    /// Where lnwarm's default differs from the peer library the kind comes from, for this
    /// decay's parameters.
    pub peer_note: fn(&Decay) -> Option<String>,
}

const DECAY_RATE: &[(&str, &str)] = &[("decay_rate", "--decay-rate R")];
const RATE_FLAGS: &[&str] = &["--decay-steps", "--decay-rate", "--staircase"];

impl DecayKind {
    /// The `--decay` value (and JSON `kind`).
    pub fn name(self) -> String {
        use clap::ValueEnum;
        self.to_possible_value()
            .map(|v| v.get_name().to_string())
            .unwrap_or_default()
    }

    /// This kind's row of the table.
    pub fn spec(self) -> KindSpec {
        let row = |flags, example| KindSpec {
            flags,
            renamed: &[],
            required: &[],
            example: Some(example),
            restarts: false,
            peer_note: |_| None,
        };
        match self {
            Self::Constant => row(&[], |_| Decay::Constant),
            Self::PiecewiseConstant => KindSpec {
                required: &[
                    ("boundaries", "--boundaries S1,S2,.."),
                    ("values", "--values LR0,LR1,.."),
                ],
                ..row(&["--boundaries", "--values"], |e| {
                    Decay::PiecewiseConstant {
                        boundaries: vec![e.horizon / 3, 2 * e.horizon / 3],
                        values: vec![e.peak, e.peak / 3.0, e.peak / 10.0],
                    }
                })
            },
            Self::InverseTime => KindSpec {
                required: DECAY_RATE,
                ..row(RATE_FLAGS, |_| Decay::InverseTime {
                    decay_steps: None,
                    decay_rate: 9.0,
                    staircase: false,
                })
            },
            Self::Polynomial => KindSpec {
                peer_note: |d| {
                    match d {
                    Decay::Polynomial { end_lr, .. } if *end_lr == 0.0 => Some(
                        "polynomial decays to end_lr 0 (TF's polynomial_decay defaults to end_learning_rate 1e-4)".into(),
                    ),
                    _ => None,
                }
                },
                ..row(&["--decay-steps", "--end-lr", "--power", "--cycle"], |_| {
                    Decay::Polynomial {
                        decay_steps: None,
                        end_lr: 0.0,
                        power: 1.0,
                        cycle: false,
                    }
                })
            },
            Self::Exponential => KindSpec {
                required: DECAY_RATE,
                ..row(RATE_FLAGS, |_| Decay::Exponential {
                    decay_steps: None,
                    decay_rate: 0.1,
                    staircase: false,
                    end_value: None,
                })
            },
            Self::NaturalExp => KindSpec {
                required: DECAY_RATE,
                ..row(RATE_FLAGS, |_| Decay::NaturalExp {
                    decay_steps: None,
                    decay_rate: 10f64.ln(),
                    staircase: false,
                })
            },
            Self::Cosine => row(&["--decay-steps", "--alpha"], |_| Decay::Cosine {
                decay_steps: None,
                alpha: 0.0,
                exponent: 1.0,
                num_cycles: 0.5,
            }),
            Self::LinearCosine => row(
                &["--decay-steps", "--num-periods", "--alpha", "--beta"],
                |_| Decay::LinearCosine {
                    decay_steps: None,
                    num_periods: 0.5,
                    alpha: 0.0,
                    beta: 0.001,
                },
            ),
            Self::NoisyLinearCosine => row(&[], |_| Decay::NoisyLinearCosine {
                decay_steps: None,
                initial_variance: 1.0,
                variance_decay: 0.55,
                num_periods: 0.5,
                alpha: 0.0,
                beta: 0.001,
                seed: 0,
            }),
            Self::CosineRestarts => KindSpec {
                restarts: true,
                renamed: &[("decay_steps", "first_decay_steps")],
                required: &[("first_decay_steps", "--decay-steps N (the first period)")],
                ..row(&["--decay-steps", "--t-mul", "--m-mul", "--alpha"], |e| {
                    Decay::CosineRestarts {
                        first_decay_steps: (e.horizon / 7).max(1),
                        t_mul: 2.0,
                        m_mul: 0.8,
                        alpha: 0.0,
                        cycle_warmup: 0,
                        cycle_warmup_start_factor: 0.0,
                    }
                })
            },
            Self::CosineHardRestarts => KindSpec {
                restarts: true,
                ..row(&["--decay-steps", "--alpha"], |_| {
                    Decay::CosineHardRestarts {
                        decay_steps: None,
                        num_cycles: 1.0,
                        alpha: 0.0,
                    }
                })
            },
            Self::InverseSqrt => row(&["--timescale"], |_| Decay::InverseSqrt { timescale: None }),
            // Factor chosen so its peak, factor (d w)^-0.5, equals the others'.
            Self::Noam => row(&["--noam-factor"], |e| Decay::Noam {
                d_model: Some(e.width),
                factor: e.peak * ((e.width as u64 * e.warmup_steps.max(1)) as f64).sqrt(),
            }),
            Self::WarmupStableDecay => KindSpec {
                peer_note: |d| {
                    match d {
                    Decay::WarmupStableDecay {
                        shape: super::WsdShape::Linear,
                        ..
                    } => Some("warmup-stable-decay decays linearly (HF's get_wsd_schedule defaults to cosine: set shape)".into()),
                    _ => None,
                }
                },
                ..row(&["--decay-steps", "--min-lr-ratio", "--wsd-shape"], |_| {
                    Decay::WarmupStableDecay {
                        decay_steps: None,
                        stable_steps: None,
                        min_lr_ratio: 0.0,
                        shape: super::WsdShape::Linear,
                    }
                })
            },
            Self::OneCycle => KindSpec {
                peer_note: only_the_rate,
                ..row(&[], |_| {
                    serde_json::from_value(serde_json::json!({"kind": "one-cycle"}))
                        .unwrap_or_default()
                })
            },
            Self::Cyclic => KindSpec {
                restarts: true,
                peer_note: only_the_rate,
                required: &[("base_lr", "--decay-param base_lr=LR")],
                ..row(&[], |e| Decay::Cyclic {
                    base_lr: e.peak / 10.0,
                    step_size_up: (e.horizon / 6).max(1),
                    step_size_down: None,
                    mode: CyclicMode::Triangular2,
                    gamma: 1.0,
                })
            },
            Self::ReduceOnPlateau => KindSpec {
                example: None,
                ..row(&[], |_| Decay::Constant)
            },
        }
    }
}

/// One-cycle and cyclic: PyTorch cycles momentum with the rate; lnwarm schedules the rate only.
fn only_the_rate(d: &Decay) -> Option<String> {
    Some(format!(
        "{}: only the rate is scheduled (PyTorch also cycles momentum / Adam's beta1 unless cycle_momentum=False)",
        d.name()
    ))
}

impl Decay {
    /// Which row of the table this decay is.
    pub fn kind(&self) -> DecayKind {
        match self {
            Self::Constant => DecayKind::Constant,
            Self::PiecewiseConstant { .. } => DecayKind::PiecewiseConstant,
            Self::InverseTime { .. } => DecayKind::InverseTime,
            Self::Polynomial { .. } => DecayKind::Polynomial,
            Self::Exponential { .. } => DecayKind::Exponential,
            Self::NaturalExp { .. } => DecayKind::NaturalExp,
            Self::Cosine { .. } => DecayKind::Cosine,
            Self::LinearCosine { .. } => DecayKind::LinearCosine,
            Self::NoisyLinearCosine { .. } => DecayKind::NoisyLinearCosine,
            Self::CosineRestarts { .. } => DecayKind::CosineRestarts,
            Self::CosineHardRestarts { .. } => DecayKind::CosineHardRestarts,
            Self::InverseSqrt { .. } => DecayKind::InverseSqrt,
            Self::Noam { .. } => DecayKind::Noam,
            Self::WarmupStableDecay { .. } => DecayKind::WarmupStableDecay,
            Self::OneCycle { .. } => DecayKind::OneCycle,
            Self::Cyclic { .. } => DecayKind::Cyclic,
            Self::ReduceOnPlateau(_) => DecayKind::ReduceOnPlateau,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    /// Every row's example is of its own kind, and the two names of a kind agree: the
    /// `--decay` value (clap's, which `Decay::name` returns) and the JSON `kind` (serde's).
    #[test]
    fn every_row_is_its_own_kind_and_names_agree() {
        let e = Example {
            peak: 1e-3,
            horizon: 900,
            warmup_steps: 100,
            width: 128,
        };
        for &kind in DecayKind::value_variants() {
            let spec = kind.spec();
            let Some(example) = spec.example else {
                assert_eq!(kind, DecayKind::ReduceOnPlateau);
                continue;
            };
            let decay = example(&e);
            assert_eq!(decay.kind(), kind);
            assert_eq!(decay.name(), kind.name());
            let json = serde_json::to_value(&decay).unwrap();
            assert_eq!(json["kind"], kind.name());
            for (field, _) in spec.required {
                assert!(json.get(field).is_some(), "{}: {field}", kind.name());
            }
        }
    }
}
