//! Progress reporting: an indicatif bar on a terminal, plain lines otherwise (logs, CI, Slurm).

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// Reports training progress; `quiet` prints nothing.
pub struct Progress {
    bar: Option<ProgressBar>,
    total: u64,
    started: Instant,
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
            started: Instant::now(),
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
        let elapsed = self.started.elapsed().as_secs_f64();
        let per_step = elapsed / step.max(1) as f64;
        Duration::from_secs_f64(per_step * self.total.saturating_sub(step) as f64)
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn format_eta(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}
