//! The `units` probe (issue 32's dead-unit account): per block, the fraction of FFN hidden
//! units whose pre-activation x·W1 + b1 is ≤ 0 at every position of the measurement batch. For
//! ReLU such a unit passes no gradient to its W1 row on that batch ("dead" if it stays so); for
//! GELU the same units still pass a small gradient (GELU is the intervention on this account),
//! so the quantity is reported for both under one name: inactive, not dead.

use crate::error::Result;
use crate::model::Transformer;
use candle_core::{DType, Tensor};

/// Per block, the fraction of FFN units inactive at every position of the (B, T) inputs `ids`.
pub fn inactive_units(model: &Transformer, ids: &Tensor) -> Result<Vec<f64>> {
    model
        .ffn_activity(ids)?
        .iter()
        .map(|active| {
            // (N, d_ff) 0/1 -> per unit: positions where it was active.
            let counts = active.to_dtype(DType::F64)?.sum(0)?.to_vec1::<f64>()?;
            let inactive = counts.iter().filter(|&&c| c == 0.0).count();
            Ok(inactive as f64 / counts.len().max(1) as f64)
        })
        .collect()
}
