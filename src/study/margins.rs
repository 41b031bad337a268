//! A study's non-inferiority margins (issue 23): how large a difference "no difference" may
//! hide. A negative verdict ("does not need warmup", "not sensitive", "does not rescue") needs
//! the confidence bound of the difference below the margin; without it the verdict is
//! "inconclusive", with the seeds that would settle it. Stated in the study file, before its
//! runs, like every other decision rule:
//!
//! ```json
//! "margins": {"failure_rate": 0.25, "final_loss": 0.02, "loss_sd": 0.015}
//! ```

use crate::error::Result;
use crate::usage;
use serde::{Deserialize, Serialize};

/// The margins of a study, with the defaults a study file may leave out.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Margins {
    /// Largest difference in failure rate (stalled + diverged) that counts as none: a quarter of
    /// the runs. 11 runs without a failure bound a rate below it at 95%.
    pub failure_rate: f64,
    /// Largest difference in final validation loss (nats) that counts as none: 0.02 nats, the
    /// order of the seed spread of one configuration (below).
    pub final_loss: f64,
    /// For the design check only (`lnwarm sweep plan --power`): the seed-to-seed standard
    /// deviation of a final loss expected before any run. 0.015 nats is the median over the 14
    /// failure-free configurations of docs/studies/paper-cpu/runs.csv (norms-cpu: 0.017).
    pub loss_sd: f64,
}

impl Default for Margins {
    fn default() -> Self {
        Self {
            failure_rate: 0.25,
            final_loss: 0.02,
            loss_sd: 0.015,
        }
    }
}

impl Margins {
    /// Refuse margins that cannot be one: a rate outside (0, 1), a loss or spread <= 0.
    pub fn validate(&self) -> Result<()> {
        if !(self.failure_rate > 0.0 && self.failure_rate < 1.0) {
            return Err(usage!(
                "margins.failure_rate {}: must lie strictly between 0 and 1 (e.g. 0.25)",
                self.failure_rate
            ));
        }
        for (key, value) in [("final_loss", self.final_loss), ("loss_sd", self.loss_sd)] {
            if !(value > 0.0 && value.is_finite()) {
                return Err(usage!(
                    "margins.{key} {value}: must be a positive number of nats (e.g. 0.02)"
                ));
            }
        }
        Ok(())
    }

    /// `margins: failure rate 0.25, final loss 0.02 nats`.
    pub fn describe(&self) -> String {
        format!(
            "margins: failure rate {}, final loss {} nats",
            self.failure_rate, self.final_loss
        )
    }
}
