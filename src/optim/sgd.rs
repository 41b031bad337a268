//! SGD with optional momentum and L2 weight decay, torch.optim.SGD's update rule (candle-nn has
//! no momentum): g += wd * p; buf = mu * buf + g (buf = g at the first step); p -= lr * buf.

use super::{NamedState, Rates, StateTensors};
use crate::error::Result;
use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};

pub struct SgdMomentum {
    /// (name, parameter, momentum buffer: none before the first step, as in torch).
    pub(super) slots: Vec<(String, Var, Option<Tensor>)>,
    pub(super) rates: Rates,
    momentum: f64,
    weight_decay: f64,
    pub(super) step: u64,
}

impl SgdMomentum {
    pub fn new(vars: &[(String, Var)], lr: f64, momentum: f64, weight_decay: f64) -> Self {
        Self {
            slots: vars
                .iter()
                .map(|(n, v)| (n.clone(), v.clone(), None))
                .collect(),
            rates: Rates::new(lr),
            momentum,
            weight_decay,
            step: 0,
        }
    }

    pub fn step(&mut self, grads: &GradStore) -> Result<()> {
        self.step += 1;
        for (i, (_, var, buf)) in self.slots.iter_mut().enumerate() {
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
            var.set(&var.as_tensor().sub(&(grad * self.rates.of(i))?)?)?;
        }
        Ok(())
    }
}

impl NamedState for SgdMomentum {
    fn state(&self) -> StateTensors {
        let mut out = StateTensors::with_step(self.step);
        for (name, _, buf) in &self.slots {
            if let Some(buf) = buf {
                out.push(format!("{name}.momentum_buffer"), buf.clone());
            }
        }
        out
    }

    fn load_state(&mut self, state: &StateTensors) -> Result<()> {
        self.step = state.step()?;
        let momentum = self.momentum > 0.0 && self.step > 0;
        for (name, var, buf) in self.slots.iter_mut() {
            *buf = if momentum {
                Some(state.like(&format!("{name}.momentum_buffer"), var.as_tensor())?)
            } else {
                None
            };
        }
        Ok(())
    }
}
