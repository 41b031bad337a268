//! Expansion of a study into runs: the cartesian product of the scientific and nuisance axes,
//! then each `extra` arm crossed with the nuisance axes; each point applied to base + fixed,
//! resolved and validated, with a deterministic run id.

use super::{read_base_file, Study};
use crate::config::RunConfig;
use crate::error::Result;
use crate::schedule::WarmupKind;
use crate::usage;
use serde_json::Value;
use std::collections::BTreeMap;

/// One run of a study.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedRun {
    pub id: String,
    pub config: RunConfig,
    /// The value of each axis (scientific and nuisance) at this grid point, by dotted key.
    pub point: BTreeMap<String, Value>,
}

/// Expand `study` in a stable order (axes sorted by key, values in file order, last axis fastest).
pub fn expand(study: &Study) -> Result<Vec<PlannedRun>> {
    let mut base = match &study.base {
        None => serde_json::to_value(RunConfig::default()).map_err(|e| usage!("{e}"))?,
        Some(Value::String(path)) => merge(
            serde_json::to_value(RunConfig::default()).map_err(|e| usage!("{e}"))?,
            read_base_file(path, study.source_dir.as_deref())?,
        ),
        Some(obj @ Value::Object(_)) => merge(
            serde_json::to_value(RunConfig::default()).map_err(|e| usage!("{e}"))?,
            obj.clone(),
        ),
        Some(other) => {
            return Err(usage!(
                "study base {other}: must be a config path or an object"
            ))
        }
    };
    // Sections left out of a config's JSON when at their default (`probe`) are still keys a
    // study may set.
    if let Value::Object(obj) = &mut base {
        if !obj.contains_key("probe") {
            let probe = serde_json::to_value(crate::probe::ProbeConfig::default())
                .map_err(|e| usage!("{e}"))?;
            obj.insert("probe".into(), probe);
        }
    }
    for (key, value) in &study.fixed {
        set_path(&mut base, key, value.clone())?;
    }
    let axes: Vec<(&String, &Vec<Value>)> = study
        .scientific
        .iter()
        .chain(study.nuisance.iter())
        .collect();
    if let Some((key, _)) = axes.iter().find(|(_, values)| values.is_empty()) {
        return Err(usage!("study axis {key}: needs at least one value"));
    }
    let nuisance: Vec<(&String, &Vec<Value>)> = study.nuisance.iter().collect();
    let arms = study
        .extra
        .iter()
        .map(strengths)
        .collect::<Result<Vec<_>>>()?
        .concat();
    let extra_points = arms.iter().flat_map(|arm| {
        grid(&nuisance).into_iter().map(move |mut p| {
            p.extend(arm.iter().map(|(k, v)| (k.clone(), v.clone())));
            p
        })
    });
    for (key, values) in &study.scientific {
        check_linked(key, values)?;
    }
    let mut runs = Vec::new();
    for point in grid(&axes).into_iter().chain(extra_points) {
        let mut value = base.clone();
        for (key, v) in &point {
            set_linked(&mut value, key, v)?;
        }
        let mut config: RunConfig = serde_json::from_value(value)
            .map_err(|e| usage!("study run {}: {e}", describe(&point)))?;
        normalize_warmup(&mut config);
        let config = config
            .finish()
            .map_err(|e| usage!("study run {}: {e}", describe(&point)))?;
        let id = crate::config::default_run_name(&config);
        runs.push(PlannedRun { id, config, point });
    }
    let mut ids: Vec<&str> = runs.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    if let Some(pair) = ids.windows(2).find(|p| p[0] == p[1]) {
        return Err(usage!(
            "study: two grid points give the same run config ({}); remove the duplicate axis value",
            pair[0]
        ));
    }
    Ok(runs)
}

/// The key of an extra arm that makes it a dose–response (issue 32): `"strength": {"KEY":
/// [v1, v2, ...]}` expands the arm into one arm per value of KEY (an intervention's strength or
/// window as a study axis, like the rate), each a run configuration of its own.
pub const STRENGTH: &str = "strength";

/// An extra arm, expanded over its `strength` values (itself when it has none).
fn strengths(arm: &BTreeMap<String, Value>) -> Result<Vec<BTreeMap<String, Value>>> {
    let Some(spec) = arm.get(STRENGTH) else {
        return Ok(vec![arm.clone()]);
    };
    let bad = || {
        usage!(
            "study extra arm {}: \"strength\" must be {{\"KEY\": [two or more values]}} (one key)",
            describe(arm)
        )
    };
    let (key, values) = match spec.as_object().map(|o| o.iter().collect::<Vec<_>>()) {
        Some(pairs) if pairs.len() == 1 => pairs[0],
        _ => return Err(bad()),
    };
    let values = values.as_array().filter(|v| v.len() >= 2).ok_or_else(bad)?;
    Ok(values
        .iter()
        .map(|v| {
            let mut one = arm.clone();
            one.remove(STRENGTH);
            one.insert(key.clone(), v.clone());
            one
        })
        .collect())
}

/// A linked axis's values are arrays of one value per linked key (`super::LINK`).
fn check_linked(key: &str, values: &[Value]) -> Result<()> {
    let keys = super::linked_keys(key);
    if keys.len() < 2 {
        return Ok(());
    }
    match values
        .iter()
        .find(|v| v.as_array().is_none_or(|a| a.len() != keys.len()))
    {
        Some(bad) => Err(usage!(
            "study axis {key}: value {bad} must be an array of {} values, one for each of {}",
            keys.len(),
            keys.join(", ")
        )),
        None => Ok(()),
    }
}

/// Set an axis's value: one key, or each key of a linked axis from its array.
fn set_linked(root: &mut Value, key: &str, value: &Value) -> Result<()> {
    let keys = super::linked_keys(key);
    match (keys.len(), value.as_array()) {
        (1, _) => set_path(root, key, value.clone()),
        (_, Some(values)) => keys
            .iter()
            .zip(values)
            .try_for_each(|(k, v)| set_path(root, k, v.clone())),
        _ => Err(usage!("study axis {key}: {value} is not an array")),
    }
}

/// `warmup.steps` set to 0 means no warmup; set to N on a `none` warmup means linear (as `--warmup N`).
fn normalize_warmup(cfg: &mut RunConfig) {
    let w = &mut cfg.schedule.warmup;
    if w.steps == 0 && w.kind != WarmupKind::None && w.until_loss.is_none() {
        w.kind = WarmupKind::None;
        w.start_factor = None;
    } else if w.steps > 0 && w.kind == WarmupKind::None {
        w.kind = WarmupKind::Linear;
    }
}

fn grid(axes: &[(&String, &Vec<Value>)]) -> Vec<BTreeMap<String, Value>> {
    let mut points = vec![BTreeMap::new()];
    for (key, values) in axes {
        points = points
            .into_iter()
            .flat_map(|p| {
                values.iter().map(move |v| {
                    let mut q = p.clone();
                    q.insert((*key).clone(), v.clone());
                    q
                })
            })
            .collect();
    }
    points
}

pub fn describe(point: &BTreeMap<String, Value>) -> String {
    point
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Set `a.b.c` in a JSON object; every segment but the last must exist (typos are errors).
pub fn set_path(root: &mut Value, path: &str, value: Value) -> Result<()> {
    let mut node = root;
    let segments: Vec<&str> = path.split('.').collect();
    for (i, seg) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        let obj = node
            .as_object_mut()
            .ok_or_else(|| usage!("study key {path}: {seg} is not inside an object"))?;
        if last {
            obj.insert(seg.to_string(), value);
            return Ok(());
        }
        node = obj
            .get_mut(*seg)
            .ok_or_else(|| usage!("study key {path}: no field '{seg}' in the run config"))?;
    }
    Ok(())
}

/// Recursive merge of `over` into `base` (objects merge, everything else replaces).
fn merge(mut base: Value, over: Value) -> Value {
    match (&mut base, over) {
        // A tagged enum (decay, warmup) is replaced whole: merging would keep another kind's fields.
        (Value::Object(_), Value::Object(o)) if o.contains_key("kind") => Value::Object(o),
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                let merged = match b.remove(&k) {
                    Some(existing) => merge(existing, v),
                    None => v,
                };
                b.insert(k, merged);
            }
            base
        }
        (_, over) => over,
    }
}
