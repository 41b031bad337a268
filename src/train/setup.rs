//! What a run builds before its first update: device, corpus, model (all input errors surface
//! here), and the divergence threshold.

use crate::config::{DeviceKind, RunConfig};
use crate::data::{batches::WindowSampler, Corpus};
use crate::error::Result;
use crate::model::{ParamStore, Transformer};
use candle_core::Device;

/// Everything built before the first update (all input errors surface here).
pub struct Setup {
    pub device: Device,
    pub corpus: Corpus,
    pub store: ParamStore,
    pub model: Transformer,
}

impl Setup {
    /// Build from a resolved (validated) config: `RunConfig::resolve`.
    pub fn new(cfg: &RunConfig) -> Result<Self> {
        let device = make_device(cfg.train.device)?;
        // Before anything computes: every run sets the mode its config asks for, on or off
        // (a process that ran another config before must not keep its mode).
        if !crate::numerics::flush_everywhere(cfg.train.flush_subnormals) {
            return Err(crate::error::Error::Internal(format!(
                "train.flush_subnormals {}: a compute thread did not take the mode",
                cfg.train.flush_subnormals
            )));
        }
        let corpus = Corpus::load(&cfg.data)?;
        if cfg.train.device == DeviceKind::Cpu {
            let available = crate::memory::available_bytes();
            crate::memory::check_fits(cfg, corpus.tokenizer.size(), available)?;
        }
        let (store, model) = build_model(cfg, &corpus, &device)?;
        // A group spec that names no parameter of this model is a usage error now, not after
        // the data and the first update.
        warmed_parameters(cfg, &store)?;
        Ok(Self {
            device,
            corpus,
            store,
            model,
        })
    }
}

/// `--warmup-groups`: per parameter of `store`, in its order, whether it follows the warmup
/// (`schedule::groups`); None without groups.
pub fn warmed_parameters(cfg: &RunConfig, store: &ParamStore) -> Result<Option<Vec<bool>>> {
    let Some(text) = &cfg.schedule.warmup.groups else {
        return Ok(None);
    };
    let spec = crate::schedule::groups::GroupSpec::parse(text)?;
    let names: Vec<&str> = store.named_vars().iter().map(|(n, _)| n.as_str()).collect();
    spec.mask(text, &names, cfg.model.n_layers).map(Some)
}

/// Seed of the fixed batch Admin's profiling pass runs on (xor the run seed).
const ADMIN_PROFILE_SEED: u64 = 0x6164_6d69_6e00;

/// The model of `cfg` with its initial weights: drawn from the run seed, then, for Admin, set
/// by the profiling pass on one fixed batch of the training text (`variants`).
pub fn build_model(
    cfg: &RunConfig,
    corpus: &Corpus,
    device: &Device,
) -> Result<(ParamStore, Transformer)> {
    let mut store = ParamStore::new(cfg.train.seed, device);
    let model = Transformer::new(
        &cfg.model,
        corpus.tokenizer.size(),
        cfg.data.seq_len,
        &mut store,
    )?;
    if cfg.model.arch == crate::config::Arch::Admin {
        let (seq, batch) = (cfg.data.seq_len, cfg.data.batch_size);
        let seed = cfg.train.seed ^ ADMIN_PROFILE_SEED;
        let (ids, _) =
            WindowSampler::new(corpus.train.clone(), seq, batch, seed, device).next_batch()?;
        model.admin_profile(&store, &ids)?;
    }
    Ok((store, model))
}

pub fn make_device(kind: DeviceKind) -> Result<Device> {
    match kind {
        DeviceKind::Cpu => Ok(Device::Cpu),
        DeviceKind::Cuda => Device::new_cuda(0).map_err(|e| {
            // candle appends a backtrace to its errors when RUST_BACKTRACE is set: one line only.
            let cause = e.to_string();
            let cause = cause.lines().next().unwrap_or_default().trim();
            crate::usage!("--device cuda: not available ({cause}); build with --features cuda on a machine with a GPU, or use --device cpu")
        }),
    }
}

/// The loss above which a run counts as diverged: the configured value, else 3 ln(vocab).
pub fn diverge_threshold(cfg: &RunConfig, vocab_size: usize) -> f64 {
    cfg.train
        .diverge_loss
        .unwrap_or(3.0 * (vocab_size as f64).ln())
}
