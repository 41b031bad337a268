//! Bad input: one line on stderr naming the bad value and what is allowed, exit code 2, no
//! panic, no backtrace, and no result file.

mod common;

use common::cli::*;

#[test]
fn unknown_arch_and_optimizer_list_the_allowed_values() {
    expect_usage_error(
        &["--arch", "mid-ln"],
        "error: invalid value 'mid-ln' for '--arch <ARCH>' [possible values: post-ln, pre-ln, deepnorm, peri-ln, pre-rmsnorm, rezero, dyt, admin, b2t] tip: a similar value exists: 'peri-ln'",
    );
    expect_usage_error(
        &["--optimizer", "lion"],
        "error: invalid value 'lion' for '--optimizer <OPTIMIZER>' [possible values: adam, adamw, sgd, radam, gi-adam]",
    );
}

#[test]
fn sizes_must_be_positive_and_heads_divide_width() {
    expect_usage_error(
        &["--layers", "0"],
        "error: --layers (model.n_layers) 0: must be a positive integer",
    );
    expect_usage_error(
        &["--layers", "-3"],
        "error: invalid value '-3' for '--layers <LAYERS>': must be a whole number >= 1",
    );
    expect_usage_error(
        &["--batch-size", "0"],
        "error: --batch-size (data.batch_size) 0: must be a positive integer",
    );
    expect_usage_error(
        &["--heads", "3"],
        "error: --heads 3 does not divide --d-model 128: allowed are divisors of d_model",
    );
    expect_usage_error(&["--lr", "-1"], "error: --lr -1: must be a positive number");
    expect_usage_error(
        &["--steps", "0"],
        "error: --steps (train.steps) 0: must be a positive integer",
    );
}

#[test]
fn unknown_flag_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let outcome = run(&["--frobnicate", "3"], &dir.path().join("r.json"));
    assert_eq!(outcome.code, 2);
    assert_eq!(outcome.stderr.lines().count(), 1, "{}", outcome.stderr);
    assert!(outcome
        .stderr
        .starts_with("error: unexpected argument '--frobnicate' found"));
}

#[test]
fn optimizer_specific_flags_are_checked() {
    expect_usage_error(
        &["--weight-decay", "0.1"],
        "error: --weight-decay 0.1 with --optimizer adam: allowed only with adamw or sgd (adam means no decay)",
    );
    expect_usage_error(
        &["--momentum", "0.9"],
        "error: --momentum 0.9: allowed only with --optimizer sgd",
    );
    expect_usage_error(
        &["--clip", "0"],
        "error: --clip 0: must be a positive number (omit it for no clipping)",
    );
}

/// Issue 20's substitutes: a cap <= 0, more frozen blocks than the model has, v-fill without
/// Adam, a windowed substitute without its window.
#[test]
fn warmup_substitutes_are_checked() {
    expect_usage_error(
        &["--update-cap", "0", "--substitute-window", "100"],
        "error: --update-cap 0: must be a positive relative update size (e.g. 0.01)",
    );
    expect_usage_error(
        &[
            "--layers",
            "4",
            "--freeze-top",
            "5",
            "--substitute-window",
            "100",
        ],
        "error: --freeze-top 5: larger than the model's 4 layers (allowed: 1 to 4)",
    );
    expect_usage_error(
        &["--optimizer", "sgd", "--v-fill", "100"],
        "error: --v-fill 100 with --optimizer sgd: allowed only with adam or adamw (it fills Adam's second moment; gi-adam sets it from the first gradient)",
    );
    expect_usage_error(
        &["--freeze-top", "2"],
        "error: --update-cap and --freeze-top act during a window: give --substitute-window N (updates, e.g. the warmup length they replace)",
    );
    expect_usage_error(
        &["--warmup", "0", "--lr-init", "catapult"],
        "error: --lr-init catapult starts a warmup ramp: use a linear or exponential warmup of N >= 1 updates (--warmup N), not none 0",
    );
    expect_usage_error(
        &["--substitute-window", "50"],
        "error: --substitute-window 50: nothing to time (give --update-cap R or --freeze-top K)",
    );
}

#[test]
fn bad_data_files() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.txt");
    let missing = missing.to_str().unwrap();
    expect_usage_error(
        &["--data", missing],
        &format!("error: --data {missing}: cannot read (No such file or directory (os error 2)); allowed: moby-dick, synthetic, a UTF-8 text file, FILE.parquet[:COLUMN], hf:OWNER/NAME[:COLUMN]"),
    );
    let empty = write_file(dir.path(), "empty.txt", b"");
    let empty = empty.to_str().unwrap();
    expect_usage_error(
        &["--data", empty],
        &format!("error: --data {empty}: the text is empty"),
    );
    let latin1 = write_file(dir.path(), "latin1.txt", b"caf\xe9 au lait");
    let latin1 = latin1.to_str().unwrap();
    expect_usage_error(
        &["--data", latin1],
        &format!("error: --data {latin1}: not UTF-8 text (invalid byte at offset 3)"),
    );
    let short = write_file(dir.path(), "short.txt", b"far too short");
    let short = short.to_str().unwrap();
    expect_usage_error(
        &["--data", short],
        &format!("error: --data {short}: 13 characters is too short for --seq-len 128 (each split needs at least 130)"),
    );
}

#[test]
fn bad_config_files() {
    let dir = tempfile::tempdir().unwrap();
    let unknown = write_file(dir.path(), "unknown.json", br#"{"model": {"n_layer": 4}}"#);
    let unknown = unknown.to_str().unwrap();
    let outcome = run(&["--config", unknown], &dir.path().join("r.json"));
    assert_eq!(outcome.code, 2);
    assert_eq!(outcome.stderr.lines().count(), 1);
    assert!(
        outcome.stderr.starts_with(&format!("error: --config {unknown}: unknown field `n_layer`, expected one of `arch`, `n_layers`")),
        "{}",
        outcome.stderr
    );
    let broken = write_file(dir.path(), "broken.json", b"{\"model\": ");
    let broken = broken.to_str().unwrap();
    expect_usage_error(
        &["--config", broken],
        &format!("error: --config {broken}: EOF while parsing a value at line 1 column 10"),
    );
    let missing = dir.path().join("nope.json");
    let missing = missing.to_str().unwrap();
    expect_usage_error(
        &["--config", missing],
        &format!("error: --config {missing}: cannot read: No such file or directory (os error 2)"),
    );
    let bad_arch = write_file(dir.path(), "arch.json", br#"{"model": {"arch": "mid-ln"}}"#);
    let bad_arch = bad_arch.to_str().unwrap();
    expect_usage_error(
        &["--config", bad_arch],
        &format!("error: --config {bad_arch}: unknown variant `mid-ln`, expected one of `post-ln`, `pre-ln`, `deepnorm`, `peri-ln`, `sandwich-ln`, `pre-rmsnorm`, `rezero`, `dyt`, `admin`, `b2t` at line 1 column 27"),
    );
}

#[test]
fn cuda_without_the_feature_is_a_usage_error() {
    if cfg!(feature = "cuda") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let outcome = run(&["--device", "cuda", "--data", "synthetic"], &out);
    assert_eq!(outcome.code, 2, "{}", outcome.stderr);
    assert!(
        outcome
            .stderr
            .starts_with("error: --device cuda: not available"),
        "{}",
        outcome.stderr
    );
    assert_eq!(outcome.stderr.lines().count(), 1);
    assert!(!out.exists());
}

#[test]
fn a_diverged_run_is_a_result_with_exit_code_zero() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("diverged.json");
    let args = [
        "--data",
        "synthetic",
        "--arch",
        "post-ln",
        "--layers",
        "1",
        "--d-model",
        "16",
        "--heads",
        "2",
        "--d-ff",
        "32",
        "--seq-len",
        "16",
        "--batch-size",
        "4",
        "--steps",
        "200",
        "--optimizer",
        "sgd",
        "--lr",
        "1e6",
        "--warmup",
        "0",
    ];
    let outcome = run(&args, &out);
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(json["status"], "diverged");
    let step = json["diverged_at_step"].as_u64().unwrap();
    assert!((1..200).contains(&step), "diverged at {step}");
    assert!(json["diverged_reason"].as_str().unwrap().len() > 10);
    assert_eq!(json["summary"]["outcome"], "diverged");
    let last = outcome.stdout.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("lnwarm: wrote") && last.contains(": diverged,"),
        "final line: {last}"
    );
}

#[test]
fn an_unusable_out_path_is_refused_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("a-folder");
    std::fs::create_dir(&folder).unwrap();
    let out = run(&["--data", "synthetic", "--steps", "1"], &folder);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(
        out.stderr.trim_end(),
        format!(
            "error: --out {}: is a folder; give a file path such as {}",
            folder.display(),
            folder.join("run.json").display()
        )
    );
    // A file where a folder is needed: the result's folder cannot be created.
    let file = write_file(dir.path(), "plain-file", b"x");
    let inside = file.join("run.json");
    let out = run(&["--data", "synthetic", "--steps", "1"], &inside);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.starts_with(&format!(
            "error: --out {}: cannot create the folder {}:",
            inside.display(),
            file.display()
        )),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 1);
}

#[test]
fn a_model_too_large_for_memory_is_refused_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &[
            "--data",
            "synthetic",
            "--d-model",
            "100000",
            "--layers",
            "100",
            "--steps",
            "1",
        ],
        &dir.path().join("r.json"),
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr.starts_with("error: --d-model 100000 --layers 100 --d-ff 512 --batch-size 32 --seq-len 128: needs about ")
            && out.stderr.contains("TiB")
            && out.stderr.trim_end().ends_with("available; make the model or the batch smaller"),
        "{}",
        out.stderr
    );
    // The refusal is all the output: nothing (not the config line) comes before it.
    assert_eq!(out.stdout, "", "{}", out.stdout);
}

#[test]
fn bad_probe_flags_are_one_line() {
    expect_usage_error(
        &["--probe", "curvature"],
        "error: --probe curvature: unknown probe; allowed: sharpness, adam-sharpness, update, drift, overfit, attention, gradhist, units, all",
    );
    expect_usage_error(
        &["--probe", "all", "--probe-every", "0"],
        "error: --probe-every 0: must be a positive whole number of updates",
    );
    expect_usage_error(
        &["--optimizer", "sgd", "--probe", "adam-sharpness"],
        "error: --probe adam-sharpness: needs Adam's second moment; --optimizer sgd has none (allowed with adam, adamw, radam)",
    );
    expect_usage_error(
        &["--probe-every", "10"],
        "error: --probe-every/--probe-batch/--probe-gradhist/--probe-smallest without --probe: name the probes (e.g. --probe all)",
    );
    expect_usage_error(
        &["probe", "--data", "synthetic"],
        "error: lnwarm probe: no --probe given; allowed: sharpness, adam-sharpness, update, drift, overfit, attention, gradhist, units, all",
    );
}

#[test]
fn where_warmup_acts_flags_refuse_what_they_cannot_mean() {
    // Issue 32: a group that names no parameter, QK-norm where there is no LayerNorm, a z-loss
    // that is not a positive coefficient, a probe schedule out of order, groups without warmup.
    expect_usage_error(
        &["--data", "synthetic", "--arch", "post-ln", "--warmup", "10", "--warmup-groups", "scales"],
        "error: --warmup-groups scales: group scales matches no parameter of this model (6 blocks; groups: attn-qk, attn-vo, ffn, norms, embed, scales, blocks:A-B, top:K, bottom:K)",
    );
    expect_usage_error(
        &["--warmup", "10", "--warmup-groups", "attn-q"],
        "error: --warmup-groups attn-q: unknown group 'attn-q'; allowed: [!]GROUP[,GROUP...] with GROUP one of attn-qk, attn-vo, ffn, norms, embed, scales, blocks:A-B, top:K, bottom:K",
    );
    expect_usage_error(
        &["--warmup", "0", "--warmup-groups", "ffn"],
        "error: --warmup-groups ffn: there is no warmup to apply to a group; give --warmup N >= 1",
    );
    expect_usage_error(
        &["--qk-norm", "--arch", "dyt"],
        "error: --qk-norm with --arch dyt: undefined there (DyT replaces every LayerNorm and has no LayerNorm to put on queries and keys); allowed with post-ln, pre-ln, deepnorm, peri-ln, pre-rmsnorm, admin, b2t",
    );
    expect_usage_error(
        &["--z-loss", "-1e-4"],
        "error: --z-loss -0.0001: must be a positive coefficient (e.g. 1e-4; omit it for no z-loss)",
    );
    expect_usage_error(
        &["--probe", "update", "--probe-every", "2:60,5:40,20"],
        "error: invalid value '2:60,5:40,20' for '--probe-every <N|SCHEDULE>': --probe-every 2:60,5:40,20: the end updates are out of order; allowed: N, or E1:U1,E2:U2,...,E (every E1 updates up to update U1, then ...; each E >= 1, the U increasing)",
    );
}
