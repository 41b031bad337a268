//! How a configuration is named in tables, plot legends and verdicts: its axis values, short
//! (`w=0`, `lr=0.003`, `update_cap=0.001`), the probe settings left out but whether probes ran.

use serde_json::Value;

/// Probe settings (`probe.every`, `probe.batch`, ...): instruments, not what a configuration
/// is; tables and labels say only whether (and which) probes ran.
pub fn is_probe_setting(key: &str) -> bool {
    key.starts_with("probe.") && key != "probe.names"
}

/// An axis value as a label shows it; None for an axis the label leaves out: a key this
/// configuration does not set (`null`), and the probe settings but whether probes ran.
pub(super) fn short(key: &str, value: &Value) -> Option<String> {
    match (key, value) {
        (_, Value::Null) => return None,
        ("probe.names", Value::Array(names)) => {
            return (!names.is_empty()).then(|| "(probed)".to_string())
        }
        (k, _) if is_probe_setting(k) => return None,
        _ => {}
    }
    let v = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Some(match key {
        "model.arch" => v,
        "schedule.warmup.steps" => format!("w={v}"),
        "schedule.peak_lr" => format!("lr={v}"),
        "optim.kind" | "schedule.warmup.kind" => v,
        other => format!("{}={v}", other.rsplit('.').next().unwrap_or(other)),
    })
}

/// Axis values as one label, separated by spaces. Whether probes ran comes last, as
/// "(probed)": inside the label it read as a setting of the next value ("adam probes none" for
/// a probed run without warmup).
pub(super) fn join<'a>(axes: impl Iterator<Item = &'a (String, Value)>) -> String {
    let (probe, settings): (Vec<_>, Vec<_>) = axes.partition(|(k, _)| k == "probe.names");
    settings
        .into_iter()
        .chain(probe)
        .filter_map(|(k, v)| short(k, v))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use crate::analysis::Group;
    use serde_json::json;

    #[test]
    fn a_label_says_probed_last_so_it_never_reads_as_the_next_setting() {
        let group = Group {
            axes: vec![
                ("schedule.warmup.steps".into(), json!(0)),
                ("optim.kind".into(), json!("adam")),
                ("probe.names".into(), json!(["sharpness", "update"])),
                ("probe.every".into(), json!(20)),
                ("schedule.warmup.kind".into(), json!("none")),
            ],
            runs: Vec::new(),
        };
        assert_eq!(group.label(), "w=0 adam none (probed)");
        assert_eq!(
            group.label_without("schedule.warmup.steps"),
            "adam none (probed)"
        );
        let unprobed = Group {
            axes: vec![
                ("optim.kind".into(), json!("adam")),
                ("probe.names".into(), json!([])),
                ("schedule.warmup.kind".into(), json!("linear")),
            ],
            runs: Vec::new(),
        };
        assert_eq!(unprobed.label(), "adam linear");
    }
}
