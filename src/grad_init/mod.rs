//! `lnwarm grad-init`: the instrument for the paper's first claim (Figure 3, Theorem 1, Lemma 2).
//!
//! For each architecture, depth and seed, at initialization (and optionally after N warmup
//! updates), over K batches of real data: the expected-gradient norm ‖mean_k ∇W‖_F and the mean
//! per-batch norm of every weight matrix of every layer, and the hidden-state norms; then seed
//! means with 95% intervals, trends over layer index, Theorem 1's exponents and plain verdicts.

pub mod measure;
pub mod report;

use crate::config::{Arch, RunConfig};
use crate::data::{batches::WindowSampler, Corpus};
use crate::error::{io_err, Result};
use crate::files::write_atomic;
use crate::model::{ParamStore, Transformer};
use crate::optim::Optimizer;
use crate::results::Provenance;
use crate::step::{StepRule, Trainee};
use crate::train::Setup;
use crate::verdict::Verdict;
use candle_core::Tensor;
use measure::{measure, Measurement};
use report::{DepthSummary, Theorem1};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const SCHEMA_VERSION: u32 = 1;

/// What to measure.
#[derive(Debug, Clone)]
pub struct GradInitSpec {
    /// Model/data/optimizer settings; `model.arch` and `model.n_layers` are overridden per run.
    pub base: RunConfig,
    pub archs: Vec<Arch>,
    pub depths: Vec<usize>,
    /// Number of seeds, starting at `base.train.seed`.
    pub seeds: usize,
    pub batches: usize,
    pub after_warmup: Option<u64>,
    /// Export weights, batch and gradient norms of the first seed and depth for the PyTorch check.
    pub export_dir: Option<PathBuf>,
}

/// The grad-init result file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradInitResult {
    pub schema_version: u32,
    pub kind: String,
    pub config: RunConfig,
    pub archs: Vec<Arch>,
    pub depths: Vec<usize>,
    pub seeds: Vec<u64>,
    pub batches: usize,
    pub after_warmup: Option<u64>,
    pub provenance: Provenance,
    pub data_source: String,
    pub vocab_size: usize,
    /// `--from`: the checkpoints measured (phase `trained-<update>`), instead of fresh models.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checkpoints: Vec<PathBuf>,
    pub measurements: Vec<Measurement>,
    pub summaries: Vec<DepthSummary>,
    pub theorem1: Vec<Theorem1>,
    pub verdicts: Vec<Verdict>,
    pub wall_time_s: f64,
}

impl GradInitResult {
    pub fn write(&self, path: &Path) -> Result<()> {
        crate::files::write_json(path, self)
    }

    pub fn read(path: &Path) -> Result<Self> {
        crate::files::read_json(path, "a grad-init result")
    }
}

/// Run every (arch, depth, seed) and aggregate.
pub fn run(spec: &GradInitSpec, log: &dyn Fn(&str)) -> Result<GradInitResult> {
    let started = std::time::Instant::now();
    let device = crate::train::make_device(spec.base.train.device)?;
    let corpus = Corpus::load(&spec.base.data)?;
    if spec.base.train.device == crate::config::DeviceKind::Cpu {
        let mut deepest = spec.base.clone();
        deepest.model.n_layers = spec.depths.iter().copied().max().unwrap_or(1);
        let available = crate::memory::available_bytes();
        crate::memory::check_fits(&deepest, corpus.tokenizer.size(), available)?;
    }
    let seeds: Vec<u64> = (0..spec.seeds as u64)
        .map(|i| spec.base.train.seed + i)
        .collect();
    let mut measurements = Vec::new();
    for &arch in &spec.archs {
        for &depth in &spec.depths {
            for &seed in &seeds {
                let mut cfg = spec.base.clone();
                cfg.model.arch = arch;
                cfg.model.n_layers = depth;
                cfg.train.seed = seed;
                let (store, model) = crate::train::build_model(&cfg, &corpus, &device)?;
                let batches = measurement_batches(&cfg, &corpus, spec.batches, &device)?;
                let m = measure(&model, &store, &batches, seed, "init")?;
                log(&format!(
                    "{} L={depth} seed {seed}: loss {:.3}, last ‖E∇W2‖ {:.4}",
                    arch.name(),
                    m.loss,
                    m.grad(depth - 1, "ffn.w2").expected
                ));
                let first = depth == spec.depths[0] && seed == seeds[0];
                if let (Some(dir), true) = (&spec.export_dir, first) {
                    export(dir, arch, &store, &model, &batches[0])?;
                }
                measurements.push(m);
                if let Some(n) = spec.after_warmup {
                    let trainee = Trainee {
                        model: &model,
                        store: &store,
                        device: &device,
                    };
                    warm_up(&cfg, &corpus, &trainee, n)?;
                    let phase = format!("after-warmup-{n}");
                    measurements.push(measure(&model, &store, &batches, seed, &phase)?);
                }
            }
        }
    }
    let summaries = report::summarize(&measurements, spec.base.model.d_model);
    let mut phases = vec!["init".to_string()];
    phases.extend(spec.after_warmup.map(|n| format!("after-warmup-{n}")));
    let theorem1: Vec<Theorem1> = phases
        .iter()
        .map(|p| report::theorem1(&measurements, p, seeds.len()))
        .collect();
    let verdicts = report::verdicts(&summaries, &theorem1[0]);
    Ok(GradInitResult {
        schema_version: SCHEMA_VERSION,
        kind: "grad-init".into(),
        config: spec.base.clone(),
        archs: spec.archs.clone(),
        depths: spec.depths.clone(),
        seeds,
        batches: spec.batches,
        after_warmup: spec.after_warmup,
        provenance: crate::results::Provenance::collect(&device, crate::files::unix_now()),
        data_source: corpus.source.clone(),
        vocab_size: corpus.tokenizer.size(),
        checkpoints: Vec::new(),
        measurements,
        summaries,
        theorem1,
        verdicts,
        wall_time_s: started.elapsed().as_secs_f64(),
    })
}

/// Figure 3 on trained weights: each checkpoint folder (`<result>.ckpt/`) rebuilt from its run's
/// config, its weights loaded, and measured over `k` batches of its run's data, as phase
/// `trained-<update>`. The checkpoints must share the data and model width, so that their rows
/// compare.
pub fn run_from(dirs: &[PathBuf], k: usize, log: &dyn Fn(&str)) -> Result<GradInitResult> {
    let started = std::time::Instant::now();
    let mut measurements = Vec::new();
    let mut first: Option<(RunConfig, Corpus, candle_core::Device)> = None;
    for dir in dirs {
        let ckpt = crate::checkpoint::load(dir, &candle_core::Device::Cpu, "--from")?;
        let cfg = ckpt.state.config.clone();
        if let Some((base, _, _)) = &first {
            if base.data != cfg.data || base.model.d_model != cfg.model.d_model {
                return Err(crate::usage!(
                    "--from {}: trained on other data or at another width than {} ({}); measure comparable checkpoints together",
                    dir.display(),
                    dirs[0].display(),
                    crate::checkpoint::config_diff(base, &cfg).join(", ")
                ));
            }
        }
        let Setup {
            device,
            corpus,
            store,
            model,
        } = Setup::new(&cfg)?;
        crate::checkpoint::restore_params(&store, &ckpt.model)?;
        let batches = measurement_batches(&cfg, &corpus, k, &device)?;
        let phase = format!("trained-{}", ckpt.state.update);
        let m = measure(&model, &store, &batches, cfg.train.seed, &phase)?;
        log(&format!(
            "{}: {} L={} seed {}, {phase}: loss {:.3}, last ‖E∇W2‖ {:.4}",
            dir.display(),
            cfg.model.arch.name(),
            cfg.model.n_layers,
            cfg.train.seed,
            m.loss,
            m.grad(cfg.model.n_layers - 1, "ffn.w2").expected
        ));
        measurements.push(m);
        first.get_or_insert((cfg, corpus, device));
    }
    let (base, corpus, device) =
        first.ok_or_else(|| crate::usage!("--from: no checkpoint given"))?;
    let mut archs: Vec<Arch> = Vec::new();
    for m in &measurements {
        if !archs.contains(&m.arch) {
            archs.push(m.arch);
        }
    }
    let depths = distinct(measurements.iter().map(|m| m.n_layers).collect());
    let seeds = distinct(measurements.iter().map(|m| m.seed).collect());
    let phases = distinct(measurements.iter().map(|m| m.phase.clone()).collect());
    let summaries = report::summarize(&measurements, base.model.d_model);
    let theorem1 = phases
        .iter()
        .map(|p| report::theorem1(&measurements, p, seeds.len()))
        .collect();
    Ok(GradInitResult {
        schema_version: SCHEMA_VERSION,
        kind: "grad-init".into(),
        config: base,
        archs,
        depths,
        seeds,
        batches: k,
        after_warmup: None,
        provenance: crate::results::Provenance::collect(&device, crate::files::unix_now()),
        data_source: corpus.source.clone(),
        vocab_size: corpus.tokenizer.size(),
        checkpoints: dirs.to_vec(),
        measurements,
        summaries,
        theorem1,
        // The verdicts judge initialization (claim 1); trained weights get the tables only.
        verdicts: Vec::new(),
        wall_time_s: started.elapsed().as_secs_f64(),
    })
}

/// K training batches for one seed (the same for both architectures and every depth).
fn measurement_batches(
    cfg: &RunConfig,
    corpus: &Corpus,
    k: usize,
    device: &candle_core::Device,
) -> Result<Vec<(Tensor, Tensor)>> {
    let (seq, batch) = (cfg.data.seq_len, cfg.data.batch_size);
    // Seeded by the run seed only, so Post-LN and Pre-LN of one seed see the same text.
    let mut sampler = WindowSampler::new(
        corpus.train.clone(),
        seq,
        batch,
        cfg.train.seed ^ 0x6772_6164,
        device,
    );
    sampler.take(k)
}

/// N updates of the trainer's step (`step::update`) with the run's optimizer and clipping, and a
/// linear warmup from 0 to `peak_lr` over exactly N.
fn warm_up(cfg: &RunConfig, corpus: &Corpus, trainee: &Trainee, n: u64) -> Result<()> {
    let mut opt = Optimizer::new(trainee.store.named_vars(), &cfg.optim, 0.0)?;
    let mut sampler = WindowSampler::new(
        corpus.train.clone(),
        cfg.data.seq_len,
        cfg.data.batch_size,
        cfg.train.seed,
        trainee.device,
    );
    let diverge_loss = crate::train::diverge_threshold(cfg, corpus.tokenizer.size());
    for t in 1..=n {
        let rule = StepRule {
            lr: cfg.schedule.peak_lr * t as f64 / n as f64,
            full_lr: None,
            clip: cfg.optim.clip,
            diverge_loss,
            sync_phases: false,
            keep_grads: false,
        };
        let report = crate::step::update(trainee, &mut opt, &sampler.next_batch()?, rule)?;
        if let Some(reason) = report.diverged {
            return Err(crate::error::Error::Failed(format!(
                "--after-warmup {n}: {} L={} seed {} diverged at update {t}: {reason}",
                cfg.model.arch.name(),
                cfg.model.n_layers,
                cfg.train.seed
            )));
        }
    }
    Ok(())
}

/// Weights, the first batch and per-parameter gradient norms on it, for `scripts/grad_check_torch.py`.
fn export(
    dir: &Path,
    arch: Arch,
    store: &ParamStore,
    model: &Transformer,
    batch: &(Tensor, Tensor),
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let name = export_name(arch, model.config());
    let weights: std::collections::HashMap<String, Tensor> = store
        .named_vars()
        .iter()
        .map(|(n, v)| (n.clone(), v.as_tensor().clone()))
        .collect();
    candle_core::safetensors::save(&weights, dir.join(format!("{name}-weights.safetensors")))?;
    let data: std::collections::HashMap<String, Tensor> = [
        ("ids".to_string(), batch.0.clone()),
        ("targets".to_string(), batch.1.clone()),
    ]
    .into();
    candle_core::safetensors::save(&data, dir.join(format!("{name}-batch.safetensors")))?;
    let (loss, _) = model.objective(&batch.0, &batch.1)?;
    let grads = loss.backward()?;
    let norms = crate::metrics::GradNorms::compute(store, &grads)?;
    let json = serde_json::json!({
        "arch": arch.name(),
        "model": model.config(),
        "loss": loss.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()?,
        "grad_norms": norms.names.iter().zip(&norms.norms).map(|(n, v)| (n.clone(), *v)).collect::<std::collections::BTreeMap<_, _>>(),
    });
    write_atomic(
        &dir.join(format!("{name}-grads.json")),
        json.to_string().as_bytes(),
    )
}

/// The export's file prefix: the arch's name, then `-qk-norm` and `-z-loss` where they are on,
/// so one folder can hold a model with and without them.
fn export_name(arch: Arch, model: &crate::config::ModelConfig) -> String {
    let mut name = arch.name().to_string();
    if model.qk_norm {
        name.push_str("-qk-norm");
    }
    if model.z_loss.is_some() {
        name.push_str("-z-loss");
    }
    name
}

/// The distinct values, sorted.
fn distinct<T: Ord>(mut values: Vec<T>) -> Vec<T> {
    values.sort_unstable();
    values.dedup();
    values
}
