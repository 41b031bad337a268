//! The `sharpness` and `adam-sharpness` probes: the top of the Hessian's spectrum on the
//! measurement batch, by Lanczos (`eigen`) on central-difference products in f64 (`hvp`),
//! each warm-started from its previous top vector.
//!
//! Stability thresholds (Cohen et al. 2021, 2022; Kalra & Barkeshli 2024, §2): gradient descent
//! with heavy-ball momentum μ is stable while λmax(H) < (2 + 2μ)/η (2/η for plain GD); Adam
//! while λmax(P^-1/2 H P^-1/2) < (2 + 2β1)/(η(1 − β1)) (38/η at β1 = 0.9), P = diag(sqrt(v̂)) + ε.
//! The ratio λ/threshold is reported so a plot shows when training sits at the edge (≈ 1).

use super::eigen::{lanczos, Extremes, LanczosRule};
use super::hvp::Shadow;
use super::record::{Sharpness, Smallest};
use crate::error::Result;
use crate::optim::SecondMoment;

/// Warm starts of both searches, kept between measurements.
#[derive(Default)]
pub struct SharpnessState {
    raw: Option<Vec<f64>>,
    preconditioned: Option<Vec<f64>>,
    /// `probe.smallest`: the warm start of the search for λmin (the top of −H).
    bottom: Option<Vec<f64>>,
}

impl SharpnessState {
    /// The warm starts held, by name (`raw`, `adam`), for checkpoints.
    pub fn warm_starts(&self) -> Vec<(&'static str, &[f64])> {
        let mut out = Vec::new();
        if let Some(v) = &self.raw {
            out.push(("raw", v.as_slice()));
        }
        if let Some(v) = &self.preconditioned {
            out.push(("adam", v.as_slice()));
        }
        if let Some(v) = &self.bottom {
            out.push(("bottom", v.as_slice()));
        }
        out
    }

    /// The warm starts a checkpoint held (`warm_starts`' names: raw, adam, bottom).
    pub fn set_warm_starts(
        &mut self,
        raw: Option<Vec<f64>>,
        adam: Option<Vec<f64>>,
        bottom: Option<Vec<f64>>,
    ) {
        self.raw = raw;
        self.preconditioned = adam;
        self.bottom = bottom;
    }

    /// λmax(H) at the shadow's weights against (2 + 2μ)/η; with `smallest`, λmin(H) too, by a
    /// second Lanczos run on −H (its top is −λmin), and the eigenvalue of largest magnitude.
    pub fn raw(
        &mut self,
        shadow: &Shadow,
        rule: LanczosRule,
        (lr, momentum): (f64, f64),
        smallest: bool,
    ) -> Result<Sharpness> {
        let e = lanczos(shadow.len(), |v| shadow.hvp(v), self.raw.as_deref(), rule)?;
        let threshold = (2.0 + 2.0 * momentum) / lr;
        let mut out = record(&e, lr, threshold);
        self.raw = Some(e.vector);
        if smallest {
            let negated = |v: &[f64]| -> Result<Vec<f64>> {
                Ok(shadow.hvp(v)?.into_iter().map(|x| -x).collect())
            };
            let b = lanczos(shadow.len(), negated, self.bottom.as_deref(), rule)?;
            let lambda_min = -b.max;
            out.largest_magnitude = Some(match lambda_min.abs() > out.lambda_max.abs() {
                true => lambda_min,
                false => out.lambda_max,
            });
            out.smallest = Some(Smallest {
                lambda_min,
                residual: b.residual,
                converged: b.converged,
                products: b.products,
            });
            self.bottom = Some(b.vector);
        }
        Ok(out)
    }

    /// λmax(P^-1/2 H P^-1/2), P = diag(sqrt(v̂)) + ε, against (2 + 2β1)/(η(1 − β1)), over the
    /// parameters the next update moves.
    pub fn preconditioned(
        &mut self,
        shadow: &Shadow,
        rule: LanczosRule,
        lr: f64,
        beta1: f64,
        adam: &SecondMoment,
    ) -> Result<Sharpness> {
        // A parameter the next update does not move (frozen by `--freeze-top`) has no
        // preconditioner: its coordinates are left out (scale 0), not scaled by 1/sqrt(ε).
        let mut s = Vec::with_capacity(shadow.len());
        for (v_hat, active) in adam.v_hat.iter().zip(&adam.active) {
            let v = super::hvp::flatten(std::iter::once(v_hat))?;
            s.extend(v.iter().map(|v| match active {
                true => 1.0 / (v.sqrt() + adam.eps).sqrt(),
                false => 0.0,
            }));
        }
        let op = |u: &[f64]| -> Result<Vec<f64>> {
            let scaled: Vec<f64> = u.iter().zip(&s).map(|(u, s)| u * s).collect();
            let hu = shadow.hvp(&scaled)?;
            Ok(hu.iter().zip(&s).map(|(h, s)| h * s).collect())
        };
        let e = lanczos(shadow.len(), op, self.preconditioned.as_deref(), rule)?;
        let threshold = (2.0 + 2.0 * beta1) / (lr * (1.0 - beta1));
        let out = record(&e, lr, threshold);
        self.preconditioned = Some(e.vector);
        Ok(out)
    }
}

fn record(e: &Extremes, lr: f64, threshold: f64) -> Sharpness {
    let threshold = threshold.is_finite().then_some(threshold);
    Sharpness {
        lambda_max: e.max,
        lowest_ritz: e.min,
        lr,
        threshold,
        ratio: threshold.map(|t| e.max / t),
        products: e.products,
        residual: e.residual,
        converged: e.converged,
        smallest: None,
        largest_magnitude: None,
    }
}
