//! The failure edge over the peak rate (issue 36) on hand-made results: η* and its grid bracket
//! per configuration, a non-monotone edge flagged, a configuration that fails at every rate
//! below the grid, and the depth exponent's range from the brackets against the value by hand.

mod common;

use common::made::{made, tiny_result};
use lnwarm::analysis::edges::{edges, slope_range};
use lnwarm::analysis::load_dir;
use lnwarm::config::Arch;
use lnwarm::results::RunResult;

/// Trains (loss far below the unigram entropy 3.0) or stalls (at 3.0), over 300 updates with
/// warmup 0: 300 updates at the peak rate, so a stall is decided.
fn seed_run(template: &RunResult, arch: Arch, lr: f64, seed: u64, fails: bool) -> RunResult {
    let curve = if fails {
        [4.0, 3.02, 3.01, 3.0]
    } else {
        [4.0, 2.6, 2.3, 2.1]
    };
    made(template, arch, 0, lr, seed, &curve)
}

#[test]
fn the_edge_of_each_configuration_and_its_bracket() {
    let template = tiny_result(Arch::PostLn, 0);
    let rates = [1e-3, 2e-3, 4e-3, 8e-3];
    let mut results = Vec::new();
    for seed in 0..3 {
        for &lr in &rates {
            // Post-LN fails from 4e-3 on (one seed only at 4e-3), Pre-LN at 2e-3 only: not
            // monotone.
            let post_fails = lr >= 8e-3 || (lr == 4e-3 && seed == 0);
            results.push(seed_run(&template, Arch::PostLn, lr, seed, post_fails));
            results.push(seed_run(&template, Arch::PreLn, lr, seed, lr == 2e-3));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    for (i, r) in results.iter().enumerate() {
        r.write(&dir.path().join(format!("r{i}.json"))).unwrap();
    }
    let loaded = load_dir(dir.path(), None).unwrap();
    let found = edges(&loaded);
    assert_eq!(found.len(), 2);
    let of = |arch: &str| found.iter().find(|e| e.label.contains(arch)).unwrap();
    let post = of("post-ln");
    assert_eq!(post.rates, rates);
    assert_eq!(post.failed, [(0, 3), (0, 3), (1, 3), (3, 3)]);
    assert_eq!(post.largest_clean(), Some(2e-3));
    assert_eq!(post.bracket(), (Some(2e-3), Some(4e-3)));
    assert!(!post.non_monotone());
    let pre = of("pre-ln");
    assert_eq!(pre.bracket(), (Some(1e-3), Some(2e-3)));
    assert!(pre.non_monotone());
}

#[test]
fn the_depth_exponent_from_brackets_by_hand() {
    // Brackets of a factor-2 grid at L = 2, 4, 8, 16: [4e-3, 8e-3], [2e-3, 4e-3], [2e-3, 4e-3],
    // [1e-3, 2e-3]. In log2 units (x = log2 L = 1..4, y = log2 η − log2 1e-3) the brackets are
    // [2, 3], [1, 2], [1, 2], [0, 1]. Slope −1 with intercept 4 gives 3, 2, 1, 0: on an end of
    // every bracket, and any steeper line leaves the first or the last; slope −1/3 with
    // intercept 7/3 gives 2, 5/3, 4/3, 1: inside, touching the first's and the last's ends,
    // and any flatter line leaves them. So a ∈ [−1, −1/3].
    let brackets = [
        (2.0, (4e-3, 8e-3)),
        (4.0, (2e-3, 4e-3)),
        (8.0, (2e-3, 4e-3)),
        (16.0, (1e-3, 2e-3)),
    ];
    let (lo, hi) = slope_range(&brackets).unwrap();
    assert!((lo + 1.0).abs() < 1e-9, "{lo}");
    assert!((hi + 1.0 / 3.0).abs() < 1e-9, "{hi}");
}

/// compare's edges.md across depth: Post-LN at depth 2 fails from 8e-3 on, at depth 8 from 2e-3:
/// brackets [4e-3, 8e-3] and [1e-3, 2e-3], so a ∈ [ln(1/8)/ln 4, ln(1/2)/ln 4] = [−1.5, −0.5].
#[test]
fn compare_writes_the_edges_and_the_depth_exponent() {
    let template = tiny_result(Arch::PostLn, 0);
    let rates = [1e-3, 2e-3, 4e-3, 8e-3];
    let mut results = Vec::new();
    for seed in 0..2 {
        for (depth, edge) in [(2, 8e-3), (8, 2e-3)] {
            for &lr in &rates {
                let mut r = seed_run(&template, Arch::PostLn, lr, seed, lr >= edge);
                r.config.model.n_layers = depth;
                results.push(r);
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    for (i, r) in results.iter().enumerate() {
        r.write(&dir.path().join(format!("r{i}.json"))).unwrap();
    }
    let loaded = load_dir(dir.path(), None).unwrap();
    let out = dir.path().join("cmp");
    lnwarm::compare::write_report(&loaded, &[], &out).unwrap();
    let table = std::fs::read_to_string(out.join("edges.md")).unwrap();
    assert!(
        table.contains("[4e-3, 8e-3]") && table.contains("[1e-3, 2e-3]"),
        "{table}"
    );
    assert!(table.contains("## η* against depth L"), "{table}");
    assert!(table.contains("| [-1.50, -0.50] |"), "{table}");
}
