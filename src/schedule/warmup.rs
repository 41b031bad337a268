//! Warmup kinds: the rate for t <= w, reaching `peak` at t = w (constant: peak * f throughout).

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
}

impl WarmupKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Linear => "linear",
            Self::Exponential => "exponential",
            Self::Constant => "constant",
        }
    }

    fn default_start_factor(self) -> f64 {
        match self {
            Self::None | Self::Linear => 0.0,
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
        }
    }

    pub fn start_factor(&self) -> f64 {
        self.start_factor
            .unwrap_or_else(|| self.kind.default_start_factor())
    }

    /// Rate at update t for 1 <= t <= w, where w is the warmup's (possibly loss-ended) length.
    pub fn lr(&self, peak: f64, t: u64, w: u64) -> f64 {
        let f = self.start_factor();
        let frac = t as f64 / w as f64;
        match self.kind {
            WarmupKind::None => peak,
            WarmupKind::Linear => peak * (f + (1.0 - f) * frac),
            WarmupKind::Exponential => peak * f.powf(1.0 - frac),
            WarmupKind::Constant => peak * f,
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
