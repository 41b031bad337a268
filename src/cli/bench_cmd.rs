//! `lnwarm bench`: flags and output.

use crate::config::RunConfig;
use crate::error::Result;
use crate::usage;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args, Clone)]
pub struct BenchArgs {
    /// Run config [default: configs/cpu-small.json's values].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Timed updates.
    #[arg(long, default_value_t = 10)]
    pub steps: usize,
    /// Untimed updates first (allocator and caches warm up).
    #[arg(long, default_value_t = 3)]
    pub warmup_steps: usize,
    #[arg(long, value_enum)]
    pub arch: Option<crate::config::Arch>,
    #[arg(long, value_enum)]
    pub activation: Option<crate::config::Activation>,
    #[arg(long, value_enum)]
    pub device: Option<crate::config::DeviceKind>,
    /// Data source (moby-dick by default; synthetic needs nothing).
    #[arg(long)]
    pub data: Option<String>,
    /// Write the JSON here [default: results/bench-<arch>.json].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(args: &BenchArgs) -> Result<()> {
    let mut cfg = match &args.config {
        Some(p) => RunConfig::from_file(p)?,
        None => RunConfig::default(),
    };
    if let Some(a) = args.arch {
        cfg.model.arch = a;
    }
    if let Some(a) = args.activation {
        cfg.model.activation = a;
    }
    if let Some(d) = args.device {
        cfg.train.device = d;
    }
    if let Some(d) = &args.data {
        cfg.data.source = d.clone();
    }
    if args.steps == 0 {
        return Err(usage!("--steps 0: must be a positive integer"));
    }
    cfg.validate()?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("results/bench-{}.json", cfg.model.arch.name())));
    super::check_writable(&out)?;
    let result = crate::bench::run(&cfg, args.steps, args.warmup_steps)?;
    print!("{}", crate::bench::render(&result));
    crate::results::write_json(&out, &result)?;
    println!("lnwarm: wrote {}", out.display());
    Ok(())
}
