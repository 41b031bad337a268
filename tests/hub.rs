//! `--data hf:OWNER/NAME[:COLUMN]` end to end without the internet: a small HTTP server on
//! 127.0.0.1 answers the hub calls candle-datasets' client makes for a Parquet dataset (the
//! repo info of revision `refs/convert/parquet`, then HEAD and GET of each file's resolve URL),
//! `HF_ENDPOINT` points the client at it, and lnwarm trains a few updates from the served file.
//! Then: a second run with the server gone uses the cache; a missing column and a dataset with no
//! Parquet files are one-line errors.

#![cfg(feature = "hub")]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
const FILE: &str = "default/train/0000.parquet";

/// What the fake hub serves: the dataset's Parquet files (path -> bytes), and a log of requests.
struct Hub {
    files: Vec<(String, Vec<u8>)>,
    requests: Mutex<Vec<String>>,
}

fn respond(
    stream: &mut TcpStream,
    status: &str,
    headers: &[(String, String)],
    body: &[u8],
    head: bool,
) {
    let mut out = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    stream.write_all(out.as_bytes()).unwrap();
    if !head {
        stream.write_all(body).unwrap();
    }
}

/// Serve one keep-alive connection: request lines until the client closes it.
fn serve(hub: &Hub, stream: TcpStream) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut content_length = 0;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).unwrap();
            if header.trim().is_empty() {
                break;
            }
            if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                content_length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; content_length];
        reader.read_exact(&mut body).unwrap();
        let parts: Vec<&str> = line.split_whitespace().collect();
        let (method, path) = (parts[0], parts[1]);
        hub.requests
            .lock()
            .unwrap()
            .push(format!("{method} {path}"));
        answer(hub, &mut writer, method, path);
    }
}

fn answer(hub: &Hub, stream: &mut TcpStream, method: &str, path: &str) {
    let head = method == "HEAD";
    if path.starts_with("/api/datasets/") {
        let siblings: Vec<_> = hub
            .files
            .iter()
            .map(|(name, _)| serde_json::json!({ "rfilename": name }))
            .collect();
        let info =
            serde_json::json!({ "id": "someone/tiny-text", "sha": COMMIT, "siblings": siblings });
        let json = [("Content-Type".to_string(), "application/json".to_string())];
        return respond(stream, "200 OK", &json, info.to_string().as_bytes(), head);
    }
    let served = hub
        .files
        .iter()
        .find(|(name, _)| path.ends_with(&format!("/{name}")));
    match served {
        Some((_, bytes)) if path.contains("/resolve/") => {
            let etag = format!("\"{:x}\"", sha2_of(bytes));
            let headers = [
                ("ETag".to_string(), etag),
                ("X-Repo-Commit".to_string(), COMMIT.to_string()),
            ];
            respond(stream, "200 OK", &headers, bytes, head)
        }
        _ => respond(stream, "404 Not Found", &[], b"not found", head),
    }
}

fn sha2_of(bytes: &[u8]) -> u128 {
    // Any stable content hash will do for an ETag.
    bytes.iter().fold(0xcbf29ce484222325u128, |h, b| {
        (h ^ *b as u128).wrapping_mul(0x100000001b3)
    })
}

/// Start the hub on a free port; it runs until the test process ends.
fn start(files: Vec<(String, Vec<u8>)>) -> (String, Arc<Hub>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let hub = Arc::new(Hub {
        files,
        requests: Mutex::new(Vec::new()),
    });
    let served = hub.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let hub = served.clone();
            std::thread::spawn(move || serve(&hub, stream));
        }
    });
    (endpoint, hub)
}

fn parquet_bytes(dir: &Path) -> Vec<u8> {
    let rows: Vec<String> = (0..400)
        .map(|i| {
            format!("Call me Ishmael, line {i}. Some years ago, never mind how long precisely.")
        })
        .collect();
    let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
    let path = dir.join("served.parquet");
    common::write_parquet(&path, &refs);
    std::fs::read(path).unwrap()
}

/// lnwarm trains 3 updates from `data` with the hub at `endpoint` and the cache in `home`.
fn lnwarm(endpoint: &str, home: &Path, data: &str, out: &Path) -> (i32, String) {
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_lnwarm"))
        .args([
            "--data",
            data,
            "--steps",
            "3",
            "--d-model",
            "16",
            "--layers",
            "1",
            "--heads",
            "2",
        ])
        .args([
            "--seq-len",
            "16",
            "--batch-size",
            "2",
            "--eval-every",
            "3",
            "--quiet",
            "--out",
        ])
        .arg(out)
        .env("HF_ENDPOINT", endpoint)
        .env("HF_HOME", home)
        .env_remove("HF_HUB_CACHE")
        .env_remove("HUGGINGFACE_HUB_CACHE")
        .env("HF_HUB_DISABLE_XET", "1")
        .output()
        .unwrap();
    (
        run.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&run.stderr).into_owned(),
    )
}

#[test]
fn trains_from_a_local_hub_then_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let (endpoint, hub) = start(vec![(FILE.to_string(), parquet_bytes(dir.path()))]);
    let home = dir.path().join("hf-home");
    let out = dir.path().join("first.json");
    let (code, stderr) = lnwarm(&endpoint, &home, "hf:someone/tiny-text:body", &out);
    assert_eq!(
        code,
        0,
        "{stderr}\nrequests: {:?}",
        hub.requests.lock().unwrap()
    );
    let result = lnwarm::results::RunResult::read(&out).unwrap();
    assert_eq!(result.data.source, "hf:someone/tiny-text:body");
    assert_eq!(result.summary.steps_done, 3);
    assert!(
        result.data.n_chars > 20_000,
        "{} chars",
        result.data.n_chars
    );
    let requests = hub.requests.lock().unwrap().clone();
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("GET /api/datasets/someone/tiny-text")),
        "{requests:?}"
    );
    assert!(requests.iter().any(|r| r.contains(FILE)), "{requests:?}");

    // The hub is gone (a port nothing listens on): the cached copy is used, with a note.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let second = dir.path().join("second.json");
    let (code, stderr) = lnwarm(&closed, &home, "hf:someone/tiny-text:body", &second);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("using the cached hf:someone/tiny-text"),
        "{stderr}"
    );
    let again = lnwarm::results::RunResult::read(&second).unwrap();
    assert_eq!(again.data.n_chars, result.data.n_chars);
    assert_eq!(again.summary.final_val_loss, result.summary.final_val_loss);
}

#[test]
fn a_missing_column_or_no_parquet_files_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let (endpoint, _hub) = start(vec![(FILE.to_string(), parquet_bytes(dir.path()))]);
    let home = dir.path().join("hf-home");
    let out = dir.path().join("r.json");
    let (code, stderr) = lnwarm(&endpoint, &home, "hf:someone/tiny-text:nope", &out);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        "error: --data hf:someone/tiny-text: no column 'nope'; columns are: body, id"
    );
    let (empty, _) = start(Vec::new());
    let (code, stderr) = lnwarm(&empty, &dir.path().join("home2"), "hf:someone/empty", &out);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        "error: --data hf:someone/empty: the dataset has no Parquet files (its refs/convert/parquet revision lists none); use a dataset the hub converted to Parquet, or --data FILE.parquet[:COLUMN]"
    );
    assert!(!out.exists());
}
