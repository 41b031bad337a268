//! The `lnwarm` binary: parse flags, dispatch, map errors to one line and an exit code
//! (the table in `lnwarm::error`: 2 bad input, 3 data, 4 files and outputs, 70 internal, 1 a run
//! or check that failed, 128+n interrupted).

use clap::Parser;
use lnwarm::cli::{one_line_error, Cli, Command, TrainArgs};
use lnwarm::train::{train_to_file, Resume, ToFile};
use std::process::ExitCode;

/// Keep freed memory in the process. By default glibc maps every temporary above 128 KiB-32 MiB
/// (adaptive) with mmap and returns it on free, so each training step page-faults and zeroes its
/// tensors again (~27% of a step). Measured (docs/performance.md): default glibc 3,934 tokens/s,
/// mimalloc 5,845-6,224, glibc with these settings 6,463 (cpu-small, Pre-LN).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    // SAFETY: mallopt only changes allocator tunables; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        libc::mallopt(libc::M_TOP_PAD, 256 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory() {}

/// Die quietly on a closed pipe (`lnwarm sweep plan ... | head`) instead of panicking on print.
#[cfg(unix)]
fn default_sigpipe() {
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn default_sigpipe() {}

fn main() -> ExitCode {
    default_sigpipe();
    keep_freed_memory();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) if !err.use_stderr() => {
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            eprintln!("{}", one_line_error(&err));
            return ExitCode::from(2);
        }
    };
    if let Some(threads) = cli.threads {
        // Issue 33: 65535 threads started over 2,000 and a load of ~800 on 2 cores.
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        if usize::from(threads) > 64 * cores {
            eprintln!(
                "error: --threads {threads}: allowed 1 to {} (64 x the {cores} cores this process may use)",
                64 * cores
            );
            return ExitCode::from(2);
        }
        // Read by rayon's global pool (built on first use, after this) and by candle's GEMMs.
        std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
    }
    let result = match &cli.command {
        Some(Command::Train(args)) => run_train(args),
        Some(Command::Schedule(args)) => lnwarm::cli::schedule_cmd::run(args),
        Some(Command::GradInit(args)) => lnwarm::cli::grad_init_cmd::run_cmd(args),
        Some(Command::Sweep(cmd)) => lnwarm::cli::sweep_cmd::run(cmd),
        Some(Command::Compare(args)) => lnwarm::cli::compare_cmd::compare(args),
        Some(Command::Claims(args)) => lnwarm::cli::compare_cmd::claims(args),
        Some(Command::Bench(args)) => lnwarm::cli::bench_cmd::run(args),
        Some(Command::Probe(args)) => lnwarm::cli::probe_cmd::run(args),
        None => run_train(&cli.train),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A deliberate stop is not an error: it is reported as the stop it is.
        Err(err @ lnwarm::Error::Interrupted { .. }) => {
            eprintln!("lnwarm: {err}");
            ExitCode::from(err.exit_code())
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}

fn run_train(args: &TrainArgs) -> lnwarm::Result<()> {
    let cfg = args.resolve()?;
    let run_name = args.run_name(&cfg);
    let out = args.checked_out_path(&run_name)?;
    if let Some(path) = &args.save_model {
        lnwarm::cli::check_writable_as("--save-model", path)?;
    }
    let ckpt_dir = lnwarm::checkpoint::dir_for(&out);
    if !args.resume && lnwarm::checkpoint::exists(&ckpt_dir) && !args.quiet {
        println!(
            "lnwarm: {} exists; starting over (it is replaced at the first checkpoint). To continue it, add --resume",
            ckpt_dir.display()
        );
    }
    let to = ToFile {
        name: &run_name,
        out: &out,
        quiet: args.quiet,
        checkpoint_every: args.checkpoint_every,
        resume: if args.resume {
            Resume::Required
        } else {
            Resume::Never
        },
        continue_with: resume_command(),
    };
    let (setup, result) = train_to_file(&cfg, &to)?;
    if let Some(path) = &args.save_model {
        lnwarm::checkpoint::save_model(path, &setup.store)?;
    }
    if !args.quiet {
        let s = &result.summary;
        let bpc = s
            .final_val_bits_per_char
            .map_or(String::new(), |b| format!(" ({b:.3} bits/char)"));
        println!(
            "lnwarm: wrote {}: {}, {} steps, final val loss {}{bpc}, best {}, {:.0} tok/s, {:.1} s",
            out.display(),
            result.summary.outcome.name(),
            s.steps_done,
            fmt_loss(s.final_val_loss),
            fmt_loss(s.best_val_loss),
            s.mean_tokens_per_s,
            s.wall_time_s
        );
    }
    Ok(())
}

/// This process's command line with `--resume` added (once).
/// The command that continues this run, as the user typed it (`cargo run` sets CARGO and the
/// package name for the binary it runs).
fn resume_command() -> String {
    let args: Vec<String> = std::env::args().collect();
    let via_cargo = std::env::var_os("CARGO").is_some()
        && std::env::var("CARGO_PKG_NAME").is_ok_and(|n| n == "lnwarm");
    lnwarm::cli::resume_line(&args, via_cargo)
}

fn fmt_loss(loss: Option<f64>) -> String {
    loss.map_or_else(|| "-".into(), |l| format!("{l:.4}"))
}
