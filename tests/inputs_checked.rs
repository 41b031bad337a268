//! Nothing silently accepted (issue 33): a resume on changed text, a `--resume --steps N` that
//! keeps the old name, a `--v-fill` longer than the run, a `--plot` that is not SVG, `compare`
//! on result files, and a run too short to call stalled.

mod common;

use common::lnwarm;
use serde_json::Value;
use std::path::Path;

/// A text of `words` words over a fixed alphabet (long enough for --seq-len 16 splits).
fn text(words: usize) -> String {
    let vocabulary = [
        "whale", "sea", "ship", "ahab", "white", "deep", "oar", "harpoon",
    ];
    (0..words)
        .map(|i| vocabulary[(i * 7 + i / 3) % vocabulary.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

const TINY: &[&str] = &[
    "--layers",
    "1",
    "--d-model",
    "16",
    "--heads",
    "2",
    "--d-ff",
    "16",
    "--seq-len",
    "16",
    "--batch-size",
    "2",
    "--eval-batches",
    "1",
    "--eval-every",
    "5",
    "--warmup",
    "0",
    "--decay",
    "constant",
    "--quiet",
];

fn train(dir: &Path, extra: &[&str]) -> common::Ran {
    let mut args: Vec<&str> = TINY.to_vec();
    args.extend_from_slice(extra);
    lnwarm(dir, &args)
}

fn result(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn resume_refuses_changed_text_and_takes_the_new_runs_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.txt"), text(600)).unwrap();
    let first = train(
        dir.path(),
        &["--data", "t.txt", "--steps", "10", "--out", "r.json"],
    );
    assert_eq!(first.code, 0, "{}", first.stderr);
    let recorded = result(&dir.path().join("r.json"));
    let sha = recorded["data"]["text_sha256"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(sha.len(), 64);

    // One word replaced by another of the same letters: same vocabulary, other text.
    let changed = text(600).replacen("whale", "hawle", 1);
    std::fs::write(dir.path().join("t.txt"), &changed).unwrap();
    let refused = train(
        dir.path(),
        &[
            "--data", "t.txt", "--steps", "20", "--out", "r.json", "--resume",
        ],
    );
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert_eq!(refused.stderr.lines().count(), 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("made on other data") && refused.stderr.contains(&sha),
        "{}",
        refused.stderr
    );

    // The same text: the resumed 20-update run is named as a fresh 20-update run is.
    std::fs::write(dir.path().join("t.txt"), text(600)).unwrap();
    let resumed = train(
        dir.path(),
        &[
            "--data", "t.txt", "--steps", "20", "--out", "r.json", "--resume",
        ],
    );
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    let fresh = train(
        dir.path(),
        &["--data", "t.txt", "--steps", "20", "--out", "fresh.json"],
    );
    assert_eq!(fresh.code, 0, "{}", fresh.stderr);
    let (a, b) = (
        result(&dir.path().join("r.json")),
        result(&dir.path().join("fresh.json")),
    );
    assert_ne!(a["run_name"], recorded["run_name"]);
    assert_eq!(a["run_name"], b["run_name"]);
    assert_eq!(
        a["summary"]["final_val_loss"],
        b["summary"]["final_val_loss"]
    );
}

#[test]
fn v_fill_is_bounded_by_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let ran = train(
        dir.path(),
        &[
            "--data",
            "synthetic",
            "--steps",
            "10",
            "--v-fill",
            "100000000000",
        ],
    );
    assert_eq!(ran.code, 2);
    assert_eq!(
        ran.stderr.trim(),
        "error: --v-fill 100000000000: more batches than the run's 10 updates (allowed: 0 to 10)"
    );
}

#[test]
fn schedule_plot_must_be_svg() {
    let dir = tempfile::tempdir().unwrap();
    let ran = lnwarm(dir.path(), &["schedule", "--plot", "x.png"]);
    assert_eq!(ran.code, 2);
    assert_eq!(
        ran.stderr.trim(),
        "error: --plot x.png: lnwarm draws SVG; name the file FILE.svg"
    );
    assert!(!dir.path().join("x.png").exists());
    assert_eq!(lnwarm(dir.path(), &["schedule", "--plot", "x.SVG"]).code, 0);
}

#[test]
fn compare_takes_result_files_and_a_short_run_is_undecided() {
    let dir = tempfile::tempdir().unwrap();
    for (seed, name) in [("0", "a.json"), ("1", "b.json")] {
        let ran = train(
            dir.path(),
            &[
                "--data",
                "synthetic",
                "--steps",
                "10",
                "--seed",
                seed,
                "--out",
                name,
            ],
        );
        assert_eq!(ran.code, 0, "{}", ran.stderr);
        // 10 updates, far above the unigram entropy: too short to call stalled.
        let r = result(&dir.path().join(name));
        assert_eq!(r["summary"]["outcome"], "undecided", "{}", r["summary"]);
    }
    let ran = lnwarm(dir.path(), &["compare", "a.json", "b.json", "--out", "cmp"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let table = std::fs::read_to_string(dir.path().join("cmp/table.md")).unwrap();
    // Two seeds of one configuration, none decided: 0/0 failed, both counted as undecided.
    assert!(table.contains("| 2 | 0/0"), "{table}");
    assert!(table.contains("(2 undecided)"), "{table}");

    let one = lnwarm(dir.path(), &["compare", "a.json"]);
    assert_eq!(one.code, 0, "{}", one.stderr);
    let mixed = lnwarm(dir.path(), &["compare", "cmp", "a.json"]);
    assert_eq!(mixed.code, 2);
    assert_eq!(
        mixed.stderr.trim(),
        "error: cmp: a folder among several inputs; give one results folder, or result JSON files"
    );
    let report = lnwarm(dir.path(), &["compare", "a.json", "--report", "rep"]);
    assert_eq!(report.code, 2);
    assert!(report.stderr.contains("--report rep"), "{}", report.stderr);
}
