//! Failure counts: a rate with its exact (Clopper–Pearson) 95% interval, and Fisher's exact test
//! between two arms. Both are exact for any number of seeds, which is what a study with 2–10
//! seeds per configuration needs (a normal approximation is meaningless at 0/5 or 5/5).

use statrs::distribution::{Beta, ContinuousCDF, Discrete, Hypergeometric};

/// `k` failures out of `n` runs with the two-sided 95% Clopper–Pearson interval of the rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub k: usize,
    pub n: usize,
    pub lo: f64,
    pub hi: f64,
}

impl Rate {
    /// Clopper–Pearson: lo = Beta⁻¹(0.025; k, n−k+1), hi = Beta⁻¹(0.975; k+1, n−k); lo = 0 at
    /// k = 0 and hi = 1 at k = n.
    pub fn of(k: usize, n: usize) -> Self {
        assert!(k <= n, "{k} failures out of {n} runs");
        if n == 0 {
            return Self {
                k,
                n,
                lo: 0.0,
                hi: 1.0,
            };
        }
        let (kf, nf) = (k as f64, n as f64);
        let lo = if k == 0 {
            0.0
        } else {
            beta_quantile(0.025, kf, nf - kf + 1.0)
        };
        let hi = if k == n {
            1.0
        } else {
            beta_quantile(0.975, kf + 1.0, nf - kf)
        };
        Self { k, n, lo, hi }
    }

    pub fn fraction(&self) -> f64 {
        self.k as f64 / self.n.max(1) as f64
    }

    /// `2/5 [0.05, 0.85]`.
    pub fn fmt(&self) -> String {
        format!("{}/{} [{:.2}, {:.2}]", self.k, self.n, self.lo, self.hi)
    }
}

fn beta_quantile(p: f64, a: f64, b: f64) -> f64 {
    Beta::new(a, b).map_or(f64::NAN, |d| d.inverse_cdf(p))
}

/// One-sided Fisher exact test that arm A fails more often than arm B: the probability, with
/// the margins of the 2x2 table fixed, of A having at least `a.k` of the failures.
pub fn fisher_greater(a: Rate, b: Rate) -> f64 {
    let (total, failures, draws) = (a.n + b.n, a.k + b.k, a.n);
    let Ok(h) = Hypergeometric::new(total as u64, failures as u64, draws as u64) else {
        return 1.0;
    };
    let top = failures.min(draws);
    (a.k..=top).map(|x| h.pmf(x as u64)).sum::<f64>().min(1.0)
}

/// Two-sided Fisher exact test: the total probability of the tables no more likely than the
/// observed one (R's `fisher.test` convention, with the same relative tolerance 1e-7).
pub fn fisher_two_sided(a: Rate, b: Rate) -> f64 {
    let (total, failures, draws) = (a.n + b.n, a.k + b.k, a.n);
    let Ok(h) = Hypergeometric::new(total as u64, failures as u64, draws as u64) else {
        return 1.0;
    };
    let low = (failures + draws).saturating_sub(total);
    let top = failures.min(draws);
    let observed = h.pmf(a.k as u64);
    (low..=top)
        .map(|x| h.pmf(x as u64))
        .filter(|p| *p <= observed * (1.0 + 1e-7))
        .sum::<f64>()
        .min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clopper_pearson_matches_r_binom_test() {
        // SciPy 1.x: beta.ppf(0.025, k, n-k+1), beta.ppf(0.975, k+1, n-k) (= R's binom.test).
        let cases = [
            (0, 5, 0.0, 0.521_823_750_1),
            (5, 5, 0.478_176_249_9, 1.0),
            (2, 5, 0.052_744_950_5, 0.853_367_200_4),
            (1, 10, 0.002_528_578_5, 0.445_016_117_0),
        ];
        for (k, n, lo, hi) in cases {
            let r = Rate::of(k, n);
            assert!((r.lo - lo).abs() < 1e-8, "{k}/{n} lo {}", r.lo);
            assert!((r.hi - hi).abs() < 1e-8, "{k}/{n} hi {}", r.hi);
        }
    }

    #[test]
    fn fisher_matches_closed_forms() {
        // 5/5 vs 0/5: one table as extreme, 1 / C(10, 5) = 1/252.
        let p = fisher_greater(Rate::of(5, 5), Rate::of(0, 5));
        assert!((p - 1.0 / 252.0).abs() < 1e-12, "{p}");
        // 4/5 vs 0/5: (C(5,4) C(5,0) + 0) / C(10,4) = 5/210.
        let p = fisher_greater(Rate::of(4, 5), Rate::of(0, 5));
        assert!((p - 5.0 / 210.0).abs() < 1e-12, "{p}");
        // Two-sided doubles a symmetric table: 2/252.
        let p = fisher_two_sided(Rate::of(5, 5), Rate::of(0, 5));
        assert!((p - 2.0 / 252.0).abs() < 1e-12, "{p}");
        // No difference: p = 1 either way.
        assert!((fisher_two_sided(Rate::of(1, 5), Rate::of(1, 5)) - 1.0).abs() < 1e-12);
        assert!(fisher_greater(Rate::of(0, 5), Rate::of(3, 5)) > 0.99);
    }
}
