//! Optimizers behind one interface: Adam, AdamW, SGD (momentum), RAdam.
//!
//! Adam/AdamW are candle-nn's `AdamW` (Adam = weight decay 0; candle's default is 0.01). candle-nn
//! has no SGD momentum and no RAdam, so those are written here following torch's update rules.

use crate::config::{OptimConfig, OptimizerKind};
use crate::error::Result;
use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};
use candle_nn::{AdamW, Optimizer as _, ParamsAdamW};

/// A built optimizer.
pub enum Optimizer {
    Adam(AdamW),
    Sgd(SgdMomentum),
    Radam(Radam),
}

impl Optimizer {
    pub fn new(vars: Vec<Var>, cfg: &OptimConfig, lr: f64) -> Result<Self> {
        Ok(match cfg.kind {
            OptimizerKind::Adam | OptimizerKind::Adamw => {
                let params = ParamsAdamW {
                    lr,
                    beta1: cfg.beta1,
                    beta2: cfg.beta2,
                    eps: cfg.eps,
                    weight_decay: cfg.weight_decay,
                };
                Self::Adam(AdamW::new(vars, params)?)
            }
            OptimizerKind::Sgd => {
                Self::Sgd(SgdMomentum::new(vars, lr, cfg.momentum, cfg.weight_decay))
            }
            OptimizerKind::Radam => Self::Radam(Radam::new(vars, lr, cfg)?),
        })
    }

    pub fn set_lr(&mut self, lr: f64) {
        match self {
            Self::Adam(o) => o.set_learning_rate(lr),
            Self::Sgd(o) => o.lr = lr,
            Self::Radam(o) => o.lr = lr,
        }
    }

    pub fn step(&mut self, grads: &GradStore) -> Result<()> {
        match self {
            Self::Adam(o) => Ok(o.step(grads)?),
            Self::Sgd(o) => o.step(grads),
            Self::Radam(o) => o.step(grads),
        }
    }
}

/// torch.optim.SGD: g += wd * p; buf = mu * buf + g (buf = g at the first step); p -= lr * buf.
pub struct SgdMomentum {
    vars: Vec<(Var, Option<Tensor>)>,
    lr: f64,
    momentum: f64,
    weight_decay: f64,
}

impl SgdMomentum {
    pub fn new(vars: Vec<Var>, lr: f64, momentum: f64, weight_decay: f64) -> Self {
        Self {
            vars: vars.into_iter().map(|v| (v, None)).collect(),
            lr,
            momentum,
            weight_decay,
        }
    }

    pub fn step(&mut self, grads: &GradStore) -> Result<()> {
        for (var, buf) in self.vars.iter_mut() {
            let Some(grad) = grads.get(var) else { continue };
            let mut grad = grad.clone();
            if self.weight_decay > 0.0 {
                grad = (grad + (var.as_tensor() * self.weight_decay)?)?;
            }
            if self.momentum > 0.0 {
                let next = match buf.take() {
                    Some(prev) => ((prev * self.momentum)? + &grad)?,
                    None => grad,
                };
                // Detached: gradients carry their backward graph, and a momentum buffer built
                // from them would keep every earlier step's graph (and activations) alive.
                let next = next.detach();
                grad = next.clone();
                *buf = Some(next);
            }
            var.set(&var.as_tensor().sub(&(grad * self.lr)?)?)?;
        }
        Ok(())
    }
}

/// torch.optim.RAdam (Liu et al. 2020) without weight decay: the variance rectification term r_t
/// replaces warmup; while rho_t <= 5 the update is un-adapted momentum.
pub struct Radam {
    vars: Vec<(Var, Tensor, Tensor)>,
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    step: i32,
}

impl Radam {
    pub fn new(vars: Vec<Var>, lr: f64, cfg: &OptimConfig) -> Result<Self> {
        let vars = vars
            .into_iter()
            .map(|v| {
                let zeros = v.as_tensor().zeros_like()?;
                Ok((v, zeros.clone(), zeros))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            vars,
            lr,
            beta1: cfg.beta1,
            beta2: cfg.beta2,
            eps: cfg.eps,
            step: 0,
        })
    }

    /// (rectification r_t, or None while the variance is intractable) for step t.
    pub fn rectification(beta2: f64, t: i32) -> Option<f64> {
        let rho_inf = 2.0 / (1.0 - beta2) - 1.0;
        let b2t = beta2.powi(t);
        let rho_t = rho_inf - 2.0 * t as f64 * b2t / (1.0 - b2t);
        (rho_t > 5.0).then(|| {
            ((rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
                .sqrt()
        })
    }

    pub fn step(&mut self, grads: &GradStore) -> Result<()> {
        self.step += 1;
        let t = self.step;
        let bias1 = 1.0 - self.beta1.powi(t);
        let bias2 = 1.0 - self.beta2.powi(t);
        let rect = Self::rectification(self.beta2, t);
        for (var, m, v) in self.vars.iter_mut() {
            let Some(grad) = grads.get(var) else { continue };
            // Detached: gradients carry their backward graph, and moments built from them would
            // chain every earlier step's graph (and its activations): 16 GB after ~600 updates.
            *m = ((&*m * self.beta1)? + (grad * (1.0 - self.beta1))?)?.detach();
            *v = ((&*v * self.beta2)? + (grad.sqr()? * (1.0 - self.beta2))?)?.detach();
            let m_hat = (&*m / bias1)?;
            let update = match rect {
                Some(r) => {
                    let denom = (v.sqrt()? + self.eps)?;
                    (m_hat.div(&denom)? * (r * bias2.sqrt()))?
                }
                None => m_hat,
            };
            var.set(&var.as_tensor().sub(&(update * self.lr)?)?)?;
        }
        Ok(())
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
        let mut radam = Radam::new(vec![w.clone()], 1e-3, &OptimConfig::default()).unwrap();
        radam.step(&grads).unwrap();
        for (_, m, v) in &radam.vars {
            assert!(!m.track_op() && !v.track_op());
        }
        let mut sgd = SgdMomentum::new(vec![w.clone()], 1e-3, 0.9, 0.0);
        sgd.step(&grads).unwrap();
        assert!(sgd
            .vars
            .iter()
            .all(|(_, b)| !b.as_ref().unwrap().track_op()));
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
