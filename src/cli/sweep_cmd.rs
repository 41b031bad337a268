//! `lnwarm sweep plan|run|verify`: expand a study, and run one of its runs (`verify`: in
//! `sweep_verify`) (what `scripts/sweep.sh` and
//! the Slurm array call). A finished run (complete result JSON with the same config) is skipped;
//! a run another process is executing (its lock is held) is waited for, then skipped.

use crate::error::{io_err, Result};
use crate::files::write_atomic;
use crate::results::{RunResult, RunStatus, SCHEMA_VERSION};
use crate::study::plan::{describe, expand, PlannedRun};
use crate::study::Study;
use crate::train::{train_to_file, Resume, ToFile};
use crate::usage;
use clap::{Args, Subcommand};
use std::fs::File;
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand, Clone)]
pub enum SweepCommand {
    /// Print the expanded runs: id, status, grid point and the exact command.
    Plan(PlanArgs),
    /// Run one planned run (skipped if already complete; waits if another process runs it).
    Run(RunArgs),
    /// Rerun committed rows of the study's report and say whether each reproduces.
    Verify(super::sweep_verify::VerifyArgs),
}

#[derive(Debug, Args, Clone)]
pub struct PlanArgs {
    /// The study, e.g. experiments/smoke.json.
    pub study: PathBuf,
    /// Results root; the study writes into <results>/<study name>/.
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// Print only run ids.
    #[arg(long)]
    pub ids: bool,
    /// Only runs without a complete result.
    #[arg(long)]
    pub pending: bool,
    /// Print only the study's results folder.
    #[arg(long)]
    pub dir: bool,
    /// The design check: for each claim the study can test, whether its seed counts can make it
    /// hold and not hold (best p after Bonferroni, the margins it can confirm, seeds needed).
    #[arg(long)]
    pub power: bool,
}

#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    pub study: PathBuf,
    /// The run id (from `lnwarm sweep plan`).
    #[arg(long)]
    pub id: String,
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// Checkpoint the run every N updates (0: only when interrupted); a re-run continues from
    /// its checkpoint, and the checkpoint is removed once the result is complete.
    #[arg(long, value_name = "N", default_value_t = 500, allow_negative_numbers = true, value_parser = crate::cli::schedule_args::parse_whole)]
    pub checkpoint_every: u64,
    /// TensorBoard event files in DIR/<run id>/ (one TensorBoard run per lnwarm run).
    #[arg(long, value_name = "DIR")]
    pub tensorboard: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
}

pub fn run(cmd: &SweepCommand) -> Result<()> {
    match cmd {
        SweepCommand::Plan(args) => plan(args),
        SweepCommand::Run(args) => run_one(args),
        SweepCommand::Verify(args) => super::sweep_verify::verify(args),
    }
}

fn plan(args: &PlanArgs) -> Result<()> {
    let (study, name) = Study::load(&args.study)?;
    let runs = expand(&study)?;
    let dir = Study::results_dir(&args.results, &name);
    if args.dir {
        println!("{}", dir.display());
        return Ok(());
    }
    if args.power {
        print_design(&study, &name, &runs);
        return Ok(());
    }
    for run in &runs {
        let finished = complete_result(&result_path(&dir, &run.id), run);
        let done = finished.is_some();
        if args.pending && done {
            continue;
        }
        if args.ids {
            println!("{}", run.id);
        } else {
            let status = if done { "done" } else { "pending" };
            println!(
                "{}\t{status}\t{}\t{}",
                run.id,
                describe(&run.point),
                command(args, run, threads_of(finished.as_ref()))
            );
        }
    }
    Ok(())
}

/// `lnwarm sweep plan --power`: one line per claim, then a warning per claim the design cannot
/// decide both ways.
fn print_design(study: &Study, name: &str, runs: &[PlannedRun]) {
    let planned = runs
        .iter()
        .map(|r| RunResult::planned(r.config.clone()))
        .collect();
    let loaded = crate::analysis::planned(study, name, planned);
    let lines = crate::claims::design::design(&loaded);
    println!(
        "design of {name}: {} runs; {}; seed sd for planning {} nats; alpha {}",
        runs.len(),
        study.margins.describe(),
        study.margins.loss_sd,
        crate::claims::ALPHA
    );
    if lines.is_empty() {
        println!("no claim: the study has no pair of arms that a claim compares");
    }
    for l in &lines {
        let reach = match (l.can_hold, l.can_refute) {
            (true, true) => "both verdicts reachable",
            (true, false) => "only a positive reachable",
            (false, true) => "only a negative reachable",
            (false, false) => "undecidable",
        };
        println!("{reach}: {}", l.text());
    }
    for w in lines.iter().filter_map(|l| l.warning()) {
        println!("{w}");
    }
}

/// The command that runs (or, for a finished run, reproduces bit for bit) one planned run.
fn command(args: &PlanArgs, run: &PlannedRun, threads: usize) -> String {
    format!(
        "lnwarm sweep run {} --id {} --results {} --threads {threads}",
        args.study.display(),
        run.id,
        args.results.display()
    )
}

/// A finished run's recorded thread count; for a pending one, `--threads` / $RAYON_NUM_THREADS
/// of this call, else 1 (what `scripts/sweep.sh` gives each run).
fn threads_of(finished: Option<&RunResult>) -> usize {
    finished.map_or_else(
        || {
            std::env::var("RAYON_NUM_THREADS")
                .ok()
                .and_then(|t| t.parse().ok())
                .unwrap_or(1)
        },
        |r| r.provenance.threads,
    )
}

pub fn result_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.json"))
}

/// A result is complete when it parses, has this schema version and the planned config, and
/// was not interrupted.
pub fn is_complete(path: &Path, run: &PlannedRun) -> bool {
    complete_result(path, run).is_some()
}

/// The complete result of `run` at `path`, if there is one (read once: plan needs its fields).
fn complete_result(path: &Path, run: &PlannedRun) -> Option<RunResult> {
    RunResult::read(path).ok().filter(|r| {
        r.schema_version == SCHEMA_VERSION
            && r.config.without_log() == run.config.without_log()
            && r.status != RunStatus::Interrupted
    })
}

fn run_one(args: &RunArgs) -> Result<()> {
    let (study, name) = Study::load(&args.study)?;
    let runs = expand(&study)?;
    let run = runs.iter().find(|r| r.id == args.id).ok_or_else(|| {
        usage!(
            "--id {}: not a run of {} (see lnwarm sweep plan)",
            args.id,
            args.study.display()
        )
    })?;
    let dir = Study::results_dir(&args.results, &name);
    let out = result_path(&dir, &run.id);
    if is_complete(&out, run) {
        if !args.quiet {
            println!("lnwarm: {} already complete", run.id);
        }
        return Ok(());
    }
    let locks = dir.join(".locks");
    std::fs::create_dir_all(&locks).map_err(io_err(&locks))?;
    let lock_path = locks.join(format!("{}.lock", run.id));
    let lock = File::create(&lock_path).map_err(io_err(&lock_path))?;
    if lock.try_lock().is_err() {
        // Another process (say, an orphan of a killed sweep) runs it: wait for it, then re-check.
        if !args.quiet {
            println!(
                "lnwarm: {} is running in another process; waiting for it",
                run.id
            );
        }
        lock.lock().map_err(io_err(&lock_path))?;
    }
    // The lock is held: re-check, another process may have just finished it.
    if is_complete(&out, run) {
        return Ok(());
    }
    let study_copy = serde_json::to_vec_pretty(&study).map_err(|e| usage!("{e}"))?;
    write_atomic(&dir.join("study.json"), &study_copy)?;
    let mut config = run.config.clone();
    config.log.tensorboard = args.tensorboard.as_ref().map(|dir| dir.join(&run.id));
    let to = ToFile {
        name: &run.id,
        out: &out,
        quiet: args.quiet,
        checkpoint_every: args.checkpoint_every,
        // A checkpoint of this run (same config) continues it: a killed or requeued sweep
        // loses at most `checkpoint_every` updates per run.
        resume: Resume::IfCompatible,
        continue_with: "the same command".into(),
    };
    let (_, result) = train_to_file(&config, &to)?;
    let ckpt_dir = crate::checkpoint::dir_for(&out);
    // The study keeps results; weights of a finished run are not needed to resume anything.
    crate::checkpoint::remove(&ckpt_dir)?;
    if !args.quiet {
        println!(
            "lnwarm: wrote {} ({})",
            out.display(),
            result.summary.outcome.name()
        );
    }
    Ok(())
}
