//! One training update, the only place it is spelled out: forward, backward, gradient norms,
//! divergence check, clipping, optimizer step. The trainer, `bench` and `grad-init
//! --after-warmup` all call `update`, so what `bench` times and what a checkpoint resumes is the
//! update the trainer makes.

use crate::error::Result;
use crate::metrics::{clip_global_norm, GradNorms};
use crate::model::{ParamStore, Transformer};
use crate::optim::Optimizer;
use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Milliseconds of one update, by phase.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct StepTimes {
    pub forward_ms: f64,
    pub backward_ms: f64,
    pub grad_norms_ms: f64,
    pub optimizer_ms: f64,
    pub total_ms: f64,
}

/// What one update measured.
#[derive(Debug, Clone)]
pub struct StepReport {
    pub train_loss: f64,
    pub norms: GradNorms,
    /// Why the update counts as divergence; then the parameters were left unchanged.
    pub diverged: Option<String>,
    pub times: StepTimes,
    /// With `StepRule::keep_grads`: every parameter's gradient in store order, detached and
    /// before clipping (what the probes read).
    pub grads: Option<Vec<Tensor>>,
}

/// The model being trained and where it lives.
pub struct Trainee<'a> {
    pub model: &'a Transformer,
    pub store: &'a ParamStore,
    pub device: &'a Device,
}

/// How to make the update.
#[derive(Debug, Clone, Copy)]
pub struct StepRule {
    pub lr: f64,
    /// `--warmup-groups`: the rate of the parameters outside the groups (`None`: `lr`).
    pub full_lr: Option<f64>,
    /// Clip the global gradient norm to this (torch's clip_grad_norm_).
    pub clip: Option<f64>,
    /// A training loss above this (or a non-finite loss or gradient) is divergence.
    pub diverge_loss: f64,
    /// Wait for the device after each phase (exact phase times on CUDA; `bench`).
    pub sync_phases: bool,
    /// Return the raw gradients in the report (`--probe`); changes nothing the update computes.
    pub keep_grads: bool,
}

/// One update on `batch` with `rule`. On divergence the optimizer is not stepped.
pub fn update(
    t: &Trainee,
    opt: &mut Optimizer,
    batch: &(Tensor, Tensor),
    rule: StepRule,
) -> Result<StepReport> {
    let sync = || -> Result<()> {
        if rule.sync_phases {
            t.device.synchronize()?;
        }
        Ok(())
    };
    let ms = |at: Instant| at.elapsed().as_secs_f64() * 1e3;
    let t0 = Instant::now();
    let (objective, loss) = t.model.objective(&batch.0, &batch.1)?;
    sync()?;
    let forward_ms = ms(t0);
    let t1 = Instant::now();
    let mut grads = objective.backward()?;
    sync()?;
    let backward_ms = ms(t1);
    let t2 = Instant::now();
    let train_loss = loss.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()?;
    let norms = GradNorms::compute(t.store, &grads)?;
    let grad_norms_ms = ms(t2);
    let diverged = divergence(train_loss, norms.global, rule.diverge_loss);
    let kept = match rule.keep_grads {
        true => Some(raw_grads(t.store, &grads)?),
        false => None,
    };
    let t3 = Instant::now();
    if diverged.is_none() {
        if let Some(max_norm) = rule.clip {
            clip_global_norm(t.store, &mut grads, norms.global, max_norm)?;
        }
        opt.set_rates(rule.lr, rule.full_lr.unwrap_or(rule.lr));
        opt.step(&grads)?;
        sync()?;
    }
    let optimizer_ms = ms(t3);
    Ok(StepReport {
        train_loss,
        norms,
        diverged,
        times: StepTimes {
            forward_ms,
            backward_ms,
            grad_norms_ms,
            optimizer_ms,
            total_ms: ms(t0),
        },
        grads: kept,
    })
}

/// Every parameter's gradient, detached, in store order.
fn raw_grads(store: &ParamStore, grads: &candle_core::backprop::GradStore) -> Result<Vec<Tensor>> {
    store
        .named_vars()
        .iter()
        .map(|(name, var)| {
            grads.get(var).map(Tensor::detach).ok_or_else(|| {
                crate::error::Error::Internal(format!("parameter {name} received no gradient"))
            })
        })
        .collect()
}

/// Why this step counts as divergence, if it does.
pub fn divergence(loss: f64, grad_norm: f64, threshold: f64) -> Option<String> {
    if !loss.is_finite() {
        Some(format!("non-finite training loss ({loss})"))
    } else if !grad_norm.is_finite() {
        Some(format!("non-finite gradient norm ({grad_norm})"))
    } else if loss > threshold {
        Some(format!(
            "training loss {loss:.4} above the divergence threshold {threshold:.4}"
        ))
    } else {
        None
    }
}
