//! Lines that make a schedule's non-obvious consequences explicit: shown by `lnwarm schedule`,
//! printed when a run starts and stored in the result's `schedule_notes`. Each note names what to
//! change if it is not what the user wanted.

use super::{noam, Decay, LrSchedule, Schedule, ScheduleConfig, WarmupKind};

impl ScheduleConfig {
    /// The notes for a run of `total_steps` updates.
    pub fn notes(&self, total_steps: u64) -> Vec<String> {
        Schedule::new(self.clone(), total_steps.max(1)).notes()
    }
}

impl Schedule {
    pub fn notes(&self) -> Vec<String> {
        let cfg = self.config();
        let (w, total) = (cfg.warmup.steps, self.total_steps());
        let mut notes = Vec::new();
        if let Decay::Noam { d_model, factor } = &cfg.decay {
            notes.push(format!(
                "noam: peak_lr {} is ignored; the rate is {factor} * d_model^-0.5 * min(n^-0.5, n * w^-1.5), peaking at {:.4e} at step n = {w}",
                cfg.peak_lr,
                noam(w, w, d_model.unwrap_or(1).max(1), *factor)
            ));
        }
        if let (Decay::InverseSqrt { timescale: None }, 0) = (&cfg.decay, w) {
            notes.push("decay inverse-sqrt (lnwarm's default decay) decays from the end of the warmup, and there is none and no timescale: the rate stays at peak_lr; choose a decay (--decay constant says so; cosine, linear, ...) or set its timescale (HF's default is 10000)".into());
        }
        if cfg.warmup.until_loss.is_some() {
            notes.push("constant warmup ends when the training loss first drops below until_loss; the step is recorded in the result".into());
        }
        if w > total && cfg.warmup.until_loss.is_none() {
            notes.push(format!(
                "warmup {w} is longer than the run's {total} updates: the rate never reaches peak_lr (at most {:.4e})",
                self.lr(total)
            ));
        }
        self.origin_notes(&mut notes);
        self.peer_default_notes(&mut notes);
        notes
    }

    /// Consequences of step_origin 1 that surprise users of the peer libraries.
    fn origin_notes(&self, notes: &mut Vec<String>) {
        let cfg = self.config();
        if cfg.step_origin != 1 || matches!(cfg.decay, Decay::Noam { .. }) {
            return;
        }
        let decay_moves =
            cfg.decay.lr(cfg.peak_lr, self.at(0)) != cfg.decay.lr(cfg.peak_lr, self.at(1));
        // Only a warmup that ends at the peak (or a hold) lands update w + 1 on the decay's step 0.
        let skips_step_zero = cfg.warmup.hold == 0
            && matches!(cfg.warmup.kind, WarmupKind::None | WarmupKind::Constant);
        if decay_moves && skips_step_zero && !cfg.decay.has_own_warmup() {
            notes.push(format!(
                "step_origin 1: the first decay update reads step 1, so the decay's value at its step 0 ({:.4e}) is never used; TF/Keras/PyTorch/HF/optax count from 0 (step_origin 0)",
                cfg.decay.lr(cfg.peak_lr, self.at(0))
            ));
        }
        let total = self.total_steps();
        if total >= 2 && self.restarts() && self.lr(total) > self.lr(total - 1) {
            notes.push(format!(
                "the run's last update {total} starts a new {} period: its rate jumps back up to {:.4e} (step_origin 0 ends the period instead)",
                cfg.decay.name(),
                self.lr(total)
            ));
        }
    }

    /// Where lnwarm's default differs from the peer library the kind comes from (the kinds
    /// table's `peer_note`).
    fn peer_default_notes(&self, notes: &mut Vec<String>) {
        let decay = &self.config().decay;
        notes.extend((decay.kind().spec().peer_note)(decay));
    }

    fn restarts(&self) -> bool {
        self.config().decay.kind().spec().restarts
    }
}
