//! torch.optim.RAdam (Liu et al. 2020, "On the Variance of the Adaptive Learning Rate and Beyond")
//! without weight decay: the variance rectification term r_t replaces warmup; while rho_t <= 5 the
//! update is un-adapted momentum. candle-nn has no RAdam.

use super::{NamedState, Rates, StateTensors, Substitutes};
use crate::config::OptimConfig;
use crate::error::Result;
use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};

pub struct Radam {
    /// (name, parameter, first moment, second moment).
    pub(super) slots: Vec<(String, Var, Tensor, Tensor)>,
    pub(super) rates: Rates,
    beta1: f64,
    pub(super) beta2: f64,
    pub(super) eps: f64,
    pub(super) step: i32,
    /// `--freeze-top`: the updates each slot sat out (its t counts only its own updates).
    substitutes: Substitutes,
}

impl Radam {
    pub fn new(
        vars: &[(String, Var)],
        lr: f64,
        cfg: &OptimConfig,
        substitutes: &Substitutes,
    ) -> Result<Self> {
        let slots = vars
            .iter()
            .map(|(n, v)| {
                let zeros = v.as_tensor().zeros_like()?;
                Ok((n.clone(), v.clone(), zeros.clone(), zeros))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            slots,
            rates: Rates::new(lr),
            beta1: cfg.beta1,
            beta2: cfg.beta2,
            eps: cfg.eps,
            step: 0,
            substitutes: substitutes.clone(),
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
        for (i, (_, var, m, v)) in self.slots.iter_mut().enumerate() {
            let Some(grad) = grads.get(var) else { continue };
            // A parameter frozen by `--freeze-top` starts as a fresh one: t counts its own
            // updates (as for Adam), so its bias corrections and r_t restart.
            let t = self.step - self.substitutes.skipped(i, self.step as u64) as i32;
            let bias1 = 1.0 - self.beta1.powi(t);
            let bias2 = 1.0 - self.beta2.powi(t);
            // Detached: gradients carry their backward graph, and moments built from them would
            // chain every earlier step's graph (and its activations): 16 GB after ~600 updates.
            *m = ((&*m * self.beta1)? + (grad * (1.0 - self.beta1))?)?.detach();
            *v = ((&*v * self.beta2)? + (grad.sqr()? * (1.0 - self.beta2))?)?.detach();
            let m_hat = (&*m / bias1)?;
            let update = match Self::rectification(self.beta2, t) {
                Some(r) => {
                    let denom = (v.sqrt()? + self.eps)?;
                    (m_hat.div(&denom)? * (r * bias2.sqrt()))?
                }
                None => m_hat,
            };
            var.set(&var.as_tensor().sub(&(update * self.rates.of(i))?)?)?;
        }
        Ok(())
    }
}

impl NamedState for Radam {
    fn state(&self) -> StateTensors {
        let mut out = StateTensors::with_step(self.step as u64);
        for (name, _, m, v) in &self.slots {
            out.push(format!("{name}.exp_avg"), m.clone());
            out.push(format!("{name}.exp_avg_sq"), v.clone());
        }
        out
    }

    fn load_state(&mut self, state: &StateTensors) -> Result<()> {
        self.step = i32::try_from(state.step()?)
            .map_err(|_| crate::error::Error::Internal("optimizer step out of range".into()))?;
        for (name, var, m, v) in self.slots.iter_mut() {
            *m = state.like(&format!("{name}.exp_avg"), var.as_tensor())?;
            *v = state.like(&format!("{name}.exp_avg_sq"), var.as_tensor())?;
        }
        Ok(())
    }
}
