//! Rank statistics for small samples of training outcomes: the median with a distribution-free
//! interval, and the Mann–Whitney U test. Outcomes such as "final loss" or "updates to reach a
//! loss" are bimodal (a seed trains or stalls) and may be infinite (never reached, diverged), so
//! means and t intervals misdescribe them; ranks do not care about either.

use statrs::distribution::{Binomial, ContinuousCDF, DiscreteCDF, Normal};

/// Median of n values with an interval between two order statistics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MedianInterval {
    pub median: f64,
    pub lo: f64,
    pub hi: f64,
    pub n: usize,
    /// The interval's exact coverage of the population median (order-statistic interval).
    pub coverage: f64,
}

impl MedianInterval {
    /// For n < 5: median with min–max (coverage 1 − 2^(1−n)). For n ≥ 5: the narrowest symmetric
    /// order-statistic interval [x_(j), x_(n+1−j)] whose coverage 1 − 2·P(Bin(n, ½) < j) is at
    /// least 95%, or [min, max] when none reaches it (n = 5: 93.75%). Infinite values (a seed
    /// that never got there) are allowed: they sort last.
    pub fn of(values: &[f64]) -> Self {
        let mut v: Vec<f64> = values.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        if n == 0 {
            return Self {
                median: f64::NAN,
                lo: f64::NAN,
                hi: f64::NAN,
                n,
                coverage: 0.0,
            };
        }
        // (x + inf) / 2 = inf: a median between a reached and a never-reached value is "never".
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        let j = (1..=n / 2)
            .rev()
            .find(|&j| order_coverage(n, j) >= 0.95)
            .unwrap_or(1);
        Self {
            median,
            lo: v[j - 1],
            hi: v[n - j],
            n,
            coverage: order_coverage(n, j),
        }
    }

    /// `1.62 [1.58, 1.70]` (`inf` for a value never reached).
    pub fn fmt(&self, precision: usize) -> String {
        let f = |x: f64| {
            if x.is_infinite() {
                "never".to_string()
            } else {
                format!("{x:.precision$}")
            }
        };
        match self.n {
            0 => "-".into(),
            1 => f(self.median),
            _ => format!("{} [{}, {}]", f(self.median), f(self.lo), f(self.hi)),
        }
    }
}

/// P(x_(j) ≤ median ≤ x_(n+1−j)) = 1 − 2·P(Bin(n, ½) ≤ j − 1).
fn order_coverage(n: usize, j: usize) -> f64 {
    let tail = Binomial::new(0.5, n as u64).map_or(1.0, |b| b.cdf(j as u64 - 1));
    1.0 - 2.0 * tail
}

/// Mann–Whitney U of sample `a` against `b`: U_a counts the pairs with a < b (ties ½). A large
/// U_a means A's values are smaller (fewer updates, lower loss: better).
pub fn u_smaller(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .flat_map(|x| b.iter().map(move |y| (x, y)))
        .map(|(x, y)| match x.total_cmp(y) {
            std::cmp::Ordering::Less => 1.0,
            std::cmp::Ordering::Equal => 0.5,
            std::cmp::Ordering::Greater => 0.0,
        })
        .sum()
}

/// Largest number of splits enumerated for the exact permutation distribution (C(20, 10) is
/// 184,756); larger samples use the normal approximation with a tie correction.
const EXACT_LIMIT: u64 = 2_000_000;

/// One-sided p-value that A tends to be smaller than B (Mann–Whitney U test). Exact: the
/// permutation distribution of U over every split of the pooled values (ties included, so it
/// is exact with ties too); beyond `EXACT_LIMIT` splits, the normal approximation.
pub fn mann_whitney_less(a: &[f64], b: &[f64]) -> f64 {
    let (n, m) = (a.len(), b.len());
    if n == 0 || m == 0 {
        return 1.0;
    }
    let observed = u_smaller(a, b);
    if binomial_coefficient(n + m, n) <= EXACT_LIMIT {
        let pooled: Vec<f64> = a.iter().chain(b).copied().collect();
        let (mut extreme, mut total) = (0u64, 0u64);
        for_each_split(pooled.len(), n, &mut |in_a: &[bool]| {
            let (x, y): (Vec<f64>, Vec<f64>) = split(&pooled, in_a);
            total += 1;
            if u_smaller(&x, &y) >= observed - 1e-9 {
                extreme += 1;
            }
        });
        extreme as f64 / total as f64
    } else {
        normal_approx_less(a, b, observed)
    }
}

fn split(pooled: &[f64], in_a: &[bool]) -> (Vec<f64>, Vec<f64>) {
    let mut x = Vec::new();
    let mut y = Vec::new();
    for (v, &is_a) in pooled.iter().zip(in_a) {
        if is_a {
            x.push(*v)
        } else {
            y.push(*v)
        }
    }
    (x, y)
}

/// Call `f` with every choice of `k` of `n` positions (as a mask).
fn for_each_split(n: usize, k: usize, f: &mut dyn FnMut(&[bool])) {
    fn go(i: usize, left: usize, mask: &mut Vec<bool>, f: &mut dyn FnMut(&[bool])) {
        if left == 0 {
            f(mask);
            return;
        }
        if mask.len() - i < left {
            return;
        }
        mask[i] = true;
        go(i + 1, left - 1, mask, f);
        mask[i] = false;
        go(i + 1, left, mask, f);
    }
    let mut mask = vec![false; n];
    go(0, k, &mut mask, f);
}

/// C(n, k), saturating at u64::MAX.
pub(crate) fn binomial_coefficient(n: usize, k: usize) -> u64 {
    let k = k.min(n - k);
    (0..k).fold(1u64, |acc, i| {
        acc.saturating_mul((n - i) as u64) / (i as u64 + 1)
    })
}

fn normal_approx_less(a: &[f64], b: &[f64], u: f64) -> f64 {
    let (n, m) = (a.len() as f64, b.len() as f64);
    let mut pooled: Vec<f64> = a.iter().chain(b).copied().collect();
    pooled.sort_by(f64::total_cmp);
    let ties: f64 = pooled
        .chunk_by(|x, y| x == y)
        .map(|c| (c.len() as f64).powi(3) - c.len() as f64)
        .sum();
    let total = n + m;
    let var = n * m / 12.0 * ((total + 1.0) - ties / (total * (total - 1.0)));
    let z = (u - n * m / 2.0 - 0.5) / var.sqrt();
    Normal::new(0.0, 1.0).map_or(1.0, |d| 1.0 - d.cdf(z))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_interval_by_sample_size() {
        let m = MedianInterval::of(&[3.0, 1.0, 2.0]);
        assert_eq!((m.median, m.lo, m.hi), (2.0, 1.0, 3.0));
        assert!((m.coverage - 0.75).abs() < 1e-12);
        // n = 5: no interval reaches 95%; [min, max] covers 1 - 2/32.
        let m = MedianInterval::of(&[5.0, 1.0, 4.0, 2.0, 3.0]);
        assert_eq!((m.lo, m.hi), (1.0, 5.0));
        assert!((m.coverage - 0.9375).abs() < 1e-12);
        // n = 8: [x_(2), x_(7)] covers 1 - 2*9/256 = 0.9297 < 0.95, so [x_(1), x_(8)] (0.9922).
        let v: Vec<f64> = (1..=8).map(f64::from).collect();
        let m = MedianInterval::of(&v);
        assert_eq!((m.median, m.lo, m.hi), (4.5, 1.0, 8.0));
        // n = 12: [x_(3), x_(10)] covers 1 - 2*79/4096 = 0.9614.
        let v: Vec<f64> = (1..=12).map(f64::from).collect();
        let m = MedianInterval::of(&v);
        assert_eq!((m.lo, m.hi), (3.0, 10.0));
        assert!((m.coverage - (1.0 - 2.0 * 79.0 / 4096.0)).abs() < 1e-12);
        // A seed that never reached a loss sorts last.
        let m = MedianInterval::of(&[10.0, f64::INFINITY, 20.0]);
        assert_eq!((m.median, m.hi), (20.0, f64::INFINITY));
    }

    #[test]
    fn mann_whitney_exact_p_values() {
        // Complete separation, 5 vs 5: one split in C(10, 5) = 252 is as extreme.
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        let b = [6.0, 7.0, 8.0, 9.0, 10.0];
        assert!((mann_whitney_less(&a, &b) - 1.0 / 252.0).abs() < 1e-12);
        assert!((mann_whitney_less(&b, &a) - 1.0).abs() < 1e-12);
        assert_eq!(u_smaller(&a, &b), 25.0);
        // Identical samples: U = n m / 2 and p > 0.5.
        assert!(mann_whitney_less(&a, &a) > 0.5);
        // Infinite values (never reached) rank last.
        let never = [f64::INFINITY; 5];
        assert!((mann_whitney_less(&a, &never) - 1.0 / 252.0).abs() < 1e-12);
    }
}
