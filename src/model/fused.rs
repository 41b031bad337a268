//! Fused CPU kernels with real backward passes, as candle CustomOps: LayerNorm over the last
//! dimension. One pass per row (rayon-parallel) instead of nine element-wise tensor ops, and the
//! gain/bias gradients reduced in parallel chunks instead of candle's single-threaded sums.
//!
//! Forward: y = (x - mean) * rstd * gamma + beta, rstd = 1 / sqrt(var + eps), biased variance.
//! Backward (g = dL/dy, xhat = (x - mean) * rstd, gx = g * gamma):
//!   dx = rstd * (gx - mean(gx) - xhat * mean(gx * xhat)),  dgamma = sum_rows g * xhat,
//!   dbeta = sum_rows g. Checked against the composite LayerNorm and by finite differences.
//! CPU only: on other devices `LayerNorm` uses the composite (differentiable) ops.

use super::lanes;
use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp3, DType, Layout, Result, Shape, Tensor};
use multiversion::multiversion;
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

/// Writes row - mean into `centered`; returns rstd = 1 / sqrt(var + eps).
#[inline(always)]
fn center<T: Float>(row: &[T], centered: &mut [T], eps: T) -> T {
    let n = T::from(row.len()).unwrap_or(T::one());
    let mean = lanes::sum(row) / n;
    centered
        .iter_mut()
        .zip(row)
        .for_each(|(c, &v)| *c = v - mean);
    (lanes::dot(centered, centered) / n + eps).sqrt().recip()
}

/// LayerNorm of the rows of `x` (a chunk of whole rows) into `out`.
#[multiversion(targets = "simd")]
fn forward_rows<T: Float>(x: &[T], out: &mut [T], gamma: &[T], beta: &[T], eps: T) {
    let d = gamma.len();
    for (o, row) in out.chunks_exact_mut(d).zip(x.chunks_exact(d)) {
        let rstd = center(row, o, eps);
        for ((o, &g), &b) in o.iter_mut().zip(gamma).zip(beta) {
            *o = *o * rstd * g + b;
        }
    }
}

fn forward<T: Float + Send + Sync>(x: &[T], gamma: &[T], beta: &[T], eps: f64) -> Vec<T> {
    let chunk = ROWS_PER_CHUNK * gamma.len();
    let eps = T::from(eps).unwrap_or(T::zero());
    let mut y = vec![T::zero(); x.len()];
    y.par_chunks_mut(chunk)
        .zip(x.par_chunks(chunk))
        .for_each(|(out, xs)| forward_rows(xs, out, gamma, beta, eps));
    y
}

/// dx of the rows of a chunk into `dx`, and that chunk's dgamma, dbeta added into `acc` (2d).
#[multiversion(targets = "simd")]
fn backward_rows<T: Float>(x: &[T], dy: &[T], dx: &mut [T], gamma: &[T], eps: T, acc: &mut [T]) {
    let d = gamma.len();
    let dn = T::from(d).unwrap_or(T::one());
    let (dgamma, dbeta) = acc.split_at_mut(d);
    let mut gx = vec![T::zero(); d];
    let rows = dx.chunks_exact_mut(d).zip(x.chunks_exact(d));
    for ((dx_row, row), g) in rows.zip(dy.chunks_exact(d)) {
        // dx_row holds xhat until the last loop overwrites it with dx.
        let rstd = center(row, dx_row, eps);
        dx_row.iter_mut().for_each(|v| *v = *v * rstd);
        gx.iter_mut()
            .zip(g)
            .zip(gamma)
            .for_each(|((o, &g), &w)| *o = g * w);
        let mean_gx = lanes::sum(&gx) / dn;
        let mean_gx_xhat = lanes::dot(&gx, dx_row) / dn;
        for (((dg, db), &g), &xhat) in dgamma.iter_mut().zip(dbeta.iter_mut()).zip(g).zip(&*dx_row)
        {
            *dg = *dg + g * xhat;
            *db = *db + g;
        }
        for (v, &gx) in dx_row.iter_mut().zip(&gx) {
            *v = rstd * (gx - mean_gx - *v * mean_gx_xhat);
        }
    }
}

/// [dx (N*d) | dgamma (d) | dbeta (d)]: fixed chunks of rows in parallel, each with its own
/// dgamma/dbeta partial sums, added in chunk order at the end (see `sum_in_order`).
fn backward<T: Float + Send + Sync>(x: &[T], gamma: &[T], dy: &[T], eps: f64) -> Vec<T> {
    let d = gamma.len();
    let chunk = ROWS_PER_CHUNK * d;
    let eps = T::from(eps).unwrap_or(T::zero());
    let mut out = vec![T::zero(); x.len() + 2 * d];
    let (dx, _) = out.split_at_mut(x.len());
    let partial = dx
        .par_chunks_mut(chunk)
        .zip(x.par_chunks(chunk))
        .zip(dy.par_chunks(chunk))
        .map(|((dx, xs), gs)| {
            let mut acc = vec![T::zero(); 2 * d];
            backward_rows(xs, gs, dx, gamma, eps, &mut acc);
            acc
        })
        .collect::<Vec<_>>();
    out[x.len()..].copy_from_slice(&sum_in_order(partial, 2 * d));
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

/// The element-wise sum of `partials` in a fixed order: each half (split at n/2) summed from zero
/// in order, then the halves added. rayon's `reduce` combined partials in whatever tree work
/// stealing produced, so gradients differed in the last bits between identical runs (norms by
/// ~4e-8 relative); this order depends on the input length alone, whatever the thread count. It
/// is the tree rayon's `reduce` builds on one thread (one split in the middle, then sequential
/// folds), so results of single-threaded runs, such as every committed study's, are unchanged.
pub(crate) fn sum_in_order<T: Float>(partials: Vec<Vec<T>>, width: usize) -> Vec<T> {
    let add = |mut acc: Vec<T>, part: &Vec<T>| {
        acc.iter_mut().zip(part).for_each(|(a, &v)| *a = *a + v);
        acc
    };
    let fold = |parts: &[Vec<T>]| parts.iter().fold(vec![T::zero(); width], add);
    if partials.len() < 2 {
        return fold(&partials);
    }
    let (left, right) = partials.split_at(partials.len() / 2);
    add(fold(left), &fold(right))
}
