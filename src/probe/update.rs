//! The `update` probe: how far each tensor moved in the update just made, relative to its size
//! and as an angle (Kosson et al. 2024: without warmup the early updates are large relative to
//! the small initial weights), with the gradient RMS and, for Adam, where sqrt(v̂) falls below ε
//! (the update collapses toward sign descent there; Wortsman et al. 2023, §3.4).

use super::record::UpdateStats;
use crate::error::Result;
use crate::optim::SecondMoment;
use candle_core::{DType, Tensor};
use std::collections::BTreeMap;

/// Per tensor: `before` and `after` the update, its raw gradient, and Adam's v̂ if any (the
/// v̂ statistics only for a parameter v̂ governs: not one frozen by `--freeze-top`).
pub fn update_stats(
    names: &[String],
    before: &[Tensor],
    after: &[Tensor],
    grads: &[Tensor],
    adam: Option<&SecondMoment>,
) -> Result<BTreeMap<String, UpdateStats>> {
    let mut out = BTreeMap::new();
    for (i, name) in names.iter().enumerate() {
        let f64_of = |t: &Tensor| t.detach().to_dtype(DType::F64);
        let (b, a, g) = (f64_of(&before[i])?, f64_of(&after[i])?, f64_of(&grads[i])?);
        let n = b.elem_count() as f64;
        let sums = Tensor::stack(
            &[
                (&a - &b)?.sqr()?.sum_all()?,
                b.sqr()?.sum_all()?,
                a.sqr()?.sum_all()?,
                (&a * &b)?.sum_all()?,
                g.sqr()?.sum_all()?,
            ],
            0,
        )?
        .to_vec1::<f64>()?;
        let [step_sq, before_sq, after_sq, dot, grad_sq] = sums[..] else {
            unreachable!("five sums were stacked")
        };
        let relative = (before_sq > 0.0).then(|| (step_sq / before_sq).sqrt());
        let angle = (before_sq > 0.0 && after_sq > 0.0).then(|| {
            (dot / (before_sq.sqrt() * after_sq.sqrt()))
                .clamp(-1.0, 1.0)
                .acos()
        });
        let mut stats = UpdateStats {
            relative,
            angle,
            update_rms: (step_sq / n).sqrt(),
            grad_rms: (grad_sq / n).sqrt(),
            v_below_eps: None,
            v_hat_mean: None,
            v_hat_max: None,
        };
        if let Some(m) = adam.filter(|m| m.active[i]) {
            let v = m.v_hat[i].to_dtype(DType::F64)?.flatten_all()?;
            let below = v.sqrt()?.lt(m.eps)?.to_dtype(DType::F64)?.sum_all()?;
            stats.v_below_eps = Some(below.to_scalar::<f64>()? / n);
            stats.v_hat_mean = Some(v.mean_all()?.to_scalar::<f64>()?);
            stats.v_hat_max = Some(v.max(0)?.to_scalar::<f64>()?);
        }
        out.insert(name.clone(), stats);
    }
    Ok(out)
}

/// Cosine between two gradients given tensor by tensor (None when either is 0).
pub fn gradient_cosine(a: &[Tensor], b: &[Tensor]) -> Result<Option<f64>> {
    let (mut dot, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (x.to_dtype(DType::F64)?, y.to_dtype(DType::F64)?);
        dot += (&x * &y)?.sum_all()?.to_scalar::<f64>()?;
        aa += x.sqr()?.sum_all()?.to_scalar::<f64>()?;
        bb += y.sqr()?.sum_all()?.to_scalar::<f64>()?;
    }
    Ok((aa > 0.0 && bb > 0.0).then(|| dot / (aa.sqrt() * bb.sqrt())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn ratios_angles_and_adam_shares_by_hand() {
        let t = |v: &[f32]| Tensor::new(v, &Device::Cpu).unwrap();
        let names = vec!["w".to_string(), "b".to_string()];
        // w: (3, 4) -> (3, 4) + (0, 0.5): ‖Δ‖ = 0.5, ‖w‖ = 5; b starts at 0.
        let before = [t(&[3.0, 4.0]), t(&[0.0, 0.0])];
        let after = [t(&[3.0, 4.5]), t(&[0.1, -0.1])];
        let grads = [t(&[1.0, -1.0]), t(&[2.0, 2.0])];
        let adam = SecondMoment {
            v_hat: vec![t(&[1e-20, 4.0]), t(&[1.0, 1.0])],
            eps: 1e-8,
            active: vec![true, true],
        };
        let s = update_stats(&names, &before, &after, &grads, Some(&adam)).unwrap();
        let w = &s["w"];
        assert!((w.relative.unwrap() - 0.1).abs() < 1e-12);
        let cos = (9.0 + 18.0) / (5.0 * (9.0f64 + 20.25).sqrt());
        assert!((w.angle.unwrap() - cos.acos()).abs() < 1e-12);
        assert!((w.update_rms - (0.25f64 / 2.0).sqrt()).abs() < 1e-12);
        assert!((w.grad_rms - 1.0).abs() < 1e-12);
        assert_eq!(w.v_below_eps, Some(0.5));
        assert!((w.v_hat_max.unwrap() - 4.0).abs() < 1e-12);
        assert_eq!(s["b"].relative, None, "no ratio to a zero tensor");
        assert_eq!(s["b"].angle, None);
        assert_eq!(s["b"].v_below_eps, Some(0.0));
        // A parameter v̂ does not govern (frozen): no v̂ statistics, the rest as before.
        let frozen = SecondMoment {
            active: vec![true, false],
            ..adam
        };
        let s = update_stats(&names, &before, &after, &grads, Some(&frozen)).unwrap();
        assert_eq!(s["w"].v_below_eps, Some(0.5));
        assert_eq!(s["b"].v_below_eps, None);
        assert_eq!(s["b"].v_hat_mean, None);
        assert!((s["b"].grad_rms - 2.0).abs() < 1e-12);
        let c = gradient_cosine(&grads, &[t(&[1.0, -1.0]), t(&[-2.0, -2.0])]).unwrap();
        assert!((c.unwrap() - (2.0 - 8.0) / 10.0).abs() < 1e-12);
    }
}
