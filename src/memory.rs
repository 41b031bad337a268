//! Memory a run needs, estimated before anything is allocated, so that a model that cannot fit
//! is refused with one line instead of aborting in the allocator ("memory allocation of
//! 40000000000 bytes failed" and a backtrace).
//!
//! The estimate counts f32 values: parameters, their gradients, the optimizer's state (Adam and
//! RAdam two moments, SGD with momentum one buffer) and one step's temporaries of the update
//! (as many as parameters), plus the activations the backward pass keeps: per block about
//! 16·d + 3·d_ff values per token and two H·T² attention maps per sequence, and the logits
//! (three B·T·V tensors: logits, softmax, its gradient). It is meant as a floor, not a bound:
//! it refuses what cannot fit, and lets through what might.

use crate::config::{Arch, OptimizerKind, Positions, RunConfig};
use crate::error::Result;

/// Estimated sizes in bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub params: f64,
    /// Gradients, optimizer state and update temporaries.
    pub training_state: f64,
    pub activations: f64,
}

impl Estimate {
    pub fn total(&self) -> f64 {
        self.params + self.training_state + self.activations
    }
}

/// The number of parameters of the model `cfg` describes (equal to `ParamStore::count` of the
/// built model; a test holds them together).
pub fn param_count(cfg: &RunConfig, vocab: usize) -> f64 {
    let m = &cfg.model;
    let (d, ff, l) = (m.d_model as f64, m.d_ff as f64, m.n_layers as f64);
    // One norm's parameters: LN gain and bias, RMSNorm gain, DyT gain, bias and a.
    let norm = match m.arch {
        Arch::PreRmsnorm => d,
        Arch::Dyt => 2.0 * d + 1.0,
        _ => 2.0 * d,
    };
    let norms_per_block = match m.arch {
        Arch::Rezero => 0.0,
        Arch::PeriLn => 4.0,
        _ => 2.0,
    };
    let scales = match m.arch {
        Arch::Rezero => 2.0,
        Arch::Admin => 2.0 * d,
        _ => 0.0,
    };
    let block = 4.0 * d * d + 3.0 * d + 2.0 * d * ff + ff + d + norms_per_block * norm + scales;
    let mut total = l * block + vocab as f64 * d;
    if m.positions == Positions::Learned {
        total += cfg.data.seq_len as f64 * d;
    }
    if m.arch.final_norm() {
        total += norm;
    }
    if !m.tie_embeddings {
        total += vocab as f64 * d;
    }
    total
}

/// The estimate for training `cfg` with a vocabulary of `vocab` tokens.
pub fn estimate(cfg: &RunConfig, vocab: usize) -> Estimate {
    const F32: f64 = 4.0;
    let p = param_count(cfg, vocab);
    let moments = match cfg.optim.kind {
        OptimizerKind::Adam
        | OptimizerKind::Adamw
        | OptimizerKind::Radam
        | OptimizerKind::GiAdam => 2.0,
        OptimizerKind::Sgd if cfg.optim.momentum > 0.0 => 1.0,
        OptimizerKind::Sgd => 0.0,
    };
    let m = &cfg.model;
    let (b, t) = (cfg.data.batch_size as f64, cfg.data.seq_len as f64);
    let (d, ff, h, l) = (
        m.d_model as f64,
        m.d_ff as f64,
        m.n_heads as f64,
        m.n_layers as f64,
    );
    let per_block = b * t * (16.0 * d + 3.0 * ff) + 2.0 * b * h * t * t;
    let logits = 3.0 * b * t * vocab as f64;
    Estimate {
        params: p * F32,
        training_state: (2.0 + moments) * p * F32,
        activations: (l * per_block + logits) * F32,
    }
}

/// Memory this process can still get (Linux: MemAvailable + free swap), if known.
pub fn available_bytes() -> Option<f64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib = |key: &str| -> Option<f64> {
        let line = info.lines().find(|l| l.starts_with(key))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    Some((kib("MemAvailable:")? + kib("SwapFree:").unwrap_or(0.0)) * 1024.0)
}

/// Refuse (usage error, exit 2) a CPU run whose estimate exceeds `available` bytes.
pub fn check_fits(cfg: &RunConfig, vocab: usize, available: Option<f64>) -> Result<()> {
    let Some(available) = available else {
        return Ok(());
    };
    let e = estimate(cfg, vocab);
    if e.total() <= available {
        return Ok(());
    }
    let m = &cfg.model;
    Err(crate::usage!(
        "--d-model {} --layers {} --d-ff {} --batch-size {} --seq-len {}: needs about {} (parameters {}, gradients and optimizer state {}, activations {}), {} available; make the model or the batch smaller",
        m.d_model,
        m.n_layers,
        m.d_ff,
        cfg.data.batch_size,
        cfg.data.seq_len,
        human(e.total()),
        human(e.params),
        human(e.training_state),
        human(e.activations),
        human(available)
    ))
}

/// Bytes as GiB / TiB with one decimal.
fn human(bytes: f64) -> String {
    const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
    if bytes >= 1024.0 * GIB {
        format!("{:.1} TiB", bytes / (1024.0 * GIB))
    } else if bytes >= GIB {
        format!("{:.1} GiB", bytes / GIB)
    } else {
        format!("{:.0} MiB", bytes / (1024.0 * 1024.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_model_fits_and_a_huge_one_is_refused_naming_its_size() {
        let cfg = RunConfig::default();
        let e = estimate(&cfg, 80);
        // cpu-small: ~1.2 M parameters, a few hundred MiB in all.
        assert!(e.total() < 1e9, "{e:?}");
        assert!(check_fits(&cfg, 80, Some(4e9)).is_ok());
        let mut huge = RunConfig::default();
        huge.model.d_model = 100_000;
        huge.model.n_layers = 100;
        let err = check_fits(&huge, 80, Some(22.0 * 1024f64.powi(3)))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("--d-model 100000 --layers 100 --d-ff 512 --batch-size 32 --seq-len 128: needs about"),
            "{err}"
        );
        assert!(
            err.ends_with("22.0 GiB available; make the model or the batch smaller"),
            "{err}"
        );
        assert!(!err.contains('\n'));
        // Unknown available memory: never refused.
        assert!(check_fits(&huge, 80, None).is_ok());
    }

    #[test]
    fn param_count_equals_the_built_model() {
        use crate::model::{ParamStore, Transformer};
        let mut cases = vec![
            (Arch::PostLn, Positions::Sinusoidal, true),
            (Arch::PreLn, Positions::Learned, false),
        ];
        cases.extend(Arch::ALL.iter().map(|&a| (a, Positions::Sinusoidal, true)));
        for (arch, positions, tied) in cases {
            let mut cfg = RunConfig::default();
            cfg.model.arch = arch;
            cfg.model.positions = positions;
            cfg.model.tie_embeddings = tied;
            cfg.model.n_layers = 2;
            cfg.model.d_model = 24;
            cfg.model.d_ff = 40;
            cfg.data.seq_len = 16;
            let mut store = ParamStore::new(0, &candle_core::Device::Cpu);
            Transformer::new(&cfg.model, 13, 16, &mut store).unwrap();
            assert_eq!(param_count(&cfg, 13), store.count() as f64, "{arch:?}");
        }
    }
}
