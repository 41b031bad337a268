//! Subword tokenizers: `bpe:N` round-trips any text exactly, `wordpiece:N` round-trips plain
//! prose, training is deterministic, a saved tokenizer.json loads back to the same ids, bad
//! specs are one-line errors, and a run with BPE reports bits per character and saves its
//! tokenizer beside the result with the SHA-256 the result records.

use lnwarm::data::{TextTokenizer, TokenizerSpec};
use sha2::Digest;

/// A few paragraphs of Moby-Dick's opening, repeated so the trainers have counts to work with.
fn prose() -> String {
    let text = "Call me Ishmael. Some years ago—never mind how long precisely—having little or no money in my purse, and nothing particular to interest me on shore, I thought I would sail about a little and see the watery part of the world.\n\nIt is a way I have of driving off the spleen and regulating the circulation. Whenever I find myself growing grim about the mouth; whenever it is a damp, drizzly November in my soul; then, I account it high time to get to sea as soon as I can.\n\n";
    text.repeat(40)
}

#[test]
fn bpe_round_trips_any_text_and_wordpiece_round_trips_prose() {
    let train = prose();
    let bpe = TextTokenizer::build(&TokenizerSpec::Bpe(300), &train, "").unwrap();
    assert_eq!(bpe.size(), 300);
    let unseen = "Zebras: ünïcödé, tabs\tand\nnewlines — 42 € ☃";
    for text in [train.as_str(), unseen] {
        let ids = bpe.encode(text).unwrap();
        assert_eq!(bpe.decode(&ids).unwrap(), text);
    }
    // 44 merges already make it a third shorter than its bytes.
    let n = bpe.encode(&train).unwrap().len();
    assert!(
        n * 3 < train.len() * 2,
        "{n} tokens for {} bytes",
        train.len()
    );
    let wp = TextTokenizer::build(&TokenizerSpec::WordPiece(200), &train, "").unwrap();
    let sentence = "Call me Ishmael. I thought I would sail about a little and see the watery part of the world.";
    let ids = wp.encode(sentence).unwrap();
    assert_eq!(wp.decode(&ids).unwrap(), sentence);
    let unk = wp.tokens().iter().position(|t| t == "[UNK]").unwrap() as u32;
    assert!(!ids.contains(&unk));
}

#[test]
fn training_is_deterministic_and_a_saved_tokenizer_loads_back() {
    let train = prose();
    let a = TextTokenizer::build(&TokenizerSpec::Bpe(320), &train, "").unwrap();
    let b = TextTokenizer::build(&TokenizerSpec::Bpe(320), &train, "").unwrap();
    assert_eq!(a.saved(), b.saved());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tok.json");
    assert!(a.save_to(&path).unwrap());
    let loaded = TextTokenizer::build(&TokenizerSpec::File(path.clone()), "", "").unwrap();
    assert_eq!(loaded.saved().unwrap().1, a.saved().unwrap().1);
    assert_eq!(loaded.encode(&train).unwrap(), a.encode(&train).unwrap());
    // WordPiece too (its trainer's own numbering follows hash-map order; lnwarm seeds it).
    let first = TextTokenizer::build(&TokenizerSpec::WordPiece(150), &train, "").unwrap();
    for _ in 0..4 {
        let again = TextTokenizer::build(&TokenizerSpec::WordPiece(150), &train, "").unwrap();
        assert_eq!(again.saved(), first.saved());
    }
}

#[test]
fn bad_specs_are_one_line_errors() {
    let cases = [
        (
            "bpe:100",
            "--tokenizer bpe:100: bpe:N needs a vocabulary size N from 257 to 1048576",
        ),
        (
            "bpe:lots",
            "--tokenizer bpe:lots: bpe:N needs a vocabulary size N from 257 to 1048576",
        ),
        (
            "wordpiece:5",
            "--tokenizer wordpiece:5: wordpiece:N needs a vocabulary size N from 32 to 1048576",
        ),
        (
            "sentencepiece",
            "--tokenizer sentencepiece: allowed: char, bpe:N, wordpiece:N, FILE.json",
        ),
    ];
    for (spec, expected) in cases {
        assert_eq!(
            TokenizerSpec::parse(spec).unwrap_err().to_string(),
            expected
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lnwarm"))
        .args([
            "--data",
            "synthetic",
            "--tokenizer",
            "bpe:100",
            "--steps",
            "1",
            "--out",
        ])
        .arg(dir.path().join("r.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "error: --tokenizer bpe:100: bpe:N needs a vocabulary size N from 257 to 1048576"
    );
}

#[test]
fn a_bpe_run_reports_bits_per_char_and_saves_its_tokenizer() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("prose.txt");
    std::fs::write(&text, prose()).unwrap();
    let out = dir.path().join("r.json");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_lnwarm"))
        .arg("--data")
        .arg(&text)
        .args([
            "--tokenizer",
            "bpe:300",
            "--steps",
            "4",
            "--d-model",
            "16",
            "--heads",
            "2",
        ])
        .args([
            "--layers",
            "1",
            "--seq-len",
            "16",
            "--batch-size",
            "2",
            "--eval-every",
            "2",
        ])
        .args(["--quiet", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let result = lnwarm::results::RunResult::read(&out).unwrap();
    assert_eq!(result.vocab_size, 300);
    assert_eq!(result.config.data.tokenizer, "bpe:300");
    let saved = std::fs::read(dir.path().join("r.json.tokenizer.json")).unwrap();
    let sha = format!("{:x}", sha2::Sha256::digest(&saved));
    assert_eq!(result.data.tokenizer_sha256.as_deref(), Some(sha.as_str()));
    // The checkpoint carries the same tokenizer, inside its atomically replaced folder.
    assert_eq!(
        std::fs::read(dir.path().join("r.json.ckpt/tokenizer.json")).unwrap(),
        saved
    );
    let d = &result.data;
    let loss = result.summary.final_val_loss.unwrap();
    let bpc = result.summary.final_val_bits_per_char.unwrap();
    let expected = loss * d.val_tokens as f64 / d.val_chars as f64 / std::f64::consts::LN_2;
    assert!((bpc - expected).abs() < 1e-12);
    assert!(
        d.val_tokens < d.val_chars,
        "subwords are longer than a character"
    );
    // The unigram entropy (the stalled plateau) is that of the validation tokens.
    let tokenizer = TextTokenizer::build(
        &TokenizerSpec::File(dir.path().join("r.json.tokenizer.json")),
        "",
        "",
    )
    .unwrap();
    let val_text: String = prose()
        .chars()
        .skip(prose().chars().count() - d.val_chars)
        .collect();
    let val_ids = tokenizer.encode(&val_text).unwrap();
    assert_eq!(val_ids.len(), d.val_tokens);
    let entropy = lnwarm::data::unigram_entropy(&val_ids, 300);
    assert!((result.summary.val_unigram_entropy - entropy).abs() < 1e-12);
}
