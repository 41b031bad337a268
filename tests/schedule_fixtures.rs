//! lnwarm's schedules against the peer libraries' own outputs: every fixture in
//! `tests/fixtures/schedules/` (written by `scripts/schedule_fixtures.py` from TF, Keras,
//! PyTorch, HF transformers, optax, fairseq and the paper's formula) names the lnwarm schedule
//! JSON that reproduces it; that schedule must give the peer's rate for every update to 1e-6
//! relative. Fixtures the peer could only compute in float32 are compared to 1e-6 of the larger
//! of the rate and the peak (f32 rounding is ~1e-7 of the peak).

use lnwarm::schedule::{LrSchedule, ScheduleConfig};
use std::path::{Path, PathBuf};

/// One fixture file.
struct Fixture {
    name: String,
    peer: String,
    schedule: ScheduleConfig,
    rates: Vec<f64>,
    /// reduce-on-plateau: validation losses, one every `val_every` updates.
    val_every: u64,
    val_losses: Vec<f64>,
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schedules")
}

fn read(path: &Path) -> Fixture {
    let text = std::fs::read_to_string(path).unwrap();
    let header = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("# {key}: ")))
            .map(str::to_string)
    };
    let name = path.file_stem().unwrap().to_string_lossy().into_owned();
    let schedule = serde_json::from_str(&header("lnwarm").expect("# lnwarm: line"))
        .unwrap_or_else(|e| panic!("{name}: lnwarm JSON: {e}"));
    let rates: Vec<f64> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("update"))
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    let steps: usize = header("steps").unwrap().parse().unwrap();
    assert_eq!(rates.len(), steps, "{name}: row count");
    Fixture {
        name,
        peer: header("peer").unwrap(),
        schedule,
        rates,
        val_every: header("val_loss_every").map_or(0, |v| v.parse().unwrap()),
        val_losses: header("val_loss").map_or(Vec::new(), |v| serde_json::from_str(&v).unwrap()),
    }
}

fn all_fixtures() -> Vec<Fixture> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    paths.sort();
    paths.iter().map(|p| read(p)).collect()
}

/// The first update where lnwarm and the peer differ beyond the tolerance, if any.
fn first_mismatch(f: &Fixture) -> Option<(u64, f64, f64)> {
    let mut schedule = f
        .schedule
        .build(f.rates.len() as u64)
        .unwrap_or_else(|e| panic!("{}: {e}", f.name));
    let float32 = f.peer.contains("float32");
    let peak = f.schedule.peak_lr;
    for (i, &expected) in f.rates.iter().enumerate() {
        let t = i as u64 + 1;
        let actual = schedule.lr(t);
        let scale = if float32 {
            expected.abs().max(peak)
        } else {
            expected.abs()
        };
        let tolerance = (1e-6 * scale).max(1e-15);
        if (actual - expected).abs() > tolerance {
            return Some((t, actual, expected));
        }
        if f.val_every > 0 && t.is_multiple_of(f.val_every) {
            schedule.observe_val_loss(t, f.val_losses[(t / f.val_every - 1) as usize]);
        }
    }
    None
}

#[test]
fn every_peer_fixture_is_reproduced_update_for_update() {
    let fixtures = all_fixtures();
    let failures: Vec<String> = fixtures
        .iter()
        .filter_map(|f| {
            first_mismatch(f).map(|(t, actual, expected)| {
                format!(
                    "{} ({}): update {t}: lnwarm {actual:e}, peer {expected:e}",
                    f.name, f.peer
                )
            })
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn fixtures_cover_at_least_forty_peer_configs_across_six_libraries() {
    let fixtures = all_fixtures();
    let libraries = ["tf1", "keras", "torch", "hf", "optax", "fairseq"];
    for lib in libraries {
        let n = fixtures
            .iter()
            .filter(|f| f.name.starts_with(&format!("{lib}-")))
            .count();
        assert!(n >= 3, "{lib}: only {n} fixtures");
    }
    assert!(fixtures.len() >= 40, "{} fixtures", fixtures.len());
    // Warmup + decay compositions are among them.
    let composed = fixtures
        .iter()
        .filter(|f| {
            f.schedule.warmup.steps > 0
                && !matches!(f.schedule.decay, lnwarm::schedule::Decay::Constant)
        })
        .count();
    assert!(composed >= 10, "{composed} warmup + decay fixtures");
}

/// The comparison can fail: a schedule one update off (the other step origin) is caught.
#[test]
fn a_shifted_schedule_is_caught() {
    let mut f = read(&fixtures_dir().join("hf-cosine.csv"));
    assert!(first_mismatch(&f).is_none());
    f.schedule.step_origin = 1;
    let (t, _, _) = first_mismatch(&f).expect("origin 1 differs from HF");
    assert_eq!(
        t, 1,
        "HF's first update has rate 0, lnwarm origin 1 has peak/100"
    );
}

/// docs/schedules.md's "Porting from" table: (fixture name, lnwarm JSON) per row.
fn porting_table() -> Vec<(String, String)> {
    let page =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schedules.md"))
            .unwrap();
    let section = page
        .split("### Porting from")
        .nth(1)
        .expect("docs/schedules.md has a Porting from section");
    section
        .lines()
        .take_while(|l| !l.starts_with("## "))
        .filter(|l| l.starts_with("| ") && l.contains("](../tests/fixtures/schedules/"))
        .map(|row| {
            let cells: Vec<&str> = row.split(" | ").collect();
            let json = cells[cells.len() - 2].trim_matches('`').to_string();
            let name = row
                .split("[`")
                .nth(1)
                .and_then(|r| r.split('`').next())
                .unwrap()
                .to_string();
            (name, json)
        })
        .collect()
}

#[test]
fn the_porting_table_in_docs_matches_the_fixtures() {
    let rows = porting_table();
    assert!(rows.len() >= 12, "{} rows", rows.len());
    for (name, json) in &rows {
        let fixture = read(&fixtures_dir().join(format!("{name}.csv")));
        let in_readme: ScheduleConfig = serde_json::from_str(json)
            .unwrap_or_else(|e| panic!("docs/schedules.md row {name}: {e}"));
        assert_eq!(in_readme, fixture.schedule, "docs/schedules.md row {name}");
    }
    for peer in ["torch-", "hf-", "optax-", "tf1-", "keras-", "fairseq-"] {
        assert!(
            rows.iter().any(|(n, _)| n.starts_with(peer)),
            "no {peer} row"
        );
    }
}

/// `lnwarm schedule --format csv` with flags only, for the four peers the issue names.
#[test]
fn the_preview_command_reproduces_four_peers_from_flags() {
    let cases: [(&str, &[&str]); 4] = [
        (
            "torch-linear-cosine-sequential",
            &[
                "--warmup",
                "100",
                "--warmup-start-factor",
                "1e-3",
                "--decay",
                "cosine",
                "--alpha",
                "0.01",
            ],
        ),
        ("hf-cosine", &["--warmup", "100", "--decay", "cosine"]),
        (
            "optax-warmup-cosine",
            &[
                "--warmup",
                "100",
                "--decay",
                "cosine",
                "--decay-steps",
                "500",
                "--alpha",
                "0.01",
            ],
        ),
        (
            "tf1-cosine",
            &[
                "--warmup",
                "0",
                "--decay",
                "cosine",
                "--decay-steps",
                "500",
                "--alpha",
                "0.1",
            ],
        ),
    ];
    for (name, flags) in cases {
        let fixture = read(&fixtures_dir().join(format!("{name}.csv")));
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_lnwarm"))
            .args([
                "schedule",
                "--format",
                "csv",
                "--steps",
                "600",
                "--step-origin",
                "0",
            ])
            .args(["--lr", "1e-3"])
            .args(flags)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rates: Vec<f64> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
            .collect();
        assert_eq!(rates.len(), fixture.rates.len(), "{name}");
        let scale = if fixture.peer.contains("float32") {
            1e-3
        } else {
            0.0
        };
        for (t, (a, e)) in rates.iter().zip(&fixture.rates).enumerate() {
            let tolerance = (1e-6 * e.abs().max(scale)).max(1e-15);
            assert!(
                (a - e).abs() <= tolerance,
                "{name} update {}: {a:e} vs {e:e}",
                t + 1
            );
        }
    }
}
