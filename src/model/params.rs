//! Named, deterministically initialised parameters.
//!
//! Every trainable tensor is a `Var` registered here under a stable dotted name
//! (`blocks.3.ffn.w2.weight`); those names are the keys of the gradient-norm logs. Values are
//! drawn from a ChaCha8 stream seeded by the run seed in construction order, so the same seed
//! gives bit-identical initial weights on every machine and device (candle's own CPU RNG
//! cannot be seeded).

use crate::error::{Error, Result};
use candle_core::{DType, Device, Tensor, Var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// The model's parameters in creation order.
pub struct ParamStore {
    vars: Vec<(String, Var)>,
    rng: ChaCha8Rng,
    device: Device,
    dtype: DType,
}

impl ParamStore {
    /// f32 parameters (what training uses).
    pub fn new(seed: u64, device: &Device) -> Self {
        Self::with_dtype(seed, device, DType::F32)
    }

    /// Parameters of another float dtype (f64 for finite-difference checks). The values drawn
    /// are the same f32 numbers whatever the dtype.
    pub fn with_dtype(seed: u64, device: &Device, dtype: DType) -> Self {
        Self {
            vars: Vec::new(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            device: device.clone(),
            dtype,
        }
    }

    /// Xavier/Glorot uniform weight of shape (fan_out, fan_in): U(-a, a), a = sqrt(6 / (fan_in + fan_out)),
    /// i.e. variance 2 / (fan_in + fan_out) as in the paper (fairseq uses the uniform form).
    pub fn xavier(&mut self, name: &str, fan_out: usize, fan_in: usize) -> Result<Tensor> {
        self.xavier_gain(name, fan_out, fan_in, 1.0)
    }

    /// Xavier uniform scaled by `gain` (torch's `xavier_uniform_(gain=...)`): U(-a, a),
    /// a = gain sqrt(6 / (fan_in + fan_out)). Gain 1 draws exactly what `xavier` always drew.
    pub fn xavier_gain(
        &mut self,
        name: &str,
        fan_out: usize,
        fan_in: usize,
        gain: f64,
    ) -> Result<Tensor> {
        let bound = (gain * (6.0 / (fan_in + fan_out) as f64).sqrt()) as f32;
        let values = (0..fan_out * fan_in)
            .map(|_| self.rng.random_range(-bound..bound))
            .collect();
        self.register(name, values, &[fan_out, fan_in])
    }

    /// N(0, std^2) entries.
    pub fn normal(&mut self, name: &str, shape: &[usize], std: f64) -> Result<Tensor> {
        let dist = Normal::new(0.0f32, std as f32)
            .map_err(|e| Error::Usage(format!("{name}: bad init std {std}: {e}")))?;
        let n = shape.iter().product();
        let values = (0..n).map(|_| dist.sample(&mut self.rng)).collect();
        self.register(name, values, shape)
    }

    pub fn zeros(&mut self, name: &str, n: usize) -> Result<Tensor> {
        self.register(name, vec![0.0; n], &[n])
    }

    pub fn ones(&mut self, name: &str, n: usize) -> Result<Tensor> {
        self.register(name, vec![1.0; n], &[n])
    }

    /// `n` entries equal to `value` (DyT's a, ReZero's α, Admin's ω before profiling).
    pub fn filled(&mut self, name: &str, n: usize, value: f64) -> Result<Tensor> {
        self.register(name, vec![value as f32; n], &[n])
    }

    fn register(&mut self, name: &str, values: Vec<f32>, shape: &[usize]) -> Result<Tensor> {
        if self.vars.iter().any(|(n, _)| n == name) {
            return Err(Error::Usage(format!("duplicate parameter name {name}")));
        }
        let tensor = Tensor::from_vec(values, shape, &self.device)?.to_dtype(self.dtype)?;
        let var = Var::from_tensor(&tensor)?;
        let handle = var.as_tensor().clone();
        self.vars.push((name.to_string(), var));
        Ok(handle)
    }

    /// (name, var) in creation order.
    pub fn named_vars(&self) -> &[(String, Var)] {
        &self.vars
    }

    pub fn all_vars(&self) -> Vec<Var> {
        self.vars.iter().map(|(_, v)| v.clone()).collect()
    }

    pub fn get(&self, name: &str) -> Option<&Var> {
        self.vars.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Total number of scalar parameters.
    pub fn count(&self) -> usize {
        self.vars.iter().map(|(_, v)| v.elem_count()).sum()
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }

    pub fn device(&self) -> &Device {
        &self.device
    }
}
