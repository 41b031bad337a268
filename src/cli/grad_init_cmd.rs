//! `lnwarm grad-init`: flags, run, table, verdicts, JSON and plots.

use crate::config::{Arch, RunConfig};
use crate::error::Result;
use crate::grad_init::{report, run, run_from, GradInitSpec};
use crate::usage;
use clap::Args;
use std::path::PathBuf;

/// Flags of `lnwarm grad-init` (model and data flags as for training).
#[derive(Debug, Args, Clone)]
pub struct GradInitArgs {
    /// Run config JSON for the model/data/optimizer settings; flags override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Architectures to compare.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "post-ln,pre-ln"
    )]
    pub archs: Vec<Arch>,
    /// Depths (numbers of layers) to measure.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "6,12",
        value_name = "L1,L2,.."
    )]
    pub layers: Vec<usize>,
    /// Number of seeds (starting at --seed).
    #[arg(long, default_value_t = 3)]
    pub seeds: usize,
    /// Batches K averaged into the expected gradient.
    #[arg(long, default_value_t = 4)]
    pub batches: usize,
    /// Also measure after N updates of linear warmup to --lr with the run's optimizer.
    #[arg(long, value_name = "N")]
    pub after_warmup: Option<u64>,
    /// Measure trained weights instead: checkpoint folders (<result>.ckpt/) of finished or
    /// interrupted runs; model, data and seed come from each one's config.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "CKPT_DIR,..",
        conflicts_with_all = ["config", "archs", "layers", "seeds", "after_warmup", "export", "lr"]
    )]
    pub from: Vec<PathBuf>,
    /// Write weights, one batch and gradient norms for scripts/grad_check_torch.py into DIR.
    #[arg(long, value_name = "DIR")]
    pub export: Option<PathBuf>,
    #[command(flatten)]
    pub model_data: super::ModelDataArgs,
    /// Peak learning rate of the --after-warmup updates.
    #[arg(long)]
    pub lr: Option<f64>,
    /// Result JSON [default: results/grad-init-<hash>.json]; plots are written beside it.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print only the table and verdicts.
    #[arg(long)]
    pub quiet: bool,
}

impl GradInitArgs {
    fn spec(&self) -> Result<GradInitSpec> {
        if let Some(bad) = self.layers.iter().find(|l| **l == 0) {
            return Err(usage!("--layers {bad}: depths must be positive integers"));
        }
        if self.seeds == 0 {
            return Err(usage!("--seeds 0: must be a positive integer"));
        }
        if self.batches == 0 {
            return Err(usage!("--batches 0: must be a positive integer"));
        }
        if self.after_warmup == Some(0) {
            return Err(usage!(
                "--after-warmup 0: must be a positive number of updates"
            ));
        }
        let base = RunConfig::resolve(self.config.as_deref(), |cfg| {
            self.model_data.apply(cfg);
            if let Some(lr) = self.lr {
                cfg.schedule.peak_lr = lr;
            }
            cfg.model.n_layers = self.layers[0];
            Ok(())
        })?;
        let mut archs = self.archs.clone();
        archs.dedup();
        Ok(GradInitSpec {
            base,
            archs,
            depths: self.layers.clone(),
            seeds: self.seeds,
            batches: self.batches,
            after_warmup: self.after_warmup,
            export_dir: self.export.clone(),
        })
    }

    fn out_path(&self, spec: &GradInitSpec) -> PathBuf {
        self.out.clone().unwrap_or_else(|| {
            let key = format!(
                "{:?}{:?}{:?}{}{}{:?}",
                spec.base, spec.archs, spec.depths, spec.seeds, spec.batches, spec.after_warmup
            );
            let hash = crate::files::sha256_hex(key.as_bytes());
            PathBuf::from("results").join(format!(
                "grad-init-d{}-{}.json",
                spec.base.model.d_model,
                &hash[..8]
            ))
        })
    }
}

pub fn run_cmd(args: &GradInitArgs) -> Result<()> {
    let quiet = args.quiet;
    let log = move |line: &str| {
        if !quiet {
            eprintln!("{line}");
        }
    };
    let (result, out) = if args.from.is_empty() {
        let spec = args.spec()?;
        let out = args.out_path(&spec);
        super::check_writable(&out)?;
        (run(&spec, &log)?, out)
    } else {
        if let Some(flag) = args.model_data.first_given() {
            return Err(usage!(
                "{flag} with --from: the model, data and seed come from each checkpoint's config"
            ));
        }
        if args.batches == 0 {
            return Err(usage!("--batches 0: must be a positive integer"));
        }
        let out = args.out.clone().unwrap_or_else(|| {
            let key = format!("{:?}{}", args.from, args.batches);
            let hash = crate::files::sha256_hex(key.as_bytes());
            PathBuf::from("results").join(format!("grad-init-from-{}.json", &hash[..8]))
        });
        super::check_writable(&out)?;
        (run_from(&args.from, args.batches, &log)?, out)
    };
    result.write(&out)?;
    let stem = out.clone();
    let plots = report::plots(&result.summaries, &stem)?;
    for t in &result.theorem1 {
        print!("{}", report::table(&result.summaries, &t.phase));
    }
    print!("{}", report::lemma2(&result.summaries));
    for t in &result.theorem1 {
        let fmt = |i: &Option<crate::stats::Interval>| i.map_or("-".into(), |i| i.fmt(3));
        println!(
            "Theorem 1 ({}): last-layer ‖∇W2‖ ~ L^e: post-ln e = {} (paper: 0), pre-ln e = {} (paper: -0.5), gap e = {} (paper: 0.5)",
            t.phase,
            fmt(&t.post_ln_exponent),
            fmt(&t.pre_ln_exponent),
            fmt(&t.gap_exponent)
        );
    }
    if result.checkpoints.is_empty() {
        println!("verdicts (at initialization):");
    } else {
        println!("verdicts: none (they judge initialization; these are trained weights)");
    }
    for v in &result.verdicts {
        println!("  {}", v.render());
    }
    let plot_list: Vec<String> = plots.iter().map(|p| p.display().to_string()).collect();
    println!(
        "lnwarm: wrote {} and {} ({:.1} s)",
        out.display(),
        plot_list.join(", "),
        result.wall_time_s
    );
    Ok(())
}
