//! The study data model that `compare` (tables, plots, HTML) and `claims` (verdicts) both
//! read: a study's results loaded and grouped into configurations (runs that differ only by
//! seed), what each group's runs did (outcomes, failure rates, losses, updates to a loss), the
//! probe quantities by name (`quantity`), and the LR curves with their bootstrap
//! (`lr_curves`). Neither reader imports the other (tests/layers.rs).
//!
//! Files of another schema version, other kinds of JSON and unreadable files are reported, one
//! line each, and skipped; they never stop the comparison.

pub mod edges;
mod inputs;
pub mod label;
pub mod lr_curves;
mod probe_readers;
pub mod quantity;

pub use inputs::Inputs;

use crate::error::Result;
use crate::outcome::RunOutcome;
use crate::results::{RunResult, SCHEMA_VERSION};
use crate::stats::binomial::Rate;
use crate::stats::rank::MedianInterval;
use crate::study::Study;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use label::is_probe_setting;

/// A configuration: the runs of a study that differ only by seed.
#[derive(Debug, Clone)]
pub struct Group {
    /// (axis key, value) in display order, for the axes that vary across the study (seed excluded).
    pub axes: Vec<(String, Value)>,
    pub runs: Vec<RunResult>,
}

/// Everything `compare` and `claims` need from a study folder.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub dir: PathBuf,
    pub groups: Vec<Group>,
    /// The axes, in display order.
    pub axis_keys: Vec<String>,
    pub target_loss: f64,
    /// The study's target and further `targets` (for `runs.csv`).
    pub targets: Vec<f64>,
    /// The keys that define a run (`Study::grid_keys`; without a study.json, the varying axes
    /// and the seed).
    pub grid_keys: Vec<String>,
    /// One line per skipped file.
    pub rejected: Vec<String>,
    /// The study's non-inferiority margins (the defaults without a study.json).
    pub margins: crate::study::Margins,
}

/// The study file a sweep copied into its folder, if there is one. One that exists but does not
/// parse is an error naming it: read as absent, it silently dropped the study's margins and
/// target loss (issue 34).
fn read_study(path: &Path) -> Result<Option<Study>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(crate::usage!("{}: cannot read: {e}", path.display())),
    };
    serde_json::from_str::<Study>(&text)
        .map(Some)
        .map_err(|e| crate::usage!("{}: not a study file: {e}", path.display()))
}

/// Read a study folder. `target` overrides the study's `target_loss`; the fallback is the
/// unigram entropy minus 0.5 nats.
/// A study's results folder: [`load`] of [`Inputs::Folder`].
pub fn load_dir(dir: &Path, target: Option<f64>) -> Result<Loaded> {
    load(&Inputs::Folder(dir.to_path_buf()), target)
}

pub fn load(inputs: &Inputs, target: Option<f64>) -> Result<Loaded> {
    let dir = inputs.dir();
    let (paths, study_file) = inputs.paths()?;
    let (mut runs, mut rejected) = (Vec::new(), Vec::new());
    for path in paths {
        match read_result(&path) {
            Ok(r) => runs.push(r),
            Err(why) => rejected.push(format!("skipped {}: {why}", path.display())),
        }
    }
    if runs.is_empty() {
        return Err(match inputs {
            Inputs::Folder(_) => crate::usage!(
                "{}: no lnwarm result JSON (schema {SCHEMA_VERSION}) in the folder",
                dir.display()
            ),
            Inputs::Files(_) => crate::usage!(
                "no lnwarm run result (schema {SCHEMA_VERSION}) among the files: {}",
                rejected.join("; ")
            ),
        });
    }
    let study = study_file.map(|f| read_study(&f)).transpose()?.flatten();
    let preferred: Vec<String> = study.as_ref().map(|s| s.grid_keys()).unwrap_or_default();
    let target_loss = target
        .or(study.as_ref().and_then(|s| s.target_loss))
        .unwrap_or_else(|| {
            runs.iter()
                .map(|r| r.summary.val_unigram_entropy)
                .sum::<f64>()
                / runs.len() as f64
                - 0.5
        });
    let (groups, axis_keys) = group(runs, &preferred);
    let mut targets = vec![target_loss];
    targets.extend(study.iter().flat_map(|s| s.targets.iter().copied()));
    targets.dedup();
    let grid_keys = match &study {
        Some(s) => s.grid_keys(),
        None => axis_keys
            .iter()
            .cloned()
            .chain(["train.seed".to_string()])
            .collect(),
    };
    Ok(Loaded {
        dir,
        groups,
        axis_keys,
        target_loss,
        targets,
        grid_keys,
        rejected,
        margins: study.map(|s| s.margins).unwrap_or_default(),
    })
}

/// A study's plan as `claims` will see its results (runs with configs and nothing measured):
/// what the design check pairs and counts.
pub fn planned(study: &Study, name: &str, runs: Vec<RunResult>) -> Loaded {
    let preferred: Vec<String> = study.grid_keys();
    let (groups, axis_keys) = group(runs, &preferred);
    Loaded {
        dir: PathBuf::from(name),
        groups,
        axis_keys,
        target_loss: study.target_loss.unwrap_or(f64::NAN),
        targets: study.targets.clone(),
        grid_keys: study.grid_keys(),
        rejected: Vec::new(),
        margins: study.margins,
    }
}

fn read_result(path: &Path) -> std::result::Result<RunResult, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("unreadable ({e})"))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| format!("not JSON ({e})"))?;
    match value.get("schema_version").and_then(Value::as_u64) {
        Some(v) if v == SCHEMA_VERSION as u64 => {}
        Some(v) => {
            return Err(format!(
                "schema_version {v}, this lnwarm reads {SCHEMA_VERSION}"
            ))
        }
        None => return Err("not an lnwarm run result (no schema_version)".into()),
    }
    if value.get("kind").is_some() {
        return Err("not a training run result (a grad-init file?)".into());
    }
    let run: RunResult =
        serde_json::from_value(value).map_err(|e| format!("malformed lnwarm result ({e})"))?;
    if run.status == crate::results::RunStatus::Interrupted {
        // A partial run says nothing about how the configuration ends: listed, left out.
        return Err(format!(
            "interrupted after update {} of {} (resume it; its checkpoint is {}.ckpt)",
            run.summary.steps_done,
            run.config.train.steps,
            path.display()
        ));
    }
    Ok(run)
}

/// Group runs by config without the seed; axes = config keys that vary across groups.
fn group(runs: Vec<RunResult>, preferred: &[String]) -> (Vec<Group>, Vec<String>) {
    let mut by_key: BTreeMap<String, Vec<RunResult>> = BTreeMap::new();
    let mut flat_of: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
    for r in runs {
        let mut flat =
            crate::files::flatten(&serde_json::to_value(&r.config).unwrap_or(Value::Null));
        flat.remove("train.seed");
        let key = serde_json::to_string(&flat).unwrap_or_default();
        flat_of.entry(key.clone()).or_insert(flat);
        by_key.entry(key).or_default().push(r);
    }
    let all_keys: std::collections::BTreeSet<&String> =
        flat_of.values().flat_map(|f| f.keys()).collect();
    let varying: Vec<String> = all_keys
        .into_iter()
        .filter(|k| {
            let mut values = flat_of.values().map(|f| f.get(*k));
            let first = values.next().flatten();
            values.any(|v| v != first)
        })
        .cloned()
        .collect();
    let mut axis_keys: Vec<String> = preferred
        .iter()
        .filter(|k| varying.contains(k))
        .cloned()
        .collect();
    axis_keys.extend(varying.into_iter().filter(|k| !preferred.contains(k)));
    let mut groups: Vec<Group> = by_key
        .into_iter()
        .map(|(key, mut runs)| {
            runs.sort_by_key(|r| r.seed);
            let flat = &flat_of[&key];
            let axes = axis_keys
                .iter()
                .map(|k| (k.clone(), flat.get(k).cloned().unwrap_or(Value::Null)))
                .collect();
            Group { axes, runs }
        })
        .collect();
    groups.sort_by(|a, b| {
        a.axes
            .iter()
            .zip(&b.axes)
            .map(|(x, y)| cmp_values(&x.1, &y.1))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    (groups, axis_keys)
}

fn cmp_values(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        _ => a.to_string().cmp(&b.to_string()),
    }
}

impl Loaded {
    /// The study's name: its results folder's name.
    pub fn name(&self) -> String {
        self.dir.file_name().map_or_else(
            || self.dir.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    }

    /// The mean unigram entropy of the validation text over all runs (one text: one value).
    pub fn unigram_entropy(&self) -> f64 {
        let runs: Vec<f64> = self
            .groups
            .iter()
            .flat_map(|g| g.runs.iter().map(|r| r.summary.val_unigram_entropy))
            .collect();
        runs.iter().sum::<f64>() / runs.len().max(1) as f64
    }
}

impl Group {
    /// Short label: `model.arch=post-ln, schedule.warmup.steps=0` -> `post-ln w=0`.
    pub fn label(&self) -> String {
        self.label_without("")
    }

    /// Every axis value but the `free` axes, as one string: configurations with equal keys
    /// differ only in those axes.
    pub fn key_without(&self, free: &[&str]) -> String {
        self.axes
            .iter()
            .filter(|(k, _)| !free.contains(&k.as_str()))
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The label without axis `key` (a plot panel's series, when the panel names that value).
    pub fn label_without(&self, key: &str) -> String {
        self.label_without_all(&[key])
    }

    /// The label without the axes `keys` (a panel that names their values).
    pub fn label_without_all(&self, keys: &[&str]) -> String {
        label::join(
            self.axes
                .iter()
                .filter(|(k, _)| !keys.contains(&k.as_str())),
        )
    }

    /// This configuration's value of axis `key`, as its label shows it (`lr=0.003`).
    pub fn axis_label(&self, key: &str) -> Option<String> {
        self.axes
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(k, v)| label::short(k, v))
    }

    pub fn arch(&self) -> Option<crate::config::Arch> {
        self.runs.first().map(|r| r.config.model.arch)
    }

    pub fn outcomes(&self) -> Vec<RunOutcome> {
        self.runs.iter().map(|r| r.outcome().0).collect()
    }

    pub fn count(&self, outcome: RunOutcome) -> usize {
        self.outcomes().iter().filter(|o| **o == outcome).count()
    }

    /// Per seed: the first evaluated step with validation loss <= target (None: never).
    pub fn steps_to(&self, target: f64) -> Vec<Option<u64>> {
        self.runs.iter().map(|r| steps_to(r, target)).collect()
    }

    /// Per seed: updates to reach `target`, infinite for a seed that never did (ranks last).
    pub fn updates_to(&self, target: f64) -> Vec<f64> {
        self.steps_to(target)
            .iter()
            .map(|s| s.map_or(f64::INFINITY, |s| s as f64))
            .collect()
    }

    /// Failed runs (stalled or diverged) out of the decided ones, with the exact interval of
    /// the rate: an `undecided` run (too short to tell) is neither.
    pub fn failures(&self) -> Rate {
        let outcomes = self.outcomes();
        let failed = outcomes
            .iter()
            .filter(|o| matches!(o, RunOutcome::Stalled | RunOutcome::Diverged))
            .count();
        let decided = outcomes.len() - self.count(RunOutcome::Undecided);
        Rate::of(failed, decided)
    }

    /// Per seed: the final validation loss, infinite for a diverged run (ranks last).
    pub fn final_losses(&self) -> Vec<f64> {
        self.runs
            .iter()
            .map(|r| match (r.status, r.summary.final_val_loss) {
                (crate::results::RunStatus::Ok, Some(l)) if l.is_finite() => l,
                _ => f64::INFINITY,
            })
            .collect()
    }

    /// Per seed: the best validation loss seen (infinite with no finite evaluation).
    pub fn best_losses(&self) -> Vec<f64> {
        self.runs
            .iter()
            .map(|r| {
                r.eval
                    .iter()
                    .map(|e| e.val_loss)
                    .filter(|l| l.is_finite())
                    .fold(f64::INFINITY, f64::min)
            })
            .collect()
    }

    /// The median over seeds of the best validation loss.
    pub fn median_best(&self) -> f64 {
        MedianInterval::of(&self.best_losses()).median
    }

    /// A dotted config key's value in this configuration (the first run's).
    pub fn config_value(&self, key: &str) -> Option<Value> {
        let run = self.runs.first()?;
        crate::files::flatten(&serde_json::to_value(&run.config).ok()?).remove(key)
    }
}

/// Partition `groups` into sets that agree on every axis except `free` (so the members of a set
/// differ only in those), in the given order.
pub fn partition<'a>(groups: &[&'a Group], free: &[&str]) -> Vec<Vec<&'a Group>> {
    partition_by(groups, |g| g.key_without(free))
}

/// Partition `items` into sets of equal `key`, sets and members in order of first appearance.
pub fn partition_by<T: Copy>(items: &[T], key: impl Fn(T) -> String) -> Vec<Vec<T>> {
    let mut sets: Vec<(String, Vec<T>)> = Vec::new();
    for &item in items {
        let k = key(item);
        match sets.iter_mut().find(|(existing, _)| *existing == k) {
            Some((_, set)) => set.push(item),
            None => sets.push((k, vec![item])),
        }
    }
    sets.into_iter().map(|(_, set)| set).collect()
}

/// The config key of the peak learning rate: the axis of the LR curves and the failure edges.
pub const RATE_KEY: &str = "schedule.peak_lr";

/// `n` loss levels evenly spaced from `top` down to `bottom` (none unless bottom < top): the
/// levels of the updates-to-loss curves and of claim 3.
pub fn loss_levels(top: f64, bottom: f64, n: usize) -> Vec<f64> {
    if n < 2 || bottom.partial_cmp(&top) != Some(std::cmp::Ordering::Less) {
        return Vec::new();
    }
    (0..n)
        .map(|i| top - (top - bottom) * i as f64 / (n - 1) as f64)
        .collect()
}

/// The first evaluated update whose validation loss is at most `target`.
pub fn steps_to(run: &RunResult, target: f64) -> Option<u64> {
    run.eval
        .iter()
        .find(|e| e.val_loss <= target)
        .map(|e| e.step)
}

/// The distinct items, in order of first appearance (panels, legends, facets).
pub fn first_seen<T: PartialEq>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}
