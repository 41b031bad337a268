//! Schedule flags shared by training and `lnwarm schedule`: `--warmup N --warmup-kind K --decay K`
//! plus the decay's parameters. A parameter the chosen decay does not take is an error, so a
//! typo never silently changes nothing.

use crate::error::Result;
use crate::schedule::{Decay, ScheduleConfig, Warmup, WarmupKind, WsdShape};
use crate::usage;
use clap::Args;
use serde_json::Value;

pub use crate::schedule::DecayKind;

/// Warmup and decay flags.
#[derive(Debug, Args, Default, Clone)]
pub struct ScheduleArgs {
    /// Warmup updates; with no --warmup-kind: linear (0 = no warmup). Default decay after it:
    /// inverse-sqrt lr*sqrt(N/t), the paper's schedule.
    #[arg(long, value_name = "N", value_parser = parse_steps)]
    pub warmup: Option<u64>,
    /// Warmup ramp.
    #[arg(long, value_enum, value_name = "KIND")]
    pub warmup_kind: Option<WarmupKind>,
    /// Updates held at the peak after warmup before the decay starts (optax transition_begin).
    #[arg(long, value_name = "N", value_parser = parse_steps)]
    pub warmup_hold: Option<u64>,
    /// Update t reads the schedule at step t - 1 + ORIGIN: 0 as TF, Keras, PyTorch, HF, optax and
    /// fairseq; 1 as the paper's Noam [default: 1].
    #[arg(long, value_name = "0|1")]
    pub step_origin: Option<u8>,
    /// Fraction of the peak the warmup starts from (linear 0, exponential 0.01, constant 0.1).
    #[arg(long, value_name = "F")]
    pub warmup_start_factor: Option<f64>,
    /// Constant warmup only: end it when the training loss first drops below L (He et al. 2016).
    #[arg(long, value_name = "L")]
    pub warmup_until_loss: Option<f64>,
    /// Training: the warmup applies only to these parameter groups (`!SPEC`: to all but them);
    /// the rest run at the full rate from update 1. SPEC: comma-separated groups from attn-qk,
    /// attn-vo, ffn, norms, embed, scales, blocks:A-B, top:K, bottom:K (docs/training.md).
    #[arg(long, value_name = "SPEC", allow_hyphen_values = true)]
    pub warmup_groups: Option<String>,
    /// Decay after warmup [default: inverse-sqrt] (noam ignores --lr:
    /// factor*d_model^-0.5*min(t^-0.5, t*w^-1.5)).
    #[arg(long, value_enum, value_name = "KIND")]
    pub decay: Option<DecayKind>,
    /// Decay horizon D (default: until the end of training; warmup-stable-decay: 20% of the run).
    #[arg(long, value_name = "N", value_parser = parse_steps)]
    pub decay_steps: Option<u64>,
    /// exponential / natural-exp / inverse-time rate.
    #[arg(long, value_name = "R")]
    pub decay_rate: Option<f64>,
    /// Decay in steps: p = floor(s / decay_steps).
    #[arg(long)]
    pub staircase: bool,
    /// polynomial: final rate (default 0; TF's end_learning_rate defaults to 1e-4).
    #[arg(long, value_name = "LR")]
    pub end_lr: Option<f64>,
    /// polynomial: exponent.
    #[arg(long)]
    pub power: Option<f64>,
    /// polynomial: restart the decay every decay_steps with a longer horizon.
    #[arg(long)]
    pub cycle: bool,
    /// cosine / linear-cosine / cosine-restarts: floor as a fraction of the peak.
    #[arg(long)]
    pub alpha: Option<f64>,
    /// linear-cosine: constant added to the multiplier.
    #[arg(long)]
    pub beta: Option<f64>,
    /// linear-cosine: number of cosine periods over the decay.
    #[arg(long)]
    pub num_periods: Option<f64>,
    /// piecewise-constant: update counts after warmup, comma-separated, increasing.
    #[arg(long, value_delimiter = ',', value_name = "S1,S2,..")]
    pub boundaries: Option<Vec<u64>>,
    /// piecewise-constant: absolute rates, one more than boundaries.
    #[arg(long, value_delimiter = ',', value_name = "LR0,LR1,..")]
    pub values: Option<Vec<f64>>,
    /// cosine-restarts: growth of each period.
    #[arg(long)]
    pub t_mul: Option<f64>,
    /// cosine-restarts: scale of each restart's peak.
    #[arg(long)]
    pub m_mul: Option<f64>,
    /// inverse-sqrt: HF timescale c, lr*sqrt(c/(s+c)).
    #[arg(long, value_name = "N")]
    pub timescale: Option<u64>,
    /// noam: multiplier.
    #[arg(long)]
    pub noam_factor: Option<f64>,
    /// warmup-stable-decay: final rate as a fraction of the peak.
    #[arg(long, value_name = "R")]
    pub min_lr_ratio: Option<f64>,
    /// warmup-stable-decay: shape of the final decay [default: linear; HF's default is cosine].
    #[arg(long, value_enum)]
    pub wsd_shape: Option<WsdShape>,
    /// Any parameter of the decay by its JSON name, e.g. `pct_start=0.25`, `mode=triangular2`,
    /// `exponent=2`, `num_cycles=1.5`, `patience=3` (repeatable; see docs/schedules.md).
    #[arg(long = "decay-param", value_name = "KEY=VALUE")]
    pub decay_param: Vec<String>,
}

/// A count that must be at least 1 (model sizes, batch sizes), with a message that says so
/// (issue 33: "-2" used to be "invalid digit found in string").
/// (0 parses, and the config check refuses it naming the config key.)
pub fn parse_positive(text: &str) -> std::result::Result<usize, String> {
    text.trim()
        .parse::<usize>()
        .map_err(|_| "must be a whole number >= 1".to_string())
}

/// A whole number >= 0 (seeds, update intervals where 0 means "never").
pub fn parse_whole(text: &str) -> std::result::Result<u64, String> {
    text.trim()
        .parse::<u64>()
        .map_err(|_| "must be a whole number >= 0".to_string())
}

/// A run length: at least one update.
/// (0 parses, and the config check refuses it naming `train.steps`.)
pub fn parse_run_length(text: &str) -> std::result::Result<u64, String> {
    text.trim()
        .parse::<u64>()
        .map_err(|_| "must be a whole number of updates >= 1".to_string())
}

/// A step count: a whole number >= 0, with a message that says so.
pub fn parse_steps(text: &str) -> std::result::Result<u64, String> {
    text.trim()
        .parse::<u64>()
        .map_err(|_| "must be a whole number of updates >= 0".to_string())
}

impl ScheduleArgs {
    /// Override `cfg` with the flags that were given.
    pub fn apply(&self, cfg: &mut ScheduleConfig) -> Result<()> {
        self.apply_warmup(&mut cfg.warmup)?;
        if let Some(origin) = self.step_origin {
            cfg.step_origin = origin;
        }
        match self.decay {
            Some(kind) => cfg.decay = self.decay_of(kind)?,
            None => {
                if let Some(flag) = self.decay_params_given().first() {
                    return Err(usage!("{flag} needs --decay KIND"));
                }
            }
        }
        Ok(())
    }

    fn apply_warmup(&self, warmup: &mut Warmup) -> Result<()> {
        // The group selection survives a change of kind or length (set here or in the config).
        let groups = self.warmup_groups.clone().or(warmup.groups.take());
        match (self.warmup_kind, self.warmup) {
            (Some(WarmupKind::None), Some(steps)) if steps > 0 => {
                return Err(usage!(
                    "--warmup {steps} with --warmup-kind none: give --warmup 0 or another --warmup-kind (linear, exponential, constant, cosine, 1-sqrt)"
                ));
            }
            (Some(WarmupKind::None), _) => *warmup = Warmup::none(),
            (Some(kind), steps) => *warmup = Warmup::of_kind(kind, steps.unwrap_or(warmup.steps)),
            (None, Some(0)) => *warmup = Warmup::none(),
            (None, Some(steps)) if warmup.kind == WarmupKind::None => {
                *warmup = Warmup::linear(steps)
            }
            (None, Some(steps)) => warmup.steps = steps,
            (None, None) => {}
        }
        if self.warmup_start_factor.is_some() {
            warmup.start_factor = self.warmup_start_factor;
        }
        if self.warmup_until_loss.is_some() {
            warmup.until_loss = self.warmup_until_loss;
        }
        if let Some(hold) = self.warmup_hold {
            warmup.hold = hold;
        }
        warmup.groups = groups;
        Ok(())
    }

    /// (flag name, JSON field, value if given) for every decay parameter flag.
    fn flag_values(&self) -> Vec<(&'static str, &'static str, Value)> {
        let num = |v: Option<f64>| v.map(Value::from);
        let steps = |v: Option<u64>| v.map(Value::from);
        let flag = |on: bool| on.then_some(Value::Bool(true));
        let given = [
            ("--decay-steps", "decay_steps", steps(self.decay_steps)),
            ("--decay-rate", "decay_rate", num(self.decay_rate)),
            ("--staircase", "staircase", flag(self.staircase)),
            ("--end-lr", "end_lr", num(self.end_lr)),
            ("--power", "power", num(self.power)),
            ("--cycle", "cycle", flag(self.cycle)),
            ("--alpha", "alpha", num(self.alpha)),
            ("--beta", "beta", num(self.beta)),
            ("--num-periods", "num_periods", num(self.num_periods)),
            (
                "--boundaries",
                "boundaries",
                self.boundaries.clone().map(Value::from),
            ),
            ("--values", "values", self.values.clone().map(Value::from)),
            ("--t-mul", "t_mul", num(self.t_mul)),
            ("--m-mul", "m_mul", num(self.m_mul)),
            ("--timescale", "timescale", steps(self.timescale)),
            ("--noam-factor", "factor", num(self.noam_factor)),
            ("--min-lr-ratio", "min_lr_ratio", num(self.min_lr_ratio)),
            (
                "--wsd-shape",
                "shape",
                self.wsd_shape.and_then(|s| serde_json::to_value(s).ok()),
            ),
        ];
        given
            .into_iter()
            .filter_map(|(flag, field, value)| value.map(|v| (flag, field, v)))
            .collect()
    }

    fn decay_params_given(&self) -> Vec<&'static str> {
        let mut given: Vec<_> = self.flag_values().iter().map(|(f, _, _)| *f).collect();
        if !self.decay_param.is_empty() {
            given.push("--decay-param");
        }
        given
    }

    /// Build the decay from its flags and `--decay-param`s; every given parameter must be one
    /// `kind` takes.
    pub fn decay_of(&self, kind: DecayKind) -> Result<Decay> {
        let name = kind.name();
        let spec = kind.spec();
        let takes = spec.flags;
        let flags = self.flag_values();
        if let Some((flag, _, _)) = flags.iter().find(|(f, _, _)| !takes.contains(f)) {
            let allowed = if takes.is_empty() {
                "none; use --decay-param KEY=VALUE".to_string()
            } else {
                format!("{}, --decay-param KEY=VALUE", takes.join(", "))
            };
            return Err(usage!(
                "{flag} is not a parameter of --decay {name} (it takes: {allowed})"
            ));
        }
        let mut json = serde_json::Map::new();
        json.insert("kind".into(), Value::from(name.clone()));
        for (_, field, value) in flags {
            let field = spec
                .renamed
                .iter()
                .find(|(own, _)| *own == field)
                .map_or(field, |(_, renamed)| renamed);
            json.insert(field.into(), value);
        }
        for param in &self.decay_param {
            let (key, value) = parse_param(param)?;
            json.insert(key, value);
        }
        if let Some((_, flag)) = spec.required.iter().find(|(f, _)| !json.contains_key(*f)) {
            return Err(usage!("--decay {name} needs {flag}"));
        }
        serde_json::from_value(Value::Object(json)).map_err(|e| usage!("--decay {name}: {e}"))
    }
}

/// `KEY=VALUE` with VALUE read as JSON where it parses (numbers, true, [..]), else as a string.
fn parse_param(param: &str) -> Result<(String, Value)> {
    let (key, value) = param
        .split_once('=')
        .ok_or_else(|| usage!("--decay-param {param}: must be KEY=VALUE, e.g. pct_start=0.25"))?;
    let value = serde_json::from_str(value).unwrap_or_else(|_| Value::from(value));
    Ok((key.trim().to_string(), value))
}
