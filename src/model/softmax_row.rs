//! Softmax of one row in place, written so the compiler vectorises it: lane-wise max and sum
//! (`model::lanes`), and for f32 an exp without a libm call per element (libm's `expf` is scalar
//! and was a tenth of the fused attention's time).
//!
//! `exp_f32` is the Cephes single-precision range reduction and polynomial: x = n ln2 + r with
//! |r| <= ln2 / 2, exp(r) by a degree-6 polynomial, 2^n put into the exponent bits. Relative
//! error below 2e-7 on the softmax range (checked against f64 `exp` in the tests); f64 rows
//! keep the exact `exp`, so the finite-difference tests see the same numbers as before.

use super::lanes;
use multiversion::multiversion;
use num_traits::Float;

/// Floats the row softmax works on: f32 with the vectorisable exp, f64 with libm's.
pub trait SoftmaxFloat: Float + Send + Sync + 'static {
    /// xs[i] = exp(xs[i] - shift) for every element.
    fn exp_shifted(xs: &mut [Self], shift: Self);
}

impl SoftmaxFloat for f32 {
    #[inline(always)]
    fn exp_shifted(xs: &mut [f32], shift: f32) {
        xs.iter_mut().for_each(|v| *v = exp_f32(*v - shift));
    }
}

impl SoftmaxFloat for f64 {
    #[inline(always)]
    fn exp_shifted(xs: &mut [f64], shift: f64) {
        xs.iter_mut().for_each(|v| *v = (*v - shift).exp());
    }
}

/// exp(x) for f32 without a function call (see the module header), for x <= 88 (exp(88) is
/// 1.7e38; larger inputs give exp(88)); inputs below -87.3 give ~1e-38 instead of a subnormal
/// or 0, which vanishes next to a softmax sum >= 1.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding and subtracting 1.5 * 2^23 rounds to the nearest integer with plain adds.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.336_55, 88.0);
    let shifted = x * LOG2E + ROUND;
    let n = shifted - ROUND;
    // The integer n sits in the low mantissa bits of `shifted`; reading it from there instead
    // of `n as i32` (a saturating cast) keeps the loop free of scalar conversions.
    let n_int = shifted.to_bits().wrapping_sub(ROUND.to_bits()) as i32;
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    y * f32::from_bits(((n_int + 127) as u32) << 23)
}

/// Softmax of `row` in place (AVX-512 / AVX2 clones chosen at run time).
#[multiversion(targets = "simd")]
pub fn softmax_in_place<T: SoftmaxFloat>(row: &mut [T]) {
    T::exp_shifted(row, lanes::max(row));
    let inv = lanes::sum(row).recip();
    row.iter_mut().for_each(|v| *v = *v * inv);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// exp_f32 against f64 exp over the range softmax uses (x - max <= 0) and a bit above.
    #[test]
    fn exp_f32_is_within_two_ulp_of_exp() {
        let mut worst = 0f64;
        for i in 0..=200_000 {
            let x = -87.0 + i as f32 * (95.0 / 200_000.0);
            let exact = (x as f64).exp();
            worst = worst.max(((exp_f32(x) as f64) - exact).abs() / exact);
        }
        assert!(worst < 2.5e-7, "max relative error {worst}");
        assert_eq!(exp_f32(0.0), 1.0);
        assert!(exp_f32(-1000.0) < 1e-37);
    }

    #[test]
    fn softmax_rows_sum_to_one_and_match_the_definition() {
        for len in [1, 7, 16, 33, 128] {
            let row: Vec<f64> = (0..len).map(|i| ((i * 37) % 11) as f64 - 4.0).collect();
            let mut fast: Vec<f32> = row.iter().map(|&v| v as f32).collect();
            softmax_in_place(&mut fast);
            let mut exact = row.clone();
            softmax_in_place(&mut exact);
            let total: f64 = row.iter().map(|v| v.exp()).sum();
            for ((f, e), v) in fast.iter().zip(&exact).zip(&row) {
                assert!((e - v.exp() / total).abs() < 1e-15);
                assert!((*f as f64 - e).abs() < 1e-6 * e.max(1e-3), "{f} vs {e}");
            }
        }
    }
}
