//! Train a config into a result file: the one path `lnwarm` and `lnwarm sweep run` share. Set
//! up, train with checkpoints beside the result (`<result>.ckpt/`) and Ctrl-C / SIGTERM handled,
//! write the result and the tokenizer atomically, and turn an interrupt into
//! `Error::Interrupted` (exit 128 + signal) once the partial result and checkpoint are written.

use super::{train, Resume, RunOptions, Setup};
use crate::config::RunConfig;
use crate::error::{Error, Result};
use crate::results::{RunResult, RunStatus};
use std::path::Path;

/// How one run is written to its result file.
pub struct ToFile<'a> {
    /// The run's name in the result (`lnwarm`'s `--name` or a sweep's run id).
    pub name: &'a str,
    /// The result JSON; its checkpoint folder is `checkpoint::dir_for(out)`.
    pub out: &'a Path,
    pub quiet: bool,
    pub checkpoint_every: u64,
    pub resume: Resume,
    /// What the interrupt message tells the user to run to continue (a command, or a phrase).
    pub continue_with: String,
}

/// Trains `cfg` into `to.out`; returns the setup (its model and tokenizer) and the result.
pub fn train_to_file(cfg: &RunConfig, to: &ToFile) -> Result<(Setup, RunResult)> {
    // Before the setup, so that a signal during it (the corpus, a tokenizer, the model) is
    // honoured with a message instead of killing the process silently (issue 33).
    crate::interrupt::install();
    // The setup comes before any output, so that a config the machine cannot run (no GPU, too
    // little memory) fails with its one line and nothing before it.
    let setup = Setup::new(cfg)?;
    if let Some(signal) = crate::interrupt::requested() {
        return Err(Error::Interrupted {
            signal,
            message: format!(
                "{}: stopped by {} during the setup, before update 1: nothing to checkpoint; run the same command again to start it",
                to.name,
                crate::interrupt::signal_name(signal)
            ),
        });
    }
    if !to.quiet {
        let json = serde_json::to_string(cfg).unwrap_or_default();
        println!("lnwarm: config {json}");
    }
    let stop = |_step: u64| crate::interrupt::requested();
    let ckpt_dir = crate::checkpoint::dir_for(to.out);
    let opts = RunOptions {
        quiet: to.quiet,
        checkpoint_dir: Some(ckpt_dir.clone()),
        checkpoint_every: to.checkpoint_every,
        resume: to.resume,
        stop: &stop,
    };
    let result = train(cfg, &setup, to.name, &opts)?;
    result.write(to.out)?;
    setup.corpus.tokenizer.save_beside(to.out)?;
    if result.status == RunStatus::Interrupted {
        let sig = crate::interrupt::requested().unwrap_or(libc::SIGTERM);
        return Err(Error::Interrupted {
            signal: sig,
            message: format!(
                "{}: stopped by {} after update {}: wrote the partial result {} and the checkpoint {}; continue with: {}",
                to.name,
                crate::interrupt::signal_name(sig),
                result.summary.steps_done,
                to.out.display(),
                ckpt_dir.display(),
                to.continue_with
            ),
        });
    }
    Ok((setup, result))
}
