//! Command-line flags. `lnwarm [FLAGS]` trains (the same as `lnwarm train [FLAGS]`).
//!
//! Every training flag is optional: unset flags keep the value from `--config FILE` or, without
//! one, the defaults (= `configs/cpu-small.json`). Flag names are a stable interface.

use crate::config::{Activation, Arch, DeviceKind, OptimizerKind, Positions, RunConfig};
use crate::error::Result;

pub mod bench_cmd;
pub mod compare_cmd;
pub mod grad_init_cmd;
pub mod probe_cmd;
mod schedule_args;
pub mod schedule_cmd;
mod substitute_args;
pub mod sweep_cmd;
pub mod sweep_verify;
pub use crate::config::default_run_name;
use clap::{Args, Parser, Subcommand};
pub use schedule_args::{DecayKind, ScheduleArgs};
pub use schedule_cmd::ScheduleCmdArgs;
use std::path::PathBuf;

macro_rules! set {
    ($flag:expr => $field:expr) => {
        if let Some(value) = $flag.clone() {
            $field = value;
        }
    };
}

/// lnwarm: Post-LN vs Pre-LN Transformers and learning-rate warmup, measured.
#[derive(Debug, Parser)]
#[command(
    name = "lnwarm",
    version,
    args_conflicts_with_subcommands = true,
    allow_negative_numbers = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Compute threads of every subcommand [default: $RAYON_NUM_THREADS, else all cores]. Recorded
    /// in each result (`provenance.threads`): the same config, seed and thread count give the
    /// same numbers bit for bit, another thread count differs in the last digits.
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
    #[command(flatten)]
    pub train: TrainArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train one model and write its result JSON (the default command).
    Train(Box<TrainArgs>),
    /// Print and plot lr(t) for a schedule (or overlay several) without training.
    Schedule(Box<ScheduleCmdArgs>),
    /// Gradient and hidden-state norms at initialization: the paper's Figure 3 and Theorem 1.
    GradInit(Box<grad_init_cmd::GradInitArgs>),
    /// Expand a study (experiments/NAME.json) and run its runs; see scripts/sweep.sh.
    #[command(subcommand)]
    Sweep(sweep_cmd::SweepCommand),
    /// Table, plots and an HTML page over a study's result JSONs.
    Compare(compare_cmd::CompareArgs),
    /// Verdicts on the paper's three claims from a study's results (and a grad-init JSON).
    Claims(compare_cmd::ClaimsArgs),
    /// The mechanism probes (sharpness, update size, drift, over-fitting, attention, gradient
    /// histograms) on checkpoints (--from) or at initialization.
    Probe(Box<probe_cmd::ProbeCmdArgs>),
    /// Time training updates: tokens/s, ms per phase, GFLOP/s, peak memory.
    Bench(bench_cmd::BenchArgs),
}

/// Whether a run from flags alone (no --config) flushes subnormals: docs/performance.md
/// ("Subnormal floats") has the measurements this default rests on.
pub const FLUSH_WITHOUT_CONFIG: bool = true;

/// An on/off flag value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Switch {
    On,
    Off,
}

/// Flags of a training run.
#[derive(Debug, Args, Default, Clone)]
#[command(allow_negative_numbers = true)]
pub struct TrainArgs {
    /// Run config JSON (e.g. configs/cpu-small.json); flags override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Normalization scheme: post-ln, pre-ln, or one that followed the paper.
    #[arg(long, value_enum)]
    pub arch: Option<Arch>,
    /// --arch dyt: initial a of DyT(x) = γ tanh(a·x) + β [default: 0.5].
    #[arg(long, value_name = "A")]
    pub dyt_alpha: Option<f64>,
    #[command(flatten)]
    pub schedule: ScheduleArgs,
    #[command(flatten)]
    pub model_data: ModelDataArgs,
    /// Peak learning rate.
    #[arg(long)]
    pub lr: Option<f64>,
    /// Number of updates [default: 8000].
    #[arg(long, allow_negative_numbers = true, value_parser = crate::cli::schedule_args::parse_run_length)]
    pub steps: Option<u64>,
    /// Number of Transformer blocks [default: 6].
    #[arg(long, allow_negative_numbers = true, value_parser = crate::cli::schedule_args::parse_positive)]
    pub layers: Option<usize>,
    /// Optimizer [default: adam, beta 0.9/0.98, eps 1e-8].
    #[arg(long, value_enum)]
    pub optimizer: Option<OptimizerKind>,
    /// Weight decay (adamw: decoupled; sgd: L2).
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// SGD momentum.
    #[arg(long)]
    pub momentum: Option<f64>,
    /// Clip the global gradient norm to this value (off by default).
    #[arg(long)]
    pub clip: Option<f64>,
    #[command(flatten)]
    pub substitutes: substitute_args::SubstituteArgs,
    /// Evaluate on the fixed validation batches every N updates [default: 100].
    #[arg(long, value_name = "N", value_parser = crate::cli::schedule_args::parse_steps)]
    pub eval_every: Option<u64>,
    /// Number of fixed validation batches [default: 8].
    #[arg(long, value_name = "N")]
    pub eval_batches: Option<usize>,
    /// Log loss, lr and gradient norms every N updates [default: 10].
    #[arg(long, value_name = "N")]
    pub log_every: Option<u64>,
    /// Training loss above which the run counts as diverged [default: 3 ln(vocab size)].
    #[arg(long)]
    pub diverge_loss: Option<f64>,
    /// Flush subnormal floats to zero on every compute thread (train.flush_subnormals): fast
    /// high-rate runs, other last digits [default: on without --config; a config file's value,
    /// off where it has none].
    #[arg(long, value_enum, value_name = "on|off")]
    pub flush_subnormals: Option<Switch>,
    /// Result file [default: results/<run name>.json].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Run name [default: derived from the config: <arch>-<optimizer>-w<warmup>-lr<lr>-s<seed>-<hash>].
    #[arg(long)]
    pub name: Option<String>,
    /// Write a checkpoint (<out>.ckpt/) every N updates; 0 = only when interrupted and at the end.
    #[arg(long, value_name = "N", default_value_t = 500, allow_negative_numbers = true, value_parser = crate::cli::schedule_args::parse_whole)]
    pub checkpoint_every: u64,
    /// Continue from the checkpoint <out>.ckpt/ (same config required); the result equals the
    /// uninterrupted run's.
    #[arg(long)]
    pub resume: bool,
    /// TensorBoard event files in DIR.
    #[arg(long, value_name = "DIR")]
    pub tensorboard: Option<PathBuf>,
    /// Also write the final weights to FILE (safetensors, by parameter name).
    #[arg(long, value_name = "FILE.safetensors")]
    pub save_model: Option<PathBuf>,
    #[command(flatten)]
    pub probes: ProbeArgs,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
}

/// The mechanism probes (`probe`): what, how often, on how much text.
#[derive(Debug, Args, Default, Clone)]
pub struct ProbeArgs {
    /// Probes to measure: sharpness, adam-sharpness, update, drift, overfit, attention,
    /// gradhist, units, or all (comma-separated; off by default).
    #[arg(long, value_name = "NAME[,NAME..]")]
    pub probe: Option<String>,
    /// Measure the probes at update 0, every N updates and at the last [default: 50]; or a
    /// schedule E1:U1,...,E: every E1 updates up to update U1, ..., then every E (e.g. 2:60,20).
    #[arg(long, value_name = "N|SCHEDULE", value_parser = crate::config::probe_every::ProbeEvery::parse)]
    pub probe_every: Option<crate::config::probe_every::ProbeEvery>,
    /// Windows in the fixed measurement batch: the first B of the validation split [default: 4].
    #[arg(long, value_name = "B")]
    pub probe_batch: Option<usize>,
    /// gradhist: a histogram at each of the first N updates [default: 50].
    #[arg(long, value_name = "N", value_parser = crate::cli::schedule_args::parse_steps)]
    pub probe_gradhist: Option<u64>,
    /// sharpness: also the smallest Hessian eigenvalue (a second Lanczos run, on −H) and the
    /// eigenvalue of largest magnitude (probe.smallest).
    #[arg(long)]
    pub probe_smallest: bool,
}

impl ProbeArgs {
    /// Override `cfg.probe` with the flags given (after the optimizer is known: `all` depends
    /// on it).
    pub fn apply(&self, cfg: &mut RunConfig) -> Result<()> {
        if let Some(list) = &self.probe {
            cfg.probe.names = crate::probe::parse_probe_list(list, cfg.optim.kind)?;
        }
        if let Some(every) = &self.probe_every {
            cfg.probe.every = every.clone();
        }
        set!(self.probe_batch => cfg.probe.batch);
        set!(self.probe_gradhist => cfg.probe.gradhist_updates);
        if self.probe_smallest {
            cfg.probe.smallest = true;
        }
        let tuned = self.probe_every.is_some()
            || self.probe_batch.is_some()
            || self.probe_gradhist.is_some()
            || self.probe_smallest;
        if tuned && cfg.probe.names.is_empty() {
            return Err(crate::usage!(
                "--probe-every/--probe-batch/--probe-gradhist/--probe-smallest without --probe: name the probes (e.g. --probe all)"
            ));
        }
        Ok(())
    }
}

/// Model, data and device flags shared by training and `grad-init`.
#[derive(Debug, Args, Default, Clone)]
pub struct ModelDataArgs {
    /// Sequences per batch [default: 32].
    #[arg(long, allow_negative_numbers = true, value_parser = crate::cli::schedule_args::parse_positive)]
    pub batch_size: Option<usize>,
    /// Characters per sequence [default: 128].
    #[arg(long, allow_negative_numbers = true, value_parser = crate::cli::schedule_args::parse_positive)]
    pub seq_len: Option<usize>,
    /// Model width [default: 128].
    #[arg(long, allow_negative_numbers = true, value_parser = crate::cli::schedule_args::parse_positive)]
    pub d_model: Option<usize>,
    /// Attention heads; must divide --d-model [default: 4].
    #[arg(long, allow_negative_numbers = true, value_parser = crate::cli::schedule_args::parse_positive)]
    pub heads: Option<usize>,
    /// FFN inner width [default: 512].
    #[arg(long, allow_negative_numbers = true, value_parser = crate::cli::schedule_args::parse_positive)]
    pub d_ff: Option<usize>,
    /// FFN activation [default: relu].
    #[arg(long, value_enum)]
    pub activation: Option<Activation>,
    /// LayerNorm on each head's queries and keys (QK-LayerNorm; Dehghani et al. 2023).
    #[arg(long)]
    pub qk_norm: bool,
    /// Add C·mean((log Z)²) of the logits to the objective (PaLM's z-loss; e.g. 1e-4).
    #[arg(long, value_name = "C", allow_hyphen_values = true)]
    pub z_loss: Option<f64>,
    /// Positional encoding [default: sinusoidal].
    #[arg(long, value_enum)]
    pub positions: Option<Positions>,
    /// Seed of the initial weights and the training batches.
    #[arg(long, allow_negative_numbers = true, value_parser = crate::cli::schedule_args::parse_whole)]
    pub seed: Option<u64>,
    /// moby-dick | synthetic | PATH (UTF-8 text) | FILE.parquet[:COLUMN] | hf:OWNER/NAME[:COLUMN].
    #[arg(long, value_name = "SOURCE")]
    pub data: Option<String>,
    /// char | bpe:N | wordpiece:N | FILE.json: tokens the model reads (subword vocabularies are
    /// trained on the training split) [default: char].
    #[arg(long, value_name = "SPEC")]
    pub tokenizer: Option<String>,
    /// Compute device (cuda needs a build with --features cuda).
    #[arg(long, value_enum)]
    pub device: Option<DeviceKind>,
}

impl ModelDataArgs {
    /// The first of these flags that was given, by its name.
    pub fn first_given(&self) -> Option<&'static str> {
        [
            ("--batch-size", self.batch_size.is_some()),
            ("--seq-len", self.seq_len.is_some()),
            ("--d-model", self.d_model.is_some()),
            ("--heads", self.heads.is_some()),
            ("--d-ff", self.d_ff.is_some()),
            ("--activation", self.activation.is_some()),
            ("--qk-norm", self.qk_norm),
            ("--z-loss", self.z_loss.is_some()),
            ("--positions", self.positions.is_some()),
            ("--seed", self.seed.is_some()),
            ("--data", self.data.is_some()),
            ("--device", self.device.is_some()),
        ]
        .into_iter()
        .find_map(|(flag, given)| given.then_some(flag))
    }

    /// Override `cfg` with the flags that were given.
    pub fn apply(&self, cfg: &mut RunConfig) {
        set!(self.d_model => cfg.model.d_model);
        set!(self.heads => cfg.model.n_heads);
        set!(self.d_ff => cfg.model.d_ff);
        set!(self.activation => cfg.model.activation);
        if self.qk_norm {
            cfg.model.qk_norm = true;
        }
        if self.z_loss.is_some() {
            cfg.model.z_loss = self.z_loss;
        }
        set!(self.positions => cfg.model.positions);
        set!(self.data => cfg.data.source);
        set!(self.tokenizer => cfg.data.tokenizer);
        set!(self.seq_len => cfg.data.seq_len);
        set!(self.batch_size => cfg.data.batch_size);
        set!(self.seed => cfg.train.seed);
        set!(self.device => cfg.train.device);
    }
}

impl TrainArgs {
    /// Defaults, then the config file, then the flags (`RunConfig::resolve`).
    pub fn resolve(&self) -> Result<RunConfig> {
        RunConfig::resolve(self.config.as_deref(), |cfg| self.apply(cfg))
    }

    fn apply(&self, cfg: &mut RunConfig) -> Result<()> {
        self.model_data.apply(cfg);
        set!(self.arch => cfg.model.arch);
        if self.dyt_alpha.is_some() {
            cfg.model.dyt_alpha = self.dyt_alpha;
        }
        // Runs from flags alone get the fast path; a config file says what it says (absent:
        // off, so every committed study row means what it meant).
        cfg.train.flush_subnormals = match (self.flush_subnormals, &self.config) {
            (Some(switch), _) => switch == Switch::On,
            (None, None) => FLUSH_WITHOUT_CONFIG,
            (None, Some(_)) => cfg.train.flush_subnormals,
        };
        set!(self.layers => cfg.model.n_layers);
        set!(self.eval_batches => cfg.data.eval_batches);
        set!(self.optimizer => cfg.optim.kind);
        set!(self.weight_decay => cfg.optim.weight_decay);
        set!(self.momentum => cfg.optim.momentum);
        if self.clip.is_some() {
            cfg.optim.clip = self.clip;
        }
        set!(self.lr => cfg.schedule.peak_lr);
        self.schedule.apply(&mut cfg.schedule)?;
        // After the schedule: --lr-init sets the warmup the schedule flags built.
        self.substitutes.apply(cfg);
        set!(self.steps => cfg.train.steps);
        set!(self.eval_every => cfg.train.eval_every);
        set!(self.log_every => cfg.train.log_every);
        if self.diverge_loss.is_some() {
            cfg.train.diverge_loss = self.diverge_loss;
        }
        if self.tensorboard.is_some() {
            cfg.log.tensorboard = self.tensorboard.clone();
        }
        self.probes.apply(cfg)
    }

    /// `--name`, else a name derived from the config (stable: same config, same name).
    pub fn run_name(&self, cfg: &RunConfig) -> String {
        self.name.clone().unwrap_or_else(|| default_run_name(cfg))
    }

    /// The result path, checked before any work: not a folder, and its folder writable.
    pub fn checked_out_path(&self, run_name: &str) -> Result<PathBuf> {
        if let Some(name) = &self.name {
            check_run_name(name)?;
        }
        let out = self.out_path(run_name);
        check_writable(&out)?;
        Ok(out)
    }

    pub fn out_path(&self, run_name: &str) -> PathBuf {
        self.out
            .clone()
            .unwrap_or_else(|| PathBuf::from("results").join(format!("{run_name}.json")))
    }
}

/// `--out PATH` must name a file in a folder this process can create and write into.
pub fn check_writable(out: &std::path::Path) -> Result<()> {
    check_writable_as("--out", out)
}

/// A run name is a file name (issue 33): `--name ../../escape` wrote outside `results/`, and
/// `--name ''` wrote `results/.json`.
pub fn check_run_name(name: &str) -> Result<()> {
    let bad = name.is_empty()
        || name == "."
        || name == ".."
        || name.starts_with('.')
        || name.contains(['/', '\\', '\0']);
    match bad {
        true => Err(crate::usage!(
            "--name '{name}': a run name is a file name: not empty, no '/' or '\\', not starting with '.'"
        )),
        false => Ok(()),
    }
}

/// `flag PATH` must name a file in a folder this process can create and write into, and be a
/// regular file if it exists (issue 33: `--out /dev/full` replaced the device node); a path that
/// ends in a separator names a folder, not a file.
pub fn check_writable_as(flag: &str, out: &std::path::Path) -> Result<()> {
    let shown = out.display();
    let text = out.as_os_str().to_string_lossy();
    if text.ends_with('/') || text.ends_with(std::path::MAIN_SEPARATOR) {
        return Err(crate::usage!(
            "{flag} {shown}: ends in a separator (a folder); give a file path such as {}",
            out.join("run.json").display()
        ));
    }
    if let Ok(meta) = std::fs::metadata(out) {
        if !meta.is_file() && !meta.is_dir() {
            return Err(crate::usage!(
                "{flag} {shown}: exists and is not a regular file (a device, FIFO or socket); give a file path"
            ));
        }
    }
    if out.is_dir() {
        return Err(crate::usage!(
            "{flag} {shown}: is a folder; give a file path such as {}",
            out.join(match flag {
                "--save-model" => "model.safetensors",
                _ => "run.json",
            })
            .display()
        ));
    }
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| {
        crate::usage!(
            "{flag} {shown}: cannot create the folder {}: {e}",
            dir.display()
        )
    })?;
    tempfile::NamedTempFile::new_in(dir)
        .map(drop)
        .map_err(|e| crate::usage!("{flag} {shown}: cannot write into {}: {e}", dir.display()))
}

/// The command line that continues a run: `args` (argv, the program first) with `--resume`, the
/// program as the user invoked it — `cargo run [--release] --` when cargo ran it (`via_cargo`),
/// not the absolute path of the binary it built. Arguments with spaces or quotes are quoted.
pub fn resume_line(args: &[String], via_cargo: bool) -> String {
    let Some((program, rest)) = args.split_first() else {
        return "lnwarm --resume".into();
    };
    let head = match (via_cargo, program.contains("/release/")) {
        (true, true) => "cargo run --release --".to_string(),
        (true, false) => "cargo run --".to_string(),
        (false, _) => program.clone(),
    };
    let quote = |a: &String| match a.is_empty() || a.contains([' ', '\'', '"', '$', '*']) {
        true => format!("'{}'", a.replace('\'', "'\\''")),
        false => a.clone(),
    };
    let mut words: Vec<String> = std::iter::once(head)
        .chain(rest.iter().map(quote))
        .collect();
    if !rest.iter().any(|a| a == "--resume") {
        words.push("--resume".into());
    }
    words.join(" ")
}

/// Condense a clap error into one line (clap prints usage blocks over several lines).
pub fn one_line_error(err: &clap::Error) -> String {
    let rendered = err.render().to_string();
    rendered
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("For more information")
        })
        .collect::<Vec<_>>()
        .join(" ")
}
