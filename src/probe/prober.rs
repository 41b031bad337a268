//! When each probe is measured in a run, and the state kept between measurements (warm starts,
//! drift references, the previous gradient). The trainer asks for a `Plan` before each update,
//! hands over what it needs (`before`), makes the update, then calls `after`.

use super::eigen::LanczosRule;
use super::hvp::Shadow;
use super::record::{Drift, Overfit, ProbePoint};
use super::sharpness::SharpnessState;
use super::{attention, cka, gradhist, update, ProbeConfig, ProbeKind};
use crate::config::{OptimizerKind, RunConfig};
use crate::error::Result;
use crate::model::{ParamStore, Transformer};
use crate::optim::Optimizer;
use crate::step::StepReport;
use candle_core::{DType, Tensor};
use std::collections::HashMap;
use std::time::Instant;

/// What an update must provide for the probes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Plan {
    /// The probes measure after this update (update 0 is `at_init`).
    pub measure: bool,
    /// `gradhist` takes this update's gradient.
    pub hist: bool,
    /// The update must return its raw gradients (`StepRule::keep_grads`).
    pub keep_grads: bool,
}

impl Plan {
    /// Every probe after this update, the histogram too where `gradhist` is on: what `lnwarm
    /// bench` times and `lnwarm probe` measures.
    pub fn everything(cfg: &ProbeConfig) -> Self {
        Plan {
            measure: true,
            hist: cfg.has(ProbeKind::Gradhist),
            keep_grads: true,
        }
    }
}

/// What was read before the update.
pub struct Before {
    weights: Option<Vec<Tensor>>,
    probe_loss: Option<f64>,
}

/// The trainer's state right after an update.
pub struct StepContext<'a> {
    pub model: &'a Transformer,
    pub store: &'a ParamStore,
    pub opt: &'a Optimizer,
    pub train_batch: &'a (Tensor, Tensor),
    pub report: &'a StepReport,
    /// The rate of the update just made.
    pub lr: f64,
    /// The update that ends warmup (0 without warmup).
    pub warmup_end: u64,
}

/// The probes of one run.
pub struct Prober {
    cfg: ProbeConfig,
    run: RunConfig,
    vocab: usize,
    batch: (Tensor, Tensor),
    names: Vec<String>,
    shadow: Option<Shadow>,
    sharpness: SharpnessState,
    drift_init: Option<Vec<Vec<f64>>>,
    drift_warmup_end: Option<Vec<Vec<f64>>>,
    /// The previous update's raw gradient (for `overfit`'s cosine), and its update number.
    previous_grads: Option<(u64, Vec<Tensor>)>,
}

impl Prober {
    /// The probes `run.probe` asks for (validated with the run config), measured on the first
    /// windows of `val_tokens`; `None` when no probe is on.
    pub fn new(
        run: &RunConfig,
        val_tokens: &[u32],
        vocab: usize,
        store: &ParamStore,
    ) -> Result<Option<Self>> {
        let cfg = run.probe.clone();
        if cfg.names.is_empty() {
            return Ok(None);
        }
        let device = store.device();
        let batch = super::measurement_batch(val_tokens, run.data.seq_len, cfg.batch, device)?;
        Ok(Some(Self {
            names: store.named_vars().iter().map(|(n, _)| n.clone()).collect(),
            cfg,
            run: run.clone(),
            vocab,
            batch,
            shadow: None,
            sharpness: SharpnessState::default(),
            drift_init: None,
            drift_warmup_end: None,
            previous_grads: None,
        }))
    }

    fn has(&self, kind: ProbeKind) -> bool {
        self.cfg.has(kind)
    }

    fn due(&self, step: u64) -> bool {
        self.cfg.every.due(step) || step == self.run.train.steps
    }

    /// What update `step` must provide.
    pub fn plan(&self, step: u64) -> Plan {
        let measure = self.due(step);
        let hist = self.has(ProbeKind::Gradhist) && step <= self.cfg.gradhist_updates;
        let grads_now = measure && (self.has(ProbeKind::Update) || self.has(ProbeKind::Overfit));
        let grads_next = self.has(ProbeKind::Overfit) && self.due(step + 1);
        Plan {
            measure,
            hist,
            keep_grads: hist || grads_now || grads_next,
        }
    }

    /// Read what the measurement after the update compares against: the weights (`update`) and
    /// the loss on the measurement batch (`overfit`).
    pub fn before(&self, plan: Plan, model: &Transformer, store: &ParamStore) -> Result<Before> {
        let weights = match plan.measure && self.has(ProbeKind::Update) {
            true => Some(
                store
                    .named_vars()
                    .iter()
                    .map(|(_, v)| Ok(v.as_tensor().copy()?))
                    .collect::<Result<Vec<_>>>()?,
            ),
            false => None,
        };
        let probe_loss = match plan.measure && self.has(ProbeKind::Overfit) {
            true => Some(self.probe_loss(model)?),
            false => None,
        };
        Ok(Before {
            weights,
            probe_loss,
        })
    }

    /// The measurements at the initial weights (update 0): those that need no update.
    pub fn at_init(
        &mut self,
        model: &Transformer,
        store: &ParamStore,
        first_lr: f64,
    ) -> Result<ProbePoint> {
        self.at(model, store, first_lr, None, 0)
    }

    /// The measurements that need no update, at the current weights of update `step`: with
    /// `adam` (a checkpoint's optimizer, `lnwarm probe --from`) Adam's preconditioned sharpness
    /// too, at that second moment; `lr` is the rate of the next update.
    pub fn at(
        &mut self,
        model: &Transformer,
        store: &ParamStore,
        lr: f64,
        adam: Option<&crate::optim::SecondMoment>,
        step: u64,
    ) -> Result<ProbePoint> {
        let mut point = ProbePoint::default();
        self.common(&mut point, model, store, lr, adam, step)?;
        Ok(point)
    }

    /// After update `step`: stash what the next update needs, and measure if due.
    pub fn after(
        &mut self,
        step: u64,
        plan: Plan,
        before: Before,
        ctx: &StepContext,
    ) -> Result<Option<ProbePoint>> {
        if self.has(ProbeKind::Drift) && step == ctx.warmup_end && ctx.warmup_end > 0 {
            self.drift_warmup_end = Some(block_outputs(ctx.model, &self.batch.0)?);
        }
        let grads = ctx.report.grads.as_deref();
        let mut point = ProbePoint {
            step,
            ..ProbePoint::default()
        };
        if plan.hist {
            if let Some(g) = grads {
                let t = Instant::now();
                point.gradhist = Some(gradhist::histogram(&self.names, g)?);
                point.ms.insert("gradhist".into(), ms(t));
            }
        }
        if plan.measure {
            self.measure(&mut point, step, before, ctx)?;
        }
        if self.has(ProbeKind::Overfit) && self.due(step + 1) {
            self.previous_grads = grads.map(|g| (step, g.to_vec()));
        }
        let any = plan.measure || point.gradhist.is_some();
        Ok(any.then_some(point))
    }

    fn measure(
        &mut self,
        point: &mut ProbePoint,
        step: u64,
        before: Before,
        ctx: &StepContext,
    ) -> Result<()> {
        let adam = ctx.opt.second_moment()?;
        self.common(point, ctx.model, ctx.store, ctx.lr, adam.as_ref(), step)?;
        let grads = ctx.report.grads.as_deref();
        if let (Some(w0), Some(g)) = (&before.weights, grads) {
            let t = Instant::now();
            let now: Vec<Tensor> = ctx
                .store
                .named_vars()
                .iter()
                .map(|(_, v)| v.as_tensor().clone())
                .collect();
            point.update = Some(update::update_stats(
                &self.names,
                w0,
                &now,
                g,
                adam.as_ref(),
            )?);
            point.ms.insert("update".into(), ms(t));
        }
        if let Some(probe_before) = before.probe_loss {
            let t = Instant::now();
            let (x, y) = ctx.train_batch;
            let train_after = scalar(&ctx.model.loss(x, y)?)?;
            let probe_after = self.probe_loss(ctx.model)?;
            let train_before = ctx.report.train_loss;
            let grad_cosine = match (&self.previous_grads, grads) {
                (Some((prev_step, prev)), Some(g)) if prev_step + 1 == step => {
                    update::gradient_cosine(prev, g)?
                }
                _ => None,
            };
            point.overfit = Some(Overfit {
                train_before,
                train_after,
                probe_before,
                probe_after,
                gap: (train_before - train_after) - (probe_before - probe_after),
                grad_cosine,
            });
            point.ms.insert("overfit".into(), ms(t));
        }
        Ok(())
    }

    /// The probes measured at update 0 too: sharpness, drift, attention (and Adam's
    /// preconditioned sharpness once there is a second moment).
    fn common(
        &mut self,
        point: &mut ProbePoint,
        model: &Transformer,
        store: &ParamStore,
        lr: f64,
        adam: Option<&crate::optim::SecondMoment>,
        step: u64,
    ) -> Result<()> {
        point.step = step;
        let rule = LanczosRule {
            max_steps: self.cfg.lanczos_steps,
            tol: self.cfg.lanczos_tol,
            seed: self.run.train.seed,
        };
        let wants_adam = self.has(ProbeKind::AdamSharpness) && adam.is_some();
        if self.has(ProbeKind::Sharpness) || wants_adam {
            self.sync_shadow(store)?;
        }
        if self.has(ProbeKind::Sharpness) {
            let t = Instant::now();
            let momentum = match self.run.optim.kind {
                OptimizerKind::Sgd => self.run.optim.momentum,
                _ => 0.0,
            };
            let shadow = self.shadow.as_ref().expect("synced above");
            let smallest = self.cfg.smallest;
            point.sharpness = Some(self.sharpness.raw(shadow, rule, (lr, momentum), smallest)?);
            point.ms.insert("sharpness".into(), ms(t));
        }
        if let (true, Some(adam)) = (wants_adam, adam) {
            let t = Instant::now();
            let shadow = self.shadow.as_ref().expect("synced above");
            let beta1 = self.run.optim.beta1;
            point.adam_sharpness = Some(
                self.sharpness
                    .preconditioned(shadow, rule, lr, beta1, adam)?,
            );
            point.ms.insert("adam-sharpness".into(), ms(t));
        }
        if self.has(ProbeKind::Drift) {
            let t = Instant::now();
            point.drift = Some(self.drift(model)?);
            point.ms.insert("drift".into(), ms(t));
        }
        if self.has(ProbeKind::Attention) {
            let t = Instant::now();
            point.attention = Some(attention::attention_stats(model, &self.batch.0)?);
            point.ms.insert("attention".into(), ms(t));
        }
        if self.has(ProbeKind::Units) {
            let t = Instant::now();
            point.ffn_inactive = Some(super::units::inactive_units(model, &self.batch.0)?);
            point.ms.insert("units".into(), ms(t));
        }
        Ok(())
    }

    /// Set the drift reference at update 0 from `model` (a resumed run rebuilds its initial
    /// model for this).
    pub fn set_initial_reference(&mut self, initial: &Transformer) -> Result<()> {
        if self.has(ProbeKind::Drift) {
            self.drift_init = Some(block_outputs(initial, &self.batch.0)?);
        }
        Ok(())
    }

    /// What a checkpoint keeps of the probes (`probe.safetensors`): the warmup-end drift
    /// reference, the sharpness warm starts and the previous gradient. The update-0 reference
    /// is rebuilt from the seed instead.
    pub fn state(&self) -> Result<HashMap<String, Tensor>> {
        let cpu = candle_core::Device::Cpu;
        let mut out = HashMap::new();
        if let Some(refs) = &self.drift_warmup_end {
            for (l, r) in refs.iter().enumerate() {
                out.insert(
                    format!("drift.warmup_end.{l}"),
                    Tensor::from_slice(r, r.len(), &cpu)?,
                );
            }
        }
        for (name, v) in self.sharpness.warm_starts() {
            out.insert(
                format!("sharpness.{name}"),
                Tensor::from_slice(v, v.len(), &cpu)?,
            );
        }
        if let Some((step, grads)) = &self.previous_grads {
            out.insert(
                "previous_grads.step".into(),
                Tensor::new(&[*step as i64], &cpu)?,
            );
            for (name, g) in self.names.iter().zip(grads) {
                out.insert(format!("previous_grads.{name}"), g.to_device(&cpu)?);
            }
        }
        Ok(out)
    }

    /// Continue from `state` (written by `state` in the same run).
    pub fn load_state(&mut self, state: &HashMap<String, Tensor>) -> Result<()> {
        let vec_of = |t: &Tensor| t.to_dtype(DType::F64)?.to_vec1::<f64>();
        let blocks = self.run.model.n_layers;
        let refs = (0..blocks)
            .map(|l| {
                state
                    .get(&format!("drift.warmup_end.{l}"))
                    .map(vec_of)
                    .transpose()
            })
            .collect::<candle_core::Result<Option<Vec<_>>>>()?;
        self.drift_warmup_end = refs;
        let raw = state.get("sharpness.raw").map(vec_of).transpose()?;
        let adam = state.get("sharpness.adam").map(vec_of).transpose()?;
        let bottom = state.get("sharpness.bottom").map(vec_of).transpose()?;
        self.sharpness.set_warm_starts(raw, adam, bottom);
        self.previous_grads = match state.get("previous_grads.step") {
            Some(step) => {
                let step = step.to_vec1::<i64>()?[0] as u64;
                let grads = self
                    .names
                    .iter()
                    .map(|n| {
                        state
                            .get(&format!("previous_grads.{n}"))
                            .cloned()
                            .ok_or_else(|| {
                                crate::error::Error::Internal(format!(
                                    "probe state: no previous_grads.{n}"
                                ))
                            })
                    })
                    .collect::<Result<Vec<_>>>()?;
                Some((step, grads))
            }
            None => None,
        };
        Ok(())
    }

    fn drift(&mut self, model: &Transformer) -> Result<Drift> {
        let now = block_outputs(model, &self.batch.0)?;
        let init = self.drift_init.get_or_insert_with(|| now.clone());
        let d = self.run.model.d_model;
        let cka_of = |refs: &Vec<Vec<f64>>| -> Vec<f64> {
            refs.iter()
                .zip(&now)
                .map(|(r, x)| cka::linear_cka(r, d, x, d))
                .collect()
        };
        Ok(Drift {
            cka_init: cka_of(init),
            cka_warmup_end: self.drift_warmup_end.as_ref().map(cka_of),
        })
    }

    fn sync_shadow(&mut self, store: &ParamStore) -> Result<()> {
        if self.shadow.is_none() {
            self.shadow = Some(Shadow::new(&self.run, self.vocab, self.batch.clone())?);
        }
        self.shadow.as_mut().expect("built above").sync(store)
    }

    fn probe_loss(&self, model: &Transformer) -> Result<f64> {
        scalar(&model.loss(&self.batch.0, &self.batch.1)?)
    }
}

/// Each block's output on `ids`, flattened (B·T·d) in f64.
fn block_outputs(model: &Transformer, ids: &Tensor) -> Result<Vec<Vec<f64>>> {
    let probe = model.hidden_states(ids)?;
    probe.entering[1..]
        .iter()
        .map(|t| Ok(t.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?))
        .collect()
}

fn scalar(t: &Tensor) -> Result<f64> {
    Ok(t.to_dtype(DType::F64)?.to_scalar::<f64>()?)
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}
