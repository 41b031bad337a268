//! Study files: plan expansion and run ids, bad keys, base paths, and compare on a folder with
//! bad files (sweeps: tests/sweep.rs; verdicts: tests/claims_*.rs; reports:
//! tests/compare_report.rs).

mod common;

use common::made::tiny_result;
use lnwarm::analysis::load_dir;
use lnwarm::config::Arch;
use lnwarm::study::plan::expand;
use lnwarm::study::Study;
use std::path::Path;
use std::process::Command;

#[test]
fn smoke_plan_is_stable() {
    let (study, name) = Study::load(Path::new("experiments/smoke.json")).unwrap();
    assert_eq!(name, "smoke");
    let runs = expand(&study).unwrap();
    assert_eq!(runs.len(), 8);
    let again: Vec<String> = expand(&study).unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(runs.iter().map(|r| r.id.clone()).collect::<Vec<_>>(), again);
    assert!(
        runs[0].id.starts_with("post-ln-adam-w0-lr3e-3-s0-"),
        "{}",
        runs[0].id
    );
    assert_eq!(runs[0].config.model.d_model, 32);
    assert_eq!(
        runs[0].config.schedule.warmup.kind,
        lnwarm::schedule::WarmupKind::None
    );
    assert_eq!(
        runs[2].config.schedule.warmup.kind,
        lnwarm::schedule::WarmupKind::Linear
    );
    // Every id is distinct; the other shipped studies expand and validate too.
    let mut ids = again.clone();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 8);
    for file in [
        "experiments/warmup-cpu.json",
        "experiments/paper-iwslt.json",
    ] {
        let (study, _) = Study::load(Path::new(file)).unwrap();
        assert_eq!(expand(&study).unwrap().len(), 36, "{file}");
    }
}

/// why-warmup-cpu-part-b reports Part B of why-warmup-cpu from the same result files: every one
/// of its runs must be a run of why-warmup-cpu, by id (the id hashes the whole config).
#[test]
fn part_b_is_a_subset_of_why_warmup_cpu_by_run_id() {
    let ids = |file: &str| -> Vec<String> {
        let (study, _) = Study::load(Path::new(file)).unwrap();
        expand(&study).unwrap().into_iter().map(|r| r.id).collect()
    };
    let full = ids("experiments/why-warmup-cpu.json");
    let part = ids("experiments/why-warmup-cpu-part-b.json");
    assert_eq!((full.len(), part.len()), (516, 108));
    let missing: Vec<&String> = part.iter().filter(|id| !full.contains(id)).collect();
    assert!(missing.is_empty(), "not in why-warmup-cpu: {missing:?}");
}

#[test]
fn bad_study_keys_are_named() {
    let study: Study =
        serde_json::from_str(r#"{"scientific": {"model.n_layer": [1, 2]}}"#).unwrap();
    // A new key inside a struct with deny_unknown_fields fails when the config is parsed.
    let err = expand(&study).unwrap_err().to_string();
    assert!(err.contains("unknown field `n_layer`"), "{err}");
    let study: Study = serde_json::from_str(r#"{"fixed": {"modle.arch": "pre-ln"}}"#).unwrap();
    assert_eq!(
        expand(&study).unwrap_err().to_string(),
        "study key modle.arch: no field 'modle' in the run config"
    );
    let study: Study = serde_json::from_str(r#"{"nuisance": {"train.seed": []}}"#).unwrap();
    assert_eq!(
        expand(&study).unwrap_err().to_string(),
        "study axis train.seed: needs at least one value"
    );
}

#[test]
fn a_base_path_resolves_from_the_study_files_repository_too() {
    // experiments/paper-cpu.json names "configs/cpu-small.json": found from any folder.
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let elsewhere = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lnwarm"))
        .current_dir(elsewhere.path())
        .args(["sweep", "plan", "--ids"])
        .arg(repo.join("experiments/paper-cpu.json"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 90);
    // A base that exists nowhere names every place it looked.
    let (study, _) = Study::load(&repo.join("experiments/smoke.json")).unwrap();
    let mut missing = study.clone();
    missing.base = Some(serde_json::json!("configs/nope.json"));
    let err = expand(&missing).unwrap_err().to_string();
    assert!(
        err.starts_with(
            "study base configs/nope.json: no such file (looked in: configs/nope.json, "
        ) && err.ends_with(&format!("{})", repo.join("configs/nope.json").display())),
        "{err}"
    );
}

#[test]
fn compare_skips_corrupt_and_foreign_files() {
    let dir = tempfile::tempdir().unwrap();
    for (arch, seed) in [(Arch::PostLn, 0), (Arch::PostLn, 1), (Arch::PreLn, 0)] {
        tiny_result(arch, seed)
            .write(&dir.path().join(format!("{}-{seed}.json", arch.name())))
            .unwrap();
    }
    std::fs::write(
        dir.path().join("corrupt.json"),
        "{\"schema_version\": 1, \"run_na",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("foreign.json"),
        r#"{"schema_version": 99, "hello": 1}"#,
    )
    .unwrap();
    std::fs::write(dir.path().join("other.json"), r#"{"loss": [1, 2]}"#).unwrap();
    // A partial result of an interrupted run (seed 2): listed, and in no group.
    let mut partial = tiny_result(Arch::PreLn, 2);
    partial.status = lnwarm::results::RunStatus::Interrupted;
    partial.summary.steps_done = 7;
    partial.write(&dir.path().join("pre-ln-2.json")).unwrap();
    let loaded = load_dir(dir.path(), None).unwrap();
    assert_eq!(loaded.groups.len(), 2);
    assert_eq!(loaded.groups[0].runs.len(), 2, "post-ln seeds grouped");
    assert_eq!(
        loaded.groups[1].runs.len(),
        1,
        "the interrupted pre-ln seed left out"
    );
    assert_eq!(loaded.axis_keys, vec!["model.arch".to_string()]);
    assert_eq!(loaded.rejected.len(), 4, "{:?}", loaded.rejected);
    assert!(loaded.rejected.iter().any(|r| r.contains(
        "pre-ln-2.json: interrupted after update 7 of 20 (resume it; its checkpoint is"
    )));
    assert!(loaded
        .rejected
        .iter()
        .any(|r| r.contains("foreign.json: schema_version 99, this lnwarm reads 1")));
    assert!(loaded
        .rejected
        .iter()
        .any(|r| r.contains("corrupt.json: not JSON")));
    let out = dir.path().join("report");
    let written = lnwarm::compare::write_report(&loaded, &[], &out).unwrap();
    assert_eq!(
        written.len(),
        2 + 5,
        "table, html, 3 curves, 2 per-layer panels"
    );
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert_eq!(html.matches("<figure class=\"plot\"").count(), 5);
    assert!(html.contains("foreign.json"));
    assert!(!html.contains("src=\"http"), "self-contained");
}

/// A linked axis (issue 36: model sizes whose heads and FFN width scale with the width) sets its
/// keys together: 2 sizes × 2 archs is 4 runs, not the 2 × 2 × 2 × 2 of three separate axes;
/// its keys are grid keys one by one (runs.csv columns); a value of the wrong length is one
/// line naming the axis and its keys.
#[test]
fn a_linked_axis_sets_its_keys_together() {
    let study: Study = serde_json::from_str(
        r#"{"base": {"data": {"source": "synthetic"}},
            "scientific": {"model.arch": ["post-ln", "pre-ln"],
                           "model.d_model+model.n_heads+model.d_ff": [[64, 2, 256], [256, 8, 1024]]}}"#,
    )
    .unwrap();
    let runs = expand(&study).unwrap();
    assert_eq!(runs.len(), 4);
    let sizes: Vec<(usize, usize, usize)> = runs
        .iter()
        .map(|r| {
            let m = &r.config.model;
            (m.d_model, m.n_heads, m.d_ff)
        })
        .collect();
    assert_eq!(sizes.iter().filter(|s| **s == (64, 2, 256)).count(), 2);
    assert_eq!(sizes.iter().filter(|s| **s == (256, 8, 1024)).count(), 2);
    assert_eq!(
        study.grid_keys(),
        ["model.arch", "model.d_model", "model.n_heads", "model.d_ff"]
    );
    let bad: Study = serde_json::from_str(
        r#"{"scientific": {"model.d_model+model.n_heads": [[64, 2], [128]]}}"#,
    )
    .unwrap();
    assert_eq!(
        expand(&bad).unwrap_err().to_string(),
        "study axis model.d_model+model.n_heads: value [128] must be an array of 2 values, one for each of model.d_model, model.n_heads"
    );
}
