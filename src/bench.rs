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
use crate::train::{ProbedUpdate, Setup};
use serde::{Deserialize, Serialize};
use std::path::Path;

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
    /// The yardstick: GFLOP/s of a 1024³ f32 GEMM on this machine and thread count
    /// (`bench_peak`); `gflop_per_s` is `fraction_of_large_gemm` of it.
    pub large_gemm_gflop_per_s: f64,
    pub fraction_of_large_gemm: f64,
    pub peak_rss_mib: Option<f64>,
    pub threads: usize,
    /// Writing one checkpoint (model, optimizer, state.json as large as at the run's last
    /// update), ms over `CHECKPOINT_REPEATS` writes.
    pub checkpoint_ms: Spread,
    /// Sizes of `model.safetensors`, `optimizer.safetensors`, `state.json` written.
    pub checkpoint_bytes: Vec<u64>,
    /// Checkpoint time / update time at the default interval (`--checkpoint-every 500`).
    pub checkpoint_share: f64,
    /// `--probe`: what each probe costs (absent without probes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probes: Option<ProbeCost>,
}

/// The cost of the probes: ms per measurement of each, over `PROBE_ROUNDS` consecutive
/// measured updates (warm starts included, so the first is the slowest).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProbeCost {
    pub ms: std::collections::BTreeMap<String, Spread>,
    /// Wall ms of a measured update beyond the update itself (every probe, the weight copy and
    /// the extra forward passes), per round.
    pub overhead_ms: Spread,
    /// `probe.every` of the config, and overhead_ms.median / (every x update ms): the share a
    /// run's time grows by (gradhist, over its first updates only, left out).
    pub every: u64,
    pub overhead_share: f64,
}

const PROBE_ROUNDS: usize = 3;

/// Time `PROBE_ROUNDS` updates with every probe of `cfg` measured after each.
fn time_probes(
    cfg: &RunConfig,
    setup: &Setup,
    opt: &mut Optimizer,
    sampler: &mut WindowSampler,
    rule: StepRule,
    update_ms: f64,
) -> Result<Option<ProbeCost>> {
    let mut every_update = cfg.clone();
    every_update.probe.every = crate::config::probe_every::ProbeEvery::every(1);
    let Some(mut prober) = crate::probe::Prober::new(
        &every_update,
        &setup.corpus.val,
        setup.corpus.tokenizer.size(),
        &setup.store,
    )?
    else {
        return Ok(None);
    };
    let trainee = Trainee {
        model: &setup.model,
        store: &setup.store,
        device: &setup.device,
    };
    let (mut by_probe, mut overhead) = (
        std::collections::BTreeMap::<String, Vec<f64>>::new(),
        Vec::new(),
    );
    for round in 1..=PROBE_ROUNDS as u64 {
        let batch = sampler.next_batch()?;
        let t = std::time::Instant::now();
        let update = ProbedUpdate::run(
            &trainee,
            opt,
            Some(&prober),
            Some(crate::probe::Plan::everything(&cfg.probe)),
            (round, &batch),
            rule,
        )?;
        let update_ms = update.report.times.total_ms;
        let point = update
            .measure(Some(&mut prober), &trainee, opt, 0)?
            .unwrap_or_default();
        overhead.push(t.elapsed().as_secs_f64() * 1e3 - update_ms);
        for (name, ms) in point.ms {
            by_probe.entry(name).or_default().push(ms);
        }
    }
    let overhead_ms = Spread::of(&overhead);
    Ok(Some(ProbeCost {
        ms: by_probe
            .into_iter()
            .map(|(k, v)| (k, Spread::of(&v)))
            .collect(),
        every: cfg.probe.every.final_every(),
        overhead_share: overhead_ms.median / (cfg.probe.every.final_every() as f64 * update_ms),
        overhead_ms,
    }))
}

/// The trainer's default `--checkpoint-every`.
const DEFAULT_CHECKPOINT_EVERY: f64 = 500.0;
const CHECKPOINT_REPEATS: usize = 5;

/// Milliseconds to write a checkpoint of this model and optimizer into `scratch`, with a partial
/// result holding as many logged points as the run's last checkpoint would (its JSON grows).
fn time_checkpoint(
    cfg: &RunConfig,
    setup: &Setup,
    opt: &Optimizer,
    norms: &crate::metrics::GradNorms,
    sampler: &WindowSampler,
    scratch: &Path,
) -> Result<(Spread, Vec<u64>)> {
    let mut result =
        crate::train::empty_result(cfg, &setup.corpus, &setup.store, &setup.device, "bench", 0);
    let logged = cfg.train.steps / cfg.train.log_every;
    let norm_map: std::collections::BTreeMap<String, f64> = norms
        .names
        .iter()
        .cloned()
        .zip(norms.norms.iter().copied())
        .collect();
    for i in 1..=logged {
        let step = i * cfg.train.log_every;
        result.train.push(crate::results::TrainPoint {
            step,
            lr: 1e-3,
            train_loss: 2.0,
            grad_norm: norms.global,
            tokens_per_s: 1e4,
        });
        result.grad_norms.push(crate::results::GradNormPoint {
            step,
            norms: norm_map.clone(),
        });
    }
    let state = crate::checkpoint::CheckpointState {
        format: crate::checkpoint::FORMAT,
        lnwarm_version: env!("CARGO_PKG_VERSION").to_string(),
        update: cfg.train.steps,
        sampler_position: sampler.position().to_string(),
        warmup_ended_at_step: None,
        elapsed: Default::default(),
        files: Default::default(),
        config: cfg.clone(),
        result,
    };
    let dir = tempfile::tempdir_in(scratch).map_err(crate::error::io_err(scratch))?;
    let target = dir.path().join("bench.json.ckpt");
    let times: Vec<f64> = (0..CHECKPOINT_REPEATS)
        .map(|_| {
            let t = std::time::Instant::now();
            let tokenizer = setup.corpus.tokenizer.saved().map(|(json, _)| json);
            crate::checkpoint::save(&target, &setup.store, opt, state.clone(), tokenizer, None)?;
            Ok(t.elapsed().as_secs_f64() * 1e3)
        })
        .collect::<Result<_>>()?;
    let bytes = ["model.safetensors", "optimizer.safetensors", "state.json"]
        .iter()
        .map(|f| std::fs::metadata(target.join(f)).map_or(0, |m| m.len()))
        .collect::<Vec<_>>();
    Ok((Spread::of(&times), bytes))
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

/// Run `warmup` untimed then `steps` timed updates, then time checkpoint writes into `scratch`
/// (a folder on the disk results go to).
pub fn run(cfg: &RunConfig, steps: usize, warmup: usize, scratch: &Path) -> Result<BenchResult> {
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
        full_lr: None,
        clip: cfg.optim.clip,
        diverge_loss: crate::train::diverge_threshold(cfg, setup.corpus.tokenizer.size()),
        sync_phases: true,
        keep_grads: false,
    };
    let mut times = Vec::with_capacity(steps);
    let mut last = None;
    for i in 0..warmup + steps {
        let batch = sampler.next_batch()?;
        let report = step::update(&trainee, &mut opt, &batch, rule)?;
        if let Some(reason) = report.diverged {
            return Err(crate::error::Error::Failed(format!(
                "bench: the model diverged at update {}: {reason}; lower --lr in the config",
                i + 1
            )));
        }
        if i >= warmup {
            times.push(report.times);
        }
        last = Some(report);
    }
    let norms = last
        .map(|r| r.norms)
        .ok_or_else(|| crate::usage!("--steps 0: must be a positive integer"))?;
    let (checkpoint_ms, checkpoint_bytes) =
        time_checkpoint(cfg, &setup, &opt, &norms, &sampler, scratch)?;
    let update_ms = Spread::of(&times.iter().map(|t| t.total_ms).collect::<Vec<_>>()).median;
    let probes = time_probes(cfg, &setup, &mut opt, &mut sampler, rule, update_ms)?;
    let spread = |f: fn(&StepTimes) -> f64| Spread::of(&times.iter().map(f).collect::<Vec<_>>());
    let total = spread(|t| t.total_ms);
    let tokens_per_s = Spread::of(
        &times
            .iter()
            .map(|t| tokens as f64 / (t.total_ms / 1e3))
            .collect::<Vec<_>>(),
    );
    let gflop_per_s = flop / (total.median / 1e3) / 1e9;
    let large_gemm = crate::bench_peak::large_gemm_gflop_per_s()?;
    Ok(BenchResult {
        schema_version: 1,
        kind: "bench".into(),
        config: cfg.clone(),
        provenance: crate::results::Provenance::collect(&setup.device, 0),
        timed_steps: steps,
        warmup_steps: warmup,
        tokens_per_step: tokens,
        flop_per_step: flop,
        gflop_per_s,
        large_gemm_gflop_per_s: large_gemm,
        fraction_of_large_gemm: gflop_per_s / large_gemm,
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
        checkpoint_ms,
        checkpoint_bytes,
        checkpoint_share: checkpoint_ms.median / (DEFAULT_CHECKPOINT_EVERY * total.median),
        probes,
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
        "checkpoint: {:.1} MB ({}) in {:.1} ms (median of {CHECKPOINT_REPEATS}; min {:.1}, max {:.1}) = {:.3}% of update time at --checkpoint-every {DEFAULT_CHECKPOINT_EVERY}\n",
        r.checkpoint_bytes.iter().sum::<u64>() as f64 / 1e6,
        r.checkpoint_bytes.iter().map(|b| format!("{:.1}", *b as f64 / 1e6)).collect::<Vec<_>>().join(" + "),
        r.checkpoint_ms.median,
        r.checkpoint_ms.min,
        r.checkpoint_ms.max,
        100.0 * r.checkpoint_share
    ));
    let side = crate::bench_peak::SIDE;
    out.push_str(&format!(
        "achieved: {:.1} GFLOP/s ({:.2} GFLOP/update, counted as 6*matmul params*tokens + 12*L*B*T^2*d) = {:.0}% of a {side}³ f32 GEMM's {:.1} GFLOP/s here ({} threads, the yardstick)\npeak memory: {}\n",
        r.gflop_per_s,
        r.flop_per_step / 1e9,
        100.0 * r.fraction_of_large_gemm,
        r.large_gemm_gflop_per_s,
        r.threads,
        r.peak_rss_mib.map_or("unknown".into(), |m| format!("{m:.0} MiB RSS"))
    ));
    if let Some(p) = &r.probes {
        out.push_str(&format!(
            "probes: ms per measurement (median of {PROBE_ROUNDS} consecutive; min, max)\n"
        ));
        for (name, s) in &p.ms {
            out.push_str(&row(name, s));
        }
        out.push_str(&format!(
            "  all probes: {:.1} ms beyond the update per measurement = {:.1}% of update time at --probe-every {}\n",
            p.overhead_ms.median,
            100.0 * p.overhead_share,
            p.every
        ));
    }
    out
}
