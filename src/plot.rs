//! SVG line charts with plotters (no system fonts needed: the SVG backend leaves text to the viewer).

use crate::error::{Error, Result};
use plotters::element::DashedPathElement;
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

/// Okabe & Ito's colour-blind-safe palette (yellow, invisible on white, replaced by grey).
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
    RGBColor(128, 128, 128),
];

/// Series that stay apart: 8 colours, solid for the first 8 and dashed for the next 8.
pub const DISTINCT_STYLES: usize = 2 * PALETTE.len();

/// The i-th colour of the palette (cycled).
pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Whether the i-th style is dashed (8..16, then every other block of 8).
pub fn dashed(i: usize) -> bool {
    (i / PALETTE.len()) % 2 == 1
}

/// Draw `series` as lines into an SVG file at `path`: one panel, the legend beside it.
pub fn line_chart(path: &Path, spec: &ChartSpec, series: &[Series]) -> Result<()> {
    let panel = Panel {
        title: spec.y_label.to_string(),
        log_y: spec.log_y,
        series: series.to_vec(),
    };
    panel_grid(path, spec.title, spec.x_label, &[panel], 1)
}

fn draw_lines<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    series: &[Series],
    styles: &[usize],
) -> std::result::Result<(), String>
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate<From = (f64, f64)>,
{
    for (s, &i) in series.iter().zip(styles) {
        if let Some(band) = s.band.as_ref().filter(|b| b.len() > 1) {
            let mut outline: Vec<(f64, f64)> = band.iter().map(|&(x, _, hi)| (x, hi)).collect();
            outline.extend(band.iter().rev().map(|&(x, lo, _)| (x, lo)));
            chart
                .draw_series(std::iter::once(Polygon::new(
                    outline,
                    color(i).mix(0.14).filled(),
                )))
                .map_err(|e| e.to_string())?;
        }
        let style = color(i).stroke_width(2);
        let points = s.points.iter().copied();
        if dashed(i) {
            chart.draw_series(DashedLineSeries::new(points, 7, 4, style))
        } else {
            chart.draw_series(LineSeries::new(points, style))
        }
        .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// One panel of a `panel_grid`.
#[derive(Debug, Clone)]
pub struct Panel {
    pub title: String,
    pub log_y: bool,
    /// A label drawn in several panels keeps one style (see `panel_grid`).
    pub series: Vec<Series>,
}

/// Small multiples: `panels` in a grid of `columns`, one shared x label, and one legend in its
/// own column to the right of the data (never over a curve). A label keeps its colour and dash
/// in every panel, and in every chart drawn from the same series list: its style is its place
/// among all labels in order of first appearance, with data or not; the legend lists the labels
/// that have data.
pub fn panel_grid(
    path: &Path,
    title: &str,
    x_label: &str,
    panels: &[Panel],
    columns: usize,
) -> Result<()> {
    panel_grid_scaled(path, title, x_label, panels, columns, false)
}

/// `panel_grid` whose panels share one y range when `shared_y` (panels of one quantity, e.g.
/// one per scheme: heights compare across panels).
pub fn panel_grid_scaled(
    path: &Path,
    title: &str,
    x_label: &str,
    panels: &[Panel],
    columns: usize,
    shared_y: bool,
) -> Result<()> {
    grid(
        path,
        (title, x_label),
        panels,
        columns,
        shared_y,
        XTicks::Plain,
    )
}

/// `panel_grid_scaled` with one y range, for x values that are log10 of learning rates: the
/// axis is logarithmic in the rate and its ticks read as rates (1e-3, 4e-3), not exponents.
pub fn panel_grid_rates(
    path: &Path,
    title: &str,
    x_label: &str,
    panels: &[Panel],
    columns: usize,
) -> Result<()> {
    grid(
        path,
        (title, x_label),
        panels,
        columns,
        true,
        XTicks::Log10Rates,
    )
}

/// How x ticks are written.
#[derive(Clone, Copy)]
enum XTicks {
    Plain,
    /// x is log10(rate): a tick at v reads 10^v in rate notation.
    Log10Rates,
}

/// 10^v as a rate: "1e-3", "4e-3", "1.6e-2".
fn rate_tick(v: f64) -> String {
    let rate = 10f64.powf(v);
    let text = format!("{rate:.1e}");
    text.replace(".0e", "e")
}

fn grid(
    path: &Path,
    (title, x_label): (&str, &str),
    panels: &[Panel],
    columns: usize,
    shared_y: bool,
    x_ticks: XTicks,
) -> Result<()> {
    let plot_err = |e: String| Error::Output(format!("plot {}: {e}", path.display()));
    let rows = panels.len().div_ceil(columns).max(1);
    // One panel alone gets the room a single chart needs; small multiples share it.
    let (panel_w, panel_h) = match panels.len() {
        1 => (640u32, 420u32),
        _ => (420u32, 300u32),
    };
    let labels = legend_labels(panels);
    // A label's style is its place among every label, with data or not: a configuration that
    // has no curve in one chart (say, it never reached a loss) leaves the others' colours as
    // they are in the report's other charts.
    let order = style_order(panels);
    let style_of = |label: &str| order.iter().position(|l| l == label).unwrap_or(0);
    // Wide enough for the longest label at 13 px sans-serif (~7 px a character), at most 640.
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let legend_w = (60 + 7 * longest as u32).clamp(300, 640);
    // Tall enough for every legend entry (22 px each) when they outnumber the panels' room.
    let size = (
        panel_w * columns as u32 + legend_w,
        (panel_h * rows as u32 + 40).max(50 + 22 * labels.len() as u32),
    );
    let root = SVGBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE).map_err(|e| plot_err(e.to_string()))?;
    let root = root
        .titled(title, ("sans-serif", 20))
        .map_err(|e| plot_err(e.to_string()))?;
    let (grid, legend) = root.split_horizontally(panel_w * columns as u32);
    let y_shared = shared_y.then(|| shared_y_range(panels)).flatten();
    for (area, panel) in grid.split_evenly((rows, columns)).iter().zip(panels) {
        let styles: Vec<usize> = panel.series.iter().map(|s| style_of(&s.label)).collect();
        draw_panel(area, panel, (x_label, x_ticks), &styles, y_shared).map_err(plot_err)?;
    }
    if labels.len() > 1 || labels.first().is_some_and(|l| !l.is_empty()) {
        for (row, label) in labels.iter().enumerate() {
            let y = 30 + 22 * row as i32;
            let i = style_of(label);
            let style = color(i).stroke_width(3);
            let key = vec![(10, y), (40, y)];
            if dashed(i) {
                legend.draw(&DashedPathElement::new(key, 7, 4, style))
            } else {
                legend.draw(&PathElement::new(key, style))
            }
            .map_err(|e| plot_err(e.to_string()))?;
            legend
                .draw(&Text::new(label.clone(), (48, y - 7), ("sans-serif", 13)))
                .map_err(|e| plot_err(e.to_string()))?;
        }
    }
    root.present().map_err(|e| plot_err(e.to_string()))
}

/// Every label of a series with data in `panels`, once, in order of first appearance.
fn legend_labels(panels: &[Panel]) -> Vec<String> {
    labels_in_order(
        panels
            .iter()
            .flat_map(|p| &p.series)
            .filter(|s| !s.points.is_empty()),
    )
}

/// Every label in `panels`, with data or not, once, in order of first appearance.
fn style_order(panels: &[Panel]) -> Vec<String> {
    labels_in_order(panels.iter().flat_map(|p| &p.series))
}

fn labels_in_order<'a>(series: impl Iterator<Item = &'a Series>) -> Vec<String> {
    let mut labels: Vec<String> = Vec::new();
    for s in series {
        if !labels.contains(&s.label) {
            labels.push(s.label.clone());
        }
    }
    labels
}

/// The union of the panels' y ranges (None when no panel has data).
fn shared_y_range(panels: &[Panel]) -> Option<(f64, f64)> {
    panels
        .iter()
        .filter_map(|p| bounds(&p.series, p.log_y).map(|(_, y)| y))
        .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)))
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    panel: &Panel,
    (x_label, x_ticks): (&str, XTicks),
    styles: &[usize],
    y_shared: Option<(f64, f64)>,
) -> std::result::Result<(), String> {
    let Some((x_range, y_own)) = bounds(&panel.series, panel.log_y) else {
        area.draw(&Text::new(
            format!("{}: no data", panel.title),
            (20, 20),
            ("sans-serif", 14),
        ))
        .map_err(|e| e.to_string())?;
        return Ok(());
    };
    let y_range = y_shared.unwrap_or(y_own);
    // Updates on the x axis need no decimals; loss levels (a range of a few nats) need two.
    let x_decimals = if x_range.end - x_range.start < 20.0 {
        2
    } else {
        0
    };
    let x_format = |v: &f64| match x_ticks {
        XTicks::Plain => format!("{v:.x_decimals$}"),
        XTicks::Log10Rates => rate_tick(*v),
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
            .x_label_formatter(&x_format)
            .y_label_formatter(&fmt_tick)
            .draw()
            .map_err(|e| e.to_string())?;
        draw_lines(&mut chart, &panel.series, styles)
    } else {
        let mut chart = builder
            .build_cartesian_2d(x_range, y_range.0..y_range.1)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .x_labels(5)
            .y_labels(5)
            .x_label_formatter(&x_format)
            .y_label_formatter(&fmt_tick)
            .draw()
            .map_err(|e| e.to_string())?;
        draw_lines(&mut chart, &panel.series, styles)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_ticks_read_as_rates() {
        assert_eq!(rate_tick(-3.0), "1e-3");
        assert_eq!(rate_tick(4e-3f64.log10()), "4e-3");
        assert_eq!(rate_tick(1.6e-2f64.log10()), "1.6e-2");
    }

    #[test]
    fn sixteen_series_get_sixteen_styles() {
        let styles: Vec<(RGBColor, bool)> = (0..DISTINCT_STYLES)
            .map(|i| (color(i), dashed(i)))
            .collect();
        for (i, a) in styles.iter().enumerate() {
            for b in &styles[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert!(!dashed(0) && dashed(8) && !dashed(16));
    }

    #[test]
    fn shared_panels_span_every_panels_data() {
        let panel = |ys: &[f64]| Panel {
            title: String::new(),
            log_y: false,
            series: vec![Series {
                label: "a".into(),
                points: ys.iter().enumerate().map(|(i, y)| (i as f64, *y)).collect(),
                band: None,
            }],
        };
        let empty = Panel {
            series: Vec::new(),
            ..panel(&[])
        };
        let (lo, hi) = shared_y_range(&[panel(&[2.0, 3.0]), empty, panel(&[2.5, 4.0])]).unwrap();
        // Each panel's own range padded by 5% of its top: 2.0 - 0.15 and 4.0 + 0.2.
        assert!(
            (lo - 1.85).abs() < 1e-12 && (hi - 4.2).abs() < 1e-12,
            "{lo} {hi}"
        );
        assert!(shared_y_range(&[]).is_none());
    }

    #[test]
    fn a_label_keeps_its_style_across_panels() {
        let series = |labels: &[&str]| -> Vec<Series> {
            labels
                .iter()
                .map(|l| Series {
                    label: l.to_string(),
                    points: vec![(0.0, 1.0), (1.0, 2.0)],
                    band: None,
                })
                .collect()
        };
        let panels = [
            Panel {
                title: "a".into(),
                log_y: false,
                series: series(&["x", "y"]),
            },
            Panel {
                title: "b".into(),
                log_y: false,
                series: series(&["y", "z", "x"]),
            },
        ];
        assert_eq!(legend_labels(&panels), ["x", "y", "z"]);
    }

    /// The stroke colours of an SVG, as plotters writes them (`stroke="#RRGGBB"`).
    fn strokes(svg: &str) -> Vec<String> {
        svg.split("stroke=\"#")
            .skip(1)
            .map(|rest| rest[..6].to_ascii_uppercase())
            .collect()
    }

    fn hex(c: RGBColor) -> String {
        format!("{:02X}{:02X}{:02X}", c.0, c.1, c.2)
    }

    #[test]
    fn a_series_without_data_keeps_the_next_ones_colours() {
        // Two charts of one report: in the second, "x" has no points (it never reached a
        // loss); "y" must keep the colour it has in the first, color(1), not move to color(0).
        let chart = |x_points: Vec<(f64, f64)>| {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("c.svg");
            let series = vec![
                Series {
                    label: "x".into(),
                    points: x_points,
                    band: None,
                },
                Series {
                    label: "y".into(),
                    points: vec![(0.0, 1.0), (1.0, 2.0)],
                    band: None,
                },
            ];
            let panels = [
                Panel {
                    title: "p".into(),
                    log_y: false,
                    series: series.clone(),
                },
                Panel {
                    title: "q".into(),
                    log_y: false,
                    series,
                },
            ];
            panel_grid(&path, "t", "x", &panels, 2).unwrap();
            strokes(&std::fs::read_to_string(&path).unwrap())
        };
        let with_x = chart(vec![(0.0, 2.0), (1.0, 3.0)]);
        let without_x = chart(Vec::new());
        assert!(with_x.contains(&hex(color(0))) && with_x.contains(&hex(color(1))));
        assert!(without_x.contains(&hex(color(1))), "{without_x:?}");
        assert!(!without_x.contains(&hex(color(0))), "{without_x:?}");
    }
}
