//! What `compare` reads: one study's results folder (its study.json with it), or result JSON
//! files named one by one (issue 33: "compare result JSONs").

use crate::error::Result;
use std::path::{Path, PathBuf};

/// What `compare` and `claims` read: one study's results folder (with its study.json, if the
/// sweep copied one), or result JSON files named one by one (no study: the axes are what
/// varies among them).
pub enum Inputs {
    Folder(PathBuf),
    Files(Vec<PathBuf>),
}

impl Inputs {
    /// One folder, or files only; anything else is one line naming what is allowed.
    pub fn of(paths: &[PathBuf]) -> Result<Self> {
        match paths {
            [] => Err(crate::usage!("no input: give a results folder or result JSON files")),
            [one] if one.is_dir() => Ok(Inputs::Folder(one.clone())),
            many => match many.iter().find(|p| !p.is_file()) {
                Some(bad) if bad.is_dir() => Err(crate::usage!(
                    "{}: a folder among several inputs; give one results folder, or result JSON files",
                    bad.display()
                )),
                Some(bad) => Err(crate::usage!(
                    "{}: no such file or folder; give one results folder, or result JSON files",
                    bad.display()
                )),
                None => Ok(Inputs::Files(many.to_vec())),
            },
        }
    }

    /// The folder the report is about (for files, the first one's).
    pub fn dir(&self) -> PathBuf {
        match self {
            Inputs::Folder(dir) => dir.clone(),
            Inputs::Files(files) => files[0]
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
                .to_path_buf(),
        }
    }

    /// The result files to read, and the study file to read with them.
    pub(super) fn paths(&self) -> Result<(Vec<PathBuf>, Option<PathBuf>)> {
        match self {
            Inputs::Files(files) => Ok((files.clone(), None)),
            Inputs::Folder(dir) => Ok((json_files(dir)?, Some(dir.join("study.json")))),
        }
    }
}

/// The folder's result JSONs (every `*.json` but study.json), sorted.
fn json_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| crate::usage!("{}: cannot read the folder: {e}", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "json")
                && p.file_name().is_some_and(|n| n != "study.json")
        })
        .collect();
    paths.sort();
    Ok(paths)
}
