//! The comparison table: one row per configuration, seeds aggregated.

use super::{Group, Loaded};
use crate::outcome::Outcome;
use crate::stats::Interval;

/// Column headers and rows as plain strings (shared by the markdown and the HTML).
pub fn rows(loaded: &Loaded) -> (Vec<String>, Vec<Vec<String>>) {
    let mut header: Vec<String> = loaded.axis_keys.clone();
    header.extend([
        "seeds".to_string(),
        "final val loss".into(),
        "best val loss".into(),
        format!("steps to val {:.3}", loaded.target_loss),
        "diverged".into(),
        "stalled".into(),
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
        .map(|(_, v)| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect();
    let steps = g.steps_to(target);
    let reached: Vec<f64> = steps.iter().flatten().map(|s| *s as f64).collect();
    let steps_cell = if reached.is_empty() {
        format!("never (0/{})", steps.len())
    } else {
        format!(
            "{} ({}/{})",
            fmt_pm(&Interval::of(&reached), 0),
            reached.len(),
            steps.len()
        )
    };
    cells.extend([
        g.runs.len().to_string(),
        fmt_pm(&g.final_val(), 4),
        fmt_pm(&g.best_val(), 4),
        steps_cell,
        g.count(Outcome::Diverged).to_string(),
        g.count(Outcome::Stalled).to_string(),
    ]);
    cells
}

/// `mean ± half-width of the 95% interval` (just the mean with one value, `-` with none).
pub fn fmt_pm(i: &Interval, precision: usize) -> String {
    match i.n {
        0 => "-".into(),
        1 => format!("{:.p$}", i.mean, p = precision),
        _ => format!("{:.p$} ± {:.p$}", i.mean, (i.hi - i.mean), p = precision),
    }
}

pub fn markdown(loaded: &Loaded) -> String {
    let (header, rows) = rows(loaded);
    let mut out = format!(
        "# {}\n\nSeeds aggregated: mean ± half-width of the 95% t interval. Target loss {:.3} nats.\n\n| {} |\n|{}|\n",
        loaded.dir.display(),
        loaded.target_loss,
        header.join(" | "),
        header.iter().map(|_| "---").collect::<Vec<_>>().join("|")
    );
    for row in rows {
        out.push_str(&format!("| {} |\n", row.join(" | ")));
    }
    out
}
