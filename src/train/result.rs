//! The result a run starts from and how it is summarised at the end.

use crate::config::RunConfig;
use crate::data::{unigram_entropy, Corpus};
use crate::model::ParamStore;
use crate::results::*;
use candle_core::Device;

use super::diverge_threshold;

/// A result with no curves yet (what a run starts from).
pub fn empty_result(
    cfg: &RunConfig,
    corpus: &Corpus,
    store: &ParamStore,
    device: &Device,
    run_name: &str,
    started: u64,
) -> RunResult {
    let vocab_size = corpus.tokenizer.size();
    RunResult {
        run_name: run_name.to_string(),
        vocab_size,
        param_count: store.count(),
        diverge_loss: diverge_threshold(cfg, vocab_size),
        provenance: crate::results::Provenance::collect(device, started),
        data: DataInfo {
            source: corpus.source.clone(),
            n_chars: corpus.n_chars,
            train_tokens: corpus.train.len(),
            val_tokens: corpus.val.len(),
            vocab: corpus.tokenizer.tokens(),
            has_unk: corpus.tokenizer.has_unk(),
            val_chars: corpus.val_chars,
            tokenizer_sha256: corpus.tokenizer.saved().map(|(_, sha)| sha.to_string()),
            text_sha256: Some(corpus.text_sha256.clone()),
        },
        schedule_notes: cfg.schedule.notes(cfg.train.steps),
        summary: Summary::empty(unigram_entropy(&corpus.val, vocab_size)),
        ..RunResult::planned(cfg.clone())
    }
}

pub(super) fn finish_summary(result: &mut RunResult, wall_time_s: f64, mean_tokens_per_s: f64) {
    let s = &mut result.summary;
    s.wall_time_s = wall_time_s;
    s.mean_tokens_per_s = mean_tokens_per_s;
    s.final_val_loss = result.eval.last().map(|e| e.val_loss);
    if let Some(best) = result
        .eval
        .iter()
        .min_by(|a, b| a.val_loss.total_cmp(&b.val_loss))
    {
        s.best_val_loss = Some(best.val_loss);
        s.best_val_step = Some(best.step);
    }
    let bpc = |loss: Option<f64>| loss.and_then(|l| result.data.bits_per_char(l));
    result.summary.final_val_bits_per_char = bpc(result.summary.final_val_loss);
    result.summary.best_val_bits_per_char = bpc(result.summary.best_val_loss);
    let (outcome, plateau_steps) = result.outcome();
    result.summary.outcome = outcome;
    result.summary.plateau_steps = plateau_steps;
}
