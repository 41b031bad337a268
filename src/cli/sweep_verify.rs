//! `lnwarm sweep verify STUDY`: rerun committed rows of a study report
//! (`docs/studies/<study>/runs.csv`) and say for each whether it reproduces: bit-identical
//! (the final validation loss equal to the committed one to the last digit), or else with the
//! same outcome and a final loss inside that configuration's committed seed range. Exit 0 only
//! when every row reproduces in one of these senses.
//!
//! Why both senses: a run is deterministic for a config, seed, thread count and kernel choice,
//! but another code revision or another CPU's kernels change the last digits, and 1000 updates
//! amplify them (see provenance.cpu); what a study claims must survive that, its digits need not.

use crate::error::{Error, Result};
use crate::study::plan::{describe, expand, PlannedRun};
use crate::study::Study;
use crate::train::{train, RunOptions, Setup};
use crate::usage;
use clap::Args;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Args, Clone)]
pub struct VerifyArgs {
    /// The study, e.g. experiments/paper-cpu.json.
    pub study: PathBuf,
    /// Rows to rerun [default: one per configuration, cheapest first].
    #[arg(long, value_name = "K")]
    pub rows: Option<usize>,
    /// Where the committed report is: ROOT/<study name>/runs.csv.
    #[arg(long, value_name = "ROOT", default_value = "docs/studies")]
    pub report: PathBuf,
    /// Print only the verdict lines.
    #[arg(long)]
    pub quiet: bool,
}

/// One committed row.
struct Row {
    id: String,
    outcome: String,
    final_val_loss: Option<f64>,
}

/// How a rerun compares with its committed row.
#[derive(Debug, PartialEq)]
enum Verdict {
    BitIdentical,
    WithinSeedRange,
    NotReproduced(String),
}

pub fn verify(args: &VerifyArgs) -> Result<()> {
    if args.rows == Some(0) {
        return Err(usage!("--rows 0: must be a positive number of rows"));
    }
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // What scripts/sweep.sh gives each run (and `sweep plan` prints).
        std::env::set_var("RAYON_NUM_THREADS", "1");
    }
    let (study, name) = Study::load(&args.study)?;
    let planned: BTreeMap<String, PlannedRun> = expand(&study)?
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect();
    let csv = args.report.join(&name).join("runs.csv");
    let rows = read_rows(&csv)?;
    let nuisance: Vec<&String> = study.nuisance.keys().collect();
    let config_of = |id: &str| -> Option<String> {
        let mut point = planned.get(id)?.point.clone();
        point.retain(|k, _| !nuisance.contains(&k));
        Some(describe(&point))
    };
    let mut by_config: BTreeMap<String, Vec<&Row>> = BTreeMap::new();
    for row in &rows {
        let config = config_of(&row.id).ok_or_else(|| {
            usage!(
                "{}: row {} is not a run of {} (another revision of the study?)",
                csv.display(),
                row.id,
                args.study.display()
            )
        })?;
        by_config.entry(config).or_default().push(row);
    }
    let chosen = choose(&by_config, &planned, args.rows);
    if chosen.is_empty() {
        return Err(Error::Failed(format!(
            "nothing verified: {} has no rows",
            csv.display()
        )));
    }
    let mut failed = 0;
    for (config, row) in &chosen {
        let run = &planned[&row.id];
        let setup = Setup::new(&run.config)?;
        let result = train(&run.config, &setup, &row.id, &RunOptions::plain(true))?;
        let finals = other_seeds(&by_config[config], &row.id);
        let verdict = judge(
            row,
            result.summary.outcome.name(),
            result.summary.final_val_loss,
            &finals,
        );
        let new = result
            .summary
            .final_val_loss
            .map_or("-".into(), |l| format!("{l}"));
        let line = match &verdict {
            Verdict::BitIdentical => format!("{}: bit-identical (final val loss {new})", row.id),
            Verdict::WithinSeedRange => format!(
                "{}: reproduces within the seed range: outcome {}, final val loss {new} (committed {}) inside [{}, {}] of the {} other committed seeds",
                row.id,
                row.outcome,
                row.final_val_loss.map_or("-".into(), |l| l.to_string()),
                finals.iter().copied().fold(f64::INFINITY, f64::min),
                finals.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                finals.len()
            ),
            Verdict::NotReproduced(why) => {
                failed += 1;
                format!("{}: does NOT reproduce: {why}", row.id)
            }
        };
        println!("{line}");
    }
    let cpu = crate::cpu::CpuInfo::detect();
    if !args.quiet {
        println!(
            "lnwarm: verified {} of {} committed rows of {} on {} (family {}, {}), {} thread(s)",
            chosen.len(),
            rows.len(),
            csv.display(),
            cpu.model,
            cpu.family.map_or("?".into(), |f| f.to_string()),
            cpu.simd,
            candle_core::utils::get_num_threads()
        );
    }
    match failed {
        0 => Ok(()),
        n => Err(Error::Failed(format!(
            "{n} of {} rows did not reproduce",
            chosen.len()
        ))),
    }
}

/// `k` rows (default: one per configuration), configurations cheapest first (updates × layers ×
/// tokens per update × width²), the first committed row of each.
fn choose<'a>(
    by_config: &BTreeMap<String, Vec<&'a Row>>,
    planned: &BTreeMap<String, PlannedRun>,
    k: Option<usize>,
) -> Vec<(String, &'a Row)> {
    let cost = |row: &Row| {
        let c = &planned[&row.id].config;
        c.train.steps as f64
            * c.model.n_layers as f64
            * (c.data.seq_len * c.data.batch_size) as f64
            * (c.model.d_model as f64).powi(2)
    };
    let mut firsts: Vec<(String, &Row)> = by_config
        .iter()
        .map(|(config, rows)| (config.clone(), rows[0]))
        .collect();
    firsts.sort_by(|a, b| cost(a.1).total_cmp(&cost(b.1)));
    let mut chosen: Vec<(String, &Row)> = firsts.clone();
    if let Some(k) = k {
        // More rows than configurations: the next seeds of each, cheapest first.
        let mut extra = by_config
            .iter()
            .flat_map(|(config, rows)| rows.iter().skip(1).map(move |r| (config.clone(), *r)))
            .collect::<Vec<_>>();
        extra.sort_by(|a, b| cost(a.1).total_cmp(&cost(b.1)));
        chosen.extend(extra);
        chosen.truncate(k);
    }
    chosen
}

/// The committed final losses of a configuration's seeds other than the row under test (a row
/// must not vouch for itself: an edited row would widen its own range; issue 33).
fn other_seeds(rows: &[&Row], id: &str) -> Vec<f64> {
    rows.iter()
        .filter(|r| r.id != id)
        .filter_map(|r| r.final_val_loss)
        .collect()
}

fn judge(row: &Row, outcome: &str, final_loss: Option<f64>, committed: &[f64]) -> Verdict {
    if final_loss.is_some() && final_loss == row.final_val_loss && outcome == row.outcome {
        return Verdict::BitIdentical;
    }
    if outcome != row.outcome {
        return Verdict::NotReproduced(format!("outcome {outcome}, committed {}", row.outcome));
    }
    let (lo, hi) = (
        committed.iter().copied().fold(f64::INFINITY, f64::min),
        committed.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    );
    match final_loss {
        Some(l) if l >= lo && l <= hi => Verdict::WithinSeedRange,
        Some(l) => Verdict::NotReproduced(format!(
            "final val loss {l} outside the committed seed range [{lo}, {hi}]"
        )),
        None => Verdict::NotReproduced("no final val loss".into()),
    }
}

fn read_rows(csv: &std::path::Path) -> Result<Vec<Row>> {
    let text = std::fs::read_to_string(csv).map_err(|e| {
        usage!(
            "{}: {e} (a committed study report: lnwarm compare results/<study> --report)",
            csv.display()
        )
    })?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .ok_or_else(|| usage!("{}: no column {name}", csv.display()))
    };
    let (id, outcome, final_loss) = (column("id")?, column("outcome")?, column("final_val_loss")?);
    Ok(lines
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            let cell = |i: usize| cells.get(i).copied().unwrap_or_default();
            Row {
                id: cell(id).to_string(),
                outcome: cell(outcome).to_string(),
                final_val_loss: cell(final_loss).parse().ok(),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_by_hand() {
        let row = Row {
            id: "r".into(),
            outcome: "ok".into(),
            final_val_loss: Some(1.85),
        };
        let seeds = [1.80, 1.85, 1.90];
        assert_eq!(judge(&row, "ok", Some(1.85), &seeds), Verdict::BitIdentical);
        assert_eq!(
            judge(&row, "ok", Some(1.87), &seeds),
            Verdict::WithinSeedRange
        );
        assert!(matches!(
            judge(&row, "ok", Some(1.95), &seeds),
            Verdict::NotReproduced(_)
        ));
        assert!(matches!(
            judge(&row, "stalled", Some(1.85), &seeds),
            Verdict::NotReproduced(_)
        ));
    }

    #[test]
    fn a_row_does_not_vouch_for_itself() {
        // Issue 33: a row edited to 2.9 widened its own configuration's range to [2.297, 2.9],
        // so a rerun at 2.6 "reproduced". Without the row the range is the other seeds'.
        let row = |id: &str, l: f64| Row {
            id: id.into(),
            outcome: "ok".into(),
            final_val_loss: Some(l),
        };
        let rows = [row("a", 2.297), row("b", 2.4), row("edited", 2.9)];
        let refs: Vec<&Row> = rows.iter().collect();
        let others = other_seeds(&refs, "edited");
        assert_eq!(others, [2.297, 2.4]);
        assert!(matches!(
            judge(&rows[2], "ok", Some(2.6), &others),
            Verdict::NotReproduced(_)
        ));
    }
}
