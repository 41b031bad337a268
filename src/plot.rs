//! SVG line charts with plotters (no system fonts needed: the SVG backend leaves text to the viewer).

use crate::error::{Error, Result};
use plotters::prelude::*;
use std::path::Path;

/// One labelled line, optionally with a shaded band (x, lo, hi) around it.
#[derive(Debug, Clone, Default)]
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
    pub band: Option<Vec<(f64, f64, f64)>>,
}

/// What to draw around the lines.
#[derive(Debug, Clone)]
pub struct ChartSpec<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub log_y: bool,
}

const PALETTE: [RGBColor; 16] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(0, 0, 0),
    RGBColor(174, 199, 232),
    RGBColor(255, 187, 120),
    RGBColor(152, 223, 138),
    RGBColor(255, 152, 150),
    RGBColor(197, 176, 213),
];

/// The i-th colour of the palette (cycled).
pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Draw `series` as lines into an SVG file at `path`.
pub fn line_chart(path: &Path, spec: &ChartSpec, series: &[Series]) -> Result<()> {
    let plot_err = |e: String| Error::Output(format!("plot {}: {e}", path.display()));
    let (x_range, y_range) =
        bounds(series, spec.log_y).ok_or_else(|| plot_err("nothing to plot".into()))?;
    // Updates on the x axis need no decimals; loss levels (a range of a few nats) need two.
    let x_decimals = if x_range.end - x_range.start < 20.0 {
        2
    } else {
        0
    };
    let root = SVGBackend::new(path, (900, 540)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| plot_err(e.to_string()))?;
    let mut builder = ChartBuilder::on(&root);
    builder
        .caption(spec.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(80);
    if spec.log_y {
        let mut chart = builder
            .build_cartesian_2d(x_range, (y_range.0..y_range.1).log_scale())
            .map_err(|e| plot_err(e.to_string()))?;
        chart
            .configure_mesh()
            .x_desc(spec.x_label)
            .x_label_formatter(&|v| format!("{v:.x_decimals$}"))
            .y_desc(spec.y_label)
            .y_label_formatter(&fmt_tick)
            .draw()
            .map_err(|e| plot_err(e.to_string()))?;
        draw_lines(&mut chart, series, true).map_err(plot_err)?;
    } else {
        let mut chart = builder
            .build_cartesian_2d(x_range, y_range.0..y_range.1)
            .map_err(|e| plot_err(e.to_string()))?;
        chart
            .configure_mesh()
            .x_desc(spec.x_label)
            .x_label_formatter(&|v| format!("{v:.x_decimals$}"))
            .y_desc(spec.y_label)
            .y_label_formatter(&fmt_tick)
            .draw()
            .map_err(|e| plot_err(e.to_string()))?;
        draw_lines(&mut chart, series, true).map_err(plot_err)?;
    }
    root.present().map_err(|e| plot_err(e.to_string()))
}

fn draw_lines<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    series: &[Series],
    legend: bool,
) -> std::result::Result<(), String>
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate<From = (f64, f64)>,
{
    for (i, s) in series.iter().enumerate() {
        if let Some(band) = s.band.as_ref().filter(|b| b.len() > 1) {
            let mut outline: Vec<(f64, f64)> = band.iter().map(|&(x, _, hi)| (x, hi)).collect();
            outline.extend(band.iter().rev().map(|&(x, lo, _)| (x, lo)));
            chart
                .draw_series(std::iter::once(Polygon::new(
                    outline,
                    color(i).mix(0.18).filled(),
                )))
                .map_err(|e| e.to_string())?;
        }
        let style = color(i).stroke_width(2);
        chart
            .draw_series(LineSeries::new(s.points.iter().copied(), style))
            .map_err(|e| e.to_string())?
            .label(s.label.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color(i).stroke_width(2))
            });
    }
    if legend && (series.len() > 1 || series.first().is_some_and(|s| !s.label.is_empty())) {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// One panel of a `panel_grid`.
#[derive(Debug, Clone)]
pub struct Panel {
    pub title: String,
    pub log_y: bool,
    /// The same labels in the same order in every panel (a label keeps its colour).
    pub series: Vec<Series>,
}

/// Small multiples: `panels` in a grid of `columns`, one shared x label, and one legend in its
/// own column to the right of the data (never over a curve).
pub fn panel_grid(
    path: &Path,
    title: &str,
    x_label: &str,
    panels: &[Panel],
    columns: usize,
) -> Result<()> {
    let plot_err = |e: String| Error::Output(format!("plot {}: {e}", path.display()));
    let rows = panels.len().div_ceil(columns).max(1);
    let (panel_w, panel_h, legend_w) = (420u32, 300u32, 280u32);
    let size = (
        panel_w * columns as u32 + legend_w,
        panel_h * rows as u32 + 40,
    );
    let root = SVGBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE).map_err(|e| plot_err(e.to_string()))?;
    let root = root
        .titled(title, ("sans-serif", 20))
        .map_err(|e| plot_err(e.to_string()))?;
    let (grid, legend) = root.split_horizontally(panel_w * columns as u32);
    for (area, panel) in grid.split_evenly((rows, columns)).iter().zip(panels) {
        draw_panel(area, panel, x_label).map_err(plot_err)?;
    }
    if let Some(first) = panels.first() {
        for (i, s) in first.series.iter().enumerate() {
            let y = 30 + 22 * i as i32;
            legend
                .draw(&PathElement::new(
                    vec![(10, y), (40, y)],
                    color(i).stroke_width(3),
                ))
                .map_err(|e| plot_err(e.to_string()))?;
            legend
                .draw(&Text::new(s.label.clone(), (48, y - 7), ("sans-serif", 13)))
                .map_err(|e| plot_err(e.to_string()))?;
        }
    }
    root.present().map_err(|e| plot_err(e.to_string()))
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    panel: &Panel,
    x_label: &str,
) -> std::result::Result<(), String> {
    let Some((x_range, y_range)) = bounds(&panel.series, panel.log_y) else {
        area.draw(&Text::new(
            format!("{}: no data", panel.title),
            (20, 20),
            ("sans-serif", 14),
        ))
        .map_err(|e| e.to_string())?;
        return Ok(());
    };
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(&panel.title, ("sans-serif", 14))
        .margin(8)
        .x_label_area_size(30)
        .y_label_area_size(56);
    if panel.log_y {
        let mut chart = builder
            .build_cartesian_2d(x_range, (y_range.0..y_range.1).log_scale())
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .x_labels(5)
            .y_labels(5)
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&fmt_tick)
            .draw()
            .map_err(|e| e.to_string())?;
        draw_lines(&mut chart, &panel.series, false)
    } else {
        let mut chart = builder
            .build_cartesian_2d(x_range, y_range.0..y_range.1)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .x_labels(5)
            .y_labels(5)
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&fmt_tick)
            .draw()
            .map_err(|e| e.to_string())?;
        draw_lines(&mut chart, &panel.series, false)
    }
}

/// (x range, y range) over all finite points; y > 0 only when `log_y`.
fn bounds(series: &[Series], log_y: bool) -> Option<(std::ops::Range<f64>, (f64, f64))> {
    let points = series
        .iter()
        .flat_map(|s| s.points.iter())
        .filter(|(x, y)| x.is_finite() && y.is_finite() && (!log_y || *y > 0.0));
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in points {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        return None;
    }
    if x1 == x0 {
        x1 = x0 + 1.0;
    }
    let (y0, y1) = if log_y {
        (y0 / 1.5, y1 * 1.5)
    } else {
        let pad = ((y1 - y0) * 0.05).max(y1.abs() * 0.05).max(1e-12);
        ((y0 - pad).min(0.0f64.max(y0 - pad)), y1 + pad)
    };
    Some((x0..x1, (y0, y1)))
}

/// Tick labels: plain decimals for ordinary magnitudes, scientific for tiny or huge ones.
fn fmt_tick(v: &f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if (0.01..10_000.0).contains(&a) {
        // 1000, 2.5, 0.013: three decimals at most, no trailing zeros.
        let text = format!("{v:.3}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        format!("{v:.1e}")
    }
}
