//! The warmup-substitute flags (issue 20): interventions that each stand in for a warmup by
//! acting on one mechanism it may work through. Documented with their sources in
//! docs/training.md; the config keys are `optim.v_fill`, `optim.update_cap`,
//! `optim.freeze_top`, `optim.window` and `schedule.warmup.start_search`.

use crate::config::RunConfig;
use clap::Args;

#[derive(Debug, Args, Clone, Default)]
pub struct SubstituteArgs {
    /// Before the first update, N batches whose gradients only fill Adam's second moment
    /// (weights and first moment untouched: the RAdam paper's "Adam-2k").
    #[arg(long, value_name = "N")]
    pub v_fill: Option<u64>,
    /// During the substitute window, scale each tensor's update down so that ‖Δw‖/‖w‖ <= R
    /// (Kosson et al. 2024's update-size control).
    #[arg(long, value_name = "R")]
    pub update_cap: Option<f64>,
    /// During the substitute window, freeze the top K blocks, the final norm and an untied
    /// output layer (Gotmare et al. 2019).
    #[arg(long, value_name = "K")]
    pub freeze_top: Option<usize>,
    /// How many updates --update-cap and --freeze-top act for (the warmup they stand in for).
    #[arg(long, value_name = "N")]
    pub substitute_window: Option<u64>,
    /// Start the warmup at the rate a loss-catapult search on the initial model finds
    /// (Kalra & Barkeshli 2024), not at 0.
    #[arg(long, value_enum, value_name = "SEARCH")]
    pub lr_init: Option<crate::schedule::StartSearch>,
}

impl SubstituteArgs {
    /// Override the config's substitutes with the flags given.
    pub fn apply(&self, cfg: &mut RunConfig) {
        let o = &mut cfg.optim;
        if let Some(n) = self.v_fill {
            o.v_fill = n;
        }
        if self.update_cap.is_some() {
            o.update_cap = self.update_cap;
        }
        if let Some(k) = self.freeze_top {
            o.freeze_top = k;
        }
        if let Some(n) = self.substitute_window {
            o.window = n;
        }
        if self.lr_init.is_some() {
            cfg.schedule.warmup.start_search = self.lr_init;
        }
    }
}
