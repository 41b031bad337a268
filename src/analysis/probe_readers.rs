//! The probe quantities `probe_plots` draws that take more than a field read: medians and
//! shares over a point's tensors.

use crate::probe::{GradHist, ProbePoint};

/// The share of `group`'s gradient entries that are 0 or in the first `counts` counts.
pub(super) fn group_share(p: &ProbePoint, group: &str, counts: usize) -> Option<f64> {
    p.gradhist.as_ref()?.share(Some(group), counts)
}

pub(super) fn median_relative_update(p: &ProbePoint) -> Option<f64> {
    let mut rel: Vec<f64> = p
        .update
        .as_ref()?
        .iter()
        .filter(|(name, _)| name.ends_with("weight") && !name.contains("ln"))
        .filter_map(|(_, u)| u.relative)
        .collect();
    rel.sort_by(f64::total_cmp);
    rel.get(rel.len() / 2).copied()
}

pub(super) fn share_below_eps(p: &ProbePoint) -> Option<f64> {
    let shares: Vec<f64> = p
        .update
        .as_ref()?
        .values()
        .filter_map(|u| u.v_below_eps)
        .collect();
    (!shares.is_empty()).then(|| shares.iter().sum::<f64>() / shares.len() as f64)
}

pub(super) fn small_gradient_share(p: &ProbePoint) -> Option<f64> {
    p.gradhist.as_ref()?.share(None, GradHist::below_1e8())
}
