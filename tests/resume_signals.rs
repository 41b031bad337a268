//! Runs that survive interruption, through the binary: kill -9 at any moment, SIGINT, SIGTERM,
//! SIGHUP and a doubled SIGINT leave a checkpoint that `--resume` finishes to the uninterrupted
//! result; missing, damaged, tampered and foreign checkpoints are refused with one line; a
//! finished run extends when its schedule allows (the library-level cases: tests/resume.rs).

mod common;

use common::resumed::without_timing;
use common::*;
use lnwarm::config::{Arch, RunConfig};
use lnwarm::results::{RunResult, RunStatus};
use lnwarm::schedule::{Decay, Warmup};
use lnwarm::train::{train, Resume, RunOptions, Setup};
use serde_json::Value;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const TINY: &[&str] = &[
    "--data",
    "synthetic",
    "--layers",
    "2",
    "--d-model",
    "32",
    "--heads",
    "2",
    "--d-ff",
    "64",
    "--seq-len",
    "32",
    "--batch-size",
    "8",
    "--eval-every",
    "10",
    "--log-every",
    "5",
    "--steps",
    "400",
    "--checkpoint-every",
    "25",
    "--threads",
    "2",
    "--quiet",
];

/// `args` with the value after `flag` replaced by `value`.
fn with<'a>(args: &[&'a str], flag: &str, value: &'a str) -> Vec<&'a str> {
    let at = args.iter().position(|a| *a == flag).expect("flag present") + 1;
    let mut out = args.to_vec();
    out[at] = value;
    out
}

fn lnwarm(args: &[&str], out: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lnwarm"));
    cmd.args(args).arg("--out").arg(out);
    cmd
}

fn finish(cmd: &mut Command) -> Output {
    cmd.output().expect("run lnwarm")
}

/// Start a run and wait until its first checkpoint exists (it is then mid-run).
fn start_until_checkpoint(args: &[&str], out: &Path) -> Child {
    let mut child = lnwarm(args, out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let state = lnwarm::checkpoint::dir_for(out).join("state.json");
    let deadline = Instant::now() + Duration::from_secs(120);
    while !state.exists() {
        assert!(Instant::now() < deadline, "no checkpoint after 2 minutes");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before its first checkpoint"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: sends a signal to our own child process.
    assert_eq!(unsafe { libc::kill(child.id() as i32, sig) }, 0);
}

fn read(path: &Path) -> RunResult {
    RunResult::read(path).unwrap()
}

#[test]
fn killed_with_sigkill_at_any_moment_and_resumed_equals_the_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let (whole, cut) = (dir.path().join("whole.json"), dir.path().join("cut.json"));
    let (w_model, c_model) = (
        dir.path().join("w.safetensors"),
        dir.path().join("c.safetensors"),
    );
    let mut args = TINY.to_vec();
    args.extend(["--save-model", w_model.to_str().unwrap()]);
    assert!(finish(&mut lnwarm(&args, &whole)).status.success());
    let mut child = start_until_checkpoint(TINY, &cut);
    // Past the first checkpoint, at a moment that is no checkpoint boundary in general.
    std::thread::sleep(Duration::from_millis(37));
    signal(&child, libc::SIGKILL);
    child.wait().unwrap();
    assert!(!cut.exists(), "a killed run writes no result");
    let mut args = TINY.to_vec();
    args.extend(["--resume", "--save-model", c_model.to_str().unwrap()]);
    let out = finish(&mut lnwarm(&args, &cut));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (a, b) = (read(&whole), read(&cut));
    assert_eq!(without_timing(&a), without_timing(&b));
    assert_eq!(b.resumed.len(), 1);
    assert_eq!(
        b.resumed[0].at_update % 25,
        0,
        "resumed from a periodic checkpoint"
    );
    assert_eq!(
        std::fs::read(&w_model).unwrap(),
        std::fs::read(&c_model).unwrap(),
        "final weights"
    );
}

#[test]
fn sigint_and_sigterm_leave_a_checkpoint_and_a_partial_result_that_resume_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.json");
    assert!(finish(&mut lnwarm(TINY, &whole)).status.success());
    for (sig, code) in [(libc::SIGINT, 130), (libc::SIGTERM, 143)] {
        let cut = dir.path().join(format!("cut-{sig}.json"));
        let child = start_until_checkpoint(TINY, &cut);
        signal(&child, sig);
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("--resume"), "says how to resume: {stderr}");
        let partial = read(&cut);
        assert_eq!(partial.status, RunStatus::Interrupted);
        assert_eq!(partial.summary.outcome.name(), "interrupted");
        assert!(partial.summary.steps_done < 400);
        let mut args = TINY.to_vec();
        args.push("--resume");
        let out = finish(&mut lnwarm(&args, &cut));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let resumed = read(&cut);
        assert_eq!(resumed.resumed[0].at_update, partial.summary.steps_done);
        assert_eq!(without_timing(&resumed), without_timing(&read(&whole)));
    }
}

/// Issue 33: `timeout -s INT` delivers SIGINT twice at once (to the child and to its group);
/// the duplicate must not throw the first one's checkpoint away. SIGHUP (the terminal closed)
/// stops like SIGTERM.
#[test]
fn a_doubled_sigint_and_a_sighup_still_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("twice.json");
    let child = start_until_checkpoint(TINY, &cut);
    signal(&child, libc::SIGINT);
    signal(&child, libc::SIGINT);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(read(&cut).status, RunStatus::Interrupted);
    let hup = dir.path().join("hup.json");
    let child = start_until_checkpoint(TINY, &hup);
    signal(&child, libc::SIGHUP);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert!(stderr.contains("--resume"), "{stderr}");
    assert_eq!(read(&hup).status, RunStatus::Interrupted);
}

fn expect_one_line_usage(out: Output, contains: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(contains),
        "{stderr:?} should contain {contains:?}"
    );
    assert!(!stderr.contains("panicked"));
}

#[test]
fn missing_damaged_and_foreign_checkpoints_are_refused_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run.json");
    let short = with(TINY, "--steps", "30");
    let mut resume = short.clone();
    resume.push("--resume");
    expect_one_line_usage(
        finish(&mut lnwarm(&resume, &out)),
        &format!("--resume: no checkpoint at {}.ckpt", out.display()),
    );
    assert!(finish(&mut lnwarm(&short, &out)).status.success());
    // Another config: the differing keys are named.
    let mut other = resume.clone();
    other.extend(["--lr", "0.01", "--seed", "3"]);
    expect_one_line_usage(
        finish(&mut lnwarm(&other, &out)),
        "another config: schedule.peak_lr, train.seed differ",
    );
    // Another thread count changes the last digits: refused, with the flag that fixes it.
    let threads = with(&resume, "--threads", "1");
    expect_one_line_usage(finish(&mut lnwarm(&threads, &out)), "pass --threads 2");
    // One flipped byte in the weights.
    let model = lnwarm::checkpoint::dir_for(&out).join("model.safetensors");
    let mut bytes = std::fs::read(&model).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    std::fs::write(&model, bytes).unwrap();
    expect_one_line_usage(
        finish(&mut lnwarm(&resume, &out)),
        "damaged checkpoint: model.safetensors",
    );
    // A state.json that is not one.
    std::fs::write(lnwarm::checkpoint::dir_for(&out).join("state.json"), "{}").unwrap();
    expect_one_line_usage(
        finish(&mut lnwarm(&resume, &out)),
        "damaged checkpoint: state.json",
    );
}

/// A hand-edited state.json is refused by its checksum; one edited with its checksum redone
/// (or files mixed from two checkpoints) by the cross-checks; nothing is overwritten.
#[test]
fn a_tampered_checkpoint_state_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run.json");
    let short = with(TINY, "--steps", "30");
    assert!(finish(&mut lnwarm(&short, &out)).status.success());
    let ckpt = lnwarm::checkpoint::dir_for(&out);
    let state_path = ckpt.join("state.json");
    let original = std::fs::read_to_string(&state_path).unwrap();
    let mut resume = short.clone();
    resume.push("--resume");
    let edit = |update: &str, position: Option<&str>, resum: bool| {
        let mut state: Value = serde_json::from_str(&original).unwrap();
        state["update"] = serde_json::from_str(update).unwrap();
        if let Some(p) = position {
            state["sampler_position"] = Value::String(p.into());
        }
        let text = serde_json::to_string_pretty(&state).unwrap();
        std::fs::write(&state_path, &text).unwrap();
        if resum {
            let sum = lnwarm::files::sha256_hex(text.as_bytes());
            std::fs::write(ckpt.join("state.sha256"), sum).unwrap();
        }
    };
    edit("999999", None, false);
    expect_one_line_usage(
        finish(&mut lnwarm(&resume, &out)),
        "state.json: SHA-256 differs from state.sha256",
    );
    edit("999999", None, true);
    expect_one_line_usage(
        finish(&mut lnwarm(&resume, &out)),
        "update 999999 is past the run's 30 updates",
    );
    edit("5", None, true);
    expect_one_line_usage(
        finish(&mut lnwarm(&resume, &out)),
        "update 5, but the partial result has 30 updates done",
    );
    // Consistent fields but a sampler stream from elsewhere.
    edit("30", Some("7"), true);
    expect_one_line_usage(
        finish(&mut lnwarm(&resume, &out)),
        "sampler_position 7 does not follow 30 updates",
    );
    let result: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(
        result["summary"]["steps_done"], 30,
        "the result was not touched"
    );
}

#[test]
fn a_checkpoint_replaced_halfway_is_found_under_its_old_name() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run.json");
    let short = with(TINY, "--steps", "30");
    assert!(finish(&mut lnwarm(&short, &out)).status.success());
    // The moment between "old renamed away" and "new renamed into place".
    let ckpt = lnwarm::checkpoint::dir_for(&out);
    let old = dir.path().join("run.json.ckpt.old");
    std::fs::rename(&ckpt, &old).unwrap();
    let mut resume = short.clone();
    resume.push("--resume");
    let done = finish(&mut lnwarm(&resume, &out));
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(ckpt.join("state.json").exists() && !old.exists());
}

#[test]
fn grad_init_from_a_checkpoint_measures_the_trained_weights() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run.json");
    let mut short = with(TINY, "--steps", "60");
    short.extend(["--warmup", "0", "--lr", "3e-3"]);
    assert!(finish(&mut lnwarm(&short, &out)).status.success());
    let ckpt = lnwarm::checkpoint::dir_for(&out);
    let measured = dir.path().join("gi.json");
    let at_init = dir.path().join("gi-init.json");
    let run = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_lnwarm"))
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    let from = format!("{}", ckpt.display());
    run(&[
        "grad-init",
        "--from",
        &from,
        "--batches",
        "2",
        "--quiet",
        "--out",
        measured.to_str().unwrap(),
    ]);
    // The same model at initialization (the run's flags, seed 0).
    run(&[
        "grad-init",
        "--archs",
        "pre-ln",
        "--layers",
        "2",
        "--seeds",
        "1",
        "--batches",
        "2",
        "--data",
        "synthetic",
        "--d-model",
        "32",
        "--heads",
        "2",
        "--d-ff",
        "64",
        "--seq-len",
        "32",
        "--batch-size",
        "8",
        "--quiet",
        "--out",
        at_init.to_str().unwrap(),
    ]);
    let read = |p: &Path| lnwarm::grad_init::GradInitResult::read(p).unwrap();
    let (trained, init) = (read(&measured), read(&at_init));
    assert_eq!(trained.checkpoints, vec![ckpt.clone()]);
    assert_eq!(trained.measurements.len(), 1);
    let (t, i) = (&trained.measurements[0], &init.measurements[0]);
    assert_eq!(t.phase, "trained-60");
    assert_eq!(i.phase, "init");
    // Same batches (same seed and data), other weights: 60 updates lowered the loss.
    assert!(
        t.loss < i.loss - 0.3,
        "trained {} vs init {}",
        t.loss,
        i.loss
    );
}

/// `--resume --steps N` with a larger N extends a run whose schedule does not depend on its
/// length (here linear warmup then inverse-sqrt): the extended run equals one planned that long.
/// A schedule that stretches with the run (cosine) is refused, naming it.
#[test]
fn a_finished_run_extends_when_its_schedule_does_not_depend_on_the_length() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("r.json.ckpt");
    let at = |steps: u64, decay: Option<Decay>| {
        let mut c = tiny_run_config(Arch::PreLn, steps);
        c.train.eval_every = 10;
        if let Some(d) = decay {
            c.schedule.decay = d;
            c.schedule.warmup = Warmup::linear(5);
        }
        c.finish().unwrap()
    };
    let never = |_: u64| None;
    let opts = |resume| RunOptions {
        quiet: true,
        checkpoint_dir: Some(ckpt.clone()),
        checkpoint_every: 0,
        resume,
        stop: &never,
    };
    let run = |cfg: &RunConfig, resume| train(cfg, &Setup::new(cfg).unwrap(), "r", &opts(resume));
    let (short, long) = (at(20, None), at(40, None));
    run(&short, Resume::Never).unwrap();
    let extended = run(&long, Resume::Required).unwrap();
    let whole = train(
        &long,
        &Setup::new(&long).unwrap(),
        "r",
        &RunOptions::plain(true),
    )
    .unwrap();
    assert_eq!(extended.resumed[0].at_update, 20);
    assert_eq!(extended.config.train.steps, 40);
    let curves = |r: &RunResult| {
        let t: Vec<(u64, f64, f64)> = r
            .train
            .iter()
            .map(|p| (p.step, p.lr, p.train_loss))
            .collect();
        let e: Vec<(u64, f64)> = r.eval.iter().map(|p| (p.step, p.val_loss)).collect();
        (t, e)
    };
    assert_eq!(curves(&extended), curves(&whole));
    // Cosine over the run: the first updates' rates change with the length.
    let cosine: Decay = serde_json::from_str(r#"{"kind": "cosine"}"#).unwrap();
    let (short, long) = (at(20, Some(cosine.clone())), at(40, Some(cosine)));
    std::fs::remove_dir_all(&ckpt).unwrap();
    run(&short, Resume::Never).unwrap();
    let err = run(&long, Resume::Required)
        .expect_err("refused")
        .to_string();
    assert!(
        err.starts_with(
            "--resume --steps 40: the schedule (decay cosine) depends on the run's length: update 6 had lr"
        ),
        "{err}"
    );
}

/// Issue 33: a checkpoint's tensor that the model does not have is an error, as a missing one is.
#[test]
fn a_checkpoint_with_tensors_the_model_lacks_is_refused() {
    use candle_core::DType;
    let (_, pre) = tiny_model(&tiny_model_config(Arch::PreLn), DType::F32, 1);
    let (_, post) = tiny_model(&tiny_model_config(Arch::PostLn), DType::F32, 1);
    let tensors: std::collections::HashMap<String, candle_core::Tensor> = pre
        .named_vars()
        .iter()
        .map(|(n, v)| (n.clone(), v.as_tensor().copy().unwrap()))
        .collect();
    let err = lnwarm::checkpoint::restore_params(&post, &tensors)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(
            "checkpoint: final_ln.bias is not a parameter of this model (2 such tensors"
        ),
        "{err}"
    );
    let err = lnwarm::checkpoint::restore_params(&pre, &{
        let mut fewer = tensors.clone();
        fewer.remove("final_ln.bias");
        fewer
    })
    .unwrap_err()
    .to_string();
    assert_eq!(err, "checkpoint: no parameter final_ln.bias");
}
