//! `--tensorboard`: the event files hold, tag for tag and step for step, what the result JSON
//! holds (read back with `tboard`'s own reader here; CI also reads them with TensorBoard's
//! `event_accumulator`, `.ci/check-tensorboard.py`), and a resumed run's file starts with the
//! `SessionLog START` that makes TensorBoard drop the interrupted segment's later steps.
//! Every build has it (no `protoc`: vendor/tboard); a directory that cannot be one is a one-line
//! usage error.

mod common;

mod events {
    use super::common::tiny_run_config;
    use lnwarm::config::Arch;
    use lnwarm::tensorboard::grad_norm_tag;
    use lnwarm::train::{train, Resume, RunOptions, Setup};
    use std::collections::BTreeMap;
    use std::path::Path;
    use tboard::tensorboard::{event::What, summary::value::Value};

    /// (tag, step) -> value, and the SessionLog steps, of every event file in `dir`.
    type Scalars = BTreeMap<(String, i64), f32>;

    fn read_events(dir: &Path) -> (Scalars, Vec<i64>, Vec<String>) {
        let (mut scalars, mut starts, mut texts) = (BTreeMap::new(), Vec::new(), Vec::new());
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for file in files {
            let reader = tboard::SummaryReader::new(std::fs::File::open(&file).unwrap());
            for event in reader {
                let event = event.unwrap();
                match event.what {
                    Some(What::Summary(summary)) => {
                        for v in summary.value {
                            match v.value {
                                Some(Value::SimpleValue(x)) => {
                                    scalars.insert((v.tag, event.step), x);
                                }
                                Some(Value::Tensor(_)) => texts.push(v.tag),
                                _ => {}
                            }
                        }
                    }
                    Some(What::SessionLog(_)) => starts.push(event.step),
                    _ => {}
                }
            }
        }
        (scalars, starts, texts)
    }

    #[test]
    fn events_match_the_result_json() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = tiny_run_config(Arch::PostLn, 20);
        cfg.train.log_every = 5;
        cfg.train.eval_every = 10;
        cfg.log.tensorboard = Some(dir.path().join("tb"));
        let cfg = cfg.finish().unwrap();
        let result = train(
            &cfg,
            &Setup::new(&cfg).unwrap(),
            "tb",
            &RunOptions::plain(true),
        )
        .unwrap();
        let (scalars, starts, texts) = read_events(&dir.path().join("tb"));
        assert!(starts.is_empty());
        assert_eq!(texts, ["config"]);
        let value = |tag: &str, step: u64| scalars[&(tag.to_string(), step as i64)];
        for point in &result.train {
            assert_eq!(value("loss/train", point.step), point.train_loss as f32);
            assert_eq!(value("lr", point.step), point.lr as f32);
            assert_eq!(
                value("grad_norm/global", point.step),
                point.grad_norm as f32
            );
            assert_eq!(value("tokens_per_s", point.step), point.tokens_per_s as f32);
        }
        for point in &result.eval {
            assert_eq!(value("loss/val", point.step), point.val_loss as f32);
        }
        for point in &result.grad_norms {
            for (param, norm) in &point.norms {
                assert_eq!(
                    value(&grad_norm_tag(param), point.step),
                    *norm as f32,
                    "{param}"
                );
            }
        }
        let logged =
            result.train.len() * (4 + result.grad_norms[0].norms.len()) + result.eval.len();
        assert_eq!(scalars.len(), logged, "nothing else is written");
        // The run id does not depend on where it is logged.
        assert_eq!(
            lnwarm::config::default_run_name(&cfg),
            lnwarm::config::default_run_name(&cfg.without_log())
        );
    }

    /// `--probe`: every probe scalar of the result (`ProbePoint::scalars`) is in the event file
    /// at its update.
    #[test]
    fn probe_scalars_match_the_result_json() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = tiny_run_config(Arch::PreLn, 6);
        cfg.probe = lnwarm::probe::ProbeConfig {
            names: lnwarm::probe::parse_probe_list("all", lnwarm::config::OptimizerKind::Adam)
                .unwrap(),
            every: 3.into(),
            batch: 2,
            gradhist_updates: 2,
            lanczos_steps: 4,
            lanczos_tol: 1e-2,
            smallest: false,
        };
        cfg.log.tensorboard = Some(dir.path().join("tb"));
        let cfg = cfg.finish().unwrap();
        let result = train(
            &cfg,
            &Setup::new(&cfg).unwrap(),
            "tb",
            &RunOptions::plain(true),
        )
        .unwrap();
        let (scalars, _, _) = read_events(&dir.path().join("tb"));
        let mut checked = 0;
        for point in &result.probes {
            for (tag, v) in point.scalars() {
                assert_eq!(
                    scalars[&(tag.clone(), point.step as i64)],
                    v as f32,
                    "{tag}"
                );
                checked += 1;
            }
        }
        assert!(checked > 50, "{checked} probe scalars");
        assert!(scalars.contains_key(&("probe/sharpness/lambda_max".to_string(), 0)));
    }

    #[test]
    fn a_resumed_run_marks_its_restart_for_tensorboard() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = tiny_run_config(Arch::PreLn, 20);
        cfg.train.log_every = 2;
        cfg.log.tensorboard = Some(dir.path().join("tb"));
        let cfg = cfg.finish().unwrap();
        let ckpt = dir.path().join("r.json.ckpt");
        let stop = |step: u64| (step == 7).then_some(2);
        let opts = RunOptions {
            quiet: true,
            checkpoint_dir: Some(ckpt),
            checkpoint_every: 100,
            resume: Resume::Never,
            stop: &stop,
        };
        train(&cfg, &Setup::new(&cfg).unwrap(), "r", &opts).unwrap();
        let never = |_: u64| None;
        let opts = RunOptions {
            resume: Resume::Required,
            stop: &never,
            ..opts
        };
        let resumed = train(&cfg, &Setup::new(&cfg).unwrap(), "r", &opts).unwrap();
        let (scalars, starts, _) = read_events(&dir.path().join("tb"));
        assert_eq!(starts, [8], "the second file starts at update 8");
        let steps: Vec<i64> = scalars
            .keys()
            .filter(|(t, _)| t == "loss/train")
            .map(|(_, s)| *s)
            .collect();
        let expected: Vec<i64> = resumed.train.iter().map(|p| p.step as i64).collect();
        assert_eq!(steps, expected);
    }

    /// The default build's binary writes an event file that holds the run's last training loss.
    #[test]
    fn the_default_build_writes_event_files() {
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_lnwarm"))
            .args(["--data", "synthetic", "--steps", "3", "--log-every", "1"])
            .arg("--tensorboard")
            .arg(dir.path().join("tb"))
            .arg("--out")
            .arg(dir.path().join("r.json"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let files: Vec<_> = std::fs::read_dir(dir.path().join("tb"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        let name = files[0].file_name().unwrap().to_string_lossy().to_string();
        assert!(name.starts_with("events.out.tfevents."), "{name}");
        let (scalars, _, _) = read_events(&dir.path().join("tb"));
        let (step, loss) = scalars
            .iter()
            .filter(|((tag, _), _)| tag == "loss/train")
            .map(|((_, step), loss)| (*step, *loss))
            .max_by_key(|(step, _)| *step)
            .unwrap();
        let result: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).unwrap())
                .unwrap();
        let last = result["train"].as_array().unwrap().last().unwrap();
        assert_eq!(step, last["step"].as_i64().unwrap());
        assert_eq!(loss, last["train_loss"].as_f64().unwrap() as f32);
    }
}

/// `--tensorboard` at a path that is a file: one line naming it, exit 2, no result written.
#[test]
fn a_file_as_the_tensorboard_dir_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lnwarm"))
        .args(["--data", "synthetic", "--steps", "1", "--tensorboard"])
        .arg(&file)
        .arg("--out")
        .arg(dir.path().join("r.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: --tensorboard "), "{stderr}");
    assert!(
        stderr.contains("is not a folder") && !stderr.contains("Ok("),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1);
    assert!(!dir.path().join("r.json").exists());
}
