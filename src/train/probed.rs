//! One probed update, written once for its three callers (issue 34): the trainer, `lnwarm bench`
//! (what the probes cost) and `lnwarm probe` (the update after a checkpoint). In order: the
//! prober's plan for the update, what it reads before (weights, the measurement batch's loss),
//! the update itself, then, once the caller has done its bookkeeping (the trainer records the
//! update first: a loss-ended warmup moves the warmup's end), what the probes measure after it.

use crate::error::Result;
use crate::optim::Optimizer;
use crate::probe::{Before, Plan, ProbePoint, Prober, StepContext};
use crate::step::{self, StepReport, StepRule, Trainee};
use candle_core::Tensor;

/// An update made, its probes not yet measured.
pub struct ProbedUpdate<'b> {
    pub step: u64,
    pub report: StepReport,
    batch: &'b (Tensor, Tensor),
    lr: f64,
    /// The plan and the reading before the update (None without a prober).
    probing: Option<(Plan, Before)>,
}

impl<'b> ProbedUpdate<'b> {
    /// Make update `step` on `batch` with `rule`; with a prober, read first what its plan for
    /// this update needs (`plan`: the prober's own when None) and keep the gradients it needs.
    pub fn run(
        trainee: &Trainee,
        opt: &mut Optimizer,
        prober: Option<&Prober>,
        plan: Option<Plan>,
        (step, batch): (u64, &'b (Tensor, Tensor)),
        rule: StepRule,
    ) -> Result<Self> {
        let probing = match prober {
            Some(pr) => {
                let plan = plan.unwrap_or_else(|| pr.plan(step));
                Some((plan, pr.before(plan, trainee.model, trainee.store)?))
            }
            None => None,
        };
        let keep_grads = rule.keep_grads || probing.as_ref().is_some_and(|(p, _)| p.keep_grads);
        let report = step::update(trainee, opt, batch, StepRule { keep_grads, ..rule })?;
        Ok(Self {
            step,
            report,
            batch,
            lr: rule.lr,
            probing,
        })
    }

    /// What the probes measure after the update (None when nothing was due, without a prober,
    /// or when the update diverged: its weights were left as they were).
    pub fn measure(
        self,
        prober: Option<&mut Prober>,
        trainee: &Trainee,
        opt: &Optimizer,
        warmup_end: u64,
    ) -> Result<Option<ProbePoint>> {
        let (Some(prober), Some((plan, before))) = (prober, self.probing) else {
            return Ok(None);
        };
        if self.report.diverged.is_some() {
            return Ok(None);
        }
        let ctx = StepContext {
            model: trainee.model,
            store: trainee.store,
            opt,
            train_batch: self.batch,
            report: &self.report,
            lr: self.lr,
            warmup_end,
        };
        prober.after(self.step, plan, before, &ctx)
    }
}
