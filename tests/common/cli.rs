//! Running the binary on bad input: its exit code and output, the one-line usage error expected,
//! a file to feed it.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(args: &[&str], out: &Path) -> Outcome {
    let output = Command::new(env!("CARGO_BIN_EXE_lnwarm"))
        .args(args)
        .arg("--out")
        .arg(out)
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("run lnwarm");
    Outcome {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs `args`, expects exit 2 and exactly `expected` as the only stderr line.
pub fn expect_usage_error(args: &[&str], expected: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("result.json");
    let outcome = run(args, &out);
    assert_eq!(outcome.code, 2, "{args:?}: stderr {}", outcome.stderr);
    assert_eq!(outcome.stderr.trim_end(), expected, "{args:?}");
    assert_eq!(outcome.stderr.lines().count(), 1, "{args:?}: one line only");
    assert!(!outcome.stderr.contains("panicked"));
    assert!(!out.exists(), "{args:?}: no result file on bad input");
}

pub fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}
