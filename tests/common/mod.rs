//! Shared helpers for the integration tests: tiny configs and models.
#![allow(dead_code)]

pub mod cli;
pub mod hessian;
pub mod made;
pub mod resumed;

use candle_core::{DType, Device, Tensor};
use lnwarm::config::{Arch, ModelConfig, Positions, RunConfig};
use lnwarm::model::{ParamStore, Transformer};

pub const VOCAB: usize = 11;

pub fn tiny_model_config(arch: Arch) -> ModelConfig {
    ModelConfig {
        arch,
        n_layers: 2,
        d_model: 16,
        n_heads: 2,
        d_ff: 24,
        ..ModelConfig::default()
    }
}

/// A tiny model and its parameters, in `dtype`.
pub fn tiny_model(cfg: &ModelConfig, dtype: DType, seed: u64) -> (Transformer, ParamStore) {
    let mut store = ParamStore::with_dtype(seed, &Device::Cpu, dtype);
    let model = Transformer::new(cfg, VOCAB, 8, &mut store).unwrap();
    (model, store)
}

/// A fixed (B=2, T=6) batch of ids and targets.
pub fn tiny_batch() -> (Tensor, Tensor) {
    let ids: Vec<u32> = vec![1, 4, 2, 7, 3, 9, 0, 5, 10, 6, 8, 2];
    let targets: Vec<u32> = vec![4, 2, 7, 3, 9, 1, 5, 10, 6, 8, 2, 0];
    let dev = Device::Cpu;
    (
        Tensor::from_vec(ids, (2, 6), &dev).unwrap(),
        Tensor::from_vec(targets, (2, 6), &dev).unwrap(),
    )
}

/// A run config small enough for a test: synthetic data, d 32, 2 layers.
pub fn tiny_run_config(arch: Arch, steps: u64) -> RunConfig {
    let mut cfg = RunConfig {
        model: ModelConfig {
            arch,
            n_layers: 2,
            d_model: 32,
            n_heads: 2,
            d_ff: 64,
            positions: Positions::Sinusoidal,
            ..ModelConfig::default()
        },
        ..RunConfig::default()
    };
    cfg.data.source = "synthetic".into();
    cfg.data.seq_len = 32;
    cfg.data.batch_size = 8;
    cfg.data.eval_batches = 4;
    cfg.schedule.peak_lr = 3e-3;
    cfg.schedule.warmup = lnwarm::schedule::Warmup::linear(20);
    cfg.train.steps = steps;
    cfg.train.log_every = 10;
    cfg.train.eval_every = 50;
    cfg
}

/// A Parquet file with a UTF-8 column `body` holding `rows` and an INT32 column `id`.
#[cfg(feature = "hub")]
pub fn write_parquet(path: &std::path::Path, rows: &[&str]) {
    use parquet::data_type::{ByteArray, ByteArrayType, Int32Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;
    use std::sync::Arc;
    let schema =
        parse_message_type("message doc { REQUIRED BYTE_ARRAY body (UTF8); REQUIRED INT32 id; }")
            .unwrap();
    let file = std::fs::File::create(path).unwrap();
    let props = Arc::new(WriterProperties::builder().build());
    let mut writer = SerializedFileWriter::new(file, Arc::new(schema), props).unwrap();
    let mut group = writer.next_row_group().unwrap();
    let mut column = group.next_column().unwrap().unwrap();
    let values: Vec<ByteArray> = rows.iter().map(|r| ByteArray::from(*r)).collect();
    column
        .typed::<ByteArrayType>()
        .write_batch(&values, None, None)
        .unwrap();
    column.close().unwrap();
    let mut column = group.next_column().unwrap().unwrap();
    let ids: Vec<i32> = (0..rows.len() as i32).collect();
    column
        .typed::<Int32Type>()
        .write_batch(&ids, None, None)
        .unwrap();
    column.close().unwrap();
    group.close().unwrap();
    writer.close().unwrap();
}

/// What one `lnwarm` invocation did: exit code, stdout, stderr.
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Run the built `lnwarm` binary with `args` in `dir` (`RAYON_NUM_THREADS` 1: the numbers of a
/// run do not depend on the test machine's cores; `RUST_BACKTRACE` 1: a panic would show).
/// Every test that runs the binary and only needs its exit code and output uses this one.
pub fn lnwarm(dir: &std::path::Path, args: &[&str]) -> Ran {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lnwarm"))
        .args(args)
        .current_dir(dir)
        .env("RAYON_NUM_THREADS", "1")
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("lnwarm runs");
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
