//! Schedule flags shared by training and `lnwarm schedule`: `--warmup N --warmup-kind K --decay K`
//! plus the decay's parameters. A parameter the chosen decay does not take is an error, so a
//! typo never silently changes nothing.

use crate::error::Result;
use crate::schedule::{Decay, ScheduleConfig, Warmup, WarmupKind, WsdShape};
use crate::usage;
use clap::{Args, ValueEnum};

/// The decay kinds, as `--decay` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DecayKind {
    Constant,
    PiecewiseConstant,
    InverseTime,
    Polynomial,
    Exponential,
    NaturalExp,
    Cosine,
    LinearCosine,
    CosineRestarts,
    InverseSqrt,
    Noam,
    WarmupStableDecay,
}

/// Warmup and decay flags.
#[derive(Debug, Args, Default, Clone)]
pub struct ScheduleArgs {
    /// Warmup updates; with no --warmup-kind: linear (0 = no warmup). Default decay after it:
    /// inverse-sqrt lr*sqrt(N/t), the paper's schedule.
    #[arg(long, value_name = "N")]
    pub warmup: Option<u64>,
    /// Warmup ramp.
    #[arg(long, value_enum, value_name = "KIND")]
    pub warmup_kind: Option<WarmupKind>,
    /// Fraction of the peak the warmup starts from (linear 0, exponential 0.01, constant 0.1).
    #[arg(long, value_name = "F")]
    pub warmup_start_factor: Option<f64>,
    /// Constant warmup only: end it when the training loss first drops below L (He et al. 2016).
    #[arg(long, value_name = "L")]
    pub warmup_until_loss: Option<f64>,
    /// Decay after warmup (noam ignores --lr: factor*d_model^-0.5*min(t^-0.5, t*w^-1.5)).
    #[arg(long, value_enum, value_name = "KIND")]
    pub decay: Option<DecayKind>,
    /// Decay horizon D (default: until the end of training; warmup-stable-decay: 20% of the run).
    #[arg(long, value_name = "N")]
    pub decay_steps: Option<u64>,
    /// exponential / natural-exp / inverse-time rate.
    #[arg(long, value_name = "R")]
    pub decay_rate: Option<f64>,
    /// Decay in steps: p = floor(s / decay_steps).
    #[arg(long)]
    pub staircase: bool,
    /// polynomial: final rate.
    #[arg(long, value_name = "LR")]
    pub end_lr: Option<f64>,
    /// polynomial: exponent.
    #[arg(long)]
    pub power: Option<f64>,
    /// polynomial: restart the decay every decay_steps with a longer horizon.
    #[arg(long)]
    pub cycle: bool,
    /// cosine / linear-cosine / cosine-restarts: floor as a fraction of the peak.
    #[arg(long)]
    pub alpha: Option<f64>,
    /// linear-cosine: constant added to the multiplier.
    #[arg(long)]
    pub beta: Option<f64>,
    /// linear-cosine: number of cosine periods over the decay.
    #[arg(long)]
    pub num_periods: Option<f64>,
    /// piecewise-constant: update counts after warmup, comma-separated, increasing.
    #[arg(long, value_delimiter = ',', value_name = "S1,S2,..")]
    pub boundaries: Option<Vec<u64>>,
    /// piecewise-constant: absolute rates, one more than boundaries.
    #[arg(long, value_delimiter = ',', value_name = "LR0,LR1,..")]
    pub values: Option<Vec<f64>>,
    /// cosine-restarts: growth of each period.
    #[arg(long)]
    pub t_mul: Option<f64>,
    /// cosine-restarts: scale of each restart's peak.
    #[arg(long)]
    pub m_mul: Option<f64>,
    /// inverse-sqrt: HF timescale c, lr*sqrt(c/(s+c)).
    #[arg(long, value_name = "N")]
    pub timescale: Option<u64>,
    /// noam: multiplier.
    #[arg(long)]
    pub noam_factor: Option<f64>,
    /// warmup-stable-decay: final rate as a fraction of the peak.
    #[arg(long, value_name = "R")]
    pub min_lr_ratio: Option<f64>,
    /// warmup-stable-decay: shape of the final decay.
    #[arg(long, value_enum)]
    pub wsd_shape: Option<WsdShape>,
}

impl ScheduleArgs {
    /// Override `cfg` with the flags that were given.
    pub fn apply(&self, cfg: &mut ScheduleConfig) -> Result<()> {
        self.apply_warmup(&mut cfg.warmup);
        match self.decay {
            Some(kind) => cfg.decay = self.decay_of(kind)?,
            None => {
                if let Some(flag) = self.decay_params_given().first() {
                    return Err(usage!("{flag} needs --decay KIND"));
                }
            }
        }
        Ok(())
    }

    fn apply_warmup(&self, warmup: &mut Warmup) {
        match (self.warmup_kind, self.warmup) {
            (Some(WarmupKind::None), _) => *warmup = Warmup::none(),
            (Some(kind), steps) => *warmup = Warmup::of_kind(kind, steps.unwrap_or(warmup.steps)),
            (None, Some(0)) => *warmup = Warmup::none(),
            (None, Some(steps)) if warmup.kind == WarmupKind::None => {
                *warmup = Warmup::linear(steps)
            }
            (None, Some(steps)) => warmup.steps = steps,
            (None, None) => {}
        }
        if self.warmup_start_factor.is_some() {
            warmup.start_factor = self.warmup_start_factor;
        }
        if self.warmup_until_loss.is_some() {
            warmup.until_loss = self.warmup_until_loss;
        }
    }

    /// (flag name, given?) for every decay parameter.
    fn decay_params(&self) -> [(&'static str, bool); 16] {
        [
            ("--decay-steps", self.decay_steps.is_some()),
            ("--decay-rate", self.decay_rate.is_some()),
            ("--staircase", self.staircase),
            ("--end-lr", self.end_lr.is_some()),
            ("--power", self.power.is_some()),
            ("--cycle", self.cycle),
            ("--alpha", self.alpha.is_some()),
            ("--beta", self.beta.is_some()),
            ("--num-periods", self.num_periods.is_some()),
            ("--boundaries", self.boundaries.is_some()),
            ("--values", self.values.is_some()),
            ("--t-mul", self.t_mul.is_some()),
            ("--m-mul", self.m_mul.is_some()),
            ("--timescale", self.timescale.is_some()),
            ("--noam-factor", self.noam_factor.is_some()),
            ("--min-lr-ratio", self.min_lr_ratio.is_some()),
        ]
    }

    fn decay_params_given(&self) -> Vec<&'static str> {
        let mut given: Vec<_> = self
            .decay_params()
            .iter()
            .filter(|(_, g)| *g)
            .map(|(f, _)| *f)
            .collect();
        if self.wsd_shape.is_some() {
            given.push("--wsd-shape");
        }
        given
    }

    /// Build the decay; every given parameter must be one `kind` takes.
    pub fn decay_of(&self, kind: DecayKind) -> Result<Decay> {
        let name = kind
            .to_possible_value()
            .map(|v| v.get_name().to_string())
            .unwrap_or_default();
        let takes: &[&str] = match kind {
            DecayKind::Constant => &[],
            DecayKind::PiecewiseConstant => &["--boundaries", "--values"],
            DecayKind::InverseTime | DecayKind::Exponential | DecayKind::NaturalExp => {
                &["--decay-steps", "--decay-rate", "--staircase"]
            }
            DecayKind::Polynomial => &["--decay-steps", "--end-lr", "--power", "--cycle"],
            DecayKind::Cosine => &["--decay-steps", "--alpha"],
            DecayKind::LinearCosine => &["--decay-steps", "--num-periods", "--alpha", "--beta"],
            DecayKind::CosineRestarts => &["--decay-steps", "--t-mul", "--m-mul", "--alpha"],
            DecayKind::InverseSqrt => &["--timescale"],
            DecayKind::Noam => &["--noam-factor"],
            DecayKind::WarmupStableDecay => &["--decay-steps", "--min-lr-ratio", "--wsd-shape"],
        };
        if let Some(flag) = self
            .decay_params_given()
            .into_iter()
            .find(|f| !takes.contains(f))
        {
            let allowed = if takes.is_empty() {
                "none".to_string()
            } else {
                takes.join(", ")
            };
            return Err(usage!(
                "{flag} is not a parameter of --decay {name} (it takes: {allowed})"
            ));
        }
        let rate = || {
            self.decay_rate
                .ok_or_else(|| usage!("--decay {name} needs --decay-rate R"))
        };
        Ok(match kind {
            DecayKind::Constant => Decay::Constant,
            DecayKind::PiecewiseConstant => Decay::PiecewiseConstant {
                boundaries: self
                    .boundaries
                    .clone()
                    .ok_or_else(|| usage!("--decay {name} needs --boundaries S1,S2,.."))?,
                values: self
                    .values
                    .clone()
                    .ok_or_else(|| usage!("--decay {name} needs --values LR0,LR1,.."))?,
            },
            DecayKind::InverseTime => Decay::InverseTime {
                decay_steps: self.decay_steps,
                decay_rate: rate()?,
                staircase: self.staircase,
            },
            DecayKind::Exponential => Decay::Exponential {
                decay_steps: self.decay_steps,
                decay_rate: rate()?,
                staircase: self.staircase,
            },
            DecayKind::NaturalExp => Decay::NaturalExp {
                decay_steps: self.decay_steps,
                decay_rate: rate()?,
                staircase: self.staircase,
            },
            DecayKind::Polynomial => Decay::Polynomial {
                decay_steps: self.decay_steps,
                end_lr: self.end_lr.unwrap_or(0.0),
                power: self.power.unwrap_or(1.0),
                cycle: self.cycle,
            },
            DecayKind::Cosine => Decay::Cosine {
                decay_steps: self.decay_steps,
                alpha: self.alpha.unwrap_or(0.0),
            },
            DecayKind::LinearCosine => Decay::LinearCosine {
                decay_steps: self.decay_steps,
                num_periods: self.num_periods.unwrap_or(0.5),
                alpha: self.alpha.unwrap_or(0.0),
                beta: self.beta.unwrap_or(0.001),
            },
            DecayKind::CosineRestarts => Decay::CosineRestarts {
                first_decay_steps: self.decay_steps.ok_or_else(|| {
                    usage!("--decay {name} needs --decay-steps N (the first period)")
                })?,
                t_mul: self.t_mul.unwrap_or(2.0),
                m_mul: self.m_mul.unwrap_or(1.0),
                alpha: self.alpha.unwrap_or(0.0),
            },
            DecayKind::InverseSqrt => Decay::InverseSqrt {
                timescale: self.timescale,
            },
            DecayKind::Noam => Decay::Noam {
                d_model: None,
                factor: self.noam_factor.unwrap_or(1.0),
            },
            DecayKind::WarmupStableDecay => Decay::WarmupStableDecay {
                decay_steps: self.decay_steps,
                min_lr_ratio: self.min_lr_ratio.unwrap_or(0.0),
                shape: self.wsd_shape.unwrap_or(WsdShape::Linear),
            },
        })
    }
}
