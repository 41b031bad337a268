//! The margins' statistics (src/stats/margins.rs) against SciPy 1.17, without SciPy in CI: the
//! fixture `tests/fixtures/scipy/margins.json` (scripts/margins_fixtures_scipy.py) holds
//! `beta.ppf` upper bounds, exact Mann–Whitney null probabilities from `mannwhitneyu`, the
//! Hodges–Lehmann estimates and upper bounds from the textbook definition, and `fisher_exact` on
//! the most extreme tables.

use lnwarm::stats::margins::{
    best_one_sided_p, hodges_lehmann, rate_difference_upper, rate_lower, rate_upper, shift_lower,
    shift_upper, u_distribution,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    rate_upper: Vec<RateCase>,
    rate_bounds: Vec<RateBounds>,
    u_cdf: Vec<UCase>,
    shift: Vec<ShiftCase>,
    fisher_min: Vec<FisherCase>,
}

#[derive(Deserialize)]
struct RateCase {
    k: usize,
    n: usize,
    alpha: f64,
    upper: f64,
}

#[derive(Deserialize)]
struct RateBounds {
    k: usize,
    n: usize,
    alpha: f64,
    upper: f64,
    lower: f64,
}

#[derive(Deserialize)]
struct UCase {
    m: usize,
    n: usize,
    u: usize,
    cdf: f64,
}

#[derive(Deserialize)]
struct ShiftCase {
    a: Vec<f64>,
    b: Vec<f64>,
    alpha: f64,
    hodges_lehmann: f64,
    upper: Option<f64>,
    lower: Option<f64>,
}

#[derive(Deserialize)]
struct FisherCase {
    n_a: usize,
    n_b: usize,
    p: f64,
}

fn fixture() -> Fixture {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scipy/margins.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1e-300)
}

#[test]
fn rate_bounds_match_scipy_beta_ppf() {
    let f = fixture();
    assert_eq!(f.rate_upper.len(), 14);
    for c in &f.rate_upper {
        let ours = rate_upper(c.k, c.n, c.alpha);
        assert!(
            close(ours, c.upper, 1e-9),
            "{}/{} α {}: {ours} vs {}",
            c.k,
            c.n,
            c.alpha,
            c.upper
        );
    }
}

/// One-sided Clopper–Pearson bounds against `binomtest(...).proportion_ci(method="exact")`, and
/// the rate-difference bound built from them.
#[test]
fn rate_bounds_match_scipy_binomtest() {
    let f = fixture();
    assert_eq!(f.rate_bounds.len(), 14);
    for c in &f.rate_bounds {
        let (up, lo) = (rate_upper(c.k, c.n, c.alpha), rate_lower(c.k, c.n, c.alpha));
        assert!(
            close(up, c.upper, 1e-9),
            "{}/{}: {up} vs {}",
            c.k,
            c.n,
            c.upper
        );
        assert!(
            (lo - c.lower).abs() <= 1e-9 * c.lower.max(1e-300) || (lo == 0.0 && c.lower == 0.0),
            "{}/{}: {lo} vs {}",
            c.k,
            c.n,
            c.lower
        );
    }
    // The difference a − b: a's upper bound at α/2 minus b's lower bound at α/2.
    let at = |k, n| {
        f.rate_bounds
            .iter()
            .find(|c| c.k == k && c.n == n && c.alpha == 0.025)
    };
    let (a, b) = (at(0, 6).unwrap(), at(6, 6).unwrap());
    let ours = rate_difference_upper((0, 6), (6, 6), 0.05);
    assert!(close(ours, a.upper - b.lower, 1e-9), "{ours}");
}

#[test]
fn the_u_distribution_matches_scipy_mannwhitneyu_exact() {
    let f = fixture();
    for c in &f.u_cdf {
        let cdf: f64 = u_distribution(c.m, c.n)[..=c.u].iter().sum();
        assert!(
            close(cdf, c.cdf, 1e-9),
            "m {} n {} u {}: {cdf} vs {}",
            c.m,
            c.n,
            c.u,
            c.cdf
        );
    }
}

#[test]
fn hodges_lehmann_and_its_bound_match_the_textbook() {
    let f = fixture();
    assert!(
        f.shift.iter().any(|c| c.upper.is_none()),
        "a case too small for a bound"
    );
    assert!(f.shift.iter().filter(|c| c.upper.is_some()).count() >= 8);
    for c in &f.shift {
        assert!(close(hodges_lehmann(&c.a, &c.b), c.hodges_lehmann, 1e-12));
        for (ours, theirs) in [
            (shift_upper(&c.a, &c.b, c.alpha), c.upper),
            (shift_lower(&c.a, &c.b, c.alpha), c.lower),
        ] {
            match (ours, theirs) {
                (Some(x), Some(y)) => assert!(close(x, y, 1e-12), "{x} vs {y}"),
                (None, None) => {}
                other => panic!("{} vs {} at α {}: {other:?}", c.a.len(), c.b.len(), c.alpha),
            }
        }
    }
}

#[test]
fn the_best_p_matches_scipy_fisher_exact() {
    let f = fixture();
    for c in &f.fisher_min {
        let ours = best_one_sided_p(c.n_a, c.n_b);
        assert!(
            close(ours, c.p, 1e-9),
            "{} vs {}: {ours} vs {}",
            c.n_a,
            c.n_b,
            c.p
        );
    }
}
