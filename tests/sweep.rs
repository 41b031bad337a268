//! Sweeps as a user runs them: `scripts/sweep.sh` killed outright (the group, or the script
//! alone with its runs orphaned) and rerun finishes every run once; stopped by SIGINT, even when
//! started in the background, it checkpoints the running runs, prints how to continue and exits
//! 130.

use lnwarm::results::RunResult;
use std::path::{Path, PathBuf};
use std::process::Command;

fn tiny_study(dir: &Path) -> PathBuf {
    tiny_study_of(dir, 600)
}

/// The tiny study with `steps` updates per run.
fn tiny_study_of(dir: &Path, steps: u64) -> PathBuf {
    let path = dir.join("tiny.json");
    let study = r#"{
      "base": {"data": {"source": "synthetic", "seq_len": 32, "batch_size": 8, "eval_batches": 2}},
      "fixed": {"model.n_layers": 2, "model.d_model": 32, "model.n_heads": 2, "model.d_ff": 64,
                "train.steps": 600, "train.eval_every": 300, "schedule.peak_lr": 0.003},
      "scientific": {"model.arch": ["post-ln", "pre-ln"]},
      "nuisance": {"train.seed": [0, 1, 2]}
    }"#;
    std::fs::write(&path, study.replace("600", &steps.to_string())).unwrap();
    path
}

/// The run result files of a study folder (not study.json; none if the folder is missing).
fn result_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir).map_or(Vec::new(), |d| {
        d.map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json") && !p.ends_with("study.json"))
            .collect()
    })
}

/// The ids of runs that have started (their `.locks/ID.lock` exists) and not finished (no
/// `ID.json` yet) in a study's results folder.
fn runs_in_progress(dir: &Path) -> Vec<String> {
    let locks = std::fs::read_dir(dir.join(".locks")).map_or(Vec::new(), |d| {
        d.filter_map(|e| {
            let name = e.ok()?.file_name().to_string_lossy().to_string();
            name.strip_suffix(".lock").map(String::from)
        })
        .collect()
    });
    locks
        .into_iter()
        .filter(|id| !dir.join(format!("{id}.json")).exists())
        .collect()
}

/// Polls (every 10 ms, at most 120 s) until a run of the study is in progress; its ids.
fn wait_for_a_run_in_progress(dir: &Path) -> Vec<String> {
    let start = std::time::Instant::now();
    while start.elapsed() < std::time::Duration::from_secs(120) {
        let running = runs_in_progress(dir);
        if !running.is_empty() {
            return running;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("no run of {} started within 120 s", dir.display());
}

fn sweep(study: &Path, results: &Path) -> Command {
    let mut cmd = Command::new("bash");
    cmd.arg("scripts/sweep.sh")
        .arg(study)
        .arg("--results")
        .arg(results)
        .arg("--jobs")
        .arg("2");
    cmd.env("LNWARM_BIN", env!("CARGO_BIN_EXE_lnwarm"));
    cmd
}

/// Run the sweep again to its end: it must succeed and say every run is complete; the result
/// files, each a complete result.
fn finish(study: &Path, results: &Path) -> Vec<PathBuf> {
    let out = sweep(study, results).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("all 6 runs complete"), "{stdout}");
    let files = result_files(&results.join("tiny"));
    for p in &files {
        RunResult::read(p).unwrap();
    }
    files
}

#[test]
fn sweep_resumes_after_a_kill_with_every_result_once() {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let study = tiny_study(dir.path());
    let results = dir.path().join("results");
    // Start the sweep in its own process group, then kill -9 the whole group mid-way.
    let mut child = sweep(&study, &results)
        .process_group(0)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for_a_run_in_progress(&results.join("tiny"));
    let pgid = child.id() as i32;
    Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .status()
        .unwrap();
    let _ = child.wait();
    let finished_before = result_files(&results.join("tiny")).len();
    assert!(
        finished_before < 6,
        "the kill came too late to test anything ({finished_before} results)"
    );
    let jsons = finish(&study, &results);
    assert_eq!(jsons.len(), 6);
    for path in &jsons {
        let r = RunResult::read(path).unwrap();
        assert_eq!(r.summary.steps_done, 600);
    }
    // A third start finds nothing to do.
    let out = sweep(&study, &results).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 of 6 runs to do"));
}

#[test]
fn a_rerun_waits_for_runs_orphaned_by_a_killed_script() {
    let dir = tempfile::tempdir().unwrap();
    let study = tiny_study(dir.path());
    let results = dir.path().join("results");
    // kill -9 of the script alone: its runs live on as orphans and still write their results.
    let mut child = sweep(&study, &results)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let tiny = results.join("tiny");
    wait_for_a_run_in_progress(&tiny);
    Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    let _ = child.wait();
    // The script died with runs in flight: they are orphans now, still running.
    let orphaned = runs_in_progress(&tiny);
    assert!(
        !orphaned.is_empty(),
        "the kill interrupted nothing: every started run had finished"
    );
    let files = finish(&study, &results);
    assert_eq!(files.len(), 6);
    // Each orphan's run finished once, complete (the rerun waited on its lock, it did not
    // start the run a second time beside it).
    for id in &orphaned {
        let r = RunResult::read(&tiny.join(format!("{id}.json"))).unwrap();
        assert_eq!(r.summary.steps_done, 600, "{id}");
        assert!(r.resumed.is_empty(), "{id} was restarted: {:?}", r.resumed);
    }
}

/// Issue 33: a sweep started in the background by a non-interactive shell has SIGINT ignored on
/// entry (bash cannot trap it then). `kill -INT` of the script must still stop it like Ctrl-C:
/// the running runs checkpoint, finished results stay, a resume line, exit 130; and the same
/// command then completes every run once.
#[test]
fn a_background_sweep_stops_on_sigint_and_continues() {
    let dir = tempfile::tempdir().unwrap();
    // Runs of a few seconds each, so that the signal finds one running.
    let study = tiny_study_of(dir.path(), 4000);
    let results = dir.path().join("results");
    let pid_file = dir.path().join("sweep.pid");
    let script = format!(
        "bash scripts/sweep.sh {} --results {} --jobs 2 > {d}/out.txt 2> {d}/err.txt & echo $! > {}; wait $!; echo $? > {d}/code.txt",
        study.display(),
        results.display(),
        pid_file.display(),
        d = dir.path().display()
    );
    let mut shell = Command::new("bash")
        .args(["-c", &script])
        .env("LNWARM_BIN", env!("CARGO_BIN_EXE_lnwarm"))
        .spawn()
        .unwrap();
    let tiny = results.join("tiny");
    wait_for_a_run_in_progress(&tiny);
    // Past its setup and into its updates (a run takes a few seconds).
    std::thread::sleep(std::time::Duration::from_millis(1000));
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    Command::new("kill")
        .args(["-INT", pid.trim()])
        .status()
        .unwrap();
    shell.wait().unwrap();
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    let (code, err) = (read("code.txt"), read("err.txt"));
    assert_eq!(
        code.trim(),
        "130",
        "stderr: {err}\nstdout: {}",
        read("out.txt")
    );
    assert!(err.contains("run the same command to continue"), "{err}");
    assert!(!err.contains("without a result"), "{err}");
    let checkpointed = std::fs::read_dir(&tiny)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .to_string_lossy()
                .ends_with(".ckpt")
        })
        .count();
    assert!(checkpointed > 0, "no run was checkpointed");
    assert_eq!(finish(&study, &results).len(), 6);
}
