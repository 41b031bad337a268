//! The fused kernels equal the composite ops, values and gradients, in f32 and f64
//! (the finite-difference tests in gradients.rs also run through it).

use candle_core::{DType, Device, Tensor, Var};
use lnwarm::model::layers::LayerNorm;
use lnwarm::model::ParamStore;

fn check(dtype: DType, tol: f64) {
    let dev = Device::Cpu;
    let mut store = ParamStore::with_dtype(3, &dev, dtype);
    let ln = LayerNorm::new(&mut store, "ln", 48, 1e-5).unwrap();
    // Non-trivial gain and bias.
    for (name, var) in store.named_vars() {
        let n = var.elem_count();
        let values: Vec<f64> = (0..n)
            .map(|i| {
                if name.ends_with("weight") {
                    0.5 + i as f64 / n as f64
                } else {
                    (i as f64 - 20.0) / 30.0
                }
            })
            .collect();
        var.set(
            &Tensor::from_vec(values, n, &dev)
                .unwrap()
                .to_dtype(dtype)
                .unwrap(),
        )
        .unwrap();
    }
    let x = Var::from_tensor(
        &(Tensor::randn(0f32, 3.0, (70, 48), &dev).unwrap() + 1.5)
            .unwrap()
            .to_dtype(dtype)
            .unwrap(),
    )
    .unwrap();
    let weights = Tensor::randn(0f32, 1.0, (70, 48), &dev)
        .unwrap()
        .to_dtype(dtype)
        .unwrap();
    let run = |fused: bool| {
        let y = if fused {
            ln.forward(x.as_tensor()).unwrap()
        } else {
            ln.forward_composite(x.as_tensor()).unwrap()
        };
        let loss = (&y * &weights).unwrap().sum_all().unwrap();
        let grads = loss.backward().unwrap();
        let mut out = vec![y
            .flatten_all()
            .unwrap()
            .to_dtype(DType::F64)
            .unwrap()
            .to_vec1::<f64>()
            .unwrap()];
        out.push(
            grads
                .get(&x)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_dtype(DType::F64)
                .unwrap()
                .to_vec1()
                .unwrap(),
        );
        for (_, var) in store.named_vars() {
            out.push(
                grads
                    .get(var)
                    .expect("gain and bias get gradients")
                    .to_dtype(DType::F64)
                    .unwrap()
                    .to_vec1()
                    .unwrap(),
            );
        }
        out
    };
    let (fused, composite) = (run(true), run(false));
    for (which, (a, b)) in ["y", "dx", "dgamma", "dbeta"]
        .iter()
        .zip(fused.iter().zip(&composite))
    {
        for (u, v) in a.iter().zip(b) {
            assert!(
                (u - v).abs() <= tol * (1.0 + v.abs()),
                "{dtype:?} {which}: fused {u} vs composite {v}"
            );
        }
    }
}

#[test]
fn fused_layer_norm_matches_composite_f64() {
    check(DType::F64, 1e-10);
}

#[test]
fn fused_layer_norm_matches_composite_f32() {
    check(DType::F32, 2e-4);
}

/// The fused attention core equals the composite one (narrow, head split, masked softmax,
/// matmuls): outputs and dL/d(qkv), in f64 and f32, with T not a multiple of any kernel tile.
#[test]
fn fused_attention_matches_composite() {
    let dev = Device::Cpu;
    let (batch, seq, heads, head_dim) = (2, 7, 3, 4);
    let d = heads * head_dim;
    for (dtype, tol) in [(DType::F64, 1e-12), (DType::F32, 2e-5)] {
        let randn = |shape: (usize, usize)| {
            Tensor::randn(0f32, 1.5, shape, &dev)
                .unwrap()
                .to_dtype(dtype)
                .unwrap()
        };
        let qkv = Var::from_tensor(&randn((batch * seq, 3 * d))).unwrap();
        let w = randn((batch * seq, d));
        let mask = lnwarm::model::layers::causal_mask(seq, dtype, &dev).unwrap();
        let fused =
            lnwarm::model::fused_attention::causal_attention(&qkv, batch, seq, heads).unwrap();
        let composite =
            lnwarm::model::layers::composite_attention(&qkv, batch, seq, heads, &mask).unwrap();
        let flat = |t: &Tensor| -> Vec<f64> {
            t.flatten_all()
                .unwrap()
                .to_dtype(DType::F64)
                .unwrap()
                .to_vec1()
                .unwrap()
        };
        let grad = |y: &Tensor| {
            let g = (y * &w).unwrap().sum_all().unwrap().backward().unwrap();
            flat(g.get(&qkv).unwrap())
        };
        let (fused_grad, composite_grad) = (grad(&fused), grad(&composite));
        assert!(composite_grad.iter().any(|g| g.abs() > 1e-3));
        for (a, b) in flat(&fused)
            .iter()
            .zip(flat(&composite))
            .chain(fused_grad.iter().zip(composite_grad))
        {
            assert!(
                (a - b).abs() <= tol * (1.0 + b.abs()),
                "{dtype:?}: fused {a} vs composite {b}"
            );
        }
    }
}

/// Bad shapes are errors, not out-of-bounds writes.
#[test]
fn fused_attention_rejects_bad_shapes() {
    let qkv = Tensor::zeros((14, 36), DType::F32, &Device::Cpu).unwrap();
    let attention = lnwarm::model::fused_attention::causal_attention;
    assert!(attention(&qkv, 2, 7, 3).is_ok());
    assert!(attention(&qkv, 2, 6, 3).is_err());
    assert!(attention(&qkv, 2, 7, 5).is_err());
    let not_packed = Tensor::zeros((14, 35), DType::F32, &Device::Cpu).unwrap();
    assert!(attention(&not_packed, 2, 7, 5).is_err());
    assert!(attention(&qkv, 2, 7, 0).is_err());
}

/// The fused linear layer equals candle's matmul + broadcast add (+ ReLU): outputs and the
/// gradients of x, W and b, in f64 and f32.
#[test]
fn fused_linear_matches_matmul_and_add() {
    let dev = Device::Cpu;
    for (dtype, tol) in [(DType::F64, 1e-12), (DType::F32, 2e-5)] {
        for relu in [false, true] {
            let randn = |shape: &[usize]| {
                let t = Tensor::randn(0f32, 1.0, shape, &dev).unwrap();
                Var::from_tensor(&t.to_dtype(dtype).unwrap()).unwrap()
            };
            let (x, w, b) = (randn(&[130, 24]), randn(&[40, 24]), randn(&[40]));
            let probe = randn(&[130, 40]);
            let fused = lnwarm::model::fused_linear::linear(&x, &w, &b, relu).unwrap();
            let plain = x.matmul(&w.t().unwrap()).unwrap();
            let plain = plain.broadcast_add(&b).unwrap();
            let plain = if relu { plain.relu().unwrap() } else { plain };
            let values = |y: &Tensor| {
                let g = (y * probe.as_tensor())
                    .unwrap()
                    .sum_all()
                    .unwrap()
                    .backward()
                    .unwrap();
                let flat = |t: &Tensor| -> Vec<f64> {
                    let t = t.flatten_all().unwrap().to_dtype(DType::F64).unwrap();
                    t.to_vec1().unwrap()
                };
                let grads = [&x, &w, &b].map(|v| flat(g.get(v).unwrap()));
                [vec![flat(y)], grads.to_vec()].concat().concat()
            };
            let (a, c) = (values(&fused), values(&plain));
            assert_eq!(a.len(), c.len());
            for (u, v) in a.iter().zip(&c) {
                assert!(
                    (u - v).abs() <= tol * (1.0 + v.abs()),
                    "{dtype:?} relu {relu}: fused {u} vs candle {v}"
                );
            }
        }
    }
}

/// Mismatched shapes are errors, not out-of-bounds reads.
#[test]
fn fused_linear_rejects_mismatched_shapes() {
    let zeros = |shape: &[usize]| Tensor::zeros(shape, DType::F32, &Device::Cpu).unwrap();
    let linear = lnwarm::model::fused_linear::linear;
    assert!(linear(&zeros(&[5, 3]), &zeros(&[4, 3]), &zeros(&[4]), false).is_ok());
    assert!(linear(&zeros(&[5, 3]), &zeros(&[4, 2]), &zeros(&[4]), false).is_err());
    assert!(linear(&zeros(&[5, 3]), &zeros(&[4, 3]), &zeros(&[3]), true).is_err());
}

/// LayerNorm's gain and bias gradients are sums over rows, computed in parallel chunks. They must
/// not depend on how rayon schedules the chunks: equal bit for bit over repeats and over thread
/// counts (rayon's `reduce` combined chunks in a schedule-dependent tree).
#[test]
fn layer_norm_gradients_are_the_same_bits_whatever_the_threads() {
    let dev = Device::Cpu;
    let grads_with = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut store = ParamStore::new(5, &dev);
            let ln = LayerNorm::new(&mut store, "ln", 40, 1e-5).unwrap();
            // 2000 rows: 32 chunks of 64 rows.
            let values: Vec<f32> = (0..2000 * 40)
                .map(|i| ((i * 7919) % 1013) as f32 / 97.0 - 5.0)
                .collect();
            let x = Tensor::from_vec(values, (2000, 40), &dev).unwrap();
            let w: Vec<f32> = (0..2000 * 40)
                .map(|i| ((i * 31) % 17) as f32 / 7.0 - 1.1)
                .collect();
            let w = Tensor::from_vec(w, (2000, 40), &dev).unwrap();
            let loss = (ln.forward(&x).unwrap() * w).unwrap().sum_all().unwrap();
            let grads = loss.backward().unwrap();
            store
                .named_vars()
                .iter()
                .map(|(_, v)| grads.get(v).unwrap().to_vec1::<f32>().unwrap())
                .collect::<Vec<_>>()
        })
    };
    let reference = grads_with(1);
    for threads in [2, 3, 8, 8, 8] {
        assert_eq!(grads_with(threads), reference, "{threads} threads");
    }
}
