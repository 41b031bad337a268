//! What resumed runs are compared on: a result without its timing fields, a setup's weights.

use lnwarm::results::RunResult;
use lnwarm::train::Setup;
use serde_json::Value;

/// A result as JSON with the timing fields (and the record of resumptions) taken out.
pub fn without_timing(r: &RunResult) -> Value {
    let mut v = serde_json::to_value(r).unwrap();
    let obj = v.as_object_mut().unwrap();
    obj.remove("provenance");
    obj.remove("resumed");
    let summary = obj["summary"].as_object_mut().unwrap();
    summary.remove("wall_time_s");
    summary.remove("mean_tokens_per_s");
    for p in obj["train"].as_array_mut().unwrap() {
        p.as_object_mut().unwrap().remove("tokens_per_s");
    }
    if let Some(probes) = obj.get_mut("probes") {
        for p in probes.as_array_mut().unwrap() {
            p.as_object_mut().unwrap().remove("ms");
        }
    }
    v
}

pub fn params(setup: &Setup) -> Vec<(String, Vec<f32>)> {
    setup
        .store
        .named_vars()
        .iter()
        .map(|(n, v)| {
            let values = v.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
            (n.clone(), values)
        })
        .collect()
}
