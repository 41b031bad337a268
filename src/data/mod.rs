//! Corpora, the character vocabulary, the train/validation split and batching.
//!
//! `--data` takes `moby-dick` (default; fetched and verified on first use), `synthetic`, a UTF-8
//! text file, `FILE.parquet[:COLUMN]` or `hf:OWNER/NAME[:COLUMN]` (the last two need the `hub`
//! feature; without it they parse, so configs and run ids are the same, and loading them is a
//! one-line usage error saying how to build with it).

pub mod batches;
pub mod moby_dick;
#[cfg(feature = "hub")]
pub mod parquet_text;
pub mod synthetic;
pub mod tokenizer;
pub mod vocab;

pub use crate::config::tokenizer_spec::TokenizerSpec;
use crate::config::DataConfig;
use crate::error::Result;
use crate::usage;
use std::path::{Path, PathBuf};
pub use tokenizer::TextTokenizer;
pub use vocab::{unigram_entropy, CharVocab};

/// The Parquet column read when `--data` names none.
pub const DEFAULT_COLUMN: &str = "text";

/// Characters of generated text for `--data synthetic`.
pub const SYNTHETIC_CHARS: usize = 400_000;

/// A parsed `--data` value.
#[derive(Debug, Clone, PartialEq)]
pub enum DataSource {
    MobyDick,
    Synthetic,
    TextFile(PathBuf),
    Parquet { path: PathBuf, column: String },
    Hub { dataset: String, column: String },
}

impl DataSource {
    pub fn parse(spec: &str) -> Result<Self> {
        if spec == "moby-dick" {
            return Ok(Self::MobyDick);
        }
        if spec == "synthetic" {
            return Ok(Self::Synthetic);
        }
        if let Some(rest) = spec.strip_prefix("hf:") {
            let (dataset, column) = split_column(rest);
            if dataset.split('/').count() != 2 || dataset.split('/').any(str::is_empty) {
                return Err(usage!("--data {spec}: expected hf:OWNER/NAME[:COLUMN]"));
            }
            return Ok(Self::Hub {
                dataset: dataset.into(),
                column: column.into(),
            });
        }
        let (path, column) = split_column(spec);
        if path.ends_with(".parquet") {
            return Ok(Self::Parquet {
                path: path.into(),
                column: column.into(),
            });
        }
        Ok(Self::TextFile(spec.into()))
    }

    /// The full text of the source.
    pub fn load_text(&self) -> Result<String> {
        let text = match self {
            Self::MobyDick => moby_dick::load(&moby_dick::cache_dir())?,
            Self::Synthetic => synthetic::text(SYNTHETIC_CHARS),
            Self::TextFile(path) => read_text_file(path)?,
            #[cfg(feature = "hub")]
            Self::Parquet { path, column } => parquet_text::read_file(path, column)?,
            #[cfg(feature = "hub")]
            Self::Hub { dataset, column } => parquet_text::read_hub(dataset, column)?,
            #[cfg(not(feature = "hub"))]
            Self::Parquet { .. } | Self::Hub { .. } => {
                return Err(usage!(
                    "--data {}: this lnwarm was built without Parquet and the hub; build it with `cargo build --release --features hub` (no system libraries needed)",
                    self.describe()
                ))
            }
        };
        if text.is_empty() {
            return Err(usage!("--data {}: the text is empty", self.describe()));
        }
        Ok(text)
    }

    pub fn describe(&self) -> String {
        match self {
            Self::MobyDick => "moby-dick".into(),
            Self::Synthetic => "synthetic".into(),
            Self::TextFile(p) => p.display().to_string(),
            Self::Parquet { path, column } => format!("{}:{column}", path.display()),
            Self::Hub { dataset, column } => format!("hf:{dataset}:{column}"),
        }
    }
}

/// `NAME:COLUMN` -> (NAME, COLUMN); no colon -> the default column `text`.
fn split_column(spec: &str) -> (&str, &str) {
    match spec.rsplit_once(':') {
        Some((name, column)) if !column.is_empty() && !column.contains('/') => (name, column),
        _ => (spec, DEFAULT_COLUMN),
    }
}

fn read_text_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| {
        usage!("--data {}: cannot read ({e}); allowed: moby-dick, synthetic, a UTF-8 text file, FILE.parquet[:COLUMN], hf:OWNER/NAME[:COLUMN]", path.display())
    })?;
    String::from_utf8(bytes).map_err(|e| {
        usage!(
            "--data {}: not UTF-8 text (invalid byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

/// The encoded corpus, split by position: the last `val_fraction` is validation.
pub struct Corpus {
    pub tokenizer: TextTokenizer,
    pub train: Vec<u32>,
    pub val: Vec<u32>,
    pub source: String,
    pub n_chars: usize,
    /// Characters of the validation text, for bits per character.
    pub val_chars: usize,
    /// SHA-256 of the text as loaded (before the split): what a resumed run must train on.
    pub text_sha256: String,
}

impl Corpus {
    pub fn load(cfg: &DataConfig) -> Result<Self> {
        let source = DataSource::parse(&cfg.source)?;
        let text = source.load_text()?;
        Self::from_text(&text, cfg, source.describe())
    }

    pub fn from_text(text: &str, cfg: &DataConfig, source: String) -> Result<Self> {
        let chars: Vec<char> = text.chars().collect();
        let n_val = ((chars.len() as f64) * cfg.val_fraction).round() as usize;
        let split = chars.len() - n_val;
        let train_text: String = chars[..split].iter().collect();
        let val_text: String = chars[split..].iter().collect();
        let needed = cfg.seq_len + 2;
        if train_text.chars().count() < needed || n_val < needed {
            return Err(usage!(
                "--data {source}: {} characters is too short for --seq-len {} (each split needs at least {needed})",
                chars.len(),
                cfg.seq_len
            ));
        }
        let spec = TokenizerSpec::parse(&cfg.tokenizer)?;
        let tokenizer = TextTokenizer::build(&spec, &train_text, &val_text)?;
        if tokenizer.size() < 2 {
            // One symbol is predicted with certainty: loss 0, nothing to learn (issue 33).
            return Err(usage!(
                "--data {source}: a vocabulary of {} token; a language model needs at least 2",
                tokenizer.size()
            ));
        }
        let (train, val) = (tokenizer.encode(&train_text)?, tokenizer.encode(&val_text)?);
        if train.len() < needed || val.len() < needed {
            return Err(usage!(
                "--data {source} --tokenizer {}: {} validation tokens is too few for --seq-len {} (each split needs at least {needed} tokens)",
                cfg.tokenizer,
                val.len(),
                cfg.seq_len
            ));
        }
        Ok(Self {
            train,
            val,
            tokenizer,
            source,
            n_chars: chars.len(),
            val_chars: n_val,
            text_sha256: crate::files::sha256_hex(text.as_bytes()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_source_kind() {
        assert_eq!(
            DataSource::parse("moby-dick").unwrap(),
            DataSource::MobyDick
        );
        assert_eq!(
            DataSource::parse("synthetic").unwrap(),
            DataSource::Synthetic
        );
        assert_eq!(
            DataSource::parse("a/b.txt").unwrap(),
            DataSource::TextFile("a/b.txt".into())
        );
        assert_eq!(
            DataSource::parse("x.parquet:body").unwrap(),
            DataSource::Parquet {
                path: "x.parquet".into(),
                column: "body".into()
            }
        );
        assert_eq!(
            DataSource::parse("hf:karpathy/tiny").unwrap(),
            DataSource::Hub {
                dataset: "karpathy/tiny".into(),
                column: "text".into()
            }
        );
        assert!(DataSource::parse("hf:nope").is_err());
    }
}
