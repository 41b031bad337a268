//! lnwarm's optimizers update for update against torch.optim, without torch in CI: the fixture
//! `tests/fixtures/torch-optim/optim.json` (`scripts/optim_fixtures_torch.py`) holds fixed initial
//! values, 12 fixed gradients, a warmup-then-decay learning rate and PyTorch's parameters after
//! every step, in float64, for SGD with momentum, L2 weight decay and clip_grad_norm_, plain SGD,
//! RAdam (before and after its rectification starts at step 6 or 7), Adam and AdamW. Here the
//! same gradients reach lnwarm's optimizers through a loss whose gradient they are,
//! sum(w ⊙ g), clipped by lnwarm's `clip_global_norm` where the case clips; every parameter
//! must match to 1e-12 (relative, or absolute below 1) at every step.

use candle_core::{DType, Device, Tensor};
use lnwarm::config::{OptimConfig, OptimizerKind};
use lnwarm::metrics::{clip_global_norm, GradNorms};
use lnwarm::model::ParamStore;
use lnwarm::optim::Optimizer;
use serde::Deserialize;
use std::collections::BTreeMap;

type Values = BTreeMap<String, Vec<f64>>;

#[derive(Deserialize)]
struct Fixture {
    torch_version: String,
    shapes: BTreeMap<String, Vec<usize>>,
    init: Values,
    grads: Vec<Values>,
    lrs: Vec<f64>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    optim: TorchOptim,
    after: Vec<Values>,
}

#[derive(Deserialize, Clone)]
struct TorchOptim {
    kind: OptimizerKind,
    #[serde(default)]
    beta1: Option<f64>,
    #[serde(default)]
    beta2: Option<f64>,
    #[serde(default)]
    eps: Option<f64>,
    #[serde(default)]
    weight_decay: f64,
    #[serde(default)]
    momentum: f64,
    clip: Option<f64>,
}

impl TorchOptim {
    fn config(&self) -> OptimConfig {
        let d = OptimConfig::default();
        OptimConfig {
            kind: self.kind,
            beta1: self.beta1.unwrap_or(d.beta1),
            beta2: self.beta2.unwrap_or(d.beta2),
            eps: self.eps.unwrap_or(d.eps),
            weight_decay: self.weight_decay,
            momentum: self.momentum,
            clip: self.clip,
            ..d
        }
    }
}

fn fixture() -> Fixture {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/torch-optim/optim.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The fixture's parameters as named f64 variables of a store.
fn store_of(f: &Fixture) -> ParamStore {
    let mut store = ParamStore::with_dtype(0, &Device::Cpu, DType::F64);
    for (name, shape) in &f.shapes {
        store.normal(name, shape, 1.0).unwrap();
        let init = Tensor::from_slice(&f.init[name], shape.as_slice(), &Device::Cpu).unwrap();
        store.get(name).unwrap().set(&init).unwrap();
    }
    store
}

/// Runs one case through lnwarm; the largest relative difference to torch over every step.
fn worst_difference(f: &Fixture, case: &Case) -> (f64, String) {
    let store = store_of(f);
    let cfg = case.optim.config();
    let mut opt = Optimizer::new(store.named_vars(), &cfg, f.lrs[0]).unwrap();
    let mut worst = (0.0, String::new());
    for (t, (grads, lr)) in f.grads.iter().zip(&f.lrs).enumerate() {
        // sum(w ⊙ g) has gradient g with respect to w, exactly.
        let mut loss = Tensor::zeros((), DType::F64, &Device::Cpu).unwrap();
        for (name, var) in store.named_vars() {
            let g = Tensor::from_slice(&grads[name], var.dims(), &Device::Cpu).unwrap();
            loss = (loss + (var.as_tensor() * g).unwrap().sum_all().unwrap()).unwrap();
        }
        let mut grad_store = loss.backward().unwrap();
        if let Some(max_norm) = cfg.clip {
            let global = GradNorms::compute(&store, &grad_store).unwrap().global;
            clip_global_norm(&store, &mut grad_store, global, max_norm).unwrap();
        }
        opt.set_lr(*lr);
        opt.step(&grad_store).unwrap();
        for (name, var) in store.named_vars() {
            let ours: Vec<f64> = var.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
            for (i, (a, b)) in ours.iter().zip(&case.after[t][name]).enumerate() {
                // Relative to the value, or to 1 (the parameters' scale) where the value is
                // smaller: a parameter that an update has brought near 0 keeps the absolute
                // rounding of the terms that cancelled there.
                let rel = (a - b).abs() / b.abs().max(1.0);
                if rel > worst.0 {
                    worst = (rel, format!("step {} {name}[{i}]: {a} vs torch {b}", t + 1));
                }
            }
        }
    }
    worst
}

#[test]
fn every_optimizer_matches_torch_update_for_update() {
    let f = fixture();
    assert!(f.torch_version.starts_with('2'), "{}", f.torch_version);
    assert_eq!(f.cases.len(), 6);
    for case in &f.cases {
        let (worst, at) = worst_difference(&f, case);
        assert!(
            worst < 1e-12,
            "{}: relative difference {worst:e} at {at}",
            case.name
        );
    }
}

/// The check can fail: a momentum or a beta2 off by 1% moves the parameters far beyond the
/// tolerance.
#[test]
fn a_wrong_hyperparameter_is_caught() {
    let f = fixture();
    let case = |name: &str| f.cases.iter().find(|c| c.name == name).unwrap();
    let sgd = case("sgd-momentum-wd-clip");
    let radam = case("radam");
    let wrong = [
        Case {
            name: sgd.name.clone(),
            optim: TorchOptim {
                momentum: sgd.optim.momentum * 0.99,
                ..sgd.optim.clone()
            },
            after: sgd.after.clone(),
        },
        Case {
            name: radam.name.clone(),
            optim: TorchOptim {
                beta2: Some(0.99),
                ..radam.optim.clone()
            },
            after: radam.after.clone(),
        },
    ];
    for case in &wrong {
        let (worst, _) = worst_difference(&f, case);
        assert!(worst > 1e-6, "{}: {worst:e}", case.name);
    }
}
