//! `compare --report` on hand-made results: one runs.csv row per run, one verdict per paragraph,
//! one probes column and no JSON nulls in the table.
mod common;

use common::made::*;
use lnwarm::analysis::load_dir;
use lnwarm::config::Arch;

#[test]
fn the_report_has_one_csv_row_per_run_and_one_verdict_per_paragraph() {
    let t = tiny_result(Arch::PreLn, 0);
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("mystudy");
    std::fs::create_dir_all(&results).unwrap();
    for s in 0..2 {
        for (arch, curve) in [
            (Arch::PostLn, [4.5, 3.0, 3.0]),
            (Arch::PreLn, [4.5, 2.4, 2.1]),
        ] {
            let mut r = made(&t, arch, 0, 1e-3, s, &curve);
            r.run_name = format!("{}-s{s}", arch.name());
            r.write(&results.join(format!("{}.json", r.run_name)))
                .unwrap();
        }
    }
    let loaded = load_dir(&results, Some(2.5)).unwrap();
    let verdicts = lnwarm::claims::verdicts(&loaded, None);
    let root = dir.path().join("docs/studies");
    lnwarm::compare::report::write(&loaded, &verdicts, &root).unwrap();
    let out = root.join("mystudy");
    let csv = std::fs::read_to_string(out.join("runs.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "id,model.arch,train.seed,status,outcome,final_val_loss,best_val_loss,updates_to_2.5"
    );
    assert_eq!(lines.len(), 5);
    assert!(
        lines.contains(&"post-ln-s1,post-ln,1,ok,stalled,3,3,"),
        "{csv}"
    );
    assert!(
        lines.contains(&"pre-ln-s0,pre-ln,0,ok,ok,2.1,2.1,100"),
        "{csv}"
    );
    let claims = std::fs::read_to_string(out.join("claims.md")).unwrap();
    for label in ["1 ", "2 ", "2a ", "2b ", "2c ", "3 "] {
        assert!(
            claims.lines().any(|l| l.starts_with(label)),
            "no line starts with {label:?}: {claims}"
        );
    }
    let table = std::fs::read_to_string(out.join("table.md")).unwrap();
    assert!(
        table.contains("| post-ln | 2 | 2/2 [0.16, 1.00] | 2 | 0 |"),
        "{table}"
    );
    for svg in ["val-loss.svg", "updates-to-loss.svg"] {
        assert!(out.join(svg).exists(), "{svg}");
    }
}

/// The table shows which probes ran in one "probes" column, not one column per probe setting,
/// and a key a configuration does not set as "—", not JSON's null.
#[test]
fn the_table_has_one_probes_column_and_no_nulls() {
    use lnwarm::config::probe::ProbeKind;
    let t = tiny_result(Arch::PreLn, 0);
    let dir = tempfile::tempdir().unwrap();
    for s in 0..2 {
        let plain = made(&t, Arch::PostLn, 0, 1e-3, s, &[4.5, 3.0, 3.0]);
        let mut probed = made(&t, Arch::PostLn, 0, 1e-3, s, &[4.5, 3.0, 3.0]);
        probed.config.probe.names = vec![ProbeKind::Overfit, ProbeKind::Drift];
        probed.config.probe.every = 20.into();
        let mut capped = made(&t, Arch::PostLn, 0, 1e-3, s, &[4.5, 2.4, 2.1]);
        capped.config.optim.update_cap = Some(1e-3);
        let mut everything = made(&t, Arch::PreLn, 0, 1e-3, s, &[4.5, 2.4, 2.1]);
        everything.config.probe.names = ProbeKind::ALL.to_vec();
        everything.catapult = Some(lnwarm::results::CatapultSearch {
            loss_at_init: 4.5,
            threshold: 4.545,
            trials: vec![(1e-4, 4.4), (2e-4, 4.6)],
            rate: 1e-4,
            forward_passes: 3,
        });
        let runs = [
            ("plain", plain),
            ("probed", probed),
            ("capped", capped),
            ("everything", everything),
        ];
        for (name, r) in runs {
            r.write(&dir.path().join(format!("{name}-s{s}.json")))
                .unwrap();
        }
    }
    let loaded = load_dir(dir.path(), Some(2.5)).unwrap();
    let table = lnwarm::compare::table::markdown(&loaded);
    let header = table.lines().find(|l| l.starts_with("| ")).unwrap();
    assert!(header.contains("| probes |"), "{header}");
    assert!(!header.contains("probe.every"), "{header}");
    assert!(!table.contains("null"), "{table}");
    assert!(table.contains("| overfit, drift |"), "{table}");
    assert!(table.contains("| 0.001 | — |"), "{table}");
    assert!(table.contains("| all |"), "{table}");
    // runs.csv gives the rate a catapult search found, empty for the runs without one.
    let csv = lnwarm::compare::report::runs_csv(&loaded);
    assert!(csv.starts_with("id,") && csv.contains(",train.seed,catapult_rate,status,"));
    let rate_of = |line: &str| line.rsplit(',').nth(5).unwrap().to_string();
    let rates: Vec<String> = csv.lines().skip(1).map(rate_of).collect();
    assert_eq!(rates.iter().filter(|r| *r == "0.0001").count(), 2, "{csv}");
    assert_eq!(rates.iter().filter(|r| r.is_empty()).count(), 6, "{csv}");
}
