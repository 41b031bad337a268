//! A parsed `--tokenizer` value (`data.tokenizer`): checked with the rest of the config before
//! any work starts; `data::tokenizer` builds the tokenizer it names.

use crate::error::Result;
use crate::usage;
use std::path::PathBuf;

/// A parsed `--tokenizer` value.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenizerSpec {
    Char,
    Bpe(usize),
    WordPiece(usize),
    File(PathBuf),
}

/// Smallest BPE vocabulary: the 256 byte symbols and one merge.
const MIN_BPE: usize = 257;
/// Smallest WordPiece vocabulary worth training (`[UNK]` and an alphabet).
const MIN_WORDPIECE: usize = 32;
/// Largest trained vocabulary (the embedding would dwarf a small model long before this).
const MAX_TRAINED: usize = 1 << 20;

impl TokenizerSpec {
    pub fn parse(spec: &str) -> Result<Self> {
        let sized = |n: &str, kind: &str, min: usize| -> Result<usize> {
            match n.parse::<usize>() {
                Ok(n) if (min..=MAX_TRAINED).contains(&n) => Ok(n),
                _ => Err(usage!(
                    "--tokenizer {spec}: {kind}:N needs a vocabulary size N from {min} to {MAX_TRAINED}"
                )),
            }
        };
        if spec == "char" {
            return Ok(Self::Char);
        }
        if let Some(n) = spec.strip_prefix("bpe:") {
            return Ok(Self::Bpe(sized(n, "bpe", MIN_BPE)?));
        }
        if let Some(n) = spec.strip_prefix("wordpiece:") {
            return Ok(Self::WordPiece(sized(n, "wordpiece", MIN_WORDPIECE)?));
        }
        if spec.ends_with(".json") {
            return Ok(Self::File(spec.into()));
        }
        Err(usage!(
            "--tokenizer {spec}: allowed: char, bpe:N, wordpiece:N, FILE.json"
        ))
    }
}
