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
    /// Also time the probes (`--probe all`: every probe), each measured after 3 updates.
    #[command(flatten)]
    pub probes: super::ProbeArgs,
}

pub fn run(args: &BenchArgs) -> Result<()> {
    if args.steps == 0 {
        return Err(usage!("--steps 0: must be a positive integer"));
    }
    let cfg = RunConfig::resolve(args.config.as_deref(), |cfg| {
        set(args.arch, &mut cfg.model.arch);
        set(args.activation, &mut cfg.model.activation);
        set(args.device, &mut cfg.train.device);
        set(args.data.clone(), &mut cfg.data.source);
        args.probes.apply(cfg)
    })?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("results/bench-{}.json", cfg.model.arch.name())));
    super::check_writable(&out)?;
    let scratch = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let result = crate::bench::run(&cfg, args.steps, args.warmup_steps, &scratch)?;
    print!("{}", crate::bench::render(&result));
    crate::files::write_json(&out, &result)?;
    println!("lnwarm: wrote {}", out.display());
    Ok(())
}

fn set<T>(flag: Option<T>, field: &mut T) {
    if let Some(value) = flag {
        *field = value;
    }
}
