//! `train.flush_subnormals` reaches every thread that computes (issue 35): with it on, a
//! subnormal produced on the main thread, in every rayon worker and in a GEMM large enough to
//! run on rayon's pool is zero; with it off, each is kept. Its own test binary (one process),
//! so the pool's mode is this test's alone.

use candle_core::{Device, Tensor};
use lnwarm::numerics::{flush_everywhere, flushing, SUPPORTED};

/// Half the smallest normal f32: subnormal unless flushed (black_box: computed at run time).
fn subnormal() -> f32 {
    std::hint::black_box(f32::MIN_POSITIVE) * std::hint::black_box(0.5f32)
}

/// Every rayon worker's product (one per thread of the global pool).
fn in_every_worker() -> Vec<f32> {
    rayon::broadcast(|_| subnormal())
}

/// A 512x512 GEMM of 1e-20 entries: every product (1e-40) is subnormal, and so is every partial
/// sum of fewer than 118 of them; kept, the 512 add up to about 5.1e-38 (normal); flushed, each
/// product is 0 and so is the result.
fn gemm_result() -> f32 {
    let n = 512;
    let a = Tensor::full(1e-20f32, (n, n), &Device::Cpu).unwrap();
    let product = a.matmul(&a).unwrap();
    product.max_all().unwrap().to_scalar::<f32>().unwrap()
}

#[test]
fn flushing_reaches_the_main_thread_the_pool_and_the_gemm() {
    if !SUPPORTED {
        return;
    }
    assert!(rayon::current_num_threads() >= 1);
    assert!(flush_everywhere(true));
    assert!(flushing());
    assert_eq!(subnormal(), 0.0);
    assert!(in_every_worker().iter().all(|&x| x == 0.0));
    assert_eq!(gemm_result(), 0.0);

    assert!(flush_everywhere(false));
    assert!(!flushing());
    assert!(subnormal().is_subnormal());
    assert!(in_every_worker().iter().all(|x| x.is_subnormal()));
    let kept = gemm_result();
    // 512 products of 1e-40 each: about 5.1e-38 where nothing is flushed.
    assert!(kept > 1e-38 && kept < 1e-37, "{kept}");
}
