//! The training loop: forward, backward, gradient norms, clipping, step; logging and divergence.
//!
//! Never `backward_step`: the gradients are inspected (norms, finiteness) and possibly clipped
//! before the optimizer sees them. Divergence (non-finite loss or gradient, or a loss above the
//! threshold) ends the run as a result with status `diverged`, not as an error.

use crate::config::{DeviceKind, RunConfig};
use crate::data::{batches::WindowSampler, unigram_entropy, Corpus};
use crate::error::Result;
use crate::metrics::{clip_global_norm, GradNorms};
use crate::model::{ParamStore, Transformer};
use crate::optim::Optimizer;
use crate::progress::Progress;
use crate::results::*;
use crate::schedule::LrSchedule;
use candle_core::{Device, Tensor};
use std::collections::BTreeMap;
use std::time::Instant;

/// Seed of the validation batches: fixed, so every run of a study is scored on the same text.
const VAL_SEED: u64 = 0x7661_6c69_6461_7465;

/// Everything built before the first update (all input errors surface here).
pub struct Setup {
    pub device: Device,
    pub corpus: Corpus,
    pub store: ParamStore,
    pub model: Transformer,
}

impl Setup {
    pub fn new(cfg: &RunConfig) -> Result<Self> {
        cfg.validate()?;
        let device = make_device(cfg.train.device)?;
        let corpus = Corpus::load(&cfg.data)?;
        let mut store = ParamStore::new(cfg.train.seed, &device);
        let model = Transformer::new(
            &cfg.model,
            corpus.vocab.size(),
            cfg.data.seq_len,
            &mut store,
        )?;
        Ok(Self {
            device,
            corpus,
            store,
            model,
        })
    }
}

pub fn make_device(kind: DeviceKind) -> Result<Device> {
    match kind {
        DeviceKind::Cpu => Ok(Device::Cpu),
        DeviceKind::Cuda => Device::new_cuda(0).map_err(|e| {
            crate::usage!("--device cuda: not available ({e}); build with --features cuda on a machine with a GPU, or use --device cpu")
        }),
    }
}

/// The loss above which a run counts as diverged: the configured value, else 3 ln(vocab).
pub fn diverge_threshold(cfg: &RunConfig, vocab_size: usize) -> f64 {
    cfg.train
        .diverge_loss
        .unwrap_or(3.0 * (vocab_size as f64).ln())
}

/// Train `setup`'s model as `cfg` says; returns the complete result (not yet written).
pub fn train(cfg: &RunConfig, setup: Setup, run_name: &str, quiet: bool) -> Result<RunResult> {
    let Setup {
        device,
        corpus,
        store,
        model,
    } = setup;
    let started_at_unix = unix_now();
    let mut result = empty_result(cfg, &corpus, &store, &device, run_name, started_at_unix);
    let (seq, batch) = (cfg.data.seq_len, cfg.data.batch_size);
    let mut sampler = WindowSampler::new(corpus.train.clone(), seq, batch, cfg.train.seed, &device);
    let val_batches = WindowSampler::new(corpus.val.clone(), seq, batch, VAL_SEED, &device)
        .take(cfg.data.eval_batches)?;
    let mut schedule = cfg.schedule.build(cfg.train.steps)?;
    let mut opt = Optimizer::new(store.all_vars(), &cfg.optim, schedule.lr(1))?;
    let progress = Progress::new(cfg.train.steps, quiet);
    progress.println(&format!(
        "lnwarm: {run_name}: {} params, vocab {}, {} train tokens, device {}, {} threads",
        result.param_count,
        result.vocab_size,
        corpus.train.len(),
        result.provenance.device,
        result.provenance.threads
    ));
    let wall = Instant::now();
    let mut clock = TrainClock::default();
    result.eval.push(EvalPoint {
        step: 0,
        val_loss: evaluate(&model, &val_batches)?,
    });
    for step in 1..=cfg.train.steps {
        let lr = schedule.lr(step);
        opt.set_lr(lr);
        let t0 = Instant::now();
        let (xs, ys) = sampler.next_batch()?;
        let loss = model.loss(&xs, &ys)?;
        let mut grads = loss.backward()?;
        let train_loss = loss.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()?;
        let norms = GradNorms::compute(&store, &grads)?;
        if let Some(reason) = divergence(train_loss, norms.global, result.diverge_loss) {
            mark_diverged(&mut result, &progress, step, reason);
            break;
        }
        if schedule.loss_ends_warmup(step, train_loss) {
            schedule.end_warmup_at(step);
            result.warmup_ended_at_step = Some(step);
            progress.println(&format!(
                "lnwarm: training loss {train_loss:.4} ends the constant warmup at step {step}"
            ));
        }
        if let Some(max_norm) = cfg.optim.clip {
            clip_global_norm(&store, &mut grads, norms.global, max_norm)?;
        }
        opt.step(&grads)?;
        clock.add(t0.elapsed().as_secs_f64(), (seq * batch) as u64);
        result.summary.steps_done = step;
        result.summary.final_train_loss = Some(train_loss);
        if step % cfg.train.log_every == 0 || step == cfg.train.steps {
            let tokens_per_s = clock.interval_rate();
            result.train.push(TrainPoint {
                step,
                lr,
                train_loss,
                grad_norm: norms.global,
                tokens_per_s,
            });
            result.grad_norms.push(GradNormPoint {
                step,
                norms: norms_map(&norms),
            });
            progress.update(step, train_loss, lr, tokens_per_s);
        }
        if step % cfg.train.eval_every == 0 || step == cfg.train.steps {
            let val_loss = evaluate(&model, &val_batches)?;
            if !val_loss.is_finite() {
                mark_diverged(
                    &mut result,
                    &progress,
                    step,
                    format!("non-finite validation loss ({val_loss})"),
                );
                break;
            }
            progress.println(&format!("step {step}: val_loss {val_loss:.4}"));
            result.eval.push(EvalPoint { step, val_loss });
        }
    }
    progress.finish();
    finish_summary(&mut result, wall.elapsed().as_secs_f64(), clock.mean_rate());
    Ok(result)
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

/// Why this step counts as divergence, if it does.
pub fn divergence(loss: f64, grad_norm: f64, threshold: f64) -> Option<String> {
    if !loss.is_finite() {
        Some(format!("non-finite training loss ({loss})"))
    } else if !grad_norm.is_finite() {
        Some(format!("non-finite gradient norm ({grad_norm})"))
    } else if loss > threshold {
        Some(format!(
            "training loss {loss:.4} above the divergence threshold {threshold:.4}"
        ))
    } else {
        None
    }
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

    fn mean_rate(&self) -> f64 {
        self.total_tokens as f64 / self.total_s.max(1e-9)
    }
}

fn empty_result(
    cfg: &RunConfig,
    corpus: &Corpus,
    store: &ParamStore,
    device: &Device,
    run_name: &str,
    started: u64,
) -> RunResult {
    let vocab_size = corpus.vocab.size();
    RunResult {
        schema_version: SCHEMA_VERSION,
        run_name: run_name.to_string(),
        config: cfg.clone(),
        seed: cfg.train.seed,
        vocab_size,
        param_count: store.count(),
        diverge_loss: diverge_threshold(cfg, vocab_size),
        provenance: crate::provenance(device, started),
        data: DataInfo {
            source: corpus.source.clone(),
            n_chars: corpus.n_chars,
            train_tokens: corpus.train.len(),
            val_tokens: corpus.val.len(),
            vocab: corpus.vocab.chars.iter().map(|c| c.to_string()).collect(),
            has_unk: corpus.vocab.has_unk,
        },
        status: RunStatus::Ok,
        diverged_at_step: None,
        diverged_reason: None,
        schedule_notes: cfg.schedule.notes(),
        warmup_ended_at_step: None,
        train: Vec::new(),
        eval: Vec::new(),
        grad_norms: Vec::new(),
        summary: Summary {
            steps_done: 0,
            final_val_loss: None,
            best_val_loss: None,
            best_val_step: None,
            final_train_loss: None,
            wall_time_s: 0.0,
            mean_tokens_per_s: 0.0,
            val_unigram_entropy: unigram_entropy(&corpus.val, vocab_size),
            outcome: crate::outcome::Outcome::Ok,
            plateau_steps: 0,
        },
    }
}

fn finish_summary(result: &mut RunResult, wall_time_s: f64, mean_tokens_per_s: f64) {
    let s = &mut result.summary;
    s.wall_time_s = wall_time_s;
    s.mean_tokens_per_s = mean_tokens_per_s;
    s.final_val_loss = result.eval.last().map(|e| e.val_loss);
    if let Some(best) = result
        .eval
        .iter()
        .min_by(|a, b| a.val_loss.total_cmp(&b.val_loss))
    {
        s.best_val_loss = Some(best.val_loss);
        s.best_val_step = Some(best.step);
    }
    let (outcome, plateau_steps) = crate::outcome::of_result(result);
    result.summary.outcome = outcome;
    result.summary.plateau_steps = plateau_steps;
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
