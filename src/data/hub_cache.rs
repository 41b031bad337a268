//! The Parquet files of a hub dataset already in the local Hugging Face cache, for when the hub
//! cannot be reached. candle-datasets' `from_hub` always asks the hub for the file list first
//! (even when every file is cached), so a second run offline would fail without this. The cache
//! layout is hf-hub's (and huggingface_hub's): `<cache>/datasets--OWNER--NAME/refs/<revision>`
//! holds the commit, `snapshots/<commit>/<path>` the files.

use std::path::{Path, PathBuf};

/// The revision candle-datasets reads: the hub's automatic Parquet conversion.
pub const PARQUET_REVISION: &str = "refs/convert/parquet";

/// (commit, Parquet files in path order) of `dataset`'s cached Parquet revision, if cached.
pub fn cached_parquet(cache_dir: &Path, dataset: &str) -> Option<(String, Vec<PathBuf>)> {
    let (owner, name) = hf_hub::split_id(dataset);
    let repo = cache_dir.join(format!("datasets--{owner}--{name}"));
    let commit = std::fs::read_to_string(repo.join("refs").join(PARQUET_REVISION)).ok()?;
    let commit = commit.trim().to_string();
    let mut files = Vec::new();
    collect_parquet(&repo.join("snapshots").join(&commit), &mut files);
    files.sort();
    (!files.is_empty()).then_some((commit, files))
}

fn collect_parquet(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_parquet(&path, out);
        } else if path.extension().is_some_and(|e| e == "parquet") {
            out.push(path);
        }
    }
}
