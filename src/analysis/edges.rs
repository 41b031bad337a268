//! The failure edge of each configuration over the peak rate, and how it scales with model size
//! (issue 36). For a configuration run at several peak rates, η* is the largest rate at which
//! no seed failed and no smaller rate had a failed seed either (the edge seen from below); the
//! edge lies in the grid bracket [η*, the next rate). η* against depth L or width d is fitted as
//! η* ∝ size^a over the brackets, not over point guesses: the exponent's range is every slope of
//! a line in log–log that passes through every size's bracket (`slope_range`), so a coarse grid
//! gives a wide range instead of a precise-looking number.

use super::{partition, Group, Loaded, RATE_KEY};

/// One configuration's runs over the peak rates.
#[derive(Debug, Clone)]
pub struct Edge<'a> {
    /// The configuration without its rate.
    pub label: String,
    /// Its groups, by rate ascending.
    pub arms: Vec<&'a Group>,
    pub rates: Vec<f64>,
    /// Failed seeds / decided seeds, per rate.
    pub failed: Vec<(usize, usize)>,
}

impl Edge<'_> {
    /// Whether no decided seed failed at rate index `i` (and some seed was decided).
    fn clean(&self, i: usize) -> bool {
        let (failed, decided) = self.failed[i];
        failed == 0 && decided > 0
    }

    /// The index of the first rate with a failed (or no decided) seed.
    fn first_bad(&self) -> Option<usize> {
        (0..self.rates.len()).find(|&i| !self.clean(i))
    }

    /// η*: the largest rate below the first rate with a failed (or no decided) seed; None when
    /// even the smallest rate failed.
    pub fn largest_clean(&self) -> Option<f64> {
        match self.first_bad() {
            Some(0) => None,
            Some(i) => Some(self.rates[i - 1]),
            None => self.rates.last().copied(),
        }
    }

    /// The bracket of the edge: [η*, the first failing rate], with None for an end the grid
    /// does not reach (no clean rate: below the grid; no failing rate: above it).
    pub fn bracket(&self) -> (Option<f64>, Option<f64>) {
        (
            self.largest_clean(),
            self.first_bad().map(|i| self.rates[i]),
        )
    }

    /// A rate above the first failing one with no failed seed: failures not monotone in rate.
    pub fn non_monotone(&self) -> bool {
        self.first_bad()
            .is_some_and(|b| (b + 1..self.rates.len()).any(|i| self.clean(i)))
    }
}

/// Every configuration of the study with two or more peak rates.
pub fn edges(loaded: &Loaded) -> Vec<Edge<'_>> {
    let rated: Vec<&Group> = loaded
        .groups
        .iter()
        .filter(|g| g.config_value(RATE_KEY).is_some())
        .collect();
    partition(&rated, &[RATE_KEY])
        .into_iter()
        .filter(|arms| arms.len() >= 2)
        .map(|mut arms| {
            let rate = |g: &Group| g.runs[0].config.schedule.peak_lr;
            arms.sort_by(|a, b| rate(a).total_cmp(&rate(b)));
            let failed = arms
                .iter()
                .map(|g| {
                    let rate = g.failures();
                    (rate.k, rate.n)
                })
                .collect();
            Edge {
                label: arms[0].label_without(RATE_KEY),
                rates: arms.iter().map(|g| rate(g)).collect(),
                failed,
                arms,
            }
        })
        .collect()
}

/// The range [a_lo, a_hi] of slopes a of the lines log η = c + a·log size that pass through
/// every bracket (size, [lo, hi]) in log–log, or None when no line does. Exact: the feasible
/// slopes form an interval whose ends are slopes through two bracket ends, so each such
/// candidate is tested (a line through all brackets exists for slope a when the largest
/// log lo − a·x is at most the smallest log hi − a·x).
pub fn slope_range(points: &[(f64, (f64, f64))]) -> Option<(f64, f64)> {
    let logged: Vec<(f64, f64, f64)> = points
        .iter()
        .map(|&(x, (lo, hi))| (x.ln(), lo.ln(), hi.ln()))
        .collect();
    let feasible = |a: f64| {
        let low = logged
            .iter()
            .map(|p| p.1 - a * p.0)
            .fold(f64::MIN, f64::max);
        let high = logged
            .iter()
            .map(|p| p.2 - a * p.0)
            .fold(f64::MAX, f64::min);
        low <= high + 1e-12
    };
    let mut candidates = Vec::new();
    for (i, p) in logged.iter().enumerate() {
        for q in &logged[i + 1..] {
            if (q.0 - p.0).abs() < 1e-12 {
                continue;
            }
            for (yp, yq) in [(p.1, q.1), (p.1, q.2), (p.2, q.1), (p.2, q.2)] {
                candidates.push((yq - yp) / (q.0 - p.0));
            }
        }
    }
    let ok: Vec<f64> = candidates.into_iter().filter(|&a| feasible(a)).collect();
    let lo = ok.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = ok.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (lo <= hi).then_some((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slope_range_by_hand() {
        // Edges exactly on η = L^-1 (brackets of zero width): the range is the slope itself.
        let exact = [
            (2.0, (0.5, 0.5)),
            (4.0, (0.25, 0.25)),
            (8.0, (0.125, 0.125)),
        ];
        let (lo, hi) = slope_range(&exact).unwrap();
        assert!(
            (lo + 1.0).abs() < 1e-12 && (hi + 1.0).abs() < 1e-12,
            "{lo} {hi}"
        );
        // Two sizes, a factor-2 grid: brackets [1, 2) at L = 1 and [1, 2) at L = 16 (log 16 =
        // 4 log 2): slopes from -log 2 / log 16 = -0.25 to +0.25.
        let flat = [(1.0, (1.0, 2.0)), (16.0, (1.0, 2.0))];
        let (lo, hi) = slope_range(&flat).unwrap();
        assert!(
            (lo + 0.25).abs() < 1e-12 && (hi - 0.25).abs() < 1e-12,
            "{lo} {hi}"
        );
        // No line passes through these three: up, down, up.
        let zigzag = [(1.0, (1.0, 1.1)), (2.0, (4.0, 4.4)), (4.0, (1.0, 1.1))];
        assert_eq!(slope_range(&zigzag), None);
    }
}
