//! A model small enough to form its Hessian column by column, and the Hessian itself: the exact
//! reference of the sharpness probes' tests.

use super::tiny_run_config;
use lnwarm::config::{Activation, Arch, RunConfig};
use lnwarm::probe::hvp::Shadow;
use nalgebra::DMatrix;

/// A model small enough to form its Hessian: d 4, one block, GELU (smooth, so the finite
/// differences converge cleanly as ε²).
pub fn hessian_sized(arch: Arch) -> RunConfig {
    let mut cfg = tiny_run_config(arch, 1);
    cfg.model.n_layers = 1;
    cfg.model.d_model = 4;
    cfg.model.n_heads = 2;
    cfg.model.d_ff = 8;
    cfg.model.activation = Activation::Gelu;
    cfg.data.seq_len = 8;
    cfg
}

/// H by central differences of the f64 gradient along each coordinate, symmetrised.
pub fn full_hessian(shadow: &Shadow) -> DMatrix<f64> {
    let w = shadow.weights().to_vec();
    let n = w.len();
    let h = 1e-5;
    let mut cols = Vec::with_capacity(n * n);
    for i in 0..n {
        let mut plus = w.clone();
        let mut minus = w.clone();
        plus[i] += h;
        minus[i] -= h;
        let gp = shadow.loss_and_grad(&plus).unwrap().1;
        let gm = shadow.loss_and_grad(&minus).unwrap().1;
        cols.extend(gp.iter().zip(&gm).map(|(p, m)| (p - m) / (2.0 * h)));
    }
    DMatrix::from_vec(n, n, cols)
}
