//! The learning rate of each parameter: the schedule's rate, or, for a parameter outside
//! `--warmup-groups`, the full rate (the schedule without its warmup; `schedule::groups`).
//! Without groups every parameter reads the one scheduled rate, so the update is exactly what
//! it was before groups existed.

/// The two rates of an update and which parameters follow the warmup.
#[derive(Debug, Clone, Default)]
pub struct Rates {
    /// The scheduled rate (with warmup).
    pub lr: f64,
    /// The full rate (the schedule with its warmup replaced by the peak).
    pub full: f64,
    /// Per parameter, in the optimizer's order: follows the warmup. Empty: all do.
    pub warmed: Vec<bool>,
}

impl Rates {
    pub fn new(lr: f64) -> Self {
        Self {
            lr,
            full: lr,
            warmed: Vec::new(),
        }
    }

    /// The rate of parameter `i`.
    pub fn of(&self, i: usize) -> f64 {
        if self.warmed.get(i).copied().unwrap_or(true) {
            self.lr
        } else {
            self.full
        }
    }
}
