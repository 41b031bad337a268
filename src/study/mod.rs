//! Studies: a grid of runs declared in `experiments/NAME.json`, expanded into a deterministic plan.
//!
//! A study names a base config (a `configs/` file or an inline object), `fixed` values, the
//! `scientific` axes (what the study is about: arch, warmup, peak lr, ...) and the `nuisance`
//! axes (seeds). Keys are dotted paths into the run config (`schedule.warmup.steps`), so every
//! field is reachable and a typo is an error. The run id of each grid point is derived from its
//! resolved config, so a rerun finds the runs that already finished.

pub mod margins;
pub mod plan;

pub use margins::Margins;

use crate::error::{io_err, Result};
use crate::usage;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `experiments/NAME.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Study {
    /// Folder name under `results/` (default: the file's stem).
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: String,
    /// A config file path (relative to the repository root) or an inline (partial) run config.
    #[serde(default)]
    pub base: Option<serde_json::Value>,
    /// Dotted path -> value, applied to every run.
    #[serde(default)]
    pub fixed: BTreeMap<String, serde_json::Value>,
    /// Dotted path -> values: the axes the study compares.
    #[serde(default)]
    pub scientific: BTreeMap<String, Vec<serde_json::Value>>,
    /// Dotted path -> values: axes averaged over (seeds).
    #[serde(default)]
    pub nuisance: BTreeMap<String, Vec<serde_json::Value>>,
    /// Further configurations outside the grid (dotted path -> value each, applied over base +
    /// fixed), each crossed with the nuisance axes: arms that only make sense at one grid point,
    /// such as other warmup kinds or RAdam at the rate where Post-LN fails.
    #[serde(default)]
    pub extra: Vec<BTreeMap<String, serde_json::Value>>,
    /// Validation loss that "reaching a given loss" refers to in `compare` and `claims`.
    #[serde(default)]
    pub target_loss: Option<f64>,
    /// More validation losses whose updates-to-reach `compare --report` lists per run
    /// (`runs.csv`: one `updates_to_<loss>` column each, after the target's).
    #[serde(default)]
    pub targets: Vec<f64>,
    /// Non-inferiority margins of the negative verdicts (defaults: `Margins::default`).
    #[serde(default)]
    pub margins: Margins,
    /// The folder of the study file (not part of the file): a relative `base` path is looked up
    /// from the current folder, then from the repository the study file sits in.
    #[serde(skip)]
    pub source_dir: Option<PathBuf>,
}

/// What joins the keys of a linked axis: `"model.d_model+model.n_heads+model.d_ff":
/// [[64, 2, 256], [128, 4, 512]]` is one axis whose values set the three keys together (a model
/// size whose heads and FFN width scale with its width), not the cross product of three axes.
pub const LINK: char = '+';

/// The config keys an axis key names: itself, or each key of a linked axis.
pub fn linked_keys(key: &str) -> Vec<&str> {
    key.split(LINK).collect()
}

/// The config keys an extra arm sets: its own, with a `strength` spec's key for the spec.
fn arm_keys((key, value): (&String, &serde_json::Value)) -> Vec<String> {
    match (key.as_str(), value.as_object()) {
        (plan::STRENGTH, Some(spec)) => spec.keys().cloned().collect(),
        _ => vec![key.clone()],
    }
}

impl Study {
    /// The config keys a run of this study is defined by: scientific axes, the keys the extra
    /// arms set, then the nuisance axes (seeds).
    pub fn grid_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .scientific
            .keys()
            .flat_map(|k| linked_keys(k))
            .map(String::from)
            .collect();
        let mut extra: Vec<String> = self
            .extra
            .iter()
            .flat_map(|arm| arm.iter().flat_map(arm_keys))
            .filter(|k| !keys.contains(k))
            .collect();
        extra.sort();
        extra.dedup();
        keys.extend(extra);
        keys.extend(self.nuisance.keys().cloned());
        keys
    }
}

impl Study {
    pub fn load(path: &Path) -> Result<(Self, String)> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| usage!("study {}: cannot read: {e}", path.display()))?;
        crate::unique_keys::check(&text).map_err(|e| usage!("study {}: {e}", path.display()))?;
        let mut study: Study =
            serde_json::from_str(&text).map_err(|e| usage!("study {}: {e}", path.display()))?;
        study.source_dir = path.parent().map(Path::to_path_buf);
        study
            .margins
            .validate()
            .map_err(|e| usage!("study {}: {e}", path.display()))?;
        let name = study.name.clone().unwrap_or_else(|| {
            path.file_stem()
                .map_or("study".into(), |s| s.to_string_lossy().into_owned())
        });
        if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(usage!(
                "study {}: name '{name}' must be a plain folder name",
                path.display()
            ));
        }
        Ok((study, name))
    }

    /// Where a study's results go: `<results>/<name>/`.
    pub fn results_dir(root: &Path, name: &str) -> PathBuf {
        root.join(name)
    }
}

/// Read a base config file given relative to the repository root (or absolute): looked up from
/// the current folder, then from the study file's folder and its parent (`experiments/..`), so
/// `lnwarm sweep plan /elsewhere/repo/experiments/x.json` works from any folder.
pub fn read_base_file(path: &str, study_dir: Option<&Path>) -> Result<serde_json::Value> {
    let given = PathBuf::from(path);
    let mut candidates = vec![given.clone()];
    if given.is_relative() {
        if let Some(dir) = study_dir {
            candidates.push(dir.join(&given));
            if let Some(repo) = dir.parent() {
                candidates.push(repo.join(&given));
            }
        }
    }
    let found = candidates.iter().find(|p| p.is_file()).ok_or_else(|| {
        usage!(
            "study base {path}: no such file (looked in: {})",
            candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })?;
    let text = std::fs::read_to_string(found).map_err(io_err(found.clone()))?;
    crate::unique_keys::check(&text).map_err(|e| usage!("study base {path}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| usage!("study base {path}: {e}"))
}
