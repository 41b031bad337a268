//! Hessian-vector products of the training loss without second derivatives (candle has no
//! double backward, huggingface/candle#2462): central differences of gradients,
//! Hv ≈ (g(w + εv) − g(w − εv)) / 2ε, error O(ε²), computed on an f64 copy of the model
//! (`Shadow`) so that the difference is not lost in f32 rounding.
//!
//! The step: ε = `REL_STEP` · (1 + ‖w‖∞) / ‖v‖₂, so the weights move by ~1e-6 in the 2-norm
//! whatever the direction's scale. Far below the ε_mach^(1/3) rule of thumb on purpose: with
//! ReLU the loss is piecewise quadratic and along the top eigenvector the nearest kink can be
//! 1e-5 to 1e-3 away on a small batch; measured on lnwarm-sized models in f64
//! (shared/why-warmup.md), steps near 1e-3 gave errors up to 190 % while 1e-5..1e-7 stayed
//! below 5e-9. In f64 the rounding of the difference at this ε is ~1e-9 relative.
//! `tests/probes.rs` checks the products against a Hessian formed column by column.
//!
//! ReLU: the gradient jumps where a pre-activation crosses 0, and a difference across such a
//! kink reads the jump as enormous curvature (measured on the paper-cpu Post-LN at init: the
//! Rayleigh quotient along Lanczos' top vector went from −5 to 1.4e4 as the step went from 1e-3
//! to 1e-7). The shadow model therefore holds the ReLU activation pattern of the synced weights
//! fixed (`layers::ReluPattern`): the products are those of the almost-everywhere Hessian that
//! double backpropagation computes in PyTorch.

use crate::config::RunConfig;
use crate::error::Result;
use crate::model::{ParamStore, Transformer};
use candle_core::{DType, Tensor};

/// ‖εv‖₂ relative to 1 + ‖w‖∞.
pub const REL_STEP: f64 = 1e-6;

/// Hv by central differences of `grad` at `w` (flat vectors).
pub fn central_difference_hvp(
    mut grad: impl FnMut(&[f64]) -> Result<Vec<f64>>,
    w: &[f64],
    v: &[f64],
) -> Result<Vec<f64>> {
    let eps = step_size(w, v);
    if eps == 0.0 {
        return Ok(vec![0.0; v.len()]);
    }
    let shifted = |sign: f64| -> Vec<f64> {
        w.iter()
            .zip(v)
            .map(|(wi, vi)| wi + sign * eps * vi)
            .collect()
    };
    let plus = grad(&shifted(1.0))?;
    let minus = grad(&shifted(-1.0))?;
    Ok(plus
        .iter()
        .zip(&minus)
        .map(|(p, m)| (p - m) / (2.0 * eps))
        .collect())
}

/// ε for direction `v` at `w` (0 for a zero direction).
pub fn step_size(w: &[f64], v: &[f64]) -> f64 {
    let v_norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    if v_norm == 0.0 {
        return 0.0;
    }
    let w_max = w.iter().fold(0f64, |m, x| m.max(x.abs()));
    REL_STEP * (1.0 + w_max) / v_norm
}

/// An f64 copy of a model and one fixed batch: the loss, its gradient and Hessian-vector
/// products at any point of weight space, leaving the trained (f32) model untouched.
pub struct Shadow {
    store: ParamStore,
    model: Transformer,
    /// The weights the products are taken at (flat, store order).
    base: Vec<f64>,
    shapes: Vec<Vec<usize>>,
    batch: (Tensor, Tensor),
}

impl Shadow {
    /// A model of `cfg`'s shape in f64 on the device of `batch`, weights to be set by `sync`.
    pub fn new(cfg: &RunConfig, vocab: usize, batch: (Tensor, Tensor)) -> Result<Self> {
        let device = batch.0.device().clone();
        let mut store = ParamStore::with_dtype(cfg.train.seed, &device, DType::F64);
        let model = Transformer::new(&cfg.model, vocab, cfg.data.seq_len, &mut store)?;
        let shapes = store
            .named_vars()
            .iter()
            .map(|(_, v)| v.dims().to_vec())
            .collect();
        Ok(Self {
            store,
            model,
            base: Vec::new(),
            shapes,
            batch,
        })
    }

    /// Take the products at the weights of `from` (the trained model, any float dtype), with
    /// the ReLU activation pattern held at theirs (`layers::ReluPattern`).
    pub fn sync(&mut self, from: &ParamStore) -> Result<()> {
        self.base = flatten(from.named_vars().iter().map(|(_, v)| v.as_tensor()))?;
        self.set(&self.base.clone())?;
        self.model.fix_relu_patterns(None)?;
        self.model.fix_relu_patterns(Some(&self.batch.0))
    }

    /// Let the ReLUs switch again (products across kinks: only to show why they are held).
    pub fn free_relu_patterns(&self) -> Result<()> {
        self.model.fix_relu_patterns(None)
    }

    /// Number of scalar parameters.
    pub fn len(&self) -> usize {
        self.base.len()
    }

    pub fn is_empty(&self) -> bool {
        self.base.is_empty()
    }

    /// The weights the products are taken at.
    pub fn weights(&self) -> &[f64] {
        &self.base
    }

    /// Loss and flat gradient at the flat weights `w`.
    pub fn loss_and_grad(&self, w: &[f64]) -> Result<(f64, Vec<f64>)> {
        self.set(w)?;
        // The objective the optimizer descends (with `--z-loss`, its term too).
        let loss = self.model.objective(&self.batch.0, &self.batch.1)?.0;
        let grads = loss.backward()?;
        let flat = self.store.named_vars().iter().map(|(name, var)| {
            grads.get(var).cloned().ok_or_else(|| {
                crate::error::Error::Internal(format!("parameter {name} received no gradient"))
            })
        });
        let flat = flat.collect::<Result<Vec<_>>>()?;
        Ok((loss.to_scalar::<f64>()?, flatten(flat.iter())?))
    }

    /// H v at the synced weights.
    pub fn hvp(&self, v: &[f64]) -> Result<Vec<f64>> {
        central_difference_hvp(|w| Ok(self.loss_and_grad(w)?.1), &self.base, v)
    }

    fn set(&self, w: &[f64]) -> Result<()> {
        let mut at = 0;
        for ((_, var), shape) in self.store.named_vars().iter().zip(&self.shapes) {
            let n: usize = shape.iter().product();
            let t = Tensor::from_slice(&w[at..at + n], shape.as_slice(), var.device())?;
            var.set(&t)?;
            at += n;
        }
        Ok(())
    }
}

/// Concatenate tensors into one f64 vector (store order, row-major).
pub fn flatten<'a>(tensors: impl Iterator<Item = &'a Tensor>) -> Result<Vec<f64>> {
    let mut out = Vec::new();
    for t in tensors {
        out.extend(t.flatten_all()?.to_dtype(DType::F64)?.to_vec1::<f64>()?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// f(w) = Σ_i c_i w_i⁴ / 12 + ½ wᵀ A w: Hessian diag(c_i w_i²) + A, exactly.
    #[test]
    fn products_match_a_known_hessian() {
        let n = 5;
        let c: Vec<f64> = (0..n).map(|i| 0.5 + i as f64).collect();
        let a: Vec<f64> = (0..n * n)
            .map(|k| {
                let (i, j) = (k / n, k % n);
                1.0 / (1.0 + i as f64 + j as f64)
            })
            .collect();
        let grad = |w: &[f64]| -> Result<Vec<f64>> {
            Ok((0..n)
                .map(|i| {
                    c[i] * w[i].powi(3) / 3.0 + (0..n).map(|j| a[i * n + j] * w[j]).sum::<f64>()
                })
                .collect())
        };
        let w = [0.3, -1.2, 2.0, 0.7, -0.05];
        let v = [1.0, 0.5, -0.25, 2.0, -1.0];
        let hv = central_difference_hvp(grad, &w, &v).unwrap();
        for i in 0..n {
            let exact =
                c[i] * w[i] * w[i] * v[i] + (0..n).map(|j| a[i * n + j] * v[j]).sum::<f64>();
            assert!(
                (hv[i] - exact).abs() < 1e-7 * (1.0 + exact.abs()),
                "{i}: {} vs {exact}",
                hv[i]
            );
        }
    }

    #[test]
    fn a_zero_direction_gives_zero() {
        let hv = central_difference_hvp(|w| Ok(w.to_vec()), &[1.0, 2.0], &[0.0, 0.0]).unwrap();
        assert_eq!(hv, vec![0.0, 0.0]);
    }
}
