//! Small statistics for seed-aggregated numbers: mean with a Student-t 95% interval, and
//! least-squares slopes.

use serde::{Deserialize, Serialize};

/// Mean of n values with a two-sided 95% Student-t interval (lo = hi = mean when n < 2).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub mean: f64,
    pub lo: f64,
    pub hi: f64,
    pub n: usize,
}

impl Interval {
    pub fn of(values: &[f64]) -> Self {
        let n = values.len();
        if n == 0 {
            return Self {
                mean: f64::NAN,
                lo: f64::NAN,
                hi: f64::NAN,
                n,
            };
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        if n < 2 {
            return Self {
                mean,
                lo: mean,
                hi: mean,
                n,
            };
        }
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let half = t_975(n - 1) * (var / n as f64).sqrt();
        Self {
            mean,
            lo: mean - half,
            hi: mean + half,
            n,
        }
    }

    /// Whether the interval lies strictly above / below `x` (needs n >= 2).
    pub fn above(&self, x: f64) -> bool {
        self.n >= 2 && self.lo > x
    }

    pub fn below(&self, x: f64) -> bool {
        self.n >= 2 && self.hi < x
    }

    pub fn contains(&self, x: f64) -> bool {
        self.lo <= x && x <= self.hi
    }

    pub fn fmt(&self, precision: usize) -> String {
        if self.n < 2 {
            format!("{:.p$}", self.mean, p = precision)
        } else {
            format!(
                "{:.p$} [{:.p$}, {:.p$}]",
                self.mean,
                self.lo,
                self.hi,
                p = precision
            )
        }
    }
}

/// 0.975 quantile of Student's t with `df` degrees of freedom.
pub fn t_975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::INFINITY,
        1..=30 => TABLE[df - 1],
        _ => 1.96,
    }
}

/// Least-squares slope of y on x.
pub fn slope(xs: &[f64], ys: &[f64]) -> f64 {
    let n = xs.len() as f64;
    let mx = xs.iter().sum::<f64>() / n;
    let my = ys.iter().sum::<f64>() / n;
    let sxy: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    sxy / sxx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_of_three() {
        let i = Interval::of(&[1.0, 2.0, 3.0]);
        assert_eq!(i.mean, 2.0);
        // sd = 1, half = 4.303 / sqrt(3)
        assert!((i.hi - 2.0 - 4.303 / 3f64.sqrt()).abs() < 1e-12);
        assert!(i.above(-0.5) && !i.above(0.0));
    }

    #[test]
    fn slope_of_a_line() {
        assert!((slope(&[1.0, 2.0, 3.0], &[5.0, 3.0, 1.0]) + 2.0).abs() < 1e-12);
    }
}
