//! Seeded random windows of a token stream, stacked into (B, T) batches.

use crate::error::{Error, Result};
use candle_core::{Device, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Draws (B, T) input / target batches from uniformly random window starts.
pub struct WindowSampler {
    tokens: Vec<u32>,
    seq_len: usize,
    batch_size: usize,
    rng: ChaCha8Rng,
    device: Device,
}

impl WindowSampler {
    /// `tokens` must be longer than `seq_len` (checked by the caller with a usage error).
    pub fn new(
        tokens: Vec<u32>,
        seq_len: usize,
        batch_size: usize,
        seed: u64,
        device: &Device,
    ) -> Self {
        Self {
            tokens,
            seq_len,
            batch_size,
            rng: ChaCha8Rng::seed_from_u64(seed),
            device: device.clone(),
        }
    }

    /// One (inputs, targets) pair of u32 tensors, each (B, T); targets are inputs shifted by one.
    pub fn next_batch(&mut self) -> Result<(Tensor, Tensor)> {
        let max_start = self.tokens.len() - self.seq_len - 1;
        if self.batch_size == 0 {
            return Err(Error::Internal("empty batch".into()));
        }
        let mut inputs = Vec::with_capacity(self.batch_size);
        let mut targets = Vec::with_capacity(self.batch_size);
        for _ in 0..self.batch_size {
            let start = self.rng.random_range(0..=max_start);
            inputs.push(Tensor::new(
                &self.tokens[start..start + self.seq_len],
                &self.device,
            )?);
            targets.push(Tensor::new(
                &self.tokens[start + 1..start + self.seq_len + 1],
                &self.device,
            )?);
        }
        Ok((Tensor::stack(&inputs, 0)?, Tensor::stack(&targets, 0)?))
    }

    /// Where the window stream stands (ChaCha8 word position): with the seed, the whole state.
    pub fn position(&self) -> u128 {
        self.rng.get_word_pos()
    }

    /// Continue the stream from `position` (a value of `position()` of a sampler with this seed).
    pub fn seek(&mut self, position: u128) {
        self.rng.set_word_pos(position);
    }

    /// `n` batches drawn now (a fixed validation set when the seed is fixed).
    pub fn take(&mut self, n: usize) -> Result<Vec<(Tensor, Tensor)>> {
        (0..n).map(|_| self.next_batch()).collect()
    }
}
