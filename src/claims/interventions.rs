//! The interventions a study runs instead of warmup, and the accounts of warmup each is aimed
//! at, in one table (issue 34), as `schedule/decay/kinds.rs` does for decays: adding one is a
//! new variant, and the compiler asks for its row. The claims find an arm's intervention here
//! (`Intervention::of`), the keys that tell substitute arms apart here
//! (`substitute_keys`), and an account's interventions here (`Intervention::aimed_at`).

use crate::config::{Activation, OptimizerKind, RunConfig};

/// An account of why warmup works, as the studies test it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Account {
    /// The text's reason (1): large early steps over-fit each mini-batch.
    OverFitting,
    /// The text's reason (2): warmup keeps the deep layers stable.
    DeepLayers,
    /// Xiong et al.'s gradient scale near the output at initialization.
    GradientScale,
    /// Sharpness: the edge of stability (Kalra & Barkeshli 2024).
    Sharpness,
    /// Adam's second moment estimated from too few gradients (Liu et al. 2020).
    SecondMoment,
    /// Attention-logit growth and entropy collapse (Dehghani et al. 2023; Wortsman et al. 2023).
    Attention,
    /// ReLU units that die in the first updates.
    DeadUnits,
    /// Output-logit divergence (PaLM's z-loss; Wortsman et al. 2023).
    OutputLogits,
}

impl Account {
    pub const ALL: [Account; 8] = [
        Account::OverFitting,
        Account::DeepLayers,
        Account::GradientScale,
        Account::Sharpness,
        Account::SecondMoment,
        Account::Attention,
        Account::DeadUnits,
        Account::OutputLogits,
    ];
}

/// Whether an intervention replaces warmup in the optimizer or schedule (a substitute: the
/// why-warmup-cpu studies) or changes the model (the where-warmup-acts study).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Substitute,
    Model,
}

/// One intervention's row of the table.
pub struct Row {
    /// How a user asks for it.
    pub flag: &'static str,
    /// The config keys it sets, besides `optim.kind` (a substitute's keys tell its arms apart).
    pub keys: &'static [&'static str],
    /// Its name in verdicts and evidence.
    pub label: &'static str,
    pub targets: &'static [Account],
    /// The key whose values are its strengths in a dose-response (None: one strength only).
    pub strength: Option<&'static str>,
    pub kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Intervention {
    GiAdam,
    Radam,
    VFill,
    UpdateCap,
    FreezeTop,
    Catapult,
    QkNorm,
    ZLoss,
    Gelu,
}

impl Intervention {
    /// In the order `of` tries them: an arm is named by the first that it has (the optimizers
    /// first: a GI-Adam arm with a v-fill is a GI-Adam arm).
    pub const ALL: [Intervention; 9] = [
        Self::GiAdam,
        Self::Radam,
        Self::VFill,
        Self::UpdateCap,
        Self::FreezeTop,
        Self::Catapult,
        Self::QkNorm,
        Self::ZLoss,
        Self::Gelu,
    ];

    pub fn row(self) -> Row {
        use Account::*;
        let row = |flag, keys, label, targets, strength, kind| Row {
            flag,
            keys,
            label,
            targets,
            strength,
            kind,
        };
        match self {
            Self::GiAdam => row(
                "--optimizer gi-adam",
                &[],
                "gi-adam",
                &[Sharpness, SecondMoment],
                None,
                Kind::Substitute,
            ),
            Self::Radam => row(
                "--optimizer radam",
                &[],
                "radam",
                &[SecondMoment],
                None,
                Kind::Substitute,
            ),
            Self::VFill => row(
                "--v-fill N",
                &["optim.v_fill"],
                "v-fill",
                &[SecondMoment],
                Some("optim.v_fill"),
                Kind::Substitute,
            ),
            Self::UpdateCap => row(
                "--update-cap C --window N",
                &["optim.update_cap", "optim.window"],
                "update-cap",
                &[OverFitting],
                Some("optim.update_cap"),
                Kind::Substitute,
            ),
            Self::FreezeTop => row(
                "--freeze-top K --window N",
                &["optim.freeze_top", "optim.window"],
                "freeze-top",
                &[DeepLayers, GradientScale],
                Some("optim.freeze_top"),
                Kind::Substitute,
            ),
            Self::Catapult => row(
                "--warmup-start-search",
                &["schedule.warmup.start_search"],
                "catapult",
                &[Sharpness],
                None,
                Kind::Substitute,
            ),
            Self::QkNorm => row(
                "--qk-norm",
                &["model.qk_norm"],
                "qk-norm",
                &[Attention],
                None,
                Kind::Model,
            ),
            Self::ZLoss => row(
                "--z-loss C",
                &["model.z_loss"],
                "z-loss",
                &[OutputLogits],
                Some("model.z_loss"),
                Kind::Model,
            ),
            Self::Gelu => row(
                "--activation gelu",
                &["model.activation"],
                "gelu",
                &[DeadUnits],
                None,
                Kind::Model,
            ),
        }
    }

    pub fn label(self) -> &'static str {
        self.row().label
    }

    /// Whether a run with config `c` has this intervention.
    fn present(self, c: &RunConfig) -> bool {
        match self {
            Self::GiAdam => c.optim.kind == OptimizerKind::GiAdam,
            Self::Radam => c.optim.kind == OptimizerKind::Radam,
            Self::VFill => c.optim.v_fill > 0,
            Self::UpdateCap => c.optim.update_cap.is_some(),
            Self::FreezeTop => c.optim.freeze_top > 0,
            Self::Catapult => c.schedule.warmup.start_search.is_some(),
            Self::QkNorm => c.model.qk_norm,
            Self::ZLoss => c.model.z_loss.is_some(),
            Self::Gelu => c.model.activation == Activation::Gelu,
        }
    }

    /// The intervention of a run of `kind`, the first of `ALL` it has.
    pub fn of(c: &RunConfig, kind: Kind) -> Option<Self> {
        Self::all_of(c, kind).first().copied()
    }

    /// Every intervention of `kind` a run with config `c` has, in `ALL`'s order.
    pub fn all_of(c: &RunConfig, kind: Kind) -> Vec<Self> {
        Self::ALL
            .into_iter()
            .filter(|i| i.row().kind == kind && i.present(c))
            .collect()
    }

    /// The interventions aimed at `account`, in `ALL`'s order.
    pub fn aimed_at(account: Account) -> Vec<Self> {
        Self::ALL
            .into_iter()
            .filter(|i| i.row().targets.contains(&account))
            .collect()
    }
}

impl std::fmt::Display for Intervention {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// The config keys of the substitutes besides `optim.kind`: arms that differ only in these
/// differ only in their substitute.
pub fn substitute_keys() -> Vec<&'static str> {
    let mut keys: Vec<&'static str> = Intervention::ALL
        .into_iter()
        .filter(|i| i.row().kind == Kind::Substitute)
        .flat_map(|i| i.row().keys.iter().copied())
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_account_has_an_intervention_and_labels_are_distinct() {
        for account in Account::ALL {
            assert!(!Intervention::aimed_at(account).is_empty(), "{account:?}");
        }
        let mut labels: Vec<&str> = Intervention::ALL.iter().map(|i| i.label()).collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), Intervention::ALL.len());
        assert_eq!(
            substitute_keys(),
            [
                "optim.freeze_top",
                "optim.update_cap",
                "optim.v_fill",
                "optim.window",
                "schedule.warmup.start_search"
            ]
        );
    }

    #[test]
    fn an_arm_is_named_by_its_first_intervention() {
        let mut c = RunConfig::default();
        assert_eq!(Intervention::of(&c, Kind::Substitute), None);
        c.optim.v_fill = 10;
        assert_eq!(
            Intervention::of(&c, Kind::Substitute),
            Some(Intervention::VFill)
        );
        c.optim.kind = OptimizerKind::GiAdam;
        assert_eq!(
            Intervention::of(&c, Kind::Substitute),
            Some(Intervention::GiAdam)
        );
        c.model.qk_norm = true;
        assert_eq!(
            Intervention::of(&c, Kind::Model),
            Some(Intervention::QkNorm)
        );
    }
    /// Each account's list in `mechanisms::ACCOUNTS` is its substitutes in this table.
    #[test]
    fn the_mechanism_accounts_aim_the_tables_substitutes() {
        use Account::*;
        let accounts = [
            OverFitting,
            DeepLayers,
            GradientScale,
            Sharpness,
            SecondMoment,
        ];
        for ((claim, aimed, _), account) in super::super::mechanisms::ACCOUNTS.iter().zip(accounts)
        {
            let mut listed = aimed.to_vec();
            listed.sort();
            let table: Vec<Intervention> = Intervention::aimed_at(account)
                .into_iter()
                .filter(|i| i.row().kind == Kind::Substitute)
                .collect();
            assert_eq!(listed, table, "{claim}");
        }
    }
}
