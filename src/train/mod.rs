//! The training loop around `step::update`: schedule, batches, logging, evaluation, divergence,
//! checkpoints, resume and interrupts.
//!
//! Divergence (non-finite loss or gradient, or a loss above the threshold) ends the run as a
//! result with status `diverged`, not as an error. A resumed run continues the sampler stream,
//! optimizer moments, schedule and curves exactly where the checkpoint left them, so its result
//! equals the uninterrupted run's in every number but the timings.

use crate::checkpoint::Elapsed;
use crate::config::RunConfig;
use crate::data::batches::WindowSampler;
use crate::error::Result;
use crate::metrics::GradNorms;
use crate::model::Transformer;
use crate::optim::Optimizer;
use crate::progress::Progress;
use crate::results::*;
use crate::schedule::LrSchedule;
use crate::step::{self, StepRule, Trainee};
use candle_core::Tensor;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

mod between;
pub mod catapult;
mod probed;
mod result;
mod resume;
mod setup;
mod to_file;

pub use crate::step::divergence;
pub use probed::ProbedUpdate;
pub use result::empty_result;
use result::finish_summary;
use resume::{checkpoint_state, restore, resume_point};
pub use resume::{restore_stream, Resume};
pub use setup::{build_model, diverge_threshold, make_device, Setup};
pub use to_file::{train_to_file, ToFile};

/// Seed of the validation batches: fixed, so every run of a study is scored on the same text.
const VAL_SEED: u64 = 0x7661_6c69_6461_7465;

/// Seed (xor the run's) of the catapult search's batch: off the training stream.
const CATAPULT_SEED: u64 = 0x6361_7461_7075_6c74;

/// How a run is driven, beyond its config (none of it changes a number of the result).
pub struct RunOptions<'a> {
    pub quiet: bool,
    /// The checkpoint folder (`<result>.ckpt/`); `None`: no checkpoints, not even on interrupt.
    pub checkpoint_dir: Option<PathBuf>,
    /// Write a checkpoint every this many updates (0: only on interrupt and at the end).
    pub checkpoint_every: u64,
    pub resume: Resume,
    /// Polled after every update with its number: `Some(signal)` stops the run as interrupted.
    pub stop: &'a dyn Fn(u64) -> Option<i32>,
}

impl RunOptions<'_> {
    /// No checkpoints, never stopped: what tests and callers without a result file use.
    pub fn plain(quiet: bool) -> RunOptions<'static> {
        RunOptions {
            quiet,
            checkpoint_dir: None,
            checkpoint_every: 0,
            resume: Resume::Never,
            stop: &|_| None,
        }
    }
}

/// The trainer's state between updates: everything a checkpoint holds besides the weights.
struct Progression {
    sampler: WindowSampler,
    schedule: crate::schedule::Schedule,
    opt: Optimizer,
    result: RunResult,
    before: Elapsed,
    next_step: u64,
    /// `--tensorboard`: the event file this segment of the run writes.
    board: Option<crate::tensorboard::Board>,
}

/// Train `setup`'s model as `cfg` says; returns the complete result (not yet written), or a
/// partial one with status `interrupted` when `opts.stop` asked for it.
pub fn train(
    cfg: &RunConfig,
    setup: &Setup,
    run_name: &str,
    opts: &RunOptions,
) -> Result<RunResult> {
    let Setup {
        device,
        corpus,
        store,
        model,
    } = setup;
    let progress = Progress::new(cfg.train.steps, opts.quiet);
    let (seq, batch) = (cfg.data.seq_len, cfg.data.batch_size);
    let val_batches = WindowSampler::new(corpus.val.clone(), seq, batch, VAL_SEED, device)
        .take(cfg.data.eval_batches)?;
    let (schedule, catapult) = build_schedule(cfg, setup)?;
    let mut p = Progression {
        sampler: WindowSampler::new(corpus.train.clone(), seq, batch, cfg.train.seed, device),
        opt: group_optimizer(cfg, store, schedule.lr(1))?,
        schedule,
        result: empty_result(
            cfg,
            corpus,
            store,
            device,
            run_name,
            crate::files::unix_now(),
        ),
        before: Elapsed::default(),
        next_step: 1,
        board: None,
    };
    p.result.catapult = catapult;
    let mut probe_state = None;
    let resumed = match resume_point(cfg, opts, device)? {
        Some(mut ckpt) => {
            probe_state = ckpt.probe.take();
            restore(&mut p, store, ckpt, &progress)?;
            true
        }
        None => false,
    };
    progress.println(&format!(
        "lnwarm: {run_name}: {} params, vocab {}, {} train tokens, device {}, {} threads",
        p.result.param_count,
        p.result.vocab_size,
        corpus.train.len(),
        p.result.provenance.device,
        p.result.provenance.threads
    ));
    if let Some(found) = &p.result.catapult {
        progress.println(&format!(
            "lnwarm: catapult search: the warmup starts at {:.3e} ({} forward passes)",
            found.rate, found.forward_passes
        ));
    }
    for note in &p.result.schedule_notes {
        progress.println(&format!("lnwarm: schedule note: {note}"));
    }
    let trainee = Trainee {
        model,
        store,
        device,
    };
    let wall = Instant::now();
    let mut clock = TrainClock::default();
    if let Some(dir) = &cfg.log.tensorboard {
        p.board = Some(crate::tensorboard::Board::open(dir, cfg, p.next_step)?);
    }
    let mut prober = crate::probe::Prober::new(cfg, &corpus.val, corpus.tokenizer.size(), store)?;
    if !resumed {
        let val_loss = evaluate(model, &val_batches)?;
        p.result.eval.push(EvalPoint { step: 0, val_loss });
        if let Some(board) = &mut p.board {
            board.eval(0, val_loss)?;
        }
        if let Some(prober) = &mut prober {
            let point = prober.at_init(model, store, p.schedule.lr(1))?;
            record_probe(&mut p, point)?;
        }
        fill_second_moment(&mut p, model, cfg.optim.v_fill, &progress, opts.stop)?;
    } else if let Some(prober) = &mut prober {
        // The drift reference is the initial model's: rebuilt from the seed, bit for bit.
        let (_, initial) = build_model(cfg, corpus, device)?;
        prober.set_initial_reference(&initial)?;
        if let Some(state) = &probe_state {
            prober.load_state(state)?;
        }
    }
    let rule = StepRule {
        lr: 0.0,
        full_lr: None,
        clip: cfg.optim.clip,
        diverge_loss: p.result.diverge_loss,
        sync_phases: false,
        keep_grads: false,
    };
    for step in p.next_step..=cfg.train.steps {
        let lr = p.schedule.lr(step);
        let batch = p.sampler.next_batch()?;
        let full_lr = Some(p.schedule.full_lr(step));
        let update = ProbedUpdate::run(
            &trainee,
            &mut p.opt,
            prober.as_ref(),
            None,
            (step, &batch),
            StepRule {
                lr,
                full_lr,
                ..rule
            },
        )?;
        if let Some(reason) = update.report.diverged.clone() {
            mark_diverged(&mut p.result, &progress, step, reason);
            break;
        }
        record_update(&mut p, &progress, step, lr, &update.report, &mut clock, cfg)?;
        let warmup_end = p.schedule.warmup_end();
        if let Some(point) = update.measure(prober.as_mut(), &trainee, &p.opt, warmup_end)? {
            record_probe(&mut p, point)?;
        }
        if step.is_multiple_of(cfg.train.eval_every) || step == cfg.train.steps {
            let val_loss = evaluate(model, &val_batches)?;
            if !between::record_eval(&mut p, &progress, step, val_loss)? {
                break;
            }
        }
        p.next_step = step + 1;
        let signal = (opts.stop)(step);
        let due = opts.checkpoint_every > 0 && step.is_multiple_of(opts.checkpoint_every);
        if let (Some(dir), true) = (&opts.checkpoint_dir, due || signal.is_some()) {
            let elapsed = p.before.plus(wall.elapsed().as_secs_f64(), &clock);
            between::save(&mut p, dir, (cfg, setup), prober.as_ref(), elapsed)?;
        }
        if let Some(sig) = signal {
            progress.println(&format!(
                "lnwarm: {} after update {step}: checkpoint written",
                crate::interrupt::signal_name(sig)
            ));
            p.result.status = RunStatus::Interrupted;
            break;
        }
    }
    progress.finish();
    if let Some(board) = &mut p.board {
        board.flush()?;
    }
    let total = p.before.plus(wall.elapsed().as_secs_f64(), &clock);
    let done = p.result.status != RunStatus::Interrupted;
    if let (Some(dir), true, false) = (
        &opts.checkpoint_dir,
        done,
        p.result.status == RunStatus::Diverged,
    ) {
        // The final weights, for `grad-init --from` and a `--resume` that finds nothing to do.
        between::save(&mut p, dir, (cfg, setup), prober.as_ref(), total)?;
    }
    finish_summary(&mut p.result, total.wall_s, total.tokens_per_s());
    Ok(p.result)
}

/// The run's optimizer; with `--warmup-groups`, told which parameters follow the warmup.
fn group_optimizer(
    cfg: &RunConfig,
    store: &crate::model::ParamStore,
    lr: f64,
) -> Result<Optimizer> {
    let mut opt = Optimizer::new(store.named_vars(), &cfg.optim, lr)?;
    if let Some(warmed) = setup::warmed_parameters(cfg, store)? {
        opt.set_warmed(warmed);
    }
    Ok(opt)
}

/// The run's schedule; with `--lr-init catapult`, its warmup starts at the rate the search on
/// the initial model finds (capped at the peak).
pub fn build_schedule(
    cfg: &RunConfig,
    setup: &Setup,
) -> Result<(crate::schedule::Schedule, Option<CatapultSearch>)> {
    if cfg.schedule.warmup.start_search.is_none() {
        return Ok((cfg.schedule.build(cfg.train.steps)?, None));
    }
    let (seq, batch) = (cfg.data.seq_len, cfg.data.batch_size);
    let seed = cfg.train.seed ^ CATAPULT_SEED;
    let mut sampler =
        WindowSampler::new(setup.corpus.train.clone(), seq, batch, seed, &setup.device);
    let found = catapult::search(cfg, &setup.model, &setup.store, &sampler.next_batch()?)?;
    let mut schedule = cfg.schedule.clone();
    schedule.warmup.start_search = None;
    schedule.warmup.start_factor = Some((found.rate / schedule.peak_lr).min(1.0));
    Ok((schedule.build(cfg.train.steps)?, Some(found)))
}

/// `--v-fill N`: N batches' gradients into Adam's second moment before update 1. A signal
/// stops it like any other phase, but there is nothing to checkpoint before update 1: the run
/// ends interrupted with no checkpoint, and running the command again starts it over. The
/// batches come from the run's own stream, so a resumed run, which never refills, continues it.
fn fill_second_moment(
    p: &mut Progression,
    model: &Transformer,
    batches: u64,
    progress: &Progress,
    stop: &dyn Fn(u64) -> Option<i32>,
) -> Result<()> {
    if batches == 0 {
        return Ok(());
    }
    progress.println(&format!(
        "lnwarm: --v-fill: {batches} batches fill Adam's second moment before update 1"
    ));
    for batch in 1..=batches {
        let (inputs, targets) = p.sampler.next_batch()?;
        let grads = model.objective(&inputs, &targets)?.0.backward()?;
        p.opt.fill_second_moment(&grads)?;
        progress.filling(batch, batches);
        if let Some(signal) = stop(0) {
            return Err(crate::error::Error::Interrupted {
                signal,
                message: format!(
                    "stopped by {} during --v-fill (batch {batch} of {batches}), before update 1: nothing to checkpoint; run the command again to start over",
                    crate::interrupt::signal_name(signal)
                ),
            });
        }
    }
    progress.println(&format!(
        "lnwarm: {batches} batches filled Adam's second moment before update 1 (--v-fill)"
    ));
    Ok(())
}

/// Bookkeeping of a completed update: summary fields, warmup end, logged points.
fn record_update(
    p: &mut Progression,
    progress: &Progress,
    step: u64,
    lr: f64,
    report: &step::StepReport,
    clock: &mut TrainClock,
    cfg: &RunConfig,
) -> Result<()> {
    let train_loss = report.train_loss;
    if p.schedule.loss_ends_warmup(step, train_loss) {
        p.schedule.end_warmup_at(step);
        p.result.warmup_ended_at_step = Some(step);
        progress.println(&format!(
            "lnwarm: training loss {train_loss:.4} ends the constant warmup at step {step}"
        ));
    }
    let tokens = (cfg.data.seq_len * cfg.data.batch_size) as u64;
    clock.add(report.times.total_ms / 1e3, tokens);
    p.result.summary.steps_done = step;
    p.result.summary.final_train_loss = Some(train_loss);
    if step.is_multiple_of(cfg.train.log_every) || step == cfg.train.steps {
        let tokens_per_s = clock.interval_rate();
        p.result.train.push(TrainPoint {
            step,
            lr,
            train_loss,
            grad_norm: report.norms.global,
            tokens_per_s,
        });
        let norms = norms_map(&report.norms);
        if let Some(board) = &mut p.board {
            board.update(&crate::tensorboard::UpdateScalars {
                step,
                train_loss,
                lr,
                grad_norm: report.norms.global,
                tokens_per_s,
                param_norms: &norms,
            })?;
        }
        p.result.grad_norms.push(GradNormPoint { step, norms });
        progress.update(step, train_loss, lr, tokens_per_s);
    }
    Ok(())
}

/// A probe measurement into the result (and TensorBoard).
fn record_probe(p: &mut Progression, point: crate::probe::ProbePoint) -> Result<()> {
    if let Some(board) = &mut p.board {
        board.scalars(point.step, &point.scalars())?;
    }
    p.result.probes.push(point);
    Ok(())
}

/// Mean loss over the fixed validation batches (forward only).
pub fn evaluate(model: &Transformer, batches: &[(Tensor, Tensor)]) -> Result<f64> {
    let mut total = 0.0;
    for (xs, ys) in batches {
        total += model
            .loss(xs, ys)?
            .to_dtype(candle_core::DType::F64)?
            .to_scalar::<f64>()?;
    }
    Ok(total / batches.len() as f64)
}

fn mark_diverged(result: &mut RunResult, progress: &Progress, step: u64, reason: String) {
    progress.println(&format!("lnwarm: diverged at step {step}: {reason}"));
    result.status = RunStatus::Diverged;
    result.diverged_at_step = Some(step);
    result.diverged_reason = Some(reason);
}

fn norms_map(norms: &GradNorms) -> BTreeMap<String, f64> {
    norms
        .names
        .iter()
        .cloned()
        .zip(norms.norms.iter().copied())
        .collect()
}

/// Time spent in updates only (evaluation excluded), for tokens/s.
#[derive(Default)]
struct TrainClock {
    total_s: f64,
    total_tokens: u64,
    interval_s: f64,
    interval_tokens: u64,
}

impl TrainClock {
    fn add(&mut self, seconds: f64, tokens: u64) {
        self.total_s += seconds;
        self.total_tokens += tokens;
        self.interval_s += seconds;
        self.interval_tokens += tokens;
    }

    /// Tokens/s since the last call.
    fn interval_rate(&mut self) -> f64 {
        let rate = self.interval_tokens as f64 / self.interval_s.max(1e-9);
        self.interval_s = 0.0;
        self.interval_tokens = 0;
        rate
    }
}

trait PlusClock {
    fn plus(&self, wall_s: f64, clock: &TrainClock) -> Elapsed;
    fn tokens_per_s(&self) -> f64;
}

impl PlusClock for Elapsed {
    /// This segment's wall time and clock added to what came before it.
    fn plus(&self, wall_s: f64, clock: &TrainClock) -> Elapsed {
        Elapsed {
            wall_s: self.wall_s + wall_s,
            train_s: self.train_s + clock.total_s,
            train_tokens: self.train_tokens + clock.total_tokens,
        }
    }

    fn tokens_per_s(&self) -> f64 {
        self.train_tokens as f64 / self.train_s.max(1e-9)
    }
}
