//! The pictures of the HTML pages, drawn with plotters' SVG backend (no fonts or system libraries
//! needed): line charts with a target line (training curves), horizontal grouped bars (per-layer
//! variances against the reference, the ablation's accuracies) and a score histogram.

use plotters::prelude::*;

/// Colors of successive series (matplotlib's first four, as in the notebook).
const COLORS: [RGBColor; 4] =
    [RGBColor(31, 119, 180), RGBColor(255, 127, 14), RGBColor(44, 160, 44), RGBColor(214, 39, 40)];
const TARGET: RGBColor = RGBColor(200, 30, 30);

/// One named series of values.
pub struct Series<'a, T> {
    /// Shown in the legend.
    pub label: &'a str,
    /// The values.
    pub values: Vec<T>,
}

/// A horizontal reference line with its label (a target accuracy, a target variance).
#[derive(Clone, Copy)]
pub struct Target<'a> {
    /// Where it is drawn.
    pub value: f64,
    /// Its legend entry.
    pub label: &'a str,
}

fn failed(e: impl std::fmt::Display) -> String {
    format!("cannot draw the chart: {e}")
}

type Canvas<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

/// Runs `draw` on a white SVG canvas of `size` pixels and returns the SVG text.
fn svg(size: (u32, u32), draw: impl FnOnce(&Canvas<'_>) -> Result<(), String>) -> Result<String, String> {
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        draw(&root)?;
        root.present().map_err(failed)?;
    }
    Ok(text)
}

/// The legend of `chart`, lower right, on a translucent background.
fn legend<'a, CT: CoordTranslate>(chart: &mut ChartContext<'a, SVGBackend<'a>, CT>) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()
        .map_err(failed)
}

/// Lines through `(x, y)` points, with an optional dashed target line.
pub fn lines(
    title: &str,
    (x_label, y_label): (&str, &str),
    series: &[Series<'_, (f64, f64)>],
    target: Option<Target<'_>>,
    y_max: Option<f64>,
) -> Result<String, String> {
    let points =
        || series.iter().flat_map(|s| s.values.iter().copied()).filter(|(x, y)| x.is_finite() && y.is_finite());
    let x_min = points().map(|(x, _)| x).fold(f64::INFINITY, f64::min).min(1.0);
    let x_max = points().map(|(x, _)| x).fold(x_min + 1.0, f64::max);
    let y_max = y_max
        .unwrap_or_else(|| points().map(|(_, y)| y).chain(target.map(|t| t.value)).fold(0.0, f64::max) * 1.08 + 1e-9);
    // Values below zero (logarithms) extend the axis down; otherwise it starts at zero.
    let y_min = points().map(|(_, y)| y).fold(0.0, f64::min) * 1.08;
    svg((560, 320), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(x_min..x_max, y_min..y_max)
            .map_err(failed)?;
        let whole = |x: &f64| if x.fract() == 0.0 { format!("{x:.0}") } else { String::new() };
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .x_label_formatter(&whole)
            .light_line_style(WHITE)
            .draw()
            .map_err(failed)?;
        for (i, s) in series.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            let values: Vec<(f64, f64)> =
                s.values.iter().copied().filter(|(x, y)| x.is_finite() && y.is_finite()).collect();
            chart
                .draw_series(LineSeries::new(values.clone(), color.stroke_width(2)))
                .map_err(failed)?
                .label(s.label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2)));
            chart.draw_series(values.into_iter().map(|p| Circle::new(p, 3, color.filled()))).map_err(failed)?;
        }
        if let Some(t) = target {
            let dashes = (0..40).map(|i| {
                let span = x_max - x_min;
                let (from, to) = (x_min + span * i as f64 / 40.0, x_min + span * (i as f64 + 0.5) / 40.0);
                PathElement::new(vec![(from, t.value), (to, t.value)], TARGET.stroke_width(1))
            });
            chart
                .draw_series(dashes)
                .map_err(failed)?
                .label(t.label)
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], TARGET.stroke_width(1)));
        }
        legend(&mut chart)
    })
}

/// Horizontal bars, one group per category and one bar per series, with an optional target line.
pub fn grouped_bars(
    title: &str,
    value_label: &str,
    categories: &[String],
    series: &[Series<'_, f64>],
    target: Option<Target<'_>>,
    max: Option<f64>,
) -> Result<String, String> {
    let n = categories.len().max(1);
    let finite = || series.iter().flat_map(|s| s.values.iter().copied()).filter(|v| v.is_finite());
    let max = max.unwrap_or_else(|| finite().chain(target.map(|t| t.value)).fold(0.0, f64::max) * 1.1 + 1e-9);
    let height = (80 + 22 * n * series.len().max(1)).clamp(200, 1400) as u32;
    svg((560, height), |root| {
        let labels = categories.to_vec();
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(120)
            .build_cartesian_2d(0.0..max, 0.0..n as f64)
            .map_err(failed)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(WHITE)
            .y_labels(n * 2 + 1)
            .y_label_formatter(&move |y| {
                let i = (n as f64 - y - 0.5).round();
                let centered = (n as f64 - y - 0.5 - i).abs() < 1e-6;
                if centered && i >= 0.0 { labels.get(i as usize).cloned().unwrap_or_default() } else { String::new() }
            })
            .x_desc(value_label)
            .draw()
            .map_err(failed)?;
        let groups = series.len().max(1) as f64;
        for (s_index, s) in series.iter().enumerate() {
            let color = COLORS[s_index % COLORS.len()];
            let bars = s.values.iter().enumerate().filter(|(_, v)| v.is_finite()).map(move |(i, &v)| {
                // Category i is drawn top-down; each series takes a slice of its row.
                let top = n as f64 - i as f64 - 0.1 - 0.8 * s_index as f64 / groups;
                let bottom = top - 0.8 / groups;
                Rectangle::new([(0.0, bottom), (v, top)], color.filled())
            });
            chart
                .draw_series(bars)
                .map_err(failed)?
                .label(s.label)
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
        }
        if let Some(t) = target {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(t.value, 0.0), (t.value, n as f64)],
                    TARGET.stroke_width(2),
                )))
                .map_err(failed)?
                .label(t.label)
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], TARGET.stroke_width(2)));
        }
        legend(&mut chart)
    })
}

/// A histogram of `values` between 0 and `max` in `bins` equal bins.
pub fn histogram(title: &str, value_label: &str, values: &[f64], max: f64, bins: usize) -> Result<String, String> {
    let bins = bins.max(1);
    let width = max.max(1e-9) / bins as f64;
    let mut counts = vec![0u32; bins];
    for &v in values.iter().filter(|v| v.is_finite()) {
        counts[((v / width).floor().max(0.0) as usize).min(bins - 1)] += 1;
    }
    let top = counts.iter().copied().max().unwrap_or(0).max(1);
    svg((560, 300), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(40)
            .build_cartesian_2d(0.0..max.max(1e-9), 0u32..top + 1)
            .map_err(failed)?;
        chart.configure_mesh().disable_x_mesh().x_desc(value_label).y_desc("submissions").draw().map_err(failed)?;
        chart
            .draw_series(counts.iter().enumerate().map(|(i, &c)| {
                let from = i as f64 * width;
                Rectangle::new([(from + width * 0.05, 0), (from + width * 0.95, c)], COLORS[0].filled())
            }))
            .map_err(failed)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_svg_with_their_labels() {
        let curve = Series { label: "validation", values: vec![(1.0, 40.0), (2.0, 70.0), (3.0, 81.0)] };
        let svg =
            lines("Training", ("epoch", "%"), &[curve], Some(Target { value: 75.0, label: "target 75%" }), Some(100.0))
                .unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("validation") && svg.contains("target 75%"), "{svg}");
        let layers = vec!["conv1".to_string(), "fc".to_string()];
        let svg = grouped_bars(
            "Variance",
            "variance",
            &layers,
            &[
                Series { label: "yours", values: vec![0.5, f64::NAN] },
                Series { label: "reference", values: vec![0.5, 1.0] },
            ],
            Some(Target { value: 1.0, label: "1.0" }),
            None,
        )
        .unwrap();
        assert!(svg.contains("conv1") && svg.contains("fc") && svg.contains("reference"), "{svg}");
        // Bars plus one legend swatch per series: two of the reference's, one of the student's (NaN
        // is left out).
        assert_eq!(svg.matches("#FF7F0E").count(), 3, "{svg}");
        assert_eq!(svg.matches("#1F77B4").count(), 2, "{svg}");
        let svg = histogram("Scores", "points", &[0.0, 30.0, 65.0, 65.0], 65.0, 13).unwrap();
        assert!(svg.contains("submissions"), "{svg}");
    }
}
