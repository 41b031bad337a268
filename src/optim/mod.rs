//! Optimizers behind one interface: Adam, AdamW, GI-Adam, SGD (momentum), RAdam; and their state by
//! parameter name, for checkpoints (`optimizer.safetensors`).
//!
//! All four are written here (candle-nn's `AdamW` keeps its moments private, and it has no SGD
//! momentum and no RAdam). State tensors are named after torch's optimizer state keys, prefixed
//! by the parameter name (`blocks.0.ffn.w1.weight.exp_avg`), plus the update counter `step`.

mod adam;
mod radam;
mod rates;
mod sgd;
pub mod substitutes;

use crate::config::{OptimConfig, OptimizerKind};
use crate::error::{Error, Result};
pub use adam::Adam;
use candle_core::backprop::GradStore;
use candle_core::{Device, Tensor, Var};
pub use radam::Radam;
pub use rates::Rates;
pub use sgd::SgdMomentum;
use std::collections::HashMap;
pub use substitutes::Substitutes;

/// One of the optimizers.
pub enum Inner {
    Adam(Adam),
    Sgd(SgdMomentum),
    Radam(Radam),
}

/// A built optimizer, with the warmup substitutes that act around its step.
pub struct Optimizer {
    inner: Inner,
    substitutes: Substitutes,
    vars: Vec<Var>,
}

impl Optimizer {
    /// An optimizer over `vars` (name, parameter), starting at learning rate `lr`.
    pub fn new(vars: &[(String, Var)], cfg: &OptimConfig, lr: f64) -> Result<Self> {
        let substitutes = Substitutes::new(vars, cfg);
        let inner = match cfg.kind {
            OptimizerKind::Adam | OptimizerKind::Adamw | OptimizerKind::GiAdam => {
                Inner::Adam(Adam::new(vars, lr, cfg, &substitutes)?)
            }
            OptimizerKind::Sgd => {
                Inner::Sgd(SgdMomentum::new(vars, lr, cfg.momentum, cfg.weight_decay))
            }
            OptimizerKind::Radam => Inner::Radam(Radam::new(vars, lr, cfg, &substitutes)?),
        };
        Ok(Self {
            inner,
            substitutes,
            vars: vars.iter().map(|(_, v)| v.clone()).collect(),
        })
    }

    /// Every parameter at rate `lr`.
    pub fn set_lr(&mut self, lr: f64) {
        self.set_rates(lr, lr);
    }

    /// The scheduled rate `lr` for the parameters that follow the warmup, `full` for the rest
    /// (`--warmup-groups`; see `set_warmed`).
    pub fn set_rates(&mut self, lr: f64, full: f64) {
        let rates = self.rates_mut();
        rates.lr = lr;
        rates.full = full;
    }

    /// `--warmup-groups`: per parameter, in the order of `new`'s `vars`, whether it follows the
    /// warmup (the others take `set_rates`' full rate).
    pub fn set_warmed(&mut self, warmed: Vec<bool>) {
        self.rates_mut().warmed = warmed;
    }

    /// The rate of every parameter at the next update, in the order of `new`'s `vars`.
    pub fn rates(&self) -> Vec<f64> {
        let rates = match &self.inner {
            Inner::Adam(o) => &o.rates,
            Inner::Sgd(o) => &o.rates,
            Inner::Radam(o) => &o.rates,
        };
        (0..self.vars.len()).map(|i| rates.of(i)).collect()
    }

    fn rates_mut(&mut self) -> &mut Rates {
        match &mut self.inner {
            Inner::Adam(o) => &mut o.rates,
            Inner::Sgd(o) => &mut o.rates,
            Inner::Radam(o) => &mut o.rates,
        }
    }

    /// Updates taken so far.
    pub fn updates(&self) -> u64 {
        match &self.inner {
            Inner::Adam(o) => o.updates(),
            Inner::Sgd(o) => o.step,
            Inner::Radam(o) => o.step as u64,
        }
    }

    /// One update from `grads`, with the substitutes' frozen parameters and update cap.
    pub fn step(&mut self, grads: &GradStore) -> Result<()> {
        let update = self.updates() + 1;
        let kept = self.substitutes.gradients(&self.vars, grads, update);
        let grads = kept.as_ref().unwrap_or(grads);
        let inner = &mut self.inner;
        self.substitutes.capped(&self.vars, update, || match inner {
            Inner::Adam(o) => o.step(grads),
            Inner::Sgd(o) => o.step(grads),
            Inner::Radam(o) => o.step(grads),
        })
    }

    /// `--v-fill`: one batch's gradients into Adam's second moment, nothing else changed.
    pub fn fill_second_moment(&mut self, grads: &GradStore) -> Result<()> {
        match &mut self.inner {
            Inner::Adam(o) => o.fill_second_moment(grads),
            _ => Err(Error::Internal(
                "--v-fill reached a non-Adam optimizer (the config check refuses it)".into(),
            )),
        }
    }

    /// Adam's and RAdam's bias-corrected second moment v̂ per parameter, in the order the
    /// optimizer was built with, its ε, and which parameters it governs now; `None` for SGD and
    /// before the first update (what `--probe` reads for the preconditioned sharpness and the
    /// update sizes). Each v̂ is corrected by the count the optimizer itself uses for it: with
    /// `--freeze-top`, a frozen parameter's own updates (plus `--v-fill`'s batches), not the
    /// run's; a parameter the next update does not move, or with no second moment yet, is not
    /// `active` (the probes leave it out instead of reading its v = 0 as P = ε).
    pub fn second_moment(&self) -> Result<Option<SecondMoment>> {
        let (moments, beta2, eps, step, fill): (Vec<&Tensor>, f64, f64, u64, u64) =
            match &self.inner {
                Inner::Adam(o) => (o.second_moments(), o.beta2, o.eps, o.updates(), o.v_fill),
                Inner::Radam(o) => (
                    o.slots.iter().map(|(_, _, _, v)| v).collect(),
                    o.beta2,
                    o.eps,
                    o.step as u64,
                    0,
                ),
                Inner::Sgd(_) => return Ok(None),
            };
        if step + fill == 0 {
            return Ok(None);
        }
        let mut v_hat = Vec::with_capacity(moments.len());
        let mut active = Vec::with_capacity(moments.len());
        for (i, v) in moments.into_iter().enumerate() {
            let count = step - self.substitutes.skipped(i, step + 1) + fill;
            let correction = if count == 0 {
                1.0
            } else {
                1.0 / (1.0 - beta2.powi(count as i32))
            };
            v_hat.push((v * correction)?);
            active.push(count > 0 && !self.substitutes.frozen_at(i, step + 1));
        }
        Ok(Some(SecondMoment { v_hat, eps, active }))
    }

    fn inner(&self) -> &dyn NamedState {
        match &self.inner {
            Inner::Adam(o) => o,
            Inner::Sgd(o) => o,
            Inner::Radam(o) => o,
        }
    }

    /// Every state tensor by name, and the update counter.
    pub fn state(&self) -> StateTensors {
        self.inner().state()
    }

    /// Restore the state saved by `state` (an optimizer built with the same config and names).
    pub fn load_state(&mut self, state: &StateTensors) -> Result<()> {
        match &mut self.inner {
            Inner::Adam(o) => o.load_state(state),
            Inner::Sgd(o) => o.load_state(state),
            Inner::Radam(o) => o.load_state(state),
        }
    }
}

/// Adam's v̂ per parameter and its ε (see `Optimizer::second_moment`).
pub struct SecondMoment {
    pub v_hat: Vec<Tensor>,
    pub eps: f64,
    /// Per parameter: it has a second moment and the next update moves it.
    pub active: Vec<bool>,
}

/// Optimizer state that can be saved and restored by name.
pub trait NamedState {
    fn state(&self) -> StateTensors;
    fn load_state(&mut self, state: &StateTensors) -> Result<()>;
}

/// Named state tensors; `step` (the number of updates taken) is a one-element i64 tensor.
#[derive(Debug, Clone, Default)]
pub struct StateTensors {
    pub tensors: HashMap<String, Tensor>,
}

impl StateTensors {
    const STEP: &'static str = "step";

    fn with_step(step: u64) -> Self {
        let mut out = Self::default();
        let step = Tensor::new(&[step as i64], &Device::Cpu).expect("a one-element cpu tensor");
        out.tensors.insert(Self::STEP.into(), step);
        out
    }

    fn push(&mut self, name: String, tensor: Tensor) {
        self.tensors.insert(name, tensor);
    }

    /// The number of updates the state has taken.
    pub fn step(&self) -> Result<u64> {
        let t = self.get(Self::STEP)?;
        let v = t.flatten_all()?.to_vec1::<i64>()?;
        match v.as_slice() {
            [s] if *s >= 0 => Ok(*s as u64),
            _ => Err(Error::Internal(format!("optimizer state: bad step {v:?}"))),
        }
    }

    fn get(&self, name: &str) -> Result<&Tensor> {
        self.tensors
            .get(name)
            .ok_or_else(|| Error::Internal(format!("optimizer state: no tensor {name}")))
    }

    /// The tensor `name`, checked to have `like`'s shape and dtype, on `like`'s device.
    fn like(&self, name: &str, like: &Tensor) -> Result<Tensor> {
        let t = self.get(name)?;
        if t.dims() != like.dims() || t.dtype() != like.dtype() {
            return Err(Error::Internal(format!(
                "optimizer state: {name} is {:?} {:?}, the parameter is {:?} {:?}",
                t.dtype(),
                t.dims(),
                like.dtype(),
                like.dims()
            )));
        }
        Ok(t.to_device(like.device())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The state an optimizer keeps across steps must not hold a backward graph (it would keep
    /// every step's activations alive): after a step on a tracked gradient, no state tensor
    /// tracks ops.
    #[test]
    fn optimizer_state_holds_no_graph() {
        use candle_core::Device;
        let w = Var::new(&[1.0f32, 2.0, 3.0], &Device::Cpu).unwrap();
        let x = Var::new(&[0.5f32, -1.0, 2.0], &Device::Cpu).unwrap();
        // d(sum(w * x^2 * w))/dw = 2 w x^2: computed from variables, so the gradient tracks ops.
        let loss = (w.as_tensor() * x.as_tensor().sqr().unwrap())
            .unwrap()
            .mul(w.as_tensor())
            .unwrap()
            .sum_all()
            .unwrap();
        let grads = loss.backward().unwrap();
        assert!(
            grads.get(&w).unwrap().track_op(),
            "premise: a tracked gradient"
        );
        let named = [("w".to_string(), w.clone())];
        let mut radam = Radam::new(
            &named,
            1e-3,
            &OptimConfig::default(),
            &Substitutes::default(),
        )
        .unwrap();
        radam.step(&grads).unwrap();
        for (_, _, m, v) in &radam.slots {
            assert!(!m.track_op() && !v.track_op());
        }
        let mut sgd = SgdMomentum::new(&named, 1e-3, 0.9, 0.0);
        sgd.step(&grads).unwrap();
        assert!(sgd
            .slots
            .iter()
            .all(|(_, _, b)| !b.as_ref().unwrap().track_op()));
        let mut adam = Adam::new(
            &named,
            1e-3,
            &OptimConfig::default(),
            &Substitutes::default(),
        )
        .unwrap();
        adam.step(&grads).unwrap();
        assert!(adam.state().tensors.values().all(|t| !t.track_op()));
    }

    /// Gradients of sum(w² * x) for a few steps' worth of x: enough to move the moments.
    fn grads_at(w: &Var, step: usize) -> GradStore {
        let x: Vec<f32> = (0..6)
            .map(|i| ((i * 7 + step * 3) % 5) as f32 - 1.7)
            .collect();
        let x = Tensor::new(x.as_slice(), &Device::Cpu).unwrap();
        (w.as_tensor().sqr().unwrap() * x)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap()
    }

    fn fresh_var() -> Var {
        Var::new(&[0.3f32, -1.2, 2.0, 0.01, -0.4, 1.1], &Device::Cpu).unwrap()
    }

    fn values(v: &Var) -> Vec<f32> {
        v.as_tensor().to_vec1().unwrap()
    }

    /// The Adam written here is candle-nn's AdamW operation for operation: same bits, so runs
    /// made with candle's optimizer (every committed study) reproduce exactly.
    #[test]
    fn adam_equals_candle_adamw_bit_for_bit() {
        use candle_nn::Optimizer as _;
        for weight_decay in [0.0, 0.1] {
            let cfg = OptimConfig {
                kind: OptimizerKind::Adamw,
                weight_decay,
                ..OptimConfig::default()
            };
            let (ours, theirs) = (fresh_var(), fresh_var());
            let mut a = Adam::new(
                &[("w".into(), ours.clone())],
                3e-2,
                &cfg,
                &Substitutes::default(),
            )
            .unwrap();
            let params = candle_nn::ParamsAdamW {
                lr: 3e-2,
                beta1: cfg.beta1,
                beta2: cfg.beta2,
                eps: cfg.eps,
                weight_decay,
            };
            let mut b = candle_nn::AdamW::new(vec![theirs.clone()], params).unwrap();
            for step in 0..7 {
                a.rates.lr = 3e-2 / (1 + step) as f64;
                b.set_learning_rate(a.rates.lr);
                a.step(&grads_at(&ours, step)).unwrap();
                b.step(&grads_at(&theirs, step)).unwrap();
                assert_eq!(
                    values(&ours),
                    values(&theirs),
                    "wd {weight_decay}, step {step}"
                );
            }
        }
    }

    /// An optimizer restored from another's state continues exactly as the original does.
    #[test]
    fn restored_state_continues_every_optimizer_exactly() {
        let kinds = [
            (OptimizerKind::Adam, 0.0),
            (OptimizerKind::GiAdam, 0.0),
            (OptimizerKind::Radam, 0.0),
            (OptimizerKind::Sgd, 0.9),
        ];
        for (kind, momentum) in kinds {
            let cfg = OptimConfig {
                kind,
                momentum,
                ..OptimConfig::default()
            };
            let w = fresh_var();
            let mut original = Optimizer::new(&[("w".into(), w.clone())], &cfg, 1e-2).unwrap();
            for step in 0..8 {
                original.step(&grads_at(&w, step)).unwrap();
            }
            let saved = original.state();
            let copy = Var::from_tensor(&w.as_tensor().copy().unwrap()).unwrap();
            let mut restored = Optimizer::new(&[("w".into(), copy.clone())], &cfg, 1e-2).unwrap();
            restored.load_state(&saved).unwrap();
            for step in 8..12 {
                original.step(&grads_at(&w, step)).unwrap();
                restored.step(&grads_at(&copy, step)).unwrap();
                assert_eq!(values(&w), values(&copy), "{kind:?} step {step}");
            }
            // A state without its tensors is refused with the missing name.
            let mut bare = Optimizer::new(&[("w".into(), fresh_var())], &cfg, 1e-2).unwrap();
            let mut partial = saved.clone();
            partial.tensors.retain(|k, _| k == "step");
            let err = bare.load_state(&partial).unwrap_err().to_string();
            assert!(
                err.contains("optimizer state: no tensor w."),
                "{kind:?}: {err}"
            );
        }
    }

    /// GI-Adam under a constant gradient g: v stays g², so v̂_t = g²/(1 − β2^t), m̂_t = g and
    /// every update is −lr·g/(|g|/sqrt(1 − β2^t) + eps): the automatic warmup
    /// lr·sqrt(1 − β2^t) per coordinate. Plain Adam moves lr·sign(g) from the first update.
    #[test]
    fn gi_adam_warms_the_update_up_by_sqrt_one_minus_beta2_power() {
        let g = [0.5f64, -2.0, 1e-3];
        let (lr, start) = (1e-2, [1.0f64, 1.0, 1.0]);
        let cfg = OptimConfig {
            kind: OptimizerKind::GiAdam,
            ..OptimConfig::default()
        };
        let w = Var::new(&start, &Device::Cpu).unwrap();
        let mut opt = Optimizer::new(&[("w".into(), w.clone())], &cfg, lr).unwrap();
        let coefficients = Tensor::new(&g, &Device::Cpu).unwrap();
        let mut expected = start;
        for t in 1..=5 {
            let grads = (w.as_tensor() * &coefficients)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            opt.step(&grads).unwrap();
            let root = (1.0 - cfg.beta2.powi(t)).sqrt();
            for (e, gi) in expected.iter_mut().zip(g) {
                *e -= lr * gi / (gi.abs() / root + cfg.eps);
            }
            let got: Vec<f64> = w.as_tensor().to_vec1().unwrap();
            for (a, b) in got.iter().zip(&expected) {
                assert!((a - b).abs() < 1e-12, "update {t}: {got:?} vs {expected:?}");
            }
        }
        // Five updates move Σ sqrt(1 − 0.98^t) = 1.1715 lr; plain Adam moves 5 lr (β2 = 0.98).
        let moved = 1.0 - expected[0];
        assert!((moved / lr - 1.1715).abs() < 1e-3, "{moved}");
    }

    #[test]
    fn radam_rectification_matches_torch_threshold() {
        // beta2 = 0.999: rho_t first exceeds 5 at t = 6 (torch's RAdam).
        assert!(Radam::rectification(0.999, 5).is_none());
        let r = Radam::rectification(0.999, 6).unwrap();
        assert!(r > 0.0 && r < 1.0);
        // r_t -> 1 as t grows.
        assert!((Radam::rectification(0.999, 100_000).unwrap() - 1.0).abs() < 1e-3);
    }
}
