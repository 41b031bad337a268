//! The probe quantities, by name: what `compare` draws (one panel each in `probes.svg`, one
//! column each in `probes.md`) and what `claims` reads for an account's manipulation check and
//! timing. A quantity is an enum variant, its title and reader properties of the variant: a
//! quantity that does not exist is a compile error, not an empty series (issue 34).

use super::probe_readers::{
    group_share, median_relative_update, share_below_eps, small_gradient_share,
};
use crate::config::probe::ProbeKind;
use crate::probe::{GradHist, ProbePoint};
use crate::results::RunResult;

/// One number per probe point, from one probe's measurements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeQuantity {
    Sharpness,
    SharpnessRatio,
    AdamSharpness,
    AdamSharpnessRatio,
    MedianRelativeUpdate,
    ShareBelowEps,
    CkaInitLast,
    CkaInitFirst,
    CkaWarmupEndLast,
    OneStepGap,
    GradientCosine,
    LargestAttentionLogit,
    MeanLogZ,
    SmallGradientShare,
    DeadFfnUnits,
    SmallQueryGradientShare,
    QueryGradientRms,
    AttentionEntropy,
    InactiveFfnUnits,
}

impl ProbeQuantity {
    /// Every quantity, in the order of the panels and the table's columns.
    pub const ALL: [ProbeQuantity; 19] = [
        Self::Sharpness,
        Self::SharpnessRatio,
        Self::AdamSharpness,
        Self::AdamSharpnessRatio,
        Self::MedianRelativeUpdate,
        Self::ShareBelowEps,
        Self::CkaInitLast,
        Self::CkaInitFirst,
        Self::CkaWarmupEndLast,
        Self::OneStepGap,
        Self::GradientCosine,
        Self::LargestAttentionLogit,
        Self::MeanLogZ,
        Self::SmallGradientShare,
        Self::DeadFfnUnits,
        Self::SmallQueryGradientShare,
        Self::QueryGradientRms,
        Self::AttentionEntropy,
        Self::InactiveFfnUnits,
    ];

    /// (the probe that measures it, the panel title, a log y axis).
    fn spec(self) -> (ProbeKind, &'static str, bool) {
        use ProbeKind as K;
        match self {
            Self::Sharpness => (K::Sharpness, "sharpness λmax(H)", true),
            Self::SharpnessRatio => (K::Sharpness, "λmax(H) / (2/η)", true),
            Self::AdamSharpness => (K::AdamSharpness, "Adam: λmax(P⁻¹H)", true),
            Self::AdamSharpnessRatio => (K::AdamSharpness, "Adam: λmax(P⁻¹H) / (38/η)", true),
            Self::MedianRelativeUpdate => (K::Update, "median ‖Δw‖/‖w‖ (matrices)", true),
            Self::ShareBelowEps => (K::Update, "share of sqrt(v̂) < ε", false),
            Self::CkaInitLast => (K::Drift, "CKA to update 0, last block", false),
            Self::CkaInitFirst => (K::Drift, "CKA to update 0, first block", false),
            Self::CkaWarmupEndLast => (K::Drift, "CKA to warmup end, last block", false),
            Self::OneStepGap => (K::Overfit, "one-step gap (train − held-out gain)", false),
            Self::GradientCosine => (K::Overfit, "cosine of consecutive gradients", false),
            Self::LargestAttentionLogit => (K::Attention, "largest attention logit", true),
            Self::MeanLogZ => (K::Attention, "mean output log Z", false),
            Self::SmallGradientShare => (K::Gradhist, "share of |g| < 1e-8, zeros included", false),
            Self::DeadFfnUnits => (
                K::Gradhist,
                "dead FFN units (ffn.w1 gradient exactly 0)",
                false,
            ),
            Self::SmallQueryGradientShare => (K::Gradhist, "attn.q gradient entries < 1e-8", false),
            Self::QueryGradientRms => (
                K::Update,
                "attn.q gradient RMS (geometric mean over blocks)",
                true,
            ),
            Self::AttentionEntropy => (K::Attention, "attention entropy (mean over blocks)", false),
            Self::InactiveFfnUnits => (
                K::Units,
                "inactive FFN units (share, mean over blocks)",
                false,
            ),
        }
    }

    /// The probe that measures it.
    pub fn probe(self) -> ProbeKind {
        self.spec().0
    }

    /// Its panel title and column header.
    pub fn title(self) -> &'static str {
        self.spec().1
    }

    pub fn log_y(self) -> bool {
        self.spec().2
    }

    /// Its value at one probe point (None where that point did not measure it).
    pub fn read(self, p: &ProbePoint) -> Option<f64> {
        match self {
            Self::Sharpness => p.sharpness.as_ref().map(|s| s.lambda_max),
            Self::SharpnessRatio => p.sharpness.as_ref().and_then(|s| s.ratio),
            Self::AdamSharpness => p.adam_sharpness.as_ref().map(|s| s.lambda_max),
            Self::AdamSharpnessRatio => p.adam_sharpness.as_ref().and_then(|s| s.ratio),
            Self::MedianRelativeUpdate => median_relative_update(p),
            Self::ShareBelowEps => share_below_eps(p),
            Self::CkaInitLast => p.drift.as_ref().and_then(|d| d.cka_init.last().copied()),
            Self::CkaInitFirst => p.drift.as_ref().and_then(|d| d.cka_init.first().copied()),
            Self::CkaWarmupEndLast => p
                .drift
                .as_ref()
                .and_then(|d| d.cka_warmup_end.as_ref())
                .and_then(|c| c.last().copied()),
            Self::OneStepGap => p.overfit.as_ref().map(|o| o.gap),
            Self::GradientCosine => p.overfit.as_ref().and_then(|o| o.grad_cosine),
            Self::LargestAttentionLogit => p.attention.as_ref().map(|a| {
                a.layers
                    .iter()
                    .map(|l| l.max_logit)
                    .fold(f64::MIN, f64::max)
            }),
            Self::MeanLogZ => p.attention.as_ref().map(|a| a.log_z_mean),
            Self::SmallGradientShare => small_gradient_share(p),
            Self::DeadFfnUnits => group_share(p, "ffn.w1.weight", 0),
            Self::SmallQueryGradientShare => group_share(p, "attn.q.weight", GradHist::below_1e8()),
            Self::QueryGradientRms => p.query_gradient(),
            Self::AttentionEntropy => {
                let layers = &p.attention.as_ref()?.layers;
                (!layers.is_empty())
                    .then(|| layers.iter().map(|l| l.entropy).sum::<f64>() / layers.len() as f64)
            }
            Self::InactiveFfnUnits => p.mean_ffn_inactive(),
        }
    }

    /// One run's (update, value) at every probe point that measured it.
    pub fn curve(self, run: &RunResult) -> Vec<(u64, f64)> {
        run.probes
            .iter()
            .filter_map(|p| self.read(p).map(|v| (p.step, v)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_distinct() {
        let mut titles: Vec<&str> = ProbeQuantity::ALL.iter().map(|q| q.title()).collect();
        titles.sort_unstable();
        titles.dedup();
        assert_eq!(titles.len(), ProbeQuantity::ALL.len());
    }
}
