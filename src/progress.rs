//! Progress reporting: an indicatif bar on a terminal, plain lines otherwise (logs, CI, Slurm).

use indicatif::{ProgressBar, ProgressStyle};
use std::cell::Cell;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// Reports training progress; `quiet` prints nothing.
pub struct Progress {
    bar: Option<ProgressBar>,
    total: u64,
    /// When this process started counting, and the update it started from (0, or the update a
    /// resumed run continues after): the ETA is the rate since then.
    started: Cell<(Instant, u64)>,
    quiet: bool,
}

impl Progress {
    pub fn new(total: u64, quiet: bool) -> Self {
        let bar = (!quiet && std::io::stdout().is_terminal()).then(|| {
            let bar = ProgressBar::new(total);
            let style = ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar
        });
        Self {
            bar,
            total,
            started: Cell::new((Instant::now(), 0)),
            quiet,
        }
    }

    /// A message line that does not disturb the bar.
    pub fn println(&self, msg: &str) {
        if self.quiet {
            return;
        }
        match &self.bar {
            Some(bar) => bar.println(msg),
            None => println!("{msg}"),
        }
    }

    /// A resumed run: the bar starts at `update` (done before), and the ETA counts only the
    /// updates made from here on (the setup before them, and the jump, are not a rate).
    pub fn resumed_at(&self, update: u64) {
        self.started.set((Instant::now(), update));
        if let Some(bar) = &self.bar {
            bar.set_position(update);
            bar.reset_eta();
        }
    }

    /// `--v-fill`'s batches before update 1: on the bar's message, and as a line every tenth.
    pub fn filling(&self, batch: u64, batches: u64) {
        if self.quiet {
            return;
        }
        let msg = format!("--v-fill batch {batch}/{batches}");
        match &self.bar {
            Some(bar) => bar.set_message(msg),
            None if batch.is_multiple_of((batches / 10).max(1)) => println!("{msg}"),
            None => {}
        }
    }

    /// Called at every logged step.
    pub fn update(&self, step: u64, loss: f64, lr: f64, tokens_per_s: f64) {
        if self.quiet {
            return;
        }
        let msg = format!("loss {loss:.4} | lr {lr:.3e} | {tokens_per_s:.0} tok/s");
        match &self.bar {
            Some(bar) => {
                bar.set_position(step);
                bar.set_message(msg);
            }
            None => println!(
                "step {step}/{} | {msg} | eta {}",
                self.total,
                format_eta(self.eta(step))
            ),
        }
    }

    fn eta(&self, step: u64) -> Duration {
        let (since, from) = self.started.get();
        eta(
            since.elapsed(),
            step.saturating_sub(from),
            self.total.saturating_sub(step),
        )
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// The time `left` more updates take at the rate of the `done` ones made in `elapsed`.
fn eta(elapsed: Duration, done: u64, left: u64) -> Duration {
    Duration::from_secs_f64(elapsed.as_secs_f64() / done.max(1) as f64 * left as f64)
}

fn format_eta(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eta_is_the_rate_since_the_resume() {
        // Resumed at 7000 of 8000, 10 updates made in 5 s since: 990 left take 495 s.
        let p = Progress::new(8000, true);
        p.started
            .set((Instant::now() - Duration::from_secs(5), 7000));
        let left = p.eta(7010).as_secs_f64();
        assert!((left - 495.0).abs() < 1.0, "{left}");
        assert_eq!(
            eta(Duration::from_secs(10), 100, 50),
            Duration::from_secs(5)
        );
        assert_eq!(format_eta(Duration::from_secs(4500)), "1h15m");
    }
}
