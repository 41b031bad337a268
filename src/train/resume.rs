//! Continuing a run from its checkpoint: which checkpoint (`Resume`), whether it belongs to this
//! run (config, thread count, kernels), and putting its state in place.

use super::{Progression, RunOptions};
use crate::checkpoint::{self, Elapsed};
use crate::config::RunConfig;
use crate::data::batches::WindowSampler;
use crate::error::Result;
use crate::files::unix_now;
use crate::model::ParamStore;
use crate::progress::Progress;
use crate::results::{Resumption, RunStatus};
use crate::schedule::Schedule;
use candle_core::Device;

/// Whether to continue from a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// Start at update 1 (a checkpoint there is replaced at the first checkpoint interval).
    Never,
    /// `--resume`: continue from the checkpoint; missing, damaged or of another config is an error.
    Required,
    /// Sweeps: continue from a checkpoint of the same config, else start at update 1.
    IfCompatible,
}

/// The checkpoint to continue from, per `opts.resume` (checked against `cfg`).
pub(super) fn resume_point(
    cfg: &RunConfig,
    opts: &RunOptions,
    device: &Device,
) -> Result<Option<checkpoint::Loaded>> {
    let Some(dir) = &opts.checkpoint_dir else {
        return Ok(None);
    };
    match opts.resume {
        Resume::Never => Ok(None),
        Resume::Required => {
            let ckpt = checkpoint::load(dir, device, "--resume")?;
            check_compatible(cfg, &ckpt)?;
            Ok(Some(ckpt))
        }
        Resume::IfCompatible if checkpoint::exists(dir) => {
            let ckpt = checkpoint::load(dir, device, "--resume")?;
            Ok(check_compatible(cfg, &ckpt).is_ok().then_some(ckpt))
        }
        Resume::IfCompatible => Ok(None),
    }
}

/// A checkpoint continues this run only with the same config, thread count and kernels: any of
/// them changes the last digits, and a resumed run must equal the uninterrupted one.
fn check_compatible(cfg: &RunConfig, ckpt: &checkpoint::Loaded) -> Result<()> {
    let mut differing = checkpoint::config_diff(&ckpt.state.config, cfg);
    let shown = ckpt.dir.display();
    if differing == ["train.steps"] && cfg.train.steps > ckpt.state.config.train.steps {
        check_extensible(&ckpt.state.config, cfg, ckpt.state.update)?;
        differing.clear();
    }
    if !differing.is_empty() {
        return Err(crate::usage!(
            "--resume: {shown} was made with another config: {} differ (resume with the same flags and config file, or start over without --resume)",
            differing.join(", ")
        ));
    }
    let then = &ckpt.state.result.provenance;
    let now_threads = candle_core::utils::get_num_threads();
    if then.threads != now_threads {
        return Err(crate::usage!(
            "--resume: {shown} was made with {} threads, this process has {now_threads}: pass --threads {} (the thread count changes the last digits)",
            then.threads,
            then.threads
        ));
    }
    if then.composite_kernels != crate::model::layers::composite_kernels() {
        return Err(crate::usage!(
            "--resume: {shown} was made with LNWARM_COMPOSITE={}: set it the same way",
            u8::from(then.composite_kernels)
        ));
    }
    Ok(())
}

/// `--resume --steps N` with a larger N continues a run only when the rate of every update it
/// has made is the same under the longer run's schedule (constant, inverse-sqrt, Noam,
/// exponential, ... after any warmup): otherwise the first updates were made with another
/// schedule than the one the result would record. Schedules that stretch with the run (cosine,
/// linear, polynomial over the run, WSD, one-cycle) are refused, naming the schedule.
fn check_extensible(then: &RunConfig, now: &RunConfig, done: u64) -> Result<()> {
    use crate::schedule::LrSchedule;
    let (old, new) = (
        then.schedule.build(then.train.steps)?,
        now.schedule.build(now.train.steps)?,
    );
    let kind = serde_json::to_value(&now.schedule.decay)
        .ok()
        .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_string))
        .unwrap_or_else(|| "?".into());
    match (1..=done.max(1)).find(|&t| old.lr(t) != new.lr(t)) {
        None => Ok(()),
        Some(t) => Err(crate::usage!(
            "--resume --steps {}: the schedule (decay {kind}) depends on the run's length: update {t} had lr {:e}, a {}-update run gives it {:e}; extend only schedules that do not (constant, inverse-sqrt, noam, exponential), or start over",
            now.train.steps,
            old.lr(t),
            now.train.steps,
            new.lr(t)
        )),
    }
}

/// Put the weights, optimizer, sampler, schedule and partial result of `ckpt` in place.
pub(super) fn restore(
    p: &mut Progression,
    store: &ParamStore,
    ckpt: checkpoint::Loaded,
    progress: &Progress,
) -> Result<()> {
    checkpoint::restore_params(store, &ckpt.model)?;
    p.opt.load_state(&ckpt.optimizer)?;
    restore_stream(&ckpt, "--resume", &mut p.sampler, &mut p.schedule)?;
    if ckpt.state.result.data.tokenizer_sha256 != p.result.data.tokenizer_sha256 {
        return Err(crate::usage!(
            "--resume: {}: made with another tokenizer (SHA-256 {:?}, this run's {:?})",
            ckpt.dir.display(),
            ckpt.state.result.data.tokenizer_sha256,
            p.result.data.tokenizer_sha256
        ));
    }
    check_same_text(&ckpt, &p.result.data)?;
    let update = ckpt.state.update;
    p.before = ckpt.state.elapsed;
    // The result describes the whole run: with `--steps` extended, the new length, and the
    // name and notes the banner printed for it (one run, one name).
    let (config, run_name) = (p.result.config.clone(), p.result.run_name.clone());
    let notes = std::mem::take(&mut p.result.schedule_notes);
    p.result = ckpt.state.result;
    (p.result.config, p.result.run_name) = (config, run_name);
    p.result.schedule_notes = notes;
    p.result.status = RunStatus::Ok;
    p.result.resumed.push(Resumption {
        at_update: update,
        started_at_unix: unix_now(),
        command: std::env::args().collect(),
    });
    p.next_step = update + 1;
    progress.resumed_at(update);
    progress.println(&format!(
        "lnwarm: resuming {} at update {} of {}",
        ckpt.dir.display(),
        update + 1,
        p.result.config.train.steps
    ));
    Ok(())
}

/// The text must be the one the checkpoint trained on: a word replaced keeps the vocabulary's
/// size, and the run would continue on other data under the same name. A checkpoint from before
/// the hash was recorded is compared by its vocabulary only.
fn check_same_text(ckpt: &checkpoint::Loaded, now: &crate::results::DataInfo) -> Result<()> {
    let then = &ckpt.state.result.data;
    let differs = match (&then.text_sha256, &now.text_sha256) {
        (Some(a), Some(b)) => a != b,
        _ => then.vocab != now.vocab,
    };
    if differs {
        return Err(crate::usage!(
            "--resume: {}: made on other data ({} text SHA-256 {}; now {} SHA-256 {}): resume on the same text, or start over",
            ckpt.dir.display(),
            then.source,
            then.text_sha256.as_deref().unwrap_or("not recorded"),
            now.source,
            now.text_sha256.as_deref().unwrap_or("not recorded")
        ));
    }
    Ok(())
}

/// What `--resume` puts back besides the weights, the optimizer and the partial result: the
/// sampler's position, a loss-ended warmup's end, and the reduce-on-plateau cuts, replayed from
/// the recorded validation losses and checked against the recorded cuts. `lnwarm probe --from`
/// restores the same, so it measures at the rate the run itself would use next.
/// `flag` names the flag that gave the checkpoint, for the message on a damaged one.
pub fn restore_stream(
    ckpt: &checkpoint::Loaded,
    flag: &str,
    sampler: &mut WindowSampler,
    schedule: &mut Schedule,
) -> Result<()> {
    let bad =
        |what: &str| crate::usage!("{flag}: {}: damaged checkpoint: {what}", ckpt.dir.display());
    let position: u128 = ckpt
        .state
        .sampler_position
        .parse()
        .map_err(|_| bad("sampler_position is not an integer"))?;
    sampler.seek(position);
    if let Some(step) = ckpt.state.warmup_ended_at_step {
        schedule.end_warmup_at(step);
    }
    // reduce-on-plateau keeps counters between evaluations: replay the recorded ones.
    let recorded = &ckpt.state.result;
    for point in recorded.eval.iter().filter(|e| e.step > 0) {
        schedule.observe_val_loss(point.step, point.val_loss);
    }
    if schedule.reductions() != recorded.lr_reductions.as_slice() {
        return Err(bad(
            "lr_reductions do not follow from the recorded validation losses",
        ));
    }
    Ok(())
}

pub(super) fn checkpoint_state(
    p: &Progression,
    cfg: &RunConfig,
    elapsed: Elapsed,
) -> checkpoint::CheckpointState {
    checkpoint::CheckpointState {
        format: checkpoint::FORMAT,
        lnwarm_version: env!("CARGO_PKG_VERSION").to_string(),
        update: p.next_step - 1,
        sampler_position: p.sampler.position().to_string(),
        warmup_ended_at_step: p.result.warmup_ended_at_step,
        elapsed,
        files: Default::default(),
        config: cfg.clone(),
        result: p.result.clone(),
    }
}
