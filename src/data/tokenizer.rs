//! `--tokenizer char|bpe:N|wordpiece:N|FILE.json`: how text becomes token ids.
//!
//! `char` (default) is lnwarm's character vocabulary. `bpe:N` trains a byte-level BPE (GPT-2's
//! scheme: 256 byte symbols, then merges up to N tokens; every text round-trips exactly) and
//! `wordpiece:N` a WordPiece vocabulary (BERT's pre-tokenizer, `[UNK]` for what it cannot spell)
//! of N tokens on the training split only, with the Hugging Face `tokenizers` crate; `FILE.json`
//! loads a saved tokenizer. Training is deterministic (same text, same N, same tokenizer JSON),
//! and the JSON's SHA-256 goes into the result so runs say exactly what they were fed.

use super::vocab::CharVocab;
use crate::config::tokenizer_spec::TokenizerSpec;
use crate::error::{Error, Result};
use crate::usage;
use std::path::PathBuf;
use tokenizers::models::bpe::{BpeTrainerBuilder, BPE};
use tokenizers::models::wordpiece::{WordPiece, WordPieceTrainerBuilder};
use tokenizers::models::{ModelWrapper, TrainerWrapper};
use tokenizers::{AddedToken, Tokenizer};

/// Text to ids and back.
pub enum TextTokenizer {
    Char(CharVocab),
    Subword {
        tokenizer: Box<Tokenizer>,
        /// The tokenizer as JSON (what is saved beside the result) and its SHA-256.
        json: String,
        sha256: String,
    },
}

fn tok_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Data(format!("tokenizer: {what}: {e}"))
}

impl TextTokenizer {
    /// Build from the spec: a character vocabulary or a subword model trained on `train`.
    pub fn build(spec: &TokenizerSpec, train: &str, val: &str) -> Result<Self> {
        let tokenizer = match spec {
            TokenizerSpec::Char => return Ok(Self::Char(CharVocab::build(train, val))),
            TokenizerSpec::Bpe(n) => train_bpe(*n, train)?,
            TokenizerSpec::WordPiece(n) => train_wordpiece(*n, train)?,
            TokenizerSpec::File(path) => Tokenizer::from_file(path)
                .map_err(|e| usage!("--tokenizer {}: not a tokenizer.json: {e}", path.display()))?,
        };
        Self::subword(tokenizer)
    }

    fn subword(tokenizer: Tokenizer) -> Result<Self> {
        let json = tokenizer
            .to_string(true)
            .map_err(|e| tok_err("serialize", e))?;
        let sha256 = crate::files::sha256_hex(json.as_bytes());
        Ok(Self::Subword {
            tokenizer: Box::new(tokenizer),
            json,
            sha256,
        })
    }

    pub fn size(&self) -> usize {
        match self {
            Self::Char(v) => v.size(),
            Self::Subword { tokenizer, .. } => tokenizer.get_vocab_size(true),
        }
    }

    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        match self {
            Self::Char(v) => Ok(v.encode(text)),
            Self::Subword { tokenizer, .. } => Ok(tokenizer
                .encode(text, false)
                .map_err(|e| tok_err("encode", e))?
                .get_ids()
                .to_vec()),
        }
    }

    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        match self {
            Self::Char(v) => Ok(ids
                .iter()
                .map(|&i| v.chars.get(i as usize).copied().unwrap_or('\u{fffd}'))
                .collect()),
            Self::Subword { tokenizer, .. } => tokenizer
                .decode(ids, false)
                .map_err(|e| tok_err("decode", e)),
        }
    }

    /// Every token as text, by id (characters for `char`).
    pub fn tokens(&self) -> Vec<String> {
        match self {
            Self::Char(v) => v.chars.iter().map(|c| c.to_string()).collect(),
            Self::Subword { tokenizer, .. } => (0..self.size() as u32)
                .map(|id| tokenizer.id_to_token(id).unwrap_or_default())
                .collect(),
        }
    }

    /// `char` only: whether validation characters missing from training map to an extra id.
    pub fn has_unk(&self) -> bool {
        matches!(self, Self::Char(v) if v.has_unk)
    }

    /// Subword tokenizers: write the tokenizer JSON to `<file>.tokenizer.json` (atomically), so a
    /// result or checkpoint carries what its ids mean. Returns the path written.
    pub fn save_beside(&self, file: &std::path::Path) -> Result<Option<PathBuf>> {
        let mut name = file.as_os_str().to_owned();
        name.push(".tokenizer.json");
        let path = PathBuf::from(name);
        Ok(self.save_to(&path)?.then_some(path))
    }

    /// Subword tokenizers: write the tokenizer JSON to `path` (atomically); false for `char`.
    pub fn save_to(&self, path: &std::path::Path) -> Result<bool> {
        match self.saved() {
            Some((json, _)) => crate::files::write_atomic(path, json.as_bytes()).map(|()| true),
            None => Ok(false),
        }
    }

    /// (tokenizer JSON, SHA-256) of a subword tokenizer.
    pub fn saved(&self) -> Option<(&str, &str)> {
        match self {
            Self::Char(_) => None,
            Self::Subword { json, sha256, .. } => Some((json, sha256)),
        }
    }
}

/// Paragraphs of the training text, the unit the trainers count words in.
fn paragraphs(text: &str) -> impl Iterator<Item = &str> + Send {
    text.split_inclusive("\n\n")
}

fn train_bpe(vocab_size: usize, train: &str) -> Result<Tokenizer> {
    use tokenizers::pre_tokenizers::byte_level::ByteLevel;
    let byte_level = ByteLevel::new(false, true, true);
    let mut trainer = TrainerWrapper::BpeTrainer(
        BpeTrainerBuilder::new()
            .vocab_size(vocab_size)
            .min_frequency(0)
            .show_progress(false)
            .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
            .build(),
    );
    let mut tokenizer = Tokenizer::new(ModelWrapper::BPE(BPE::default()));
    tokenizer.with_pre_tokenizer(Some(byte_level));
    tokenizer.with_decoder(Some(byte_level));
    tokenizer
        .train(&mut trainer, paragraphs(train))
        .map_err(|e| tok_err("train bpe", e))?;
    Ok(tokenizer)
}

/// WordPiece. The trainer numbers `##x` continuation symbols in hash-map order, which breaks
/// ties between equally frequent merges differently from run to run; giving it every
/// continuation symbol up front, in character order, makes training deterministic. They are
/// passed as the trainer's special tokens only so that they get the first ids: the tokenizer is
/// then rebuilt around the trained model with `[UNK]` as its only special token.
fn train_wordpiece(vocab_size: usize, train: &str) -> Result<Tokenizer> {
    use tokenizers::decoders::wordpiece::WordPiece as WordPieceDecoder;
    use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
    let unk = "[UNK]";
    let alphabet: std::collections::BTreeSet<char> =
        train.chars().filter(|c| !c.is_whitespace()).collect();
    let needed = 1 + 2 * alphabet.len();
    if vocab_size < needed {
        return Err(usage!(
            "--tokenizer wordpiece:{vocab_size}: the training text has {} distinct characters; N must be at least {needed} ([UNK], each character, and each as a ##continuation)",
            alphabet.len()
        ));
    }
    let mut seeded = vec![AddedToken::from(unk, true)];
    seeded.extend(
        alphabet
            .iter()
            .map(|c| AddedToken::from(format!("##{c}"), true)),
    );
    let mut trainer = TrainerWrapper::WordPieceTrainer(
        WordPieceTrainerBuilder::new()
            .vocab_size(vocab_size)
            .min_frequency(0)
            .show_progress(false)
            .special_tokens(seeded)
            .build(),
    );
    let model = WordPiece::builder()
        .unk_token(unk.into())
        .build()
        .map_err(|e| tok_err("wordpiece", e))?;
    let mut training = Tokenizer::new(ModelWrapper::WordPiece(model));
    training.with_pre_tokenizer(Some(BertPreTokenizer));
    training
        .train(&mut trainer, paragraphs(train))
        .map_err(|e| tok_err("train wordpiece", e))?;
    let mut tokenizer = Tokenizer::new(training.get_model().clone());
    tokenizer.with_pre_tokenizer(Some(BertPreTokenizer));
    tokenizer.with_decoder(Some(WordPieceDecoder::default()));
    let _special_count = tokenizer.add_special_tokens([AddedToken::from(unk, true)]);
    Ok(tokenizer)
}
