//! Gradients are complete and correct: every parameter gets a finite non-zero gradient, and
//! autograd agrees with central finite differences (in f64) for every kind of parameter in both
//! architectures. This is the guard against candle's no-backward LayerNorm/softmax trap, which a
//! "is there a gradient" check alone does not catch inside attention.

mod common;

use candle_core::{DType, Tensor};
use common::*;
use lnwarm::config::{Activation, Arch, Positions};
use lnwarm::metrics::GradNorms;
use lnwarm::model::{ParamStore, Transformer};

fn loss_value(model: &Transformer) -> f64 {
    let (ids, targets) = tiny_batch();
    model
        .loss(&ids, &targets)
        .unwrap()
        .to_scalar::<f64>()
        .unwrap()
}

/// Autograd vs central differences on a few entries of `name`; returns the worst relative error.
fn check_param(model: &Transformer, store: &ParamStore, name: &str) -> f64 {
    let (ids, targets) = tiny_batch();
    let grads = model.loss(&ids, &targets).unwrap().backward().unwrap();
    let var = store
        .get(name)
        .unwrap_or_else(|| panic!("no parameter {name}"));
    let grad: Vec<f64> = grads
        .get(var)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let original = var.as_tensor().copy().unwrap();
    let values: Vec<f64> = original.flatten_all().unwrap().to_vec1().unwrap();
    let h = 1e-6;
    let mut worst: f64 = 0.0;
    // Check the entries with the largest gradients (the informative ones) plus a fixed one.
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| grad[b].abs().total_cmp(&grad[a].abs()));
    for &i in order
        .iter()
        .take(4)
        .chain(std::iter::once(&(values.len() / 2)))
    {
        let set = |delta: f64| {
            let mut v = values.clone();
            v[i] += delta;
            var.set(&Tensor::from_vec(v, original.shape(), original.device()).unwrap())
                .unwrap();
            loss_value(model)
        };
        let numeric = (set(h) - set(-h)) / (2.0 * h);
        var.set(&original).unwrap();
        let err = (numeric - grad[i]).abs() / (numeric.abs() + grad[i].abs()).max(1e-7);
        assert!(
            err < 1e-4,
            "{name}[{i}]: autograd {} vs finite difference {numeric} (rel err {err})",
            grad[i]
        );
        worst = worst.max(err);
    }
    worst
}

fn params_of_every_kind(arch: Arch, positions: Positions) -> Vec<&'static str> {
    let mut names = vec![
        "tok_emb.weight",
        "blocks.0.attn.q.weight",
        "blocks.0.attn.q.bias",
        "blocks.0.attn.k.weight",
        "blocks.1.attn.v.weight",
        "blocks.1.attn.out.weight",
        "blocks.0.attn.out.bias",
        "blocks.0.ffn.w1.weight",
        "blocks.0.ffn.w1.bias",
        "blocks.1.ffn.w2.weight",
        "blocks.1.ffn.w2.bias",
        "blocks.0.ln_attn.weight",
        "blocks.0.ln_attn.bias",
        "blocks.1.ln_ffn.weight",
        "blocks.1.ln_ffn.bias",
    ];
    if arch == Arch::PreLn {
        names.extend(["final_ln.weight", "final_ln.bias"]);
    }
    if positions == Positions::Learned {
        names.push("pos_emb.weight");
    }
    names
}

fn finite_difference_check(arch: Arch, positions: Positions, activation: Activation) {
    let mut cfg = tiny_model_config(arch);
    cfg.positions = positions;
    cfg.activation = activation;
    let (model, store) = tiny_model(&cfg, DType::F64, 7);
    for name in params_of_every_kind(arch, positions) {
        check_param(&model, &store, name);
    }
}

#[test]
fn finite_differences_post_ln() {
    finite_difference_check(Arch::PostLn, Positions::Sinusoidal, Activation::Relu);
}

#[test]
fn finite_differences_pre_ln() {
    finite_difference_check(Arch::PreLn, Positions::Sinusoidal, Activation::Relu);
}

#[test]
fn finite_differences_learned_positions_gelu() {
    finite_difference_check(Arch::PreLn, Positions::Learned, Activation::Gelu);
    finite_difference_check(Arch::PostLn, Positions::Learned, Activation::Gelu);
}

/// Every parameter of every architecture after the paper, against central differences: the new
/// kinds (DeepNorm's scaled shortcut, Peri-LN's output norms, RMSNorm's gain, ReZero's α, DyT's
/// a, γ, β, Admin's ω, B2T's extra path) included. ReZero's α and Admin's ω are moved off their
/// initial values first (α = 0 would zero every sub-layer gradient and check nothing).
#[test]
fn finite_differences_every_variant_every_parameter() {
    for arch in Arch::ALL {
        if matches!(arch, Arch::PostLn | Arch::PreLn) {
            continue;
        }
        let (model, store) = tiny_model(&tiny_model_config(arch), DType::F64, 11);
        for (name, var) in store.named_vars() {
            let off_init = if name.contains(".alpha_") {
                Some(0.35)
            } else if name.contains(".omega_") {
                Some(1.6)
            } else {
                None
            };
            if let Some(v) = off_init {
                var.set(&var.as_tensor().ones_like().unwrap().affine(v, 0.0).unwrap())
                    .unwrap();
            }
        }
        for (name, _) in store.named_vars() {
            check_param(&model, &store, name);
        }
    }
}

#[test]
fn every_parameter_gets_a_finite_nonzero_gradient() {
    for arch in Arch::ALL.into_iter().filter(|a| *a != Arch::Rezero) {
        let (model, store) = tiny_model(&tiny_model_config(arch), DType::F32, 3);
        let (ids, targets) = tiny_batch();
        let grads = model.loss(&ids, &targets).unwrap().backward().unwrap();
        let norms = GradNorms::compute(&store, &grads).expect("every parameter has a gradient");
        assert_eq!(norms.names.len(), store.named_vars().len());
        for (name, norm) in norms.names.iter().zip(&norms.norms) {
            assert!(
                norm.is_finite() && *norm > 1e-6,
                "{arch:?}: {name} has gradient norm {norm}"
            );
        }
        assert!(norms.get("blocks.1.attn.q.weight").unwrap() > 1e-6);
        assert!(norms.get("blocks.1.attn.k.weight").unwrap() > 1e-6);
    }
}

/// The trap, and lnwarm past it: candle_nn's fused LayerNorm leaves its input without a
/// gradient (only the direct `sum` path reaches x: every entry 1), lnwarm's LayerNorm passes
/// the LN path's gradient on (its entries are not all 1: a weighted sum of the output has one). The candle half documents why
/// lnwarm has its own; the lnwarm half is what this test holds.
#[test]
fn lnwarm_layer_norm_passes_the_gradient_candles_cuts() {
    let dev = candle_core::Device::Cpu;
    let input = [[1.0f32, 2.0, 4.0], [0.5, -1.0, 3.0]];
    let gradient_of_input = |forward: &dyn Fn(&Tensor) -> Tensor| -> Vec<f32> {
        let x = candle_core::Var::new(&input, &dev).unwrap();
        let y = forward(x.as_tensor());
        // A weighting that is not constant along a row: LN's Jacobian removes only constants
        // (sum(y²) would not do: it is d at any input, with no gradient through LN at all).
        let weights = Tensor::new(&[1.0f32, 2.0, 3.0], &dev).unwrap();
        let weighted = y.broadcast_mul(&weights).unwrap().sum_all().unwrap();
        let grads = (weighted + x.as_tensor().sum_all().unwrap())
            .unwrap()
            .backward()
            .unwrap();
        let gx: Vec<Vec<f32>> = grads.get(&x).unwrap().to_vec2().unwrap();
        gx.into_iter().flatten().collect()
    };
    let w = Tensor::ones(3, DType::F32, &dev).unwrap();
    let b = Tensor::zeros(3, DType::F32, &dev).unwrap();
    let candle_ln = candle_nn::LayerNorm::new(w, b, 1e-5);
    let cut = gradient_of_input(&|x| candle_core::Module::forward(&candle_ln, x).unwrap());
    assert!(
        cut.iter().all(|&g| (g - 1.0).abs() < 1e-6),
        "candle's LayerNorm now passes a gradient: {cut:?}"
    );
    let mut store = ParamStore::with_dtype(0, &dev, DType::F32);
    let ours = lnwarm::model::layers::LayerNorm::new(&mut store, "ln", 3, 1e-5).unwrap();
    let passed = gradient_of_input(&|x| ours.forward(x).unwrap());
    assert!(
        passed.iter().any(|&g| (g - 1.0).abs() > 1e-3),
        "lnwarm's LayerNorm cut the graph: {passed:?}"
    );
}
