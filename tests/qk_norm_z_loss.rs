//! QK-LayerNorm and z-loss (issue 32): every parameter's gradient of the training objective
//! agrees with central finite differences in f64, for every architecture QK-norm is defined for;
//! z-loss equals its closed form mean((log Z)²) and has the closed-form gradient
//! 2·log Z·softmax / N; and QK-norm changes no parameter's initial value.

mod common;

use candle_core::{DType, Device, Tensor};
use common::*;
use lnwarm::config::Arch;
use lnwarm::model::{z_loss, ParamStore, Transformer};

fn objective(model: &Transformer) -> f64 {
    let (ids, targets) = tiny_batch();
    model
        .objective(&ids, &targets)
        .unwrap()
        .0
        .to_scalar::<f64>()
        .unwrap()
}

/// Autograd of the objective vs central differences on the largest entries of every parameter.
fn check_every_parameter(model: &Transformer, store: &ParamStore, what: &str) {
    let (ids, targets) = tiny_batch();
    let grads = model
        .objective(&ids, &targets)
        .unwrap()
        .0
        .backward()
        .unwrap();
    for (name, var) in store.named_vars() {
        let grad: Vec<f64> = grads
            .get(var)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let original = var.as_tensor().copy().unwrap();
        let values: Vec<f64> = original.flatten_all().unwrap().to_vec1().unwrap();
        let mut order: Vec<usize> = (0..values.len()).collect();
        order.sort_by(|&a, &b| grad[b].abs().total_cmp(&grad[a].abs()));
        for &i in order.iter().take(3) {
            let at = |delta: f64| {
                let mut v = values.clone();
                v[i] += delta;
                var.set(&Tensor::from_vec(v, original.shape(), original.device()).unwrap())
                    .unwrap();
                objective(model)
            };
            let h = 1e-6;
            let numeric = (at(h) - at(-h)) / (2.0 * h);
            var.set(&original).unwrap();
            let err = (numeric - grad[i]).abs() / (numeric.abs() + grad[i].abs()).max(1e-7);
            assert!(
                err < 1e-4,
                "{what}: {name}[{i}]: autograd {} vs {numeric}",
                grad[i]
            );
        }
    }
}

#[test]
fn qk_norm_gradients_are_exact_for_every_arch_that_has_it() {
    for arch in Arch::ALL
        .into_iter()
        .filter(|a| !matches!(a, Arch::Rezero | Arch::Dyt))
    {
        let mut cfg = tiny_model_config(arch);
        cfg.qk_norm = true;
        let (model, store) = tiny_model(&cfg, DType::F64, 5);
        // Move the QK-norm gains and biases off 1 and 0, so their gradients are generic.
        for (name, var) in store.named_vars() {
            if name.contains("_norm.") {
                let shifted = var.as_tensor().affine(1.3, 0.1).unwrap();
                var.set(&shifted).unwrap();
            }
        }
        assert!(store.get("blocks.1.attn.q_norm.weight").is_some());
        assert!(store.get("blocks.0.attn.k_norm.weight").is_some());
        assert!(
            store.get("blocks.0.attn.k_norm.bias").is_none(),
            "a key bias cannot learn"
        );
        check_every_parameter(&model, &store, &format!("{arch:?} --qk-norm"));
    }
}

#[test]
fn qk_norm_changes_no_initial_value_of_the_other_parameters() {
    let plain = tiny_model(&tiny_model_config(Arch::PostLn), DType::F32, 9).1;
    let mut cfg = tiny_model_config(Arch::PostLn);
    cfg.qk_norm = true;
    let normed = tiny_model(&cfg, DType::F32, 9).1;
    for (name, var) in plain.named_vars() {
        let other = normed.get(name).unwrap();
        let (a, b): (Vec<f32>, Vec<f32>) = (
            var.as_tensor().flatten_all().unwrap().to_vec1().unwrap(),
            other.as_tensor().flatten_all().unwrap().to_vec1().unwrap(),
        );
        assert_eq!(a, b, "{name}");
    }
}

#[test]
fn z_loss_gradients_are_exact() {
    for arch in [Arch::PostLn, Arch::PreLn] {
        let mut cfg = tiny_model_config(arch);
        cfg.z_loss = Some(0.1);
        let (model, store) = tiny_model(&cfg, DType::F64, 13);
        check_every_parameter(&model, &store, &format!("{arch:?} --z-loss 0.1"));
        // The objective is CE + C·z: the reported loss stays the cross-entropy.
        let (ids, targets) = tiny_batch();
        let (total, ce) = model.objective(&ids, &targets).unwrap();
        let logits = model.forward(&ids).unwrap();
        let z = z_loss(&logits).unwrap().to_scalar::<f64>().unwrap();
        let (total, ce) = (
            total.to_scalar::<f64>().unwrap(),
            ce.to_scalar::<f64>().unwrap(),
        );
        assert!((total - ce - 0.1 * z).abs() < 1e-12);
        assert_eq!(
            ce,
            model
                .loss(&ids, &targets)
                .unwrap()
                .to_scalar::<f64>()
                .unwrap()
        );
    }
}

#[test]
fn z_loss_is_its_closed_form() {
    let rows = [[1.0, -2.0, 0.5], [300.0, 299.0, -5.0]];
    let flat: Vec<f64> = rows.iter().flatten().copied().collect();
    let logits =
        candle_core::Var::from_tensor(&Tensor::from_vec(flat, (2, 3), &Device::Cpu).unwrap())
            .unwrap();
    let z = z_loss(logits.as_tensor()).unwrap();
    let lse: Vec<f64> = rows
        .iter()
        .map(|r| {
            let m = r.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            m + r.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
        })
        .collect();
    let expected = lse.iter().map(|l| l * l).sum::<f64>() / 2.0;
    assert!((z.to_scalar::<f64>().unwrap() - expected).abs() < 1e-9 * expected);
    // d/dx_ij of mean_i (lse_i)² = 2·lse_i·softmax_ij / N (N = 2 rows); large logits stay finite.
    let grad = z.backward().unwrap();
    let g: Vec<Vec<f64>> = grad.get(&logits).unwrap().to_vec2().unwrap();
    for (i, r) in rows.iter().enumerate() {
        for (j, x) in r.iter().enumerate() {
            let softmax = (x - lse[i]).exp();
            let expected = 2.0 * lse[i] * softmax / 2.0;
            assert!(
                (g[i][j] - expected).abs() < 1e-9 * (1.0 + expected.abs()),
                "[{i}][{j}]"
            );
        }
    }
}
