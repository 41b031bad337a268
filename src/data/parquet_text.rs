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

pub const DEFAULT_COLUMN: &str = "text";

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

/// All rows of `column` across the Parquet files of a hub dataset.
pub fn read_hub(dataset: &str, column: &str) -> Result<String> {
    let fail = |cause: String| {
        Error::Data(format!(
            "--data hf:{dataset}: {cause}; alternatives: --data FILE.parquet[:COLUMN], --data PATH, --data synthetic"
        ))
    };
    let api = hf_hub::HFClientSync::new().map_err(|e| fail(format!("hub client: {e}")))?;
    let readers = candle_datasets::hub::from_hub(&api, dataset.to_string())
        .map_err(|e| fail(e.to_string()))?;
    if readers.is_empty() {
        return Err(fail("the dataset has no Parquet files".into()));
    }
    let parts = readers
        .iter()
        .map(|r| read_column(r, column, &format!("hf:{dataset}")))
        .collect::<Result<Vec<_>>>()?;
    Ok(parts.join("\n"))
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
