//! What the trainer does between updates besides probing: record an evaluation (and the
//! reduce-on-plateau cut it may bring), and write a checkpoint (at its interval, on a signal and
//! at the end: one function for all three).

use super::{checkpoint_state, mark_diverged, Progression, Setup};
use crate::checkpoint::{self, Elapsed};
use crate::config::RunConfig;
use crate::error::Result;
use crate::probe::Prober;
use crate::progress::Progress;
use crate::results::EvalPoint;
use crate::schedule::LrSchedule;
use std::path::Path;

/// Record the validation loss measured after update `step`: false (the run is marked diverged)
/// when it is not finite. A reduce-on-plateau schedule sees it and may cut the rate.
pub(super) fn record_eval(
    p: &mut Progression,
    progress: &Progress,
    step: u64,
    val_loss: f64,
) -> Result<bool> {
    if !val_loss.is_finite() {
        let reason = format!("non-finite validation loss ({val_loss})");
        mark_diverged(&mut p.result, progress, step, reason);
        return Ok(false);
    }
    progress.println(&format!("step {step}: val_loss {val_loss:.4}"));
    p.result.eval.push(EvalPoint { step, val_loss });
    if let Some(board) = &mut p.board {
        board.eval(step, val_loss)?;
    }
    if p.schedule.observe_val_loss(step, val_loss) {
        p.result.lr_reductions.push(step);
        progress.println(&format!(
            "step {step}: no improvement for too long: lr -> {:.4e}",
            p.schedule.lr(step + 1)
        ));
    }
    Ok(true)
}

/// Write the checkpoint of the state after update `p.next_step - 1` into `dir` (the weights,
/// the optimizer, the trainer's state, a subword tokenizer, the probes' state) and flush the
/// TensorBoard events, so both describe the same update.
pub(super) fn save(
    p: &mut Progression,
    dir: &Path,
    (cfg, setup): (&RunConfig, &Setup),
    prober: Option<&Prober>,
    elapsed: Elapsed,
) -> Result<()> {
    let tokenizer = setup.corpus.tokenizer.saved().map(|(json, _)| json);
    let probe_state = prober.map(|pr| pr.state()).transpose()?;
    checkpoint::save(
        dir,
        &setup.store,
        &p.opt,
        checkpoint_state(p, cfg, elapsed),
        tokenizer,
        probe_state.as_ref(),
    )?;
    if let Some(board) = &mut p.board {
        board.flush()?;
    }
    Ok(())
}
