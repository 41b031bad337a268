//! Fused causal self-attention core as a candle CustomOp with its own backward (CPU): from the
//! packed projections qkv = [Q | K | V] (B*T, 3d) straight to the per-head context (B*T, d),
//! with no head-split copies and no (B, h, T, T) tensors in the graph. Each (batch, head) pair
//! is one rayon task running single-threaded GEMMs on strided views of qkv, so the 128 small
//! per-head products keep both cores busy instead of parallelising each tiny GEMM.
//!
//! Forward per head:  S = scale * Q K^T,  P = causal softmax(S),  O = P V.
//! Backward (G = dL/dO), P recomputed from Q and K rather than stored:
//!   dV = P^T G,  dP = G V^T,  dS = scale * P ⊙ (dP - rowsum(dP ⊙ P)),  dQ = dS K,  dK = dS^T Q.
//! Checked against the composite attention (`tests/fused.rs`) and by finite differences.

use super::fused::{by_dtype, contiguous_slice};
use super::lanes;
use super::softmax_row::{softmax_in_place, SoftmaxFloat};
use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, DType, Layout, Result, Shape, Tensor};
use multiversion::multiversion;
use num_traits::Float;
use rayon::prelude::*;

/// softmax(scale * Q K^T + causal mask) V for every head of packed `qkv` (B*T, 3d) -> (B*T, d).
pub fn causal_attention(qkv: &Tensor, batch: usize, seq: usize, n_heads: usize) -> Result<Tensor> {
    let shape = AttentionShape::new(qkv.dims(), batch, seq, n_heads)?;
    qkv.contiguous()?.apply_op1(AttentionOp { shape })
}

/// Sizes of one attention call; `width` is d (qkv has 3d columns).
#[derive(Clone, Copy, Debug)]
struct AttentionShape {
    batch: usize,
    seq: usize,
    heads: usize,
    width: usize,
}

impl AttentionShape {
    fn new(dims: &[usize], batch: usize, seq: usize, heads: usize) -> Result<Self> {
        match dims {
            [rows, cols]
                if heads > 0
                    && *rows == batch * seq
                    && cols % 3 == 0
                    && (cols / 3) % heads == 0 =>
            {
                Ok(Self {
                    batch,
                    seq,
                    heads,
                    width: cols / 3,
                })
            }
            _ => candle_core::bail!(
                "fused attention needs qkv of shape ({}, 3 * heads * head_dim), got {dims:?}",
                batch * seq
            ),
        }
    }

    fn head_dim(&self) -> usize {
        self.width / self.heads
    }

    fn scale(&self) -> f64 {
        1.0 / (self.head_dim() as f64).sqrt()
    }

    /// Offsets of Q, K, V of (batch b, head h) in qkv, and of its block in a (B*T, d) tensor.
    fn offsets(&self, task: usize) -> (usize, usize) {
        let (b, h) = (task / self.heads, task % self.heads);
        let row = b * self.seq;
        (
            row * 3 * self.width + h * self.head_dim(),
            row * self.width + h * self.head_dim(),
        )
    }
}

/// A raw pointer shared by the rayon tasks; each task writes a disjoint (rows, head columns) block.
#[derive(Clone, Copy)]
struct SharedMut<T>(*mut T);
// SAFETY: tasks write disjoint elements (one (batch, head) block each) and nothing reads them
// until the parallel loop has joined.
unsafe impl<T> Send for SharedMut<T> {}
unsafe impl<T> Sync for SharedMut<T> {}

impl<T> SharedMut<T> {
    /// The pointer (a method, so closures capture the Send + Sync wrapper, not the raw field).
    fn get(&self) -> *mut T {
        self.0
    }
}

/// A strided matrix operand: pointer, row stride, column stride (in elements).
#[derive(Clone, Copy)]
struct Operand<T> {
    ptr: *const T,
    rs: isize,
    cs: isize,
}

impl<T> Operand<T> {
    fn rows(ptr: *const T, rs: usize) -> Self {
        Self {
            ptr,
            rs: rs as isize,
            cs: 1,
        }
    }

    fn transposed(self) -> Self {
        Self {
            rs: self.cs,
            cs: self.rs,
            ..self
        }
    }
}

/// dst (m x n, row stride `dst_rs`) = scale * lhs (m x k) · rhs (k x n), single-threaded.
///
/// SAFETY: the operands must address m x k, k x n and m x n valid elements with their strides.
unsafe fn matmul<T: SoftmaxFloat>(
    (m, n, k): (usize, usize, usize),
    dst: *mut T,
    dst_rs: usize,
    lhs: Operand<T>,
    rhs: Operand<T>,
    scale: T,
) {
    gemm::gemm(
        m,
        n,
        k,
        dst,
        1,
        dst_rs as isize,
        false,
        lhs.ptr,
        lhs.cs,
        lhs.rs,
        rhs.ptr,
        rhs.cs,
        rhs.rs,
        T::zero(),
        scale,
        false,
        false,
        false,
        gemm::Parallelism::None,
    )
}

/// P = causal softmax(scale * Q K^T) of one head into `probs` (T x T, zeros above the diagonal).
///
/// SAFETY: `q` and `k` point at the head's columns of a qkv with row stride 3d.
unsafe fn attention_probs<T: SoftmaxFloat>(
    s: &AttentionShape,
    q: *const T,
    k: *const T,
    probs: &mut [T],
) {
    let (t, dh, rs) = (s.seq, s.head_dim(), 3 * s.width);
    let scale = T::from(s.scale()).unwrap_or(T::one());
    let key = Operand::rows(k, rs).transposed();
    matmul(
        (t, t, dh),
        probs.as_mut_ptr(),
        t,
        Operand::rows(q, rs),
        key,
        scale,
    );
    for (i, row) in probs.chunks_mut(t).enumerate() {
        let (visible, future) = row.split_at_mut(i + 1);
        softmax_in_place(visible);
        future.iter_mut().for_each(|v| *v = T::zero());
    }
}

fn forward<T: SoftmaxFloat>(qkv: &[T], s: AttentionShape) -> Vec<T> {
    let (t, d, dh) = (s.seq, s.width, s.head_dim());
    let mut out = vec![T::zero(); s.batch * t * d];
    let dst = SharedMut(out.as_mut_ptr());
    (0..s.batch * s.heads).into_par_iter().for_each_init(
        || vec![T::zero(); t * t],
        |probs, task| {
            let (src, o) = s.offsets(task);
            // SAFETY: offsets stay inside qkv (B*T, 3d) and out (B*T, d); the task's output
            // block (T rows x head_dim columns) is disjoint from every other task's.
            unsafe {
                let q = qkv.as_ptr().add(src);
                attention_probs(&s, q, q.add(d), probs);
                let v = Operand::rows(q.add(2 * d), 3 * d);
                let p = Operand::rows(probs.as_ptr(), t);
                matmul((t, dh, t), dst.get().add(o), d, p, v, T::one());
            }
        },
    );
    out
}

/// dS = scale * P ⊙ (dP - rowsum(dP ⊙ P)), in place in `dprobs` (zero above the diagonal as P).
#[multiversion(targets = "simd")]
fn softmax_backward<T: Float>(probs: &[T], dprobs: &mut [T], t: usize, scale: T) {
    for (p, dp) in probs.chunks_exact(t).zip(dprobs.chunks_exact_mut(t)) {
        let dot = lanes::dot(p, dp);
        for (g, &p) in dp.iter_mut().zip(p) {
            *g = scale * p * (*g - dot);
        }
    }
}

fn backward<T: SoftmaxFloat>(qkv: &[T], grad: &[T], s: AttentionShape) -> Vec<T> {
    let (t, d, dh) = (s.seq, s.width, s.head_dim());
    let scale = T::from(s.scale()).unwrap_or(T::one());
    let mut dqkv = vec![T::zero(); qkv.len()];
    let dst = SharedMut(dqkv.as_mut_ptr());
    (0..s.batch * s.heads).into_par_iter().for_each_init(
        || (vec![T::zero(); t * t], vec![T::zero(); t * t]),
        |(probs, dprobs), task| {
            let (src, o) = s.offsets(task);
            // SAFETY: as in `forward`; the task writes only its head's Q, K, V columns of dqkv.
            unsafe {
                let q = qkv.as_ptr().add(src);
                let (dq, g) = (dst.get().add(src), Operand::rows(grad.as_ptr().add(o), d));
                attention_probs(&s, q, q.add(d), probs);
                let p = Operand::rows(probs.as_ptr(), t);
                matmul(
                    (t, dh, t),
                    dq.add(2 * d),
                    3 * d,
                    p.transposed(),
                    g,
                    T::one(),
                );
                let v_t = Operand::rows(q.add(2 * d), 3 * d).transposed();
                matmul((t, t, dh), dprobs.as_mut_ptr(), t, g, v_t, T::one());
                softmax_backward(probs, dprobs, t, scale);
                let ds = Operand::rows(dprobs.as_ptr(), t);
                let k = Operand::rows(q.add(d), 3 * d);
                matmul((t, dh, t), dq, 3 * d, ds, k, T::one());
                let q_rows = Operand::rows(q, 3 * d);
                matmul(
                    (t, dh, t),
                    dq.add(d),
                    3 * d,
                    ds.transposed(),
                    q_rows,
                    T::one(),
                );
            }
        },
    );
    dqkv
}

struct AttentionOp {
    shape: AttentionShape,
}

/// Backward kernel: inputs qkv and dL/d(context); output dL/d(qkv).
struct AttentionBwdOp {
    shape: AttentionShape,
}

impl candle_core::CustomOp1 for AttentionOp {
    fn name(&self) -> &'static str {
        "lnwarm-causal-attention"
    }

    fn cpu_fwd(&self, st: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let s = self.shape;
        let out =
            by_dtype!(st.dtype(), self.name(), T => forward(contiguous_slice::<T>(st, l)?, s));
        Ok((out, Shape::from((s.batch * s.seq, s.width))))
    }

    fn bwd(&self, qkv: &Tensor, _out: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let op = AttentionBwdOp { shape: self.shape };
        Ok(Some(qkv.apply_op2(&grad.contiguous()?, op)?))
    }
}

impl candle_core::CustomOp2 for AttentionBwdOp {
    fn name(&self) -> &'static str {
        "lnwarm-causal-attention-bwd"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let out = by_dtype!(s1.dtype(), self.name(), T => backward(contiguous_slice::<T>(s1, l1)?, contiguous_slice(s2, l2)?, self.shape));
        Ok((out, l1.shape().clone()))
    }
}
