//! Gradient norms per parameter and global-norm clipping.
//!
//! Per-parameter squared norms are reduced on the device and fetched in one transfer (stacking
//! the sums), which keeps logging them at every step cheap.

use crate::error::{Error, Result};
use crate::model::ParamStore;
use candle_core::backprop::GradStore;
use candle_core::Tensor;

/// Frobenius norms of every parameter's gradient, in the store's order, and their global norm.
#[derive(Debug, Clone)]
pub struct GradNorms {
    pub names: Vec<String>,
    pub norms: Vec<f64>,
    pub global: f64,
}

impl GradNorms {
    /// Norms of the gradients in `grads`. A parameter without a gradient is an error: it means the
    /// graph was cut (see the LayerNorm/softmax trap in `model::layers`).
    pub fn compute(store: &ParamStore, grads: &GradStore) -> Result<Self> {
        let mut names = Vec::with_capacity(store.named_vars().len());
        let mut sums = Vec::with_capacity(store.named_vars().len());
        for (name, var) in store.named_vars() {
            let grad = grads.get(var).ok_or_else(|| {
                Error::Internal(format!("parameter {name} received no gradient (graph cut)"))
            })?;
            sums.push(grad.sqr()?.sum_all()?);
            names.push(name.clone());
        }
        let squares = Tensor::stack(&sums, 0)?
            .to_dtype(candle_core::DType::F64)?
            .to_vec1::<f64>()?;
        let global = squares.iter().sum::<f64>().sqrt();
        let norms = squares.into_iter().map(f64::sqrt).collect();
        Ok(Self {
            names,
            norms,
            global,
        })
    }

    pub fn get(&self, name: &str) -> Option<f64> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| self.norms[i])
    }
}

/// Scale every gradient by max_norm / global when global > max_norm (torch's clip_grad_norm_).
/// Returns the factor applied (1.0 when no clipping happened).
pub fn clip_global_norm(
    store: &ParamStore,
    grads: &mut GradStore,
    global: f64,
    max_norm: f64,
) -> Result<f64> {
    if global <= max_norm {
        return Ok(1.0);
    }
    let scale = max_norm / (global + 1e-6);
    for (_, var) in store.named_vars() {
        if let Some(grad) = grads.get(var) {
            let scaled = (grad * scale)?;
            grads.insert(var.as_tensor(), scaled);
        }
    }
    Ok(scale)
}
