//! Warmup kinds: the rate for t <= w, ending at `peak` at t = w.

use crate::error::Result;
use serde::{Deserialize, Serialize};

/// Which ramp the warmup uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum WarmupKind {
    /// No warmup (w must be 0).
    None,
    /// peak * (f + (1 - f) * t / w); the paper's ramp is f = 0.
    Linear,
}

/// A warmup of `steps` updates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Warmup {
    pub kind: WarmupKind,
    #[serde(default)]
    pub steps: u64,
    /// Fraction of peak the ramp starts from (linear: default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_factor: Option<f64>,
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
        }
    }

    /// The paper's warmup: peak * t / w; `w = 0` means no warmup.
    pub fn linear(steps: u64) -> Self {
        if steps == 0 {
            return Self::none();
        }
        Self {
            kind: WarmupKind::Linear,
            steps,
            start_factor: None,
        }
    }

    /// Rate at update t, 1 <= t <= steps.
    pub fn lr(&self, peak: f64, t: u64) -> f64 {
        let frac = t as f64 / self.steps as f64;
        match self.kind {
            WarmupKind::None => peak,
            WarmupKind::Linear => {
                let f = self.start_factor.unwrap_or(0.0);
                peak * (f + (1.0 - f) * frac)
            }
        }
    }

    pub fn validate(&self) -> Result<()> {
        if self.kind == WarmupKind::None && self.steps != 0 {
            return Err(crate::usage!(
                "warmup.steps {} with warmup.kind none: must be 0",
                self.steps
            ));
        }
        if self.kind != WarmupKind::None && self.steps == 0 {
            return Err(crate::usage!(
                "warmup.steps 0 with a warmup kind: must be >= 1 (or use kind none)"
            ));
        }
        if let Some(f) = self.start_factor {
            if !(0.0..=1.0).contains(&f) {
                return Err(crate::usage!("warmup.start_factor {f}: must be in [0, 1]"));
            }
        }
        Ok(())
    }
}
