//! The numbers behind docs/probes.md "How the Hessian is measured": Lanczos on the paper-cpu
//! model at initialisation (4 layers, d 128, 4 windows of 64 characters), with the ReLU
//! activation pattern held fixed (what `--probe sharpness` does) or free (`free`), and the
//! Rayleigh quotient of its top vector by central differences at steps 1e-3 … 1e-8.
//!
//! cargo run --release --example hessian_check -- post-ln [free]

use lnwarm::config::RunConfig;
use lnwarm::probe::eigen::{dot, lanczos, LanczosRule};
use lnwarm::probe::hvp::Shadow;
use lnwarm::train::Setup;

fn main() -> lnwarm::Result<()> {
    let arch = std::env::args().nth(1).unwrap_or_else(|| "post-ln".into());
    let free = std::env::args().nth(2).as_deref() == Some("free");
    let mut cfg = RunConfig::default();
    cfg.model.arch = serde_json::from_value(serde_json::Value::String(arch))
        .map_err(|e| lnwarm::usage!("arch: {e}"))?;
    cfg.model.n_layers = 4;
    cfg.data.seq_len = 64;
    cfg.data.batch_size = 16;
    let cfg = cfg.finish()?;
    let setup = Setup::new(&cfg)?;
    let batch = lnwarm::probe::measurement_batch(&setup.corpus.val, 64, 4, &setup.device)?;
    let mut shadow = Shadow::new(&cfg, setup.corpus.tokenizer.size(), batch)?;
    shadow.sync(&setup.store)?;
    if free {
        shadow.free_relu_patterns()?;
    }
    let w = shadow.weights().to_vec();
    for steps in [5, 10, 15, 20, 30] {
        let rule = LanczosRule {
            max_steps: steps,
            tol: 0.0,
            seed: 0,
        };
        let e = lanczos(shadow.len(), |v| shadow.hvp(v), None, rule)?;
        println!(
            "{steps} Lanczos steps: λmax {:.4e}, λmin {:.4e}, residual {:.3e}",
            e.max, e.min, e.residual
        );
        if steps == 30 {
            for h in [1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8] {
                let at = |sign: f64| -> Vec<f64> {
                    w.iter()
                        .zip(&e.vector)
                        .map(|(a, b)| a + sign * h * b)
                        .collect()
                };
                let (_, plus) = shadow.loss_and_grad(&at(1.0))?;
                let (_, minus) = shadow.loss_and_grad(&at(-1.0))?;
                let hv: Vec<f64> = plus
                    .iter()
                    .zip(&minus)
                    .map(|(p, m)| (p - m) / (2.0 * h))
                    .collect();
                println!(
                    "  step {h:e}: Rayleigh quotient of the top vector {:.6e}",
                    dot(&e.vector, &hv)
                );
            }
        }
    }
    Ok(())
}
