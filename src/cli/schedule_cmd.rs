//! `lnwarm schedule`: print and plot lr(t) for one or several schedules before training with them.

use super::schedule_args::{DecayKind, ScheduleArgs};
use crate::config::RunConfig;
use crate::error::Result;
use crate::plot::{line_chart, ChartSpec, Series};
use crate::schedule::{LrSchedule, Schedule, ScheduleConfig, Warmup, WarmupKind};
use crate::usage;
use clap::{Args, ValueEnum};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Output format of `lnwarm schedule`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// A readable sample of steps (warmup edges included).
    #[default]
    Table,
    /// Every step: `step,lr` (several schedules: `schedule,step,lr`).
    Csv,
    /// Every step, with each schedule's config and notes.
    Json,
}

/// What `--compare` overlays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Compare {
    /// Every warmup kind (none, linear, exponential, constant, cosine, 1-sqrt) before the chosen decay.
    WarmupKinds,
    /// Every decay kind after the chosen warmup (illustrative parameters where one is required).
    Decays,
}

/// Flags of `lnwarm schedule`.
#[derive(Debug, Args, Default, Clone)]
pub struct ScheduleCmdArgs {
    /// A run config or a bare schedule JSON (file, or inline JSON); repeat to overlay several.
    #[arg(long = "config", value_name = "FILE|JSON")]
    pub configs: Vec<String>,
    #[command(flatten)]
    pub schedule: ScheduleArgs,
    /// Peak learning rate.
    #[arg(long)]
    pub lr: Option<f64>,
    /// Number of updates T [default: the config's, else 8000].
    #[arg(long, value_parser = crate::cli::schedule_args::parse_steps)]
    pub steps: Option<u64>,
    /// Model width for noam [default: the config's, else 128].
    #[arg(long)]
    pub d_model: Option<usize>,
    /// Overlay every warmup kind or every decay kind.
    #[arg(long, value_enum)]
    pub compare: Option<Compare>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Also draw the curves into this SVG file.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Logarithmic lr axis in the plot.
    #[arg(long)]
    pub log_y: bool,
}

/// One schedule to show.
struct Labelled {
    label: String,
    schedule: Schedule,
    notes: Vec<String>,
}

pub fn run(args: &ScheduleCmdArgs) -> Result<()> {
    if let Some(path) = &args.plot {
        // The plot is SVG text: a .png (or any other) name would hold something it does not say.
        if !path
            .extension()
            .is_some_and(|x| x.eq_ignore_ascii_case("svg"))
        {
            return Err(usage!(
                "--plot {}: lnwarm draws SVG; name the file FILE.svg",
                path.display()
            ));
        }
    }
    let shown = args.schedules()?;
    let total = args.total_steps()?;
    let text = match args.format {
        Format::Table => table(&shown, total),
        Format::Csv => csv(&shown, total),
        Format::Json => json(&shown, total)?,
    };
    print!("{text}");
    if let Some(path) = &args.plot {
        plot(path, &shown, total, args.log_y)?;
        eprintln!("lnwarm: wrote {}", path.display());
    }
    Ok(())
}

impl ScheduleCmdArgs {
    fn total_steps(&self) -> Result<u64> {
        let from_config = self
            .configs
            .first()
            .map(|c| load(c))
            .transpose()?
            .and_then(|(_, steps, _)| steps);
        let total = self.steps.or(from_config).unwrap_or(8000);
        if total == 0 {
            return Err(usage!("--steps 0: must be a positive integer"));
        }
        Ok(total)
    }

    /// The base schedule from the first config (or defaults) with the flags applied.
    fn base(&self) -> Result<(ScheduleConfig, usize)> {
        let (mut cfg, _, width) = match self.configs.first() {
            Some(c) => load(c)?,
            None => (ScheduleConfig::default(), None, None),
        };
        if let Some(lr) = self.lr {
            cfg.peak_lr = lr;
        }
        self.schedule.apply(&mut cfg)?;
        Ok((cfg, self.d_model.or(width).unwrap_or(128)))
    }

    /// True when the shown warmup is lnwarm's default because neither a config nor a flag set one.
    fn warmup_defaulted(&self) -> bool {
        self.configs.is_empty()
            && self.schedule.warmup.is_none()
            && self.schedule.warmup_kind.is_none()
            && self.compare.is_none()
    }

    fn schedules(&self) -> Result<Vec<Labelled>> {
        let total = self.total_steps()?;
        let (mut base, width) = self.base()?;
        // A comparison over a run shorter than lnwarm's default warmup (4000), with no warmup
        // asked for: the variants pick their own (T/10) instead of failing on a warmup that
        // leaves no steps after it.
        let warmup_unset = self.configs.is_empty()
            && self.schedule.warmup.is_none()
            && self.schedule.warmup_kind.is_none();
        if self.compare.is_some() && warmup_unset && base.warmup.steps >= total {
            base.warmup = Warmup::none();
        }
        let mut configs: Vec<(String, ScheduleConfig)> = match self.compare {
            Some(Compare::WarmupKinds) => warmup_variants(&base, total),
            Some(Compare::Decays) => decay_variants(&base, total, width),
            None => vec![(label_of(self.configs.first(), &base), base)],
        };
        for extra in self.configs.iter().skip(1) {
            let (mut cfg, _, _) = load(extra)?;
            self.schedule.apply(&mut cfg)?;
            configs.push((label_of(Some(extra), &cfg), cfg));
        }
        let several = configs.len() > 1;
        let defaulted = self.warmup_defaulted();
        configs
            .into_iter()
            .map(|(label, cfg)| {
                let schedule = cfg.with_model_width(width).build(total).map_err(|e| {
                    if several {
                        usage!("{label}: {e}")
                    } else {
                        e
                    }
                })?;
                let mut notes = schedule.notes();
                if defaulted {
                    notes.insert(0, format!(
                        "no --warmup given: the default warmup linear {} applies (--warmup 0 for none)",
                        schedule.config().warmup.steps
                    ));
                }
                Ok(Labelled {
                    label,
                    schedule,
                    notes,
                })
            })
            .collect()
    }
}

/// (schedule, run steps, model width) from a run config or bare schedule, given as a file or inline JSON.
fn load(spec: &str) -> Result<(ScheduleConfig, Option<u64>, Option<usize>)> {
    let text = if spec.trim_start().starts_with('{') {
        spec.to_string()
    } else {
        std::fs::read_to_string(spec).map_err(|e| usage!("--config {spec}: cannot read: {e}"))?
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| usage!("--config {spec}: {e}"))?;
    if value.get("schedule").is_some()
        || value.get("model").is_some()
        || value.get("train").is_some()
    {
        let run: RunConfig =
            serde_json::from_value(value).map_err(|e| usage!("--config {spec}: {e}"))?;
        Ok((run.schedule, Some(run.train.steps), Some(run.model.d_model)))
    } else {
        let cfg: ScheduleConfig =
            serde_json::from_value(value).map_err(|e| usage!("--config {spec}: {e}"))?;
        Ok((cfg, None, None))
    }
}

fn label_of(spec: Option<&String>, cfg: &ScheduleConfig) -> String {
    match spec {
        Some(s) if !s.trim_start().starts_with('{') => Path::new(s)
            .file_stem()
            .map_or(s.clone(), |f| f.to_string_lossy().into_owned()),
        _ => describe(cfg),
    }
}

/// `linear(4000) + inverse-sqrt`.
pub fn describe(cfg: &ScheduleConfig) -> String {
    let warmup = match cfg.warmup.kind {
        WarmupKind::None => "no warmup".to_string(),
        kind => format!("{}({})", kind.name(), cfg.warmup.steps),
    };
    format!("{warmup} + {}", cfg.decay.name())
}

fn warmup_variants(base: &ScheduleConfig, total: u64) -> Vec<(String, ScheduleConfig)> {
    let w = if base.warmup.steps > 0 {
        base.warmup.steps
    } else {
        (total / 10).max(1)
    };
    [
        WarmupKind::None,
        WarmupKind::Linear,
        WarmupKind::Exponential,
        WarmupKind::Constant,
        WarmupKind::Cosine,
        WarmupKind::OneMinusSqrt,
    ]
    .into_iter()
    .map(|kind| {
        let warmup = if kind == WarmupKind::None {
            Warmup::none()
        } else {
            Warmup::of_kind(kind, w)
        };
        let cfg = ScheduleConfig {
            warmup,
            ..base.clone()
        };
        (describe(&cfg), cfg)
    })
    .collect()
}

/// Every decay with illustrative parameters: each ends near peak/10 at T where it has a rate.
fn decay_variants(
    base: &ScheduleConfig,
    total: u64,
    width: usize,
) -> Vec<(String, ScheduleConfig)> {
    let warmup = if base.warmup.steps > 0 {
        base.warmup.clone()
    } else {
        Warmup::linear((total / 10).max(1))
    };
    let example = crate::schedule::Example {
        peak: base.peak_lr,
        horizon: total.saturating_sub(warmup.steps).max(3),
        warmup_steps: warmup.steps,
        width,
    };
    DecayKind::value_variants()
        .iter()
        .filter_map(|kind| kind.spec().example)
        .map(|make| {
            let decay = make(&example);
            let warmup = if decay.has_own_warmup() {
                Warmup::none()
            } else {
                warmup.clone()
            };
            let cfg = ScheduleConfig {
                warmup,
                decay,
                ..base.clone()
            };
            (cfg.decay.name(), cfg)
        })
        .collect()
}

/// Steps worth reading: 1, the warmup edges, T, and an even spread.
fn sample_steps(shown: &[Labelled], total: u64) -> Vec<u64> {
    let mut steps: Vec<u64> = (0..=10).map(|i| (total * i / 10).max(1)).collect();
    for s in shown {
        let w = s.schedule.warmup_end().min(total);
        if w > 0 {
            steps.extend([w.saturating_sub(1).max(1), w, (w + 1).min(total)]);
        }
    }
    steps.sort_unstable();
    steps.dedup();
    steps
}

fn table(shown: &[Labelled], total: u64) -> String {
    let mut out = String::new();
    for s in shown {
        out.push_str(&format!(
            "# {}: {}\n",
            s.label,
            serde_json::to_string(s.schedule.config()).unwrap_or_default()
        ));
        for note in &s.notes {
            out.push_str(&format!("#   note: {note}\n"));
        }
    }
    let width = shown
        .iter()
        .map(|s| s.label.len())
        .max()
        .unwrap_or(2)
        .max(11);
    out.push_str(&format!("{:>8}", "step"));
    for s in shown {
        out.push_str(&format!("  {:>width$}", s.label));
    }
    out.push('\n');
    for t in sample_steps(shown, total) {
        out.push_str(&format!("{t:>8}"));
        for s in shown {
            out.push_str(&format!("  {:>width$.4e}", s.schedule.lr(t)));
        }
        out.push('\n');
    }
    out
}

fn csv(shown: &[Labelled], total: u64) -> String {
    let mut out = String::new();
    if let [single] = shown {
        out.push_str("step,lr\n");
        for t in 1..=total {
            out.push_str(&format!("{t},{:e}\n", single.schedule.lr(t)));
        }
        return out;
    }
    out.push_str("schedule,step,lr\n");
    for s in shown {
        let label = s.label.replace('"', "'");
        for t in 1..=total {
            out.push_str(&format!("\"{label}\",{t},{:e}\n", s.schedule.lr(t)));
        }
    }
    out
}

#[derive(Serialize)]
struct JsonPoint {
    step: u64,
    lr: f64,
}

#[derive(Serialize)]
struct JsonSchedule<'a> {
    label: &'a str,
    schedule: &'a ScheduleConfig,
    notes: Vec<String>,
    points: Vec<JsonPoint>,
}

fn json(shown: &[Labelled], total: u64) -> Result<String> {
    let schedules: Vec<JsonSchedule> = shown
        .iter()
        .map(|s| JsonSchedule {
            label: &s.label,
            schedule: s.schedule.config(),
            notes: s.notes.clone(),
            points: (1..=total)
                .map(|step| JsonPoint {
                    step,
                    lr: s.schedule.lr(step),
                })
                .collect(),
        })
        .collect();
    let value = serde_json::json!({ "steps": total, "schedules": schedules });
    serde_json::to_string_pretty(&value)
        .map(|s| s + "\n")
        .map_err(|e| crate::error::Error::Output(e.to_string()))
}

fn plot(path: &Path, shown: &[Labelled], total: u64, log_y: bool) -> Result<()> {
    // At most ~2000 points a line: enough for any screen, small files.
    let stride = (total / 2000).max(1);
    let series: Vec<Series> = shown
        .iter()
        .map(|s| Series {
            label: s.label.clone(),
            points: (1..=total)
                .filter(|t| t % stride == 0 || *t == 1 || *t == total)
                .map(|t| (t as f64, s.schedule.lr(t)))
                .collect(),
            band: None,
        })
        .collect();
    let spec = ChartSpec {
        title: "learning rate schedule",
        x_label: "update t",
        y_label: "lr(t)",
        log_y,
    };
    line_chart(path, &spec, &series)
}
