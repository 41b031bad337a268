//! `index.html`: one self-contained page (inline SVG, no external resources) with the table, the
//! verdicts and every plot. A small inline script records in `data-` attributes of `<body>` how
//! many plots rendered and whether any script error happened (what the Chromium test reads).

use super::table;
use crate::analysis::Loaded;
use crate::error::{io_err, Result};
use crate::verdict::Verdict;
use std::path::PathBuf;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn page(loaded: &Loaded, verdicts: &[Verdict], plots: &[PathBuf]) -> Result<String> {
    let (header, rows) = table::rows(loaded);
    let mut html =
        String::from("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
    html.push_str(&format!(
        "<title>lnwarm compare: {}</title>\n",
        escape(&loaded.dir.display().to_string())
    ));
    html.push_str(STYLE);
    html.push_str("</head>\n<body data-plots=\"pending\" data-errors=\"0\">\n");
    html.push_str(&format!(
        "<h1>lnwarm: {}</h1>\n",
        escape(&loaded.dir.display().to_string())
    ));
    html.push_str(&format!(
        "<p>{} configurations, {} runs. {}</p>\n",
        loaded.groups.len(),
        loaded.groups.iter().map(|g| g.runs.len()).sum::<usize>(),
        escape(table::LEGEND)
    ));
    html.push_str("<table>\n<tr>");
    for h in &header {
        html.push_str(&format!("<th>{}</th>", escape(h)));
    }
    html.push_str("</tr>\n");
    for row in rows {
        html.push_str("<tr>");
        for cell in row {
            html.push_str(&format!("<td>{}</td>", escape(&cell)));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</table>\n<h2>Claims</h2>\n");
    for v in verdicts {
        html.push_str(&format!(
            "<div class=\"verdict {}\"><b>{}</b>: <span class=\"outcome\">{}</span><br>evidence: {}<br>{}<small>rule: {}</small></div>\n",
            v.outcome.name().replace(' ', "-"),
            escape(&v.claim),
            escape(v.word()),
            escape(&v.evidence),
            if v.effect.is_empty() {
                String::new()
            } else {
                format!("effect: {}<br>", escape(&v.effect))
            },
            escape(&v.rule)
        ));
    }
    html.push_str("<h2>Plots</h2>\n<div class=\"plots\">\n");
    for path in plots {
        let svg = std::fs::read_to_string(path).map_err(io_err(path))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        html.push_str(&format!(
            "<figure class=\"plot\" data-name=\"{}\">{}<figcaption>{}</figcaption></figure>\n",
            escape(&name),
            strip_prolog(&svg),
            escape(&name)
        ));
    }
    if !loaded.rejected.is_empty() {
        html.push_str("<h2>Skipped files</h2>\n<ul>\n");
        for r in &loaded.rejected {
            html.push_str(&format!("<li>{}</li>\n", escape(r)));
        }
        html.push_str("</ul>\n");
    }
    html.push_str("</div>\n");
    html.push_str(SCRIPT);
    html.push_str("</body></html>\n");
    Ok(html)
}

/// Drop an XML prolog so the SVG can sit inline in HTML.
fn strip_prolog(svg: &str) -> &str {
    match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => svg,
    }
}

const STYLE: &str = "<style>
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #bbb; padding: 4px 8px; text-align: right; }
th { background: #eee; }
.verdict { margin: 0.6em 0; padding: 0.5em; border-left: 5px solid #999; background: #fafafa; }
.verdict.holds { border-color: #2a2; } .verdict.does-not-hold { border-color: #c22; }
.plots { display: flex; flex-wrap: wrap; gap: 1em; }
figure.plot { margin: 0; } figure.plot svg { width: 600px; height: auto; display: block; }
</style>
";

const SCRIPT: &str = "<script>
window.addEventListener('error', function () {
  var b = document.body; b.dataset.errors = String(Number(b.dataset.errors) + 1);
});
window.addEventListener('load', function () {
  var figures = document.querySelectorAll('figure.plot');
  var shown = 0;
  figures.forEach(function (f) {
    var svg = f.querySelector('svg');
    if (svg && svg.getBoundingClientRect().width > 0 && svg.querySelectorAll('polyline, path').length > 0) { shown++; }
  });
  document.body.dataset.plots = shown + '/' + figures.length;
});
</script>
";
