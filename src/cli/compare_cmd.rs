//! `lnwarm compare` and `lnwarm claims`.

use crate::analysis::{load, load_dir, Inputs};
use crate::claims;
use crate::compare::write_report;
use crate::error::Result;
use crate::grad_init::GradInitResult;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args, Clone)]
pub struct CompareArgs {
    /// A study's results folder (e.g. results/smoke/), or result JSON files.
    #[arg(required = true, value_name = "DIR | RESULT.json...")]
    pub inputs: Vec<PathBuf>,
    /// Output folder for table.md, the SVGs and index.html [default: <dir>/compare, for files
    /// the first one's folder].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// A grad-init JSON for claim 1's verdict in the page.
    #[arg(long, value_name = "FILE")]
    pub grad_init: Option<PathBuf>,
    /// Validation loss for "steps to reach" [default: the study's target_loss, else unigram entropy - 0.5].
    #[arg(long)]
    pub target_loss: Option<f64>,
    /// Also write the compact report to commit: ROOT/<study>/ with table.md, claims.md,
    /// runs.csv and the SVG plots [ROOT default: docs/studies].
    #[arg(long, value_name = "ROOT", num_args = 0..=1, default_missing_value = "docs/studies")]
    pub report: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct ClaimsArgs {
    /// A study's results folder.
    pub dir: PathBuf,
    /// A grad-init JSON (claim 1).
    pub grad_init: Option<PathBuf>,
    #[arg(long)]
    pub target_loss: Option<f64>,
}

fn grad_init(path: &Option<PathBuf>) -> Result<Option<GradInitResult>> {
    path.as_ref().map(|p| GradInitResult::read(p)).transpose()
}

pub fn compare(args: &CompareArgs) -> Result<()> {
    let inputs = Inputs::of(&args.inputs)?;
    if let (Some(root), Inputs::Files(_)) = (&args.report, &inputs) {
        return Err(crate::usage!(
            "--report {}: a committed report is a study's; give its results folder, not files",
            root.display()
        ));
    }
    let loaded = load(&inputs, args.target_loss)?;
    for line in &loaded.rejected {
        eprintln!("lnwarm compare: {line}");
    }
    let verdicts = claims::verdicts(&loaded, grad_init(&args.grad_init)?.as_ref());
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| inputs.dir().join("compare"));
    let mut written = write_report(&loaded, &verdicts, &out)?;
    if let Some(root) = &args.report {
        written.extend(crate::compare::report::write(&loaded, &verdicts, root)?);
    }
    print!("{}", crate::compare::table::markdown(&loaded));
    println!(
        "lnwarm: wrote {}",
        written
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

pub fn claims(args: &ClaimsArgs) -> Result<()> {
    let loaded = load_dir(&args.dir, args.target_loss)?;
    for line in &loaded.rejected {
        eprintln!("lnwarm claims: {line}");
    }
    for v in claims::verdicts(&loaded, grad_init(&args.grad_init)?.as_ref()) {
        println!("{}", v.render());
    }
    Ok(())
}
