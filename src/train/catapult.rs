//! `--lr-init catapult`: the warmup's starting rate found by the loss-catapult search of Kalra &
//! Barkeshli 2024 ("Why Warmup the Learning Rate?", arXiv 2406.09405, §6: the initial rate from
//! the catapult mechanism, an estimate of the critical rate, found with forward passes only).
//! On the initial model and one batch of its own (not from the training stream): the loss L0
//! and its gradient; then, from 1e-4, the rate doubles until one update of the run's optimizer
//! at it lifts the loss above L0·(1 + δ), δ = 0.01 (theirs for Adam); then 4 geometric
//! bisections between the last rate that stayed and the first that rose. The warmup then
//! ramps from the largest rate that stayed (capped at the peak) instead of `start_factor`.
//! Every trial starts from the initial weights and a fresh optimizer; the weights are restored
//! after each, so the run starts from the model it was built with. Deterministic: a resumed
//! run repeats the search and finds the same rate.

use crate::config::RunConfig;
use crate::error::Result;
use crate::model::{ParamStore, Transformer};
use crate::optim::Optimizer;
use crate::results::CatapultSearch;
use candle_core::backprop::GradStore;
use candle_core::Tensor;

/// The first rate tried.
pub const FIRST_RATE: f64 = 1e-4;
/// A trial "rises" when its loss exceeds L0·(1 + DELTA).
pub const DELTA: f64 = 0.01;
/// Geometric bisections after the first rise.
pub const BISECTIONS: usize = 4;
/// Doublings before the search gives up (1e-4 · 2^30 ≈ 1e5: no model of interest gets there).
pub const MAX_DOUBLINGS: usize = 30;

/// The loss after one update at `rate` from the current weights, which are then put back.
fn trial(
    cfg: &RunConfig,
    model: &Transformer,
    store: &ParamStore,
    grads: &GradStore,
    batch: &(Tensor, Tensor),
    rate: f64,
) -> Result<f64> {
    let saved = store
        .named_vars()
        .iter()
        .map(|(_, v)| Ok(v.as_tensor().copy()?))
        .collect::<Result<Vec<_>>>()?;
    let mut opt = Optimizer::new(store.named_vars(), &cfg.optim, rate)?;
    opt.step(grads)?;
    let loss = scalar(&model.loss(&batch.0, &batch.1)?)?;
    for ((_, var), value) in store.named_vars().iter().zip(saved) {
        var.set(&value)?;
    }
    Ok(loss)
}

fn scalar(loss: &Tensor) -> Result<f64> {
    Ok(loss.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()?)
}

/// Run the search on the initial model with its search batch.
pub fn search(
    cfg: &RunConfig,
    model: &Transformer,
    store: &ParamStore,
    batch: &(Tensor, Tensor),
) -> Result<CatapultSearch> {
    let loss = model.loss(&batch.0, &batch.1)?;
    let loss_at_init = scalar(&loss)?;
    let grads = loss.backward()?;
    let threshold = loss_at_init * (1.0 + DELTA);
    let mut trials = Vec::new();
    let mut try_rate = |rate: f64| -> Result<bool> {
        let after = trial(cfg, model, store, &grads, batch, rate)?;
        trials.push((rate, after));
        // A non-finite loss rises.
        Ok(after <= threshold)
    };
    let (mut stayed, mut rose) = (0.0, FIRST_RATE);
    for _ in 0..MAX_DOUBLINGS {
        if !try_rate(rose)? {
            break;
        }
        stayed = rose;
        rose *= 2.0;
    }
    for _ in 0..BISECTIONS {
        let mid = if stayed > 0.0 {
            (stayed * rose).sqrt()
        } else {
            rose / 2.0
        };
        if try_rate(mid)? {
            stayed = mid;
        } else {
            rose = mid;
        }
    }
    let forward_passes = 1 + trials.len();
    Ok(CatapultSearch {
        loss_at_init,
        threshold,
        trials,
        rate: stayed,
        forward_passes,
    })
}
