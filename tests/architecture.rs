//! Structure of each architecture: parameter names and counts, where the LayerNorms sit,
//! causality, the embedding scale, and deterministic initialisation.

mod common;

use candle_core::{DType, Device, Tensor, D};
use common::*;
use lnwarm::config::{Arch, Positions};

fn names(arch: Arch) -> Vec<String> {
    let (_, store) = tiny_model(&tiny_model_config(arch), DType::F32, 0);
    store.named_vars().iter().map(|(n, _)| n.clone()).collect()
}

#[test]
fn parameter_names_are_stable_and_arch_specific() {
    let post = names(Arch::PostLn);
    let pre = names(Arch::PreLn);
    let block0 = [
        "blocks.0.attn.q.weight",
        "blocks.0.attn.q.bias",
        "blocks.0.attn.k.weight",
        "blocks.0.attn.v.weight",
        "blocks.0.attn.v.bias",
        "blocks.0.attn.out.weight",
        "blocks.0.attn.out.bias",
        "blocks.0.ln_attn.weight",
        "blocks.0.ln_attn.bias",
        "blocks.0.ffn.w1.weight",
        "blocks.0.ffn.w1.bias",
        "blocks.0.ffn.w2.weight",
        "blocks.0.ffn.w2.bias",
        "blocks.0.ln_ffn.weight",
        "blocks.0.ln_ffn.bias",
    ];
    for name in block0.iter().chain(&["tok_emb.weight"]) {
        assert!(post.iter().any(|n| n == name), "post-ln lacks {name}");
        assert!(pre.iter().any(|n| n == name), "pre-ln lacks {name}");
    }
    assert!(
        !post.iter().any(|n| n.starts_with("final_ln")),
        "Post-LN has no final LN"
    );
    assert!(pre.iter().any(|n| n == "final_ln.weight"));
    assert_eq!(pre.len(), post.len() + 2);
    assert!(
        !post.iter().any(|n| n == "blocks.0.attn.k.bias"),
        "a key bias cannot learn"
    );
}

#[test]
fn parameter_count_matches_closed_form() {
    let cfg = tiny_model_config(Arch::PreLn);
    let (d, f, l, v) = (cfg.d_model, cfg.d_ff, cfg.n_layers, VOCAB);
    // attention: 4 d^2 + 3 biases; FFN: 2 d f + f + d; two LNs: 4 d.
    let per_block = 4 * d * d + 3 * d + 2 * d * f + f + d + 4 * d;
    let (_, pre) = tiny_model(&cfg, DType::F32, 0);
    assert_eq!(pre.count(), v * d + l * per_block + 2 * d);
    let (_, post) = tiny_model(&tiny_model_config(Arch::PostLn), DType::F32, 0);
    assert_eq!(post.count(), v * d + l * per_block);
}

/// Per-row mean and variance of a (N, d) tensor.
fn row_stats(xs: &Tensor) -> (Vec<f32>, Vec<f32>) {
    let mean = xs.mean_keepdim(D::Minus1).unwrap();
    let var = xs
        .broadcast_sub(&mean)
        .unwrap()
        .sqr()
        .unwrap()
        .mean(D::Minus1)
        .unwrap();
    (
        mean.flatten_all().unwrap().to_vec1().unwrap(),
        var.to_vec1().unwrap(),
    )
}

#[test]
fn post_ln_normalises_the_residual_stream_and_pre_ln_does_not() {
    let (ids, _) = tiny_batch();
    let (post, _) = tiny_model(&tiny_model_config(Arch::PostLn), DType::F32, 1);
    let kept = post.hidden_states(&ids).unwrap().entering;
    assert_eq!(kept.len(), 3, "input of each block + the output");
    for hidden in &kept[1..] {
        let (mean, var) = row_stats(hidden);
        assert!(
            mean.iter().all(|m| m.abs() < 1e-4),
            "Post-LN block output is LN'd: mean {mean:?}"
        );
        assert!(
            var.iter().all(|v| (v - 1.0).abs() < 1e-3),
            "Post-LN block output is LN'd: var {var:?}"
        );
    }
    let (pre, _) = tiny_model(&tiny_model_config(Arch::PreLn), DType::F32, 1);
    let probe = pre.hidden_states(&ids).unwrap();
    let (final_hidden, kept) = (probe.final_hidden, probe.entering);
    let (_, var) = row_stats(&kept[2]);
    assert!(
        var.iter().any(|v| (v - 1.0).abs() > 0.05),
        "Pre-LN residual stream is not normalised"
    );
    let (_, var) = row_stats(&final_hidden);
    assert!(
        var.iter().all(|v| (v - 1.0).abs() < 1e-3),
        "Pre-LN ends with the final LN"
    );
}

/// Per state, the mean over positions of its squared norm.
fn mean_sq_norms(states: &[Tensor]) -> Vec<f32> {
    states
        .iter()
        .map(|h| {
            h.sqr()
                .unwrap()
                .sum(D::Minus1)
                .unwrap()
                .mean_all()
                .unwrap()
                .to_scalar()
                .unwrap()
        })
        .collect()
}

#[test]
fn hidden_norms_grow_with_depth_in_pre_ln_and_stay_d_in_post_ln() {
    // Lemma 2: E||x_l||^2 grows linearly in l for Pre-LN; stays ~constant for Post-LN.
    let mut cfg = tiny_model_config(Arch::PreLn);
    cfg.n_layers = 6;
    cfg.d_model = 64;
    cfg.n_heads = 4;
    let (model, _) = tiny_model(&cfg, DType::F32, 2);
    let (ids, _) = tiny_batch();
    let sq = mean_sq_norms(&model.hidden_states(&ids).unwrap().entering);
    assert!(sq[6] > 1.5 * sq[0], "squared norms by layer: {sq:?}");
    // Post-LN of the same size: every state after a block is LayerNorm'd (gain 1, bias 0), so
    // its squared norm is d at every layer.
    cfg.arch = Arch::PostLn;
    let (post, _) = tiny_model(&cfg, DType::F32, 2);
    let sq = mean_sq_norms(&post.hidden_states(&ids).unwrap().entering);
    for (l, &norm_sq) in sq.iter().enumerate().skip(1) {
        assert!(
            (norm_sq / 64.0 - 1.0).abs() < 1e-3,
            "Post-LN layer {l}: {norm_sq}"
        );
    }
}

#[test]
fn the_model_is_causal() {
    for arch in Arch::ALL {
        let (model, _) = tiny_model(&tiny_model_config(arch), DType::F32, 4);
        let a = Tensor::new(&[[1u32, 2, 3, 4, 5, 6]], &Device::Cpu).unwrap();
        let b = Tensor::new(&[[1u32, 2, 3, 4, 9, 10]], &Device::Cpu).unwrap();
        let la: Vec<Vec<f32>> = model.forward(&a).unwrap().to_vec2().unwrap();
        let lb: Vec<Vec<f32>> = model.forward(&b).unwrap().to_vec2().unwrap();
        for t in 0..4 {
            assert_eq!(la[t], lb[t], "{arch:?}: position {t} saw the future");
        }
        assert_ne!(la[4], lb[4]);
    }
}

#[test]
fn embedding_scale_gives_unit_variance_inputs() {
    // tok_emb ~ N(0, 1/d), times sqrt(d): E||x||^2 = d (+ d/2 from the sinusoids).
    let mut cfg = tiny_model_config(Arch::PreLn);
    cfg.d_model = 64;
    cfg.n_heads = 4;
    let (model, store) = tiny_model(&cfg, DType::F32, 5);
    let emb = store.get("tok_emb.weight").unwrap();
    let row_sq: f32 = emb
        .sqr()
        .unwrap()
        .sum(1)
        .unwrap()
        .mean_all()
        .unwrap()
        .to_scalar()
        .unwrap();
    assert!(
        (row_sq - 1.0).abs() < 0.2,
        "||E_i||^2 = {row_sq}, expected ~1"
    );
    let (ids, _) = tiny_batch();
    let kept = model.hidden_states(&ids).unwrap().entering;
    let input_sq: f32 = kept[0]
        .sqr()
        .unwrap()
        .sum(1)
        .unwrap()
        .mean_all()
        .unwrap()
        .to_scalar()
        .unwrap();
    assert!(
        (input_sq / 64.0 - 1.5).abs() < 0.3,
        "input ||x||^2 / d = {}",
        input_sq / 64.0
    );
}

#[test]
fn same_seed_same_weights_other_seed_other_weights() {
    let cfg = tiny_model_config(Arch::PostLn);
    let values = |seed| -> Vec<f32> {
        let (_, store) = tiny_model(&cfg, DType::F32, seed);
        store
            .get("blocks.1.ffn.w2.weight")
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap()
    };
    assert_eq!(values(9), values(9));
    assert_ne!(values(9), values(10));
}

#[test]
fn xavier_bound_holds() {
    let (_, store) = tiny_model(&tiny_model_config(Arch::PreLn), DType::F32, 6);
    let w: Vec<f32> = store
        .get("blocks.0.ffn.w1.weight")
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let bound = (6.0f32 / (16.0 + 24.0)).sqrt();
    assert!(w.iter().all(|x| x.abs() <= bound));
    let var = w.iter().map(|x| x * x).sum::<f32>() / w.len() as f32;
    assert!(
        (var / (2.0 / 40.0) - 1.0).abs() < 0.25,
        "Xavier variance 2/(fan_in+fan_out), got {var}"
    );
}

#[test]
fn learned_positions_add_a_parameter() {
    let mut cfg = tiny_model_config(Arch::PreLn);
    cfg.positions = Positions::Learned;
    let (_, store) = tiny_model(&cfg, DType::F32, 0);
    assert_eq!(store.get("pos_emb.weight").unwrap().dims(), &[8, 16]);
}

/// Norms of each kind, by parameter: RMSNorm has a gain only, DyT a gain, bias and scalar a,
/// Peri-LN four norms per block, ReZero none (two scalars instead), Admin two ω vectors.
#[test]
fn each_variant_has_the_parameters_of_its_formula() {
    let has = |arch, name: &str| names(arch).iter().any(|n| n == name);
    assert!(
        has(Arch::PreRmsnorm, "blocks.0.ln_attn.weight")
            && !has(Arch::PreRmsnorm, "blocks.0.ln_attn.bias")
    );
    assert!(has(Arch::PreRmsnorm, "final_ln.weight"));
    for p in ["weight", "bias", "alpha"] {
        assert!(
            has(Arch::Dyt, &format!("blocks.1.ln_ffn.{p}"))
                && has(Arch::Dyt, &format!("final_ln.{p}"))
        );
    }
    assert!(
        has(Arch::PeriLn, "blocks.0.ln_attn_out.weight")
            && has(Arch::PeriLn, "blocks.1.ln_ffn_out.bias")
    );
    assert!(has(Arch::PeriLn, "final_ln.weight"));
    assert!(!names(Arch::Rezero).iter().any(|n| n.contains("ln")));
    assert!(has(Arch::Rezero, "blocks.0.alpha_attn") && has(Arch::Rezero, "blocks.1.alpha_ffn"));
    assert!(has(Arch::Admin, "blocks.1.omega_ffn") && !has(Arch::Admin, "final_ln.weight"));
    for arch in [Arch::Deepnorm, Arch::B2t] {
        assert_eq!(
            names(arch),
            names(Arch::PostLn),
            "{arch:?}: Post-LN's parameters"
        );
    }
}

/// ReZero at init is the identity in every block (α = 0): the logits are those of the
/// embeddings alone, whatever the sub-layer weights.
#[test]
fn rezero_blocks_are_the_identity_at_init() {
    let (ids, _) = tiny_batch();
    let (model, store) = tiny_model(&tiny_model_config(Arch::Rezero), DType::F64, 4);
    let probe = model.hidden_states(&ids).unwrap();
    let first: Vec<f64> = probe.entering[0].flatten_all().unwrap().to_vec1().unwrap();
    let last: Vec<f64> = probe.entering[2].flatten_all().unwrap().to_vec1().unwrap();
    assert_eq!(first, last);
    assert_eq!(
        store
            .get("blocks.1.alpha_ffn")
            .unwrap()
            .to_vec1::<f64>()
            .unwrap(),
        vec![0.0]
    );
}

/// DeepNorm: shortcut scale α = (2N)^(1/4); FFN, V and out weights drawn with gain β = (8N)^(-1/4)
/// (the same draws as Post-LN's, scaled), Q and K with gain 1.
#[test]
fn deepnorm_constants_and_init_gains() {
    use lnwarm::model::variants::{deepnorm_alpha, deepnorm_beta};
    assert!((deepnorm_alpha(6) - 12f64.powf(0.25)).abs() < 1e-12);
    assert!((deepnorm_beta(6) - 48f64.powf(-0.25)).abs() < 1e-12);
    let cfg = tiny_model_config(Arch::Deepnorm);
    let (_, deep) = tiny_model(&cfg, DType::F64, 9);
    let (_, post) = tiny_model(&tiny_model_config(Arch::PostLn), DType::F64, 9);
    let beta = deepnorm_beta(cfg.n_layers);
    let values = |store: &lnwarm::model::ParamStore, n: &str| -> Vec<f64> {
        store
            .get(n)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap()
    };
    for (name, gain) in [
        ("blocks.0.attn.q.weight", 1.0),
        ("blocks.1.attn.k.weight", 1.0),
        ("blocks.0.attn.v.weight", beta),
        ("blocks.1.attn.out.weight", beta),
        ("blocks.0.ffn.w1.weight", beta),
        ("blocks.1.ffn.w2.weight", beta),
    ] {
        for (d, p) in values(&deep, name).iter().zip(values(&post, name)) {
            assert!(
                (d - p * gain).abs() < 1e-6 * p.abs().max(1e-3),
                "{name}: {d} vs {p} x {gain}"
            );
        }
    }
}

/// Admin's profiling: ω of the first sub-layer is 1, and each later ω² adds the variance of one
/// more sub-layer output, so the ω grow along the stack.
#[test]
fn admin_profiling_sets_growing_omegas() {
    let (ids, _) = tiny_batch();
    let (model, store) = tiny_model(&tiny_model_config(Arch::Admin), DType::F64, 2);
    model.admin_profile(&store, &ids).unwrap();
    let omega = |n: &str| store.get(n).unwrap().to_vec1::<f64>().unwrap();
    let order = [
        "blocks.0.omega_attn",
        "blocks.0.omega_ffn",
        "blocks.1.omega_attn",
        "blocks.1.omega_ffn",
    ];
    let firsts: Vec<f64> = order.iter().map(|n| omega(n)[0]).collect();
    assert_eq!(firsts[0], 1.0);
    for w in firsts.windows(2) {
        assert!(w[1] > w[0], "{firsts:?}");
    }
    for n in order {
        let v = omega(n);
        assert!(
            v.iter().all(|x| *x == v[0]),
            "{n}: one value for all d entries"
        );
    }
    // Not profiled, not changed: every other architecture ignores the call.
    let (post, post_store) = tiny_model(&tiny_model_config(Arch::PostLn), DType::F64, 2);
    let before = names(Arch::PostLn).len();
    post.admin_profile(&post_store, &ids).unwrap();
    assert_eq!(post_store.named_vars().len(), before);
}

/// The fused RMSNorm and DyT kernels equal their composite forms (values and gradients).
#[test]
fn fused_rms_norm_and_dyt_equal_the_composite_ops() {
    use lnwarm::model::norms::{DyT, RmsNorm};
    let dev = candle_core::Device::Cpu;
    let mut store = lnwarm::model::ParamStore::with_dtype(1, &dev, DType::F64);
    let rms = RmsNorm::new(&mut store, "rms", 24, 1e-5).unwrap();
    let dyt = DyT::new(&mut store, "dyt", 24, 0.7).unwrap();
    for (name, var) in store.named_vars() {
        let n = var.elem_count();
        let v: Vec<f64> = (0..n)
            .map(|i| 0.6 + (i as f64 * 0.37 + name.len() as f64).sin() * 0.5)
            .collect();
        var.set(&Tensor::from_vec(v, n, &dev).unwrap()).unwrap();
    }
    let x = candle_core::Var::from_tensor(
        &Tensor::from_vec(
            (0..150 * 24)
                .map(|i| ((i * 7919) % 101) as f64 / 17.0 - 3.0)
                .collect::<Vec<_>>(),
            (150, 24),
            &dev,
        )
        .unwrap(),
    )
    .unwrap();
    let w = Tensor::from_vec(
        (0..150 * 24)
            .map(|i| ((i * 31) % 13) as f64 / 5.0 - 1.2)
            .collect::<Vec<_>>(),
        (150, 24),
        &dev,
    )
    .unwrap();
    type F<'a> = &'a dyn Fn(&Tensor) -> lnwarm::Result<Tensor>;
    let pairs: [(F, F); 2] = [
        (&|t| rms.forward(t), &|t| rms.forward_composite(t)),
        (&|t| dyt.forward(t), &|t| dyt.forward_composite(t)),
    ];
    for (fused, composite) in pairs {
        let run = |f: F| {
            let y = f(x.as_tensor()).unwrap();
            let grads = (&y * &w).unwrap().sum_all().unwrap().backward().unwrap();
            let mut all: Vec<f64> = y.flatten_all().unwrap().to_vec1().unwrap();
            all.extend(
                grads
                    .get(&x)
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1::<f64>()
                    .unwrap(),
            );
            for (_, var) in store.named_vars() {
                if let Some(g) = grads.get(var) {
                    all.extend(g.flatten_all().unwrap().to_vec1::<f64>().unwrap());
                }
            }
            all
        };
        let (a, b) = (run(fused), run(composite));
        assert_eq!(a.len(), b.len());
        for (u, v) in a.iter().zip(&b) {
            assert!((u - v).abs() <= 1e-10 * (1.0 + v.abs()), "{u} vs {v}");
        }
    }
}
