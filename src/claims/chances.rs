//! The design check's simulated chances (issue 32): before any run, how often each verdict rule
//! comes out positive, negative or inconclusive under stated assumptions — the failure rates of
//! no warmup and of warmup (from a pilot or an earlier study) and the seed spread of the final
//! loss. A rule whose positive outcome is unlikely even when the arm *exactly equals warmup*
//! cannot support anything, whatever the runs show; `lnwarm sweep plan --power` flags it.
//!
//! Failure counts are drawn as binomials, final losses as normals; each trial applies the
//! verdict's own rule function (the one `claims` applies to real runs), so the chance is the
//! rule's, not an approximation of it. A fixed seed makes the printed numbers reproducible.

use crate::stats::binomial::{fisher_greater, Rate};
use crate::stats::margins::shift_upper;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// Trials per simulated chance (a chance's standard error is at most 0.5/sqrt(trials) = 0.008).
pub const TRIALS: usize = 4000;

/// Seed of every simulation (the printed chances are the same on every run).
const SEED: u64 = 0x6368_616e_6365;

/// How often a rule gave each outcome.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Chances {
    pub positive: f64,
    pub negative: f64,
    pub inconclusive: f64,
}

impl Chances {
    /// `positive 0.97, negative 0.00, inconclusive 0.03`.
    pub fn text(&self) -> String {
        format!(
            "positive {:.2}, negative {:.2}, inconclusive {:.2}",
            self.positive, self.negative, self.inconclusive
        )
    }
}

/// The outcome of one simulated trial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sign {
    Positive,
    Negative,
    Neither,
}

/// Run `trial` `TRIALS` times with one seeded stream and tally its outcomes.
pub fn simulate(mut trial: impl FnMut(&mut ChaCha8Rng) -> Sign) -> Chances {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let mut tally = Chances::default();
    for _ in 0..TRIALS {
        match trial(&mut rng) {
            Sign::Positive => tally.positive += 1.0,
            Sign::Negative => tally.negative += 1.0,
            Sign::Neither => tally.inconclusive += 1.0,
        }
    }
    let n = TRIALS as f64;
    Chances {
        positive: tally.positive / n,
        negative: tally.negative / n,
        inconclusive: tally.inconclusive / n,
    }
}

/// `k` failures among `n` seeds that each fail with probability `p`.
pub fn failures(rng: &mut impl Rng, n: usize, p: f64) -> Rate {
    let k = (0..n).filter(|_| rng.random::<f64>() < p).count();
    Rate::of(k, n)
}

/// `n` final losses around `mean` with seed spread `sd`.
pub fn losses(rng: &mut impl Rng, n: usize, mean: f64, sd: f64) -> Vec<f64> {
    let dist = Normal::new(mean, sd.max(0.0)).expect("a finite, non-negative sd");
    (0..n).map(|_| dist.sample(rng)).collect()
}

/// Where an arm's failure count sits between no warmup's and warmup's (issue 32's primary
/// endpoint), by two one-sided Fisher tests at `level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Between {
    /// Fewer failures than no warmup, and not more than warmup.
    LikeWarmup,
    /// More failures than warmup, and not fewer than no warmup.
    LikeNone,
    /// Fewer than no warmup *and* more than warmup: part of warmup's effect.
    Partly,
    /// Neither test reaches the level.
    Undecided,
}

impl Between {
    pub fn of(arm: Rate, none: Rate, warm: Rate, level: f64) -> Self {
        let fewer_than_none = fisher_greater(none, arm) < level;
        let more_than_warm = fisher_greater(arm, warm) < level;
        match (fewer_than_none, more_than_warm) {
            (true, false) => Between::LikeWarmup,
            (false, true) => Between::LikeNone,
            (true, true) => Between::Partly,
            (false, false) => Between::Undecided,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Between::LikeWarmup => "like warmup",
            Between::LikeNone => "like no warmup",
            Between::Partly => "between the two",
            Between::Undecided => "undecided",
        }
    }
}

/// Chances of `Between` for an arm whose seeds fail with probability `p_arm`, against arms of
/// `n` seeds failing with `p_none` and `p_warm`: (like warmup, like no warmup, other).
pub fn between_chances(n: usize, p_arm: f64, p_none: f64, p_warm: f64, level: f64) -> Chances {
    simulate(|rng| {
        let (arm, none, warm) = (
            failures(rng, n, p_arm),
            failures(rng, n, p_none),
            failures(rng, n, p_warm),
        );
        match Between::of(arm, none, warm, level) {
            Between::LikeWarmup => Sign::Positive,
            Between::LikeNone => Sign::Negative,
            _ => Sign::Neither,
        }
    })
}

/// Issue 20's "S reproduces warmup" loss gate alone: the exact Hodges–Lehmann upper bound of
/// S − W at `level` below `margin`, for S and W of `n` seeds each drawn from one distribution
/// (S *is* warmup) with seed spread `sd`: the chance that a perfect replica passes.
pub fn replica_clears_margin(n: usize, sd: f64, margin: f64, level: f64) -> f64 {
    simulate(|rng| {
        let (s, w) = (losses(rng, n, 0.0, sd), losses(rng, n, 0.0, sd));
        match shift_upper(&s, &w, level) {
            Some(upper) if upper < margin => Sign::Positive,
            _ => Sign::Neither,
        }
    })
    .positive
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_c_could_not_confirm_a_perfect_replica() {
        // Issue 32: at Part C's design (6 seeds, level 0.05/6, margin 0.03 nats) and its seed
        // spread (0.047 nats), an exact replica of warmup clears the margin about 7% of the time.
        let chance = replica_clears_margin(6, 0.047, 0.03, 0.05 / 6.0);
        assert!((0.04..0.10).contains(&chance), "{chance}");
    }

    #[test]
    fn fisher_chances_match_the_closed_form_of_a_sure_case() {
        // With p_none = 1 and p_warm = 0 every trial is 12/12 vs 0/12; an arm that never fails
        // gives p = 1/C(24,12) < level (like warmup); one that always fails, like no warmup.
        let sure = between_chances(12, 0.0, 1.0, 0.0, 0.05 / 7.0);
        assert_eq!(sure.positive, 1.0);
        let sure_none = between_chances(12, 1.0, 1.0, 0.0, 0.05 / 7.0);
        assert_eq!(sure_none.negative, 1.0);
        // An arm failing half the time. Against 12/12, k/12 is "fewer" at 0.05/7 iff
        // C(12+k, 12)/C(24, 12) < level: k <= 6 (k = 6: 0.0069; k = 7: 0.019). Against 0/12 it
        // is "more" iff C(12, k)/C(24, k) < level: k >= 6. So "like warmup" iff k <= 5, and
        // its chance is P(Bin(12, 0.5) <= 5).
        let half = between_chances(12, 0.5, 1.0, 0.0, 0.05 / 7.0);
        let closed: f64 = (0..=5).map(|k| binom(12, k)).sum::<f64>() / 4096.0;
        assert!(
            (half.positive - closed).abs() < 0.03,
            "{} vs {closed}",
            half.positive
        );
    }

    fn binom(n: u64, k: u64) -> f64 {
        (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
    }
}
