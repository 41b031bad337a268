//! `lnwarm compare --report ROOT`: the compact study report committed under
//! `ROOT/<study>/` (by default `docs/studies/<study>/`): `table.md`, the SVG plots, `claims.md`
//! (one verdict per paragraph, starting with its label), `probes.md` and the probe panels when
//! the runs had `--probe`, and `runs.csv` (one row per run, every
//! number at full precision so a rerun can be checked against it). The result JSONs stay out.

use super::{plots, table};
use crate::analysis::{steps_to, Loaded};
use crate::error::{io_err, Result};
use crate::files::write_atomic;
use crate::results::RunResult;
use crate::verdict::Verdict;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Write the report into `root/<study name>/`; returns the files written.
pub fn write(loaded: &Loaded, verdicts: &[Verdict], root: &Path) -> Result<Vec<PathBuf>> {
    let out = root.join(loaded.name());
    std::fs::create_dir_all(&out).map_err(io_err(&out))?;
    let regenerate = regenerate_command(loaded, root);
    let mut written = Vec::new();
    let mut put = |name: &str, text: String| -> Result<()> {
        let path = out.join(name);
        write_atomic(&path, text.as_bytes())?;
        written.push(path);
        Ok(())
    };
    put(
        "table.md",
        format!("{}\nRegenerate: `{regenerate}`\n", table::markdown(loaded)),
    )?;
    put("claims.md", claims_markdown(loaded, verdicts, &regenerate))?;
    put("runs.csv", runs_csv(loaded))?;
    if let Some(probes) = super::probe_plots::table(&loaded.groups) {
        let probes = probes.replace(
            "`lnwarm compare <results> --report`",
            &format!("`{regenerate}`"),
        );
        put("probes.md", probes)?;
    }
    // Studies over a model size (issue 36) commit their failure edges; the others' reports keep
    // the files they had.
    let sized = ["model.n_layers", "model.d_model"]
        .iter()
        .any(|k| loaded.axis_keys.iter().any(|a| a == k));
    if let (true, Some(table)) = (sized, super::edges::markdown(loaded)) {
        put("edges.md", format!("{table}\nRegenerate: `{regenerate}`\n"))?;
    }
    written.extend(plots::all(loaded, &out)?);
    written.extend(super::probe_plots::write(&loaded.groups, &out)?);
    written.extend(super::lr_curves::write(loaded, &out)?);
    Ok(written)
}

fn regenerate_command(loaded: &Loaded, root: &Path) -> String {
    let name = loaded.name();
    format!(
        "scripts/sweep.sh experiments/{name}.json && lnwarm compare results/{name} --report {}",
        root.display()
    )
}

/// One paragraph per verdict; each starts with the claim's label (`2a ...`).
pub fn claims_markdown(loaded: &Loaded, verdicts: &[Verdict], regenerate: &str) -> String {
    let mut out = format!(
        "# Claims: {}\n\nRegenerate: `{regenerate}` (claim 1 needs a grad-init JSON: `lnwarm claims results/{} GRAD_INIT.json`).\n\n",
        loaded.name(),
        loaded.name()
    );
    for v in verdicts {
        let effect = if v.effect.is_empty() {
            String::new()
        } else {
            format!("effect: {}  \n", v.effect)
        };
        out.push_str(&format!(
            "{}: **{}**  \nevidence: {}  \n{effect}rule: {}\n\n",
            v.claim,
            v.word().to_uppercase(),
            v.evidence,
            v.rule
        ));
    }
    out
}

/// `updates_to_2.6` for a target of 2.6.
pub fn target_column(target: f64) -> String {
    format!("updates_to_{target}")
}

/// Whether any run of the study searched its starting rate (`--lr-init catapult`): then
/// runs.csv has a `catapult_rate` column, the rate the search found (empty for other runs).
fn has_catapult(loaded: &Loaded) -> bool {
    loaded
        .groups
        .iter()
        .flat_map(|g| &g.runs)
        .any(|r| r.catapult.is_some())
}

/// One row per run, in group order then seed order.
pub fn runs_csv(loaded: &Loaded) -> String {
    let mut header = vec!["id".to_string()];
    header.extend(loaded.grid_keys.iter().cloned());
    if has_catapult(loaded) {
        header.push("catapult_rate".into());
    }
    header.extend(
        ["status", "outcome", "final_val_loss", "best_val_loss"]
            .iter()
            .map(|s| s.to_string()),
    );
    header.extend(loaded.targets.iter().map(|t| target_column(*t)));
    let mut out = csv_line(&header);
    for run in loaded.groups.iter().flat_map(|g| &g.runs) {
        out.push_str(&csv_line(&row(loaded, run)));
    }
    out
}

fn row(loaded: &Loaded, run: &RunResult) -> Vec<String> {
    let config = serde_json::to_value(&run.config).unwrap_or(Value::Null);
    let mut cells = vec![run.run_name.clone()];
    cells.extend(
        loaded
            .grid_keys
            .iter()
            .map(|k| plain(value_at(&config, k).unwrap_or(&Value::Null))),
    );
    let num = |x: Option<f64>| x.map_or(String::new(), |v| v.to_string());
    if has_catapult(loaded) {
        cells.push(num(run.catapult.as_ref().map(|c| c.rate)));
    }
    cells.extend([
        run.status.name().to_string(),
        run.outcome().0.name().to_string(),
        num(run.summary.final_val_loss),
        num(run.summary.best_val_loss),
    ]);
    cells.extend(
        loaded
            .targets
            .iter()
            .map(|t| steps_to(run, *t).map_or(String::new(), |s| s.to_string())),
    );
    cells
}

/// The value at a dotted path of a JSON object.
fn value_at<'a>(root: &'a Value, dotted: &str) -> Option<&'a Value> {
    dotted.split('.').try_fold(root, |node, seg| node.get(seg))
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn csv_line(cells: &[String]) -> String {
    let quoted: Vec<String> = cells
        .iter()
        .map(|c| {
            if c.contains([',', '"', '\n']) {
                format!("\"{}\"", c.replace('"', "\"\""))
            } else {
                c.clone()
            }
        })
        .collect();
    format!("{}\n", quoted.join(","))
}
