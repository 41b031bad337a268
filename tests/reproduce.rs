//! Every committed number reproduces: a row of a committed study report
//! (`docs/studies/smoke/runs.csv`, written by `lnwarm compare --report`) is rerun with the
//! command `lnwarm sweep plan` prints for it, thread count included, and must give the same
//! final and best validation loss and the same updates-to-target, digit for digit.

mod common;

use std::path::Path;
use std::process::Command;

const ROW_ID: &str = "pre-ln-adam-w0-lr3e-3-s1-2c560f47";

/// The stdout of `lnwarm ARGS` run in the repository root, which must succeed (the shared
/// runner).
fn lnwarm(args: &[&str]) -> String {
    let ran = common::lnwarm(std::path::Path::new(env!("CARGO_MANIFEST_DIR")), args);
    assert_eq!(ran.code, 0, "{args:?}: {}", ran.stderr);
    ran.stdout
}

/// The committed row as column -> cell.
fn committed_row(id: &str) -> Vec<(String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/studies/smoke/runs.csv");
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let row = lines
        .find(|l| l.starts_with(&format!("{id},")))
        .unwrap_or_else(|| panic!("no row {id}"));
    header
        .iter()
        .map(|h| h.to_string())
        .zip(row.split(',').map(str::to_string))
        .collect()
}

#[test]
fn a_committed_row_reproduces_with_the_planned_command() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().to_str().unwrap();
    let row = committed_row(ROW_ID);
    let cell = |k: &str| row.iter().find(|(h, _)| h == k).unwrap().1.clone();
    lnwarm(&[
        "sweep",
        "run",
        "experiments/smoke.json",
        "--id",
        ROW_ID,
        "--results",
        results,
        "--threads",
        "1",
        "--quiet",
    ]);
    let result =
        lnwarm::results::RunResult::read(&dir.path().join("smoke").join(format!("{ROW_ID}.json")))
            .unwrap();
    assert_eq!(result.provenance.threads, 1);
    let s = &result.summary;
    assert_eq!(
        s.final_val_loss.unwrap().to_string(),
        cell("final_val_loss")
    );
    assert_eq!(s.best_val_loss.unwrap().to_string(), cell("best_val_loss"));
    assert_eq!(s.outcome.name(), cell("outcome"));
    let reached = lnwarm::analysis::steps_to(&result, 2.6).map_or(String::new(), |u| u.to_string());
    assert_eq!(reached, cell("updates_to_2.6"));
    // The plan now lists the run as done, with the command (and thread count) that made it.
    let plan = lnwarm(&[
        "sweep",
        "plan",
        "experiments/smoke.json",
        "--results",
        results,
    ]);
    let line = plan.lines().find(|l| l.starts_with(ROW_ID)).unwrap();
    assert!(line.contains("\tdone\t"), "{line}");
    assert!(
        line.ends_with(&format!(
            "lnwarm sweep run experiments/smoke.json --id {ROW_ID} --results {results} --threads 1"
        )),
        "{line}"
    );
}

/// `lnwarm sweep verify` reruns committed rows and says how each reproduces; against a report
/// whose numbers no rerun can match, it says so and exits 1.
#[test]
fn sweep_verify_reruns_committed_rows_and_refuses_numbers_that_do_not_reproduce() {
    let verify = |root: &str| {
        Command::new(env!("CARGO_BIN_EXE_lnwarm"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args([
                "sweep",
                "verify",
                "experiments/smoke.json",
                "--rows",
                "2",
                "--report",
                root,
            ])
            .output()
            .expect("run lnwarm")
    };
    let out = verify("docs/studies");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verdicts: Vec<&str> = text.lines().filter(|l| l.contains(": ")).take(2).collect();
    assert_eq!(verdicts.len(), 2, "{text}");
    // The smoke model is tiny: its rows reproduce digit for digit on any CI machine.
    assert!(
        verdicts.iter().all(|l| l.contains(": bit-identical")),
        "{text}"
    );
    // The same rows against a report whose final losses were all changed to 9.99.
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("smoke");
    std::fs::create_dir_all(&fake).unwrap();
    let committed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/studies/smoke/runs.csv"),
    )
    .unwrap();
    let mut lines = committed.lines();
    let header = lines.next().unwrap();
    let column = header
        .split(',')
        .position(|h| h == "final_val_loss")
        .unwrap();
    let mut changed = vec![header.to_string()];
    for line in lines {
        let mut cells: Vec<String> = line.split(',').map(str::to_string).collect();
        cells[column] = "9.99".into();
        changed.push(cells.join(","));
    }
    std::fs::write(fake.join("runs.csv"), changed.join("\n")).unwrap();
    let out = verify(dir.path().to_str().unwrap());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("does NOT reproduce: final val loss"),
        "{text}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("2 of 2 rows did not reproduce"));
}

/// Issue 33: a report with no rows verifies nothing, and says so with exit 1.
#[test]
fn sweep_verify_of_an_empty_report_is_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("smoke");
    std::fs::create_dir_all(&fake).unwrap();
    std::fs::write(fake.join("runs.csv"), "id,outcome,final_val_loss\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lnwarm"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["sweep", "verify", "experiments/smoke.json", "--report"])
        .arg(dir.path())
        .output()
        .expect("run lnwarm");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing verified"));
}
