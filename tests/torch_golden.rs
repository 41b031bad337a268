//! lnwarm against PyTorch in every CI run, without torch installed (llm.c's style): the fixture
//! in `tests/fixtures/torch-golden/` holds tiny exported weights (norm gains and biases
//! perturbed away from 1 and 0) and a batch for both architectures, plain and with
//! `--qk-norm --z-loss 0.01`, and PyTorch's float64 objective and per-parameter gradient norms on them
//! (`scripts/grad_check_torch.py DIR --fixture`, an independent implementation of the same
//! equations). Here lnwarm loads the same weights in f64, runs one forward/backward and must
//! agree to 1e-10 relative: any change of the model's equations (a missing scale, a cut graph, a
//! wrong LayerNorm variance) shows up as a difference of 1e-3 or more.

use candle_core::{DType, Device, Tensor};
use lnwarm::config::ModelConfig;
use lnwarm::metrics::GradNorms;
use lnwarm::model::{ParamStore, Transformer};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

#[derive(serde::Deserialize)]
struct Golden {
    model: ModelConfig,
    dtype: String,
    loss: f64,
    grad_norms: BTreeMap<String, f64>,
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/torch-golden")
        .join(name)
}

fn load(name: &str) -> HashMap<String, Tensor> {
    candle_core::safetensors::load(fixture(name), &Device::Cpu).expect(name)
}

/// lnwarm's loss and gradient norms (f64) on the fixture's weights and batch.
fn lnwarm_numbers(arch: &str, model_cfg: &ModelConfig) -> (f64, BTreeMap<String, f64>) {
    let weights = load(&format!("{arch}-weights.safetensors"));
    let batch = load(&format!("{arch}-batch.safetensors"));
    let (ids, targets) = (&batch["ids"], &batch["targets"]);
    let vocab = weights["tok_emb.weight"].dims()[0];
    let seq_len = ids.dims()[1];
    let mut store = ParamStore::with_dtype(0, &Device::Cpu, DType::F64);
    let model = Transformer::new(model_cfg, vocab, seq_len, &mut store).unwrap();
    assert_eq!(store.named_vars().len(), weights.len(), "same parameters");
    for (name, var) in store.named_vars() {
        let w = weights
            .get(name)
            .unwrap_or_else(|| panic!("{name} not in the fixture"));
        var.set(&w.to_dtype(DType::F64).unwrap()).unwrap();
    }
    let (loss, _) = model.objective(ids, targets).unwrap();
    let grads = loss.backward().unwrap();
    let norms = GradNorms::compute(&store, &grads).unwrap();
    let by_name = norms.names.into_iter().zip(norms.norms).collect();
    (loss.to_scalar::<f64>().unwrap(), by_name)
}

#[test]
fn loss_and_every_gradient_norm_match_pytorch_in_f64() {
    for arch in [
        "post-ln",
        "pre-ln",
        "post-ln-qk-norm-z-loss",
        "pre-ln-qk-norm-z-loss",
    ] {
        let text = std::fs::read_to_string(fixture(&format!("{arch}-torch.json"))).unwrap();
        let golden: Golden = serde_json::from_str(&text).unwrap();
        assert_eq!(golden.dtype, "f64");
        let (loss, norms) = lnwarm_numbers(arch, &golden.model);
        let rel = |a: f64, b: f64| (a - b).abs() / b.abs().max(1e-300);
        assert!(
            rel(loss, golden.loss) < 1e-10,
            "{arch}: loss {loss} vs PyTorch {}",
            golden.loss
        );
        assert_eq!(
            norms.keys().collect::<Vec<_>>(),
            golden.grad_norms.keys().collect::<Vec<_>>(),
            "{arch}: the same parameters"
        );
        for (name, theirs) in &golden.grad_norms {
            let ours = norms[name];
            assert!(
                rel(ours, *theirs) < 1e-10,
                "{arch} {name}: gradient norm {ours} vs PyTorch {theirs}"
            );
        }
    }
}
