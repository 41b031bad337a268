//! Bad input, continued: outputs that are not files, thread counts, one-symbol texts, keys given
//! twice, negative counts, a study file that does not parse, and the resume hint.

mod common;

use common::cli::*;
use std::process::Command;

#[test]
fn outputs_that_are_not_files_are_refused_up_front() {
    // Issue 33: a run name is a file name; an output that exists and is not a regular file (a
    // FIFO here, standing in for /dev/full) or ends in a separator is refused before any work.
    let dir = tempfile::tempdir().unwrap();
    for name in ["../../escape", "", ".."] {
        let outcome = Command::new(env!("CARGO_BIN_EXE_lnwarm"))
            .args(["--data", "synthetic", "--steps", "1", "--name", name])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(outcome.status.code(), Some(2), "--name {name:?}");
        let stderr = String::from_utf8_lossy(&outcome.stderr);
        assert!(stderr.contains("a run name is a file name"), "{stderr}");
    }
    assert!(!dir.path().join("results").exists(), "nothing written");
    let fifo = dir.path().join("fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let outcome = run(&["--data", "synthetic", "--steps", "1"], &fifo);
    assert_eq!(outcome.code, 2, "{}", outcome.stderr);
    assert_eq!(
        outcome.stderr.trim_end(),
        format!(
            "error: --out {}: exists and is not a regular file (a device, FIFO or socket); give a file path",
            fifo.display()
        )
    );
    let kind = std::fs::metadata(&fifo).unwrap().file_type();
    assert!(!kind.is_file(), "the FIFO is still a FIFO");
    assert!(!dir.path().join("fifo.ckpt").exists());
    let slash = format!("{}/", dir.path().join("newdir").display());
    let outcome = Command::new(env!("CARGO_BIN_EXE_lnwarm"))
        .args(["--data", "synthetic", "--steps", "1", "--out", &slash])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&outcome.stderr);
    assert_eq!(outcome.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("ends in a separator"), "{stderr}");
    assert!(
        !dir.path().join("newdir").exists(),
        "no checkpoint folder either"
    );
    let file = write_file(dir.path(), "hostname", b"x");
    let tb = Command::new(env!("CARGO_BIN_EXE_lnwarm"))
        .args([
            "--data",
            "synthetic",
            "--steps",
            "1",
            "--tensorboard",
            file.to_str().unwrap(),
            "--out",
        ])
        .arg(dir.path().join("tb.json"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&tb.stderr);
    assert_eq!(tb.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("exists and is not a folder") && !stderr.contains("Ok("),
        "{stderr}"
    );
}

#[test]
fn thread_counts_are_bounded_by_the_cores() {
    let cores = std::thread::available_parallelism().unwrap().get();
    expect_usage_error(
        &["--threads", "65535", "--data", "synthetic"],
        &format!(
            "error: --threads 65535: allowed 1 to {} (64 x the {cores} cores this process may use)",
            64 * cores
        ),
    );
}

#[test]
fn a_one_symbol_text_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let text = write_file(dir.path(), "a.txt", "a".repeat(5000).as_bytes());
    expect_usage_error(
        &["--data", text.to_str().unwrap()],
        &format!(
            "error: --data {}: a vocabulary of 1 token; a language model needs at least 2",
            text.display()
        ),
    );
}

#[test]
fn a_key_given_twice_is_an_error_naming_it() {
    // Issue 33: serde_json keeps the last of two equal keys, so a study lost a whole arm.
    let dir = tempfile::tempdir().unwrap();
    let study = write_file(
        dir.path(),
        "twice.json",
        br#"{"base": {"data": {"source": "synthetic"}}, "scientific": {"schedule.peak_lr": [1e-3],
 "schedule.peak_lr": [2e-3]}, "nuisance": {"train.seed": [0]}}"#,
    );
    let out = Command::new(env!("CARGO_BIN_EXE_lnwarm"))
        .args(["sweep", "plan"])
        .arg(&study)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "error: study {}: duplicate key scientific.schedule.peak_lr at line 2",
            study.display()
        )),
        "{stderr}"
    );
    let config = write_file(
        dir.path(),
        "c.json",
        br#"{"train": {"steps": 5, "steps": 6}}"#,
    );
    let outcome = run(
        &["--config", config.to_str().unwrap()],
        &dir.path().join("r.json"),
    );
    assert_eq!(outcome.code, 2);
    assert!(
        outcome.stderr.contains("duplicate key train.steps"),
        "{}",
        outcome.stderr
    );
}

#[test]
fn negative_counts_name_the_flag_and_the_range() {
    // Issue 33: "-2" was "invalid digit found in string", "--steps -1" said ">= 0" and then 0
    // was refused, "sweep run --checkpoint-every -5" an unexpected argument.
    for (flag, value, allowed) in [
        ("--layers", "-2", "must be a whole number >= 1"),
        ("--d-model", "-5", "must be a whole number >= 1"),
        ("--seed", "-1", "must be a whole number >= 0"),
        ("--checkpoint-every", "-1", "must be a whole number >= 0"),
        ("--steps", "-1", "must be a whole number of updates >= 1"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let outcome = run(
            &["--data", "synthetic", flag, value],
            &dir.path().join("r.json"),
        );
        assert_eq!(outcome.code, 2, "{flag} {value}: {}", outcome.stderr);
        assert!(
            outcome
                .stderr
                .contains(&format!("invalid value '{value}' for '{flag}"))
                && outcome.stderr.contains(allowed),
            "{flag} {value}: {}",
            outcome.stderr
        );
    }
    let out = Command::new(env!("CARGO_BIN_EXE_lnwarm"))
        .args([
            "sweep",
            "run",
            "--checkpoint-every",
            "-5",
            "experiments/smoke.json",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("must be a whole number >= 0"), "{stderr}");
}

#[test]
fn compare_refuses_a_study_file_that_does_not_parse() {
    // Issue 34: a broken study.json was read as absent, dropping the study's margins silently.
    let dir = tempfile::tempdir().unwrap();
    let run = run(
        &["--data", "synthetic", "--steps", "2", "--quiet"],
        &dir.path().join("r.json"),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    write_file(
        dir.path(),
        "study.json",
        b"{\"margins\": {\"final_loss\": }",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_lnwarm"))
        .arg("compare")
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("study.json: not a study file"), "{stderr}");
}

#[test]
fn the_resume_hint_is_the_command_the_user_typed() {
    // Issue 33: after `cargo run --release -- ...` the hint named the absolute path of the
    // binary cargo built; a user who ran the binary gets the binary as they invoked it.
    let argv = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let built = "/home/u/lnwarm/target/release/lnwarm";
    assert_eq!(
        lnwarm::cli::resume_line(
            &argv(&[built, "--arch", "post-ln", "--warmup", "4000"]),
            true
        ),
        "cargo run --release -- --arch post-ln --warmup 4000 --resume"
    );
    assert_eq!(
        lnwarm::cli::resume_line(&argv(&["target/debug/lnwarm", "--name", "a b"]), true),
        "cargo run -- --name 'a b' --resume"
    );
    assert_eq!(
        lnwarm::cli::resume_line(&argv(&["lnwarm", "--steps", "9", "--resume"]), false),
        "lnwarm --steps 9 --resume"
    );
}
