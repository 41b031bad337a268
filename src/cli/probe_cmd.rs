//! `lnwarm probe`: the mechanism probes on a checkpoint (`--from`) or at initialisation (any
//! `--arch`), measured exactly as a run with `--probe` measures them: at the weights given, and
//! around the next update the run would make (its next batch, rate and optimizer state), which
//! is not saved anywhere.

use crate::config::RunConfig;
use crate::data::batches::WindowSampler;
use crate::error::Result;
use crate::probe::{Plan, ProbePoint, Prober};
use crate::schedule::LrSchedule;
use crate::step::{StepRule, Trainee};
use crate::train::{
    build_model, build_schedule, diverge_threshold, restore_stream, ProbedUpdate, Setup,
};
use crate::usage;
use clap::Args;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Flags of `lnwarm probe` (model, data and optimizer flags as for training).
#[derive(Debug, Args, Clone)]
pub struct ProbeCmdArgs {
    /// Checkpoint folders (<result>.ckpt/); model, data, optimizer and seed come from each one's
    /// config. Without --from: the initial weights of the config the flags give.
    #[arg(long, value_delimiter = ',', value_name = "CKPT_DIR,..")]
    pub from: Vec<PathBuf>,
    #[command(flatten)]
    pub train: Box<super::TrainArgs>,
}

/// What `lnwarm probe` writes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProbeReport {
    pub kind: String,
    pub provenance: crate::results::Provenance,
    pub entries: Vec<ProbeEntry>,
}

/// One checkpoint (or initialisation) probed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProbeEntry {
    /// The checkpoint folder, or `init`.
    pub source: String,
    pub config: RunConfig,
    /// At the weights as given (update `at.step`).
    pub at: ProbePoint,
    /// After the next update (update `at.step + 1`): what needs an update (update, overfit,
    /// gradhist) and everything else again at the new weights.
    pub next: ProbePoint,
}

pub fn run(args: &ProbeCmdArgs) -> Result<()> {
    let cfg_flags = &args.train;
    let entries = if args.from.is_empty() {
        let cfg = cfg_flags.resolve()?;
        require_probes(&cfg)?;
        vec![probe_one(&cfg, None)?]
    } else {
        if cfg_flags.config.is_some()
            || cfg_flags.model_data.first_given().is_some()
            || cfg_flags.arch.is_some()
        {
            return Err(usage!(
                "--from with model, data or config flags: the model, data and seed come from each checkpoint's config"
            ));
        }
        args.from
            .iter()
            .map(|dir| {
                let ckpt = crate::checkpoint::load(dir, &candle_core::Device::Cpu, "--from")?;
                let mut cfg = ckpt.state.config.clone();
                cfg.probe = Default::default();
                cfg_flags.probes.apply(&mut cfg)?;
                let cfg = cfg.finish()?;
                require_probes(&cfg)?;
                probe_one(&cfg, Some((dir, ckpt)))
            })
            .collect::<Result<Vec<_>>>()?
    };
    let report = ProbeReport {
        kind: "probe".into(),
        provenance: crate::results::Provenance::collect(
            &candle_core::Device::Cpu,
            crate::files::unix_now(),
        ),
        entries,
    };
    let out = cfg_flags.out.clone().unwrap_or_else(|| {
        let key = serde_json::to_string(
            &report
                .entries
                .iter()
                .map(|e| (&e.source, &e.config))
                .collect::<Vec<_>>(),
        )
        .unwrap_or_default();
        let hash = crate::files::sha256_hex(key.as_bytes());
        PathBuf::from("results").join(format!("probe-{}.json", &hash[..8]))
    });
    super::check_writable(&out)?;
    crate::files::write_json(&out, &report)?;
    print!("{}", table(&report));
    println!("lnwarm: wrote {}", out.display());
    Ok(())
}

fn require_probes(cfg: &RunConfig) -> Result<()> {
    if cfg.probe.names.is_empty() {
        return Err(usage!(
            "lnwarm probe: no --probe given; allowed: {}",
            crate::probe::allowed_names()
        ));
    }
    Ok(())
}

/// The probes at the weights of `ckpt` (or the initial ones) and around the next update. A
/// checkpoint is put back as `--resume` puts it back (weights, optimizer, sampler, a loss-ended
/// warmup, the reduce-on-plateau cuts; a catapult start is found again on the initial model),
/// so the rate and the thresholds are those the run itself would use next; the measurement at
/// the checkpoint reads its Adam state (`adam-sharpness` at the checkpoint's own weights).
fn probe_one(
    cfg: &RunConfig,
    ckpt: Option<(&PathBuf, crate::checkpoint::Loaded)>,
) -> Result<ProbeEntry> {
    let setup = Setup::new(cfg)?;
    let mut sampler = WindowSampler::new(
        setup.corpus.train.clone(),
        cfg.data.seq_len,
        cfg.data.batch_size,
        cfg.train.seed,
        &setup.device,
    );
    // On the initial model, before any checkpoint weights: the catapult search's model.
    let (mut schedule, _) = build_schedule(cfg, &setup)?;
    let mut opt = crate::optim::Optimizer::new(setup.store.named_vars(), &cfg.optim, 0.0)?;
    let (source, step) = match ckpt {
        Some((dir, loaded)) => {
            crate::checkpoint::restore_params(&setup.store, &loaded.model)?;
            opt.load_state(&loaded.optimizer)?;
            restore_stream(&loaded, "--from", &mut sampler, &mut schedule)?;
            (dir.display().to_string(), loaded.state.update)
        }
        None => ("init".to_string(), 0),
    };
    let vocab = setup.corpus.tokenizer.size();
    let mut prober = Prober::new(cfg, &setup.corpus.val, vocab, &setup.store)?
        .ok_or_else(|| usage!("lnwarm probe: no --probe given"))?;
    let (_, initial) = build_model(cfg, &setup.corpus, &setup.device)?;
    prober.set_initial_reference(&initial)?;
    let adam = opt.second_moment()?;
    let mut at = prober.at(
        &setup.model,
        &setup.store,
        schedule.lr(step.max(1)),
        adam.as_ref(),
        step,
    )?;
    at.step = step;
    let next_step = step + 1;
    let trainee = Trainee {
        model: &setup.model,
        store: &setup.store,
        device: &setup.device,
    };
    let rule = StepRule {
        lr: schedule.lr(next_step),
        full_lr: Some(schedule.full_lr(next_step)),
        clip: cfg.optim.clip,
        diverge_loss: diverge_threshold(cfg, vocab),
        sync_phases: false,
        keep_grads: true,
    };
    let batch = sampler.next_batch()?;
    let plan = Plan::everything(&cfg.probe);
    let update = ProbedUpdate::run(
        &trainee,
        &mut opt,
        Some(&prober),
        Some(plan),
        (next_step, &batch),
        rule,
    )?;
    if let Some(reason) = &update.report.diverged {
        return Err(crate::error::Error::Failed(format!(
            "lnwarm probe: update {next_step} diverges ({reason}); nothing to measure after it"
        )));
    }
    let next = update
        .measure(Some(&mut prober), &trainee, &opt, schedule.warmup_end())?
        .unwrap_or_default();
    Ok(ProbeEntry {
        source,
        config: cfg.clone(),
        at,
        next,
    })
}

/// One line per entry and probe: the headline numbers.
pub fn table(report: &ProbeReport) -> String {
    let mut out = String::new();
    for e in &report.entries {
        let arch = e.config.model.arch.name();
        out += &format!(
            "{} ({arch}, L={}), update {}:\n",
            e.source, e.config.model.n_layers, e.at.step
        );
        out += &crate::probe::summary_lines(&e.at, "  ");
        out += &format!("  after update {}:\n", e.next.step);
        out += &crate::probe::summary_lines(&e.next, "    ");
    }
    out
}
