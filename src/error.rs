//! The crate's error type: what went wrong, and whether it was the user's input.
//!
//! `Usage` errors are bad input (flags, config files, data paths): the binary prints them as one
//! line and exits with code 2. Everything else is a runtime failure (exit code 1).

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
    /// Fetching or verifying a data set failed (names the cause and the alternatives).
    #[error("{0}")]
    Data(String),
    /// Training stopped by a signal after writing a checkpoint and a partial result.
    #[error("{message}")]
    Interrupted { signal: i32, message: String },
}

impl Error {
    /// Exit code for the binary: 2 for bad input, 128 + signal after an interrupt (130 for
    /// SIGINT, 143 for SIGTERM, as a shell reports a process killed by it), 1 for the rest.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => 2,
            Error::Interrupted { signal, .. } => u8::try_from(128 + signal).unwrap_or(1),
            _ => 1,
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
