//! Linear centered kernel alignment (Kornblith et al. 2019, "Similarity of Neural Network
//! Representations Revisited", eq. 5): how alike two sets of activations of the same n inputs
//! are, up to an orthogonal transform and an isotropic scale of either side.
//!
//! CKA(X, Y) = ‖YᵀX‖²_F / (‖XᵀX‖_F ‖YᵀY‖_F), X (n, p) and Y (n, q) column-centred. It is the
//! cheap stand-in for the SVCCA that Gotmare et al. (2019) use to see which layers move early
//! in training. 1 for identical representations; computed in f64 in the feature space (d × d
//! Gram matrices, cheaper than n × n for n = B·T windows > d).

use nalgebra::DMatrix;

/// Linear CKA of `x` and `y`, each row-major (n, width) with the same n. NaN when either side
/// is constant (no variance to compare).
pub fn linear_cka(x: &[f64], x_width: usize, y: &[f64], y_width: usize) -> f64 {
    let x = centred(x, x_width);
    let y = centred(y, y_width);
    let cross = y.transpose() * &x;
    let xx = x.transpose() * &x;
    let yy = y.transpose() * &y;
    cross.norm_squared() / (xx.norm() * yy.norm())
}

/// (n, width) with each column's mean removed.
fn centred(values: &[f64], width: usize) -> DMatrix<f64> {
    let n = values.len() / width;
    let mut m = DMatrix::from_row_slice(n, width, values);
    for mut col in m.column_iter_mut() {
        let mean = col.mean();
        col.add_scalar_mut(-mean);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, StandardNormal};

    fn gaussian(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| StandardNormal.sample(&mut rng)).collect()
    }

    /// x (n, p) times a p × p matrix, row-major.
    fn times(x: &[f64], p: usize, m: &DMatrix<f64>) -> Vec<f64> {
        let n = x.len() / p;
        let prod = DMatrix::from_row_slice(n, p, x) * m;
        prod.transpose().as_slice().to_vec()
    }

    #[test]
    fn identical_inputs_give_one() {
        let x = gaussian(64 * 8, 1);
        assert!((linear_cka(&x, 8, &x, 8) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn invariant_to_orthogonal_maps_and_isotropic_scale() {
        let (n, p) = (50, 6);
        let x = gaussian(n * p, 2);
        let y = gaussian(n * p, 3);
        let base = linear_cka(&x, p, &y, p);
        let q = DMatrix::from_vec(p, p, gaussian(p * p, 4)).qr().q();
        let rotated: Vec<f64> = times(&x, p, &q).iter().map(|v| v * 7.5).collect();
        let scaled_y: Vec<f64> = y.iter().map(|v| v * 0.01).collect();
        assert!((linear_cka(&rotated, p, &y, p) - base).abs() < 1e-12);
        assert!((linear_cka(&x, p, &scaled_y, p) - base).abs() < 1e-12);
        assert!((linear_cka(&rotated, p, &scaled_y, p) - base).abs() < 1e-12);
        // ...and a shift of every row (the centring removes it).
        let shifted: Vec<f64> = x.iter().map(|v| v + 3.0).collect();
        assert!((linear_cka(&shifted, p, &y, p) - base).abs() < 1e-12);
    }

    /// Not invariant to a general (non-orthogonal) map, and below 1 for unrelated data: the
    /// measure can tell representations apart.
    #[test]
    fn unrelated_or_distorted_inputs_score_lower() {
        let (n, p) = (200, 5);
        let x = gaussian(n * p, 5);
        let y = gaussian(n * p, 6);
        assert!(linear_cka(&x, p, &y, p) < 0.2);
        let mut stretch = DMatrix::identity(p, p);
        stretch[(0, 0)] = 30.0;
        let stretched = times(&x, p, &stretch);
        let c = linear_cka(&x, p, &stretched, p);
        assert!(c < 0.9 && c > 0.1, "{c}");
    }
}
