//! Fused CPU kernels with real backward passes, as candle CustomOps: LayerNorm over the last
//! dimension. One pass per row (rayon-parallel) instead of nine element-wise tensor ops, and the
//! gain/bias gradients reduced in parallel chunks instead of candle's single-threaded sums.
//!
//! Forward: y = (x - mean) * rstd * gamma + beta, rstd = 1 / sqrt(var + eps), biased variance.
//! Backward (g = dL/dy, xhat = (x - mean) * rstd, gx = g * gamma):
//!   dx = rstd * (gx - mean(gx) - xhat * mean(gx * xhat)),  dgamma = sum_rows g * xhat,
//!   dbeta = sum_rows g. Checked against the composite LayerNorm and by finite differences.
//! CPU only: on other devices `LayerNorm` uses the composite (differentiable) ops.

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp3, DType, Layout, Result, Shape, Tensor};
use num_traits::Float;
use rayon::prelude::*;

/// Rows per rayon task in the gain/bias reduction.
const ROWS_PER_CHUNK: usize = 64;

/// Run a kernel generic over the float type on f32 or f64 storage: `by_dtype!(dtype, name, T => expr)`.
macro_rules! by_dtype {
    ($dtype:expr, $name:expr, $t:ident => $body:expr) => {
        match $dtype {
            DType::F32 => {
                type $t = f32;
                CpuStorage::F32($body)
            }
            DType::F64 => {
                type $t = f64;
                CpuStorage::F64($body)
            }
            other => candle_core::bail!("{}: unsupported dtype {other:?}", $name),
        }
    };
}
pub(super) use by_dtype;

/// Fused LayerNorm of a (N, d) tensor with gain and bias of length d.
pub fn layer_norm(xs: &Tensor, gamma: &Tensor, beta: &Tensor, eps: f64) -> Result<Tensor> {
    xs.contiguous()?.apply_op3(
        &gamma.contiguous()?,
        &beta.contiguous()?,
        LayerNormOp { eps },
    )
}

struct LayerNormOp {
    eps: f64,
}

/// The backward kernel: inputs x, gamma, dy; output packed as [dx (N*d), dgamma (d), dbeta (d)].
struct LayerNormBwdOp {
    eps: f64,
}

/// The elements of a contiguous CPU tensor (the fused kernels make their inputs contiguous).
pub(super) fn contiguous_slice<'a, T: candle_core::WithDType>(
    s: &'a CpuStorage,
    l: &Layout,
) -> Result<&'a [T]> {
    let data = s.as_slice::<T>()?;
    match l.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => candle_core::bail!("fused kernels need contiguous inputs"),
    }
}

/// (mean, rstd) of one row.
fn stats<T: Float>(row: &[T], eps: f64) -> (T, T) {
    let n = T::from(row.len()).unwrap_or(T::one());
    let mean = row.iter().fold(T::zero(), |a, &v| a + v) / n;
    let var = row
        .iter()
        .fold(T::zero(), |a, &v| a + (v - mean) * (v - mean))
        / n;
    (
        mean,
        (var + T::from(eps).unwrap_or(T::zero())).sqrt().recip(),
    )
}

fn forward<T: Float + Send + Sync>(x: &[T], gamma: &[T], beta: &[T], eps: f64) -> Vec<T> {
    let d = gamma.len();
    let mut y = vec![T::zero(); x.len()];
    y.par_chunks_mut(d)
        .zip(x.par_chunks(d))
        .for_each(|(out, row)| {
            let (mean, rstd) = stats(row, eps);
            for i in 0..d {
                out[i] = (row[i] - mean) * rstd * gamma[i] + beta[i];
            }
        });
    y
}

fn backward<T: Float + Send + Sync>(x: &[T], gamma: &[T], dy: &[T], eps: f64) -> Vec<T> {
    let d = gamma.len();
    let n_rows = x.len() / d;
    let mut out = vec![T::zero(); x.len() + 2 * d];
    let (dx, _) = out.split_at_mut(x.len());
    let dn = T::from(d).unwrap_or(T::one());
    dx.par_chunks_mut(d)
        .zip(x.par_chunks(d))
        .zip(dy.par_chunks(d))
        .for_each(|((dx_row, row), g)| {
            let (mean, rstd) = stats(row, eps);
            let (mut sum_gx, mut sum_gx_xhat) = (T::zero(), T::zero());
            for i in 0..d {
                let gx = g[i] * gamma[i];
                sum_gx = sum_gx + gx;
                sum_gx_xhat = sum_gx_xhat + gx * (row[i] - mean) * rstd;
            }
            let (mean_gx, mean_gx_xhat) = (sum_gx / dn, sum_gx_xhat / dn);
            for i in 0..d {
                let xhat = (row[i] - mean) * rstd;
                dx_row[i] = rstd * (g[i] * gamma[i] - mean_gx - xhat * mean_gx_xhat);
            }
        });
    // dgamma, dbeta: per-chunk partial sums in parallel, then one reduction.
    let chunk = ROWS_PER_CHUNK * d;
    let partial = x
        .par_chunks(chunk)
        .zip(dy.par_chunks(chunk))
        .map(|(xs, gs)| {
            let mut acc = vec![T::zero(); 2 * d];
            for (row, g) in xs.chunks(d).zip(gs.chunks(d)) {
                let (mean, rstd) = stats(row, eps);
                for i in 0..d {
                    acc[i] = acc[i] + g[i] * (row[i] - mean) * rstd;
                    acc[d + i] = acc[d + i] + g[i];
                }
            }
            acc
        })
        .reduce(
            || vec![T::zero(); 2 * d],
            |a, b| a.iter().zip(&b).map(|(&u, &v)| u + v).collect(),
        );
    let _ = n_rows;
    out[x.len()..].copy_from_slice(&partial);
    out
}

impl CustomOp3 for LayerNormOp {
    fn name(&self) -> &'static str {
        "lnwarm-layer-norm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let out = by_dtype!(s1.dtype(), self.name(), T => forward(contiguous_slice::<T>(s1, l1)?, contiguous_slice(s2, l2)?, contiguous_slice(s3, l3)?, self.eps));
        Ok((out, l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        _beta: &Tensor,
        _y: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let d = gamma.elem_count();
        let n = x.elem_count();
        let packed = x.apply_op3(gamma, &dy.contiguous()?, LayerNormBwdOp { eps: self.eps })?;
        let dx = packed.narrow(0, 0, n)?.reshape(x.shape())?;
        let dgamma = packed.narrow(0, n, d)?;
        let dbeta = packed.narrow(0, n + d, d)?;
        Ok((Some(dx), Some(dgamma), Some(dbeta)))
    }
}

impl CustomOp3 for LayerNormBwdOp {
    fn name(&self) -> &'static str {
        "lnwarm-layer-norm-bwd"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let len = l1.shape().elem_count() + 2 * l2.shape().elem_count();
        let out = by_dtype!(s1.dtype(), self.name(), T => backward(contiguous_slice::<T>(s1, l1)?, contiguous_slice(s2, l2)?, contiguous_slice(s3, l3)?, self.eps));
        Ok((out, Shape::from(len)))
    }
}
