//! The crate's error type: what went wrong, and the binary's exit code for it. The binary prints
//! every error as one line (`error: ...`) and exits with:
//!
//! | code | kind | what failed |
//! |---|---|---|
//! | 1 | `Failed` | a run or check ended without the result asked for (a model diverged before the measurement; committed rows that do not reproduce) |
//! | 2 | `Usage` | bad input: a flag, config file, study or data path; the line names the value and what is allowed |
//! | 3 | `Data` | fetching, verifying or reading a data set (names the cause and the alternatives) |
//! | 4 | `Io`, `Output` | a file could not be read or written, or an output (result, plot, report, event file, checkpoint) could not be made |
//! | 70 | `Candle`, `Internal` | a tensor operation failed, or lnwarm broke one of its own invariants: a bug to report (70 is sysexits' EX_SOFTWARE) |
//! | 128+n | `Interrupted` | stopped by signal n after writing a checkpoint and a partial result (130 Ctrl-C, 143 SIGTERM) |

use std::path::PathBuf;

/// Every error the library returns.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input from the user: one line naming the bad value and what is allowed.
    #[error("{0}")]
    Usage(String),
    /// A tensor operation failed.
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Fetching, verifying or reading a data set failed (names the cause and the alternatives).
    #[error("{0}")]
    Data(String),
    /// An output (result JSON, plot, report, TensorBoard event, checkpoint tensors) could not be
    /// made.
    #[error("{0}")]
    Output(String),
    /// lnwarm broke one of its own invariants (a parameter without a gradient, optimizer state
    /// that does not fit its parameters): a bug, not the user's input.
    #[error("internal error: {0}")]
    Internal(String),
    /// A run or check ended without the result asked for: a model diverged before what was to be
    /// measured, rows that do not reproduce.
    #[error("{0}")]
    Failed(String),
    /// Training stopped by a signal after writing a checkpoint and a partial result.
    #[error("{message}")]
    Interrupted { signal: i32, message: String },
}

impl Error {
    /// Exit code for the binary (the table in this module's header): 128 + signal after an
    /// interrupt, as a shell reports a process killed by it.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Failed(_) => 1,
            Error::Usage(_) => 2,
            Error::Data(_) => 3,
            Error::Io { .. } | Error::Output(_) => 4,
            Error::Candle(_) | Error::Internal(_) => 70,
            Error::Interrupted { signal, .. } => u8::try_from(128 + signal).unwrap_or(1),
        }
    }
}

/// Shorthand for a usage error built with `format!`.
#[macro_export]
macro_rules! usage {
    ($($arg:tt)*) => { $crate::error::Error::Usage(format!($($arg)*)) };
}

/// Attach a path to an I/O error.
pub fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io { path, source }
}

pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    /// The codes the module header documents, kind by kind.
    #[test]
    fn every_kind_has_its_documented_exit_code() {
        let io = Error::Io {
            path: "x".into(),
            source: std::io::Error::other("y"),
        };
        let cases = [
            (Error::Failed("f".into()), 1),
            (Error::Usage("u".into()), 2),
            (Error::Data("d".into()), 3),
            (io, 4),
            (Error::Output("o".into()), 4),
            (Error::Internal("i".into()), 70),
            (Error::Candle(candle_core::Error::Msg("c".into())), 70),
            (
                Error::Interrupted {
                    signal: 15,
                    message: "t".into(),
                },
                143,
            ),
        ];
        for (error, code) in cases {
            assert_eq!(error.exit_code(), code, "{error:?}");
        }
        assert_eq!(
            Error::Internal("no gradient".into()).to_string(),
            "internal error: no gradient"
        );
    }
}
