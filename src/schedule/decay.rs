//! Decays: the rate after warmup, evaluated at s = t - w (inverse-sqrt on t itself).

use crate::error::Result;
use serde::{Deserialize, Serialize};

/// What happens after warmup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Decay {
    /// Stay at peak.
    #[default]
    Constant,
    /// fairseq's inverse_sqrt: peak * sqrt(w / t) for t > w. With no warmup (w = 0) there is no
    /// anchor, so the rate stays at peak unless `timescale` is given: then
    /// peak * sqrt(timescale / (t - w + timescale)) (HF's form; equals fairseq's when timescale = w).
    InverseSqrt {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timescale: Option<u64>,
    },
}

impl Decay {
    /// Rate at update t > w.
    pub fn lr(&self, peak: f64, t: u64, w: u64) -> f64 {
        match self {
            Decay::Constant => peak,
            Decay::InverseSqrt { timescale } => match (timescale, w) {
                (Some(ts), _) => peak * (*ts as f64 / ((t - w) as f64 + *ts as f64)).sqrt(),
                (None, 0) => peak,
                (None, w) => peak * (w as f64 / t as f64).sqrt(),
            },
        }
    }

    pub fn validate(&self, _peak: f64, _w: u64, _total: u64) -> Result<()> {
        if let Decay::InverseSqrt { timescale: Some(0) } = self {
            return Err(crate::usage!("decay.timescale 0: must be >= 1"));
        }
        Ok(())
    }
}
