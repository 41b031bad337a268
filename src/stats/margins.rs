//! Evidence for a negative: exact one-sided confidence bounds against a stated margin, so that
//! "does not need warmup" rests on a bound and not on a test that failed to reject (issue 23).
//!
//! - Failure rates: the exact (Clopper–Pearson) one-sided upper bound Beta⁻¹(1 − α; k + 1, n − k);
//!   with no failure in n runs it is 1 − α^(1/n), so a margin m needs n ≥ ln α / ln(1 − m) runs.
//! - Losses: the Hodges–Lehmann estimate of the shift a − b (the median of the m·n pairwise
//!   differences) and its exact one-sided upper bound from the Mann–Whitney null distribution
//!   (Hollander & Wolfe, *Nonparametric Statistical Methods*, §4.3): with D(1) ≤ … ≤ D(mn)
//!   the ordered differences and k the largest integer with P(U ≤ k − 1) ≤ α, the bound is
//!   D(mn + 1 − k); it does not exist (is +∞) when even P(U = 0) = 1/C(m + n, m) exceeds α.
//!   A difference of two failure rates gets the exact, conservative bound U_{α/2}(a) − L_{α/2}(b)
//!   (two one-sided Clopper–Pearson bounds joined by Bonferroni: it covers at ≥ 1 − α).
//!   Two diverged runs tie (their difference, ∞ − ∞, counts as 0), as the rank tests treat them.
//! - Design: the smallest one-sided p-value an exact test (Fisher's on failure counts, Mann–
//!   Whitney on losses) can reach with n_a and n_b runs is 1/C(n_a + n_b, n_a). Seeds needed for
//!   a loss margin use the normal approximation of the Hodges–Lehmann bound (80% power,
//!   asymptotic relative efficiency 3/π of the rank method against the t test under normality).
//!
//! Checked against SciPy (`scipy.stats.beta.ppf`, `mannwhitneyu(method="exact")`,
//! `fisher_exact`) and the textbook definition of the Hodges–Lehmann bound, in
//! `tests/fixtures/scipy/margins.json` (scripts/margins_fixtures_scipy.py).

use super::binomial::{fisher_greater, Rate};
use statrs::distribution::{Beta, ContinuousCDF};

/// Exact one-sided (1 − α) upper confidence bound of a failure rate k/n; 1 when k = n.
pub fn rate_upper(k: usize, n: usize, alpha: f64) -> f64 {
    assert!(k <= n, "{k} failures out of {n} runs");
    if k == n {
        return 1.0;
    }
    Beta::new(k as f64 + 1.0, (n - k) as f64).map_or(1.0, |b| b.inverse_cdf(1.0 - alpha))
}

/// Exact one-sided (1 − α) lower confidence bound of a failure rate k/n; 0 when k = 0.
pub fn rate_lower(k: usize, n: usize, alpha: f64) -> f64 {
    assert!(k <= n, "{k} failures out of {n} runs");
    if k == 0 {
        return 0.0;
    }
    Beta::new(k as f64, (n - k + 1) as f64).map_or(0.0, |b| b.inverse_cdf(alpha))
}

/// Exact (conservative) one-sided (1 − α) upper bound of the difference of failure rates
/// a − b, from arm a's k_a of n_a and arm b's k_b of n_b.
pub fn rate_difference_upper(a: (usize, usize), b: (usize, usize), alpha: f64) -> f64 {
    rate_upper(a.0, a.1, alpha / 2.0) - rate_lower(b.0, b.1, alpha / 2.0)
}

/// Runs without a failure needed for `rate_upper(0, n, α)` to fall below `margin`.
pub fn runs_needed_for_rate(margin: f64, alpha: f64) -> usize {
    assert!(margin > 0.0 && margin < 1.0 && alpha > 0.0 && alpha < 1.0);
    let n = (alpha.ln() / (1.0 - margin).ln()).ceil() as usize;
    // ceil can land on the boundary itself (1 − α^(1/n) = margin): one more run then.
    if rate_upper(0, n, alpha) < margin {
        n
    } else {
        n + 1
    }
}

/// Runs needed, at the failure rate k/n seen so far, for the upper bound to fall below
/// `margin`; None when the rate seen is not below the margin (no number of runs would do).
pub fn runs_needed_at_rate(k: usize, n: usize, margin: f64, alpha: f64) -> Option<usize> {
    if k == 0 {
        return Some(runs_needed_for_rate(margin, alpha));
    }
    let rate = k as f64 / n as f64;
    if rate >= margin {
        return None;
    }
    (n..=100_000).find(|&runs| {
        let failures = (rate * runs as f64).round() as usize;
        rate_upper(failures, runs, alpha) < margin
    })
}

/// Runs per arm (equal arms) needed, at the failure rates `rate_a` and `rate_b` seen so far,
/// for `rate_difference_upper` of a − b to fall below `margin`; None when the difference seen
/// is not below the margin.
pub fn runs_needed_for_difference(
    rate_a: f64,
    rate_b: f64,
    margin: f64,
    alpha: f64,
) -> Option<usize> {
    if rate_a - rate_b >= margin {
        return None;
    }
    (1..=100_000).find(|&runs| {
        let failures = |rate: f64| (rate * runs as f64).round() as usize;
        rate_difference_upper((failures(rate_a), runs), (failures(rate_b), runs), alpha) < margin
    })
}

/// Runs per arm (equal arms) at which, with the failure rates `rate_a` and `rate_b` seen so far
/// (counts rounded), the one-sided Fisher test that a fails more often than b reaches p <
/// `level`; None when rate_a is not above rate_b or no arm of up to 1,000 runs would do.
pub fn runs_needed_for_fisher(rate_a: f64, rate_b: f64, level: f64) -> Option<usize> {
    if rate_a <= rate_b {
        return None;
    }
    (1..=1000).find(|&runs| {
        let failures = |rate: f64| (rate * runs as f64).round() as usize;
        let (a, b) = (
            Rate::of(failures(rate_a), runs),
            Rate::of(failures(rate_b), runs),
        );
        fisher_greater(a, b) < level
    })
}

/// Every pairwise difference a_i − b_j, sorted; two infinite losses (diverged runs) tie.
fn differences(a: &[f64], b: &[f64]) -> Vec<f64> {
    let mut d: Vec<f64> = a
        .iter()
        .flat_map(|x| b.iter().map(move |y| if x == y { 0.0 } else { x - y }))
        .collect();
    d.sort_by(f64::total_cmp);
    d
}

/// Hodges–Lehmann estimate of the shift a − b: the median of the pairwise differences.
pub fn hodges_lehmann(a: &[f64], b: &[f64]) -> f64 {
    let d = differences(a, b);
    match d.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => d[n / 2],
        n => 0.5 * (d[n / 2 - 1] + d[n / 2]),
    }
}

/// The null distribution of the Mann–Whitney U for samples of m and n (no ties): P(U = u) for
/// u = 0..=m·n, by the recursion f(m, n, u) = f(m − 1, n, u − n) + f(m, n − 1, u).
pub fn u_distribution(m: usize, n: usize) -> Vec<f64> {
    // counts[j][u] for the current i, j = 0..=n.
    let mut counts: Vec<Vec<f64>> = (0..=n).map(|_| vec![1.0]).collect();
    for i in 1..=m {
        let mut next: Vec<Vec<f64>> = vec![vec![1.0]];
        for j in 1..=n {
            let mut row = vec![0.0; i * j + 1];
            for (u, c) in counts[j].iter().enumerate() {
                row[u + j] += c; // the largest value is one of the i: it beats all j
            }
            for (u, c) in next[j - 1].iter().enumerate() {
                row[u] += c; // the largest value is one of the j
            }
            next.push(row);
        }
        counts = next;
    }
    let total: f64 = counts[n].iter().sum();
    counts[n].iter().map(|c| c / total).collect()
}

/// Exact one-sided (1 − α) upper confidence bound of the shift a − b; None when the samples are
/// too small for any bound at α (1/C(m + n, m) > α).
pub fn shift_upper(a: &[f64], b: &[f64], alpha: f64) -> Option<f64> {
    let (m, n) = (a.len(), b.len());
    if m == 0 || n == 0 {
        return None;
    }
    let dist = u_distribution(m, n);
    // k: the largest integer with P(U <= k - 1) <= alpha.
    let mut cumulative = 0.0;
    let mut k = 0;
    for p in &dist {
        cumulative += p;
        if cumulative <= alpha * (1.0 + 1e-12) {
            k += 1;
        } else {
            break;
        }
    }
    (k > 0).then(|| differences(a, b)[m * n - k])
}

/// Exact one-sided (1 − α) lower confidence bound of the shift a − b (see `shift_upper`).
pub fn shift_lower(a: &[f64], b: &[f64], alpha: f64) -> Option<f64> {
    shift_upper(b, a, alpha).map(|up| -up)
}

/// Seeds per arm for the upper bound of a shift to fall below `margin` with 80% power, when
/// the true shift is `shift` and the seed-to-seed standard deviation `sd` (normal
/// approximation, efficiency 3/π); None when the shift is not below the margin.
pub fn seeds_for_shift(shift: f64, sd: f64, margin: f64, alpha: f64) -> Option<usize> {
    use statrs::distribution::Normal;
    if shift.partial_cmp(&margin) != Some(std::cmp::Ordering::Less) || !sd.is_finite() {
        return None;
    }
    let z = |p: f64| Normal::new(0.0, 1.0).map_or(f64::NAN, |d| d.inverse_cdf(p));
    let (z_alpha, z_power) = (z(1.0 - alpha), z(0.8));
    let efficiency = 3.0 / std::f64::consts::PI;
    let n = 2.0 * (sd * (z_alpha + z_power) / (margin - shift)).powi(2) / efficiency;
    let smallest_with_a_bound = seeds_for_level(alpha * (1.0 + 1e-12));
    Some((n.ceil() as usize).max(smallest_with_a_bound))
}

/// The fewest seeds per arm (equal arms) at which an exact one-sided test can reach p <= `level`.
pub fn seeds_for_level(level: f64) -> usize {
    (1..=1000)
        .find(|&n| best_one_sided_p(n, n) <= level)
        .unwrap_or(1000)
}

/// The smallest one-sided p-value an exact test of two arms of `n_a` and `n_b` runs can give
/// (Fisher's with every failure in one arm, Mann–Whitney with the two samples separated).
pub fn best_one_sided_p(n_a: usize, n_b: usize) -> f64 {
    1.0 / super::rank::binomial_coefficient(n_a + n_b, n_a) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_forms() {
        // No failure in n: 1 − α^(1/n).
        assert!((rate_upper(0, 6, 0.05) - (1.0 - 0.05f64.powf(1.0 / 6.0))).abs() < 1e-12);
        assert_eq!(rate_upper(6, 6, 0.05), 1.0);
        // 11 clean runs bound the rate below 0.25 at 95%, 10 do not.
        assert_eq!(runs_needed_for_rate(0.25, 0.05), 11);
        assert!(rate_upper(0, 10, 0.05) > 0.25 && rate_upper(0, 11, 0.05) < 0.25);
        // 2 vs 2: 1/6 one-sided (issue 23's "best two-sided Fisher p = 0.33").
        assert!((best_one_sided_p(2, 2) - 1.0 / 6.0).abs() < 1e-12);
        assert!((best_one_sided_p(6, 6) - 1.0 / 924.0).abs() < 1e-15);
        let d = u_distribution(3, 4);
        assert_eq!(d.len(), 13);
        assert!((d.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!((d[0] - 1.0 / 35.0).abs() < 1e-12);
        for u in 0..=12 {
            assert!((d[u] - d[12 - u]).abs() < 1e-12, "symmetric");
        }
    }

    #[test]
    fn fisher_runs_needed_match_scipy() {
        // scipy.stats.fisher_exact([[k, n - k], [0, n]], alternative="greater") at 0.05/6:
        // all failing vs none first passes at n = 5 (1/C(10, 5) = 0.0040), half vs none at
        // n = 11 (6/11 vs 0/11: 0.0062; 5/10 vs 0/10 gives 0.0163).
        let level = 0.05 / 6.0;
        assert_eq!(runs_needed_for_fisher(1.0, 0.0, level), Some(5));
        assert_eq!(runs_needed_for_fisher(0.5, 0.0, level), Some(11));
        assert_eq!(runs_needed_for_fisher(0.0, 0.0, level), None);
        assert_eq!(runs_needed_for_fisher(0.2, 0.5, level), None);
    }

    #[test]
    fn seeds_needed_by_closed_forms() {
        // Difference of two clean arms: U_{α/2}(0/n) = 1 − 0.025^(1/n) < 0.25 from n = 13
        // (ln 0.025 / ln 0.75 = 12.8).
        assert_eq!(runs_needed_for_difference(0.0, 0.0, 0.25, 0.05), Some(13));
        assert_eq!(runs_needed_for_difference(0.3, 0.0, 0.25, 0.05), None);
        // Loss: 2 (sd (z_.95 + z_.8) / m)² / (3/π) = 2 (0.015 · 2.486 / 0.02)² / 0.955 = 7.3.
        assert_eq!(seeds_for_shift(0.0, 0.015, 0.02, 0.05), Some(8));
        assert_eq!(seeds_for_shift(0.02, 0.015, 0.02, 0.05), None);
        // A wide margin still needs the 3 seeds per arm at which a bound exists (1/20 <= α).
        assert_eq!(seeds_for_shift(0.0, 0.001, 1.0, 0.05), Some(3));
        // At a rate of 1/6 the bound falls below 0.25 only with many runs; at 1/3, never.
        let n = runs_needed_at_rate(1, 6, 0.25, 0.05).unwrap();
        assert!(rate_upper((n as f64 / 6.0).round() as usize, n, 0.05) < 0.25);
        assert!(rate_upper(((n - 1) as f64 / 6.0).round() as usize, n - 1, 0.05) >= 0.25);
        assert_eq!(runs_needed_at_rate(2, 6, 0.25, 0.05), None);
        assert_eq!(runs_needed_at_rate(0, 6, 0.25, 0.05), Some(11));
    }

    #[test]
    fn two_seeds_give_no_bound_and_a_clear_shift_gives_one() {
        // 2 vs 2: P(U = 0) = 1/6 > 0.05, no finite bound.
        assert_eq!(shift_upper(&[2.0, 2.1], &[2.0, 2.1], 0.05), None);
        // 6 vs 6 with a = b − 0.1: differences from −0.15 to −0.05, the bound below 0.
        let b: Vec<f64> = (0..6).map(|i| 2.0 + 0.01 * i as f64).collect();
        let a: Vec<f64> = b.iter().map(|x| x - 0.1).collect();
        let up = shift_upper(&a, &b, 0.05).unwrap();
        assert!(up < 0.0, "{up}");
        assert!((hodges_lehmann(&a, &b) + 0.1).abs() < 1e-12);
    }
}
