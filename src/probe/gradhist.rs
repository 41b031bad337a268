//! The `gradhist` probe: histograms of log10|g| per parameter group over the first updates,
//! the picture in which Liu et al. (2020, RAdam, Figure 2) show Adam's gradient distribution
//! collapsing toward zero within the first updates without warmup. Fixed bins, so histograms
//! of different runs and updates add and compare.

use super::record::GradHist;
use crate::error::Result;
use candle_core::{DType, Tensor};
use std::collections::BTreeMap;

/// Bin edges of log10|g|: -12, -11.5, ..., 1 (26 bins), plus an underflow and an overflow bin.
pub const HIST_EDGES: (f64, f64, usize) = (-12.0, 1.0, 26);

/// The group of a parameter: its name without the block index (`blocks.3.ffn.w1.weight` ->
/// `ffn.w1.weight`), so one histogram covers that tensor in every layer.
pub fn group_of(name: &str) -> String {
    let mut parts = name.splitn(3, '.');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("blocks"), Some(_), Some(rest)) => rest.to_string(),
        _ => name.to_string(),
    }
}

/// Which count a nonzero |g| goes to: 0 below the first edge, 1..=bins inside, bins + 1 above.
fn bin_of(abs: f64) -> usize {
    let (lo, hi, bins) = HIST_EDGES;
    let x = abs.log10();
    if x < lo {
        0
    } else if x >= hi {
        bins + 1
    } else {
        1 + (((x - lo) / (hi - lo) * bins as f64) as usize).min(bins - 1)
    }
}

/// The histograms of `grads` (store order, named by `names`).
pub fn histogram(names: &[String], grads: &[Tensor]) -> Result<GradHist> {
    let bins = HIST_EDGES.2;
    let mut counts: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut zeros: BTreeMap<String, u64> = BTreeMap::new();
    for (name, g) in names.iter().zip(grads) {
        let group = group_of(name);
        let row = counts
            .entry(group.clone())
            .or_insert_with(|| vec![0; bins + 2]);
        let zero = zeros.entry(group).or_insert(0);
        for v in g.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()? {
            if v == 0.0 {
                *zero += 1;
            } else {
                row[bin_of(v.abs() as f64)] += 1;
            }
        }
    }
    Ok(GradHist { counts, zeros })
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn groups_merge_layers_and_bins_are_fixed() {
        assert_eq!(group_of("blocks.3.ffn.w1.weight"), "ffn.w1.weight");
        assert_eq!(group_of("tok_emb.weight"), "tok_emb.weight");
        let names = vec!["blocks.0.x".to_string(), "blocks.1.x".to_string()];
        let grads = [
            Tensor::new(&[1e-13f32, 0.0, 2e-12], &Device::Cpu).unwrap(),
            Tensor::new(&[0.3f32, -20.0, 2e-6], &Device::Cpu).unwrap(),
        ];
        let h = histogram(&names, &grads).unwrap();
        let row = &h.counts["x"];
        assert_eq!(row.len(), 28);
        assert_eq!(row[0], 1, "1e-13 underflows");
        assert_eq!(row[1], 1, "2e-12 is in the first bin");
        // log10 0.3 = -0.52: bin (11.48 / 0.5) = 22 -> count 23.
        assert_eq!(row[23], 1);
        // log10 2e-6 = -5.70: bin 12 -> count 13.
        assert_eq!(row[13], 1);
        assert_eq!(row[27], 1, "20 overflows");
        assert_eq!(h.zeros["x"], 1);
        assert_eq!(row.iter().sum::<u64>() + h.zeros["x"], 6);
        // Below 1e-8: 1e-13, 2e-12 and the zero; exact zeros alone: 1 of 6.
        assert_eq!(h.share(None, GradHist::below_1e8()), Some(0.5));
        assert_eq!(h.share(Some("x"), 0), Some(1.0 / 6.0));
        assert_eq!(h.share(Some("absent"), 0), None);
    }
}
