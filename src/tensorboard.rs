//! `--tensorboard DIR`: TensorBoard event files beside the result JSON, written with the
//! `tboard` crate (the event protobufs and their CRC framing are its, not ours), vendored with its
//! protobuf code committed so that every build has it without `protoc`
//! (vendor/tboard/LNWARM-PATCH.md).
//!
//! Tags: `loss/train`, `loss/val`, `lr`, `grad_norm/global`, `tokens_per_s` and one
//! `grad_norm/<layer>/<parameter>` per parameter (`grad_norm/blocks.3/ffn.w2.weight`), at the
//! steps the result JSON records them; the resolved config as text (`config`). A resumed run
//! writes a new event file that starts with a `SessionLog START` at its first update, so
//! TensorBoard drops what the interrupted segment wrote after its checkpoint: no step appears
//! twice.

use crate::config::RunConfig;
use crate::error::Result;
use std::collections::BTreeMap;
use std::path::Path;

/// The scalars of one logged update.
pub struct UpdateScalars<'a> {
    pub step: u64,
    pub train_loss: f64,
    pub lr: f64,
    pub grad_norm: f64,
    pub tokens_per_s: f64,
    pub param_norms: &'a BTreeMap<String, f64>,
}

/// `blocks.3.ffn.w2.weight` -> `grad_norm/blocks.3/ffn.w2.weight`; `tok_emb.weight` ->
/// `grad_norm/tok_emb/weight`: TensorBoard groups cards by the part before the last slash.
pub fn grad_norm_tag(param: &str) -> String {
    let parts: Vec<&str> = param.splitn(3, '.').collect();
    match parts.as_slice() {
        ["blocks", layer, rest] => format!("grad_norm/blocks.{layer}/{rest}"),
        _ => match param.split_once('.') {
            Some((group, rest)) => format!("grad_norm/{group}/{rest}"),
            None => format!("grad_norm/{param}"),
        },
    }
}

mod writer {
    use super::*;
    use tboard::tensorboard::{event::What, session_log, summary, SessionLog, Summary};

    /// An open event file.
    pub struct Board {
        events: tboard::EventWriter<std::fs::File>,
    }

    fn fail(dir: &Path, e: impl std::fmt::Display) -> crate::error::Error {
        crate::usage!("--tensorboard {}: {e}", dir.display())
    }

    impl Board {
        /// A new event file in `dir` for a run whose next update is `first_step`.
        pub fn open(dir: &Path, cfg: &RunConfig, first_step: u64) -> Result<Self> {
            // The writer's own message for this case is Rust debug text (issue 33).
            if dir.exists() && !dir.is_dir() {
                return Err(fail(
                    dir,
                    "exists and is not a folder; give a folder for the event files",
                ));
            }
            let events = tboard::EventWriter::create(dir).map_err(|e| fail(dir, e))?;
            let mut board = Self { events };
            if first_step > 1 {
                let start = SessionLog {
                    status: session_log::SessionStatus::Start.into(),
                    ..Default::default()
                };
                board.write(first_step, What::SessionLog(start))?;
            } else {
                board.text(0, "config", &config_markdown(cfg))?;
            }
            board.events.flush().map_err(|e| fail(dir, e))?;
            Ok(board)
        }

        fn write(&mut self, step: u64, what: What) -> Result<()> {
            self.events
                .write(step as i64, what)
                .map_err(|e| crate::error::Error::Output(format!("tensorboard: {e}")))
        }

        fn scalar(&mut self, step: u64, tag: &str, value: f64) -> Result<()> {
            self.events
                .write_scalar(step as i64, tag, value as f32)
                .map_err(|e| crate::error::Error::Output(format!("tensorboard: {e}")))
        }

        /// A text summary (TensorBoard's text plugin: a string tensor with its plugin name).
        fn text(&mut self, step: u64, tag: &str, text: &str) -> Result<()> {
            use tboard::tensorboard::{DataType, SummaryMetadata, TensorProto, TensorShapeProto};
            let tensor = TensorProto {
                dtype: DataType::DtString.into(),
                tensor_shape: Some(TensorShapeProto::default()),
                string_val: vec![text.as_bytes().to_vec()],
                ..Default::default()
            };
            let metadata = SummaryMetadata {
                plugin_data: Some(tboard::tensorboard::summary_metadata::PluginData {
                    plugin_name: "text".into(),
                    content: Vec::new(),
                }),
                ..Default::default()
            };
            let value = summary::Value {
                tag: tag.into(),
                metadata: Some(metadata),
                value: Some(summary::value::Value::Tensor(tensor)),
                ..Default::default()
            };
            self.write(step, What::Summary(Summary { value: vec![value] }))
        }

        pub fn update(&mut self, u: &UpdateScalars) -> Result<()> {
            self.scalar(u.step, "loss/train", u.train_loss)?;
            self.scalar(u.step, "lr", u.lr)?;
            self.scalar(u.step, "grad_norm/global", u.grad_norm)?;
            self.scalar(u.step, "tokens_per_s", u.tokens_per_s)?;
            for (param, norm) in u.param_norms {
                self.scalar(u.step, &grad_norm_tag(param), *norm)?;
            }
            Ok(())
        }

        pub fn eval(&mut self, step: u64, val_loss: f64) -> Result<()> {
            self.scalar(step, "loss/val", val_loss)
        }

        /// Named scalars at `step` (the probes': `ProbePoint::scalars`).
        pub fn scalars(&mut self, step: u64, values: &[(String, f64)]) -> Result<()> {
            for (tag, value) in values {
                self.scalar(step, tag, *value)?;
            }
            Ok(())
        }

        pub fn flush(&mut self) -> Result<()> {
            self.events
                .flush()
                .map_err(|e| crate::error::Error::Output(format!("tensorboard: {e}")))
        }
    }

    /// The resolved config as a fenced JSON block (the text plugin renders Markdown).
    fn config_markdown(cfg: &RunConfig) -> String {
        let json = serde_json::to_string_pretty(cfg).unwrap_or_default();
        format!("```json\n{json}\n```")
    }
}

pub use writer::Board;

#[cfg(test)]
mod tests {
    use super::grad_norm_tag;

    #[test]
    fn tags_group_by_layer() {
        assert_eq!(
            grad_norm_tag("blocks.3.ffn.w2.weight"),
            "grad_norm/blocks.3/ffn.w2.weight"
        );
        assert_eq!(grad_norm_tag("tok_emb.weight"), "grad_norm/tok_emb/weight");
        assert_eq!(grad_norm_tag("alpha"), "grad_norm/alpha");
    }
}
