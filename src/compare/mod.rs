//! `lnwarm compare`: every result JSON of a study (read and grouped by `analysis`), aggregated
//! over seeds per configuration, as a markdown table, SVG plots and a self-contained
//! `index.html` (with the claim verdicts).

pub mod edges;
pub mod html;
pub mod lr_curves;
pub mod plots;
pub mod probe_plots;
pub mod report;
pub mod table;

use crate::analysis::Loaded;
use crate::error::{io_err, Result};
use std::path::{Path, PathBuf};

/// Run `compare`: write table.md, the SVGs and index.html into `out`; returns the paths written.
pub fn write_report(
    loaded: &Loaded,
    verdicts: &[crate::verdict::Verdict],
    out: &Path,
) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out).map_err(io_err(out))?;
    let markdown = table::markdown(loaded);
    let table_path = out.join("table.md");
    crate::files::write_atomic(&table_path, markdown.as_bytes())?;
    let mut plot_paths = plots::all(loaded, out)?;
    plot_paths.extend(probe_plots::write(&loaded.groups, out)?);
    let lr = lr_curves::write(loaded, out)?;
    plot_paths.extend(
        lr.iter()
            .filter(|p| p.extension().is_some_and(|x| x == "svg"))
            .cloned(),
    );
    let html_path = out.join("index.html");
    let page = html::page(loaded, verdicts, &plot_paths)?;
    crate::files::write_atomic(&html_path, page.as_bytes())?;
    let mut written = vec![table_path, html_path];
    if let Some(probes) = probe_plots::table(&loaded.groups) {
        let path = out.join("probes.md");
        crate::files::write_atomic(&path, probes.as_bytes())?;
        written.push(path);
    }
    if let Some(table) = edges::markdown(loaded) {
        let path = out.join("edges.md");
        crate::files::write_atomic(&path, table.as_bytes())?;
        written.push(path);
    }
    written.extend(plot_paths);
    written.extend(
        lr.into_iter()
            .filter(|p| p.extension().is_some_and(|x| x == "md")),
    );
    Ok(written)
}
