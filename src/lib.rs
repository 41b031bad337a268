//! lnwarm: how LayerNorm placement (Post-LN vs Pre-LN) and learning-rate warmup interact in
//! Transformer training, measured (Xiong et al., "On Layer Normalization in the Transformer
//! Architecture", ICML 2020, arXiv 2002.04745).
//!
//! Modules: `config` (run configuration), `model` (the Transformer), `schedule` (warmup and
//! decay), `optim`, `data`, `metrics` (gradient norms), `step` (one update), `train` (the loop),
//! `checkpoint` and `interrupt` (runs that survive interruption), `probe` (the mechanisms warmup
//! may act on: sharpness, update size, layer drift, over-fitting, attention logits), `results` (the JSON), `cli`
//! (flags) and `progress`.

pub mod bench;
pub mod checkpoint;
pub mod claims;
pub mod cli;
pub mod compare;
pub mod config;
pub mod cpu;
pub mod data;
pub mod error;
pub mod grad_init;
pub mod interrupt;
pub mod memory;
pub mod metrics;
pub mod model;
pub mod optim;
pub mod outcome;
pub mod plot;
pub mod probe;
pub mod progress;
pub mod results;
pub mod schedule;
pub mod stats;
pub mod step;
pub mod study;
pub mod tensorboard;
pub mod train;
pub mod verdict;

pub use error::{Error, Result};

/// Version, git revision and candle version baked in at build time, plus the runtime device.
pub fn provenance(device: &candle_core::Device, started_at_unix: u64) -> results::Provenance {
    results::Provenance {
        lnwarm_version: env!("CARGO_PKG_VERSION").to_string(),
        git_revision: env!("LNWARM_GIT_REV").to_string(),
        candle_version: env!("LNWARM_CANDLE_VERSION").to_string(),
        device: match device {
            candle_core::Device::Cpu => "cpu".to_string(),
            other => format!("{other:?}"),
        },
        threads: candle_core::utils::get_num_threads(),
        composite_kernels: model::layers::composite_kernels(),
        started_at_unix,
        command: std::env::args().collect(),
        cpu: Some(cpu::CpuInfo::detect()),
    }
}
