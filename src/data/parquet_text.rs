//! Text from Parquet: `--data FILE.parquet[:COLUMN]` and `--data hf:OWNER/NAME[:COLUMN]`.
//!
//! Both read one string column (default `text`) and join the rows with newlines. The hub path
//! uses candle-datasets' `hub::from_hub` (the dataset's `refs/convert/parquet` files).

use crate::error::{Error, Result};
use candle_datasets::hub::FileReader;
use parquet::file::reader::SerializedFileReader;
use parquet::record::Field;
use std::fs::File;
use std::path::Path;

/// The revision candle-datasets reads: the hub's automatic Parquet conversion.
const PARQUET_REVISION: &str = "refs/convert/parquet";

/// All rows of `column` in a local Parquet file.
pub fn read_file(path: &Path, column: &str) -> Result<String> {
    let file = File::open(path)
        .map_err(|e| crate::usage!("--data {}: cannot open: {e}", path.display()))?;
    let reader = SerializedFileReader::new(file).map_err(|e| {
        crate::usage!(
            "--data {}: not a readable Parquet file: {e}",
            path.display()
        )
    })?;
    read_column(&reader, column, &path.display().to_string())
}

/// All rows of `column` across the Parquet files of a hub dataset (`HF_ENDPOINT` picks the hub,
/// `HF_HOME` / `HF_HUB_CACHE` the cache). When the hub cannot be reached, a cached copy is used.
pub fn read_hub(dataset: &str, column: &str) -> Result<String> {
    let what = format!("hf:{dataset}");
    let readers = match hub_readers(dataset) {
        Ok(readers) => readers,
        Err(hub_error) => cached_readers(dataset, &hub_error)?,
    };
    if readers.is_empty() {
        return Err(crate::usage!(
            "--data {what}: the dataset has no Parquet files (its {} revision lists none); use a dataset the hub converted to Parquet, or --data FILE.parquet[:COLUMN]",
            PARQUET_REVISION
        ));
    }
    let parts = readers
        .iter()
        .map(|r| read_column(r, column, &what))
        .collect::<Result<Vec<_>>>()?;
    Ok(parts.join("\n"))
}

fn hub_readers(dataset: &str) -> std::result::Result<Vec<SerializedFileReader<File>>, String> {
    let api = hf_hub::HFClientSync::new().map_err(|e| format!("hub client: {e}"))?;
    candle_datasets::hub::from_hub(&api, dataset.to_string()).map_err(|e| e.to_string())
}

/// The cached copy when the hub failed; the hub's error when there is none. candle-datasets'
/// `from_hub` always asks the hub for the file list first, even when every file is cached, so
/// without this a second run offline would fail.
fn cached_readers(dataset: &str, hub_error: &str) -> Result<Vec<SerializedFileReader<File>>> {
    let cache_dir = hf_hub::resolve_cache_dir();
    let Some((commit, files)) = cached_parquet(dataset) else {
        return Err(Error::Data(format!(
            "--data hf:{dataset}: {hub_error}; nothing cached in {}; alternatives: --data FILE.parquet[:COLUMN], --data PATH, --data synthetic",
            cache_dir.display()
        )));
    };
    eprintln!(
        "lnwarm: the hub failed ({hub_error}); using the cached hf:{dataset} (revision {commit}, {} Parquet files)",
        files.len()
    );
    files
        .iter()
        .map(|path| {
            let file =
                File::open(path).map_err(|e| Error::Data(format!("{}: {e}", path.display())))?;
            SerializedFileReader::new(file).map_err(|e| {
                Error::Data(format!(
                    "{}: not a readable Parquet file: {e}",
                    path.display()
                ))
            })
        })
        .collect()
}

/// (commit, Parquet files in path order) of `dataset`'s cached Parquet revision, found by
/// hf-hub's own cache scan.
fn cached_parquet(dataset: &str) -> Option<(String, Vec<std::path::PathBuf>)> {
    let api = hf_hub::HFClientSync::new().ok()?;
    let cache = api.scan_cache().send().ok()?;
    let repo = cache
        .repos
        .into_iter()
        .find(|r| r.repo_type == "dataset" && r.repo_id == dataset)?;
    let revision = repo
        .revisions
        .into_iter()
        .find(|r| r.refs.iter().any(|name| name == PARQUET_REVISION))?;
    let mut files: Vec<_> = revision
        .files
        .into_iter()
        .filter(|f| f.file_name.ends_with(".parquet"))
        .map(|f| (f.file_name, f.file_path))
        .collect();
    files.sort();
    let paths: Vec<_> = files.into_iter().map(|(_, path)| path).collect();
    (!paths.is_empty()).then_some((revision.commit_hash, paths))
}

fn read_column<R: FileReader>(reader: &R, column: &str, what: &str) -> Result<String> {
    let schema = reader.metadata().file_metadata().schema_descr();
    let names: Vec<String> = schema
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    if !names.iter().any(|n| n == column) {
        return Err(crate::usage!(
            "--data {what}: no column '{column}'; columns are: {}",
            names.join(", ")
        ));
    }
    let rows = reader
        .get_row_iter(None)
        .map_err(|e| crate::usage!("--data {what}: cannot read rows: {e}"))?;
    let mut out = Vec::new();
    for row in rows {
        let row = row.map_err(|e| crate::usage!("--data {what}: bad row: {e}"))?;
        for (name, field) in row.get_column_iter() {
            if name != column {
                continue;
            }
            match field {
                Field::Str(s) => out.push(s.clone()),
                Field::Null => {}
                other => {
                    return Err(crate::usage!(
                        "--data {what}: column '{column}' holds {other:?}, not text"
                    ));
                }
            }
        }
    }
    Ok(out.join("\n"))
}
