//! How a run ended, beyond ok/diverged: `stalled` names the way Post-LN without warmup fails at
//! small scale: the validation loss sits at the unigram entropy H of the text (the loss of a model
//! that ignores context) instead of producing NaN.
//!
//! The rule comes from the pilot study (`docs/studies/pilot-depth-lr/`, 64 runs of 300 updates):
//! its final validation losses are bimodal, 30 runs between H + 0.007 and H + 0.014 (3.074–3.080
//! nats on Moby-Dick, H = 3.066) and 34 at H − 0.60 (2.467) and below, with nothing in between;
//! the middle of that gap is H − 0.30. So a run is `stalled` when it ends within
//! `STALL_MARGIN` = 0.3 nats of H: it never learned, learned so little that no user would call
//! it trained (e.g. 2.92 nats after 1000 updates), or fell back to the plateau. A run that
//! escapes the plateau late but ends well below it is `ok`: it trained, later (the
//! updates-to-loss curves of `compare` show how much later).

use serde::{Deserialize, Serialize};

/// Within this many nats of the unigram entropy counts as "at the unigram entropy" (for
/// `plateau_steps`).
pub const PLATEAU_MARGIN: f64 = 0.1;

/// A run whose final validation loss is above H − STALL_MARGIN is `stalled` (see the module doc).
pub const STALL_MARGIN: f64 = 0.3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    #[default]
    Ok,
    /// Ended within STALL_MARGIN of the unigram entropy.
    Stalled,
    Diverged,
    /// Stopped by a signal before its last update (a partial result; resume it to know).
    Interrupted,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Stalled => "stalled",
            Outcome::Diverged => "diverged",
            Outcome::Interrupted => "interrupted",
        }
    }
}

/// The outcome and the number of updates spent on the unigram plateau: from the first
/// evaluation within the margin of the entropy to the last one not clearly below it. `fixed` is
/// the outcome a run's status already decides (diverged, interrupted); `eval` holds
/// (update, validation loss) pairs in update order.
pub fn classify(
    fixed: Option<Outcome>,
    eval: &[(u64, f64)],
    unigram_entropy: f64,
    steps_done: u64,
) -> (Outcome, u64) {
    let plateau = plateau_steps(eval, unigram_entropy, steps_done);
    if let Some(outcome) = fixed {
        return (outcome, plateau);
    }
    let last = eval.last().map_or(f64::INFINITY, |e| e.1);
    let outcome = if last > unigram_entropy - STALL_MARGIN {
        Outcome::Stalled
    } else {
        Outcome::Ok
    };
    (outcome, plateau)
}

fn plateau_steps(eval: &[(u64, f64)], h: f64, steps_done: u64) -> u64 {
    let Some(&(start, _)) = eval.iter().find(|e| e.1 <= h + PLATEAU_MARGIN) else {
        return 0;
    };
    let escaped = eval
        .iter()
        .find(|&&(step, loss)| step >= start && loss < h - PLATEAU_MARGIN);
    escaped.map_or(steps_done, |e| e.0).saturating_sub(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evals(losses: &[f64]) -> Vec<(u64, f64)> {
        losses
            .iter()
            .enumerate()
            .map(|(i, &val_loss)| (i as u64 * 100, val_loss))
            .collect()
    }

    #[test]
    fn stalled_ok_and_plateau_length() {
        let h = 3.0;
        assert_eq!(
            classify(None, &evals(&[4.5, 3.05, 2.98, 3.0, 3.01]), h, 400),
            (Outcome::Stalled, 300)
        );
        assert_eq!(
            classify(None, &evals(&[4.5, 3.05, 3.0, 2.5, 2.2]), h, 400),
            (Outcome::Ok, 200)
        );
        // Barely learning (0.13 below H at the end) is stalled; so is falling back to H.
        assert_eq!(
            classify(None, &evals(&[4.5, 3.05, 2.95, 2.87]), h, 300).0,
            Outcome::Stalled
        );
        assert_eq!(
            classify(None, &evals(&[4.5, 2.5, 2.2, 2.99]), h, 300).0,
            Outcome::Stalled
        );
        // Either side of the margin.
        assert_eq!(
            classify(None, &evals(&[4.5, 3.0, 2.69]), h, 200).0,
            Outcome::Ok
        );
        assert_eq!(
            classify(None, &evals(&[4.5, 3.0, 2.71]), h, 200).0,
            Outcome::Stalled
        );
        assert_eq!(
            classify(None, &evals(&[4.5, 2.5, 2.0]), h, 200),
            (Outcome::Ok, 0)
        );
        assert_eq!(
            classify(Some(Outcome::Diverged), &evals(&[4.5]), h, 10).0,
            Outcome::Diverged
        );
    }
}
