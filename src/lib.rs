//! lnwarm: how LayerNorm placement (Post-LN vs Pre-LN) and learning-rate warmup interact in
//! Transformer training, measured (Xiong et al., "On Layer Normalization in the Transformer
//! Architecture", ICML 2020, arXiv 2002.04745).
//!
//! Modules: `config` (run configuration), `model` (the Transformer), `schedule` (warmup and
//! decay), `optim`, `data`, `metrics` (gradient norms), `step` (one update), `train` (the loop),
//! `checkpoint` and `interrupt` (runs that survive interruption), `probe` (the mechanisms warmup
//! may act on: sharpness, update size, layer drift, over-fitting, attention logits), `results` (the JSON), `cli`
//! (flags) and `progress`.

pub mod analysis;
pub mod bench;
pub mod bench_peak;
pub mod checkpoint;
pub mod claims;
pub mod cli;
pub mod compare;
pub mod config;
pub mod cpu;
pub mod data;
pub mod error;
pub mod files;
pub mod grad_init;
pub mod interrupt;
pub mod memory;
pub mod metrics;
pub mod model;
pub mod numerics;
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
pub mod unique_keys;
pub mod verdict;

pub use error::{Error, Result};
