//! `probe.smallest` (issue 34): the smallest Hessian eigenvalue by a Lanczos run of its own on
//! −H, against the eigenvalues of the Hessian formed column by column; the eigenvalue of largest
//! magnitude is whichever end of the spectrum is larger in absolute value.

mod common;

use candle_core::DType;
use common::hessian::{full_hessian, hessian_sized};
use common::*;
use lnwarm::config::Arch;
use lnwarm::probe::eigen::LanczosRule;
use lnwarm::probe::hvp::Shadow;
use lnwarm::probe::SharpnessState;
use nalgebra::SymmetricEigen;

#[test]
fn the_smallest_eigenvalue_and_the_largest_in_magnitude_match_the_formed_hessian() {
    for arch in [Arch::PostLn, Arch::PreLn] {
        let cfg = hessian_sized(arch);
        let (_, store) = tiny_model(&cfg.model, DType::F64, 3);
        let mut shadow = Shadow::new(&cfg, VOCAB, tiny_batch()).unwrap();
        shadow.sync(&store).unwrap();
        let h = full_hessian(&shadow);
        let h = (&h + h.transpose()) * 0.5;
        let eig = SymmetricEigen::new(h);
        let (top, bottom) = (eig.eigenvalues.max(), eig.eigenvalues.min());
        let rule = LanczosRule {
            max_steps: shadow.len(),
            tol: 1e-7,
            seed: 1,
        };
        let mut state = SharpnessState::default();
        let s = state.raw(&shadow, rule, (1e-3, 0.0), true).unwrap();
        let smallest = s.smallest.as_ref().expect("measured");
        assert!(
            (smallest.lambda_min - bottom).abs() < 1e-6 * top.abs().max(bottom.abs()),
            "{arch:?}: {} vs {bottom}",
            smallest.lambda_min
        );
        assert!(
            smallest.converged,
            "{arch:?}: residual {}",
            smallest.residual
        );
        let magnitude = if bottom.abs() > top.abs() {
            bottom
        } else {
            top
        };
        let got = s.largest_magnitude.unwrap();
        assert!(
            (got - magnitude).abs() < 1e-6 * magnitude.abs(),
            "{arch:?}: {got} vs {magnitude}"
        );
        // Without the option, nothing more is measured.
        let plain = SharpnessState::default()
            .raw(&shadow, rule, (1e-3, 0.0), false)
            .unwrap();
        assert!(plain.smallest.is_none() && plain.largest_magnitude.is_none());
    }
}
