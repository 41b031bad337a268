//! The comparison table: one row per configuration, seeds aggregated with statistics that fit
//! trains-or-stalls outcomes: the failure rate with its exact (Clopper–Pearson) 95% interval,
//! and medians with an order-statistic interval (min–max below 5 seeds).

use crate::analysis::{is_probe_setting, Group, Loaded};
use crate::config::probe::ProbeKind;
use crate::outcome::RunOutcome;
use crate::stats::rank::MedianInterval;
use serde_json::Value;

/// What the table's columns mean, printed under its title.
pub const LEGEND: &str = "Failed = stalled + diverged runs out of all decided ones (an undecided run, too short to tell, is counted beside the rate), with the exact 95% Clopper–Pearson interval of the rate. Losses and updates: median [interval] over seeds; the interval is min–max below 5 seeds, else the narrowest order-statistic interval covering the median with ≥ 95% (93.75% at 5 seeds, min–max). A diverged run's final loss and a seed that never reached the target count as worst (\"never\").";

/// Column headers and rows as plain strings (shared by the markdown and the HTML).
pub fn rows(loaded: &Loaded) -> (Vec<String>, Vec<Vec<String>>) {
    // The probe settings are one column, "probes" (the names, "all" for every probe): they
    // measure a run without changing it (tests/probes.rs); the settings stay in the JSON.
    let mut header: Vec<String> = loaded
        .axis_keys
        .iter()
        .filter(|k| !is_probe_setting(k))
        .map(|k| match k.as_str() {
            "probe.names" => "probes".to_string(),
            _ => k.clone(),
        })
        .collect();
    header.extend([
        "seeds".to_string(),
        "failed".into(),
        "stalled".into(),
        "diverged".into(),
        "final val loss".into(),
        "best val loss".into(),
        format!("updates to val {:.3}", loaded.target_loss),
    ]);
    let rows = loaded
        .groups
        .iter()
        .map(|g| row(g, loaded.target_loss))
        .collect();
    (header, rows)
}

fn row(g: &Group, target: f64) -> Vec<String> {
    let mut cells: Vec<String> = g
        .axes
        .iter()
        .filter(|(k, _)| !is_probe_setting(k))
        .map(|(k, v)| match v {
            Value::Array(names) if k == "probe.names" && names.len() == ProbeKind::ALL.len() => {
                "all".into()
            }
            _ => cell(v),
        })
        .collect();
    let updates = g.updates_to(target);
    let reached = updates.iter().filter(|u| u.is_finite()).count();
    cells.extend([
        g.runs.len().to_string(),
        failed_cell(g),
        g.count(RunOutcome::Stalled).to_string(),
        g.count(RunOutcome::Diverged).to_string(),
        MedianInterval::of(&g.final_losses()).fmt(4),
        MedianInterval::of(&g.best_losses()).fmt(4),
        format!(
            "{} ({reached}/{} reached)",
            MedianInterval::of(&updates).fmt(0),
            updates.len()
        ),
    ]);
    cells
}

/// The failure rate, and how many runs were too short to tell where there are any (they are
/// left out of the rate).
fn failed_cell(g: &Group) -> String {
    match g.count(RunOutcome::Undecided) {
        0 => g.failures().fmt(),
        u => format!("{} ({u} undecided)", g.failures().fmt()),
    }
}

/// An axis value in a cell: a key the configuration does not set (null) or an empty list
/// (no probes) is "—", a list its items joined.
fn cell(value: &Value) -> String {
    match value {
        Value::Null => "—".into(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.is_empty() => "—".into(),
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

pub fn markdown(loaded: &Loaded) -> String {
    let (header, rows) = rows(loaded);
    let mut out = format!(
        "# {}\n\n{LEGEND} Target loss {:.3} nats.\n\n| {} |\n|{}|\n",
        loaded.name(),
        loaded.target_loss,
        header.join(" | "),
        header.iter().map(|_| "---").collect::<Vec<_>>().join("|")
    );
    for row in rows {
        out.push_str(&format!("| {} |\n", row.join(" | ")));
    }
    out
}
