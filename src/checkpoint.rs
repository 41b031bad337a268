//! Checkpoints: `<result>.ckpt/` beside a run's result file, holding everything needed to
//! continue the run as if it had never stopped.
//!
//! - `model.safetensors`: every parameter by its stable name (`blocks.3.ffn.w2.weight`), f32, the
//!   format PyTorch reads (`safetensors.torch.load_file`).
//! - `optimizer.safetensors`: the optimizer's state by torch's key names (`<param>.exp_avg`,
//!   `.exp_avg_sq`, `.momentum_buffer`) and the update counter `step`.
//! - `probe.safetensors` (runs with `--probe` only): the probes' state between measurements
//!   (drift references, sharpness warm starts, the previous gradient), so that a resumed run
//!   measures what the uninterrupted one does.
//! - `state.json`: the update reached, the batch sampler's stream position, the schedule's state
//!   (where a loss-ended warmup ended), the resolved config, the partial result (curves so far),
//!   SHA-256 of both tensor files, and the lnwarm version.
//!
//! - `state.sha256`: the SHA-256 of `state.json`, so a hand-edited state is refused; its fields
//!   are cross-checked too on load (update within the run, equal to the partial result's and
//!   the optimizer's update count, the sampler's position where that many batches leave it).
//!
//! Only the newest checkpoint is kept, and replacing it is atomic: the new one is written
//! complete into `<result>.ckpt.new/`, the old one renamed to `<result>.ckpt.old/`, the new one
//! renamed into place, the old one removed. A crash at any moment leaves a complete checkpoint
//! under one of the two names, and `load` looks in both.

use crate::config::RunConfig;
use crate::error::{io_err, Error, Result};
use crate::files::sha256_hex;
use crate::files::write_atomic;
use crate::model::ParamStore;
use crate::optim::{Optimizer, StateTensors};
use crate::results::RunResult;
use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Version of the checkpoint layout (2: `state.sha256` covers `state.json`).
pub const FORMAT: u32 = 2;
const MODEL: &str = "model.safetensors";
const OPTIMIZER: &str = "optimizer.safetensors";
const STATE: &str = "state.json";
const STATE_SUM: &str = "state.sha256";
const TOKENIZER: &str = "tokenizer.json";
const PROBE: &str = "probe.safetensors";

/// `state.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointState {
    pub format: u32,
    pub lnwarm_version: String,
    /// Updates completed; training continues with update `update + 1`.
    pub update: u64,
    /// The training batch sampler's ChaCha8 word position (decimal: it is a u128).
    pub sampler_position: String,
    /// The update whose training loss ended a loss-triggered constant warmup, if one did.
    pub warmup_ended_at_step: Option<u64>,
    /// Seconds of wall time and of updates, and tokens trained, before this checkpoint.
    pub elapsed: Elapsed,
    /// SHA-256 of the tensor files, checked on load.
    pub files: BTreeMap<String, String>,
    /// The resolved config of the run (`--resume` refuses another).
    pub config: RunConfig,
    /// The result so far: curves, evaluations, gradient norms up to `update`.
    pub result: RunResult,
}

/// Time and work before a checkpoint (timing fields of the final result add them up).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Elapsed {
    pub wall_s: f64,
    pub train_s: f64,
    pub train_tokens: u64,
}

/// A checkpoint read back.
pub struct Loaded {
    pub state: CheckpointState,
    pub model: HashMap<String, Tensor>,
    pub optimizer: StateTensors,
    /// `probe.safetensors`, when the run had probes.
    pub probe: Option<HashMap<String, Tensor>>,
    /// Where it was found (`<result>.ckpt/`, or `.ckpt.old/` after a crash mid-replace).
    pub dir: PathBuf,
}

/// The checkpoint folder of the result file `out`: `<out>.ckpt`.
pub fn dir_for(out: &Path) -> PathBuf {
    with_suffix(out, ".ckpt")
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Write a checkpoint of `store`, `opt` and `state` to `dir`, replacing the one there atomically.
pub fn save(
    dir: &Path,
    store: &ParamStore,
    opt: &Optimizer,
    mut state: CheckpointState,
    tokenizer_json: Option<&str>,
    probe_state: Option<&HashMap<String, Tensor>>,
) -> Result<()> {
    let new = with_suffix(dir, ".new");
    let old = with_suffix(dir, ".old");
    remove_dir_if_present(&new)?;
    std::fs::create_dir_all(&new).map_err(io_err(&new))?;
    let params = named_tensors(store);
    state
        .files
        .insert(MODEL.into(), write_tensors(&new.join(MODEL), &params)?);
    let opt_state = opt.state().tensors;
    state.files.insert(
        OPTIMIZER.into(),
        write_tensors(&new.join(OPTIMIZER), &opt_state)?,
    );
    if let Some(probe) = probe_state {
        state
            .files
            .insert(PROBE.into(), write_tensors(&new.join(PROBE), probe)?);
    }
    let json = serde_json::to_vec_pretty(&state).map_err(|e| Error::Output(e.to_string()))?;
    write_atomic(&new.join(STATE), &json)?;
    write_atomic(&new.join(STATE_SUM), sha256_hex(&json).as_bytes())?;
    if let Some(tokenizer) = tokenizer_json {
        // Subword runs: what the ids in the weights mean (its SHA-256 is in the result).
        write_atomic(&new.join(TOKENIZER), tokenizer.as_bytes())?;
    }
    sync_dir(&new);
    if dir.exists() {
        remove_dir_if_present(&old)?;
        std::fs::rename(dir, &old).map_err(io_err(dir))?;
    }
    std::fs::rename(&new, dir).map_err(io_err(&new))?;
    if let Some(parent) = dir.parent() {
        sync_dir(parent);
    }
    remove_dir_if_present(&old)
}

/// Tensors to a safetensors file, atomically; returns the file's SHA-256.
fn write_tensors(path: &Path, tensors: &HashMap<String, Tensor>) -> Result<String> {
    let bytes = safetensors_bytes(tensors)?;
    write_atomic(path, &bytes)?;
    Ok(sha256_hex(&bytes))
}

/// The safetensors serialization of `tensors` (metadata: the lnwarm version).
fn safetensors_bytes(tensors: &HashMap<String, Tensor>) -> Result<Vec<u8>> {
    let metadata = HashMap::from([(
        "lnwarm_version".to_string(),
        env!("CARGO_PKG_VERSION").to_string(),
    )]);
    safetensors::serialize(tensors, Some(metadata))
        .map_err(|e| Error::Output(format!("safetensors: {e}")))
}

fn remove_dir_if_present(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err(dir)(e)),
        _ => Ok(()),
    }
}

/// Make renames and new entries durable (best effort: not every filesystem supports it).
fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Remove the checkpoint at `dir` (and any leftover of an interrupted replace).
pub fn remove(dir: &Path) -> Result<()> {
    for d in [
        dir.to_path_buf(),
        with_suffix(dir, ".old"),
        with_suffix(dir, ".new"),
    ] {
        remove_dir_if_present(&d)?;
    }
    Ok(())
}

/// Whether there is a checkpoint at `dir` (under either name).
pub fn exists(dir: &Path) -> bool {
    [dir.to_path_buf(), with_suffix(dir, ".old")]
        .iter()
        .any(|d| d.join(STATE).is_file())
}

/// Read the checkpoint at `dir` (or `dir.old`) onto `device`. Missing or damaged: one-line
/// usage error naming `flag` (`--resume`, `--from`) and the folder.
pub fn load(dir: &Path, device: &Device, flag: &str) -> Result<Loaded> {
    let primary = dir.to_path_buf();
    let fallback = with_suffix(&primary, ".old");
    let dir = [&primary, &fallback]
        .into_iter()
        .find(|d| d.join(STATE).is_file())
        .ok_or_else(|| {
            crate::usage!(
                "{flag}: no checkpoint at {} (a run writes one every --checkpoint-every updates, when interrupted and at its end)",
                primary.display()
            )
        })?
        .clone();
    let bad = |what: String| crate::usage!("{flag}: {}: damaged checkpoint: {what}", dir.display());
    let text =
        std::fs::read_to_string(dir.join(STATE)).map_err(|e| bad(format!("{STATE}: {e}")))?;
    let state: CheckpointState =
        serde_json::from_str(&text).map_err(|e| bad(format!("{STATE}: {e}")))?;
    if state.format != FORMAT {
        return Err(bad(format!(
            "format {}, this lnwarm reads {FORMAT}",
            state.format
        )));
    }
    let sum = std::fs::read_to_string(dir.join(STATE_SUM))
        .map_err(|e| bad(format!("{STATE_SUM}: {e}")))?;
    if sum.trim() != sha256_hex(text.as_bytes()) {
        return Err(bad(format!(
            "{STATE}: SHA-256 differs from {STATE_SUM} (edited after it was written)"
        )));
    }
    let read = |name: &str| -> Result<HashMap<String, Tensor>> {
        let path = dir.join(name);
        let bytes = std::fs::read(&path).map_err(|e| bad(format!("{name}: {e}")))?;
        let expected = state.files.get(name).map(String::as_str).unwrap_or("");
        if sha256_hex(&bytes) != expected {
            return Err(bad(format!("{name}: SHA-256 differs from state.json")));
        }
        candle_core::safetensors::load_buffer(&bytes, device)
            .map_err(|e| bad(format!("{name}: {e}")))
    };
    let model = read(MODEL)?;
    let optimizer = StateTensors {
        tensors: read(OPTIMIZER)?,
    };
    let probe = match state.files.contains_key(PROBE) {
        true => Some(read(PROBE)?),
        false => None,
    };
    consistent(&state, &optimizer).map_err(bad)?;
    Ok(Loaded {
        state,
        model,
        optimizer,
        probe,
        dir,
    })
}

/// The fields of a checkpoint agree with each other: what a hand-edited or mixed-up checkpoint
/// breaks (the checksums catch edits of single files; this catches files that do not belong
/// together).
fn consistent(
    state: &CheckpointState,
    optimizer: &StateTensors,
) -> std::result::Result<(), String> {
    let update = state.update;
    let steps = state.config.train.steps;
    if update > steps {
        return Err(format!("update {update} is past the run's {steps} updates"));
    }
    let done = state.result.summary.steps_done;
    if done != update {
        return Err(format!(
            "update {update}, but the partial result has {done} updates done"
        ));
    }
    let logged = state.result.train.last().map_or(0, |p| p.step);
    if logged > update {
        return Err(format!(
            "update {update}, but the result logged update {logged}"
        ));
    }
    let taken = optimizer.step().map_err(|e| e.to_string())?;
    if taken != update {
        return Err(format!(
            "update {update}, but the optimizer state has taken {taken} updates"
        ));
    }
    // One ChaCha8 word per window start (rand's portable usize sampling: a u32 draw while the
    // range fits in 32 bits; rare rejections add a word; two words where it does not fit).
    let windows = u128::from(update) * state.config.data.batch_size as u128;
    let position: u128 = state
        .sampler_position
        .parse()
        .map_err(|_| "sampler_position is not an integer".to_string())?;
    if position < windows || position > 2 * windows + 64 {
        return Err(format!(
            "sampler_position {position} does not follow {update} updates of {} windows",
            state.config.data.batch_size
        ));
    }
    Ok(())
}

/// Set every parameter of `store` from `tensors` (names, shapes and dtypes must match). A
/// tensor the model does not have is an error, as a missing one is (issue 33: a Pre-LN
/// checkpoint loaded into a Post-LN run with its `final_ln.*` silently ignored).
pub fn restore_params(store: &ParamStore, tensors: &HashMap<String, Tensor>) -> Result<()> {
    let mut extra: Vec<&String> = tensors.keys().filter(|k| store.get(k).is_none()).collect();
    extra.sort();
    if let Some(first) = extra.first() {
        return Err(crate::usage!(
            "checkpoint: {first} is not a parameter of this model ({} such tensors; a checkpoint of another architecture or size?)",
            extra.len()
        ));
    }
    for (name, var) in store.named_vars() {
        let t = tensors
            .get(name)
            .ok_or_else(|| crate::usage!("checkpoint: no parameter {name}"))?;
        if t.dims() != var.dims() {
            return Err(crate::usage!(
                "checkpoint: {name} has shape {:?}, the model's is {:?}",
                t.dims(),
                var.dims()
            ));
        }
        var.set(&t.to_device(var.device())?.to_dtype(var.dtype())?)?;
    }
    Ok(())
}

/// The dotted keys where two configs differ (empty when equal).
pub fn config_diff(a: &RunConfig, b: &RunConfig) -> Vec<String> {
    // Where the run is logged may change between segments (add --tensorboard on resume).
    let flat = |c: &RunConfig| {
        crate::files::flatten(
            &serde_json::to_value(c.without_log()).unwrap_or(serde_json::Value::Null),
        )
    };
    let (fa, fb) = (flat(a), flat(b));
    let keys: std::collections::BTreeSet<&String> = fa.keys().chain(fb.keys()).collect();
    keys.into_iter()
        .filter(|k| fa.get(*k) != fb.get(*k))
        .cloned()
        .collect()
}

/// Save the parameters alone (`--save-model FILE`), atomically.
pub fn save_model(path: &Path, store: &ParamStore) -> Result<()> {
    write_atomic(path, &safetensors_bytes(&named_tensors(store))?)
}

fn named_tensors(store: &ParamStore) -> HashMap<String, Tensor> {
    store
        .named_vars()
        .iter()
        .map(|(name, var)| (name.clone(), var.as_tensor().clone()))
        .collect()
}
