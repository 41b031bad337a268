//! The arms of a where-warmup-acts study (issue 32) and the probe quantities its accounts read:
//! which group of a study folder is no warmup (N), warmup (W), warmup on a parameter group or on
//! all but it, an intervention without warmup, or a shorter warmup; the rules are in
//! `claims::accounts` (docs/studies/where-warmup-acts/rules.md).

use super::chances::Between;
use super::interventions::{Intervention, Kind};
use super::ALPHA;
use crate::analysis::{Group, Loaded};
use crate::config::{Arch, OptimizerKind};
use crate::probe::ProbeKind;
use crate::results::RunResult;

/// The parameter groups of the study, in the rules' order; the first five partition Post-LN's
/// parameters (the second stage's union is taken over them).
pub const GROUPS: [&str; 7] = [
    "attn-qk", "attn-vo", "ffn", "norms", "embed", "top:2", "bottom:2",
];
pub(super) const TYPE_GROUPS: usize = 5;

/// The update at which the manipulation checks read the probe quantities.
pub const CHECK_UPDATE: u64 = 20;

/// Planning assumptions of the design check (rules.md): the failure rates of no warmup and of
/// linear warmup 100 at 4e-3, from why-warmup-cpu (6/6 and 0/6 in Parts A and C), moved toward
/// each other so that the check errs against the design.
pub const PLAN_P_NONE: f64 = 0.9;
pub const PLAN_P_WARM: f64 = 0.05;

/// The quantity an account predicts moves without warmup, read from a probe point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    /// Geometric mean over blocks of the RMS gradient of `attn.q.weight` (`update` probe).
    QueryGradient,
    /// Mean over blocks of the share of FFN units inactive on the whole probe batch (`units`).
    InactiveUnits,
    /// Mean log Z of the output logits (`attention` probe).
    LogZ,
}

impl Quantity {
    pub fn name(self) -> &'static str {
        match self {
            Quantity::QueryGradient => {
                "RMS gradient of the attention queries (geometric mean over blocks)"
            }
            Quantity::InactiveUnits => {
                "share of FFN units inactive on the whole probe batch (mean over blocks)"
            }
            Quantity::LogZ => "mean log Z of the output logits",
        }
    }

    /// The predicted direction: no warmup lower than warmup (else higher).
    pub fn lower_without_warmup(self) -> bool {
        self == Quantity::QueryGradient
    }

    fn at(self, p: &crate::probe::ProbePoint) -> Option<f64> {
        match self {
            Quantity::QueryGradient => p.query_gradient(),
            Quantity::InactiveUnits => p.mean_ffn_inactive(),
            Quantity::LogZ => p.attention.as_ref().map(|a| a.log_z_mean),
        }
    }

    /// The quantity of `run` at `step`, if measured there.
    fn of_run(self, run: &RunResult, step: u64) -> Option<f64> {
        run.probes
            .iter()
            .find(|p| p.step == step)
            .and_then(|p| self.at(p))
    }

    /// Every seed's value at `step` (seeds that did not measure it are left out).
    pub(super) fn values(self, g: &Group, step: u64) -> Vec<f64> {
        g.runs.iter().filter_map(|r| self.of_run(r, step)).collect()
    }

    /// `a`'s seeds all lie on no warmup's side of every seed of `b`.
    fn separated(self, a: &[f64], b: &[f64]) -> bool {
        if a.is_empty() || b.is_empty() {
            return false;
        }
        let (a_lo, a_hi) = range(a);
        let (b_lo, b_hi) = range(b);
        match self.lower_without_warmup() {
            true => a_hi < b_lo,
            false => a_lo > b_hi,
        }
    }

    /// The first measured update >= 1 at which `a` separates from `b` toward no warmup's side.
    pub(super) fn first_separation(self, a: &Group, b: &Group) -> Option<u64> {
        let mut steps: Vec<u64> = a.runs[0].probes.iter().map(|p| p.step).collect();
        steps.retain(|&s| s >= 1);
        steps
            .into_iter()
            .find(|&s| self.separated(&self.values(a, s), &self.values(b, s)))
    }
}

pub(super) fn range(v: &[f64]) -> (f64, f64) {
    v.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        })
}

pub(super) fn median(v: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    })
}

/// The arms of a where-warmup-acts study.
pub struct Arms<'a> {
    pub lr: f64,
    pub none: &'a Group,
    pub warm: &'a Group,
    /// Warmup on the group only / on all but it, by group spec.
    pub only: Vec<(String, &'a Group)>,
    pub all_but: Vec<(String, &'a Group)>,
    pub qk_norm: Option<&'a Group>,
    pub gelu: Option<&'a Group>,
    pub z_loss: Vec<(f64, &'a Group)>,
    /// Plain linear warmups shorter than W's, by length.
    pub ladder: Vec<(u64, &'a Group)>,
    /// N and W again with the sharpness probes (description only), by warmup length.
    pub sharp: Vec<(u64, &'a Group)>,
}

/// Adam Post-LN with nothing changed but what `which` allows (and no sharpness probe: those
/// arms repeat N and W for the sharpness description only).
fn plain(g: &Group) -> bool {
    let c = &g.runs[0].config;
    c.optim.kind == OptimizerKind::Adam
        && super::substitute_of(g).is_none()
        && !c.probe.names.contains(&ProbeKind::Sharpness)
        && g.arch() == Some(Arch::PostLn)
}

fn bare(g: &Group) -> bool {
    let c = &g.runs[0].config;
    plain(g) && c.schedule.warmup.groups.is_none() && Intervention::of(c, Kind::Model).is_none()
}

pub(super) fn steps(g: &Group) -> u64 {
    g.runs[0].config.schedule.warmup.steps
}

impl<'a> Arms<'a> {
    /// None for a study without group-warmup arms (the verdicts of this module do not apply).
    pub fn of(loaded: &'a Loaded) -> Option<Self> {
        let groups = &loaded.groups;
        let has_groups = groups
            .iter()
            .any(|g| g.runs[0].config.schedule.warmup.groups.is_some());
        if !has_groups {
            return None;
        }
        let none = groups.iter().find(|g| bare(g) && steps(g) == 0)?;
        let lr = super::peak(none);
        let at_lr = |g: &&Group| super::peak(g) == lr;
        let warm_len = groups
            .iter()
            .filter(at_lr)
            .filter(|g| g.runs[0].config.schedule.warmup.groups.is_some())
            .map(steps)
            .max()?;
        let warm = groups
            .iter()
            .filter(at_lr)
            .find(|g| bare(g) && steps(g) == warm_len)?;
        let mut arms = Arms {
            lr,
            none,
            warm,
            only: Vec::new(),
            all_but: Vec::new(),
            qk_norm: None,
            gelu: None,
            z_loss: Vec::new(),
            ladder: Vec::new(),
            sharp: Vec::new(),
        };
        arms.sharp = groups
            .iter()
            .filter(at_lr)
            .filter(|g| g.runs[0].config.probe.names.contains(&ProbeKind::Sharpness))
            .map(|g| (steps(g), g))
            .collect();
        arms.sharp.sort_by_key(|(w, _)| *w);
        for g in groups.iter().filter(at_lr).filter(|g| plain(g)) {
            arms.place(g, warm_len);
        }
        arms.ladder.sort_by_key(|(w, _)| *w);
        arms.z_loss.sort_by(|a, b| a.0.total_cmp(&b.0));
        Some(arms)
    }

    fn place(&mut self, g: &'a Group, warm_len: u64) {
        let c = &g.runs[0].config;
        let m = &c.model;
        if let Some(spec) = &c.schedule.warmup.groups {
            match spec.strip_prefix('!') {
                Some(rest) => self.all_but.push((rest.to_string(), g)),
                None => self.only.push((spec.clone(), g)),
            }
            return;
        }
        // An intervention arm changes the model in exactly one way and has no warmup.
        let changes = Intervention::all_of(c, Kind::Model);
        if steps(g) != 0 || changes.len() != 1 {
            if bare(g) && steps(g) > 0 && steps(g) < warm_len {
                self.ladder.push((steps(g), g));
            }
            return;
        }
        match changes[0] {
            Intervention::QkNorm => self.qk_norm = Some(g),
            Intervention::ZLoss => self.z_loss.push((m.z_loss.unwrap_or_default(), g)),
            Intervention::Gelu => self.gelu = Some(g),
            _ => {}
        }
    }

    pub(super) fn only_of(&self, spec: &str) -> Option<&'a Group> {
        self.only.iter().find(|(s, _)| s == spec).map(|(_, g)| *g)
    }

    pub(super) fn all_but_of(&self, spec: &str) -> Option<&'a Group> {
        self.all_but
            .iter()
            .find(|(s, _)| s == spec)
            .map(|(_, g)| *g)
    }

    /// The single-group arms' Bonferroni level (α over the groups of the family).
    pub(super) fn group_level(&self) -> f64 {
        ALPHA / GROUPS.len() as f64
    }

    /// The interventions' level: α over every arm that changes the model instead of the rate.
    pub(super) fn intervention_level(&self) -> f64 {
        let k = self.qk_norm.iter().count() + self.gelu.iter().count() + self.z_loss.len();
        ALPHA / k.max(1) as f64
    }

    pub(super) fn ladder_level(&self) -> f64 {
        ALPHA / self.ladder.len().max(1) as f64
    }

    pub(super) fn between(&self, arm: &Group, level: f64) -> Between {
        Between::of(
            arm.failures(),
            self.none.failures(),
            self.warm.failures(),
            level,
        )
    }
}
