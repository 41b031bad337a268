//! The result JSON: one file per run, written atomically (temp file + rename).
//!
//! Schema (version 1) is documented in `docs/result-schema.md`. Every number in it is
//! reproducible from the embedded resolved config, seed, git revision and versions.

use crate::config::RunConfig;
use crate::error::Result;
use crate::outcome::{classify, Curve, RunOutcome};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub const SCHEMA_VERSION: u32 = 1;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    Ok,
    /// Non-finite loss/gradient or loss above `diverge_loss`; the run stopped at `diverged_at_step`.
    Diverged,
    /// Stopped by SIGINT/SIGTERM after update `summary.steps_done`: a partial result, with a
    /// checkpoint beside it (`<result>.ckpt/`) that `--resume` continues. `compare` and `claims`
    /// list such runs and leave them out.
    Interrupted,
}

impl RunStatus {
    pub fn name(self) -> &'static str {
        match self {
            RunStatus::Ok => "ok",
            RunStatus::Diverged => "diverged",
            RunStatus::Interrupted => "interrupted",
        }
    }

    /// The outcome this status decides by itself.
    fn fixed_outcome(self) -> Option<RunOutcome> {
        match self {
            RunStatus::Ok => None,
            RunStatus::Diverged => Some(RunOutcome::Diverged),
            RunStatus::Interrupted => Some(RunOutcome::Interrupted),
        }
    }
}

/// The loss-catapult search of `--lr-init catapult` (`train::catapult`): every rate tried with
/// the loss one update at that rate gives, and the rate the warmup starts from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatapultSearch {
    /// The initial model's loss on the search batch, and the loss a rate may not exceed.
    pub loss_at_init: f64,
    pub threshold: f64,
    /// (rate, loss after one update at it), in the order tried: doublings, then bisections.
    pub trials: Vec<(f64, f64)>,
    /// The largest rate tried whose loss stayed at or below the threshold.
    pub rate: f64,
    /// Forward passes: the initial loss (its backward gives the update's gradient) and one per
    /// trial.
    pub forward_passes: usize,
}

/// One logged training step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainPoint {
    pub step: u64,
    pub lr: f64,
    pub train_loss: f64,
    pub grad_norm: f64,
    pub tokens_per_s: f64,
}

/// One validation evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalPoint {
    pub step: u64,
    pub val_loss: f64,
}

/// Per-parameter gradient Frobenius norms at one logged step, keyed by parameter name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradNormPoint {
    pub step: u64,
    pub norms: BTreeMap<String, f64>,
}

/// Where and how the numbers were produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    pub lnwarm_version: String,
    pub git_revision: String,
    pub candle_version: String,
    pub device: String,
    pub threads: usize,
    /// `LNWARM_COMPOSITE=1`: candle's own ops instead of the fused CPU kernels (same maths,
    /// other rounding, so part of what reproduces a run bit for bit).
    #[serde(default)]
    pub composite_kernels: bool,
    pub started_at_unix: u64,
    pub command: Vec<String>,
    /// The CPU and the SIMD kernels it selected (absent in results written before it was
    /// recorded): a run reproduces bit for bit on CPUs that select the same kernels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<crate::cpu::CpuInfo>,
    /// Whether the thread that trained flushed subnormals (`train.flush_subnormals`, read off
    /// the CPU's mode when the result was made); absent in results written before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnormals_flushed: Option<bool>,
}

impl Provenance {
    /// Version, git revision and candle version baked in at build time, plus the runtime
    /// device, thread count, kernels and CPU.
    pub fn collect(device: &candle_core::Device, started_at_unix: u64) -> Self {
        Self {
            lnwarm_version: env!("CARGO_PKG_VERSION").to_string(),
            git_revision: env!("LNWARM_GIT_REV").to_string(),
            candle_version: env!("LNWARM_CANDLE_VERSION").to_string(),
            device: match device {
                candle_core::Device::Cpu => "cpu".to_string(),
                other => format!("{other:?}"),
            },
            threads: candle_core::utils::get_num_threads(),
            composite_kernels: crate::model::layers::composite_kernels(),
            started_at_unix,
            command: std::env::args().collect(),
            cpu: Some(crate::cpu::CpuInfo::detect()),
            subnormals_flushed: Some(crate::numerics::flushing()),
        }
    }
}

/// One continuation of a run from its checkpoint (`--resume`, or a sweep re-running it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resumption {
    /// The update the checkpoint had reached; training went on with the next one.
    pub at_update: u64,
    pub started_at_unix: u64,
    pub command: Vec<String>,
}

/// Headline numbers of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub steps_done: u64,
    pub final_val_loss: Option<f64>,
    pub best_val_loss: Option<f64>,
    pub best_val_step: Option<u64>,
    pub final_train_loss: Option<f64>,
    pub wall_time_s: f64,
    pub mean_tokens_per_s: f64,
    /// Unigram entropy (nats) of the validation text: the loss of a context-free model.
    pub val_unigram_entropy: f64,
    /// `ok`, `stalled` (never clearly below the unigram entropy) or `diverged`.
    #[serde(default)]
    pub outcome: RunOutcome,
    /// Updates spent with the validation loss at the unigram entropy (see `outcome`).
    #[serde(default)]
    pub plateau_steps: u64,
    /// The final and best validation loss in bits per character: loss per token (nats) times
    /// validation tokens per character, over ln 2; comparable across tokenizers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_val_bits_per_char: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_val_bits_per_char: Option<f64>,
}

impl Summary {
    /// Before the first update: nothing measured but the validation text's unigram entropy.
    pub fn empty(val_unigram_entropy: f64) -> Self {
        Self {
            steps_done: 0,
            final_val_loss: None,
            best_val_loss: None,
            best_val_step: None,
            final_train_loss: None,
            wall_time_s: 0.0,
            mean_tokens_per_s: 0.0,
            val_unigram_entropy,
            outcome: RunOutcome::Ok,
            plateau_steps: 0,
            final_val_bits_per_char: None,
            best_val_bits_per_char: None,
        }
    }
}

/// Data facts needed to reproduce or interpret the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataInfo {
    pub source: String,
    pub n_chars: usize,
    pub train_tokens: usize,
    pub val_tokens: usize,
    /// The vocabulary, in id order (an `unk` id follows when `has_unk`).
    pub vocab: Vec<String>,
    pub has_unk: bool,
    /// Characters of the validation text (with `val_tokens`, the bits-per-character factor).
    #[serde(default)]
    pub val_chars: usize,
    /// Subword tokenizers: the SHA-256 of the tokenizer JSON saved beside the result
    /// (`<result>.tokenizer.json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokenizer_sha256: Option<String>,
    /// SHA-256 of the text the run read (UTF-8, before the train/validation split): `--resume`
    /// refuses data that changed since the checkpoint. Absent in results written before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_sha256: Option<String>,
}

impl DataInfo {
    /// Bits per character of a loss per token (nats); None for results written before
    /// `val_chars` was recorded.
    pub fn bits_per_char(&self, loss_per_token: f64) -> Option<f64> {
        (self.val_chars > 0).then(|| {
            loss_per_token * self.val_tokens as f64 / self.val_chars as f64 / std::f64::consts::LN_2
        })
    }
}

/// The whole result file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub schema_version: u32,
    pub run_name: String,
    pub config: RunConfig,
    pub seed: u64,
    pub vocab_size: usize,
    pub param_count: usize,
    /// The divergence threshold actually used (resolved from `train.diverge_loss`).
    pub diverge_loss: f64,
    pub provenance: Provenance,
    pub data: DataInfo,
    pub status: RunStatus,
    pub diverged_at_step: Option<u64>,
    pub diverged_reason: Option<String>,
    /// Explanations of non-obvious schedule semantics (e.g. Noam ignores `peak_lr`).
    #[serde(default)]
    pub schedule_notes: Vec<String>,
    /// For a constant warmup with `until_loss`: the update whose training loss first dropped
    /// below the threshold (the decay starts after it); the schedule is a pure function of it.
    #[serde(default)]
    pub warmup_ended_at_step: Option<u64>,
    /// reduce-on-plateau: the updates after whose evaluation the rate was cut (it applies from
    /// the next update on); with the config this makes the logged rates reproducible.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lr_reductions: Vec<u64>,
    /// Each time the run was continued from a checkpoint (absent for a run never interrupted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resumed: Vec<Resumption>,
    pub train: Vec<TrainPoint>,
    pub eval: Vec<EvalPoint>,
    pub grad_norms: Vec<GradNormPoint>,
    /// `--lr-init catapult`: the search that set the warmup's starting rate (absent without).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catapult: Option<CatapultSearch>,
    /// `--probe`: one entry per measured update (absent without probes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub probes: Vec<crate::probe::ProbePoint>,
    pub summary: Summary,
}

impl RunResult {
    /// A run of a plan that has not run: its config and nothing measured (no curves, no data,
    /// no provenance). The design check (`lnwarm sweep plan --power`) pairs a study's arms on
    /// these exactly as `claims` will; a starting run fills in what it knows
    /// (`train::empty_result`).
    pub fn planned(config: RunConfig) -> Self {
        let empty = String::new;
        RunResult {
            schema_version: SCHEMA_VERSION,
            run_name: empty(),
            seed: config.train.seed,
            config,
            vocab_size: 0,
            param_count: 0,
            diverge_loss: f64::INFINITY,
            provenance: Provenance {
                lnwarm_version: empty(),
                git_revision: empty(),
                candle_version: empty(),
                device: empty(),
                threads: 0,
                composite_kernels: false,
                started_at_unix: 0,
                command: Vec::new(),
                cpu: None,
                subnormals_flushed: None,
            },
            data: DataInfo {
                source: empty(),
                n_chars: 0,
                train_tokens: 0,
                val_tokens: 0,
                vocab: Vec::new(),
                has_unk: false,
                val_chars: 0,
                tokenizer_sha256: None,
                text_sha256: None,
            },
            status: RunStatus::Ok,
            diverged_at_step: None,
            diverged_reason: None,
            schedule_notes: Vec::new(),
            warmup_ended_at_step: None,
            lr_reductions: Vec::new(),
            resumed: Vec::new(),
            train: Vec::new(),
            eval: Vec::new(),
            grad_norms: Vec::new(),
            catapult: None,
            probes: Vec::new(),
            summary: Summary::empty(f64::NAN),
        }
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        crate::files::write_json(path, self)
    }

    pub fn read(path: &Path) -> Result<Self> {
        crate::files::read_json(path, "an lnwarm result")
    }

    /// The outcome and plateau length, recomputed from the curves (so older files classify the
    /// same way as new ones).
    pub fn outcome(&self) -> (RunOutcome, u64) {
        let eval: Vec<(u64, f64)> = self.eval.iter().map(|e| (e.step, e.val_loss)).collect();
        let curve = Curve {
            eval: &eval,
            unigram_entropy: self.summary.val_unigram_entropy,
            steps_done: self.summary.steps_done,
            peak_from: self.peak_from(),
        };
        classify(self.status.fixed_outcome(), &curve)
    }

    /// The update at which the run reached its peak rate: where its warmup ended (a
    /// loss-triggered warmup where it was triggered, or never if it was not and has no limit).
    fn peak_from(&self) -> u64 {
        let warmup = &self.config.schedule.warmup;
        match (self.warmup_ended_at_step, warmup.kind, warmup.until_loss) {
            (Some(step), _, _) => step,
            (None, crate::schedule::WarmupKind::None, _) => 0,
            (None, _, Some(_)) if warmup.steps == 0 => u64::MAX,
            (None, _, _) => warmup.steps,
        }
    }
}
