//! The run configuration: one serde struct, defaults = `configs/cpu-small.json`.
//!
//! Precedence is Default -> `--config FILE` -> command-line flags. Unknown keys in a config file
//! are errors (`deny_unknown_fields`), and `validate` rejects impossible values with a message
//! that names the field, before any work starts.

pub mod optim;
pub mod probe;
pub mod probe_every;
pub mod tokenizer_spec;

use crate::error::{Error, Result};
use crate::schedule::ScheduleConfig;
use crate::usage;
use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::path::Path;

pub use optim::{optimizer_name, OptimConfig, OptimizerKind};

/// Where the normalization sits, and which one: the paper's two placements (Xiong et al. 2020,
/// Table 1) and the schemes that followed it (formulas and sources in `model::variants`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Arch {
    /// x = LN(x + F(x)); no final LN (the original Transformer).
    PostLn,
    /// x = x + F(LN(x)); plus a final LN before the output projection.
    PreLn,
    /// DeepNet (Wang et al. 2022): x = LN(α·x + F(x)), α = (2N)^(1/4), and FFN, V and output
    /// projections initialised with gain β = (8N)^(-1/4).
    Deepnorm,
    /// Peri-LN / Sandwich-LN (Ding et al. 2021; Kim et al. 2025): x = x + LN(F(LN(x))); final LN.
    #[value(alias = "sandwich-ln")]
    #[serde(alias = "sandwich-ln")]
    PeriLn,
    /// Pre-LN with RMSNorm (Zhang & Sennrich 2019): x = x + F(RMSNorm(x)); final RMSNorm.
    PreRmsnorm,
    /// ReZero (Bachlechner et al. 2020): x = x + α·F(x), α learned per sub-layer from 0; no norm.
    Rezero,
    /// Pre-LN with every LN replaced by DyT(x) = γ ⊙ tanh(a·x) + β (Zhu et al. 2025).
    Dyt,
    /// Admin (Liu et al. 2020): x = LN(ω ⊙ x + F(x)), ω set by a profiling pass at init.
    Admin,
    /// B2T (Takase et al. 2023): Post-LN with the block input added before the block's last LN.
    B2t,
}

impl Arch {
    /// Every architecture, in the order tables list them.
    pub const ALL: [Arch; 9] = [
        Arch::PostLn,
        Arch::PreLn,
        Arch::Deepnorm,
        Arch::PeriLn,
        Arch::PreRmsnorm,
        Arch::Rezero,
        Arch::Dyt,
        Arch::Admin,
        Arch::B2t,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Arch::PostLn => "post-ln",
            Arch::PreLn => "pre-ln",
            Arch::Deepnorm => "deepnorm",
            Arch::PeriLn => "peri-ln",
            Arch::PreRmsnorm => "pre-rmsnorm",
            Arch::Rezero => "rezero",
            Arch::Dyt => "dyt",
            Arch::Admin => "admin",
            Arch::B2t => "b2t",
        }
    }

    /// The norm acts on the residual stream after each sub-layer's add (Post-LN's family):
    /// such a block exposes the sum entering its last norm (Lemma 2's x^{post,5}).
    pub fn norm_after_add(self) -> bool {
        matches!(
            self,
            Arch::PostLn | Arch::Deepnorm | Arch::Admin | Arch::B2t
        )
    }

    /// A norm (of the block's kind) before the output projection.
    pub fn final_norm(self) -> bool {
        matches!(
            self,
            Arch::PreLn | Arch::PeriLn | Arch::PreRmsnorm | Arch::Dyt
        )
    }
}

/// The FFN non-linearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    /// max(0, x), as in the paper.
    Relu,
    /// GELU, tanh approximation.
    Gelu,
}

/// How positions enter the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Positions {
    /// Fixed sinusoids (fairseq's default, the paper's setup); no parameters.
    Sinusoidal,
    /// A learned (seq_len, d_model) table, `pos_emb.weight`.
    Learned,
}

/// Compute device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceKind {
    Cpu,
    Cuda,
}

/// Model shape and parameterisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    pub arch: Arch,
    pub n_layers: usize,
    pub d_model: usize,
    pub n_heads: usize,
    pub d_ff: usize,
    pub activation: Activation,
    pub positions: Positions,
    /// Multiply token embeddings by sqrt(d_model) (fairseq; with N(0, 1/d) init the input has unit-variance entries).
    pub emb_scale: bool,
    /// Output projection = token embedding matrix (the paper's loss uses W_emb).
    pub tie_embeddings: bool,
    pub ln_eps: f64,
    /// `--arch dyt`: the initial a of DyT(x) = γ tanh(a·x) + β [default 0.5, the paper's].
    /// Absent from the JSON unless set, so configs of the other architectures keep their form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dyt_alpha: Option<f64>,
    /// `--qk-norm`: LayerNorm on each head's queries and keys before their dot product
    /// (Dehghani et al. 2023; Wortsman et al. 2023). Absent from the JSON when off.
    #[serde(default, skip_serializing_if = "is_false")]
    pub qk_norm: bool,
    /// `--z-loss C`: add C·mean((log Z)²) of the output logits to the training objective (PaLM;
    /// Wortsman et al. 2023); the reported losses stay cross-entropy. Absent when off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub z_loss: Option<f64>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            arch: Arch::PreLn,
            n_layers: 6,
            d_model: 128,
            n_heads: 4,
            d_ff: 512,
            activation: Activation::Relu,
            positions: Positions::Sinusoidal,
            emb_scale: true,
            tie_embeddings: true,
            ln_eps: 1e-5,
            dyt_alpha: None,
            qk_norm: false,
            z_loss: None,
        }
    }
}

/// Data source and batching.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataConfig {
    /// `moby-dick`, `synthetic`, a text file path, `FILE.parquet[:COLUMN]` or `hf:OWNER/NAME[:COLUMN]`.
    pub source: String,
    pub seq_len: usize,
    pub batch_size: usize,
    /// Fraction of the text (taken from its end) held out for validation.
    pub val_fraction: f64,
    /// Number of fixed validation batches per evaluation.
    pub eval_batches: usize,
    /// `char`, `bpe:N`, `wordpiece:N` or `FILE.json` (see `data::tokenizer`).
    #[serde(skip_serializing_if = "is_char_tokenizer")]
    pub tokenizer: String,
}

fn is_char_tokenizer(spec: &String) -> bool {
    spec == "char"
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            source: "moby-dick".into(),
            seq_len: 128,
            batch_size: 32,
            val_fraction: 0.1,
            eval_batches: 8,
            tokenizer: "char".into(),
        }
    }
}

/// Loop control.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Number of updates.
    pub steps: u64,
    pub seed: u64,
    pub log_every: u64,
    pub eval_every: u64,
    /// Stop as `diverged` when the training loss exceeds this; `null` = 3 ln(vocab), see docs/training.md.
    pub diverge_loss: Option<f64>,
    pub device: DeviceKind,
    /// Flush subnormal floats to zero on every compute thread (`src/numerics.rs`): up to 9×
    /// faster high-rate runs, other last digits. Absent = off, as every run before the key had.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub flush_subnormals: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            steps: 8000,
            seed: 0,
            log_every: 10,
            eval_every: 100,
            diverge_loss: None,
            device: DeviceKind::Cpu,
            flush_subnormals: false,
        }
    }
}

/// Everything a run needs; embedded verbatim (resolved) in its result JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct RunConfig {
    pub model: ModelConfig,
    pub data: DataConfig,
    pub optim: OptimConfig,
    pub schedule: ScheduleConfig,
    pub train: TrainConfig,
    /// Where else the run is logged; not part of what the run is (left out of its id and of the
    /// config a resumed run must match).
    #[serde(default, skip_serializing_if = "LogConfig::is_default")]
    pub log: LogConfig,
    /// `--probe`: the mechanism probes measured during the run (`probe`); absent when off.
    #[serde(default, skip_serializing_if = "probe::ProbeConfig::is_off")]
    pub probe: probe::ProbeConfig,
}

/// Extra logging destinations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `--tensorboard DIR`: TensorBoard event files for this run in DIR.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tensorboard: Option<std::path::PathBuf>,
}

impl LogConfig {
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

impl RunConfig {
    /// The config without its logging destinations: what identifies the run.
    pub fn without_log(&self) -> Self {
        Self {
            log: LogConfig::default(),
            ..self.clone()
        }
    }

    /// Read a config file; unknown keys, wrong types and bad JSON are usage errors.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| usage!("--config {}: cannot read: {e}", path.display()))?;
        crate::unique_keys::check(&text).map_err(|e| usage!("--config {}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| usage!("--config {}: {e}", path.display()))
    }

    /// The one way a run's config comes to be: defaults, then the config file, then `overrides`
    /// (command-line flags), then `finish` (derived values, validation). Every entry point that
    /// builds a model (train, bench, grad-init) resolves through here, once.
    pub fn resolve(
        file: Option<&Path>,
        overrides: impl FnOnce(&mut RunConfig) -> Result<()>,
    ) -> Result<Self> {
        let mut cfg = match file {
            Some(path) => Self::from_file(path)?,
            None => Self::default(),
        };
        overrides(&mut cfg)?;
        cfg.finish()
    }

    /// The last steps of resolving (also for a study's grid points): values derived from others
    /// (a Noam schedule's model width), then validation.
    pub fn finish(mut self) -> Result<Self> {
        self.schedule = self.schedule.with_model_width(self.model.d_model);
        self.validate()?;
        Ok(self)
    }

    /// Reject impossible values, naming the field and what is allowed.
    pub fn validate(&self) -> Result<()> {
        self.validate_model()?;
        self.validate_data()?;
        self.optim.validate()?;
        if self.optim.freeze_top > self.model.n_layers {
            return Err(usage!(
                "--freeze-top {}: larger than the model's {} layers (allowed: 1 to {})",
                self.optim.freeze_top,
                self.model.n_layers,
                self.model.n_layers
            ));
        }
        if self.optim.v_fill > self.train.steps {
            return Err(usage!(
                "--v-fill {}: more batches than the run's {} updates (allowed: 0 to {})",
                self.optim.v_fill,
                self.train.steps,
                self.train.steps
            ));
        }
        self.validate_train()?;
        self.probe.validate(self)?;
        self.schedule.validate(self.train.steps)
    }

    fn validate_model(&self) -> Result<()> {
        let m = &self.model;
        positive("--layers (model.n_layers)", m.n_layers)?;
        positive("--d-model (model.d_model)", m.d_model)?;
        positive("--heads (model.n_heads)", m.n_heads)?;
        positive("--d-ff (model.d_ff)", m.d_ff)?;
        if !m.d_model.is_multiple_of(m.n_heads) {
            return Err(usage!(
                "--heads {} does not divide --d-model {}: allowed are divisors of d_model",
                m.n_heads,
                m.d_model
            ));
        }
        if let Some(a) = m.dyt_alpha {
            if m.arch != Arch::Dyt {
                return Err(usage!(
                    "--dyt-alpha {a}: allowed only with --arch dyt (not {})",
                    m.arch.name()
                ));
            }
            if !(a > 0.0 && a.is_finite()) {
                return Err(usage!("--dyt-alpha {a}: must be a positive number"));
            }
        }
        if m.qk_norm && matches!(m.arch, Arch::Rezero | Arch::Dyt) {
            return Err(usage!(
                "--qk-norm with --arch {}: undefined there ({} has no LayerNorm to put on queries and keys); allowed with post-ln, pre-ln, deepnorm, peri-ln, pre-rmsnorm, admin, b2t",
                m.arch.name(),
                if m.arch == Arch::Rezero { "ReZero is normalization-free by design and" } else { "DyT replaces every LayerNorm and" }
            ));
        }
        if let Some(c) = m.z_loss {
            if !(c > 0.0 && c.is_finite()) {
                return Err(usage!(
                    "--z-loss {c}: must be a positive coefficient (e.g. 1e-4; omit it for no z-loss)"
                ));
            }
        }
        if !(m.ln_eps > 0.0 && m.ln_eps.is_finite()) {
            return Err(usage!(
                "model.ln_eps {}: must be a positive number",
                m.ln_eps
            ));
        }
        Ok(())
    }

    fn validate_data(&self) -> Result<()> {
        let d = &self.data;
        positive("--seq-len (data.seq_len)", d.seq_len)?;
        positive("--batch-size (data.batch_size)", d.batch_size)?;
        positive("data.eval_batches", d.eval_batches)?;
        if !(d.val_fraction > 0.0 && d.val_fraction < 1.0) {
            return Err(usage!(
                "data.val_fraction {}: must be in (0, 1)",
                d.val_fraction
            ));
        }
        if d.source.trim().is_empty() {
            return Err(usage!("--data '': allowed are moby-dick, synthetic, a text file, FILE.parquet[:COLUMN], hf:OWNER/NAME[:COLUMN]"));
        }
        tokenizer_spec::TokenizerSpec::parse(&d.tokenizer)?;
        Ok(())
    }

    fn validate_train(&self) -> Result<()> {
        let t = &self.train;
        positive("--steps (train.steps)", t.steps as usize)?;
        positive("--log-every (train.log_every)", t.log_every as usize)?;
        positive("--eval-every (train.eval_every)", t.eval_every as usize)?;
        if let Some(l) = t.diverge_loss {
            if !(l > 0.0 && l.is_finite()) {
                return Err(usage!("--diverge-loss {l}: must be a positive number"));
            }
        }
        if t.flush_subnormals && !crate::numerics::SUPPORTED {
            return Err(usage!(
                "--flush-subnormals on (train.flush_subnormals): lnwarm sets a flush mode on x86-64 and aarch64 only, not {} (allowed: off)",
                std::env::consts::ARCH
            ));
        }
        Ok(())
    }
}

fn positive(name: &str, value: usize) -> Result<()> {
    if value == 0 {
        Err(Error::Usage(format!(
            "{name} 0: must be a positive integer"
        )))
    } else {
        Ok(())
    }
}

/// `<arch>-<optimizer>-w<warmup>-lr<lr>-s<seed>-<8 hex of the config's SHA-256>`.
pub fn default_run_name(cfg: &RunConfig) -> String {
    let json = serde_json::to_string(&cfg.without_log()).unwrap_or_default();
    let hash: String = sha2::Sha256::digest(json.as_bytes())
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        "{}-{}-w{}-lr{:e}-s{}-{hash}",
        cfg.model.arch.name(),
        optimizer_name(cfg.optim.kind),
        cfg.schedule.warmup.steps,
        cfg.schedule.peak_lr,
        cfg.train.seed
    )
}
