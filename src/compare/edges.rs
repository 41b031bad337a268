//! `edges.md`: each configuration's failure edge over the peak rate (`analysis::edges`), and,
//! across a size axis (depth `model.n_layers`, width `model.d_model`), the range of exponents a
//! of η* ∝ size^a that every size's bracket allows (issue 36).

use crate::analysis::edges::{edges, slope_range, Edge};
use crate::analysis::{partition_by, Loaded, RATE_KEY};

/// The size axes, each with the keys a linked width axis moves with it.
const SIZE_AXES: [(&str, &str, &[&str]); 2] = [
    ("depth L", "model.n_layers", &["model.n_layers"]),
    (
        "width d",
        "model.d_model",
        &["model.d_model", "model.n_heads", "model.d_ff"],
    ),
];

/// The table, or None for a study without a configuration at two or more rates.
pub fn markdown(loaded: &Loaded) -> Option<String> {
    let found = edges(loaded);
    if found.is_empty() {
        return None;
    }
    let mut out = String::from("# Failure edges over the peak rate\n\nPer configuration: failed / decided seeds at each rate, and η*, the largest rate with no failed seed at it or below it; the edge lies in the bracket [η*, the first failing rate] (\"below the grid\" / \"above the grid\" where a rate is missing). Non-monotone: a rate above the first failing one had no failure.\n\n| configuration | failed per rate | η* bracket | monotone |\n|---|---|---|---|\n");
    for e in &found {
        let per_rate: Vec<String> = e
            .rates
            .iter()
            .zip(&e.failed)
            .map(|(r, (k, n))| format!("{r:e}: {k}/{n}"))
            .collect();
        out += &format!(
            "| {} | {} | {} | {} |\n",
            e.label,
            per_rate.join(", "),
            bracket_text(e),
            if e.non_monotone() { "no" } else { "yes" }
        );
    }
    out += &scaling(&found);
    Some(out)
}

fn bracket_text(e: &Edge) -> String {
    match e.bracket() {
        (Some(lo), Some(hi)) => format!("[{lo:e}, {hi:e}]"),
        (Some(lo), None) => format!("≥ {lo:e} (above the grid)"),
        (None, Some(hi)) => format!("< {hi:e} (below the grid)"),
        (None, None) => "-".into(),
    }
}

/// Per size axis that varies: the exponent range over the configurations that differ only in it.
fn scaling(found: &[Edge]) -> String {
    let mut out = String::new();
    for (name, key, moved) in SIZE_AXES {
        let mut free: Vec<&str> = moved.to_vec();
        free.push(RATE_KEY);
        let sized: Vec<&Edge> = found
            .iter()
            .filter(|e| e.arms[0].config_value(key).is_some())
            .collect();
        let sets: Vec<Vec<&Edge>> = partition_by(&sized, |e| e.arms[0].key_without(&free))
            .into_iter()
            .filter(|set| set.len() >= 2)
            .collect();
        if sets.is_empty() {
            continue;
        }
        out += &format!("\n## η* against {name}\n\nη* ∝ size^a: the range of a over the lines (in log–log) through every size's bracket; a size whose edge is outside the grid leaves a open on one side and is named.\n\n| configuration | η* brackets by size | a |\n|---|---|---|\n");
        for set in sets {
            out += &exponent_row(&set, key, moved);
        }
    }
    out
}

fn exponent_row(set: &[&Edge], key: &str, moved: &[&str]) -> String {
    let size = |e: &Edge| {
        e.arms[0]
            .config_value(key)
            .and_then(|v| v.as_f64())
            .unwrap_or(f64::NAN)
    };
    let mut set = set.to_vec();
    set.sort_by(|a, b| size(a).total_cmp(&size(b)));
    let by_size: Vec<String> = set
        .iter()
        .map(|e| format!("{}: {}", size(e), bracket_text(e)))
        .collect();
    let open: Vec<String> = set
        .iter()
        .filter(|e| !matches!(e.bracket(), (Some(_), Some(_))))
        .map(|e| size(e).to_string())
        .collect();
    let exponent = match open.is_empty() {
        false => format!(
            "not bounded: the edge is outside the grid at {}",
            open.join(", ")
        ),
        true => {
            let points: Vec<(f64, (f64, f64))> = set
                .iter()
                .filter_map(|e| match e.bracket() {
                    (Some(lo), Some(hi)) => Some((size(e), (lo, hi))),
                    _ => None,
                })
                .collect();
            match slope_range(&points) {
                Some((lo, hi)) => format!("[{lo:.2}, {hi:.2}]"),
                None => "no line passes through every bracket".into(),
            }
        }
    };
    let mut free: Vec<&str> = moved.to_vec();
    free.push(RATE_KEY);
    format!(
        "| {} | {} | {exponent} |\n",
        set[0].arms[0].label_without_all(&free),
        by_size.join("; ")
    )
}
