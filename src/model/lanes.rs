//! Reductions written with LANES independent accumulators so the compiler vectorises them
//! (a plain fold is one serial chain: floating-point addition is not reassociated). Inlined
//! into the multiversioned kernels, they become AVX2 / AVX-512 code there.

use num_traits::Float;

/// Accumulator lanes: a full AVX-512 f32 register, and enough chains to hide add latency.
const LANES: usize = 16;

/// Fold `xs` in LANES lane-wise accumulators with `step`, then combine them with `step`.
#[inline(always)]
fn reduce<T: Float>(xs: &[T], init: T, step: impl Fn(T, T) -> T) -> T {
    let mut lanes = [init; LANES];
    let chunks = xs.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (acc, &v) in lanes.iter_mut().zip(chunk) {
            *acc = step(*acc, v);
        }
    }
    let rest = tail.iter().fold(init, |acc, &v| step(acc, v));
    lanes.iter().fold(rest, |acc, &v| step(acc, v))
}

/// Sum of the elements.
#[inline(always)]
pub fn sum<T: Float>(xs: &[T]) -> T {
    reduce(xs, T::zero(), |a, v| a + v)
}

/// Largest element (NaN-free input; -inf for an empty slice).
#[inline(always)]
pub fn max<T: Float>(xs: &[T]) -> T {
    reduce(xs, T::neg_infinity(), |a, v| if v > a { v } else { a })
}

/// Sum of a[i] * b[i] over the shorter length.
#[inline(always)]
pub fn dot<T: Float>(a: &[T], b: &[T]) -> T {
    let mut lanes = [T::zero(); LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .fold(T::zero(), |acc, (&x, &y)| acc + x * y);
    for (xs, ys) in ca.zip(cb) {
        for ((acc, &x), &y) in lanes.iter_mut().zip(xs).zip(ys) {
            *acc = *acc + x * y;
        }
    }
    lanes.iter().fold(tail, |acc, &v| acc + v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reductions_match_plain_folds_at_every_length() {
        for len in 0..50 {
            let a: Vec<f64> = (0..len).map(|i| ((i * 7) % 13) as f64 - 6.0).collect();
            let b: Vec<f64> = (0..len).map(|i| ((i * 5) % 11) as f64 * 0.5).collect();
            assert_eq!(sum(&a), a.iter().sum::<f64>());
            assert_eq!(
                dot(&a, &b),
                a.iter().zip(&b).map(|(x, y)| x * y).sum::<f64>()
            );
            let plain_max = a.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
            assert_eq!(max(&a), plain_max);
        }
    }
}
