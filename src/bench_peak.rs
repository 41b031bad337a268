//! The yardstick of `lnwarm bench`'s FLOP rate (issue 35): what the same GEMM library (gemm,
//! through candle) reaches on a large square f32 product on this machine with this process's
//! threads, so every "achieved GFLOP/s" comes with the fraction of the machine's practical peak
//! it is. A 1024³ product is far past the shapes where packing and edges dominate, and small
//! enough (12 MiB) to take a fraction of a second.

use crate::error::Result;
use candle_core::{Device, Tensor};
use std::time::Instant;

/// The square product's side.
pub const SIDE: usize = 1024;

/// Timed repetitions (the best counts: the rate the machine can reach, not its noise).
const REPEATS: usize = 5;

/// GFLOP/s of the best of `REPEATS` f32 products of two SIDE x SIDE matrices (2·SIDE³ flop
/// each), after one untimed product.
pub fn large_gemm_gflop_per_s() -> Result<f64> {
    let a = Tensor::randn(0f32, 1.0, (SIDE, SIDE), &Device::Cpu)?;
    let b = Tensor::randn(0f32, 1.0, (SIDE, SIDE), &Device::Cpu)?;
    let _ = a.matmul(&b)?;
    let flop = 2.0 * (SIDE as f64).powi(3);
    let mut best = f64::INFINITY;
    for _ in 0..REPEATS {
        let start = Instant::now();
        let product = a.matmul(&b)?;
        // Reading one value makes sure the product was computed before the clock stops.
        let _ = product
            .narrow(0, 0, 1)?
            .narrow(1, 0, 1)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        best = best.min(start.elapsed().as_secs_f64());
    }
    Ok(flop / best / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_yardstick_is_a_positive_finite_rate() {
        let rate = large_gemm_gflop_per_s().unwrap();
        assert!(rate.is_finite() && rate > 0.1, "{rate}");
    }
}
