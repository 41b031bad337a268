//! Fused affine layer y = act(x W^T + b) as one candle CustomOp with its own backward (CPU).
//!
//! candle's graph for the same layer is three nodes (transpose, matmul, broadcast add), and its
//! backward fills a zero tensor and adds into it for every node input, sums the bias gradient
//! on one thread and copies the output gradient through the add. Here the forward writes the
//! bias rows once and lets the GEMM accumulate onto them; the backward writes
//!   dx = G W,  dW = G^T x,  db = column sums of G     (G = dL/dy, masked by y > 0 for ReLU)
//! straight into one buffer with two GEMMs and a parallel reduction. Checked against the
//! composite ops (`tests/fused.rs`) and by finite differences (`tests/gradients.rs`).

use super::fused::{by_dtype, contiguous_slice};
use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, DType, Layout, Result, Shape, Tensor};
use multiversion::multiversion;
use num_traits::Float;
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Rows per rayon task in the row-wise passes.
const ROWS_PER_TASK: usize = 64;

/// act(x W^T + b) for x (N, in), W (out, in), b (out); act is ReLU when `relu`, else identity.
pub fn linear(xs: &Tensor, weight: &Tensor, bias: &Tensor, relu: bool) -> Result<Tensor> {
    let (rows, n_in) = xs.dims2()?;
    let (n_out, w_in) = weight.dims2()?;
    if w_in != n_in || bias.dims() != [n_out] {
        candle_core::bail!(
            "fused linear: x ({rows}, {n_in}), weight ({n_out}, {w_in}), bias {:?} do not fit",
            bias.dims()
        );
    }
    xs.contiguous()?.apply_op3(
        &weight.contiguous()?,
        &bias.contiguous()?,
        LinearOp { relu },
    )
}

/// GEMM threading as candle's own matmul: all of rayon's threads.
fn parallelism() -> gemm::Parallelism {
    match rayon::current_num_threads() {
        0 | 1 => gemm::Parallelism::None,
        n => gemm::Parallelism::Rayon(n),
    }
}

/// dst (m x n, row-major, row stride n) (+)= lhs · rhs with explicit (row, column) strides.
///
/// SAFETY: every pointer must address its whole operand with the given strides. With
/// `accumulate` false, dst may be uninitialised: gemm 0.19 then sets alpha to 0 and never uses
/// dst's old values (edge tiles are copied to a scratch tile that the alpha = 0 path zeroes
/// before accumulating; `gemm-common/src/{gemm,microkernel}.rs`).
unsafe fn gemm_into<T: Float + 'static>(
    (m, n, k): (usize, usize, usize),
    dst: *mut T,
    accumulate: bool,
    lhs: (*const T, usize, usize),
    rhs: (*const T, usize, usize),
) {
    let one = T::one();
    gemm::gemm(
        m,
        n,
        k,
        dst,
        1,
        n as isize,
        accumulate,
        lhs.0,
        lhs.2 as isize,
        lhs.1 as isize,
        rhs.0,
        rhs.2 as isize,
        rhs.1 as isize,
        one,
        one,
        false,
        false,
        false,
        parallelism(),
    )
}

fn forward<T: Float + Send + Sync + 'static>(x: &[T], w: &[T], b: &[T], relu: bool) -> Vec<T> {
    let n_out = b.len();
    let n_in = w.len() / n_out;
    let rows = x.len() / n_in;
    let mut y = Vec::with_capacity(rows * n_out);
    y.spare_capacity_mut()
        .par_chunks_mut(n_out)
        .for_each(|row: &mut [MaybeUninit<T>]| {
            row.iter_mut().zip(b).for_each(|(o, &v)| {
                o.write(v);
            })
        });
    // SAFETY: every element was written above; the GEMM then adds x W^T onto the bias rows
    // (W^T is W read with swapped strides).
    unsafe {
        y.set_len(rows * n_out);
        let rhs = (w.as_ptr(), 1, n_in);
        gemm_into(
            (rows, n_out, n_in),
            y.as_mut_ptr(),
            true,
            (x.as_ptr(), n_in, 1),
            rhs,
        );
    }
    if relu {
        y.par_chunks_mut(n_out * ROWS_PER_TASK)
            .for_each(relu_in_place);
    }
    y
}

/// [dx (N*in) | dW (out*in) | db (out)] from x (N, in), W (out, in) and G (N, out).
fn backward<T: Float + Send + Sync + 'static>(x: &[T], w: &[T], g: &[T], n_out: usize) -> Vec<T> {
    let (n_x, n_w) = (x.len(), w.len());
    let n_in = n_w / n_out;
    let rows = n_x / n_in;
    let total = n_x + n_w + n_out;
    let mut out: Vec<T> = Vec::with_capacity(total);
    let column_sums = column_sums(g, n_out);
    // SAFETY: the two GEMMs write all of dx and dW (not reading them), the copy writes db, so
    // all `total` elements are initialised before `set_len`.
    unsafe {
        let base = out.as_mut_ptr();
        let lhs = (g.as_ptr(), n_out, 1);
        gemm_into((rows, n_in, n_out), base, false, lhs, (w.as_ptr(), n_in, 1));
        let g_t = (g.as_ptr(), 1, n_out);
        gemm_into(
            (n_out, n_in, rows),
            base.add(n_x),
            false,
            g_t,
            (x.as_ptr(), n_in, 1),
        );
        std::ptr::copy_nonoverlapping(column_sums.as_ptr(), base.add(n_x + n_w), n_out);
        out.set_len(total);
    }
    out
}

/// Sums over the rows of a (rows, width) matrix: parallel partial sums over fixed row chunks,
/// then added in chunk order (deterministic, see `fused::sum_in_order`).
fn column_sums<T: Float + Send + Sync>(g: &[T], width: usize) -> Vec<T> {
    let partials = g
        .par_chunks(width * ROWS_PER_TASK)
        .map(|rows| {
            let mut acc = vec![T::zero(); width];
            add_rows(&mut acc, rows);
            acc
        })
        .collect::<Vec<_>>();
    super::fused::sum_in_order(partials, width)
}

/// acc += every row of `rows` (rows of acc.len() values).
#[multiversion(targets = "simd")]
fn add_rows<T: Float>(acc: &mut [T], rows: &[T]) {
    for row in rows.chunks_exact(acc.len()) {
        acc.iter_mut().zip(row).for_each(|(a, &v)| *a = *a + v);
    }
}

/// max(x, 0) in place.
#[multiversion(targets = "simd")]
fn relu_in_place<T: Float>(xs: &mut [T]) {
    xs.iter_mut()
        .for_each(|v| *v = if *v > T::zero() { *v } else { T::zero() });
}

/// out = G where y > 0, else 0.
#[multiversion(targets = "simd")]
fn mask_by_sign<T: Float>(out: &mut [T], y: &[T], g: &[T]) {
    for ((o, &y), &g) in out.iter_mut().zip(y).zip(g) {
        *o = if y > T::zero() { g } else { T::zero() };
    }
}

/// G masked by y > 0 (the ReLU derivative), from y and G.
fn relu_mask<T: Float + Send + Sync>(y: &[T], g: &[T]) -> Vec<T> {
    let chunk = 1 << 14;
    let mut out = vec![T::zero(); g.len()];
    out.par_chunks_mut(chunk)
        .zip(y.par_chunks(chunk).zip(g.par_chunks(chunk)))
        .for_each(|(o, (y, g))| mask_by_sign(o, y, g));
    out
}

struct LinearOp {
    relu: bool,
}

/// Backward kernel: inputs x, W, G; output packed as [dx | dW | db].
struct LinearBwdOp {
    n_out: usize,
}

/// ReLU derivative kernel: inputs y, G; output G ⊙ (y > 0).
struct ReluMaskOp;

impl candle_core::CustomOp3 for LinearOp {
    fn name(&self) -> &'static str {
        "lnwarm-linear"
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
        let out = by_dtype!(s1.dtype(), self.name(), T => forward(contiguous_slice::<T>(s1, l1)?, contiguous_slice(s2, l2)?, contiguous_slice(s3, l3)?, self.relu));
        Ok((out, Shape::from((l1.dims()[0], l3.dims()[0]))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        weight: &Tensor,
        bias: &Tensor,
        y: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let grad = match self.relu {
            true => y.apply_op2(&grad.contiguous()?, ReluMaskOp)?,
            false => grad.contiguous()?,
        };
        let n_out = bias.elem_count();
        let packed = x.apply_op3(weight, &grad, LinearBwdOp { n_out })?;
        let (n_x, n_w) = (x.elem_count(), weight.elem_count());
        let dx = packed.narrow(0, 0, n_x)?.reshape(x.shape())?;
        let dw = packed.narrow(0, n_x, n_w)?.reshape(weight.shape())?;
        let db = packed.narrow(0, n_x + n_w, n_out)?;
        Ok((Some(dx), Some(dw), Some(db)))
    }
}

impl candle_core::CustomOp3 for LinearBwdOp {
    fn name(&self) -> &'static str {
        "lnwarm-linear-bwd"
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
        let total = l1.shape().elem_count() + l2.shape().elem_count() + self.n_out;
        let out = by_dtype!(s1.dtype(), self.name(), T => backward(contiguous_slice::<T>(s1, l1)?, contiguous_slice(s2, l2)?, contiguous_slice(s3, l3)?, self.n_out));
        Ok((out, Shape::from(total)))
    }
}

impl candle_core::CustomOp2 for ReluMaskOp {
    fn name(&self) -> &'static str {
        "lnwarm-relu-mask"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let out = by_dtype!(s1.dtype(), self.name(), T => relu_mask(contiguous_slice::<T>(s1, l1)?, contiguous_slice(s2, l2)?));
        Ok((out, l1.shape().clone()))
    }
}
