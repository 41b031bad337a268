//! Statistics for seed-aggregated numbers. Continuous, roughly normal measurements (gradient
//! norms at initialization) get a mean with a Student-t 95% interval and least-squares slopes;
//! training outcomes, which are bimodal (a run trains or it stalls), get failure rates with
//! exact intervals and tests (`binomial`) and medians with rank-based intervals and tests
//! (`rank`). Distributions come from `statrs`.

pub mod binomial;
pub mod margins;
pub mod rank;

use serde::{Deserialize, Serialize};

/// Mean of n values with a two-sided 95% Student-t interval (lo = hi = mean when n < 2). An
/// undefined value (NaN: no values, or the slope of ln 0 for ReZero's zero gradients at init) is
/// `null` in JSON and reads back as NaN.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    #[serde(with = "nan_as_null")]
    pub mean: f64,
    #[serde(with = "nan_as_null")]
    pub lo: f64,
    #[serde(with = "nan_as_null")]
    pub hi: f64,
    pub n: usize,
}

/// f64 <-> JSON with NaN as `null` (JSON has no NaN; serde_json writes it as null and would
/// then refuse to read it back).
mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_nan() {
            s.serialize_none()
        } else {
            s.serialize_f64(*v)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
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

/// 0.975 quantile of Student's t with `df` degrees of freedom (infinite for df = 0).
pub fn t_975(df: usize) -> f64 {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    if df == 0 {
        return f64::INFINITY;
    }
    StudentsT::new(0.0, 1.0, df as f64)
        .map(|t| t.inverse_cdf(0.975))
        .unwrap_or(f64::NAN)
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
        // sd = 1, half = t(0.975, 2) / sqrt(3) = 4.3027 / sqrt(3)
        assert!((i.hi - 2.0 - 4.302_653 / 3f64.sqrt()).abs() < 1e-5);
        assert!(i.above(-0.5) && !i.above(0.0));
    }

    #[test]
    fn t_quantiles_match_the_tables() {
        // Printed tables (e.g. NIST/SEMATECH e-Handbook 1.3.6.7.2): 12.706, 2.571, 2.042, 1.984.
        for (df, q) in [(1, 12.706), (5, 2.571), (30, 2.042), (100, 1.984)] {
            assert!((t_975(df) - q).abs() < 5e-4, "df {df}: {}", t_975(df));
        }
    }

    #[test]
    fn slope_of_a_line() {
        assert!((slope(&[1.0, 2.0, 3.0], &[5.0, 3.0, 1.0]) + 2.0).abs() < 1e-12);
    }
}
