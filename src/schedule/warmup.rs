//! Warmup kinds: the rate of the first w updates, read at schedule step n (reaching `peak` at
//! n = w; constant: peak * f throughout), and an optional hold at the peak after them.

use crate::error::Result;
use crate::usage;
use serde::{Deserialize, Serialize};

/// Which ramp the warmup uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum WarmupKind {
    /// No warmup (w = 0).
    None,
    /// peak * (f + (1 - f) * t / w), f = start_factor (default 0: the paper's peak * t / w).
    Linear,
    /// Geometric ramp peak * f^(1 - t / w), f = start_factor (default 0.01).
    Exponential,
    /// peak * f for t <= w, f = start_factor (default 0.1); with `until_loss`, until the training
    /// loss first drops below it (He et al. 2016).
    Constant,
    /// peak * (f + (1 - f) * (1 - cos(pi * n / w)) / 2) (HF `get_wsd_schedule` warmup_type cosine).
    Cosine,
    /// peak * (f + (1 - f) * (1 - sqrt(1 - n / w))) (HF warmup_type 1-sqrt).
    #[serde(rename = "1-sqrt")]
    #[value(name = "1-sqrt")]
    OneMinusSqrt,
}

impl WarmupKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Linear => "linear",
            Self::Exponential => "exponential",
            Self::Constant => "constant",
            Self::Cosine => "cosine",
            Self::OneMinusSqrt => "1-sqrt",
        }
    }

    fn default_start_factor(self) -> f64 {
        match self {
            Self::None | Self::Linear | Self::Cosine | Self::OneMinusSqrt => 0.0,
            Self::Exponential => 0.01,
            Self::Constant => 0.1,
        }
    }
}

/// A warmup of `steps` updates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Warmup {
    pub kind: WarmupKind,
    #[serde(default)]
    pub steps: u64,
    /// Fraction of peak the ramp starts from (default: linear 0, exponential 0.01, constant 0.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_factor: Option<f64>,
    /// Constant warmup only: end the warmup at the first update whose training loss is below this
    /// (`steps` is then the longest it may last; 0 = no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_loss: Option<f64>,
    /// Steps held at the peak after the ramp before the decay starts (optax `transition_begin`,
    /// the "warmup-hold" pattern); the decay's counter starts after them.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub hold: u64,
    /// `--lr-init catapult`: the ramp starts at the rate a search on the initial model finds
    /// (recorded in the result's `catapult`), in place of `start_factor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_search: Option<StartSearch>,
    /// `--warmup-groups SPEC`: the ramp applies only to the parameters SPEC names (or all but
    /// them, `!SPEC`); the rest run at the full rate from update 1 (`schedule::groups`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<String>,
}

/// How a warmup's starting rate is found when the run starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum StartSearch {
    /// Kalra & Barkeshli 2024's loss-catapult search (`train::catapult`).
    Catapult,
}

fn is_zero(x: &u64) -> bool {
    *x == 0
}

impl Default for Warmup {
    fn default() -> Self {
        Self::none()
    }
}

impl Warmup {
    pub fn none() -> Self {
        Self {
            kind: WarmupKind::None,
            steps: 0,
            start_factor: None,
            until_loss: None,
            hold: 0,
            start_search: None,
            groups: None,
        }
    }

    /// The paper's warmup: peak * t / w; `w = 0` means no warmup.
    pub fn linear(steps: u64) -> Self {
        Self::of_kind(
            if steps == 0 {
                WarmupKind::None
            } else {
                WarmupKind::Linear
            },
            steps,
        )
    }

    pub fn of_kind(kind: WarmupKind, steps: u64) -> Self {
        Self {
            kind,
            steps,
            start_factor: None,
            until_loss: None,
            hold: 0,
            start_search: None,
            groups: None,
        }
    }

    pub fn start_factor(&self) -> f64 {
        self.start_factor
            .unwrap_or_else(|| self.kind.default_start_factor())
    }

    /// Rate at schedule step n of a warmup update, w the warmup's length (0 <= n <= w).
    pub fn lr(&self, peak: f64, n: u64, w: u64) -> f64 {
        let f = self.start_factor();
        let frac = (n as f64 / w as f64).min(1.0);
        let ramp = |shape: f64| peak * (f + (1.0 - f) * shape);
        match self.kind {
            WarmupKind::None => peak,
            WarmupKind::Linear => ramp(frac),
            WarmupKind::Exponential => peak * f.powf(1.0 - frac),
            WarmupKind::Constant => peak * f,
            WarmupKind::Cosine => ramp(0.5 * (1.0 - (std::f64::consts::PI * frac).cos())),
            WarmupKind::OneMinusSqrt => ramp(1.0 - (1.0 - frac).sqrt()),
        }
    }

    pub fn validate(&self) -> Result<()> {
        let kind = self.kind.name();
        match self.kind {
            WarmupKind::None if self.steps != 0 => {
                return Err(usage!(
                    "warmup.steps {}: must be 0 with warmup kind none",
                    self.steps
                ));
            }
            WarmupKind::None if self.start_factor.is_some() || self.until_loss.is_some() => {
                return Err(usage!(
                    "warmup kind none takes no start_factor or until_loss"
                ));
            }
            WarmupKind::Constant if self.until_loss.is_some() => {}
            WarmupKind::None => {}
            _ if self.steps == 0 => {
                return Err(usage!(
                    "warmup.steps 0 with warmup kind {kind}: must be >= 1 (or use kind none)"
                ));
            }
            _ => {}
        }
        if let Some(loss) = self.until_loss {
            if self.kind != WarmupKind::Constant {
                return Err(usage!(
                    "warmup.until_loss {loss}: allowed only with warmup kind constant, not {kind}"
                ));
            }
            if !(loss > 0.0 && loss.is_finite()) {
                return Err(usage!(
                    "warmup.until_loss {loss}: must be a positive number"
                ));
            }
        }
        if self.start_search.is_some() {
            if !matches!(self.kind, WarmupKind::Linear | WarmupKind::Exponential) {
                return Err(usage!(
                    "--lr-init catapult starts a warmup ramp: use a linear or exponential warmup of N >= 1 updates (--warmup N), not {kind} {}",
                    self.steps
                ));
            }
            if let Some(f) = self.start_factor {
                return Err(usage!(
                    "--lr-init catapult and warmup.start_factor {f}: give one (the search sets the start)"
                ));
            }
        }
        if let Some(spec) = &self.groups {
            super::groups::GroupSpec::parse(spec)?;
            if self.kind == WarmupKind::None {
                return Err(usage!(
                    "--warmup-groups {spec}: there is no warmup to apply to a group; give --warmup N >= 1"
                ));
            }
        }
        if let Some(f) = self.start_factor {
            let ok = match self.kind {
                WarmupKind::Exponential => f > 0.0 && f <= 1.0,
                _ => (0.0..=1.0).contains(&f),
            };
            if !ok {
                let range = if self.kind == WarmupKind::Exponential {
                    "(0, 1]"
                } else {
                    "[0, 1]"
                };
                return Err(usage!(
                    "warmup.start_factor {f}: must be in {range} for warmup kind {kind}"
                ));
            }
        }
        Ok(())
    }
}
