//! `lnwarm bench`: timed training updates of the real trainer's pieces, split into forward,
//! backward, gradient norms and optimizer, with tokens/s, achieved GFLOP/s, peak memory, threads.
//!
//! FLOPs per update are counted analytically, as is usual for Transformers: 6 x (parameters of
//! every matmul weight, the tied output projection included) x tokens, plus attention's two
//! batched matmuls, 12 x L x B x T^2 x d (forward + backward, full T x T: the causal half is not
//! discounted). Embedding lookups, LayerNorm and element-wise work are not counted.

use crate::config::RunConfig;
use crate::data::batches::WindowSampler;
use crate::error::Result;
use crate::optim::Optimizer;
use crate::stats::Interval;
use crate::step::{self, StepRule, Trainee};
use crate::train::Setup;
use serde::{Deserialize, Serialize};

pub use crate::step::StepTimes;

/// Summary statistics of one quantity over the timed updates.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub ci95: (f64, f64),
}

impl Spread {
    pub fn of(values: &[f64]) -> Self {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let median = if v.len() % 2 == 1 {
            v[v.len() / 2]
        } else {
            (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
        };
        let i = Interval::of(values);
        Self {
            median,
            min: v[0],
            max: v[v.len() - 1],
            mean: i.mean,
            ci95: (i.lo, i.hi),
        }
    }
}

/// The bench result (also written as JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchResult {
    pub schema_version: u32,
    pub kind: String,
    pub config: RunConfig,
    pub provenance: crate::results::Provenance,
    pub timed_steps: usize,
    pub warmup_steps: usize,
    pub tokens_per_step: usize,
    pub flop_per_step: f64,
    pub tokens_per_s: Spread,
    pub ms: PhaseSpreads,
    pub gflop_per_s: f64,
    pub peak_rss_mib: Option<f64>,
    pub threads: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhaseSpreads {
    pub forward: Spread,
    pub backward: Spread,
    pub grad_norms: Spread,
    pub optimizer: Spread,
    pub total: Spread,
}

/// FLOPs of one training update (see the module doc).
pub fn flop_per_step(setup: &Setup, cfg: &RunConfig) -> f64 {
    let matmul_params: usize = setup
        .store
        .named_vars()
        .iter()
        .filter(|(name, var)| var.rank() == 2 && name != "pos_emb.weight")
        .map(|(_, var)| var.elem_count())
        .sum();
    let (b, t) = (cfg.data.batch_size as f64, cfg.data.seq_len as f64);
    let (l, d) = (cfg.model.n_layers as f64, cfg.model.d_model as f64);
    6.0 * matmul_params as f64 * b * t + 12.0 * l * b * t * t * d
}

/// Run `warmup` untimed then `steps` timed updates.
pub fn run(cfg: &RunConfig, steps: usize, warmup: usize) -> Result<BenchResult> {
    let setup = Setup::new(cfg)?;
    let flop = flop_per_step(&setup, cfg);
    let tokens = cfg.data.batch_size * cfg.data.seq_len;
    let mut sampler = WindowSampler::new(
        setup.corpus.train.clone(),
        cfg.data.seq_len,
        cfg.data.batch_size,
        cfg.train.seed,
        &setup.device,
    );
    let mut opt = Optimizer::new(setup.store.named_vars(), &cfg.optim, cfg.schedule.peak_lr)?;
    let trainee = Trainee {
        model: &setup.model,
        store: &setup.store,
        device: &setup.device,
    };
    // The trainer's update at the peak rate, each phase waited for (exact times on CUDA).
    let rule = StepRule {
        lr: cfg.schedule.peak_lr,
        clip: cfg.optim.clip,
        diverge_loss: crate::train::diverge_threshold(cfg, setup.corpus.vocab.size()),
        sync_phases: true,
    };
    let mut times = Vec::with_capacity(steps);
    for i in 0..warmup + steps {
        let batch = sampler.next_batch()?;
        let report = step::update(&trainee, &mut opt, &batch, rule)?;
        if let Some(reason) = report.diverged {
            return Err(crate::error::Error::Data(format!(
                "bench: the model diverged at update {}: {reason}; lower --lr in the config",
                i + 1
            )));
        }
        if i >= warmup {
            times.push(report.times);
        }
    }
    let spread = |f: fn(&StepTimes) -> f64| Spread::of(&times.iter().map(f).collect::<Vec<_>>());
    let total = spread(|t| t.total_ms);
    let tokens_per_s = Spread::of(
        &times
            .iter()
            .map(|t| tokens as f64 / (t.total_ms / 1e3))
            .collect::<Vec<_>>(),
    );
    Ok(BenchResult {
        schema_version: 1,
        kind: "bench".into(),
        config: cfg.clone(),
        provenance: crate::provenance(&setup.device, 0),
        timed_steps: steps,
        warmup_steps: warmup,
        tokens_per_step: tokens,
        flop_per_step: flop,
        gflop_per_s: flop / (total.median / 1e3) / 1e9,
        tokens_per_s,
        ms: PhaseSpreads {
            forward: spread(|t| t.forward_ms),
            backward: spread(|t| t.backward_ms),
            grad_norms: spread(|t| t.grad_norms_ms),
            optimizer: spread(|t| t.optimizer_ms),
            total,
        },
        peak_rss_mib: peak_rss_mib(),
        threads: candle_core::utils::get_num_threads(),
    })
}

/// Peak resident memory of this process (Linux: VmHWM), MiB.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The text report.
pub fn render(r: &BenchResult) -> String {
    let m = &r.ms;
    let row = |name: &str, s: &Spread| {
        format!(
            "  {name:<12} {:>9.2} {:>9.2} {:>9.2}\n",
            s.median, s.min, s.max
        )
    };
    let mut out = format!(
        "lnwarm bench: {} L={} d={} h={} d_ff={} T={} B={} ({} tokens/update), {} threads, {} timed + {} untimed updates\n",
        r.config.model.arch.name(),
        r.config.model.n_layers,
        r.config.model.d_model,
        r.config.model.n_heads,
        r.config.model.d_ff,
        r.config.data.seq_len,
        r.config.data.batch_size,
        r.tokens_per_step,
        r.threads,
        r.timed_steps,
        r.warmup_steps
    );
    out.push_str(&format!(
        "tokens/s: median {:.0} (min {:.0}, max {:.0})\nms/update    {:>9} {:>9} {:>9}\n",
        r.tokens_per_s.median, r.tokens_per_s.min, r.tokens_per_s.max, "median", "min", "max"
    ));
    out.push_str(&row("forward", &m.forward));
    out.push_str(&row("backward", &m.backward));
    out.push_str(&row("grad norms", &m.grad_norms));
    out.push_str(&row("optimizer", &m.optimizer));
    out.push_str(&row("total", &m.total));
    out.push_str(&format!(
        "achieved: {:.1} GFLOP/s ({:.2} GFLOP/update, counted as 6*matmul params*tokens + 12*L*B*T^2*d)\npeak memory: {}\n",
        r.gflop_per_s,
        r.flop_per_step / 1e9,
        r.peak_rss_mib.map_or("unknown".into(), |m| format!("{m:.0} MiB RSS"))
    ));
    out
}
