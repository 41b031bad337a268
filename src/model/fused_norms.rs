//! Fused CPU kernels, with backward, for RMSNorm and DyT over the last dimension (see
//! `model::norms` for the formulas and the composite references). Rows run in parallel chunks;
//! parameter gradients are summed per fixed chunk and added in a fixed order
//! (`fused::sum_in_order`), so they do not depend on the thread schedule.
//!
//! RMSNorm, r = 1/sqrt(mean(x²) + ε), x̂ = x·r, gx = dy ⊙ g:
//!   dx = r·(gx − x̂·mean(gx ⊙ x̂)),  dg = Σ_rows dy ⊙ x̂.
//! DyT, t = tanh(a·x), s = γ ⊙ (1 − t²) ⊙ dy:
//!   dx = a·s,  dγ = Σ_rows dy ⊙ t,  dβ = Σ_rows dy,  da = Σ_all s ⊙ x.
//!
//! tanh in f32 is a rational approximation that vectorises (Eigen's `generic_fast_tanh_float`:
//! odd degree-13 over even degree-6 polynomial, input clamped to ±7.9053; within 4e-7 of the
//! exact value, a test checks it); libm's `tanhf` made DyT 28% slower than Pre-LN. f64 (the
//! finite-difference and fused-vs-composite tests) uses the exact `tanh`.

use super::fused::{by_dtype, contiguous_slice, sum_in_order};
use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp2, CustomOp3, DType, Layout, Result, Shape, Tensor};
use multiversion::multiversion;
use num_traits::Float;
use rayon::prelude::*;

/// Rows per rayon task.
const ROWS_PER_CHUNK: usize = 64;

/// Fused RMSNorm of a (N, d) tensor with gain g (d).
pub fn rms_norm(xs: &Tensor, gain: &Tensor, eps: f64) -> Result<Tensor> {
    xs.contiguous()?.apply_op2(
        &gain.contiguous()?,
        RowOp {
            kind: Kind::Rms { eps },
        },
    )
}

/// Fused DyT of a (N, d) tensor: γ (d), β (d), a (1). The three parameters travel as one packed
/// tensor [γ | β | a] (candle's custom ops take at most three inputs); `cat` routes their
/// gradients back.
pub fn dyt(xs: &Tensor, gamma: &Tensor, beta: &Tensor, alpha: &Tensor) -> Result<Tensor> {
    let packed = Tensor::cat(&[gamma, beta, alpha], 0)?;
    xs.contiguous()?
        .apply_op2(&packed, RowOp { kind: Kind::Tanh })
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Rms { eps: f64 },
    Tanh,
}

/// Forward of either kind: inputs x (N, d) and the parameters.
struct RowOp {
    kind: Kind,
}

/// Backward: inputs x, params and dy (no copy of dy into a packed input); output packed
/// [dx (N*d) | dparams].
struct RowBwdOp {
    kind: Kind,
}

fn forward<T: Float + Send + Sync>(x: &[T], params: &[T], kind: Kind) -> Vec<T> {
    let d = row_width(kind, params.len());
    let mut y = vec![T::zero(); x.len()];
    y.par_chunks_mut(ROWS_PER_CHUNK * d)
        .zip(x.par_chunks(ROWS_PER_CHUNK * d))
        .for_each(|(out, xs)| {
            for (o, row) in out.chunks_exact_mut(d).zip(xs.chunks_exact(d)) {
                forward_row(row, o, params, kind);
            }
        });
    y
}

/// d from the parameter count: g (d) for RMSNorm, [γ | β | a] (2d + 1) for DyT.
fn row_width(kind: Kind, n_params: usize) -> usize {
    match kind {
        Kind::Rms { .. } => n_params,
        Kind::Tanh => (n_params - 1) / 2,
    }
}

/// tanh: the rational approximation in f32 (see the module doc), the exact one otherwise.
#[inline(always)]
pub fn tanh<T: Float>(x: T) -> T {
    if std::mem::size_of::<T>() != 4 {
        return x.tanh();
    }
    let c = |v: f32| T::from(v).unwrap_or(T::zero());
    let clamp = c(7.905_311);
    let xc = x.min(clamp).max(-clamp);
    let x2 = xc * xc;
    let mut p = x2 * c(-2.760_768_6e-16) + c(2.000_188e-13);
    p = x2 * p + c(-8.604_672e-11);
    p = x2 * p + c(5.122_297e-8);
    p = x2 * p + c(1.485_722_4e-5);
    p = x2 * p + c(6.372_619_5e-4);
    p = x2 * p + c(4.893_524_6e-3);
    p = xc * p;
    let mut q = x2 * c(1.198_258_4e-6) + c(1.185_347_1e-4);
    q = x2 * q + c(2.268_434_5e-3);
    q = x2 * q + c(4.893_525e-3);
    if x.abs() < c(4e-4) {
        x
    } else {
        p / q
    }
}

#[multiversion(targets = "simd")]
fn forward_row<T: Float>(row: &[T], out: &mut [T], params: &[T], kind: Kind) {
    let d = row.len();
    match kind {
        Kind::Rms { eps } => {
            let r = rms_recip(row, eps);
            for ((o, &v), &g) in out.iter_mut().zip(row).zip(params) {
                *o = v * r * g;
            }
        }
        Kind::Tanh => {
            let (gamma, rest) = params.split_at(d);
            let (beta, a) = (&rest[..d], rest[d]);
            for (((o, &v), &g), &b) in out.iter_mut().zip(row).zip(gamma).zip(beta) {
                *o = g * tanh(a * v) + b;
            }
        }
    }
}

/// 1 / sqrt(mean(x²) + eps).
fn rms_recip<T: Float>(row: &[T], eps: f64) -> T {
    let n = T::from(row.len()).unwrap_or(T::one());
    let eps = T::from(eps).unwrap_or(T::zero());
    (super::lanes::dot(row, row) / n + eps).sqrt().recip()
}

/// dx of one row into `dx`; parameter gradients added into `acc`.
#[multiversion(targets = "simd")]
fn backward_row<T: Float>(
    row: &[T],
    dy: &[T],
    dx: &mut [T],
    params: &[T],
    kind: Kind,
    acc: &mut [T],
) {
    let d = row.len();
    match kind {
        Kind::Rms { eps } => {
            let r = rms_recip(row, eps);
            let n = T::from(d).unwrap_or(T::one());
            let mut mean_gx_xhat = T::zero();
            for ((&v, &g), &w) in row.iter().zip(dy).zip(params) {
                mean_gx_xhat = mean_gx_xhat + g * w * v * r;
            }
            mean_gx_xhat = mean_gx_xhat / n;
            for (i, ((&v, &g), &w)) in row.iter().zip(dy).zip(params).enumerate() {
                let xhat = v * r;
                dx[i] = r * (g * w - xhat * mean_gx_xhat);
                acc[i] = acc[i] + g * xhat;
            }
        }
        Kind::Tanh => {
            let (gamma, rest) = params.split_at(d);
            let a = rest[d];
            let mut da = T::zero();
            for (i, ((&v, &g), &w)) in row.iter().zip(dy).zip(gamma).enumerate() {
                let t = tanh(a * v);
                let s = w * (T::one() - t * t) * g;
                dx[i] = a * s;
                acc[i] = acc[i] + g * t;
                acc[d + i] = acc[d + i] + g;
                da = da + s * v;
            }
            acc[2 * d] = acc[2 * d] + da;
        }
    }
}

fn backward<T: Float + Send + Sync>(x: &[T], params: &[T], dy: &[T], kind: Kind) -> Vec<T> {
    let d = row_width(kind, params.len());
    let chunk = ROWS_PER_CHUNK * d;
    let mut out = vec![T::zero(); x.len() + params.len()];
    let (dx, _) = out.split_at_mut(x.len());
    let partials = dx
        .par_chunks_mut(chunk)
        .zip(x.par_chunks(chunk))
        .zip(dy.par_chunks(chunk))
        .map(|((dx, xs), gs)| {
            let mut acc = vec![T::zero(); params.len()];
            for ((dxr, row), g) in dx
                .chunks_exact_mut(d)
                .zip(xs.chunks_exact(d))
                .zip(gs.chunks_exact(d))
            {
                backward_row(row, g, dxr, params, kind, &mut acc);
            }
            acc
        })
        .collect::<Vec<_>>();
    out[x.len()..].copy_from_slice(&sum_in_order(partials, params.len()));
    out
}

impl CustomOp2 for RowOp {
    fn name(&self) -> &'static str {
        match self.kind {
            Kind::Rms { .. } => "lnwarm-rms-norm",
            Kind::Tanh => "lnwarm-dyt",
        }
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let out = by_dtype!(s1.dtype(), self.name(), T => forward(contiguous_slice::<T>(s1, l1)?, contiguous_slice(s2, l2)?, self.kind));
        Ok((out, l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        params: &Tensor,
        _y: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (n, p) = (x.elem_count(), params.elem_count());
        let bwd = RowBwdOp { kind: self.kind };
        let packed = x.apply_op3(params, &dy.contiguous()?, bwd)?;
        let dx = packed.narrow(0, 0, n)?.reshape(x.shape())?;
        let dparams = packed.narrow(0, n, p)?;
        Ok((Some(dx), Some(dparams)))
    }
}

impl CustomOp3 for RowBwdOp {
    fn name(&self) -> &'static str {
        "lnwarm-row-norm-bwd"
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
        let len = l1.shape().elem_count() + l2.shape().elem_count();
        let out = by_dtype!(s1.dtype(), self.name(), T => backward(contiguous_slice::<T>(s1, l1)?, contiguous_slice(s2, l2)?, contiguous_slice(s3, l3)?, self.kind));
        Ok((out, Shape::from(len)))
    }
}

#[cfg(test)]
mod tests {
    /// The f32 approximation stays within 4e-7 (3 f32 ulp near ±1) of the exact tanh, and is odd.
    #[test]
    fn fast_tanh_is_within_4e_7_of_tanh() {
        let mut worst = 0f64;
        for i in -200_000..=200_000 {
            let x = i as f32 * 6e-5; // [-12, 12]
            let fast = super::tanh(x) as f64;
            worst = worst.max((fast - (x as f64).tanh()).abs());
            assert_eq!(super::tanh(-x), -super::tanh(x));
        }
        assert!(worst < 4e-7, "max error {worst}");
        assert_eq!(super::tanh(1.5f64), 1.5f64.tanh());
    }
}
